// SPDX-License-Identifier: GPL-2.0
/*
 * journal.c - the lifetime of a journal_t (fs/jbd2/journal.c): init and
 * load, the journal superblock, journal_heads, the aliasing temporary bh of
 * jbd2_journal_write_metadata_buffer(), the commit thread (kjournald2),
 * commit requests and waits, abort, flush and destroy.
 *
 * The journal is the ext4 journal inode's blocks: j_blockmap[i] is the fs
 * block of journal block i, built once by the fs (the model of
 * jbd2_journal_bmap() through the journal inode).  The journal device and
 * the fs device are the same block device, and every journal block goes
 * through the bdev page cache exactly as in the kernel: the superblock
 * buffer is pinned for the journal's life, descriptor/revoke/commit blocks
 * are __getblk()'d for one commit, and logged metadata is written through
 * temporary buffer_heads that alias the live folio.
 *
 * The superblock's life, as the kernel's:
 *   - s_start == 0 at load (clean): JBD2_FLUSHED is set and the first
 *     commit writes the superblock (s_sequence = its tid, s_start = its
 *     first block, the feature bits the fs set) before its first log block
 *     -- so the on-disk log is never ahead of the superblock;
 *   - s_start != 0 at load (after recovery): journal_reset() writes the new
 *     tail at once, REQ_PREFLUSH|REQ_FUA;
 *   - tail advance (checkpoint): blkdev_issue_flush() of the fs device so
 *     the checkpointed blocks are durable, then the superblock REQ_FUA;
 *   - destroy: final commit, checkpoint everything, s_start = 0,
 *     s_sequence = the tid after next (the kernel's ++j_transaction_sequence),
 *     REQ_PREFLUSH|REQ_FUA;
 *   - abort: s_errno, REQ_FUA.
 *   - wipe (needs_recovery clear, stale log): s_start = 0 and s_sequence
 *     = the tid after the stale log, REQ_FUA (jbd2_journal_wipe(); the
 *     kernel keeps the old s_sequence, see there).
 * tids never restart: load continues from s_sequence (+1 when clean, as
 * jbd2_journal_recover() does), or from recovery's end_transaction + 1.
 *
 * What the fs layer calls, and when (the API contract of src/journal):
 *   mount:   jbd2_journal_init(bdev, blockmap, nblocks, blocksize) -> set
 *            j_commit_interval / j_private / j_commit_callback /
 *            j_data_journal -> jbd2_journal_recover() if needs_recovery,
 *            else jbd2_journal_wipe(j, device writable) ->
 *            jbd2_journal_load() -> jbd2_journal_set_features(CSUM_V3 if
 *            metadata_csum; 64BIT if 64bit) -> set needs_recovery in the
 *            ext4 superblock (durably) before the first handle.
 *   per op:  h = jbd2__journal_start(j, credits, 0, revokes, ...) (IS_ERR:
 *            -EROFS after abort, -ENOSPC if credits exceed the handle cap);
 *            then take the fs lock; for each metadata block:
 *            bh = bdev_getblk(); jbd2_journal_get_write_access(h, bh) (or
 *            lock_buffer + get_create_access + unlock for a new block);
 *            modify bh->b_data; jbd2_journal_dirty_metadata(h, bh); brelse(bh).
 *            Freeing a metadata block: jbd2_journal_revoke(h, blk, bh) (bh
 *            reference consumed, like bforget) -- or jbd2_journal_forget()
 *            for a block that never needs a revoke; ordered data:
 *            mark_buffer_dirty(data bh) + jbd2_journal_file_data(h, bh).
 *            Drop the fs lock, jbd2_journal_stop(h).  Nested starts on the
 *            same thread return the same handle (h_ref).
 *   fsync:   jbd2_complete_transaction(j, tid) (tid from
 *            jbd2_journal_running_tid() recorded when the inode changed),
 *            or jbd2_journal_force_commit(j) outside any handle.
 *   frees:   j_commit_callback(j, t) runs in the commit thread after t is
 *            durable: release t's deferred block frees there.
 *   umount:  jbd2_journal_destroy(j) (outside any handle, fs lock not held)
 *            then clear needs_recovery.
 *   errors:  jbd2_journal_abort(j, -EIO); jbd2_journal_errno(j).
 * Lock order for the fs: start the handle BEFORE taking the fs lock and
 * stop it AFTER dropping it (a handle start may wait for a commit or a
 * checkpoint); never hold a buffer lock or a spinlock across a start.
 *
 * Model simplifications (each is marked where it happens):
 *   - no reserved handles (rsv_blocks must be 0), no undo access, no
 *     triggers, no fast commit, no ASYNC_COMMIT, no external journal;
 *   - ordered data is a list of data buffers per transaction instead of
 *     jbd2_inodes (our file data lives in the bdev cache);
 *   - wait queues are wait_var_event() keys; the commit timer is a timed
 *     condition wait of kjournald2;
 *   - jbd2_write_access_granted() takes the jh bit lock instead of RCU
 *     (our journal_heads are not SLAB_TYPESAFE_BY_RCU);
 *   - the frozen-data temporary bh has b_folio == NULL and b_data into the
 *     malloc'd copy (the kernel's virt_to_folio() of a slab object).
 *
 * Locking rules:
 *   - j_state_lock (rw) protects the transaction pointers, states, j_flags,
 *     j_head/j_tail/j_free and the sequence numbers; `__` functions that
 *     need it for writing assert it;
 *   - j_list_lock protects every buffer list of every transaction and the
 *     checkpoint ring; it nests inside jh->b_state_lock;
 *   - the journal superblock is modified under its buffer lock, and tail
 *     updates additionally under j_checkpoint_mutex;
 *   - bh->b_private/BH_JBD and jh->b_jcount are protected by the
 *     BH_JournalHead bit spinlock (jbd_lock_bh_journal_head), a leaf;
 *   - wake_up_var() is always called after dropping j_state_lock (the
 *     waiters' conditions are evaluated under the wait bucket's mutex);
 *   - the commit thread never takes the fs lock.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <time.h>

#include "jbd2_internal.h"
#include "trace.h"

__thread handle_t *current_journal_info;

unsigned long jbd2_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000UL + (unsigned long)ts.tv_nsec / 1000000UL;
}

handle_t *jbd2_journal_current_handle(void)
{
	return journal_current_handle();
}

bool jbd2_is_journal_aborted(journal_t *journal)
{
	return is_journal_aborted(journal);
}

/* wake_up(&journal->j_wait_commit) (also the commit timer being armed):
 * may be called under j_state_lock; j_wait_commit_lock is a leaf. */
void jbd2_wake_commit(journal_t *journal)
{
	pthread_mutex_lock(&journal->j_wait_commit_lock);
	journal->j_wait_commit_seq++;
	pthread_cond_broadcast(&journal->j_wait_commit);
	pthread_mutex_unlock(&journal->j_wait_commit_lock);
}

/* ------------------------------------------------------------ log blocks */

/*
 * jbd2_journal_bmap - journal block -> fs block (fs/jbd2/journal.c).
 * Lock state: any; j_blockmap is [const].
 */
int jbd2_journal_bmap(journal_t *journal, unsigned long blocknr, unsigned long long *retp)
{
	if (blocknr >= journal->j_total_len) {
		fprintf(stderr, "JBD2: bad block at offset %lu\n", blocknr);
		*retp = 0;
		return -EFSCORRUPTED;
	}
	*retp = journal->j_blockmap[blocknr];
	return 0;
}

