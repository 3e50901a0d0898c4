#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-replay-log.sh - manual cross-check of our dm-log-writes logs against
# fstests' src/log-writes/replay-log (built outside this repository).
#
#   tests/tools/check-replay-log.sh REPLAY_LOG BUILDDIR [SEED...]
#
# For each seed and each of three workloads (1 I/O thread; 4 threads in
# reorder mode; a writer killed with SIGKILL after unflushed writes) it
# records a log with tests/unit/blockdev/loggen and checks that replay-log:
#   - accepts the log and agrees on the entry count and on mark positions;
#   - replays the whole log to exactly the final image (cmp);
#   - replays every prefix ending at a FLUSH/FUA/MARK entry, plus a sample
#     of others, to the same bytes as our reader (logreplay --upto);
#   - replays to each "op N" mark (--end-mark) as ours does;
#   - for the killed writer, stops at the last published entry.
# Not a meson test: it needs replay-log, which the project does not build.
set -euo pipefail

RL=${1:?replay-log path}
B=${2:?build dir}
shift 2
SEEDS=${*:-1 2 3}
LOGREPLAY=$B/tests/unit/blockdev/logreplay
LOGGEN=$B/tests/unit/blockdev/loggen
T=$(mktemp -d /tmp/jbdlab-rlcheck.XXXXXX)
trap 'rm -rf "$T"' EXIT
checks=0

fail() { echo "FAIL: $*" >&2; exit 1; }

prefix_cmp() {	# $1 = number of entries
	cp "$T/orig" "$T/a"; cp "$T/orig" "$T/b"
	"$RL" --log "$T/log" --replay "$T/a" --limit "$1" >/dev/null
	"$LOGREPLAY" --upto "$1" "$T/log" "$T/b"
	cmp -s "$T/a" "$T/b" || fail "prefix $1 differs (seed $seed, $mode)"
	checks=$((checks + 1))
}

for seed in $SEEDS; do
	for mode in single reorder kill; do
		case $mode in
		single)  args="--threads 1" ;;
		reorder) args="--threads 4 --reorder" ;;
		kill)    args="--threads 1 --kill" ;;
		esac
		head -c $((1024 * 1024 + 1000)) /dev/urandom > "$T/orig"
		cp "$T/orig" "$T/img"
		# shellcheck disable=SC2086
		"$LOGGEN" --seed "$seed" --ops 600 $args "$T/img" "$T/log" >/dev/null 2>&1 || [ "$mode" = kill ]

		"$LOGREPLAY" --list "$T/log" > "$T/list"
		ours=$(head -1 "$T/list" | sed -n 's/^entries=\([0-9]*\) .*/\1/p')
		"$RL" --log "$T/log" > "$T/info"
		grep -q "entries=$ours\$" "$T/info" || fail "entry count: $(cat "$T/info") vs ours $ours"

		# whole log
		cp "$T/orig" "$T/a"
		"$RL" --log "$T/log" --replay "$T/a" >/dev/null
		if [ "$mode" != kill ]; then
			# the image is not a whole number of sectors: a logged
			# write to its last partial sector extends a replayed copy
			cmp -s -n "$(stat -c %s "$T/img")" "$T/a" "$T/img" ||
				fail "full replay != final image (seed $seed, $mode)"
		else
			"$LOGREPLAY" --list --tail "$T/log" > "$T/tlist"
			tail_n=$(head -1 "$T/tlist" | sed -n 's/^entries=\([0-9]*\) .*/\1/p')
			[ "$tail_n" -gt "$ours" ] || fail "killed writer left no unpublished tail"
			cp "$T/orig" "$T/b"
			"$LOGREPLAY" --tail "$T/log" "$T/b"
			cmp -s -n "$(stat -c %s "$T/img")" "$T/b" "$T/img" ||
				fail "tail replay != final image of the killed writer"
		fi
		checks=$((checks + 1))

		# every durable point and a sample of the rest
		awk 'NR > 1 && ($4 ~ /FLUSH|FUA|MARK/ || NR % 17 == 0) { print $1 + 1 }' "$T/list" > "$T/points"
		while read -r n; do prefix_cmp "$n"; done < "$T/points"

		# marks
		grep ' MARK op ' "$T/list" | awk '{ print $6 }' | head -5 | while read -r m; do
			cp "$T/orig" "$T/a"; cp "$T/orig" "$T/b"
			"$RL" --log "$T/log" --replay "$T/a" --end-mark "op $m" >/dev/null
			"$LOGREPLAY" --end-mark "op $m" "$T/log" "$T/b"
			cmp -s "$T/a" "$T/b" || fail "--end-mark 'op $m' differs"
			idx_rl=$("$RL" --log "$T/log" --find --end-mark "op $m" | cut -d@ -f1)
			idx_us=$("$LOGREPLAY" --find-mark "op $m" "$T/log")
			[ "$idx_rl" = "$idx_us" ] || fail "mark 'op $m' at $idx_rl (replay-log) vs $idx_us (ours)"
		done
		echo "seed $seed $mode: $ours entries, $(wc -l < "$T/points") prefixes + marks agree"
	done
done
echo "replay-log cross-check passed ($checks replays compared)"
