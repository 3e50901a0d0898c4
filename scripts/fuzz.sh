#!/usr/bin/env bash
# fuzz.sh - build and run fuzzing campaigns of jbdlab's journal replay
# (the target: src/fuzz/jfz.h).
#
#   scripts/fuzz.sh build              clang libFuzzer builds (ASan + UBSan, in
#                                      build-fuzz/) and an AFL++ build (build-afl/)
#   scripts/fuzz.sh corpus DIR         seed corpus: the regression set plus, when
#                                      ../shared is beside the checkout, the journals
#                                      of e2fsprogs' j_* images and of mkjournal-cases
#   scripts/fuzz.sh run [OPTIONS]      a campaign; prints execs/s, coverage, crashes
#       --jobs N        parallel fuzzer processes (default: the number of cores)
#       --seconds S     wall-clock budget (default 600)
#       --target T      struct (default: the structure-aware mutator), plain
#                       (libFuzzer's byte mutations), afl (AFL++, -M/-S instances)
#       --dir DIR       work directory (default fuzz-out/): corpus/, crashes/, logs
#       --seed N        fuzzer seed of job 1 (job k: N+k-1); default random, printed
#   scripts/fuzz.sh report DIR         the summary of a finished campaign again
#   scripts/fuzz.sh repro FILE...      run inputs once under ASan/UBSan (a crash's
#                                      report), then `jbdlab fuzz run -v` on them
#   scripts/fuzz.sh coverage DIR       source coverage of a corpus (llvm-cov, build-cov/):
#                                      lines and branches of the recovery code
#
# A crash, a hang (-timeout=10 s per input) or a broken check (the target
# aborts with "jbdlab fuzz: check failed: ...") leaves the input in
# DIR/crashes/; reproduce with `scripts/fuzz.sh repro FILE`, then add it to
# tests/fuzz/regress/ with the fix.  For more machines: run `--target afl`
# on each with the same DIR on shared storage (one -M, the rest -S), or copy
# corpora between libFuzzer runs (a corpus directory is just files).
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
SRC=$(pwd)
SHARED_DIR=${SHARED_DIR:-$SRC/../shared}
MAXLEN=67585	# JFZ_MAX_INPUT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# LSan only at exit: per input it would rescan the heap whenever an input's
# frees trail its mallocs (the folio quarantine frees a run's folios later).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}

die() { echo "fuzz.sh: $*" >&2; exit 1; }

build() {
	command -v clang >/dev/null || die "clang not installed (apt-get install clang libclang-rt-14-dev)"
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dfuzz=libfuzzer -Dsanitize=address,undefined \
			-Dc_args=-fno-sanitize-recover=all >/dev/null || die "meson setup build-fuzz failed"
	fi
	ninja -C build-fuzz jbdlab-fuzz jbdlab-fuzz-struct jbdlab >/dev/null || die "build-fuzz failed"
	if [ "${1:-}" = afl ] || [ "${1:-}" = all ]; then
		command -v afl-clang-fast >/dev/null || die "AFL++ not installed (apt-get install afl++)"
		if [ ! -f build-afl/build.ninja ]; then
			CC=afl-clang-fast meson setup build-afl -Dfuzz=afl >/dev/null ||
				die "meson setup build-afl failed"
		fi
		AFL_QUIET=1 ninja -C build-afl jbdlab-fuzz >/dev/null || die "build-afl failed"
	fi
}

