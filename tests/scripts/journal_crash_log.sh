#!/usr/bin/env bash
# journal_crash_log.sh [JBDLAB]
#
# Crash test 5: crash consistency from the write log.  Mount a small 2 KiB
# block image (mkfs defaults: metadata_csum, 64bit) with
# -o write_log=LOG, run the seeded journal_crash_workload.py (fsyncs
# recorded as "F path sha256 CNT", CNT = the log's published entry count
# right after fsync returned; every change of a path announced by a "T
# path CNT" line before it starts), umount cleanly (CRASH_KILL=1: SIGKILL
# the daemon instead; the log's unpublished tail is read too).  Then
# journal_crash_states.py rebuilds crash states from a copy of the image
# taken before the mount plus a part of the log:
#   - every prefix that ends at a FLUSH entry (at most CAP, a seeded sample
#     when there are more; the cap is printed);
#   - SAMPLES seeded prefixes inside flush epochs, with the writes of the
#     last, unfinished epoch reordered (a random k of them reach the disk)
#     or dropped (each one with probability 1/2); FUA writes are kept;
# and on each: `jbdlab replay` exits 0, `e2fsck -fn` exits 0, every file
# whose fsync's flush is in the state has its recorded content (debugfs);
# before that, the replay alone (`jbdlab replay --no-orphans`) must leave
# the same blocks as `debugfs -w -R jr` on a second copy (but the two
# superblocks), and a state with an orphan list is also mounted by the
# kernel (its ext4_orphan_cleanup), which must leave an e2fsck-clean image
# with the free counts of jbdlab's release.  Prints "crash states checked:
# N (F flush prefixes, S sampled in-epoch)".
#
# Environment: SEED (default: random, printed), OPS (workload operations,
# default 300), CAP (default 200), SAMPLES (default 40), JBD_OPTS (extra -o
# options), CRASH_KILL=1, KEEP_DIR (keep the first failing states there).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
require_env
setup_tmp
SEED=${SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
OPS=${OPS:-300}
CAP=${CAP:-200}
SAMPLES=${SAMPLES:-40}
JBD_OPTS=${JBD_OPTS:-}
log "seed $SEED (rerun: SEED=$SEED $0), $OPS ops, flush-prefix cap $CAP, $SAMPLES in-epoch samples"

IMG=$T/fs.img
MNT=$T/mnt
LOGF=$T/write.log
mkimg "$IMG" 16M -b 2048
cp --sparse=always "$IMG" "$T/init.img"
opts="write_log=$LOGF,seed=$SEED"
[ -n "$JBD_OPTS" ] && opts="$opts,$JBD_OPTS"
jbd_mount "$IMG" "$MNT" "$opts"
: >"$T/rec"
python3 "$SCRIPTS_DIR/journal_crash_workload.py" "$MNT" "$SEED" "$T/rec" \
	--ops "$OPS" --small --log "$LOGF" 2>"$T/workload.err" ||
	fail "seed $SEED: the workload failed: $(tail -n 3 "$T/workload.err")"
log "$(tail -n 1 "$T/workload.err")"
tail_opt=()
if [ "${CRASH_KILL:-0}" = 1 ]; then
	kill -KILL "$JBD_PID"
	wait "$JBD_PID" 2>/dev/null || true
	umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
	tail_opt=(--tail)
	log "daemon killed (SIGKILL)"
else
	jbd_umount "$MNT"
	# the whole log replayed onto the initial image is the final image
	cp --sparse=always "$T/init.img" "$T/full.img"
	python3 "$SCRIPTS_DIR/journal_crash_states.py" list "$LOGF" >/dev/null
	python3 - "$LOGF" "$T/full.img" "$SCRIPTS_DIR" <<'PY' || fail "seed $SEED: the whole log does not rebuild the final image"
import os, sys
sys.path.insert(0, sys.argv[3])
import journal_crash_states as s
ents, pub, ss = s.parse_log(sys.argv[1])
fd = os.open(sys.argv[2], os.O_RDWR)
app = s.Applier(sys.argv[1], ss)
for e in ents:
    app.apply(fd, e)
os.close(fd)
PY
	cmp -s "$T/full.img" "$IMG" || fail "seed $SEED: init image + whole write log != the image after umount"
	fsck_clean "$IMG" "seed $SEED: the image after umount"
fi
keep=()
[ -n "${KEEP_DIR:-}" ] && keep=(--keep "$KEEP_DIR")
mkdir -p "$T/states/kmnt"
_MOUNTS+=("$T/states/kmnt")	# the kernel's orphan-release mounts, should one be left
rc=0
python3 "$SCRIPTS_DIR/journal_crash_states.py" run --log "$LOGF" --init "$T/init.img" \
	--records "$T/rec" --jbdlab "$JBDLAB" --work "$T/states" --seed "$SEED" \
	--cap "$CAP" --samples "$SAMPLES" --compare-replay "${tail_opt[@]}" "${keep[@]}" || rc=$?
[ $rc = 0 ] || fail "seed $SEED: some crash states are bad (above)"
