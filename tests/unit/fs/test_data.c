/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_data BLOCKSIZE "MKFS-OPTIONS" - the data path against a shadow copy.
 *
 * Writes (unaligned, block-crossing, multi-chunk), truncates down and up,
 * fallocate (KEEP_SIZE beyond EOF, mode 0, writes into unwritten extents),
 * punch hole and zero range, each followed by a full read compared with an
 * in-memory shadow; setattr/getattr (modes, SUID clearing, ns times);
 * EFBIG; then unmount, e2fsck -fn, remount read-only and compare again.
 * Every op must stay within its declared credits (the io_manager counts).
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include "fstest.h"
#include "fs/fs_internal.h"

#define SHADOW_MAX	(8u << 20)

static char *shadow, *rbuf;
static uint64_t shadow_size;
static bool extents;
static unsigned int seed = 12345;

static unsigned int rnd(void)
{
	seed = seed * 1103515245 + 12345;
	return (seed >> 8) & 0xffffff;
}

static void verify(struct jfs *fs, ino_t ino, const char *what)
{
	struct stat st;
	ssize_t n;

	CHECK_EQ(jfs_getattr(fs, ino, &st), 0);
	CHECK_EQ(st.st_size, shadow_size);
	memset(rbuf, 0x5a, SHADOW_MAX);
	n = jfs_read(fs, ino, 0, SHADOW_MAX, rbuf);
	CHECK_EQ(n, (ssize_t)shadow_size);
	if (n == (ssize_t)shadow_size && memcmp(rbuf, shadow, shadow_size)) {
		for (uint64_t i = 0; i < shadow_size; i++)
			if (rbuf[i] != shadow[i]) {
				fprintf(stderr, "%s: mismatch at %llu: %02x != %02x\n", what,
					(unsigned long long)i, (unsigned char)rbuf[i],
					(unsigned char)shadow[i]);
				break;
			}
		fst_failures++;
	}
	/* reads past EOF return 0 */
	CHECK_EQ(jfs_read(fs, ino, shadow_size + 10, 100, rbuf), 0);
}

static void do_write(struct jfs *fs, const struct jfs_cred *c, ino_t ino, uint64_t off, size_t len)
{
	char *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (char)(rnd() | 1);
	CHECK_EQ(jfs_write(fs, c, ino, off, p, len), (ssize_t)len);
	memcpy(shadow + off, p, len);
	if (off + len > shadow_size)
		shadow_size = off + len;
	free(p);
}

static void do_truncate(struct jfs *fs, ino_t ino, uint64_t size)
{
	struct stat attr = { .st_size = size }, out;

	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_SIZE, &out), 0);
	CHECK_EQ(out.st_size, size);
	if (size < shadow_size)
		memset(shadow + size, 0, shadow_size - size);
	shadow_size = size;
}

static void do_falloc(struct jfs *fs, ino_t ino, int mode, uint64_t off, uint64_t len)
{
	int ret = jfs_fallocate(fs, NULL, ino, mode, off, len);

	if (!extents) {
		CHECK_EQ(ret, -EOPNOTSUPP);
		return;
	}
	CHECK_EQ(ret, 0);
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		uint64_t end = off + len;

		if (mode & FALLOC_FL_PUNCH_HOLE && end > shadow_size)
			end = shadow_size;
		if (off < end && off < shadow_size)
			memset(shadow + off, 0, min_t(uint64_t, end, shadow_size) - off);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > shadow_size)
		shadow_size = off + len;	/* new bytes are already 0 in the shadow */
}

