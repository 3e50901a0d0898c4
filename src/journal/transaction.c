// SPDX-License-Identifier: GPL-2.0
/*
 * transaction.c - handles, credits and buffer filing (fs/jbd2/transaction.c).
 *
 * A handle is one atomic filesystem update.  It joins the running
 * transaction (creating one if there is none) with a number of credits:
 * the most distinct buffers it may dirty, plus the descriptor blocks its
 * revoke records may need.  start_this_handle() refuses a handle larger
 * than jbd2_max_user_trans_buffers() (WARN, -ENOSPC), waits while the
 * running transaction is locked for commit, starts a commit and waits when
 * the transaction would grow past j_max_transaction_buffers, and waits for
 * log space (__jbd2_log_wait_for_space(): checkpoint, wait for the commit,
 * or abort) when less than a whole transaction fits in the log.  Handles
 * nest per thread (current->journal_info, h_ref).
 *
 * Buffers.  jbd2_journal_get_write_access() attaches a journal_head (which
 * pins b_count) and files the buffer on the running transaction's
 * BJ_Reserved list, moving a BH_Dirty bit to BH_JBDDirty under the buffer
 * lock so that writeback cannot write the block home before the journal
 * has it.  If the committing transaction still owns the buffer:
 *   - BH_Shadow set (its temporary bh is being written to the log): sleep
 *     on the bit until journal_end_buffer_io_sync() clears it -- the data
 *     the log receives must not change under the I/O;
 *   - still on the committing transaction's BJ_Metadata (not yet written):
 *     copy it out into b_frozen_data (jbd2_freeze_jh_data()); the commit
 *     logs the copy and the caller may modify the live buffer at once;
 * either way b_next_transaction = the running transaction, and the buffer
 * is refiled there when the commit is done with it.
 * jbd2_journal_dirty_metadata() charges one credit the first time a buffer
 * is dirtied in a transaction (b_modified): a handle out of buffer credits
 * gets WARN_ON_ONCE and -ENOSPC -- the signature of the 2025 ext4 credit
 * bug (32a93f5bc9b9, kernel-race.md I3) -- and the fs decides what follows.
 * jbd2_journal_forget() (bforget) unjournals a buffer being freed and
 * returns its credit if this transaction had dirtied it.
 *
 * Model: no reserved handles (rsv_blocks must be 0), no undo access, no
 * triggers; jbd2_write_access_granted() takes the jh bit lock instead of
 * RCU; ordered data is a per-transaction list of data buffers
 * (jbd2_journal_file_data()), the stand-in for jbd2_journal_inode_ranged_write().
 *
 * Locking rules:
 *   - j_state_lock (read) is held to look at and join the running
 *     transaction; creating one takes it for writing;
 *   - t_updates and t_outstanding_credits are atomics read under
 *     j_state_lock; t_updates reaching 0 wakes j_wait_updates;
 *   - every change to a buffer's journal state (b_transaction,
 *     b_next_transaction, b_jlist, b_modified, b_frozen_data) happens under
 *     jh->b_state_lock, and list changes additionally under j_list_lock
 *     (jh->b_state_lock -> j_list_lock);
 *   - the buffer lock is taken before jh->b_state_lock, never after;
 *   - some fields are also read WITHOUT their lock, as in the kernel:
 *     jh->b_transaction/b_next_transaction (jbd2_write_access_granted()),
 *     b_modified/b_jlist (jbd2_journal_dirty_metadata()),
 *     j_running_transaction, t_state and j_barrier_count (start_this_handle()
 *     and its wait conditions); their writers use WRITE_ONCE() so that the
 *     pairs are marked accesses (KCSAN's rule; ThreadSanitizer needs both
 *     sides atomic);
 *   - a handle's own fields are owned by the thread that started it.
 */
#include "jbd2_internal.h"

static inline int jbd2_max_user_trans_buffers(journal_t *journal)
{
	return journal->j_max_transaction_buffers - journal->j_transaction_overhead_buffers;
}

/* jbd2_get_transaction - entry: j_state_lock held for writing. */
static void jbd2_get_transaction(journal_t *journal, transaction_t *transaction)
{
	assert_write_locked(&journal->j_state_lock);
	transaction->t_journal = journal;
	transaction->t_state = T_RUNNING;
	transaction->t_tid = journal->j_transaction_sequence++;
	transaction->t_start = jbd2_now_ms();
	transaction->t_expires = transaction->t_start + journal->j_commit_interval;
	spin_lock_init(&transaction->t_handle_lock);
	atomic_store(&transaction->t_updates, 0);
	atomic_store(&transaction->t_outstanding_credits,
		     journal->j_transaction_overhead_buffers +
		     atomic_load(&journal->j_reserved_credits));
	atomic_store(&transaction->t_outstanding_revokes, 0);
	atomic_store(&transaction->t_handle_count, 0);
	INIT_LIST_HEAD(&transaction->t_deferred_frees);
	J_ASSERT(journal->j_running_transaction == NULL);
	/* read locklessly by start_this_handle() and transaction_unlocked() */
	WRITE_ONCE(journal->j_running_transaction, transaction);
	transaction->t_max_wait = 0;
	transaction->t_requested = 0;
	/* Set up the commit timer for the new transaction. */
	journal->j_commit_timer_expires = transaction->t_expires;
	jbd2_wake_commit(journal);
}

/* The running transaction @t (tid @tid) is no longer the one to wait for. */
static bool transaction_unlocked(journal_t *journal, transaction_t *t, tid_t tid)
{
	transaction_t *rt = READ_ONCE(journal->j_running_transaction);

	if (is_journal_aborted(journal) || rt != t)
		return true;
	return READ_ONCE(rt->t_tid) != tid || READ_ONCE(rt->t_state) == T_RUNNING;
}

/*
 * wait_transaction_locked - wait until the running transaction is no
 * longer locked for commit, kicking its commit.  Entry: j_state_lock held
 * for reading; exit: released.
 */
