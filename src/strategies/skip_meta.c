// SPDX-License-Identifier: GPL-2.0
/*
 * skip-meta - Luis Chamberlain's v2 1/8 "migrate: fix skipping metadata
 * buffer heads on migration" (<20250410014945.2140781-2-mcgrof@kernel.org>),
 * over unfixed (the patch also moved the spinlock unlock back to right
 * after the scan).  Rejected.
 *
 * Kernel lines (mm/migrate.c __buffer_migrate_folio()):
 *	 	head = folio_buffers(src);
 *	+	if (buffer_meta(head))
 *	+		return -EAGAIN;
 *
 * skip-meta-all is Matthew Wilcox's correction (<Z_c4mPrGnrED5lb3@casper>):
 * for bs < PAGE_SIZE every buffer of the ring must be tested, not the head.
 *
 * What it leaves open (inferred, kernel-race.md §7.4 S4): ext4 sets BH_Meta
 * in __ext4_handle_dirty_metadata(), i.e. after the first
 * get_write_access, so a block used as metadata for the first time is
 * still movable; with 2 KiB blocks the head-only test also misses a meta
 * second buffer.  Expected: fewer I1 than unfixed, not necessarily none,
 * and fewer successful migrations ("refused by strategy").
 */
#include <errno.h>

#include "strategy.h"

static int skip_meta_may_try(struct folio *src, struct buffer_head *head)
{
	return buffer_meta(head) ? -EAGAIN : 0;
}

static int skip_meta_all_may_try(struct folio *src, struct buffer_head *head)
{
	struct buffer_head *bh = head;

	do {
		if (buffer_meta(bh))
			return -EAGAIN;
		bh = bh->b_this_page;
	} while (bh != head);
	return 0;
}

const struct strategy strategy_skip_meta = {
	.name = "skip-meta",
	.rule = "migration refuses a folio whose head bh has BH_Meta",
	.kernel = "Luis v2 1/8 (rejected)",
	.migrate = MIGRATE_NOREFS,
	.migrate_may_try = skip_meta_may_try,
};

const struct strategy strategy_skip_meta_all = {
	.name = "skip-meta-all",
	.rule = "migration refuses a folio with BH_Meta on any bh",
	.kernel = "Luis v2 1/8 with Willy's all-bh test",
	.migrate = MIGRATE_NOREFS,
	.migrate_may_try = skip_meta_all_may_try,
};
