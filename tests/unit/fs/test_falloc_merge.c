/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_falloc_merge - fallocate of a hole between two unwritten extents
 * whose physical order is reversed makes libext2fs print nothing.
 *
 * The bug: stress through the FUSE mount printed "Illegal block number
 * passed to ext2fs_test_block_bitmap #N" while e2fsck stayed clean.  The
 * backtrace: jfs_fallocate -> falloc_hole -> ext2fs_fallocate ->
 * ext_falloc_helper -> ext2fs_new_range -> find_first_set with start > end.
 * 1.47.0's ext_falloc_helper tries to merge the unwritten extents left and
 * right of the hole without checking that they are physically contiguous
 * (fixed upstream in 459efa34, 1.47.3); when the right one lies physically
 * before the left, the length it asks for is negative.  The layout here:
 *
 *   lblk:  0 1 [2 .. 9] 10 11
 *   pblk:  high        low      (10-11 allocated first, 0-1 after another
 *                                file pushed the free space up)
 *
 * The driver now hides the right neighbour from the library (it maps the
 * hole's last block itself).
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include "fstest.h"
#include "fs/fs_internal.h"

int main(void)
{
	static char buf[200 * 2048], rbuf[12 * 2048];
	const int bs = 2048;
	const char *img, *err;
	struct jfs *fs;
	struct stat st;
	ino_t f, g;

	fst_init();
	img = strdup(fst_path("falloc.img"));
	fst_mkfs(img, bs, "", "64M");
	REQUIRE(fst_debugfs(img, "write /dev/null f") == 0);
	REQUIRE(fst_debugfs(img, "write /dev/null g") == 0);
	f = fst_ino(img, "/f");
	g = fst_ino(img, "/g");
	REQUIRE(f && g);

	fs = fst_mount(img, false);
	/* right extent first, physically low */
	CHECK_EQ(jfs_fallocate(fs, NULL, f, FALLOC_FL_KEEP_SIZE, 10 * bs, 2 * bs), 0);
	/* another file takes the blocks after it */
	memset(buf, 'g', sizeof(buf));
	CHECK_EQ(jfs_write(fs, NULL, g, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	/* left extent, physically high */
	CHECK_EQ(jfs_fallocate(fs, NULL, f, FALLOC_FL_KEEP_SIZE, 0, 2 * bs), 0);
	{
		blk64_t left = 0, right = 0;
		struct ext2_inode_large inode;

		mutex_lock(&fs->fs_lock);
		REQUIRE(ext2fs_read_inode_full(fs->e2fs, f, (struct ext2_inode *)&inode,
					       sizeof(inode)) == 0);
		REQUIRE(ext2fs_bmap2(fs->e2fs, f, (struct ext2_inode *)&inode, NULL, 0, 1, NULL,
				     &left) == 0);
		REQUIRE(ext2fs_bmap2(fs->e2fs, f, (struct ext2_inode *)&inode, NULL, 0, 10, NULL,
				     &right) == 0);
		mutex_unlock(&fs->fs_lock);
		printf("left end pblk %llu, right start pblk %llu\n", (unsigned long long)left,
		       (unsigned long long)right);
		REQUIRE(left && right && right < left);	/* the reversed layout */
	}

	/* the hole between them, as the stress run's fallocate did */
	fst_stderr_begin();
	CHECK_EQ(jfs_fallocate(fs, NULL, f, FALLOC_FL_KEEP_SIZE, 2 * bs, 8 * bs), 0);
	err = fst_stderr_end();
	CHECK_EQ(fst_count(err, "Illegal block number"), 0);

	/* all twelve blocks are allocated and read as zeros once the size covers them */
	CHECK_EQ(jfs_getattr(fs, f, &st), 0);
	CHECK_EQ(st.st_blocks, 12 * (bs / 512));
	memset(&st, 0, sizeof(st));
	st.st_size = 12 * bs;
	CHECK_EQ(jfs_setattr(fs, NULL, f, &st, JFS_SET_SIZE, NULL), 0);
	memset(rbuf, 1, sizeof(rbuf));
	CHECK_EQ(jfs_read(fs, f, 0, sizeof(rbuf), rbuf), (ssize_t)sizeof(rbuf));
	for (size_t i = 0; i < sizeof(rbuf); i++)
		if (rbuf[i]) {
			CHECK_EQ(rbuf[i], 0);
			break;
		}
	/* writes into the new unwritten blocks convert them */
	CHECK_EQ(jfs_write(fs, NULL, f, 9 * bs + 5, "tail", 4), 4);
	CHECK_EQ(jfs_read(fs, f, 9 * bs + 5, 4, rbuf), 4);
	CHECK(!memcmp(rbuf, "tail", 4));

	CHECK_EQ(fs->credit_overruns, 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_falloc_merge");
}
