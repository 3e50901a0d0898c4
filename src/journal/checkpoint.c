// SPDX-License-Identifier: GPL-2.0
/*
 * checkpoint.c - checkpoint lists, log space and the log tail
 * (fs/jbd2/checkpoint.c).
 *
 * A committed transaction stays in the log until every block it logged
 * has reached its home location.  At the end of its commit each buffer
 * that is still dirty goes on the transaction's checkpoint list
 * (b_cp_transaction), which takes its own journal_head reference -- so the
 * buffer stays pinned (b_count via the jh) until it is checkpointed -- and
 * the transaction joins j_checkpoint_transactions, oldest first.
 *
 * A buffer leaves the checkpoint list when it is clean and no transaction
 * owns it: written home by the writeback thread or by
 * jbd2_log_do_checkpoint() (write_dirty_buffer(), batches of
 * JBD2_NR_BATCH), found clean at the next commit
 * (__jbd2_journal_clean_checkpoint_list()), superseded by a later
 * transaction that logged it again (the commit's t_forget processing
 * removes the older record), or forgotten.  The last buffer of a
 * T_FINISHED transaction drops the transaction from the ring.
 *
 * The tail.  j_tail/j_tail_sequence is the oldest transaction the log still
 * needs (jbd2_journal_get_log_tail()).  Moving it frees log space
 * (j_free): first blkdev_issue_flush() of the fs device so that what the
 * checkpoint wrote is durable, then the journal superblock with REQ_FUA
 * (jbd2_cleanup_journal_tail()).  The commit moves it too, piggybacking on
 * its commit block's PREFLUSH, when enough space would be freed.
 *
 * Log space.  A handle may not start unless a whole transaction fits:
 * jbd2_log_space_left() = j_free - 32 - the committing transaction's
 * outstanding credits.  __jbd2_log_wait_for_space() checkpoints the oldest
 * transaction, or moves the tail, or waits for the committing transaction;
 * if none of that can help it WARNs and aborts the journal with -EIO.
 *
 * Locking rules:
 *   - j_checkpoint_mutex serialises checkpointing and every tail update of
 *     the superblock; jbd2_log_do_checkpoint() and the `__` tail functions
 *     assert it;
 *   - j_list_lock protects the checkpoint lists (b_cp_transaction,
 *     b_cpnext/b_cpprev, t_checkpoint_list) and the transaction ring
 *     (j_checkpoint_transactions, t_cpnext/t_cpprev), and the T_FINISHED
 *     test that allows a transaction to be freed;
 *   - j_state_lock protects j_free, j_tail and j_tail_sequence;
 *   - buffers are locked (trylock under j_list_lock, or sleeping with no
 *     spinlock held) to see whether write-out is in progress.
 */
#include "jbd2_internal.h"

/*
 * jbd2_log_space_left - free log blocks, less a safety margin and what the
 * committing transaction may still write.  Entry: j_state_lock held.
 */
unsigned long jbd2_log_space_left(journal_t *journal)
{
	long free = (long)journal->j_free - 32;

	if (journal->j_committing_transaction)
		free -= atomic_load(&journal->j_committing_transaction->t_outstanding_credits);
	return (unsigned long)max_t(long, free, 0);
}

/*
 * __jbd2_log_wait_for_space - make room for a whole transaction.
 * Entry and exit: j_state_lock held for writing (dropped inside).
 */
