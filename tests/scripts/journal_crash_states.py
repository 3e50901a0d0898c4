#!/usr/bin/env python3
# journal_crash_states.py - crash states from a dm-log-writes log (crash
# test 5, journal_crash_log.sh).
#
#   journal_crash_states.py list LOG [--tail]
#       one line per entry: INDEX SECTOR NR_SECTORS FLAGS [MARK]
#   journal_crash_states.py run --log LOG --init IMG --records REC
#           --jbdlab JBDLAB --work DIR [--seed S] [--cap C] [--samples K]
#           [--tail] [--keep DIR] [--compare-replay]
#       check crash states: every prefix that ends at a FLUSH entry (at most
#       C of them, a seeded sample if there are more; the first and last
#       are always in), and K seeded states inside flush epochs.  Each state
#       is rebuilt from IMG (the device before the log) plus the writes of
#       the state; then `jbdlab replay` must exit 0, `e2fsck -fn` must exit
#       0, and every file the record says was fsynced before that point
#       must have its content (journal_crash_check.expected(records, L),
#       read with debugfs).  With --compare-replay, the replay alone is
#       checked first: `jbdlab replay --no-orphans` must leave the same
#       blocks as `debugfs -w -R jr` on a second copy (but the superblocks);
#       then `jbdlab replay` releases the orphan list, and where there is
#       one, the kernel's mount (ext4_orphan_cleanup, as root) of the
#       debugfs-replayed copy must give an e2fsck-clean image with the same
#       free block and inode counts.  (e2fsck -E journal_only is not the
#       reference: its orphan release differs from the kernel's in i_blocks
#       and i_dtime.)
#       At least one state must have a committed transaction in its log
#       (debugfs logdump), or the journal was not in use: a failure.
#
# The log format (drivers/md/dm-log-writes.c): sector 0 is the superblock
# (le64 magic 0x6a736677736872, le64 version 1, le64 nr_entries, le32
# sectorsize); entries follow from sector 1, each a header sector (le64
# sector, le64 nr_sectors, le64 flags, le64 data_len, then the MARK text)
# and nr_sectors data sectors.  Flags: FLUSH=1 FUA=2 DISCARD=4 MARK=8
# META=16.  A DISCARD writes zeros (as our log_reader.c replays it).
# Only the superblock's nr_entries entries are trusted, unless --tail: then
# complete entries after them count too (a killed writer's unpublished
# tail).
#
# In-epoch states.  Let L be a prefix length that does not end at a FLUSH
# and F the end of the last FLUSH entry before it: the writes in [F, L)
# are the last, unfinished epoch -- none of them is known to be durable
# except FUA writes.  A sampled state keeps every write before F, every
# FUA write in [F, L), and a seeded subset of the other writes of [F, L):
#   "drop":    each write kept with probability 1/2;
#   "reorder": the epoch's writes reach the disk in a random order and the
#              crash comes after k of them (a random k-subset);
# kept writes go onto the image in log order (two writes of one sector in
# one epoch cannot be reordered on a real disk: the later one replaces the
# earlier one in its cache).  The fsync record is evaluated at L: an F of
# count <= L must hold -- its fsync's flush is before F (a FUA-only
# durability point inside the epoch is kept too).
import argparse
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import journal_crash_check as chk  # noqa: E402

MAGIC = 0x6a736677736872
FLUSH, FUA, DISCARD, MARK, META = 1, 2, 4, 8, 16


class Entry:
    __slots__ = ("index", "sector", "nr", "flags", "off", "mark")


def parse_log(path, tail=False):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        sb = f.read(512)
        magic, version, nr_entries, ss = struct.unpack_from("<QQQI", sb, 0)
        if magic != MAGIC or version != 1:
            raise SystemExit(f"{path}: not a dm-log-writes log")
        if ss < 512 or ss & (ss - 1):
            raise SystemExit(f"{path}: bad sectorsize {ss}")
        off = ss
        out = []
        while True:
            if not tail and len(out) >= nr_entries:
                break
            if off + ss > size:
                break
            f.seek(off)
            hdr = f.read(ss)
            sector, nr, flags, dlen = struct.unpack_from("<QQQQ", hdr, 0)
            if off + ss + nr * ss > size or flags >= 32 or dlen > ss - 32:
                if len(out) < nr_entries:
                    raise SystemExit(f"{path}: published entry {len(out)} is malformed")
                break
            e = Entry()
            e.index, e.sector, e.nr, e.flags, e.off = len(out), sector, nr, flags, off + ss
            e.mark = hdr[32:32 + dlen].split(b"\0")[0].decode(errors="replace") if flags & MARK else ""
            out.append(e)
            off += ss + nr * ss
    return out, nr_entries, ss


