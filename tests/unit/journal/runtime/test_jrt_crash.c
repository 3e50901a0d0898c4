// SPDX-License-Identifier: GPL-2.0
/*
 * test_jrt_crash - what the runtime journal writes is the real jbd2 format
 * and means what it should.
 *
 * Invariant: after any crash, replaying the log -- with e2fsck
 * (-E journal_only) and with the Linux kernel (loop mount) -- yields
 * exactly the last committed contents of every journaled block; a block
 * revoked after its last journaling is NOT replayed; ordered data is home
 * before the commit that references it; debugfs logdump parses the log.
 * After a clean destroy: s_start == 0, every block is home, e2fsck -fn is
 * clean, and the next mount continues the tid sequence (never restarts).
 *
 * Workload: seeded random handles over free blocks of a real ext4 image
 * (modify with get_write_access + dirty_metadata, revoke, forget, ordered
 * data), a 1024-block journal so the log wraps many times and checkpoints
 * run under log pressure, a short commit interval plus random forced
 * commits.
 *
 * Usage: test_jrt_crash BLOCKSIZE MKFS_FEATURES JOURNAL_MB [ROUNDS]
 */
#include "jrt_test.h"

enum { ST_UNTOUCHED, ST_NORMAL, ST_REVOKED, ST_FORGOTTEN };

struct mblk {
	uint64_t blk;
	int state;
	uint32_t ver;		/* last committed-or-pending pattern version */
	tid_t rtid;		/* ST_REVOKED: the tid that freed it */
};

static uint64_t seed;

static void check_blocks(const char *path, struct jrt_image *im, struct mblk *m, int nm,
			 struct mblk *dm, int nd, const char *pre_replay_path, const char *what)
{
	char *want = malloc(im->bs), *got = malloc(im->bs), *pre = malloc(im->bs);
	int bad = 0, nrev = 0, nnorm = 0;

	for (int i = 0; i < nm; i++) {
		if (m[i].state == ST_NORMAL) {
			jrt_pattern(want, im->bs, m[i].blk, m[i].ver, seed);
			jrt_pread_block(path, im->bs, m[i].blk, got);
			nnorm++;
			if (memcmp(want, got, im->bs)) {
				if (bad++ < 5) {
					uint32_t gv, pv = 0;

					memcpy(&gv, got + 16, 4);
					if (pre_replay_path) {
						jrt_pread_block(pre_replay_path, im->bs, m[i].blk, pre);
						memcpy(&pv, pre + 16, 4);
					}
					fprintf(stderr, "%s: block %" PRIu64 " (ver %u) differs: "
						"has ver %u (before replay %u)\n",
						what, m[i].blk, m[i].ver, gv, pv);
				}
			}
		} else if (m[i].state == ST_REVOKED && pre_replay_path) {
			jrt_pread_block(pre_replay_path, im->bs, m[i].blk, pre);
			jrt_pread_block(path, im->bs, m[i].blk, got);
			nrev++;
			if (memcmp(pre, got, im->bs)) {
				if (bad++ < 5)
					fprintf(stderr, "%s: revoked block %" PRIu64 " was replayed\n",
						what, m[i].blk);
			}
		}
	}
	for (int i = 0; i < nd; i++) {
		if (dm[i].state != ST_NORMAL)
			continue;
		jrt_pattern(want, im->bs, dm[i].blk, dm[i].ver, seed);
		jrt_pread_block(path, im->bs, dm[i].blk, got);
		if (memcmp(want, got, im->bs) && bad++ < 5)
			fprintf(stderr, "%s: data block %" PRIu64 " not home\n", what, dm[i].blk);
	}
	printf("%s: %d journaled blocks, %d revoked, %d data blocks checked: %d bad\n",
	       what, nnorm, nrev, nd, bad);
	CHECK_EQ(bad, 0);
	free(want);
	free(got);
	free(pre);
}

