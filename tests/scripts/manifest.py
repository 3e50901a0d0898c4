#!/usr/bin/env python3
# manifest.py DIR - print one line per object below DIR (DIR itself is ".")
# in sorted path order: path, inode number, type, mode, uid, gid, size,
# st_blocks, nlink, rdev, link target, sha256 of the content, sorted xattrs
# (name=hex value), mtime seconds, and for hard links the first path of the
# same inode.  Two mounts of the same
# image (jbdlab FUSE and the kernel) must print identical manifests.
import hashlib
import os
import stat
import sys


def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return "-"
    out = []
    for n in sorted(names):
        try:
            v = os.getxattr(p, n, follow_symlinks=False)
            out.append(n + "=" + v.hex())
        except OSError as e:
            out.append(n + "=<" + e.strerror + ">")
    return ",".join(out) if out else "-"


def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def kind(m):
    for t, c in ((stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"),
                 (stat.S_ISFIFO, "p"), (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b"),
                 (stat.S_ISSOCK, "s")):
        if t(m):
            return c
    return "?"


def main():
    root = sys.argv[1]
    paths = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            paths.append(os.path.join(d, n))
    rel = sorted(os.path.relpath(p, root) for p in paths)
    first_of_ino = {}
    for r in ["."] + rel:
        p = os.path.join(root, r)
        st = os.lstat(p)
        m = st.st_mode
        k = kind(m)
        target = os.readlink(p) if k == "l" else "-"
        digest = sha(p) if k == "f" else "-"
        rdev = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) if k in "cb" else "-"
        size = st.st_size
        group = "-"
        if k != "d" and st.st_nlink > 1:
            group = first_of_ino.setdefault(st.st_ino, r)
        print("%s ino=%d type=%s mode=%04o uid=%d gid=%d size=%d blocks=%d nlink=%d rdev=%s "
              "target=%s sha256=%s xattrs=%s mtime=%d linkgroup=%s" %
              (r, st.st_ino, k, stat.S_IMODE(m), st.st_uid, st.st_gid, size, st.st_blocks,
               st.st_nlink, rdev, target, digest, xattrs(p), st.st_mtime_ns // 1000000000, group))


if __name__ == "__main__":
    main()
