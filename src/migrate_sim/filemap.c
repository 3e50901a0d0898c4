// SPDX-License-Identifier: GPL-2.0
/*
 * filemap.c - the page-cache index of the bdev mapping and the
 * address_space lifetime (mm/filemap.c, lib/xarray.c in miniature).
 *
 * The index is a two-level table: xa->chunks[index >> XA_CHUNK_SHIFT] points
 * to a struct xa_node of XA_CHUNK_SIZE folio slots plus a dirty-tag bitmap
 * (PAGECACHE_TAG_DIRTY).  Chunks are allocated on first use and live until
 * address_space_destroy(), so a lookup is two dependent loads: O(1).
 *
 * Readers follow filemap_get_entry() exactly:
 *     rcu_read_lock();
 *   repeat:
 *     folio = load(slot);                    (rcu_dereference)
 *     if (!folio_try_get(folio)) goto repeat;   frozen or being freed
 *     if (folio != load(slot)) { folio_put(folio); goto repeat; }   moved
 *     rcu_read_unlock();
 * A frozen folio (eviction, migration) makes try_get fail; the writer
 * replaces or clears the slot before it unfreezes, so the retry sees the new
 * state.  The struct folio a reader dereferences stays valid because freed
 * folios are released only after a grace period (quarantine.c).
 *
 * Writers hold i_pages.xa_lock and publish with a release store
 * (rcu_assign_pointer).  The model simplifies the kernel in two ways:
 * there are no value entries (shadows, swap), and the dirty tag is set and
 * cleared with atomic bit operations instead of under xa_lock (the tag is a
 * hint the writeback scan re-validates under the folio lock).
 *
 * Locking rules:
 *   - slot changes: xa_lock held, and the folio involved locked;
 *   - __filemap_remove_folio()/__filemap_replace_folio(): caller holds
 *     xa_lock and has frozen the old folio's refcount;
 *   - mapping->lru (the shrinker's list) is changed under lru_lock, which
 *     nests inside xa_lock;
 *   - folio->mapping/index change only with the folio locked and xa_lock held.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "mm_internal.h"

pgoff_t mapping_max_index(const struct address_space *m)
{
	return (pgoff_t)m->i_pages.nr_chunks << XA_CHUNK_SHIFT;
}

static _Atomic(struct folio *) *xa_slot(struct xarray *xa, pgoff_t index)
{
	struct xa_node *node = xa_node_of(xa, index);

	return node ? &node->slots[index & XA_CHUNK_MASK] : NULL;
}

/* __xa_slot_create - the slot for index, allocating its chunk.  Entry: xa_lock. */
static _Atomic(struct folio *) *__xa_slot_create(struct xarray *xa, pgoff_t index)
{
	uint64_t c = index >> XA_CHUNK_SHIFT;
	struct xa_node *node;

	assert_spin_locked(&xa->xa_lock);
	if (c >= xa->nr_chunks)
		return NULL;
	node = (struct xa_node *)atomic_load_explicit(&xa->chunks[c], memory_order_relaxed);
	if (!node) {
		node = calloc(1, sizeof(*node));
		BUG_ON(!node);
		atomic_store_explicit(&xa->chunks[c], &node->slots[0], memory_order_release);
	}
	return &node->slots[index & XA_CHUNK_MASK];
}

/*
 * filemap_get_entry - lockless lookup with a reference (mm/filemap.c).
 * Lock state: none needed; takes rcu_read_lock() internally.
 */
struct folio *filemap_get_entry(struct address_space *m, pgoff_t index)
{
	_Atomic(struct folio *) *slot;
	struct folio *f;

	rcu_read_lock();
	slot = xa_slot(&m->i_pages, index);
	if (!slot) {
		rcu_read_unlock();
		return NULL;
	}
repeat:
	f = atomic_load_explicit(slot, memory_order_acquire);
	if (f) {
		if (!folio_try_get(f))
			goto repeat;
		if (unlikely(f != atomic_load_explicit(slot, memory_order_acquire))) {
			folio_put(f);
			goto repeat;
		}
	}
	rcu_read_unlock();
	return f;
}