int main(int argc, char **argv)
{
	unsigned int bs = argc > 1 ? (unsigned int)atoi(argv[1]) : 2048;
	const char *features = argc > 2 ? argv[2] : "metadata_csum,64bit";
	unsigned int jmb = argc > 3 ? (unsigned int)atoi(argv[3]) : 2;
	int rounds = argc > 4 ? atoi(argv[4]) : 1500;
	char tag[64], crash1[160], crash2[160], pre[160], mnt[160];
	struct jrt_image im;
	struct jrt_dev dev;
	journal_t *j;
	struct mblk *m, *dm;
	int nm = 200, nd = 32;

	tid_t last_tid = 0, tid0;
	journal_superblock_t jsb;
	unsigned long ncommit = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(tag, sizeof(tag), "crash%u", bs);
	seed = test_seed(tag);
	if (geteuid() != 0) {
		printf("needs root (mkfs, loop mount): skip\n");
		return 77;
	}
	jrt_mkfs(&im, tag, bs, features, jmb, "64M");
	printf("image %s: bs %u, journal %u blocks, csum %d, 64bit %d\n", im.path, im.bs,
	       im.jblocks, im.csum, im.is64);
	CHECK((unsigned int)(nm + nd) < im.nfree);
	m = calloc(nm, sizeof(*m));
	dm = calloc(nd, sizeof(*dm));
	for (int i = 0; i < nm; i++)
		m[i].blk = im.free[i];
	for (int i = 0; i < nd; i++)
		dm[i].blk = im.free[nm + i];


	/* The fs sets needs_recovery before the first handle. */
	jrt_set_needs_recovery(im.path, true);
	jrt_dev_open(&dev, &im, 0, seed);
	j = jrt_journal_open(&dev, &im);
	j->j_commit_interval = 40;	/* ms: timer commits happen too */
	tid0 = j->j_transaction_sequence;
	jrt_read_jsb(&im, &jsb);
	printf("journal: first tid %u (s_sequence %u), max txn %d, overhead %d\n", tid0,
	       ntohl(jsb.s_sequence), j->j_max_transaction_buffers,
	       j->j_transaction_overhead_buffers);

	for (int r = 0; r < rounds; r++) {
		int credits = 1 + (int)(prandom_u64() % 12);
		int revokes = (int)(prandom_u64() % 3);
		int nops = 1 + (int)(prandom_u64() % credits);
		handle_t *h = jbd2__journal_start(j, credits, 0, revokes, 0, __LINE__, "crash-test");

		CHECK(!IS_ERR(h));
		for (int o = 0; o < nops; o++) {
			unsigned int kind = (unsigned int)(prandom_u64() % 100);
			struct buffer_head *bh;

			if (kind < 10) {
				/* ordered data */
				struct mblk *d = &dm[prandom_u64() % nd];

				bh = bdev_getblk(dev.bdev, d->blk, bs);
				lock_buffer(bh);
				d->ver++;
				d->state = ST_NORMAL;
				jrt_pattern(bh->b_data, bs, d->blk, d->ver, seed);
				set_buffer_uptodate(bh);
				unlock_buffer(bh);
				mark_buffer_dirty(bh);
				CHECK_EQ(jbd2_journal_file_data(h, bh), 0);
				brelse(bh);
				continue;
			}
			struct mblk *b = &m[prandom_u64() % nm];

			if (b->state == ST_FORGOTTEN)
				continue;
			/* The fs never reuses a block before the transaction that
			 * freed it has committed (ext4's deferred frees). */
			if (b->state == ST_REVOKED &&
			    tid_gt(b->rtid, READ_ONCE(j->j_commit_sequence)))
				continue;
			bh = bdev_getblk(dev.bdev, b->blk, bs);
			CHECK_EQ(bh_read(bh), 0);
			if (kind < 18 && revokes > 0 && b->state != ST_REVOKED) {
				/* free the block: revoke (+ forget through bh_in) */
				CHECK_EQ(jbd2_journal_revoke(h, b->blk, bh), 0);	/* consumes bh */
				b->state = ST_REVOKED;
				b->rtid = h->h_transaction->t_tid;
				revokes--;
				continue;
			}
			if (kind < 21 && b->state == ST_UNTOUCHED) {
				CHECK_EQ(jbd2_journal_forget(h, bh), 0);	/* consumes bh */
				b->state = ST_FORGOTTEN;
				continue;
			}
			CHECK_EQ(jbd2_journal_get_write_access(h, bh), 0);
			b->ver++;
			b->state = ST_NORMAL;
			jrt_pattern(bh->b_data, bs, b->blk, b->ver, seed);
			CHECK_EQ(jbd2_journal_dirty_metadata(h, bh), 0);
			brelse(bh);
		}
		last_tid = h->h_transaction->t_tid;
		if (prandom_u64() % 20 == 0)
			h->h_sync = 1;
		CHECK_EQ(jbd2_journal_stop(h), 0);
		if (prandom_u64() % 25 == 0)
			CHECK_EQ(jbd2_journal_force_commit(j), 0);
		if (prandom_u64() % 50 == 0)
			CHECK_EQ(jbd2_complete_transaction(j, last_tid), 0);
	}
	CHECK_EQ(jbd2_journal_force_commit(j), 0);
	ncommit = (unsigned long)atomic_load(&j->j_stat_commits);
	printf("committed up to tid %u: %lu commits, %" PRIu64 " log blocks, %" PRIu64
	       " checkpoints, log wrapped %lu times\n", last_tid, ncommit,
	       (uint64_t)atomic_load(&j->j_stat_blocks_logged),
	       (uint64_t)atomic_load(&j->j_stat_checkpoints),
	       (unsigned long)(atomic_load(&j->j_stat_blocks_logged) / (j->j_last - j->j_first)));
	CHECK(atomic_load(&j->j_stat_blocks_logged) > 2 * (j->j_last - j->j_first));

	/* ---- (a) crash: the image as it is now, nothing more written home */
	blk_drain(dev.bdev);
	snprintf(pre, sizeof(pre), "%s.pre", im.path);
	snprintf(crash1, sizeof(crash1), "%s.crash-e2fsck", im.path);
	snprintf(crash2, sizeof(crash2), "%s.crash-kernel", im.path);
	jrt_copy_file(im.path, pre);
	jrt_copy_file(im.path, crash1);
	jrt_copy_file(im.path, crash2);
	jrt_read_jsb(&im, &jsb);
	CHECK(jsb.s_start != 0);

	{
		char cmd[512], line[512];
		bool found_commit = false;
		FILE *p;

		snprintf(cmd, sizeof(cmd), "debugfs -R 'logdump -a' %s 2>&1", crash1);
		p = popen(cmd, "r");
		CHECK(p);
		snprintf(cmd, sizeof(cmd), "Found expected sequence %u, type 2 (commit block)",
			 last_tid);
		while (fgets(line, sizeof(line), p))
			if (strstr(line, cmd))
				found_commit = true;
		CHECK_EQ(pclose(p), 0);
		printf("logdump: commit block of tid %u %s\n", last_tid,
		       found_commit ? "found" : "MISSING");
		CHECK(found_commit);
	}
	{
		int rc = jrt_sh("e2fsck -E journal_only -y %s >/tmp/jbdlab-jrt-e2fsck.log 2>&1",
				crash1);

		printf("e2fsck -E journal_only: rc %d\n", rc);
		CHECK(rc == 0 || rc == 1);
		check_blocks(crash1, &im, m, nm, dm, nd, pre, "e2fsck replay");
		rc = jrt_sh("e2fsck -fn %s >/tmp/jbdlab-jrt-e2fsck.log 2>&1", crash1);
		printf("e2fsck -fn after replay: rc %d\n", rc);
		CHECK_EQ(rc, 0);
	}
	{
		int rc;

		snprintf(mnt, sizeof(mnt), "/tmp/jbdlab-jrt-mnt-%d", (int)getpid());
		mkdir(mnt, 0755);
		rc = jrt_sh("mount -o loop %s %s", crash2, mnt);
		printf("kernel mount (replay): rc %d\n", rc);
		CHECK_EQ(rc, 0);
		CHECK_EQ(jrt_sh("umount %s", mnt), 0);
		rmdir(mnt);
		check_blocks(crash2, &im, m, nm, dm, nd, pre, "kernel replay");
		rc = jrt_sh("e2fsck -fn %s >/tmp/jbdlab-jrt-e2fsck.log 2>&1", crash2);
		printf("e2fsck -fn after kernel replay: rc %d\n", rc);
		CHECK_EQ(rc, 0);
	}

	/* ---- (b) clean destroy */
	CHECK_EQ(jbd2_journal_destroy(j), 0);
	jrt_dev_close(&dev);
	jrt_read_jsb(&im, &jsb);
	printf("after destroy: s_start %u s_sequence %u (last tid %u)\n", ntohl(jsb.s_start),
	       ntohl(jsb.s_sequence), last_tid);
	CHECK_EQ(ntohl(jsb.s_start), 0);
	CHECK(tid_gt(ntohl(jsb.s_sequence), last_tid));
	jrt_set_needs_recovery(im.path, false);
	check_blocks(im.path, &im, m, nm, dm, nd, NULL, "clean destroy");
	CHECK_EQ(jrt_sh("e2fsck -fn %s >/tmp/jbdlab-jrt-e2fsck.log 2>&1", im.path), 0);

	/* the next mount continues the sequence */
	{
		tid_t s = ntohl(jsb.s_sequence), t;
		handle_t *h;
		struct buffer_head *bh;

		jrt_set_needs_recovery(im.path, true);
		jrt_dev_open(&dev, &im, 0, seed);
		j = jrt_journal_open(&dev, &im);
		CHECK_EQ(j->j_transaction_sequence, s + 1);
		h = jbd2_journal_start(j, 1);
		CHECK(!IS_ERR(h));
		t = h->h_transaction->t_tid;
		bh = bdev_getblk(dev.bdev, m[0].blk, bs);
		CHECK_EQ(bh_read(bh), 0);
		CHECK_EQ(jbd2_journal_get_write_access(h, bh), 0);
		m[0].ver++;
		m[0].state = ST_NORMAL;
		jrt_pattern(bh->b_data, bs, m[0].blk, m[0].ver, seed);
		CHECK_EQ(jbd2_journal_dirty_metadata(h, bh), 0);
		brelse(bh);
		CHECK_EQ(jbd2_journal_stop(h), 0);
		CHECK_EQ(jbd2_journal_force_commit(j), 0);
		jrt_read_jsb(&im, &jsb);
		printf("remount: tid %u committed, s_sequence on disk %u, s_start %u\n", t,
		       ntohl(jsb.s_sequence), ntohl(jsb.s_start));
		CHECK(tid_gt(t, last_tid));
		CHECK_EQ(ntohl(jsb.s_sequence), t);
		CHECK(jsb.s_start != 0);
		CHECK_EQ(jbd2_journal_destroy(j), 0);
		jrt_dev_close(&dev);
		jrt_set_needs_recovery(im.path, false);
		CHECK_EQ(jrt_sh("e2fsck -fn %s >/tmp/jbdlab-jrt-e2fsck.log 2>&1", im.path), 0);
	}
	CHECK_EQ(atomic_load(&nr_live_buffer_heads), 0);
	unlink(pre);
	unlink(crash1);
	unlink(crash2);
	unlink(im.path);
	printf("PASS\n");
	return 0;
}
