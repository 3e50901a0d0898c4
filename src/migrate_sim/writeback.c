// SPDX-License-Identifier: GPL-2.0
/*
 * writeback.c - writeback of dirty buffers, eviction of clean folios and the
 * memory limit of the bdev mapping (mm/page-writeback.c, fs/buffer.c
 * __block_write_full_folio(), mm/vmscan.c __remove_mapping(),
 * mm/truncate.c, block/bdev.c sync_blockdev()).
 *
 * Writeback.  Dirty folios carry the mapping's dirty tag (filemap.c).  A
 * pass walks the tagged indices; for each folio it takes the folio lock
 * (trylock unless the pass is WB_SYNC_ALL), clears the tag and PG_dirty in
 * that order (mark_buffer_dirty() sets them in the reverse order), locks each
 * dirty buffer (trylock for WB_SYNC_NONE, redirtying the folio on failure),
 * clears BH_Dirty, marks BH_Async_Write, sets PG_writeback and submits.  The
 * last completing buffer ends the folio's writeback
 * (end_buffer_async_write()).  Like the kernel, folio writeback holds no
 * b_count: PG_writeback is what keeps eviction and migration away.
 *
 * Eviction (shrink_mapping(), invalidate_bdev()) is __remove_mapping():
 *   folio_trylock -> try_to_free_buffers (i_private_lock: no buffer busy)
 *   -> xa_lock -> folio_ref_freeze(1 + nr_pages) -> __filemap_remove_folio
 * A failed freeze means somebody took a reference after we looked (a lookup
 * between its __filemap_get_folio and folio_put): skip the folio.
 * The shrinker scans mapping->lru from the oldest end with a second chance
 * for PG_referenced folios (a crude active/inactive list).
 *
 * The memory limit.  limit_bytes is charged with the mapping's folios AND
 * the folio memory the quarantine still holds (freed, poisoned, not yet
 * released): both are memory the page cache costs.  A new folio above the
 * limit triggers direct reclaim in the allocating thread
 * (mm_enforce_limit()): kick the writeback thread, evict clean folios; if
 * that is not enough (everything dirty), write back synchronously with
 * trylocks only -- the allocating thread may hold buffer locks and the fs
 * lock, so it must never block on a lock -- wait for those writes, and
 * evict again.  What cannot be freed (pinned or locked folios) stays: the
 * cache exceeds the limit only by such folios.  The mapping is never
 * shrunk below half the limit for the quarantine's sake (an owner that
 * wants the whole sum under the limit keeps quarantine_len small, as the
 * mount daemon does).
 *
 * Dirty throttling (mm/page-writeback.c, balance_dirty_pages()).  Dirty
 * buffers cannot be evicted, so a writer that dirties faster than the disk
 * drains would push every clean folio out and leave direct reclaim to
 * write synchronously under the fs lock.  As in the kernel: above the
 * background threshold (limit/4) mark_buffer_dirty() kicks the flusher;
 * above the dirty threshold (limit/2) the dirtier, between operations and
 * holding no lock, sleeps in short pauses (MAX_PAUSE 200 ms in all) until
 * the flusher brought it back under the threshold.
 *
 * Locking rules:
 *   - passes and the shrinker take: folio lock -> buffer lock ->
 *     i_private_lock -> xa_lock -> lru_lock, never the reverse;
 *   - WB_SYNC_ALL passes (sync_blockdev, filemap_write_and_wait) sleep on
 *     folio and buffer locks: the caller must hold neither (I5);
 *   - priv->wb_lock protects the writeback thread's control fields;
 *   - priv->reclaim_mutex serialises direct-reclaim writeback passes.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "mm_internal.h"
#include "trace.h"

enum wb_mode {
	WB_SYNC_NONE,	/* periodic: trylock folios and buffers, don't wait */
	WB_SYNC_ALL,	/* data integrity: lock and wait */
	WB_RECLAIM,	/* direct reclaim: trylock only, but wait for what we sent */
};

struct folio_batch {
	struct folio **v;		/* each holds a folio reference [owner: the pass] */
	size_t n, cap;			/* [owner: the pass] */
};

static void fbatch_add(struct folio_batch *b, struct folio *f)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = realloc(b->v, b->cap * sizeof(*b->v));
		BUG_ON(!b->v);
	}
	b->v[b->n++] = f;	/* holds the caller's reference */
}

