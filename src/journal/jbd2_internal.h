/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jbd2_internal.h - what the runtime journal's files share and nobody else
 * needs: the journal-head bit lock, the current handle, the buffer filing
 * primitives (`__` = caller holds the locks), the revoke and checkpoint
 * internals, and the hook points of the aliasing temporary bh.
 *
 * Lock ranking (outermost first; include/jbd2.h repeats it):
 *   j_checkpoint_mutex
 *     j_state_lock (rwlock)            -> t_handle_lock (spin)
 *       buffer lock (BH_Lock, sleeping; only outside the spinlocks below)
 *         jh->b_state_lock (spin)      -> j_list_lock (spin)
 *           jbd_lock_bh_journal_head (BH_JournalHead bit spinlock, leaf)
 *   j_revoke_lock, j_logged_lock: leaves, taken alone.
 *   j_abort_mutex is taken with no other journal lock held.
 */
#ifndef JBDLAB_JBD2_INTERNAL_H
#define JBDLAB_JBD2_INTERNAL_H

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include "jbd2.h"
#include "blockdev.h"
#include "strategy.h"

/* J_ASSERT of include/linux/jbd2.h (CONFIG_JBD2_DEBUG assertions are BUG_ON). */
#define J_ASSERT(c)		BUG_ON(!(c))
#define J_ASSERT_JH(jh, c)	BUG_ON(!(c))
#define J_ASSERT_BH(bh, c)	BUG_ON(!(c))

/* JBD2_JOURNAL_REQ_FLAGS: REQ_META | REQ_SYNC | REQ_IDLE (no REQ_IDLE here). */
#define JBD2_JOURNAL_REQ_FLAGS	(REQ_META | REQ_SYNC)

static inline bool is_journal_aborted(journal_t *journal)
{
	return READ_ONCE(journal->j_flags) & JBD2_ABORT;
}

static inline bool is_handle_aborted(handle_t *handle)
{
	if (handle->h_aborted || !handle->h_transaction)
		return true;
	return is_journal_aborted(handle->h_transaction->t_journal);
}

/* Milliseconds on CLOCK_MONOTONIC: our jiffies. */
unsigned long jbd2_now_ms(void);

/* current->journal_info */
extern __thread handle_t *current_journal_info;
static inline handle_t *journal_current_handle(void)
{
	return current_journal_info;
}

/* ------------------------------------------------------------ journal.c */
int jbd2_journal_next_log_block(journal_t *journal, unsigned long long *retp);
struct buffer_head *jbd2_journal_get_descriptor_buffer(transaction_t *transaction, int type);
void jbd2_journal_update_sb_errno(journal_t *journal);
int jbd2_journal_update_sb_log_tail(journal_t *journal, tid_t tail_tid, unsigned long tail_block,
				    unsigned int write_flags);
void jbd2_mark_journal_empty(journal_t *journal, unsigned int write_flags);
void jbd2_journal_note_logged(journal_t *journal, unsigned long long blocknr, tid_t tid);
void jbd2_journal_prune_logged(journal_t *journal, tid_t tail);
int __jbd2_log_start_commit(journal_t *journal, tid_t target);
void jbd2_wake_commit(journal_t *journal);
void jbd2_journal_free_transaction(transaction_t *transaction);
void jbd2_commit_observe_state(journal_t *journal, transaction_t *t);

/* --------------------------------------------------------- transaction.c */
void __jbd2_journal_file_buffer(struct journal_head *jh, transaction_t *transaction, int jlist);
void __jbd2_journal_temp_unlink_buffer(struct journal_head *jh);
bool __jbd2_journal_refile_buffer(struct journal_head *jh);
void jbd2_journal_refile_buffer(journal_t *journal, struct journal_head *jh);
void jbd2_journal_file_buffer(struct journal_head *jh, transaction_t *transaction, int jlist);
void __jbd2_journal_unfile_buffer(struct journal_head *jh);
void jbd2_journal_unfile_buffer(journal_t *journal, struct journal_head *jh);

/* ------------------------------------------------------------- revoke.c */
int jbd2_journal_init_revoke(journal_t *journal, int hash_size);
void jbd2_journal_destroy_revoke(journal_t *journal);
void jbd2_journal_switch_revoke_table(journal_t *journal);
void jbd2_clear_buffer_revoked_flags(journal_t *journal);
void jbd2_journal_write_revoke_records(transaction_t *transaction, struct list_head *log_bufs);
void jbd2_file_log_bh(struct list_head *head, struct buffer_head *bh);
void jbd2_unfile_log_bh(struct buffer_head *bh);

