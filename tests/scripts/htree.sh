#!/usr/bin/env bash
# htree.sh [JBDLAB] BS FEATURES N
#
# Indexed directories built by jbdlab (make_indexed_dir at the first full
# block, then libext2fs's dx_link) and used by jbdlab through the index
# (lookup, unlink, rename), read and changed by the kernel in between:
#   1. jbdlab: N files in one new directory, every 3rd removed, every 7th
#      renamed, 40 sub-directories, a rename over an existing name; the
#      directory must be indexed (debugfs htree_dump) and e2fsck -fn clean;
#   2. kernel (ro,noload): the same listing, and a lookup (stat) of every
#      name gives the inode number jbdlab gave;
#   3. kernel (rw): 2,000 more files, 1,000 of jbdlab's removed; e2fsck -fn
#      clean;
#   4. jbdlab: the kernel's listing, every name looked up through the index
#      to the kernel's inode number, renames over existing names, then
#      everything removed and the directory too; e2fsck -fn clean;
#   5. with FEATURES=base (no checksums): a dx root with an unknown hash
#      version (written with dd) is read linearly, as the kernel does
#      (ERR_BAD_DX_DIR): every name still found.
# (e2fsck -fD cannot be combined with -n: -fn checks the index, its hash
# order and every leaf.)
source "$(dirname "$0")/lib.sh"
BS=${ARGS[0]:?usage: htree.sh [JBDLAB] BS FEATURES N}
FEATURES=${ARGS[1]:?usage: htree.sh [JBDLAB] BS FEATURES N}
N=${ARGS[2]:?usage: htree.sh [JBDLAB] BS FEATURES N}
# shellcheck disable=SC2034  # lib.sh's messages use it
TEST_NAME="htree-$BS-${FEATURES//,/-}"

require_env
setup_tmp

case $FEATURES in
base) OPTS=(-O '^64bit,^metadata_csum') ;;
*) OPTS=(-O "$FEATURES") ;;
esac

# ops DIR SCRIPT: run a python snippet over the directory (one process)
ops() {
	python3 - "$@" <<'PY'
import os, sys
d, what, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def touch(p):
    os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
if what == "jbdlab-create":
    for i in range(n):
        touch(os.path.join(d, "file_%06d_%s" % (i, "x" * (i % 40))))
    for i in range(0, n, 3):
        os.unlink(os.path.join(d, "file_%06d_%s" % (i, "x" * (i % 40))))
    for i in range(1, n, 7):
        if i % 3:
            os.rename(os.path.join(d, "file_%06d_%s" % (i, "x" * (i % 40))),
                      os.path.join(d, "moved_%06d" % i))
    for i in range(40):
        os.mkdir(os.path.join(d, "sub_%02d" % i))
    # a rename over an existing name (the target's entry is rewritten in place)
    os.rename(os.path.join(d, "moved_000001"), os.path.join(d, "file_000002_xx"))
elif what == "kernel-change":
    for i in range(2000):
        touch(os.path.join(d, "kern_%05d" % i))
    names = sorted(x for x in os.listdir(d) if x.startswith("file_"))
    for x in names[::2][:1000]:
        os.unlink(os.path.join(d, x))
elif what == "jbdlab-finish":
    names = sorted(os.listdir(d))
    moved = [x for x in names if x.startswith("moved_")][:50]
    files = [x for x in names if x.startswith("file_")]
    for a, b in zip(moved, files):
        os.rename(os.path.join(d, a), os.path.join(d, b))
    for x in sorted(os.listdir(d)):
        p = os.path.join(d, x)
        (os.rmdir if x.startswith("sub_") else os.unlink)(p)
    left = os.listdir(d)
    if left:
        sys.exit("not empty after removing everything: %d left, e.g. %s" % (len(left), left[:3]))
    os.rmdir(d)
PY
}

# inodes DIR OUT: "name inode" of every entry, by lookup (stat) of each listed name
inodes() {
	python3 - "$1" >"$2" <<'PY'
import os, sys
d = sys.argv[1]
for x in sorted(os.listdir(d)):
    print(x, os.lstat(os.path.join(d, x)).st_ino)
PY
}

