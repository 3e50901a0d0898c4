#!/usr/bin/env bash
# journal_crash_kill.sh [JBDLAB]
#
# Crash test 4: journals written by jbdlab itself, left behind by a daemon
# killed with SIGKILL in the middle of a workload.  For 1, 2 and 4 KiB
# blocks with mkfs.ext4's defaults (metadata_csum, 64bit: journal csum v3)
# and one ^metadata_csum,^64bit case: mount with `jbdlab mount -f`, run
# journal_crash_workload.py (creates, writes, truncates, renames, unlinks,
# directories grown and removed, about half of the changed files fsynced;
# each successful fsync is recorded as "F path sha256" in a file OUTSIDE
# the mount, each change of a path is announced by a "T path" line before
# it starts), take 2-3 copies of the image at random moments, then SIGKILL
# the daemon (and the workload) at a random moment and lazily unmount the
# dead mount.
#
# The copies are point-in-time: the daemon is stopped (SIGSTOP: every
# pwrite it started has completed) while cp --sparse=always reads the
# image, then continued.  A plain cp of an image that is being written is
# NOT a crash state (it can pair a checkpointed journal tail with home
# blocks read before the checkpoint).
#
# For the killed image and every copy, three copies are checked:
#   A  e2fsck -E journal_only -y (no -f), then e2fsck -fn must exit 0, and
#      every fsynced file (read with debugfs) has its recorded content;
#   B  a kernel loop mount (the kernel replays the journal): every fsynced
#      file has its content, umount, then e2fsck -fn must exit 0;
#   C  `jbdlab replay`, e2fsck -fn must exit 0, blocks equal to A's but the
#      two superblocks, fsynced files intact.
# "Every fsynced file" = the files whose last record line (up to the moment
# of the kill / copy) is an F: a file changed after its fsync is left out.
# The image must also be marked needs_recovery (jbdlab keeps it set while
# mounted), and in each case at least one of the images must have committed
# transactions in its log (debugfs logdump) -- otherwise nothing went
# through the journal and the checks above prove nothing about it.
#
# Environment: SEED (default: random, printed; every failure names it and
# the case), CRASH_FS=kernel runs the same workload and checks on a kernel
# ext4 loop mount "killed" with the shutdown ioctl (NOLOGFLUSH) -- a
# self-test of the harness, no copies; JBD_OPTS: extra -o options for
# jbdlab; CASES: e.g. "2048:default 4096:^metadata_csum,^64bit";
# KEEP_FAILED: a directory where failing crash images are copied.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
CRASH_FS=${CRASH_FS:-jbdlab}
if [ "$CRASH_FS" = kernel ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (loop mounts)"
	require_journal_tools
else
	require_env
fi
setup_tmp
SEED=${SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
CASES=${CASES:-"1024:default 2048:default 4096:default 2048:^metadata_csum,^64bit"}
JBD_OPTS=${JBD_OPTS:-}
log "seed $SEED (rerun: SEED=$SEED $0), fs under test: $CRASH_FS"
MNT=$T/mnt
KMNT=$T/kmnt
mkdir -p "$MNT" "$KMNT"
WORKLOAD=$SCRIPTS_DIR/journal_crash_workload.py
CHECK=$SCRIPTS_DIR/journal_crash_check.py

CASE=""
cfail() { fail "seed $SEED case $CASE: $*"; }

# schedule S: "KILL_TIME SNAP_TIME..." (seconds after the workload starts)
schedule() {
	python3 - "$1" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]) * 7919 + 17)
kill = r.uniform(2.0, 5.0)
snaps = sorted(r.uniform(0.3, kill - 0.2) for _ in range(r.choice((2, 3))))
print(f"{kill:.2f}", " ".join(f"{s:.2f}" for s in snaps))
PY
}

# sleep_until T0 SECONDS: sleep until SECONDS after the epoch time T0
sleep_until() {
	local d
	d=$(awk -v t0="$1" -v s="$2" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + s - now; printf "%.3f", (d > 0 ? d : 0) }')
	sleep "$d"
}