static void wait_transaction_locked(journal_t *journal)
{
	transaction_t *t = journal->j_running_transaction;
	tid_t tid = t->t_tid;
	bool need_to_start = !tid_geq(journal->j_commit_request, tid);

	read_unlock(&journal->j_state_lock);
	if (need_to_start)
		jbd2_log_start_commit(journal, tid);
	wait_var_event(&journal->j_wait_transaction_locked, transaction_unlocked(journal, t, tid));
}

/*
 * add_transaction_credits - account @blocks to the running transaction.
 * Entry: j_state_lock held for reading.  Returns 0 with it still held, or 1
 * with it released (the caller retries).
 */
static int add_transaction_credits(journal_t *journal, int blocks, int rsv_blocks)
{
	transaction_t *t = journal->j_running_transaction;
	int total = blocks + rsv_blocks;
	int needed;

	if (t->t_state != T_RUNNING) {
		WARN_ON_ONCE(t->t_state >= T_FLUSH);
		wait_transaction_locked(journal);
		return 1;
	}
	needed = atomic_fetch_add(&t->t_outstanding_credits, total) + total;
	if (needed > journal->j_max_transaction_buffers) {
		/* Too large: commit it and join the next transaction. */
		atomic_fetch_sub(&t->t_outstanding_credits, total);
		if (atomic_load(&journal->j_reserved_credits) + total >
		    journal->j_max_transaction_buffers) {
			read_unlock(&journal->j_state_lock);
			wait_var_event(&journal->j_wait_reserved,
				       atomic_load(&journal->j_reserved_credits) + total <=
				       journal->j_max_transaction_buffers);
			return 1;
		}
		wait_transaction_locked(journal);
		return 1;
	}
	/*
	 * The commit needs log space it cannot make by checkpointing (that
	 * could deadlock against its own buffers), so make sure a whole
	 * transaction fits before dirtying anything in a new one.
	 */
	if (jbd2_log_space_left(journal) < (unsigned long)journal->j_max_transaction_buffers) {
		atomic_fetch_sub(&t->t_outstanding_credits, total);
		read_unlock(&journal->j_state_lock);
		write_lock(&journal->j_state_lock);
		if (jbd2_log_space_left(journal) < (unsigned long)journal->j_max_transaction_buffers)
			__jbd2_log_wait_for_space(journal);
		write_unlock(&journal->j_state_lock);
		return 1;
	}
	/* No reservation? (model: there never is one) */
	return 0;
}

/*
 * start_this_handle - join (or create) the running transaction.
 * Entry: no journal locks, no current handle.  0 or -EROFS/-ENOSPC.
 */
static int start_this_handle(journal_t *journal, handle_t *handle)
{
	transaction_t *transaction, *new_transaction = NULL;
	int blocks = handle->h_total_credits;

	if (blocks > jbd2_max_user_trans_buffers(journal)) {
		fprintf(stderr, "JBD2: %s wants too many credits credits:%d rsv_credits:%d max:%d\n",
			handle->h_name ? handle->h_name : "?", blocks, 0,
			jbd2_max_user_trans_buffers(journal));
		WARN_ON(1);
		return -ENOSPC;
	}

alloc_transaction:
	if (!READ_ONCE(journal->j_running_transaction) && !new_transaction) {
		new_transaction = calloc(1, sizeof(*new_transaction));
		if (!new_transaction)
			return -ENOMEM;
	}
repeat:
	read_lock(&journal->j_state_lock);
	BUG_ON(journal->j_flags & JBD2_UNMOUNT);
	if (is_journal_aborted(journal) ||
	    (journal->j_errno != 0 && !(journal->j_flags & JBD2_ACK_ERR))) {
		read_unlock(&journal->j_state_lock);
		jbd2_journal_free_transaction(new_transaction);
		return -EROFS;
	}
	/* Wait on the journal's transaction barrier if necessary. */
	if (!handle->h_reserved && journal->j_barrier_count) {
		read_unlock(&journal->j_state_lock);
		wait_var_event(&journal->j_wait_transaction_locked,
			       READ_ONCE(journal->j_barrier_count) == 0);
		goto repeat;
	}
	if (!journal->j_running_transaction) {
		read_unlock(&journal->j_state_lock);
		if (!new_transaction)
			goto alloc_transaction;
		write_lock(&journal->j_state_lock);
		if (!journal->j_running_transaction && !journal->j_barrier_count) {
			jbd2_get_transaction(journal, new_transaction);
			new_transaction = NULL;
		}
		write_unlock(&journal->j_state_lock);
		goto repeat;
	}
	transaction = journal->j_running_transaction;
	if (add_transaction_credits(journal, blocks, 0))
		goto repeat;	/* j_state_lock was dropped */

	handle->h_transaction = transaction;
	handle->h_requested_credits = blocks;
	handle->h_revoke_credits_requested = handle->h_revoke_credits;
	handle->h_start_jiffies = jbd2_now_ms();
	atomic_fetch_add(&transaction->t_updates, 1);
	atomic_fetch_add(&transaction->t_handle_count, 1);
	read_unlock(&journal->j_state_lock);
	current_journal_info = handle;
	jbd2_journal_free_transaction(new_transaction);
	return 0;
}

/*
 * jbd2__journal_start - start (or nest) a handle with @nblocks buffer
 * credits and room for @revoke_records revoke records.  Returns the handle
 * or ERR_PTR(-EROFS) (aborted), ERR_PTR(-ENOSPC) (more credits than a
 * handle may have), ERR_PTR(-EINVAL) (rsv_blocks: not modelled).
 * Entry: no journal locks, no buffer lock, no spinlock (may sleep waiting
 * for a commit or a checkpoint).  A nested start on the same thread just
 * increments h_ref and returns the same handle.
 */