def flags_str(fl):
    names = [n for b, n in ((FLUSH, "FLUSH"), (FUA, "FUA"), (DISCARD, "DISCARD"),
                            (MARK, "MARK"), (META, "METADATA")) if fl & b]
    return "|".join(names) or "WRITE"


class Applier:
    def __init__(self, log, ss):
        self.log = open(log, "rb")
        self.ss = ss

    def apply(self, img_fd, e):
        if e.nr == 0:
            return
        n = e.nr * self.ss
        if e.flags & DISCARD:
            data = bytes(n)
        else:
            self.log.seek(e.off)
            data = self.log.read(n)
        os.pwrite(img_fd, data, e.sector * self.ss)


def is_write(e):
    return e.nr > 0 and not (e.flags & MARK)


def cmd_list(a):
    ents, pub, ss = parse_log(a.log, a.tail)
    print(f"entries={len(ents)} published={pub} sectorsize={ss}")
    for e in ents:
        print(e.index, e.sector, e.nr, flags_str(e.flags), e.mark)
    return 0


def run_quiet(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout


def fs_layout(img):
    """(block size, [blocks not to compare]) as journal_lib.sh's cmp_images"""
    rc, out = run_quiet(["dumpe2fs", "-h", img])
    bs = next(int(l.split(":")[1]) for l in out.splitlines() if l.startswith("Block size:"))
    rc, out = run_quiet(["debugfs", "-R", "bmap <8> 0", img])
    skip = {1024 // bs}
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if last.isdigit():
        skip.add(int(last))
    return bs, skip


def last_orphan(img):
    """s_last_orphan of the ext4 superblock (offset 0xE8 in it)"""
    with open(img, "rb") as f:
        f.seek(1024 + 0xE8)
        return struct.unpack("<I", f.read(4))[0]


def free_counts(img):
    """(free blocks, free inodes) summed over the group descriptors"""
    rc, out = run_quiet(["dumpe2fs", img])
    fb = fi = 0
    for m in re.finditer(r"^\s*(\d+) free (?:blocks|clusters), (\d+) free inodes", out, re.M):
        fb += int(m.group(1))
        fi += int(m.group(2))
    return fb, fi


def kernel_orphan_release(img, workdir):
    """Mount a copy of the replayed IMG with the kernel (ext4_orphan_cleanup)
    and unmount; its free counts, or a string saying what went wrong."""
    kimg = os.path.join(workdir, "kernel.img")
    mnt = os.path.join(workdir, "kmnt")
    os.makedirs(mnt, exist_ok=True)
    shutil.copyfile(img, kimg)
    rc, out = run_quiet(["mount", "-t", "ext4", "-o", "loop", kimg, mnt])
    if rc != 0:
        return f"the kernel's mount of the replayed state failed: {out.strip()[-200:]}"
    urc, uout = run_quiet(["umount", mnt])
    if urc != 0:
        run_quiet(["umount", "-l", mnt])
        return f"umount after the kernel's orphan release failed: {uout.strip()[-200:]}"
    rc, out = run_quiet(["e2fsck", "-fn", kimg])
    if rc != 0:
        return f"e2fsck -fn after the kernel's orphan release: exit {rc}"
    return free_counts(kimg)


def diff_blocks(a, b, bs, skip):
    diff = []
    with open(a, "rb") as fa, open(b, "rb") as fb:
        n = 0
        while True:
            x, y = fa.read(bs), fb.read(bs)
            if not x and not y:
                break
            if x != y and n not in skip:
                diff.append(n)
            n += 1
    return diff


def cmd_run(a):
    ents, pub, ss = parse_log(a.log, a.tail)
    records = chk.read_records(a.records)
    rnd = random.Random(a.seed)
    nflush = sum(1 for e in ents if e.flags & FLUSH)
    nfua = sum(1 for e in ents if e.flags & FUA)
    marks = [e for e in ents if e.flags & MARK]
    nwrites = sum(1 for e in ents if is_write(e))
    print(f"log: {len(ents)} entries ({pub} published), {nwrites} writes, {nflush} FLUSH, "
          f"{nfua} FUA, {len(marks)} MARK; {sum(1 for r in records if r[0] == 'F')} fsyncs recorded")

    # the flush prefixes (length = index of the FLUSH + 1), capped
    flush_pref = [e.index + 1 for e in ents if e.flags & FLUSH]
    total_flush = len(flush_pref)
    if len(flush_pref) > a.cap:
        keep = {flush_pref[0], flush_pref[-1]}
        keep.update(rnd.sample(flush_pref[1:-1], a.cap - 2))
        flush_pref = sorted(keep)
    print(f"flush prefixes: {total_flush}, checking {len(flush_pref)} (cap {a.cap}, seed {a.seed})")

    # in-epoch samples: (base F, L, mode, kept indices)
    last_flush_end = []  # for each prefix length L: end of the last FLUSH before it
    lf = 0
    for e in ents:
        last_flush_end.append(lf)  # for L = e.index (entries [0, e.index))
        if e.flags & FLUSH:
            lf = e.index + 1
    last_flush_end.append(lf)
    cands = [L for L in range(1, len(ents) + 1)
             if not (ents[L - 1].flags & FLUSH)
             and any(is_write(ents[i]) and not (ents[i].flags & FUA)
                     for i in range(last_flush_end[L], L))]
    samples = []
    for L in sorted(rnd.sample(cands, min(a.samples, len(cands)))):
        F = last_flush_end[L]
        ws = [i for i in range(F, L) if is_write(ents[i]) and not (ents[i].flags & FUA)]
        fua = [i for i in range(F, L) if is_write(ents[i]) and (ents[i].flags & FUA)]
        mode = rnd.choice(("drop", "reorder"))
        if mode == "drop":
            kept = [i for i in ws if rnd.random() < 0.5]
        else:
            kept = rnd.sample(ws, rnd.randrange(0, len(ws)))
        samples.append((F, L, mode, sorted(kept + fua), len(ws)))
    print(f"in-epoch samples: {len(samples)} of {len(cands)} candidate prefixes")

    # states in order of their base prefix: ("flush", L, L, None) / ("epoch", F, L, (mode, kept, nws))
    states = [(L, 0, "flush", L, None) for L in flush_pref]
    states += [(F, 1, "epoch", L, (mode, kept, nws)) for F, L, mode, kept, nws in samples]
    states.sort(key=lambda s: (s[0], s[1], s[3]))

    os.makedirs(a.work, exist_ok=True)
    base = os.path.join(a.work, "base.img")
    work = os.path.join(a.work, "state.img")
    ref = os.path.join(a.work, "ref.img")
    shutil.copyfile(a.init, base)
    bfd = os.open(base, os.O_RDWR)
    app = Applier(a.log, ss)
    at = 0
    bs = skip = None
    nbad = 0
    checked = {"flush": 0, "epoch": 0}
    nfiles = 0
    with_tx = 0  # states whose log holds a committed transaction
    n_orphan = 0  # states whose orphan release was compared with the kernel's
    t0 = time.monotonic()
    for basep, _, kind, L, extra in states:
        while at < basep:
            app.apply(bfd, ents[at])
            at += 1
        shutil.copyfile(base, work)
        desc = f"prefix {L}"
        if kind == "epoch":
            mode, kept, nws = extra
            wfd = os.open(work, os.O_RDWR)
            for i in kept:
                app.apply(wfd, ents[i])
            os.close(wfd)
            desc = (f"in-epoch prefix {L} (epoch from {basep}, {mode}: {len(kept)} of "
                    f"{nws} unflushed writes kept: "
                    f"{' '.join(map(str, kept[:12]))}{' ...' if len(kept) > 12 else ''})")
        if a.compare_replay or a.keep:
            shutil.copyfile(work, ref)
        if a.compare_replay and a.keep:
            shutil.copyfile(work, work + ".pre")  # the crash state, for a kept failure
        problems = []
        # -n: a crash state may hold a bitmap whose checksum only the replay
        # makes right again; without it debugfs refuses to open the fs
        rc, out = run_quiet(["debugfs", "-n", "-R", "logdump", work])
        if "type 2 (commit block)" in out:
            with_tx += 1
        korphans = None
        if a.compare_replay:
            rc, out = run_quiet([a.jbdlab, "replay", "--no-orphans", work])
            if rc != 0:
                problems.append(f"jbdlab replay --no-orphans exit {rc}: "
                                f"{' | '.join(out.strip().splitlines()[-3:])}")
            rc, out = run_quiet(["debugfs", "-n", "-w", "-R", "jr", ref])
            if rc != 0 or "Filesystem not open" in out:
                problems.append("debugfs jr could not run: " + " | ".join(out.splitlines()[:3]))
            if bs is None:
                bs, skip = fs_layout(ref)
            d = diff_blocks(work, ref, bs, skip)
            if d:
                problems.append(f"blocks differ from debugfs jr's ({len(d)}): "
                                + " ".join(map(str, d[:10])))
            if last_orphan(work) and os.geteuid() == 0:
                korphans = kernel_orphan_release(ref, a.work)
                n_orphan += 1
        rc, out = run_quiet([a.jbdlab, "replay", work])
        if rc != 0:
            problems.append(f"jbdlab replay exit {rc}: {' | '.join(out.strip().splitlines()[-3:])}")
        rc, out = run_quiet(["e2fsck", "-fn", work])
        if rc != 0:
            lines = [l for l in out.splitlines()
                     if l and "could be shorter" not in l and "Optimize? no" not in l]
            problems.append(f"e2fsck -fn exit {rc}: " + " | ".join(lines[:8]))
        exp = chk.expected(records, L)
        nfiles += len(exp)
        bad = chk.check_img(exp, work)
        if bad:
            problems.append(f"{len(bad)} of {len(exp)} fsynced files bad: " + "; ".join(bad[:5]))
        if korphans is not None:
            if isinstance(korphans, str):
                problems.append(korphans)
            elif korphans != free_counts(work):
                problems.append(f"after the orphan release, free blocks/inodes {free_counts(work)}"
                                f" here, {korphans} after the kernel's mount")
        checked[kind] += 1
        if problems:
            nbad += 1
            if nbad <= 10:
                print(f"FAIL seed {a.seed}: {desc}: " + "; ".join(problems))
            if a.keep and nbad <= 3:
                os.makedirs(a.keep, exist_ok=True)
                dst = os.path.join(a.keep, f"state-{L}-{kind}.img")
                shutil.copyfile(ref if not a.compare_replay else work, dst)
                print(f"  kept: {dst}" + (" (after both replays)" if a.compare_replay
                                          else " (the crash state, before replay)"))
                if a.compare_replay:
                    shutil.copyfile(work + ".pre", dst[:-4] + ".pre.img")
                    print(f"  kept: {dst[:-4]}.pre.img (the crash state, before replay)")
    os.close(bfd)
    n = checked["flush"] + checked["epoch"]
    print(f"crash states checked: {n} ({checked['flush']} flush prefixes, "
          f"{checked['epoch']} sampled in-epoch); {with_tx} with committed transactions "
          f"to replay; {nfiles} fsynced-file checks; {n_orphan} orphan releases checked "
          f"against the kernel's; {nbad} bad; {time.monotonic() - t0:.1f}s")
    if n and not with_tx:
        print("FAIL: no crash state has a committed transaction in its log (debugfs "
              "logdump): metadata is not going through the journal")
        return 1
    return 1 if nbad else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list")
    p.add_argument("log")
    p.add_argument("--tail", action="store_true")
    p = sub.add_parser("run")
    p.add_argument("--log", required=True)
    p.add_argument("--init", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--jbdlab", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cap", type=int, default=200)
    p.add_argument("--samples", type=int, default=30)
    p.add_argument("--tail", action="store_true")
    p.add_argument("--keep", default=None)
    p.add_argument("--compare-replay", action="store_true")
    a = ap.parse_args()
    return cmd_list(a) if a.cmd == "list" else cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
