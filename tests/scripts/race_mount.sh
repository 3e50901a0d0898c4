#!/usr/bin/env bash
# race_mount.sh [JBDLAB]
#
# The race lab under a live mount (`jbdlab mount -o migrate=...`,
# src/lab/live.c): generic/750 in userspace is a workload against the mount
# while the lab's migrator moves the mount's bdev folios and its detectors
# watch.  Under bh-migrate -- the v6.15+ scheme (2d900efff915, 7ffe3de53a88)
# -- nothing may be detected, and that "nothing" counts only if folios were
# really moved: a migrate= mount whose summary shows "0 ok" proves nothing.
#
#   1. bad lab options (strategy=nonsense, credits=foo, migrate=abc, a
#      lab_ option without migrate=) exit 1 with one line on stderr, mount
#      nothing and leave the image byte for byte as it was;
#   2. a 2 KiB-block image (two buffers per 4 KiB folio, generic/750's
#      ext4_2k profile) mounted with migrate=2000,strategy=bh-migrate and
#      lab_log=, `jbdlab stress --verify` for a few seconds, umount: the
#      summary (in the log and on the daemon's stderr) shows migrations ok
#      > 0, no detection, verdict "none", the daemon's own e2fsck clean; no
#      report in the log; e2fsck -fn clean here too;
#   3. the same with migrate=sweep:500 (compact_memory's whole-cache sweep):
#      at least one sweep completed;
#   4. revoke_lookup=alias under bh-migrate (the kernel between f76d4c28a46a
#      and 981fcc5674e6): the lock checker reports I5 (the buffer lock ->
#      folio lock inversion) with the seed and a replay line.  Should the
#      run really deadlock, the watchdog's report and the daemon's exit are
#      accepted too (the mount is then removed lazily); nothing may hang.
# RACE_MOUNT_SEED overrides the (printed) random seed; RACE_MOUNT_SECONDS
# the stress time (default 8).
source "$(dirname "$0")/lib.sh"
require_env
setup_tmp

SEED=${RACE_MOUNT_SEED:-$((RANDOM * 32768 + RANDOM))}
SECS=${RACE_MOUNT_SECONDS:-8}
log "checks: bad lab options exit 1 untouched; migrate=2000 and migrate=sweep:500 under bh-migrate: migrations ok > 0, no detection, e2fsck clean (seed $SEED)"

IMG=$T/img
MNT=$T/mnt
mkimg "$IMG" 256M -b 2048
mkdir -p "$MNT"

# 1. bad options: one line, exit 1, nothing mounted, image untouched
sum0=$(md5sum <"$IMG")
for opts in strategy=nonsense credits=foo revoke_lookup=maybe migrate=abc migrate=sweep:x \
	migrate=100,migrate_mode=fast lab_log=$T/x.log migrate=100,lab_yield=perhaps; do
	rc=0
	timeout 20 "$JBDLAB" mount -f -o "$opts" "$IMG" "$MNT" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
	lines=$(wc -l <"$T/bad.err")
	if [ $rc = 1 ] && [ "$lines" = 1 ] && [ ! -s "$T/bad.out" ]; then
		log "ok: -o $opts: exit 1: $(cat "$T/bad.err")"
	else
		fail "-o $opts: exit $rc, $lines line(s) on stderr: $(head -c 300 "$T/bad.err")"
	fi
	is_mounted "$MNT" && { fail "-o $opts mounted something"; force_umount "$MNT"; }
done
grep -q 'unknown strategy .nonsense.*bh-migrate' <("$JBDLAB" mount -o strategy=nonsense "$IMG" "$MNT" 2>&1) ||
	fail "strategy=nonsense does not list the valid strategies"
[ "$(md5sum <"$IMG")" = "$sum0" ] && log "ok: the image is untouched by the bad options" ||
	fail "a refused mount changed the image"