handle_t *jbd2__journal_start(journal_t *journal, int nblocks, int rsv_blocks,
			      int revoke_records, int type, unsigned int line_no, const char *name)
{
	handle_t *handle = journal_current_handle();
	int err;

	if (!journal)
		return ERR_PTR(-EROFS);
	if (handle) {
		J_ASSERT(handle->h_transaction->t_journal == journal);
		handle->h_ref++;
		return handle;
	}
	if (rsv_blocks) {
		WARN_ON_ONCE(1);	/* model: no reserved handles */
		return ERR_PTR(-EINVAL);
	}
	might_sleep();
	nblocks += DIV_ROUND_UP(revoke_records, journal->j_revoke_records_per_block);
	handle = calloc(1, sizeof(*handle));
	if (!handle)
		return ERR_PTR(-ENOMEM);
	handle->h_total_credits = nblocks;
	handle->h_ref = 1;
	handle->h_revoke_credits = revoke_records;
	handle->h_type = (unsigned int)type & 0xff;
	handle->h_line_no = line_no & 0xffff;
	handle->h_name = name;
	err = start_this_handle(journal, handle);
	if (err < 0) {
		free(handle);
		return ERR_PTR(err);
	}
	return handle;
}

/*
 * jbd2_journal_extend - add credits to a handle if its transaction is still
 * running and has room.  0 on success, 1 if denied (the caller restarts),
 * -EROFS if aborted.  Entry: inside the handle; no journal locks.
 */
int jbd2_journal_extend(handle_t *handle, int nblocks, int revoke_records)
{
	transaction_t *transaction = handle->h_transaction;
	journal_t *journal;
	int result = 1, wanted;

	if (is_handle_aborted(handle))
		return -EROFS;
	journal = transaction->t_journal;
	read_lock(&journal->j_state_lock);
	if (transaction->t_state != T_RUNNING)
		goto error_out;
	nblocks += DIV_ROUND_UP(handle->h_revoke_credits_requested + revoke_records,
				journal->j_revoke_records_per_block) -
		   DIV_ROUND_UP(handle->h_revoke_credits_requested,
				journal->j_revoke_records_per_block);
	wanted = atomic_fetch_add(&transaction->t_outstanding_credits, nblocks) + nblocks;
	if (wanted > journal->j_max_transaction_buffers) {
		atomic_fetch_sub(&transaction->t_outstanding_credits, nblocks);
		goto error_out;
	}
	handle->h_total_credits += nblocks;
	handle->h_requested_credits += nblocks;
	handle->h_revoke_credits += revoke_records;
	handle->h_revoke_credits_requested += revoke_records;
	result = 0;
error_out:
	read_unlock(&journal->j_state_lock);
	return result;
}

/*
 * stop_this_handle - detach the handle from its transaction, returning the
 * unused credits but keeping those of dirtied buffers and the revoke
 * descriptor blocks this transaction will really need.  Entry: no locks.
 */
static void stop_this_handle(handle_t *handle)
{
	transaction_t *transaction = handle->h_transaction;
	journal_t *journal = transaction->t_journal;
	int revokes;

	J_ASSERT(journal_current_handle() == handle);
	J_ASSERT(atomic_load(&transaction->t_updates) > 0);
	current_journal_info = NULL;
	revokes = handle->h_revoke_credits_requested - handle->h_revoke_credits;
	if (revokes) {
		int rr_per_blk = journal->j_revoke_records_per_block;
		int t_revokes, revoke_descriptors;

		WARN_ON_ONCE(DIV_ROUND_UP(revokes, rr_per_blk) > handle->h_total_credits);
		t_revokes = atomic_fetch_add(&transaction->t_outstanding_revokes, revokes) + revokes;
		revoke_descriptors = DIV_ROUND_UP(t_revokes, rr_per_blk) -
				     DIV_ROUND_UP(t_revokes - revokes, rr_per_blk);
		handle->h_total_credits -= revoke_descriptors;
	}
	atomic_fetch_sub(&transaction->t_outstanding_credits, handle->h_total_credits);
	if (atomic_fetch_sub(&transaction->t_updates, 1) == 1)
		wake_up_var(&journal->j_wait_updates);
}

/*
 * jbd2__journal_restart - stop the handle, start the commit of its
 * transaction and start again in a new one with @nblocks credits.
 * Entry: inside the handle, no locks (buffers must not be held locked).
 * Returns 0 or the start error (then the handle is detached: only
 * jbd2_journal_stop() may follow).
 */
int jbd2__journal_restart(handle_t *handle, int nblocks, int revoke_records)
{
	transaction_t *transaction = handle->h_transaction;
	journal_t *journal;
	bool need_to_start;
	tid_t tid;

	if (is_handle_aborted(handle))
		return 0;
	journal = transaction->t_journal;
	tid = transaction->t_tid;
	stop_this_handle(handle);
	handle->h_transaction = NULL;
	read_lock(&journal->j_state_lock);
	need_to_start = !tid_geq(journal->j_commit_request, tid);
	read_unlock(&journal->j_state_lock);
	if (need_to_start)
		jbd2_log_start_commit(journal, tid);
	handle->h_total_credits = nblocks +
		DIV_ROUND_UP(revoke_records, journal->j_revoke_records_per_block);
	handle->h_revoke_credits = revoke_records;
	return start_this_handle(journal, handle);
}

/*
 * jbd2_journal_stop - end the handle (or one nesting level).  A sync handle
 * (h_sync) or an expired transaction starts the commit; a sync handle then
 * waits for it.  Returns 0, -EIO if the handle or journal was aborted, or
 * the commit wait's error.  Entry: no journal locks, no buffer locks.
 */
