// SPDX-License-Identifier: GPL-2.0
/*
 * test_jrt_fidelity - the buffer references and the aliasing temporary bh
 * are modelled exactly as the kernel has them (kernel-race.md §2.4, §7.5).
 *
 * Invariants protected (a simulator that breaks any of them "finds" races
 * the kernel does not have, or hides the ones it has):
 *   1. a journal_head pins its bh: b_count >= 1 from get_write_access until
 *      the jh is freed after checkpoint, and >= 2 during commit I/O;
 *   2. jbd2_journal_write_metadata_buffer()'s temporary bh aliases the live
 *      folio (same b_folio, same b_data) and the folio's refcount is NOT
 *      raised during the journal I/O;
 *   3. the bytes that reach the log are those in the folio at the DMA
 *      moment: a rogue write after submit (no get_write_access: the I2
 *      mechanism) shows up in the log and breaks the tag checksum, while a
 *      proper get_write_access sleeps on BH_Shadow until the I/O is done;
 *   4. a buffer still on the committing transaction's BJ_Metadata is
 *      copied out (b_frozen_data) when the next transaction writes it, and
 *      the log gets the frozen bytes.
 * The disk is held at its DMA moment by a "gate" request queued ahead of
 * the commit's writes (one I/O thread, FIFO), so the interleaving is exact.
 */
#include <pthread.h>
#include "jrt_test.h"

static uint64_t seed;
static struct jrt_image im;
static struct jrt_dev dev;
static journal_t *j;

/* ---- the gate: a request whose completion blocks the I/O thread */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_reached;
static char gate_buf[4096];
static struct blk_request gate_rq;

static void gate_end_io(struct blk_request *rq, int err)
{
	pthread_mutex_lock(&gate_lock);
	gate_reached = true;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void gate_close_submit(void)
{
	gate_open = false;
	gate_reached = false;
	memset(&gate_rq, 0, sizeof(gate_rq));
	gate_rq.opf = REQ_OP_READ;
	gate_rq.pos = 0;
	gate_rq.len = 512;
	gate_rq.buf = gate_buf;
	gate_rq.end_io = gate_end_io;
	INIT_LIST_HEAD(&gate_rq.queue);
	blk_submit(dev.bdev, &gate_rq);
}

static void gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* ---- the observer */
static struct buffer_head *watch_bh;
static bool use_gate;
static struct {
	bool seen, aliasing, same_folio, same_data, submitted, ended;
	int b_count_begin, folio_ref_begin, folio_ref_submitted;
	unsigned long long log_blk;
	char csummed[4096];	/* the bytes the tag checksum was taken over */
	char dma[4096];		/* what the completion saw in tmp->b_data */
	tid_t tid;
} obs;
static bool block_at_flush, flush_reached, flush_go;

static void o_state(journal_t *jj, transaction_t *t, enum transaction_state st, void *p)
{
	if (st == T_FLUSH && block_at_flush) {
		pthread_mutex_lock(&gate_lock);
		flush_reached = true;
		pthread_cond_broadcast(&gate_cond);
		while (!flush_go)
			pthread_cond_wait(&gate_cond, &gate_lock);
		pthread_mutex_unlock(&gate_lock);
	}
}

static void o_begin(journal_t *jj, struct buffer_head *bh_in, struct buffer_head *tmp,
		    bool aliasing, void *p)
{
	if (bh_in != watch_bh)
		return;
	obs.seen = true;
	obs.aliasing = aliasing;
	obs.same_folio = tmp->b_folio == bh_in->b_folio;
	obs.same_data = tmp->b_data == bh_in->b_data;
	obs.b_count_begin = atomic_load(&bh_in->b_count);
	obs.folio_ref_begin = folio_ref_count(bh_in->b_folio);
	obs.log_blk = tmp->b_blocknr;
	obs.tid = bh2jh(bh_in)->b_transaction->t_tid;
	memcpy(obs.csummed, tmp->b_data, tmp->b_size);
	if (use_gate)
		gate_close_submit();	/* ahead of this batch's writes */
}

static void o_submitted(journal_t *jj, struct buffer_head *bh_in, struct buffer_head *tmp, void *p)
{
	if (bh_in != watch_bh)
		return;
	obs.folio_ref_submitted = folio_ref_count(bh_in->b_folio);
	pthread_mutex_lock(&gate_lock);
	obs.submitted = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static void o_end(journal_t *jj, struct buffer_head *bh_in, struct buffer_head *tmp, int up, void *p)
{
	if (bh_in != watch_bh)
		return;
	memcpy(obs.dma, tmp->b_data, tmp->b_size);
	obs.ended = true;
}

static const struct jbd2_commit_observer observer = {
	.commit_state = o_state, .tmpbh_begin = o_begin,
	.tmpbh_submitted = o_submitted, .tmpbh_end = o_end,
};

static void wait_flag(bool *flag)
{
	pthread_mutex_lock(&gate_lock);
	while (!*flag)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void dirty_block(struct buffer_head *bh, uint32_t ver)
{
	handle_t *h = jbd2_journal_start(j, 1);

	CHECK(!IS_ERR(h));
	CHECK_EQ(jbd2_journal_get_write_access(h, bh), 0);
	jrt_pattern(bh->b_data, im.bs, bh->b_blocknr, ver, seed);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, bh), 0);
	CHECK_EQ(jbd2_journal_stop(h), 0);
}

/* thread C2: a proper writer of the next transaction */
static struct buffer_head *c2_bh;
static _Atomic bool c2_returned, c2_saw_shadow;
static void *c2_main(void *arg)
{
	handle_t *h = jbd2_journal_start(j, 1);

	CHECK(!IS_ERR(h));
	CHECK_EQ(jbd2_journal_get_write_access(h, c2_bh), 0);
	atomic_store(&c2_saw_shadow, buffer_shadow(c2_bh));
	atomic_store(&c2_returned, true);
	jrt_pattern(c2_bh->b_data, im.bs, c2_bh->b_blocknr, 99, seed);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, c2_bh), 0);
	CHECK_EQ(jbd2_journal_stop(h), 0);
	bh_lru_thread_exit();
	return NULL;
}

