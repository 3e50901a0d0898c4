/* SPDX-License-Identifier: GPL-2.0 */
/*
 * recovery.c - replay of the journal after a crash (fs/jbd2/recovery.c):
 * jbd2_journal_recover() and its three passes over the log.
 *
 * The log is a circular run of blocks [j_first, j_last) starting at the
 * superblock's s_start, where transaction s_sequence begins.  A transaction
 * is a run of revoke blocks, descriptor blocks each followed by the logged
 * copies of the fs blocks its tags name, and one commit block; every one
 * of those headers carries the transaction's tid.  The log ends at the
 * first block that is not a journal header of the expected tid -- stale
 * blocks from an earlier lap of the log carry older tids -- or at a
 * checksum failure.
 *
 *   PASS_SCAN    walk the log to find end_transaction, the first tid that is
 *                not complete; verify descriptor/revoke tails and commit
 *                checksums (v2/v3 crc32c, or the v1 crc32_be running sum
 *                over the whole transaction, calc_chksums()).  A bad
 *                descriptor or revoke tail only raises "check commit time":
 *                when the commit block arrives, an older commit time than
 *                the previous transaction's means stale blocks of an earlier
 *                lap (end of log, no error); otherwise the log is corrupt
 *                (-EFSBADCRC, nothing is replayed).  A commit block with a
 *                bad checksum ends the log there (j_failed_commit) unless
 *                ASYNC_COMMIT, where the scan goes on but end_transaction
 *                stays at the bad one.
 *   PASS_REVOKE  walk [s_sequence, end_transaction) again and load every
 *                revoke record into the recovery revoke hash: block -> the
 *                newest tid that revoked it.
 *   PASS_REPLAY  walk again; for every tag whose block is not revoked by
 *                the same or a later transaction, verify the data-block
 *                checksum (a failure skips that block, is reported as
 *                "JBD2: Invalid checksum recovering data block N in log",
 *                and makes recovery return -EFSBADCRC at the end, as
 *                e2fsck), copy the logged block into the fs block's
 *                buffer in the page cache, restore an escaped magic, mark
 *                it dirty.  Later transactions overwrite earlier ones
 *                because they come later in the walk.
 *
 * Then the fs device is synced (sync_blockdev: written home and flushed)
 * before anything reads the filesystem, and the next tid is
 * end_transaction + 1, so that a torn transaction's blocks can never look
 * valid to the next recovery (peers.md trap 4).
 *
 * Fast commits: if the journal has FAST_COMMIT and its fast-commit area
 * holds a HEAD block for end_transaction, ext4's fast-commit replay would
 * be needed; we have none, so recovery refuses (-EOPNOTSUPP) before the
 * replay pass writes anything (peers.md trap 11).
 *
 * Offline recovery (`jbdlab replay`, below) runs the same passes over
 * private buffers instead of the page cache, as e2fsck runs the kernel's
 * recovery.c over a buffer layer of its own.
 *
 * The recovery revoke hash lives here; the kernel keeps it in revoke.c
 * (jbd2_journal_set_revoke/test_revoke/clear_revoke over j_revoke), but in
 * jbdlab revoke.c belongs to the runtime journal and its two running
 * tables, and recovery's table is private to one jbd2_journal_recover()
 * call.  The semantics are the kernel's: set keeps the newest tid per
 * block, test is true unless the transaction is strictly newer than the
 * revoke.
 *
 * Every corrupt input ends in an error code, never a crash: reads past
 * j_total_len, an r_count beyond the block (j_corrupt_revoke_rcount), tags
 * running off the descriptor, blocks beyond the device.
 *
 * Locking rules: recovery runs before the journal is live -- at mount
 * before the fs is built, or offline -- on a journal_t that nobody else
 * can see, so it takes no journal lock and holds only buffer_head
 * references (b_count) and, around each replayed copy, the buffer lock of
 * the fs block being written.  The page cache below has its own locks.
 * Offline, the log copies, the window and the write queue belong to the
 * one recovering thread; a cached fs block it updates is changed under
 * that block's buffer lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "jbd2.h"
#include "blockdev.h"

enum passtype { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

/* ----------------------------------------------------- recovery revoke hash */

struct recovery_revoke_record {
	struct recovery_revoke_record *next;	/* hash chain [owner: recovery] */
	unsigned long long blocknr;		/* [const] */
	tid_t sequence;				/* newest revoking tid [owner: recovery] */
};

#define RECOVERY_REVOKE_HASH	1024	/* jbd2_journal_init_revoke(journal, 1024) at recovery */

struct recovery_revoke_table {
	struct recovery_revoke_record *hash[RECOVERY_REVOKE_HASH];	/* [owner: recovery] */
	unsigned long nr_records;	/* [owner: recovery] */
};

static unsigned int revoke_hash(unsigned long long blocknr)
{
	/* hash_64(), as the kernel's revoke table */
	return (unsigned int)((blocknr * 0x61C8864680B583EBULL) >> 54) & (RECOVERY_REVOKE_HASH - 1);
}

static struct recovery_revoke_record *find_revoke_record(struct recovery_revoke_table *t,
							 unsigned long long blocknr)
{
	struct recovery_revoke_record *r;

	for (r = t->hash[revoke_hash(blocknr)]; r; r = r->next)
		if (r->blocknr == blocknr)
			return r;
	return NULL;
}

