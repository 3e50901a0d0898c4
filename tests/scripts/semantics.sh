#!/usr/bin/env bash
# semantics.sh [JBDLAB]
#
# POSIX/ext4 semantics on a jbdlab mount (-o allow_other,default_permissions,
# 2 KiB blocks), each check first run against a kernel ext4 loop mount as the
# control (a check the kernel fails is a broken check, not a driver bug):
#  - NAME_MAX: 255-byte names work, 256 give ENAMETOOLONG for create, mkdir,
#    symlink, link, rename, mknod, lookup, unlink;
#  - open files survive their last name: unlink, rename over a file, rename
#    over a directory (fstests generic/035: fstat of the fd must work);
#  - a write or truncate by a non-owner clears SUID/SGID; an exec after
#    such a write no longer sets the old owner's uid (jbdlab is mounted with
#    hour-long entry and attribute timeouts: whether the kernel drops the
#    bit itself -- GETATTR + SETATTR(mode) before the WRITE when it grants
#    no HANDLE_KILLPRIV, as 6.18 here -- or leaves it to the fs, whose
#    notifier then invalidates the kernel's cached mode, exec must see it);
#  - s_maxbytes: EFBIG beyond it, success up to it;
#  - directories: 5000 entries made on jbdlab (linear), and an htree
#    directory built by the kernel then grown, shrunk and renamed in on
#    jbdlab; readdir lists exactly the expected names and every one looks up,
#    on jbdlab and afterwards on the kernel (whose lookups use the hash index);
#  - fallocate(1) -l/-n/-p/-z: success or EOPNOTSUPP, never EINVAL, and the
#    data reads as the mode says;
#  - statfs sane; the mount type is fuse.jbdlab;
#  - e2fsck -fn clean at the end.
source "$(dirname "$0")/lib.sh"
require_env
command -v setpriv >/dev/null || die "missing setpriv (util-linux)"
command -v fallocate >/dev/null || die "missing fallocate (util-linux)"
setup_tmp
chmod 755 "$T"		# the non-owner checks run as uid 65534
cp "$SCRIPTS_DIR/semantics_helper.py" "$T/helper.py" && chmod 644 "$T/helper.py"
PY_NOBODY=/usr/bin/python3
[ -x $PY_NOBODY ] || PY_NOBODY=$(command -v python3)

H=(python3 "$SCRIPTS_DIR/semantics_helper.py")
BS=2048
MAXBYTES=$(( ((1 << 32) - 1) * BS ))	# ext4_max_size() for extent files
NOBODY=65534

helper() { # WHAT CHECK ARGS...: run a helper check, print its lines, count failures
	local what=$1 rc=0; shift
	"${H[@]}" "$@" >"$T/h.out" 2>&1 || rc=$?
	sed "s/^/    [$what] /" "$T/h.out"
	[ $rc = 0 ] || fail "$what: $1 ($rc failed)"
}

as_nobody() { # the helper, as uid/gid 65534 (a system python3 it can reach)
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$PY_NOBODY" "$T/helper.py" "$@"
}

killpriv() { # DIR LABEL: SUID/SGID cleared by a non-owner's write and truncate
	local d=$1 what=$2
	mkdir -m 0777 "$d"
	printf 'root file\n' >"$d/w" && chmod 06777 "$d/w"
	printf 'root file\n' >"$d/t" && chmod 06777 "$d/t"
	as_nobody write_as_other "$d/w" >"$T/h.out" 2>&1 || fail "$what: write by a non-owner"
	sed "s/^/    [$what] /" "$T/h.out"
	as_nobody truncate_as_other "$d/t" >"$T/h.out" 2>&1 || fail "$what: truncate by a non-owner"
	sed "s/^/    [$what] /" "$T/h.out"
}

suid_exec() { # DIR LABEL: exec after a non-owner's write runs without the dropped S_ISUID
	local d=$1 what=$2 u
	mkdir -m 0777 "$d"
	cp /usr/bin/id "$d/id" && chown $NOBODY:$NOBODY "$d/id" && chmod 04777 "$d/id"
	u=$("$d/id" -u)		# the kernel caches the mode here
	[ "$u" = $NOBODY ] || fail "$what: setuid exec: euid $u, expected $NOBODY"
	# uid 65533, not the owner, rewrites the first byte in place: S_ISUID goes
	setpriv --reuid=65533 --regid=65533 --clear-groups \
		dd if="$d/id" of="$d/id" bs=1 count=1 conv=notrunc status=none ||
		fail "$what: write by a non-owner"
	u=$("$d/id" -u)
	if [ "$u" = 0 ]; then
		log "ok: [$what] exec after a non-owner's write: euid 0, S_ISUID gone"
	else
		fail "[$what] exec after a non-owner's write: euid $u (a stale S_ISUID), expected 0"
	fi
}

basic_checks() { # DIR LABEL
	local d=$1 what=$2
	mkdir "$d/names" "$d/unl" "$d/efbig"
	helper "$what" names "$d/names"
	helper "$what" unlinked "$d/unl"
	killpriv "$d/kp" "$what"
	suid_exec "$d/sx" "$what"
	helper "$what" efbig "$d/efbig" "$MAXBYTES"
}

