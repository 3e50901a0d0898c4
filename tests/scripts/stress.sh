#!/usr/bin/env bash
# stress.sh [JBDLAB]
#
# `jbdlab stress --verify` (4 threads, fixed seed, ~30 s) on a 2 KiB-block
# jbdlab mount with cache_size=8M, so the page cache must evict under load
# (the generic/750 shape: 2 KiB blocks, fsstress -p 4); every result and the
# final tree must match the stress model; after umount the daemon exits 0 and
# e2fsck -fn is clean.  The same seed on a kernel ext4 loop mount is the
# control: it proves the tool, so a failure on jbdlab is jbdlab's.
# STRESS_SECONDS / STRESS_SEED override the defaults.
source "$(dirname "$0")/lib.sh"
require_env
setup_tmp

SECS=${STRESS_SECONDS:-30}
SEED=${STRESS_SEED:-750}
log "checks: jbdlab stress --seed $SEED --threads 4 --duration $SECS --verify on jbdlab (cache_size=8M) and on the kernel; e2fsck -fn"

# control first: a tool failure must not be blamed on jbdlab
mkimg "$T/kernel.img" 512M -b 2048
kmount "$T/kernel.img" "$T/kmnt" rw
if "$JBDLAB" stress "$T/kmnt" --seed "$SEED" --threads 4 --duration $((SECS / 2)) --verify --quiet; then
	log "ok: control run on kernel ext4 passed"
else
	die "the stress tool fails on kernel ext4 (seed $SEED): a tool bug"
fi
kumount "$T/kmnt"
fsck_clean "$T/kernel.img" "kernel control image"

mkimg "$T/img" 512M -b 2048
jbd_mount "$T/img" "$T/mnt" cache_size=8M
"$JBDLAB" stress "$T/mnt" --seed "$SEED" --threads 4 --duration "$SECS" --verify ||
	fail "jbdlab stress --seed $SEED --threads 4 --verify on the jbdlab mount (cache_size=8M)"
jbd_umount "$T/mnt"
fsck_clean "$T/img"
