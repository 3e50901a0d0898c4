// SPDX-License-Identifier: GPL-2.0
/*
 * test_bh_lru - per-thread bh LRUs and their remote drain.
 *
 * Invariant: every LRU slot holds a b_count reference, and
 * invalidate_bh_lrus() called from ANOTHER thread drops it (the kernel's
 * IPI to every CPU).  Migration's norefs check relies on this: the first
 * b_count scan fails on LRU-held buffers, it drains all LRUs and rechecks
 * (__buffer_migrate_folio step 4.2).  A thread's LRU is also released when
 * the thread exits (the TLS destructor), so no reference leaks.
 */
#include "mm_test.h"

static struct test_dev d;
static pthread_barrier_t bar;
static struct buffer_head *seen;

static void *holder(void *arg)
{
	struct buffer_head *bh = bdev_getblk(d.bdev, 7, 2048);

	CHECK_EQ(atomic_load(&bh->b_count), 2);
	brelse(bh);			/* the LRU slot keeps one */
	seen = bh;
	pthread_barrier_wait(&bar);	/* 1: main checks and drains */
	pthread_barrier_wait(&bar);	/* 2: drained */
	CHECK_EQ(atomic_load(&bh->b_count), 0);
	/* Our LRU is empty now: the next lookup takes the slow path again. */
	bh = __find_get_block(d.bdev, 7, 2048);
	CHECK(bh == seen);
	CHECK_EQ(atomic_load(&bh->b_count), 2);
	brelse(bh);
	return NULL;			/* exit: the destructor drops the slot */
}

int main(void)
{
	pthread_t t;

	test_seed("test_bh_lru");
	test_dev_open(&d, 64 * 2048, 11, 0, 0, false);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, holder, NULL);
	pthread_barrier_wait(&bar);
	CHECK_EQ(atomic_load(&seen->b_count), 1);	/* the other thread's LRU slot */
	invalidate_bh_lru_current();			/* ours: does not touch theirs */
	CHECK_EQ(atomic_load(&seen->b_count), 1);
	invalidate_bh_lrus();				/* the IPI */
	CHECK_EQ(atomic_load(&seen->b_count), 0);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	CHECK_EQ(atomic_load(&seen->b_count), 0);	/* thread exit released it */

	test_dev_close(&d);
	check_no_leaks();
	printf("test_bh_lru: ok\n");
	return 0;
}
