#!/usr/bin/env python3
# semantics_helper.py CHECK ARGS... - syscall-level checks for semantics.sh.
# Each check prints "ok: ..." or "FAIL: ..." lines and exits with the number
# of failures (0 = pass).
import errno
import os
import stat
import sys

FAILS = 0


def ok(msg):
    print("ok: " + msg)


def bad(msg):
    global FAILS
    FAILS += 1
    print("FAIL: " + msg)


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else "success"


def expect(what, fn, want):
    """Run fn(); want is 0 (success) or an errno."""
    try:
        fn()
        got = 0
    except OSError as e:
        got = e.errno
    if got == want:
        ok("%s -> %s" % (what, errname(got)))
    else:
        bad("%s -> %s, expected %s" % (what, errname(got), errname(want)))
    return got


def names(d):
    """NAME_MAX: 255 bytes work, 256 give ENAMETOOLONG, for every op that makes a name."""
    n255, n256 = "a" * 255, "b" * 256
    src = os.path.join(d, "src")
    open(src, "w").close()
    for n, want in ((n255, 0), (n256, errno.ENAMETOOLONG)):
        L = len(n)
        p = os.path.join(d, n)
        expect("create %d" % L, lambda: os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)), want)
        if want == 0:
            expect("stat %d" % L, lambda: os.lstat(p), 0)
            os.unlink(p)
        else:
            expect("stat %d" % L, lambda: os.lstat(p), want)
            expect("unlink %d" % L, lambda: os.unlink(p), want)
        expect("mkdir %d" % L, lambda: os.mkdir(p), want)
        if want == 0:
            os.rmdir(p)
        expect("symlink %d" % L, lambda: os.symlink("target", p), want)
        if want == 0:
            os.unlink(p)
        expect("link %d" % L, lambda: os.link(src, p), want)
        if want == 0:
            os.unlink(p)
        expect("mknod fifo %d" % L, lambda: os.mkfifo(p), want)
        if want == 0:
            os.unlink(p)
        expect("rename to %d" % L, lambda: os.rename(src, p), want)
        if want == 0:
            os.rename(p, src)
    # a long symlink target is fine (it is not a name)
    expect("symlink with a 1000-byte target", lambda: os.symlink("t/" * 500, os.path.join(d, "longtarget")), 0)
    names = sorted(os.listdir(d))
    if names != ["longtarget", "src"]:
        bad("directory holds %s after the name tests" % names)
    else:
        ok("directory holds exactly src, longtarget")


def unlinked(d):
    """Open files and directories stay usable after their last name is gone (generic/035)."""
    # a file unlinked while open
    p = os.path.join(d, "f")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, b"x" * 5000)
    os.unlink(p)
    os.pwrite(fd, b"after-unlink", 100000)
    st = os.fstat(fd)
    if st.st_nlink != 0 or st.st_size != 100012:
        bad("unlinked open file: fstat nlink=%d size=%d, expected 0 and 100012" % (st.st_nlink, st.st_size))
    else:
        ok("unlinked open file: fstat nlink 0, size 100012")
    data = os.pread(fd, 100012, 0)
    if data[:5000] != b"x" * 5000 or data[100000:] != b"after-unlink" or data[5000:100000].strip(b"\0"):
        bad("unlinked open file: content differs")
    else:
        ok("unlinked open file: readable and writable")
    os.ftruncate(fd, 10)
    if os.fstat(fd).st_size != 10:
        bad("ftruncate on an unlinked file")
    os.close(fd)
    expect("the unlinked name is gone", lambda: os.lstat(p), errno.ENOENT)

    # a file renamed over while open
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    with open(a, "wb") as f:
        f.write(b"new")
    with open(b, "wb") as f:
        f.write(b"old content")
    fd = os.open(b, os.O_RDWR)
    os.rename(a, b)
    st = os.fstat(fd)
    if st.st_nlink != 0:
        bad("file renamed over: fstat nlink %d, expected 0" % st.st_nlink)
    else:
        ok("file renamed over while open: fstat nlink 0")
    if os.pread(fd, 100, 0) != b"old content":
        bad("file renamed over: old content not readable through the fd")
    else:
        ok("file renamed over: old content readable")
    os.pwrite(fd, b"OLD", 0)
    os.close(fd)
    with open(b, "rb") as f:
        if f.read() != b"new":
            bad("the new name does not hold the new file")
        else:
            ok("the new name holds the new file")

    # a directory renamed over while open (generic/035)
    d1, d2 = os.path.join(d, "dir1"), os.path.join(d, "dir2")
    os.mkdir(d1)
    os.mkdir(d2)
    fd = os.open(d2, os.O_RDONLY | os.O_DIRECTORY)
    os.rename(d1, d2)
    try:
        st = os.fstat(fd)
        if st.st_nlink != 0 or not stat.S_ISDIR(st.st_mode):
            bad("dir renamed over: fstat mode %o nlink %d, expected a dir with nlink 0" % (st.st_mode, st.st_nlink))
        else:
            ok("directory renamed over while open: fstat works, nlink 0")
    except OSError as e:
        bad("dir renamed over: fstat of the open fd: %s" % errname(e.errno))
    try:
        left = os.listdir(fd)
        if left:
            bad("dir renamed over: lists %s" % left)
        else:
            ok("directory renamed over: readdir of the fd works (empty)")
    except OSError as e:
        bad("dir renamed over: readdir of the open fd: %s" % errname(e.errno))
    expect("create in the removed directory", lambda: os.open("x", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd), errno.ENOENT)
    os.close(fd)
    os.rmdir(d2)


