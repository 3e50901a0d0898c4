#!/usr/bin/env python3
"""mkcorpus.py JBDLAB OUTDIR IMAGE|DIR...

Seed corpus of the journal-replay fuzz target: the journal of each ext4
image (IMAGE may be .img, .gz, .bz2 or a directory searched for image.gz,
image.bz2 and *.img) turned into one input in the format of src/fuzz/jfz.h:
the configuration byte (block size, 64bit, metadata_csum of the image), the
journal superblock, then the log from s_start on (at most the input's
limit; trailing all-zero blocks dropped).  The journal is read with
`debugfs -R "dump <N>"`; nothing is written to the source images.

The fuzz template is smaller than most real images (8 MiB, 16 MiB with
4 KiB blocks) and its journal is 1024 blocks, so an input is made to fit:
s_maxlen is capped to 1024 (s_start moved to s_first when past it), and
when a tag or revoke record names a block past the template, every home
block is mapped into the template's upper half, after which `jbdlab fuzz
fixup --seed 0` recomputes the descriptor, revoke, commit and superblock
checksums (only for images whose journal is otherwise valid: a corrupt
one that needs no remapping keeps its corruption byte for byte; only its
superblock checksum is redone, when s_maxlen changed).
Prints one line per input: name, configuration, blocks, remapped or not.
"""
import bz2
import gzip
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

JBD2_MAGIC = 0xC03B3998
JSB_BYTES = 1024
MAX_LOG = 64 << 10
TEMPLATE_JBLOCKS = 1024


def template_blocks(bs):
    return (16 << 20 if bs == 4096 else 8 << 20) // bs


def be32(b, o):
    return struct.unpack_from(">I", b, o)[0]


def tag_geometry(incompat):
    csum2, csum3, bit64 = incompat & 0x8, incompat & 0x10, incompat & 0x2
    if csum3:
        return 16, True
    size = 12 + (2 if csum2 else 0)
    return (size if bit64 else size - 4), False


def remap_log(log, bs, incompat, nblocks):
    """Map every tag's and revoke record's block into the template; returns
    (new log, whether anything was past the template)."""
    half = nblocks // 2
    tagsz, v3 = tag_geometry(incompat)
    tail = 4 if incompat & 0x18 else 0
    bit64 = bool(incompat & 0x2)
    log = bytearray(log)
    past = False
    i, n = 0, len(log) // bs

    def fix(blk):
        nonlocal past
        if blk >= nblocks:
            past = True
        return half + blk % half if blk >= half else blk

    while i < n:
        b = i * bs
        if be32(log, b) != JBD2_MAGIC:
            break
        btype = be32(log, b + 4)
        if btype == 1:  # descriptor
            off, ndata = 12, 0
            while off + tagsz <= bs - tail:
                t = b + off
                lo = be32(log, t)
                if v3:
                    flags = be32(log, t + 4)
                    hi = be32(log, t + 8) if bit64 else 0
                else:
                    flags = struct.unpack_from(">H", log, t + 6)[0]
                    hi = be32(log, t + 8) if bit64 else 0
                new = fix(hi << 32 | lo)
                struct.pack_into(">I", log, t, new & 0xFFFFFFFF)
                if bit64:
                    struct.pack_into(">I", log, t + 8, new >> 32)
                ndata += 1
                off += tagsz + (0 if flags & 2 else 16)
                if flags & 8:
                    break
            i += 1 + ndata
            continue
        if btype == 5:  # revoke
            rcount = be32(log, b + 12)
            rec = 8 if bit64 else 4
            off = 16
            while off + rec <= min(rcount, bs - tail):
                blk = struct.unpack_from(">Q" if bit64 else ">I", log, b + off)[0]
                struct.pack_into(">Q" if bit64 else ">I", log, b + off, fix(blk))
                off += rec
        i += 1
    return bytes(log), past


