#!/usr/bin/env bash
# hostile.sh [JBDLAB]
#
# Hostile images on mount.  Five populated base images are built
# deterministically (fixed UUID, hash seed and E2FSPROGS_FAKE_TIME, populated
# with debugfs, directories indexed by e2fsck -fD): 1 KiB 64bit+metadata_csum,
# 2 KiB mke2fs defaults, 4 KiB without metadata_csum, and two that need
# recovery (the 1 KiB one with a csum-v3 journal, the 4 KiB one with a v2
# journal without checksums; debugfs jw writes transactions that log copies
# of real metadata blocks, a revoke, and an uncommitted tail).  Each holds
# small and big files, a file of 40 extents (an extent leaf block), an indexed
# directory of several blocks, a hard link, a device node, fast and slow
# symlinks, in-inode and block xattrs.
#
# Each case (seeded: SEED, printed at the start and in every failure line;
# case K uses random.Random("SEED/K") only, so `SEED=N CASE=K hostile.sh`
# replays exactly that case) copies one base image and flips 1..8 random bits
# inside one metadata structure found with debugfs/dumpe2fs: the primary
# superblock, the group descriptors, the block and inode bitmaps, a used
# inode (root, journal, resize, lost+found, dirs, files, symlinks, device),
# the extent tree blocks, directory blocks (htree root/leaves, linear), the
# slow symlink's block, the xattr block, the resize inode's indirect block,
# the journal superblock and (needs-recovery bases) the journal's descriptor,
# data, revoke and commit blocks.  Then:
#
#  1. `jbdlab mount -f -o noatime,write_log=...`: within 60 s it either
#     refuses (non-zero exit, exactly one non-empty line on stderr, no mount
#     left, image byte-identical) or mounts.
#  2. mounted: a read-only walk under a 60 s timeout (readdir, lstat every
#     entry, read + md5 of every regular file (first 4 MiB), readlink,
#     listxattr + getxattr of every entry, statvfs).  Each op may fail (EIO,
#     EUCLEAN, ENOENT, ...); ENOTCONN/ECONNABORTED (the daemon died) or a
#     timeout (hang) is a failure.  umount; the daemon must exit 0.
#  3. no silent write: every block written (the dm-log-writes log) or changed
#     (image before/after) must be the primary superblock's block, a block of
#     the journal inode (<8> of the undamaged base), or -- if the damaged
#     image needs recovery -- a block that replay writes: the blocks
#     `e2fsck -E journal_only` changes on a copy of the same damaged image,
#     and the home blocks `jbdlab logdump` lists.  Anything else is a failure
#     printed with the block number, what it is (debugfs icheck/ncheck/testb)
#     and the seed.
#  4. on a fresh copy of the same damaged image: a small write phase (create,
#     64 KiB write + fsync, mkdir, rename, unlink, a write into an existing
#     file), errors allowed, no crash/hang, umount, daemon exit 0; then
#     `e2fsck -fn` is run for its verdict (printed and counted, not asserted).
#
# errors=panic: jbdlab aborts (SIGABRT, "panic forced after error") as the
# kernel panics; a daemon killed that way is accepted only when the damaged
# superblock says s_errors=3 (panic) and its log has that line.
#
# Env: SEED (default random), CASES (default 120), CASE (run only case K),
# HOSTILE_KEEP=DIR (copy the damaged image of every failing case there).
# The REGRESSIONS list below is run in addition to the random cases (not when
# CASE is set): seeds/cases that once found a bug, failing until it is fixed.
source "$(dirname "$0")/lib.sh"
require_env
for tool in dumpe2fs timeout cmp md5sum; do
	command -v "$tool" >/dev/null || die "missing tool $tool"
done
setup_tmp

