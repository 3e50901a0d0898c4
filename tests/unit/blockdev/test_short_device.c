// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: the end of the device is enforced.  On an image whose size is
 * not a multiple of the block size, a read that crosses the end gets the
 * bytes that exist, zeros for the rest, and -EIO; a read wholly past the end
 * gets zeros and -EIO; a write that crosses or starts past the end fails
 * with -EIO and writes nothing (neither image nor log); requests inside the
 * device, including the last partial block, work.
 */
#include "blktest.h"

#define SZ	10000		/* 2 x 4096 + 1808 */

int main(void)
{
	char *img, *logp, *data, *after, buf[4096];
	struct block_device *bdev;
	struct blk_log *log;
	size_t len;

	test_init("test_short_device");
	img = test_path("img");
	logp = test_path("log");
	data = malloc(SZ);
	CHECK(data);
	fill_random(data, SZ);
	write_file(img, data, SZ);

	struct blockdev_opts o = { .write_log = logp, .seed = test_seed };
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	CHECK_EQ(bdev->size, SZ);

	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, 8192, buf, 4096), -EIO);
	CHECK(memcmp(buf, data + 8192, SZ - 8192) == 0);
	for (size_t i = SZ - 8192; i < 4096; i++)
		CHECK_EQ(buf[i], 0);

	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, 12288, buf, 4096), -EIO);
	for (size_t i = 0; i < 4096; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, UINT64_MAX - 100, buf, 4096), -EIO);

	/* exactly the tail: fine */
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, 8192, buf, SZ - 8192), 0);
	CHECK(memcmp(buf, data + 8192, SZ - 8192) == 0);

	memset(buf, 0x55, sizeof(buf));
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, 8192, buf, 4096), -EIO);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, 16384, buf, 4096), -EIO);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, UINT64_MAX - 100, buf, 4096), -EIO);
	CHECK_EQ(atomic_load(&bdev->stat_writes), 0);

	/* the partial last block is writable, and logged as whole sectors */
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, 8192, buf, SZ - 8192), 0);
	memset(data + 8192, 0x55, SZ - 8192);
	blockdev_close(bdev);

	after = read_file(img, &len);
	CHECK_EQ(len, SZ);
	CHECK(memcmp(after, data, SZ) == 0);

	CHECK_EQ(blk_log_open(logp, 0, &log), 0);
	CHECK_EQ(blk_log_nr_entries(log), 2);	/* the one write + close's flush */
	{
		struct blk_log_entry e;
		char lb[4096];

		CHECK_EQ(blk_log_entry(log, 0, &e), 0);
		CHECK_EQ(e.sector, 16);
		CHECK_EQ(e.nr_sectors, DIV_ROUND_UP(SZ - 8192, 512));
		CHECK_EQ(blk_log_read_data(log, &e, lb), 0);
		CHECK(memcmp(lb, data + 8192, SZ - 8192) == 0);
		for (size_t i = SZ - 8192; i < e.nr_sectors * 512; i++)
			CHECK_EQ(lb[i], 0);
	}
	blk_log_close(log);

	test_cleanup();
	free(data);
	free(after);
	free(img);
	free(logp);
	printf("ok\n");
	return 0;
}
