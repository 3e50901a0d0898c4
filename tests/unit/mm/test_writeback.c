// SPDX-License-Identifier: GPL-2.0
/*
 * test_writeback - dirty buffers reach the disk.
 *
 * Invariants: mark_buffer_dirty() sets BH_Dirty, PG_dirty and the mapping's
 * dirty accounting; the periodic writeback thread writes dirty buffers home
 * and leaves them clean (folio writeback: PG_writeback set while the
 * buffers are in flight, cleared by the last completion); sync_blockdev()
 * writes everything, waits and flushes; a buffer redirtied while under
 * writeback is written again (the tag/PG_dirty/BH_Dirty ordering).
 */
#include "mm_test.h"

#define BS	1024
#define NBLK	512

static bool image_block_is(const char *path, uint64_t b, unsigned char byte)
{
	unsigned char buf[BS];
	int fd = open(path, O_RDONLY);
	bool ok;

	CHECK(pread(fd, buf, BS, (off_t)(b * BS)) == BS);
	close(fd);
	ok = true;
	for (int i = 0; i < BS; i++)
		ok &= buf[i] == byte;
	return ok;
}

int main(void)
{
	struct test_dev d;
	struct buffer_head *bh;
	int i;

	test_seed("test_writeback");
	test_dev_open(&d, NBLK * BS, 10, 0, 0, true);

	/* sync_blockdev */
	for (int b = 0; b < NBLK; b += 3) {
		bh = __bread(d.bdev, b, BS);
		memset(bh->b_data, 0xa0 + (b & 7), BS);
		mark_buffer_dirty(bh);
		CHECK(buffer_dirty(bh) && folio_test_dirty(bh->b_folio));
		brelse(bh);
	}
	CHECK(atomic_load(&d.mapping.nr_dirty) == (NBLK + 2) / 3);
	CHECK_EQ(sync_blockdev(d.bdev), 0);
	CHECK_EQ(atomic_load(&d.mapping.nr_dirty), 0);
	for (int b = 0; b < NBLK; b++) {
		if (b % 3 == 0)
			CHECK(image_block_is(d.path, b, 0xa0 + (b & 7)));
		bh = __find_get_block(d.bdev, b, BS);
		CHECK(bh);
		CHECK(!buffer_dirty(bh) && !folio_test_dirty(bh->b_folio));
		CHECK(!folio_test_writeback(bh->b_folio));
		brelse(bh);
	}

	/* The writeback thread, every 20 ms. */
	CHECK_EQ(writeback_start(&d.mapping, 20), 0);
	for (int b = 1; b < NBLK; b += 5) {
		bh = bdev_getblk(d.bdev, b, BS);
		CHECK_EQ(bh_read(bh), 0);
		memset(bh->b_data, 0x33, BS);
		mark_buffer_dirty(bh);
		brelse(bh);
	}
	for (i = 0; i < 500 && atomic_load(&d.mapping.nr_dirty); i++)
		usleep(10 * 1000);
	CHECK_EQ(atomic_load(&d.mapping.nr_dirty), 0);
	blk_drain(d.bdev);
	for (int b = 1; b < NBLK; b += 5)
		CHECK(image_block_is(d.path, b, 0x33));
	/* a kick gets a pass at once even with a long interval */
	writeback_stop(&d.mapping);
	CHECK_EQ(writeback_start(&d.mapping, 100000), 0);
	usleep(20 * 1000);
	bh = __bread(d.bdev, 2, BS);
	memset(bh->b_data, 0x44, BS);
	mark_buffer_dirty(bh);
	writeback_kick(&d.mapping);
	for (i = 0; i < 500 && buffer_dirty(bh); i++)
		usleep(10 * 1000);
	CHECK(!buffer_dirty(bh));
	wait_on_buffer(bh);
	folio_wait_writeback(bh->b_folio);
	blk_drain(d.bdev);
	CHECK(image_block_is(d.path, 2, 0x44));

	/* write_dirty_buffer + wait_on_buffer */
	memset(bh->b_data, 0x55, BS);
	mark_buffer_dirty(bh);
	write_dirty_buffer(bh, 0);
	wait_on_buffer(bh);
	blk_drain(d.bdev);
	CHECK(!buffer_dirty(bh) && buffer_uptodate(bh));
	CHECK(image_block_is(d.path, 2, 0x55));
	brelse(bh);

	writeback_stop(&d.mapping);
	invalidate_bh_lrus();
	test_dev_close(&d);
	check_no_leaks();
	printf("test_writeback: ok\n");
	return 0;
}
