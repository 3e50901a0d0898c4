#!/usr/bin/env bash
# journal_mkcases.sh [JBDLAB]
#
# Interop test 1: ../shared/tools/mkjournal-cases builds 72 needs-recovery
# images with Debian's debugfs -- an independent jbd2 writer -- over 1/2/4
# KiB blocks x 32/64bit x journal csum none/v2/v3 x short/revoke/
# uncommitted/multi transactions, each with e2fsck -E journal_only's replay
# beside it (.ref).  For every case: `jbdlab replay` on a copy must exit 0
# and produce the same filesystem blocks as the .ref (all but the ext4 and
# journal superblock blocks), the same superblock features and state, and
# the same e2fsck -fn verdict.  A second replay must find nothing to do.
#
# The story this guards: every variant of the format that a writer can
# produce -- tag3 vs classic tags with and without the v2 16-bit checksum,
# 64-bit block numbers, revoke records of 4 and 8 bytes, uncommitted
# transactions that must not be replayed -- is read like e2fsck reads it
# (peers.md trap 7).  Seeded by SEED (default 1): the data and block
# numbers change with it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
require_journal_tools
require_shared tools/mkjournal-cases
setup_tmp
SEED=${SEED:-1}
log "seed $SEED"

bash "$SHARED_DIR/tools/mkjournal-cases" "$T/cases" "$SEED" >/dev/null
total=0 good=0
for img in "$T"/cases/*.img; do
	name=$(basename "$img" .img)
	ref=$T/cases/$name.ref
	total=$((total + 1))
	cp --sparse=always "$img" "$T/jbd.img"
	run_replay "$T/jbd.img" || continue
	if [ "$REPLAY_RC" != 0 ]; then
		fail "$name: jbdlab replay exit $REPLAY_RC: $(cat "$T/replay.out")"
		continue
	fi
	if ! out=$(cmp_images "$T/jbd.img" "$ref"); then
		fail "$name: blocks differ from e2fsck's replay: $out"
		continue
	fi
	if [ "$(sb_state "$T/jbd.img")" != "$(sb_state "$ref")" ]; then
		fail "$name: superblock state differs: $(sb_state "$T/jbd.img") vs $(sb_state "$ref")"
		continue
	fi
	a=$(fsck_verdict "$T/jbd.img") b=$(fsck_verdict "$ref")
	if [ "$a" != "$b" ]; then
		fail "$name: e2fsck -fn verdict $a, e2fsck's replay gives $b"
		continue
	fi
	run_replay "$T/jbd.img" || continue
	if [ "$REPLAY_RC" != 0 ] || ! grep -q "nothing to do" "$T/replay.out"; then
		fail "$name: second replay did something: $(cat "$T/replay.out")"
		continue
	fi
	good=$((good + 1))
done
log "$good of $total mkjournal-cases images replay like e2fsck"
[ "$total" = 72 ] || fail "expected 72 cases, mkjournal-cases made $total"