/*
 * jbd2_journal_next_log_block - the next log block of the commit; the log
 * wraps from j_last to j_first.  Entry: commit thread, no j_state_lock.
 */
int jbd2_journal_next_log_block(journal_t *journal, unsigned long long *retp)
{
	unsigned long blocknr;

	write_lock(&journal->j_state_lock);
	J_ASSERT(journal->j_free > 1);
	blocknr = journal->j_head;
	journal->j_head++;
	journal->j_free--;
	if (journal->j_head == journal->j_last)
		journal->j_head = journal->j_first;
	write_unlock(&journal->j_state_lock);
	return jbd2_journal_bmap(journal, blocknr, retp);
}

/*
 * jbd2_journal_get_descriptor_buffer - a zeroed log block of @type with the
 * header filled, from the bdev cache (__getblk), holding one b_count.
 * Consumes one t_outstanding_credits.  Entry: commit thread, no locks.
 */
struct buffer_head *jbd2_journal_get_descriptor_buffer(transaction_t *transaction, int type)
{
	journal_t *journal = transaction->t_journal;
	unsigned long long blocknr;
	journal_header_t *header;
	struct buffer_head *bh;

	if (jbd2_journal_next_log_block(journal, &blocknr))
		return NULL;
	bh = bdev_getblk(journal->j_dev, blocknr, journal->j_blocksize);
	atomic_fetch_sub(&transaction->t_outstanding_credits, 1);
	lock_buffer(bh);
	memset(bh->b_data, 0, journal->j_blocksize);
	header = (journal_header_t *)bh->b_data;
	header->h_magic = htonl(JBD2_MAGIC_NUMBER);
	header->h_blocktype = htonl(type);
	header->h_sequence = htonl(transaction->t_tid);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
	return bh;
}

/* -------------------------------------------------------- journal_heads */

/*
 * jbd2_journal_add_journal_head - attach (or find) the bh's journal_head
 * and take a jh reference.  A NEW jh takes a b_count reference (get_bh)
 * that is dropped only when the jh is freed, after checkpoint: the pin that
 * keeps buffer_migrate_folio_norefs off every buffer jbd2 owns.
 * Lock state: any except jbd_lock_bh_journal_head(bh); never sleeps.
 */
struct journal_head *jbd2_journal_add_journal_head(struct buffer_head *bh)
{
	struct journal_head *jh, *new_jh = NULL;

repeat:
	if (!buffer_jbd(bh)) {
		new_jh = calloc(1, sizeof(*new_jh));
		BUG_ON(!new_jh);
		spin_lock_init(&new_jh->b_state_lock);
	}
	jbd_lock_bh_journal_head(bh);
	if (buffer_jbd(bh)) {
		jh = bh2jh(bh);
	} else {
		J_ASSERT_BH(bh, atomic_load(&bh->b_count) > 0 ||
			    (bh->b_folio && bh->b_folio->mapping));
		if (!new_jh) {
			jbd_unlock_bh_journal_head(bh);
			goto repeat;
		}
		jh = new_jh;
		new_jh = NULL;
		set_buffer_jbd(bh);
		bh->b_private = jh;
		jh->b_bh = bh;
		get_bh(bh);	/* the jh's b_count pin */
	}
	jh->b_jcount++;
	jbd_unlock_bh_journal_head(bh);
	free(new_jh);
	return bh2jh(bh);
}

/*
 * jbd2_journal_grab_journal_head - a jh reference if the bh has a jh, else
 * NULL.  Lock state: any except jbd_lock_bh_journal_head(bh).
 */
struct journal_head *jbd2_journal_grab_journal_head(struct buffer_head *bh)
{
	struct journal_head *jh = NULL;

	jbd_lock_bh_journal_head(bh);
	if (buffer_jbd(bh)) {
		jh = bh2jh(bh);
		jh->b_jcount++;
	}
	jbd_unlock_bh_journal_head(bh);
	return jh;
}

static void __journal_remove_journal_head(struct buffer_head *bh)
{
	struct journal_head *jh = bh2jh(bh);

	J_ASSERT_JH(jh, jh->b_transaction == NULL);
	J_ASSERT_JH(jh, jh->b_next_transaction == NULL);
	J_ASSERT_JH(jh, jh->b_cp_transaction == NULL);
	J_ASSERT_JH(jh, jh->b_jlist == BJ_None);
	J_ASSERT_BH(bh, buffer_jbd(bh));
	J_ASSERT_BH(bh, jh2bh(jh) == bh);
	bh->b_private = NULL;
	jh->b_bh = NULL;
	clear_buffer_jbd(bh);
}

/*
 * jbd2_journal_put_journal_head - drop a jh reference; the last one frees
 * the jh (and its frozen/committed copies) and drops the jh's b_count pin.
 * Lock state: may be called under jh->b_state_lock and j_list_lock (the
 * final __brelse() does not sleep); not under jbd_lock_bh_journal_head.
 */
void jbd2_journal_put_journal_head(struct journal_head *jh)
{
	struct buffer_head *bh = jh2bh(jh);

	jbd_lock_bh_journal_head(bh);
	J_ASSERT_JH(jh, jh->b_jcount > 0);
	--jh->b_jcount;
	if (!jh->b_jcount) {
		__journal_remove_journal_head(bh);
		jbd_unlock_bh_journal_head(bh);
		free(jh->b_frozen_data);
		free(jh->b_committed_data);
		memset(jh, 0x6b, sizeof(*jh));
		free(jh);
		__brelse(bh);	/* the jh's b_count pin */
	} else {
		jbd_unlock_bh_journal_head(bh);
	}
}

/* ------------------------------------- the temporary bh of the log write */

static bool jbd2_data_needs_escaping(const char *data)
{
	uint32_t magic;

	memcpy(&magic, data, sizeof(magic));
	return magic == htonl(JBD2_MAGIC_NUMBER);
}

static void jbd2_data_do_escape(char *data)
{
	memset(data, 0, sizeof(uint32_t));
}

/*
 * jbd2_journal_write_metadata_buffer - set up the temporary bh that writes
 * @jh_in's block to log block @blocknr (fs/jbd2/journal.c).
 *
 * With no frozen copy and no escaping -- the common case -- the temporary
 * bh ALIASES THE LIVE PAGE-CACHE FOLIO of bh_in: folio_set_bh(new_bh,
 * bh_in->b_folio, offset) with no folio reference, no folio lock, no
 * PG_writeback and no buffer lock.  Only bh_in's b_count (the jh pin plus
 * the commit's own increment) keeps the norefs migration path away until
 * journal_end_buffer_io_sync(); the bytes that reach the log are whatever
 * the folio holds at the disk's DMA moment.  A frozen copy (made by
 * do_get_write_access() for the next transaction) is journaled instead
 * when it exists; a block that begins with the jbd2 magic is copied out
 * and escaped (first 4 bytes zeroed, ESCAPE in the tag).
 *
 * Returns do_escape.  Entry: commit thread; the caller did get_bh(bh_in)
 * and set BH_JWrite; no locks.  Exit: jh_in on the transaction's
 * BJ_Shadow list with BH_Shadow set (both under jh_in->b_state_lock).
 */
int jbd2_journal_write_metadata_buffer(transaction_t *transaction, struct journal_head *jh_in,
				       struct buffer_head **bh_out, unsigned long long blocknr)
{
	struct buffer_head *new_bh, *bh_in = jh2bh(jh_in);
	journal_t *journal = transaction->t_journal;
	struct folio *new_folio;
	size_t new_offset = 0;
	char *new_data;
	int do_escape;

