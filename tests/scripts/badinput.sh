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

# 7. the open-time checks of the kernel's ext4_fill_super, made before the
# journal is touched (nothing replayed, nothing written): superblock
# checksum and sanity (ext4_init_metadata_csum, ext4_inode_info_init,
# ext4_block_group_meta_init, ext4_handle_clustersize, ext4_check_geometry),
# group descriptors (ext4_check_descriptors), the journal inode
# (ext4_get_journal_inode) and the journal superblock (jbd2's
# journal_check_superblock).  The story: with seeded byte flips of a small
# 1 KiB metadata_csum image that needs recovery, jbdlab replayed and mounted
# rw every image whose primary superblock checksum was invalid, which the
# kernel ("VFS: Found ext4 filesystem with invalid superblock checksum.  Run
# e2fsck?"), dumpe2fs and fuse2fs refuse.

# expect_replay_refused NAME IMG: `jbdlab replay` must exit 1 with one line
# on stderr and leave every byte of the image as it was.
expect_replay_refused() {
	local name=$1 img=$2 rc=0 lines
	cp --sparse=always "$img" "$T/orig"
	timeout 60 "$JBDLAB" replay "$img" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	lines=$(grep -c . "$T/err" || true)
	if [ $rc = 1 ] && [ "$lines" = 1 ]; then
		log "ok: $name: replay exit 1: $(cat "$T/err")"
	else
		fail "$name: jbdlab replay exit $rc, $lines lines on stderr: $(head -3 "$T/err") $(cat "$T/out")"
	fi
	cmp -s "$T/orig" "$img" || fail "$name: jbdlab replay modified the image"
}

# expect_mounts_ro NAME IMG: a ro mount succeeds and writes nothing
expect_mounts_ro() {
	local name=$1 img=$2
	cp --sparse=always "$img" "$T/orig"
	jbd_mount "$img" "$MNT" ro
	jbd_umount "$MNT"
	cmp -s "$T/orig" "$img" && log "ok: $name: ro mount, image unchanged" ||
		fail "$name: the ro mount modified the image"
}

# craft NAME BASE DEBUGFS-REQUEST: $T/c.img = BASE changed by debugfs -w
# (ssv/sif/set_bg recompute the superblock, inode and descriptor checksums)
craft() {
	cp --sparse=always "$2" "$T/c.img"
	debugfs -w -R "$3" "$T/c.img" >"$T/dbg.out" 2>&1
	if cmp -s "$2" "$T/c.img"; then
		die "$1: debugfs '$3' changed nothing: $(cat "$T/dbg.out")"
	fi
}

# jsb_set IMG FIELD-OFFSET VALUE [nocsum]: a big-endian u32 of the journal
# superblock (journal block 0 of inode 8), its checksum recomputed when the
# journal has csum v2/v3 (jbd2_superblock_csum: crc32c(~0) of the 1024
# bytes with s_checksum zero), unless nocsum
jsb_set() {
	python3 - "$@" <<'PY'
import struct, subprocess, sys
def crc32c(crc, data):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc
img, field, value = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3], 0)
nocsum = len(sys.argv) > 4
with open(img, 'rb') as f:
    f.seek(1024 + 24)
    bs = 1024 << struct.unpack('<I', f.read(4))[0]
out = subprocess.run(['debugfs', '-R', 'bmap <8> 0', img], capture_output=True, text=True).stdout
off = int(out.split()[0]) * bs
with open(img, 'r+b') as f:
    f.seek(off)
    sb = bytearray(f.read(1024))
    struct.pack_into('>I', sb, field, value)
    if not nocsum and struct.unpack_from('>I', sb, 0x28)[0] & 0x18:
        struct.pack_into('>I', sb, 0xFC, 0)
        struct.pack_into('>I', sb, 0xFC, crc32c(0xFFFFFFFF, bytes(sb)))
    f.seek(off)
    f.write(sb)
PY
}
jsb_u32() { # IMG FIELD-OFFSET: a big-endian u32 of the journal superblock
	local blk bs
	blk=$(debugfs -R 'bmap <8> 0' "$1" 2>/dev/null)
	bs=$((1024 << $(superblock_u32 "$1" 24)))
	od -An -t u1 -j $((blk * bs + $2)) -N 4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'
}

