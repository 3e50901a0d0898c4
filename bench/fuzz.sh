#!/usr/bin/env bash
# bench/fuzz.sh - how fast jbdlab's journal-replay fuzz target runs, against
# AFL++ on `e2fsck -E journal_only` (not a test: the machines are shared
# and noisy).  All rows in one run, one after another, each one process on
# one core for BUDGET seconds (default 60), from the same corpus of 2 KiB-
# block journals, with the block size pinned to 2 KiB
# (JBDLAB_FUZZ_BLOCKSIZE=2048):
#   1. libFuzzer, structure-aware mutator, ASan + UBSan (jbdlab-fuzz-struct)
#   2. libFuzzer, byte mutations only, ASan + UBSan (jbdlab-fuzz)
#   3. AFL++ on the same target (afl-clang-fast, libAFLDriver's persistent
#      loop, no sanitizer)
#   4. AFL++ on e2fsck -E journal_only: per input, `jbdlab fuzz image`
#      writes the image to /dev/shm and e2fsck replays it (one process pair
#      per input, AFL_NO_FORKSRV).  With E2FSCK_AFL set to an e2fsck built
#      with afl-clang-fast (e2fsprogs' sources, ./configure CC=afl-clang-fast;
#      `make libs; make -C e2fsck e2fsck`), AFL++ reads e2fsck's own edge
#      coverage; without it, Debian's e2fsck runs in AFL's -n mode and only
#      execs/s are measured.
# Printed per row: execs/s, total execs, edge coverage after the budget
# (libFuzzer: covered inline counters of jbdlab's code; AFL++: edges_found
# of its map over the instrumented program -- the rows count different
# programs, so coverage says how each saturates, execs/s compare), new
# corpus entries and crashes; then the ratio of row 1 to row 4.
# Every row prints the fuzzer seed (SEED, default random, printed).
# Corpus: the b2048-* journals of ../shared/tools/mkjournal-cases (seed 1),
# else the 2 KiB inputs of tests/fuzz/regress.
#
# Environment: BUDGET (60), SEED, E2FSCK_AFL, SHARED_DIR.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
cd "$src"
BUDGET=${BUDGET:-60}
SEED=${SEED:-$((RANDOM * 32768 + RANDOM + 1))}
SHARED_DIR=${SHARED_DIR:-$src/../shared}
export JBDLAB_FUZZ_BLOCKSIZE=2048
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1
W=$(mktemp -d /tmp/jbdlab-bench-fuzz.XXXXXX)
trap 'rm -rf "$W" /dev/shm/jbdlab-bench-fuzz.*' EXIT

scripts/fuzz.sh build all || exit 1
JBDLAB=$src/build-fuzz/jbdlab
mkdir -p "$W/seeds" "$W/templates"
if [ -f "$SHARED_DIR/tools/mkjournal-cases" ]; then
	bash "$SHARED_DIR/tools/mkjournal-cases" "$W/cases" 1 >/dev/null 2>&1
	python3 tests/fuzz/mkcorpus.py "$JBDLAB" "$W/seeds" "$W"/cases/b2048-*.img >/dev/null
	what="the 24 b2048 journals of mkjournal-cases"
