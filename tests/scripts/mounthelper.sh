#!/usr/bin/env bash
# mounthelper.sh [JBDLAB]
#
# scripts/mount.fuse.jbdlab lets mount(8) mount images:
# `mount -t fuse.jbdlab IMG DIR` runs /sbin/mount.fuse.jbdlab IMG DIR -o OPTS.
# fstests (FSTYP=fuse, FUSE_SUBTYP=.jbdlab) needs the result to show as type
# "fuse" (no subtype) with the image as the source.  The helper is installed
# in /sbin only for the duration of the test (an existing one is put back).
source "$(dirname "$0")/lib.sh"
require_env
setup_tmp

HELPER=$(cd "$SCRIPTS_DIR/../.." && pwd)/scripts/mount.fuse.jbdlab
[ -f "$HELPER" ] || die "scripts/mount.fuse.jbdlab is missing"
log "checks: mount -t fuse.jbdlab IMG DIR -> type fuse, source IMG; umount; daemon exits; e2fsck -fn"

if [ -e /sbin/mount.fuse.jbdlab ]; then
	mv /sbin/mount.fuse.jbdlab "$T/saved-helper"
	_HOOKS+=('mv -f "$T/saved-helper" /sbin/mount.fuse.jbdlab')
else
	_FILES+=(/sbin/mount.fuse.jbdlab)
fi
install -m 0755 "$HELPER" /sbin/mount.fuse.jbdlab

IMG=$T/img
MNT=$T/mnt
mkimg "$IMG" 64M -b 4096
mkdir -p "$MNT"
_MOUNTS+=("$MNT")
# the helper finds jbdlab through PATH (or JBDLAB)
PATH="$(dirname "$(readlink -f "$JBDLAB")"):$PATH" timeout 60 mount -t fuse.jbdlab "$IMG" "$MNT" -o allow_other,default_permissions ||
	die "mount -t fuse.jbdlab $IMG $MNT failed"
is_mounted "$MNT" || die "mount returned 0 but nothing is mounted on $MNT"
# the daemon: a process we started (through mount), found by its mount point
for p in /proc/[0-9]*; do
	if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$MNT"; then
		_PIDS+=("${p#/proc/}")
	fi
done
[ ${#_PIDS[@]} -gt 0 ] || fail "no daemon process with $MNT on its command line"
t=$(mount_type "$MNT")
s=$(mount_source "$MNT")
[ "$t" = fuse ] && log "ok: type is fuse" || fail "type is '$t', expected fuse"
[ "$s" = "$IMG" ] && log "ok: source is the image" || fail "source is '$s', expected $IMG"
echo hello >"$MNT/file" && [ "$(cat "$MNT/file")" = hello ] && log "ok: read/write works" ||
	fail "cannot write and read back a file"
umount "$MNT" || fail "umount $MNT"
for p in "${_PIDS[@]}"; do
	timeout 60 tail --pid="$p" -f /dev/null || fail "daemon $p still running 60 s after umount"
done
log "ok: daemon exited"
fsck_clean "$IMG"
