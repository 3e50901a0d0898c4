/* SPDX-License-Identifier: GPL-2.0 */
/*
 * journal.c - the fs side of the journal: what fs/ext4/ext4_jbd2.c,
 * ext4_load_journal(), ext4_mb_free_metadata() and __ext4_error() do for
 * ext4, done for an ext4 image driven through libext2fs.
 *
 * One op = one handle.  jfs_op_begin() starts a jbd2 handle with the op's
 * credits (the kernel's formulas, op.c) and JFS_OP_REVOKES revoke records
 * BEFORE it takes the fs lock (ext4_journal_start_sb: the handle may wait
 * for a commit or for log space, and the commit thread never takes the fs
 * lock); jfs_op_end() writes the changed superblock/GDT/bitmaps inside the
 * handle (Option B, op.c), drops the fs lock, then stops the handle.  A
 * read-only op (credits 0) starts no handle.  __jfs_op_restart() keeps the
 * handle if it still has the credits, else extends it
 * (ext4_journal_ensure_credits), and only when the running transaction is
 * full restarts it -- with the fs lock DROPPED around
 * jbd2__journal_restart(): a restart waits for the running transaction to
 * have no open handle, and a thread holding an open handle may be waiting
 * for the fs lock (ext4 drops i_data_sem around its restarts for the same
 * reason).  The op is suspended meanwhile (in_op cleared).  Model: the
 * kernel keeps i_rwsem across the restart; our ops hold no per-inode lock,
 * so another op may run in the gap and the chunked callers (truncate,
 * punch, fallocate, evict) continue with their copy of the inode -- safe
 * under FUSE, whose VFS holds i_rwsem around write/setattr/fallocate of
 * one inode, not for direct library users racing on one inode.
 *
 * Metadata.  libext2fs writes whole blocks through the io_manager, which
 * inside a handle calls __jfs_journal_write_meta(): bdev_getblk ->
 * jbd2_journal_get_write_access (jbd2_journal_get_create_access, under the
 * buffer lock, for a block allocated in this op that has no journal_head:
 * its old contents do not matter) -> copy under the buffer lock ->
 * jbd2_journal_dirty_metadata -> brelse (__ext4_journal_get_write_access +
 * __ext4_handle_dirty_metadata).  The superblock is journaled like any
 * block (sbi->s_sbh).  Writes outside a handle happen only in the
 * mount/unmount phases (the io_manager asserts it).
 *
 * Data.  data=ordered: the data buffer (our file data lives in the bdev
 * cache, file.c) is dirtied and filed with jbd2_journal_file_data() so the
 * commit writes it before its commit block -- every data write, not only
 * newly allocated blocks (ext3's ordered mode; ext4 files only new
 * mappings, a subset: the model is stricter, never weaker).  data=journal:
 * data blocks are journaled like metadata and the write op declares them
 * (ext4_writepage_trans_blocks + bpp).
 *
 * Frees (ext4_mb_free_metadata).  A block freed in transaction T must not
 * be handed out again before T commits: its new contents could reach the
 * disk (ordered data) while a crash brings back T's predecessor, which
 * still points at it.  The block-alloc-stats hook records every free
 * (inuse < 0) against the running tid in a pending map; the allocation
 * hooks (ext2fs_set_alloc_block_callback: ext2fs_new_block2/3 with a NULL
 * map -- file.c's allocator -- and ext2fs_alloc_block2/3 -- extent, dir,
 * EA blocks; ext2fs_set_new_range_callback: fallocate) search the block
 * bitmap AND skip pending blocks; j_commit_callback releases T's blocks in
 * the commit thread.  The superblock and descriptor free counts include
 * pending blocks (as the kernel's do); jfs_pending_free_blocks() lets the
 * ENOSPC pre-checks subtract them, and jfs_journal_start() forces a commit
 * when pending frees are what stands between an op and ENOSPC (the
 * kernel's ext4_should_retry_alloc, done before the handle exists).
 * A freed block that may still be in the live log
 * (jbd2_journal_block_logged) gets jbd2_journal_revoke() in ordered mode
 * (the cached bh is passed in and consumed: the revoke forgets it, so no
 * checkpoint writes the stale metadata over the block's next owner);
 * data=journal never revokes, it forgets (__ext4_forget).
 *
 * fsync (ext4_sync_file): the inode's i_sync_tid / i_datasync_tid, set
 * whenever an op writes the inode, is completed with
 * jbd2_complete_transaction(); the commit writes the ordered data first.
 * syncfs commits the running transaction (ext4_sync_fs).
 *
 * Errors (__ext4_error + ext4_handle_error).  A libext2fs failure after the
 * op started changing things, or a journal call failing, records the error
 * in the superblock (s_error_count, s_first_error_*, s_last_error_*,
 * EXT2_ERROR_FS) and then: errors=remount-ro (default, or s_errors):
 * jbd2_journal_abort(-EIO) and the fs becomes read-only (modifying ops get
 * -EROFS), the superblock is written directly with REQ_FUA
 * (ext4_commit_super); errors=continue: the superblock goes out through
 * the journal with this op; errors=panic: the process aborts.  An aborted
 * journal is sticky.  Model: the direct superblock write patches the
 * error fields into the superblock as it is on the disk (the last
 * checkpointed state) instead of writing the in-memory one, whose other
 * fields belong to the uncommitted transaction.
 *
 * Locking rules:
 *   - order: handle start -> fs lock -> pending lock (fs->pending->lock) ->
 *     page cache and journal locks; the fs lock is dropped before the
 *     handle stops;
 *   - the commit callback (commit thread) takes only the pending lock and
 *     never waits for anything while holding it: a thread holding the fs
 *     lock and waiting for a commit cannot block it;
 *   - the allocation and stats hooks run inside libext2fs calls, with the
 *     fs lock held, and take the pending lock;
 *   - `__` functions assert the fs lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <ext2fs/ext2_err.h>
#include "fs_internal.h"
#include "journal/jbd2_internal.h"	/* jbd2_journal_update_sb_errno() */