void __jbd2_log_wait_for_space(journal_t *journal)
{
	int nblocks = journal->j_max_transaction_buffers;
	unsigned long space_left;

	assert_write_locked(&journal->j_state_lock);
	while (jbd2_log_space_left(journal) < (unsigned long)nblocks) {
		write_unlock(&journal->j_state_lock);
		mutex_lock(&journal->j_checkpoint_mutex);
		/* Someone else may have checkpointed meanwhile: test again. */
		write_lock(&journal->j_state_lock);
		if (journal->j_flags & JBD2_ABORT) {
			mutex_unlock(&journal->j_checkpoint_mutex);
			return;
		}
		spin_lock(&journal->j_list_lock);
		space_left = jbd2_log_space_left(journal);
		if (space_left < (unsigned long)nblocks) {
			bool chkpt = journal->j_checkpoint_transactions != NULL;
			bool has_transaction = false;
			tid_t tid = 0;

			if (journal->j_committing_transaction) {
				tid = journal->j_committing_transaction->t_tid;
				has_transaction = true;
			}
			spin_unlock(&journal->j_list_lock);
			write_unlock(&journal->j_state_lock);
			if (chkpt) {
				jbd2_log_do_checkpoint(journal);
			} else if (jbd2_cleanup_journal_tail(journal) <= 0) {
				/* space recovered, or the journal aborted */
			} else if (has_transaction) {
				/* the commit may need j_checkpoint_mutex (JBD2_FLUSHED) */
				mutex_unlock(&journal->j_checkpoint_mutex);
				jbd2_log_wait_commit(journal, tid);
				write_lock(&journal->j_state_lock);
				continue;
			} else {
				fprintf(stderr, "%s: needed %d blocks and only had %lu space available\n",
					__func__, nblocks, space_left);
				fprintf(stderr, "%s: no way to get more journal space\n", __func__);
				WARN_ON(1);
				jbd2_journal_abort(journal, -EIO);
			}
			write_lock(&journal->j_state_lock);
		} else {
			spin_unlock(&journal->j_list_lock);
		}
		mutex_unlock(&journal->j_checkpoint_mutex);
	}
}

static void __flush_batch(journal_t *journal, int *batch_count)
{
	for (int i = 0; i < *batch_count; i++)
		write_dirty_buffer(journal->j_chkpt_bhs[i], JBD2_JOURNAL_REQ_FLAGS);
	for (int i = 0; i < *batch_count; i++) {
		__brelse(journal->j_chkpt_bhs[i]);
		journal->j_chkpt_bhs[i] = NULL;
	}
	*batch_count = 0;
}

/*
 * jbd2_log_do_checkpoint - write the oldest transaction's buffers home and
 * drop it from the log.  Entry: j_checkpoint_mutex held, nothing else.
 * Returns 0 or -errno (-EIO if aborted).
 */
int jbd2_log_do_checkpoint(journal_t *journal)
{
	transaction_t *transaction;
	struct journal_head *jh;
	struct buffer_head *bh;
	int result, batch_count = 0;
	tid_t this_tid;

	lockdep_assert_held(&journal->j_checkpoint_mutex);
	atomic_fetch_add(&journal->j_stat_checkpoints, 1);
	/* Transactions that need no checkpointing just leave the log. */
	result = jbd2_cleanup_journal_tail(journal);
	if (result <= 0)
		return result;

	spin_lock(&journal->j_list_lock);
	if (!journal->j_checkpoint_transactions)
		goto out;
	transaction = journal->j_checkpoint_transactions;
	this_tid = transaction->t_tid;
restart:
	/* Cleaned up while we slept?  (A new transaction at the same address
	 * has another tid.) */
	if (journal->j_checkpoint_transactions != transaction || transaction->t_tid != this_tid)
		goto out;

	while (transaction->t_checkpoint_list) {
		jh = transaction->t_checkpoint_list;
		bh = jh2bh(jh);

		if (jh->b_transaction != NULL) {
			/* Logged again by a newer transaction: commit that one. */
			transaction_t *t = jh->b_transaction;
			tid_t tid = t->t_tid;

			spin_unlock(&journal->j_list_lock);
			if (unlikely(READ_ONCE(journal->j_flags) & JBD2_UNMOUNT))
				fprintf(stderr, "JBD2: Waiting for Godot: block %llu\n",
					(unsigned long long)bh->b_blocknr);
			if (batch_count)
				__flush_batch(journal, &batch_count);
			jbd2_log_start_commit(journal, tid);
			/* the commit may want j_checkpoint_mutex (JBD2_FLUSHED) */
			mutex_unlock(&journal->j_checkpoint_mutex);
			jbd2_log_wait_commit(journal, tid);
			mutex_lock(&journal->j_checkpoint_mutex);
			spin_lock(&journal->j_list_lock);
			goto restart;
		}
		if (!trylock_buffer(bh)) {
			/* Being written (or relogged): wait and look again. */
			get_bh(bh);
			spin_unlock(&journal->j_list_lock);
			wait_on_buffer(bh);
			__brelse(bh);	/* the jh may be gone by now */
			goto retry;
		} else if (!buffer_dirty(bh)) {
			unlock_buffer(bh);
			if (__jbd2_journal_remove_checkpoint(jh) || !transaction->t_checkpoint_list)
				goto out;
		} else {
			unlock_buffer(bh);
			/* Leave it on the list; look again once it is written. */
			get_bh(bh);
			J_ASSERT_BH(bh, !buffer_jwrite(bh));
			journal->j_chkpt_bhs[batch_count++] = bh;
			transaction->t_checkpoint_list = jh->b_cpnext;
		}
		if (batch_count == JBD2_NR_BATCH ||
		    jh2bh(transaction->t_checkpoint_list) == journal->j_chkpt_bhs[0])
			goto unlock_and_flush;
	}
	if (batch_count) {
unlock_and_flush:
		spin_unlock(&journal->j_list_lock);
retry:
		if (batch_count)
			__flush_batch(journal, &batch_count);
		spin_lock(&journal->j_list_lock);
		goto restart;
	}
out:
	spin_unlock(&journal->j_list_lock);
	result = jbd2_cleanup_journal_tail(journal);
	return result < 0 ? result : 0;
}

