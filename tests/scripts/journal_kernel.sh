#!/usr/bin/env bash
# journal_kernel.sh [JBDLAB]
#
# Interop test 3: journals written by the kernel's jbd2.  For 1, 2 and 4
# KiB blocks, with mkfs.ext4's default features (journal csum v3, 64bit)
# and with ^metadata_csum,^64bit (no journal checksum, 32-bit tags): mkfs
# a small image, loop-mount it with the kernel's ext4, run a metadata-heavy
# workload ending in fsync (journal_kernel_workload.py: writes, renames,
# unlinks, a directory grown and removed for revoke records; the 1 KiB
# log wraps around several times), and copy the image WHILE MOUNTED --
# either right after the last fsync ("copy") or after the ext4 shutdown
# ioctl with NOLOGFLUSH ("shutdown") -- then umount.  On two copies of the
# snapshot run `jbdlab replay` and `e2fsck -E journal_only -y`: every
# block but the two superblocks must be equal, superblock features and
# state equal, and e2fsck -fn must pass on jbdlab's copy.
#
# The story: a replayer that only ever saw debugfs-written journals can
# miss what the kernel does -- wrapped logs, many transactions, revokes of
# freed directory blocks, tags for blocks whose first word is the jbd2
# magic -- this is the real writer.  SEED (default 1) seeds the workload.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/journal_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (loop mounts)"
require_journal_tools
setup_tmp
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-300}
log "seed $SEED, $ROUNDS rounds"
MNT=$T/mnt
mkdir -p "$MNT"

total=0 good=0
for bs in 1024 2048 4096; do
	for feat in default '^metadata_csum,^64bit'; do
		for mode in copy shutdown; do
			name="b$bs-$feat-$mode"
			total=$((total + 1))
			before=$FAILS
			img=$T/fs.img
			rm -f "$img"
			truncate -s 32M "$img"
			if [ "$feat" = default ]; then
				mkfs.ext4 -q -F -b "$bs" "$img" >/dev/null
			else
				mkfs.ext4 -q -F -b "$bs" -O "$feat" "$img" >/dev/null
			fi
			# -o loop: the loop device is autocleared at umount, also by
			# lib.sh's cleanup if the test dies while mounted
			_MOUNTS+=("$MNT")
			mount -t ext4 -o loop "$img" "$MNT"
			python3 "$SCRIPTS_DIR/journal_kernel_workload.py" "$MNT" "$ROUNDS" "$mode" "$SEED"
			cp --sparse=always "$img" "$T/snap.img"
			umount "$MNT"
			dumpe2fs -h "$T/snap.img" 2>/dev/null | grep -q needs_recovery ||
				{ fail "$name: the snapshot does not need recovery"; continue; }
			cp --sparse=always "$T/snap.img" "$T/jbd.img"
			cp --sparse=always "$T/snap.img" "$T/e2.img"
			run_replay "$T/jbd.img" || continue
			e2fsck -E journal_only -y "$T/e2.img" >/dev/null 2>&1 || true
			if [ "$REPLAY_RC" != 0 ]; then
				fail "$name: jbdlab replay exit $REPLAY_RC: $(cat "$T/replay.out")"
				continue
			fi
			out=$(cmp_images "$T/jbd.img" "$T/e2.img") || fail "$name: blocks differ from e2fsck's: $out"
			[ "$(sb_state "$T/jbd.img")" = "$(sb_state "$T/e2.img")" ] ||
				fail "$name: superblock state: $(sb_state "$T/jbd.img") vs $(sb_state "$T/e2.img")"
			v=$(fsck_verdict "$T/jbd.img")
			[ "$v" = 0 ] || fail "$name: e2fsck -fn exit $v after jbdlab replay"
			[ "$FAILS" = "$before" ] && good=$((good + 1))
			log "$name: $(cut -d: -f3- "$T/replay.out")"
		done
	done
done
log "$good of $total kernel-written journals replay like e2fsck"