# all_stopped PID: every thread of PID is in the stopped state
all_stopped() {
	local s
	for s in /proc/"$1"/task/*/stat; do
		[ -e "$s" ] || continue
		awk '{ sub(/.*\) /, ""); exit !($1 == "T" || $1 == "t") }' "$s" 2>/dev/null || return 1
	done
	return 0
}

# snapshot N: point-in-time copy of the image of the stopped daemon;
# records "IMG LINES" in $T/states
snapshot() {
	local n=$1 i lines
	kill -STOP "$JBD_PID" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		all_stopped "$JBD_PID" && break
		sleep 0.01
	done
	lines=$(wc -l <"$T/rec")
	cp --sparse=always "$IMG" "$T/snap$n.img"
	kill -CONT "$JBD_PID" 2>/dev/null
	echo "$T/snap$n.img $lines snap$n" >>"$T/states"
}

# check_state IMG LINES WHICH: the A/B/C checks of one crash image
check_state() {
	local x=$1 lines=$2 which=$3 rc out
	local before=$FAILS
	CASE="$CASE_BASE/$which"
	local exp
	exp=$(python3 "$CHECK" expected "$T/rec" --lines "$lines" | wc -l)
	if ! dumpe2fs -h "$x" 2>/dev/null | grep -q needs_recovery; then
		cfail "the image is not marked needs_recovery (no journal in use?)"
	fi
	# committed transactions in the log, as debugfs sees them
	# (-n: a crash image may hold a bitmap whose checksum only the replay
	# makes right again; without it debugfs refuses to open the fs at all)
	ntx=$(debugfs -n -R logdump "$x" 2>/dev/null | grep -c 'type 2 (commit block)' || true)
	CASE_TX=$((CASE_TX + ntx))
	# A: e2fsck -E journal_only, then e2fsck -fn
	cp --sparse=always "$x" "$T/A.img"
	rc=0
	e2fsck -E journal_only -y "$T/A.img" >"$T/A.out" 2>&1 || rc=$?
	[ $rc -le 1 ] || cfail "A: e2fsck -E journal_only exit $rc: $(tail -n 3 "$T/A.out")"
	fsck_clean "$T/A.img" "seed $SEED case $CASE: A (e2fsck -E journal_only)"
	out=$(python3 "$CHECK" img "$T/rec" "$T/A.img" --lines "$lines") || cfail "A: fsynced data: $out"
	# B: kernel mount (replays), fsynced files, umount, e2fsck -fn
	cp --sparse=always "$x" "$T/B.img"
	_MOUNTS+=("$KMNT")
	if mount -t ext4 -o loop "$T/B.img" "$KMNT" 2>"$T/B.err"; then
		out=$(python3 "$CHECK" dir "$T/rec" "$KMNT" --lines "$lines") || cfail "B: fsynced data after the kernel's replay: $out"
		umount "$KMNT" || cfail "B: umount failed"
		fsck_clean "$T/B.img" "seed $SEED case $CASE: B (kernel mount)"
	else
		cfail "B: the kernel's mount failed: $(cat "$T/B.err"); $(dmesg 2>/dev/null | tail -n 3)"
	fi
	# C: jbdlab replay (the replay, then the orphan list released as
	# e2fsck -E journal_only does), e2fsck -fn, fsynced files
	cp --sparse=always "$x" "$T/C.img"
	if run_replay "$T/C.img"; then
		[ "$REPLAY_RC" = 0 ] || cfail "C: jbdlab replay exit $REPLAY_RC: $(tail -n 3 "$T/replay.out")"
		fsck_clean "$T/C.img" "seed $SEED case $CASE: C (jbdlab replay)"
		out=$(python3 "$CHECK" img "$T/rec" "$T/C.img" --lines "$lines") || cfail "C: fsynced data: $out"
	fi
	# D: the replay alone (--no-orphans) equals debugfs jr's pure replay,
	# block for block (A's e2fsck also releases orphans, so it is not the
	# reference for the blocks an orphan release changes)
	cp --sparse=always "$x" "$T/D.img"
	cp --sparse=always "$x" "$T/J.img"
	debugfs -n -w -R jr "$T/J.img" >"$T/J.out" 2>&1 || cfail "D: debugfs jr failed: $(tail -n 2 "$T/J.out")"
	! grep -q "Filesystem not open" "$T/J.out" || cfail "D: debugfs could not open the image: $(head -n 3 "$T/J.out" | tr '\n' ' ')"
	if run_replay "$T/D.img" --no-orphans; then
		[ "$REPLAY_RC" = 0 ] || cfail "D: jbdlab replay --no-orphans exit $REPLAY_RC: $(tail -n 3 "$T/replay.out")"
		out=$(cmp_images "$T/D.img" "$T/J.img") || cfail "D: blocks differ from debugfs jr's: $out"
	fi
	if [ "$FAILS" != "$before" ] && [ -n "${KEEP_FAILED:-}" ]; then
		mkdir -p "$KEEP_FAILED" && cp --sparse=always "$x" "$KEEP_FAILED/seed$SEED-${CASE//[\/^,]/_}.img" &&
			log "kept the crash image in $KEEP_FAILED"
	fi
	[ "$FAILS" = "$before" ] && GOOD=$((GOOD + 1))
	TOTAL=$((TOTAL + 1))
	log "$CASE: $exp fsynced files checked, $([ "$FAILS" = "$before" ] && echo ok || echo FAILED); $ntx committed transactions in the log; jbdlab replay: $(tail -n 1 "$T/replay.out" 2>/dev/null | sed 's/^.*\.img: //')"
	rm -f "$T/A.img" "$T/B.img" "$T/C.img" "$T/D.img" "$T/J.img"
}

TOTAL=0 GOOD=0
ci=0
for c in $CASES; do
	ci=$((ci + 1))
	bs=${c%%:*} feat=${c#*:}
	CASE_BASE="b$bs-$feat"
	CASE=$CASE_BASE
	s=$((SEED * 16 + ci))
	IMG=$T/fs.img
	if [ "$feat" = default ]; then
		mkimg "$IMG" 64M -b "$bs"
	else
		mkimg "$IMG" 64M -b "$bs" -O "$feat"
	fi
	read -r ktime snaps <<<"$(schedule "$s")"
	rm -f "$T/rec" "$T/states"
	: >"$T/rec"
	: >"$T/states"
	if [ "$CRASH_FS" = kernel ]; then
		_MOUNTS+=("$MNT")
		mount -t ext4 -o loop "$IMG" "$MNT"
	else
		jbd_mount "$IMG" "$MNT" "$JBD_OPTS"
	fi
	log "$CASE_BASE: workload seed $s, kill at ${ktime}s, copies at: ${snaps:-none}"
	t0=$(date +%s.%N)
	python3 "$WORKLOAD" "$MNT" "$s" "$T/rec" --duration 60 2>"$T/workload.err" &
	WPID=$!
	_PIDS+=("$WPID")
	n=0
	if [ "$CRASH_FS" != kernel ]; then
		for st in $snaps; do
			n=$((n + 1))
			sleep_until "$t0" "$st"
			snapshot "$n"
		done
	fi
	sleep_until "$t0" "$ktime"
	if [ "$CRASH_FS" = kernel ]; then
		python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, struct.pack("I", 2))' "$MNT"
		kill -KILL "$WPID" 2>/dev/null || true
		wait "$WPID" 2>/dev/null || true
		umount "$MNT" || umount -l "$MNT"
	else
		if ! kill -0 "$JBD_PID" 2>/dev/null; then
			cfail "the daemon died before the kill: $(tail -n 5 "$T/daemon.mnt.log")"
		fi
		kill -KILL "$JBD_PID" 2>/dev/null || true
		kill -KILL "$WPID" 2>/dev/null || true
		wait "$JBD_PID" 2>/dev/null || true
		wait "$WPID" 2>/dev/null || true
		umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
	fi
	echo "$IMG $(wc -l <"$T/rec") killed" >>"$T/states"
	wmsg=$(tail -n 1 "$T/workload.err" 2>/dev/null)
	log "$CASE_BASE: ${wmsg:-workload killed}; $(grep -c '^T' "$T/rec") changes and $(grep -c '^F' "$T/rec") fsyncs recorded"
	CASE_TX=0
	while read -r x lines which; do
		check_state "$x" "$lines" "$which" </dev/null
		[ "$x" = "$IMG" ] || rm -f "$x"
	done <"$T/states"
	# a kill seconds into an fsync-heavy workload leaves committed
	# transactions in the log; none in any image: the journal is not used
	[ "$CASE_TX" -gt 0 ] || { CASE=$CASE_BASE; cfail "no crash image has a committed transaction in its log (debugfs logdump): metadata is not going through the journal"; }
done
log "seed $SEED: $GOOD of $TOTAL crash images pass (A e2fsck journal_only, B kernel mount, C jbdlab replay, D pure replay = debugfs jr)"
