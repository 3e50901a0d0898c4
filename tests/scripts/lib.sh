# shellcheck shell=bash
# lib.sh - shared helpers of the script tests (sourced, never run).
#
# Every resource a test creates is registered here and released by one EXIT
# trap, even when the test fails half-way: FUSE and kernel mounts (unmounted,
# aborted through /sys/fs/fuse/connections if the daemon hangs), loop devices
# (detached), processes (killed by pid, only those the test started), extra
# files outside the temp dir (e.g. /sbin/mount.fuse.jbdlab), and the temp dir.
#
# The jbdlab binary: env JBDLAB, or the first argument when it is an
# executable file (meson passes the built executable).  SHARED_DIR: the
# project's shared/ directory (meson passes it).
#
# Exit codes: 0 pass, 1 fail, 77 skip (only when not root or no /dev/fuse:
# on the project's machines these tests must run; or when the ../shared
# oracle corpus a test needs is not beside the checkout, see require_shared).

set -Eeuo pipefail

if [ $# -gt 0 ] && [ -f "$1" ] && [ -x "$1" ]; then
	JBDLAB=$1
	shift
fi
# shellcheck disable=SC2034  # used by the sourcing script
ARGS=("$@")
: "${JBDLAB:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/jbdlab}"
: "${SHARED_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared}"
[ -e "$JBDLAB" ] && JBDLAB=$(readlink -f "$JBDLAB")
export JBDLAB SHARED_DIR
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)

_MOUNTS=()	# mount points, unmounted in reverse order
_LOOPS=()	# loop devices to detach
_PIDS=()	# processes we started
_FILES=()	# files outside $T to remove
_HOOKS=()	# extra cleanup commands (eval'ed first)
T=""
FAILS=0

log() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
fail() { printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2; FAILS=$((FAILS + 1)); }
die() { printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }
skip() { printf '%s: SKIP: %s\n' "$TEST_NAME" "$*"; exit 77; }
# check DESCRIPTION CMD...: runs CMD, records a failure if it fails.
check() {
	local what=$1; shift
	if "$@"; then log "ok: $what"; else fail "$what"; fi
}

require_env() {
	[ "$(id -u)" = 0 ] || skip "needs root (mounts, loop devices)"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	[ -x "$JBDLAB" ] || die "jbdlab binary not found: $JBDLAB (pass it as the first argument or in JBDLAB)"
	local tool
	for tool in mkfs.ext4 e2fsck debugfs losetup python3 getfattr setfattr; do
		command -v "$tool" >/dev/null || die "missing tool $tool (./run installs it)"
	done
}

# have_shared PATH...: are these paths (relative to SHARED_DIR) present?
# Absent on a clone of the project alone; CI (.ci/run) always has them and
# sets JBDLAB_REQUIRE_SHARED=1, which turns their absence into a failure, so
# CI can never skip silently.
have_shared() {
	local p
	for p in "$@"; do
		[ -e "$SHARED_DIR/$p" ] && continue
		[ "${JBDLAB_REQUIRE_SHARED:-0}" = 1 ] &&
			die "missing $SHARED_DIR/$p (JBDLAB_REQUIRE_SHARED=1: CI must have ../shared beside the checkout)"
		return 1
	done
}
# require_shared PATH...: skip the whole test (exit 77, one line) without them.
require_shared() {
	have_shared "$@" ||
		skip "needs the oracle corpus ../shared/$1, which is not beside this checkout ($SHARED_DIR)"
}

is_mounted() { # MNT: is MNT a mount point (per /proc/mounts)?
	local m
	m=$(readlink -f "$1")
	awk -v m="$m" '$2 == m { f = 1 } END { exit !f }' /proc/mounts
}

mount_type() { # MNT -> fstype of the mount at MNT
	local m
	m=$(readlink -f "$1")
	awk -v m="$m" '$2 == m { t = $3 } END { print t }' /proc/mounts
}

mount_source() {
	local m
	m=$(readlink -f "$1")
	awk -v m="$m" '$2 == m { s = $1 } END { print s }' /proc/mounts
}

_abort_fuse() { # MNT: abort the FUSE connection behind MNT (a hung daemon)
	local dev minor
	dev=$(stat -c %d "$1" 2>/dev/null) || return 0
	minor=$((dev & 0xff | (dev >> 12) & 0xfff00))
	[ -w "/sys/fs/fuse/connections/$minor/abort" ] &&
		echo 1 >"/sys/fs/fuse/connections/$minor/abort" 2>/dev/null || true
}

force_umount() { # MNT: unmount, however it has to be done
	local m=$1
	is_mounted "$m" || return 0
	timeout 30 umount "$m" 2>/dev/null && return 0
	_abort_fuse "$m"
	timeout 10 umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
}