def write_as_other(p):
    """Run as a non-owner: a write must clear S_ISUID and S_ISGID (group-exec file)."""
    try:
        fd = os.open(p, os.O_WRONLY)
        os.write(fd, b"written by uid %d\n" % os.getuid())
        os.close(fd)
    except OSError as e:
        bad("write to a 06777 file by uid %d: %s (mode now %04o)" %
            (os.getuid(), errname(e.errno), stat.S_IMODE(os.lstat(p).st_mode)))
        return
    m = stat.S_IMODE(os.lstat(p).st_mode)
    if m & (stat.S_ISUID | stat.S_ISGID):
        bad("after a write by uid %d the mode is %04o: SUID/SGID not cleared" % (os.getuid(), m))
    else:
        ok("write by uid %d cleared SUID/SGID: mode %04o" % (os.getuid(), m))


def truncate_as_other(p):
    try:
        fd = os.open(p, os.O_WRONLY)
        os.ftruncate(fd, 3)
        os.close(fd)
    except OSError as e:
        bad("ftruncate of a 06777 file by uid %d: %s (mode now %04o)" %
            (os.getuid(), errname(e.errno), stat.S_IMODE(os.lstat(p).st_mode)))
        return
    m = stat.S_IMODE(os.lstat(p).st_mode)
    if m & (stat.S_ISUID | stat.S_ISGID):
        bad("after ftruncate by uid %d the mode is %04o: SUID/SGID not cleared" % (os.getuid(), m))
    else:
        ok("ftruncate by uid %d cleared SUID/SGID: mode %04o" % (os.getuid(), m))


def efbig(d, maxbytes):
    """Sizes beyond the filesystem's s_maxbytes give EFBIG; up to it they work."""
    maxbytes = int(maxbytes)
    p = os.path.join(d, "big")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    expect("ftruncate to 1 TiB (sparse)", lambda: os.ftruncate(fd, 1 << 40), 0)
    expect("ftruncate to s_maxbytes %d" % maxbytes, lambda: os.ftruncate(fd, maxbytes), 0)
    expect("ftruncate to s_maxbytes + 1", lambda: os.ftruncate(fd, maxbytes + 1), errno.EFBIG)
    expect("ftruncate to 2^62", lambda: os.ftruncate(fd, 1 << 62), errno.EFBIG)
    expect("pwrite at s_maxbytes", lambda: os.pwrite(fd, b"x", maxbytes), errno.EFBIG)
    expect("pwrite at 2^62", lambda: os.pwrite(fd, b"x", 1 << 62), errno.EFBIG)
    expect("pwrite just below s_maxbytes", lambda: os.pwrite(fd, b"y", maxbytes - 1), 0)
    if os.fstat(fd).st_size != maxbytes:
        bad("size %d after the EFBIG tests, expected %d" % (os.fstat(fd).st_size, maxbytes))
    if os.pread(fd, 1, maxbytes - 1) != b"y":
        bad("the byte just below s_maxbytes does not read back")
    else:
        ok("the byte just below s_maxbytes reads back")
    os.ftruncate(fd, 0)
    os.close(fd)
    os.unlink(p)


