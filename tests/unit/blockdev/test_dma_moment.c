// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: the DMA moment.  A WRITE's bytes are read from rq->buf when the
 * request completes, not when it is submitted: a buffer changed after
 * blk_submit() but before completion reaches the device -- and the write
 * log -- as changed.  This is the window jbd2's frozen-copy and BH_Shadow
 * logic exists for; a "disk" that copied at submit time would hide it.
 * Part A makes the window deterministic by blocking the single completion
 * thread; part B uses the random dma_delay_us.
 */
#include <pthread.h>
#include "blktest.h"

#define BS	4096

static _Atomic int gate_open, gate_entered;

static void gate_end_io(struct blk_request *rq, int error)
{
	atomic_store(&gate_entered, 1);
	while (!atomic_load(&gate_open))
		usleep(100);
}

static _Atomic int nr_done;
static void count_end_io(struct blk_request *rq, int error)
{
	CHECK_EQ(error, 0);
	atomic_fetch_add(&nr_done, 1);
}

static void part_a(const char *img, const char *logp)
{
	struct blockdev_opts o = { .write_log = logp, .seed = test_seed };
	static char gbuf[BS], wbuf[BS], rbuf[BS];
	struct blk_request gate = { .opf = REQ_OP_READ, .len = BS, .buf = gbuf, .end_io = gate_end_io };
	struct blk_request w = { .opf = REQ_OP_WRITE, .pos = BS, .len = BS, .buf = wbuf,
				 .end_io = count_end_io };
	struct block_device *bdev;
	struct blk_log_entry e;
	struct blk_log *log;

	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	blk_submit(bdev, &gate);
	while (!atomic_load(&gate_entered))
		usleep(100);
	memset(wbuf, 'A', BS);
	blk_submit(bdev, &w);
	memset(wbuf, 'B', BS);		/* after submit, before the DMA moment */
	wbuf[0] = 'C';
	atomic_store(&gate_open, 1);
	blk_drain(bdev);
	CHECK_EQ(atomic_load(&nr_done), 1);
	memset(wbuf, 'D', BS);		/* after completion: must not matter */
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, BS, rbuf, BS), 0);
	CHECK_EQ(rbuf[0], 'C');
	for (int i = 1; i < BS; i++)
		CHECK_EQ(rbuf[i], 'B');
	blockdev_close(bdev);

	/* The log holds the DMA-moment bytes too. */
	CHECK_EQ(blk_log_open(logp, 0, &log), 0);
	CHECK_EQ(blk_log_entry(log, 0, &e), 0);
	CHECK_EQ(e.sector, BS / 512);
	CHECK_EQ(e.nr_sectors, BS / 512);
	CHECK_EQ(e.flags, 0);
	CHECK_EQ(blk_log_read_data(log, &e, rbuf), 0);
	CHECK_EQ(rbuf[0], 'C');
	CHECK_EQ(rbuf[BS - 1], 'B');
	blk_log_close(log);
}

static void part_b(const char *img)
{
	enum { N = 10 };
	struct blockdev_opts o = { .dma_delay_us = 100000, .seed = test_seed };
	static char bufs[N][BS];
	static struct blk_request rq[N];
	struct block_device *bdev;
	int changed = 0;

	atomic_store(&nr_done, 0);
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	for (int i = 0; i < N; i++) {
		memset(bufs[i], 'a', BS);
		rq[i] = (struct blk_request){ .opf = REQ_OP_WRITE, .pos = (uint64_t)i * BS,
					      .len = BS, .buf = bufs[i], .end_io = count_end_io };
		blk_submit(bdev, &rq[i]);
		memset(bufs[i], 'b', BS);
	}
	blk_drain(bdev);
	CHECK_EQ(atomic_load(&nr_done), N);
	for (int i = 0; i < N; i++) {
		char rb[BS];

		CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, (uint64_t)i * BS, rb, BS), 0);
		CHECK(rb[0] == 'a' || rb[0] == 'b');
		changed += rb[0] == 'b';
	}
	printf("part B: %d/%d writes carried the post-submit bytes\n", changed, N);
	/* Delays are uniform in [0, 100 ms] and queue up FIFO: at most the
	 * first one can be short enough to beat the memset. */
	CHECK(changed >= N - 1);
	blockdev_close(bdev);
}

int main(void)
{
	char *img, *logp;

	test_init("test_dma_moment");
	img = test_path("img");
	logp = test_path("log");
	write_file(img, NULL, 64 * BS);
	part_a(img, logp);
	part_b(img);
	test_cleanup();
	free(img);
	free(logp);
	printf("ok\n");
	return 0;
}