/*
 * jbd2_journal_get_log_tail - the oldest tid the log needs and its first
 * block; true if that is beyond the current tail.  Entry: no locks.
 */
bool jbd2_journal_get_log_tail(journal_t *journal, tid_t *tid, unsigned long *block)
{
	transaction_t *transaction;
	bool ret;

	read_lock(&journal->j_state_lock);
	spin_lock(&journal->j_list_lock);
	transaction = journal->j_checkpoint_transactions;
	if (transaction) {
		*tid = transaction->t_tid;
		*block = transaction->t_log_start;
	} else if ((transaction = journal->j_committing_transaction) != NULL) {
		*tid = transaction->t_tid;
		*block = transaction->t_log_start;
	} else if ((transaction = journal->j_running_transaction) != NULL) {
		*tid = transaction->t_tid;
		*block = journal->j_head;
	} else {
		*tid = journal->j_transaction_sequence;
		*block = journal->j_head;
	}
	ret = tid_gt(*tid, journal->j_tail_sequence);
	spin_unlock(&journal->j_list_lock);
	read_unlock(&journal->j_state_lock);
	return ret;
}

/*
 * __jbd2_update_log_tail - superblock first (REQ_FUA: once j_tail moves,
 * the next commit may overwrite the old transactions), then j_free.
 * Entry: j_checkpoint_mutex held.
 */
int __jbd2_update_log_tail(journal_t *journal, tid_t tid, unsigned long block)
{
	unsigned long freed;
	int ret;

	lockdep_assert_held(&journal->j_checkpoint_mutex);
	ret = jbd2_journal_update_sb_log_tail(journal, tid, block, REQ_FUA);
	if (ret)
		return ret;
	write_lock(&journal->j_state_lock);
	freed = block - journal->j_tail;
	if (block < journal->j_tail)
		freed += journal->j_last - journal->j_first;
	journal->j_free += freed;
	journal->j_tail_sequence = tid;
	journal->j_tail = block;
	write_unlock(&journal->j_state_lock);
	jbd2_journal_prune_logged(journal, tid);
	return 0;
}

/* jbd2_update_log_tail - entry: no locks (takes j_checkpoint_mutex). */
void jbd2_update_log_tail(journal_t *journal, tid_t tid, unsigned long block)
{
	mutex_lock(&journal->j_checkpoint_mutex);
	if (tid_gt(tid, journal->j_tail_sequence))
		__jbd2_update_log_tail(journal, tid, block);
	mutex_unlock(&journal->j_checkpoint_mutex);
}