	J_ASSERT_BH(bh_in, buffer_jbddirty(bh_in));

	new_bh = alloc_buffer_head();	/* GFP_NOFS|__GFP_NOFAIL; b_count = 1 */

	/* STRATEGY HOOK: before the b_state_lock, may sleep (strategy.h). */
	jbd2_strategy_tmpbh_begin(jh_in);

	spin_lock(&jh_in->b_state_lock);
	if (jh_in->b_frozen_data) {
		/* A new transaction already copied this buffer out: log the copy. */
		new_folio = NULL;
		new_data = jh_in->b_frozen_data;
		do_escape = jbd2_data_needs_escaping(new_data);
		if (do_escape)
			jbd2_data_do_escape(new_data);
	} else {
		char *tmp;

		/*
		 * Reads bh_in->b_folio and b_data without any lock: the I2
		 * window.  offset_in_folio() masks, so the pair may be read on
		 * either side of a migration's folio_set_bh() (model-review 6).
		 */
		new_folio = READ_ONCE(bh_in->b_folio);
		new_offset = offset_in_folio(new_folio, READ_ONCE(bh_in->b_data));
		new_data = folio_address(new_folio) + new_offset;
		/* (jbd2_buffer_frozen_trigger(): no triggers in this model) */
		do_escape = jbd2_data_needs_escaping(new_data);
		if (!do_escape)
			goto escape_done;

		spin_unlock(&jh_in->b_state_lock);
		tmp = malloc(bh_in->b_size);
		BUG_ON(!tmp);
		spin_lock(&jh_in->b_state_lock);
		if (jh_in->b_frozen_data) {
			free(tmp);
			goto copy_done;
		}
		jh_in->b_frozen_data = tmp;
		memcpy(tmp, folio_address(new_folio) + new_offset, bh_in->b_size);
copy_done:
		new_folio = NULL;
		new_data = jh_in->b_frozen_data;
		jbd2_data_do_escape(new_data);
	}

escape_done:
	if (new_folio) {
		/* THE ALIASING: no folio_get(), no folio lock, no writeback bit. */
		folio_set_bh(new_bh, new_folio, new_offset);
	} else {
		/* Model: virt_to_folio() of the malloc'd frozen copy. */
		new_bh->b_folio = NULL;
		new_bh->b_data = new_data;
	}
	new_bh->b_size = bh_in->b_size;
	new_bh->b_bdev = journal->j_dev;
	new_bh->b_blocknr = blocknr;
	new_bh->b_private = bh_in;
	set_buffer_mapped(new_bh);
	set_buffer_dirty(new_bh);
	*bh_out = new_bh;

	/* bh_in moves to the shadow list; the tmp bh goes to the commit's io_bufs. */
	spin_lock(&journal->j_list_lock);
	__jbd2_journal_file_buffer(jh_in, transaction, BJ_Shadow);
	spin_unlock(&journal->j_list_lock);
	set_buffer_shadow(bh_in);
	jbd2_observe_tmpbh_begin(journal, bh_in, new_bh, new_folio != NULL);
	spin_unlock(&jh_in->b_state_lock);
	return do_escape;
}

/* -------------------------------------------------- the journal superblock */

/*
 * jbd2_write_superblock - write the superblock buffer and wait.
 * Entry: the caller holds the sb buffer lock (released by the I/O).
 */
static int jbd2_write_superblock(journal_t *journal, unsigned int write_flags)
{
	struct buffer_head *bh = journal->j_sb_buffer;
	journal_superblock_t *sb = journal->j_superblock;
	int ret = 0;

	BUG_ON(!buffer_locked(bh));
	write_flags |= JBD2_JOURNAL_REQ_FLAGS;
	if (!(journal->j_flags & JBD2_BARRIER))
		write_flags &= ~(REQ_FUA | REQ_PREFLUSH);
	if (buffer_write_io_error(bh)) {
		fprintf(stderr, "JBD2: previous I/O error detected for journal superblock update\n");
		clear_buffer_write_io_error(bh);
		set_buffer_uptodate(bh);
	}
	jbd2_observe_own_ptr(journal, bh, sb, "j_superblock");
	jbd2_superblock_csum_set(journal, sb);
	get_bh(bh);
	clear_buffer_dirty(bh);
	bh->b_end_io = end_buffer_write_sync;
	submit_bh(REQ_OP_WRITE | write_flags, bh);
	wait_on_buffer(bh);
	if (buffer_write_io_error(bh)) {
		clear_buffer_write_io_error(bh);
		set_buffer_uptodate(bh);
		ret = -EIO;
	}
	if (ret) {
		fprintf(stderr, "JBD2: I/O error when updating journal superblock\n");
		if (!is_journal_aborted(journal))
			jbd2_journal_abort(journal, ret);
	}
	return ret;
}

/*
 * jbd2_journal_update_sb_log_tail - write the log tail to the superblock.
 * Entry: j_checkpoint_mutex held; no other journal lock.
 */
int jbd2_journal_update_sb_log_tail(journal_t *journal, tid_t tail_tid, unsigned long tail_block,
				    unsigned int write_flags)
{
	journal_superblock_t *sb = journal->j_superblock;
	int ret;

	if (is_journal_aborted(journal))
		return -EIO;
	lockdep_assert_held(&journal->j_checkpoint_mutex);
	lock_buffer(journal->j_sb_buffer);
	sb->s_sequence = htonl(tail_tid);
	sb->s_start = htonl((uint32_t)tail_block);
	ret = jbd2_write_superblock(journal, write_flags);
	if (ret)
		return ret;
	write_lock(&journal->j_state_lock);
	WARN_ON(!sb->s_sequence);
	WRITE_ONCE(journal->j_flags, journal->j_flags & ~JBD2_FLUSHED);	/* the log is no longer empty */
	write_unlock(&journal->j_state_lock);
	return 0;
}

/*
 * jbd2_mark_journal_empty - s_start = 0: nothing to recover.
 * Entry: j_checkpoint_mutex held.
 */
void jbd2_mark_journal_empty(journal_t *journal, unsigned int write_flags)
{
	journal_superblock_t *sb = journal->j_superblock;

	lockdep_assert_held(&journal->j_checkpoint_mutex);
	lock_buffer(journal->j_sb_buffer);
	if (sb->s_start == 0) {		/* already empty */
		unlock_buffer(journal->j_sb_buffer);
		return;
	}
	sb->s_sequence = htonl(journal->j_tail_sequence);
	sb->s_start = 0;
	sb->s_head = htonl((uint32_t)journal->j_head);
	jbd2_write_superblock(journal, write_flags);
	write_lock(&journal->j_state_lock);
	WRITE_ONCE(journal->j_flags, journal->j_flags | JBD2_FLUSHED);
	write_unlock(&journal->j_state_lock);
}

/* jbd2_journal_update_sb_errno - record j_errno on disk.  Entry: no locks. */
void jbd2_journal_update_sb_errno(journal_t *journal)
{
	journal_superblock_t *sb = journal->j_superblock;
	int errcode;

	lock_buffer(journal->j_sb_buffer);
	read_lock(&journal->j_state_lock);
	errcode = journal->j_errno;
	read_unlock(&journal->j_state_lock);
	if (errcode == -ESHUTDOWN)
		errcode = 0;
	sb->s_errno = htonl((uint32_t)errcode);
	jbd2_write_superblock(journal, REQ_FUA);
}

/* ------------------------------------------------------------- features */

