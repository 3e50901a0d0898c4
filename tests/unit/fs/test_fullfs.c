/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_fullfs - full-filesystem behaviour, kernel-like: data writes get
 * ENOSPC (never EIO/EUCLEAN), the operations that free space (truncate,
 * O_TRUNC, punch, unlink) always succeed, and e2fsck -fn is clean after
 * the unmount.  For 1, 2 and 4 KiB blocks:
 *
 *  1. last_block: a file owns the last block of the filesystem, the disk
 *     is 100 % full.  libext2fs 1.47.0's punch rejects a freed range that
 *     ends at the last block (509da989) after it has removed the extent:
 *     the stress run's "truncate ... returns EUCLEAN" and "end of extent
 *     exceeds allowed value".  The layout: fill the disk with one file
 *     through the driver (allocation is ascending, so the reserve it
 *     leaves is the tail of the disk), then give the rest, the last block
 *     included, to a file written by debugfs.
 *  2. two_leaves: a full disk fragments files into many extents, so their
 *     trees grow several leaves.  libext2fs sizes the root's last index
 *     entry from i_size; a truncate to 0 (or the evict of a file whose
 *     unwritten blocks lie past i_size) that empties the last leaf then
 *     fails in ext2fs_extent_fix_parents with EXTENT_NOT_FOUND (EIO) half
 *     way: "i_size is 0, should be N", i_blocks and block bitmap
 *     differences.  The layout: one-block extents at every other block.
 *  3. random: seeded writes/fallocates/truncates/punches/unlinks until the
 *     disk is full and for a while after, then everything is freed.
 *
 * Argument: the block size (the test is registered once per size).
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include "fstest.h"
#include "fs/fs_internal.h"

static const struct jfs_cred root = { .uid = 0, .gid = 0, .umask = 022 };

static uint64_t free_blocks(struct jfs *fs)
{
	uint64_t n;

	mutex_lock(&fs->fs_lock);
	n = ext2fs_free_blocks_count(fs->e2fs->super);
	mutex_unlock(&fs->fs_lock);
	return n;
}

static ino_t create(struct jfs *fs, ino_t dir, const char *name)
{
	struct stat st;
	int ret = jfs_create(fs, &root, dir, name, S_IFREG | 0644, O_RDWR, &st);

	if (ret)
		return ret == -ENOSPC ? 0 : (fprintf(stderr, "create %s: %d\n", name, ret), fst_failures++, 0);
	return st.st_ino;
}

static void drop(struct jfs *fs, ino_t ino)
{
	jfs_release(fs, ino);
	jfs_forget(fs, ino, 1);
}

static int set_size(struct jfs *fs, ino_t ino, off_t size)
{
	struct stat st = { .st_size = size };

	return jfs_setattr(fs, &root, ino, &st, JFS_SET_SIZE | JFS_SET_FH, NULL);
}

/* Write `len` bytes at `off` in chunks until ENOSPC; any other error fails. */
static off_t fill(struct jfs *fs, ino_t ino, off_t off, off_t len)
{
	static char buf[256 * 1024];	/* chunks, then single KiBs */
	off_t done = 0;

	memset(buf, 0x5a, sizeof(buf));
	while (done < len) {
		size_t n = len - done < (off_t)sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t r = jfs_write(fs, &root, ino, off + done, buf, n);

		if (r == -ENOSPC && n > 1024) {
			n = 1024;	/* the last few blocks, one at a time */
			r = jfs_write(fs, &root, ino, off + done, buf, n);
		}
		if (r == -ENOSPC)
			break;
		if (r < 0) {
			fprintf(stderr, "write at %lld: %zd\n", (long long)(off + done), r);
			fst_failures++;
			break;
		}
		done += r;
		if ((size_t)r < n)
			break;
	}
	return done;
}

static bool last_block_used(const char *img, uint64_t last)
{
	char cmd[600], line[256];
	bool used = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'testb %llu' '%s' 2>/dev/null",
		 (unsigned long long)last, img);
	p = popen(cmd, "r");
	REQUIRE(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "marked in use"))
			used = true;
	pclose(p);
	return used;
}