int jbd2_journal_stop(handle_t *handle)
{
	transaction_t *transaction = handle->h_transaction;
	journal_t *journal;
	bool wait_for_commit = false;
	int err = 0;
	tid_t tid;

	if (--handle->h_ref > 0)
		return is_handle_aborted(handle) ? -EIO : 0;
	if (!transaction) {
		/* Detached by a failed restart. */
		if (journal_current_handle() == handle)
			current_journal_info = NULL;
		free(handle);
		return -EIO;
	}
	journal = transaction->t_journal;
	tid = transaction->t_tid;
	if (is_handle_aborted(handle))
		err = -EIO;
	if (handle->h_sync) {
		spin_lock(&transaction->t_handle_lock);
		transaction->t_synchronous_commit = 1;
		spin_unlock(&transaction->t_handle_lock);
	}
	if (handle->h_sync || jbd2_now_ms() >= transaction->t_expires) {
		jbd2_log_start_commit(journal, tid);
		if (handle->h_sync)
			wait_for_commit = true;
	}
	/* After this the transaction may commit and vanish: no more access. */
	stop_this_handle(handle);
	if (wait_for_commit) {
		int ret = jbd2_log_wait_commit(journal, tid);

		if (!err)
			err = ret;
	}
	free(handle);
	return err;
}

/*
 * jbd2_journal_lock_updates - establish a barrier against new handles and
 * wait until the running transaction has no open handle.  Entry: no
 * handle, no locks.  Exit: j_barrier held.
 */
void jbd2_journal_lock_updates(journal_t *journal)
{
	write_lock(&journal->j_state_lock);
	/* the start_this_handle() wait reads it with READ_ONCE */
	WRITE_ONCE(journal->j_barrier_count, journal->j_barrier_count + 1);
	for (;;) {
		transaction_t *t = journal->j_running_transaction;

		if (!t || !atomic_load(&t->t_updates))
			break;
		write_unlock(&journal->j_state_lock);
		wait_var_event(&journal->j_wait_updates,
			       READ_ONCE(journal->j_running_transaction) != t ||
			       !atomic_load(&t->t_updates));
		write_lock(&journal->j_state_lock);
	}
	write_unlock(&journal->j_state_lock);
	mutex_lock(&journal->j_barrier);
}

/* jbd2_journal_unlock_updates - entry: j_barrier held (by lock_updates). */
void jbd2_journal_unlock_updates(journal_t *journal)
{
	J_ASSERT(journal->j_barrier_count != 0);
	mutex_unlock(&journal->j_barrier);
	write_lock(&journal->j_state_lock);
	WRITE_ONCE(journal->j_barrier_count, journal->j_barrier_count - 1);
	write_unlock(&journal->j_state_lock);
	wake_up_var(&journal->j_wait_transaction_locked);
}

/* ------------------------------------------------------- buffer filing */

static void __blist_add_buffer(struct journal_head **list, struct journal_head *jh)
{
	if (!*list) {
		jh->b_tnext = jh->b_tprev = jh;
		*list = jh;
	} else {
		/* Insert at the tail of the list to preserve order */
		struct journal_head *first = *list, *last = first->b_tprev;

		jh->b_tprev = last;
		jh->b_tnext = first;
		last->b_tnext = first->b_tprev = jh;
	}
}

static void __blist_del_buffer(struct journal_head **list, struct journal_head *jh)
{
	if (*list == jh) {
		*list = jh->b_tnext;
		if (*list == jh)
			*list = NULL;
	}
	jh->b_tprev->b_tnext = jh->b_tnext;
	jh->b_tnext->b_tprev = jh->b_tprev;
}

/*
 * __jbd2_journal_temp_unlink_buffer - take the jh off its transaction list;
 * BH_JBDDirty becomes BH_Dirty (exposed to writeback) unless the journal
 * is aborted.  Entry: jh->b_state_lock and j_list_lock held.
 */
void __jbd2_journal_temp_unlink_buffer(struct journal_head *jh)
{
	struct journal_head **list = NULL;
	transaction_t *transaction = jh->b_transaction;
	struct buffer_head *bh = jh2bh(jh);

	assert_spin_locked(&jh->b_state_lock);
	if (transaction)
		assert_spin_locked(&transaction->t_journal->j_list_lock);
	J_ASSERT_JH(jh, jh->b_jlist < BJ_Types);
	if (jh->b_jlist != BJ_None)
		J_ASSERT_JH(jh, transaction != NULL);

	switch (jh->b_jlist) {
	case BJ_None:
		return;
	case BJ_Metadata:
		transaction->t_nr_buffers--;
		J_ASSERT_JH(jh, transaction->t_nr_buffers >= 0);
		list = &transaction->t_buffers;
		break;
	case BJ_Forget:
		list = &transaction->t_forget;
		break;
	case BJ_Shadow:
		list = &transaction->t_shadow_list;
		break;
	case BJ_Reserved:
		list = &transaction->t_reserved_list;
		break;
	}
	__blist_del_buffer(list, jh);
	WRITE_ONCE(jh->b_jlist, BJ_None);	/* lockless reader: dirty_metadata */
	if (transaction && is_journal_aborted(transaction->t_journal))
		clear_buffer_jbddirty(bh);
	else if (test_clear_buffer_jbddirty(bh))
		mark_buffer_dirty(bh);	/* Expose it to the VM */
}

/*
 * __jbd2_journal_unfile_buffer - remove the jh from its transaction; the
 * caller drops the b_transaction jh reference afterwards.
 * Entry: jh->b_state_lock and j_list_lock held.
 */
void __jbd2_journal_unfile_buffer(struct journal_head *jh)
{
	J_ASSERT_JH(jh, jh->b_transaction != NULL);
	J_ASSERT_JH(jh, jh->b_next_transaction == NULL);
	__jbd2_journal_temp_unlink_buffer(jh);
	WRITE_ONCE(jh->b_transaction, NULL);
}

/* jbd2_journal_unfile_buffer - entry: no locks. */
void jbd2_journal_unfile_buffer(journal_t *journal, struct journal_head *jh)
{
	struct buffer_head *bh = jh2bh(jh);

	get_bh(bh);	/* so the bh cannot go away before we unlock */
	spin_lock(&jh->b_state_lock);
	spin_lock(&journal->j_list_lock);
	__jbd2_journal_unfile_buffer(jh);
	spin_unlock(&journal->j_list_lock);
	spin_unlock(&jh->b_state_lock);
	jbd2_journal_put_journal_head(jh);
	__brelse(bh);
}

