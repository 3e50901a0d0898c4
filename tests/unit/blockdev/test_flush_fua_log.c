// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: the write log says what is durable.  Every completed write is
 * logged in completion order with its data; REQ_PREFLUSH logs a FLUSH entry
 * *before* its own write, REQ_FUA marks its write FUA, blkdev_issue_flush()
 * and close log FLUSH, blk_log_mark() logs MARK text; REQ_META sets
 * METADATA.  The superblock's nr_entries is republished at every FLUSH, FUA
 * and MARK, so a log whose writer was SIGKILLed replays up to its last
 * flush.  The raw bytes are checked against the dm-log-writes layout
 * (magic 0x6a736677736872, version 1, sectorsize 512, 512-byte entry
 * headers, mark text at offset 32) independently of our reader.
 */
#include <signal.h>
#include <sys/wait.h>
#include "blktest.h"

#define BS	4096

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void check_counts(const char *logp, uint64_t published, uint64_t with_tail)
{
	struct blk_log *log;

	CHECK_EQ(blk_log_open(logp, 0, &log), 0);
	CHECK_EQ(blk_log_nr_published(log), published);
	CHECK_EQ(blk_log_nr_entries(log), published);
	blk_log_close(log);
	CHECK_EQ(blk_log_open(logp, BLK_LOG_READ_TAIL, &log), 0);
	CHECK_EQ(blk_log_nr_entries(log), with_tail);
	blk_log_close(log);
}

static void write_at(struct block_device *bdev, unsigned int opf, uint64_t pos, int c)
{
	char buf[BS];

	memset(buf, c, BS);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | opf, pos, buf, BS), 0);
}

static void sequence(const char *img, const char *logp)
{
	struct blockdev_opts o = { .write_log = logp, .seed = test_seed };
	static const uint64_t want_flags[] = {
		BLK_LOG_METADATA, 0, BLK_LOG_FLUSH, BLK_LOG_FUA, BLK_LOG_FLUSH, 0,
		BLK_LOG_MARK, BLK_LOG_FLUSH, BLK_LOG_FLUSH, BLK_LOG_FUA, BLK_LOG_FLUSH,
	};
	static const uint64_t want_sector[] = { 0, 16, 0, 32, 0, 40, 0, 0, 0, 48, 0 };
	static const char want_data[] = { '1', '2', 0, '3', 0, '4', 0, 0, 0, '5', 0 };
	struct block_device *bdev;
	struct blk_log_entry e;
	struct blk_log *log;
	char buf[BS];
	size_t len;
	unsigned char *raw;

	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	check_counts(logp, 0, 0);
	write_at(bdev, REQ_META, 0, '1');
	write_at(bdev, 0, 2 * BS, '2');
	check_counts(logp, 0, 2);		/* completed, not durable */
	CHECK_EQ(blkdev_issue_flush(bdev), 0);
	check_counts(logp, 3, 3);
	write_at(bdev, REQ_FUA, 4 * BS, '3');
	check_counts(logp, 4, 4);
	write_at(bdev, REQ_PREFLUSH, 5 * BS, '4');
	check_counts(logp, 5, 6);		/* the flush is published, W4 not */
	blk_log_mark(bdev, "commit %d", 17);
	check_counts(logp, 7, 7);
	/* An empty flush request, as jbd2 submits before a commit block. */
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | REQ_PREFLUSH, 0, NULL, 0), 0);
	check_counts(logp, 8, 8);
	write_at(bdev, REQ_PREFLUSH | REQ_FUA, 6 * BS, '5');
	check_counts(logp, 10, 10);
	CHECK_EQ(atomic_load(&bdev->stat_flushes), 4);
	blockdev_close(bdev);

	CHECK_EQ(blk_log_open(logp, 0, &log), 0);
	CHECK_EQ(blk_log_nr_entries(log), ARRAY_SIZE(want_flags));
	for (uint64_t i = 0; i < ARRAY_SIZE(want_flags); i++) {
		CHECK_EQ(blk_log_entry(log, i, &e), 0);
		CHECK_EQ(e.index, i);
		CHECK_EQ(e.flags, want_flags[i]);
		CHECK_EQ(e.sector, want_sector[i]);
		CHECK_EQ(e.nr_sectors, (e.flags & (BLK_LOG_FLUSH | BLK_LOG_MARK)) ? 0 : BS / 512);
		if (e.nr_sectors) {
			CHECK_EQ(blk_log_read_data(log, &e, buf), 0);
			CHECK_EQ(buf[0], want_data[i]);
			CHECK_EQ(buf[BS - 1], want_data[i]);
		}
	}
	CHECK_EQ(blk_log_entry(log, 6, &e), 0);
	CHECK(strcmp(e.mark, "commit 17") == 0);
	CHECK_EQ(blk_log_find(log, 0, BLK_LOG_MARK, "commit 17"), 6);
	CHECK_EQ(blk_log_find(log, 0, BLK_LOG_MARK, "commit 1"), -ENOENT);
	CHECK_EQ(blk_log_find(log, 3, BLK_LOG_FLUSH, NULL), 4);
	blk_log_close(log);

	/* Raw layout, independent of our reader. */
	raw = read_file(logp, &len);
	CHECK_EQ(le64(raw + 0), 0x6a736677736872ULL);
	CHECK_EQ(le64(raw + 8), 1);
	CHECK_EQ(le64(raw + 16), ARRAY_SIZE(want_flags));
	CHECK_EQ(raw[24] | raw[25] << 8 | raw[26] << 16 | (uint64_t)raw[27] << 24, 512);
	for (int i = 28; i < 512; i++)
		CHECK_EQ(raw[i], 0);
	/* entry 0: header at 512, data at 1024..5119; entry 1 at 5120 */
	CHECK_EQ(le64(raw + 512), 0);
	CHECK_EQ(le64(raw + 520), 8);
	CHECK_EQ(le64(raw + 528), 16);
	CHECK_EQ(le64(raw + 536), 0);
	for (int i = 544; i < 1024; i++)
		CHECK_EQ(raw[i], 0);
	CHECK_EQ(raw[1024], '1');
	CHECK_EQ(le64(raw + 5120), 16);
	/* entries 2 (FLUSH, 1 sector), 3 (FUA, 9), 4 (FLUSH, 1), 5 (9): mark at */
	{
		size_t m = 512 + 2 * 4608 + 512 + 4608 + 512 + 4608;

		CHECK_EQ(le64(raw + m + 16), 8);
		CHECK_EQ(le64(raw + m + 24), strlen("commit 17"));
		CHECK(memcmp(raw + m + 32, "commit 17", 10) == 0);
		for (size_t i = m + 42; i < m + 512; i++)
			CHECK_EQ(raw[i], 0);
	}
	CHECK_EQ(len, 512 + 11 * 512 + 5 * BS);
	free(raw);
}

