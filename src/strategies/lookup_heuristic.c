// SPDX-License-Identifier: GPL-2.0
/*
 * lookup-heuristic - Luis Chamberlain's v1 2/3 "fs/buffer: avoid races with
 * folio migrations on __find_get_block_slow()"
 * (<20250330064732.3781046-3-mcgrof@kernel.org>), over unfixed.  Rejected.
 *
 * Kernel lines (fs/buffer.c __find_get_block_slow()):
 *	 	folio = __filemap_get_folio(bd_mapping, index, FGP_ACCESSED, 0);
 *	 	...
 *	+	if (folio_test_locked(folio) && folio_test_lru(folio) &&
 *	+	    !folio_test_writeback(folio))
 *	+		goto out_unlock;	(looks like it is being migrated)
 *
 * Why it cannot work (kernel-race.md §7.4 S3): compaction's isolation
 * (isolate_migratepages_block -> folio_isolate_lru) clears PG_lru before it
 * locks the folio, so a folio under migration is never "locked and on the
 * LRU" -- the test sees every other folio-lock holder instead (writeback
 * scans, grow_buffers, readers), and returns NULL for them (Jan Kara: it
 * breaks callers that take NULL to mean "not cached").  Expected: I1 as
 * under unfixed, plus NULL-for-cached lookups.
 */
#include "strategy.h"

static bool lookup_heuristic_bail(struct folio *f, struct buffer_head *head, bool atomic)
{
	return folio_test_locked(f) && folio_test_lru(f) && !folio_test_writeback(f);
}

const struct strategy strategy_lookup_heuristic = {
	.name = "lookup-heuristic",
	.rule = "lookups bail on a folio that is locked, on the LRU and not under writeback",
	.kernel = "Luis v1 2/3 (rejected)",
	.migrate = MIGRATE_NOREFS,
	.lookup_bail = lookup_heuristic_bail,
};
