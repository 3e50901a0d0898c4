// SPDX-License-Identifier: GPL-2.0
/*
 * test_evict_limit - eviction and the memory limit.
 *
 * Invariants:
 *   - shrink_mapping() evicts only clean folios whose buffers all have
 *     b_count == 0 and are neither dirty nor locked (try_to_free_buffers +
 *     folio_ref_freeze under the folio lock, as __remove_mapping());
 *   - a referenced (b_count) or dirty buffer is never evicted, and its bh
 *     and data stay where they are;
 *   - an evicted block is re-read correctly from the device;
 *   - with limit_bytes set, the cache stays within the limit plus the pinned
 *     folios, and when everything is dirty getblk writes back synchronously
 *     instead of deadlocking (direct reclaim with trylocks only).
 */
#include "mm_test.h"

#define BS	2048
#define NBLK	1024		/* 2 MiB device, 512 folios */

static void check_image(const char *path, uint64_t block, unsigned char byte)
{
	char buf[BS];
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(pread(fd, buf, BS, (off_t)(block * BS)) == BS);
	for (int i = 0; i < BS; i++)
		CHECK((unsigned char)buf[i] == byte);
	close(fd);
}

int main(void)
{
	struct test_dev d;
	struct buffer_head *pinned, *dirty, *bh;
	struct folio *pinned_folio;
	unsigned long ev;

	test_seed("test_evict_limit");

	/* --- shrink_mapping without a limit --- */
	test_dev_open(&d, NBLK * BS, 11, 0, 0, true);
	for (int b = 0; b < 64; b++) {
		bh = __bread(d.bdev, b, BS);
		CHECK(bh);
		brelse(bh);
	}
	pinned = __bread(d.bdev, 10, BS);
	pinned_folio = pinned->b_folio;
	dirty = __bread(d.bdev, 21, BS);
	memset(dirty->b_data, 0x77, BS);
	mark_buffer_dirty(dirty);
	brelse(dirty);			/* dirty, b_count only from the LRU */
	invalidate_bh_lrus();
	blk_drain(d.bdev);	/* read completions drop b_count after unlock */
	CHECK_EQ(atomic_load(&d.mapping.nrpages), 32);
	ev = shrink_mapping(&d.mapping, 0);
	/* two passes of second chance may be needed: run again */
	ev += shrink_mapping(&d.mapping, 0);
	CHECK_EQ(atomic_load(&d.mapping.nrpages), 2);	/* pinned + dirty folios */
	CHECK_EQ(ev, 30);
	CHECK(pinned->b_folio == pinned_folio && !folio_test_freed(pinned_folio));
	CHECK(block_has_pattern(pinned->b_data, 10, BS));
	/* the dirty block is still cached with its new data */
	bh = __find_get_block(d.bdev, 21, BS);
	CHECK(bh == dirty && buffer_dirty(bh));
	CHECK((unsigned char)bh->b_data[100] == 0x77);
	brelse(bh);
	invalidate_bh_lrus();
	/* an evicted block reads back from the device */
	bh = __bread(d.bdev, 33, BS);
	CHECK(bh && block_has_pattern(bh->b_data, 33, BS));
	brelse(bh);
	/* after writeback the dirty folio becomes evictable */
	CHECK_EQ(filemap_write_and_wait(&d.mapping), 0);
	check_image(d.path, 21, 0x77);
	invalidate_bh_lrus();
	blk_drain(d.bdev);
	shrink_mapping(&d.mapping, 0);
	shrink_mapping(&d.mapping, 0);
	CHECK_EQ(atomic_load(&d.mapping.nrpages), 1);	/* only the pinned one */
	bh = __bread(d.bdev, 21, BS);
	CHECK((unsigned char)bh->b_data[5] == 0x77);
	brelse(bh);
	brelse(pinned);
	invalidate_bh_lrus();
	test_dev_close(&d);
	check_no_leaks();
	printf("  shrink_mapping ok\n");

	/* --- the memory limit: 16 folios (64 KiB) --- */
	test_dev_open(&d, NBLK * BS, 11, 0, 16 * PAGE_SIZE, true);
	for (int round = 0; round < 2; round++) {
		for (int b = 0; b < NBLK; b++) {
			bh = __bread(d.bdev, b, BS);
			CHECK(bh && block_has_pattern(bh->b_data, b, BS));
			brelse(bh);
			/* the LRU pins at most 16 more folios; +1 new, +1 whose
			 * read completion has not yet dropped its b_count */
			CHECK(atomic_load(&d.mapping.nrpages) <= 16 + BH_LRU_SIZE + 2);
		}
	}
	CHECK(atomic_load(&d.mapping.stat_evictions) > NBLK / 2);
	printf("  clean reads under the limit ok (%lu evictions)\n",
	       (unsigned long)atomic_load(&d.mapping.stat_evictions));

	/* Everything dirty, no writeback thread: must not deadlock. */
	for (int b = 0; b < NBLK; b++) {
		bh = bdev_getblk(d.bdev, b, BS);
		lock_buffer(bh);	/* held across nothing that reclaims */
		memset(bh->b_data, (unsigned char)(b & 0xff), BS);
		set_buffer_uptodate(bh);
		unlock_buffer(bh);
		mark_buffer_dirty(bh);
		brelse(bh);
		CHECK(atomic_load(&d.mapping.nrpages) <= 16 + BH_LRU_SIZE + 2);
	}
	CHECK_EQ(sync_blockdev(d.bdev), 0);
	for (int b = 0; b < NBLK; b += 37)
		check_image(d.path, b, (unsigned char)(b & 0xff));
	for (int b = 0; b < NBLK; b += 41) {
		bh = __bread(d.bdev, b, BS);
		CHECK((unsigned char)bh->b_data[BS - 1] == (unsigned char)(b & 0xff));
		brelse(bh);
	}
	invalidate_bh_lrus();
	test_dev_close(&d);
	check_no_leaks();
	printf("test_evict_limit: ok\n");
	return 0;
}
