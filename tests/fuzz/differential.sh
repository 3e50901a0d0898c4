#!/usr/bin/env bash
# differential.sh [JBDLAB] [OPTIONS] [INPUT|DIR...]
#
# The differential mode of the journal-replay fuzz target (src/fuzz/jfz.h):
# every input is turned into the image it stands for (`jbdlab fuzz image`),
# and four copies of that image are recovered by four replayers:
#   A  jbdlab replay --no-orphans          (private buffers, log order)
#   P  jbdlab replay --no-orphans --page-cache
#   B  e2fsck -E journal_only -y           (no -f: with -f, check_if_skip()
#                                           returns before its journal_only
#                                           exit and a full check runs)
#   C  debugfs -w -R jr                    (same recovery.c, no fsck after)
# (the template has no orphans, so --no-orphans is what jr and journal_only
# do).  Then, per input:
#   blocks   A against each reference, block for block (only the bytes of
#            the original image: a replayer that writes past the fs end is
#            reported with those blocks, found with SEEK_DATA), except the
#            ext4 superblock and the journal superblock (journal block 0 of
#            the template), which are compared field by field: the ext4
#            superblock without s_mtime/s_wtime/s_mnt_count/s_lastcheck (and
#            _hi bytes), s_kbytes_written, s_checksum (and, with e2fsck, the
#            free counts check_super_block() always recomputes); the journal
#            superblock without s_checksum, and s_sequence only against e2fsck
#            when e2fsck and debugfs agree on it (or against debugfs when
#            e2fsck's journal is fsck's).  The rest of the superblock's block
#            (boot sector) is compared too.  P must equal A (same fields).
#   refusal  a replayer "failed" when it says so: jbdlab exit 1; e2fsck
#            "Journal checksum error found", "Journal corrupted", "... while
#            recovering journal" (its exit status stays 0: journal_only
#            leaves through check_if_skip()'s skip label); debugfs a
#            "journal_run:" error (it exits 0 regardless) -- except an
#            EXT2_ET_* journal error after a replay that wrote blocks, which
#            comes from ext2fs_run_ext3_journal()'s ext2fs_check_ext3_journal()
#            on the reopened fs and hides the recovery's own verdict: unknown
#            ("?").  It "wrote" when a block but the two superblocks changed.
#            Failed and wrote must be the same for A and each reference.
# e2fsck's image is a reference only while e2fsck did nothing but recover
# (exit 0, no output but its recovery's messages and recovery.c's "JBD2:"
# lines); when it did more (an e2fsck_check_ext3_journal() prompt, a full
# check after the replay destroyed the journal inode, ...) the line says
# "fsck-acted" and its blocks are not compared, only its refusal verdict
# when the recovery ran ("recovering journal").
#
# Each input gets one line: "agree", "allowed [ids]" (every difference is
# explained by an entry of the allow-list below, which says why jbdlab
# differs on purpose) or "DIFFER", with the blocks (number and what they
# are: superblock, gdt, bitmaps, inode table with its inodes, journal block
# N, data) and the superblock fields.  Then a summary; exit 1 on any DIFFER
# (which includes a replayer crash, hang or unknown exit status).
#
# Options:
#   --corpus        also build the seed corpus into the temp dir:
#                   tests/fuzz/mkcorpus.py over $SHARED_DIR/data/e2fsprogs-j
#                   and over `mkjournal-cases DIR $MKSEED` (default 1) images
#                   (skip, exit 77, when ../shared lacks them, unless
#                   JBDLAB_REQUIRE_SHARED=1)
#   --mutants N     add N fuzzer-style mutants of the inputs: random byte
#                   flips and word overwrites, then `jbdlab fuzz fixup
#                   --seed K` (70%), `--sb-only` (15%) or nothing (15%)
#   --seed S        the mutants' seed (default: random, always printed)
#   --save DIR      copy every differing input (and mutant) to DIR
#   --jobs N        parallel inputs (default: nproc)
#   -v              details (tool outputs) for differing inputs
# Reproduce a mutant run: the same --corpus/inputs, --mutants N --seed S.
source "$(dirname "$0")/../scripts/lib.sh"

CORPUS=0 MUTANTS=0 SEED="" SAVE="" JOBS=$(nproc) VERBOSE=0
INPUTS=()
set -- "${ARGS[@]}"
while [ $# -gt 0 ]; do
	case $1 in
	--corpus) CORPUS=1 ;;
	--mutants) MUTANTS=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--save) SAVE=$2; shift ;;
	--jobs) JOBS=$2; shift ;;
	-v) VERBOSE=1 ;;
	-h | --help) sed -n '2,/^source/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) INPUTS+=("$1") ;;
	esac
	shift
done
[ -x "$JBDLAB" ] || die "jbdlab binary not found: $JBDLAB"
[[ $("$JBDLAB" fuzz 2>&1 || true) == *"fuzz image"* ]] || die "$JBDLAB has no 'fuzz' command"
for tool in e2fsck debugfs dumpe2fs python3; do
	command -v "$tool" >/dev/null || die "missing tool $tool (./run installs e2fsprogs)"
done
if [ "$CORPUS" = 1 ]; then
	require_shared data/e2fsprogs-j tools/mkjournal-cases
