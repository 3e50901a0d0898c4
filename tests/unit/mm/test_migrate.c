// SPDX-License-Identifier: GPL-2.0
/*
 * test_migrate - the migrator's steps, each failure reason reached on
 * purpose, and what each strategy changes (src/migrate_sim/migrate.c,
 * include/strategy.h).
 *
 * Story: compaction moves a bdev folio in a fixed order (isolate, folio
 * lock, writeback, refcount pre-check, buffer locks, b_count scan, copy,
 * freeze, slot, ring, folio_set_bh, unlock, free).  Every lab verdict rests
 * on that order and on the guard each step checks: a step in the wrong
 * place (a freeze before the scan, a lock dropped too early, PG_lru still
 * set on an isolated folio) invents a race the kernel does not have or
 * hides one it has.  Each case below pins one step: it makes exactly that
 * guard fire, or checks the state a concurrent thread would see at that
 * point (through the yield-point policy, which runs inside the migration).
 */
#include <pthread.h>

#include "migrate.h"
#include "strategy.h"
#include "mm_test.h"

static struct test_dev d;
static const unsigned int BS = 2048;

static struct migrator_opts opts(enum migrate_mode mode)
{
	struct migrator_opts o = { .mode = mode, .passes = 1 };

	return o;
}

/* A cached, idle, uptodate block whose folio the caller gets a reference on. */
static struct folio *idle_folio(sector_t block)
{
	struct buffer_head *bh = __bread(d.bdev, block, BS);
	struct folio *f;

	CHECK(bh);
	blk_drain(d.bdev);
	f = filemap_get_folio(&d.mapping, block >> 1);
	CHECK(f && f == bh->b_folio);
	brelse(bh);
	invalidate_bh_lrus();
	return f;
}

static int attempt(struct folio *f, enum migrate_mode mode, struct migrate_stats *st)
{
	struct migrator_opts o = opts(mode);

	return migrate_folio_attempt(&d.mapping, f, &o, st);
}

/* After a move: the ring is on a new folio, the old one is in quarantine. */
static void check_moved(sector_t block, struct folio *old, const char *old_data)
{
	struct buffer_head *bh = __find_get_block_nonatomic(d.bdev, block, BS), *b;
	struct folio *nf;

	CHECK(bh);
	nf = bh->b_folio;
	CHECK(nf != old);
	CHECK(folio_test_freed(old));
	CHECK(mm_addr_in_quarantine(old_data));
	CHECK(block_has_pattern(bh->b_data, block, BS));
	CHECK(folio_test_lru(nf) && !folio_test_isolated(nf) && !folio_test_locked(nf));
	b = bh;
	do {	/* invariant: no buffer of a migrated folio points into the source */
		CHECK(b->b_folio == nf);
		CHECK(b->b_data >= nf->data && b->b_data < nf->data + folio_size(nf));
		CHECK(!buffer_migrate(b) && !buffer_locked(b));
		b = b->b_this_page;
	} while (b != bh);
	brelse(bh);
	invalidate_bh_lrus();
	CHECK_EQ(folio_ref_count(nf), folio_expected_ref_count(nf));
}

/* ---- a policy that runs a callback at one yield point, once per arm */
static enum yield_point armed_yp = YP_NR;
static void (*armed_fn)(void);
static void armed_policy(enum yield_point yp)
{
	if (yp == armed_yp && armed_fn) {
		void (*fn)(void) = armed_fn;

		armed_fn = NULL;
		fn();
	}
}

static void arm(enum yield_point yp, void (*fn)(void))
{
	armed_yp = yp;
	armed_fn = fn;
	atomic_store(&yield_policy, armed_policy);
	atomic_store(&yield_point_permille[yp], 1000);
}

static void disarm(void)
{
	for (int i = 0; i < YP_NR; i++)
		atomic_store(&yield_point_permille[i], 0);
	atomic_store(&yield_policy, yield_policy_random);
	armed_fn = NULL;
}

/* ---- what the migration looks like from outside, mid-way */
static struct folio *mid_folio;
static sector_t mid_block;
static bool mid_private_lock_held, mid_migrate_bit, mid_lru, mid_bailed, mid_lookup_got;