/* ------------------------------------------------------- pending frees */

struct jfs_pending_tid {
	tid_t tid;
	blk64_t *blks;
	size_t n, cap;
};

struct jfs_pending {
	pthread_mutex_t lock;
	ext2fs_block_bitmap map;		/* pending blocks [lock] */
	struct jfs_pending_tid *tids;		/* oldest first [lock] */
	size_t ntids, cap;			/* [lock] */
	_Atomic uint64_t nr;			/* pending blocks [atomic; written under lock] */
};

uint64_t jfs_pending_free_blocks(struct jfs *fs)
{
	return fs->pending ? atomic_load(&fs->pending->nr) : 0;
}

/* Record a free of @blk in @tid.  Entry: fs lock held; takes the pending lock. */
static void pending_add(struct jfs_pending *p, tid_t tid, blk64_t blk)
{
	struct jfs_pending_tid *pt = NULL;

	pthread_mutex_lock(&p->lock);
	if (ext2fs_test_block_bitmap2(p->map, blk))
		goto out;		/* freed twice before a commit */
	if (p->ntids && p->tids[p->ntids - 1].tid == tid) {
		pt = &p->tids[p->ntids - 1];
	} else {
		if (p->ntids == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 4;
			struct jfs_pending_tid *v = realloc(p->tids, cap * sizeof(*v));

			BUG_ON(!v);
			p->tids = v;
			p->cap = cap;
		}
		pt = &p->tids[p->ntids++];
		memset(pt, 0, sizeof(*pt));
		pt->tid = tid;
	}
	if (pt->n == pt->cap) {
		size_t cap = pt->cap ? 2 * pt->cap : 64;
		blk64_t *v = realloc(pt->blks, cap * sizeof(*v));

		BUG_ON(!v);
		pt->blks = v;
		pt->cap = cap;
	}
	pt->blks[pt->n++] = blk;
	ext2fs_mark_block_bitmap2(p->map, blk);
	atomic_fetch_add(&p->nr, 1);
out:
	pthread_mutex_unlock(&p->lock);
}

/*
 * jfs_commit_callback - j_commit_callback: @t is durable, its frees (and
 * those of any older tid) may be reused (ext4_process_freed_data).
 * Entry: the commit thread, no locks; takes only the pending lock.
 */
static void jfs_commit_callback(journal_t *journal, transaction_t *t)
{
	struct jfs *fs = journal->j_private;
	struct jfs_pending *p = fs->pending;
	size_t i, done = 0;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->ntids && !tid_gt(p->tids[i].tid, t->t_tid); i++) {
		struct jfs_pending_tid *pt = &p->tids[i];

		for (size_t k = 0; k < pt->n; k++)
			ext2fs_unmark_block_bitmap2(p->map, pt->blks[k]);
		atomic_fetch_sub(&p->nr, pt->n);
		free(pt->blks);
		done++;
	}
	if (done) {
		memmove(p->tids, p->tids + done, (p->ntids - done) * sizeof(*p->tids));
		p->ntids -= done;
	}
	pthread_mutex_unlock(&p->lock);
}

/* First block in [start, end] free in the block bitmap and not pending.
 * Entry: fs lock and pending lock held.  0 or ENOENT. */
static errcode_t find_free(ext2_filsys e2fs, struct jfs_pending *p, blk64_t start, blk64_t end,
			   blk64_t *out)
{
	blk64_t b = start, z;
	errcode_t err;

	while (b <= end) {
		err = ext2fs_find_first_zero_block_bitmap2(e2fs->block_map, b, end, &z);
		if (err)
			return err;
		if (!ext2fs_test_block_bitmap2(p->map, z)) {
			*out = z;
			return 0;
		}
		/* skip the run of pending blocks */
		err = ext2fs_find_first_zero_block_bitmap2(p->map, z, end, &b);
		if (err)
			return err;
	}
	return ENOENT;
}

/* End (exclusive) of the free, non-pending run starting at @s, at most @lim. */
static blk64_t free_run_end(ext2_filsys e2fs, struct jfs_pending *p, blk64_t s, blk64_t lim)
{
	blk64_t e1 = lim + 1, e2 = lim + 1, x;

	if (!ext2fs_find_first_set_block_bitmap2(e2fs->block_map, s, lim, &x))
		e1 = x;
	if (!ext2fs_find_first_set_block_bitmap2(p->map, s, lim, &x))
		e2 = x;
	return e1 < e2 ? e1 : e2;
}

/* Remember a block handed out in this op (create access for its first write). */
static void note_new_block(struct jfs *fs, blk64_t blk)
{
	if (fs->op_nnew == fs->op_new_cap) {
		unsigned int cap = fs->op_new_cap ? 2 * fs->op_new_cap : 32;
		blk64_t *v = realloc(fs->op_new, cap * sizeof(*v));

		if (!v)
			return;		/* only an optimisation */
		fs->op_new = v;
		fs->op_new_cap = cap;
	}
	fs->op_new[fs->op_nnew++] = blk;
}

static bool block_is_new(struct jfs *fs, blk64_t blk)
{
	for (unsigned int i = 0; i < fs->op_nnew; i++)
		if (fs->op_new[i] == blk)
			return true;
	return false;
}

/*
 * jfs_get_alloc_block - the get_alloc_block hook (ext2fs_new_block2/3 with
 * a NULL map, ext2fs_alloc_block2/3): the first block at or after @goal
 * (wrapping) that is free and not pending.  Entry: inside libext2fs, fs
 * lock held.
 */