static void test_last_block(int bs)
{
	const char *img = fst_path("last.img"), *err;
	struct jfs *fs;
	struct stat st;
	uint64_t nfree, last;
	ino_t a, g;
	char c = 'x';
	int fd;

	printf("last_block bs=%d\n", bs);
	fst_mkfs(img, bs, "", "8M");
	fs = fst_mount(img, false);
	a = create(fs, EXT2_ROOT_INO, "a");
	REQUIRE(a);
	fill(fs, a, 0, 64 << 20);
	/* the driver keeps the kernel's reserve: writes stop with ENOSPC */
	CHECK_EQ(jfs_write(fs, &root, a, 64 << 20, &c, 1), -ENOSPC);
	CHECK(free_blocks(fs) > 0);
	nfree = free_blocks(fs);
	mutex_lock(&fs->fs_lock);
	last = ext2fs_blocks_count(fs->e2fs->super) - 1;
	mutex_unlock(&fs->fs_lock);
	drop(fs, a);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK(!last_block_used(img, last));

	/* the rest of the disk, the last block included, to /g */
	fd = open(fst_path("g.data"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 0) == 0);
	for (uint64_t i = 0; i < nfree; i++) {
		static char blk[4096];

		memset(blk, 'g', sizeof(blk));
		REQUIRE(write(fd, blk, bs) == bs);
	}
	close(fd);
	REQUIRE(fst_sh("debugfs -w -R 'write %s g' '%s' >/dev/null 2>&1", fst_path("g.data"),
		       img) == 0);
	REQUIRE(last_block_used(img, last));
	CHECK_EQ(fst_fsck(img), 0);
	g = fst_ino(img, "/g");
	REQUIRE(g);

	fs = fst_mount(img, false);
	CHECK_EQ(free_blocks(fs), 0);
	fst_stderr_begin();
	/* full: writes into holes are ENOSPC, nothing else */
	CHECK_EQ(jfs_open(fs, &root, a, O_RDWR), 0);
	CHECK_EQ(jfs_write(fs, &root, a, 64 << 20, &c, 1), -ENOSPC);
	/* the shrink that freed the last block failed with EUCLEAN */
	CHECK_EQ(jfs_open(fs, &root, g, O_RDWR), 0);
	CHECK_EQ(set_size(fs, g, (off_t)nfree / 2 * bs + 100), 0);
	CHECK_EQ(jfs_getattr(fs, g, &st), 0);
	CHECK_EQ(st.st_size, (off_t)nfree / 2 * bs + 100);
	CHECK(free_blocks(fs) >= nfree / 2 - 1);
	/* a punch in the middle of a's first extent: a split */
	CHECK_EQ(jfs_fallocate(fs, &root, a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       10 * bs, 5 * bs), 0);
	/* O_TRUNC, then the unlinks (a is still open: an orphan, freed at release) */
	CHECK_EQ(jfs_open(fs, &root, g, O_RDWR | O_TRUNC), 0);
	CHECK_EQ(jfs_getattr(fs, g, &st), 0);
	CHECK_EQ(st.st_blocks, 0);
	jfs_release(fs, g);
	jfs_release(fs, g);
	CHECK_EQ(jfs_unlink(fs, &root, EXT2_ROOT_INO, "g"), 0);
	CHECK_EQ(jfs_unlink(fs, &root, EXT2_ROOT_INO, "a"), 0);
	jfs_release(fs, a);
	err = fst_stderr_end();
	CHECK_EQ(fst_count(err, "Illegal block number"), 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
}

static void test_two_leaves(int bs)
{
	const char *img = fst_path("leaves.img");
	unsigned int per_leaf = (bs - 12) / 12, n = 2 * per_leaf + 10;
	uint64_t free0;
	struct jfs *fs;
	struct stat st;
	ino_t f, g;
	char c = 'l';

	printf("two_leaves bs=%d (%u extents)\n", bs, n);
	fst_mkfs(img, bs, "", "16M");
	fs = fst_mount(img, false);
	free0 = free_blocks(fs);
	f = create(fs, EXT2_ROOT_INO, "f");
	g = create(fs, EXT2_ROOT_INO, "g");
	REQUIRE(f && g);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(jfs_write(fs, &root, f, (off_t)2 * i * bs, &c, 1), 1);
		CHECK_EQ(jfs_fallocate(fs, &root, g, FALLOC_FL_KEEP_SIZE, (off_t)2 * i * bs, bs), 0);
	}
	CHECK_EQ(jfs_getattr(fs, f, &st), 0);
	CHECK_EQ(st.st_blocks, (blkcnt_t)(n + 3) * (bs / 512));	/* + 3 leaves */
	/* truncate to 0: the last leaf goes first, the root keeps [0, ...) */
	CHECK_EQ(set_size(fs, f, 0), 0);
	CHECK_EQ(jfs_getattr(fs, f, &st), 0);
	CHECK_EQ(st.st_blocks, 0);
	/* unwritten blocks past i_size == 0, freed by the evict */
	drop(fs, g);
	CHECK_EQ(jfs_unlink(fs, &root, EXT2_ROOT_INO, "g"), 0);
	drop(fs, f);
	CHECK_EQ(jfs_unlink(fs, &root, EXT2_ROOT_INO, "f"), 0);
	CHECK_EQ(free_blocks(fs), free0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
}

/* ------------------------------------------------------------- random */

#define NFILES	12

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

static bool ok_or_enospc(const char *what, long r, unsigned int i)
{
	if (r >= 0 || r == -ENOSPC)
		return true;
	fprintf(stderr, "op %u: %s: %ld (%s)\n", i, what, r, strerror((int)-r));
	fst_failures++;
	return false;
}

static void must_succeed(const char *what, long r, unsigned int i)
{
	if (r < 0) {
		fprintf(stderr, "op %u: %s on a full fs: %ld (%s)\n", i, what, r,
			strerror((int)-r));
		fst_failures++;
	}
}

static void test_random(int bs, uint64_t seed)
{
	static char buf[192 * 1024];
	const char *img = fst_path("rand.img"), *err;
	ino_t ino[NFILES] = { 0 };
	unsigned int enospc = 0, full_ops = 0, i;
	char name[32];
	struct jfs *fs;
	struct stat st;

	printf("random bs=%d seed=%llu\n", bs, (unsigned long long)seed);
	rng = seed * 0x9e3779b97f4a7c15ull + bs;
	fst_mkfs(img, bs, "", "8M");
	fs = fst_mount(img, false);
	memset(buf, 0xa5, sizeof(buf));
	fst_stderr_begin();
	for (i = 0; i < 3000 && full_ops < 600 && !fst_failures; i++) {
		unsigned int k = rnd(NFILES);
		off_t off = (off_t)rnd(3 << 20), len = 1 + rnd(sizeof(buf));
		long r;

		snprintf(name, sizeof(name), "f%u", k);
		if (!ino[k]) {
			ino[k] = create(fs, EXT2_ROOT_INO, name);
			continue;
		}
		switch (rnd(10)) {
		case 0: case 1: case 2: case 3:
			r = jfs_write(fs, &root, ino[k], off, buf, len);
			enospc += r == -ENOSPC;
			ok_or_enospc("write", r, i);
			break;
		case 4:
			r = jfs_fallocate(fs, &root, ino[k], rnd(2) ? FALLOC_FL_KEEP_SIZE : 0, off, len);
			enospc += r == -ENOSPC;
			ok_or_enospc("fallocate", r, i);
			break;
		case 5:
			r = jfs_fallocate(fs, &root, ino[k], FALLOC_FL_ZERO_RANGE, off, len);
			ok_or_enospc("zero_range", r, i);
			break;
		case 6:
			must_succeed("punch", jfs_fallocate(fs, &root, ino[k],
							    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
							    off, len), i);
			break;
		case 7:
			REQUIRE(jfs_getattr(fs, ino[k], &st) == 0);
			if (st.st_size)
				must_succeed("truncate", set_size(fs, ino[k], rnd(st.st_size)), i);
			break;
		case 8:
			if (rnd(4))
				break;
			drop(fs, ino[k]);
			must_succeed("unlink", jfs_unlink(fs, &root, EXT2_ROOT_INO, name), i);
			ino[k] = 0;
			break;
		case 9:
			if (rnd(3))
				break;
			r = jfs_open(fs, &root, ino[k], O_RDWR | O_TRUNC);
			must_succeed("O_TRUNC", r, i);
			if (!r)
				jfs_release(fs, ino[k]);
			break;
		}
		if (enospc)
			full_ops++;
	}
	CHECK(enospc > 0);	/* the disk did fill */
	for (unsigned int k = 0; k < NFILES; k++) {
		if (!ino[k])
			continue;
		snprintf(name, sizeof(name), "f%u", k);
		drop(fs, ino[k]);
		must_succeed("final unlink", jfs_unlink(fs, &root, EXT2_ROOT_INO, name), i);
	}
	err = fst_stderr_end();
	CHECK_EQ(fst_count(err, "Illegal block number"), 0);
	printf("  %u ops, %u ENOSPC\n", i, enospc);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
}

int main(int argc, char **argv)
{
	int bs = argc > 1 ? atoi(argv[1]) : 1024;

	fst_init();
	test_last_block(bs);
	test_two_leaves(bs);
	for (uint64_t seed = 1; seed <= 4 && !fst_failures; seed++)
		test_random(bs, seed);
	return fst_done("test_fullfs");
}