else
	cp tests/fuzz/regress/*b2048* "$W/seeds/"
	what="the 2 KiB inputs of tests/fuzz/regress (no ../shared)"
fi
echo "bench/fuzz: seed $SEED, $BUDGET s per row, one core each, 2 KiB blocks; corpus: $(ls "$W/seeds" | wc -l) inputs ($what)"

row() { printf '%-44s %9s %10s %9s %8s %7s\n' "$@"; }
row "fuzzer / target" "execs/s" "execs" "edges" "new" "crashes"

libfuzzer() {	# NAME BINARY
	local name=$1 bin=$2 d=$W/$1 line
	mkdir -p "$d/corpus" "$d/art"
	cp "$W"/seeds/* "$d/corpus/"
	"$bin" -seed="$SEED" -max_total_time="$BUDGET" -max_len=67585 -timeout=10 \
		-close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$d/art/" "$d/corpus" >"$d/log" 2>&1
	line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$d/log" | tail -n1)
	local execs rate cov new
	execs=$(grep -E '^stat::number_of_executed_units' "$d/log" | awk '{print $2}')
	rate=$(grep -E '^stat::average_exec_per_sec' "$d/log" | awk '{print $2}')
	new=$(grep -E '^stat::new_units_added' "$d/log" | awk '{print $2}')
	cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$line")
	row "$name" "${rate:-?}" "${execs:-?}" "${cov:-?}" "${new:-?}" "$(ls "$d/art" | wc -l)"
	eval "RATE_$3=${rate:-0}"
}

afl() {	# NAME TARGET-ARGS...
	local name=$1 d=$W/$1
	shift
	RATE_LAST=0	# a failed row leaves no ratio behind
	mkdir -p "$d"
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1 \
		timeout --signal=INT $((BUDGET + 30)) afl-fuzz -s "$SEED" -V "$BUDGET" -t 10000 \
		-i "$W/seeds" -o "$d/out" "$@" >"$d/log" 2>&1
	local st=$d/out/default/fuzzer_stats
	if [ ! -f "$st" ]; then
		row "$name" "failed" "-" "-" "-" "-"
		tail -n 5 "$d/log" | sed 's/^/    /'
		return
	fi
	local rate execs edges new crashes
	rate=$(awk '$1 == "execs_per_sec" {print int($3)}' "$st")
	execs=$(awk '$1 == "execs_done" {print $3}' "$st")
	edges=$(awk '$1 == "edges_found" {print $3}' "$st")
	new=$(awk '$1 == "corpus_found" {print $3}' "$st")
	crashes=$(awk '$1 == "saved_crashes" {print $3}' "$st")
	[ -n "${NOCOV:-}" ] && edges="n/a"
	row "$name" "$rate" "$execs" "$edges" "$new" "$crashes"
	RATE_LAST=$rate
}

libfuzzer "libFuzzer struct, ASan+UBSan (jbdlab)" build-fuzz/jbdlab-fuzz-struct 1
libfuzzer "libFuzzer bytes, ASan+UBSan (jbdlab)" build-fuzz/jbdlab-fuzz 2
afl "AFL++ (jbdlab target, libAFLDriver)" -- build-afl/jbdlab-fuzz

cat >"$W/e2fsck-target" <<EOF
#!/bin/sh
# AFL++ target: the input's image, then e2fsck -E journal_only on it
img=/dev/shm/jbdlab-bench-fuzz.\$\$.img
JBDLAB_FUZZ_TEMPLATES=$W/templates "$JBDLAB" fuzz image "\$1" "\$img" 2>/dev/null || exit 0
"\$E2FSCK" -y -E journal_only "\$img" >/dev/null 2>&1
rm -f "\$img"
EOF
chmod +x "$W/e2fsck-target"
if [ -n "${E2FSCK_AFL:-}" ] && [ -x "$E2FSCK_AFL" ]; then
	E2FSCK=$E2FSCK_AFL AFL_SKIP_BIN_CHECK=1 AFL_NO_FORKSRV=1 \
		afl "AFL++ e2fsck -E journal_only (instrumented)" -- "$W/e2fsck-target" @@
else
	E2FSCK=$(command -v e2fsck) NOCOV=1 \
		afl "AFL++ -n e2fsck -E journal_only (Debian's)" -n -- "$W/e2fsck-target" @@
fi
echo "bench/fuzz: libFuzzer target, ASan+UBSan: struct $RATE_1 execs/s, bytes $RATE_2 execs/s (target: over 2,000 on 2 KiB blocks)"
if [ "${RATE_LAST:-0}" -gt 0 ]; then
	echo "bench/fuzz: against AFL++ on e2fsck ($RATE_LAST execs/s): struct $(awk -v a="$RATE_1" -v b="$RATE_LAST" 'BEGIN{printf "%.1fx", a/b}'), bytes $(awk -v a="$RATE_2" -v b="$RATE_LAST" 'BEGIN{printf "%.1fx", a/b}')"
fi
