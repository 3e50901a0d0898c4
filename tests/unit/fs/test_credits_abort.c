/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_credits_abort - a handle out of credits ends the way ext4 ends it
 * (kernel-race.md §2.5 I3, the 2025 signature; 32a93f5bc9b9).
 *
 * The story: ext4_do_writepages() estimated its credits from the extent
 * depth, the tree grew before the insert, and jbd2_journal_dirty_metadata()
 * found the handle empty: WARN_ON_ONCE, -ENOSPC.  ext4 then printed
 * "aborting transaction: error 28 in __ext4_handle_dirty_metadata" and
 * "journal_dirty_metadata failed: handle type 2 started at line L, credits
 * 11/0, errcode -28", aborted handle and journal, counted the error in the
 * superblock and remounted read-only.
 *
 * Invariants protected:
 *   1. an op whose handle runs out of credits: both messages with the
 *      handle type of the op (EXT4_HT_WRITE_PAGE for "write"), its start
 *      line and "credits N/0"; later ops get -EROFS; the fs is read-only;
 *   2. on disk: the error count and "with errors" state, needs_recovery
 *      kept (the aborted transaction is not replayed), and after the next
 *      mount's replay e2fsck -fn is clean;
 *   3. the depth rule reads the extent depth: a write estimated at depth 0
 *      declares fewer credits than under the max rule.  (The overrun
 *      itself is synthetic here: in this model a real growth in the window
 *      does not exhaust the kernel formula's slack on a 2-group image:
 *      at most 9 of 10 credits used in the forced worst case.)
 */
#include "fstest.h"
#include "fs/fs_internal.h"
#include <sys/stat.h>
#include <sys/statvfs.h>

static const struct jfs_cred root = { 0 };

static bool dumpe2fs_has(const char *img, const char *pattern)
{
	return fst_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q -E '%s'", img, pattern) == 0;
}

/* A "write" op declared with 1 credit that dirties 2 free blocks. */
static void overrun(struct jfs *fs)
{
	blk64_t last = ext2fs_blocks_count(fs->e2fs->super) - 1;
	char buf[4096];
	int ret = 0;

	REQUIRE(jfs_op_begin(fs, "write", 1) == 0);
	CHECK_EQ(fs->handle->h_type, EXT4_HT_WRITE_PAGE);
	for (blk64_t b = last - 1; b <= last && !ret; b++) {
		REQUIRE(!ext2fs_test_block_bitmap2(fs->e2fs->block_map, b));
		REQUIRE(io_channel_read_blk64(fs->e2fs->io, b, 1, buf) == 0);
		ret = io_channel_write_blk64(fs->e2fs->io, b, 1, buf) ? -EIO : 0;
	}
	CHECK(ret != 0);
	jfs_op_end(fs, ret);
}

int main(void)
{
	struct jfs_mount_opts o = { .cache_size = 64 << 20, .errors = JFS_ERRORS_RO,
				    .credits = JFS_CREDITS_DEPTH };
	const char *img, *err;
	struct statvfs sv;
	struct stat st;
	char line[64];
	struct jfs *fs;
	int cdepth, cmax;

	fst_init();
	img = strdup(fst_path("cred.img"));
	fst_mkfs(img, 2048, "", "64M");
	{
		char e[512];

		REQUIRE(jfs_mount(img, &o, &fs, e, sizeof(e)) == 0);
	}
	/* 3. the rule: a fresh file has depth 0 */
	REQUIRE(jfs_create(fs, &root, 2, "f", S_IFREG | 0644, O_RDWR, &st) == 0);
	CHECK_EQ(jfs_write(fs, &root, st.st_ino, 0, "x", 1), 1);
	cdepth = jfs_credits_meta_depth(fs, 1, 1, 0);
	cmax = jfs_credits_meta(fs, 1, 1);
	printf("one-block write: depth-0 rule %d credits, max rule %d\n", cdepth, cmax);
	CHECK(cdepth < cmax);
	CHECK(cmax - cdepth >= 2 * EXT4_MAX_EXTENT_DEPTH);	/* + the groups it feeds */
	jfs_release(fs, st.st_ino);
	jfs_forget(fs, st.st_ino, 1);
	CHECK_EQ(jfs_syncfs(fs), 0);

	/* 1. the overrun and the fs's answer */
	fst_stderr_begin();
	overrun(fs);
	err = fst_stderr_end();
	fputs(err, stdout);
	CHECK(strstr(err, "WARN_ON_ONCE(jbd2_handle_buffer_credits") != NULL);
	CHECK(strstr(err, "aborting transaction: error 28 in __ext4_handle_dirty_metadata") != NULL);
	snprintf(line, sizeof(line), "handle type %d started at line", EXT4_HT_WRITE_PAGE);
	CHECK(strstr(err, line) != NULL);
	CHECK(strstr(err, "/0, errcode -28") != NULL);
	CHECK(strstr(err, "Remounting filesystem read-only") != NULL);
	CHECK_EQ(jfs_mkdir(fs, &root, 2, "after", 0755, &st), -EROFS);
	CHECK_EQ(jfs_statfs(fs, &sv), 0);
	CHECK(sv.f_flag & ST_RDONLY);
	CHECK(jfs_unmount(fs) != 0 || true);

	/* 2. on disk */
	CHECK(dumpe2fs_has(img, "^FS Error count: +[1-9]"));
	CHECK(dumpe2fs_has(img, "^Filesystem state: .*with errors"));
	CHECK(dumpe2fs_has(img, "^Filesystem features:.*needs_recovery"));
	fs = fst_mount(img, false);	/* replays the committed part */
	CHECK_EQ(jfs_lookup(fs, &root, 2, "f", &st), 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_credits_abort");
}
