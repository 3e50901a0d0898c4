#!/usr/bin/env bash
# tsan.sh [JBDLAB] - the concurrent core under ThreadSanitizer.
#
# Builds the project again, out of tree, with -Dsanitize=thread, then runs
#   1. the unit suites mm, journal, fs and blockdev, and
#   2. stress.sh (a FUSE mount: FUSE worker threads, kjournald2, writeback,
#      the I/O thread and the migrator at once; STRESS_SECONDS=20), and
#   3. the race lab under the protected strategies (ebdf4de, bh-migrate,
#      no-migrate: fs threads, metadata users, kjournald2 and the migrator;
#      2 s each), which must also detect nothing,
# with every TSan report fatal: a test fails on its exit code 66, the
# daemon's reports are collected through log_path and any one fails the run.
# The kernel's lockless reads are marked (READ_ONCE/WRITE_ONCE are relaxed
# atomics), so a report is an unmarked access to a field outside its lock.
#
# Left out, on purpose:
#   - test_dma_moment: it writes a buffer after submitting it, to show that
#     the device takes the bytes at the DMA moment; that race is the point;
#   - test_stress_getblk: two minutes under TSan, and its lockless lookups
#     run in the fs and journal suites as well;
#   - the lab under unfixed and the refs-ignored family: their stale-pointer
#     accesses of freed folios are the race the lab exists to show.
# liburcu-bp is not instrumented: tests/unit/mm/tsan.supp.
# Environment: TSAN_KEEP=1 keeps the build directory (printed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
B=$(mktemp -d /tmp/jbdlab-tsan.XXXXXX)
cleanup() {
	if [ "${TSAN_KEEP:-0}" = 1 ]; then
		echo "tsan: kept $B"
	else
		rm -rf "$B"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "tsan: building $src with -Dsanitize=thread in $B"
meson setup "$B/build" "$src" -Dsanitize=thread --buildtype=debug >"$B/setup.log" 2>&1 ||
	{ tail -n 20 "$B/setup.log"; exit 1; }
ninja -C "$B/build" >"$B/ninja.log" 2>&1 || { tail -n 30 "$B/ninja.log"; exit 1; }

supp="$src/tests/unit/mm/tsan.supp"
export TSAN_OPTIONS="suppressions=$supp report_signal_unsafe=0 exitcode=66 history_size=4"

tests=$(meson test -C "$B/build" --list 2>/dev/null |
	awk -F' / ' '$1 ~ /:(mm|journal|fs|blockdev)$/ { print $2 }' |
	grep -vx -e test_dma_moment -e test_stress_getblk)
n=$(echo "$tests" | wc -l)
echo "tsan: $n unit tests"
rc=0
# shellcheck disable=SC2086
meson test -C "$B/build" --no-rebuild --num-processes 2 --timeout-multiplier 4 \
	--print-errorlogs $tests >"$B/unit.log" 2>&1 || rc=$?
grep -E "^ *[0-9]+/[0-9]+ " "$B/unit.log" | grep -v " OK " || true
grep -E "^(Ok|Fail|Timeout):" "$B/unit.log" | tr '\n' ' '
echo
if [ $rc != 0 ]; then
	grep -B2 -A30 -m 2 "WARNING: ThreadSanitizer" "$B/unit.log" >"$B/first.log" || true
	head -n 80 "$B/first.log"
	echo "tsan: FAIL: unit tests under TSan (exit $rc)"
	exit 1
fi

echo "tsan: stress.sh under TSan (20 s of 4 threads on a FUSE mount, then the full-disk run)"
mkdir -p "$B/reports"
TSAN_OPTIONS="$TSAN_OPTIONS log_path=$B/reports/tsan" STRESS_SECONDS=20 \
	"$here/stress.sh" "$B/build/jbdlab" >"$B/stress.log" 2>&1 || rc=$?
tail -n 3 "$B/stress.log"
reports=$(find "$B/reports" -type f | wc -l)
if [ $rc != 0 ] || [ "$reports" != 0 ]; then
	find "$B/reports" -type f >"$B/report-files"
	for f in $(head -n 3 "$B/report-files"); do
		head -n 40 "$f"
	done
	echo "tsan: FAIL: stress.sh exit $rc, $reports processes wrote TSan reports"
	exit 1
fi
seed=${SEED:-$(( (RANDOM << 15 | RANDOM) ))}
echo "tsan: jbdlab race under TSan (ebdf4de, bh-migrate, no-migrate; 2 s each, seed $seed)"
mkdir -p "$B/race-reports"
TSAN_OPTIONS="$TSAN_OPTIONS log_path=$B/race-reports/tsan" \
	"$B/build/jbdlab" race --strategy ebdf4de,bh-migrate,no-migrate --seconds 2 \
	--seed "$seed" --quiet --reports 1 --json "$B/race.json" >"$B/race.log" 2>&1 || rc=$?
grep -E "^(ebdf4de|bh-migrate|no-migrate) " "$B/race.log" || true
reports=$(find "$B/race-reports" -type f | wc -l)
if [ $rc != 0 ] || [ "$reports" != 0 ] || grep -q "BUG: jbdlab" "$B/race.log" ||
   ! python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(len(r) != 3 or any(x["migrations_ok"] <= 0 or any(x["detections"].values()) for x in r))' \
	"$B/race.json"; then
	tail -n 20 "$B/race.log"
	for f in $(find "$B/race-reports" -type f | head -n 3); do
		head -n 40 "$f"
	done
	echo "tsan: FAIL: jbdlab race exit $rc, $reports TSan report files (seed $seed;" \
	     "SEED=$seed $0 replays the seed, not the schedule)"
	exit 1
fi
echo "tsan: ok: $n unit tests, the FUSE stress run and the race lab without a TSan report"