/*
 * __jbd2_journal_file_buffer - file the jh on @transaction's @jlist.  The
 * first filing takes the b_transaction jh reference.  Dirty bits are
 * carried in BH_JBDDirty while filed.
 * Entry: jh->b_state_lock and j_list_lock held.
 */
void __jbd2_journal_file_buffer(struct journal_head *jh, transaction_t *transaction, int jlist)
{
	struct journal_head **list = NULL;
	struct buffer_head *bh = jh2bh(jh);
	bool was_dirty = false;

	assert_spin_locked(&jh->b_state_lock);
	assert_spin_locked(&transaction->t_journal->j_list_lock);
	J_ASSERT_JH(jh, jh->b_jlist < BJ_Types);
	J_ASSERT_JH(jh, jh->b_transaction == transaction || jh->b_transaction == NULL);

	if (jh->b_transaction && jh->b_jlist == (unsigned int)jlist)
		return;
	if (jlist == BJ_Metadata || jlist == BJ_Reserved || jlist == BJ_Shadow ||
	    jlist == BJ_Forget) {
		/* We track dirtiness in BH_JBDDirty; a BH_Dirty here means
		 * someone dirtied the buffer behind the journal's back. */
		if (buffer_dirty(bh)) {
			jbd_warn(__FILE__, __LINE__,
				 "JBD2: Spotted dirty metadata buffer (block %llu). "
				 "There's a risk of filesystem corruption in case of system crash.",
				 (unsigned long long)bh->b_blocknr);
			clear_buffer_dirty_folio(bh);
			was_dirty = true;
		}
		if (test_clear_buffer_jbddirty(bh))
			was_dirty = true;
	}
	if (jh->b_transaction)
		__jbd2_journal_temp_unlink_buffer(jh);
	else
		jbd2_journal_grab_journal_head(bh);
	/*
	 * b_transaction and b_jlist are read without jh->b_state_lock by
	 * jbd2_write_access_granted() and jbd2_journal_dirty_metadata() (the
	 * kernel's READ_ONCE/data_race() readers): store them with WRITE_ONCE.
	 */
	WRITE_ONCE(jh->b_transaction, transaction);

	switch (jlist) {
	case BJ_None:
		J_ASSERT_JH(jh, !jh->b_committed_data);
		J_ASSERT_JH(jh, !jh->b_frozen_data);
		return;
	case BJ_Metadata:
		transaction->t_nr_buffers++;
		list = &transaction->t_buffers;
		break;
	case BJ_Forget:
		list = &transaction->t_forget;
		break;
	case BJ_Shadow:
		list = &transaction->t_shadow_list;
		break;
	case BJ_Reserved:
		list = &transaction->t_reserved_list;
		break;
	}
	__blist_add_buffer(list, jh);
	WRITE_ONCE(jh->b_jlist, (unsigned int)jlist);
	if (was_dirty)
		set_buffer_jbddirty(bh);
}

/* jbd2_journal_file_buffer - entry: no locks. */
void jbd2_journal_file_buffer(struct journal_head *jh, transaction_t *transaction, int jlist)
{
	spin_lock(&jh->b_state_lock);
	spin_lock(&transaction->t_journal->j_list_lock);
	__jbd2_journal_file_buffer(jh, transaction, jlist);
	spin_unlock(&transaction->t_journal->j_list_lock);
	spin_unlock(&jh->b_state_lock);
}

/*
 * __jbd2_journal_refile_buffer - the committing transaction is done with
 * the buffer: hand it to b_next_transaction (BJ_Metadata if that one
 * dirtied it, BJ_Reserved if it only got access, BJ_Forget if it freed it)
 * or unfile it (BH_JBDDirty -> BH_Dirty).  Returns true if the caller must
 * drop the b_transaction jh reference.
 * Entry: jh->b_state_lock held, and j_list_lock if jh has a transaction.
 */
bool __jbd2_journal_refile_buffer(struct journal_head *jh)
{
	struct buffer_head *bh = jh2bh(jh);
	bool was_dirty;
	int jlist;

	assert_spin_locked(&jh->b_state_lock);
	if (jh->b_transaction)
		assert_spin_locked(&jh->b_transaction->t_journal->j_list_lock);
	if (jh->b_next_transaction == NULL) {
		__jbd2_journal_unfile_buffer(jh);
		return true;
	}
	was_dirty = test_clear_buffer_jbddirty(bh);
	__jbd2_journal_temp_unlink_buffer(jh);
	J_ASSERT_JH(jh, jh->b_transaction != NULL);
	/* b_next_transaction inherits our jh reference. */
	WRITE_ONCE(jh->b_transaction, jh->b_next_transaction);
	WRITE_ONCE(jh->b_next_transaction, NULL);
	if (buffer_freed(bh))
		jlist = BJ_Forget;
	else if (jh->b_modified)
		jlist = BJ_Metadata;
	else
		jlist = BJ_Reserved;
	__jbd2_journal_file_buffer(jh, jh->b_transaction, jlist);
	J_ASSERT_JH(jh, jh->b_transaction->t_state == T_RUNNING);
	if (was_dirty)
		set_buffer_jbddirty(bh);
	return false;
}

/* jbd2_journal_refile_buffer - entry: no locks. */
void jbd2_journal_refile_buffer(journal_t *journal, struct journal_head *jh)
{
	bool drop;

	spin_lock(&jh->b_state_lock);
	spin_lock(&journal->j_list_lock);
	drop = __jbd2_journal_refile_buffer(jh);
	spin_unlock(&journal->j_list_lock);
	spin_unlock(&jh->b_state_lock);
	if (drop)
		jbd2_journal_put_journal_head(jh);
}

/* ----------------------------------------------------- write access */

/* jbd2_freeze_jh_data - copy the live buffer into b_frozen_data.
 * Entry: jh->b_state_lock held. */
