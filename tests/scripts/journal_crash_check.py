#!/usr/bin/env python3
# journal_crash_check.py - the fsync-integrity check of the crash tests.
#
#   journal_crash_check.py expected RECORDS [--lines N] [--upto L]
#       print "PATH SHA256" for every file whose content a crash state must
#       hold (see expected())
#   journal_crash_check.py dir RECORDS ROOT [--lines N] [--upto L]
#       check them in a mounted directory tree (e.g. a kernel loop mount)
#   journal_crash_check.py img RECORDS IMAGE [--lines N] [--upto L]
#       check them in an unmounted image, read with debugfs (one run)
#
# Prints "checked K files" and one line per bad file; exit 1 if any is bad.
# RECORDS is written by journal_crash_workload.py.  --lines N: only the
# first N complete lines count (the record as it was when a snapshot was
# taken); --upto L: the crash state is a write-log prefix of L entries.
import hashlib
import os
import subprocess
import sys
import tempfile


def read_records(path, lines=None):
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for raw in data.split(b"\n")[:-1]:  # a partial last line does not count
        if lines is not None and len(out) >= lines:
            break
        out.append(raw.decode().split())
    return out


def expected(records, upto=None):
    """{path: sha256} of the files a crash state must hold.

    Without upto (a state taken after every recorded event: a kill, or a
    snapshot of a stopped daemon): the last event of the path must be an F.
    With upto=L (a write-log prefix of L entries): an F counts if its count
    is <= L (its fsync's flush is in the prefix); a T only if its count is
    < L (the change's writes may be in the prefix; with count >= L they all
    come after it).  A T with an unknown count (-1) always counts.
    """
    state = {}
    for r in records:
        if r[0] == "F":
            path, sha, cnt = r[1], r[2], int(r[3])
            if upto is None or (0 <= cnt <= upto):
                state[path] = sha
        elif r[0] == "T":
            path, cnt = r[1], int(r[2])
            if upto is None or cnt < 0 or cnt < upto:
                state[path] = None
    return {p: s for p, s in state.items() if s is not None}


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_dir(exp, root):
    bad = []
    for p, sha in sorted(exp.items()):
        fp = os.path.join(root, p)
        try:
            got = sha_file(fp)
        except OSError as e:
            bad.append(f"{p}: {e.strerror}")
            continue
        if got != sha:
            bad.append(f"{p}: content differs (size {os.path.getsize(fp)})")
    return bad


def check_img(exp, img):
    bad = []
    if not exp:
        return bad
    with tempfile.TemporaryDirectory(prefix="crashchk.") as d:
        items = sorted(exp.items())
        cmds = os.path.join(d, "cmds")
        with open(cmds, "w") as f:
            for i, (p, _) in enumerate(items):
                f.write(f"dump /{p} {d}/{i}\n")
        # -c: do not read the bitmaps (a state with a bad bitmap checksum
        # must still show its files; e2fsck judges the bitmaps)
        r = subprocess.run(["debugfs", "-c", "-f", cmds, img], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        for i, (p, sha) in enumerate(items):
            out = f"{d}/{i}"
            if not os.path.exists(out):
                bad.append(f"{p}: missing (debugfs dump failed)")
                continue
            if sha_file(out) != sha:
                bad.append(f"{p}: content differs (size {os.path.getsize(out)})")
        if bad and r.stderr:
            msgs = [l for l in r.stderr.splitlines()
                    if not l.startswith("debugfs ") and "catastrophic mode" not in l]
            if msgs:
                bad[-1] += " [debugfs: " + " / ".join(msgs[:3]) + "]"
    return bad


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["expected", "dir", "img"])
    ap.add_argument("records")
    ap.add_argument("target", nargs="?")
    ap.add_argument("--lines", type=int, default=None)
    ap.add_argument("--upto", type=int, default=None)
    a = ap.parse_args(argv)
    exp = expected(read_records(a.records, a.lines), a.upto)
    if a.mode == "expected":
        for p, s in sorted(exp.items()):
            print(p, s)
        return 0
    bad = check_dir(exp, a.target) if a.mode == "dir" else check_img(exp, a.target)
    print(f"checked {len(exp)} fsynced files, {len(bad)} bad")
    for b in bad[:20]:
        print("  BAD " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
