// SPDX-License-Identifier: GPL-2.0
/*
 * migrate.c - folio migration of the bdev mapping, as compaction does it
 * (mm/compaction.c isolate_migratepages_block, mm/migrate.c migrate_pages
 * -> migrate_folio_unmap / migrate_folio_move -> move_to_new_folio ->
 * a_ops->migrate_folio), and the migrator thread that drives it.
 *
 * One attempt, in the kernel's order (kernel-race.md §2.3, model-review 7):
 *
 *   isolate          folio_try_get (the caller's) + folio_isolate_lru():
 *                    PG_lru cleared, off the LRU; the reference becomes
 *                    the isolation reference
 *   unmap            folio lock: trylock; ASYNC gives up, SYNC_LIGHT waits
 *                    only for an uptodate folio, SYNC waits; writeback:
 *                    only SYNC waits, the others fail (-EBUSY); allocate
 *                    the destination and lock it (it is ours alone)
 *   move             the strategy's migrate_folio:
 *     __buffer_migrate_folio(check_refs = NOREFS):
 *                    refcount pre-check (expected = folio_expected_ref_count
 *                    + the isolation reference), the strategy's may_try,
 *                    buffer_migrate_lock_buffers (trylock in ASYNC), then
 *                    with check_refs: migrate_mark, the b_count scan inside
 *                    refcheck_enter/exit with one invalidate_bh_lrus() and
 *                    rescan when busy, yield point YP_MIGRATE_AFTER_REFCHECK;
 *                    __migrate_folio: recheck, folio_mc_copy (yields between
 *                    pages), then under xa_lock folio_ref_freeze(expected),
 *                    index/mapping/page-cache refs to dst, PG_dirty moved,
 *                    slot replaced, unfreeze to expected - nr; the ring moved
 *                    (attach/detach private: no i_private_lock), flags moved;
 *                    folio_set_bh() on every buffer; refcheck_exit(DONE),
 *                    migrate_unmark (BH_Migrate cleared with release), the
 *                    buffers unlocked.  freeze_then_copy: the <= v6.10 order
 *                    (mapping first, folio_migrate_copy after).
 *     fallback_migrate_folio (no .migrate_folio): dirty -> refuse; else
 *                    try_to_free_buffers() and move the bare folio.
 *   done             success: src->mapping = NULL, dst on the LRU, dst
 *                    unlocked and its allocation reference dropped, src
 *                    unlocked, the isolation reference dropped: src goes to
 *                    the poisoned quarantine.  failure: dst freed (never
 *                    published), src unlocked; after the last pass it is put
 *                    back on the LRU.
 *
 * Simplifications: one folio per batch (migrate_pages batches up to
 * NR_MAX_BATCHED_MIGRATION and makes up to 10 passes over the batch; here
 * `passes` tries per folio, default 3); the destination is allocated after
 * the source is locked, not before (allocation order changes no race); a
 * dirty folio under the fallback is refused, not written out (bdev has no
 * ->writepage since the writepage removal); no page tables map bdev folios
 * (no unmap, no migration entries).
 *
 * Locking rules:
 *   - folio lock (src, then dst) -> buffer locks (ring order) ->
 *     i_private_lock (the strategy's refcheck) -> xa_lock -> lru_lock;
 *   - the b_count scan runs under whatever refcheck_enter took;
 *   - nothing here sleeps with a spinlock held except what a strategy
 *     chooses to (ebdf4de with large folios: the I4 it is known for);
 *   - the migrator thread holds no lock between attempts.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "mm_internal.h"
#include "migrate.h"
#include "strategy.h"
#include "trace.h"

static const char *const mf_names[MF_NR] = {
	[MF_ISOLATE] = "isolation failed",
	[MF_LOCKED] = "folio locked",
	[MF_WRITEBACK] = "writeback",
	[MF_REFCOUNT] = "refcount pre-check",
	[MF_STRATEGY] = "refused by strategy",
	[MF_BUFFER_LOCKED] = "buffer locked",
	[MF_BUSY] = "busy b_count",
	[MF_FREEZE] = "freeze failed",
	[MF_DIRTY] = "dirty (fallback)",
	[MF_BUFFERS] = "buffers busy (fallback)",
};

const char *migrate_fail_name(enum migrate_fail f)
{
	return (unsigned int)f < MF_NR ? mf_names[f] : "?";
}

static const char *trace_mf_name(uint64_t r)
{
	return migrate_fail_name((enum migrate_fail)r);
}

#define MIGRATE_OK	(-1)

/* mm/migrate.c folio_expected_refs(): the caller's isolation reference too. */
static int folio_expected_refs(struct folio *f)
{
	return folio_expected_ref_count(f) + 1;
}

