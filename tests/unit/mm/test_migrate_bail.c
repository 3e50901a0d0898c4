// SPDX-License-Identifier: GPL-2.0
/*
 * test_migrate_bail - the v6.15 lookup rules against a folio under migration.
 *
 * Story: 2d900efff915 ("mm/migrate: fix sleep in atomic for large folios and
 * buffer heads") stopped holding i_private_lock across the copy; instead
 * migration sets BH_Migrate on the head bh before its b_count scan and
 * holds the folio lock throughout.  7ffe3de53a88 made sleeping lookups take
 * the folio lock.  So, while a folio is being migrated:
 *   - an atomic __find_get_block() must bail: NULL ("not cached") even
 *     though the block is cached, and no b_count may be taken;
 *   - a sleeping __find_get_block_nonatomic() must block on the folio lock
 *     and return the bh only after migration unlocked the folio;
 *   - with BH_Migrate clear, a locked folio does not stop the atomic lookup
 *     (it uses i_private_lock, not the folio lock).
 * Here the "migrator" is the test itself, doing exactly those steps.
 */
#include "mm_test.h"

static struct test_dev d;
static _Atomic int sleeper_done;
static struct buffer_head *sleeper_bh;

static void *sleeper(void *arg)
{
	sleeper_bh = __find_get_block_nonatomic(d.bdev, 5, 2048);
	atomic_store(&sleeper_done, 1);
	return NULL;
}

int main(void)
{
	struct buffer_head *bh, *head, *r;
	struct folio *f;
	pthread_t t;
	int count;

	test_seed("test_migrate_bail");
	test_dev_open(&d, 64 * 2048, 11, 0, 0, true);
	bh = __bread(d.bdev, 5, 2048);
	CHECK(bh);
	f = bh->b_folio;
	head = folio_buffers(f);
	invalidate_bh_lrus();		/* force the slow path below */
	blk_drain(d.bdev);		/* the read completion puts its b_count after unlock */
	count = atomic_load(&bh->b_count);
	CHECK_EQ(count, 1);

	/* Migration: folio lock, then BH_Migrate (acquire). */
	folio_lock(f);
	CHECK(!test_and_set_bit_lock(BH_Migrate, &head->b_state));

	r = __find_get_block(d.bdev, 5, 2048);
	CHECK(r == NULL);				/* bailed */
	r = __find_get_block(d.bdev, 4, 2048);		/* the head itself */
	CHECK(r == NULL);
	CHECK_EQ(atomic_load(&bh->b_count), count);	/* no reference taken */
	CHECK_EQ(folio_ref_count(f), folio_expected_ref_count(f));

	pthread_create(&t, NULL, sleeper, NULL);
	usleep(100 * 1000);
	CHECK(!atomic_load(&sleeper_done));		/* blocked on the folio lock */
	CHECK_EQ(atomic_load(&bh->b_count), count);

	/* End of migration: clear BH_Migrate (release), unlock the folio. */
	clear_bit_unlock(BH_Migrate, &head->b_state);
	folio_unlock(f);
	pthread_join(t, NULL);
	CHECK(sleeper_bh == bh);
	/* the sleeper's thread exited: its LRU slot was released */
	CHECK_EQ(atomic_load(&bh->b_count), count + 1);
	brelse(sleeper_bh);

	/* Folio locked, no BH_Migrate: the atomic lookup still succeeds. */
	folio_lock(f);
	r = __find_get_block(d.bdev, 5, 2048);
	CHECK(r == bh);
	folio_unlock(f);
	brelse(r);

	brelse(bh);
	invalidate_bh_lrus();
	test_dev_close(&d);
	check_no_leaks();
	printf("test_migrate_bail: ok\n");
	return 0;
}
