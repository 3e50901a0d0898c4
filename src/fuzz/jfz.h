/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jfz.h - the journal-replay fuzz target (src/fuzz/): jbdlab's recovery
 * (src/journal/recovery.c through src/fs/replay.c's core, both buffer
 * layers) run in-process on a memory-backed image made of a fixed
 * template filesystem and the fuzz bytes spliced into its journal.
 *
 * Input format (stable: the regression corpus is stored in it):
 *   byte 0      the configuration: JFZ_CFG_* below (template and mode)
 *   bytes 1..   up to JFZ_JSB_BYTES bytes over the start of journal block 0
 *               (the journal superblock; short = the rest of it from the
 *               template, which mke2fs made clean)
 *   then        log blocks of the template's block size each, written
 *               from the log's start on: journal block s_start of the
 *               fuzzed superblock when that lies in [1, s_maxlen), else
 *               s_first, else 1; wrapping from the end of the log to
 *               its first block as the log does; a short last block is
 *               zero-filled.  At most JFZ_MAX_LOG_BYTES bytes.
 * Everything else is the template: an mke2fs image with needs_recovery
 * set (its journal zeroed), so every input goes down the mount's path.
 *
 * Each input runs twice, offline (private buffers) and through the page
 * cache (JFS_REPLAY_PAGECACHE), from the same starting image -- once only
 * when the offline run stopped before recovery proper (a journal
 * superblock refused, nothing to do): up to jbd2_journal_recover() the
 * two runs are one code path, so the second could only repeat the
 * first -- and these must hold, else the target aborts with the reason
 * (a "crash"):
 *   - both layers agree: return value, report, and every byte written;
 *   - no silent write: outside the journal's blocks at most one 4 KiB
 *     chunk per replayed block, plus the ext4 superblock's;
 *     nothing at all when there was nothing to do, or when a kernel-mode
 *     (JFS_REPLAY_KERNEL) recovery failed before replaying anything;
 *   - a recovery that reset the journal left it empty (s_start 0) and
 *     the ext4 superblock without needs_recovery.
 *   - no freed folio was written (the page cache's poisoned quarantine,
 *     checked as folios leave it -- so possibly one an earlier input
 *     freed: replay the corpus with `jbdlab fuzz run` to pin it).
 * Hangs are the fuzzer's -timeout; memory errors and UB are ASan/UBSan's.
 * Environment: JBDLAB_FUZZ_LAYERS=offline runs the offline layer alone
 * (faster, no layer comparison); JBDLAB_FUZZ_BLOCKSIZE=1024|2048|4096 pins
 * the template's block size; JBDLAB_FUZZ_TEMPLATES=DIR keeps the template
 * images there for later processes.
 *
 * Locking rules: single-threaded caller (one exec at a time); the block
 * device's I/O thread only sets bits of the template's written map.
 */
#ifndef JBDLAB_JFZ_H
#define JBDLAB_JFZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JFZ_CFG_BS_MASK		0x03	/* 0: 1 KiB blocks, 1: 2 KiB, 2: 4 KiB, 3: 2 KiB */
#define JFZ_CFG_64BIT		0x04	/* 64bit filesystem */
#define JFZ_CFG_CSUM		0x08	/* metadata_csum filesystem */
#define JFZ_CFG_KERNEL		0x10	/* kernel-mount semantics on a failed recovery */
#define JFZ_CFG_TEMPLATE_MASK	(JFZ_CFG_BS_MASK | JFZ_CFG_64BIT | JFZ_CFG_CSUM)
#define JFZ_NR_TEMPLATES	16

#define JFZ_JSB_BYTES		1024
#define JFZ_MAX_LOG_BYTES	(64U << 10)
#define JFZ_MAX_INPUT		(1 + JFZ_JSB_BYTES + JFZ_MAX_LOG_BYTES)

static inline unsigned int jfz_cfg_blocksize(uint8_t cfg)
{
	static const unsigned int bs[4] = { 1024, 2048, 4096, 2048 };

	return bs[cfg & JFZ_CFG_BS_MASK];
}

struct jfz_outcome {
	int ret;			/* jfs_journal_replay_bdev()'s */
	int nr_replays, nr_revokes, nr_revoke_hits;
	uint32_t start_tid, end_tid, next_tid, failed_commit;
	bool replayed;
	bool recovered;			/* recovery proper ran (jfs_replay_report) */
	char msg[512];
	unsigned int written_chunks;	/* 4 KiB chunks the run wrote */
};

/* Run one input (both layers, the checks above).  0 = every check held;
 * otherwise -1 with the broken check in @why (the libFuzzer target aborts
 * on it).  @out, if set, gets the offline run's outcome.  Templates are
 * built on first use (mke2fs from e2fsprogs; a failure there exits). */
int jfz_run(const uint8_t *data, size_t size, struct jfz_outcome *out, char *why, size_t whylen);

/* The image an input stands for (template + input, before any replay),
 * written to @path, for e2fsck/debugfs to compare.  0 or -errno. */
int jfz_write_image(const uint8_t *data, size_t size, const char *path);

/* Structure-aware fix-up after a mutation, in place (size unchanged):
 * with choices from @seed, keep or restore the magic numbers, make the
 * log's sequence numbers follow the superblock's, and recompute every
 * checksum the journal's features ask for (superblock, descriptor and
 * revoke tails, commit blocks, data-block tags; v1 commit crc32_be), so
 * that mutated inputs reach the replay pass. */
void jfz_fixup(uint8_t *data, size_t size, unsigned int seed);
/* Seed 0 above: every repair, and no commit block added (for making real
 * journals fit the template, see tests/fuzz/mkcorpus.py).  And only the
 * superblock checksum (when v2/v3 and the input carries all of it): */
void jfz_fix_sb_csum(uint8_t *data, size_t size);

/* Release the templates (for leak checkers at exit). */
void jfz_cleanup(void);

#endif
