#!/usr/bin/env bash
# badinput.sh [JBDLAB]
#
# Bad input must be refused cleanly: for each damaged image (truncated to
# half, zeroed superblock, garbage over the group descriptor table, an
# unknown incompat feature bit with a valid superblock checksum, random
# bytes, all zeros, an empty file, a missing file, a journal that needs
# recovery is the exception, see below) `jbdlab mount` must exit non-zero
# with one clear line on stderr, leave no mount behind, and not change one
# byte of the image.  Bad mount options (-o nonsense, cache_size=abc, ...) on a good
# image: non-zero exit, no mount, image unchanged.
#
# A journal that needs recovery, written by debugfs (an independent jbd2
# writer), is not bad input: the mount replays it, as the kernel does, and
# the result equals e2fsck -E journal_only's (every block but the two
# superblocks, journal_lib.sh cmp_images); a ro mount replays too; with
# norecovery a rw mount is refused and nothing is written.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
require_env
setup_tmp

MNT=$T/mnt
mkdir -p "$MNT"

# expect_refused NAME IMG [OPTS]: jbdlab mount must fail cleanly.
expect_refused() {
	local name=$1 img=$2 opts=${3:-} rc=0 lines
	if [ -e "$img" ]; then cp --sparse=always "$img" "$T/orig"; fi
	local args=(mount)
	[ -n "$opts" ] && args+=(-o "$opts")
	timeout 60 "$JBDLAB" "${args[@]}" "$img" "$MNT" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	if [ $rc = 0 ]; then
		fail "$name: jbdlab mount succeeded"
	elif [ $rc = 124 ]; then
		fail "$name: jbdlab mount hung (killed after 60 s)"
	else
		lines=$(grep -c . "$T/err" || true)
		if [ "$lines" = 1 ]; then
			log "ok: $name: exit $rc: $(cat "$T/err")"
		elif [ "$lines" = 0 ]; then
			fail "$name: exit $rc but no message on stderr"
		else
			fail "$name: exit $rc with $lines lines on stderr (want one clear line):"
			head -5 "$T/err" >&2
		fi
	fi
	if is_mounted "$MNT"; then
		fail "$name: a mount was left behind on $MNT"
		_MOUNTS+=("$MNT")
		force_umount "$MNT"
		sleep 1
	fi
	if [ -e "$img" ]; then
		if cmp -s "$T/orig" "$img"; then
			log "ok: $name: image unchanged"
		else
			fail "$name: the image was modified: $(cmp "$T/orig" "$img" 2>&1 | head -1 || true)"
		fi
	fi
}

# expect_refused_opts NAME OPTS: like expect_refused on a good image; any
# non-zero exit is fine (libfuse may print more than one line).
expect_refused_opts() {
	local name=$1 opts=$2 rc=0
	cp --sparse=always "$GOOD" "$T/orig"
	timeout 60 "$JBDLAB" mount -o "$opts" "$GOOD" "$MNT" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	if [ $rc = 0 ]; then
		fail "$name: jbdlab mount -o $opts succeeded"
	elif [ $rc = 124 ]; then
		fail "$name: jbdlab mount -o $opts hung"
	else
		log "ok: $name: exit $rc: $(head -1 "$T/err")"
	fi
	if is_mounted "$MNT"; then
		fail "$name: a mount was left behind"
		_MOUNTS+=("$MNT")
		force_umount "$MNT"
	fi
	cmp -s "$T/orig" "$GOOD" || fail "$name: the image was modified"
}

superblock_u32() { # IMG OFFSET -> the little-endian u32 at 1024+OFFSET
	od -An -t u4 -j $((1024 + $2)) -N 4 "$1" | tr -d ' '
}

GOOD=$T/good.img
mkimg "$GOOD" 64M -b 4096
log "checks: damaged images and bad options are refused: non-zero exit, one line, no mount, image unchanged"

# 0. the good image itself must mount (otherwise every refusal below is meaningless)
jbd_mount "$GOOD" "$MNT"
jbd_umount "$MNT"
fsck_clean "$GOOD" "good image after mount/umount"

# 1. truncated to half its size
cp --sparse=always "$GOOD" "$T/trunc.img"
truncate -s 32M "$T/trunc.img"
expect_refused "truncated image" "$T/trunc.img"

# 2. zeroed primary superblock (backups remain: they must not be used silently)
cp --sparse=always "$GOOD" "$T/nosb.img"
dd if=/dev/zero of="$T/nosb.img" bs=1024 seek=1 count=1 conv=notrunc status=none
expect_refused "zeroed superblock" "$T/nosb.img"

# 3. garbage over the group descriptor table (block 1 of a 4 KiB fs)
cp --sparse=always "$GOOD" "$T/gdt.img"
python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(7).randbytes(4096))' |
	dd of="$T/gdt.img" bs=4096 seek=1 count=1 conv=notrunc status=none
expect_refused "corrupted group descriptors" "$T/gdt.img"

