// SPDX-License-Identifier: GPL-2.0
/*
 * refs-ignored - the bdev mapping migrated with buffer_migrate_folio()
 * (check_refs = false) instead of buffer_migrate_folio_norefs(), on a v6.15
 * kernel (sleeping lookups; BH_Migrate is never set by this path).
 *
 * Kernel lines (block/fops.c def_blk_aops):
 *	-	.migrate_folio	= buffer_migrate_folio_norefs,
 *	+	.migrate_folio	= buffer_migrate_folio,
 *
 * Its kerneldoc: valid only for a filesystem that touches buffers under the
 * folio lock.  Nothing checks b_count, so jbd2's pins (the journal_head's
 * get_bh, the commit's b_count bump) no longer keep migration away:
 * expected I2 (the temporary bh and its bio alias a folio that is moved and
 * freed: journal-I/O oracle; after a crash, csum v3 replay fails) and I1
 * (any b_count holder's pointers go stale).  The tmpbh-* strategies and
 * always-copy build on this one.
 */
#include "strategy.h"

const struct strategy strategy_refs_ignored = {
	.name = "refs-ignored",
	.rule = "buffer_migrate_folio: no b_count scan",
	.kernel = "def_blk_aops with buffer_migrate_folio (never shipped)",
	.migrate = MIGRATE_REFS_IGNORED,
	.lookup_split = true,
};