/*
 * bh_folio_get - a reference on the folio @bh is attached to, taken so that
 * no migration can have moved it: folio_try_get() on READ_ONCE(b_folio),
 * then the filemap_get_entry() recheck -- the page-cache slot still holds
 * that folio and b_folio still names it.  A migration freezes the source
 * before it replaces the slot and unfreezes after, so a reference that
 * succeeded with the slot unchanged was taken before the freeze, which
 * then fails.  Retries (yielding) while a move is half done.
 * Entry: caller holds b_count on a bdev buffer; no spinlock (may yield).
 */
struct folio *bh_folio_get(struct buffer_head *bh)
{
	for (;;) {
		struct folio *f;
		struct address_space *m;
		_Atomic(struct folio *) *slot;
		bool ok = false;

		rcu_read_lock();
		f = READ_ONCE(bh->b_folio);
		if (folio_try_get(f)) {
			m = READ_ONCE(f->mapping);
			slot = m ? xa_slot(&m->i_pages, f->index) : NULL;
			ok = slot && atomic_load_explicit(slot, memory_order_acquire) == f &&
			     READ_ONCE(bh->b_folio) == f;
			if (!ok)
				folio_put(f);
		}
		rcu_read_unlock();
		if (ok)
			return f;
		sched_yield();
	}
}

/* ---- dirty tag (PAGECACHE_TAG_DIRTY) ---- */

void mapping_tag_dirty(struct address_space *m, pgoff_t index)
{
	struct xa_node *node = xa_node_of(&m->i_pages, index);
	unsigned long bit = index & XA_CHUNK_MASK;

	if (node)
		set_bit(bit % (8 * sizeof(long)), &node->dirty_tag[bit / (8 * sizeof(long))]);
}

void mapping_clear_dirty_tag(struct address_space *m, pgoff_t index)
{
	struct xa_node *node = xa_node_of(&m->i_pages, index);
	unsigned long bit = index & XA_CHUNK_MASK;

	if (node)
		clear_bit(bit % (8 * sizeof(long)), &node->dirty_tag[bit / (8 * sizeof(long))]);
}

bool mapping_next_dirty(struct address_space *m, pgoff_t *index)
{
	struct xarray *xa = &m->i_pages;
	pgoff_t i = *index;
	const unsigned int wbits = 8 * sizeof(long);

	while ((i >> XA_CHUNK_SHIFT) < xa->nr_chunks) {
		struct xa_node *node = xa_node_of(xa, i);

		if (!node) {
			i = ((i >> XA_CHUNK_SHIFT) + 1) << XA_CHUNK_SHIFT;
			continue;
		}
		for (unsigned long b = i & XA_CHUNK_MASK; b < XA_CHUNK_SIZE; ) {
			unsigned long w = atomic_load_explicit(&node->dirty_tag[b / wbits],
							       memory_order_relaxed);

			w &= ~0UL << (b % wbits);
			if (w) {
				*index = (i & ~(pgoff_t)XA_CHUNK_MASK) + (b / wbits) * wbits +
					 __builtin_ctzl(w);
				return true;
			}
			b = (b / wbits + 1) * wbits;
		}
		i = ((i >> XA_CHUNK_SHIFT) + 1) << XA_CHUNK_SHIFT;
	}
	return false;
}

/* ---- LRU (the shrinker's list) ---- */

/* lru_add_folio - entry: xa_lock held (lru_lock nests inside it). */
static void lru_add_folio(struct address_space *m, struct folio *f)
{
	assert_spin_locked(&m->i_pages.xa_lock);
	spin_lock(&m->lru_lock);
	list_add_tail(&f->lru, &m->lru);
	folio_set_lru(f);
	spin_unlock(&m->lru_lock);
}

/*
 * filemap_add_folio - insert a locked new folio at index.
 * Entry: f locked, refcount >= 1 held by the caller, f not in any mapping.
 * Exit: on success the cache holds folio_nr_pages references; -EEXIST if the
 * slot is taken, -ERANGE beyond the device.  Takes xa_lock and lru_lock.
 */