static inline sector_t folio_first_block(struct address_space *m, struct folio *f)
{
	return (sector_t)f->index << mapping_bpf_shift(m);
}

/* folio_attach_private()/folio_detach_private(): no i_private_lock
 * (folio_attach_buffers() takes it, a self-deadlock under ebdf4de). */
static void folio_attach_private(struct folio *f, struct buffer_head *head)
{
	folio_get(f);
	WRITE_ONCE(f->private, head);
	folio_set_private(f);
}

static struct buffer_head *folio_detach_private(struct folio *f)
{
	struct buffer_head *head = f->private;

	if (!folio_test_private(f))
		return NULL;
	folio_clear_private(f);
	WRITE_ONCE(f->private, NULL);
	folio_put(f);
	return head;
}

/* folio_migrate_flags() for what the model has (dirty moved at the freeze). */
static void folio_migrate_flags(struct folio *dst, struct folio *src)
{
	if (folio_test_uptodate(src))
		folio_set_uptodate(dst);
	if (folio_test_referenced(src))
		folio_set_referenced(dst);
}

/*
 * __folio_migrate_mapping - freeze src, hand its slot and page-cache
 * references to dst, move PG_dirty.  Entry: both folios locked.
 */
static int __folio_migrate_mapping(struct address_space *m, struct folio *dst,
				   struct folio *src, int expected)
{
	spin_lock(&m->i_pages.xa_lock);
	if (!folio_ref_freeze(src, expected)) {
		spin_unlock(&m->i_pages.xa_lock);
		return MF_FREEZE;
	}
	/* Move dirty while the refs are frozen and dst is not yet exposed. */
	if (folio_test_dirty(src)) {
		folio_clear_dirty(src);
		folio_set_dirty(dst);
	}
	__filemap_replace_folio(m, src, dst);
	folio_ref_unfreeze(src, expected - (int)folio_nr_pages(src));
	spin_unlock(&m->i_pages.xa_lock);
	trace_event(TR_MIG_FREEZE, folio_first_block(m, dst), src->pfn, dst->pfn);
	return MIGRATE_OK;
}

/* __migrate_folio - entry: both folios locked; src's buffers (if any) locked. */
static int __migrate_folio(struct address_space *m, struct folio *dst, struct folio *src,
			   bool src_private, const struct migrator_opts *o)
{
	int expected = folio_expected_refs(src);
	int rc;

	/* Check whether src has no extra refs before we do more work. */
	if (folio_ref_count(src) != expected)
		return MF_REFCOUNT;
	if (!o->freeze_then_copy) {
		folio_mc_copy(dst, src);	/* v6.11+: before the freeze */
		trace_event(TR_MIG_COPY, folio_first_block(m, src), src->pfn, dst->pfn);
	}
	rc = __folio_migrate_mapping(m, dst, src, expected);
	if (rc != MIGRATE_OK)
		return rc;
	if (src_private)
		folio_attach_private(dst, folio_detach_private(src));
	if (o->freeze_then_copy) {
		folio_mc_copy(dst, src);	/* <= v6.10: folio_migrate_copy() */
		trace_event(TR_MIG_COPY, folio_first_block(m, dst), src->pfn, dst->pfn);
	}
	folio_migrate_flags(dst, src);
	return MIGRATE_OK;
}

/* buffer_migrate_lock_buffers - every buffer of the ring, in ring order. */
static bool buffer_migrate_lock_buffers(struct buffer_head *head, enum migrate_mode mode)
{
	struct buffer_head *bh = head, *failed;

	do {
		if (!trylock_buffer(bh)) {
			if (mode == MIGRATE_ASYNC)
				goto unlock;
			if (mode == MIGRATE_SYNC_LIGHT && !buffer_uptodate(bh))
				goto unlock;
			lock_buffer(bh);
		}
		bh = bh->b_this_page;
	} while (bh != head);
	return true;
unlock:
	failed = bh;
	for (bh = head; bh != failed; bh = bh->b_this_page)
		unlock_buffer(bh);
	return false;
}