static void jbd2_freeze_jh_data(struct journal_head *jh)
{
	struct buffer_head *bh = jh2bh(jh);

	assert_spin_locked(&jh->b_state_lock);
	J_ASSERT_JH(jh, jh->b_frozen_data);
	memcpy(jh->b_frozen_data, bh->b_data, bh->b_size);
	/* (no frozen triggers in this model) */
}

/*
 * do_get_write_access - see the essay.  Entry: holding a jh reference, no
 * locks (sleeps on BH_Lock and BH_Shadow).  0 or -EROFS.
 */
static int do_get_write_access(handle_t *handle, struct journal_head *jh, int force_copy)
{
	transaction_t *transaction = handle->h_transaction;
	journal_t *journal = transaction->t_journal;
	char *frozen_buffer = NULL;
	struct buffer_head *bh;
	int error;

repeat:
	bh = jh2bh(jh);
	lock_buffer(bh);
	spin_lock(&jh->b_state_lock);

	/*
	 * Dirty and journaled?  Someone (tune2fs-like) dirtied it behind our
	 * back: move the bit to BH_JBDDirty under the buffer lock so running
	 * writeback cannot race with us.
	 */
	if (buffer_dirty(bh) && jh->b_transaction) {
		jbd_warn(__FILE__, __LINE__,
			 "JBD2: Spotted dirty metadata buffer (block %llu). "
			 "There's a risk of filesystem corruption in case of system crash.",
			 (unsigned long long)bh->b_blocknr);
		clear_buffer_dirty_folio(bh);
		set_buffer_jbddirty(bh);
	}

	error = -EROFS;
	if (is_handle_aborted(handle)) {
		spin_unlock(&jh->b_state_lock);
		unlock_buffer(bh);
		goto out;
	}
	error = 0;

	/* Already part of this transaction? */
	if (jh->b_transaction == transaction || jh->b_next_transaction == transaction) {
		unlock_buffer(bh);
		goto done;
	}

	/* First touch by this transaction (b_modified: lockless reader in
	 * jbd2_journal_dirty_metadata()). */
	WRITE_ONCE(jh->b_modified, 0);

	if (!jh->b_transaction) {
		J_ASSERT_JH(jh, !jh->b_next_transaction);
		atomic_thread_fence(memory_order_release);	/* smp_wmb() */
		spin_lock(&journal->j_list_lock);
		if (buffer_dirty(bh)) {
			/* Under j_list_lock: checkpoint must not see it clean
			 * with no transaction in between. */
			clear_buffer_dirty_folio(bh);
			set_buffer_jbddirty(bh);
		}
		__jbd2_journal_file_buffer(jh, transaction, BJ_Reserved);
		spin_unlock(&journal->j_list_lock);
		unlock_buffer(bh);
		goto done;
	}
	unlock_buffer(bh);

	/* A copy-out already exists: nothing to wait for. */
	if (jh->b_frozen_data) {
		J_ASSERT_JH(jh, jh->b_next_transaction == NULL);
		goto attach_next;
	}

	J_ASSERT_JH(jh, jh->b_next_transaction == NULL);
	J_ASSERT_JH(jh, jh->b_transaction == journal->j_committing_transaction);

	/*
	 * The committing transaction is writing the primary copy to the log
	 * right now (no copy-out): we cannot touch the data until the I/O is
	 * done.
	 */
	if (buffer_shadow(bh)) {
		spin_unlock(&jh->b_state_lock);
		wait_on_bit(&bh->b_state, BH_Shadow);
		goto repeat;
	}

	/*
	 * Still on the committing transaction's BJ_Metadata: it has not been
	 * written yet, so freeze a copy for the commit and let the caller
	 * modify the live buffer.
	 */
	if (jh->b_jlist == BJ_Metadata || force_copy) {
		if (!frozen_buffer) {
			spin_unlock(&jh->b_state_lock);
			frozen_buffer = malloc(jh2bh(jh)->b_size);	/* GFP_NOFS|__GFP_NOFAIL */
			BUG_ON(!frozen_buffer);
			goto repeat;
		}
		jh->b_frozen_data = frozen_buffer;
		frozen_buffer = NULL;
		jbd2_freeze_jh_data(jh);
	}
attach_next:
	atomic_thread_fence(memory_order_release);	/* smp_wmb() */
	/* paired with the READ_ONCE in jbd2_write_access_granted() */
	WRITE_ONCE(jh->b_next_transaction, transaction);

done:
	spin_unlock(&jh->b_state_lock);
	/* A pending revoke of a block we journal again is void. */
	jbd2_journal_cancel_revoke(handle, jh);
out:
	free(frozen_buffer);
	return error;
}

/* jbd2_write_access_granted - fast path (model: jh bit lock, not RCU). */
static bool jbd2_write_access_granted(handle_t *handle, struct buffer_head *bh)
{
	struct journal_head *jh;
	bool ret = false;

	if (buffer_dirty(bh))
		return false;
	jbd_lock_bh_journal_head(bh);
	if (buffer_jbd(bh)) {
		jh = bh2jh(bh);
		if (READ_ONCE(jh->b_transaction) == handle->h_transaction ||
		    READ_ONCE(jh->b_next_transaction) == handle->h_transaction)
			ret = true;
	}
	jbd_unlock_bh_journal_head(bh);
	return ret;
}

/*
 * jbd2_journal_get_write_access - notify intent to modify a buffer for
 * metadata update.  Entry: inside @handle, the caller holds a b_count on
 * @bh and no locks (sleeps).  0, -EROFS (aborted).  After it returns the
 * caller may modify bh->b_data (ext4 does so without the buffer lock).
 */
int jbd2_journal_get_write_access(handle_t *handle, struct buffer_head *bh)
{
	struct journal_head *jh;
	int rc;

	if (is_handle_aborted(handle))
		return -EROFS;
	if (jbd2_write_access_granted(handle, bh))
		return 0;
	jh = jbd2_journal_add_journal_head(bh);
	rc = do_get_write_access(handle, jh, 0);
	jbd2_journal_put_journal_head(jh);
	return rc;
}