int filemap_add_folio(struct address_space *m, struct folio *f, pgoff_t index)
{
	_Atomic(struct folio *) *slot;

	BUG_ON(!folio_test_locked(f));
	BUG_ON(f->mapping);
	spin_lock(&m->i_pages.xa_lock);
	slot = __xa_slot_create(&m->i_pages, index);
	if (!slot) {
		spin_unlock(&m->i_pages.xa_lock);
		return -ERANGE;
	}
	if (atomic_load_explicit(slot, memory_order_relaxed)) {
		spin_unlock(&m->i_pages.xa_lock);
		return -EEXIST;
	}
	folio_ref_add(f, (int)folio_nr_pages(f));
	WRITE_ONCE(f->mapping, m);
	f->index = index;
	atomic_store_explicit(slot, f, memory_order_release);	/* rcu_assign_pointer */
	atomic_fetch_add(&m->nrpages, folio_nr_pages(f));
	lru_add_folio(m, f);
	spin_unlock(&m->i_pages.xa_lock);
	return 0;
}

/*
 * __filemap_replace_folio - migration's xas_store(new) (__folio_migrate_mapping).
 * Entry: xa_lock held; old and new locked; old frozen (refcount 0) and
 * isolated (off the LRU: compaction took it off before it locked it).
 * Exit: the slot points to new, new has the page-cache references, index and
 * mapping.  The caller unfreezes old to (expected - nr_pages), moves flags
 * and private itself, and puts new on the LRU when the move is done
 * (migrate_folio_move()'s folio_add_lru()).
 */
void __filemap_replace_folio(struct address_space *m, struct folio *old, struct folio *new)
{
	_Atomic(struct folio *) *slot;

	assert_spin_locked(&m->i_pages.xa_lock);
	BUG_ON(!folio_test_locked(old) || !folio_test_locked(new));
	BUG_ON(folio_ref_count(old) != 0);
	BUG_ON(old->order != new->order || old->mapping != m);
	BUG_ON(folio_test_lru(old) || folio_test_lru(new));
	slot = xa_slot(&m->i_pages, old->index);
	BUG_ON(!slot || atomic_load_explicit(slot, memory_order_relaxed) != old);

	new->index = old->index;
	WRITE_ONCE(new->mapping, m);
	folio_ref_add(new, (int)folio_nr_pages(new));
	atomic_store_explicit(slot, new, memory_order_release);
}

/*
 * folio_isolate_lru - isolate_migratepages_block()'s folio_test_clear_lru()
 * + lruvec_del_folio().  Entry: caller holds a folio reference; takes
 * lru_lock.  Returns false if the folio was not on the LRU (already
 * isolated, or being removed).
 */
bool folio_isolate_lru(struct folio *f)
{
	struct address_space *m = READ_ONCE(f->mapping);
	bool ret = false;

	BUG_ON(folio_ref_count(f) <= 0);
	if (!m)
		return false;
	spin_lock(&m->lru_lock);
	if (folio_test_clear_lru(f)) {
		list_del_init(&f->lru);
		folio_set_isolated(f);
		ret = true;
	}
	spin_unlock(&m->lru_lock);
	return ret;
}

/* folio_add_lru - entry: f is a folio of its mapping, not on the LRU. */
void folio_add_lru(struct folio *f)
{
	struct address_space *m = f->mapping;

	BUG_ON(!m);
	spin_lock(&m->lru_lock);
	BUG_ON(folio_test_lru(f));
	folio_clear_isolated(f);
	list_add_tail(&f->lru, &m->lru);
	folio_set_lru(f);
	spin_unlock(&m->lru_lock);
}

/* folio_putback_lru - entry: the caller's isolation reference, f unlocked. */
void folio_putback_lru(struct folio *f)
{
	if (READ_ONCE(f->mapping))
		folio_add_lru(f);
	else
		folio_clear_isolated(f);
	folio_put(f);
}

/*
 * __filemap_remove_folio - eviction's removal (__remove_mapping()).
 * Entry: xa_lock held, f locked and frozen.  Exit: slot cleared, dirty tag
 * cleared, f->mapping NULL, off the LRU.  The page-cache references vanish
 * with the freeze: the caller unfreezes to its own references only.
 */
