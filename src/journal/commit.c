// SPDX-License-Identifier: GPL-2.0
/*
 * commit.c - jbd2_journal_commit_transaction() (fs/jbd2/commit.c): how a
 * transaction reaches the log, in the kernel's phases and on-disk order.
 *
 *   T_LOCKED         no new handles join; wait for t_updates == 0
 *   T_SWITCH         unused BJ_Reserved buffers are refiled; clean buffers
 *                    leave the checkpoint lists; revoked flags cleared and
 *                    the revoke tables switched
 *   T_FLUSH          the transaction becomes j_committing_transaction and a
 *                    new running transaction may start; t_log_start =
 *                    j_head; ordered data buffers are submitted (write
 *                    home); the revoke records are written (type-5 blocks,
 *                    BEFORE any descriptor)
 *   T_COMMIT         for every BJ_Metadata buffer: a log block, b_count++
 *                    and BH_JWrite on bh_in, the temporary bh
 *                    (jbd2_journal_write_metadata_buffer(): aliasing the
 *                    live folio, or the frozen/escaped copy), BJ_Shadow +
 *                    BH_Shadow, the tag (fs block, ESCAPE/SAME_UUID/LAST_TAG,
 *                    the v2/v3 checksum computed through the temporary bh
 *                    NOW), the uuid after the first tag of each descriptor,
 *                    the descriptor tail checksum; then submit_bh(REQ_OP_WRITE
 *                    |REQ_SYNC) of the descriptor and the temporary bhs.  The
 *                    disk copies the bytes out of the folio at its DMA moment,
 *                    later; journal_end_buffer_io_sync() clears BH_Shadow and
 *                    wakes do_get_write_access() waiters
 *   (data wait)      wait for the ordered data buffers; the log tail we may
 *                    advance is sampled
 *   T_COMMIT_DFLUSH  wait for every temporary bh (free it, refile bh_in to
 *                    BJ_Forget, __brelse the commit's b_count), then for the
 *                    descriptor and revoke blocks
 *   T_COMMIT_JFLUSH  the commit block (commit time, v2/v3 checksum in
 *                    h_chksum[0]) with REQ_PREFLUSH|REQ_FUA (JBD2_BARRIER,
 *                    no ASYNC_COMMIT): everything before it is durable before
 *                    it is, and it is durable when it completes; then the
 *                    superblock tail update if enough log was freed
 *   T_COMMIT_CALLBACK t_forget processing: frozen copies freed, dirty buffers
 *                    inserted into this transaction's checkpoint list (the
 *                    checkpoint's own jh reference keeps bh_in pinned),
 *                    refiled to b_next_transaction or exposed dirty to the
 *                    VM; the transaction joins the checkpoint ring;
 *                    j_commit_sequence advances; j_commit_callback runs
 *   T_FINISHED       waiters of j_wait_done_commit wake; the transaction is
 *                    freed at once if nothing is left to checkpoint.
 * An aborted journal goes through the same phases but writes nothing: its
 * buffers are unjournaled (BH_JBDDirty cleared) and refiled.
 *
 * The very first commit after a clean load (JBD2_FLUSHED) writes the
 * journal superblock first, so the superblock always describes the log.
 *
 * Locking rules:
 *   - the commit runs in kjournald2 (or in jbd2_journal_destroy() once the
 *     thread is gone); only it changes t_state past T_RUNNING, and it owns
 *     the io_bufs/log_bufs lists and j_wbuf;
 *   - t_state changes under j_state_lock for writing; the T_FINISHED
 *     transition also under j_list_lock (checkpoint code frees T_FINISHED
 *     transactions under j_list_lock);
 *   - buffer filing as transaction.c: jh->b_state_lock -> j_list_lock;
 *   - the superblock update takes j_checkpoint_mutex;
 *   - journal_end_buffer_io_sync() runs in the disk's completion thread
 *     and touches only bit locks and bit waitqueues.
 */
#include <time.h>

#include "jbd2_internal.h"

void jbd2_commit_observe_state(journal_t *journal, transaction_t *t)
{
	const struct jbd2_commit_observer *o = jbd2_observer(journal);

	if (o && o->commit_state)
		o->commit_state(journal, t, t->t_state, o->priv);
}