static int journal_revoke_records_per_block(journal_t *journal)
{
	int record_size = jbd2_has_feature_64bit(journal) ? 8 : 4;
	int space = journal->j_blocksize - (int)sizeof(jbd2_journal_revoke_header_t);

	if (jbd2_journal_has_csum_v2or3(journal))
		space -= (int)sizeof(struct jbd2_journal_block_tail);
	return space / record_size;
}

/* jbd2_journal_get_max_txn_bufs(): (len - fc blocks) / 3, as 6.12. */
static int jbd2_journal_get_max_txn_bufs(journal_t *journal)
{
	int fc = journal->j_fc_last ? (int)(journal->j_fc_last - journal->j_last) : 0;

	return ((int)journal->j_total_len - fc) / 3;
}

/* jbd2_descriptor_blocks_per_trans() */
static int jbd2_descriptor_blocks_per_trans(journal_t *journal)
{
	int tag_space = journal->j_blocksize - (int)sizeof(journal_header_t);
	int tags_per_block;

	tag_space -= 16;	/* the UUID */
	if (jbd2_journal_has_csum_v2or3(journal))
		tag_space -= (int)sizeof(struct jbd2_journal_block_tail);
	/* the commit code leaves 16 bytes of slack at the end of the block */
	tags_per_block = (tag_space - 16) / (int)journal_tag_bytes(journal);
	return 1 + DIV_ROUND_UP(jbd2_journal_get_max_txn_bufs(journal), tags_per_block);
}

/* jbd2_journal_init_transaction_limits(); load or features time, no handles. */
static void jbd2_journal_init_transaction_limits(journal_t *journal)
{
	journal->j_revoke_records_per_block = journal_revoke_records_per_block(journal);
	journal->j_transaction_overhead_buffers = jbd2_descriptor_blocks_per_trans(journal);
	journal->j_max_transaction_buffers = jbd2_journal_get_max_txn_bufs(journal);
}

/*
 * jbd2_journal_set_features - set feature bits (fs/jbd2/journal.c): v2
 * checksums are upgraded to v3, v3 drops v1.  In memory under the sb
 * buffer lock; on disk with the next superblock write (the first commit
 * after a clean load writes it before any log block).  Returns true if the
 * features are (now) set.  Entry: no journal locks (lock_buffer sleeps);
 * at load time, or from jbd2_journal_revoke() for the REVOKE bit.
 */
bool jbd2_journal_set_features(journal_t *journal, unsigned long compat, unsigned long ro,
			       unsigned long incompat)
{
	journal_superblock_t *sb = journal->j_superblock;
	/* unlocked, as jbd2_journal_check_used_features(): READ_ONCE pairs
	 * with the WRITE_ONCE stores below (first jbd2_journal_revoke() runs
	 * while other handles and the commit read the feature words) */
	uint32_t old_incompat = ntohl(READ_ONCE(sb->s_feature_incompat));
	bool limits;

	/* jbd2_journal_check_used_features(): no feature on a v1 superblock,
	 * whatever its v2 fields hold (jbd2_format_support_feature) */
	if (journal->j_format_version == 1)
		return !compat && !ro && !incompat;
	if ((ntohl(READ_ONCE(sb->s_feature_compat)) & compat) == compat &&
	    (ntohl(READ_ONCE(sb->s_feature_ro_compat)) & ro) == ro &&
	    (old_incompat & incompat) == incompat)
		return true;
	if ((compat & ~JBD2_KNOWN_COMPAT_FEATURES) || (ro & ~JBD2_KNOWN_ROCOMPAT_FEATURES) ||
	    (incompat & ~JBD2_KNOWN_INCOMPAT_FEATURES) ||
	    (incompat & JBD2_FEATURE_INCOMPAT_FAST_COMMIT))	/* we never write fast commits */
		return false;
	if (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2) {
		incompat &= ~JBD2_FEATURE_INCOMPAT_CSUM_V2;
		incompat |= JBD2_FEATURE_INCOMPAT_CSUM_V3;
	}
	if ((incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3) && (compat & JBD2_FEATURE_COMPAT_CHECKSUM))
		compat &= ~JBD2_FEATURE_COMPAT_CHECKSUM;

	lock_buffer(journal->j_sb_buffer);
	if ((incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3) &&
	    !(old_incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3)) {
		sb->s_checksum_type = JBD2_CRC32C_CHKSUM;
		sb->s_feature_compat &= ~htonl(JBD2_FEATURE_COMPAT_CHECKSUM);
		journal->j_csum_seed = jbd2_chksum(~0U, sb->s_uuid, sizeof(sb->s_uuid));
	}
	if ((compat & JBD2_FEATURE_COMPAT_CHECKSUM) &&
	    !(ntohl(sb->s_feature_compat) & JBD2_FEATURE_COMPAT_CHECKSUM))
		sb->s_feature_incompat &= ~htonl(JBD2_FEATURE_INCOMPAT_CSUM_V2 |
						 JBD2_FEATURE_INCOMPAT_CSUM_V3);
	WRITE_ONCE(sb->s_feature_compat, sb->s_feature_compat | htonl((uint32_t)compat));
	WRITE_ONCE(sb->s_feature_ro_compat, sb->s_feature_ro_compat | htonl((uint32_t)ro));
	WRITE_ONCE(sb->s_feature_incompat, sb->s_feature_incompat | htonl((uint32_t)incompat));
	unlock_buffer(journal->j_sb_buffer);
	/* The limits depend only on the checksum and 64bit bits: REVOKE alone
	 * must not rewrite these [const] fields under their lockless readers.
	 * (The kernel recomputes them unconditionally, to the same values: a
	 * benign race we do not copy, so that TSan runs stay clean.) */
	limits = (compat & JBD2_FEATURE_COMPAT_CHECKSUM) ||
		 (incompat & (JBD2_FEATURE_INCOMPAT_64BIT | JBD2_FEATURE_INCOMPAT_CSUM_V2 |
			      JBD2_FEATURE_INCOMPAT_CSUM_V3));
	if (limits)
		jbd2_journal_init_transaction_limits(journal);
	return true;
}

/* jbd2_journal_clear_features - entry: no journal locks; load time. */
void jbd2_journal_clear_features(journal_t *journal, unsigned long compat, unsigned long ro,
				 unsigned long incompat)
{
	journal_superblock_t *sb = journal->j_superblock;

	lock_buffer(journal->j_sb_buffer);
	sb->s_feature_compat &= ~htonl((uint32_t)compat);
	sb->s_feature_ro_compat &= ~htonl((uint32_t)ro);
	sb->s_feature_incompat &= ~htonl((uint32_t)incompat);
	unlock_buffer(journal->j_sb_buffer);
	jbd2_journal_init_transaction_limits(journal);
}

/* --------------------------------------------------- "last logged" map */

#define LOGGED_HASH_BITS	12
struct jbd2_logged_ent {
	struct jbd2_logged_ent *next;
	unsigned long long blocknr;
	tid_t tid;
};
struct jbd2_logged_map {
	struct jbd2_logged_ent *hash[1U << LOGGED_HASH_BITS];
	unsigned long nr;
};

static unsigned int logged_hash(unsigned long long b)
{
	return (unsigned int)((b * 0x9e3779b97f4a7c15ULL) >> (64 - LOGGED_HASH_BITS));
}

