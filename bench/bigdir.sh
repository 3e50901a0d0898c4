#!/usr/bin/env bash
# bench/bigdir.sh [JBDLAB] - one big directory (not a test).
#
# On a fresh 2 GiB, 2 KiB-block ext4 image per contender, time
#   create: N (default 100,000) empty files in one directory,
#   stat:   each of them by name, in a random order (seeded),
#   remove: each of them, in another random order,
#   umount, including the daemon's exit (everything written home),
# for jbdlab and the kernel (loop mount), side by side in this one run.
# Prints each time and the ratio jbdlab/kernel per phase and in total,
# jbdlab's peak RSS (VmHWM, sampled) against cache_size + 64 MiB, the
# directory's index depth at the end (debugfs), and e2fsck -fn of
# every image afterwards.  The operations run in one python3 process per
# phase (os.open/os.stat/os.unlink), so the time is the filesystem's.
#
# Environment: JBDLAB (default build/jbdlab), N, SEED (the order and -o
# seed=, default 1), CACHE_SIZE (64M, -o cache_size=), IMG_SIZE (2G), BS
# (2048), CONTENDERS (default "jbdlab kernel").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -x "$1" ]; then JBDLAB=$1; shift; fi
JBDLAB=$(readlink -f "${JBDLAB:-$here/../build/jbdlab}")
N=${N:-100000}
SEED=${SEED:-1}
CACHE_SIZE=${CACHE_SIZE:-64M}
IMG_SIZE=${IMG_SIZE:-2G}
BS=${BS:-2048}
CONTENDERS=${CONTENDERS:-"jbdlab kernel"}

[ "$(id -u)" = 0 ] || { echo "bigdir: needs root" >&2; exit 1; }
T=$(mktemp -d /tmp/jbdlab-bench-bigdir.XXXXXX)
MNT=$T/mnt
mkdir -p "$MNT"
PID="" LOOP="" SAMPLER=""

cleanup() {
	set +e
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT"; fi
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 0.001) }'; }
wait_mount() {
	local i
	for ((i = 0; i < 300; i++)); do
		mountpoint -q "$MNT" && return 0
		[ -n "$PID" ] && ! kill -0 "$PID" 2>/dev/null && { echo "bigdir: daemon died" >&2; cat "$T/daemon.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "bigdir: mount did not appear" >&2
	exit 1
}
wait_pid() { while kill -0 "$1" 2>/dev/null; do sleep 0.05; done; }

# phase DIR create|stat|remove: one process, the names f000000..., seeded order
phase() {
	python3 - "$1" "$2" "$N" "$SEED" <<'EOF'
import os, random, sys
d, what, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = ["f%06d" % i for i in range(n)]
if what == "create":
    for nm in names:
        os.close(os.open(os.path.join(d, nm), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
else:
    random.Random(seed * 2 + (what == "remove")).shuffle(names)
    op = os.stat if what == "stat" else os.unlink
    for nm in names:
        op(os.path.join(d, nm))
EOF
}

echo "bigdir: N=$N files in one directory, image=$IMG_SIZE bs=$BS, seed $SEED"
echo "bigdir: jbdlab=$JBDLAB -o cache_size=$CACHE_SIZE,seed=$SEED; kernel loop mount"

declare -A T_CR T_ST T_RM T_UM T_ALL FSCK HWM DEPTH
for who in $CONTENDERS; do
	img=$T/$who.img
	truncate -s "$IMG_SIZE" "$img"
	mkfs.ext4 -q -F -b "$BS" "$img"
	PID="" LOOP=""
	case $who in
	jbdlab)
		"$JBDLAB" mount -f -o "cache_size=$CACHE_SIZE,seed=$SEED" "$img" "$MNT" >"$T/daemon.log" 2>&1 &
		PID=$!
		;;
	kernel)
		LOOP=$(losetup -f --show "$img")
		mount -t ext4 "$LOOP" "$MNT"
		;;
	esac
	wait_mount
	if [ "$who" = jbdlab ]; then
		rm -f "$T/hwm"
		( while sleep 0.2; do
			awk '/^VmHWM/ { print $2 }' "/proc/$PID/status" 2>/dev/null >"$T/hwm.tmp" &&
				[ -s "$T/hwm.tmp" ] && mv "$T/hwm.tmp" "$T/hwm"
		  done ) &
		SAMPLER=$!
	fi
	mkdir "$MNT/d"
	sync
	t0=$(now)
	phase "$MNT/d" create
	t1=$(now)
	phase "$MNT/d" stat
	t2=$(now)
	phase "$MNT/d" remove
	t3=$(now)
	umount "$MNT"
	if [ -n "$PID" ]; then wait_pid "$PID"; fi
	t4=$(now)
	[ -n "$LOOP" ] && { losetup -d "$LOOP"; LOOP=""; }
	if [ -n "$SAMPLER" ]; then
		kill "$SAMPLER" 2>/dev/null || true
		wait "$SAMPLER" 2>/dev/null || true
		SAMPLER=""
		HWM[$who]=$(cat "$T/hwm" 2>/dev/null || echo 0)
	fi
	PID=""
	T_CR[$who]=$(elapsed "$t0" "$t1")
	T_ST[$who]=$(elapsed "$t1" "$t2")
	T_RM[$who]=$(elapsed "$t2" "$t3")
	T_UM[$who]=$(elapsed "$t3" "$t4")
	T_ALL[$who]=$(awk -v a="${T_CR[$who]}" -v b="${T_ST[$who]}" -v c="${T_RM[$who]}" -v d="${T_UM[$who]}" \
		'BEGIN { printf "%.2f", a + b + c + d }')
	# the index stays when the directory empties (neither fs shrinks it)
	DEPTH[$who]=$(debugfs -R "htree_dump /d" "$img" 2>/dev/null |
		awk '/Indirect levels:/ { print "indexed, " $3 + 1 " index level(s)"; f = 1 } END { if (!f) print "linear" }')
	if e2fsck -fn "$img" >"$T/fsck.$who" 2>&1; then FSCK[$who]=clean; else FSCK[$who]="NOT CLEAN"; fi
	printf 'bigdir: %-7s create %7ss  stat %7ss  remove %7ss  umount %6ss  total %7ss  dir: %s  e2fsck: %s\n' \
		"$who" "${T_CR[$who]}" "${T_ST[$who]}" "${T_RM[$who]}" "${T_UM[$who]}" "${T_ALL[$who]}" \
		"${DEPTH[$who]}" "${FSCK[$who]}"
	rm -f "$img"
done

if [ -n "${T_ALL[jbdlab]:-}" ] && [ -n "${T_ALL[kernel]:-}" ]; then
	echo "bigdir: jbdlab/kernel: create $(div "${T_CR[jbdlab]}" "${T_CR[kernel]}")x," \
		"stat $(div "${T_ST[jbdlab]}" "${T_ST[kernel]}")x, remove $(div "${T_RM[jbdlab]}" "${T_RM[kernel]}")x," \
		"total $(div "${T_ALL[jbdlab]}" "${T_ALL[kernel]}")x (target: within 3x)"
fi
if [ -n "${HWM[jbdlab]:-}" ]; then
	lim=$(( $(numfmt --from=iec "$CACHE_SIZE") / 1024 + 65536 ))
	echo "bigdir: jbdlab peak RSS ${HWM[jbdlab]} KiB (limit cache_size + 64 MiB = $lim KiB):" \
		"$([ "${HWM[jbdlab]}" -le "$lim" ] && echo within || echo OVER)"
fi
