// SPDX-License-Identifier: GPL-2.0
/*
 * test_lookup - __find_get_block / __find_get_block_nonatomic / bdev_getblk
 * reference accounting.
 *
 * Invariants (kernel-race.md §2.2):
 *   - a lookup returns the same bh for the same block while it is cached;
 *   - the caller gets one b_count, the per-thread LRU slot holds another;
 *   - the slow path takes a temporary folio reference and drops it BEFORE
 *     returning: afterwards the folio refcount is back to
 *     folio_expected_ref_count() -- the bh reference does not pin the folio,
 *     which is exactly the window of I1;
 *   - the LRU holds at most BH_LRU_SIZE references; the 17th distinct
 *     lookup evicts the least recently used one.
 */
#include "mm_test.h"

int main(void)
{
	struct test_dev d;
	struct buffer_head *a, *b, *c, *bhs[BH_LRU_SIZE + 1];
	struct folio *f;
	uint64_t hits;

	test_seed("test_lookup");
	test_dev_open(&d, 256 * 2048, 11, 0, 0, true);

	CHECK(__find_get_block(d.bdev, 10, 2048) == NULL);		/* not cached */
	CHECK(__find_get_block_nonatomic(d.bdev, 10, 2048) == NULL);

	a = bdev_getblk(d.bdev, 10, 2048);
	CHECK(a && a->b_blocknr == 10);
	CHECK_EQ(atomic_load(&a->b_count), 2);		/* caller + LRU slot */
	f = a->b_folio;
	CHECK_EQ(folio_ref_count(f), folio_expected_ref_count(f));

	hits = atomic_load(&d.mapping.stat_lru_hits);
	b = bdev_getblk(d.bdev, 10, 2048);			/* LRU hit */
	CHECK(b == a);
	CHECK_EQ(atomic_load(&a->b_count), 3);
	CHECK_EQ(atomic_load(&d.mapping.stat_lru_hits), hits + 1);
	brelse(b);

	/* The sibling in the same folio: found through the slow path. */
	c = __find_get_block(d.bdev, 11, 2048);
	CHECK(c && c->b_folio == f && c->b_blocknr == 11);
	CHECK(c == a->b_this_page && c->b_this_page == a);
	CHECK_EQ(atomic_load(&c->b_count), 2);
	CHECK_EQ(folio_ref_count(f), folio_expected_ref_count(f));
	brelse(c);

	/* Drain the LRU: only the caller's reference remains. */
	invalidate_bh_lru_current();
	CHECK_EQ(atomic_load(&a->b_count), 1);
	CHECK_EQ(atomic_load(&c->b_count), 0);
	b = __find_get_block(d.bdev, 10, 2048);			/* slow path, atomic */
	CHECK(b == a);
	CHECK_EQ(atomic_load(&a->b_count), 3);
	CHECK_EQ(folio_ref_count(f), folio_expected_ref_count(f));
	brelse(b);
	invalidate_bh_lru_current();
	b = __find_get_block_nonatomic(d.bdev, 10, 2048);	/* slow path, sleeping */
	CHECK(b == a);
	CHECK_EQ(atomic_load(&a->b_count), 3);
	CHECK(!folio_test_locked(f));
	CHECK_EQ(folio_ref_count(f), folio_expected_ref_count(f));
	brelse(b);
	brelse(a);
	invalidate_bh_lru_current();
	CHECK_EQ(atomic_load(&a->b_count), 0);

	/* LRU capacity: BH_LRU_SIZE + 1 distinct blocks in distinct folios. */
	for (int i = 0; i <= BH_LRU_SIZE; i++) {
		bhs[i] = __bread(d.bdev, 2 * (20 + i), 2048);
		CHECK(bhs[i]);
		CHECK(block_has_pattern(bhs[i]->b_data, 2 * (20 + i), 2048));
	}
	for (int i = 0; i <= BH_LRU_SIZE; i++)
		brelse(bhs[i]);
	blk_drain(d.bdev);
	CHECK_EQ(atomic_load(&bhs[0]->b_count), 0);		/* evicted from the LRU */
	for (int i = 1; i <= BH_LRU_SIZE; i++)
		CHECK_EQ(atomic_load(&bhs[i]->b_count), 1);	/* LRU slot */
	invalidate_bh_lrus();
	for (int i = 0; i <= BH_LRU_SIZE; i++)
		CHECK_EQ(atomic_load(&bhs[i]->b_count), 0);

	test_dev_close(&d);
	check_no_leaks();
	printf("test_lookup: ok\n");
	return 0;
}
