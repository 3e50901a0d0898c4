// SPDX-License-Identifier: GPL-2.0
/*
 * buffer.c - buffer_head objects, the buffer lock, dirtying and I/O
 * (fs/buffer.c).
 *
 * A folio of the bdev mapping carries a ring of folio_size/block_size
 * buffer_heads linked through b_this_page; folio->private points at the
 * head and PG_private holds one folio reference for the ring
 * (folio_attach_private()).  Each bh's b_data is a RAW pointer into the
 * folio's data (folio_set_bh()), so a bh that is not re-pointed after a
 * migration keeps pointing into the freed, poisoned source.
 *
 * b_count is the bh's own reference count; it does not pin the folio.  A
 * ring is freed only by try_to_free_buffers(), with the folio locked and
 * i_private_lock held, and only if no buffer is busy: b_count != 0, dirty or
 * locked (buffer_busy()).  i_private_lock is what makes the atomic lookup's
 * get_bh() and this check mutually exclusive; the folio lock does the same
 * for the sleeping lookup.
 *
 * I/O: submit_bh() turns the bh into a blk_request whose buffer is b_data
 * as it is at submit time (the bio's bvec); the device reads or writes those
 * bytes at its DMA moment and then calls bh->b_end_io() in its completion
 * thread.  Synchronous helpers sleep on BH_Lock.
 *
 * Locking rules:
 *   - b_state bits and b_count are [atomic];
 *   - BH_Lock is a sleeping bit lock, ranked below the folio lock: lock a
 *     buffer of a folio only after its folio lock, never the reverse;
 *   - b_end_io is owned by the BH_Lock holder; submit_bh() requires BH_Lock;
 *   - the ring (b_this_page, folio->private) is built and freed with the
 *     folio locked and i_private_lock held; migration moves it to the new
 *     folio with both folios and every buffer locked (and i_private_lock
 *     only under the ebdf4de scheme: migrate.c);
 *   - end_buffer_async_write() serialises on a hashed per-folio spinlock
 *     (the kernel's first bh b_uptodate_lock), a leaf.
 */
#include <errno.h>
#include <string.h>

#include "mm_internal.h"

_Atomic long nr_live_buffer_heads;
static _Atomic uint64_t bh_alloc_seq;

#define BH_POISON	0x6b

/* ------------------------------------------------------------ objects */

struct buffer_head *alloc_buffer_head_zero(void)
{
	struct buffer_head *bh = calloc(1, sizeof(*bh));

	BUG_ON(!bh);
	INIT_LIST_HEAD(&bh->b_assoc_buffers);
	bh->b_alloc_seq = atomic_fetch_add(&bh_alloc_seq, 1) + 1;
	atomic_fetch_add(&nr_live_buffer_heads, 1);
	return bh;
}

/*
 * alloc_buffer_head - a detached bh (jbd2's temporary bh) with b_count 1,
 * no folio.  Lock state: any; never sleeps (GFP_NOFS|__GFP_NOFAIL).
 */
struct buffer_head *alloc_buffer_head(void)
{
	struct buffer_head *bh = alloc_buffer_head_zero();

	atomic_store(&bh->b_count, 1);
	return bh;
}

/*
 * free_buffer_head - lock state: any.  The bh must be unlocked and off
 * every list; its memory is poisoned before it is freed.
 */
void free_buffer_head(struct buffer_head *bh)
{
	BUG_ON(!list_empty(&bh->b_assoc_buffers));
	BUG_ON(buffer_locked(bh));
	memset(bh, BH_POISON, sizeof(*bh));
	free(bh);
	atomic_fetch_sub(&nr_live_buffer_heads, 1);
}

/* put_bh - drop a b_count reference.  b_count never goes negative (BUG). */
void put_bh(struct buffer_head *bh)
{
	int old = atomic_fetch_sub(&bh->b_count, 1);

	if (unlikely(old <= 0))
		jbd_bug(__FILE__, __LINE__, "put_bh: b_count of block %llu went negative (%d)",
			(unsigned long long)bh->b_blocknr, old - 1);
}

/* __brelse - put_bh, with the kernel's warning for an already free buffer. */
void __brelse(struct buffer_head *bh)
{
	int c = atomic_load(&bh->b_count);

	do {
		if (unlikely(c <= 0)) {
			jbd_warn(__FILE__, __LINE__,
				 "VFS: brelse: Trying to free free buffer (block %llu)",
				 (unsigned long long)bh->b_blocknr);
			return;
		}
	} while (!atomic_compare_exchange_weak(&bh->b_count, &c, c - 1));
}