/* --------------------------------------------------------- checkpoint.c */
void __jbd2_journal_insert_checkpoint(struct journal_head *jh, transaction_t *transaction);
int __jbd2_journal_remove_checkpoint(struct journal_head *jh);
int jbd2_journal_try_remove_checkpoint(struct journal_head *jh);
void __jbd2_journal_drop_transaction(journal_t *journal, transaction_t *transaction);
void __jbd2_journal_clean_checkpoint_list(journal_t *journal, bool destroy);
void jbd2_journal_destroy_checkpoint(journal_t *journal);
int __jbd2_update_log_tail(journal_t *journal, tid_t tid, unsigned long block);
void jbd2_update_log_tail(journal_t *journal, tid_t tid, unsigned long block);

/*
 * The aliasing window of jbd2_journal_write_metadata_buffer() -- from
 * folio_set_bh(tmp, bh_in->b_folio, ...) to journal_end_buffer_io_sync()
 * -- has two kinds of hook points:
 *
 *   the strategy's (strategy.h tmpbh_begin/tmpbh_end): the stock kernel
 *   does nothing; the tmpbh-* strategies pin the folio, set PG_writeback,
 *   lock the buffers or copy out.  tmpbh_begin runs before
 *   jh_in->b_state_lock, with no lock held, and may sleep (model-review
 *   item 5: a hook after the b_folio read is too late, the folio may be
 *   frozen or freed by then); tmpbh_end runs in the disk's completion
 *   thread before BH_Shadow is cleared and must not sleep;
 *
 *   the observer's (jbd2_commit_observer, the lab's journal-I/O oracle):
 *   tmpbh_begin under jh_in->b_state_lock once the temporary bh is set up,
 *   tmpbh_end at completion.
 */
static inline const struct strategy *jbd2_bh_strategy(struct buffer_head *bh_in)
{
	return mapping_strategy(bh_in->b_bdev->bd_mapping);
}

static inline void jbd2_strategy_tmpbh_begin(struct journal_head *jh_in)
{
	const struct strategy *s = jbd2_bh_strategy(jh2bh(jh_in));

	if (s->tmpbh_begin)
		s->tmpbh_begin(jh_in);
}

static inline void jbd2_strategy_tmpbh_end(struct journal_head *jh_in, struct buffer_head *tmp)
{
	const struct strategy *s = jbd2_bh_strategy(jh2bh(jh_in));

	if (s->tmpbh_end)
		s->tmpbh_end(jh_in, tmp);
}

/* The observer may be installed or removed while the journal runs (the lab). */
static inline const struct jbd2_commit_observer *jbd2_observer(journal_t *journal)
{
	return READ_ONCE(journal->j_observer);
}

static inline void jbd2_observe_tmpbh_begin(journal_t *journal, struct buffer_head *bh_in,
					     struct buffer_head *tmp, bool aliasing)
{
	const struct jbd2_commit_observer *o = jbd2_observer(journal);

	if (o && o->tmpbh_begin)
		o->tmpbh_begin(journal, bh_in, tmp, aliasing, o->priv);
}

static inline void jbd2_observe_tmpbh_end(journal_t *journal, struct buffer_head *bh_in,
					  struct buffer_head *tmp, int uptodate)
{
	const struct jbd2_commit_observer *o = jbd2_observer(journal);

	if (o && o->tmpbh_end)
		o->tmpbh_end(journal, bh_in, tmp, uptodate, o->priv);
}

/* A handle out of buffer credits (jbd2_journal_dirty_metadata(), after its
 * WARN_ON_ONCE and with b_state_lock dropped).  Instrumentation only. */
static inline void jbd2_observe_credits_out(journal_t *journal, handle_t *handle,
					    struct buffer_head *bh)
{
	const struct jbd2_commit_observer *o = jbd2_observer(journal);

	if (o && o->credits_out)
		o->credits_out(journal, handle, bh, o->priv);
}

/*
 * jbd2 writes some of its own blocks through a pointer it derived from
 * b_data earlier -- the descriptor's tagp across the whole tag loop of
 * jbd2_journal_commit_transaction(), j_superblock from journal load to
 * unmount -- holding only b_count.  Where that pointer is used for the
 * last time, tell the observer if the buffer was re-pointed meanwhile
 * (only a migration that ignores b_count can do it): what went through
 * the pointer after the move is not in the block that goes to disk.
 * Instrumentation only: the kernel has no such check.
 */
static inline void jbd2_observe_own_ptr(journal_t *journal, struct buffer_head *bh,
					const void *ptr, const char *what)
{
	const struct jbd2_commit_observer *o = jbd2_observer(journal);

	if (o && o->own_ptr_stale && ptr != (const void *)READ_ONCE(bh->b_data))
		o->own_ptr_stale(journal, bh, ptr, what, o->priv);
}

#endif /* JBDLAB_JBD2_INTERNAL_H */
