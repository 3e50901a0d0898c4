#!/usr/bin/env bash
# bench/fsync-small.sh [JBDLAB] - small-file fsync latency (not a test).
#
# N times: create a new file, write 4 KiB, fsync, close (one python3
# process, so the loop itself costs the same everywhere), on a fresh image
# per contender: jbdlab (`jbdlab mount -f`, options JBD_OPTS) and the
# kernel (ext4 on a loop device).  Prints both times, microseconds per
# fsync, the ratio jbdlab/kernel, and e2fsck -fn of both images afterwards.
# With a journal, every fsync is a commit: this is the commit path's cost.
#
# Environment: JBDLAB (default build/jbdlab), N (default 500), BS (block
# size, default 2048), IMG_SIZE (default 256M), SEED (-o seed=, default 1),
# JBD_OPTS (extra -o options for jbdlab), REPS (default 1: best of REPS).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -x "$1" ]; then JBDLAB=$1; shift; fi
JBDLAB=$(readlink -f "${JBDLAB:-$here/../build/jbdlab}")
N=${N:-500}
BS=${BS:-2048}
IMG_SIZE=${IMG_SIZE:-256M}
SEED=${SEED:-1}
JBD_OPTS=${JBD_OPTS:-}
REPS=${REPS:-1}

[ "$(id -u)" = 0 ] || { echo "fsync-small: needs root" >&2; exit 1; }
T=$(mktemp -d /tmp/jbdlab-bench-fsync.XXXXXX)
MNT=$T/mnt
mkdir -p "$MNT"
PID=""

cleanup() {
	set +e
	if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT"; fi
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		sleep 2
		kill "$PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_mount() {
	local i
	for ((i = 0; i < 300; i++)); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$PID" 2>/dev/null || { echo "fsync-small: daemon died" >&2; cat "$T/daemon.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "fsync-small: mount did not appear" >&2
	exit 1
}

# the loop: prints the elapsed seconds
run_loop() {
	python3 - "$MNT" "$N" <<'PY'
import os, sys, time
mnt, n = sys.argv[1], int(sys.argv[2])
os.mkdir(f"{mnt}/fs")
buf = bytes(range(256)) * 16
t = time.monotonic()
for i in range(n):
    fd = os.open(f"{mnt}/fs/f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, buf)
    os.fsync(fd)
    os.close(fd)
print(f"{time.monotonic() - t:.3f}")
PY
}

opts="seed=$SEED"
[ -n "$JBD_OPTS" ] && opts="$opts,$JBD_OPTS"
echo "fsync-small: N=$N x (create, write 4 KiB, fsync), image $IMG_SIZE bs=$BS, reps $REPS (best)"
echo "fsync-small: jbdlab=$JBDLAB -o $opts; kernel: ext4 loop mount"
declare -A BEST FSCK
for who in jbdlab kernel; do
	for ((r = 0; r < REPS; r++)); do
		img=$T/$who.img
		rm -f "$img"
		truncate -s "$IMG_SIZE" "$img"
		mkfs.ext4 -q -F -b "$BS" "$img" >/dev/null
		if [ $who = jbdlab ]; then
			"$JBDLAB" mount -f -o "$opts" "$img" "$MNT" >"$T/daemon.log" 2>&1 &
			PID=$!
			wait_mount
		else
			mount -t ext4 -o loop "$img" "$MNT"
		fi
		t=$(run_loop)
		umount "$MNT"
		if [ $who = jbdlab ]; then
			while kill -0 "$PID" 2>/dev/null; do sleep 0.05; done
			wait "$PID" || echo "fsync-small: jbdlab exited with status $?" >&2
			PID=""
		fi
		if [ -z "${BEST[$who]:-}" ] || awk -v a="$t" -v b="${BEST[$who]}" 'BEGIN { exit !(a < b) }'; then
			BEST[$who]=$t
		fi
		rc=0
		e2fsck -fn "$img" >/dev/null 2>&1 || rc=$?
		FSCK[$who]="${FSCK[$who]:-}$rc "
		echo "fsync-small: $who rep $((r + 1)): ${t}s"
	done
done
for who in jbdlab kernel; do
	awk -v w="$who" -v t="${BEST[$who]}" -v n="$N" -v f="${FSCK[$who]}" \
		'BEGIN { printf "fsync-small: %-7s %8.3f s  %8.1f us/fsync  e2fsck -fn: %s\n", w, t, t * 1e6 / n, f }'
done
awk -v a="${BEST[jbdlab]}" -v b="${BEST[kernel]}" \
	'BEGIN { printf "fsync-small: ratio jbdlab/kernel = %.2f\n", a / (b > 0 ? b : 0.001) }'