/* folio_set_bh - point bh at folio + offset (fs/buffer.c).  No lock checked:
 * callers hold the folio lock (ring; migration also every buffer lock) or
 * own the bh (jbd2 temporary bh).  Two marked stores, b_folio first, as the
 * kernel's two plain ones: a lockless reader may see them torn, which is
 * why readers pair them with offset_in_folio(). */
void folio_set_bh(struct buffer_head *bh, struct folio *folio, size_t offset)
{
	BUG_ON(offset >= folio_size(folio));
	WRITE_ONCE(bh->b_folio, folio);
	WRITE_ONCE(bh->b_data, folio_address(folio) + offset);
}

/*
 * folio_attach_buffers - folio_attach_private(folio, head) for a new ring.
 * Entry: folio locked; takes i_private_lock.
 */
void folio_attach_buffers(struct folio *f, struct buffer_head *head)
{
	struct address_space *m = f->mapping;

	BUG_ON(!folio_test_locked(f));
	BUG_ON(f->private);
	spin_lock(&m->i_private_lock);
	folio_get(f);
	WRITE_ONCE(f->private, head);
	folio_set_private(f);
	spin_unlock(&m->i_private_lock);
}

static inline bool buffer_busy(struct buffer_head *bh)
{
	return atomic_load(&bh->b_count) ||
	       (atomic_load(&bh->b_state) & (BIT(BH_Dirty) | BIT(BH_Lock)));
}

/*
 * try_to_free_buffers - detach and free the folio's ring if no buffer is
 * busy (fs/buffer.c: drop_buffers()).  Entry: folio locked, caller holds a
 * folio reference, no spinlock.  Returns true if the folio has no buffers on
 * exit.  Like the kernel, a dirty folio whose buffers are all clean (the
 * filesystem wrote them by hand) is cleaned here.
 */
bool try_to_free_buffers(struct folio *f)
{
	struct address_space *m = f->mapping;
	struct buffer_head *head, *bh, *next;

	BUG_ON(!folio_test_locked(f));
	if (folio_test_writeback(f))
		return false;
	head = folio_buffers(f);
	if (!head)
		return true;
	BUG_ON(!m);
	spin_lock(&m->i_private_lock);
	bh = head;
	do {
		if (buffer_busy(bh)) {
			spin_unlock(&m->i_private_lock);
			return false;
		}
		bh = bh->b_this_page;
	} while (bh != head);
	WRITE_ONCE(f->private, NULL);
	folio_clear_private(f);
	if (folio_test_clear_dirty(f))
		mapping_clear_dirty_tag(m, f->index);
	spin_unlock(&m->i_private_lock);

	bh = head;
	do {
		next = bh->b_this_page;
		free_buffer_head(bh);
		bh = next;
	} while (bh != head);
	folio_put(f);	/* the PG_private reference; the caller still holds one */
	return true;
}

/* ---------------------------------------------------------- buffer lock */

/* BH_Lock for the lock checker (src/lab/lockdep.c): one class. */
struct lock_class_key buffer_lock_key = {
	.name = "buffer lock", .kind = LK_BIT, .aux_name = "block",
};

bool trylock_buffer(struct buffer_head *bh)
{
	if (test_and_set_bit_lock(BH_Lock, &bh->b_state))
		return false;
	lock_acquired(&buffer_lock_key, bh, bh->b_blocknr, true);
	return true;
}

/* lock_buffer - sleeps.  Entry: no spinlock; if a folio lock is needed too,
 * take it first (folio lock -> buffer lock). */
void lock_buffer(struct buffer_head *bh)
{
	might_sleep();
	lock_acquire_check(&buffer_lock_key, bh, bh->b_blocknr);
	if (test_and_set_bit_lock(BH_Lock, &bh->b_state)) {
		bool w = lock_wait_begin(&buffer_lock_key, bh, bh->b_blocknr);

		wait_on_bit_lock(&bh->b_state, BH_Lock);
		lock_wait_end(w);
	}
	lock_acquired(&buffer_lock_key, bh, bh->b_blocknr, false);
}

/* unlock_buffer - by the holder, or by the end_io of the I/O it was handed
 * to (submit_bh()). */
