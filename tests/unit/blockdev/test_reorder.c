// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: reorder mode reorders only within a flush epoch.  Requests
 * queued between two REQ_PREFLUSH requests complete in a seed-determined
 * random order, but never before an earlier PREFLUSH request nor after a
 * later one; the same seed gives the same order (one I/O thread), and the
 * write log follows the completion order.
 */
#include "blktest.h"

#define EPOCH	20
#define NR	(3 * EPOCH + 2)		/* E0, barrier, E1, barrier, E2 */
#define BS	512

static _Atomic int gate_open, gate_entered;
static _Atomic unsigned int nr_done;
static unsigned int order[NR];

static void gate_end_io(struct blk_request *rq, int error)
{
	atomic_store(&gate_entered, 1);
	while (!atomic_load(&gate_open))
		usleep(100);
}

static void rec_end_io(struct blk_request *rq, int error)
{
	CHECK_EQ(error, 0);
	order[atomic_fetch_add(&nr_done, 1)] = (unsigned int)(uintptr_t)rq->private;
}

static unsigned int epoch_of(unsigned int i)
{
	return i < EPOCH ? 0 : i < 2 * EPOCH + 1 ? 1 : 2;	/* barriers start epochs 1, 2 */
}

static void run(const char *img, const char *logp, unsigned int *out)
{
	struct blockdev_opts o = { .reorder = true, .seed = test_seed, .write_log = logp };
	static struct blk_request rqs[NR];
	static char bufs[NR][BS], gbuf[BS];
	struct blk_request gate = { .opf = REQ_OP_READ, .len = BS, .buf = gbuf, .end_io = gate_end_io };
	struct block_device *bdev;
	bool shuffled = false;

	atomic_store(&gate_open, 0);
	atomic_store(&gate_entered, 0);
	atomic_store(&nr_done, 0);
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	blk_submit(bdev, &gate);
	while (!atomic_load(&gate_entered))
		usleep(100);
	for (unsigned int i = 0; i < NR; i++) {
		bool barrier = i == EPOCH || i == 2 * EPOCH + 1;

		memset(bufs[i], (int)i + 1, BS);
		rqs[i] = (struct blk_request){
			.opf = REQ_OP_WRITE | (barrier ? REQ_PREFLUSH : 0),
			.pos = (uint64_t)i * BS, .len = BS, .buf = bufs[i],
			.end_io = rec_end_io, .private = (void *)(uintptr_t)i,
		};
		blk_submit(bdev, &rqs[i]);
	}
	atomic_store(&gate_open, 1);
	blk_drain(bdev);
	blockdev_close(bdev);
	CHECK_EQ(atomic_load(&nr_done), NR);

	for (unsigned int k = 0; k < NR; k++) {
		if (k && epoch_of(order[k]) < epoch_of(order[k - 1])) {
			fprintf(stderr, "request %u completed after %u\n", order[k], order[k - 1]);
			CHECK(0);
		}
		if (order[k] != k)
			shuffled = true;
	}
	/* The barriers are the first completions of their epochs. */
	for (unsigned int k = 1; k < NR; k++)
		if (epoch_of(order[k]) != epoch_of(order[k - 1]))
			CHECK(order[k] == EPOCH || order[k] == 2 * EPOCH + 1);
	CHECK(shuffled);

	/* Log order = completion order (+ a FLUSH before each barrier write). */
	{
		struct blk_log *log;
		struct blk_log_entry e;
		uint64_t idx = 0;

		CHECK_EQ(blk_log_open(logp, 0, &log), 0);
		for (unsigned int k = 0; k < NR; k++) {
			CHECK_EQ(blk_log_entry(log, idx++, &e), 0);
			if (order[k] == EPOCH || order[k] == 2 * EPOCH + 1) {
				CHECK_EQ(e.flags, BLK_LOG_FLUSH);
				CHECK_EQ(blk_log_entry(log, idx++, &e), 0);
			}
			CHECK_EQ(e.sector, order[k]);
		}
		blk_log_close(log);
	}
	memcpy(out, order, sizeof(order));
}

int main(void)
{
	unsigned int a[NR], b[NR];
	char *img, *logp;

	test_init("test_reorder");
	img = test_path("img");
	logp = test_path("log");
	write_file(img, NULL, NR * BS);
	run(img, logp, a);
	run(img, logp, b);
	CHECK(memcmp(a, b, sizeof(a)) == 0);	/* same seed, same order */
	printf("first completions:");
	for (int i = 0; i < 10; i++)
		printf(" %u", a[i]);
	printf("\n");
	test_cleanup();
	free(img);
	free(logp);
	printf("ok\n");
	return 0;
}