static void observe_mid(void)
{
	struct buffer_head *head = folio_buffers(mid_folio), *bh;
	uint64_t bails = atomic_load(&d.mapping.stat_lookup_bails);

	mid_private_lock_held = spin_is_locked_by_me(&d.mapping.i_private_lock);
	mid_migrate_bit = buffer_migrate(head);
	mid_lru = folio_test_lru(mid_folio);
	if (!mid_private_lock_held) {
		/* an atomic lookup from the migrating thread itself: only safe
		 * when i_private_lock is not held (else it would self-deadlock) */
		bh = __find_get_block(d.bdev, mid_block, BS);
		mid_lookup_got = bh != NULL;
		mid_bailed = atomic_load(&d.mapping.stat_lookup_bails) > bails;
		if (bh) {
			/* undo: the reference would make the freeze fail */
			brelse(bh);
			invalidate_bh_lru_current();
		}
	}
}

static void test_ok_and_steps(const struct strategy *s, bool expect_lock, bool expect_bit)
{
	struct migrate_stats st = { 0 };
	struct folio *f;
	char *data;

	d.mapping.strategy = s;
	mid_block = 8;
	f = idle_folio(mid_block);
	mid_folio = f;
	data = f->data;
	mid_lookup_got = mid_bailed = false;
	arm(YP_MIGRATE_AFTER_REFCHECK, observe_mid);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), -1);
	disarm();
	CHECK_EQ(st.ok, 1);
	CHECK_EQ(mid_private_lock_held, expect_lock);
	CHECK_EQ(mid_migrate_bit, expect_bit);
	CHECK(!mid_lru);			/* isolation cleared PG_lru (item 3) */
	if (expect_bit) {
		CHECK(mid_bailed && !mid_lookup_got);	/* v6.15: the atomic lookup bails */
	} else if (!expect_lock) {
		CHECK(mid_lookup_got);		/* unfixed: the lookup takes a reference */
	}
	check_moved(mid_block, f, data);
	printf("  %s: moved; mid-move i_private_lock %s, BH_Migrate %s\n", s->name,
	       expect_lock ? "held" : "free", expect_bit ? "set" : "clear");
}

/* unfixed: a lookup between the scan and the freeze takes b_count and the
 * folio still moves -- the I1 window, step by step. */
static struct buffer_head *i1_bh;
static void i1_lookup(void)
{
	i1_bh = __find_get_block(d.bdev, mid_block, BS);	/* get_bh, folio_put */
}

static void test_i1_window(void)
{
	struct migrate_stats st = { 0 };
	struct folio *f;
	char *stale;

	d.mapping.strategy = strategy_find("unfixed");
	mid_block = 10;
	f = idle_folio(mid_block);
	arm(YP_MIGRATE_AFTER_REFCHECK, i1_lookup);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), -1);
	disarm();
	CHECK(i1_bh);
	/* the holder's bh was re-pointed, but a pointer it took before is stale */
	stale = f->data;
	CHECK(i1_bh->b_folio != f && folio_test_freed(f));
	CHECK(mm_addr_in_quarantine(stale));
	brelse(i1_bh);
	invalidate_bh_lrus();
	printf("  unfixed: a lookup in the window got b_count and the folio moved anyway (I1)\n");
}

static void test_isolate(void)
{
	struct migrate_stats st = { 0 };
	struct folio *f = idle_folio(12), *g;

	d.mapping.strategy = strategy_find("bh-migrate");
	g = filemap_get_folio(&d.mapping, f->index);	/* a second "scanner" */
	CHECK(folio_isolate_lru(g));
	CHECK(!folio_test_lru(g));
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_ISOLATE);
	CHECK_EQ(st.fail[MF_ISOLATE], 1);
	folio_putback_lru(g);
	CHECK(folio_test_lru(f));
	printf("  isolation failed: reached\n");
}

static struct folio *unlock_later_f;
static void *unlock_later(void *arg)
{
	usleep(50000);
	if (arg)
		folio_end_writeback(unlock_later_f);
	else
		folio_unlock(unlock_later_f);
	return NULL;
}