static void buffer_migrate_unlock_buffers(struct buffer_head *head)
{
	struct buffer_head *bh = head;

	do {
		struct buffer_head *next = bh->b_this_page;

		unlock_buffer(bh);
		bh = next;
	} while (bh != head);
}

/*
 * __buffer_migrate_folio - buffer_migrate_folio_norefs (check_refs) and
 * buffer_migrate_folio (!check_refs).  Entry: src and dst locked.
 */
static int __buffer_migrate_folio(struct address_space *m, struct folio *dst, struct folio *src,
				  const struct migrator_opts *o, bool check_refs)
{
	struct buffer_head *head, *bh;
	bool invalidated = false, busy;
	int rc;

	head = folio_buffers(src);
	if (!head)
		return __migrate_folio(m, dst, src, false, o);	/* migrate_folio() */

	/* Check whether the folio does not have extra refs before we do more work. */
	if (folio_ref_count(src) != folio_expected_refs(src))
		return MF_REFCOUNT;
	if (strategy_migrate_may_try(m, src, head))
		return MF_STRATEGY;
	if (!buffer_migrate_lock_buffers(head, o->mode))
		return MF_BUFFER_LOCKED;

	if (check_refs) {
		strategy_migrate_mark(m, head);
recheck_buffers:
		busy = false;
		strategy_refcheck_enter(m);
		bh = head;
		do {
			if (atomic_load(&bh->b_count)) {
				busy = true;
				break;
			}
			bh = bh->b_this_page;
		} while (bh != head);
		if (busy) {
			strategy_refcheck_exit(m, REFCHECK_BUSY);
			if (invalidated) {
				rc = MF_BUSY;
				goto unmark;
			}
			invalidate_bh_lrus();
			invalidated = true;
			goto recheck_buffers;
		}
		strategy_refcheck_exit(m, REFCHECK_PASSED);
		trace_event(TR_MIG_REFCHECK, folio_first_block(m, src), src->pfn, 0);
		yield_point(YP_MIGRATE_AFTER_REFCHECK);
	}

	rc = __migrate_folio(m, dst, src, true, o);	/* filemap_migrate_folio() */
	if (rc == MIGRATE_OK) {
		bh = head;
		do {
			folio_set_bh(bh, dst, bh_offset(bh));
			bh = bh->b_this_page;
		} while (bh != head);
		/* invariant: no buffer of a migrated folio still points into the source */
		do {
			if (bh->b_folio != dst || bh->b_data < dst->data ||
			    bh->b_data >= dst->data + folio_size(dst))
				jbd_bug(__FILE__, __LINE__, "migrate: block %llu still on pfn %#llx",
					(unsigned long long)bh->b_blocknr,
					(unsigned long long)src->pfn);
			bh = bh->b_this_page;
		} while (bh != head);
		trace_event(TR_MIG_SET_BH, folio_first_block(m, dst), src->pfn, dst->pfn);
	}
	if (check_refs)
		strategy_refcheck_exit(m, REFCHECK_DONE);
unmark:
	if (check_refs)
		strategy_migrate_unmark(m, head);
	buffer_migrate_unlock_buffers(head);
	return rc;
}

/* fallback_migrate_folio - no .migrate_folio.  Entry: src and dst locked. */
static int fallback_migrate_folio(struct address_space *m, struct folio *dst, struct folio *src,
				  const struct migrator_opts *o)
{
	if (folio_test_dirty(src))
		return MF_DIRTY;
	/* filemap_release_folio() -> try_to_free_buffers(): none busy, or fail. */
	if (!try_to_free_buffers(src))
		return MF_BUFFERS;
	return __migrate_folio(m, dst, src, false, o);
}

/* move_to_new_folio - entry: src and dst locked. */
static int move_to_new_folio(struct address_space *m, struct folio *dst, struct folio *src,
			     const struct migrator_opts *o)
{
	int rc;

	switch (mapping_strategy(m)->migrate) {
	case MIGRATE_NOREFS:
		rc = __buffer_migrate_folio(m, dst, src, o, true);
		break;
	case MIGRATE_REFS_IGNORED:
		rc = __buffer_migrate_folio(m, dst, src, o, false);
		break;
	default:
		rc = fallback_migrate_folio(m, dst, src, o);
		break;
	}
	if (rc == MIGRATE_OK)
		WRITE_ONCE(src->mapping, NULL);	/* !folio_mapping_flags(src) */
	return rc;
}

