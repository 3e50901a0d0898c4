// SPDX-License-Identifier: GPL-2.0
/*
 * test_refcount - folio refcount, freeze and free rules.
 *
 * Invariants (kernel-race.md §7.3 item 5):
 *   - folio_ref_freeze(expected) never succeeds while someone holds one more
 *     reference (a lookup's folio_try_get): this is the only thing that
 *     stopped migration in the window of I1 when the lookup had not yet
 *     dropped its temporary folio reference;
 *   - folio_try_get() fails while the folio is frozen (filemap_get_entry
 *     then retries and sees the new slot);
 *   - the last folio_put() poisons and quarantines the folio (never freed
 *     at once), and b_count / folio refcounts can never go negative: both
 *     are BUGs, checked here in forked children.
 */
#include <signal.h>
#include <sys/wait.h>

#include "mm_test.h"

static void expect_bug(const char *what, void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		/* silence the child's BUG message */
		freopen("/dev/null", "w", stderr);
		fn();
		_exit(0);	/* no BUG: failure */
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
		fprintf(stderr, "expected a BUG from %s\n", what);
		exit(1);
	}
	printf("  %s: BUG as expected\n", what);
}

static void put_bh_negative(void)
{
	struct buffer_head *bh = alloc_buffer_head();

	put_bh(bh);	/* 1 -> 0: fine */
	put_bh(bh);	/* 0 -> -1: BUG */
}

static void folio_get_frozen(void)
{
	struct folio *f = folio_alloc(0);

	CHECK(folio_ref_freeze(f, 1));
	folio_get(f);	/* BUG: count was 0 */
}

static void folio_put_free(void)
{
	struct folio *f = folio_alloc(0);

	folio_get(f);
	folio_put(f);
	folio_put(f);	/* frees */
	/* f is in quarantine, its struct still valid: a put now is a BUG */
	folio_put(f);
}

int main(void)
{
	struct folio *f;
	char *data;

	test_seed("test_refcount");

	f = folio_alloc(0);
	CHECK_EQ(folio_ref_count(f), 1);
	CHECK(folio_try_get(f));			/* a lookup's temporary ref */
	CHECK_EQ(folio_ref_count(f), 2);
	CHECK(!folio_ref_freeze(f, 1));		/* extra ref held: must fail */
	CHECK_EQ(folio_ref_count(f), 2);
	folio_put(f);
	CHECK(folio_ref_freeze(f, 1));
	CHECK_EQ(folio_ref_count(f), 0);
	CHECK(!folio_try_get(f));			/* frozen: try_get fails */
	CHECK_EQ(folio_ref_count(f), 0);
	folio_ref_unfreeze(f, 1);
	CHECK(folio_try_get(f));
	folio_put(f);

	/* The last put quarantines: poisoned, PG_freed, address recognised. */
	data = folio_address(f);
	memset(data, 0x11, PAGE_SIZE);
	CHECK_EQ(quarantine_count(), 0);
	folio_put(f);
	CHECK_EQ(quarantine_count(), 1);
	CHECK(folio_test_freed(f));
	CHECK(mm_addr_in_quarantine(data + 100));
	for (size_t i = 0; i < PAGE_SIZE; i++)
		CHECK((unsigned char)data[i] == FOLIO_POISON);
	CHECK(!folio_try_get(f));			/* free: try_get fails too */
	CHECK_EQ(quarantine_scan(), 0);
	CHECK_EQ(atomic_load(&nr_live_folios), 0);

	/* A mapped folio: expected refs = nr_pages + PG_private. */
	{
		struct test_dev d;
		struct buffer_head *bh;
		struct folio *mf, *tmp;
		int expected;

		test_dev_open(&d, 64 * 2048, 11, 0, 0, false);
		bh = bdev_getblk(d.bdev, 3, 2048);
		mf = bh->b_folio;
		expected = folio_expected_ref_count(mf);
		CHECK_EQ(expected, 2);
		CHECK_EQ(folio_ref_count(mf), expected);
		CHECK(folio_try_get(mf));			/* isolation */
		tmp = filemap_get_folio(&d.mapping, mf->index);	/* a lookup's ref */
		CHECK(tmp == mf);
		CHECK(!folio_ref_freeze(mf, expected + 1));	/* I1's last defence */
		folio_put(tmp);
		CHECK(folio_ref_freeze(mf, expected + 1));
		/* filemap_get_entry() would spin here until the unfreeze */
		CHECK(!folio_try_get(mf));
		folio_ref_unfreeze(mf, expected + 1);
		tmp = filemap_get_folio(&d.mapping, mf->index);
		CHECK(tmp == mf);
		folio_put(tmp);
		folio_put(mf);
		brelse(bh);
		test_dev_close(&d);
	}

	expect_bug("put_bh below zero", put_bh_negative);
	expect_bug("folio_get on a frozen folio", folio_get_frozen);
	expect_bug("folio_put on a freed folio", folio_put_free);

	check_no_leaks();
	printf("test_refcount: ok\n");
	return 0;
}
