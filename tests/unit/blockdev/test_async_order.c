// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: blk_submit() is asynchronous and, with the default single I/O
 * thread, requests complete in submission order (FIFO), each exactly once,
 * with end_io running in the completion thread -- never in the submitter.
 * With several I/O threads every request still completes exactly once and
 * blk_drain() returns only after the last end_io has run.
 */
#include <pthread.h>
#include "blktest.h"

#define NR_RQ	256
#define BS	4096

static pthread_t main_thread;
static _Atomic int gate_open;
static _Atomic int gate_entered;
static _Atomic unsigned int nr_done;
static uint64_t order[NR_RQ];
static _Atomic unsigned int completions[NR_RQ];
static _Atomic int in_submitter;

static void gate_end_io(struct blk_request *rq, int error)
{
	atomic_store(&gate_entered, 1);
	while (!atomic_load(&gate_open))
		usleep(100);
}

static void rec_end_io(struct blk_request *rq, int error)
{
	unsigned int idx = (unsigned int)(uintptr_t)rq->private;
	unsigned int n = atomic_fetch_add(&nr_done, 1);

	if (error || pthread_equal(pthread_self(), main_thread))
		atomic_store(&in_submitter, 1);
	order[n] = idx;
	atomic_fetch_add(&completions[idx], 1);
}

static void run(const char *img, unsigned int threads)
{
	struct blockdev_opts o = { .nr_io_threads = threads, .seed = test_seed };
	static struct blk_request rqs[NR_RQ];
	static char bufs[NR_RQ][BS];
	struct blk_request gate = { .opf = REQ_OP_READ, .pos = 0, .len = BS };
	static char gbuf[BS];
	struct block_device *bdev;

	atomic_store(&gate_open, 0);
	atomic_store(&gate_entered, 0);
	atomic_store(&nr_done, 0);
	memset(completions, 0, sizeof(completions));
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);

	gate.buf = gbuf;
	gate.end_io = gate_end_io;
	blk_submit(bdev, &gate);
	while (!atomic_load(&gate_entered))
		usleep(100);
	for (unsigned int i = 0; i < NR_RQ; i++) {
		memset(bufs[i], (int)i, BS);
		rqs[i] = (struct blk_request){
			.opf = REQ_OP_WRITE, .pos = (uint64_t)i * BS, .len = BS,
			.buf = bufs[i], .end_io = rec_end_io, .private = (void *)(uintptr_t)i,
		};
		blk_submit(bdev, &rqs[i]);
		if (i)
			CHECK(rqs[i].seq > rqs[i - 1].seq);
	}
	/* All queued behind a blocked completion: nothing may have completed. */
	if (threads == 1)
		CHECK_EQ(atomic_load(&nr_done), 0);
	CHECK(atomic_load(&bdev->inflight) >= (threads == 1 ? NR_RQ + 1 : 1));
	atomic_store(&gate_open, 1);
	blk_drain(bdev);
	CHECK_EQ(atomic_load(&bdev->inflight), 0);
	CHECK_EQ(atomic_load(&nr_done), NR_RQ);
	CHECK_EQ(atomic_load(&in_submitter), 0);
	for (unsigned int i = 0; i < NR_RQ; i++) {
		CHECK_EQ(atomic_load(&completions[i]), 1);
		if (threads == 1)
			CHECK_EQ(order[i], i);
	}
	CHECK_EQ(atomic_load(&bdev->stat_writes), NR_RQ);
	CHECK_EQ(atomic_load(&bdev->stat_bytes_written), (uint64_t)NR_RQ * BS);
	CHECK_EQ(atomic_load(&bdev->stat_reads), 1);

	/* Synchronous helper sees the data the async writes put there. */
	for (unsigned int i = 0; i < NR_RQ; i += 37) {
		char rb[BS];

		CHECK_EQ(blk_rw_sync(bdev, REQ_OP_READ, (uint64_t)i * BS, rb, BS), 0);
		CHECK(memcmp(rb, bufs[i], BS) == 0);
	}
	blockdev_close(bdev);
}

int main(void)
{
	char *img;

	test_init("test_async_order");
	main_thread = pthread_self();
	img = test_path("img");
	write_file(img, NULL, (size_t)NR_RQ * BS);
	run(img, 1);
	run(img, 4);
	test_cleanup();
	free(img);
	printf("ok\n");
	return 0;
}