/*
 * journal_end_buffer_io_sync - completion of every log write of the commit
 * (descriptor, revoke, commit and temporary bhs).  Runs in the disk's
 * completion thread after the DMA moment.
 */
static void journal_end_buffer_io_sync(struct buffer_head *bh, int uptodate)
{
	struct buffer_head *orig_bh = bh->b_private;

	if (uptodate)
		set_buffer_uptodate(bh);
	else
		clear_buffer_uptodate(bh);
	if (orig_bh) {
		/* the jh is stable while bh_in is on BJ_Shadow */
		journal_t *journal = bh2jh(orig_bh)->b_transaction->t_journal;

		jbd2_observe_tmpbh_end(journal, orig_bh, bh, uptodate);
		/* STRATEGY HOOK: after the DMA, before BH_Shadow clears. */
		jbd2_strategy_tmpbh_end(bh2jh(orig_bh), bh);
		clear_bit_unlock(BH_Shadow, &orig_bh->b_state);
		atomic_thread_fence(memory_order_seq_cst);	/* smp_mb__after_atomic() */
		wake_up_bit(&orig_bh->b_state, BH_Shadow);
	}
	unlock_buffer(bh);
}

/*
 * journal_submit_commit_record - the commit block, REQ_PREFLUSH|REQ_FUA
 * with barriers.  Entry: commit thread, no locks.
 */
static int journal_submit_commit_record(journal_t *journal, transaction_t *commit_transaction,
					struct buffer_head **cbh)
{
	unsigned int write_flags = REQ_OP_WRITE | JBD2_JOURNAL_REQ_FLAGS;
	struct commit_header *tmp;
	struct buffer_head *bh;
	struct timespec now;

	*cbh = NULL;
	if (is_journal_aborted(journal))
		return 0;
	bh = jbd2_journal_get_descriptor_buffer(commit_transaction, JBD2_COMMIT_BLOCK);
	if (!bh)
		return 1;
	tmp = (struct commit_header *)bh->b_data;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	tmp->h_commit_sec = htobe64((uint64_t)now.tv_sec);
	tmp->h_commit_nsec = htonl((uint32_t)now.tv_nsec);
	/* (COMPAT_CHECKSUM v1 is never set by us: no crc32_be running sum) */
	jbd2_commit_block_csum_set(journal, bh->b_data);

	lock_buffer(bh);
	clear_buffer_dirty(bh);
	set_buffer_uptodate(bh);
	bh->b_end_io = journal_end_buffer_io_sync;
	if ((READ_ONCE(journal->j_flags) & JBD2_BARRIER) && !jbd2_has_feature_async_commit(journal))
		write_flags |= REQ_PREFLUSH | REQ_FUA;
	submit_bh(write_flags, bh);
	*cbh = bh;
	return 0;
}

/* journal_wait_on_commit_record - entry: commit thread, no locks. */
static int journal_wait_on_commit_record(journal_t *journal, struct buffer_head *bh)
{
	int ret = 0;

	wait_on_buffer(bh);
	if (!buffer_uptodate(bh))
		ret = -EIO;
	put_bh(bh);	/* one for getblk() */
	return ret;
}