/* A writer killed with SIGKILL: the published part replays; the tail is readable. */
static void killed_writer(const char *img, const char *logp)
{
	char *orig = test_path("orig"), *rep = test_path("rep");
	size_t len;
	unsigned char *r;
	struct blk_log *log;
	pid_t pid;
	int status, fd;

	copy_file(img, orig);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct blockdev_opts o = { .write_log = logp, .seed = test_seed };
		struct block_device *bdev;

		if (blockdev_open(img, &o, &bdev))
			_exit(2);
		write_at(bdev, 0, 0, 'K');
		if (blkdev_issue_flush(bdev))
			_exit(3);
		write_at(bdev, 0, BS, 'L');	/* completed, never flushed */
		raise(SIGKILL);
		_exit(4);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	CHECK_EQ(blk_log_open(logp, 0, &log), 0);
	CHECK_EQ(blk_log_nr_entries(log), 2);
	copy_file(orig, rep);
	fd = open(rep, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(blk_log_replay(log, fd, 2), 0);
	CHECK_EQ(blk_log_replay(log, fd, 3), -ENOENT);
	close(fd);
	blk_log_close(log);
	r = read_file(rep, &len);
	CHECK_EQ(r[0], 'K');
	CHECK_EQ(r[BS], 0);
	free(r);

	CHECK_EQ(blk_log_open(logp, BLK_LOG_READ_TAIL, &log), 0);
	CHECK_EQ(blk_log_nr_entries(log), 3);
	CHECK_EQ(blk_log_nr_published(log), 2);
	fd = open(rep, O_WRONLY);
	CHECK_EQ(blk_log_replay(log, fd, 3), 0);
	close(fd);
	blk_log_close(log);
	r = read_file(rep, &len);
	CHECK_EQ(r[BS], 'L');
	free(r);

	/* A torn tail (header without all its data) is not an entry. */
	CHECK_EQ(truncate(logp, 512 + 4608 + 512 + 512 + 100), 0);
	CHECK_EQ(blk_log_open(logp, BLK_LOG_READ_TAIL, &log), 0);
	CHECK_EQ(blk_log_nr_entries(log), 2);
	blk_log_close(log);
	/* ... but a torn published entry is corruption. */
	CHECK_EQ(truncate(logp, 512 + 1000), 0);
	CHECK_EQ(blk_log_open(logp, 0, &log), -EUCLEAN);
	free(orig);
	free(rep);
}

int main(void)
{
	char *img, *logp;

	test_init("test_flush_fua_log");
	img = test_path("img");
	logp = test_path("log");
	write_file(img, NULL, 16 * BS);
	sequence(img, logp);
	write_file(img, NULL, 16 * BS);
	killed_writer(img, logp);
	test_cleanup();
	free(img);
	free(logp);
	printf("ok\n");
	return 0;
}