def read_image(path, tmp):
    if path.endswith(".gz"):
        data = gzip.open(path).read()
    elif path.endswith(".bz2"):
        data = bz2.open(path).read()
    else:
        return path
    out = os.path.join(tmp, "image")
    with open(out, "wb") as f:
        f.write(data)
    return out


def one(jbdlab, src, outdir, name):
    with tempfile.TemporaryDirectory() as tmp:
        img = read_image(src, tmp)
        with open(img, "rb") as f:
            f.seek(1024)
            sb = f.read(1024)
        if struct.unpack_from("<H", sb, 0x38)[0] != 0xEF53:
            return None
        bs = 1024 << struct.unpack_from("<I", sb, 0x18)[0]
        if bs not in (1024, 2048, 4096):
            return None
        jino = struct.unpack_from("<I", sb, 0xE0)[0]
        incompat_fs = struct.unpack_from("<I", sb, 0x60)[0]
        ro_compat = struct.unpack_from("<I", sb, 0x64)[0]
        if not jino:
            return None
        jfile = os.path.join(tmp, "journal")
        subprocess.run(["debugfs", "-R", "dump <%d> %s" % (jino, jfile), img],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if not os.path.exists(jfile) or os.path.getsize(jfile) < 2 * bs:
            return None
        j = open(jfile, "rb").read()
        jsb = bytearray(j[:JSB_BYTES])
        if be32(jsb, 0) != JBD2_MAGIC:
            return None
        maxlen, first, start = be32(jsb, 0x10), be32(jsb, 0x14), be32(jsb, 0x1C)
        incompat = be32(jsb, 0x28)
        cfg = {1024: 0, 2048: 1, 4096: 2}[bs]
        cfg |= 0x04 if incompat_fs & 0x80 else 0
        cfg |= 0x08 if ro_compat & 0x400 else 0
        jblocks = len(j) // bs
        if not 1 <= first < min(maxlen, jblocks):
            first = 1
        pos = start if first <= start < min(maxlen, jblocks) else first
        nlog = min(MAX_LOG // bs, TEMPLATE_JBLOCKS - 1, min(maxlen, jblocks) - first)
        blocks = []
        for _ in range(nlog):
            blocks.append(j[pos * bs:(pos + 1) * bs])
            pos += 1
            if pos >= min(maxlen, jblocks):
                pos = first
        while blocks and not any(blocks[-1]):
            blocks.pop()
        log = b"".join(blocks)
        log, past = remap_log(log, bs, incompat, template_blocks(bs))
        sbfix = False
        if maxlen > TEMPLATE_JBLOCKS:
            struct.pack_into(">I", jsb, 0x10, TEMPLATE_JBLOCKS)
            if start >= TEMPLATE_JBLOCKS:
                struct.pack_into(">I", jsb, 0x1C, first)
            sbfix = True
        data = bytes([cfg]) + bytes(jsb) + log
        path = os.path.join(outdir, name)
        with open(path, "wb") as f:
            f.write(data)
        if past:
            subprocess.run([jbdlab, "fuzz", "fixup", "--seed", "0", path, path], check=True)
        elif sbfix:
            subprocess.run([jbdlab, "fuzz", "fixup", "--sb-only", path, path], check=True)
        return cfg, len(blocks), past


def sources(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, files in sorted(os.walk(a)):
                for f in sorted(files):
                    if f in ("image.gz", "image.bz2") or f.endswith(".img"):
                        p = os.path.join(root, f)
                        base = os.path.basename(root) if f.startswith("image.") else f[:-4]
                        yield p, base
        else:
            yield a, os.path.basename(a).split(".")[0]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    jbdlab, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for src, base in sources(sys.argv[3:]):
        r = one(jbdlab, src, outdir, base)
        if r is None:
            print("skip %s: no internal jbd2 journal" % src)
            continue
        cfg, nb, past = r
        n += 1
        print("%s: cfg 0x%02x, %d log blocks%s" % (base, cfg, nb, ", remapped" if past else ""))
    print("mkcorpus: %d inputs in %s" % (n, outdir))


if __name__ == "__main__":
    main()