void __filemap_remove_folio(struct address_space *m, struct folio *f)
{
	_Atomic(struct folio *) *slot;

	assert_spin_locked(&m->i_pages.xa_lock);
	BUG_ON(!folio_test_locked(f));
	BUG_ON(folio_ref_count(f) != 0);
	BUG_ON(f->mapping != m);
	slot = xa_slot(&m->i_pages, f->index);
	BUG_ON(!slot || atomic_load_explicit(slot, memory_order_relaxed) != f);

	atomic_store_explicit(slot, NULL, memory_order_release);
	mapping_clear_dirty_tag(m, f->index);
	atomic_fetch_sub(&m->nrpages, folio_nr_pages(f));
	WRITE_ONCE(f->mapping, NULL);
	spin_lock(&m->lru_lock);
	if (folio_test_lru(f)) {
		list_del_init(&f->lru);
		folio_clear_lru(f);
	}
	spin_unlock(&m->lru_lock);
}

/*
 * __filemap_get_folio - mm/filemap.c.  Returns the folio with a reference
 * (locked if FGP_LOCK), or NULL.  With FGP_CREAT a missing folio is
 * allocated (order m->folio_order), inserted and returned.
 * Entry: no spinlock held unless FGP_NOWAIT (FGP_CREAT may reclaim, FGP_LOCK
 * may sleep).  The leading `__` is the kernel's name: the caller holds no lock.
 */
struct folio *__filemap_get_folio(struct address_space *m, pgoff_t index, unsigned int fgp)
{
	struct folio *f;
	int err;

repeat:
	f = filemap_get_entry(m, index);
	if (f) {
		if (fgp & FGP_LOCK) {
			if (fgp & FGP_NOWAIT) {
				if (!folio_trylock(f)) {
					folio_put(f);
					return NULL;
				}
			} else {
				folio_lock(f);
			}
			/* Has the folio been evicted or migrated meanwhile? */
			if (unlikely(f->mapping != m || f->index != index)) {
				folio_unlock(f);
				folio_put(f);
				goto repeat;
			}
		}
		if (fgp & FGP_ACCESSED)
			folio_set_referenced(f);
		return f;
	}
	if (!(fgp & FGP_CREAT))
		return NULL;
	if (index >= mapping_max_index(m))
		return NULL;

	if (!(fgp & FGP_NOWAIT))
		mm_enforce_limit(m);	/* direct reclaim: may write back and evict */
	f = folio_alloc(m->folio_order);
	/* A new folio is ours alone: __folio_set_locked(). */
	__folio_set_locked(f);
	if (fgp & FGP_ACCESSED)
		folio_set_referenced(f);
	err = filemap_add_folio(m, f, index);
	if (err) {
		folio_unlock(f);
		folio_put(f);
		if (err == -EEXIST)
			goto repeat;
		return NULL;
	}
	atomic_fetch_add(&m->stat_grow, 1);
	if (!(fgp & FGP_LOCK))
		folio_unlock(f);
	return f;
}

/* ---------------------------------------------------- address_space life */

/*
 * address_space_init - set up the bdev mapping for a device of dev_bytes.
 * Lock state: none; m is not yet shared.  Returns 0 or -EINVAL/-ENOMEM.
 * Also points bdev->bd_mapping at m (blockdev_attach_mapping()'s job if the
 * block layer provides one; setting it twice is harmless).
 */
int address_space_init(struct address_space *m, struct block_device *bdev,
		       uint64_t dev_bytes, unsigned int blkbits, unsigned int folio_order,
		       size_t limit_bytes)
{
	uint64_t nr_folios;

	if (blkbits < 9 || blkbits > PAGE_SHIFT + folio_order || folio_order > 9)
		return -EINVAL;
	*m = (struct address_space){ 0 };
	spin_lock_init(&m->i_pages.xa_lock);
	spin_lock_init(&m->i_private_lock);
	spin_lock_init(&m->lru_lock);
	INIT_LIST_HEAD(&m->lru);
	m->host = bdev;
	m->blkbits = blkbits;
	m->folio_order = folio_order;
	m->strategy = NULL;	/* strategy_default */
	m->limit_bytes = limit_bytes;
	nr_folios = DIV_ROUND_UP(dev_bytes, PAGE_SIZE << folio_order);
	if (!nr_folios)
		nr_folios = 1;
	m->i_pages.nr_chunks = DIV_ROUND_UP(nr_folios, XA_CHUNK_SIZE);
	m->i_pages.chunks = calloc(m->i_pages.nr_chunks, sizeof(*m->i_pages.chunks));
	m->priv = calloc(1, sizeof(*m->priv));
	if (!m->i_pages.chunks || !m->priv) {
		free(m->i_pages.chunks);
		free(m->priv);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->priv->wb_lock, NULL);
	pthread_cond_init(&m->priv->wb_cond, NULL);
	pthread_cond_init(&m->priv->wb_done, NULL);
	mutex_init(&m->priv->reclaim_mutex);
	if (bdev)
		bdev->bd_mapping = m;
	return 0;
}

