#!/usr/bin/env bash
# smoke.sh - the journal-replay fuzz target under ASan + UBSan (CI).
#
# Builds the project again, out of tree, with clang, -Dfuzz=libfuzzer and
# -Dsanitize=address,undefined (every UB report fatal), then
#   1. replays the regression corpus (tests/fuzz/regress/: inputs that once
#      crashed, hung or broke a check, and a few seeds per template) through
#      the libFuzzer binary (each input once) and through `jbdlab fuzz run`
#      with LeakSanitizer at exit: nothing may crash, leak or break a check;
#   2. fuzzes 60 s (FUZZ_SECONDS) with the structure-aware mutator from that
#      corpus plus, when ../shared is beside the checkout, the journals of
#      e2fsprogs' j_* images: the run must find nothing.
# The fuzzer's seed is printed (FUZZ_SEED=N replays the same run).
# Needs clang and its fuzzer runtime (./run installs clang and
# libclang-rt-14-dev); FUZZ_KEEP=1 keeps the build directory (printed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
SHARED_DIR=${SHARED_DIR:-$src/../shared}
SECONDS_BUDGET=${FUZZ_SECONDS:-60}
SEED=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM + 1))}
B=$(mktemp -d /tmp/jbdlab-fuzz.XXXXXX)
cleanup() {
	if [ "${FUZZ_KEEP:-0}" = 1 ]; then echo "fuzz_smoke: kept $B"; else rm -rf "$B"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v clang >/dev/null || { echo "fuzz_smoke: FAIL: clang is not installed (./run installs it)"; exit 1; }
echo "fuzz_smoke: seed $SEED; building $src with clang, -Dfuzz=libfuzzer, ASan + UBSan in $B"
CC=clang meson setup "$B/build" "$src" -Dfuzz=libfuzzer -Dsanitize=address,undefined \
	-Dc_args=-fno-sanitize-recover=all >"$B/setup.log" 2>&1 || { tail -n 20 "$B/setup.log"; exit 1; }
ninja -C "$B/build" jbdlab-fuzz jbdlab-fuzz-struct jbdlab >"$B/ninja.log" 2>&1 ||
	{ tail -n 30 "$B/ninja.log"; exit 1; }

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rc=0
n=$(ls "$here/regress" | wc -l)
[ "$n" -gt 0 ] || { echo "fuzz_smoke: FAIL: the regression corpus is empty"; exit 1; }
echo "fuzz_smoke: 1. the regression corpus ($n inputs), each once under the libFuzzer binary"
if ! ASAN_OPTIONS=detect_leaks=1 "$B/build/jbdlab-fuzz" -close_fd_mask=2 "$here"/regress/* >"$B/regress.log" 2>&1; then
	grep -vE '^(INFO|Running|Executed)' "$B/regress.log" | head -n 40
	echo "fuzz_smoke: FAIL: the regression corpus does not replay clean"
	rc=1
fi
echo "fuzz_smoke:    and through jbdlab fuzz run (LeakSanitizer at exit)"
if ! ASAN_OPTIONS=detect_leaks=1 "$B/build/jbdlab" fuzz run "$here/regress" >"$B/run.log" 2>&1; then
	grep -v '^JBD2:' "$B/run.log" | tail -n 40
	echo "fuzz_smoke: FAIL: jbdlab fuzz run on the regression corpus"
	rc=1
else
	tail -n 1 "$B/run.log"
fi

mkdir -p "$B/corpus" "$B/crashes"
cp "$here"/regress/* "$B/corpus/"
if [ -d "$SHARED_DIR/data/e2fsprogs-j" ]; then
	python3 "$here/mkcorpus.py" "$B/build/jbdlab" "$B/corpus" "$SHARED_DIR/data/e2fsprogs-j" >/dev/null
elif [ "${JBDLAB_REQUIRE_SHARED:-0}" = 1 ]; then
	echo "fuzz_smoke: FAIL: missing $SHARED_DIR/data/e2fsprogs-j (JBDLAB_REQUIRE_SHARED=1)"
	exit 1
else
	echo "fuzz_smoke: no ../shared beside the checkout: fuzzing from the regression corpus only"
fi
echo "fuzz_smoke: 2. $SECONDS_BUDGET s of the structure-aware fuzzer from $(ls "$B/corpus" | wc -l) inputs, seed $SEED"
ASAN_OPTIONS=detect_leaks=0 "$B/build/jbdlab-fuzz-struct" -seed="$SEED" -max_total_time="$SECONDS_BUDGET" \
	-max_len=67585 -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 \
	-artifact_prefix="$B/crashes/" "$B/corpus" >"$B/fuzz.log" 2>&1 || true
grep -E '^#[0-9]+[[:space:]]+DONE' "$B/fuzz.log" | tail -n 1 || true
if [ -n "$(ls "$B/crashes")" ]; then
	grep -vE '^(#|INFO|\s+NEW_FUNC)' "$B/fuzz.log" | head -n 60
	for f in "$B"/crashes/*; do
		echo "fuzz_smoke: FAIL: $(basename "$f") (seed $SEED): base64 $(base64 -w0 "$f" | head -c 2000)"
	done
	rc=1
elif ! grep -qE '^#[0-9]+[[:space:]]+DONE' "$B/fuzz.log"; then
	tail -n 30 "$B/fuzz.log"
	echo "fuzz_smoke: FAIL: the fuzzer did not finish its run"
	rc=1
fi
[ $rc = 0 ] && echo "fuzz_smoke: ok"
exit $rc
