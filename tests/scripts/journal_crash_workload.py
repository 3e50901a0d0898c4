#!/usr/bin/env python3
# journal_crash_workload.py MNT SEED RECORDS [--ops N] [--duration S]
#                           [--log LOG] [--small]
#
# The seeded workload of the crash tests (journal_crash_kill.sh,
# journal_crash_log.sh): creates, writes (overwrite, append, truncate),
# renames (also over an existing name) and unlinks files in a few
# directories (some while they are open and still being written: orphans
# at a crash), now and then grows a directory to several blocks and removes
# it (revoke records), and fsyncs about half of the files it modifies.  It
# runs until N operations are done, S seconds passed, or it is killed (the
# daemon under it being SIGKILLed makes every call fail: it then stops).
#
# RECORDS (a file OUTSIDE the mount) is the record of what must survive a
# crash, one line per event, appended with one write(2) each:
#   T PATH CNT        written BEFORE any change to PATH (create, write,
#                     truncate, rename from or onto, unlink): from here on
#                     PATH's durable content is unknown
#   F PATH SHA256 CNT written right AFTER fsync(PATH) returned 0: PATH must
#                     hold this content in every later crash state, until
#                     the next T of PATH
# PATH is relative to MNT.  CNT is the write log's published entry count
# (its superblock's nr_entries) read at that moment when --log is given,
# else -1.  The log writer republishes the count after every FLUSH/FUA/MARK
# entry, so after fsync returned, every log prefix of >= CNT entries holds
# the fsync's flush; at a T, the change's writes all come at or after CNT.
# journal_crash_check.py evaluates the record (see expected()).
#
# Only files are renamed (directories keep their paths), so a record about
# one path is never affected by an operation on another path.
import argparse
import hashlib
import os
import random
import shutil
import struct
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("mnt")
ap.add_argument("seed", type=int)
ap.add_argument("records")
ap.add_argument("--ops", type=int, default=0, help="stop after N ops (0 = no limit)")
ap.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0 = no limit)")
ap.add_argument("--log", default=None, help="the daemon's write log, for CNT")
ap.add_argument("--small", action="store_true", help="smaller files (for write-log runs)")
a = ap.parse_args()

rnd = random.Random(a.seed)
rec = os.open(a.records, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
NDIRS = 4
MAXSZ = 24 * 1024 if a.small else 96 * 1024


def log_count():
    if not a.log:
        return -1
    try:
        with open(a.log, "rb") as f:
            sb = f.read(24)
        return struct.unpack_from("<Q", sb, 16)[0]
    except (OSError, struct.error):
        return -1


def record(line):
    os.write(rec, (line + "\n").encode())


content = {}  # path (relative) -> bytes, files that exist
serial = 0


def touch(path):
    record(f"T {path} {log_count()}")


def do_fsync(path):
    fd = os.open(os.path.join(a.mnt, path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    record(f"F {path} {hashlib.sha256(content[path]).hexdigest()} {log_count()}")


def new_name():
    global serial
    serial += 1
    return f"d{rnd.randrange(NDIRS)}/f{serial:05d}"


def rand_data():
    # mostly small files, sometimes one of several blocks, sometimes empty
    r = rnd.random()
    if r < 0.1:
        n = 0
    elif r < 0.6:
        n = rnd.randrange(1, 4096)
    else:
        n = rnd.randrange(4096, MAXSZ)
    return rnd.randbytes(n)


def op_create():
    p = new_name()
    data = rand_data()
    touch(p)
    with open(os.path.join(a.mnt, p), "wb") as f:
        f.write(data)
    content[p] = data
    return p


def op_overwrite(p):
    old = content[p]
    data = rand_data()
    off = rnd.randrange(0, len(old) + 1)
    touch(p)
    fd = os.open(os.path.join(a.mnt, p), os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)
    new = bytearray(old)
    if off + len(data) > len(new):
        new.extend(b"\0" * (off + len(data) - len(new)))
    new[off:off + len(data)] = data
    content[p] = bytes(new)


def op_append(p):
    data = rand_data()
    touch(p)
    with open(os.path.join(a.mnt, p), "ab") as f:
        f.write(data)
    content[p] += data


def op_truncate(p):
    n = rnd.randrange(0, len(content[p]) + 8192)
    touch(p)
    os.truncate(os.path.join(a.mnt, p), n)
    c = content[p]
    content[p] = c[:n] if n <= len(c) else c + b"\0" * (n - len(c))


def op_rename(p):
    files = sorted(content)
    if rnd.random() < 0.3 and len(files) > 1:
        q = rnd.choice(files)  # onto an existing file
        if q == p:
            q = new_name()
    else:
        q = new_name()
    touch(p)
    touch(q)
    os.rename(os.path.join(a.mnt, p), os.path.join(a.mnt, q))
    content[q] = content.pop(p)
    return q


def op_unlink(p):
    touch(p)
    os.unlink(os.path.join(a.mnt, p))
    del content[p]


held = []  # fds of unlinked files still open (on the orphan list)


def op_unlink_open(p):
    # unlink a file that stays open and is written on: an orphan until
    # the close (ext4_orphan_add; the crash states' orphan release)
    fd = os.open(os.path.join(a.mnt, p), os.O_WRONLY | os.O_APPEND)
    touch(p)
    os.unlink(os.path.join(a.mnt, p))
    del content[p]
    os.write(fd, rand_data()[:4096])
    held.append(fd)
    if len(held) > 4:
        os.close(held.pop(0))


def op_bigdir():
    # a directory of several blocks, then removed: freed directory blocks
    # (revoke records in a jbd2 journal); its files are never recorded
    global serial
    serial += 1
    d = os.path.join(a.mnt, f"big{serial}")
    os.mkdir(d)
    for k in range(rnd.randrange(40, 160)):
        open(f"{d}/entry-{k:04d}-padding-padding-padding-padding", "w").close()
    if rnd.random() < 0.5:
        fd = os.open(d, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    shutil.rmtree(d)


def main():
    for i in range(NDIRS):
        os.makedirs(os.path.join(a.mnt, f"d{i}"), exist_ok=True)
    start = time.monotonic()
    n = 0
    while True:
        if a.ops and n >= a.ops:
            break
        if a.duration and time.monotonic() - start >= a.duration:
            break
        n += 1
        r = rnd.random()
        files = sorted(content)
        if r < 0.3 or len(files) < 5:
            p = op_create()
        elif r < 0.97:
            p = rnd.choice(files)
            r2 = rnd.random()
            if r2 < 0.3:
                op_overwrite(p)
            elif r2 < 0.5:
                op_append(p)
            elif r2 < 0.6:
                op_truncate(p)
            elif r2 < 0.8:
                p = op_rename(p)
            elif rnd.random() < 0.6:
                op_unlink(p)
                p = None
            else:
                op_unlink_open(p)
                p = None
        else:
            op_bigdir()
            p = None
        if p is not None and rnd.random() < 0.5:
            do_fsync(p)
    print(f"workload: {n} ops, {len(content)} files", file=sys.stderr)


try:
    main()
except OSError as e:
    # the file system went away under us (daemon killed): stop quietly
    print(f"workload: stopped: {e}", file=sys.stderr)
    sys.exit(0)