static void test_locked_and_writeback(void)
{
	struct migrate_stats st = { 0 };
	struct folio *f;
	pthread_t t;
	int rc;

	d.mapping.strategy = strategy_find("bh-migrate");
	f = idle_folio(14);
	folio_lock(f);
	folio_get(f);
	CHECK_EQ(attempt(f, MIGRATE_ASYNC, &st), MF_LOCKED);
	folio_get(f);
	CHECK(!folio_test_uptodate(f));	/* bh reads never set it, as in the kernel */
	CHECK_EQ(attempt(f, MIGRATE_SYNC_LIGHT, &st), MF_LOCKED);
	/* an uptodate folio (block_read_full_folio would set it): SYNC_LIGHT waits */
	folio_set_uptodate(f);
	unlock_later_f = f;
	pthread_create(&t, NULL, unlock_later, NULL);
	CHECK_EQ(attempt(f, MIGRATE_SYNC_LIGHT, &st), -1);
	pthread_join(t, NULL);
	CHECK_EQ(st.fail[MF_LOCKED], 2);

	f = idle_folio(16);
	folio_lock(f);
	folio_start_writeback(f);
	folio_unlock(f);
	folio_get(f);
	CHECK_EQ(attempt(f, MIGRATE_ASYNC, &st), MF_WRITEBACK);
	folio_get(f);
	CHECK_EQ(attempt(f, MIGRATE_SYNC_LIGHT, &st), MF_WRITEBACK);
	unlock_later_f = f;
	pthread_create(&t, NULL, unlock_later, (void *)1);
	rc = attempt(f, MIGRATE_SYNC, &st);		/* only SYNC waits */
	pthread_join(t, NULL);
	if (rc == MF_REFCOUNT) {
		/*
		 * folio_end_writeback() holds a reference across its wake-up, so
		 * the woken migrator may see it at the refcount pre-check (a busy
		 * machine, one pass).  The kernel's migrate_pages() retries that
		 * -EAGAIN; so does this test, once the ender has returned.
		 */
		CHECK(!folio_test_writeback(f));
		folio_get(f);
		rc = attempt(f, MIGRATE_SYNC, &st);
	}
	CHECK_EQ(rc, -1);
	CHECK_EQ(st.fail[MF_WRITEBACK], 2);
	printf("  folio locked, writeback: reached, and SYNC_LIGHT/SYNC wait where the kernel does\n");
}

static void test_refcount_busy_buffer_locked(void)
{
	struct migrate_stats st = { 0 };
	struct folio *f, *extra;
	struct buffer_head *bh;

	d.mapping.strategy = strategy_find("bh-migrate");
	f = idle_folio(18);
	extra = filemap_get_folio(&d.mapping, f->index);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_REFCOUNT);
	folio_put(extra);

	/* a b_count held by a caller: busy, also after the LRU drain */
	f = idle_folio(20);
	bh = __find_get_block(d.bdev, 20, BS);
	CHECK(bh);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_BUSY);
	CHECK(!buffer_migrate(folio_buffers(f)));	/* the bit went with the failure */
	brelse(bh);

	/* a b_count held by an LRU slot only: invalidate_bh_lrus() drains it */
	f = idle_folio(22);
	bh = __find_get_block(d.bdev, 22, BS);
	brelse(bh);				/* the LRU slot keeps one */
	CHECK_EQ(atomic_load(&bh->b_count), 1);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), -1);

	f = idle_folio(24);
	bh = __find_get_block(d.bdev, 25, BS);
	lock_buffer(bh);
	brelse(bh);
	invalidate_bh_lrus();
	CHECK_EQ(attempt(f, MIGRATE_ASYNC, &st), MF_BUFFER_LOCKED);
	unlock_buffer(bh);
	CHECK_EQ(st.fail[MF_REFCOUNT], 1);
	CHECK_EQ(st.fail[MF_BUSY], 1);
	CHECK_EQ(st.fail[MF_BUFFER_LOCKED], 1);
	printf("  refcount pre-check, busy b_count, buffer locked: reached; LRU refs drained\n");
}

/* A reference taken during the copy (v6.11+: copy before freeze) makes the
 * freeze fail: order-1 folios, so folio_mc_copy() yields between pages. */
static struct test_dev d1;
static struct folio *late_ref;
static pgoff_t late_index;
static void take_late_ref(void)
{
	late_ref = filemap_get_folio(&d1.mapping, late_index);
}

