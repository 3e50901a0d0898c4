// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: a RAM-disk device (blockdev_opts.inline_completion, the
 * kernel's brd) completes every request before blk_submit() returns, in
 * the submitter's thread; plugged requests complete at blk_finish_plug(),
 * in submission order, and not before; the data and the written map are
 * those of the threaded device; the options it cannot honour (write log,
 * reorder, DMA delay) are refused with -EINVAL.
 */
#include <pthread.h>
#include "blktest.h"

#define BS	4096
#define NR	64

static pthread_t main_thread;
static unsigned int order[NR], nr_done;
static int off_thread;

static void end_io(struct blk_request *rq, int error)
{
	CHECK_EQ(error, 0);
	if (!pthread_equal(pthread_self(), main_thread))
		off_thread = 1;
	order[nr_done++] = (unsigned int)(uintptr_t)rq->private;
}

int main(void)
{
	static char bufs[NR][BS], back[BS];
	static struct blk_request rqs[NR];
	static _Atomic unsigned long written[(NR * BS >> BLK_WRITTEN_SHIFT) / 64 + 1];
	struct blockdev_opts o = { .inline_completion = true, .written_map = written };
	struct blockdev_opts bad[3] = {
		{ .inline_completion = true, .reorder = true },
		{ .inline_completion = true, .dma_delay_us = 10 },
		{ .inline_completion = true },
	};
	struct block_device *bdev;
	struct blk_plug plug;
	char *img, *log;

	test_init("test_inline");
	main_thread = pthread_self();
	img = test_path("img");
	log = test_path("log");
	write_file(img, NULL, (size_t)NR * BS * 2);
	bad[2].write_log = log;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(blockdev_open(img, &bad[i], &bdev), -EINVAL);

	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	CHECK_EQ(bdev->nr_io_threads, 0);
	/* unplugged: done when blk_submit returns */
	fill_random(bufs[0], BS);
	rqs[0] = (struct blk_request){ .opf = REQ_OP_WRITE, .pos = 0, .len = BS,
				       .buf = bufs[0], .end_io = end_io, .private = (void *)0 };
	blk_submit(bdev, &rqs[0]);
	CHECK_EQ(nr_done, 1);
	CHECK_EQ(atomic_load(&bdev->inflight), 0);
	CHECK(atomic_load(&written[0]) & 1);
	/* plugged: nothing until the plug is finished, then in order */
	blk_start_plug(&plug);
	for (unsigned int i = 1; i < NR; i++) {
		fill_random(bufs[i], BS);
		rqs[i] = (struct blk_request){ .opf = REQ_OP_WRITE, .pos = (uint64_t)i * BS,
					       .len = BS, .buf = bufs[i], .end_io = end_io,
					       .private = (void *)(uintptr_t)i };
		blk_submit(bdev, &rqs[i]);
	}
	CHECK_EQ(nr_done, 1);
	blk_finish_plug(&plug);
	CHECK_EQ(nr_done, NR);
	for (unsigned int i = 0; i < NR; i++)
		CHECK_EQ(order[i], i);
	CHECK(!off_thread);
	/* a read back, synchronously, and a flush */
	for (unsigned int i = 0; i < NR; i += 7) {
		CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, (uint64_t)i * BS, back, BS), 0);
		CHECK(!memcmp(back, bufs[i], BS));
	}
	CHECK_EQ(blkdev_issue_flush(bdev), 0);
	blk_drain(bdev);
	blockdev_close(bdev);
	/* the file holds what was written */
	{
		size_t len;
		char *all = read_file(img, &len);

		for (unsigned int i = 0; i < NR; i++)
			CHECK(!memcmp(all + (size_t)i * BS, bufs[i], BS));
		free(all);
	}
	test_cleanup();
	printf("test_inline: ok\n");
	return 0;
}
