/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_orphan - an unlinked file lives until its last reference goes
 * (fstests generic/035): it sits on the on-disk orphan list
 * (s_last_orphan -> i_dtime chain) while open, its data stays readable,
 * release frees it; an orphan still referenced at unmount is deleted then;
 * an orphan list left by a "crash" (made with debugfs) is processed at mount.
 */
#include <fcntl.h>
#include "fstest.h"
#include "fs/fs_internal.h"

static char buf[1 << 20], rbuf[1 << 20];

/*
 * At every handle boundary of a shrinking truncate the state may reach the
 * disk alone (a commit falls between ext4_setattr's handle and
 * ext4_truncate's): if i_size no longer covers the mapped blocks, the inode
 * must be on the orphan list, or a crash leaves initialized extents past
 * EOF ("i_size is X, should be Y") instead of a truncate to finish.
 */
static ino_t watched;
static unsigned int boundaries, exposed;

/*
 * The same for the final delete of an unlinked file (ext4_unlink puts it on
 * the orphan list, ext4_evict_inode frees it in handles of its own): at
 * every boundary of the block freeing a link-less inode that still has
 * blocks must be on the orphan list.  A sparse file of few blocks over more
 * than a chunk of logical range restarts as often as a big one.
 */
static unsigned int evict_boundaries, evict_exposed;
static void evict_boundary(struct jfs *fs)
{
	struct ext2_inode_large inode;

	if (!watched)
		return;
	REQUIRE(ext2fs_read_inode_full(fs->e2fs, watched, (struct ext2_inode *)&inode,
				       sizeof(inode)) == 0);
	evict_boundaries++;
	if (!inode.i_links_count && ext2fs_get_stat_i_blocks(fs->e2fs, (struct ext2_inode *)&inode) &&
	    fs->e2fs->super->s_last_orphan != watched)
		evict_exposed++;
}
static void truncate_boundary(struct jfs *fs)
{
	struct ext2_inode_large inode;
	blk64_t pblk = 0;
	uint64_t size, lblk;

	if (!watched)
		return;
	REQUIRE(ext2fs_read_inode_full(fs->e2fs, watched, (struct ext2_inode *)&inode,
				       sizeof(inode)) == 0);
	size = jfs_i_size(&inode);
	boundaries++;
	lblk = size ? (size - 1) / 2048 + 1 : 0;	/* first block past EOF */
	for (uint64_t b = lblk; b < lblk + 64; b++) {
		pblk = 0;
		if (!ext2fs_bmap2(fs->e2fs, watched, (struct ext2_inode *)&inode, NULL, 0, b,
				  NULL, &pblk) && pblk)
			break;
	}
	if (pblk && fs->e2fs->super->s_last_orphan != watched)
		exposed++;
}

