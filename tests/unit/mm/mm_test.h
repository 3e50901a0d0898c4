/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mm_test.h - helpers shared by the mm unit tests: seed, checks, a scratch
 * image file behind a real struct block_device, and a mapping on it.
 */
#ifndef JBDLAB_MM_TEST_H
#define JBDLAB_MM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "compiler.h"
#include "locking.h"
#include "mm.h"

#include "../unit_check.h"

struct test_dev {
	char path[64];
	struct block_device *bdev;
	struct address_space mapping;
};

/* A scratch image of `bytes`, filled with a per-block pattern if asked. */
static inline void test_dev_open(struct test_dev *d, uint64_t bytes, unsigned int blkbits,
				 unsigned int order, size_t limit, bool pattern)
{
	struct blockdev_opts o = { 0 };
	int fd, err;

	snprintf(d->path, sizeof(d->path), "/tmp/jbdlab-mmtest-XXXXXX");
	fd = mkstemp(d->path);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (off_t)bytes) == 0);
	if (pattern) {
		size_t bs = 1UL << blkbits;
		unsigned char *buf = malloc(bs);

		for (uint64_t b = 0; b < bytes / bs; b++) {
			for (size_t i = 0; i < bs; i++)
				buf[i] = (unsigned char)(b * 31 + i * 7 + 1);
			CHECK(pwrite(fd, buf, bs, (off_t)(b * bs)) == (ssize_t)bs);
		}
		free(buf);
	}
	close(fd);
	err = blockdev_open(d->path, &o, &d->bdev);
	CHECK(err == 0);
	err = address_space_init(&d->mapping, d->bdev, bytes, blkbits, order, limit);
	CHECK(err == 0);
	d->bdev->bd_mapping = &d->mapping;
}

static inline unsigned char pattern_byte(uint64_t block, size_t i)
{
	return (unsigned char)(block * 31 + i * 7 + 1);
}

static inline bool block_has_pattern(const char *data, uint64_t block, size_t bs)
{
	for (size_t i = 0; i < bs; i++)
		if ((unsigned char)data[i] != pattern_byte(block, i))
			return false;
	return true;
}

static inline void test_dev_close(struct test_dev *d)
{
	address_space_destroy(&d->mapping);
	blockdev_close(d->bdev);
	unlink(d->path);
}

/* The live-object counters must return to zero once everything is released. */
static inline void check_no_leaks(void)
{
	quarantine_drain();
	CHECK_EQ(atomic_load(&nr_live_buffer_heads), 0);
	CHECK_EQ(atomic_load(&nr_live_folios), 0);
	CHECK_EQ(quarantine_count(), 0);
}

#endif /* JBDLAB_MM_TEST_H */