/*
 * address_space_destroy - unmount teardown.  Entry: no other thread uses the
 * mapping; no spinlock, outside rcu_read_lock (calls synchronize_rcu).
 * Stops writeback, drains every thread's bh LRU, then frees every folio and
 * buffer.  A dirty buffer or one with b_count != 0 is a BUG (a leak).  The
 * first quarantine_len folios go to the quarantine as any freed folio; the
 * rest are freed after the grace period without it (folio_put_bulk()).
 */
void address_space_destroy(struct address_space *m)
{
	struct xarray *xa = &m->i_pages;
	unsigned long to_quarantine = quarantine_get_len();
	LIST_HEAD(bulk);

	writeback_stop(m);
	if (m->host)
		blk_drain(m->host);	/* completions drop their b_count after unlock */
	invalidate_bh_lrus();
	/* The walk ends with the last folio (nrpages 0), as the kernel's
	 * truncate_inode_pages() ends where the xarray has no more entries. */
	for (uint64_t c = 0; c < xa->nr_chunks && atomic_load(&m->nrpages); c++) {
		struct xa_node *node = (struct xa_node *)atomic_load(&xa->chunks[c]);

		if (!node)
			continue;
		for (unsigned long i = 0; i < XA_CHUNK_SIZE && atomic_load(&m->nrpages); i++) {
			struct folio *f = atomic_load(&node->slots[i]);
			struct buffer_head *head, *bh;

			if (!f)
				continue;
			folio_get(f);
			folio_lock(f);
			folio_wait_writeback(f);
			head = folio_buffers(f);
			if (head) {
				bh = head;
				do {
					if (atomic_load(&bh->b_count) || buffer_dirty(bh) ||
					    buffer_locked(bh))
						jbd_bug(__FILE__, __LINE__,
							"address_space_destroy: block %llu busy "
							"(b_count %d, state %#lx)",
							(unsigned long long)bh->b_blocknr,
							atomic_load(&bh->b_count),
							(unsigned long)atomic_load(&bh->b_state));
					bh = bh->b_this_page;
				} while (bh != head);
				BUG_ON(!try_to_free_buffers(f));
			}
			spin_lock(&xa->xa_lock);
			if (!folio_ref_freeze(f, 1 + (int)folio_nr_pages(f)))
				jbd_bug(__FILE__, __LINE__,
					"address_space_destroy: folio pfn %#llx has refcount %d",
					(unsigned long long)f->pfn, folio_ref_count(f));
			__filemap_remove_folio(m, f);
			spin_unlock(&xa->xa_lock);
			folio_ref_unfreeze(f, 1);
			folio_unlock(f);
			if (to_quarantine) {
				to_quarantine--;
				folio_put(f);
			} else {
				folio_put_bulk(f, &bulk);
			}
		}
	}
	synchronize_rcu();	/* no reader may still walk a chunk or a bulk folio */
	folio_free_bulk_list(&bulk);
	for (uint64_t c = 0; c < xa->nr_chunks; c++)
		free((struct xa_node *)atomic_load(&xa->chunks[c]));
	free(xa->chunks);
	xa->chunks = NULL;
	if (m->host && m->host->bd_mapping == m)
		m->host->bd_mapping = NULL;
	pthread_mutex_destroy(&m->priv->wb_lock);
	pthread_cond_destroy(&m->priv->wb_cond);
	pthread_cond_destroy(&m->priv->wb_done);
	free(m->priv);
	m->priv = NULL;
}