static void test_freeze_and_large(void)
{
	struct migrator_opts o = opts(MIGRATE_SYNC);
	struct migrate_stats st = { 0 };
	struct buffer_head *bh;
	struct folio *f;
	char *data;

	test_dev_open(&d1, 64 * BS, 11, 1, 0, true);	/* 8 KiB folios: 4 buffers */
	d1.mapping.strategy = strategy_find("bh-migrate");
	bh = __bread(d1.bdev, 9, BS);
	blk_drain(d1.bdev);
	f = bh->b_folio;
	late_index = f->index;
	folio_get(f);
	brelse(bh);
	invalidate_bh_lrus();
	arm(YP_MIGRATE_IN_COPY, take_late_ref);
	CHECK_EQ(migrate_folio_attempt(&d1.mapping, f, &o, &st), MF_FREEZE);
	disarm();
	CHECK(late_ref == f);
	folio_put(late_ref);

	/* both copy orders keep every buffer's data (b_data by mask: item 6) */
	for (int order = 0; order < 2; order++) {
		o.freeze_then_copy = order;
		for (sector_t b = 8; b < 11; b++)
			brelse(__bread(d1.bdev, b, BS));
		bh = __bread(d1.bdev, 11, BS);
		blk_drain(d1.bdev);
		f = bh->b_folio;
		data = f->data;
		folio_get(f);
		brelse(bh);
		invalidate_bh_lrus();
		CHECK_EQ(migrate_folio_attempt(&d1.mapping, f, &o, &st), -1);
		CHECK(mm_addr_in_quarantine(data));
		for (sector_t b = 8; b < 12; b++) {
			bh = __find_get_block_nonatomic(d1.bdev, b, BS);
			CHECK(bh && buffer_uptodate(bh) && block_has_pattern(bh->b_data, b, BS));
			CHECK_EQ(bh_offset(bh), (b - 8) * BS);
			brelse(bh);
		}
		invalidate_bh_lrus();
	}
	CHECK_EQ(st.fail[MF_FREEZE], 1);
	test_dev_close(&d1);
	printf("  freeze failed: reached (reference taken during the copy); both copy orders\n");
}

/* I4: ebdf4de holds i_private_lock across folio_mc_copy(), which sleeps
 * between the pages of a large folio. */
static int sleeps_in_atomic;
static void count_sleep(const char *what)
{
	sleeps_in_atomic++;
}

static int large_copy_sleeps(const char *name)
{
	struct migrator_opts o = opts(MIGRATE_SYNC);
	struct migrate_stats st = { 0 };
	struct buffer_head *bh;
	struct folio *f;

	test_dev_open(&d1, 64 * BS, 11, 1, 0, true);
	d1.mapping.strategy = strategy_find(name);
	bh = __bread(d1.bdev, 5, BS);
	blk_drain(d1.bdev);
	f = bh->b_folio;
	folio_get(f);
	brelse(bh);
	invalidate_bh_lrus();
	sleeps_in_atomic = 0;
	might_sleep_hook = count_sleep;
	CHECK_EQ(migrate_folio_attempt(&d1.mapping, f, &o, &st), -1);
	might_sleep_hook = NULL;
	test_dev_close(&d1);
	return sleeps_in_atomic;
}

static void test_skip_meta(void)
{
	struct migrate_stats st = { 0 };
	struct buffer_head *bh;
	struct folio *f;

	d.mapping.strategy = strategy_find("skip-meta");
	f = idle_folio(26);
	set_buffer_meta(folio_buffers(f));
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_STRATEGY);

	/* Willy's point: the head-only test misses a meta second buffer */
	f = idle_folio(28);
	bh = __find_get_block(d.bdev, 29, BS);
	set_buffer_meta(bh);
	brelse(bh);
	invalidate_bh_lrus();
	d.mapping.strategy = strategy_find("skip-meta-all");
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_STRATEGY);
	folio_get(f);
	d.mapping.strategy = strategy_find("skip-meta");
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), -1);
	CHECK_EQ(st.fail[MF_STRATEGY], 2);
	printf("  refused by strategy: skip-meta (head) and skip-meta-all; head-only misses bh 2\n");
}