# 3b. the same without metadata_csum: no checksum to catch it, the sanity
# checks of the descriptors must
mkimg "$T/gdt-nocsum.img" 64M -b 4096 -O '^metadata_csum'
python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(8).randbytes(4096))' |
	dd of="$T/gdt-nocsum.img" bs=4096 seek=1 count=1 conv=notrunc status=none
expect_refused "corrupted group descriptors (no metadata_csum)" "$T/gdt-nocsum.img"

# 4. an unknown incompat feature (bit 20), superblock checksum recomputed by debugfs
cp --sparse=always "$GOOD" "$T/feat.img"
inc=$(superblock_u32 "$T/feat.img" $((0x60)))
debugfs -w -R "ssv feature_incompat $(printf '0x%x' $((inc | 0x100000)))" "$T/feat.img" >/dev/null 2>&1
[ "$(superblock_u32 "$T/feat.img" $((0x60)))" = $((inc | 0x100000)) ] ||
	die "could not set an unknown incompat bit with debugfs"
e2fsck -fn "$T/feat.img" >/dev/null 2>&1 && die "e2fsck accepts the unknown feature?"
expect_refused "unknown incompat feature 0x100000" "$T/feat.img"

# 5. not ext4 at all
python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(9).randbytes(16 << 20))' >"$T/random.img"
expect_refused "random bytes" "$T/random.img"
truncate -s 16M "$T/zeros.img"
expect_refused "all zeros" "$T/zeros.img"
: >"$T/empty.img"
expect_refused "empty file" "$T/empty.img"
expect_refused "missing image" "$T/does-not-exist.img"

# 6. a journal that needs recovery, written by debugfs (an independent jbd2 writer)
mkimg "$T/jnl.img" 64M -b 4096 -O 'has_journal,extent,64bit,metadata_csum' -J size=4
head -c $((4096 * 4)) /dev/zero | tr '\0' 'J' >"$T/jdata"
printf 'jo -c -v 3\njw -b 9000,9001,9005 %s\njc\n' "$T/jdata" >"$T/jcmds"
debugfs -w -f "$T/jcmds" "$T/jnl.img" >/dev/null 2>&1
dumpe2fs -h "$T/jnl.img" 2>/dev/null | grep -q needs_recovery ||
	die "debugfs did not leave a journal that needs recovery"
expect_refused "journal needs recovery, rw with norecovery" "$T/jnl.img" norecovery
cp --sparse=always "$T/jnl.img" "$T/jnl-ref.img"
rc=0
e2fsck -E journal_only -y "$T/jnl-ref.img" >"$T/e2.out" 2>&1 || rc=$?
[ $rc -le 1 ] || die "e2fsck -E journal_only exit $rc: $(tail -n 3 "$T/e2.out")"
for mode in ro rw; do
	cp --sparse=always "$T/jnl.img" "$T/jnl-$mode.img"
	if [ $mode = ro ]; then jbd_mount "$T/jnl-$mode.img" "$MNT" ro; else jbd_mount "$T/jnl-$mode.img" "$MNT"; fi
	jbd_umount "$MNT"
	if dumpe2fs -h "$T/jnl-$mode.img" 2>/dev/null | grep -q needs_recovery; then
		fail "journal needs recovery ($mode): needs_recovery still set after mount + umount"
	fi
	fsck_clean "$T/jnl-$mode.img" "journal replayed by a $mode mount"
	if [ $mode = ro ]; then
		# a ro mount writes only what replay writes: e2fsck's blocks
		if out=$(cmp_images "$T/jnl-$mode.img" "$T/jnl-ref.img"); then
			log "ok: journal needs recovery: the ro mount's replay equals e2fsck -E journal_only"
		else
			fail "journal needs recovery: the ro mount's replay differs from e2fsck's: $out"
		fi
	fi
	[ "$(sb_state "$T/jnl-$mode.img")" = "$(sb_state "$T/jnl-ref.img")" ] ||
		fail "journal needs recovery ($mode): superblock state differs from e2fsck's: $(sb_state "$T/jnl-$mode.img") vs $(sb_state "$T/jnl-ref.img")"
done

# 7. bad options on a good image
expect_refused_opts "unknown option" nonsense
expect_refused_opts "cache_size=abc" cache_size=abc
expect_refused_opts "cache_size= (empty)" cache_size=
expect_refused_opts "seed=xyz" seed=xyz
rc=0
timeout 60 "$JBDLAB" mount "$GOOD" "$T/no-such-dir" >/dev/null 2>"$T/err" </dev/null || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && log "ok: missing mount point: exit $rc" ||
	fail "missing mount point: exit $rc"
rc=0
timeout 60 "$JBDLAB" mount "$GOOD" >/dev/null 2>"$T/err" </dev/null || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && log "ok: missing argument: exit $rc" || fail "missing argument: exit $rc"
fsck_clean "$GOOD" "good image after the option tests"