cleanup() {
	local rc=$? i
	trap - ERR
	set +e
	for i in "${_HOOKS[@]}"; do
		eval "$i"
	done
	for ((i = ${#_MOUNTS[@]} - 1; i >= 0; i--)); do
		force_umount "${_MOUNTS[$i]}"
	done
	for i in "${_PIDS[@]}"; do
		if kill -0 "$i" 2>/dev/null; then
			# give a daemon a moment to finish writing after its umount
			timeout 20 tail --pid="$i" -f /dev/null 2>/dev/null
			kill -TERM "$i" 2>/dev/null && sleep 1
			kill -KILL "$i" 2>/dev/null
		fi
	done
	for i in "${_LOOPS[@]}"; do
		losetup -d "$i" 2>/dev/null
	done
	for i in "${_FILES[@]}"; do
		rm -f "$i"
	done
	if [ $rc = 0 ] && [ "$FAILS" -gt 0 ]; then
		rc=1
	fi
	if [ $rc != 0 ] && [ $rc != 77 ] && [ -n "$T" ]; then
		for i in "$T"/daemon.*.log; do
			[ -s "$i" ] || continue
			echo "--- last lines of $(basename "$i"):" >&2
			tail -n 30 "$i" >&2
		done
	fi
	[ -n "$T" ] && rm -rf "$T"
	if [ $rc = 0 ]; then
		log "PASS"
	elif [ $rc != 77 ]; then
		log "FAILED (exit $rc, $FAILS check(s) failed)"
	fi
	exit $rc
}

setup_tmp() {
	T=$(mktemp -d "/tmp/jbdlab-$TEST_NAME.XXXXXX")
	trap cleanup EXIT
	trap 'echo "$TEST_NAME: command failed (line $LINENO, exit $?): $BASH_COMMAND" >&2' ERR
	trap 'exit 130' INT TERM
}

# mkimg IMG SIZE mkfs-args...: a fresh ext4 image.
mkimg() {
	local img=$1 size=$2; shift 2
	rm -f "$img"
	truncate -s "$size" "$img"
	mkfs.ext4 -q -F "$@" "$img" >/dev/null
}

# jbd_mount IMG MNT [OPTS]: `jbdlab mount -f` in the background; sets
# JBD_PID and waits (20 s) until MNT shows up in /proc/mounts.
JBD_PID=""
jbd_mount() {
	local img=$1 mnt=$2 opts=${3:-} i
	local out
	out="$T/daemon.$(basename "$mnt").log"
	mkdir -p "$mnt"
	if [ -n "$opts" ]; then
		"$JBDLAB" mount -f -o "$opts" "$img" "$mnt" >"$out" 2>&1 &
	else
		"$JBDLAB" mount -f "$img" "$mnt" >"$out" 2>&1 &
	fi
	JBD_PID=$!
	_PIDS+=("$JBD_PID")
	_MOUNTS+=("$mnt")
	for ((i = 0; i < 200; i++)); do
		if is_mounted "$mnt"; then
			return 0
		fi
		if ! kill -0 "$JBD_PID" 2>/dev/null; then
			wait "$JBD_PID" 2>/dev/null && i=0 || i=$?
			echo "--- daemon output:" >&2; cat "$out" >&2
			die "jbdlab mount $img $mnt exited (status $i) before the mount appeared"
		fi
		sleep 0.1
	done
	cat "$out" >&2
	die "jbdlab mount: $mnt did not appear in /proc/mounts within 20 s"
}

# jbd_umount MNT [PID]: umount, then wait (120 s) for the daemon to exit;
# its exit status must be 0.
jbd_umount() {
	local mnt=$1 pid=${2:-$JBD_PID} i rc
	# FUSE releases are asynchronous: right after a workload exits the
	# mount can still be busy for a moment
	for ((i = 0; i < 40; i++)); do
		umount "$mnt" 2>"$T/umount.err" && break
		grep -q busy "$T/umount.err" || break
		sleep 0.5
	done
	[ $i -gt 0 ] && log "note: umount $mnt was busy, retried $i times"
	if is_mounted "$mnt"; then
		fail "umount $mnt: $(cat "$T/umount.err")"
		force_umount "$mnt"
	fi
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		die "jbdlab daemon $pid still running 120 s after umount of $mnt"
	fi
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	if [ $rc != 0 ]; then
		fail "jbdlab daemon for $mnt exited with status $rc"
		cat "$T/daemon.$(basename "$mnt").log" >&2 || true
	fi
	return 0
}

# kmount IMG MNT OPTS: kernel ext4 mount through a loop device we own.
# OPTS may contain ro; read-only mounts use a read-only loop device.
kmount() {
	local img=$1 mnt=$2 opts=$3 lo
	mkdir -p "$mnt"
	if [[ ",$opts," == *,ro,* ]]; then
		lo=$(losetup -f --show -r "$img")
	else
		lo=$(losetup -f --show "$img")
	fi
	_LOOPS+=("$lo")
	_MOUNTS+=("$mnt")
	mount -t ext4 -o "$opts" "$lo" "$mnt"
}

kumount() { # MNT: unmount a kmount and detach its loop device
	local mnt=$1 lo
	lo=$(mount_source "$mnt")
	umount "$mnt"
	[ -n "$lo" ] && losetup -d "$lo" 2>/dev/null || true
}

fsck_clean() { # IMG [label]: e2fsck -fn must exit 0
	local img=$1 what=${2:-$1} out rc=0
	out=$(e2fsck -fn "$img" 2>&1) || rc=$?
	if [ $rc = 0 ]; then
		log "ok: e2fsck -fn clean ($what)"
	else
		fail "e2fsck -fn $what exited $rc"
		# the "could be shorter" hints (exit 0 on their own) hide the errors
		printf '%s\n' "$out" | grep -v -e 'could be shorter' -e 'Optimize? no' -e '^$' | head -40 >&2
	fi
}

# manifest DIR OUT: one line per object below DIR (see manifest.py).
manifest() {
	python3 "$SCRIPTS_DIR/manifest.py" "$1" >"$2"
}

# gen_file PATH SIZE SEED [OFFSET]: deterministic pseudo-random bytes; with
# OFFSET, written into an existing file at OFFSET (no truncation).
gen_file() {
	python3 - "$@" <<'PY'
import os, random, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
off = int(sys.argv[4]) if len(sys.argv) > 4 else None
data = random.Random(seed).randbytes(size)
if off is None:
    with open(path, "wb") as f:
        f.write(data)
else:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, data, off)
    os.close(fd)
PY
}
