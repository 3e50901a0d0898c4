/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blktest.h - small helpers shared by the blockdev unit tests: seed,
 * scratch files, assertions.  Every test prints "seed=N"; rerun one with
 * JBDLAB_SEED=N.
 */
#ifndef JBDLAB_TESTS_BLKTEST_H
#define JBDLAB_TESTS_BLKTEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "mm.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: CHECK(%s) failed (seed=%" PRIu64 ")\n", \
		__FILE__, __LINE__, #c, test_seed); exit(1); } } while (0)
#define CHECK_EQ(a, b) do { long long __a = (long long)(a), __b = (long long)(b); \
	if (__a != __b) { fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld (seed=%" PRIu64 ")\n", \
		__FILE__, __LINE__, #a, __a, #b, __b, test_seed); exit(1); } } while (0)

static uint64_t test_seed;
static char test_dir[256];

/* Seed from $JBDLAB_SEED or the clock; seeds this thread's prandom_u64(). */
static inline uint64_t test_init(const char *name)
{
	const char *s = getenv("JBDLAB_SEED");
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	test_seed = s ? strtoull(s, NULL, 0) : (uint64_t)ts.tv_sec * 1000003u + (uint64_t)ts.tv_nsec;
	if (!test_seed)
		test_seed = 1;
	printf("%s: seed=%" PRIu64 "\n", name, test_seed);
	fflush(stdout);
	yield_seed_thread(test_seed);
	snprintf(test_dir, sizeof(test_dir), "%s/jbdlab-blk-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(test_dir));
	return test_seed;
}

static inline char *test_path(const char *leaf)
{
	char *p;

	CHECK(asprintf(&p, "%s/%s", test_dir, leaf) > 0);
	return p;
}

/* Remove the scratch directory (only files directly in it). */
static inline void test_cleanup(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", test_dir);
}

static inline void fill_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)prandom_u64();
}

/* Create @path with @len bytes of @data (or zeros if NULL). */
static inline void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	if (data)
		CHECK(pwrite(fd, data, len, 0) == (ssize_t)len);
	else
		CHECK(ftruncate(fd, (off_t)len) == 0);
	CHECK(close(fd) == 0);
}

/* Read all of @path into a malloc()ed buffer; *len gets its size. */
static inline void *read_file(const char *path, size_t *len)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	CHECK(buf);
	CHECK(pread(fd, buf, *len, 0) == (ssize_t)*len);
	close(fd);
	return buf;
}

static inline void copy_file(const char *from, const char *to)
{
	size_t len;
	void *buf = read_file(from, &len);

	write_file(to, buf, len);
	free(buf);
}

#endif /* JBDLAB_TESTS_BLKTEST_H */
