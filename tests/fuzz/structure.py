#!/usr/bin/env python3
"""structure.py JBDLAB - the structure-aware mutator reaches the replay pass.

From each regression seed that replays blocks, makes MUTANTS (default 150)
seeded mutants: 1..8 random bytes changed in the log.  Runs them through the
target (`jbdlab fuzz run -v`) twice: as mutated, and after `jbdlab fuzz
fixup --seed S` (the fix-up the structure-aware fuzzer applies).  Fails if
any check breaks, or if the fixed-up mutants do not reach the replay pass
(a clean recovery: ret 0, blocks replayed) clearly more often than the raw
ones: by at least a fifth of the mutants more, and in at least half of them
-- a fix-up that recomputes nothing, or a checksum wrongly, fails here.  Also checks two exact cases:
one corrupt data-block byte in a csum-v3 log fails its tag checksum, and
`fixup --seed 0` makes the transaction replay in full again.
Seed: SEED env (printed).
"""
import os
import random
import re
import subprocess
import sys
import tempfile

jbdlab = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("JBDLAB", "build/jbdlab")
here = os.path.dirname(os.path.abspath(__file__))
regress = os.path.join(here, "regress")
seed = int(os.environ.get("SEED", random.randrange(1, 1 << 31)))
n_mut = int(os.environ.get("MUTANTS", "150"))
print("structure: seed %d" % seed)
rng = random.Random(seed)
fails = 0


def run(paths):
    out = subprocess.run([jbdlab, "fuzz", "run", "-v"] + paths, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    res = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^(ok|FAIL) (\S+): (.*)$", line)
        if not m:
            continue
        path = m.group(2)
        if m.group(1) == "FAIL":
            res[path] = None
        else:
            r = re.search(r"ret (-?\d+), (\d+) replayed", m.group(3))
            res[path] = (int(r.group(1)), int(r.group(2)))
    return res


with tempfile.TemporaryDirectory() as tmp:
    seeds = sorted(os.path.join(regress, f) for f in os.listdir(regress) if f.startswith("seed-"))
    base = run(seeds)
    good = [s for s in seeds if base.get(s) and base[s][1] > 0]
    print("structure: %d seeds replay blocks" % len(good))
    raw, fixed = [], []
    for k in range(n_mut):
        src = rng.choice(good)
        data = bytearray(open(src, "rb").read())
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(1 + 1024, len(data)) if len(data) > 1025 else rng.randrange(1, len(data))
            data[i] = rng.randrange(256)
        p = os.path.join(tmp, "m%d" % k)
        open(p, "wb").write(data)
        q = p + ".fix"
        subprocess.run([jbdlab, "fuzz", "fixup", "--seed", str(rng.randrange(1, 1 << 30)), p, q],
                       check=True)
        raw.append(p)
        fixed.append(q)
    r, f = run(raw), run(fixed)
    broken = [p for p in raw + fixed if (r if p in r else f).get(p, 0) is None]
    for p in broken:
        print("structure: FAIL: a check broke on %s (seed %d)" % (p, seed))
        fails += 1
    reach_raw = sum(1 for p in raw if r.get(p) and r[p][0] == 0 and r[p][1] > 0)
    reach_fix = sum(1 for p in fixed if f.get(p) and f[p][0] == 0 and f[p][1] > 0)
    print("structure: mutants recovered cleanly with blocks replayed: %d/%d as mutated, %d/%d after the fix-up"
          % (reach_raw, n_mut, reach_fix, n_mut))
    if not (reach_fix >= reach_raw + n_mut // 5 and reach_fix * 2 >= n_mut):
        print("structure: FAIL: the fix-up does not bring mutants to the replay pass (seed %d)" % seed)
        fails += 1

    # exact case: one data byte of a csum-v3 transaction
    src = os.path.join(regress, "seed-mkjournal-b2048-64bit-csum3-multi")
    data = bytearray(open(src, "rb").read())
    full = base[src][1]
    bs = 2048
    data[1 + 1024 + bs + 100] ^= 0xFF  # the first data block after the first descriptor
    p = os.path.join(tmp, "v3")
    open(p, "wb").write(data)
    subprocess.run([jbdlab, "fuzz", "fixup", "--seed", "0", p, p + ".fix"], check=True)
    a, b = run([p])[p], run([p + ".fix"])[p + ".fix"]
    print("structure: csum-v3 seed replays %d blocks; one data byte changed: ret %d, %d replayed; after fixup --seed 0: ret %d, %d replayed"
          % (full, a[0], a[1], b[0], b[1]))
    if not (a[0] != 0 or a[1] < full):
        print("structure: FAIL: a corrupt data block passed its tag checksum")
        fails += 1
    if not (b[0] == 0 and b[1] == full):
        print("structure: FAIL: fixup --seed 0 did not make the log replay in full")
        fails += 1

print("structure: %s" % ("ok" if not fails else "%d failures (seed %d)" % (fails, seed)))
sys.exit(1 if fails else 0)
