#!/usr/bin/env python3
# journal_kernel_workload.py MNT N MODE SEED - a metadata-heavy workload for
# journal_kernel.sh on a kernel ext4 mount: N rounds of write + fsync,
# renames, unlinks, and now and then a directory grown to several blocks
# and removed (its freed directory blocks become revoke records).  Every
# round ends with an fsync, so the last transactions are committed to the
# log but not checkpointed.  MODE "shutdown" ends with the ext4 shutdown
# ioctl (EXT4_IOC_SHUTDOWN, flag 2 = NOLOGFLUSH): nothing more reaches the
# disk, the log stays as it is.
import fcntl
import os
import random
import shutil
import struct
import sys

mnt, n, mode, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
os.makedirs(f"{mnt}/d", exist_ok=True)


def fsync_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


for i in range(n):
    p = f"{mnt}/d/f{i % 50}"
    fsync_file(p, rnd.randbytes(1000 + rnd.randrange(9000)))
    if i % 7 == 3:
        os.rename(p, f"{mnt}/d/r{i}")
    if i % 11 == 5:
        for x in os.listdir(f"{mnt}/d"):
            if x.startswith("r"):
                os.unlink(f"{mnt}/d/{x}")
    if i % 40 == 20:
        big = f"{mnt}/big{i}"
        os.makedirs(big)
        for k in range(120):
            open(f"{big}/name-{k:04d}-padding-padding-padding", "w").close()
        fsync_file(f"{mnt}/sync", b"x")
        shutil.rmtree(big)
    fsync_file(f"{mnt}/sync", b"y" * i)

if mode == "shutdown":
    fd = os.open(mnt, os.O_RDONLY)
    fcntl.ioctl(fd, 0x8004587D, struct.pack("I", 2))  # EXT4_IOC_SHUTDOWN, NOLOGFLUSH
    os.close(fd)
