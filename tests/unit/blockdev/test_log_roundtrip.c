// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: the write log round-trips.  Replaying the first n entries of a
 * log (blk_log_replay, our own reader) onto a copy of the image as it was
 * when the log started rebuilds the image exactly as it was when the n-th
 * entry was appended -- for every FLUSH/FUA/MARK point and a random sample
 * of other prefixes, with aligned and unaligned writes (logged as whole
 * sectors).  With four I/O threads, reorder mode and overlapping writes, a
 * full replay still reproduces the final image byte for byte, because the
 * log order is the order bytes reached the image.
 */
#include "blktest.h"

#define SZ		(256 * 1024)
#define NR_OPS		400
#define NR_SAMPLES	40

struct snap {
	uint64_t nr_entries;
	unsigned char *img;
};

static void replay_check(const char *orig, const char *rep, const char *logp,
			 const struct snap *s)
{
	struct blk_log *log;
	unsigned char *r;
	size_t len;
	int fd;

	copy_file(orig, rep);
	CHECK_EQ(blk_log_open(logp, 0, &log), 0);
	fd = open(rep, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(blk_log_replay(log, fd, s->nr_entries), 0);
	close(fd);
	blk_log_close(log);
	r = read_file(rep, &len);
	CHECK_EQ(len, SZ);
	if (memcmp(r, s->img, SZ)) {
		fprintf(stderr, "replay of %" PRIu64 " entries differs\n", s->nr_entries);
		CHECK(0);
	}
	free(r);
}

static void phase_sync(const char *img, const char *orig, const char *rep, const char *logp)
{
	struct blockdev_opts o = { .write_log = logp, .seed = test_seed };
	static struct snap snaps[NR_OPS + 1];
	unsigned char *shadow = malloc(SZ), *buf = malloc(SZ);
	struct block_device *bdev;
	uint64_t entries = 0;
	unsigned int nsnap = 0, nflush = 0;

	CHECK(shadow && buf);
	fill_random(shadow, SZ);
	write_file(img, shadow, SZ);
	copy_file(img, orig);
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);

	for (int op = 0; op < NR_OPS; op++) {
		unsigned int r = (unsigned int)(prandom_u64() % 100);
		bool durable = false;

		if (r < 80) {
			bool aligned = prandom_u64() % 4;
			uint64_t pos, len;
			unsigned int opf = REQ_OP_WRITE;

			if (aligned) {
				len = (1 + prandom_u64() % 32) * 512;
				pos = (prandom_u64() % (SZ / 512)) * 512;
			} else {
				len = 1 + prandom_u64() % 9000;
				pos = prandom_u64() % SZ;
			}
			if (pos + len > SZ)
				len = SZ - pos;
			if (prandom_u64() % 10 == 0)
				opf |= REQ_FUA, durable = true;
			if (prandom_u64() % 10 == 0)
				opf |= REQ_PREFLUSH, entries++;
			if (prandom_u64() % 5 == 0)
				opf |= REQ_META;
			fill_random(buf, len);
			CHECK_EQ(blk_rw_sync(bdev, opf, pos, buf, len), 0);
			memcpy(shadow + pos, buf, len);
			entries++;
		} else if (r < 90) {
			CHECK_EQ(blkdev_issue_flush(bdev), 0);
			entries++;
			durable = true;
			nflush++;
		} else {
			blk_log_mark(bdev, "op %d", op);
			entries++;
			durable = true;
		}
		if (durable || prandom_u64() % (NR_OPS / NR_SAMPLES) == 0) {
			snaps[nsnap].nr_entries = entries;
			snaps[nsnap].img = malloc(SZ);
			CHECK(snaps[nsnap].img);
			memcpy(snaps[nsnap].img, shadow, SZ);
			nsnap++;
		}
	}
	blockdev_close(bdev);
	entries++;	/* close's FLUSH */
	snaps[nsnap].nr_entries = entries;
	snaps[nsnap].img = malloc(SZ);
	CHECK(snaps[nsnap].img);
	memcpy(snaps[nsnap].img, shadow, SZ);
	nsnap++;

	{
		struct blk_log *log;

		CHECK_EQ(blk_log_open(logp, 0, &log), 0);
		CHECK_EQ(blk_log_nr_entries(log), entries);
		/* replay to a mark, as replay-log --end-mark does */
		for (int op = NR_OPS - 1; op >= 0; op--) {
			char m[32];
			int64_t idx;

			snprintf(m, sizeof(m), "op %d", op);
			idx = blk_log_find(log, 0, BLK_LOG_MARK, m);
			if (idx < 0)
				continue;
			for (unsigned int i = 0; i < nsnap; i++)
				if (snaps[i].nr_entries == (uint64_t)idx + 1)
					replay_check(orig, rep, logp, &snaps[i]);
			break;
		}
		blk_log_close(log);
	}
	for (unsigned int i = 0; i < nsnap; i++) {
		replay_check(orig, rep, logp, &snaps[i]);
		free(snaps[i].img);
	}
	printf("phase sync: %" PRIu64 " entries, %u flushes, %u prefixes checked\n",
	       entries, nflush, nsnap);
	{
		unsigned char *final = read_file(img, &(size_t){0});

		CHECK(memcmp(final, shadow, SZ) == 0);
		free(final);
	}
	free(shadow);
	free(buf);
}

static void async_end_io(struct blk_request *rq, int error)
{
	CHECK_EQ(error, 0);
	free(rq->buf);
	free(rq);
}

static void phase_async(const char *img, const char *orig, const char *rep, const char *logp)
{
	struct blockdev_opts o = { .write_log = logp, .nr_io_threads = 4, .reorder = true,
				   .dma_delay_us = 50, .seed = test_seed };
	struct block_device *bdev;
	struct snap s;
	size_t len;

	copy_file(img, orig);
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	for (int op = 0; op < 2000; op++) {
		struct blk_request *rq = calloc(1, sizeof(*rq));
		/* a small hot range: plenty of overlap between in-flight writes */
		uint64_t pos = prandom_u64() % (64 * 1024);
		size_t l = 1 + prandom_u64() % 8192;

		CHECK(rq);
		rq->opf = REQ_OP_WRITE | (prandom_u64() % 50 == 0 ? REQ_PREFLUSH : 0);
		rq->pos = pos;
		rq->len = l;
		rq->buf = malloc(l);
		CHECK(rq->buf);
		fill_random(rq->buf, l);
		rq->end_io = async_end_io;
		blk_submit(bdev, rq);
		if (op % 500 == 499)
			blk_log_mark(bdev, "async %d", op);
	}
	blockdev_close(bdev);

	s.img = read_file(img, &len);
	CHECK_EQ(len, SZ);
	{
		struct blk_log *log;

		CHECK_EQ(blk_log_open(logp, 0, &log), 0);
		s.nr_entries = blk_log_nr_entries(log);
		blk_log_close(log);
	}
	replay_check(orig, rep, logp, &s);
	printf("phase async: %" PRIu64 " entries replayed to the final image\n", s.nr_entries);
	free(s.img);
}

int main(void)
{
	char *img, *orig, *rep, *logp;

	test_init("test_log_roundtrip");
	img = test_path("img");
	orig = test_path("orig");
	rep = test_path("rep");
	logp = test_path("log");
	phase_sync(img, orig, rep, logp);
	phase_async(img, orig, rep, logp);
	test_cleanup();
	free(img);
	free(orig);
	free(rep);
	free(logp);
	printf("ok\n");
	return 0;
}
