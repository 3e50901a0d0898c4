# shellcheck shell=bash
# journal_lib.sh - helpers of the journal replay tests (sourced after
# lib.sh, never run): block-by-block comparison of two images except the
# blocks replay is allowed to write differently, and superblock checks.
#
# Why the two superblocks are excluded: e2fsck and jbdlab both rewrite the
# ext4 superblock (e2fsck also bumps s_kbytes_written, timestamps) and the
# journal superblock (e2fsck's s_sequence differs after failed or
# uncommitted cases); every other block must be identical.

# fs_blocksize IMG
fs_blocksize() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block size:/ { gsub(/ /, "", $2); print $2 }'
}

# journal_sb_block IMG: the fs block holding journal block 0 (inode 8), or -1
journal_sb_block() {
	local b
	b=$(debugfs -R "bmap <8> 0" "$1" 2>/dev/null | tail -n 1)
	[[ $b =~ ^[0-9]+$ ]] && echo "$b" || echo -1
}

# cmp_blocks A B BS SKIP...: 0 if every block of A equals B's except the
# listed block numbers; prints the first differing blocks otherwise.
cmp_blocks() {
	python3 - "$@" <<'PYEOF'
import sys
a, b, bs = sys.argv[1], sys.argv[2], int(sys.argv[3])
skip = {int(x) for x in sys.argv[4:]}
diff = []
with open(a, 'rb') as fa, open(b, 'rb') as fb:
    n = 0
    while True:
        x, y = fa.read(bs), fb.read(bs)
        if not x and not y:
            break
        if x != y and n not in skip:
            diff.append(n)
        n += 1
if diff:
    print("differing blocks (%d): %s" % (len(diff), " ".join(map(str, diff[:20]))))
    sys.exit(1)
PYEOF
}

# cmp_images A B: cmp_blocks skipping the ext4 superblock block and the
# journal superblock block (read from B, the reference).
cmp_images() {
	local bs jsb
	bs=$(fs_blocksize "$2")
	jsb=$(journal_sb_block "$2")
	cmp_blocks "$1" "$2" "$bs" $((1024 / bs)) "$jsb"
}

# sb_state IMG: the superblock fields replay must agree on (features and
# state), without times and counts.
sb_state() {
	dumpe2fs -h "$1" 2>/dev/null | grep -E '^(Filesystem features|Filesystem state):' | sed 's/  */ /g'
}

# fsck_verdict IMG: the exit status of e2fsck -fn on IMG
fsck_verdict() {
	local rc=0
	e2fsck -fn "$1" >/dev/null 2>&1 || rc=$?
	echo "$rc"
}

# run_replay IMG: jbdlab replay, output in $T/replay.out; sets REPLAY_RC.
# A signal (rc > 128) or any status but 0/1 is a failure of the test.
REPLAY_RC=0
run_replay() {	# run_replay IMAGE [REPLAY-OPTIONS...]
	REPLAY_RC=0
	timeout 120 "$JBDLAB" replay "${@:2}" "$1" >"$T/replay.out" 2>&1 || REPLAY_RC=$?
	if [ "$REPLAY_RC" != 0 ] && [ "$REPLAY_RC" != 1 ]; then
		fail "jbdlab replay $(basename "$1"): exit status $REPLAY_RC (crash?): $(tail -n 3 "$T/replay.out")"
		return 1
	fi
	return 0
}

# require_journal_tools: root is not needed for the offline cases.
require_journal_tools() {
	local tool
	[ -x "$JBDLAB" ] || die "jbdlab binary not found: $JBDLAB"
	for tool in mkfs.ext4 e2fsck debugfs dumpe2fs python3 gzip bzip2 tar; do
		command -v "$tool" >/dev/null || die "missing tool $tool (./run installs e2fsprogs)"
	done
}