/*
 * migrate_one_pass - migrate_folio_unmap() + migrate_folio_move() for an
 * isolated src.  Entry: src isolated (the caller's reference), unlocked.
 * Exit: on success src has been put (it is in the quarantine or about to
 * be); on failure src is still isolated and unlocked.
 */
static int migrate_one_pass(struct address_space *m, struct folio *src,
			    const struct migrator_opts *o)
{
	struct folio *dst;
	int rc;

	/* migrate_folio_unmap() */
	if (!folio_trylock(src)) {
		if (o->mode == MIGRATE_ASYNC)
			return MF_LOCKED;
		if (o->mode == MIGRATE_SYNC_LIGHT && !folio_test_uptodate(src))
			return MF_LOCKED;
		folio_lock(src);
	}
	if (src->mapping != m) {
		folio_unlock(src);
		return MF_ISOLATE;	/* removed from the cache under us */
	}
	if (folio_test_writeback(src)) {
		if (o->mode != MIGRATE_SYNC) {
			folio_unlock(src);
			return MF_WRITEBACK;
		}
		folio_wait_writeback(src);
	}
	dst = folio_alloc(src->order);
	__folio_set_locked(dst);	/* ours alone */

	/* migrate_folio_move() */
	rc = move_to_new_folio(m, dst, src, o);
	if (rc != MIGRATE_OK) {
		folio_unlock(dst);
		folio_free_unpublished(dst);	/* put_new_folio() */
		folio_unlock(src);
		return rc;
	}
	folio_add_lru(dst);
	folio_unlock(dst);
	folio_put(dst);		/* the allocation reference; the cache holds it now */
	folio_unlock(src);
	trace_event(TR_MIG_FREE, folio_first_block(m, dst), src->pfn, dst->pfn);
	folio_put(src);		/* the isolation reference: into the quarantine */
	return MIGRATE_OK;
}

int migrate_folio_attempt(struct address_space *m, struct folio *src,
			  const struct migrator_opts *o, struct migrate_stats *stats)
{
	unsigned int passes = o->passes ? o->passes : 3;
	int rc = MF_ISOLATE;

	if (!folio_isolate_lru(src)) {
		folio_put(src);
		stats->attempts++;
		stats->fail[MF_ISOLATE]++;
		return MF_ISOLATE;
	}
	trace_event(TR_MIG_ISOLATE, folio_first_block(m, src), src->pfn, 0);
	for (unsigned int pass = 0; pass < passes; pass++) {
		stats->attempts++;
		rc = migrate_one_pass(m, src, o);
		if (rc == MIGRATE_OK) {
			stats->ok++;
			return MIGRATE_OK;
		}
		stats->fail[rc]++;
		trace_event(TR_MIG_FAIL, folio_first_block(m, src), src->pfn, (uint64_t)rc);
		/* -EBUSY and -ENOSYS-like results are not retried by migrate_pages */
		if (rc == MF_WRITEBACK || rc == MF_DIRTY || rc == MF_ISOLATE)
			break;
		if (pass + 1 < passes)
			sched_yield();
	}
	folio_putback_lru(src);
	return rc;
}

/* ------------------------------------------------------------ the thread */

struct migrator {
	struct address_space *m;		/* [const] */
	struct migrator_opts o;			/* [const] */
	pthread_t thread;			/* [const after start] */
	_Atomic bool stop;			/* [atomic] */
	pthread_mutex_t stats_lock;		/* protects stats [lock] */
	struct migrate_stats stats;		/* [stats_lock] */
};

/* compaction's pfn scanner: a reference on the folio at @index, or NULL. */
static struct folio *scan_folio(struct address_space *m, pgoff_t index)
{
	_Atomic(struct folio *) *slot;
	struct xa_node *node;
	struct folio *f = NULL;

	rcu_read_lock();
	node = xa_node_of(&m->i_pages, index);
	if (node) {
		slot = &node->slots[index & XA_CHUNK_MASK];
		f = atomic_load_explicit(slot, memory_order_acquire);
		if (f && !folio_try_get(f))
			f = NULL;
	}
	rcu_read_unlock();
	return f;
}

