// SPDX-License-Identifier: GPL-2.0
/*
 * test_stress_getblk - concurrent lookups, getblk, dirtying, writeback,
 * eviction under a memory limit and remote LRU drains.
 *
 * Invariants: every lookup returns the bh of the block asked for, with its
 * data equal to the block's content (the image pattern, which writers
 * rewrite unchanged); b_count never goes negative (put_bh BUGs); and when
 * every thread has released everything, all b_count are 0 (the teardown
 * BUGs otherwise) and nr_live_folios / nr_live_buffer_heads return to zero
 * after the quarantine drains -- the radix-tree test suite's habit.
 * Yield points widen the lookup window; eviction runs concurrently through
 * the memory limit and the writeback thread.
 */
#include "mm_test.h"

#define BS		2048
#define NBLK		2048
#define THREADS		6
#define ITERS		30000
#define HOLD		8

static struct test_dev d;
static uint64_t seed;
static _Atomic long ops[4];

static void *worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	struct buffer_head *held[HOLD] = { 0 };

	yield_seed_thread(seed + id);
	for (int i = 0; i < ITERS; i++) {
		uint64_t r = prandom_u64();
		sector_t b = (r >> 8) % NBLK;
		struct buffer_head *bh = NULL;
		int kind = r & 3;
		int slot = (r >> 4) % HOLD;

		switch (kind) {
		case 0:
			bh = __bread(d.bdev, b, BS);
			CHECK(bh);
			break;
		case 1:
			bh = bdev_getblk(d.bdev, b, BS);
			CHECK_EQ(bh_read(bh), 0);
			break;
		case 2:
			bh = __find_get_block(d.bdev, b, BS);
			break;
		case 3:
			bh = __find_get_block_nonatomic(d.bdev, b, BS);
			break;
		}
		atomic_fetch_add_explicit(&ops[kind], 1, memory_order_relaxed);
		if (!bh)
			continue;
		CHECK_EQ(bh->b_blocknr, b);
		CHECK(atomic_load(&bh->b_count) > 0);
		if (buffer_uptodate(bh)) {
			lock_buffer(bh);	/* stable against a concurrent read completion */
			CHECK(block_has_pattern(bh->b_data, b, BS));
			unlock_buffer(bh);
		}
		if (buffer_uptodate(bh) && ((r >> 12) & 7) == 0) {
			/* a writer: same bytes, but a real dirty/writeback cycle */
			lock_buffer(bh);
			for (int k = 0; k < BS; k++)
				bh->b_data[k] = (char)pattern_byte(b, k);
			unlock_buffer(bh);
			mark_buffer_dirty(bh);
		}
		if (((r >> 16) & 1023) == 0)
			invalidate_bh_lrus();
		if (((r >> 26) & 1023) == 0)
			sync_blockdev(d.bdev);
		if (held[slot])
			brelse(held[slot]);
		held[slot] = bh;
	}
	for (int i = 0; i < HOLD; i++)
		brelse(held[i]);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];

	seed = test_seed("test_stress_getblk");
	quarantine_set_len(64);
	atomic_store(&yield_point_permille[YP_LOOKUP_BEFORE_LOCK], 20);
	/* 1/8 of the device fits: constant eviction */
	test_dev_open(&d, NBLK * BS, 11, 0, NBLK * BS / 8, true);
	CHECK_EQ(writeback_start(&d.mapping, 10), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	writeback_stop(&d.mapping);
	CHECK_EQ(sync_blockdev(d.bdev), 0);
	printf("  ops: bread %ld getblk %ld find %ld find_nonatomic %ld; "
	       "evictions %llu, lru hits %llu/%llu, quarantined %lu\n",
	       atomic_load(&ops[0]), atomic_load(&ops[1]), atomic_load(&ops[2]),
	       atomic_load(&ops[3]),
	       (unsigned long long)atomic_load(&d.mapping.stat_evictions),
	       (unsigned long long)atomic_load(&d.mapping.stat_lru_hits),
	       (unsigned long long)atomic_load(&d.mapping.stat_lookups),
	       quarantine_count());
	CHECK(atomic_load(&d.mapping.stat_evictions) > 0);
	invalidate_bh_lrus();
	test_dev_close(&d);		/* BUGs on any b_count left */
	CHECK_EQ(quarantine_scan(), 0);
	CHECK_EQ(quarantine_violations(), 0);
	check_no_leaks();
	printf("test_stress_getblk: ok\n");
	return 0;
}