/* jbd2_journal_set_revoke(): remember the newest tid that revoked blocknr. */
static int recovery_set_revoke(struct recovery_revoke_table *t, unsigned long long blocknr,
			       tid_t sequence)
{
	struct recovery_revoke_record *r = find_revoke_record(t, blocknr);
	unsigned int h;

	if (r) {
		if (tid_gt(sequence, r->sequence))
			r->sequence = sequence;
		return 0;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	h = revoke_hash(blocknr);
	r->blocknr = blocknr;
	r->sequence = sequence;
	r->next = t->hash[h];
	t->hash[h] = r;
	t->nr_records++;
	return 0;
}

/*
 * jbd2_journal_test_revoke(): is a copy of blocknr logged by transaction
 * `sequence` revoked?  Yes unless `sequence` is strictly newer than the
 * newest revoke of that block.
 */
static bool recovery_test_revoke(struct recovery_revoke_table *t, unsigned long long blocknr,
				 tid_t sequence)
{
	struct recovery_revoke_record *r = find_revoke_record(t, blocknr);

	return r && !tid_gt(sequence, r->sequence);
}

/* jbd2_journal_clear_revoke(): drop every record (the walk ends with the last). */
static void recovery_clear_revoke(struct recovery_revoke_table *t)
{
	for (unsigned int i = 0; i < RECOVERY_REVOKE_HASH && t->nr_records; i++) {
		while (t->hash[i]) {
			struct recovery_revoke_record *r = t->hash[i];

			t->hash[i] = r->next;
			free(r);
			t->nr_records--;
		}
	}
}

/* ------------------------------------------------------------ log access */

struct recovery_ctx {
	journal_t *journal;			/* [const] */
	struct jbd2_recovery_info *info;	/* carried between passes [owner: recovery] */
	struct recovery_revoke_table revoke;	/* [owner: recovery] */
	uint64_t dev_blocks;			/* fs blocks on the device [const] */
	/* offline recovery (j_recover_direct): see "Offline recovery" below */
	char *win;				/* win_cap log blocks [owner: recovery] */
	unsigned int win_cap;			/* blocks win holds, <= RECOVERY_WINDOW [owner: recovery] */
	unsigned long win_first;		/* log offset of win[0] [owner: recovery] */
	unsigned int win_nr;			/* valid blocks in win [owner: recovery] */
	unsigned int win_span;			/* blocks the next sequential fill reads [owner: recovery] */
	struct buffer_head **wq;		/* replayed blocks to write [owner: recovery] */
	unsigned int wq_nr;			/* [owner: recovery] */
	int write_err;				/* first write error [owner: recovery] */
};

/*
 * do_readahead(): start reads of the journal blocks [start, start +
 * 128 KiB) that are neither uptodate nor being read, as the kernel's
 * do_readahead() ("128K is a purely arbitrary, good-enough fixed value":
 * 32 blocks of 4 KiB, 64 of 2 KiB, 128 of 1 KiB) -- submitted back to
 * back, so the device gets them as one stream (and merges adjacent ones)
 * instead of one synchronous read per block.  Stops at the end of the
 * journal (the log's wrap is read by the jread() that gets there).  Never
 * waits for the reads.  The kernel submits them MAXBUF (8) at a time; one
 * plug over the whole batch gives the device the same stream.
 */
#define RECOVERY_READAHEAD_BYTES	(128 * 1024)
#define RECOVERY_READAHEAD_MAX		(RECOVERY_READAHEAD_BYTES / 1024)	/* 1 KiB blocks */

static void do_readahead(struct recovery_ctx *rc, unsigned long start)
{
	journal_t *j = rc->journal;
	unsigned long max = start + RECOVERY_READAHEAD_BYTES / j->j_blocksize;
	struct buffer_head *bhs[RECOVERY_READAHEAD_MAX];
	struct blk_plug plug;
	int nbufs = 0;

	if (max > j->j_total_len)
		max = j->j_total_len;
	/* Lock the buffers first (getblk may reclaim and wait), then submit
	 * them under a plug, which must not wait. */
	for (unsigned long next = start; next < max; next++) {
		unsigned long long blocknr = j->j_blockmap[next];
		struct buffer_head *bh;

		if (blocknr >= rc->dev_blocks)
			break;
		bh = bdev_getblk(j->j_dev, blocknr, j->j_blocksize);
		if (!buffer_uptodate(bh) && !buffer_req(bh) && trylock_buffer(bh)) {
			if (!buffer_uptodate(bh)) {
				bhs[nbufs++] = bh;	/* keeps the getblk reference */
				continue;
			}
			unlock_buffer(bh);
		}
		brelse(bh);
	}
	blk_start_plug(&plug);
	for (int i = 0; i < nbufs; i++) {
		bhs[i]->b_end_io = end_buffer_read_sync;	/* drops the reference */
		submit_bh(REQ_OP_READ, bhs[i]);
	}
	blk_finish_plug(&plug);
}

static int jread_direct(struct recovery_ctx *rc, struct buffer_head **bhp, unsigned long offset);
static void replay_write_queue(struct recovery_ctx *rc);

/*
 * jread(): read journal block `offset` through the page cache, mapping it
 * with the journal's block map (jbd2_journal_bmap()).  Returns 0 with a
 * referenced, uptodate bh, or -EFSCORRUPTED / -EIO.
 */
static int jread(struct recovery_ctx *rc, struct buffer_head **bhp, unsigned long offset)
{
	journal_t *j = rc->journal;
	struct buffer_head *bh;
	unsigned long long blocknr;

	*bhp = NULL;
	if (offset >= j->j_total_len) {
		fprintf(stderr, "JBD2: corrupted journal superblock\n");
		return -EFSCORRUPTED;
	}
	blocknr = j->j_blockmap[offset];
	if (blocknr >= rc->dev_blocks) {
		fprintf(stderr, "JBD2: bad block at offset %lu\n", offset);
		return -EFSCORRUPTED;
	}
	if (j->j_recover_direct)
		return jread_direct(rc, bhp, offset);
	bh = bdev_getblk(j->j_dev, blocknr, j->j_blocksize);
	if (!buffer_uptodate(bh)) {
		/* A brand new buffer: start readahead (it submits this block
		 * too), in every pass as the kernel's jread() does.  Otherwise
		 * we assume it is already being read. */
		if (!buffer_req(bh))
			do_readahead(rc, offset);
		if (bh_read(bh)) {
			brelse(bh);
			fprintf(stderr, "JBD2: Failed to read block at offset %lu\n", offset);
			return -EIO;
		}
	}
	*bhp = bh;
	return 0;
}

/* A logged copy that began with the jbd2 magic was escaped: restore it. */
static void unescape_block(char *data, unsigned int flags)
{
	if (flags & JBD2_FLAG_ESCAPE) {
		uint32_t magic = htonl(JBD2_MAGIC_NUMBER);

		memcpy(data, &magic, sizeof(magic));
	}
}

/* ------------------------------------------------------ offline recovery */

/*
 * Offline recovery (`jbdlab replay`, journal->j_recover_direct).  The
 * passes are the same code; only the buffer layer under them differs, as
 * e2fsprogs runs the kernel's recovery.c over a buffer layer of its own
 * (e2fsck/journal.c: getblk mallocs a private buffer, brelse writes a dirty
 * one home and frees it).  Here:
 *   - jread() copies the log block out of a window of log blocks read in
 *     one plugged batch (the kernel's readahead, without keeping the log in
 *     the page cache): the bh it returns is private, jput() frees it.  A
 *     window starts at 32 KiB and doubles while the pass reads on
 *     sequentially, up to RECOVERY_WINDOW blocks, so a long log streams and
 *     a short one (a fuzz input's few blocks) costs a few blocks;
 *   - the replay pass hands each verified logged copy, magic restored, to
 *     the write queue instead of copying it into a page-cache buffer; the
 *     queue goes to the disk in log order, RECOVERY_WINDOW blocks at a
 *     time (the device completes in order, so a later copy of the same
 *     block lands last), and recovery ends with a flush, as sync_blockdev();
 *   - a replayed block that the page cache does hold (the journal and fs
 *     superblocks that were read to get here) is updated in place, so the
 *     cache never serves the pre-replay bytes.
 * A replay through the page cache touches every log block and every home
 * block as a new cache folio; this path touches a few MiB, reused.  The
 * mount path (jbd2_journal_recover() from jbd2_journal_load()) keeps the
 * kernel's page-cache recovery.
 */
#define RECOVERY_WINDOW		256
#define RECOVERY_WINDOW_FIRST	(32 * 1024)	/* bytes of a pass's first window */

/* Fill the window with the log blocks from `offset` on; 0 or -errno. */
static int recovery_window_fill(struct recovery_ctx *rc, unsigned long offset, unsigned int max)
{
	journal_t *j = rc->journal;
	uint64_t blocks[RECOVERY_WINDOW];
	char *bufs[RECOVERY_WINDOW];
	unsigned int n = 0;
	int err;

	rc->win_nr = 0;
	if (max > rc->win_cap) {	/* grown with the span: a short log maps little */
		free(rc->win);
		rc->win = malloc((size_t)max * j->j_blocksize);
		rc->win_cap = rc->win ? max : 0;
		if (!rc->win)
			return -ENOMEM;
	}
	while (n < max && offset + n < j->j_total_len && j->j_blockmap[offset + n] < rc->dev_blocks) {
		blocks[n] = j->j_blockmap[offset + n];
		bufs[n] = rc->win + (size_t)n * j->j_blocksize;
		n++;
	}
	err = blk_rw_blocks_sync(j->j_dev, REQ_OP_READ, j->j_blocksize, blocks, bufs, n);
	if (err)
		return err;
	rc->win_first = offset;
	rc->win_nr = n;
	return 0;
}

/* jread() of offline recovery.  Entry: offset and its block were checked. */
static int jread_direct(struct recovery_ctx *rc, struct buffer_head **bhp, unsigned long offset)
{
	journal_t *j = rc->journal;
	struct buffer_head *bh;
	int err = 0;

	if (offset < rc->win_first || offset >= rc->win_first + rc->win_nr) {
		/* the disk first gets what the replay queued: a log block the
		 * replay wrote over reads back replayed (see replay_queue()) */
		unsigned int first_span = RECOVERY_WINDOW_FIRST / j->j_blocksize ?: 1;

		if (rc->wq_nr)
			replay_write_queue(rc);

		if (rc->win_nr && offset == rc->win_first + rc->win_nr)
			rc->win_span = rc->win_span * 2 > RECOVERY_WINDOW ? RECOVERY_WINDOW :
				       rc->win_span * 2;
		else
			rc->win_span = first_span < RECOVERY_WINDOW ? first_span : RECOVERY_WINDOW;
		err = recovery_window_fill(rc, offset, rc->win_span);
		if (err == -EIO)	/* the block alone, as a jread() of it would */
			err = recovery_window_fill(rc, offset, 1);
	}
	if (err) {
		fprintf(stderr, "JBD2: Failed to read block at offset %lu\n", offset);
		return err;
	}
	bh = alloc_buffer_head();
	bh->b_data = malloc(j->j_blocksize);
	if (!bh->b_data) {
		free_buffer_head(bh);
		return -ENOMEM;
	}
	memcpy(bh->b_data, rc->win + (offset - rc->win_first) * j->j_blocksize, j->j_blocksize);
	bh->b_bdev = j->j_dev;
	bh->b_blocknr = j->j_blockmap[offset];
	bh->b_size = j->j_blocksize;
	set_buffer_mapped(bh);
	set_buffer_uptodate(bh);
	*bhp = bh;
	return 0;
}

/* Release a bh from jread(). */
static void jput(struct recovery_ctx *rc, struct buffer_head *bh)
{
	if (!rc->journal->j_recover_direct) {
		brelse(bh);
		return;
	}
	put_bh(bh);
	free(bh->b_data);
	free_buffer_head(bh);
}

/* Write the queued replayed blocks home, in log order, and free them. */
static void replay_write_queue(struct recovery_ctx *rc)
{
	journal_t *j = rc->journal;
	uint64_t blocks[RECOVERY_WINDOW];
	char *bufs[RECOVERY_WINDOW];
	int err;

	for (unsigned int i = 0; i < rc->wq_nr; i++) {
		blocks[i] = rc->wq[i]->b_blocknr;
		bufs[i] = rc->wq[i]->b_data;
	}
	err = blk_rw_blocks_sync(j->j_fs_dev, REQ_OP_WRITE, j->j_blocksize, blocks, bufs, rc->wq_nr);
	if (err && !rc->write_err)
		rc->write_err = err;
	for (unsigned int i = 0; i < rc->wq_nr; i++)
		jput(rc, rc->wq[i]);
	rc->wq_nr = 0;
}

/*
 * The replay of one verified logged copy, offline: obh (ours) becomes the
 * home block's write buffer.  Returns 0 or -ENOMEM.
 */
static int replay_queue(struct recovery_ctx *rc, struct buffer_head *obh,
			unsigned long long blocknr, unsigned int flags)
{
	journal_t *j = rc->journal;
	struct buffer_head *cached;

	if (!rc->wq) {
		rc->wq = calloc(RECOVERY_WINDOW, sizeof(*rc->wq));
		if (!rc->wq) {
			jput(rc, obh);
			return -ENOMEM;
		}
	}
	unescape_block(obh->b_data, flags);
	obh->b_bdev = j->j_fs_dev;
	obh->b_blocknr = blocknr;
	/* do_one_pass() uses the sleeping __getblk(): a bailing atomic lookup
	 * would leave a cached copy stale (model-review item 11). */
	cached = __find_get_block_nonatomic(j->j_fs_dev, blocknr, j->j_blocksize);
	if (cached) {
		lock_buffer(cached);
		memcpy(cached->b_data, obh->b_data, j->j_blocksize);
		set_buffer_uptodate(cached);
		unlock_buffer(cached);
		brelse(cached);
	}
	/* A home block inside the log itself (a hostile log: the journal's
	 * own blocks logged as fs blocks): the later passes over the log must
	 * read the replayed bytes, as the kernel's shared buffer and e2fsck's
	 * write-through cache give them -- so the window copy is updated too
	 * (and a window fill first writes the queue, in jread_direct()). */
	if (j->j_dev == j->j_fs_dev) {
		for (unsigned int i = 0; i < rc->win_nr; i++)
			if (j->j_blockmap[rc->win_first + i] == blocknr)
				memcpy(rc->win + (size_t)i * j->j_blocksize, obh->b_data,
				       j->j_blocksize);
	}
	rc->wq[rc->wq_nr++] = obh;
	rc->info->nr_replays++;
	/* With out-of-order completion, two copies of one block in a batch
	 * could land in either order: write one at a time. */
	if (rc->wq_nr == RECOVERY_WINDOW || j->j_fs_dev->reorder)
		replay_write_queue(rc);
	return 0;
}

/* wrap(): the block after j_last - 1 is j_first. */
static inline unsigned long wrap(const journal_t *j, unsigned long block)
{
	if (block >= j->j_last)
		block -= j->j_last - j->j_first;
	return block;
}

static inline size_t descr_tail_size(const journal_t *j)
{
	return jbd2_journal_has_csum_v2or3(j) ? sizeof(struct jbd2_journal_block_tail) : 0;
}

/*
 * count_tags(): the number of data blocks a descriptor describes.  A tag
 * without SAME_UUID is followed by a 16-byte UUID; the walk never passes
 * the checksum tail.
 */
static int count_tags(const journal_t *j, const struct buffer_head *bh)
{
	size_t tag_bytes = journal_tag_bytes(j);
	size_t size = j->j_blocksize - descr_tail_size(j);
	size_t off = sizeof(journal_header_t);
	int nr = 0;

	while (off + tag_bytes <= size) {
		unsigned int flags = jbd2_tag_flags(bh->b_data + off);

		nr++;
		off += tag_bytes;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += UUID_SIZE;
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return nr;
}

/*
 * calc_chksums(): v1 (COMPAT_CHECKSUM) running crc32_be over the
 * descriptor and each block it describes, advancing *next_log_block past
 * them.  Returns 0, or non-zero if a block could not be read.
 */
static int calc_chksums(struct recovery_ctx *rc, struct buffer_head *bh,
			unsigned long *next_log_block, uint32_t *crc32_sum)
{
	journal_t *j = rc->journal;
	int num_blks = count_tags(j, bh);
	struct buffer_head *obh;

	*crc32_sum = jbd2_crc32_be(*crc32_sum, bh->b_data, bh->b_size);
	for (int i = 0; i < num_blks; i++) {
		unsigned long io_block = (*next_log_block)++;
		int err;

		*next_log_block = wrap(j, *next_log_block);
		err = jread(rc, &obh, io_block);
		if (err) {
			fprintf(stderr, "JBD2: IO error %d recovering block %lu in log\n", err, io_block);
			return 1;
		}
		*crc32_sum = jbd2_crc32_be(*crc32_sum, obh->b_data, obh->b_size);
		jput(rc, obh);
	}
	return 0;
}

/*
 * scan_revoke_records(): load one revoke block's records (32-bit, or
 * 64-bit with INCOMPAT_64BIT) into the hash.  An r_count beyond the block
 * (less the checksum tail) is -EINVAL: the 2015 overrun of
 * j_corrupt_revoke_rcount.
 */
static int scan_revoke_records(struct recovery_ctx *rc, struct buffer_head *bh, tid_t sequence)
{
	journal_t *j = rc->journal;
	const jbd2_journal_revoke_header_t *header = (const void *)bh->b_data;
	size_t offset = sizeof(jbd2_journal_revoke_header_t);
	size_t record_len = jbd2_has_feature_64bit(j) ? 8 : 4;
	uint32_t rcount = ntohl(header->r_count);

	if (rcount > j->j_blocksize - descr_tail_size(j))
		return -EINVAL;
	while (offset + record_len <= rcount) {
		unsigned long long blocknr;
		uint32_t w[2];
		int err;

		memcpy(w, bh->b_data + offset, record_len);
		blocknr = ntohl(w[0]);
		if (record_len == 8)
			blocknr = blocknr << 32 | ntohl(w[1]);
		offset += record_len;
		err = recovery_set_revoke(&rc->revoke, blocknr, sequence);
		if (err)
			return err;
		rc->info->nr_revokes++;
	}
	return 0;
}

/*
 * replay_tag(): PASS_REPLAY for one tag of descriptor `seq` whose logged
 * copy is journal block io_block.  Returns 0, or a negative error that
 * stops recovery (-ENOMEM); per-block failures set *success / *block_error
 * and return 0 so that the rest is recovered (do_one_pass()).
 */
static int replay_tag(struct recovery_ctx *rc, const char *tagp, unsigned int flags,
		      unsigned long io_block, tid_t seq, int *success, bool *block_error)
{
	journal_t *j = rc->journal;
	struct buffer_head *obh, *nbh;
	unsigned long long blocknr;
	int err;

	err = jread(rc, &obh, io_block);
	if (err) {
		/* Recover what we can, report failure at the end. */
		*success = err;
		fprintf(stderr, "JBD2: IO error %d recovering block %lu in log\n", err, io_block);
		return 0;
	}
	blocknr = jbd2_tag_blocknr(j, tagp);
	if (recovery_test_revoke(&rc->revoke, blocknr, seq)) {
		jput(rc, obh);
		rc->info->nr_revoke_hits++;
		return 0;
	}
	if (!jbd2_block_tag_csum_verify(j, tagp, obh->b_data, seq)) {
		jput(rc, obh);
		*success = -EFSBADCRC;
		*block_error = true;
		fprintf(stderr, "JBD2: Invalid checksum recovering data block %llu in log\n", blocknr);
		return 0;
	}
	if (blocknr >= rc->dev_blocks) {
		jput(rc, obh);
		*success = -EFSCORRUPTED;
		*block_error = true;
		fprintf(stderr, "JBD2: block %llu in log is beyond the device (%llu blocks)\n",
			blocknr, (unsigned long long)rc->dev_blocks);
		return 0;
	}
	if (j->j_recover_direct)
		return replay_queue(rc, obh, blocknr, flags);
	/* The fs block's buffer: its old contents are never read. */
	nbh = bdev_getblk(j->j_fs_dev, blocknr, j->j_blocksize);
	lock_buffer(nbh);
	memcpy(nbh->b_data, obh->b_data, j->j_blocksize);
	unescape_block(nbh->b_data, flags);
	set_buffer_uptodate(nbh);
	mark_buffer_dirty(nbh);
	rc->info->nr_replays++;
	unlock_buffer(nbh);
	jput(rc, obh);
	brelse(nbh);
	return 0;
}

/* ext4's fast-commit tags (fs/ext4/fast_commit.h) that recovery must see. */
#define EXT4_FC_TAG_HEAD	0x0009

/*
 * fc_replay_needed(): would ext4's fast-commit replay (fc_do_one_pass() ->
 * ext4_fc_replay_scan()) find work?  It does when the first block of the
 * fast-commit area starts with a HEAD tag for end_transaction.
 */
static bool fc_replay_needed(struct recovery_ctx *rc, tid_t expected)
{
	journal_t *j = rc->journal;
	struct buffer_head *bh;
	uint16_t tag;
	uint32_t tid;
	bool need;

	if (!jbd2_has_feature_fast_commit(j) || j->j_fc_first >= j->j_total_len)
		return false;
	if (jread(rc, &bh, j->j_fc_first))
		return false;
	/* struct ext4_fc_tl { __le16 tag, len } then struct ext4_fc_head
	 * { __le32 fc_features, fc_tid } -- little-endian, unlike jbd2. */
	memcpy(&tag, bh->b_data, sizeof(tag));
	memcpy(&tid, bh->b_data + 8, sizeof(tid));
	tag = le16toh(tag);
	tid = le32toh(tid);
	need = tag == EXT4_FC_TAG_HEAD && tid == expected;
	jput(rc, bh);
	return need;
}

static int do_one_pass(struct recovery_ctx *rc, enum passtype pass)
{
	journal_t *j = rc->journal;
	struct jbd2_recovery_info *info = rc->info;
	journal_superblock_t *sb = j->j_superblock;
	size_t tag_bytes = journal_tag_bytes(j);
	tid_t next_commit_ID = ntohl(sb->s_sequence);
	unsigned long next_log_block = ntohl(sb->s_start);
	unsigned long head_block = next_log_block;
	uint32_t crc32_sum = ~0U;	/* v1 transactional checksum */
	uint64_t last_trans_commit_time = 0, commit_time;
	bool need_check_commit_time = false, block_error = false;
	size_t descr_csum_size = 0;
	unsigned long walked = 0;	/* log blocks since the last commit */
	int err = 0, success = 0;

	if (pass == PASS_SCAN)
		info->start_transaction = next_commit_ID;
	for (;;) {
		struct buffer_head *bh;
		const journal_header_t *hdr;
		unsigned int blocktype;
		tid_t sequence;

		/* Past the known end of the log? */
		if (pass != PASS_SCAN && tid_geq(next_commit_ID, info->end_transaction))
			break;

		/*
		 * Not in the kernel: a transaction longer than the log can only
		 * be a crafted loop of same-tid blocks; end the log there
		 * instead of walking it forever.
		 */
		if (walked > j->j_last - j->j_first) {
			fprintf(stderr, "JBD2: transaction %u runs over the whole log; end of log\n",
				next_commit_ID);
			goto done;
		}
		err = jread(rc, &bh, next_log_block);
		if (err)
			goto failed;
		next_log_block = wrap(j, next_log_block + 1);
		walked++;

		hdr = (const journal_header_t *)bh->b_data;
		if (ntohl(hdr->h_magic) != JBD2_MAGIC_NUMBER) {
			jput(rc, bh);
			break;
		}
		blocktype = ntohl(hdr->h_blocktype);
		sequence = ntohl(hdr->h_sequence);
		if (sequence != next_commit_ID) {
			jput(rc, bh);
			break;
		}

		switch (blocktype) {
		case JBD2_DESCRIPTOR_BLOCK: {
			size_t off;

			descr_csum_size = descr_tail_size(j);
			if (descr_csum_size && !jbd2_descriptor_block_csum_verify(j, bh->b_data)) {
				/* PASS_SCAN may meet stale blocks of an earlier
				 * lap: decide at the commit block. */
				if (pass != PASS_SCAN) {
					fprintf(stderr, "JBD2: Invalid checksum recovering block %lu in log\n",
						next_log_block);
					jput(rc, bh);
					err = -EFSBADCRC;
					goto failed;
				}
				need_check_commit_time = true;
			}
			if (pass != PASS_REPLAY) {
				if (pass == PASS_SCAN && jbd2_has_feature_checksum(j) &&
				    !need_check_commit_time && !info->end_transaction) {
					int bad;

					walked += count_tags(j, bh);
					bad = calc_chksums(rc, bh, &next_log_block, &crc32_sum);

					jput(rc, bh);
					if (bad)
						goto done;
					continue;
				}
				walked += count_tags(j, bh);
				next_log_block = wrap(j, next_log_block + count_tags(j, bh));
				jput(rc, bh);
				continue;
			}

			/* PASS_REPLAY: write every tag's block home. */
			off = sizeof(journal_header_t);
			while (off + tag_bytes <= (size_t)j->j_blocksize - descr_csum_size) {
				const char *tagp = bh->b_data + off;
				unsigned int flags = jbd2_tag_flags(tagp);
				unsigned long io_block = next_log_block;

				next_log_block = wrap(j, next_log_block + 1);
				walked++;
				err = replay_tag(rc, tagp, flags, io_block, sequence, &success,
						 &block_error);
				if (err) {
					jput(rc, bh);
					goto failed;
				}
				off += tag_bytes;
				if (!(flags & JBD2_FLAG_SAME_UUID))
					off += UUID_SIZE;
				if (flags & JBD2_FLAG_LAST_TAG)
					break;
			}
			jput(rc, bh);
			continue;
		}

		case JBD2_COMMIT_BLOCK: {
			const struct commit_header *cbh = (const void *)bh->b_data;

			/*
			 * Interrupted commit or corruption?  With a bad
			 * checksum, a sync commit means corruption (stop,
			 * j_failed_commit); an async commit may simply be torn,
			 * so the scan goes on, but nothing from this tid on is
			 * replayed.
			 */
			commit_time = be64toh(cbh->h_commit_sec);
			if (need_check_commit_time) {
				/* A descriptor or revoke block of this tid had
				 * a bad tail.  Newer commit time: same log,
				 * corrupt.  Older: stale lap, the log ends. */
				if (commit_time >= last_trans_commit_time) {
					fprintf(stderr, "JBD2: Invalid checksum found in transaction %u\n",
						next_commit_ID);
					jput(rc, bh);
					err = -EFSBADCRC;
					goto failed;
				}
				jput(rc, bh);
				goto done;
			}
			if (pass == PASS_SCAN && jbd2_has_feature_checksum(j)) {
				uint32_t found = ntohl(cbh->h_chksum[0]);

				if (info->end_transaction) {
					j->j_failed_commit = info->end_transaction;
					jput(rc, bh);
					goto done;
				}
				/* The v1 sum matches, or the commit carries none. */
				if (!((crc32_sum == found && cbh->h_chksum_type == JBD2_CRC32_CHKSUM &&
				       cbh->h_chksum_size == JBD2_CRC32_CHKSUM_SIZE) ||
				      (cbh->h_chksum_type == 0 && cbh->h_chksum_size == 0 && found == 0)))
					goto chksum_error;
				crc32_sum = ~0U;
			}
			if (pass == PASS_SCAN && !jbd2_commit_block_csum_verify(j, bh->b_data)) {
chksum_error:
				if (commit_time < last_trans_commit_time) {
					/* stale lap: end of log, no error */
					jput(rc, bh);
					goto done;
				}
				info->end_transaction = next_commit_ID;
				if (!jbd2_has_feature_async_commit(j)) {
					j->j_failed_commit = next_commit_ID;
					jput(rc, bh);
					goto done;
				}
			}
			if (pass == PASS_SCAN) {
				last_trans_commit_time = commit_time;
				head_block = next_log_block;
			}
			jput(rc, bh);
			next_commit_ID++;
			walked = 0;
			continue;
		}

		case JBD2_REVOKE_BLOCK:
			/* A bad tail is judged at the commit block. */
			if (pass == PASS_SCAN && !jbd2_descriptor_block_csum_verify(j, bh->b_data))
				need_check_commit_time = true;
			if (pass != PASS_REVOKE) {
				jput(rc, bh);
				continue;
			}
			err = scan_revoke_records(rc, bh, next_commit_ID);
			jput(rc, bh);
			if (err)
				goto failed;
			continue;

		default:
			/* Unrecognised block type: end of the scan. */
			jput(rc, bh);
			goto done;
		}
	}

done:
	/*
	 * Either the known end of the log, or an unexpected block: then the
	 * current transaction is the first incomplete one.
	 */
	if (pass == PASS_SCAN) {
		if (!info->end_transaction)
			info->end_transaction = next_commit_ID;
		info->head_block = head_block;
	} else if (info->end_transaction != next_commit_ID) {
		fprintf(stderr, "JBD2: recovery pass %d ended at transaction %u, expected %u\n",
			pass, next_commit_ID, info->end_transaction);
		if (!success) {
			success = -EIO;
			info->bad_log = true;
		}
	}
	if (block_error && !success) {
		success = -EIO;
		info->bad_log = true;
	}
	return success;

failed:
	if (pass == PASS_SCAN && !info->end_transaction)
		info->end_transaction = next_commit_ID;	/* where the scan stopped */
	return err;
}

/*
 * jbd2_journal_recover_info - recover the on-disk journal (the kernel's
 * jbd2_journal_recover()), filling *info.
 * Entry: the journal is loaded (jbd2_journal_check_superblock() ran) and
 * not live; no locks held.  Exit: replayed blocks are on disk (the fs
 * device was synced); j_transaction_sequence is the next tid; the journal
 * superblock is unchanged (jbd2_journal_reset_after_recovery() or the
 * runtime journal's reset writes it).  Returns 0, -EFSBADCRC (a checksum
 * failed: either nothing, or everything but the bad blocks was replayed),
 * -EINVAL (bad revoke block), -EOPNOTSUPP (fast-commit replay needed;
 * nothing written), -EFSCORRUPTED, -EIO or -ENOMEM.
 */
int jbd2_journal_recover_info(journal_t *journal, struct jbd2_recovery_info *info)
{
	journal_superblock_t *sb = journal->j_superblock;
	struct recovery_ctx *rc;
	int err, err2;

	memset(info, 0, sizeof(*info));
	journal->j_failed_commit = 0;
	/* s_start == 0 if and only if the journal was cleanly unmounted. */
	if (!sb->s_start) {
		info->start_transaction = info->end_transaction = ntohl(sb->s_sequence);
		journal->j_transaction_sequence = ntohl(sb->s_sequence) + 1;
		return 0;
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->journal = journal;
	rc->info = info;
	rc->dev_blocks = journal->j_fs_dev->size / journal->j_blocksize;

	err = do_one_pass(rc, PASS_SCAN);
	if (!err && fc_replay_needed(rc, info->end_transaction))
		err = -EOPNOTSUPP;
	if (!err)
		err = do_one_pass(rc, PASS_REVOKE);
	if (!err)
		err = do_one_pass(rc, PASS_REPLAY);

	/* Restart the log at the next tid, invalidating every commit record
	 * still in the log. */
	journal->j_transaction_sequence = ++info->end_transaction;
	info->end_transaction--;	/* report [start, end) */

	recovery_clear_revoke(&rc->revoke);
	if (rc->wq_nr)
		replay_write_queue(rc);
	err2 = rc->write_err;
	free(rc->wq);
	free(rc->win);
	free(rc);
	if (!err)
		err = err2;
	err2 = sync_blockdev(journal->j_fs_dev);
	if (!err)
		err = err2;
	return err;
}

/* jbd2_journal_recover - as jbd2_journal_recover_info(), without the report. */
int jbd2_journal_recover(journal_t *journal)
{
	struct jbd2_recovery_info info;

	return jbd2_journal_recover_info(journal, &info);
}

/*
 * jbd2_journal_skip_recovery - the log is stale: find where it ends, replay
 * nothing (fs/jbd2/recovery.c).  ext4 gets here through jbd2_journal_wipe()
 * when s_start says the log has data but the ext4 superblock's
 * needs_recovery is clear: the flag goes to disk before the first commit
 * and is cleared only after the last checkpoint, so a clear flag says the
 * home blocks are newer than anything in the log.  One PASS_SCAN -- the
 * first pass of jbd2_journal_recover(), same checks -- only to learn the
 * first tid and the first block after the log, so that the next
 * transaction gets a tid the stale log never used (peers.md trap 4).
 *
 * As the kernel: after a clean scan j_transaction_sequence is
 * end_transaction + 1 and j_head is head_block (the block after the last
 * complete transaction); if the scan fails, "JBD2: error %d scanning
 * journal", the tid is one more than before and j_head goes back to
 * j_first.  Either way j_tail = 0: in memory the log is now empty (the
 * kernel's jbd2_journal_recover() tests j_tail rather than s_start since
 * a662f3c03b75, "jbd2: do not try to recover wiped journal", because a
 * wipe without write leaves s_start on disk).  A sync commit with a bad
 * checksum ends the scan without an error but leaves j_failed_commit set,
 * so the jbd2_journal_load() that follows fails ("journal transaction %u
 * is corrupt") -- the kernel's does too (seen on 6.18: the first mount
 * fails with EUCLEAN after the wipe cleared s_start, the next succeeds).
 * Model: jbdlab's do_one_pass() has no fast-commit pass, the kernel's
 * would also run fc_do_one_pass(PASS_SCAN) over a FAST_COMMIT journal.
 *
 * Entry: the journal is initialised (superblock checked), not loaded and
 * not live; no locks (as the rest of recovery: nobody else sees it).
 * Exit: j_transaction_sequence, j_head and j_tail set as above, nothing
 * written.  0, or the error of the scan (-EIO, -EFSBADCRC, -EFSCORRUPTED,
 * -ENOMEM).
 */
int jbd2_journal_skip_recovery(journal_t *journal)
{
	struct jbd2_recovery_info info;
	struct recovery_ctx *rc;
	int err;

	memset(&info, 0, sizeof(info));
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		err = -ENOMEM;
	} else {
		rc->journal = journal;
		rc->info = &info;
		rc->dev_blocks = journal->j_fs_dev->size / journal->j_blocksize;
		err = do_one_pass(rc, PASS_SCAN);
		recovery_clear_revoke(&rc->revoke);	/* empty: the scan loads no revokes */
		free(rc->win);
		free(rc);
	}

	if (err) {
		fprintf(stderr, "JBD2: error %d scanning journal\n", err);
		++journal->j_transaction_sequence;
		journal->j_head = journal->j_first;
	} else {
		journal->j_transaction_sequence = ++info.end_transaction;
		journal->j_head = info.head_block;
	}
	journal->j_tail = 0;
	return err;
}

/*
 * jbd2_journal_init_recovery - the journal_t recovery needs, over an
 * internal journal whose block i is fs block blockmap[i] (analogue of
 * jbd2_journal_init_inode() + load_superblock()).  Built here with a
 * minimal helper because the runtime journal's jbd2_journal_init() does
 * not exist yet; only the fields recovery reads are set.
 * The journal is set up for offline recovery (j_recover_direct); a caller
 * that wants the page-cache recovery of a mount clears it.
 * Entry: bdev->bd_mapping is the page cache at the fs block size; no locks.
 */
journal_t *jbd2_journal_init_recovery(struct block_device *bdev, const uint64_t *blockmap,
				      unsigned int nblocks, unsigned int blocksize,
				      int *err, char *errbuf, size_t errlen)
{
	journal_t *j;
	uint64_t dev_blocks = bdev->size / blocksize;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!nblocks || blocksize < 1024 || blockmap[0] >= dev_blocks) {
		snprintf(errbuf, errlen, "journal has no usable superblock block");
		*err = -EFSCORRUPTED;
		return NULL;
	}
	for (unsigned int i = 0; i < nblocks; i++) {
		if (blockmap[i] >= dev_blocks) {
			snprintf(errbuf, errlen, "journal block %u maps to block %llu beyond the device",
				 i, (unsigned long long)blockmap[i]);
			*err = -EFSCORRUPTED;
			return NULL;
		}
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		*err = -ENOMEM;
		return NULL;
	}
	j->j_dev = j->j_fs_dev = bdev;
	j->j_blocksize = (int)blocksize;
	j->j_blockmap = blockmap;
	j->j_total_len = nblocks;
	j->j_recover_direct = true;
	j->j_sb_buffer = __bread(bdev, blockmap[0], blocksize);
	if (!j->j_sb_buffer) {
		snprintf(errbuf, errlen, "cannot read the journal superblock");
		free(j);
		*err = -EIO;
		return NULL;
	}
	j->j_superblock = (journal_superblock_t *)j->j_sb_buffer->b_data;
	*err = jbd2_journal_check_superblock(j, errbuf, errlen);
	if (*err) {
		jbd2_journal_free_recovery(j);
		return NULL;
	}
	return j;
}

void jbd2_journal_free_recovery(journal_t *journal)
{
	if (!journal)
		return;
	brelse(journal->j_sb_buffer);
	free(journal);
}

/*
 * jbd2_journal_reset_after_recovery - mark the log empty after recovery
 * (e2fsck's e2fsck_journal_release(reset = 1); the kernel's journal_reset()
 * writes the same tid with s_start = j_first instead, because it goes on
 * logging).  Entry: recovery ran; no locks.  Exit: the superblock is on
 * disk (FUA) with s_start 0 and s_sequence = j_transaction_sequence.
 */
int jbd2_journal_reset_after_recovery(journal_t *journal)
{
	struct buffer_head *bh = journal->j_sb_buffer;
	journal_superblock_t *sb = journal->j_superblock;
	int err;

	lock_buffer(bh);
	sb->s_start = 0;
	sb->s_sequence = htonl(journal->j_transaction_sequence);
	jbd2_superblock_csum_set(journal, sb);
	unlock_buffer(bh);
	journal->j_tail = 0;
	journal->j_tail_sequence = journal->j_transaction_sequence;
	mark_buffer_dirty(bh);
	err = sync_dirty_buffer(bh);
	if (!err)
		err = blkdev_issue_flush(journal->j_dev);
	return err;
}
