/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jrt_test.h - helpers of the runtime-journal tests: real ext4 images made
 * by mkfs.ext4, the journal inode's block map read with libext2fs opened
 * READ-ONLY over unix_io_manager (test-only code: the fs layer builds its
 * own map), free blocks to scribble on, the needs_recovery flag, and the
 * page cache + journal over the image.
 */
#ifndef JBDLAB_JRT_TEST_H
#define JBDLAB_JRT_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "blockdev.h"
#include "jbd2.h"
#include "mm.h"

#include "../../unit_check.h"

static inline int jrt_sh(const char *fmt, ...) __printf(1, 2);
static inline int jrt_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

struct jrt_image {
	char path[128];
	unsigned int bs;
	uint64_t blocks;
	uint64_t *jmap;		/* journal block -> fs block */
	unsigned int jblocks;
	bool csum, is64;
	uint64_t *free;		/* free data blocks (shuffled) */
	unsigned int nfree;
};

/* mkfs.ext4 -q -F -b BS -O FEATURES -J size=JMB PATH SIZE, then read it back. */
static inline void jrt_mkfs(struct jrt_image *im, const char *tag, unsigned int bs,
			    const char *features, unsigned int jmb, const char *size)
{
	ext2_filsys fs;
	struct ext2_inode inode;
	errcode_t e;
	blk64_t phys;

	snprintf(im->path, sizeof(im->path), "/tmp/jbdlab-jrt-%s-%d.img", tag, (int)getpid());
	unlink(im->path);
	CHECK(jrt_sh("mkfs.ext4 -q -F -b %u -O %s -J size=%u %s %s >/dev/null 2>&1",
		     bs, features, jmb, im->path, size) == 0);
	e = ext2fs_open(im->path, 0, 0, 0, unix_io_manager, &fs);	/* read-only */
	CHECK(e == 0);
	im->bs = fs->blocksize;
	CHECK_EQ(im->bs, bs);
	im->blocks = ext2fs_blocks_count(fs->super);
	im->csum = ext2fs_has_feature_metadata_csum(fs->super);
	im->is64 = ext2fs_has_feature_64bit(fs->super);
	CHECK(ext2fs_read_inode(fs, EXT2_JOURNAL_INO, &inode) == 0);
	im->jblocks = (unsigned int)(EXT2_I_SIZE(&inode) / bs);
	im->jmap = calloc(im->jblocks, sizeof(*im->jmap));
	for (unsigned int i = 0; i < im->jblocks; i++) {
		CHECK(ext2fs_bmap2(fs, EXT2_JOURNAL_INO, &inode, NULL, 0, i, NULL, &phys) == 0);
		im->jmap[i] = phys;
	}
	CHECK(ext2fs_read_block_bitmap(fs) == 0);
	im->free = calloc(im->blocks, sizeof(*im->free));
	im->nfree = 0;
	for (blk64_t b = im->blocks / 4; b < im->blocks; b++)
		if (!ext2fs_test_block_bitmap2(fs->block_map, b))
			im->free[im->nfree++] = b;
	ext2fs_close_free(&fs);
	CHECK(im->nfree > 64);
	/* shuffle with the run's PRNG */
	for (unsigned int i = im->nfree - 1; i > 0; i--) {
		unsigned int k = (unsigned int)(prandom_u64() % (i + 1));
		uint64_t t = im->free[i];

		im->free[i] = im->free[k];
		im->free[k] = t;
	}
}

/* Set or clear EXT3_FEATURE_INCOMPAT_RECOVER (the fs layer's job at mount). */
static inline void jrt_set_needs_recovery(const char *path, bool on)
{
	ext2_filsys fs;

	CHECK(ext2fs_open(path, EXT2_FLAG_RW, 0, 0, unix_io_manager, &fs) == 0);
	if (on)
		ext2fs_set_feature_journal_needs_recovery(fs->super);
	else
		ext2fs_clear_feature_journal_needs_recovery(fs->super);
	ext2fs_mark_super_dirty(fs);
	CHECK(ext2fs_close_free(&fs) == 0);
}

struct jrt_dev {
	struct block_device *bdev;
	struct address_space mapping;
};

static inline void jrt_dev_open(struct jrt_dev *d, struct jrt_image *im, unsigned int dma_delay_us,
				uint64_t seed)
{
	struct blockdev_opts o = { .dma_delay_us = dma_delay_us, .seed = seed };
	unsigned int blkbits = 0;

	while ((1U << blkbits) < im->bs)
		blkbits++;
	CHECK(blockdev_open(im->path, &o, &d->bdev) == 0);
	CHECK(address_space_init(&d->mapping, d->bdev, d->bdev->size, blkbits, 0, 0) == 0);
}

static inline void jrt_dev_close(struct jrt_dev *d)
{
	address_space_destroy(&d->mapping);
	blockdev_close(d->bdev);
}

/* init + load + the features ext4 sets at mount. */
static inline journal_t *jrt_journal_open(struct jrt_dev *d, struct jrt_image *im)
{
	journal_t *j = jbd2_journal_init(d->bdev, im->jmap, im->jblocks, im->bs);

	CHECK(j);
	CHECK_EQ(jbd2_journal_load(j), 0);
	if (im->csum)
		CHECK(jbd2_journal_set_features(j, 0, 0, JBD2_FEATURE_INCOMPAT_CSUM_V3));
	if (im->is64)
		CHECK(jbd2_journal_set_features(j, 0, 0, JBD2_FEATURE_INCOMPAT_64BIT));
	return j;
}

static inline void jrt_pread_block(const char *path, unsigned int bs, uint64_t blk, void *buf)
{
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(pread(fd, buf, bs, (off_t)(blk * bs)) == (ssize_t)bs);
	close(fd);
}

static inline void jrt_read_jsb(struct jrt_image *im, journal_superblock_t *sb)
{
	char *buf = malloc(im->bs);

	jrt_pread_block(im->path, im->bs, im->jmap[0], buf);
	memcpy(sb, buf, sizeof(*sb));
	free(buf);
}

static inline void jrt_copy_file(const char *from, const char *to)
{
	CHECK(jrt_sh("cp --sparse=always %s %s", from, to) == 0);
}

/* A block's pattern for (block, version); some versions start with the
 * jbd2 magic, so that the commit must escape them. */
static inline void jrt_pattern(char *buf, unsigned int bs, uint64_t blk, uint32_t ver, uint64_t seed)
{
	uint64_t x = (blk * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)ver << 32) ^ seed;

	for (unsigned int i = 0; i < bs; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545f4914f6cdd1dULL;

		memcpy(buf + i, &v, 8);
	}
	memcpy(buf + 8, &blk, 8);
	memcpy(buf + 16, &ver, 4);
	if (ver % 7 == 3) {
		uint32_t m = htonl(JBD2_MAGIC_NUMBER);

		memcpy(buf, &m, 4);
	}
}

#endif /* JBDLAB_JRT_TEST_H */