# summary_check LOG WHAT: the live lab's summary in LOG says folios moved,
# nothing detected, verdict none, the daemon's e2fsck clean.
summary_check() {
	local f=$1 what=$2 ok
	if ! grep -q '^jbdlab race lab summary (live mount): strategy bh-migrate' "$f"; then
		fail "$what: no summary"; cat "$f" >&2; return
	fi
	ok=$(sed -n 's/^  migrations: \([0-9]*\) ok.*/\1/p' "$f" | tail -1)
	[ "${ok:-0}" -gt 0 ] && log "ok: $what: $ok folios moved" ||
		fail "$what: the migrator moved nothing (a vacuous run)"
	grep -q '^  detections: I1 0, I2 0, I3 [-0], I4 0, I5 [-0]$' "$f" &&
		log "ok: $what: no detection" || fail "$what: $(grep '^  detections' "$f")"
	grep -q '^  verdict: none, with [1-9][0-9]* folios moved$' "$f" &&
		log "ok: $what: verdict none" || fail "$what: $(grep '^  verdict' "$f")"
	grep -q '^  e2fsck -fn of the unmounted image: clean$' "$f" &&
		log "ok: $what: the daemon's e2fsck -fn is clean" ||
		fail "$what: $(grep '^  e2fsck' "$f")"
	if grep -q '^BUG: jbdlab' "$f"; then
		fail "$what: a detection report (seed $SEED):"
		sed -n '/^BUG: jbdlab/,/^replay:/p' "$f" | head -40 >&2
	fi
}

# 2. targeted victims at 2000 attempts/s
jbd_mount "$IMG" "$MNT" "migrate=2000,strategy=bh-migrate,seed=$SEED,lab_log=$T/lab.log"
"$JBDLAB" stress "$MNT" --seed "$SEED" --threads 4 --duration "$SECS" --verify --quiet ||
	fail "jbdlab stress --seed $SEED --verify under migrate=2000,strategy=bh-migrate"
jbd_umount "$MNT"
summary_check "$T/lab.log" "migrate=2000 (lab_log)"
summary_check "$T/daemon.mnt.log" "migrate=2000 (stderr)"
grep -q "seed $SEED, " "$T/lab.log" && log "ok: the log names the seed" ||
	fail "the lab log does not print seed $SEED"
fsck_clean "$IMG" "after migrate=2000"

# 3. compact_memory-style sweeps (generic/750 sweeps every 5 s; 0.5 s here)
jbd_mount "$IMG" "$MNT" "migrate=sweep:500,strategy=bh-migrate,seed=$SEED"
mkdir "$MNT/sweep"
"$JBDLAB" stress "$MNT/sweep" --seed $((SEED + 1)) --threads 4 --duration $((SECS / 2)) --quiet ||
	fail "jbdlab stress --seed $((SEED + 1)) under migrate=sweep:500,strategy=bh-migrate"
jbd_umount "$MNT"
summary_check "$T/daemon.mnt.log" "migrate=sweep:500"
sweeps=$(sed -n 's/^  migrations: .* \([0-9]*\) sweeps;.*/\1/p' "$T/daemon.mnt.log" | tail -1)
[ "${sweeps:-0}" -gt 0 ] && log "ok: migrate=sweep:500: $sweeps sweeps" ||
	fail "migrate=sweep:500: no sweep completed"
fsck_clean "$IMG" "after migrate=sweep:500"

# 4. revoke_lookup=alias: the I5 lock-order inversion under a mount
jbd_mount "$IMG" "$MNT" "migrate=2000,strategy=bh-migrate,revoke_lookup=alias,seed=$SEED,lab_log=$T/alias.log"
mkdir -p "$MNT/alias"
timeout $((SECS + 60)) "$JBDLAB" stress "$MNT/alias" --seed $((SEED + 2)) --threads 4 \
	--duration $((SECS / 2)) --quiet >"$T/alias.stress" 2>&1 || true
if kill -0 "$JBD_PID" 2>/dev/null; then
	jbd_umount "$MNT"
else
	log "note: the daemon exited during the alias run (a deadlock?): $(tail -1 "$T/alias.log")"
	force_umount "$MNT"
fi
if grep -q '^detector: lock checker (class cycle)\|^detector: watchdog (deadlock)' "$T/alias.log" &&
   grep -q '^BUG: jbdlab I5: lock-order inversion' "$T/alias.log"; then
	log "ok: revoke_lookup=alias: I5 reported ($(grep -m1 '^detector: ' "$T/alias.log"))"
else
	fail "revoke_lookup=alias: no I5 in the lab log (seed $SEED): $(grep '^  detections' "$T/alias.log")"
fi
grep -q "^replay: .*revoke_lookup=alias" "$T/alias.log" && log "ok: the I5 report's replay line names revoke_lookup=alias" ||
	fail "the I5 report has no replay line with revoke_lookup=alias: $(grep -m1 '^replay:' "$T/alias.log")"
if grep -q '^  e2fsck -fn of the unmounted image: clean$' "$T/alias.log"; then
	fsck_clean "$IMG" "after revoke_lookup=alias"
else
	log "note: alias run: $(grep '^  e2fsck' "$T/alias.log")"
fi