SEED=${SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
CASES=${CASES:-120}
CASE=${CASE:-}
# "SEED:CASE:WHAT" run on every run (see the header), WHAT a part of the
# case's description (a note is printed if the case no longer hits it: the
# base images are deterministic for one e2fsprogs version, 1.47.0 here).
# Each stays here, failing, until jbdlab is fixed:
#  777:12  b4k (no metadata_csum), 4 bits in frag's extent leaf, one in an
#          ee_start_hi: reading frag aborts the daemon, "BUG at
#          src/migrate_sim/lookup.c:244: bdev_getblk: block 274877908609
#          beyond the device" (file.c map_block -> ext2fs_bmap2 takes the
#          physical block unchecked, jfs_read -> __bread); the kernel's
#          __ext4_ext_check -> ext4_valid_extent refuses it (EFSCORRUPTED,
#          "bad extent address").
#  777:95  b1k, 3 bits in the journal superblock (s_blocksize): the refusal
#          is two lines, "JBD2: journal block size 525312 != filesystem block
#          size 1024" and "... cannot load the journal (bad journal
#          superblock)" (src/fs/journal.c jfs_journal_load), not one.  Every
#          "JBD2: ..." diagnostic of a journal that fails to load or replay
#          does the same ("journal is shared by N filesystems", "Invalid
#          checksum recovering data block N in log", "Invalid checksum found
#          in transaction N" before "journal recovery failed: recovery
#          failed: Bad message"): seed 486924 cases 67 68 73 82 97 133.
REGRESSIONS=(
	"777:12:extent tree block of frag, block 1638"
	"777:95:journal superblock, block 16385"
)

MNT=$T/mnt
mkdir -p "$MNT" "$T/bases"
_MOUNTS+=("$MNT")
CUR_PID=""
# the daemon of the current case: unmount first, then give it a moment and
# kill it (by its pid: only the daemon this script started)
# shellcheck disable=SC2016  # expanded when the hook runs
_HOOKS+=('force_umount "$MNT"; if [ -n "$CUR_PID" ] && kill -0 "$CUR_PID" 2>/dev/null; then timeout 20 tail --pid="$CUR_PID" -f /dev/null; kill -KILL "$CUR_PID" 2>/dev/null; fi')
export E2FSPROGS_FAKE_TIME=1700000000
H=$T/hostile.py

cat >"$H" <<'PYEOF'
import errno, hashlib, json, os, random, re, shlex, shutil, stat, subprocess, sys

def debugfs(img, cmd):
    r = subprocess.run(["debugfs", "-R", cmd, img], capture_output=True, text=True)
    return r.stdout

def dumpe2fs_h(img):
    out = subprocess.run(["dumpe2fs", "-h", img], capture_output=True, text=True).stdout
    d = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d

def blocks_of(img, path):
    return [int(x) for x in debugfs(img, "blocks " + path).split()]

def imap(img, path):
    m = re.search(r"located at block (\d+), offset 0x([0-9a-f]+)", debugfs(img, "imap " + path))
    return (int(m.group(1)), int(m.group(2), 16)) if m else None

def targets(img, name, out):
    """The metadata structures of IMG: kind, what, block, offset, length."""
    h = dumpe2fs_h(img)
    bs = int(h["Block size"])
    isz = int(h["Inode size"])
    nblocks = int(h["Block count"])
    bpg = int(h["Blocks per group"])
    ipg = int(h["Inodes per group"])
    dsz = int(h.get("Group descriptor size", "32"))
    ngroups = (nblocks - int(h["First block"]) + bpg - 1) // bpg
    t = []
    def add(kind, what, block, off=0, length=None):
        t.append(dict(kind=kind, what=what, block=block, off=off,
                      len=min(bs - off, length if length else bs)))
    sbb = 1024 // bs
    add("sb", "primary superblock", sbb, 1024 % bs, 1024)
    add("gdt", "group descriptors", sbb + 1, 0, ngroups * dsz)
    g0 = subprocess.run(["dumpe2fs", img], capture_output=True, text=True).stdout
    m = re.search(r"Block bitmap at (\d+)", g0)
    add("bitmap", "block bitmap of group 0", int(m.group(1)), 0, bpg // 8)
    m = re.search(r"Inode bitmap at (\d+)", g0)
    add("bitmap", "inode bitmap of group 0", int(m.group(1)), 0, ipg // 8)
    for p in ["<2>", "<7>", "<8>", "<11>", "d1", "d1/f1", "d1/f3", "big", "frag",
              "bigdir", "fastlink", "slowlink", "nulldev"]:
        loc = imap(img, p)
        if loc:
            add("inode", "inode " + p, loc[0], loc[1], isz)
    for p in ["frag", "bigdir", "big"]:
        for m in re.finditer(r"\(ETB\d+\):(\d+)", debugfs(img, "stat " + p)):
            add("extent", "extent tree block of " + p, int(m.group(1)))
    for p in ["<2>", "d1", "d1/sub"]:
        b = blocks_of(img, p)
        if b:
            add("dir", "directory block 0 of " + p, b[0])
    b = blocks_of(img, "bigdir")
    for i in sorted({0, 1, len(b) // 2, len(b) - 1}):
        add("dir", "directory block %d of bigdir%s" % (i, " (htree root)" if i == 0 else ""), b[i])
    b = blocks_of(img, "slowlink")
    if b:
        add("symlink", "slow symlink block", b[0])
    for p in ["d1/f3", "d1"]:
        m = re.search(r"File ACL: (\d+)", debugfs(img, "stat " + p))
        if m and int(m.group(1)):
            add("xattr", "xattr block of " + p, int(m.group(1)))
    m = re.search(r"\(DIND\):(\d+)", debugfs(img, "stat <7>"))
    if m:
        add("resize", "resize inode's double-indirect block", int(m.group(1)))
    jb = blocks_of(img, "<8>")
    add("jsb", "journal superblock", jb[0], 0, 1024)
    if "needs_recovery" in h.get("Filesystem features", ""):
        log = subprocess.run([os.environ["JBDLAB"], "logdump", img], capture_output=True, text=True).stdout
        seen = set()
        for m in re.finditer(r"type \d+ \(([a-z ]+)\) at block (\d+)|logged at journal block (\d+)", log):
            if m.group(2):
                j, what = int(m.group(2)), m.group(1)
            else:
                j, what = int(m.group(3)), "data block"
            if j not in seen and j < len(jb):
                seen.add(j)
                add("jlog", "journal block %d (%s)" % (j, what), jb[j])
    json.dump(dict(name=name, bs=bs, sb_block=sbb, journal=jb, targets=t), open(out, "w"))

def mkcase(seed, k, basedir, bases, out):
    r = random.Random("%s/%s" % (seed, k))
    name = bases[k % len(bases)]
    meta = json.load(open(os.path.join(basedir, name + ".json")))
    kinds = sorted({x["kind"] for x in meta["targets"]})
    kind = r.choice(kinds)
    tg = r.choice([x for x in meta["targets"] if x["kind"] == kind])
    nbits = r.randint(1, 8)
    pos = sorted(r.sample(range(tg["len"] * 8), nbits))
    shutil.copyfile(os.path.join(basedir, name + ".img"), out)
    bs = meta["bs"]
    with open(out, "r+b") as f:
        for p in pos:
            o = tg["block"] * bs + tg["off"] + p // 8
            f.seek(o)
            c = f.read(1)[0]
            f.seek(o)
            f.write(bytes([c ^ (1 << (p % 8))]))
    flips = ",".join("+%d.%d" % (tg["off"] + p // 8, p % 8) for p in pos)
    desc = "%s: %s, block %d, %d bit(s) at byte.bit %s" % (name, tg["what"], tg["block"], nbits, flips)
    print("BASE=%s KIND=%s BLOCK=%d BS=%d DESC=%s" % (name, kind, tg["block"], bs, shlex.quote(desc)))

class Ops:
    """Counts the operations of a walk or a write phase and their errors by
    errno; a dead daemon (ENOTCONN) writes the summary, says DEAD, exits 3."""
    def __init__(self, out):
        self.out, self.ops, self.errs, self.byerr = out, 0, 0, {}
    def __call__(self, what, fn, *a, **kw):
        self.ops += 1
        try:
            return fn(*a, **kw)
        except OSError as e:
            self.errs += 1
            nm = errno.errorcode.get(e.errno, str(e.errno))
            self.byerr[nm] = self.byerr.get(nm, 0) + 1
            if e.errno in (errno.ENOTCONN, errno.ECONNABORTED):
                self.finish()
                print("DEAD: %s %s: %s" % (what, a[0] if a else "", e))
                raise SystemExit(3)
            return None
    def finish(self):
        s = "ops=%d errors=%d%s" % (self.ops, self.errs,
                                    "".join(" %s:%d" % kv for kv in sorted(self.byerr.items())))
        open(self.out, "w").write(s + "\n")
        print(s)
        return 0

def walk(mnt, out):
    op = Ops(out)
    n = 0
    seen = set()
    def readfile(p):
        h = hashlib.md5()
        with open(p, "rb") as f:
            left = 4 << 20
            while left > 0:
                b = f.read(min(left, 65536))
                if not b:
                    break
                h.update(b)
                left -= len(b)
        return h.hexdigest()
    def xattrs(p):
        for name in os.listxattr(p, follow_symlinks=False):
            op("getxattr", os.getxattr, p, name, follow_symlinks=False)
    op("statvfs", os.statvfs, mnt)
    stack = [(mnt, 0)]
    while stack and n < 3000:
        d, depth = stack.pop()
        st = op("lstat", os.lstat, d)
        if st is None:
            continue
        if (st.st_ino) in seen:
            continue
        seen.add(st.st_ino)
        names = op("readdir", os.listdir, d)
        if names is None:
            continue
        for nm in names:
            n += 1
            p = os.path.join(d, nm)
            st = op("lstat", os.lstat, p)
            op("listxattr", xattrs, p)
            if st is None:
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth < 16:
                    stack.append((p, depth + 1))
            elif stat.S_ISREG(st.st_mode):
                op("read", readfile, p)
            elif stat.S_ISLNK(st.st_mode):
                op("readlink", os.readlink, p)	# never followed: it may point anywhere
    return op.finish()

def writephase(mnt, out):
    op = Ops(out)
    def create_write(p, size, fsync):
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, random.Random(size).randbytes(size))
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    def write_into(p):
        fd = os.open(p, os.O_WRONLY)
        try:
            os.pwrite(fd, b"hostile" * 512, 1000)
            os.fsync(fd)
        finally:
            os.close(fd)
    op("create", create_write, os.path.join(mnt, "hostile_new"), 65536, True)
    op("mkdir", os.mkdir, os.path.join(mnt, "hostile_dir"))
    op("rename", os.rename, os.path.join(mnt, "hostile_new"), os.path.join(mnt, "hostile_dir", "moved"))
    op("create", create_write, os.path.join(mnt, "hostile_tmp"), 4096, False)
    op("unlink", os.unlink, os.path.join(mnt, "hostile_tmp"))
    for p in ["d1/f0", "big", "frag", "d1/f2"]:
        op("write-into", write_into, os.path.join(mnt, p))
    op("mkdir", os.mkdir, os.path.join(mnt, "d1", "hostile_sub"))
    op("rename", os.rename, os.path.join(mnt, "d1", "f4"), os.path.join(mnt, "bigdir", "f4_moved"))
    op("unlink", os.unlink, os.path.join(mnt, "d1", "f5"))
    op("sync", os.sync)
    return op.finish()

def log_blocks(log, bs):
    """Blocks of the logged device that the dm-log-writes log LOG writes."""
    res = set()
    with open(log, "rb") as f:
        sb = f.read(512)
        n = int.from_bytes(sb[16:24], "little")
        ss = int.from_bytes(sb[24:28], "little")
        off = ss
        for _ in range(n):
            f.seek(off)
            h = f.read(32)
            if len(h) < 32:
                break
            sec, nr, flags = (int.from_bytes(h[i:i + 8], "little") for i in (0, 8, 16))
            off += ss + (0 if flags & 4 else nr * ss)
            if flags & 8 or nr == 0:	# MARK, FLUSH
                continue
            res.update(range(sec * ss // bs, ((sec + nr) * ss + bs - 1) // bs))
    return res

def diff_blocks(a, b, bs):
    res = set()
    with open(a, "rb") as fa, open(b, "rb") as fb:
        n = 0
        while True:
            x, y = fa.read(bs), fb.read(bs)
            if not x and not y:
                break
            if x != y:
                res.add(n)
            n += 1
    return res

def silent(meta, before, after, log, allowed_file):
    """Print every written/changed block that is not allowed; exit 1 if any."""
    m = json.load(open(meta))
    bs = m["bs"]
    allowed = {m["sb_block"]} | set(m["journal"])
    if allowed_file and os.path.exists(allowed_file):
        allowed |= {int(x) for x in open(allowed_file).read().split()}
    wr = log_blocks(log, bs) if log and os.path.exists(log) else set()
    ch = diff_blocks(before, after, bs)
    bad = sorted((wr | ch) - allowed)
    for b in bad:
        print("%d %s" % (b, "written+changed" if b in wr and b in ch else
                         "changed (not in the write log!)" if b in ch else "written (same bytes)"))
    return 1 if bad else 0

def replay_blocks(dmg, ref, bs, logdump, out):
    """Blocks a replay of DMG may write: what e2fsck -E journal_only changed
    (REF) plus the home blocks of LOGDUMP (jbdlab logdump's output)."""
    s = diff_blocks(dmg, ref, bs)
    for m in re.finditer(r"FS block (\d+) logged", open(logdump).read()):
        s.add(int(m.group(1)))
    open(out, "w").write(" ".join(map(str, sorted(s))) + "\n")

cmd = sys.argv[1]
if cmd == "targets":
    targets(sys.argv[2], sys.argv[3], sys.argv[4])
elif cmd == "mkcase":
    mkcase(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5].split(","), sys.argv[6])
elif cmd == "walk":
    sys.exit(walk(sys.argv[2], sys.argv[3]))
elif cmd == "writephase":
    sys.exit(writephase(sys.argv[2], sys.argv[3]))
elif cmd == "silent":
    sys.exit(silent(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]))
elif cmd == "replay_blocks":
    replay_blocks(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
elif cmd == "gen":
    r = random.Random(1234)
    d = sys.argv[2]
    for i in range(6):
        open(f"{d}/small{i}", "wb").write(r.randbytes(r.randrange(10, 3000)))
    open(f"{d}/big", "wb").write(r.randbytes(300 * 1024))
    with open(f"{d}/frag", "wb") as f:	# 40 extents: 4 KiB data, 4 KiB hole
        for i in range(40):
            f.seek(i * 8192)
            f.write(r.randbytes(4096))
    open(f"{d}/xval", "wb").write(bytes(r.choice(b"abcdefghij") for _ in range(700)))
PYEOF

# ---- base images ----
needs_recovery() { # IMG: is EXT4_FEATURE_INCOMPAT_RECOVER (0x4) set in the primary superblock?
	local inc
	inc=$(od -An -t u4 -j $((1024 + 0x60)) -N 4 "$1" | tr -d ' ')
	[ $((inc & 4)) != 0 ]
}

sb_errors() { # IMG -> s_errors of the primary superblock
	od -An -t u2 -j $((1024 + 0x3C)) -N 2 "$1" | tr -d ' '
}

SRC=$T/src
mkdir -p "$SRC"
python3 "$H" gen "$SRC"
{
	echo "mkdir d1"; echo "mkdir d1/sub"; echo "mkdir bigdir"
	for i in 0 1 2 3 4 5; do echo "write $SRC/small$i d1/f$i"; done
	echo "write $SRC/big big"; echo "write $SRC/frag frag"
	echo "symlink fastlink d1/f0"
	echo "symlink slowlink /$(printf 'x%.0s' $(seq 1 150))/target"
	echo "ln d1/f1 d1/sub/hardlink"; echo "sif d1/f1 links_count 2"
	echo "mknod nulldev c 1 3"
	echo "ea_set d1/f2 user.small hello"
	echo "ea_set -f $SRC/xval d1/f3 user.big"
	echo "ea_set -f $SRC/xval d1 user.dirbig"
	for i in $(seq 1 120); do echo "write $SRC/small$((i % 6)) bigdir/entry_with_a_rather_long_name_number_$i"; done
} >"$T/populate"

# mkbase NAME BS FEATURES
mkbase() {
	local name=$1 bs=$2 feat=$3 img=$T/bases/$1.img rc=0
	# shellcheck disable=SC2054  # the commas belong to -E's argument
	local args=(-b "$bs" -U 6f3a2b1c-0d4e-4f5a-8b6c-7d8e9fa0b1c2
		-E hash_seed=1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0,lazy_itable_init=0)
	[ -n "$feat" ] && args+=(-O "$feat")
	mkimg "$img" 32M "${args[@]}"
	debugfs -w -f "$T/populate" "$img" >"$T/debugfs.out" 2>&1
	e2fsck -fyD "$img" >"$T/e2fsck.out" 2>&1 || rc=$?
	[ $rc -le 1 ] || die "base $name: e2fsck -fyD exit $rc: $(tail -n 3 "$T/e2fsck.out")"
	rc=0
	e2fsck -fn "$img" >"$T/e2fsck.out" 2>&1 || rc=$?
	[ $rc = 0 ] || die "base $name is not clean: $(grep -v -m 5 '^Pass' "$T/e2fsck.out" || true)"
}

# addjournal NAME FROM JO: a copy of base FROM whose journal needs recovery:
# T1 logs copies of four metadata blocks (an inode table block, an htree leaf,
# the extent leaf of frag, the root directory block), T2 revokes the extent
# leaf, T3 logs the htree root and the xattr block, T4 (uncommitted) d1's
# directory block.  Replayed correctly, nothing changes.
addjournal() {
	local name=$1 from=$T/bases/$2.img jo=$3 img=$T/bases/$1.img bs
	cp "$from" "$img"
	bs=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block size:/ { print $2 + 0 }')
	local it dx1 etb root dx0 xa d1
	it=$(debugfs -R "imap d1/f1" "$img" 2>/dev/null | sed -n 's/.*located at block \([0-9]*\),.*/\1/p')
	dx0=$(debugfs -R "bmap bigdir 0" "$img" 2>/dev/null)
	dx1=$(debugfs -R "bmap bigdir 1" "$img" 2>/dev/null)
	etb=$(debugfs -R "stat frag" "$img" 2>/dev/null | sed -n 's/.*(ETB0):\([0-9]*\).*/\1/p')
	root=$(debugfs -R "bmap <2> 0" "$img" 2>/dev/null)
	xa=$(debugfs -R "stat d1/f3" "$img" 2>/dev/null | sed -n 's/.*File ACL: \([0-9]*\).*/\1/p')
	d1=$(debugfs -R "bmap d1 0" "$img" 2>/dev/null)
	for b in "$it" "$dx1" "$etb" "$root" "$dx0" "$xa" "$d1"; do
		[[ $b =~ ^[0-9]+$ ]] || die "addjournal $name: could not find the blocks to log ($it $dx1 $etb $root $dx0 $xa $d1)"
	done
	local b
	for b in "$it" "$dx1" "$etb" "$root"; do dd if="$img" bs="$bs" skip="$b" count=1 status=none; done >"$T/j1"
	for b in "$dx0" "$xa"; do dd if="$img" bs="$bs" skip="$b" count=1 status=none; done >"$T/j3"
	dd if="$img" bs="$bs" skip="$d1" count=1 status=none >"$T/j4"
	printf '%s\njw -b %s %s\njw -r %s\njw -b %s %s\njw -b %s -c %s\njc\n' "$jo" \
		"$it,$dx1,$etb,$root" "$T/j1" "$etb" "$dx0,$xa" "$T/j3" "$d1" "$T/j4" >"$T/jcmds"
	debugfs -w -f "$T/jcmds" "$img" >"$T/debugfs.out" 2>&1
	needs_recovery "$img" ||
		die "addjournal $name: debugfs did not leave a journal that needs recovery: $(tail -n 3 "$T/debugfs.out")"
}

mkbase b1k 1024 64bit,metadata_csum
mkbase b2k 2048 ""
mkbase b4k 4096 ^metadata_csum
addjournal r1k b1k "jo -c -v 3"
addjournal r4k b4k "jo"
BASES=b1k,b2k,b4k,r1k,r4k
for b in ${BASES//,/ }; do
	python3 "$H" targets "$T/bases/$b.img" "$b" "$T/bases/$b.json"
done
log "seed $SEED: bases $BASES: $(for b in ${BASES//,/ }; do
	python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print("%s %d targets;" % (m["name"], len(m["targets"])), end=" ")' "$T/bases/$b.json"
done)"

# ---- one case ----
N_CASES=0 N_REFUSED=0 N_MOUNTED=0 N_PANIC=0 N_FAILED_CASES=0 N_OPS=0 N_ERRS=0
N_FSCK_CLEAN=0 N_FSCK_DIRTY=0 N_WOPS=0 N_WERRS=0 N_MULTILINE=0
FAILED_CASES=()
: >"$T/refusals"
: >"$T/errnos"
CASE_FAILED=0
cfail() {
	fail "SEED=$SEED CASE=$CK ($DESC): $*"
	CASE_FAILED=1
}

# start_daemon IMG OPTS LOG: `jbdlab mount -f` in the background (CUR_PID);
# returns 0 when MNT is mounted, 1 when the daemon exited first (DRC its
# status), 2 when neither happened within 60 s (the daemon is killed).
DRC=0
start_daemon() {
	local img=$1 opts=$2 dlog=$3 i
	"$JBDLAB" mount -f -o "$opts" "$img" "$MNT" >"$dlog" 2>&1 </dev/null &
	CUR_PID=$!
	for ((i = 0; i < 1200; i++)); do
		is_mounted "$MNT" && return 0
		if ! kill -0 "$CUR_PID" 2>/dev/null; then
			DRC=0
			wait "$CUR_PID" 2>/dev/null || DRC=$?
			CUR_PID=""
			is_mounted "$MNT" && { force_umount "$MNT"; return 3; }
			return 1
		fi
		sleep 0.05
	done
	kill -KILL "$CUR_PID" 2>/dev/null
	wait "$CUR_PID" 2>/dev/null
	CUR_PID=""
	force_umount "$MNT"
	return 2
}

# stop_daemon DLOG DAMAGED WHAT: umount MNT, wait (60 s) for the daemon, check its status
stop_daemon() {
	local dlog=$1 dmg=$2 what=$3 i rc=0
	for ((i = 0; i < 40; i++)); do
		umount "$MNT" 2>"$T/umount.err" && break
		grep -q busy "$T/umount.err" || break
		sleep 0.25
	done
	if is_mounted "$MNT"; then
		cfail "$what: umount failed: $(cat "$T/umount.err")"
		force_umount "$MNT"
	fi
	for ((i = 0; i < 600; i++)); do
		kill -0 "$CUR_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$CUR_PID" 2>/dev/null; then
		cfail "$what: the daemon is still running 60 s after umount (hang); killed"
		kill -KILL "$CUR_PID" 2>/dev/null
	fi
	wait "$CUR_PID" 2>/dev/null || rc=$?
	CUR_PID=""
	if [ $rc != 0 ]; then
		if [ $rc = 134 ] && [ "$(sb_errors "$dmg")" = 3 ] && grep -q 'panic forced after error' "$dlog"; then
			log "case $CK: $what: errors=panic in the superblock: the daemon aborted (SIGABRT) after an fs error, as the kernel panics"
			N_PANIC=$((N_PANIC + 1))
			return 1
		fi
		cfail "$what: the daemon exited with status $rc$([ $rc -gt 128 ] && echo " (signal $((rc - 128)))"); its last lines:
$(tail -n 8 "$dlog")"
		return 1
	fi
	return 0
}

# whatis IMG BLOCK: what debugfs says a block is
whatis() {
	local img=$1 b=$2 ino used path
	used=$(debugfs -R "testb $b" "$img" 2>/dev/null | sed 's/^Block [0-9]* //')
	ino=$(debugfs -R "icheck $b" "$img" 2>/dev/null | awk 'NR == 2 { print $2 }')
	path=""
	[[ $ino =~ ^[0-9]+$ ]] && path=$(debugfs -R "ncheck $ino" "$img" 2>/dev/null | awk 'NR == 2 { print $2 }')
	echo "${used:-?}; icheck: inode ${ino:-?}${path:+ ($path)}"
}

# allowed_replay DMG META OUT: the blocks a replay of DMG may write (see the header)
allowed_replay() {
	local dmg=$1 out=$3 bs rc=0
	: >"$out"
	needs_recovery "$dmg" || return 0
	bs=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["bs"])' "$2")
	cp "$dmg" "$T/ref.img"
	timeout 60 e2fsck -E journal_only -y "$T/ref.img" >/dev/null 2>&1 || true
	timeout 60 "$JBDLAB" logdump "$dmg" >"$T/logdump.out" 2>&1 || rc=$?
	if [ $rc -gt 128 ] || [ $rc = 124 ]; then
		cfail "jbdlab logdump of the damaged image: exit $rc (crash or hang): $(tail -n 3 "$T/logdump.out")"
	fi
	python3 "$H" replay_blocks "$dmg" "$T/ref.img" "$bs" "$T/logdump.out" "$out"
}

# check_silent META BEFORE AFTER LOG WHAT
check_silent() {
	local meta=$1 before=$2 after=$3 wlog=$4 what=$5 out line b
	allowed_replay "$before" "$meta" "$T/allowed"
	if ! out=$(python3 "$H" silent "$meta" "$before" "$after" "$wlog" "$T/allowed"); then
		while read -r b line; do
			cfail "$what: silent write: block $b $line: $(whatis "$before" "$b")"
		done <<<"$out"
	fi
}

# run_phase CMD WHAT DURING DAEMONLOG: the walker's CMD (walk -> walk.out,
# writephase -> write.out) against $MNT; a hang, a dead daemon or a failure
# of the walker is a failure of the case.
run_phase() {
	local cmd=$1 what=$2 during=$3 dlog=$4 rc=0 out
	out=$T/${cmd%phase}
	timeout -s KILL 60 python3 "$H" "$cmd" "$MNT" "$out.out" >"$out.stdout" 2>&1 || rc=$?
	if [ $rc = 137 ]; then
		cfail "$what hung (killed after 60 s)"
	elif [ $rc = 3 ]; then
		cfail "the daemon died during $during: $(grep DEAD "$out.stdout" || true); its last lines:
$(tail -n 8 "$dlog")"
	elif [ $rc != 0 ]; then
		cfail "$what failed (exit $rc): $(tail -n 3 "$out.stdout")"
	fi
}

run_case() {
	CK=$1
	local rc=0 eval_out lines msg
	CASE_FAILED=0
	DESC="?"
	eval_out=$(python3 "$H" mkcase "$SEED" "$CK" "$T/bases" "$BASES" "$T/case.img")
	eval "$eval_out"
	if [ -n "${2:-}" ] && [[ $DESC != *"$2"* ]]; then
		log "note: regression SEED=$SEED CASE=$CK was found on '$2', now hits '$DESC': the base images differ from the reporter's (e2fsprogs version?)"
	fi
	local meta=$T/bases/$BASE.json
	N_CASES=$((N_CASES + 1))
	cp "$T/case.img" "$T/damaged.img"
	rm -f "$T/wlog"
	start_daemon "$T/case.img" "noatime,write_log=$T/wlog" "$T/daemon.walk.log" || rc=$?
	case $rc in
	1)
		# the two progress lines of a replay are not part of the
		# refusal: the kernel logs the same ("recovery required",
		# "recovery complete") in ext4_load_journal before a later check
		# (jbd2's journal features, the root inode, ...) refuses
		grep -v -E '^jbdlab: .*: recovery (required|complete)' "$T/daemon.walk.log" >"$T/refusal.err" || true
		lines=$(grep -c . "$T/refusal.err" || true)
		msg=$(head -n 1 "$T/refusal.err")
		if [ "$DRC" = 0 ]; then
			cfail "jbdlab mount exited 0 without mounting"
		elif [ "$DRC" = 134 ] && [ "$(sb_errors "$T/damaged.img")" = 3 ] && grep -q 'panic forced after error' "$T/daemon.walk.log"; then
			log "case $CK: errors=panic in the superblock: the mount aborted (SIGABRT) after an fs error, as the kernel panics"
			N_PANIC=$((N_PANIC + 1))
		elif [ "$DRC" -gt 128 ]; then
			cfail "jbdlab mount killed by signal $((DRC - 128)): $(tail -n 5 "$T/daemon.walk.log")"
		elif [ "$lines" = 0 ]; then
			cfail "refused (exit $DRC) with no message on stderr"
		else
			# counted as a refusal (its last line as the message) even
			# when it takes more than one line, which fails the case
			N_REFUSED=$((N_REFUSED + 1))
			msg=$(tail -n 1 "$T/refusal.err")
			log "case $CK: $DESC: refused: $msg"
			sed -e "s|$T/case.img|IMG|g" -e 's/case\.img/IMG/g' -e 's/[0-9][0-9]*/N/g' <<<"$msg" >>"$T/refusals"
			if [ "$lines" != 1 ]; then
				cfail "refused (exit $DRC) with $lines lines on stderr (besides replay progress), want exactly one:
$(head -n 6 "$T/daemon.walk.log")"
				N_MULTILINE=$((N_MULTILINE + 1))
			fi
		fi
		if is_mounted "$MNT"; then
			cfail "a mount was left behind after the refusal"
			force_umount "$MNT"
		fi
		if ! cmp -s "$T/damaged.img" "$T/case.img"; then
			# the kernel replays the journal (jbd2_journal_load in
			# ext4_load_journal) before the checks that may refuse
			# later (the root inode, ...), so a refused image that
			# needed recovery may keep the replay: the same rule as
			# for a mounted one then; otherwise not one byte may change
			if needs_recovery "$T/damaged.img"; then
				check_silent "$meta" "$T/damaged.img" "$T/case.img" "$T/wlog" "refused mount"
			else
				cfail "refused, but the image was modified: $(cmp "$T/damaged.img" "$T/case.img" 2>&1 | head -n 1 || true)"
			fi
		fi
		;;
	2) cfail "jbdlab mount hung: neither mounted nor exited within 60 s (killed)";;
	3) cfail "the daemon exited (status $DRC) but left the mount behind";;
	0)
		N_MOUNTED=$((N_MOUNTED + 1))
		run_phase walk "the read-only walk" "the walk" "$T/daemon.walk.log"
		local ws
		ws=$(head -n 1 "$T/walk.out" 2>/dev/null || true)
		if [ -n "$ws" ]; then
			# shellcheck disable=SC2086  # split into its fields
			set -- $ws
			N_OPS=$((N_OPS + ${1#ops=}))
			N_ERRS=$((N_ERRS + ${2#errors=}))
			shift 2
			[ $# = 0 ] || printf '%s\n' "$@" >>"$T/errnos"
		fi
		stop_daemon "$T/daemon.walk.log" "$T/damaged.img" "read-only walk" || true
		local nerr
		nerr=$(grep -c . "$T/daemon.walk.log" || true)
		log "case $CK: $DESC: mounted; walk: ${ws:-?}; $nerr line(s) from the daemon"
		check_silent "$meta" "$T/damaged.img" "$T/case.img" "$T/wlog" "read-only walk (noatime)"
		# the write phase, on a fresh copy of the damaged image
		cp "$T/damaged.img" "$T/case.img"
		rc=0
		start_daemon "$T/case.img" "noatime" "$T/daemon.write.log" || rc=$?
		if [ $rc = 1 ]; then
			if [ "$DRC" = 134 ] && [ "$(sb_errors "$T/damaged.img")" = 3 ] && grep -q 'panic forced after error' "$T/daemon.write.log"; then
				N_PANIC=$((N_PANIC + 1))
			else
				cfail "write phase: the second mount of the same image failed (exit $DRC): $(tail -n 2 "$T/daemon.write.log")"
			fi
		elif [ $rc != 0 ]; then
			cfail "write phase: the second mount hung or left a mount behind (rc $rc)"
		else
			run_phase writephase "write phase" "the write phase" "$T/daemon.write.log"
			ws=$(head -n 1 "$T/write.out" 2>/dev/null || true)
			if [ -n "$ws" ]; then
				# shellcheck disable=SC2086  # split into its fields
			set -- $ws
				N_WOPS=$((N_WOPS + ${1#ops=}))
				N_WERRS=$((N_WERRS + ${2#errors=}))
			fi
			stop_daemon "$T/daemon.write.log" "$T/damaged.img" "write phase" || true
			local frc=0 fv
			timeout 120 e2fsck -fn "$T/case.img" >"$T/fsck.out" 2>&1 || frc=$?
			if [ $frc = 0 ]; then
				N_FSCK_CLEAN=$((N_FSCK_CLEAN + 1)); fv="clean"
			else
				N_FSCK_DIRTY=$((N_FSCK_DIRTY + 1))
				fv="exit $frc: $(grep -v -m 1 -e '^Pass' -e '^e2fsck' -e 'could be shorter' -e 'Optimize' -e '^$' "$T/fsck.out" || true)"
			fi
			log "case $CK: write phase: ${ws:-?}; e2fsck -fn after it: $fv"
		fi
		;;
	esac
	if [ $CASE_FAILED = 1 ]; then
		N_FAILED_CASES=$((N_FAILED_CASES + 1))
		FAILED_CASES+=("SEED=$SEED CASE=$CK")
		if [ -n "${HOSTILE_KEEP:-}" ]; then
			mkdir -p "$HOSTILE_KEEP"
			cp "$T/damaged.img" "$HOSTILE_KEEP/seed$SEED-case$CK.img"
		fi
	fi
	return 0
}

log "SEED=$SEED, $([ -n "$CASE" ] && echo "case $CASE only" || echo "$CASES cases") (replay one: SEED=$SEED CASE=K $0)"
t0=$SECONDS
if [ -n "$CASE" ]; then
	run_case "$CASE"
else
	for ((k = 0; k < CASES; k++)); do
		run_case "$k"
	done
	for r in "${REGRESSIONS[@]}"; do
		SAVED_SEED=$SEED
		IFS=: read -r SEED rk rwhat <<<"$r"
		log "regression SEED=$SEED CASE=$rk (a known bug: fails until fixed)"
		run_case "$rk" "$rwhat"
		SEED=$SAVED_SEED
	done
fi

log "summary (seed $SEED, $((SECONDS - t0)) s): $N_CASES cases, $N_REFUSED refused ($N_MULTILINE of them in more than one line), $N_MOUNTED mounted, $N_PANIC errors=panic aborts, $N_FAILED_CASES failed"
if [ -s "$T/refusals" ]; then
	log "refusal messages (numbers as N):"
	sort "$T/refusals" | uniq -c | sort -rn | sed "s/^/$TEST_NAME:   /"
fi
log "read-only walks: $N_OPS ops, $N_ERRS served with an error$(awk -F: '{ s[$1] += $2 } END { for (k in s) printf " %s:%d", k, s[k] }' "$T/errnos")"
log "write phases: $N_WOPS ops, $N_WERRS with an error; e2fsck -fn after them: $N_FSCK_CLEAN clean, $N_FSCK_DIRTY not clean (not asserted)"
if [ ${#FAILED_CASES[@]} -gt 0 ]; then
	log "failed cases (replay each with: SEED=N CASE=K $0):"
	printf "$TEST_NAME:   %s\n" "${FAILED_CASES[@]}"
fi