static pgoff_t pick_victim(struct migrator *mg, pgoff_t *sweep_pos, bool *sweep_done)
{
	struct address_space *m = mg->m;
	struct mapping_private *p = m->priv;
	pgoff_t max = mapping_max_index(m);

	switch (mg->o.victim) {
	case VICTIM_SWEEP:
		if (++*sweep_pos >= max) {
			*sweep_pos = 0;
			*sweep_done = true;
		}
		return *sweep_pos;
	case VICTIM_TARGETED: {
		unsigned int head = atomic_load_explicit(&p->recent_head, memory_order_relaxed);

		/* three in four from the recent ring, the rest anywhere */
		if (head && (prandom_u64() & 3)) {
			unsigned int n = head < MM_RECENT ? head : MM_RECENT;

			return atomic_load_explicit(&p->recent[(head - 1 - prandom_u64() % n) % MM_RECENT],
						    memory_order_relaxed);
		}
	}
		/* fall through */
	default:
		return (pgoff_t)(prandom_u64() % (atomic_load(&m->nrpages) ? max : 1));
	}
}

static void migrator_pace(struct migrator *mg, bool sweep_done)
{
	struct timespec ts = { 0 };
	unsigned long ns = 0;

	if (sweep_done && mg->o.sweep_ms)
		ns = (unsigned long)mg->o.sweep_ms * 1000000UL;
	else if (mg->o.rate)
		ns = 1000000000UL / mg->o.rate;
	if (!ns)
		return;
	/* sleep in slices so that stop is seen quickly */
	while (ns && !atomic_load(&mg->stop)) {
		unsigned long s = ns > 20000000UL ? 20000000UL : ns;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)s;
		nanosleep(&ts, NULL);
		ns -= s;
	}
}

static void *migrator_thread(void *arg)
{
	struct migrator *mg = arg;
	struct address_space *m = mg->m;
	pgoff_t sweep_pos = 0;
	unsigned int misses = 0;

	yield_seed_thread(mg->o.seed);
	trace_set_thread_name("migrator");
	while (!atomic_load(&mg->stop)) {
		bool sweep_done = false;
		struct migrate_stats d = { 0 };
		pgoff_t index = pick_victim(mg, &sweep_pos, &sweep_done);
		struct folio *f = scan_folio(m, index);

		if (!f) {
			/* an empty slot is no attempt; pace only now and then */
			if (sweep_done || ++misses % 64 == 0)
				migrator_pace(mg, sweep_done);
			if (sweep_done) {
				pthread_mutex_lock(&mg->stats_lock);
				mg->stats.sweeps++;
				pthread_mutex_unlock(&mg->stats_lock);
			}
			continue;
		}
		migrate_folio_attempt(m, f, &mg->o, &d);
		pthread_mutex_lock(&mg->stats_lock);
		mg->stats.attempts += d.attempts;
		mg->stats.ok += d.ok;
		for (int i = 0; i < MF_NR; i++)
			mg->stats.fail[i] += d.fail[i];
		mg->stats.sweeps += sweep_done;
		pthread_mutex_unlock(&mg->stats_lock);
		if (mg->o.victim != VICTIM_SWEEP || sweep_done)
			migrator_pace(mg, sweep_done);
	}
	bh_lru_thread_exit();
	return NULL;
}

struct migrator *migrator_start(struct address_space *m, const struct migrator_opts *o)
{
	struct migrator *mg = calloc(1, sizeof(*mg));

	if (!mg)
		return NULL;
	mg->m = m;
	mg->o = *o;
	pthread_mutex_init(&mg->stats_lock, NULL);
	trace_fail_reason_name = trace_mf_name;
	if (pthread_create(&mg->thread, NULL, migrator_thread, mg)) {
		free(mg);
		return NULL;
	}
	return mg;
}

void migrator_stop(struct migrator *mg)
{
	if (!mg || atomic_exchange(&mg->stop, true))
		return;
	pthread_join(mg->thread, NULL);
}

void migrator_free(struct migrator *mg)
{
	if (!mg)
		return;
	migrator_stop(mg);
	pthread_mutex_destroy(&mg->stats_lock);
	free(mg);
}

void migrator_get_stats(struct migrator *mg, struct migrate_stats *out)
{
	pthread_mutex_lock(&mg->stats_lock);
	*out = mg->stats;
	pthread_mutex_unlock(&mg->stats_lock);
}

__thread bool mm_recent_skip_thread;

void mm_recent_enable(struct address_space *m, bool on)
{
	atomic_store(&m->priv->recent_on, on);
}

void mm_recent_thread(bool on)
{
	mm_recent_skip_thread = !on;
}