static errcode_t jfs_get_alloc_block(ext2_filsys e2fs, blk64_t goal, blk64_t *ret)
{
	struct jfs *fs = e2fs->priv_data;
	struct jfs_pending *p = fs->pending;
	blk64_t first = e2fs->super->s_first_data_block;
	blk64_t last = ext2fs_blocks_count(e2fs->super) - 1;
	blk64_t b = 0;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	if (!goal || goal < first || goal > last)
		goal = first;
	pthread_mutex_lock(&p->lock);
	err = find_free(e2fs, p, goal, last, &b);
	if (err == ENOENT && goal > first)
		err = find_free(e2fs, p, first, goal - 1, &b);
	pthread_mutex_unlock(&p->lock);
	if (err == ENOENT)
		return EXT2_ET_BLOCK_ALLOC_FAIL;
	if (err)
		return err;
	ext2fs_clear_block_uninit(e2fs, ext2fs_group_of_blk2(e2fs, b));
	note_new_block(fs, b);
	*ret = b;
	return 0;
}

/*
 * jfs_new_range - the new_range hook (ext2fs_new_range with a NULL map, as
 * fallocate calls it): ext2fs_new_range's search over "free and not
 * pending", with its FIXED_GOAL and MIN_LENGTH semantics.
 * Entry: inside libext2fs, fs lock held.
 */
