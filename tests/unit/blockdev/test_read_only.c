// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: a read-only block device never writes its image.  The file is
 * opened O_RDONLY, every WRITE request (plain, FUA, PREFLUSH)
 * carrying data completes with -EROFS through end_io (an empty flush
 * succeeds, as in the kernel), flushes and close succeed without
 * touching it, reads work -- and afterwards the file is byte-identical with
 * an unchanged mtime and size.
 */
#include "blktest.h"

#define SZ	(256 * 1024)

static _Atomic int last_err = 1;
static void rec_end_io(struct blk_request *rq, int error)
{
	atomic_store(&last_err, error);
}

int main(void)
{
	struct blockdev_opts o = { .read_only = true, .seed = 0 };
	char *img, *before, *after, buf[8192];
	struct block_device *bdev;
	struct stat st0, st1;
	size_t len;
	struct blk_request rq = { .opf = REQ_OP_WRITE, .pos = 4096, .len = 4096,
				  .end_io = rec_end_io };

	test_init("test_read_only");
	o.seed = test_seed;
	img = test_path("img");
	before = malloc(SZ);
	CHECK(before);
	fill_random(before, SZ);
	write_file(img, before, SZ);
	CHECK_EQ(chmod(img, 0444), 0);	/* O_RDWR would fail for non-root */
	CHECK_EQ(stat(img, &st0), 0);
	usleep(20000);			/* a write would move the mtime visibly */

	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	CHECK(bdev->read_only);
	CHECK_EQ(bdev->size, SZ);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, 0, buf, 4096), -EROFS);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | REQ_FUA, 0, buf, 4096), -EROFS);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | REQ_PREFLUSH, 8192, buf, 8192), -EROFS);
	/* an empty flush is allowed, as the kernel's bio_check_ro() does */
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | REQ_PREFLUSH, 0, NULL, 0), 0);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, SZ - 512, buf, 512), -EROFS);
	rq.buf = buf;
	blk_submit(bdev, &rq);
	blk_drain(bdev);
	CHECK_EQ(atomic_load(&last_err), -EROFS);
	CHECK_EQ(blkdev_issue_flush(bdev), 0);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, 4096, buf, 8192), 0);
	CHECK(memcmp(buf, before + 4096, 8192) == 0);
	CHECK_EQ(atomic_load(&bdev->stat_writes), 0);
	CHECK_EQ(atomic_load(&bdev->stat_bytes_written), 0);
	blockdev_close(bdev);

	CHECK_EQ(stat(img, &st1), 0);
	CHECK_EQ(st1.st_size, SZ);
	CHECK(st1.st_mtim.tv_sec == st0.st_mtim.tv_sec && st1.st_mtim.tv_nsec == st0.st_mtim.tv_nsec);
	after = read_file(img, &len);
	CHECK_EQ(len, SZ);
	CHECK(memcmp(before, after, SZ) == 0);

	/* A missing image is an error, not a crash. */
	CHECK_EQ(blockdev_open("/nonexistent/jbdlab.img", &o, &bdev), -ENOENT);

	test_cleanup();
	free(before);
	free(after);
	free(img);
	printf("ok\n");
	return 0;
}
