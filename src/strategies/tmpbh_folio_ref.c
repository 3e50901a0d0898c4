// SPDX-License-Identifier: GPL-2.0
/*
 * tmpbh-folio-ref - jbd2's temporary bh pins the folio it aliases (S5a,
 * kernel-race.md §3 "hold a reference migration sees"; not proposed
 * upstream), over refs-ignored.
 *
 * Kernel lines (fs/jbd2/journal.c, commit.c):
 *   jbd2_journal_write_metadata_buffer(), before spin_lock(&jh_in->b_state_lock):
 *	+	folio = <try-get of bh_in->b_folio, rechecked against the page
 *	+		 cache slot and bh_in->b_folio>;
 *   journal_end_buffer_io_sync():
 *	+	folio_put(folio);
 *
 * A folio_get() on bh_in->b_folio under the b_state_lock would be the
 * obvious patch, and wrong under refs-ignored: the folio may be frozen
 * (folio_get BUGs at refcount 0) or already replaced (model-review item 5).
 * With the reference, migration's refcount pre-check and freeze fail for
 * as long as the log write aliases the folio, whatever it thinks of
 * b_count.  Closes I2 only: other b_count holders (I1) stay exposed.
 */
#include "strategy.h"
#include "jbd2.h"

static void folio_ref_tmpbh_begin(struct journal_head *jh_in)
{
	jh_in->b_tmpbh_cookie = bh_folio_get(jh2bh(jh_in));
}

static void folio_ref_tmpbh_end(struct journal_head *jh_in, struct buffer_head *tmp)
{
	struct folio *f = jh_in->b_tmpbh_cookie;

	jh_in->b_tmpbh_cookie = NULL;
	folio_put(f);
}

const struct strategy strategy_tmpbh_folio_ref = {
	.name = "tmpbh-folio-ref",
	.rule = "refs-ignored; jbd2's temporary bh holds a folio reference during the log write",
	.kernel = "S5a: folio_get/folio_put around the log I/O (not proposed)",
	.migrate = MIGRATE_REFS_IGNORED,
	.lookup_split = true,
	.tmpbh_begin = folio_ref_tmpbh_begin,
	.tmpbh_end = folio_ref_tmpbh_end,
};
