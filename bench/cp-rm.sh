#!/usr/bin/env bash
# bench/cp-rm.sh [JBDLAB] - metadata-heavy copy/remove benchmark (not a test).
#
# On a fresh 1 GiB, 2 KiB-block ext4 image per contender, time
#   cp -r SRC (default /usr/include) into the mount,
#   rm -rf of the copy,
#   umount, including the daemon's exit (everything written home),
# for jbdlab, fuse2fs (Debian's, `fuse2fs -o fakeroot`) and the kernel (loop
# mount).  Prints each time, the ratios jbdlab/fuse2fs and jbdlab/kernel from
# this one run, jbdlab's peak RSS (VmHWM, sampled) against cache_size + 64 MiB,
# and e2fsck -fn of every image afterwards.  The contender "jbdlab-default"
# is jbdlab again without cache_size= (the default, 256M): its time is shown,
# and its peak RSS checked against 256M + 64 MiB; it is not in the ratios.
#
# Environment: JBDLAB (default build/jbdlab), SRC, CACHE_SIZE (default 64M,
# passed as -o cache_size=), SEED (-o seed=, default 1), IMG_SIZE (1G), BS
# (2048), CONTENDERS (default "jbdlab fuse2fs kernel jbdlab-default").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -x "$1" ]; then JBDLAB=$1; shift; fi
JBDLAB=$(readlink -f "${JBDLAB:-$here/../build/jbdlab}")
SRC=${SRC:-/usr/include}
CACHE_SIZE=${CACHE_SIZE:-64M}
SEED=${SEED:-1}
IMG_SIZE=${IMG_SIZE:-1G}
BS=${BS:-2048}
CONTENDERS=${CONTENDERS:-"jbdlab fuse2fs kernel jbdlab-default"}
DEFAULT_CACHE_SIZE=256M	# mount_opts.c: cache_size default

[ "$(id -u)" = 0 ] || { echo "cp-rm: needs root" >&2; exit 1; }
T=$(mktemp -d /tmp/jbdlab-bench.XXXXXX)
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
to_kib() { # 64M / 512K / 1G / bytes -> KiB
	local v=$1
	case $v in
	*[kK]) echo $((${v%?})) ;;
	*[mM]) echo $((${v%?} * 1024)) ;;
	*[gG]) echo $((${v%?} * 1024 * 1024)) ;;
	*) echo $((v / 1024)) ;;
	esac
}
wait_mount() {
	local i
	for ((i = 0; i < 300; i++)); do
		mountpoint -q "$MNT" && return 0
		[ -n "$PID" ] && ! kill -0 "$PID" 2>/dev/null && { echo "cp-rm: daemon died" >&2; cat "$T/daemon.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "cp-rm: mount did not appear" >&2
	exit 1
}
wait_pid() { # wait for a process we started to exit (polling: it may not be our child)
	while kill -0 "$1" 2>/dev/null; do sleep 0.05; done
}

src_files=$(find "$SRC" | wc -l)
src_kib=$(du -sk "$SRC" | cut -f1)
echo "cp-rm: src=$SRC ($src_files entries, $src_kib KiB) image=$IMG_SIZE bs=$BS"
echo "cp-rm: jbdlab=$JBDLAB -o cache_size=$CACHE_SIZE,seed=$SEED; fuse2fs -o fakeroot; kernel loop mount"
# the source in the page cache for everyone (through a pipe: GNU tar skips
# reading the files when its archive is /dev/null itself)
tar -cf - "$SRC" 2>/dev/null | cat >/dev/null

declare -A T_CP T_RM T_UM T_ALL FSCK HWM
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
	jbdlab-default)
		"$JBDLAB" mount -f -o "seed=$SEED" "$img" "$MNT" >"$T/daemon.log" 2>&1 &
		PID=$!
		;;
	fuse2fs)
		command -v fuse2fs >/dev/null || { echo "cp-rm: fuse2fs not installed (apt-get install fuse2fs)"; continue; }
		fuse2fs -f -o fakeroot "$img" "$MNT" >"$T/daemon.log" 2>&1 &
		PID=$!
		;;
	kernel)
		LOOP=$(losetup -f --show "$img")
		mount -t ext4 "$LOOP" "$MNT"
		;;
	esac
	wait_mount
	if [ "${who%-default}" = jbdlab ]; then
		rm -f "$T/hwm"
		( while sleep 0.2; do
			awk '/^VmHWM/ { print $2 }' "/proc/$PID/status" 2>/dev/null >"$T/hwm.tmp" &&
				[ -s "$T/hwm.tmp" ] && mv "$T/hwm.tmp" "$T/hwm"
		  done ) &
		SAMPLER=$!
	fi
	sync
	t0=$(now)
	cp -r "$SRC" "$MNT/copy"
	t1=$(now)
	rm -rf "$MNT/copy"
	t2=$(now)
	umount "$MNT"
	if [ -n "$PID" ]; then wait_pid "$PID"; fi
	if [ -n "$LOOP" ]; then losetup -d "$LOOP"; LOOP=""; fi
	t3=$(now)
	if [ -n "$SAMPLER" ]; then
		kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
		HWM[$who]=$(cat "$T/hwm" 2>/dev/null || echo 0)
	fi
	PID=""
	T_CP[$who]=$(elapsed "$t0" "$t1")
	T_RM[$who]=$(elapsed "$t1" "$t2")
	T_UM[$who]=$(elapsed "$t2" "$t3")
	T_ALL[$who]=$(elapsed "$t0" "$t3")
	if e2fsck -fn "$img" >/dev/null 2>&1; then FSCK[$who]=clean; else FSCK[$who]="NOT CLEAN (exit $?)"; fi
	printf 'cp-rm: %-8s cp %7ss  rm %7ss  umount+exit %7ss  total %7ss  e2fsck: %s\n' \
		"$who" "${T_CP[$who]}" "${T_RM[$who]}" "${T_UM[$who]}" "${T_ALL[$who]}" "${FSCK[$who]}"
	rm -f "$img"
done

ratio() { # A B -> A/B for each phase
	[ -n "${T_ALL[$1]:-}" ] && [ -n "${T_ALL[$2]:-}" ] || return 0
	printf 'cp-rm: %s/%s: cp %sx  rm %sx  umount+exit %sx  total %sx\n' "$1" "$2" \
		"$(div "${T_CP[$1]}" "${T_CP[$2]}")" "$(div "${T_RM[$1]}" "${T_RM[$2]}")" \
		"$(div "${T_UM[$1]}" "${T_UM[$2]}")" "$(div "${T_ALL[$1]}" "${T_ALL[$2]}")"
}
ratio jbdlab fuse2fs
ratio jbdlab kernel
peak_rss() { # CONTENDER CACHE_SIZE
	[ -n "${T_ALL[$1]:-}" ] || return 0
	local limit=$(( $(to_kib "$2") + 64 * 1024 )) hwm=${HWM[$1]:-0} verdict=within
	[ "$hwm" -gt "$limit" ] && verdict="OVER"
	echo "cp-rm: $1 peak RSS (VmHWM) $((hwm / 1024)) MiB vs cache_size $2 + 64 MiB = $((limit / 1024)) MiB: $verdict"
}
peak_rss jbdlab "$CACHE_SIZE"
peak_rss jbdlab-default "$DEFAULT_CACHE_SIZE"