static void fbatch_wait_release(struct folio_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		folio_wait_writeback(b->v[i]);
		folio_put(b->v[i]);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/*
 * __block_write_full_folio - write the folio's dirty buffers.  As the
 * kernel's, it locks every mapped buffer, dirty or not (lock_buffer in
 * WB_SYNC_ALL, trylock and redirty the folio in WB_SYNC_NONE), and only
 * then tests BH_Dirty: so writeback takes the buffer lock of a clean
 * buffer under the folio lock, the order the I5 ABBA runs into.
 * Entry: folio locked, PG_dirty just cleared.  Exit: folio unlocked.
 * Returns the number of buffers submitted (PG_writeback set if > 0).
 */
static int __block_write_full_folio(struct address_space *m, struct folio *f, enum wb_mode mode)
{
	struct buffer_head *head = folio_buffers(f), *bh;
	bool redirty = false;
	int nr = 0;

	BUG_ON(!folio_test_locked(f));
	if (!head) {
		folio_unlock(f);
		return 0;
	}
	bh = head;
	do {
		if (!buffer_mapped(bh))
			continue;
		if (mode == WB_SYNC_ALL) {
			lock_buffer(bh);
		} else if (!trylock_buffer(bh)) {
			redirty = true;
			continue;
		}
		if (test_clear_buffer_dirty(bh)) {
			buffer_account_clean(bh);
			set_bit(BH_Async_Write, &bh->b_state);
			nr++;
		} else {
			unlock_buffer(bh);
		}
	} while ((bh = bh->b_this_page) != head);

	if (redirty) {
		/* folio_redirty_for_writepage() */
		folio_set_dirty(f);
		mapping_tag_dirty(m, f->index);
	}
	if (nr) {
		folio_start_writeback(f);
		bh = head;
		do {
			if (test_bit(BH_Async_Write, &bh->b_state)) {
				bh->b_end_io = end_buffer_async_write;
				submit_bh(REQ_OP_WRITE | (mode == WB_SYNC_ALL ? REQ_SYNC : 0), bh);
			}
		} while ((bh = bh->b_this_page) != head);
	}
	folio_unlock(f);
	return nr;
}

/*
 * write_cache_folios - one pass over the dirty-tagged folios.  Entry: no
 * spinlock, no folio lock.  With a batch, the folios put under writeback are
 * returned in it with a reference, for the caller to wait on.
 */
static unsigned long write_cache_folios(struct address_space *m, enum wb_mode mode,
					struct folio_batch *wait, bool *found_tag)
{
	unsigned long written = 0;
	pgoff_t index = 0;

	if (found_tag)
		*found_tag = false;
	while (mapping_next_dirty(m, &index)) {
		if (found_tag)
			*found_tag = true;
		struct folio *f = filemap_get_entry(m, index);

		if (!f) {
			index++;
			continue;
		}
		if (mode == WB_SYNC_ALL) {
			folio_lock(f);
		} else if (!folio_trylock(f)) {
			folio_put(f);
			index++;
			continue;
		}
		if (f->mapping != m || f->index != index) {
			folio_unlock(f);
			folio_put(f);
			continue;	/* migrated: look at the slot again */
		}
		if (folio_test_writeback(f)) {
			if (mode != WB_SYNC_ALL) {
				folio_unlock(f);
				folio_put(f);
				index++;
				continue;
			}
			folio_wait_writeback(f);
		}
		mapping_clear_dirty_tag(m, index);
		if (!folio_test_clear_dirty(f)) {
			folio_unlock(f);
			folio_put(f);
			index++;
			continue;
		}
		int nr = __block_write_full_folio(m, f, mode);

		written += nr;
		if (nr && wait)
			fbatch_add(wait, f);
		else
			folio_put(f);
		index++;
	}
	return written;
}

/*
 * filemap_write_and_wait - write every dirty buffer of the mapping and wait
 * for it.  Entry: no spinlock, no folio or buffer lock of this mapping
 * (sleeps on both).  Returns 0 or the sticky -EIO of async writeback.
 */
int filemap_write_and_wait(struct address_space *m)
{
	struct folio_batch wait = { 0 };

	might_sleep();
	write_cache_folios(m, WB_SYNC_ALL, &wait, NULL);
	fbatch_wait_release(&wait);
	return atomic_exchange(&m->priv->wb_err, 0);
}

/* sync_blockdev - filemap_write_and_wait() + device flush.  Same entry rules. */
int sync_blockdev(struct block_device *bdev)
{
	int err, err2;

	if (!bdev->bd_mapping)
		return blkdev_issue_flush(bdev);
	err = filemap_write_and_wait(bdev->bd_mapping);
	err2 = blkdev_issue_flush(bdev);
	return err ? err : err2;
}

/* ------------------------------------------------------------ eviction */

/*
 * evict_folio - remove_mapping() for one folio.  Entry: caller holds a folio
 * reference, no lock.  Exit: true if the folio left the cache (the caller's
 * reference is then the last one).
 */
static bool evict_folio(struct address_space *m, struct folio *f)
{
	if (!folio_trylock(f))
		return false;
	if (f->mapping != m || folio_test_writeback(f))
		goto fail;
	if (!try_to_free_buffers(f))
		goto fail;
	spin_lock(&m->i_pages.xa_lock);
	if (!folio_ref_freeze(f, 1 + (int)folio_nr_pages(f))) {
		spin_unlock(&m->i_pages.xa_lock);
		goto fail;
	}
	__filemap_remove_folio(m, f);
	spin_unlock(&m->i_pages.xa_lock);
	folio_ref_unfreeze(f, 1);
	folio_unlock(f);
	atomic_fetch_add(&m->stat_evictions, 1);
	return true;
fail:
	folio_unlock(f);
	return false;
}

static inline size_t mapping_bytes(const struct address_space *m)
{
	return (size_t)atomic_load(&m->nrpages) * PAGE_SIZE;
}

/* What the page cache costs against limit_bytes: folios + quarantine. */
static inline size_t mapping_charged_bytes(const struct address_space *m)
{
	return mapping_bytes(m) + quarantine_bytes();
}

/*
 * The mapping-only size that leaves `slack` below the limit once the
 * quarantine is charged, but never below half the limit.
 */
static size_t mapping_reclaim_target(const struct address_space *m, size_t slack)
{
	size_t q = quarantine_bytes(), floor = m->limit_bytes / 2;

	if (m->limit_bytes < slack + q + floor)
		return floor;
	return m->limit_bytes - slack - q;
}

/*
 * shrink_mapping - evict clean, unreferenced folios, oldest first, until the
 * mapping holds at most target_bytes.  Entry: no spinlock (takes folio
 * trylocks only, never blocks on a lock).  Returns the folios evicted.
 */
unsigned long shrink_mapping(struct address_space *m, size_t target_bytes)
{
	unsigned long evicted = 0;
	unsigned long scan = 2 * (atomic_load(&m->nrpages) >> m->folio_order) + 16;

	while (mapping_bytes(m) > target_bytes && scan--) {
		struct folio *f;

		spin_lock(&m->lru_lock);
		if (list_empty(&m->lru)) {
			spin_unlock(&m->lru_lock);
			break;
		}
		f = list_first_entry(&m->lru, struct folio, lru);
		list_move_tail(&f->lru, &m->lru);
		if (!folio_try_get(f)) {
			spin_unlock(&m->lru_lock);
			continue;
		}
		spin_unlock(&m->lru_lock);
		if (folio_test_clear_referenced(f)) {
			folio_put(f);	/* second chance */
			continue;
		}
		if (evict_folio(m, f))
			evicted++;
		folio_put(f);
	}
	return evicted;
}

/*
 * invalidate_bdev - drop every clean, unreferenced folio (after an outside
 * writer, e.g. journal replay by another tool, changed the disk).
 * Entry: no spinlock; sleeps (drains the bh LRUs).
 */
void invalidate_bdev(struct block_device *bdev)
{
	struct address_space *m = bdev->bd_mapping;
	pgoff_t max;

	if (!m)
		return;
	invalidate_bh_lrus();
	max = mapping_max_index(m);
	for (pgoff_t i = 0; i < max; i++) {
		struct folio *f;

		if ((i & XA_CHUNK_MASK) == 0 && !xa_node_of(&m->i_pages, i)) {
			i += XA_CHUNK_MASK;
			continue;
		}
		f = filemap_get_entry(m, i);
		if (!f)
			continue;
		evict_folio(m, f);
		folio_put(f);
	}
}

/*
 * clean_bdev_aliases - forget dirty state of cached blocks [block, block+len)
 * that were reallocated as file data (fs/buffer.c).  Entry: no spinlock, no
 * folio lock (takes folio locks, waits on buffer locks).
 */
void clean_bdev_aliases(struct block_device *bdev, sector_t block, sector_t len)
{
	struct address_space *m = bdev->bd_mapping;
	unsigned int shift;
	pgoff_t index, end;

	if (!m || !len)
		return;
	shift = mapping_bpf_shift(m);
	index = block >> shift;
	end = (block + len - 1) >> shift;
	for (; index <= end; index++) {
		struct folio *f = filemap_get_folio(m, index);
		struct buffer_head *head, *bh;

		if (!f)
			continue;
		if (!folio_buffers(f))
			goto next;
		folio_lock(f);
		head = folio_buffers(f);
		if (!head)
			goto unlock;
		bh = head;
		do {
			if (!buffer_mapped(bh) || bh->b_blocknr < block ||
			    bh->b_blocknr >= block + len)
				continue;
			clear_buffer_dirty_folio(bh);
			wait_on_buffer(bh);
			clear_buffer_req(bh);
		} while ((bh = bh->b_this_page) != head);
unlock:
		folio_unlock(f);
next:
		folio_put(f);
	}
}

/* ------------------------------------------------------- memory limit */

/*
 * mm_enforce_limit - direct reclaim before a new folio is added.
 * Entry: no spinlock, no folio lock of this mapping; may hold buffer locks
 * and the fs lock (we only trylock those).
 */
static bool over_limit(const struct address_space *m, size_t need)
{
	return mapping_charged_bytes(m) + need > m->limit_bytes &&
	       mapping_bytes(m) + need > m->limit_bytes / 2;
}

void mm_enforce_limit(struct address_space *m)
{
	size_t need = mapping_folio_size(m), target;

	if (!m->limit_bytes || !over_limit(m, need))
		return;
	/* Reclaim in batches: go a little below the limit. */
	target = mapping_reclaim_target(m, m->limit_bytes / 32 + need);
	writeback_kick(m);
	shrink_mapping(m, target);
	if (!over_limit(m, need))
		return;
	/* Everything left is dirty, under writeback or pinned. */
	might_sleep();
	mutex_lock(&m->priv->reclaim_mutex);
	if (over_limit(m, need)) {
		struct folio_batch wait = { 0 };

		write_cache_folios(m, WB_RECLAIM, &wait, NULL);
		fbatch_wait_release(&wait);
		shrink_mapping(m, target);
	}
	mutex_unlock(&m->priv->reclaim_mutex);
}

/* Dirty bytes (a hint, see nr_dirty) and the two thresholds. */
static inline size_t mapping_dirty_bytes(const struct address_space *m)
{
	return (size_t)atomic_load_explicit(&m->nr_dirty, memory_order_relaxed) << m->blkbits;
}

static inline size_t dirty_background_thresh(const struct address_space *m)
{
	return m->limit_bytes ? m->limit_bytes / 4 : (size_t)64 << 20;
}

static inline size_t dirty_thresh(const struct address_space *m)
{
	return m->limit_bytes / 2;	/* 0: unlimited cache, never throttle */
}

/* mm_dirty_pressure - a folio just became dirty: kick writeback if needed. */
void mm_dirty_pressure(struct address_space *m)
{
	if (mapping_dirty_bytes(m) > dirty_background_thresh(m))
		writeback_kick(m);
}

#define DIRTY_PAUSE_MS	10
#define DIRTY_MAX_PAUSE_MS	200

/*
 * balance_dirty_pages_ratelimited - throttle a dirtier above the dirty
 * threshold.  Entry: no spinlock, no folio/buffer lock, no fs lock (it
 * sleeps while the flusher needs those); returns after at most
 * DIRTY_MAX_PAUSE_MS even if the flusher made no progress.
 */
void balance_dirty_pages_ratelimited(struct address_space *m)
{
	struct mapping_private *p;
	unsigned int slept = 0;

	if (!m || !dirty_thresh(m) || mapping_dirty_bytes(m) <= dirty_thresh(m))
		return;
	p = m->priv;
	might_sleep();
	while (mapping_dirty_bytes(m) > dirty_thresh(m) && slept < DIRTY_MAX_PAUSE_MS) {
		struct timespec ts;
		unsigned long pass;

		pthread_mutex_lock(&p->wb_lock);
		if (!p->wb_running) {
			pthread_mutex_unlock(&p->wb_lock);
			return;		/* no flusher: nobody to wait for */
		}
		pass = atomic_load(&p->wb_passes);
		p->wb_kicked = true;
		pthread_cond_signal(&p->wb_cond);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += DIRTY_PAUSE_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (atomic_load(&p->wb_passes) == pass && !p->wb_stop)
			if (pthread_cond_timedwait(&p->wb_done, &p->wb_lock, &ts))
				break;
		pthread_mutex_unlock(&p->wb_lock);
		slept += DIRTY_PAUSE_MS;
	}
}

/* ------------------------------------------------------ writeback thread */

static void *writeback_thread(void *arg)
{
	struct address_space *m = arg;
	struct mapping_private *p = m->priv;

	trace_set_thread_name("writeback");	/* the bdev's flusher work */
	pthread_mutex_lock(&p->wb_lock);
	while (!p->wb_stop) {
		if (!p->wb_kicked) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += p->wb_interval_ms / 1000;
			ts.tv_nsec += (long)(p->wb_interval_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p->wb_cond, &p->wb_lock, &ts);
			if (p->wb_stop)
				break;
		}
		p->wb_kicked = false;
		atomic_store(&p->wb_kick_pending, false);
		pthread_mutex_unlock(&p->wb_lock);

		bool tagged;

		write_cache_folios(m, WB_SYNC_NONE, NULL, &tagged);
		/* nr_dirty is a pressure hint: jbd2 steals BH_Dirty with plain bit
		 * ops, so resynchronise it when no folio is tagged dirty. */
		if (!tagged)
			atomic_store(&m->nr_dirty, 0);
		if (m->limit_bytes) {
			size_t target = mapping_reclaim_target(m, m->limit_bytes / 16);

			if (mapping_bytes(m) > target)
				shrink_mapping(m, target);
		}

		pthread_mutex_lock(&p->wb_lock);
		atomic_fetch_add(&p->wb_passes, 1);
		pthread_cond_broadcast(&p->wb_done);	/* throttled dirtiers */
	}
	pthread_mutex_unlock(&p->wb_lock);
	bh_lru_thread_exit();
	return NULL;
}