corpus() {
	local dir=$1 tmp
	mkdir -p "$dir"
	cp tests/fuzz/regress/* "$dir"/ 2>/dev/null || true
	if [ -d "$SHARED_DIR/data/e2fsprogs-j" ] && [ -f "$SHARED_DIR/tools/mkjournal-cases" ]; then
		tmp=$(mktemp -d)
		python3 tests/fuzz/mkcorpus.py build-fuzz/jbdlab "$dir" "$SHARED_DIR/data/e2fsprogs-j" >/dev/null
		bash "$SHARED_DIR/tools/mkjournal-cases" "$tmp/cases" 1 >/dev/null 2>&1
		python3 tests/fuzz/mkcorpus.py build-fuzz/jbdlab "$dir" "$tmp"/cases/*.img >/dev/null
		rm -rf "$tmp"
	else
		echo "fuzz.sh: no ../shared beside the checkout: the seed corpus is the regression set only" >&2
	fi
	echo "fuzz.sh: corpus $dir: $(ls "$dir" | wc -l) inputs"
}

report() {
	local dir=$1 total_exec=0 total_rate=0 cov=0 ft=0 corp n=0 f line
	for f in "$dir"/logs/*.log; do
		[ -e "$f" ] || continue
		line=$(grep -E '^#[0-9]+' "$f" | tail -n1)
		[ -n "$line" ] || continue
		n=$((n + 1))
		total_exec=$((total_exec + $(sed -E 's/^#([0-9]+).*/\1/' <<<"$line")))
		total_rate=$((total_rate + $(sed -E 's/.*exec\/s: ([0-9]+).*/\1/' <<<"$line")))
		c=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$line")
		[ "$c" -gt "$cov" ] && cov=$c && ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$line")
	done
	corp=$(ls "$dir/corpus" 2>/dev/null | wc -l)
	local crashes
	crashes=$(ls "$dir/crashes" 2>/dev/null | grep -cE '^(crash|timeout|oom|leak)-' || true)
	local pcs
	pcs=$(grep -hoE 'Loaded 1 modules +\(([0-9]+) inline 8-bit counters' "$dir"/logs/*.log 2>/dev/null |
		head -n1 | grep -oE '[0-9]+ inline' | grep -oE '[0-9]+')
	echo "fuzz.sh: $n jobs, $total_exec execs, $total_rate execs/s in all; edge coverage $cov of ${pcs:-?} instrumented edges (features $ft); corpus $corp inputs; crashes/hangs/broken checks: $crashes${2:+; seconds $2}"
	if [ "$crashes" -gt 0 ]; then
		ls "$dir/crashes" | sed 's/^/  /'
		return 1
	fi
}

run() {
	local jobs seconds=600 target=struct dir=fuzz-out seed="" bin
	jobs=$(nproc)
	while [ $# -gt 0 ]; do
		case $1 in
		--jobs) jobs=$2; shift 2 ;;
		--seconds) seconds=$2; shift 2 ;;
		--target) target=$2; shift 2 ;;
		--dir) dir=$2; shift 2 ;;
		--seed) seed=$2; shift 2 ;;
		*) die "unknown option $1" ;;
		esac
	done
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive number"
	[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds wants a positive number"
	seed=${seed:-$((RANDOM * 32768 + RANDOM + 1))}
	echo "fuzz.sh: target $target, $jobs jobs, $seconds s, seed $seed (job k: seed+k-1), dir $dir"
	mkdir -p "$dir/corpus" "$dir/crashes" "$dir/logs"
	case $target in
	struct|plain)
		build
		[ -n "$(ls "$dir/corpus")" ] || corpus "$dir/corpus" >/dev/null
		bin=build-fuzz/jbdlab-fuzz-struct
		[ "$target" = plain ] && bin=build-fuzz/jbdlab-fuzz
		local pids=() k
		for k in $(seq 1 "$jobs"); do
			"$bin" -seed=$((seed + k - 1)) -max_total_time="$seconds" -max_len=$MAXLEN \
				-timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 \
				-artifact_prefix="$dir/crashes/" "$dir/corpus" >"$dir/logs/job$k.log" 2>&1 &
			pids+=($!)
		done
		for k in "${pids[@]}"; do wait "$k"; done
		report "$dir" "$seconds"
		;;
	afl)
		build afl
		[ -n "$(ls "$dir/corpus")" ] || corpus "$dir/corpus" >/dev/null
		local pids=() k role
		for k in $(seq 1 "$jobs"); do
			role=(-S "s$k"); [ "$k" = 1 ] && role=(-M main)
			env -u ASAN_OPTIONS -u UBSAN_OPTIONS AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 \
				AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 timeout --signal=INT $((seconds + 5)) afl-fuzz "${role[@]}" -s $((seed + k - 1)) \
				-V "$seconds" -t 10000 -i "$dir/corpus" -o "$dir/afl" -- build-afl/jbdlab-fuzz \
				>"$dir/logs/afl$k.txt" 2>&1 &
			pids+=($!)
		done
		for k in "${pids[@]}"; do wait "$k"; done
		local f
		for f in "$dir"/afl/*/fuzzer_stats; do
			[ -f "$f" ] || { echo "fuzz.sh: afl-fuzz did not run: $(tail -n 3 "$dir"/logs/afl*.txt)"; return 1; }
			awk -v n="$(basename "$(dirname "$f")")" '/^(execs_done|execs_per_sec|edges_found|total_edges|saved_crashes|saved_hangs) /{a[$1]=$3} END{printf "fuzz.sh: afl %s: %s execs, %s execs/s, edges %s of %s, crashes %s, hangs %s\n", n, a["execs_done"], a["execs_per_sec"], a["edges_found"], a["total_edges"], a["saved_crashes"], a["saved_hangs"]}' "$f"
		done
		! ls "$dir"/afl/*/crashes/id* "$dir"/afl/*/hangs/id* >/dev/null 2>&1
		;;
	*) die "unknown target $target (struct, plain, afl)" ;;
	esac
}