/* Record that @tid wrote @blocknr to the log.  Commit thread; no locks. */
void jbd2_journal_note_logged(journal_t *journal, unsigned long long blocknr, tid_t tid)
{
	struct jbd2_logged_map *m = journal->j_logged;
	struct jbd2_logged_ent *e, *n = NULL;
	unsigned int h = logged_hash(blocknr);

	n = malloc(sizeof(*n));
	BUG_ON(!n);
	spin_lock(&journal->j_logged_lock);
	for (e = m->hash[h]; e; e = e->next) {
		if (e->blocknr == blocknr) {
			e->tid = tid;
			spin_unlock(&journal->j_logged_lock);
			free(n);
			return;
		}
	}
	n->blocknr = blocknr;
	n->tid = tid;
	n->next = m->hash[h];
	m->hash[h] = n;
	m->nr++;
	spin_unlock(&journal->j_logged_lock);
}

/* Forget entries of transactions the tail has passed.  No locks held. */
void jbd2_journal_prune_logged(journal_t *journal, tid_t tail)
{
	struct jbd2_logged_map *m = journal->j_logged;
	struct jbd2_logged_ent **pp, *e, *dead = NULL;

	spin_lock(&journal->j_logged_lock);
	for (unsigned int i = 0; i < (1U << LOGGED_HASH_BITS); i++) {
		for (pp = &m->hash[i]; (e = *pp);) {
			if (tid_gt(tail, e->tid)) {
				*pp = e->next;
				e->next = dead;
				dead = e;
				m->nr--;
			} else {
				pp = &e->next;
			}
		}
	}
	spin_unlock(&journal->j_logged_lock);
	while ((e = dead)) {
		dead = e->next;
		free(e);
	}
}

/* See include/jbd2.h.  Lock state: none held. */
bool jbd2_journal_block_logged(journal_t *journal, unsigned long long blocknr, tid_t *tid)
{
	struct jbd2_logged_map *m = journal->j_logged;
	struct jbd2_logged_ent *e;
	struct buffer_head *bh;
	bool ret = false;
	tid_t tail;

	/* Journaled right now by the running or committing transaction? */
	bh = __find_get_block_nonatomic(journal->j_fs_dev, blocknr, journal->j_blocksize);
	if (bh) {
		struct journal_head *jh = jbd2_journal_grab_journal_head(bh);

		if (jh) {
			spin_lock(&jh->b_state_lock);
			if (jh->b_transaction && jh->b_modified) {
				if (tid)
					*tid = jh->b_transaction->t_tid;
				ret = true;
			}
			spin_unlock(&jh->b_state_lock);
			jbd2_journal_put_journal_head(jh);
		}
		__brelse(bh);
		if (ret)
			return true;
	}
	read_lock(&journal->j_state_lock);
	tail = journal->j_tail_sequence;
	read_unlock(&journal->j_state_lock);
	spin_lock(&journal->j_logged_lock);
	for (e = m->hash[logged_hash(blocknr)]; e; e = e->next) {
		if (e->blocknr == blocknr) {
			if (tid_geq(e->tid, tail)) {
				if (tid)
					*tid = e->tid;
				ret = true;
			}
			break;
		}
	}
	spin_unlock(&journal->j_logged_lock);
	return ret;
}

static void jbd2_free_logged(journal_t *journal)
{
	jbd2_journal_prune_logged(journal, journal->j_transaction_sequence + 0x40000000U);
	free(journal->j_logged);
	journal->j_logged = NULL;
}

/* ---------------------------------------------------------- kjournald2 */

/*
 * kjournald2 - the commit thread: commits when j_commit_request moves past
 * j_commit_sequence (a request, a sync handle, jbd2_journal_stop of an
 * expired transaction, log pressure), when the running transaction's
 * commit timer (t_expires = start + j_commit_interval) fires, and exits on
 * JBD2_UNMOUNT.
 */
static void *kjournald2(void *arg)
{
	journal_t *journal = arg;
	transaction_t *transaction;

	trace_set_thread_name("jbd2/commit");	/* the kernel's "jbd2/<dev>-8" */
	write_lock(&journal->j_state_lock);
	WRITE_ONCE(journal->j_task_running, true);
	write_unlock(&journal->j_state_lock);
	wake_up_var(&journal->j_wait_done_commit);

	write_lock(&journal->j_state_lock);
loop:
	if (journal->j_flags & JBD2_UNMOUNT)
		goto end_loop;
	if (journal->j_commit_sequence != journal->j_commit_request) {
		write_unlock(&journal->j_state_lock);
		jbd2_journal_commit_transaction(journal);
		write_lock(&journal->j_state_lock);
		goto loop;
	}
	write_unlock(&journal->j_state_lock);
	wake_up_var(&journal->j_wait_done_commit);
	write_lock(&journal->j_state_lock);
	if (journal->j_flags & JBD2_UNMOUNT)
		goto end_loop;
	if (journal->j_commit_sequence != journal->j_commit_request)
		goto loop;

	/* prepare_to_wait(&j_wait_commit) under j_state_lock, then sleep with
	 * the commit timer armed for the running transaction. */
	pthread_mutex_lock(&journal->j_wait_commit_lock);
	{
		unsigned long seq = journal->j_wait_commit_seq;
		unsigned long expires = 0;

		transaction = journal->j_running_transaction;
		if (transaction)
			expires = transaction->t_expires;
		write_unlock(&journal->j_state_lock);
		if (!transaction || jbd2_now_ms() < expires) {
			while (seq == journal->j_wait_commit_seq) {
				if (transaction) {
					struct timespec ts;
					unsigned long now = jbd2_now_ms();

					if (now >= expires)
						break;
					clock_gettime(CLOCK_REALTIME, &ts);
					ts.tv_sec += (time_t)((expires - now) / 1000);
					ts.tv_nsec += (long)((expires - now) % 1000) * 1000000L;
					if (ts.tv_nsec >= 1000000000L) {
						ts.tv_sec++;
						ts.tv_nsec -= 1000000000L;
					}
					pthread_cond_timedwait(&journal->j_wait_commit,
							       &journal->j_wait_commit_lock, &ts);
				} else {
					pthread_cond_wait(&journal->j_wait_commit,
							  &journal->j_wait_commit_lock);
				}
			}
		}
	}
	pthread_mutex_unlock(&journal->j_wait_commit_lock);

	write_lock(&journal->j_state_lock);
	transaction = journal->j_running_transaction;
	if (transaction && jbd2_now_ms() >= transaction->t_expires)
		journal->j_commit_request = transaction->t_tid;	/* woke because of timeout */
	goto loop;

end_loop:
	WRITE_ONCE(journal->j_task_running, false);
	write_unlock(&journal->j_state_lock);
	bh_lru_thread_exit();
	wake_up_var(&journal->j_wait_done_commit);
	return NULL;
}

static int jbd2_journal_start_thread(journal_t *journal)
{
	if (pthread_create(&journal->j_task, NULL, kjournald2, journal))
		return -ENOMEM;
	wait_var_event(&journal->j_wait_done_commit, READ_ONCE(journal->j_task_running));
	return 0;
}

static void journal_kill_thread(journal_t *journal)
{
	bool running;

	write_lock(&journal->j_state_lock);
	WRITE_ONCE(journal->j_flags, journal->j_flags | JBD2_UNMOUNT);
	running = journal->j_task_running;
	write_unlock(&journal->j_state_lock);
	if (!running && !(READ_ONCE(journal->j_flags) & JBD2_LOADED))
		return;
	jbd2_wake_commit(journal);
	wait_var_event(&journal->j_wait_done_commit, !READ_ONCE(journal->j_task_running));
	pthread_join(journal->j_task, NULL);
}

/* ---------------------------------------------------- commit requests */

/*
 * __jbd2_log_start_commit - request the commit of @target.
 * Entry: j_state_lock held for writing.  Returns 1 if a commit was requested.
 */