int main(int argc, char **argv)
{
	int bs = argc > 1 ? atoi(argv[1]) : 4096;
	const char *opts = argc > 2 ? argv[2] : "";
	const char *img;
	struct jfs_cred user = { .uid = 1000, .gid = 1000 };
	struct jfs *fs;
	struct stat st, attr;
	ino_t ino;
	int i;

	fst_init();
	img = strdup(fst_path("data.img"));
	shadow = calloc(1, SHADOW_MAX);
	rbuf = malloc(SHADOW_MAX);
	fst_mkfs(img, bs, opts, "64M");
	REQUIRE(fst_debugfs(img, "write /dev/null f") == 0);
	REQUIRE(fst_debugfs(img, "sif /f mode 0100666") == 0);
	ino = fst_ino(img, "/f");
	REQUIRE(ino > 0);

	fs = fst_mount(img, false);
	extents = ext2fs_has_feature_extents(fs->e2fs->super);
	printf("bs %d opts '%s' ino %lu extents %d maxbytes %llu\n", bs, opts, (unsigned long)ino,
	       extents, (unsigned long long)fs->s_maxbytes);

	/* writes: small, unaligned, crossing blocks, big (several ops) */
	do_write(fs, NULL, ino, 0, 100);
	verify(fs, ino, "w1");
	do_write(fs, NULL, ino, bs - 7, 20);
	do_write(fs, NULL, ino, 5 * bs + 3, 3 * bs);
	verify(fs, ino, "w2");
	do_write(fs, NULL, ino, (1 << 20) + 123, 3 << 20);
	verify(fs, ino, "big write");

	/* truncate down mid-block, then up: the tail reads as zeros */
	do_truncate(fs, ino, 2 * bs + 17);
	verify(fs, ino, "trunc down");
	do_truncate(fs, ino, 9 * bs + 1);
	verify(fs, ino, "trunc up");
	do_write(fs, NULL, ino, 2 * bs + 100, 50);
	verify(fs, ino, "write after trunc");

	/* fallocate: beyond EOF kept, then extend, then write into unwritten */
	do_falloc(fs, ino, FALLOC_FL_KEEP_SIZE, 20 * bs, 10 * bs);
	verify(fs, ino, "falloc keep");
	do_falloc(fs, ino, 0, 12 * bs + 5, 3 * bs);
	verify(fs, ino, "falloc extend");
	do_write(fs, NULL, ino, 13 * bs + 9, 10);
	verify(fs, ino, "write into unwritten");
	do_falloc(fs, ino, FALLOC_FL_KEEP_SIZE, 0, 40 * bs);	/* fills holes only */
	verify(fs, ino, "falloc holes");
	do_write(fs, NULL, ino, 22 * bs + 1, 2 * bs);
	verify(fs, ino, "write past EOF into unwritten");
	do_falloc(fs, ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5 * bs + 100, 3 * bs);
	verify(fs, ino, "punch");
	do_falloc(fs, ino, FALLOC_FL_ZERO_RANGE, 1 * bs + 1, 2 * bs + 7);
	verify(fs, ino, "zero range");
	do_falloc(fs, ino, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, shadow_size - 10, 5 * bs);
	verify(fs, ino, "zero range keep");
	CHECK_EQ(jfs_fallocate(fs, NULL, ino, FALLOC_FL_PUNCH_HOLE, 0, bs), -EOPNOTSUPP);
	CHECK_EQ(jfs_fallocate(fs, NULL, ino, 0x8 /* COLLAPSE */, 0, bs), -EOPNOTSUPP);

	/* random mix */
	for (i = 0; i < 60; i++) {
		uint64_t off = rnd() % (6u << 20), len = 1 + rnd() % (3 * bs);

		switch (rnd() % 6) {
		case 0: case 1: case 2:
			do_write(fs, NULL, ino, off, len);
			break;
		case 3:
			do_truncate(fs, ino, off);
			break;
		case 4:
			do_falloc(fs, ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len * 4);
			break;
		case 5:
			do_falloc(fs, ino, rnd() % 2 ? FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE,
				  off, len * 4);
			break;
		}
		if (i % 10 == 9)
			verify(fs, ino, "random");
	}
	verify(fs, ino, "random end");

	/* far sparse write: the hole reads as zeros */
	{
		char b[16] = "far away data", z[64];
		uint64_t far = 100ull << 20;
		uint64_t keep = shadow_size;

		CHECK_EQ(jfs_write(fs, NULL, ino, far, b, sizeof(b)), (ssize_t)sizeof(b));
		CHECK_EQ(jfs_read(fs, ino, far, sizeof(b), rbuf), (ssize_t)sizeof(b));
		CHECK(!memcmp(rbuf, b, sizeof(b)));
		memset(z, 1, sizeof(z));
		CHECK_EQ(jfs_read(fs, ino, 50ull << 20, sizeof(z), z), (ssize_t)sizeof(z));
		for (size_t k = 0; k < sizeof(z); k++)
			CHECK_EQ(z[k], 0);
		memset(&attr, 0, sizeof(attr));
		attr.st_size = keep;
		CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_SIZE, NULL), 0);
		verify(fs, ino, "after far write");
	}

	/* EFBIG */
	CHECK_EQ(jfs_write(fs, NULL, ino, jfs_inode_maxbytes(fs, &(struct ext2_inode_large){
		.i_flags = extents ? EXT4_EXTENTS_FL : 0 }), "x", 1), -EFBIG);
	memset(&attr, 0, sizeof(attr));
	attr.st_size = (off_t)(extents ? fs->s_maxbytes : fs->s_bitmap_maxbytes) + 1;
	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_SIZE, NULL), -EFBIG);

	/* setattr: mode, owner, times with nanoseconds */
	memset(&attr, 0, sizeof(attr));
	attr.st_mode = 06775;
	attr.st_uid = 1000;
	attr.st_gid = 1000;
	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_MODE | JFS_SET_UID | JFS_SET_GID, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 06775);
	CHECK_EQ(st.st_uid, 1000);
	/* a write by a non-root owner clears S_ISUID, and S_ISGID (group-exec) */
	do_write(fs, &user, ino, 10, 10);
	CHECK_EQ(jfs_getattr(fs, ino, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0775);
	/* chown by root of a non-directory clears S_ISUID */
	attr.st_mode = 04755;
	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_MODE, NULL), 0);
	attr.st_uid = 1001;
	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_UID, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0755);
	CHECK_EQ(st.st_uid, 1001);
	/* a non-owner cannot chmod or set explicit times */
	attr.st_mode = 0777;
	CHECK_EQ(jfs_setattr(fs, &user, ino, &attr, JFS_SET_MODE, NULL), -EPERM);
	CHECK_EQ(jfs_setattr(fs, &user, ino, &attr, JFS_SET_ATIME, NULL), -EPERM);
	CHECK_EQ(jfs_setattr(fs, &user, ino, &attr, JFS_SET_SIZE, NULL), -EACCES);
	attr.st_atim.tv_sec = 1234567890;
	attr.st_atim.tv_nsec = 123456789;
	attr.st_mtim.tv_sec = 0x100000005LL;	/* past 2038: epoch bits */
	attr.st_mtim.tv_nsec = 999999999;
	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_ATIME | JFS_SET_MTIME, &st), 0);
	CHECK_EQ(jfs_getattr(fs, ino, &st), 0);
	if (fs->e2fs->super->s_inode_size > 128) {
		CHECK_EQ(st.st_atim.tv_sec, 1234567890);
		CHECK_EQ(st.st_atim.tv_nsec, 123456789);
		CHECK_EQ(st.st_mtim.tv_sec, 0x100000005LL);
		CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
	}
	CHECK_EQ(st.st_blocks % (bs / 512), 0);
	CHECK_EQ(jfs_access(fs, &user, ino, JFS_MAY_WRITE), -EACCES);
	CHECK_EQ(jfs_access(fs, &user, ino, JFS_MAY_READ), 0);
	CHECK_EQ(jfs_open(fs, &user, ino, O_WRONLY), -EACCES);
	CHECK_EQ(jfs_open(fs, &user, 2, O_RDWR), -EISDIR);
	CHECK_EQ(jfs_read(fs, 2, 0, 10, rbuf), -EISDIR);

	/* statfs */
	{
		struct statvfs sv;

		CHECK_EQ(jfs_statfs(fs, &sv), 0);
		CHECK_EQ(sv.f_bsize, bs);
		CHECK_EQ(sv.f_frsize, bs);
		CHECK_EQ(sv.f_namemax, 255);
		CHECK(!(sv.f_flag & ST_RDONLY));
		CHECK(sv.f_bfree <= sv.f_blocks + fs->e2fs->group_desc_count * 1000);
		CHECK_EQ(sv.f_bfree, ext2fs_free_blocks_count(fs->e2fs->super));
	}

	/* O_TRUNC through open */
	CHECK_EQ(jfs_open(fs, NULL, ino, O_RDWR), 0);
	CHECK_EQ(jfs_release(fs, ino), 0);
	CHECK_EQ(jfs_fsync(fs, ino, false), 0);
	CHECK_EQ(fs->credit_overruns, 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);

	/* remount read-only: the data survived */
	fs = fst_mount(img, true);
	verify(fs, ino, "after remount");
	CHECK_EQ(jfs_write(fs, NULL, ino, 0, "x", 1), -EROFS);
	CHECK_EQ(jfs_unmount(fs), 0);

	/* O_TRUNC frees everything; fsck again */
	fs = fst_mount(img, false);
	CHECK_EQ(jfs_open(fs, NULL, ino, O_WRONLY | O_TRUNC), 0);
	CHECK_EQ(jfs_release(fs, ino), 0);
	shadow_size = 0;
	verify(fs, ino, "O_TRUNC");
	CHECK_EQ(jfs_getattr(fs, ino, &st), 0);
	CHECK_EQ(st.st_blocks, 0);
	CHECK_EQ(fs->credit_overruns, 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_data");
}