/*
 * writeback_start - start the mapping's writeback thread (a pass every
 * dirty_writeback_ms, and on writeback_kick()).  Returns 0 or -errno.
 */
int writeback_start(struct address_space *m, unsigned int dirty_writeback_ms)
{
	struct mapping_private *p = m->priv;
	int err = 0;

	pthread_mutex_lock(&p->wb_lock);
	if (p->wb_running)
		goto out;
	p->wb_stop = false;
	p->wb_kicked = false;
	p->wb_interval_ms = dirty_writeback_ms ? dirty_writeback_ms : 5000;
	err = -pthread_create(&p->wb_thread, NULL, writeback_thread, m);
	if (!err)
		p->wb_running = true;
out:
	pthread_mutex_unlock(&p->wb_lock);
	return err;
}

/* writeback_stop - stop and join the thread (does not write anything). */
void writeback_stop(struct address_space *m)
{
	struct mapping_private *p = m->priv;
	pthread_t t;

	if (!p)
		return;
	pthread_mutex_lock(&p->wb_lock);
	if (!p->wb_running) {
		pthread_mutex_unlock(&p->wb_lock);
		return;
	}
	p->wb_stop = true;
	t = p->wb_thread;
	pthread_cond_signal(&p->wb_cond);
	pthread_mutex_unlock(&p->wb_lock);
	pthread_join(t, NULL);
	pthread_mutex_lock(&p->wb_lock);
	p->wb_running = false;
	pthread_mutex_unlock(&p->wb_lock);
}

/* writeback_kick - wake the thread now.  Lock state: any; never sleeps long. */
void writeback_kick(struct address_space *m)
{
	struct mapping_private *p = m->priv;

	if (atomic_exchange(&p->wb_kick_pending, true))
		return;
	pthread_mutex_lock(&p->wb_lock);
	p->wb_kicked = true;
	pthread_cond_signal(&p->wb_cond);
	pthread_mutex_unlock(&p->wb_lock);
}
