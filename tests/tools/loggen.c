// SPDX-License-Identifier: GPL-2.0
/*
 * loggen - drive a block device with a seeded random write workload and
 * record it in a write log, for cross-checking the log format against
 * other readers (fstests' replay-log: tests/tools/check-replay-log.sh).
 *
 *   loggen [--seed S] [--ops N] [--threads T] [--reorder] [--kill] IMAGE LOG
 *
 * IMAGE must exist (its size is the device size).  Writes are aligned and
 * unaligned, some REQ_FUA / REQ_PREFLUSH / REQ_META; 8% of ops are
 * blkdev_issue_flush(), 4% are marks "op N".  --kill ends with SIGKILL
 * right after a few unflushed writes instead of closing the device.
 *
 * Locking rules: single submitting thread; none of its own.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "mm.h"

static void end_io(struct blk_request *rq, int error)
{
	if (error)
		fprintf(stderr, "loggen: write at %" PRIu64 " failed: %d\n", rq->pos, error);
	free(rq->buf);
	free(rq);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "reorder", no_argument, NULL, 'r' },
		{ "kill", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct blockdev_opts o = { .seed = 1 };
	unsigned long ops = 1000;
	struct block_device *bdev;
	bool kill_at_end = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:n:t:rk", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'n': ops = strtoul(optarg, NULL, 0); break;
		case 't': o.nr_io_threads = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': o.reorder = true; break;
		case 'k': kill_at_end = true; break;
		default: goto usage;
		}
	}
	if (optind + 2 != argc)
		goto usage;
	o.write_log = argv[optind + 1];
	yield_seed_thread(o.seed);
	printf("loggen: seed=%" PRIu64 "\n", o.seed);
	ret = blockdev_open(argv[optind], &o, &bdev);
	if (ret) {
		fprintf(stderr, "loggen: %s: %s\n", argv[optind], strerror(-ret));
		return 1;
	}
	for (unsigned long i = 0; i < ops + (kill_at_end ? 3 : 0); i++) {
		unsigned int r = (unsigned int)(prandom_u64() % 100);
		struct blk_request *rq;

		if (i >= ops || r < 88) {
			rq = calloc(1, sizeof(*rq));
			if (!rq)
				return 1;
			if (prandom_u64() % 3) {
				rq->len = (1 + prandom_u64() % 16) * 512;
				rq->pos = (prandom_u64() % (bdev->size / 512)) * 512;
			} else {
				rq->len = 1 + prandom_u64() % 6000;
				rq->pos = prandom_u64() % bdev->size;
			}
			if (rq->pos + rq->len > bdev->size)
				rq->len = bdev->size - rq->pos;
			rq->opf = REQ_OP_WRITE;
			if (i < ops && prandom_u64() % 12 == 0)
				rq->opf |= REQ_FUA;
			if (i < ops && prandom_u64() % 12 == 0)
				rq->opf |= REQ_PREFLUSH;
			if (prandom_u64() % 4 == 0)
				rq->opf |= REQ_META;
			rq->buf = malloc(rq->len ? rq->len : 1);
			if (!rq->buf)
				return 1;
			for (size_t k = 0; k < rq->len; k++)
				rq->buf[k] = (char)prandom_u64();
			rq->end_io = end_io;
			blk_submit(bdev, rq);
		} else if (r < 96) {
			blk_drain(bdev);
			blkdev_issue_flush(bdev);
		} else {
			blk_log_mark(bdev, "op %lu", i);
		}
	}
	blk_drain(bdev);
	if (kill_at_end)
		raise(SIGKILL);
	blockdev_close(bdev);
	return 0;
usage:
	fprintf(stderr, "usage: loggen [--seed S] [--ops N] [--threads T] [--reorder] [--kill] IMAGE LOG\n");
	return 1;
}