int __jbd2_log_start_commit(journal_t *journal, tid_t target)
{
	assert_write_locked(&journal->j_state_lock);
	if (journal->j_commit_request == target)
		return 0;
	if (journal->j_running_transaction &&
	    journal->j_running_transaction->t_tid == target) {
		journal->j_commit_request = target;
		journal->j_running_transaction->t_requested = jbd2_now_ms();
		jbd2_wake_commit(journal);
		return 1;
	} else if (!tid_geq(journal->j_commit_request, target)) {
		jbd_warn(__FILE__, __LINE__, "JBD2: bad log_start_commit: %u %u %u %u",
			 journal->j_commit_request, journal->j_commit_sequence, target,
			 journal->j_running_transaction ?
			 journal->j_running_transaction->t_tid : 0);
	}
	return 0;
}

/* jbd2_log_start_commit - entry: no j_state_lock.  Non-blocking. */
int jbd2_log_start_commit(journal_t *journal, tid_t tid)
{
	int ret;

	write_lock(&journal->j_state_lock);
	ret = __jbd2_log_start_commit(journal, tid);
	write_unlock(&journal->j_state_lock);
	return ret;
}

/*
 * jbd2_log_wait_commit - wait until @tid is committed; -EIO if the journal
 * is aborted.  Entry: no journal locks, not inside a handle of @tid.
 */
int jbd2_log_wait_commit(journal_t *journal, tid_t tid)
{
	read_lock(&journal->j_state_lock);
	while (tid_gt(tid, journal->j_commit_sequence)) {
		read_unlock(&journal->j_state_lock);
		jbd2_wake_commit(journal);
		wait_var_event(&journal->j_wait_done_commit,
			       !tid_gt(tid, READ_ONCE(journal->j_commit_sequence)));
		read_lock(&journal->j_state_lock);
	}
	read_unlock(&journal->j_state_lock);
	if (is_journal_aborted(journal))
		return -EIO;
	return 0;
}

/*
 * jbd2_complete_transaction - fsync: make sure @tid is committed, starting
 * its commit if needed.  Entry: no journal locks, no open handle.
 */
int jbd2_complete_transaction(journal_t *journal, tid_t tid)
{
	bool need_to_wait = true;

	read_lock(&journal->j_state_lock);
	if (journal->j_running_transaction &&
	    journal->j_running_transaction->t_tid == tid) {
		if (journal->j_commit_request != tid) {
			read_unlock(&journal->j_state_lock);
			jbd2_log_start_commit(journal, tid);
			goto wait_commit;
		}
	} else if (!(journal->j_committing_transaction &&
		     journal->j_committing_transaction->t_tid == tid)) {
		need_to_wait = false;
	}
	read_unlock(&journal->j_state_lock);
	if (!need_to_wait)
		return 0;
wait_commit:
	return jbd2_log_wait_commit(journal, tid);
}

/* __jbd2_journal_force_commit: 1 if something was committed, 0, or -errno. */
static int __jbd2_journal_force_commit(journal_t *journal)
{
	transaction_t *transaction = NULL;
	bool need_to_start = false;
	tid_t tid;
	int ret;

	read_lock(&journal->j_state_lock);
	if (journal->j_running_transaction && !journal_current_handle()) {
		transaction = journal->j_running_transaction;
		if (!tid_geq(journal->j_commit_request, transaction->t_tid))
			need_to_start = true;
	} else if (journal->j_committing_transaction) {
		transaction = journal->j_committing_transaction;
	}
	if (!transaction) {
		read_unlock(&journal->j_state_lock);
		return 0;
	}
	tid = transaction->t_tid;
	read_unlock(&journal->j_state_lock);
	if (need_to_start)
		jbd2_log_start_commit(journal, tid);
	ret = jbd2_log_wait_commit(journal, tid);
	return ret ? ret : 1;
}

/* jbd2_journal_force_commit - commit everything now.  Entry: no handle. */
int jbd2_journal_force_commit(journal_t *journal)
{
	int ret;

	J_ASSERT(!journal_current_handle());
	ret = __jbd2_journal_force_commit(journal);
	return ret > 0 ? 0 : ret;
}

/* jbd2_journal_running_tid - lock state: none. */
tid_t jbd2_journal_running_tid(journal_t *journal)
{
	tid_t tid = 0;

	read_lock(&journal->j_state_lock);
	if (journal->j_running_transaction)
		tid = journal->j_running_transaction->t_tid;
	read_unlock(&journal->j_state_lock);
	return tid;
}

/* ------------------------------------------------------------- lifetime */

/*
 * jbd2_journal_init - a journal_t over the internal journal whose block i
 * is fs block blockmap[i] (jbd2_journal_init_inode() + journal_init_common()
 * + journal_load_superblock()).  Reads and checks the superblock (nothing is
 * written).  Entry: bdev->bd_mapping is the page cache
 * at the fs block size; no locks.  Returns NULL (reason on stderr) on error.
 */
journal_t *jbd2_journal_init(struct block_device *bdev, const uint64_t *blockmap,
			     unsigned int nblocks, unsigned int blocksize)
{
	journal_t *journal;
	uint64_t *map;
	char errbuf[256];
	int err;

	if (!bdev || !bdev->bd_mapping || !nblocks ||
	    (1U << bdev->bd_mapping->blkbits) != blocksize) {
		fprintf(stderr, "JBD2: no page cache at the journal's block size\n");
		return NULL;
	}
	for (unsigned int i = 0; i < nblocks; i++) {
		if (blockmap[i] == 0 || blockmap[i] >= bdev->size / blocksize) {
			fprintf(stderr, "JBD2: journal block %u maps to bad block %" PRIu64 "\n",
				i, blockmap[i]);
			return NULL;
		}
	}
	journal = calloc(1, sizeof(*journal));
	map = malloc(sizeof(*map) * nblocks);
	if (!journal || !map) {
		free(journal);
		free(map);
		return NULL;
	}
	memcpy(map, blockmap, sizeof(*map) * nblocks);
	journal->j_blockmap = map;
	journal->j_total_len = nblocks;
	journal->j_blocksize = (int)blocksize;
	journal->j_dev = journal->j_fs_dev = bdev;
	/*
	 * ext4's default barrier=1.  And, as journal_init_common(), the
	 * journal is marked aborted until jbd2_journal_load() succeeds: a
	 * journal that never loaded (a failed mount, the ro mount's wipe)
	 * is destroyed without writing its superblock.
	 */
	journal->j_flags = JBD2_BARRIER | JBD2_ABORT;
	journal->j_commit_interval = JBD2_DEFAULT_MAX_COMMIT_AGE * 1000UL;
	rwlock_init(&journal->j_state_lock);
	spin_lock_init(&journal->j_list_lock);
	spin_lock_init(&journal->j_revoke_lock);
	spin_lock_init(&journal->j_logged_lock);
	mutex_init(&journal->j_checkpoint_mutex);
	mutex_init(&journal->j_abort_mutex);
	mutex_init(&journal->j_barrier);
	pthread_mutex_init(&journal->j_wait_commit_lock, NULL);
	pthread_cond_init(&journal->j_wait_commit, NULL);
	journal->j_logged = calloc(1, sizeof(*journal->j_logged));
	journal->j_chkpt_bhs = calloc(JBD2_NR_BATCH, sizeof(*journal->j_chkpt_bhs));
	/* jbd2_min_tag_size() is 8: the most tags a descriptor can hold */
	journal->j_wbufsize = (int)blocksize / 8;
	journal->j_wbuf = calloc((size_t)journal->j_wbufsize, sizeof(*journal->j_wbuf));
	if (!journal->j_logged || !journal->j_chkpt_bhs || !journal->j_wbuf ||
	    jbd2_journal_init_revoke(journal, JOURNAL_REVOKE_DEFAULT_HASH))
		goto fail;

	journal->j_sb_buffer = bdev_getblk(bdev, map[0], blocksize);
	if (bh_read(journal->j_sb_buffer)) {
		fprintf(stderr, "JBD2: IO error reading journal superblock\n");
		goto fail;
	}
	journal->j_superblock = (journal_superblock_t *)journal->j_sb_buffer->b_data;
	err = jbd2_journal_check_superblock(journal, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "JBD2: %s\n", errbuf);
		goto fail;
	}
	jbd2_journal_init_transaction_limits(journal);
	return journal;