# The base: 1 KiB blocks, metadata_csum, 64bit, two groups, a 1 MiB
# journal whose superblock has csum v3 (set by a first jbdlab mount, as
# ext4_set_journal_csum_feature_set), and a copy that needs recovery
C1K=$T/c1k.img
mkimg "$C1K" 16M -b 1024 -O 'has_journal,extent,64bit,metadata_csum' -J size=1
jbd_mount "$C1K" "$MNT"
jbd_umount "$MNT"
fsck_clean "$C1K" "the 1 KiB metadata_csum base"
[ $(( $(jsb_u32 "$C1K" $((0x28))) & 0x10 )) != 0 ] || die "the base journal has no csum v3"
NEEDREC=$T/needrec.img
cp --sparse=always "$C1K" "$NEEDREC"
head -c $((1024 * 3)) /dev/zero | tr '\0' 'R' >"$T/rdata"
printf 'jo -c -v 3\njw -b 9000,9001,9002 %s\njc\n' "$T/rdata" >"$T/rcmds"
debugfs -w -f "$T/rcmds" "$NEEDREC" >/dev/null 2>&1
dumpe2fs -h "$NEEDREC" 2>/dev/null | grep -q needs_recovery || die "debugfs left no journal to recover"

# 7a. superblock checksum (ext4_superblock_csum_verify): one bit of
# s_checksum flipped -- refused before replay by rw and ro mounts, and by
# `jbdlab replay` (e2fsck -E journal_only refuses it too when it has no
# backup superblock to fall back to)
cp --sparse=always "$NEEDREC" "$T/sbcsum.img"
printf '\x5a' | dd of="$T/sbcsum.img" bs=1 seek=$((1024 + 0x3fc)) conv=notrunc status=none
[ "$(superblock_u32 "$T/sbcsum.img" $((0x3fc)))" != "$(superblock_u32 "$NEEDREC" $((0x3fc)))" ] ||
	die "the superblock checksum did not change"
dumpe2fs -h "$T/sbcsum.img" >/dev/null 2>&1 && die "dumpe2fs accepts the bad superblock checksum?"
expect_refused "bad superblock checksum, needs recovery (rw)" "$T/sbcsum.img"
expect_refused "bad superblock checksum, needs recovery (ro)" "$T/sbcsum.img" ro
expect_replay_refused "bad superblock checksum, needs recovery" "$T/sbcsum.img"
cp --sparse=always "$C1K" "$T/sbcsum2.img"
printf '\x5a' | dd of="$T/sbcsum2.img" bs=1 seek=$((1024 + 0x3fc)) conv=notrunc status=none
expect_refused "bad superblock checksum, clean" "$T/sbcsum2.img"
grep -q 'invalid superblock checksum' "$T/err" || fail "bad superblock checksum: message: $(cat "$T/err")"

# 7b. superblock sanity (each through debugfs ssv: the checksum stays valid)
while IFS='|' read -r name req; do
	craft "$name" "$C1K" "$req"
	expect_refused "$name" "$T/c.img"
done <<'CASES'
unknown checksum type (ext4_verify_csum_type)|ssv checksum_type 2
first inode 5 (ext4_inode_info_init)|ssv first_ino 5
inode size 192 (ext4_inode_info_init)|ssv inode_size 192
want_extra_isize beyond the inode (ext4_inode_info_init)|ssv want_extra_isize 200
descriptor size 48 with 64bit (ext4_block_group_meta_init)|ssv desc_size 48
1 inode per group (ext4_block_group_meta_init)|ssv inodes_per_group 1
blocks per group beyond one bitmap (ext4_handle_clustersize)|ssv blocks_per_group 9000
cluster size != block size (ext4_handle_clustersize)|ssv log_cluster_size 1
reserved GDT blocks insanely large (ext4_check_geometry)|ssv reserved_gdt_blocks 300
first data block 0 with 1 KiB blocks (ext4_check_geometry)|ssv first_data_block 0
first data block beyond the end (ext4_check_geometry)|ssv first_data_block 20000
inodes count != groups x inodes per group (ext4_check_geometry)|ssv inodes_count 4104
CASES
mkimg "$T/metabg.img" 16M -b 1024 -O 'meta_bg,^resize_inode,metadata_csum,64bit'
craft "first meta_bg too large" "$T/metabg.img" "ssv first_meta_bg 500"
expect_refused "first meta_bg beyond the descriptor blocks (__ext4_fill_super)" "$T/c.img"

