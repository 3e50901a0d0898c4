// SPDX-License-Identifier: GPL-2.0
/*
 * lookup.c - buffer-cache lookups and creation (fs/buffer.c):
 * __find_get_block(), __find_get_block_nonatomic(), grow_buffers(),
 * bdev_getblk(), __bread().
 *
 * The lookup is the half of the lookup-vs-migration handshake that lives in
 * the buffer layer (kernel-race.md §2.2).  Step order, exactly as the kernel:
 *
 *   1. lookup_bh_lru(): a per-thread LRU hit returns with get_bh() only;
 *   2. __find_get_block_slow():
 *        __filemap_get_folio()         temporary folio reference
 *        yield_point(YP_LOOKUP_BEFORE_LOCK)   the window Luis widened
 *        strategy_lookup_lock()        atomic: spin_lock(i_private_lock);
 *                                      sleeping: folio_lock() (7ffe3de53a88:
 *                                      serialises against migration, which
 *                                      holds the folio lock)
 *        strategy_lookup_bail()        v6.15: head has BH_Migrate -> "not
 *                                      cached" (2d900efff915)
 *        walk the ring for a mapped bh with b_blocknr == block, get_bh()
 *        strategy_lookup_unlock(), folio_put()   the folio reference is gone
 *                                      BEFORE the bh is returned
 *   3. bh_lru_install(): the LRU slot takes its own b_count.
 *
 * So the caller ends with a b_count reference and no folio reference: only
 * migration's b_count scan (norefs) keeps the folio from moving under it.
 *
 * Which lookups may sleep is the strategy's: before v6.15 (every strategy
 * without lookup_split) there was no sleeping lookup at all --
 * bdev_getblk() -> __getblk_slow() -> __find_get_block() was atomic -- so
 * __find_get_block_nonatomic() runs the atomic lookup there (model-review
 * item 1).  From v6.15 bdev_getblk() with a blocking gfp mask and the
 * callers of Jan Kara's audit use the sleeping one.
 *
 * grow_buffers() creates a missing folio and its ring: the folio is found or
 * created locked (FGP_LOCK|FGP_CREAT), the ring of folio_size/block_size
 * buffers is built privately, then attached under i_private_lock.
 *
 * Simplifications: one block size per mapping (the kernel's bdev can
 * change it with set_blocksize; we refuse a mismatch); touch_buffer() only
 * sets PG_referenced.
 *
 * Locking rules:
 *   - __find_get_block(): callable with spinlocks held (never sleeps);
 *   - __find_get_block_nonatomic(), bdev_getblk(), __bread(): sleep (folio
 *     lock, memory-limit reclaim, I/O); no spinlock held, and the caller must
 *     not hold the buffer lock of a buffer in the same folio (I5: folio lock
 *     -> buffer lock is the order; 981fcc5674e6 is the jbd2-side fix);
 *   - grow_buffers(): folio lock, then i_private_lock for the attach.
 */
#include <errno.h>

#include "mm_internal.h"
#include "strategy.h"

static inline struct address_space *bdev_mapping(struct block_device *bdev)
{
	struct address_space *m = bdev->bd_mapping;

	BUG_ON(!m);
	return m;
}

static void check_size(struct address_space *m, sector_t block, unsigned int size)
{
	if (unlikely(size != (1U << m->blkbits)))
		jbd_bug(__FILE__, __LINE__,
			"buffer lookup of block %llu with size %u on a mapping of %u-byte blocks",
			(unsigned long long)block, size, 1U << m->blkbits);
}

/*
 * __find_get_block_slow - the page-cache half of the lookup.
 * Entry: atomic: any context; !atomic: may sleep.  Returns the bh with a
 * b_count reference or NULL; holds no folio reference or lock on return.
 */
static struct buffer_head *__find_get_block_slow(struct block_device *bdev,
						  sector_t block, bool atomic)
{
	struct address_space *m = bdev_mapping(bdev);
	unsigned int shift = mapping_bpf_shift(m);
	pgoff_t index = block >> shift;
	struct buffer_head *ret = NULL, *head, *bh;
	struct folio *f;

	/* The kernel's `__` name; its lock rule is about the caller's context:
	 * the sleeping variant must not be entered under a spinlock. */
	if (!atomic)
		might_sleep();
	f = __filemap_get_folio(m, index, FGP_ACCESSED);
	if (!f)
		return NULL;

	yield_point(YP_LOOKUP_BEFORE_LOCK);

	strategy_lookup_lock(m, f, atomic);
	head = folio_buffers(f);
	if (!head)
		goto out_unlock;
	if (strategy_lookup_bail(m, f, head, atomic)) {
		atomic_fetch_add_explicit(&m->stat_lookup_bails, 1, memory_order_relaxed);
		goto out_unlock;
	}
	bh = head;
	do {
		if (buffer_mapped(bh) && bh->b_blocknr == block) {
			ret = bh;
			get_bh(bh);
			goto out_unlock;
		}
		bh = bh->b_this_page;
	} while (bh != head);

out_unlock:
	strategy_lookup_unlock(m, f, atomic);
	folio_put(f);
	return ret;
}