static void test_alias_shadow_rogue(void)
{
	struct buffer_head *bh = bdev_getblk(dev.bdev, im.free[0], im.bs);
	int base, ref_before;
	char *rogue = malloc(im.bs), *disk = malloc(im.bs), *desc = malloc(im.bs);
	pthread_t c2;
	unsigned int li;
	tid_t t1;

	CHECK_EQ(bh_read(bh), 0);
	blk_drain(dev.bdev);	/* the read completion drops its b_count after unlock */
	invalidate_bh_lru_current();
	base = atomic_load(&bh->b_count);	/* our reference */
	CHECK_EQ(base, 1);
	dirty_block(bh, 1);
	CHECK_EQ(atomic_load(&bh->b_count), base + 1);	/* + the jh pin */
	CHECK(buffer_jbd(bh));
	t1 = bh2jh(bh)->b_transaction->t_tid;
	ref_before = folio_ref_count(bh->b_folio);

	memset(&obs, 0, sizeof(obs));
	watch_bh = bh;
	use_gate = true;
	WRITE_ONCE(j->j_observer, &observer);
	CHECK_EQ(jbd2_log_start_commit(j, t1), 1);
	wait_flag(&obs.submitted);
	wait_flag(&gate_reached);
	/* the temp bh is submitted; the disk sits before its DMA moment */
	CHECK(obs.seen && obs.aliasing && obs.same_folio && obs.same_data);
	CHECK(obs.b_count_begin >= 2);
	CHECK_EQ(obs.b_count_begin, base + 2);		/* ours + jh + commit */
	CHECK_EQ(obs.folio_ref_begin, ref_before);	/* no folio reference */
	CHECK_EQ(obs.folio_ref_submitted, ref_before);
	CHECK_EQ(folio_ref_count(bh->b_folio), ref_before);
	CHECK(buffer_shadow(bh));
	CHECK(atomic_load(&bh->b_count) >= 2);
	printf("commit I/O: b_count %d (base %d), folio refcount %d (before %d), aliasing %d\n",
	       atomic_load(&bh->b_count), base, folio_ref_count(bh->b_folio), ref_before,
	       obs.aliasing);

	/* a proper writer sleeps on BH_Shadow */
	c2_bh = bh;
	CHECK_EQ(pthread_create(&c2, NULL, c2_main, NULL), 0);
	usleep(100000);
	CHECK(!atomic_load(&c2_returned));

	/* the rogue write (no get_write_access), after submit, before the DMA */
	jrt_pattern(rogue, im.bs, bh->b_blocknr, 66, seed);
	memcpy(bh->b_data, rogue, im.bs);
	gate_release();
	CHECK_EQ(jbd2_log_wait_commit(j, t1), 0);
	CHECK_EQ(pthread_join(c2, NULL), 0);
	CHECK(atomic_load(&c2_returned));
	CHECK(!atomic_load(&c2_saw_shadow));
	CHECK(obs.ended);
	CHECK(memcmp(obs.dma, rogue, im.bs) == 0);	/* the DMA read the folio late */
	CHECK(memcmp(obs.csummed, rogue, im.bs) != 0);
	jrt_pread_block(im.path, im.bs, obs.log_blk, disk);
	CHECK(memcmp(disk, rogue, im.bs) == 0);
	/* the tag checksum (taken at submit) no longer matches the log block */
	for (li = 0; li < im.jblocks && im.jmap[li] != obs.log_blk; li++)
		;
	CHECK(li > 0 && li < im.jblocks);
	jrt_pread_block(im.path, im.bs, im.jmap[li - 1], desc);
	CHECK_EQ(ntohl(((journal_header_t *)desc)->h_blocktype), JBD2_DESCRIPTOR_BLOCK);
	CHECK(jbd2_block_tag_csum_verify(j, desc + sizeof(journal_header_t), obs.csummed, t1));
	CHECK(!jbd2_block_tag_csum_verify(j, desc + sizeof(journal_header_t), disk, t1));
	printf("I2 mechanism: the log block holds the rogue bytes, tag checksum mismatch; "
	       "get_write_access waited for BH_Shadow\n");
	use_gate = false;
	WRITE_ONCE(j->j_observer, NULL);
	CHECK_EQ(jbd2_journal_force_commit(j), 0);
	CHECK(atomic_load(&bh->b_count) >= base + 1);	/* still pinned until checkpoint */
	brelse(bh);
	free(rogue);
	free(disk);
	free(desc);
}