coverage() {
	local dir=$1
	command -v llvm-profdata >/dev/null && command -v llvm-cov >/dev/null ||
		die "llvm-profdata/llvm-cov not installed (apt-get install llvm)"
	if [ ! -f build-cov/build.ninja ]; then
		CC=clang meson setup build-cov -Dfuzz=libfuzzer \
			-Dc_args='-fprofile-instr-generate -fcoverage-mapping' \
			-Dc_link_args='-fprofile-instr-generate' >/dev/null || die "meson setup build-cov failed"
	fi
	ninja -C build-cov jbdlab-fuzz >/dev/null || die "build-cov failed"
	rm -f build-cov/fuzz-*.profraw
	LLVM_PROFILE_FILE=$PWD/build-cov/fuzz-%p.profraw build-cov/jbdlab-fuzz -runs=0 \
		-close_fd_mask=2 "$dir" >/dev/null 2>&1
	llvm-profdata merge -sparse build-cov/fuzz-*.profraw -o build-cov/fuzz.profdata ||
		die "no profile"
	echo "fuzz.sh: coverage of $(ls "$dir" | wc -l) inputs ($dir):"
	llvm-cov report build-cov/jbdlab-fuzz -instr-profile=build-cov/fuzz.profdata 2>/dev/null |
		grep -E '^(Filename|src/journal/(recovery|format)\.c|src/fs/replay\.c)' |
		awk '{ if ($1 == "Filename") print "  file                      lines  missed  cover  branches  missed  cover";
		       else printf "  %-24s %6s %7s %6s %9s %7s %6s\n", $1, $8, $9, $10, $11, $12, $13 }'
}

repro() {
	build
	local f rc=0
	for f in "$@"; do
		build-fuzz/jbdlab-fuzz "$f" 2>&1 | grep -vE '^(INFO|Running|Executed|\*\*\*)' || true
	done
	build-fuzz/jbdlab fuzz run -v "$@" || rc=1
	return $rc
}

cmd=${1:-}
shift || true
case $cmd in
build) build "${1:-all}" ;;
corpus) [ $# = 1 ] || die "usage: fuzz.sh corpus DIR"; build; corpus "$1" ;;
run) run "$@" ;;
report) [ $# = 1 ] || die "usage: fuzz.sh report DIR"; report "$1" ;;
repro) [ $# -ge 1 ] || die "usage: fuzz.sh repro FILE..."; repro "$@" ;;
coverage) [ $# = 1 ] || die "usage: fuzz.sh coverage DIR"; coverage "$1" ;;
*) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
