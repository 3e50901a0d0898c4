/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_overrun - a credit overrun is reported once per op name, and every
 * overrun is counted in jfs_stats.credit_overruns.
 *
 * The bug: the io_manager's "dirtied more than its declared credits"
 * warning was a process-wide WARN_ONCE, so after the first overrun (say of
 * a long-known "write" case) a new one in "unmount" or "setattr" went
 * unseen, and the count was reachable only through the private struct.
 * Here two synthetic ops overrun: "overrun_a" twice, "overrun_b" once --
 * two warnings, three counted.  Ops declare 1 credit and dirty 2 free
 * blocks by writing back their own (zero) contents.
 *
 * The image has no journal: with one, jbd2 itself refuses the second
 * block (WARN + -ENOSPC in jbd2_journal_dirty_metadata, kernel-race.md I3)
 * and the fs takes the errors= path; this test is about the io_manager's
 * own accounting, which also covers journal-less images.
 */
#include "fstest.h"
#include "fs/fs_internal.h"

static void overrun(struct jfs *fs, const char *name)
{
	blk64_t last = ext2fs_blocks_count(fs->e2fs->super) - 1;
	char buf[4096];

	REQUIRE(fs->blocksize <= sizeof(buf));
	REQUIRE(jfs_op_begin(fs, name, 1) == 0);
	for (blk64_t b = last - 1; b <= last; b++) {
		REQUIRE(!ext2fs_test_block_bitmap2(fs->e2fs->block_map, b));
		REQUIRE(io_channel_read_blk64(fs->e2fs->io, b, 1, buf) == 0);
		REQUIRE(io_channel_write_blk64(fs->e2fs->io, b, 1, buf) == 0);
	}
	REQUIRE(jfs_op_end(fs, 0) == 0);
}

int main(void)
{
	struct jfs_stats st;
	const char *img, *err;
	struct jfs *fs;

	fst_init();
	img = strdup(fst_path("overrun.img"));
	fst_mkfs(img, 2048, "-O ^has_journal", "32M");

	fs = fst_mount(img, false);
	jfs_get_stats(fs, &st);
	CHECK_EQ(st.credit_overruns, 0);
	fst_stderr_begin();
	overrun(fs, "overrun_a");
	overrun(fs, "overrun_a");
	overrun(fs, "overrun_b");
	err = fst_stderr_end();
	CHECK_EQ(fst_count(err, "dirtied more than its"), 2);
	CHECK_EQ(fst_count(err, "op overrun_a dirtied"), 1);
	CHECK_EQ(fst_count(err, "op overrun_b dirtied"), 1);
	jfs_get_stats(fs, &st);
	CHECK_EQ(st.credit_overruns, 3);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_overrun");
}