static void test_frozen_copy(void)
{
	struct buffer_head *bh = bdev_getblk(dev.bdev, im.free[1], im.bs);
	char *want = malloc(im.bs), *disk = malloc(im.bs);
	struct journal_head *jh;
	handle_t *h;
	tid_t t1;

	CHECK_EQ(bh_read(bh), 0);
	dirty_block(bh, 1);
	t1 = bh2jh(bh)->b_transaction->t_tid;
	memset(&obs, 0, sizeof(obs));
	watch_bh = bh;
	block_at_flush = true;
	flush_reached = flush_go = false;
	WRITE_ONCE(j->j_observer, &observer);
	CHECK_EQ(jbd2_log_start_commit(j, t1), 1);
	wait_flag(&flush_reached);
	/* T1 is committing (T_FLUSH), bh still on its BJ_Metadata */
	jh = bh2jh(bh);
	CHECK(jh->b_transaction == j->j_committing_transaction);
	CHECK_EQ(jh->b_jlist, BJ_Metadata);
	h = jbd2_journal_start(j, 1);
	CHECK(!IS_ERR(h));
	CHECK_EQ(jbd2_journal_get_write_access(h, bh), 0);	/* must not block */
	CHECK(jh->b_frozen_data != NULL);
	CHECK(jh->b_next_transaction == h->h_transaction);
	jrt_pattern(bh->b_data, im.bs, bh->b_blocknr, 2, seed);
	CHECK_EQ(jbd2_journal_dirty_metadata(h, bh), 0);
	CHECK_EQ(jbd2_journal_stop(h), 0);
	pthread_mutex_lock(&gate_lock);
	flush_go = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	CHECK_EQ(jbd2_log_wait_commit(j, t1), 0);
	CHECK(obs.seen && !obs.aliasing && !obs.same_folio);	/* the frozen copy was logged */
	jrt_pattern(want, im.bs, bh->b_blocknr, 1, seed);
	jrt_pread_block(im.path, im.bs, obs.log_blk, disk);
	CHECK(memcmp(disk, want, im.bs) == 0);
	block_at_flush = false;
	/* the next commit logs the live (aliased) version 2 */
	memset(&obs, 0, sizeof(obs));
	CHECK_EQ(jbd2_journal_force_commit(j), 0);
	CHECK(obs.seen && obs.aliasing);
	jrt_pattern(want, im.bs, bh->b_blocknr, 2, seed);
	jrt_pread_block(im.path, im.bs, obs.log_blk, disk);
	CHECK(memcmp(disk, want, im.bs) == 0);
	WRITE_ONCE(j->j_observer, NULL);
	printf("frozen copy-out: T1 logged the frozen version, T2 the live one\n");
	brelse(bh);
	free(want);
	free(disk);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = test_seed("jrt_fidelity");
	if (geteuid() != 0 && jrt_sh("which mkfs.ext4 >/dev/null") != 0)
		return 77;
	jrt_mkfs(&im, "fid", 2048, "metadata_csum,64bit", 2, "32M");
	jrt_set_needs_recovery(im.path, true);
	jrt_dev_open(&dev, &im, 0, seed);
	j = jrt_journal_open(&dev, &im);
	j->j_commit_interval = 3600 * 1000;	/* commits only when asked */

	test_alias_shadow_rogue();
	test_frozen_copy();

	CHECK_EQ(jbd2_journal_destroy(j), 0);
	jrt_dev_close(&dev);
	jrt_set_needs_recovery(im.path, false);
	CHECK_EQ(jrt_sh("e2fsck -fn %s >/dev/null 2>&1", im.path), 0);
	unlink(im.path);
	printf("PASS\n");
	return 0;
}