static int cmp_sector(const void *a, const void *b)
{
	sector_t x = *(const sector_t *)a, y = *(const sector_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * journal_submit_data_buffers - ordered mode: start writing the
 * transaction's data blocks home (model of the jbd2_inode writeback,
 * filemap_fdatawrite_range()).  A block no longer cached was written and
 * reclaimed already (reclaim evicts only clean folios); a cached one is
 * written if still dirty and kept referenced until
 * journal_finish_inode_data_buffers() has waited for it.  The list is
 * reused to hold those buffer_heads.
 * Entry: commit thread at T_FLUSH, no locks.
 */
static int journal_submit_data_buffers(journal_t *journal, transaction_t *commit_transaction)
{
	sector_t *blocks = commit_transaction->t_data_blocks;
	struct buffer_head **held;
	int n, out = 0;

	spin_lock(&journal->j_list_lock);
	n = commit_transaction->t_nr_data_blocks;
	spin_unlock(&journal->j_list_lock);
	commit_transaction->t_data_held = NULL;
	commit_transaction->t_nr_data_held = 0;
	if (!n)
		return 0;
	/* No handle of this transaction is open any more: we own the list. */
	qsort(blocks, (size_t)n, sizeof(*blocks), cmp_sector);
	held = malloc(sizeof(*held) * (size_t)n);
	BUG_ON(!held);
	for (int i = 0; i < n; i++) {
		struct buffer_head *bh;

		if (i && blocks[i] == blocks[i - 1])
			continue;	/* filed twice */
		bh = __find_get_block_nonatomic(journal->j_fs_dev, blocks[i],
						(unsigned int)journal->j_blocksize);
		if (!bh)
			continue;
		if (buffer_dirty(bh))
			write_dirty_buffer(bh, REQ_SYNC);
		held[out++] = bh;
	}
	commit_transaction->t_data_held = held;
	commit_transaction->t_nr_data_held = out;
	return 0;
}

/* journal_finish_inode_data_buffers - wait for the ordered data. */
static int journal_finish_inode_data_buffers(journal_t *journal, transaction_t *commit_transaction)
{
	int ret = 0;

	for (int i = 0; i < commit_transaction->t_nr_data_held; i++) {
		struct buffer_head *bh = commit_transaction->t_data_held[i];

		wait_on_buffer(bh);
		if (buffer_write_io_error(bh))
			ret = -EIO;
		__brelse(bh);
	}
	free(commit_transaction->t_data_held);
	commit_transaction->t_data_held = NULL;
	commit_transaction->t_nr_data_held = 0;
	commit_transaction->t_nr_data_blocks = 0;
	return ret;
}

/*
 * jbd2_journal_commit_transaction - commit the running transaction (see
 * the essay).  Entry: kjournald2 (or destroy after the thread is gone);
 * no locks; j_running_transaction != NULL.
 */
void jbd2_journal_commit_transaction(journal_t *journal)
{
	transaction_t *commit_transaction;
	struct journal_head *jh;
	struct buffer_head *descriptor = NULL, *cbh = NULL;
	struct buffer_head **wbuf = journal->j_wbuf;
	journal_block_tag3_t *tag = NULL;
	unsigned long long blocknr;
	char *tagp = NULL;
	char *dbase = NULL;	/* descriptor->b_data when tagp was derived from it */
	int bufs = 0, space_left = 0, first_tag = 0, tag_flag, i, err = 0;
	int tag_bytes = (int)journal_tag_bytes(journal);
	int csum_size = 0;
	bool update_tail, free_it = false;
	unsigned long first_block;
	tid_t first_tid;
	LIST_HEAD(io_bufs);
	LIST_HEAD(log_bufs);

	if (jbd2_journal_has_csum_v2or3(journal))
		csum_size = (int)sizeof(struct jbd2_journal_block_tail);

	/* Do we need to erase the effects of a prior jbd2_journal_flush?
	 * (j_flags is read without j_state_lock, as the kernel does: a
	 * checkpoint may clear JBD2_FLUSHED under it concurrently.) */
	if (READ_ONCE(journal->j_flags) & JBD2_FLUSHED) {
		mutex_lock(&journal->j_checkpoint_mutex);
		/* The journal is empty: the write may go out with the commit. */
		jbd2_journal_update_sb_log_tail(journal, journal->j_tail_sequence,
						journal->j_tail, 0);
		mutex_unlock(&journal->j_checkpoint_mutex);
	}

	J_ASSERT(journal->j_running_transaction != NULL);
	J_ASSERT(journal->j_committing_transaction == NULL);

	write_lock(&journal->j_state_lock);
	commit_transaction = journal->j_running_transaction;
	J_ASSERT(commit_transaction->t_state == T_RUNNING);
	WRITE_ONCE(commit_transaction->t_state, T_LOCKED);

	/* jbd2_journal_wait_updates() */
	while (atomic_load(&commit_transaction->t_updates)) {
		write_unlock(&journal->j_state_lock);
		wait_var_event(&journal->j_wait_updates,
			       !atomic_load(&commit_transaction->t_updates));
		write_lock(&journal->j_state_lock);
	}
	WRITE_ONCE(commit_transaction->t_state, T_SWITCH);
	J_ASSERT(atomic_load(&commit_transaction->t_outstanding_credits) <=
		 journal->j_max_transaction_buffers);

	/* Discard the BJ_Reserved buffers nobody dirtied. */
	while (commit_transaction->t_reserved_list) {
		jh = commit_transaction->t_reserved_list;
		if (jh->b_committed_data) {
			spin_lock(&jh->b_state_lock);
			free(jh->b_committed_data);
			jh->b_committed_data = NULL;
			spin_unlock(&jh->b_state_lock);
		}
		jbd2_journal_refile_buffer(journal, jh);
	}
	write_unlock(&journal->j_state_lock);
	jbd2_commit_observe_state(journal, commit_transaction);

	/* Drop written-back buffers from the checkpoint lists before the commit. */
	spin_lock(&journal->j_list_lock);
	__jbd2_journal_clean_checkpoint_list(journal, false);
	spin_unlock(&journal->j_list_lock);

	/* The next transaction has no revoked buffers yet; switch tables. */
	jbd2_clear_buffer_revoked_flags(journal);
	jbd2_journal_switch_revoke_table(journal);

	write_lock(&journal->j_state_lock);
	/* Reserved credits cannot be claimed any more. */
	atomic_fetch_sub(&commit_transaction->t_outstanding_credits,
			 atomic_load(&journal->j_reserved_credits));
	WRITE_ONCE(commit_transaction->t_state, T_FLUSH);
	WRITE_ONCE(journal->j_committing_transaction, commit_transaction);
	WRITE_ONCE(journal->j_running_transaction, NULL);
	commit_transaction->t_log_start = journal->j_head;
	write_unlock(&journal->j_state_lock);
	wake_up_var(&journal->j_wait_transaction_locked);
	jbd2_commit_observe_state(journal, commit_transaction);

	/* Data blocks go first (ordered mode). */
	err = journal_submit_data_buffers(journal, commit_transaction);
	if (err)
		jbd2_journal_abort(journal, err);

	/* Revoke records, before any descriptor of this transaction. */
	jbd2_journal_write_revoke_records(commit_transaction, &log_bufs);

	write_lock(&journal->j_state_lock);
	WRITE_ONCE(commit_transaction->t_state, T_COMMIT);
	write_unlock(&journal->j_state_lock);
	jbd2_commit_observe_state(journal, commit_transaction);

	J_ASSERT(commit_transaction->t_nr_buffers <=
		 atomic_load(&commit_transaction->t_outstanding_credits));

	while (commit_transaction->t_buffers) {
		jh = commit_transaction->t_buffers;

		/* Aborting: unjournal the buffer, write nothing. */
		if (is_journal_aborted(journal)) {
			clear_buffer_jbddirty(jh2bh(jh));
			jbd2_journal_refile_buffer(journal, jh);
			/* clean up any descriptor we may already have */
			if (!commit_transaction->t_buffers)
				goto start_journal_io;
			continue;
		}

		if (!descriptor) {
			J_ASSERT(bufs == 0);
			descriptor = jbd2_journal_get_descriptor_buffer(commit_transaction,
									JBD2_DESCRIPTOR_BLOCK);
			if (!descriptor) {
				jbd2_journal_abort(journal, -EIO);
				continue;
			}
			dbase = descriptor->b_data;
			tagp = &dbase[sizeof(journal_header_t)];
			space_left = (int)descriptor->b_size - (int)sizeof(journal_header_t);
			first_tag = 1;
			set_buffer_jwrite(descriptor);
			set_buffer_dirty(descriptor);
			wbuf[bufs++] = descriptor;
			jbd2_file_log_bh(&log_bufs, descriptor);
		}

		err = jbd2_journal_next_log_block(journal, &blocknr);
		if (err) {
			jbd2_journal_abort(journal, err);
			continue;
		}
		/* start_this_handle() uses t_outstanding_credits for log space */
		atomic_fetch_sub(&commit_transaction->t_outstanding_credits, 1);

		/*
		 * Bump b_count to prevent truncate from stumbling over the
		 * shadowed buffer -- and, for this lab, the reference the norefs
		 * migration path sees for as long as the temporary bh aliases
		 * bh_in's folio.
		 */
		atomic_fetch_add(&jh2bh(jh)->b_count, 1);
		set_bit(BH_JWrite, &jh2bh(jh)->b_state);
		tag_flag = 0;
		if (jbd2_journal_write_metadata_buffer(commit_transaction, jh, &wbuf[bufs], blocknr))
			tag_flag |= JBD2_FLAG_ESCAPE;
		jbd2_file_log_bh(&io_bufs, wbuf[bufs]);

		if (!first_tag)
			tag_flag |= JBD2_FLAG_SAME_UUID;
		tag = (journal_block_tag3_t *)tagp;
		jbd2_tag_set(journal, tag, jh2bh(jh)->b_blocknr, (unsigned int)tag_flag);
		/* The tag checksum is taken through the temporary bh, now. */
		jbd2_block_tag_csum_set(journal, tag, wbuf[bufs]->b_data, commit_transaction->t_tid);
		tagp += tag_bytes;
		space_left -= tag_bytes;
		bufs++;

		if (first_tag) {
			memcpy(tagp, journal->j_uuid, 16);
			tagp += 16;
			space_left -= 16;
			first_tag = 0;
		}

		/* Descriptor full, or nothing left: let the I/O rip. */
		if (bufs == journal->j_wbufsize || commit_transaction->t_buffers == NULL ||
		    space_left < tag_bytes + 16 + csum_size) {
			/* end-of-descriptor marker on the last tag */
			/* flags are the big-endian 16 bits at offset 6 of both tag layouts */
			((unsigned char *)tag)[7] |= JBD2_FLAG_LAST_TAG;
start_journal_io:
			if (descriptor) {
				jbd2_observe_own_ptr(journal, descriptor, dbase,
						     "descriptor tags");
				jbd2_descriptor_block_csum_set(journal, descriptor->b_data);
			}
			for (i = 0; i < bufs; i++) {
				struct buffer_head *bh = wbuf[i];

				lock_buffer(bh);
				clear_buffer_dirty(bh);
				set_buffer_uptodate(bh);
				bh->b_end_io = journal_end_buffer_io_sync;
				submit_bh(REQ_OP_WRITE | JBD2_JOURNAL_REQ_FLAGS, bh);
				const struct jbd2_commit_observer *o = jbd2_observer(journal);

				if (bh->b_private && o && o->tmpbh_submitted)
					o->tmpbh_submitted(journal, bh->b_private, bh, o->priv);
			}
			descriptor = NULL;
			bufs = 0;
		}
	}

	err = journal_finish_inode_data_buffers(journal, commit_transaction);
	if (err) {
		fprintf(stderr, "JBD2: Detected IO errors while flushing file data\n");
		if (READ_ONCE(journal->j_flags) & JBD2_ABORT_ON_SYNCDATA_ERR)
			jbd2_journal_abort(journal, err);
		err = 0;
	}

	/*
	 * The oldest transaction still in the log, sampled before the commit
	 * block's PREFLUSH: after it, older transactions' checkpointed blocks
	 * are durable and the superblock may move the tail past them.
	 */
	update_tail = jbd2_journal_get_log_tail(journal, &first_tid, &first_block);

	write_lock(&journal->j_state_lock);
	if (update_tail) {
		long freed = (long)first_block - (long)journal->j_tail;

		if (first_block < journal->j_tail)
			freed += (long)(journal->j_last - journal->j_first);
		/* Update the tail only if we free a significant amount of space. */
		if (freed < journal->j_max_transaction_buffers)
			update_tail = false;
	}
	J_ASSERT(commit_transaction->t_state == T_COMMIT);
	WRITE_ONCE(commit_transaction->t_state, T_COMMIT_DFLUSH);
	write_unlock(&journal->j_state_lock);
	jbd2_commit_observe_state(journal, commit_transaction);
	/* (internal journal: j_fs_dev == j_dev, no separate fs-device flush) */

	/* Wait for the temporary bhs, in reverse order. */
	while (!list_empty(&io_bufs)) {
		struct buffer_head *bh = list_entry(io_bufs.prev, struct buffer_head, b_assoc_buffers);

		wait_on_buffer(bh);
		if (!buffer_uptodate(bh))
			err = -EIO;
		jbd2_unfile_log_bh(bh);
		atomic_fetch_add(&journal->j_stat_blocks_logged, 1);
		/* the temporary bh is gone: the aliasing window is closed */
		__brelse(bh);
		J_ASSERT_BH(bh, atomic_load(&bh->b_count) == 0);
		free_buffer_head(bh);

		/* Refile the shadowed buffer (same order as io_bufs). */
		jh = commit_transaction->t_shadow_list->b_tprev;
		bh = jh2bh(jh);
		clear_buffer_jwrite(bh);
		J_ASSERT_BH(bh, buffer_jbddirty(bh));
		J_ASSERT_BH(bh, !buffer_shadow(bh));
		if (!err)
			jbd2_journal_note_logged(journal, bh->b_blocknr, commit_transaction->t_tid);
		/* Remember it against this transaction for checkpointing. */
		jbd2_journal_file_buffer(jh, commit_transaction, BJ_Forget);
		__brelse(bh);	/* the commit's b_count */
	}
	J_ASSERT(commit_transaction->t_shadow_list == NULL);

	/* The revoke and descriptor blocks. */
	while (!list_empty(&log_bufs)) {
		struct buffer_head *bh = list_entry(log_bufs.prev, struct buffer_head, b_assoc_buffers);

		wait_on_buffer(bh);
		if (!buffer_uptodate(bh))
			err = -EIO;
		clear_buffer_jwrite(bh);
		jbd2_unfile_log_bh(bh);
		atomic_fetch_add(&journal->j_stat_blocks_logged, 1);
		__brelse(bh);	/* one for getblk */
	}
	if (err)
		jbd2_journal_abort(journal, err);

	write_lock(&journal->j_state_lock);
	J_ASSERT(commit_transaction->t_state == T_COMMIT_DFLUSH);
	WRITE_ONCE(commit_transaction->t_state, T_COMMIT_JFLUSH);
	write_unlock(&journal->j_state_lock);
	jbd2_commit_observe_state(journal, commit_transaction);

	err = journal_submit_commit_record(journal, commit_transaction, &cbh);
	if (err)
		jbd2_journal_abort(journal, err);
	if (cbh)
		err = journal_wait_on_commit_record(journal, cbh);
	atomic_fetch_add(&journal->j_stat_blocks_logged, 1);
	if (err)
		jbd2_journal_abort(journal, err);
	WARN_ON_ONCE(atomic_load(&commit_transaction->t_outstanding_credits) < 0);

	/* The commit block's PREFLUSH made the checkpointed blocks durable. */
	if (update_tail)
		jbd2_update_log_tail(journal, first_tid, first_block);

	J_ASSERT(commit_transaction->t_buffers == NULL);
	J_ASSERT(commit_transaction->t_checkpoint_list == NULL);
	J_ASSERT(commit_transaction->t_shadow_list == NULL);

restart_loop:
	spin_lock(&journal->j_list_lock);
	while (commit_transaction->t_forget) {
		transaction_t *cp_transaction;
		struct buffer_head *bh;
		bool try_to_free = false, drop_ref;

		jh = commit_transaction->t_forget;
		spin_unlock(&journal->j_list_lock);
		bh = jh2bh(jh);
		get_bh(bh);	/* so that bh cannot go away while we look at it */
		spin_lock(&jh->b_state_lock);
		J_ASSERT_JH(jh, jh->b_transaction == commit_transaction);

		/* The frozen copy has been logged: throw it away. */
		if (jh->b_committed_data) {
			free(jh->b_committed_data);
			jh->b_committed_data = NULL;
			if (jh->b_frozen_data) {
				jh->b_committed_data = jh->b_frozen_data;
				jh->b_frozen_data = NULL;
			}
		} else if (jh->b_frozen_data) {
			free(jh->b_frozen_data);
			jh->b_frozen_data = NULL;
		}

		spin_lock(&journal->j_list_lock);
		cp_transaction = jh->b_cp_transaction;
		if (cp_transaction)
			__jbd2_journal_remove_checkpoint(jh);

		/* Freed while a prior transaction still journaled it. */
		if (buffer_freed(bh) && !jh->b_next_transaction) {
			clear_buffer_freed(bh);
			clear_buffer_jbddirty(bh);
			/* bdev buffers stay mapped: nothing more to clear */
		}

		if (buffer_jbddirty(bh)) {
			__jbd2_journal_insert_checkpoint(jh, commit_transaction);
			if (is_journal_aborted(journal))
				clear_buffer_jbddirty(bh);
		} else {
			J_ASSERT_BH(bh, !buffer_dirty(bh));
			/* freed by this transaction: may be reallocated now */
			if (!jh->b_next_transaction)
				try_to_free = true;
		}
		drop_ref = __jbd2_journal_refile_buffer(jh);
		spin_unlock(&jh->b_state_lock);
		if (drop_ref)
			jbd2_journal_put_journal_head(jh);
		/* (release_buffer_page() for try_to_free: the bdev cache keeps
		 * the folio; eviction reclaims it when it is clean and unused) */
		(void)try_to_free;
		__brelse(bh);
	}
	spin_unlock(&journal->j_list_lock);

	write_lock(&journal->j_state_lock);
	spin_lock(&journal->j_list_lock);
	if (commit_transaction->t_forget) {
		spin_unlock(&journal->j_list_lock);
		write_unlock(&journal->j_state_lock);
		goto restart_loop;
	}
	/* Join the checkpoint ring (not yet T_FINISHED: nobody frees it). */
	if (journal->j_checkpoint_transactions == NULL) {
		journal->j_checkpoint_transactions = commit_transaction;
		commit_transaction->t_cpnext = commit_transaction;
		commit_transaction->t_cpprev = commit_transaction;
	} else {
		commit_transaction->t_cpnext = journal->j_checkpoint_transactions;
		commit_transaction->t_cpprev = commit_transaction->t_cpnext->t_cpprev;
		commit_transaction->t_cpnext->t_cpprev = commit_transaction;
		commit_transaction->t_cpprev->t_cpnext = commit_transaction;
	}
	spin_unlock(&journal->j_list_lock);

	J_ASSERT(commit_transaction->t_state == T_COMMIT_JFLUSH);
	commit_transaction->t_start = jbd2_now_ms();
	WRITE_ONCE(commit_transaction->t_state, T_COMMIT_CALLBACK);
	J_ASSERT(commit_transaction == journal->j_committing_transaction);
	WRITE_ONCE(journal->j_commit_sequence, commit_transaction->t_tid);
	WRITE_ONCE(journal->j_committing_transaction, NULL);
	write_unlock(&journal->j_state_lock);
	atomic_fetch_add(&journal->j_stat_commits, 1);
	jbd2_commit_observe_state(journal, commit_transaction);

	if (journal->j_commit_callback)
		journal->j_commit_callback(journal, commit_transaction);

	/* Report T_FINISHED first: once set, checkpointing may free @t. */
	{
		const struct jbd2_commit_observer *o = jbd2_observer(journal);

		if (o && o->commit_state)
			o->commit_state(journal, commit_transaction, T_FINISHED, o->priv);
	}
	write_lock(&journal->j_state_lock);
	spin_lock(&journal->j_list_lock);
	WRITE_ONCE(commit_transaction->t_state, T_FINISHED);
	/* Can it be dropped now? */
	if (commit_transaction->t_checkpoint_list == NULL) {
		__jbd2_journal_drop_transaction(journal, commit_transaction);
		free_it = true;
	}
	spin_unlock(&journal->j_list_lock);
	write_unlock(&journal->j_state_lock);
	if (free_it)
		jbd2_journal_free_transaction(commit_transaction);
	wake_up_var(&journal->j_wait_done_commit);
}