/*
 * jbd2_cleanup_journal_tail - drop fully checkpointed transactions from
 * the log: flush the fs device (the checkpointed blocks must be durable
 * before the superblock stops pointing at their logged copies), then move
 * the tail.  Entry: j_checkpoint_mutex held.  0 moved, 1 nothing to do,
 * -EIO aborted.
 */
int jbd2_cleanup_journal_tail(journal_t *journal)
{
	unsigned long blocknr;
	tid_t first_tid;

	lockdep_assert_held(&journal->j_checkpoint_mutex);
	if (is_journal_aborted(journal))
		return -EIO;
	if (!jbd2_journal_get_log_tail(journal, &first_tid, &blocknr))
		return 1;
	J_ASSERT(blocknr != 0);
	if (READ_ONCE(journal->j_flags) & JBD2_BARRIER)	/* no j_state_lock */
		blkdev_issue_flush(journal->j_fs_dev);
	return __jbd2_update_log_tail(journal, first_tid, blocknr);
}

/* __buffer_unlink - entry: j_list_lock held. */
static void __buffer_unlink(struct journal_head *jh)
{
	transaction_t *transaction = jh->b_cp_transaction;

	jh->b_cpnext->b_cpprev = jh->b_cpprev;
	jh->b_cpprev->b_cpnext = jh->b_cpnext;
	if (transaction->t_checkpoint_list == jh) {
		transaction->t_checkpoint_list = jh->b_cpnext;
		if (transaction->t_checkpoint_list == jh)
			transaction->t_checkpoint_list = NULL;
	}
}

/*
 * __jbd2_journal_remove_checkpoint - take @jh off its checkpoint list
 * (dropping the checkpoint's jh reference: the last one unpins the bh);
 * free the transaction if that emptied a T_FINISHED one (returns 1).
 * Entry: j_list_lock held (jh->b_state_lock may be held too).
 */
int __jbd2_journal_remove_checkpoint(struct journal_head *jh)
{
	transaction_t *transaction = jh->b_cp_transaction;
	journal_t *journal;

	if (!transaction)
		return 0;
	journal = transaction->t_journal;
	assert_spin_locked(&journal->j_list_lock);
	__buffer_unlink(jh);
	jh->b_cp_transaction = NULL;
	jbd2_journal_put_journal_head(jh);

	if (transaction->t_checkpoint_list)
		return 0;
	/* A running/committing transaction cannot be dropped yet. */
	if (transaction->t_state != T_FINISHED)
		return 0;
	__jbd2_journal_drop_transaction(journal, transaction);
	jbd2_journal_free_transaction(transaction);
	return 1;
}

/*
 * jbd2_journal_try_remove_checkpoint - remove @jh from its checkpoint list
 * if its block is clean and not being written.  Entry: j_list_lock held.
 * -EBUSY, 0 removed, 1 removed and the transaction freed.
 */
int jbd2_journal_try_remove_checkpoint(struct journal_head *jh)
{
	struct buffer_head *bh = jh2bh(jh);

	if (jh->b_transaction)
		return -EBUSY;
	if (!trylock_buffer(bh))
		return -EBUSY;
	if (buffer_dirty(bh)) {
		unlock_buffer(bh);
		return -EBUSY;
	}
	unlock_buffer(bh);
	return __jbd2_journal_remove_checkpoint(jh);
}

/*
 * __jbd2_journal_insert_checkpoint - put a committed dirty buffer on
 * @transaction's checkpoint list, with its own jh reference.
 * Entry: jh->b_state_lock and j_list_lock held.
 */
void __jbd2_journal_insert_checkpoint(struct journal_head *jh, transaction_t *transaction)
{
	assert_spin_locked(&transaction->t_journal->j_list_lock);
	J_ASSERT_JH(jh, buffer_dirty(jh2bh(jh)) || buffer_jbddirty(jh2bh(jh)));
	J_ASSERT_JH(jh, jh->b_cp_transaction == NULL);
	jbd2_journal_grab_journal_head(jh2bh(jh));	/* the checkpoint's reference */
	jh->b_cp_transaction = transaction;
	if (!transaction->t_checkpoint_list) {
		jh->b_cpnext = jh->b_cpprev = jh;
	} else {
		jh->b_cpnext = transaction->t_checkpoint_list;
		jh->b_cpprev = transaction->t_checkpoint_list->b_cpprev;
		jh->b_cpprev->b_cpnext = jh;
		jh->b_cpnext->b_cpprev = jh;
	}
	transaction->t_checkpoint_list = jh;
}

