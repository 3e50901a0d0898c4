#!/usr/bin/env bash
# stress.sh [JBDLAB]
#
# `jbdlab stress --verify` (4 threads, fixed seed, ~30 s) on a 2 KiB-block
# jbdlab mount with cache_size=8M (and libfuse's pool of 4 request threads, so
# the fs is entered concurrently), so the page cache must evict under load
# (the generic/750 shape: 2 KiB blocks, fsstress -p 4); every result and the
# final tree must match the stress model; after umount the daemon exits 0 and
# e2fsck -fn is clean.  The same seed on a kernel ext4 loop mount is the
# control: it proves the tool, so a failure on jbdlab is jbdlab's.
# Then a deterministic full-filesystem run: one thread, seed 8, 6000 ops on a
# 12 MiB 1 KiB-block image (ENOSPC from the first thousand ops on: truncate,
# punch and O_TRUNC must still work, ENOSPC must leave metadata consistent),
# again with the kernel as the control.
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
if "$JBDLAB" stress "$T/kmnt" --seed "$SEED" --threads 4 --duration $((SECS / 3)) --verify --quiet; then
	log "ok: control run on kernel ext4 passed"
else
	die "the stress tool fails on kernel ext4 (seed $SEED): a tool bug"
fi
kumount "$T/kmnt"
fsck_clean "$T/kernel.img" "kernel control image"

mkimg "$T/img" 512M -b 2048
jbd_mount "$T/img" "$T/mnt" cache_size=8M,max_threads=4
"$JBDLAB" stress "$T/mnt" --seed "$SEED" --threads 4 --duration "$SECS" --verify ||
	fail "jbdlab stress --seed $SEED --threads 4 --verify on the jbdlab mount (cache_size=8M)"
jbd_umount "$T/mnt"
fsck_clean "$T/img"

# full filesystem, one thread: the op sequence is exactly reproducible
rm -f "$T/kernel.img" "$T/img"
mkimg "$T/kfull.img" 12M -b 1024
kmount "$T/kfull.img" "$T/kfull" rw
"$JBDLAB" stress "$T/kfull" --seed 8 --threads 1 --ops 6000 --verify --quiet >"$T/kfull.out" 2>&1 ||
	{ cat "$T/kfull.out"; die "the stress tool fails on a full kernel ext4 (seed 8): a tool bug"; }
kumount "$T/kfull"
fsck_clean "$T/kfull.img" "full kernel control image"
mkimg "$T/full.img" 12M -b 1024
jbd_mount "$T/full.img" "$T/full" cache_size=4M
"$JBDLAB" stress "$T/full" --seed 8 --threads 1 --ops 6000 --verify --quiet ||
	fail "jbdlab stress --seed 8 --threads 1 --ops 6000 on a full 12 MiB 1 KiB-block jbdlab mount"
jbd_umount "$T/full"
fsck_clean "$T/full.img" "full jbdlab image"
