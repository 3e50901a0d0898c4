/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mm_internal.h - private interfaces between the files of src/migrate_sim/.
 *
 * File map (one topic per file):
 *   folio.c       folio refcount, folio lock, writeback bit, allocation
 *   quarantine.c  poisoned quarantine of freed folios (RCU-delayed release)
 *   filemap.c     the two-level "xarray", filemap_get_entry and friends,
 *                 address_space_init/destroy
 *   buffer.c      buffer_head objects, buffer lock, I/O submission, dirtying
 *   lookup.c      __find_get_block{,_nonatomic}, grow_buffers, bdev_getblk
 *   bh_lru.c      the per-thread bh LRU and invalidate_bh_lrus()
 *   writeback.c   writeback thread, sync, shrinker, memory limit
 *   migrate.c     folio migration (compaction + migrate_folio) and the migrator
 *
 * Lock ranking inside mm (extends include/locking.h):
 *   folio lock -> buffer lock -> mapping->i_private_lock
 *     -> mapping->i_pages.xa_lock -> mapping->lru_lock
 *   wb_folio_lock[] (end_buffer_async_write) and the quarantine lock are
 *   leaves; bh_lru->lock is taken alone (it may brelse under it: no sleep).
 */
#ifndef JBDLAB_MM_INTERNAL_H
#define JBDLAB_MM_INTERNAL_H

#include <urcu-bp.h>

#include "mm.h"
#include "blockdev.h"

#define XA_CHUNK_SIZE	(1UL << XA_CHUNK_SHIFT)
#define XA_CHUNK_MASK	(XA_CHUNK_SIZE - 1)
#define XA_TAG_WORDS	(XA_CHUNK_SIZE / (8 * sizeof(unsigned long)))

/*
 * One second-level chunk of the page-cache index.  slots[] must stay the
 * first member: struct xarray's chunk pointers point at it.
 */
struct xa_node {
	_Atomic(struct folio *) slots[XA_CHUNK_SIZE];	/* [xa_lock to change; RCU to read] */
	_Atomic unsigned long dirty_tag[XA_TAG_WORDS];	/* PAGECACHE_TAG_DIRTY [atomic] */
};

static inline struct xa_node *xa_node_of(struct xarray *xa, pgoff_t index)
{
	uint64_t c = index >> XA_CHUNK_SHIFT;

	if (unlikely(c >= xa->nr_chunks))
		return NULL;
	return (struct xa_node *)atomic_load_explicit(&xa->chunks[c], memory_order_acquire);
}

#define MM_RECENT	256

/* Per-mapping state that is not part of the public struct. */
struct mapping_private {
	/* writeback thread */
	pthread_t wb_thread;		/* [wb_lock] */
	bool wb_running;		/* [wb_lock] */
	bool wb_stop;			/* [wb_lock] */
	bool wb_kicked;			/* [wb_lock] */
	unsigned int wb_interval_ms;	/* [wb_lock] */
	pthread_mutex_t wb_lock;	/* protects the wb_ control fields [lock] */
	pthread_cond_t wb_cond;		/* the thread's sleep [wb_lock] */
	pthread_cond_t wb_done;		/* a pass ended (balance_dirty_pages waits) [wb_lock] */
	_Atomic bool wb_kick_pending;	/* [atomic] cheap test before taking wb_lock */
	_Atomic int wb_err;		/* [atomic] sticky -EIO of async writeback (AS_EIO) */
	_Atomic unsigned long wb_passes;	/* [atomic; changed under wb_lock] passes done */
	struct mutex reclaim_mutex;	/* serialises direct reclaim writeback passes [lock] */

	/* recently looked-up folio indices, for the migrator's VICTIM_TARGETED */
	_Atomic bool recent_on;			/* [atomic] */
	_Atomic unsigned int recent_head;	/* next slot, ever increasing [atomic] */
	_Atomic pgoff_t recent[MM_RECENT];	/* [atomic] */
};

extern __thread bool mm_recent_skip_thread;	/* mm_recent_thread() */

static inline void mm_note_recent(struct address_space *m, pgoff_t index)
{
	struct mapping_private *p = m->priv;

	if (unlikely(atomic_load_explicit(&p->recent_on, memory_order_relaxed)) &&
	    !mm_recent_skip_thread)
		atomic_store_explicit(&p->recent[atomic_fetch_add_explicit(&p->recent_head, 1,
						memory_order_relaxed) % MM_RECENT],
				      index, memory_order_relaxed);
}

/* folio.c */
void folio_free(struct folio *f);		/* refcount hit 0 */
uint64_t folio_next_pfn(void);
void folio_free_memory(struct folio *f);	/* quarantine release: really free */
void folio_put_bulk(struct folio *f, struct list_head *list);	/* teardown: no quarantine */
void folio_free_bulk_list(struct list_head *list);		/* ... after a grace period */

/* quarantine.c */
void quarantine_add(struct folio *f);
size_t quarantine_bytes(void);		/* freed folio memory not yet released */
unsigned long quarantine_get_len(void);

/* filemap.c */
struct folio *filemap_get_entry(struct address_space *m, pgoff_t index);
void mapping_tag_dirty(struct address_space *m, pgoff_t index);
void mapping_clear_dirty_tag(struct address_space *m, pgoff_t index);
/* Iterate dirty-tagged indices from *index; returns false when none is left. */
bool mapping_next_dirty(struct address_space *m, pgoff_t *index);
pgoff_t mapping_max_index(const struct address_space *m);

/* buffer.c */
struct buffer_head *alloc_buffer_head_zero(void);	/* b_count 0, for rings */
void end_buffer_async_write(struct buffer_head *bh, int uptodate);
bool try_to_free_buffers(struct folio *f);
void folio_attach_buffers(struct folio *f, struct buffer_head *head);
void buffer_account_clean(struct buffer_head *bh);	/* after test_clear_buffer_dirty() */

/* bh_lru.c */
struct buffer_head *lookup_bh_lru(struct block_device *bdev, sector_t block, unsigned int size);
void bh_lru_install(struct buffer_head *bh);

/* writeback.c */
void mm_enforce_limit(struct address_space *m);
void mm_dirty_pressure(struct address_space *m);

static inline unsigned int mapping_bpf_shift(const struct address_space *m)
{
	return PAGE_SHIFT + m->folio_order - m->blkbits;	/* log2(buffers per folio) */
}

#endif /* JBDLAB_MM_INTERNAL_H */