/*
 * jbd2_journal_get_create_access - a newly allocated block (its old
 * contents do not matter).  Entry: inside @handle; the caller holds a
 * b_count AND the buffer lock (ext4 does lock_buffer, create access, fill,
 * set_buffer_uptodate, unlock_buffer).  The block must not be owned by the
 * committing transaction unless that one freed it (BJ_Forget).
 */
int jbd2_journal_get_create_access(handle_t *handle, struct buffer_head *bh)
{
	transaction_t *transaction = handle->h_transaction;
	struct journal_head *jh = jbd2_journal_add_journal_head(bh);
	journal_t *journal;
	int err = -EROFS;

	if (is_handle_aborted(handle))
		goto out;
	journal = transaction->t_journal;
	err = 0;
	spin_lock(&jh->b_state_lock);
	J_ASSERT_JH(jh, (jh->b_transaction == transaction || jh->b_transaction == NULL ||
			 (jh->b_transaction == journal->j_committing_transaction &&
			  jh->b_jlist == BJ_Forget)));
	J_ASSERT_JH(jh, jh->b_next_transaction == NULL);
	J_ASSERT_JH(jh, buffer_locked(jh2bh(jh)));
	if (jh->b_transaction == NULL) {
		/* A previous forget may have left BH_Dirty from the checkpoint
		 * refile; the freeing transaction committed, so drop it. */
		clear_buffer_dirty_folio(jh2bh(jh));
		WRITE_ONCE(jh->b_modified, 0);
		spin_lock(&journal->j_list_lock);
		__jbd2_journal_file_buffer(jh, transaction, BJ_Reserved);
		spin_unlock(&journal->j_list_lock);
	} else if (jh->b_transaction == journal->j_committing_transaction) {
		WRITE_ONCE(jh->b_modified, 0);
		spin_lock(&journal->j_list_lock);
		WRITE_ONCE(jh->b_next_transaction, transaction);
		spin_unlock(&journal->j_list_lock);
	}
	spin_unlock(&jh->b_state_lock);
	jbd2_journal_cancel_revoke(handle, jh);
out:
	jbd2_journal_put_journal_head(jh);
	return err;
}

/*
 * jbd2_journal_dirty_metadata - mark a buffer as containing dirty metadata
 * of the running transaction.  The first dirtying of a buffer in a
 * transaction consumes one handle credit; with none left: WARN_ON_ONCE and
 * -ENOSPC (the handle is not aborted here: the fs decides, as ext4 aborts).
 * Entry: after get_write_access/get_create_access in this handle; no locks.
 * 0, -ENOSPC, -EROFS (aborted), -EUCLEAN (no journal_head), -EINVAL.
 */
int jbd2_journal_dirty_metadata(handle_t *handle, struct buffer_head *bh)
{
	transaction_t *transaction = handle->h_transaction;
	struct journal_head *jh;
	journal_t *journal;
	int ret = 0;

	if (!buffer_jbd(bh))
		return -EUCLEAN;
	/* No jh reference: the buffer must be part of the running transaction. */
	jh = bh2jh(bh);
	if (READ_ONCE(jh->b_transaction) != transaction &&
	    READ_ONCE(jh->b_next_transaction) != transaction) {
		spin_lock(&jh->b_state_lock);
		J_ASSERT_JH(jh, jh->b_transaction == transaction ||
			    jh->b_next_transaction == transaction);
		spin_unlock(&jh->b_state_lock);
	}
	if (READ_ONCE(jh->b_modified) == 1) {
		/* If it's in our transaction it must be on BJ_Metadata. */
		if (READ_ONCE(jh->b_transaction) == transaction &&
		    READ_ONCE(jh->b_jlist) != BJ_Metadata) {
			spin_lock(&jh->b_state_lock);
			J_ASSERT_JH(jh, jh->b_transaction != transaction ||
				    jh->b_jlist == BJ_Metadata);
			spin_unlock(&jh->b_state_lock);
		}
		return 0;
	}

	spin_lock(&jh->b_state_lock);
	if (is_handle_aborted(handle)) {
		ret = -EROFS;
		goto out_unlock_bh;
	}
	journal = transaction->t_journal;

	if (jh->b_modified == 0) {
		/* This buffer joins the transaction: one credit, once. */
		if (WARN_ON_ONCE(jbd2_handle_buffer_credits(handle) <= 0)) {
			fprintf(stderr, "JBD2: %s: handle %s line %u ran out of credits "
				"(block %llu): -ENOSPC\n", __func__,
				handle->h_name ? handle->h_name : "?", handle->h_line_no,
				(unsigned long long)bh->b_blocknr);
			ret = -ENOSPC;
			goto out_unlock_bh;
		}
		WRITE_ONCE(jh->b_modified, 1);	/* read locklessly above */
		handle->h_total_credits--;
	}

	/* Fast path: already on our BJ_Metadata. */
	if (jh->b_transaction == transaction && jh->b_jlist == BJ_Metadata) {
		if (unlikely(jh->b_transaction != journal->j_running_transaction)) {
			fprintf(stderr, "JBD2: jh->b_transaction (%u) != j_running_transaction\n",
				jh->b_transaction->t_tid);
			ret = -EINVAL;
		}
		goto out_unlock_bh;
	}

	set_buffer_jbddirty(bh);

	/* Owned by the committing transaction: refiled when it completes. */
	if (jh->b_transaction != transaction) {
		if (unlikely(jh->b_transaction != journal->j_committing_transaction ||
			     jh->b_next_transaction != transaction)) {
			fprintf(stderr, "jbd2_journal_dirty_metadata: bad jh for block %llu\n",
				(unsigned long long)bh->b_blocknr);
			ret = -EINVAL;
		}
		goto out_unlock_bh;
	}

	J_ASSERT_JH(jh, jh->b_frozen_data == NULL);
	spin_lock(&journal->j_list_lock);
	__jbd2_journal_file_buffer(jh, transaction, BJ_Metadata);
	spin_unlock(&journal->j_list_lock);
out_unlock_bh:
	spin_unlock(&jh->b_state_lock);
	if (ret == -ENOSPC)
		jbd2_observe_credits_out(transaction->t_journal, handle, bh);
	return ret;
}