void unlock_buffer(struct buffer_head *bh)
{
	BUG_ON(!buffer_locked(bh));
	lock_released(&buffer_lock_key, bh);
	clear_bit_unlock(BH_Lock, &bh->b_state);
	wake_up_bit(&bh->b_state, BH_Lock);
}

/* wait_on_buffer - sleeps until BH_Lock is clear; entry: caller holds b_count. */
void wait_on_buffer(struct buffer_head *bh)
{
	/* wait_on_bit() tests with acquire: pairs with unlock_buffer()'s release,
	 * so the caller sees what the I/O completion wrote. */
	wait_on_bit(&bh->b_state, BH_Lock);
}

/* -------------------------------------------------------------- dirtying */

/*
 * mark_buffer_dirty - fs/buffer.c.  BH_Dirty first, then PG_dirty, then the
 * mapping's dirty tag: the writeback scan clears in the reverse order, so a
 * redirty racing with writeback is never lost.  Lock state: any except
 * spinlocks that writeback_kick() could need (none); never sleeps.
 */
void mark_buffer_dirty(struct buffer_head *bh)
{
	struct folio *f;
	struct address_space *m;

	WARN_ON_ONCE(!buffer_uptodate(bh));
	/* Fast path: already dirty (the kernel's smp_mb + buffer_dirty test). */
	if (buffer_dirty(bh)) {
		atomic_thread_fence(memory_order_seq_cst);
		if (buffer_dirty(bh))
			return;
	}
	if (test_set_buffer_dirty(bh))
		return;
	f = READ_ONCE(bh->b_folio);
	if (!f)
		return;
	m = READ_ONCE(f->mapping);
	if (m)
		atomic_fetch_add(&m->nr_dirty, 1);
	if (!folio_test_set_dirty(f) && m) {
		mapping_tag_dirty(m, f->index);
		mm_dirty_pressure(m);
	}
}

/*
 * clear_buffer_dirty_folio - clear BH_Dirty with the mapping's accounting
 * (the part of clean_bdev_aliases() that forgets a dirty buffer).  The
 * folio's PG_dirty is left to the writeback scan, which cleans folios whose
 * buffers are all clean.  Lock state: caller holds the folio lock or b_count.
 */
void clear_buffer_dirty_folio(struct buffer_head *bh)
{
	if (test_clear_buffer_dirty(bh) && bh->b_folio && bh->b_folio->mapping) {
		struct address_space *m = bh->b_folio->mapping;

		if (atomic_load(&m->nr_dirty))
			atomic_fetch_sub(&m->nr_dirty, 1);
	}
}

/* buffer_account_clean - nr_dirty-- after a successful test_clear_buffer_dirty(). */
void buffer_account_clean(struct buffer_head *bh)
{
	struct folio *f = bh->b_folio;
	struct address_space *m = f ? READ_ONCE(f->mapping) : NULL;

	if (m && atomic_load(&m->nr_dirty))
		atomic_fetch_sub(&m->nr_dirty, 1);
}

/* ------------------------------------------------------------------- I/O */

static void bh_rq_end_io(struct blk_request *rq, int error)
{
	struct buffer_head *bh = rq->private;

	free(rq);
	/* softirq context in the kernel: the BH_Lock end_io releases was
	 * handed off by submit_bh(), it is nobody's held lock */
	lockdep_irq_context++;
	bh->b_end_io(bh, error == 0);
	lockdep_irq_context--;
}

/*
 * submit_bh - hand a locked, mapped bh with b_end_io to the device.
 * Entry: BH_Lock held by the caller (ownership passes to the completion,
 * which must unlock).  Never sleeps.
 */
void submit_bh(unsigned int opf, struct buffer_head *bh)
{
	struct blk_request *rq;

	BUG_ON(!buffer_locked(bh));
	BUG_ON(!buffer_mapped(bh));
	BUG_ON(!bh->b_end_io);
	BUG_ON(!bh->b_bdev);
	test_set_buffer_req(bh);
	rq = calloc(1, sizeof(*rq));
	BUG_ON(!rq);
	rq->opf = opf;
	rq->pos = (uint64_t)bh->b_blocknr * bh->b_size;
	rq->len = bh->b_size;
	rq->buf = bh->b_data;
	rq->end_io = bh_rq_end_io;
	rq->private = bh;
	INIT_LIST_HEAD(&rq->queue);
	/* BH_Lock now belongs to the I/O: off the submitter's held locks */
	lock_handoff(&buffer_lock_key, bh);
	blk_submit(bh->b_bdev, rq);
}