# fallocate(1) in every mode: success or EOPNOTSUPP, never EINVAL
falloc_checks() { # DIR LABEL
	local d=$1 what=$2 f=$1/falloc mode out rc
	gen_file "$f" 200000 42
	for mode in "-l 1048576" "-n -o 2097152 -l 65536" "-p -o 4096 -l 8192" "-z -o 20000 -l 10000" \
		"-z -n -o 150000 -l 100000"; do
		rc=0
		# shellcheck disable=SC2086
		out=$(fallocate $mode "$f" 2>&1) || rc=$?
		if [ $rc = 0 ]; then
			log "ok: [$what] fallocate $mode"
		elif [[ $out == *"not supported"* ]]; then
			log "ok: [$what] fallocate $mode: EOPNOTSUPP (allowed)"
			echo "$mode" >>"$T/falloc-unsupported.$what"
		else
			fail "[$what] fallocate $mode: $out"
		fi
	done
	# what the file must look like now, given which modes were supported
	python3 - "$f" "$T/falloc-unsupported.$what" <<'PY' || fail "[$what] fallocate results"
import os, random, sys
f, unsup = sys.argv[1], sys.argv[2]
u = open(unsup).read() if os.path.exists(unsup) else ""
data = bytearray(random.Random(42).randbytes(200000))
size = 200000
if "-l 1048576" not in u.splitlines():
    size = 1048576
    data += bytes(size - len(data))
if "-p -o 4096 -l 8192" not in u.splitlines():
    data[4096:12288] = bytes(8192)
if "-z -o 20000 -l 10000" not in u.splitlines():
    data[20000:30000] = bytes(10000)
if "-z -n -o 150000 -l 100000" not in u.splitlines():
    data[150000:250000] = bytes(100000)
st = os.stat(f)
got = open(f, "rb").read()
if st.st_size != size or got != bytes(data[:size]):
    i = next((i for i in range(min(len(got), size)) if got[i] != data[i]), None)
    print("FAIL: size %d (expected %d), first differing byte %s" % (st.st_size, size, i))
    sys.exit(1)
print("ok: size and content after the fallocate calls")
PY
}

log "checks: names, open-unlinked, killpriv, EFBIG, big/htree dirs, fallocate, statfs, type; e2fsck"

# ---- control: the same checks on a kernel ext4 mount (proves the checks) ----
mkimg "$T/control.img" 128M -b $BS
kmount "$T/control.img" "$T/kctl" rw
basic_checks "$T/kctl" kernel
falloc_checks "$T/kctl" kernel
kumount "$T/kctl"
if [ "$FAILS" -gt 0 ]; then
	die "the checks fail on the kernel control: fix the test"
fi
log "ok: every check passes on the kernel control"

# ---- the image under test, with an htree directory built by the kernel ----
IMG=$T/img
mkimg "$IMG" 256M -b $BS
kmount "$IMG" "$T/kmnt" rw
mkdir "$T/kmnt/htree"
"${H[@]}" populate "$T/kmnt/htree" 0 3000 k
kumount "$T/kmnt"
flags=$(debugfs -R "stat /htree" "$IMG" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
(( ${flags:-0} & 0x1000 )) || die "the kernel did not build an htree (INDEX_FL) directory (flags ${flags:-?})"
log "ok: kernel built /htree with 3000 entries and INDEX_FL"

jbd_mount "$IMG" "$T/mnt" allow_other,default_permissions,suid,entry_timeout=3600,attr_timeout=3600
M=$T/mnt
t=$(mount_type "$M")
[ "$t" = fuse.jbdlab ] && log "ok: mount type is fuse.jbdlab" || fail "mount type is '$t', expected fuse.jbdlab"

basic_checks "$M" jbdlab
falloc_checks "$M" jbdlab

# big directories
"${H[@]}" expected "$T/htree.expect" + k 0 3000 1
helper "jbdlab htree (as built)" listing "$M/htree" "$T/htree.expect"
"${H[@]}" populate "$M/htree" 0 2000 j
"${H[@]}" remove "$M/htree" 0 3000 3 k
"${H[@]}" rename_batch "$M/htree" 1 600 6 k r
"${H[@]}" expected "$T/htree.expect" + k 0 3000 1 + j 0 2000 1 - k 0 3000 3 - k 1 600 6 + r 1 600 6
helper "jbdlab htree (changed)" listing "$M/htree" "$T/htree.expect"

mkdir "$M/lin"
"${H[@]}" populate "$M/lin" 0 5000 l
"${H[@]}" remove "$M/lin" 0 5000 5 l
"${H[@]}" expected "$T/lin.expect" + l 0 5000 1 - l 0 5000 5
helper "jbdlab 5000-entry dir" listing "$M/lin" "$T/lin.expect"

read -r blocks inodes < <(dumpe2fs -h "$IMG" 2>/dev/null |
	awk -F: '/^Block count/ { b = $2 } /^Inode count/ { i = $2 } END { print b + 0, i + 0 }')
helper "jbdlab statfs" statfs "$M" $BS "$blocks" "$inodes"

jbd_umount "$M"
fsck_clean "$IMG"
debugfs -R "htree /htree" "$IMG" >/dev/null 2>&1 || fail "debugfs cannot walk /htree as an htree after jbdlab"

# what jbdlab wrote, as the kernel sees it (read-only, no journal replay)
kmount "$IMG" "$T/kro" ro,noload
helper "kernel htree" listing "$T/kro/htree" "$T/htree.expect"
helper "kernel 5000-entry dir" listing "$T/kro/lin" "$T/lin.expect"
names=$(ls "$T/kro/names" 2>&1 | tr "\n" " ") || true
[ "$names" = "longtarget src " ] && log "ok: kernel sees names/ = $names" || fail "kernel sees names/ = $names"
kumount "$T/kro"