fi
[ "$CORPUS" = 1 ] || [ ${#INPUTS[@]} -gt 0 ] || die "no inputs (give files, directories or --corpus)"
[ -n "$SEED" ] || SEED=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
setup_tmp

if [ "$CORPUS" = 1 ]; then
	MKSEED=${MKSEED:-1}
	python3 "$(dirname "$0")/mkcorpus.py" "$JBDLAB" "$T/corpus/e2fsprogs-j" \
		"$SHARED_DIR/data/e2fsprogs-j" >"$T/mkcorpus.log" 2>&1 ||
		die "mkcorpus.py e2fsprogs-j failed: $(tail -n 3 "$T/mkcorpus.log")"
	bash "$SHARED_DIR/tools/mkjournal-cases" "$T/mkcases" "$MKSEED" >/dev/null 2>"$T/mkcases.log" ||
		die "mkjournal-cases failed: $(tail -n 3 "$T/mkcases.log")"
	python3 "$(dirname "$0")/mkcorpus.py" "$JBDLAB" "$T/corpus/mkjournal-cases" \
		"$T/mkcases" >>"$T/mkcorpus.log" 2>&1 ||
		die "mkcorpus.py mkjournal-cases failed: $(tail -n 3 "$T/mkcorpus.log")"
	rm -rf "$T/mkcases"
	log "corpus: $(grep -c ': cfg 0x' "$T/mkcorpus.log") inputs (e2fsprogs-j, mkjournal-cases seed $MKSEED)"
	INPUTS+=("$T/corpus/e2fsprogs-j" "$T/corpus/mkjournal-cases")
fi
[ "$MUTANTS" -gt 0 ] && log "mutants: $MUTANTS, seed $SEED"

# the per-input images (5 x up to 16 MiB each) in memory when possible
W=$T/work
if [ -d /dev/shm ] && [ -w /dev/shm ] && W=$(mktemp -d /dev/shm/jbdlab-differential.XXXXXX 2>/dev/null); then
	_HOOKS+=("rm -rf '$W'")
else
	W=$T/work
fi
rc=0
python3 - "$JBDLAB" "$W" "$MUTANTS" "$SEED" "$JOBS" "$VERBOSE" "$SAVE" "${INPUTS[@]}" <<'PYEOF' || rc=$?
import concurrent.futures as cf
import os
import random
import re
import shutil
import struct
import subprocess
import sys

JBDLAB, T, NMUT, SEED, JOBS, VERBOSE, SAVE = sys.argv[1:8]
NMUT, SEED, JOBS, VERBOSE = int(NMUT), int(SEED), max(1, int(JOBS)), VERBOSE == "1"
INPUTS = sys.argv[8:]
TIMEOUT = 120

# ---------------------------------------------------------------------------
# The allow-list: differences jbdlab makes on purpose.  Each entry names a
# precise class of inputs ("when", a predicate over the comparison) and the
# differences it explains: superblock notes ("notes", a regex) and blocks
# ("blocks", a function of the comparison).  An input is "allowed" when
# every difference it shows is explained by an entry whose "when" holds;
# anything else is a DIFFER (exit 1).
# ---------------------------------------------------------------------------
def refs(r):
    """the references compared block for block: e2fsck when it only recovered, debugfs"""
    e = r["res"]["e2fsck"]
    return ([e] if e.pure else []) + [r["res"]["debugfs"]]


def refs_failed(r):
    """every reference whose verdict is known failed, and at least one did"""
    v = [x.failed for x in (r["res"]["e2fsck"], r["res"]["debugfs"]) if x.failed is not None]
    return bool(v) and all(v)


def jbdlab_refused(r, pat):
    """jbdlab failed before recovery, wrote nothing at all, and said pat"""
    a = r["res"]["jbdlab"]
    return a.failed and r["a_untouched"] and re.search(pat, a.out)


def valid_bit_only(r, bits=1):
    """the ext4 s_state differs from each reference at most in EXT2_VALID_FS
    (jbdlab cleared it: a failed recovery needs a full fsck) -- and, with
    bits=3, in EXT2_ERROR_FS (a recovery that "succeeded" marks the fs for
    the journal's s_errno or a corrupt commit, a failed one does not:
    e2fsck's recover_ext3_journal())"""
    return all((r["state"]["jbdlab"] ^ r["state"][x.tool]) & ~bits == 0 and r["state"]["jbdlab"] & 1 == 0
               for x in refs(r))


def beyond(r):
    """the block numbers jbdlab refused as past the device, and where
    e2fsprogs' unix_io puts them: offset = block * blocksize in 64 bits"""
    bs = r["lay"].bs
    ns = [int(x) for x in re.findall(r"block (\d+) in log is beyond the device", r["res"]["jbdlab"].out)]
    return {(n * bs % (1 << 64)) // bs for n in ns}


# jbd2_journal_check_superblock() / jbd2_journal_init_recovery() refusals
JSB_REFUSAL = (r"journal superblock has a bad magic|journal superblock checksum does not match|"
               r"journal block 0 is a log block|journal has unknown|journal checksum type|"
               r"journal block size|journal too short|journal s_first|incorrect fast commit|"
               r"journal is shared|unknown journal superblock version|"
               r"both csum v|no usable superblock|beyond the device \(|cannot read the journal superblock|"
               r"journal s_start \d+ outside the log")
NOTHING = lambda r: set()

ALLOW = [
    {"id": "failed-recovery-sequence",
     "why": "after a FAILED recovery jbdlab resets the log with s_sequence = the "
            "failed tid + 1, as the kernel's jbd2_journal_recover() sets "
            "j_transaction_sequence ('Restart the log at the next transaction ID, "
            "thus invalidating any existing commit records'; "
            "jbd2_journal_reset_after_recovery()); e2fsck's and debugfs' "
            "recover_ext3_journal() jump to errout past 'j_tail_sequence = "
            "j_transaction_sequence', so *_journal_release(reset=1) writes the "
            "input's s_sequence back.",
     "when": lambda r: (r["res"]["jbdlab"].failed and refs_failed(r) and
                        r["seq"]["jbdlab"] != r["seq"]["orig"] and
                        all(r["seq"][x.tool] == r["seq"]["orig"] for x in refs(r))),
     "notes": r"jsb s_sequence ", "blocks": NOTHING},
    {"id": "jsb-refused-untouched",
     "why": "jbdlab refuses a journal superblock it cannot validate "
            "(jbd2_journal_check_superblock(): magic, checksum, features, geometry) "
            "and writes nothing at all, as the kernel's journal_load_superblock() -> "
            "journal_check_superblock() failure fails the mount and leaves the disk "
            "alone; e2fsprogs' recover_ext3_journal() goes to errout when "
            "e2fsck_journal_load()/ext2fs_journal_load() fails, and still resets the "
            "log it rejected (*_journal_release(reset=1): s_start 0) and clears "
            "needs_recovery and VALID_FS (*_clear_recover(error)).  Nobody replays.  "
            "(An s_start at or past s_maxlen: the kernel fails in do_one_pass()'s "
            "jread() -> jbd2_journal_bmap(), e2fsprogs too, before any write.)",
     "when": lambda r: (jbdlab_refused(r, JSB_REFUSAL) and refs_failed(r) and
                        not any(x.wrote or x.beyond for x in refs(r))),
     "notes": r"(sb s_state|sb s_feature_incompat|jsb s_start|jsb s_sequence|jsb s_errno)",
     "blocks": NOTHING},
    {"id": "block-beyond-device",
     "why": "a tag names a block past the end of the filesystem: jbdlab skips it "
            "and fails the recovery (-EFSCORRUPTED, fs marked for fsck, every other "
            "block replayed: recovery.c do_one_pass()), as the kernel's recovery "
            "ends in an I/O error there (the buffer's bio lies past the bdev's end, "
            "or __getblk() gives no buffer: 'JBD2: Out of memory during recovery', "
            "-ENOMEM); e2fsprogs' do_one_pass() has no bound, its unix_io writes at "
            "block * blocksize -- past the end of the image file, which grows, or, "
            "when a 64-bit block number's product overflows 64 bits, over block "
            "(N * bs mod 2^64) / bs inside the fs -- and reports success.",
     "when": lambda r: (r["res"]["jbdlab"].failed and beyond(r) and not r["res"]["jbdlab"].beyond and
                        all(set(x.beyond) <= beyond(r) for x in refs(r)) and valid_bit_only(r, 3)),
     "notes": r"(past the fs end|sb s_state|refusal: jbdlab failed, \w+ did not fail|jsb s_sequence|"
              r"replay: jbdlab wrote)",
     "blocks": beyond},
    {"id": "journal-errno-kept",
     "why": "the journal superblock recorded an error (s_errno): both sides set "
            "EXT2_ERROR_FS in the ext4 superblock, but jbdlab's replay keeps "
            "s_errno (src/fs/replay.c step 3, 's_errno kept': the kernel's "
            "jbd2_journal_recover() + journal_reset() keep it too, and "
            "ext4_clear_journal_err() -- jfs_journal_load() in src/fs/journal.c -- "
            "clears it at the next mount), while e2fsck_check_ext3_journal() and "
            "debugfs' ext2fs_check_ext3_journal(), run right after the replay, "
            "clear it at once.",
     "when": lambda r: (r["errno"]["jbdlab"] == r["errno"]["orig"] != 0 and
                        all(r["errno"][x.tool] == 0 for x in refs(r))),
     "notes": r"jsb s_errno ", "blocks": NOTHING},
    {"id": "jsb-s_first-range",
     "why": "a journal superblock whose s_first is 0 or not below s_maxlen: jbdlab "
            "refuses it (jbd2_journal_check_superblock()) as the kernel's "
            "journal_check_superblock() does ('JBD2: Invalid start block of "
            "journal', the mount fails, nothing is written); e2fsck_journal_load() "
            "and debugfs' ext2fs_journal_load() copy s_first into j_first "
            "unchecked, and their do_one_pass() replays the log from s_start "
            "(wrap() never triggers below s_maxlen).",
     "when": lambda r: jbdlab_refused(r, r"journal s_first \d+ out of range"),
     "notes": r"(sb s_feature_incompat|sb s_state|jsb s_start|jsb s_sequence|jsb s_errno|"
              r"refusal: jbdlab failed, \w+ did not fail|replay: jbdlab wrote 0|past the fs end)",
     "blocks": lambda r: set().union(*[set(x.wrote) for x in refs(r)])},
    {"id": "jsb-v2-fields-kept",
     "why": "a v1 journal superblock with its v2 fields set, or an internal "
            "journal with s_nr_users > 1: the kernel ignores both (every "
            "jbd2_has_feature_*() tests j_format_version >= 2; s_nr_users is "
            "checked only for an external journal, ext4_get_dev_journal()) and "
            "recovers with the superblock as it is -- jbdlab does the same, and "
            "a feature it keeps (a checksum version, 64bit tags) can fail a log "
            "the other tools accept; e2fsck_journal_load() and debugfs' "
            "ext2fs_journal_load() run clear_v2_journal_fields() instead, zeroing "
            "everything from s_feature_compat on (features, uuid, checksum "
            "type), then recover under the plain v1 format and write that back: "
            "the two replay different logs, so any block either writes differs "
            "(the ext4 superblock's too, when one of them replays over it).",
     "when": lambda r: r["jsb_v1"] or r["jsb_users"] > 1,
     "notes": r"(jsb s_feature_\*|jsb byte 0x|jsb s_checksum_type|jsb s_nr_users|jsb s_sequence|"
              r"jsb s_start|sb |refusal: jbdlab failed, \w+ did not fail|"
              r"replay: jbdlab wrote|past the fs end)",
     "blocks": lambda r: set(r["res"]["jbdlab"].wrote).union({r["lay"].sb_block},
                                                             *[set(x.wrote) for x in refs(r)])},
    {"id": "log-replaced-superblock",
     "why": "the log replays a block over the ext4 superblock that is no "
            "superblock (s_magic gone): jbdlab, like the kernel's "
            "ext4_mark_recovery_complete() after the replay, re-reads the "
            "superblock block as the log left it and clears needs_recovery in "
            "it; e2fsprogs cannot reopen the filesystem after its replay ('Bad "
            "magic number in super-block while trying to re-open' / "
            "'journal_run: Bad magic number'), so it leaves that block exactly "
            "as replayed.  Either way the fs needs a full fsck from a backup "
            "superblock.",
     "when": lambda r: any("Bad magic number in super-block" in x.out for x in refs(r)),
     "notes": r"sb ",
     "blocks": lambda r: {r["lay"].sb_block}},
    {"id": "fast-commit-geometry",
     "why": "a fast-commit journal whose fc area leaves fewer than "
            "JBD2_MIN_JOURNAL_BLOCKS log blocks (the template's 1024-block journal): "
            "jbdlab refuses it like e2fsck's e2fsck_journal_load() ('incorrect fast "
            "commit blocks'; e2fsck then rebuilds the journal in a full check) and "
            "the kernel's journal_check_superblock() ('journal file too short'); "
            "debugfs 1.47's ext2fs_journal_load() (debugfs/journal.c) knows no fast "
            "commits, finds an empty log and resets it.  Nobody replays.",
     "when": lambda r: (jbdlab_refused(r, r"incorrect fast commit blocks") and
                        "incorrect fast commit blocks" in r["res"]["e2fsck"].out and
                        not r["res"]["debugfs"].wrote),
     "notes": r"(sb s_state|sb s_feature_incompat|jsb s_start|jsb s_sequence|"
              r"refusal: jbdlab failed, debugfs did not fail)",
     "blocks": NOTHING},
]


def allowed(r):
    """the ids of the entries that explain every difference, or None"""
    live = [e for e in ALLOW if e["when"](r)]
    used = set()
    for blocks, notes in r["diffs"].values():
        for n in notes:
            e = next((e for e in live if re.match(e["notes"], n)), None)
            if e is None:
                return None
            used.add(e["id"])
        for b in blocks:
            e = next((e for e in live if b in e["blocks"](r)), None)
            if e is None:
                return None
            used.add(e["id"])
    return sorted(used)

ORIG_SIZE, ORIG_BS = {}, {}   # per result image path: the original's size, block size


def run(cmd, cwd=None):
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT, cwd=cwd)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return "timeout", out


# ---- template layout (one per configuration byte) -------------------------
LAYOUTS = {}


class Layout:
    def __init__(self, img):
        out = run(["dumpe2fs", img])[1]
        self.bs = int(re.search(r"^Block size:\s+(\d+)", out, re.M).group(1))
        self.ipg = int(re.search(r"^Inodes per group:\s+(\d+)", out, re.M).group(1))
        self.isz = int(re.search(r"^Inode size:\s+(\d+)", out, re.M).group(1))
        self.what = {}
        g = -1
        for line in out.splitlines():
            m = re.match(r"Group (\d+):", line)
            if m:
                g = int(m.group(1))
            for key, name in (("Primary superblock at", "superblock"),
                              ("Backup superblock at", "backup-sb"),
                              ("Group descriptors at", "gdt"),
                              ("Reserved GDT blocks at", "rsv-gdt"),
                              ("Block bitmap at", "block-bitmap[%d]"),
                              ("Inode bitmap at", "inode-bitmap[%d]"),
                              ("Inode table at", "inode-table[%d]")):
                m = re.search(key + r" (\d+)(?:-(\d+))?", line)
                if not m:
                    continue
                lo = int(m.group(1))
                hi = int(m.group(2) or lo)
                for b in range(lo, hi + 1):
                    n = name % g if "%d" in name else name
                    if name.startswith("inode-table"):
                        per = self.bs // self.isz
                        first = g * self.ipg + (b - lo) * per + 1
                        n += " inodes %d-%d" % (first, first + per - 1)
                    self.what.setdefault(b, n)
        jb = run(["debugfs", "-R", "blocks <8>", img])[1].split()
        self.jblocks = [int(x) for x in jb if x.isdigit()]
        for i, b in enumerate(self.jblocks):
            self.what.setdefault(b, "journal[%d]" % i)
        self.sb_block = 1024 // self.bs          # holds bytes 1024..2047
        self.sb_off = 1024 % self.bs
        self.jsb_block = self.jblocks[0]

    def name(self, b):
        return "%d(%s)" % (b, self.what.get(b, "data"))


# ---- superblock fields ----------------------------------------------------
# (offset, size, name) of the ext4 superblock fields a replay may write
# differently: times, counts, checksum.
EXT4_VOLATILE = [(0x2C, 4, "s_mtime"), (0x30, 4, "s_wtime"), (0x34, 2, "s_mnt_count"),
                 (0x40, 4, "s_lastcheck"), (0x178, 8, "s_kbytes_written"),
                 (0x274, 1, "s_wtime_hi"), (0x275, 1, "s_mtime_hi"),
                 (0x277, 1, "s_lastcheck_hi"), (0x3FC, 4, "s_checksum")]
# check_super_block() (e2fsck/super.c) sets these from the group descriptors
EXT4_FSCK_COUNTS = [(0x0C, 4, "s_free_blocks_count"), (0x158, 4, "s_free_blocks_count_hi"),
                    (0x10, 4, "s_free_inodes_count")]
EXT4_NAMED = [(0x3A, 2, "s_state"), (0x5C, 4, "s_feature_compat"),
              (0x60, 4, "s_feature_incompat"), (0x64, 4, "s_feature_ro_compat"),
              (0xE8, 4, "s_last_orphan"), (0x194, 4, "s_error_count"),
              (0x198, 0x68, "s_first/last_error"), (0x38, 2, "s_magic")] + EXT4_FSCK_COUNTS
JSB_SEQ = (0x18, 4, "s_sequence")
JSB_VOLATILE = [(0xFC, 4, "s_checksum")]
JSB_NAMED = [(0x00, 12, "header"), (0x0C, 4, "s_blocksize"), (0x10, 4, "s_maxlen"),
             (0x14, 4, "s_first"), (0x1C, 4, "s_start"), (0x20, 4, "s_errno"),
             (0x24, 12, "s_feature_*"), (0x50, 1, "s_checksum_type")]


def masked(buf, fields):
    b = bytearray(buf)
    for off, size, _ in fields:
        b[off:off + size] = bytes(size)
    return bytes(b)


def field_diff(x, y, named):
    """names of the fields (or byte offsets) where x and y differ"""
    out, seen = [], set()
    for i in range(min(len(x), len(y))):
        if x[i] == y[i]:
            continue
        for off, size, name in named:
            if off <= i < off + size:
                if name not in seen:
                    seen.add(name)
                    if size <= 4:
                        fx = int.from_bytes(x[off:off + size], "little" if named is EXT4_NAMED else "big")
                        fy = int.from_bytes(y[off:off + size], "little" if named is EXT4_NAMED else "big")
                        out.append("%s 0x%x/0x%x" % (name, fx, fy))
                    else:
                        out.append(name)
                break
        else:
            n = "byte 0x%x" % i
            if n not in seen and len(out) < 12:
                seen.add(n)
                out.append(n)
    return out


# ---- one replayer's result ------------------------------------------------
class Result:
    def __init__(self, tool, rc, out, img):
        self.tool, self.rc, self.out = tool, rc, out
        # only the fs's own bytes: e2fsprogs' unix_io writes a replayed
        # block past the fs end where it is, and the image file grows
        self.size = os.path.getsize(img)
        with open(img, "rb") as f:
            self.img = f.read(ORIG_SIZE[img])
        self.beyond = []     # fs blocks with data past the original end
        if self.size > len(self.img):
            fd = os.open(img, os.O_RDONLY)
            try:
                off = len(self.img)
                while off < self.size and len(self.beyond) < 64:
                    try:
                        off = os.lseek(fd, off, os.SEEK_DATA)
                    except OSError:
                        break
                    end = os.lseek(fd, off, os.SEEK_HOLE)
                    bsz = ORIG_BS[img]
                    blks = range(off // bsz, min((end + bsz - 1) // bsz, off // bsz + 64))
                    # the extent is page-granular: name the blocks with data
                    # (an all-zero block: the last one, where the file ends)
                    nz = [b for b in blks if any(os.pread(fd, bsz, b * bsz))]
                    last = [b for b in blks if b == self.size // bsz - 1]
                    self.beyond.extend(nz or last or blks)
                    off = end
            finally:
                os.close(fd)
        self.failed = False
        self.crash = None        # a replayer misbehaved (never allowed)
        self.pure = True         # only recovered (e2fsck: no fsck action)
        self.wrote = []
        self.post_error = None   # debugfs: a journal check failed after the replay


E2FSCK_REPLAY_LINES = [r"^e2fsck \d", r": recovering journal$", r"^Journal checksum error found in ",
                       r"^Journal corrupted in ", r"while recovering journal of ",
                       r"^Journal transaction \d+ was corrupt, replay was aborted\.$", r"^$",
                       r"^JBD2: "]   # recovery.c's own printk()s
# jbd2_journal_recover()'s errors (-EFSBADCRC, -EFSCORRUPTED, -EINVAL,
# -EIO, -ENOMEM) as com_err prints them
DEBUGFS_RECOVERY_ERRNO = (r"^(Bad CRC detected in file system|File system is corrupted|Invalid argument|Input/output error|"
                          r"Cannot allocate memory|Structure needs cleaning)$")
E2FSCK_FAIL = re.compile(r"^(Journal checksum error found in |Journal corrupted in )|while recovering journal of ", re.M)


def diff_blocks(x, y, bs, skip=()):
    """the block numbers where images x and y differ (64 KiB chunks first)"""
    out = []
    if x == y:
        return out
    mx, my = x, y   # bytes: == is memcmp (a memoryview compares item by item)
    n = max(len(x), len(y))
    step = 64 << 10
    for c in range(0, n, step):
        if mx[c:c + step] == my[c:c + step]:
            continue
        for o in range(c, min(c + step, n), bs):
            if mx[o:o + bs] != my[o:o + bs] and o // bs not in skip:
                out.append(o // bs)
    return out


def classify(lay, orig, res):
    res.wrote = diff_blocks(orig, res.img, lay.bs, {lay.sb_block, lay.jsb_block})
    if res.tool.startswith("jbdlab"):
        if res.rc == "timeout":
            res.crash = "hung (%ds)" % TIMEOUT
        elif res.rc not in (0, 1):
            res.crash = "exit status %s" % res.rc
        res.failed = res.rc == 1
    elif res.tool == "e2fsck":
        if res.rc == "timeout":
            res.crash = "e2fsck hung"
        lines = res.out.splitlines()
        extra = [l for l in lines if not any(re.search(p, l) for p in E2FSCK_REPLAY_LINES)]
        res.pure = res.rc == 0 and not extra
        # its recovery's verdict is known whenever the recovery ran (it is
        # printed before any fsck action); unknown when e2fsck_check_ext3_
        # journal() dealt with the journal before (e.g. "Journal superblock
        # is corrupt.  Fix?")
        ran = re.search(r": recovering journal$", res.out, re.M)
        res.failed = bool(E2FSCK_FAIL.search(res.out)) if ran else None
        res.extra = extra
    else:
        if res.rc == "timeout":
            res.crash = "debugfs hung"
        m = re.search(r"^journal_run: (.*) while recovering journal", res.out, re.M)
        res.failed = bool(m) or "journal_run:" in res.out
        # ext2fs_run_ext3_journal() reopens the fs after recovery and runs
        # ext2fs_check_ext3_journal() again: when the replay wrote over the
        # journal inode, that check fails with an EXT2_ET_* journal error
        # (not one of jbd2_journal_recover()'s errnos), after a replay that
        # went through.  That is not a refusal.
        # That is not a refusal -- but that error also hides the recovery's
        # own (`retval ? retval : recover_retval`): the verdict is unknown.
        if (m and res.wrote and not re.search(DEBUGFS_RECOVERY_ERRNO, m.group(1))):
            res.failed = None
            res.post_error = m.group(1)


def sbs(lay, img):
    o = lay.sb_block * lay.bs + lay.sb_off
    ext4 = img[o:o + 1024]
    jsb = img[lay.jsb_block * lay.bs:lay.jsb_block * lay.bs + 1024]
    return ext4, jsb


def compare(lay, x, y, fsck_ref, cmp_seq):
    """differences of image x from reference y: (blocks, [sb field notes])"""
    bs = lay.bs
    skip = {lay.sb_block, lay.jsb_block}
    xi, yi = x.img, y.img
    blocks = []
    if xi != yi:
        blocks = diff_blocks(xi, yi, bs, skip)
        # the rest of the superblock's block (boot sector, 2-4 KiB blocks)
        sbb = lay.sb_block * bs
        rx = xi[sbb:sbb + lay.sb_off] + xi[sbb + lay.sb_off + 1024:sbb + bs]
        ry = yi[sbb:sbb + lay.sb_off] + yi[sbb + lay.sb_off + 1024:sbb + bs]
        if rx != ry:
            blocks.append(lay.sb_block)
    notes = []
    ex, jx = sbs(lay, xi)
    ey, jy = sbs(lay, yi)
    vol = EXT4_VOLATILE + (EXT4_FSCK_COUNTS if fsck_ref else [])
    if masked(ex, vol) != masked(ey, vol):
        notes += ["sb " + d for d in field_diff(masked(ex, vol), masked(ey, vol), EXT4_NAMED)]
    jvol = JSB_VOLATILE + ([] if cmp_seq else [JSB_SEQ])
    if masked(jx, jvol) != masked(jy, jvol):
        notes += ["jsb " + d for d in field_diff(masked(jx, jvol), masked(jy, jvol), JSB_NAMED + [JSB_SEQ])]
    return blocks, notes


def first_line(res, pat=None):
    for l in res.out.splitlines():
        if l.strip() and not re.match(r"^(e2fsck|debugfs) \d", l) and (pat is None or re.search(pat, l)):
            return l.strip()[:160]
    return ""


def one(job):
    try:
        return one_(job)
    except Exception as e:   # a comparer bug must not hide the other inputs
        return {"name": job[0], "path": job[1], "verdict": "DIFFER",
                "why": "differential.sh internal error: %s: %s" % (type(e).__name__, e)}
    finally:
        shutil.rmtree(job[2], ignore_errors=True)


def one_(job):
    name, path, work = job
    os.makedirs(work, exist_ok=True)
    o = os.path.join(work, "O.img")
    r = {"name": name, "path": path}
    rc, out = run([JBDLAB, "fuzz", "image", path, o])
    if rc != 0:
        r.update(verdict="DIFFER", why="jbdlab fuzz image failed (%s): %s" % (rc, out.strip()[:200]))
        return r
    data = open(path, "rb").read()
    cfg = (data[0] if data else 0) & 0x0F
    if (cfg & 3) == 3:
        cfg = (cfg & ~3) | 1  # 3 and 1 are both 2 KiB (jfz_cfg_blocksize)
    orig = open(o, "rb").read()
    lay = LAYOUTS.get(cfg)
    if lay is None:
        lay = LAYOUTS[cfg] = Layout(o)
    cmds = {"jbdlab": [JBDLAB, "replay", "--no-orphans"],
            "jbdlab-pc": [JBDLAB, "replay", "--no-orphans", "--page-cache"],
            "e2fsck": ["e2fsck", "-E", "journal_only", "-y"],
            "debugfs": ["debugfs", "-w", "-R", "jr"]}
    res = {}
    for tool, cmd in cmds.items():
        img = os.path.join(work, tool + ".img")
        with open(img, "wb") as f:
            f.write(orig)
        ORIG_SIZE[img], ORIG_BS[img] = len(orig), lay.bs
        rc, out = run(cmd + [img])
        res[tool] = Result(tool, rc, out, img)
        classify(lay, orig, res[tool])
        os.unlink(img)
    os.unlink(o)
    a, p, e, d = res["jbdlab"], res["jbdlab-pc"], res["e2fsck"], res["debugfs"]
    r.update(res=res, lay=lay, cfg=data[0] if data else 0, a_untouched=a.img == orig)
    seq = lambda img: struct.unpack_from(">I", img, lay.jsb_block * lay.bs + 0x18)[0]
    errno_ = lambda img: struct.unpack_from(">i", img, lay.jsb_block * lay.bs + 0x20)[0]
    r["errno"] = {"orig": errno_(orig), "jbdlab": errno_(a.img), "e2fsck": errno_(e.img), "debugfs": errno_(d.img)}
    st_ = lambda img: struct.unpack_from("<H", img, lay.sb_block * lay.bs + lay.sb_off + 0x3A)[0]
    r["state"] = {"jbdlab": st_(a.img), "e2fsck": st_(e.img), "debugfs": st_(d.img)}
    r["seq"] = {"orig": seq(orig), "jbdlab": seq(a.img), "e2fsck": seq(e.img), "debugfs": seq(d.img)}
    jsb0 = lay.jsb_block * lay.bs
    r["jsb_v1"] = struct.unpack_from(">I", orig, jsb0 + 4)[0] == 3          # JBD2_SUPERBLOCK_V1
    r["jsb_users"] = struct.unpack_from(">I", orig, jsb0 + 0x40)[0]         # s_nr_users
    problems = []   # (kind, text)
    for x in (a, p, e, d):
        if x.crash:
            problems.append(("crash", "%s %s: %s" % (x.tool, x.crash, x.out.strip()[-200:])))
    # page cache vs offline: identical
    pb, pn = compare(lay, p, a, False, True)
    if pb or pn or p.failed != a.failed:
        problems.append(("page-cache", "--page-cache differs from offline: blocks %s %s%s" % (
            " ".join(map(lay.name, pb[:10])), " ".join(pn),
            " failed %s/%s" % (p.failed, a.failed) if p.failed != a.failed else "")))
    # references
    _, je = sbs(lay, e.img)
    _, jd = sbs(lay, d.img)
    cmp_seq = e.pure and je[0x18:0x1C] == jd[0x18:0x1C]
    r["refs_split"] = None
    if e.pure:
        sb_, sn_ = compare(lay, e, d, True, False)
        if sb_ or sn_ or (e.failed != d.failed and None not in (e.failed, d.failed)):
            r["refs_split"] = (sb_, sn_, e.failed, d.failed)
    diffs = {}
    for ref in (e, d):
        blocks, notes = [], []
        full = ref.pure  # e2fsck's image is recovery's only when it did nothing else
        if full:
            # s_sequence: with e2fsck when both references agree on it,
            # with debugfs when e2fsck's journal is fsck's
            seq_ref = cmp_seq if ref.tool == "e2fsck" else not e.pure
            blocks, notes = compare(lay, a, ref, ref.tool == "e2fsck", seq_ref)
        if ref.failed is not None and a.failed != ref.failed:
            notes.append("refusal: jbdlab %s, %s %s" % ("failed" if a.failed else "did not fail",
                                                         ref.tool, "failed" if ref.failed else "did not fail"))
        if full and a.beyond != ref.beyond:
            notes.append("past the fs end: jbdlab wrote %s, %s %s" % (
                a.beyond[:8] or "nothing", ref.tool, ref.beyond[:8] or "nothing"))
        if full and bool(a.wrote) != bool(ref.wrote):
            notes.append("replay: jbdlab wrote %d blocks, %s %d" % (len(a.wrote), ref.tool, len(ref.wrote)))
        if blocks or notes:
            diffs[ref.tool] = (blocks, notes)
    r["diffs"] = diffs
    r["problems"] = problems
    state = lambda x: (("failed" if x.failed else "ok" if x.failed is not None else "?") + ("+wrote %d" % len(x.wrote) if x.wrote else "") +
                       ("+past-end %s" % ",".join(map(str, x.beyond[:4])) if x.beyond else ""))
    r["summary"] = "jbdlab %s; e2fsck %s%s; debugfs %s%s" % (
        state(a), state(e), "" if e.pure else " (fsck-acted, rc %s)" % e.rc, state(d),
        " (post-replay check: %s)" % d.post_error if d.post_error else "")
    if problems:
        r["verdict"] = "DIFFER"
        r["why"] = "; ".join(t for _, t in problems)
        return r
    if not diffs:
        r["verdict"] = "agree"
        return r
    ids = allowed(r)
    if ids:
        r["verdict"] = "allowed"
        r["allow"] = ",".join(ids)
        return r
    r["verdict"] = "DIFFER"
    parts = []
    for tool, (blocks, notes) in diffs.items():
        s = "vs %s:" % tool
        if blocks:
            s += " %d blocks %s%s" % (len(blocks), " ".join(map(lay.name, blocks[:8])),
                                      " ..." if len(blocks) > 8 else "")
        if notes:
            s += " " + ", ".join(notes)
        parts.append(s)
    if r["refs_split"]:
        sb_, sn_, ef, df = r["refs_split"]
        parts.append("(e2fsck and debugfs differ too: %d blocks %s)" % (len(sb_), " ".join(sn_)))
    r["why"] = "; ".join(parts)
    return r


# ---- inputs ---------------------------------------------------------------
def collect(args):
    out = []
    for a in args:
        if os.path.isdir(a):
            base = os.path.basename(os.path.normpath(a))
            for root, _, files in sorted(os.walk(a)):
                for f in sorted(files):
                    p = os.path.join(root, f)
                    out.append((base + "/" + os.path.relpath(p, a), p))
        elif os.path.isfile(a):
            out.append((os.path.basename(a), a))
        else:
            sys.exit("differential: no such input %s" % a)
    return out


INTERESTING = [0, 1, 2, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xC03B3998, 3, 4, 5, 8, 16,
               1023, 1024, 1025]


def mutate(rng, data, bs):
    d = bytearray(data)
    n = rng.randint(1, 8)
    for _ in range(n):
        if len(d) < 2:
            break
        # half the time near a block start (headers, tags), else anywhere
        if rng.random() < 0.5 and len(d) > 1 + 1024:
            nblk = (len(d) - 1 - 1024 + bs - 1) // bs
            base = 1 + 1024 + rng.randrange(nblk) * bs
            off = base + rng.randrange(min(64, len(d) - base))
        elif rng.random() < 0.5:
            off = 1 + rng.randrange(min(0x100, len(d) - 1))   # jsb's fields
        else:
            off = 1 + rng.randrange(len(d) - 1)
        op = rng.randrange(5)
        if op == 0:
            d[off] ^= 1 << rng.randrange(8)
        elif op == 1:
            d[off] = rng.randrange(256)
        elif op == 2 and off + 4 <= len(d):
            off &= ~3
            off += 1 if off == 0 else 0
            v = rng.choice(INTERESTING)
            if rng.random() < 0.3:
                v = (struct.unpack_from(">I", d, off)[0] + rng.choice((-1, 1, 2))) & 0xFFFFFFFF
            struct.pack_into(">I", d, min(off, len(d) - 4), v)
        elif op == 3 and len(d) > 1 + 1024 + 2 * bs:
            nblk = (len(d) - 1 - 1024) // bs
            s, t = rng.randrange(nblk), rng.randrange(nblk)
            src = d[1 + 1024 + s * bs:1 + 1024 + (s + 1) * bs]
            d[1 + 1024 + t * bs:1 + 1024 + (t + 1) * bs] = src
        else:
            d[off] = 0
    return bytes(d)


def make_mutants(seeds, n, seed, outdir):
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    out = []
    for i in range(n):
        sname, spath = seeds[rng.randrange(len(seeds))]
        data = open(spath, "rb").read()
        bs = (1024, 2048, 4096, 2048)[data[0] & 3] if data else 1024
        m = mutate(rng, data, bs)
        p = os.path.join(outdir, "mut-%d-%04d" % (seed, i))
        with open(p, "wb") as f:
            f.write(m)
        how = rng.random()
        if how < 0.70:
            k = rng.randrange(1, 1 << 30)
            subprocess.run([JBDLAB, "fuzz", "fixup", "--seed", str(k), p, p], check=True,
                           stdout=subprocess.DEVNULL)
            tag = "fixup %d" % k
        elif how < 0.85:
            subprocess.run([JBDLAB, "fuzz", "fixup", "--sb-only", p, p], check=True,
                           stdout=subprocess.DEVNULL)
            tag = "sb-only"
        else:
            tag = "raw"
        out.append(("mut-%d-%04d<%s,%s>" % (seed, i, os.path.basename(sname), tag), p))
    return out


inputs = collect(INPUTS)
if NMUT:
    if not inputs:
        sys.exit("differential: --mutants needs seed inputs")
    inputs += make_mutants(list(inputs), NMUT, SEED, os.path.join(T, "mutants"))

jobs = [(n, p, os.path.join(T, "w%d" % i)) for i, (n, p) in enumerate(inputs)]
counts = {"agree": 0, "allowed": 0, "DIFFER": 0}
allowed_ids = {}
with cf.ThreadPoolExecutor(max_workers=JOBS) as ex:
    for r in ex.map(one, jobs):
        v = r["verdict"]
        counts[v] += 1
        line = "%-7s %s: %s" % (v, r["name"], r.get("summary", ""))
        if v == "allowed":
            line += " [%s]" % r["allow"]
            for i in r["allow"].split(","):
                allowed_ids[i] = allowed_ids.get(i, 0) + 1
        if v == "DIFFER":
            line += "\n        " + r["why"]
            if VERBOSE and "res" in r:
                for t, x in r["res"].items():
                    line += "\n        %s rc %s: %s" % (t, x.rc, " | ".join(
                        l for l in x.out.splitlines() if l.strip())[:600])
            if SAVE:
                os.makedirs(SAVE, exist_ok=True)
                shutil.copy(r["path"], os.path.join(SAVE, re.sub(r"[^A-Za-z0-9._-]", "_", r["name"])))
        print(line, flush=True)

print("differential: %d inputs: %d agree, %d allowed, %d DIFFER%s" % (
    len(inputs), counts["agree"], counts["allowed"], counts["DIFFER"],
    "".join("; %s %d" % kv for kv in sorted(allowed_ids.items()))))
sys.exit(1 if counts["DIFFER"] else 0)
PYEOF
if [ "$rc" != 0 ]; then
	if [ "$MUTANTS" -gt 0 ]; then
		fail "differences found (mutant seed $SEED)"
	else
		fail "differences found"
	fi
fi