static inline void touch_buffer(struct buffer_head *bh)
{
	struct folio *f;

	/* b_folio may be re-pointed by a migration; the struct stays valid
	 * for the RCU read section (quarantine release waits a grace period). */
	rcu_read_lock();
	f = READ_ONCE(bh->b_folio);
	if (f)
		folio_set_referenced(f);
	rcu_read_unlock();
}

static struct buffer_head *find_get_block_common(struct block_device *bdev, sector_t block,
						 unsigned int size, bool atomic)
{
	struct address_space *m = bdev_mapping(bdev);
	struct buffer_head *bh;

	check_size(m, block, size);
	if (!mapping_strategy(m)->lookup_split)
		atomic = true;	/* no sleeping lookup before v6.15 */
	atomic_fetch_add_explicit(&m->stat_lookups, 1, memory_order_relaxed);
	mm_note_recent(m, block >> mapping_bpf_shift(m));
	bh = lookup_bh_lru(bdev, block, size);
	if (bh) {
		atomic_fetch_add_explicit(&m->stat_lru_hits, 1, memory_order_relaxed);
		touch_buffer(bh);
		return bh;
	}
	bh = __find_get_block_slow(bdev, block, atomic);
	if (bh)
		bh_lru_install(bh);
	return bh;
}

/*
 * __find_get_block - atomic lookup: never sleeps; may return NULL for a
 * cached block while it is being migrated (v6.15 BH_Migrate bail; a
 * strategy's bail; a ring not yet attached to the new folio).
 * Exit: the bh with a b_count reference, or NULL.
 */
struct buffer_head *__find_get_block(struct block_device *bdev, sector_t block, unsigned int size)
{
	return find_get_block_common(bdev, block, size, true);
}

/*
 * __find_get_block_nonatomic - sleeping lookup (folio lock); NULL only if
 * the block is not cached.  Under a strategy without lookup_split it is the
 * atomic lookup (the function did not exist).  Entry: no spinlock held.
 */
struct buffer_head *__find_get_block_nonatomic(struct block_device *bdev, sector_t block,
					       unsigned int size)
{
	might_sleep();
	return find_get_block_common(bdev, block, size, false);
}

/*
 * grow_buffers - make sure block's folio exists and carries buffers
 * (grow_dev_folio()).  Entry: no spinlock; sleeps.  Returns false only if
 * the block lies beyond the device.
 */
static bool grow_buffers(struct block_device *bdev, sector_t block, unsigned int size)
{
	struct address_space *m = bdev_mapping(bdev);
	unsigned int shift = mapping_bpf_shift(m);
	pgoff_t index = block >> shift;
	sector_t first = (sector_t)index << shift;
	unsigned int nr = 1U << shift;
	struct buffer_head *head = NULL, *prev = NULL, *bh;
	struct folio *f;

	f = __filemap_get_folio(m, index, FGP_LOCK | FGP_ACCESSED | FGP_CREAT);
	if (!f)
		return false;
	if (folio_buffers(f)) {
		/* Someone else attached them (the kernel also checks b_size). */
		BUG_ON(folio_buffers(f)->b_size != size);
		goto out;
	}
	/* folio_alloc_buffers() + link_dev_buffers() + init_page_buffers() */
	for (unsigned int i = 0; i < nr; i++) {
		bh = alloc_buffer_head_zero();
		bh->b_size = size;
		bh->b_bdev = bdev;
		bh->b_blocknr = first + i;
		folio_set_bh(bh, f, (size_t)i << m->blkbits);
		set_bit(BH_Mapped, &bh->b_state);
		if (folio_test_uptodate(f))
			set_bit(BH_Uptodate, &bh->b_state);
		if (prev)
			prev->b_this_page = bh;
		else
			head = bh;
		prev = bh;
	}
	prev->b_this_page = head;
	folio_attach_buffers(f, head);
out:
	folio_unlock(f);
	folio_put(f);
	return true;
}

/*
 * bdev_getblk - find or create the bh of block (fs/buffer.c, blocking gfp):
 * never returns NULL.  Entry: no spinlock (sleeps).  Exit: bh with a
 * b_count reference, not necessarily uptodate.
 */
struct buffer_head *bdev_getblk(struct block_device *bdev, sector_t block, unsigned int size)
{
	struct buffer_head *bh;

	bh = __find_get_block_nonatomic(bdev, block, size);
	if (bh)
		return bh;
	/* __getblk_slow() */
	for (;;) {
		bh = __find_get_block_nonatomic(bdev, block, size);
		if (bh)
			return bh;
		if (!grow_buffers(bdev, block, size))
			jbd_bug(__FILE__, __LINE__, "bdev_getblk: block %llu beyond the device",
				(unsigned long long)block);
	}
}

/*
 * __bread - bdev_getblk() + bh_read(); NULL on I/O error (reference dropped).
 * Entry: no spinlock (sleeps).
 */
struct buffer_head *__bread(struct block_device *bdev, sector_t block, unsigned int size)
{
	struct buffer_head *bh = bdev_getblk(bdev, block, size);

	if (bh_read(bh)) {
		brelse(bh);
		return NULL;
	}
	return bh;
}