/* end_buffer_read_sync - completion of bh_read(): runs in the I/O thread. */
void end_buffer_read_sync(struct buffer_head *bh, int uptodate)
{
	if (uptodate)
		set_buffer_uptodate(bh);
	else
		clear_buffer_uptodate(bh);
	unlock_buffer(bh);
	put_bh(bh);
}

void end_buffer_write_sync(struct buffer_head *bh, int uptodate)
{
	if (uptodate) {
		set_buffer_uptodate(bh);
	} else {
		set_buffer_write_io_error(bh);
		clear_buffer_uptodate(bh);
	}
	unlock_buffer(bh);
	put_bh(bh);
}

#define WB_FOLIO_LOCKS	64
static spinlock_t wb_folio_lock[WB_FOLIO_LOCKS];

__attribute__((constructor)) static void buffer_ctor(void)
{
	for (int i = 0; i < WB_FOLIO_LOCKS; i++)
		spin_lock_init(&wb_folio_lock[i]);
}

/*
 * end_buffer_async_write - completion of folio writeback (fs/buffer.c).  The
 * last buffer of the folio to complete ends the folio's writeback.
 */
void end_buffer_async_write(struct buffer_head *bh, int uptodate)
{
	struct folio *f = bh->b_folio;
	spinlock_t *l = &wb_folio_lock[((uintptr_t)f >> 6) % WB_FOLIO_LOCKS];
	struct buffer_head *tmp;
	bool busy = false;

	if (uptodate) {
		set_buffer_uptodate(bh);
	} else {
		set_buffer_write_io_error(bh);
		clear_buffer_uptodate(bh);
		if (f->mapping)
			atomic_store(&f->mapping->priv->wb_err, -EIO);
	}
	spin_lock(l);
	clear_bit(BH_Async_Write, &bh->b_state);
	for (tmp = bh->b_this_page; tmp != bh; tmp = tmp->b_this_page) {
		if (test_bit(BH_Async_Write, &tmp->b_state)) {
			busy = true;
			break;
		}
	}
	spin_unlock(l);
	unlock_buffer(bh);
	if (!busy)
		folio_end_writeback(f);
}

/*
 * bh_read - read the block if it is not uptodate; returns 0 or -EIO.
 * Entry: caller holds b_count, no spinlock, does not hold BH_Lock (sleeps).
 */
int bh_read(struct buffer_head *bh)
{
	if (buffer_uptodate(bh))
		return 0;
	lock_buffer(bh);
	if (buffer_uptodate(bh)) {
		unlock_buffer(bh);
		return 0;
	}
	get_bh(bh);
	bh->b_end_io = end_buffer_read_sync;
	submit_bh(REQ_OP_READ, bh);
	wait_on_buffer(bh);
	return buffer_uptodate(bh) ? 0 : -EIO;
}

/*
 * write_dirty_buffer - start the write of a dirty buffer, don't wait.
 * Entry: caller holds b_count, not BH_Lock; sleeps on BH_Lock.
 */
void write_dirty_buffer(struct buffer_head *bh, unsigned int opf)
{
	lock_buffer(bh);
	if (!test_clear_buffer_dirty(bh)) {
		unlock_buffer(bh);
		return;
	}
	buffer_account_clean(bh);
	bh->b_end_io = end_buffer_write_sync;
	get_bh(bh);
	submit_bh(REQ_OP_WRITE | opf, bh);
}

/*
 * sync_dirty_buffer - write the buffer if dirty and wait; 0 or -EIO.
 * Entry: caller holds b_count, not BH_Lock; sleeps.
 */
int sync_dirty_buffer(struct buffer_head *bh)
{
	int ret = 0;

	lock_buffer(bh);
	if (test_clear_buffer_dirty(bh)) {
		buffer_account_clean(bh);
		get_bh(bh);
		bh->b_end_io = end_buffer_write_sync;
		submit_bh(REQ_OP_WRITE | REQ_SYNC, bh);
		wait_on_buffer(bh);
		if (!buffer_uptodate(bh))
			ret = -EIO;
	} else {
		unlock_buffer(bh);
	}
	return ret;
}
