// SPDX-License-Identifier: GPL-2.0
/*
 * test_poison - a write through a stale b_data pointer is detected.
 *
 * Story: in I1 (bnc#1137609) a metadata user kept a b_data-derived pointer
 * while migration copied the folio and freed the source; its write landed
 * in freed memory and was lost ("directory missing '.'").  The lab makes
 * such writes observable: a freed folio is poisoned with FOLIO_POISON and
 * quarantined, never reused, and the poison is verified by
 * quarantine_scan() and at release.  Here the folio is freed by eviction
 * (the same free path migration's source folio takes).
 * Invariants: the stale address is recognised (mm_addr_in_quarantine), the
 * write is reported once with the right pfn/generation/offset/byte, and a
 * folio is released only after quarantine_len newer frees and a grace
 * period.
 */
#include "mm_test.h"

static struct mm_poison_report last;
static int reports;

static void hook(const struct mm_poison_report *r)
{
	last = *r;
	reports++;
}

int main(void)
{
	struct test_dev d;
	struct buffer_head *bh;
	char *stale;
	uint64_t pfn, gen;

	test_seed("test_poison");
	poison_report_hook = hook;
	quarantine_set_len(1024);
	test_dev_open(&d, 64 * 2048, 11, 0, 0, true);

	bh = __bread(d.bdev, 9, 2048);
	stale = bh->b_data;		/* a metadata user's saved pointer */
	pfn = bh->b_folio->pfn;
	gen = bh->b_folio->generation;
	brelse(bh);
	invalidate_bh_lrus();
	blk_drain(d.bdev);	/* the read completion drops b_count after unlock */
	CHECK(!mm_addr_in_quarantine(stale));
	CHECK_EQ(shrink_mapping(&d.mapping, 0) + shrink_mapping(&d.mapping, 0), 1);
	CHECK_EQ(quarantine_count(), 1);
	CHECK(mm_addr_in_quarantine(stale));
	CHECK((unsigned char)stale[0] == FOLIO_POISON);	/* a stale read sees poison */
	CHECK_EQ(quarantine_scan(), 0);

	stale[123] = 0x42;		/* the lost update */
	CHECK_EQ(quarantine_scan(), 1);
	CHECK_EQ(quarantine_violations(), 1);
	CHECK_EQ(reports, 1);
	CHECK_EQ(last.pfn, pfn);
	CHECK_EQ(last.generation, gen);
	CHECK_EQ(last.offset, 2048 + 123);		/* block 9 = second half */
	CHECK_EQ(last.byte, 0x42);
	CHECK_EQ(quarantine_scan(), 0);			/* reported once */

	/* A write caught only at release time. */
	stale[7] = 0x43;
	/* Release policy: held until > len newer frees (and a grace period). */
	quarantine_set_len(4);
	for (int i = 0; i < 3; i++)
		folio_put(folio_alloc(0));
	CHECK_EQ(quarantine_count(), 4);		/* nothing released yet */
	quarantine_drain();				/* grace period + release */
	CHECK_EQ(quarantine_count(), 0);
	CHECK_EQ(quarantine_violations(), 2);
	CHECK_EQ(last.offset, 2048 + 7);

	/* Automatic release: a batch leaves after call_rcu's grace period. */
	quarantine_set_len(8);
	for (int i = 0; i < 50; i++)
		folio_put(folio_alloc(0));
	for (int i = 0; i < 500 && quarantine_count() >= 50; i++)
		usleep(10 * 1000);
	CHECK(quarantine_count() < 50);
	CHECK(quarantine_count() >= 8);			/* never below the length */
	CHECK_EQ(quarantine_violations(), 2);

	/* A large folio is found from a pointer into any of its pages, and
	 * only while it is queued (the hash holds it once, by its address). */
	{
		struct folio *big = folio_alloc(2), *small = folio_alloc(0);
		char *in_third = big->data + 2 * PAGE_SIZE + 5, *s0 = small->data;
		uint64_t bpfn = big->pfn, qpfn = 0;

		quarantine_set_len(1024);
		folio_put(big);
		CHECK(mm_quarantine_lookup(in_third, &qpfn, NULL));
		CHECK_EQ(qpfn, bpfn);
		CHECK(mm_addr_in_quarantine(big->data + 4 * PAGE_SIZE - 1));
		CHECK(!mm_addr_in_quarantine(s0));	/* live */
		folio_put(small);
		CHECK(mm_addr_in_quarantine(s0));
		quarantine_drain();
		CHECK(!mm_addr_in_quarantine(in_third));
		CHECK(!mm_addr_in_quarantine(s0));
		CHECK_EQ(quarantine_violations(), 2);
	}

	/*
	 * The page allocator under it: fresh chunks (mapped on demand, then
	 * pre-faulted by the refill thread once the process allocates in bulk)
	 * and recycled memory (poisoned in quarantine) both come back zeroed,
	 * and a recycled folio is a new pfn and generation.
	 */
	{
		enum { N = 4096 };	/* 16 MiB of order-0 folios: 8 chunks */
		static struct folio *fs[N];
		uint64_t maxpfn = 0;

		quarantine_set_len(0);
		for (int round = 0; round < 2; round++) {
			for (int i = 0; i < N; i++) {
				const uint64_t *w;

				fs[i] = folio_alloc(0);
				w = (const uint64_t *)fs[i]->data;
				for (size_t k = 0; k < PAGE_SIZE / 8; k++)
					CHECK_EQ(w[k], 0);
				CHECK(fs[i]->pfn > maxpfn);
				maxpfn = fs[i]->pfn;
				memset(fs[i]->data, 0x5a, PAGE_SIZE);	/* dirty it */
			}
			for (int i = 0; i < N; i++)
				folio_put(fs[i]);
			quarantine_drain();	/* round 2 reuses this memory */
		}
		CHECK_EQ(quarantine_violations(), 2);
	}

	/* Teardown: quarantine_len folios are quarantined, the rest freed
	 * after the grace period without it. */
	for (int b = 0; b < 40; b++)
		brelse(__bread(d.bdev, (sector_t)b, 2048));	/* 20 folios */
	invalidate_bh_lrus();
	blk_drain(d.bdev);
	quarantine_drain();
	quarantine_set_len(8);
	test_dev_close(&d);
	CHECK_EQ(quarantine_count(), 8);
	CHECK_EQ(atomic_load(&nr_live_folios), 0);
	check_no_leaks();
	CHECK_EQ(quarantine_violations(), 2);
	printf("test_poison: ok\n");
	return 0;
}
