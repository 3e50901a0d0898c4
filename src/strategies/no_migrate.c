// SPDX-License-Identifier: GPL-2.0
/*
 * no-migrate - the bdev mapping without .migrate_folio (Luis' "disable
 * migration" for jbd2, applied to def_blk_aops; Jan Kara: "will make a lot
 * of people unhappy").
 *
 * Kernel lines (block/fops.c def_blk_aops):
 *	-	.migrate_folio	= buffer_migrate_folio_norefs,
 *
 * move_to_new_folio() then uses fallback_migrate_folio(): a dirty folio is
 * written out (MIGRATE_SYNC) or refused, and a clean one is moved only if
 * filemap_release_folio() -> try_to_free_buffers() can drop its buffers
 * (none busy: b_count, dirty, locked), so no buffer_head ever survives a
 * move.  Expected: no race of any class; migrations still succeed on idle
 * clean folios, at a lower rate.
 */
#include "strategy.h"

const struct strategy strategy_no_migrate = {
	.name = "no-migrate",
	.rule = "no .migrate_folio: fallback_migrate_folio releases idle buffers or refuses",
	.kernel = "def_blk_aops without .migrate_folio (not merged)",
	.migrate = MIGRATE_NONE,
	.lookup_split = true,
};