fail:
	if (journal->j_sb_buffer)
		brelse(journal->j_sb_buffer);
	jbd2_journal_destroy_revoke(journal);
	free(journal->j_logged);
	free(journal->j_chkpt_bhs);
	free(journal->j_wbuf);
	free(map);
	free(journal);
	return NULL;
}

/* journal_reset - the empty log at load; starts kjournald2. */
static int journal_reset(journal_t *journal)
{
	journal_superblock_t *sb = journal->j_superblock;
	unsigned long first = ntohl(sb->s_first), last = journal->j_last;

	if (first + JBD2_MIN_JOURNAL_BLOCKS > last + 1) {
		fprintf(stderr, "JBD2: Journal too short (blocks %lu-%lu).\n", first, last);
		return -EINVAL;
	}
	journal->j_first = first;
	journal->j_head = first;	/* no JBD2_CYCLE_RECORD */
	journal->j_tail = journal->j_head;
	journal->j_free = journal->j_last - journal->j_first;
	journal->j_tail_sequence = journal->j_transaction_sequence;
	journal->j_commit_sequence = journal->j_transaction_sequence - 1;
	journal->j_commit_request = journal->j_commit_sequence;
	jbd2_journal_init_transaction_limits(journal);

	if (sb->s_start == 0) {
		/* Defer the superblock update to the first commit. */
		WRITE_ONCE(journal->j_flags, journal->j_flags | JBD2_FLUSHED);
	} else {
		int err;

		mutex_lock(&journal->j_checkpoint_mutex);
		err = jbd2_journal_update_sb_log_tail(journal, journal->j_tail_sequence,
						      journal->j_tail, REQ_PREFLUSH | REQ_FUA);
		mutex_unlock(&journal->j_checkpoint_mutex);
		if (err)
			return err;
	}
	return jbd2_journal_start_thread(journal);
}

/*
 * jbd2_journal_load - make the journal live (fs/jbd2/journal.c): recovery
 * must already have run if the log is not empty (the fs calls
 * jbd2_journal_recover() first; it sets j_transaction_sequence to the next
 * tid), or jbd2_journal_wipe() must have emptied it.  A clean journal
 * continues at s_sequence + 1 (the kernel's jbd2_journal_recover() with
 * j_tail == 0).  A corrupt commit found by either (j_failed_commit) fails
 * the load.  Resets the log to empty and starts kjournald2.  Clears the
 * JBD2_ABORT of jbd2_journal_init().  Entry: no locks.  0 or -errno.
 */
int jbd2_journal_load(journal_t *journal)
{
	journal_superblock_t *sb = journal->j_superblock;
	int err;

	if (jbd2_journal_has_csum_v2or3(journal) && jbd2_has_feature_checksum(journal)) {
		fprintf(stderr, "JBD2: journal checksum v1 and v2/v3 both set\n");
		return -EFSCORRUPTED;
	}
	if (journal->j_transaction_sequence == ntohl(sb->s_sequence)) {
		/* jbd2_journal_recover() did not run: it must not be needed. */
		if (sb->s_start) {
			fprintf(stderr, "JBD2: journal needs recovery; run it before load\n");
			return -EUCLEAN;
		}
		journal->j_transaction_sequence = ntohl(sb->s_sequence) + 1;
	}
	if (journal->j_failed_commit) {
		fprintf(stderr, "JBD2: journal transaction %u is corrupt.\n",
			journal->j_failed_commit);
		return -EFSCORRUPTED;
	}
	/* Fast commits are never written (journal_reset() clears the bit). */
	if (jbd2_has_feature_fast_commit(journal)) {
		sb->s_feature_incompat &= ~htonl(JBD2_FEATURE_INCOMPAT_FAST_COMMIT);
		journal->j_last = journal->j_fc_last ? journal->j_fc_last : journal->j_last;
		journal->j_fc_first = journal->j_fc_last = 0;
	}
	/* Recovery is over (or was not needed): from here on the journal may
	 * write; until now it was marked aborted (jbd2_journal_init()). */
	write_lock(&journal->j_state_lock);
	WRITE_ONCE(journal->j_flags, journal->j_flags & ~JBD2_ABORT);
	write_unlock(&journal->j_state_lock);
	err = journal_reset(journal);
	if (err) {
		fprintf(stderr, "JBD2: journal reset failed\n");
		return err;
	}
	write_lock(&journal->j_state_lock);
	WRITE_ONCE(journal->j_flags, journal->j_flags | JBD2_LOADED);
	/* A previous abort's s_errno stays on disk (the fs reads it from
	 * j_superblock and clears it, as ext4_clear_journal_err()); the live
	 * journal starts without an error. */
	journal->j_errno = 0;
	write_unlock(&journal->j_state_lock);
	return 0;
}

/*
 * jbd2_journal_flush - commit and checkpoint everything, s_start = 0
 * (fs/jbd2/journal.c).  @flags (discard/zeroout) is ignored.  Entry: the
 * caller holds jbd2_journal_lock_updates(); no handle, no locks.
 */
int jbd2_journal_flush(journal_t *journal, unsigned int flags)
{
	transaction_t *transaction = NULL;
	int err = 0;

	write_lock(&journal->j_state_lock);
	if (journal->j_running_transaction) {
		transaction = journal->j_running_transaction;
		__jbd2_log_start_commit(journal, transaction->t_tid);
	} else if (journal->j_committing_transaction) {
		transaction = journal->j_committing_transaction;
	}
	if (transaction) {
		tid_t tid = transaction->t_tid;

		write_unlock(&journal->j_state_lock);
		jbd2_log_wait_commit(journal, tid);
	} else {
		write_unlock(&journal->j_state_lock);
	}

	spin_lock(&journal->j_list_lock);
	while (!err && journal->j_checkpoint_transactions) {
		spin_unlock(&journal->j_list_lock);
		mutex_lock(&journal->j_checkpoint_mutex);
		err = jbd2_log_do_checkpoint(journal);
		mutex_unlock(&journal->j_checkpoint_mutex);
		spin_lock(&journal->j_list_lock);
	}
	spin_unlock(&journal->j_list_lock);
	if (is_journal_aborted(journal))
		return -EIO;

	mutex_lock(&journal->j_checkpoint_mutex);
	if (!err) {
		err = jbd2_cleanup_journal_tail(journal);
		if (err < 0) {
			mutex_unlock(&journal->j_checkpoint_mutex);
			return err;
		}
		err = 0;
	}
	jbd2_mark_journal_empty(journal, REQ_FUA);
	mutex_unlock(&journal->j_checkpoint_mutex);
	return err;
}