indexed() { # IMG DIR: is DIR an htree directory on IMG?
	debugfs -R "htree_dump $2" "$1" 2>/dev/null | grep -q "Indirect levels"
}

IMG=$T/img
log "checks: mkfs -b $BS ${OPTS[*]}; $N files in one directory, through jbdlab, the kernel and jbdlab again"
mkimg "$IMG" 512M -b "$BS" "${OPTS[@]}"

# 1. jbdlab builds it
jbd_mount "$IMG" "$T/mnt"
mkdir "$T/mnt/big"
ops "$T/mnt/big" jbdlab-create "$N"
inodes "$T/mnt/big" "$T/jbdlab.1"
jbd_umount "$T/mnt"
log "jbdlab: $(wc -l <"$T/jbdlab.1") entries"
check "the directory jbdlab grew is indexed" indexed "$IMG" /big
log "index: $(debugfs -R 'htree_dump /big' "$IMG" 2>/dev/null | grep -m1 'Indirect levels' | tr -s '\t ' ' ')"
fsck_clean "$IMG" "after jbdlab built the index"

# 2. the kernel reads it
kmount "$IMG" "$T/kmnt" ro,noload
inodes "$T/kmnt/big" "$T/kernel.1"
kumount "$T/kmnt"
if cmp -s "$T/jbdlab.1" "$T/kernel.1"; then
	log "ok: the kernel lists and looks up the same $(wc -l <"$T/kernel.1") entries"
else
	fail "the kernel's view differs (- jbdlab, + kernel):"
	diff "$T/jbdlab.1" "$T/kernel.1" | head -20 >&2 || true
fi

# 3. the kernel changes it
kmount "$IMG" "$T/kmnt" rw
ops "$T/kmnt/big" kernel-change 0
inodes "$T/kmnt/big" "$T/kernel.2"
kumount "$T/kmnt"
fsck_clean "$IMG" "after the kernel changed the index"

# 4. jbdlab reads the kernel's changes through the index, then empties it
jbd_mount "$IMG" "$T/mnt"
inodes "$T/mnt/big" "$T/jbdlab.2"
if cmp -s "$T/kernel.2" "$T/jbdlab.2"; then
	log "ok: jbdlab looks up the kernel's $(wc -l <"$T/jbdlab.2") entries through the index"
else
	fail "jbdlab's view of the kernel's directory differs (- kernel, + jbdlab):"
	diff "$T/kernel.2" "$T/jbdlab.2" | head -20 >&2 || true
fi
if ops "$T/mnt/big" jbdlab-finish 0; then
	log "ok: renames over existing names, then every entry and the directory removed"
else
	fail "jbdlab could not empty and remove the directory"
fi
jbd_umount "$T/mnt"
fsck_clean "$IMG" "after jbdlab emptied the directory"

# 5. an index jbdlab cannot use is read linearly (no checksums to defeat)
if [ "$FEATURES" = base ]; then
	jbd_mount "$IMG" "$T/mnt"
	mkdir "$T/mnt/bad"
	ops "$T/mnt/bad" jbdlab-create 3000
	inodes "$T/mnt/bad" "$T/bad.1"
	jbd_umount "$T/mnt"
	blk=$(debugfs -R "bmap /bad 0" "$IMG" 2>/dev/null)
	# dx_root_info.hash_version (byte 28 of block 0) := 9
	printf '\x09' | dd of="$IMG" bs=1 seek=$((blk * BS + 28)) conv=notrunc status=none
	jbd_mount "$IMG" "$T/mnt"
	inodes "$T/mnt/bad" "$T/bad.2" || true
	jbd_umount "$T/mnt"
	if cmp -s "$T/bad.1" "$T/bad.2"; then
		log "ok: with an unknown hash version every name is still found (linear fallback)"
	else
		fail "with an unknown hash version the lookups differ (- before, + after):"
		diff "$T/bad.1" "$T/bad.2" | head -10 >&2 || true
	fi
fi
