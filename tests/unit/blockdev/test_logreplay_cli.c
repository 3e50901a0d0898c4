// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant: tests/tools/logreplay -- the command the crash scripts use
 * instead of fstests' replay-log -- lists a log and rebuilds the same
 * prefixes as the library: --upto N, --end-mark TEXT, a full replay, and
 * --tail for a killed writer's unpublished entries.  argv[1] is the tool.
 */
#include <stdarg.h>
#include <sys/wait.h>
#include "blktest.h"

#define BS	4096
#define SZ	(32 * BS)

static const char *tool;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048], args[1800];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' %s", tool, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_block(const char *path, int blk, int c)
{
	size_t len;
	unsigned char *d = read_file(path, &len);

	CHECK_EQ(len, SZ);
	for (int i = 0; i < BS; i++)
		CHECK_EQ(d[blk * BS + i], c);
	free(d);
}

int main(int argc, char **argv)
{
	char *img, *orig, *rep, *logp, *out, buf[BS];
	struct block_device *bdev;
	size_t len;
	char *listing;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-logreplay\n", argv[0]);
		return 1;
	}
	tool = argv[1];
	test_init("test_logreplay_cli");
	img = test_path("img");
	orig = test_path("orig");
	rep = test_path("rep");
	logp = test_path("log");
	out = test_path("out");
	write_file(img, NULL, SZ);
	copy_file(img, orig);

	struct blockdev_opts o = { .write_log = logp, .seed = test_seed };
	CHECK_EQ(blockdev_open(img, &o, &bdev), 0);
	memset(buf, 'a', BS);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE, 0, buf, BS), 0);		/* 0 */
	blk_log_mark(bdev, "after a");						/* 1 */
	memset(buf, 'b', BS);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | REQ_META, 0, buf, BS), 0);	/* 2 */
	CHECK_EQ(blkdev_issue_flush(bdev), 0);					/* 3 */
	memset(buf, 'c', BS);
	CHECK_EQ(blk_rw_sync(bdev, REQ_OP_WRITE | REQ_FUA, BS, buf, BS), 0);	/* 4 */
	blockdev_close(bdev);							/* 5 FLUSH */

	CHECK_EQ(run("--list '%s' > '%s'", logp, out), 0);
	listing = read_file(out, &len);
	listing = realloc(listing, len + 1);
	listing[len] = '\0';
	CHECK(strstr(listing, "entries=6 published=6 sectorsize=512\n"));
	CHECK(strstr(listing, "\n1 0 0 MARK after a\n"));
	CHECK(strstr(listing, "\n2 0 8 METADATA\n"));
	CHECK(strstr(listing, "\n3 0 0 FLUSH\n"));
	CHECK(strstr(listing, "\n4 8 8 FUA\n"));
	free(listing);

	copy_file(orig, rep);
	CHECK_EQ(run("--end-mark 'after a' '%s' '%s'", logp, rep), 0);
	check_block(rep, 0, 'a');
	check_block(rep, 1, 0);
	copy_file(orig, rep);
	CHECK_EQ(run("--upto 3 '%s' '%s'", logp, rep), 0);
	check_block(rep, 0, 'b');
	check_block(rep, 1, 0);
	copy_file(orig, rep);
	CHECK_EQ(run("'%s' '%s'", logp, rep), 0);
	check_block(rep, 0, 'b');
	check_block(rep, 1, 'c');
	CHECK_EQ(run("--find-mark 'after a' '%s' > '%s'", logp, out), 0);
	listing = read_file(out, &len);
	CHECK(len >= 2 && listing[0] == '1' && listing[1] == '\n');
	free(listing);

	/* errors */
	CHECK_EQ(run("--upto 7 '%s' '%s' 2>/dev/null", logp, rep), 1);
	CHECK_EQ(run("--end-mark nosuch '%s' '%s' 2>/dev/null", logp, rep), 1);
	CHECK_EQ(run("--list '%s' 2>/dev/null", img), 1);	/* not a log */

	/* --tail: hide the last two entries from the superblock */
	{
		int fd = open(logp, O_WRONLY);
		unsigned char n4[8] = { 4 };

		CHECK(fd >= 0);
		CHECK(pwrite(fd, n4, 8, 16) == 8);
		close(fd);
	}
	copy_file(orig, rep);
	CHECK_EQ(run("'%s' '%s'", logp, rep), 0);
	check_block(rep, 1, 0);
	copy_file(orig, rep);
	CHECK_EQ(run("--tail '%s' '%s'", logp, rep), 0);
	check_block(rep, 1, 'c');

	test_cleanup();
	free(img);
	free(orig);
	free(rep);
	free(logp);
	free(out);
	printf("ok\n");
	return 0;
}
