#!/usr/bin/env bash
# bench/journal-replay.sh [JBDLAB] - journal replay speed (not a test).
#
# Builds one image with a big, full, dirty journal, written by the kernel:
# mkfs.ext4 -J size=JSIZE, loop mount with data=journal (file data goes
# through the journal too), write DATA_MB of files with an fsync after each
# (each fsync a commit), then the ext4 shutdown ioctl with NOLOGFLUSH (the
# log stays as it is, nothing is checkpointed any more), umount.  Then
# REPS times, on fresh copies of that image: time `jbdlab replay` (the
# offline recovery), `jbdlab replay --page-cache` (the same passes through
# the simulated page cache, as a mount recovers) and `e2fsck -E
# journal_only -y` (the copies are made before the clocks start, synced,
# and in the page cache for all; the order rotates).  Prints the number of
# transactions in the log (and jbdlab's replay summary), each time, the
# medians and the ratios to e2fsck (target for `jbdlab replay`: <= 1.0);
# checks that both jbdlab replays leave the blocks e2fsck's does (but the
# two superblocks) and that e2fsck -fn is clean after each.
#
# Environment: JBDLAB (default build/jbdlab), IMG_SIZE (default 512M), BS
# (default 4096), JSIZE (journal MiB, default 128), DATA_MB (default 96),
# FILE_KB (default 256), REPS (default 5), SEED (file contents, default 1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -x "$1" ]; then JBDLAB=$1; shift; fi
JBDLAB=$(readlink -f "${JBDLAB:-$here/../build/jbdlab}")
IMG_SIZE=${IMG_SIZE:-512M}
BS=${BS:-4096}
JSIZE=${JSIZE:-128}
DATA_MB=${DATA_MB:-96}
FILE_KB=${FILE_KB:-256}
REPS=${REPS:-5}
SEED=${SEED:-1}

[ "$(id -u)" = 0 ] || { echo "journal-replay: needs root" >&2; exit 1; }
T=$(mktemp -d /tmp/jbdlab-bench-replay.XXXXXX)
MNT=$T/mnt
mkdir -p "$MNT"

cleanup() {
	set +e
	if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT"; fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "journal-replay: image $IMG_SIZE bs=$BS journal ${JSIZE}M, $DATA_MB MiB in ${FILE_KB} KiB files (data=journal, fsync each), seed $SEED, $REPS reps"
img=$T/dirty.img
truncate -s "$IMG_SIZE" "$img"
mkfs.ext4 -q -F -b "$BS" -J size="$JSIZE" "$img" >/dev/null
mount -t ext4 -o loop,data=journal "$img" "$MNT"
python3 - "$MNT" "$DATA_MB" "$FILE_KB" "$SEED" <<'PY'
import fcntl, os, random, struct, sys
mnt, mb, kb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
os.mkdir(f"{mnt}/d")
for i in range(mb * 1024 // kb):
    with open(f"{mnt}/d/f{i:05d}", "wb") as f:
        f.write(rnd.randbytes(kb * 1024))
        f.flush()
        os.fsync(f.fileno())
fd = os.open(mnt, os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, struct.pack("I", 2))  # EXT4_IOC_SHUTDOWN, NOLOGFLUSH
os.close(fd)
PY
umount "$MNT"
dumpe2fs -h "$img" 2>/dev/null | grep -q needs_recovery || { echo "journal-replay: the image is not dirty" >&2; exit 1; }
ntrans=$(debugfs -R "logdump" "$img" 2>/dev/null | grep -c 'Found expected sequence.*commit block' || true)
echo "journal-replay: debugfs logdump finds $ntrans committed transactions"

now() { date +%s.%N; }
declare -a TJ TP TE
ORDERS=("j p e" "e j p" "p e j")
for ((r = 0; r < REPS; r++)); do
	for f in j p e; do cp --sparse=always "$img" "$T/$f.img"; done
	cat "$T/j.img" "$T/p.img" "$T/e.img" >/dev/null
	sync	# every tool fsyncs at open: do not time the copies' writeback
	# rotate which one runs first (a later one finds a warmer machine)
	for who in ${ORDERS[$((r % 3))]}; do
		t0=$(now)
		rc=0
		case $who in
		j) "$JBDLAB" replay "$T/j.img" >"$T/j.out" 2>&1 || rc=$? ;;
		p) "$JBDLAB" replay --page-cache "$T/p.img" >"$T/p.out" 2>&1 || rc=$? ;;
		e) e2fsck -E journal_only -y "$T/e.img" >"$T/e.out" 2>&1 || rc=$?
		   [ $rc -le 1 ] && rc=0 ;;
		esac
		t1=$(now)
		[ $rc = 0 ] || { echo "journal-replay: $who failed (exit $rc): $(tail -n 3 "$T/$who.out")" >&2; exit 1; }
		dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		case $who in j) TJ+=("$dt") ;; p) TP+=("$dt") ;; e) TE+=("$dt") ;; esac
	done
	[ $r = 0 ] && echo "journal-replay: $(tail -n 1 "$T/j.out")"
	echo "journal-replay: rep $((r + 1)): jbdlab ${TJ[-1]}s  jbdlab --page-cache ${TP[-1]}s  e2fsck ${TE[-1]}s"
done

# same result? every block but the fs superblock and the journal superblock
jsb=$(debugfs -R "bmap <8> 0" "$T/e.img" 2>/dev/null | tail -n 1)
for f in j p; do
python3 - "$T/$f.img" "$T/e.img" "$BS" "$((1024 / BS))" "$jsb" "$([ $f = j ] && echo jbdlab || echo "jbdlab --page-cache")" <<'PY' || echo "journal-replay: WARNING: the $f replay differs from e2fsck's"
import sys
a, b, bs = sys.argv[1], sys.argv[2], int(sys.argv[3])
skip = {int(x) for x in sys.argv[4:] if x.isdigit()}
n = d = 0
with open(a, "rb") as fa, open(b, "rb") as fb:
    while True:
        x, y = fa.read(bs), fb.read(bs)
        if not x and not y:
            break
        if x != y and n not in skip:
            d += 1
        n += 1
print(f"journal-replay: {sys.argv[6]}: {d} blocks differ from e2fsck's replay (superblocks excluded)")
sys.exit(1 if d else 0)
PY
done
for f in j p e; do
	rc=0
	e2fsck -fn "$T/$f.img" >/dev/null 2>&1 || rc=$?
	case $f in j) who=jbdlab ;; p) who="jbdlab --page-cache" ;; e) who=e2fsck ;; esac
	echo "journal-replay: e2fsck -fn after $who replay: exit $rc"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mj=$(median "${TJ[@]}")
mp=$(median "${TP[@]}")
me=$(median "${TE[@]}")
echo "journal-replay: median jbdlab replay ${mj}s, jbdlab replay --page-cache ${mp}s, e2fsck -E journal_only ${me}s"
awk -v a="$mj" -v p="$mp" -v b="$me" 'BEGIN { b = b > 0 ? b : 0.001
	printf "journal-replay: ratio jbdlab/e2fsck = %.2f (target <= 1.0)\n", a / b
	printf "journal-replay: ratio jbdlab --page-cache/e2fsck = %.2f (the mount path\x27s recovery; no target)\n", p / b }'