int main(void)
{
	const char *img;
	struct jfs *fs;
	struct stat st;
	ino_t a, b, c;
	blk64_t free0;

	fst_init();
	img = strdup(fst_path("orphan.img"));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 1);
	fst_mkfs(img, 2048, "", "32M");
	REQUIRE(fst_debugfs(img, "write /dev/null a") == 0);
	REQUIRE(fst_debugfs(img, "write /dev/null b") == 0);
	REQUIRE(fst_debugfs(img, "write /dev/null c") == 0);
	a = fst_ino(img, "/a");
	b = fst_ino(img, "/b");
	c = fst_ino(img, "/c");
	REQUIRE(a && b && c);

	fs = fst_mount(img, false);
	free0 = ext2fs_free_blocks_count(fs->e2fs->super);
	CHECK_EQ(jfs_lookup(fs, NULL, 2, "a", &st), 0);
	CHECK_EQ(st.st_ino, a);
	CHECK_EQ(jfs_open(fs, NULL, a, O_RDWR), 0);
	CHECK_EQ(jfs_write(fs, NULL, a, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	CHECK(ext2fs_free_blocks_count(fs->e2fs->super) < free0);

	/* unlink while open: orphan, data still readable */
	CHECK_EQ(jfs_unlink(fs, NULL, 2, "a"), 0);
	CHECK_EQ(fs->e2fs->super->s_last_orphan, a);
	CHECK_EQ(jfs_read(fs, a, 0, sizeof(rbuf), rbuf), (ssize_t)sizeof(rbuf));
	CHECK(!memcmp(buf, rbuf, sizeof(buf)));
	CHECK_EQ(jfs_getattr(fs, a, &st), 0);
	CHECK_EQ(st.st_nlink, 0);
	/* the last forget does not free it: it is still open */
	jfs_forget(fs, a, 1);
	CHECK_EQ(fs->e2fs->super->s_last_orphan, a);
	CHECK_EQ(jfs_release(fs, a), 0);
	CHECK_EQ(fs->e2fs->super->s_last_orphan, 0);
	CHECK_EQ(ext2fs_free_blocks_count(fs->e2fs->super), free0);
	CHECK(!ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, a));

	/* two orphans at once, one left referenced at unmount */
	CHECK_EQ(jfs_lookup(fs, NULL, 2, "b", &st), 0);
	CHECK_EQ(jfs_write(fs, NULL, b, 0, buf, 5000), 5000);
	CHECK_EQ(jfs_lookup(fs, NULL, 2, "c", &st), 0);
	CHECK_EQ(jfs_write(fs, NULL, c, 0, buf, 7000), 7000);
	CHECK_EQ(jfs_unlink(fs, NULL, 2, "b"), 0);
	CHECK_EQ(jfs_unlink(fs, NULL, 2, "c"), 0);
	CHECK_EQ(fs->e2fs->super->s_last_orphan, c);
	jfs_forget(fs, b, 1);		/* b is the list's tail: unlinked from the middle */
	CHECK_EQ(fs->e2fs->super->s_last_orphan, c);
	CHECK_EQ(fs->credit_overruns, 0);
	CHECK_EQ(jfs_unmount(fs), 0);	/* c deleted here */
	CHECK_EQ(fst_fsck(img), 0);

	/* a small shrinking truncate: orphaned across its handle boundary */
	fs = fst_mount(img, false);
	CHECK_EQ(jfs_lookup(fs, NULL, 2, "e", &st), -ENOENT);
	{
		ino_t e;

		static const struct jfs_cred root = { .uid = 0, .gid = 0 };
		struct stat sa = { .st_size = 3000 };

		CHECK_EQ(jfs_create(fs, &root, 2, "e", S_IFREG | 0644, O_RDWR, &st), 0);
		e = st.st_ino;
		CHECK_EQ(jfs_write(fs, &root, e, 0, buf, 20 * 2048), 20 * 2048);
		fs->restart_hook = truncate_boundary;
		watched = e;
		CHECK_EQ(jfs_setattr(fs, &root, e, &sa, JFS_SET_SIZE, &st), 0);
		watched = 0;
		fs->restart_hook = NULL;
		CHECK(boundaries > 0);
		CHECK_EQ(exposed, 0);
		CHECK_EQ(fs->e2fs->super->s_last_orphan, 0);	/* off the list again */
		CHECK_EQ(jfs_getattr(fs, e, &st), 0);
		CHECK_EQ(st.st_size, 3000);
		CHECK_EQ(jfs_release(fs, e), 0);
	}
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);

	/* unlink of a sparse file (8 blocks over 2000): orphaned across its
	 * restarts (race lab, ebdf4de seed 601: "deleted inode has zero dtime") */
	fs = fst_mount(img, false);
	{
		static const struct jfs_cred root = { .uid = 0, .gid = 0 };
		blk64_t before = ext2fs_free_blocks_count(fs->e2fs->super);
		ino_t g;

		CHECK_EQ(jfs_create(fs, &root, 2, "g", S_IFREG | 0644, O_RDWR, &st), 0);
		g = st.st_ino;
		for (int i = 0; i < 8; i++)
			CHECK_EQ(jfs_write(fs, &root, g, (off_t)i * 250 * 2048, buf, 2048), 2048);
		CHECK_EQ(jfs_release(fs, g), 0);
		jfs_forget(fs, g, 1);
		fs->restart_hook = evict_boundary;
		watched = g;
		CHECK_EQ(jfs_unlink(fs, &root, 2, "g"), 0);
		watched = 0;
		fs->restart_hook = NULL;
		CHECK(evict_boundaries > 0);	/* the test reached a restart at all */
		CHECK_EQ(evict_exposed, 0);
		CHECK_EQ(fs->e2fs->super->s_last_orphan, 0);
		CHECK(!ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, g));
		CHECK_EQ(ext2fs_free_blocks_count(fs->e2fs->super), before);
	}
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);

	/* a "crash" orphan list: inode with data and nlink 0, made by debugfs */
	REQUIRE(fst_sh("head -c 300000 /dev/urandom > '%s'", fst_path("data")) == 0);
	REQUIRE(fst_sh("debugfs -w -R 'write %s d' '%s' >/dev/null 2>&1", fst_path("data"), img) == 0);
	{
		ino_t d = fst_ino(img, "/d");
		char cmd[256];

		REQUIRE(d);
		REQUIRE(fst_debugfs(img, "unlink /d") == 0);
		snprintf(cmd, sizeof(cmd), "sif <%lu> links_count 0", (unsigned long)d);
		REQUIRE(fst_debugfs(img, cmd) == 0);
		snprintf(cmd, sizeof(cmd), "ssv last_orphan %lu", (unsigned long)d);
		REQUIRE(fst_debugfs(img, cmd) == 0);
		fs = fst_mount(img, false);
		CHECK_EQ(fs->e2fs->super->s_last_orphan, 0);
		CHECK(!ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, d));
		CHECK_EQ(jfs_unmount(fs), 0);
		CHECK_EQ(fst_fsck(img), 0);
	}

	/* an interrupted truncate: i_size already small, the blocks past it
	 * still mapped, the inode on the list -- the cleanup frees them */
	REQUIRE(fst_sh("debugfs -w -R 'write %s t' '%s' >/dev/null 2>&1", fst_path("data"), img) == 0);
	{
		ino_t t = fst_ino(img, "/t");
		struct ext2_inode_large inode;
		blk64_t pblk = 0;
		char cmd[256];

		REQUIRE(t);
		snprintf(cmd, sizeof(cmd), "sif <%lu> size 5000", (unsigned long)t);
		REQUIRE(fst_debugfs(img, cmd) == 0);
		snprintf(cmd, sizeof(cmd), "ssv last_orphan %lu", (unsigned long)t);
		REQUIRE(fst_debugfs(img, cmd) == 0);
		fs = fst_mount(img, false);
		CHECK_EQ(fs->e2fs->super->s_last_orphan, 0);
		REQUIRE(ext2fs_read_inode_full(fs->e2fs, t, (struct ext2_inode *)&inode,
					       sizeof(inode)) == 0);
		CHECK_EQ(jfs_i_size(&inode), 5000);
		CHECK_EQ(ext2fs_bmap2(fs->e2fs, t, (struct ext2_inode *)&inode, NULL, 0, 100,
				      NULL, &pblk), 0);
		CHECK_EQ(pblk, 0);	/* block 100 (of 147) is gone */
		CHECK_EQ(ext2fs_get_stat_i_blocks(fs->e2fs, (struct ext2_inode *)&inode) / 4, 3);
		CHECK_EQ(jfs_unmount(fs), 0);
		CHECK_EQ(fst_fsck(img), 0);
	}
	return fst_done("test_orphan");
}