static void test_refs_ignored_and_fallback(void)
{
	struct migrate_stats st = { 0 };
	struct buffer_head *bh;
	struct folio *f;

	/* refs-ignored: a held b_count does not stop the move */
	d.mapping.strategy = strategy_find("refs-ignored");
	f = idle_folio(30);
	bh = __find_get_block(d.bdev, 30, BS);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), -1);
	CHECK(bh->b_folio != f && folio_test_freed(f));
	brelse(bh);
	invalidate_bh_lrus();

	/* no-migrate: fallback_migrate_folio */
	d.mapping.strategy = strategy_find("no-migrate");
	f = idle_folio(32);
	bh = __find_get_block(d.bdev, 32, BS);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_BUFFERS);
	mark_buffer_dirty(bh);
	brelse(bh);
	invalidate_bh_lrus();
	folio_get(f);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), MF_DIRTY);
	CHECK_EQ(filemap_write_and_wait(&d.mapping), 0);
	/* folio_end_writeback() holds a reference across the wake-up, as the
	 * kernel's does: until the completion returns, the refcount pre-check
	 * fails (MF_REFCOUNT), which is right but not what this step tests. */
	blk_drain(d.bdev);
	folio_get(f);
	CHECK_EQ(attempt(f, MIGRATE_SYNC, &st), -1);	/* idle and clean: moves bare */
	CHECK(folio_test_freed(f));
	f = filemap_get_folio(&d.mapping, 16);
	CHECK(f && !folio_buffers(f));			/* no buffer survived the move */
	folio_put(f);
	bh = __bread(d.bdev, 32, BS);			/* grow_buffers builds a new ring */
	CHECK(bh && block_has_pattern(bh->b_data, 32, BS));
	brelse(bh);
	invalidate_bh_lrus();
	CHECK_EQ(st.fail[MF_BUFFERS], 1);
	CHECK_EQ(st.fail[MF_DIRTY], 1);
	printf("  refs-ignored moves a referenced folio; fallback: buffers busy, dirty, bare move\n");
}

/* Lookups per strategy (model-review item 1): before v6.15 no lookup takes
 * the folio lock, so a nonatomic lookup does not block on a locked folio. */
static _Atomic bool looked_up;
static void *lookup_thread(void *arg)
{
	struct buffer_head *bh = __find_get_block_nonatomic(d.bdev, 34, BS);

	atomic_store(&looked_up, true);
	brelse(bh);
	bh_lru_thread_exit();
	return NULL;
}

static bool nonatomic_lookup_blocks(const char *name)
{
	struct folio *f = idle_folio(34);
	pthread_t t;
	bool blocked;

	d.mapping.strategy = strategy_find(name);
	atomic_store(&looked_up, false);
	folio_lock(f);
	pthread_create(&t, NULL, lookup_thread, NULL);
	usleep(50000);
	blocked = !atomic_load(&looked_up);
	folio_unlock(f);
	pthread_join(t, NULL);
	folio_put(f);
	return blocked;
}

int main(void)
{
	test_seed("test_migrate");
	test_dev_open(&d, 64 * BS, 11, 0, 0, true);

	test_ok_and_steps(strategy_find("unfixed"), false, false);
	test_ok_and_steps(strategy_find("ebdf4de"), true, false);
	test_ok_and_steps(strategy_find("bh-migrate"), false, true);
	test_i1_window();
	test_isolate();
	test_locked_and_writeback();
	test_refcount_busy_buffer_locked();
	test_skip_meta();
	test_refs_ignored_and_fallback();
	test_freeze_and_large();

	CHECK(large_copy_sleeps("ebdf4de") > 0);
	CHECK_EQ(large_copy_sleeps("bh-migrate"), 0);
	CHECK_EQ(large_copy_sleeps("unfixed"), 0);
	printf("  I4: ebdf4de sleeps under i_private_lock with order-1 folios; bh-migrate does not\n");

	CHECK(!nonatomic_lookup_blocks("unfixed"));
	CHECK(!nonatomic_lookup_blocks("ebdf4de"));
	CHECK(nonatomic_lookup_blocks("bh-migrate"));
	printf("  lookups: atomic everywhere before v6.15, folio lock for sleeping ones after\n");

	d.mapping.strategy = NULL;
	test_dev_close(&d);
	check_no_leaks();
	printf("test_migrate: ok\n");
	return 0;
}