/*
 * __jbd2_journal_drop_transaction - unlink a finished, fully checkpointed
 * transaction from the ring (the caller frees it).  Entry: j_list_lock held.
 */
void __jbd2_journal_drop_transaction(journal_t *journal, transaction_t *transaction)
{
	assert_spin_locked(&journal->j_list_lock);
	if (transaction->t_cpnext) {
		transaction->t_cpnext->t_cpprev = transaction->t_cpprev;
		transaction->t_cpprev->t_cpnext = transaction->t_cpnext;
		if (journal->j_checkpoint_transactions == transaction)
			journal->j_checkpoint_transactions = transaction->t_cpnext;
		if (journal->j_checkpoint_transactions == transaction)
			journal->j_checkpoint_transactions = NULL;
	}
	J_ASSERT(transaction->t_state == T_FINISHED);
	J_ASSERT(transaction->t_buffers == NULL);
	J_ASSERT(transaction->t_forget == NULL);
	J_ASSERT(transaction->t_shadow_list == NULL);
	J_ASSERT(transaction->t_checkpoint_list == NULL);
	J_ASSERT(atomic_load(&transaction->t_updates) == 0);
	/*
	 * Only j_list_lock is held: a handle may install a new running
	 * transaction (jbd2_get_transaction()) and the commit thread may
	 * switch j_committing_transaction under j_state_lock meanwhile.
	 * Neither can become @transaction (T_FINISHED), so the kernel's
	 * unlocked assertions hold; read them with READ_ONCE.
	 */
	J_ASSERT(READ_ONCE(journal->j_committing_transaction) != transaction);
	J_ASSERT(READ_ONCE(journal->j_running_transaction) != transaction);
}

/*
 * __jbd2_journal_clean_checkpoint_list - drop clean buffers (all buffers
 * if @destroy) from every checkpoint list.  Entry: j_list_lock held.
 */
void __jbd2_journal_clean_checkpoint_list(journal_t *journal, bool destroy)
{
	transaction_t *transaction, *last_transaction, *next_transaction;

	assert_spin_locked(&journal->j_list_lock);
	transaction = journal->j_checkpoint_transactions;
	if (!transaction)
		return;
	last_transaction = transaction->t_cpprev;
	next_transaction = transaction;
	do {
		struct journal_head *jh, *next_jh, *last_jh;
		bool last = false;

		transaction = next_transaction;
		next_transaction = transaction->t_cpnext;
		if (transaction == last_transaction)
			last = true;
		jh = transaction->t_checkpoint_list;
		if (!jh)
			goto next;
		last_jh = jh->b_cpprev;
		next_jh = jh;
		do {
			int ret;

			jh = next_jh;
			next_jh = jh->b_cpnext;
			if (destroy)
				ret = __jbd2_journal_remove_checkpoint(jh);
			else
				ret = jbd2_journal_try_remove_checkpoint(jh);
			if (ret > 0)
				break;	/* the transaction is gone */
		} while (jh != last_jh);
next:
		if (last)
			break;
	} while (journal->j_checkpoint_transactions);
}

/*
 * jbd2_journal_destroy_checkpoint - give up on checkpointing (aborted
 * journal at destroy): drop every checkpoint record so the buffers are
 * unpinned.  Entry: no locks.
 */
void jbd2_journal_destroy_checkpoint(journal_t *journal)
{
	spin_lock(&journal->j_list_lock);
	while (journal->j_checkpoint_transactions) {
		transaction_t *t = journal->j_checkpoint_transactions;

		__jbd2_journal_clean_checkpoint_list(journal, true);
		if (journal->j_checkpoint_transactions == t && !t->t_checkpoint_list) {
			__jbd2_journal_drop_transaction(journal, t);
			jbd2_journal_free_transaction(t);
		}
	}
	spin_unlock(&journal->j_list_lock);
}