def listing(d, expected_file):
    """readdir of d gives exactly the names in expected_file, and each one looks up."""
    with open(expected_file) as f:
        want = set(l.rstrip("\n") for l in f if l.strip())
    got = os.listdir(d)
    dup = len(got) - len(set(got))
    got = set(got)
    if dup:
        bad("%s: readdir returned %d duplicate names" % (d, dup))
    if got != want:
        bad("%s: readdir differs: %d missing (e.g. %s), %d unexpected (e.g. %s)" %
            (d, len(want - got), sorted(want - got)[:3], len(got - want), sorted(got - want)[:3]))
    else:
        ok("%s: readdir lists exactly the %d expected names" % (d, len(want)))
    missing = [n for n in sorted(want) if not os.path.lexists(os.path.join(d, n))]
    if missing:
        bad("%s: %d names do not look up (e.g. %s)" % (d, len(missing), missing[:3]))
    else:
        ok("%s: every name looks up" % d)
    gone = [n for n in ("nonexistent-%d" % i for i in range(50)) if os.path.lexists(os.path.join(d, n))]
    if gone:
        bad("%s: names that were never created look up: %s" % (d, gone[:3]))


def populate(d, start, count, prefix):
    for i in range(int(start), int(start) + int(count)):
        os.close(os.open(os.path.join(d, "%s%06d-%s" % (prefix, i, "x" * (i % 40))),
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))


def remove(d, start, count, step, prefix):
    for i in range(int(start), int(start) + int(count), int(step)):
        os.unlink(os.path.join(d, "%s%06d-%s" % (prefix, i, "x" * (i % 40))))


def rename_batch(d, start, count, step, prefix, newprefix):
    for i in range(int(start), int(start) + int(count), int(step)):
        tail = "%06d-%s" % (i, "x" * (i % 40))
        os.rename(os.path.join(d, prefix + tail), os.path.join(d, newprefix + tail))


def expected(out, *spec):
    """expected OUT [PREFIX START COUNT STEP [except:START:COUNT:STEP]]...: write the name list."""
    names = set()
    spec = list(spec)
    while spec:
        op, prefix, start, count, step = spec[:5]
        del spec[:5]
        for i in range(int(start), int(start) + int(count), int(step)):
            n = "%s%06d-%s" % (prefix, i, "x" * (i % 40))
            if op == "+":
                names.add(n)
            else:
                names.discard(n)
    with open(out, "w") as f:
        for n in sorted(names):
            f.write(n + "\n")


def statfs(d, bsize, blocks, inodes):
    s = os.statvfs(d)
    bsize, blocks, inodes = int(bsize), int(blocks), int(inodes)
    checks = [
        ("f_bsize == %d" % bsize, s.f_bsize == bsize),
        ("0 < f_blocks <= %d" % blocks, 0 < s.f_blocks <= blocks),
        ("f_blocks > 90% of the block count", s.f_blocks > blocks * 9 // 10),
        ("0 < f_bfree <= f_blocks", 0 < s.f_bfree <= s.f_blocks),
        ("f_bavail <= f_bfree", s.f_bavail <= s.f_bfree),
        ("f_files == %d" % inodes, s.f_files == inodes),
        ("0 < f_ffree < f_files", 0 < s.f_ffree < s.f_files),
        ("f_namemax == 255", s.f_namemax == 255),
    ]
    for what, good in checks:
        (ok if good else bad)("statfs %s (bsize=%d blocks=%d bfree=%d bavail=%d files=%d ffree=%d namemax=%d)" %
                              (what, s.f_bsize, s.f_blocks, s.f_bfree, s.f_bavail, s.f_files, s.f_ffree, s.f_namemax))
    # writing 8 MiB must lower f_bfree by about that much
    p = os.path.join(d, "statfs-probe")
    with open(p, "wb") as f:
        f.write(b"z" * (8 << 20))
        f.flush()
        os.fsync(f.fileno())
    s2 = os.statvfs(d)
    used = (s.f_bfree - s2.f_bfree) * s.f_bsize
    if (8 << 20) <= used <= (9 << 20):
        ok("statfs: an 8 MiB file takes %d bytes of f_bfree" % used)
    else:
        bad("statfs: an 8 MiB file changed f_bfree by %d bytes" % used)
    os.unlink(p)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    globals()[cmd.replace("-", "_")](*args)
    sys.exit(min(FAILS, 100))


if __name__ == "__main__":
    main()
