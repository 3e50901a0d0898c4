// SPDX-License-Identifier: GPL-2.0
/*
 * test_jrt_credits_abort - handle credits and journal abort behave as jbd2.
 *
 * Invariants protected:
 *   1. each buffer costs one credit the first time a handle's transaction
 *      dirties it; a handle out of credits gets WARN_ON_ONCE (printed once
 *      per run) and -ENOSPC from jbd2_journal_dirty_metadata() -- the I3
 *      signature of the 2025 ext4 report (32a93f5bc9b9);
 *   2. a handle asking for more than jbd2_max_user_trans_buffers() fails to
 *      start with -ENOSPC; handles nest per thread (h_ref); extend adds
 *      credits while the transaction runs;
 *   3. jbd2_journal_abort(): new handles get -EROFS, s_errno is on disk,
 *      the committed log is left for recovery (s_start != 0), destroy
 *      returns -EIO.
 */
#include "jrt_test.h"

int main(void)
{
	struct jrt_image im;
	struct jrt_dev dev;
	journal_t *j;
	handle_t *h, *h2;
	struct buffer_head *bh[4];
	journal_superblock_t jsb;
	char logpath[128], line[512];
	int saved, fd, warns = 0;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_seed("jrt_credits_abort");
	if (jrt_sh("which mkfs.ext4 >/dev/null") != 0)
		return 77;
	jrt_mkfs(&im, "cred", 4096, "metadata_csum,64bit", 4, "32M");
	jrt_set_needs_recovery(im.path, true);
	jrt_dev_open(&dev, &im, 0, 1);
	j = jrt_journal_open(&dev, &im);
	printf("limits: max txn %d, overhead %d, revoke records/block %d\n",
	       j->j_max_transaction_buffers, j->j_transaction_overhead_buffers,
	       j->j_revoke_records_per_block);
	CHECK_EQ(j->j_max_transaction_buffers, 341);	/* 1024 / 3 (6.12) */
	CHECK_EQ(j->j_transaction_overhead_buffers, 3);	/* kernel example: 4 KiB csum v3 */
	CHECK_EQ(j->j_revoke_records_per_block, (4096 - 16 - 4) / 8);

	for (int i = 0; i < 4; i++) {
		bh[i] = bdev_getblk(dev.bdev, im.free[i], im.bs);
		CHECK_EQ(bh_read(bh[i]), 0);
	}

	/* 2. too many credits; nesting; extend */
	h = jbd2_journal_start(j, 339);
	CHECK(IS_ERR(h) && PTR_ERR(h) == -ENOSPC);
	h = jbd2_journal_start(j, 338);
	CHECK(!IS_ERR(h));
	CHECK_EQ(jbd2_journal_stop(h), 0);
	h = jbd2_journal_start(j, 2);
	h2 = jbd2_journal_start(j, 5);
	CHECK(h2 == h && h->h_ref == 2);
	CHECK_EQ(jbd2_journal_stop(h2), 0);
	CHECK(jbd2_journal_current_handle() == h);

	/* 1. credits: 2 distinct buffers fit, the third does not */
	snprintf(logpath, sizeof(logpath), "/tmp/jbdlab-jrt-warn-%d.log", (int)getpid());
	fflush(stderr);
	saved = dup(2);
	fd = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	CHECK(fd >= 0 && dup2(fd, 2) == 2);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(jbd2_journal_get_write_access(h, bh[i]), 0);
		CHECK_EQ(jbd2_journal_dirty_metadata(h, bh[i]), 0);
		CHECK_EQ(jbd2_journal_dirty_metadata(h, bh[i]), 0);	/* once per buffer */
	}
	CHECK_EQ(jbd2_journal_get_write_access(h, bh[2]), 0);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, bh[2]), -ENOSPC);
	CHECK_EQ(jbd2_journal_stop(h), 0);
	CHECK(jbd2_journal_current_handle() == NULL);
	/* again in another handle: -ENOSPC, but no second WARN */
	h = jbd2_journal_start(j, 1);
	CHECK_EQ(jbd2_journal_get_write_access(h, bh[3]), 0);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, bh[3]), 0);
	CHECK_EQ(jbd2_journal_get_write_access(h, bh[2]), 0);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, bh[2]), -ENOSPC);
	/* extend makes room */
	CHECK_EQ(jbd2_journal_extend(h, 1, 0), 0);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, bh[2]), 0);
	CHECK_EQ(jbd2_journal_stop(h), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	f = fopen(logpath, "r");
	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "WARN_ON_ONCE(jbd2_handle_buffer_credits"))
			warns++;
		fputs(line, stdout);
	}
	fclose(f);
	unlink(logpath);
	printf("credits: -ENOSPC twice, WARN printed %d time(s)\n", warns);
	CHECK_EQ(warns, 1);
	CHECK_EQ(jbd2_journal_force_commit(j), 0);

	/* 3. abort */
	jbd2_journal_abort(j, -EIO);
	h = jbd2_journal_start(j, 1);
	CHECK(IS_ERR(h) && PTR_ERR(h) == -EROFS);
	CHECK_EQ(jbd2_journal_errno(j), -EROFS);
	jrt_read_jsb(&im, &jsb);
	printf("abort: s_errno on disk %d, s_start %u\n", (int32_t)ntohl((uint32_t)jsb.s_errno),
	       ntohl(jsb.s_start));
	CHECK_EQ((int32_t)ntohl((uint32_t)jsb.s_errno), -EIO);
	CHECK(jsb.s_start != 0);
	for (int i = 0; i < 4; i++)
		brelse(bh[i]);
	CHECK_EQ(jbd2_journal_destroy(j), -EIO);
	/* Committed buffers stay dirty in the bdev cache after an abort (as in
	 * the kernel); the unmount's sync writes them home (kill_block_super). */
	CHECK_EQ(sync_blockdev(dev.bdev), 0);
	jrt_dev_close(&dev);
	jrt_read_jsb(&im, &jsb);
	CHECK(jsb.s_start != 0);	/* left for recovery */
	unlink(im.path);
	printf("PASS\n");
	return 0;
}