static errcode_t jfs_new_range(ext2_filsys e2fs, int flags, blk64_t goal, blk64_t len,
			       blk64_t *pblk, blk64_t *plen)
{
	struct jfs *fs = e2fs->priv_data;
	struct jfs_pending *p = fs->pending;
	blk64_t first = e2fs->super->s_first_data_block;
	blk64_t max = ext2fs_blocks_count(e2fs->super);
	blk64_t start, s, end;
	bool looped = false;
	errcode_t err, ret = EXT2_ET_BLOCK_ALLOC_FAIL;

	lockdep_assert_held(&fs->fs_lock);
	if (!goal || goal >= max)
		goal = first;
	start = goal;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (looped && start > goal)
			break;
		err = find_free(e2fs, p, start, max - 1, &s);
		if (err == ENOENT) {
			if ((flags & EXT2_NEWRANGE_FIXED_GOAL) || looped)
				break;
			looped = true;
			start = first;
			continue;
		} else if (err) {
			ret = err;
			break;
		}
		if ((flags & EXT2_NEWRANGE_FIXED_GOAL) && s != goal)
			break;
		end = free_run_end(e2fs, p, s, s + len - 1 < max - 1 ? s + len - 1 : max - 1);
		if (!(flags & EXT2_NEWRANGE_MIN_LENGTH) || end - s >= len) {
			*pblk = s;
			*plen = end - s;
			ret = 0;
			break;
		}
		if (flags & EXT2_NEWRANGE_FIXED_GOAL)
			break;
		start = end;
		if (start >= max) {
			if (looped)
				break;
			looped = true;
			start = first;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (!ret)
		for (blk64_t b = *pblk; b < *pblk + *plen; b++)
			note_new_block(fs, b);
	return ret;
}

/*
 * jfs_journal_alloc_stats - the block-alloc-stats hook, chained before
 * op.c's dirty-group hook.  A free is deferred to the commit of the running
 * transaction and, if the block may be in the live log, revoked (ordered)
 * or forgotten (data=journal) -- __ext4_forget().  Entry: inside
 * libext2fs, fs lock held, inside an op.
 */
static void jfs_journal_alloc_stats(ext2_filsys e2fs, blk64_t blk, int inuse)
{
	struct jfs *fs = e2fs->priv_data;
	handle_t *h = fs->handle;
	struct buffer_head *bh;
	tid_t logged_tid;
	int err = 0;

	if (fs->chained_alloc_stats)
		fs->chained_alloc_stats(e2fs, blk, inuse);
	if (blk < e2fs->super->s_first_data_block || blk >= ext2fs_blocks_count(e2fs->super))
		return;
	if (inuse > 0) {
		note_new_block(fs, blk);
		return;
	}
	if (!fs->journal)
		return;
	if (WARN_ON_ONCE(!h || IS_ERR(h)) || !h->h_transaction)
		return;		/* a free outside a (live) handle: a missed op */
	pending_add(fs->pending, h->h_transaction->t_tid, blk);

	if (fs->opts.data_journal) {
		/* __ext4_forget(): never revoke with full data journaling */
		bh = __find_get_block_nonatomic(fs->bdev, blk, fs->blocksize);
		if (bh)
			err = jbd2_journal_forget(h, bh);	/* consumes bh */
	} else if (jbd2_journal_block_logged(fs->journal, blk, &logged_tid)) {
		if (h->h_revoke_credits <= 0 && jbd2_journal_extend(h, 0, JFS_OP_REVOKES)) {
			JFS_ERROR(fs, -ENOSPC, 0, blk,
				  "op %s: out of revoke credits freeing block %llu",
				  fs->op_name ? fs->op_name : "?", (unsigned long long)blk);
			return;
		}
		bh = __find_get_block_nonatomic(fs->bdev, blk, fs->blocksize);
		err = jbd2_journal_revoke(h, blk, bh);		/* consumes bh */
	}
	if (err)
		JFS_ERROR(fs, err, 0, blk, "error %d forgetting/revoking block %llu", err,
			  (unsigned long long)blk);
}

void __jfs_journal_install_hooks(struct jfs *fs)
{
	ext2_filsys e2fs = fs->e2fs;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	ext2fs_set_block_alloc_stats_callback(e2fs, jfs_journal_alloc_stats,
					      &fs->chained_alloc_stats);
	if (!fs->journal)
		return;
	fs->pending = calloc(1, sizeof(*fs->pending));
	BUG_ON(!fs->pending);
	pthread_mutex_init(&fs->pending->lock, NULL);
	err = ext2fs_allocate_block_bitmap(e2fs, "pending frees", &fs->pending->map);
	BUG_ON(err);
	ext2fs_set_alloc_block_callback(e2fs, jfs_get_alloc_block, NULL);
	ext2fs_set_new_range_callback(e2fs, jfs_new_range, NULL);
}

/* Entry: the journal is destroyed (no more commit callbacks), fs lock held. */
void __jfs_journal_free_hooks(struct jfs *fs)
{
	struct jfs_pending *p = fs->pending;

	lockdep_assert_held(&fs->fs_lock);
	if (!p)
		return;
	for (size_t i = 0; i < p->ntids; i++)
		free(p->tids[i].blks);
	free(p->tids);
	ext2fs_free_block_bitmap(p->map);
	pthread_mutex_destroy(&p->lock);
	free(p);
	fs->pending = NULL;
}

void __jfs_journal_op_reset(struct jfs *fs)
{
	lockdep_assert_held(&fs->fs_lock);
	fs->op_nnew = 0;
}

/* ------------------------------------------------------------- loading */

int __jfs_journal_build_map(struct jfs *fs, ext2_filsys e2fs, char *errbuf, size_t errlen)
{
	ext2_ino_t ino = e2fs->super->s_journal_inum;
	struct ext2_inode_large inode;
	uint64_t size, n;
	uint64_t *map;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	memset(&inode, 0, sizeof(inode));
	err = ext2fs_read_inode_full(e2fs, ino, (struct ext2_inode *)&inode, sizeof(inode));
	if (err) {
		snprintf(errbuf, errlen, "jbdlab: %s: cannot read the journal inode %u: %s",
			 fs->image, ino, error_message(err));
		return -EUCLEAN;
	}
	size = EXT2_I_SIZE(&inode);
	n = size / fs->blocksize;
	/* ext4_get_journal_inode()'s checks */
	if (!inode.i_links_count || !LINUX_S_ISREG(inode.i_mode) ||
	    n < JBD2_MIN_JOURNAL_BLOCKS || n > ext2fs_blocks_count(e2fs->super) || n > UINT32_MAX) {
		snprintf(errbuf, errlen, "jbdlab: %s: journal inode %u is invalid (mode 0%o, %llu bytes)",
			 fs->image, ino, inode.i_mode, (unsigned long long)size);
		return -EUCLEAN;
	}
	map = calloc(n, sizeof(*map));
	if (!map) {
		snprintf(errbuf, errlen, "jbdlab: %s: out of memory", fs->image);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) {
		blk64_t pblk = 0;

		err = ext2fs_bmap2(e2fs, ino, (struct ext2_inode *)&inode, NULL, 0, i, NULL, &pblk);
		if (err || !pblk || pblk >= ext2fs_blocks_count(e2fs->super)) {
			snprintf(errbuf, errlen, "jbdlab: %s: cannot map journal block %llu: %s",
				 fs->image, (unsigned long long)i,
				 err ? error_message(err) : "hole or block out of range");
			free(map);
			return -EUCLEAN;
		}
		map[i] = pblk;
	}
	free(fs->jmap);
	fs->jmap = map;
	fs->jmap_len = (unsigned int)n;
	return 0;
}

/*
 * A stale log: s_start is set but the ext4 superblock's needs_recovery is
 * clear, so the home blocks are newer than anything in the log (the flag
 * is on disk before the first commit and cleared after the last
 * checkpoint).  ext4_load_journal(): jbd2_journal_wipe(journal,
 * !really_read_only) -- scan the log for the next tid, replay nothing,
 * mark the log empty on disk unless the device is read-only
 * (fs->bdev->read_only: the image cannot be written).  A scan error fails
 * the mount ("error loading journal") after the superblock was cleared,
 * as the kernel's.  Model: the kernel checks needs_recovery here; in
 * jbdlab super.c has already replayed (and cleared the flag) when it was
 * set, so a log found here is always stale.  Entry: fs lock held, mount
 * phase, @j initialised and not loaded (not live: its fields are read
 * without j_state_lock).
 */
static int __jfs_journal_wipe_stale(struct jfs *fs, journal_t *j, char *errbuf, size_t errlen)
{
	int err;

	lockdep_assert_held(&fs->fs_lock);
	if (!j->j_tail)
		return 0;
	fprintf(stderr, "jbdlab: %s: needs_recovery is clear but the journal has data (s_start %lu, tid %u): not replayed\n",
		fs->image, j->j_tail, j->j_tail_sequence);
	err = jbd2_journal_wipe(j, !fs->bdev->read_only);
	if (err)
		snprintf(errbuf, errlen, "jbdlab: %s: error loading journal: scanning the stale log: %s",
			 fs->image, strerror(-err));
	return err;
}

/*
 * jfs_journal_load - ext4_load_journal() for a clean, just replayed or
 * stale journal (a stale log is wiped, __jfs_journal_wipe_stale()), then
 * ext4_set_journal_csum_feature_set() and the 64BIT bit, and
 * ext4_clear_journal_err().  Entry: mount phase, fs lock held (nothing
 * here waits for the fs lock), fs->e2fs open rw, fs->jmap built.
 */
int jfs_journal_load(struct jfs *fs, char *errbuf, size_t errlen)
{
	struct ext2_super_block *es = fs->e2fs->super;
	journal_t *j;
	int err;

	j = jbd2_journal_init(fs->bdev, fs->jmap, fs->jmap_len, fs->blocksize);
	if (!j) {
		snprintf(errbuf, errlen, "jbdlab: %s: cannot load the journal (bad journal superblock)",
			 fs->image);
		return -EUCLEAN;
	}
	j->j_commit_interval = (fs->opts.commit_interval ? fs->opts.commit_interval
				: JBD2_DEFAULT_MAX_COMMIT_AGE) * 1000UL;
	j->j_private = fs;
	j->j_commit_callback = jfs_commit_callback;
	j->j_data_journal = fs->opts.data_journal;
	j->j_revoke_lookup_alias = fs->opts.revoke_lookup_alias;
	/* (a journal that never loaded is destroyed without a write) */
	if (!ext2fs_has_feature_journal_needs_recovery(es)) {
		err = __jfs_journal_wipe_stale(fs, j, errbuf, errlen);
		if (err) {
			jbd2_journal_destroy(j);
			return err;
		}
	}
	err = jbd2_journal_load(j);
	if (err) {
		snprintf(errbuf, errlen, "jbdlab: %s: cannot load the journal: %s", fs->image,
			 strerror(-err));
		jbd2_journal_destroy(j);
		return err;
	}
	/* ext4_set_journal_csum_feature_set() (no journal_checksum option) */
	if (ext2fs_has_feature_metadata_csum(es)) {
		jbd2_journal_set_features(j, 0, 0, JBD2_FEATURE_INCOMPAT_CSUM_V3);
		jbd2_journal_clear_features(j, JBD2_FEATURE_COMPAT_CHECKSUM, 0,
					    JBD2_FEATURE_INCOMPAT_CSUM_V2 |
					    JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT);
	} else {
		jbd2_journal_clear_features(j, JBD2_FEATURE_COMPAT_CHECKSUM, 0,
					    JBD2_FEATURE_INCOMPAT_CSUM_V2 |
					    JBD2_FEATURE_INCOMPAT_CSUM_V3 |
					    JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT);
	}
	if (ext2fs_has_feature_64bit(es) &&
	    !jbd2_journal_set_features(j, 0, 0, JBD2_FEATURE_INCOMPAT_64BIT)) {
		snprintf(errbuf, errlen, "jbdlab: %s: failed to set 64-bit journal feature",
			 fs->image);
		jbd2_journal_destroy(j);
		return -EINVAL;
	}
	/* ext4_clear_journal_err(): an error recorded by a previous abort */
	if (j->j_superblock->s_errno) {
		fprintf(stderr, "jbdlab: %s: filesystem error recorded from previous mount: %d\n",
			fs->image, (int)(int32_t)ntohl((uint32_t)j->j_superblock->s_errno));
		fs->had_errors = true;
		es->s_state |= EXT2_ERROR_FS;
		jbd2_journal_update_sb_errno(j);	/* j_errno is 0 after load */
	}
	fs->journal = j;
	return 0;
}

/*
 * __jfs_journal_log_start - s_start of the journal superblock as it is on
 * the disk (through the page cache), without checking anything else: a
 * bad superblock is for jbd2_journal_init() to report.  0 for an empty
 * log, or one that cannot be read or has no journal magic.
 * Entry: fs lock held, mount phase, fs->jmap built.
 */
unsigned long __jfs_journal_log_start(struct jfs *fs)
{
	struct buffer_head *bh;
	const journal_superblock_t *sb;
	unsigned long start = 0;

	lockdep_assert_held(&fs->fs_lock);
	if (!fs->jmap_len)
		return 0;
	bh = __bread(fs->bdev, fs->jmap[0], fs->blocksize);
	if (!bh)
		return 0;
	sb = (const journal_superblock_t *)bh->b_data;
	if (ntohl(sb->s_header.h_magic) == JBD2_MAGIC_NUMBER)
		start = ntohl(sb->s_start);
	brelse(bh);
	return start;
}

/*
 * __jfs_journal_wipe_ro - the part of ext4_load_journal() a ro mount
 * needs.  The kernel loads the journal on ro mounts too, so a stale log
 * is wiped there as well -- cleared on disk when the device is writable
 * (ro means no user writes, not no device writes: peers.md trap 10),
 * ignored on a read-only device.  jbdlab's ro mounts keep no journal:
 * init, the wipe, the failed-commit check of jbd2_journal_load() (a
 * corrupt commit in the stale log fails the mount, as in the kernel),
 * then the journal is dropped -- never loaded, it writes nothing more.
 * Model: on a read-only device the kernel's jbd2_journal_load() then
 * tries to write the superblock (s_start is still set on disk) and the
 * mount fails (6.18); here it succeeds, writing nothing.
 * Entry: fs lock held, mount phase, fs->jmap built, fs->bdev writable
 * unless the image cannot be written.  0 or -errno with errbuf set.
 */
int __jfs_journal_wipe_ro(struct jfs *fs, char *errbuf, size_t errlen)
{
	journal_t *j;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	j = jbd2_journal_init(fs->bdev, fs->jmap, fs->jmap_len, fs->blocksize);
	if (!j) {
		snprintf(errbuf, errlen, "jbdlab: %s: cannot load the journal (bad journal superblock)",
			 fs->image);
		return -EUCLEAN;
	}
	err = __jfs_journal_wipe_stale(fs, j, errbuf, errlen);
	if (!err && j->j_failed_commit) {
		fprintf(stderr, "JBD2: journal transaction %u is corrupt.\n", j->j_failed_commit);
		snprintf(errbuf, errlen, "jbdlab: %s: cannot load the journal: %s", fs->image,
			 strerror(EFSCORRUPTED));
		err = -EFSCORRUPTED;
	}
	jbd2_journal_destroy(j);	/* not loaded: -EIO, nothing written */
	return err;
}

int jfs_journal_destroy(struct jfs *fs)
{
	journal_t *j = fs->journal;

	if (!j)
		return 0;
	fs->journal = NULL;
	/* the final commit's callback still needs fs->pending: freed later */
	return jbd2_journal_destroy(j);
}

/*
 * jfs_journal_discard_dirty - after an abort nothing more goes home: the
 * next mount replays the committed transactions (needs_recovery stays),
 * as the kernel writes nothing after ext4_handle_error's shutdown.  Drops
 * the dirty state of every cached buffer.  Entry: unmount, writeback
 * stopped, no handle, fs lock held or not (no libext2fs call).
 */
void jfs_journal_discard_dirty(struct jfs *fs)
{
	uint64_t nblocks = fs->bdev->size / fs->blocksize;

	for (uint64_t b = 0; b < nblocks; b++) {
		struct buffer_head *bh = __find_get_block_nonatomic(fs->bdev, b, fs->blocksize);

		if (!bh)
			continue;
		if (buffer_dirty(bh))
			clear_buffer_dirty_folio(bh);
		brelse(bh);
	}
}

/* ------------------------------------------------------------- handles */

/* Pending frees are what stands between the next allocations and ENOSPC:
 * commit them first (ext4_should_retry_alloc, before the handle). */
static void maybe_commit_for_space(struct jfs *fs)
{
	uint64_t pend = jfs_pending_free_blocks(fs), freeb, total;

	if (!pend)
		return;
	freeb = ext2fs_free_blocks_count(fs->e2fs->super);	/* racy: a hint */
	total = ext2fs_blocks_count(fs->e2fs->super);
	if (freeb >= pend + total / 16 + 4 * JFS_CHUNK_BLOCKS)
		return;
	jbd2_journal_force_commit(fs->journal);
}

handle_t *jfs_journal_start(struct jfs *fs, const char *name, int credits, unsigned int line)
{
	if (!fs->journal || credits <= 0)
		return NULL;
	if (jbd2_journal_current_handle()) {
		/* ops never nest: a handle here is a bug of the caller */
		WARN_ON_ONCE(1);
		return ERR_PTR(-EINVAL);
	}
	maybe_commit_for_space(fs);
	return jbd2__journal_start(fs->journal, credits, 0, JFS_OP_REVOKES, jfs_handle_type(name),
				   line, name);
}

int jfs_journal_stop(struct jfs *fs, handle_t *h)
{
	if (!h)
		return 0;
	return jbd2_journal_stop(h);
}

/*
 * __jfs_journal_ensure_credits - the handle part of __jfs_op_restart()
 * (ext4_journal_ensure_credits_fn): keep the handle if it still has
 * @credits buffer credits and its revoke records, else extend it, else
 * restart it -- with the fs lock dropped around jbd2__journal_restart()
 * (see the essay); *dropped tells the caller to retake its snapshots.  A
 * read-only op that must write (atime) starts its handle here, also with
 * the lock dropped.  Entry/exit: fs lock held, inside an op, the op's
 * metadata already synced.  0 or -errno (-EROFS: aborted or ro meanwhile).
 */
int __jfs_journal_ensure_credits(struct jfs *fs, int credits, bool *dropped)
{
	handle_t *h = fs->handle;
	const char *name;
	int err = 0;

	lockdep_assert_held(&fs->fs_lock);
	*dropped = false;
	if (!fs->journal || credits <= 0)
		return 0;
	if (h && !IS_ERR(h) && h->h_transaction) {
		int have = jbd2_handle_buffer_credits(h);
		int rev = h->h_revoke_credits;

		if (have >= credits && rev >= JFS_OP_REVOKES)
			return 0;
		if (!jbd2_journal_extend(h, have < credits ? credits - have : 0,
					 rev < JFS_OP_REVOKES ? JFS_OP_REVOKES - rev : 0))
			return 0;
	}
	/* Suspend the op: other ops run while the fs lock is dropped (they
	 * see no op in progress; the per-op state is theirs meanwhile). */
	*dropped = true;
	name = fs->op_name;
	fs->in_op = false;
	fs->handle = NULL;
	current_jfs = NULL;
	mutex_unlock(&fs->fs_lock);
	if (!h) {
		h = jfs_journal_start(fs, name, credits, __LINE__);
		if (IS_ERR(h)) {
			err = (int)PTR_ERR(h);
			h = NULL;
		}
	} else {
		err = jbd2__journal_restart(h, credits, JFS_OP_REVOKES);
	}
	mutex_lock(&fs->fs_lock);
	BUG_ON(fs->in_op);
	current_jfs = fs;
	fs->in_op = true;
	fs->op_name = name;
	fs->handle = h;
	if (!err && fs->ro)
		err = -EROFS;
	return err;
}

/* ------------------------------------------------------ journaled writes */

static int journal_error(struct jfs *fs, const char *what, blk64_t blk, int err)
{
	if (err == -EROFS && jbd2_is_journal_aborted(fs->journal))
		return err;	/* already handled */
	if (fs->handle && fs->handle->h_aborted)
		return err;	/* the handle was aborted: reported then */
	JFS_ERROR(fs, err, 0, blk, "%s failed on block %llu (op %s): %d", what,
		  (unsigned long long)blk, fs->op_name ? fs->op_name : "?", err);
	return err;
}

/* ext4_decode_error() for the messages below. */
static const char *ext4_decode_error(struct jfs *fs, int err, char nbuf[24])
{
	switch (err) {
	case -EIO:
		return "IO failure";
	case -ENOMEM:
		return "Out of memory";
	case -EROFS:
		return fs->journal && jbd2_is_journal_aborted(fs->journal) ?
		       "Journal has aborted" : "Readonly filesystem";
	default:
		snprintf(nbuf, 24, "error %d", -err);
		return nbuf;
	}
}

/*
 * __ext4_handle_dirty_metadata()'s failure path.  jbd2 refused the buffer:
 * -ENOSPC when the handle has no buffer credit left (jbd2 has already
 * printed its WARN_ON_ONCE; kernel-race.md I3), or a bug.  ext4 then warns
 * once itself, aborts the handle (ext4_journal_abort_handle(): h_err,
 * "aborting transaction: error 28 in __ext4_handle_dirty_metadata",
 * jbd2_journal_abort_handle()) and calls ext4_error_inode() with the
 * handle's type, start line and credits as requested/left ("credits 11/0"):
 * the error count and the errors= behaviour (journal abort, read-only) of
 * __jfs_error.  An aborted handle's later refusals say nothing more.
 * Model: ext4 prints only pr_err when the caller passed no inode; every
 * failure here goes through ext4_error (with inode 0 outside write and
 * fallocate), so that the fs stops as it does on the extent path.
 * Entry: fs lock held, inside the op's handle @h.
 */
static int __dirty_metadata_failed(struct jfs *fs, handle_t *h, blk64_t blk, int err)
{
	char nbuf[24];

	lockdep_assert_held(&fs->fs_lock);
	if (h->h_aborted || jbd2_is_journal_aborted(fs->journal))
		return err;
	WARN_ON_ONCE(err);
	if (!h->h_err)
		h->h_err = err;
	fprintf(stderr, "EXT4-fs: %s: %s:%u: aborting transaction: %s in "
		"__ext4_handle_dirty_metadata\n", fs->image, fs->op_name ? fs->op_name : "?",
		h->h_line_no, ext4_decode_error(fs, err, nbuf));
	jbd2_journal_abort_handle(h);
	JFS_ERROR(fs, err, fs->op_ino, blk, "inode #%u: block %llu: journal_dirty_metadata failed: "
		  "handle type %u started at line %u, credits %u/%u, errcode %d",
		  (unsigned int)fs->op_ino, (unsigned long long)blk, h->h_type, h->h_line_no,
		  h->h_requested_credits, jbd2_handle_buffer_credits(h), err);
	return err;
}

int __jfs_journal_write_meta(struct jfs *fs, blk64_t blk, size_t off, const void *src, size_t n)
{
	handle_t *h = fs->handle;
	unsigned int bs = fs->blocksize;
	struct buffer_head *bh;
	bool create;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	BUG_ON(!h || IS_ERR(h) || h != jbd2_journal_current_handle());
	if (!h->h_transaction)
		return -EROFS;	/* detached by a failed restart */
	bh = bdev_getblk(fs->bdev, blk, bs);
	create = n == bs && !buffer_jbd(bh) && block_is_new(fs, blk);
	if (!create && n < bs && !buffer_uptodate(bh) && bh_read(bh)) {
		brelse(bh);
		return -EIO;
	}
	if (create) {
		/* ext4_getblk(EXT4_GET_BLOCKS_CREATE): the buffer lock across
		 * get_create_access and the initialisation */
		lock_buffer(bh);
		yield_point(YP_CREATE_ACCESS);
		err = jbd2_journal_get_create_access(h, bh);
		if (!err) {
			memcpy(bh->b_data + off, src, n);
			set_buffer_uptodate(bh);
		}
		unlock_buffer(bh);
	} else {
		err = jbd2_journal_get_write_access(h, bh);
		if (!err) {
			lock_buffer(bh);
			memcpy(bh->b_data + off, src, n);
			set_buffer_uptodate(bh);
			unlock_buffer(bh);
		}
	}
	if (err) {
		brelse(bh);
		return journal_error(fs, create ? "get_create_access" : "get_write_access", blk, err);
	}
	/* __ext4_handle_dirty_metadata(): BH_Meta and BH_Prio, then jbd2. */
	set_buffer_meta(bh);
	set_buffer_prio(bh);
	err = jbd2_journal_dirty_metadata(h, bh);
	brelse(bh);
	if (err)
		return __dirty_metadata_failed(fs, h, blk, err);
	return 0;
}

int __jfs_journal_write_data(struct jfs *fs, blk64_t pblk, size_t boff, const char *src,
			     size_t n, bool fresh)
{
	unsigned int bs = fs->blocksize;
	handle_t *h = fs->handle;
	struct buffer_head *bh;
	char *zeros = NULL;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	if (fs->journal && fs->opts.data_journal) {
		/* data=journal: the block is journaled like metadata */
		if (fresh && n < bs) {
			zeros = calloc(1, bs);
			if (!zeros)
				return -ENOMEM;
			if (src)
				memcpy(zeros + boff, src, n);
			if (!block_is_new(fs, pblk))
				note_new_block(fs, pblk);
			err = __jfs_journal_write_meta(fs, pblk, 0, zeros, bs);
			free(zeros);
			return err;
		}
		if (!src) {
			zeros = calloc(1, n);
			if (!zeros)
				return -ENOMEM;
		}
		if (fresh && !block_is_new(fs, pblk))
			note_new_block(fs, pblk);
		err = __jfs_journal_write_meta(fs, pblk, boff, src ? src : zeros, n);
		free(zeros);
		return err;
	}

	bh = bdev_getblk(fs->bdev, pblk, bs);
	if (!fresh && n < bs && !buffer_uptodate(bh) && bh_read(bh)) {
		brelse(bh);
		return -EIO;
	}
	lock_buffer(bh);
	if (fresh && n < bs)
		memset(bh->b_data, 0, bs);
	if (src)
		memcpy(bh->b_data + boff, src, n);
	else
		memset(bh->b_data + boff, 0, n);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
	mark_buffer_dirty(bh);
	err = 0;
	if (fs->journal && h) {
		/* data=ordered: home before the commit that maps it */
		err = jbd2_journal_file_data(h, bh);
		if (err)
			err = journal_error(fs, "file_data", pblk, err);
	}
	brelse(bh);
	return err;
}

/* ---------------------------------------------------------------- fsync */

void __jfs_inode_update_tid(struct jfs *fs, ext2_ino_t ino, bool datasync)
{
	struct jfs_inode *ji;
	tid_t tid;

	lockdep_assert_held(&fs->fs_lock);
	if (!fs->handle || IS_ERR(fs->handle) || !fs->handle->h_transaction)
		return;
	tid = fs->handle->h_transaction->t_tid;
	ji = jfs_inode_find(fs, ino, false);
	if (!ji)
		return;		/* nobody can fsync it without a reference */
	ji->i_sync_tid = tid;
	if (datasync)
		ji->i_datasync_tid = tid;
}

int jfs_journal_fsync(struct jfs *fs, ext2_ino_t ino, bool datasync)
{
	struct jfs_inode *ji;
	tid_t tid = 0;

	if (!fs->journal)
		return 0;
	mutex_lock(&fs->fs_lock);
	ji = jfs_inode_find(fs, ino, false);
	if (ji)
		tid = datasync ? ji->i_datasync_tid : ji->i_sync_tid;
	mutex_unlock(&fs->fs_lock);
	if (!tid)
		tid = jbd2_journal_running_tid(fs->journal);
	if (!tid)
		return jbd2_is_journal_aborted(fs->journal) ? -EIO : 0;
	return jbd2_complete_transaction(fs->journal, tid);
}

int jfs_journal_sync_fs(struct jfs *fs)
{
	if (!fs->journal)
		return 0;
	return jbd2_journal_force_commit(fs->journal);
}

/* --------------------------------------------------------------- errors */

/* ext4_commit_super() for the error fields only (see the essay).  Entry:
 * fs lock held; writes the device directly with REQ_FUA. */
/* The error fields past s_mount_opts (the kernel's __ext4_update_tstamp
 * high bytes and the errcodes of save_error_info). */
static void copy_error_hi(struct ext2_super_block *dst, const struct ext2_super_block *src)
{
	dst->s_first_error_time_hi = src->s_first_error_time_hi;
	dst->s_last_error_time_hi = src->s_last_error_time_hi;
	dst->s_first_error_errcode = src->s_first_error_errcode;
	dst->s_last_error_errcode = src->s_last_error_errcode;
}

static void commit_error_super(struct jfs *fs)
{
	struct ext2_super_block disk, *es = fs->e2fs->super;
	size_t start = offsetof(struct ext2_super_block, s_error_count);
	size_t end = offsetof(struct ext2_super_block, s_mount_opts);

	if (fs->bdev->read_only)
		return;
	if (blk_rw_sync(fs->bdev, REQ_OP_READ, SUPERBLOCK_OFFSET, &disk, sizeof(disk)))
		return;
	memcpy((char *)&disk + start, (char *)es + start, end - start);
	copy_error_hi(&disk, es);
	disk.s_state |= EXT2_ERROR_FS;
	disk.s_errors = es->s_errors;
	if (ext2fs_has_feature_metadata_csum(&disk))
		ext2fs_superblock_csum_set(fs->e2fs, &disk);
	if (blk_rw_sync(fs->bdev, REQ_OP_WRITE | REQ_FUA, SUPERBLOCK_OFFSET, &disk, sizeof(disk)))
		fprintf(stderr, "jbdlab: %s: cannot write the superblock after an error\n",
			fs->image);
}

static void set_error_field(char *dst, size_t len, const char *src)
{
	memset(dst, 0, len);
	strncpy(dst, src, len);		/* not NUL terminated when full, as ext4 */
}

void __jfs_error(struct jfs *fs, const char *func, unsigned int line, int err,
		 ext2_ino_t ino, blk64_t block, const char *fmt, ...)
{
	struct ext2_super_block *es = fs->e2fs ? fs->e2fs->super : NULL;
	enum jfs_errors_behaviour how = fs->opts.errors;
	uint32_t now = (uint32_t)time(NULL);
	bool continue_fs;
	char msg[256];
	va_list ap;

	lockdep_assert_held(&fs->fs_lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "jbdlab: %s: error in %s:%u: %s\n", fs->image, func, line, msg);

	if (how == JFS_ERRORS_DEFAULT && es) {
		how = es->s_errors == EXT2_ERRORS_CONTINUE ? JFS_ERRORS_CONTINUE :
		      es->s_errors == EXT2_ERRORS_PANIC ? JFS_ERRORS_PANIC : JFS_ERRORS_RO;
	} else if (how == JFS_ERRORS_DEFAULT) {
		how = JFS_ERRORS_RO;
	}
	continue_fs = how == JFS_ERRORS_CONTINUE;
	fs->had_errors = true;

	/* save_error_info() */
	if (es) {
		int eno = err < 0 ? -err : err;

		es->s_state |= EXT2_ERROR_FS;
		es->s_error_count++;
		if (!es->s_first_error_time) {
			es->s_first_error_time = now;
			es->s_first_error_ino = ino;
			es->s_first_error_block = block;
			es->s_first_error_line = line;
			es->s_first_error_errcode = (uint8_t)(eno > 255 ? 255 : eno);
			set_error_field((char *)es->s_first_error_func,
					sizeof(es->s_first_error_func), func);
		}
		es->s_last_error_time = now;
		es->s_last_error_ino = ino;
		es->s_last_error_block = block;
		es->s_last_error_line = line;
		es->s_last_error_errcode = (uint8_t)(eno > 255 ? 255 : eno);
		set_error_field((char *)es->s_last_error_func, sizeof(es->s_last_error_func), func);
	}

	if (!continue_fs && !fs->ro && fs->journal) {
		jbd2_journal_abort(fs->journal, -EIO);
		fs->aborted = true;
	}
	/* continue with a journal: the superblock goes out with this op's
	 * end-of-op sync (ext4 punts it to s_sb_upd_work); else directly.
	 * An op without a handle (a read: jfs_read's map_block, a lookup)
	 * journals nothing, so its error info is written directly too, and
	 * the end-of-op sync must not see it as a change of its own: it would
	 * write the superblock outside a handle (ext4's s_sb_upd_work also
	 * writes it outside the failing op). */
	if (es && fs->journal && (!continue_fs || (fs->in_op && !fs->handle)))
		commit_error_super(fs);
	if (es && fs->in_op && !fs->handle) {
		size_t start = offsetof(struct ext2_super_block, s_error_count);
		size_t end = offsetof(struct ext2_super_block, s_mount_opts);

		memcpy((char *)&fs->sb_snap + start, (char *)es + start, end - start);
		copy_error_hi(&fs->sb_snap, es);
		fs->sb_snap.s_state = es->s_state;
	}
	if (how == JFS_ERRORS_PANIC) {
		fprintf(stderr, "jbdlab: %s: panic forced after error\n", fs->image);
		abort();
	}
	if (fs->ro || continue_fs)
		return;
	fprintf(stderr, "jbdlab: %s: Remounting filesystem read-only\n", fs->image);
	fs->ro = true;
}
