// SPDX-License-Identifier: GPL-2.0
/*
 * always-copy - jbd2 always journals a copy, never the live folio (S5d,
 * kernel-race.md §3 "always copy out"; not proposed upstream), over
 * refs-ignored.
 *
 * Kernel lines (fs/jbd2/journal.c jbd2_journal_write_metadata_buffer()),
 * before spin_lock(&jh_in->b_state_lock):
 *	+	copy = jbd2_alloc(bh_in->b_size, GFP_NOFS | __GFP_NOFAIL);
 *	+	lock_buffer(bh_in);
 *	+	memcpy(copy, bh_in->b_data, bh_in->b_size);
 *	+	unlock_buffer(bh_in);
 *	+	spin_lock(&jh_in->b_state_lock);
 *	+	if (!jh_in->b_frozen_data) { jh_in->b_frozen_data = copy; copy = NULL; }
 *	+	spin_unlock(&jh_in->b_state_lock);
 *	+	jbd2_free(copy, bh_in->b_size);
 *
 * The existing frozen-data branch then logs the copy (and escapes it in
 * place): the temporary bh never aliases the page cache, so there is
 * nothing for a migration to free under the bio.  The copy is taken under
 * the buffer lock because migration holds every buffer lock until the ring
 * is re-pointed, so b_data cannot name a folio that is being freed (a copy
 * under the b_state_lock alone, as the escape path does, would race the
 * free).  A frozen copy made meanwhile by do_get_write_access() for the
 * next transaction wins: it holds the same committed bytes.  Cost: one
 * allocation and one memcpy per journalled block per commit.  Closes I2
 * only.
 */
#include <string.h>

#include "strategy.h"
#include "jbd2.h"

static void always_copy_tmpbh_begin(struct journal_head *jh_in)
{
	struct buffer_head *bh = jh2bh(jh_in);
	char *copy = malloc(bh->b_size);

	BUG_ON(!copy);
	lock_buffer(bh);
	memcpy(copy, READ_ONCE(bh->b_data), bh->b_size);
	unlock_buffer(bh);
	spin_lock(&jh_in->b_state_lock);
	if (!jh_in->b_frozen_data) {
		jh_in->b_frozen_data = copy;
		copy = NULL;
	}
	spin_unlock(&jh_in->b_state_lock);
	free(copy);
}

const struct strategy strategy_always_copy = {
	.name = "always-copy",
	.rule = "refs-ignored; jbd2 journals a copy taken under the buffer lock, never the folio",
	.kernel = "S5d: always copy out to b_frozen_data (not proposed)",
	.migrate = MIGRATE_REFS_IGNORED,
	.lookup_split = true,
	.tmpbh_begin = always_copy_tmpbh_begin,
};