/*
 * jbd2_journal_forget - bforget() for a possibly journaled buffer being
 * freed: its modifications in this transaction are dropped (the credit is
 * returned), a committing owner gets BH_Freed + b_next_transaction, a
 * checkpointed-but-unwritten copy is attached to BJ_Forget so that the
 * checkpoint record goes away with this transaction's commit.  CONSUMES
 * the caller's b_count reference, like the kernel's.
 * Entry: inside @handle, no locks.  0, -EROFS, -EIO.
 */
int jbd2_journal_forget(handle_t *handle, struct buffer_head *bh)
{
	transaction_t *transaction = handle->h_transaction;
	struct journal_head *jh;
	bool drop_reserve = false;
	journal_t *journal;
	int err = 0;
	int was_modified;

	if (is_handle_aborted(handle))
		return -EROFS;
	journal = transaction->t_journal;
	jh = jbd2_journal_grab_journal_head(bh);
	if (!jh) {
		/* __bforget(): not journaled, just forget the dirty bit */
		clear_buffer_dirty_folio(bh);
		__brelse(bh);
		return 0;
	}

	spin_lock(&jh->b_state_lock);
	if (jh->b_committed_data) {
		err = -EIO;	/* freeing a bitmap under undo access? */
		goto drop;
	}
	was_modified = jh->b_modified;
	WRITE_ONCE(jh->b_modified, 0);

	if (jh->b_transaction == transaction) {
		J_ASSERT_JH(jh, !jh->b_frozen_data);
		clear_buffer_dirty_folio(bh);
		clear_buffer_jbddirty(bh);
		if (was_modified)
			drop_reserve = true;
		/*
		 * The delete may obsolete an older logged copy, whose
		 * checkpoint is satisfied by this transaction's commit: keep
		 * the buffer on our BJ_Forget if it has a checkpoint record.
		 */
		spin_lock(&journal->j_list_lock);
		if (jh->b_cp_transaction) {
			__jbd2_journal_temp_unlink_buffer(jh);
			__jbd2_journal_file_buffer(jh, transaction, BJ_Forget);
		} else {
			__jbd2_journal_unfile_buffer(jh);
			jbd2_journal_put_journal_head(jh);
		}
		spin_unlock(&journal->j_list_lock);
	} else if (jh->b_transaction) {
		J_ASSERT_JH(jh, jh->b_transaction == journal->j_committing_transaction);
		/* Owned by the committing transaction: can't drop it yet. */
		set_buffer_freed(bh);
		if (!jh->b_next_transaction) {
			spin_lock(&journal->j_list_lock);
			WRITE_ONCE(jh->b_next_transaction, transaction);
			spin_unlock(&journal->j_list_lock);
		} else {
			J_ASSERT(jh->b_next_transaction == transaction);
			if (was_modified)
				drop_reserve = true;
		}
	} else {
		spin_lock(&journal->j_list_lock);
		if (!jh->b_cp_transaction) {
			spin_unlock(&journal->j_list_lock);
			goto drop;
		}
		/* Written home already?  Then the checkpoint is simply done. */
		if (jbd2_journal_try_remove_checkpoint(jh) >= 0) {
			spin_unlock(&journal->j_list_lock);
			goto drop;
		}
		/* Not yet written: checkpoint only after this transaction commits. */
		clear_buffer_dirty_folio(bh);
		__jbd2_journal_file_buffer(jh, transaction, BJ_Forget);
		spin_unlock(&journal->j_list_lock);
	}
drop:
	__brelse(bh);
	spin_unlock(&jh->b_state_lock);
	jbd2_journal_put_journal_head(jh);
	if (drop_reserve)
		handle->h_total_credits++;	/* no log space needed for this block */
	return err;
}

/*
 * jbd2_journal_file_data - ordered mode: the data block of @bh (in the bdev
 * cache, dirty) must be written home before the running transaction's
 * commit block.  Model of jbd2_journal_inode_ranged_write(): our file data
 * lives in the bdev page cache, so the unit is the block, not the
 * jbd2_inode.  As the kernel pins the inode and not its pages, only the
 * block number is recorded: no b_count is taken, so writeback may write and
 * reclaim evict the buffer before the commit (which then finds it clean or
 * gone, as filemap_fdatawrite_range() would).
 * Entry: inside @handle; no locks.  0 or -EROFS.
 */
int jbd2_journal_file_data(handle_t *handle, struct buffer_head *bh)
{
	transaction_t *transaction = handle->h_transaction;
	journal_t *journal;

	if (is_handle_aborted(handle))
		return -EROFS;
	journal = transaction->t_journal;
	spin_lock(&journal->j_list_lock);
	if (transaction->t_nr_data_blocks == transaction->t_data_blocks_cap) {
		int cap = transaction->t_data_blocks_cap ? 2 * transaction->t_data_blocks_cap : 64;
		sector_t *v = realloc(transaction->t_data_blocks, sizeof(*v) * cap);

		BUG_ON(!v);
		transaction->t_data_blocks = v;
		transaction->t_data_blocks_cap = cap;
	}
	transaction->t_data_blocks[transaction->t_nr_data_blocks++] = bh->b_blocknr;
	spin_unlock(&journal->j_list_lock);
	return 0;
}

/*
 * jbd2_journal_free_transaction - free a transaction_t (NULL is fine).
 * Entry: the transaction is off every journal list.
 */
void jbd2_journal_free_transaction(transaction_t *transaction)
{
	if (!transaction)
		return;
	free(transaction->t_data_blocks);
	memset(transaction, 0x6b, sizeof(*transaction));
	free(transaction);
}
