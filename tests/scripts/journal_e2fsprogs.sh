#!/usr/bin/env bash
# journal_e2fsprogs.sh [JBDLAB]
#
# Interop test 2: e2fsprogs' own journal test images
# (../shared/data/e2fsprogs-j/, with their expected e2fsck transcripts).
# Each image is replayed on separate copies by `jbdlab replay` and by the
# reference `e2fsck -E journal_only -y` (never -f: testing.md §2.4).  Every
# case has an expected class:
#   replay    jbdlab exits 0; every block but the two superblocks equals
#             e2fsck's; same superblock features/state; same e2fsck -fn
#             verdict afterwards;
#   error     recovery stops with an error (checksum, bad revoke block):
#             jbdlab exits 1, replays exactly what e2fsck replays (blocks
#             equal), resets the log and clears needs_recovery;
#   refuse    jbdlab exits 1 with the given reason and leaves every byte of
#             the image as it was (corrupt journal superblock, external
#             journal, journal device, fast-commit replay needed).
# The e2fsck transcripts pin the stopping points: "Journal transaction N
# was corrupt", "JBD2: Invalid checksum recovering data block N in log",
# "Invalid argument while recovering journal" must have their jbdlab
# counterparts.  jbdlab must never crash: only exit codes 0 and 1.
#
# The story: j_corrupt_revoke_rcount was a buffer overrun in e2fsck's
# replay (2015); j_corrupt_commit_csum/descr_csum/journal_block pin the
# three different reactions to a checksum failure (end of log, refuse the
# whole log, skip one block).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
require_journal_tools
require_shared data/e2fsprogs-j
setup_tmp
DATA=$SHARED_DIR/data/e2fsprogs-j

declare -A CLASS=(
	[j_corrupt_commit_csum]=replay [j_corrupt_commit_tid]=replay
	[j_corrupt_descr_tid]=replay [j_corrupt_revoke_block]=replay
	[j_corrupt_revoke_csum]=replay [j_recover_csum2_32bit]=replay
	[j_recover_csum2_64bit]=replay [j_recover_csum3_64bit]=replay
	[j_corrupt_descr_csum]=error [j_corrupt_journal_block]=error
	[j_corrupt_revoke_rcount]=error
	[j_corrupt_sb_csum]=refuse [j_corrupt_sb_magic]=refuse
	[j_ext_dumpe2fs]=refuse [j_recover_fast_commit]=refuse
	[j_corrupt_ext_jnl_sb_block]=refuse [j_corrupt_ext_jnl_sb_csum]=refuse
)
declare -A REASON=(
	[j_corrupt_sb_csum]="journal superblock checksum does not match"
	[j_corrupt_sb_magic]="journal superblock has a bad magic number"
	[j_ext_dumpe2fs]="external journal device"
	[j_recover_fast_commit]="fast-commit replay"
	[j_corrupt_ext_jnl_sb_block]="external journal"
	[j_corrupt_ext_jnl_sb_csum]="external journal"
	[j_corrupt_descr_csum]="journal checksum error"
	[j_corrupt_journal_block]="journal checksum error"
	[j_corrupt_revoke_rcount]="Invalid argument"
)