/*
 * jbd2_journal_wipe - forget a stale log (fs/jbd2/journal.c).
 * ext4_load_journal() calls it between init and load when the ext4
 * superblock's needs_recovery is clear, with write = !really_read_only
 * (bdev_read_only() of the fs or journal device: the device, not the
 * mount -- an ro mount of a writable device clears the log too).  An
 * empty log (j_tail == 0) is left alone, silently.  Otherwise: "JBD2:
 * Clearing recovery information on journal" (write) or "JBD2: Ignoring
 * recovery information on journal", jbd2_journal_skip_recovery() (the
 * scan; next tid and head; j_tail = 0), and with write the superblock is
 * marked empty on disk: jbd2_mark_journal_empty(REQ_FUA) -- s_start = 0,
 * s_head = the head the scan found, checksum.  Nothing of the log is
 * replayed, ever.  Without write nothing is written here; a
 * jbd2_journal_load() that follows writes the superblock anyway
 * (journal_reset(): s_start is still set on disk) -- so does the
 * kernel's, which makes the ro mount of a read-only device with a stale
 * log fail on 6.18 (tested); jbdlab's ro mounts never load the journal.
 *
 * Model deviation, on purpose: the kernel leaves j_tail_sequence at the
 * old s_sequence, so the wiped superblock keeps s_sequence = the FIRST
 * tid of the stale log, and its next jbd2_journal_recover() (s_start 0)
 * restarts the tids at that + 1 -- tids the stale log still holds.  ext4
 * gets away with it because it always sets JBD2_CYCLE_RECORD: the new log
 * starts at s_head, after the stale one, which is reached again only
 * after the log wraps.  jbdlab has no cycle record (journal_reset()
 * starts at j_first, maybe right over the stale log), so here the
 * superblock gets the tid after the stale log, as e2fsck writes after a
 * replay: s_sequence = end_transaction + 1 (peers.md trap 4).
 *
 * The superblock write's error is not returned (the kernel's is not
 * either; a failed write leaves the on-disk log for the next mount).
 * Entry: after jbd2_journal_init(), before jbd2_journal_load(); no locks;
 * takes j_checkpoint_mutex around the superblock update.  Exit: the log
 * is empty in memory.  0 or the scan's error (the caller fails the mount,
 * as ext4_load_journal(): "error loading journal").
 */
int jbd2_journal_wipe(journal_t *journal, int write)
{
	int err;

	J_ASSERT(!(READ_ONCE(journal->j_flags) & JBD2_LOADED));
	if (!journal->j_tail)
		return 0;
	fprintf(stderr, "JBD2: %s recovery information on journal\n",
		write ? "Clearing" : "Ignoring");
	err = jbd2_journal_skip_recovery(journal);
	if (write) {
		write_lock(&journal->j_state_lock);
		/* the deviation (above) */
		journal->j_tail_sequence = journal->j_transaction_sequence;
		write_unlock(&journal->j_state_lock);
		mutex_lock(&journal->j_checkpoint_mutex);
		jbd2_mark_journal_empty(journal, REQ_FUA);
		mutex_unlock(&journal->j_checkpoint_mutex);
	}
	return err;
}

/*
 * jbd2_journal_destroy - unmount (fs/jbd2/journal.c): stop kjournald2,
 * commit the running transaction, checkpoint every transaction (the
 * blocks go home), then s_start = 0 and s_sequence = next tid + 1 with
 * REQ_PREFLUSH|REQ_FUA, unless the journal is aborted (then -EIO and the
 * log is left for recovery).  Frees the journal.  Entry: no handle open
 * anywhere, no locks.
 */
int jbd2_journal_destroy(journal_t *journal)
{
	int err = 0;

	journal_kill_thread(journal);
	if (journal->j_running_transaction)
		jbd2_journal_commit_transaction(journal);

	spin_lock(&journal->j_list_lock);
	while (journal->j_checkpoint_transactions) {
		spin_unlock(&journal->j_list_lock);
		mutex_lock(&journal->j_checkpoint_mutex);
		err = jbd2_log_do_checkpoint(journal);
		mutex_unlock(&journal->j_checkpoint_mutex);
		if (err) {
			/* Free the buffers rather than loop forever. */
			jbd2_journal_destroy_checkpoint(journal);
			spin_lock(&journal->j_list_lock);
			break;
		}
		spin_lock(&journal->j_list_lock);
	}
	J_ASSERT(journal->j_running_transaction == NULL);
	J_ASSERT(journal->j_committing_transaction == NULL);
	J_ASSERT(journal->j_checkpoint_transactions == NULL);
	spin_unlock(&journal->j_list_lock);

	if (journal->j_sb_buffer) {
		if (!is_journal_aborted(journal)) {
			mutex_lock(&journal->j_checkpoint_mutex);
			write_lock(&journal->j_state_lock);
			journal->j_tail_sequence = ++journal->j_transaction_sequence;
			write_unlock(&journal->j_state_lock);
			jbd2_mark_journal_empty(journal, REQ_PREFLUSH | REQ_FUA);
			mutex_unlock(&journal->j_checkpoint_mutex);
		} else {
			err = -EIO;
		}
		brelse(journal->j_sb_buffer);
		journal->j_sb_buffer = NULL;
	}
	jbd2_journal_destroy_revoke(journal);
	jbd2_free_logged(journal);
	free(journal->j_chkpt_bhs);
	free(journal->j_wbuf);
	free((void *)journal->j_blockmap);
	pthread_mutex_destroy(&journal->j_wait_commit_lock);
	pthread_cond_destroy(&journal->j_wait_commit);
	free(journal);
	return err;
}

/*
 * jbd2_journal_abort - the journal is dead (fs/jbd2/journal.c): JBD2_ABORT
 * and j_errno, a commit of the running transaction is started so that its
 * buffers are released without being written, and s_errno goes to disk.
 * New handles get -EROFS.  Sticky.  Entry: no journal locks (sleeps).
 */
void jbd2_journal_abort(journal_t *journal, int errno_)
{
	transaction_t *transaction;

	mutex_lock(&journal->j_abort_mutex);
	write_lock(&journal->j_state_lock);
	if (journal->j_flags & JBD2_ABORT) {
		int old_errno = journal->j_errno;

		if (old_errno != -ESHUTDOWN && errno_ == -ESHUTDOWN) {
			journal->j_errno = errno_;
			write_unlock(&journal->j_state_lock);
			jbd2_journal_update_sb_errno(journal);
		} else {
			write_unlock(&journal->j_state_lock);
		}
		mutex_unlock(&journal->j_abort_mutex);
		return;
	}
	fprintf(stderr, "Aborting journal (error %d).\n", errno_);
	WRITE_ONCE(journal->j_flags, journal->j_flags | JBD2_ABORT);
	journal->j_errno = errno_;
	transaction = journal->j_running_transaction;
	if (transaction)
		__jbd2_log_start_commit(journal, transaction->t_tid);
	write_unlock(&journal->j_state_lock);
	wake_up_var(&journal->j_wait_transaction_locked);
	jbd2_journal_update_sb_errno(journal);
	mutex_unlock(&journal->j_abort_mutex);
}

/* jbd2_journal_errno - -EROFS if aborted, else j_errno (the error recorded
 * by a previous abort, until the fs clears it).  Lock state: none.
 * The abort's own error code is in j_errno / s_errno. */
int jbd2_journal_errno(journal_t *journal)
{
	int err;

	read_lock(&journal->j_state_lock);
	if (journal->j_flags & JBD2_ABORT)
		err = -EROFS;
	else
		err = journal->j_errno;
	read_unlock(&journal->j_state_lock);
	return err;
}