# 7c. group descriptors (ext4_check_descriptors; set_bg recomputes the
# descriptor checksum): a block bitmap outside its group (no flex_bg), an
# inode table past the end of the fs, an inode bitmap on the descriptor
# block, each also on the image that needs recovery and by `jbdlab replay`
mkimg "$T/noflex.img" 16M -b 1024 -O 'has_journal,extent,64bit,metadata_csum,^flex_bg' -J size=1
craft "block bitmap outside group 1" "$T/noflex.img" "set_bg 1 block_bitmap 300"
expect_refused "block bitmap of group 1 not in its group" "$T/c.img"
grep -q 'Block bitmap for group 1 not in group' "$T/err" || fail "block bitmap: message: $(cat "$T/err")"
craft "inode table past the end" "$C1K" "set_bg 1 inode_table 16300"
expect_refused "inode table of group 1 past the end of the fs" "$T/c.img"
craft "inode bitmap on the GDT" "$NEEDREC" "set_bg 0 inode_bitmap 2"
expect_refused "inode bitmap on the descriptor block, needs recovery" "$T/c.img"
expect_replay_refused "inode bitmap on the descriptor block, needs recovery" "$T/c.img"
# a bad descriptor checksum refuses a rw mount (before replay); a ro mount
# goes on, as the kernel's (!sb_rdonly)
craft "bad descriptor checksum" "$C1K" "set_bg 1 checksum 0x1234"
expect_refused "bad group descriptor checksum (metadata_csum)" "$T/c.img"
grep -q 'Checksum for group 1 failed' "$T/err" || fail "descriptor checksum: message: $(cat "$T/err")"
expect_mounts_ro "bad group descriptor checksum (metadata_csum)" "$T/c.img"
craft "bad descriptor checksum, needs recovery" "$NEEDREC" "set_bg 0 checksum 0x1234"
expect_refused "bad group descriptor checksum, needs recovery" "$T/c.img"
mkimg "$T/gdtcsum.img" 16M -b 1024 -O 'has_journal,extent,^metadata_csum,uninit_bg' -J size=1
craft "bad descriptor checksum (gdt_csum)" "$T/gdtcsum.img" "set_bg 0 checksum 0x1234"
expect_refused "bad group descriptor checksum (gdt_csum)" "$T/c.img"

# 7d. the journal inode (ext4_get_journal_inode; sif recomputes the inode
# checksum): not a regular file, size 0, no links -- on rw and ro mounts
# (the kernel loads the journal on both), and an inode checksum that does
# not match (ext4_iget)
while IFS='|' read -r name req; do
	craft "$name" "$C1K" "$req"
	expect_refused "$name (rw)" "$T/c.img"
	expect_refused "$name (ro)" "$T/c.img" ro
done <<'CASES'
journal inode is a directory|sif <8> mode 040600
journal inode of size 0|sif <8> size 0
journal inode without links|sif <8> links_count 0
CASES
craft "journal inode checksum" "$C1K" "sif <8> checksum 0x1234"
expect_refused "journal inode checksum invalid" "$T/c.img"
craft "journal inode is a directory, needs recovery" "$NEEDREC" "sif <8> mode 040600"
expect_refused "journal inode is a directory, needs recovery" "$T/c.img"
expect_replay_refused "journal inode is a directory, needs recovery" "$T/c.img"

# 7e. the journal superblock (journal_check_superblock), checksum
# recomputed unless the case is about it
maxlen=$(jsb_u32 "$C1K" $((0x10)))
while IFS='|' read -r name field value nocsum; do
	cp --sparse=always "$C1K" "$T/c.img"
	jsb_set "$T/c.img" "$field" "$value" $nocsum
	cmp -s "$C1K" "$T/c.img" && die "$name: the journal superblock did not change"
	expect_refused "journal superblock: $name (rw)" "$T/c.img"
	expect_refused "journal superblock: $name (ro)" "$T/c.img" ro
done <<CASES
bad magic|0|0x12345678|nocsum
block size 4096 on a 1 KiB fs|0x0c|4096
s_maxlen beyond the journal inode|0x10|$((maxlen * 4))
s_first 0|0x14|0
s_first at s_maxlen|0x14|$maxlen
s_start beyond the log|0x1c|$((maxlen + 10))
checksum does not match|0xfc|0x12345678|nocsum
csum v2 and v3 both set|0x28|$(( $(jsb_u32 "$C1K" $((0x28))) | 0x8 ))
unknown incompat feature|0x28|$(( $(jsb_u32 "$C1K" $((0x28))) | 0x100 ))
CASES
cp --sparse=always "$NEEDREC" "$T/c.img"
jsb_set "$T/c.img" 0xfc 0x12345678 nocsum
expect_refused "journal superblock checksum, needs recovery" "$T/c.img"
expect_replay_refused "journal superblock checksum, needs recovery" "$T/c.img"
fsck_clean "$C1K" "the 1 KiB base after the refusals"

# 8. bad options on a good image
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