# unpack CASE DIR: the images of a case, one path per line
unpack() {
	local c=$1 d=$2
	mkdir -p "$d"
	if [ -f "$DATA/$c/image.gz" ]; then
		gzip -dc "$DATA/$c/image.gz" >"$d/image"
		echo "$d/image"
	elif [ -f "$DATA/$c/image.bz2" ]; then
		bzip2 -dc "$DATA/$c/image.bz2" >"$d/image"
		echo "$d/image"
	else
		tar -xjf "$DATA/$c/image.tar.bz2" -C "$d"
		ls "$d"/*
	fi
}

# transcript_checks CASE: the stopping points named by e2fsck's transcript
transcript_checks() {
	local c=$1 exp n
	exp=$(cat "$DATA/$c"/expect* 2>/dev/null)
	if n=$(grep -o 'Journal transaction [0-9]* was corrupt' <<<"$exp" | grep -o '[0-9]*'); then
		grep -q "journal transaction $n was corrupt" "$T/replay.out" ||
			fail "$c: expected 'journal transaction $n was corrupt': $(cat "$T/replay.out")"
	fi
	if n=$(grep -o 'JBD2: Invalid checksum recovering data block [0-9]* in log' <<<"$exp"); then
		grep -qF "$n" "$T/replay.out" || fail "$c: expected '$n': $(cat "$T/replay.out")"
	fi
	if grep -q 'Invalid argument while recovering journal' <<<"$exp"; then
		grep -q 'Invalid argument' "$T/replay.out" || fail "$c: expected EINVAL: $(cat "$T/replay.out")"
	fi
	if grep -q 'Journal checksum error found' <<<"$exp"; then
		grep -q 'journal checksum error' "$T/replay.out" ||
			fail "$c: expected a checksum error: $(cat "$T/replay.out")"
	fi
}

total=0 good=0
for dir in "$DATA"/j_*/; do
	c=$(basename "$dir")
	cls=${CLASS[$c]:-}
	[ -n "$cls" ] || { fail "$c: no expected class in this test (new case?)"; continue; }
	total=$((total + 1))
	before=$FAILS
	rm -rf "$T/u"
	while read -r img; do
		# the journal device of an external-journal pair is a refusal too
		cp --sparse=always "$img" "$T/jbd.img"
		cp --sparse=always "$img" "$T/e2.img"
		run_replay "$T/jbd.img" || continue
		e2fsck -E journal_only -y "$T/e2.img" >"$T/e2fsck.out" 2>&1 || true
		case $cls in
		replay)
			[ "$REPLAY_RC" = 0 ] || { fail "$c: exit $REPLAY_RC: $(cat "$T/replay.out")"; continue; }
			out=$(cmp_images "$T/jbd.img" "$T/e2.img") || fail "$c: blocks differ from e2fsck's: $out"
			[ "$(sb_state "$T/jbd.img")" = "$(sb_state "$T/e2.img")" ] ||
				fail "$c: superblock state: $(sb_state "$T/jbd.img") vs $(sb_state "$T/e2.img")"
			a=$(fsck_verdict "$T/jbd.img") b=$(fsck_verdict "$T/e2.img")
			[ "$a" = "$b" ] || fail "$c: e2fsck -fn verdict $a, after e2fsck's replay $b"
			;;
		error)
			[ "$REPLAY_RC" = 1 ] || { fail "$c: exit $REPLAY_RC, expected 1: $(cat "$T/replay.out")"; continue; }
			out=$(cmp_images "$T/jbd.img" "$T/e2.img") || fail "$c: blocks differ from e2fsck's: $out"
			dumpe2fs -h "$T/jbd.img" 2>/dev/null | grep -q needs_recovery &&
				fail "$c: needs_recovery still set"
			[ "$(debugfs -R 'logdump' "$T/jbd.img" 2>/dev/null | grep -c 'Journal starts at block 0')" = 1 ] ||
				fail "$c: the journal was not reset"
			;;
		refuse)
			[ "$REPLAY_RC" = 1 ] || { fail "$c: exit $REPLAY_RC, expected a refusal: $(cat "$T/replay.out")"; continue; }
			cmp -s "$img" "$T/jbd.img" || fail "$c: the image changed although replay was refused"
			;;
		esac
		if [ -n "${REASON[$c]:-}" ]; then
			grep -qF "${REASON[$c]}" "$T/replay.out" ||
				fail "$c: expected '${REASON[$c]}' in: $(cat "$T/replay.out")"
		fi
		[ "$cls" = refuse ] || transcript_checks "$c"
		log "$c ($cls): $(tail -n 1 "$T/replay.out")"
	done < <(unpack "$c" "$T/u")
	[ "$FAILS" = "$before" ] && good=$((good + 1))
done
log "$good of $total e2fsprogs j_* cases as expected"
