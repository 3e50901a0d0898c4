/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_credit_slack - how much of the pre-32a93f5bc9b9 depth-rule estimate
 * a one-page write really uses in this model, in the worst place the race
 * lab could put it (kernel-race.md §2.5 I3).
 *
 * The story: ext4_do_writepages() reserved ext4_da_writepages_trans_blocks()
 * = ext4_meta_trans_blocks(inode, MAX_WRITEPAGES_EXTENT_LEN + bpp - 1, bpp)
 * with ext_depth() read before i_data_sem; mpage_map_and_submit_extent()
 * maps one allocation plus the tail of a partly mapped page in that handle,
 * so at most bpp extents (2 with 2 KiB blocks and 4 KiB pages).  At depth 0
 * the reserve is 0 index blocks + 2 bitmaps + 2 descriptors + 6
 * (EXT4_META_TRANS_BLOCKS) = 10; the 2025 report's "credits 11/0" is that
 * plus the revoke descriptor.  A one-page write through jfs_write is the
 * same handle (ext4_writepage_trans_blocks() + 1 for write_begin).
 *
 * What is measured: on a many-group image (2 KiB blocks, -g 1024: 512
 * groups, 16 descriptor blocks) whose free space is one block in ~1000,
 * so every allocation hops to another group, a file is grown to a depth-1
 * tree and then page-sized holes in its first leaf are filled, each write
 * alone in a fresh transaction (after syncfs every buffer it dirties is a
 * new one: t_nr_buffers is exactly its charge).  The write that splits the
 * full leaf and, with a full root, grows the tree to depth 2 is the most
 * expensive insert a one-page write can do.
 *
 * Invariant protected: even that write fits inside the depth-0 estimate
 * (it would need a stale depth 0 on a tree of hundreds of extents to come
 * close at all).  If this fails, a faithful one-page I3 became possible --
 * or the model started dirtying blocks the kernel does not; find out which
 * before believing either.
 */
#include "fstest.h"
#include "fs/fs_internal.h"
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static const struct jfs_cred root = { 0 };

static int depth_of(struct jfs *fs, ino_t ino)
{
	struct ext2_inode_large in;
	int d = -1;

	REQUIRE(jfs_op_begin(fs, "ext_depth", 0) == 0);
	if (!__jfs_read_inode(fs, (ext2_ino_t)ino, &in))
		d = ((const struct ext3_extent_header *)in.i_block)->eh_depth;
	jfs_op_end(fs, 0);
	return d;
}

/* Buffers on the running transaction: after a syncfs, one op's charge. */
static int running_buffers(struct jfs *fs)
{
	journal_t *j = fs->journal;
	int n = 0;

	read_lock(&j->j_state_lock);
	if (j->j_running_transaction) {
		spin_lock(&j->j_list_lock);
		n = j->j_running_transaction->t_nr_buffers;
		spin_unlock(&j->j_list_lock);
	}
	read_unlock(&j->j_state_lock);
	return n;
}

int main(void)
{
	/* the max rule: nothing aborts, the charge is measured, not enforced */
	struct jfs_mount_opts o = { .cache_size = 256 << 20, .commit_interval = 60 };
	int worst[3] = { 0 }, worst_grow = 0, c_d0, c_d1, ret = 0;
	uint64_t filled = 0, nfree;
	const char *img;
	struct statvfs sv;
	struct stat fst, st;
	struct jfs *fs;
	char buf[4096], e[512];

	memset(buf, 'x', sizeof(buf));
	fst_init();
	img = strdup(fst_path("slack.img"));
	fst_mkfs(img, 2048, "-g 1024", "1G");
	REQUIRE(jfs_mount(img, &o, &fs, e, sizeof(e)) == 0);
	printf("2 KiB blocks, %u groups, %lu descriptor blocks\n", fs->e2fs->group_desc_count,
	       (unsigned long)fs->e2fs->desc_blocks);

	/* fill every free block, then free one in 1000: each allocation hops groups */
	REQUIRE(jfs_create(fs, &root, 2, "fill", S_IFREG | 0644, O_RDWR, &fst) == 0);
	REQUIRE(jfs_statfs(fs, &sv) == 0);
	nfree = sv.f_bfree;
	for (; filled + 256 < nfree && !ret; filled += 256)
		ret = jfs_fallocate(fs, &root, fst.st_ino, 0, (off_t)filled * 2048, 256 * 2048);
	for (ret = 0; !ret; filled++)
		ret = jfs_fallocate(fs, &root, fst.st_ino, 0, (off_t)filled * 2048, 2048);
	for (uint64_t l = 7; l < filled; l += 1000)
		CHECK_EQ(jfs_fallocate(fs, &root, fst.st_ino, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, (off_t)l * 2048, 2048), 0);
	jfs_release(fs, fst.st_ino);
	jfs_forget(fs, fst.st_ino, 1);

	/* a file of single-block extents at lblk 3k: a depth-1 tree, 300 extents */
	REQUIRE(jfs_create(fs, &root, 2, "f", S_IFREG | 0644, O_RDWR, &st) == 0);
	for (int k = 0; k < 300; k++)
		REQUIRE(jfs_write(fs, &root, st.st_ino, (off_t)(3 * k) * 2048, buf, 2048) == 2048);
	REQUIRE(depth_of(fs, st.st_ino) == 1);
	c_d0 = jfs_credits_meta_depth(fs, 2, 2, 0) + 1;
	c_d1 = jfs_credits_meta_depth(fs, 2, 2, 1) + 1;

	/* fill the 2-block holes from the start, one write per transaction,
	 * the file still growing at its end, until a hole fill grows the tree
	 * (a leaf split under a full root) */
	for (int j = 0; j < 200 && !worst_grow; j++) {
		int before = depth_of(fs, st.st_ino), after, used;
		ssize_t w;

		REQUIRE(jfs_syncfs(fs) == 0);
		w = jfs_write(fs, &root, st.st_ino, (off_t)(3 * j + 1) * 2048, buf, 4096);
		if (w == -ENOSPC)
			break;
		REQUIRE(w == 4096);
		used = running_buffers(fs);
		after = depth_of(fs, st.st_ino);
		if (after != before) {
			worst_grow = used;
			printf("write %d grew depth %d -> %d: %d buffers\n", j, before, after, used);
		}
		if (used > worst[before]) {
			worst[before] = used;
			printf("write %d at depth %d: %d buffers\n", j, before, used);
		}
		if (jfs_write(fs, &root, st.st_ino, (off_t)(3 * (300 + j)) * 2048, buf, 2048) != 2048)
			break;
	}
	printf("one-page write credits: depth-0 rule %d, depth-1 rule %d, max rule %d\n", c_d0,
	       c_d1, jfs_credits_meta(fs, 2, 2) + 1);
	printf("worst charge: %d at depth 1, %d for the growth to depth 2\n", worst[1], worst_grow);
	CHECK(worst_grow > 0);		/* the case the test exists for was reached */
	CHECK(worst[1] < c_d0);
	CHECK(worst_grow < c_d0);
	jfs_release(fs, st.st_ino);
	jfs_forget(fs, st.st_ino, 1);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_credit_slack");
}
