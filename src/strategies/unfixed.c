// SPDX-License-Identifier: GPL-2.0
/*
 * unfixed - the kernel before v5.3 (ebdf4de5642f reverted): the base
 * behaviour of every hook (base.c).
 *
 * Kernel lines: none changed.  fs/buffer.c __find_get_block_slow() takes
 * bd_mapping->i_private_lock around the ring walk, every lookup is atomic
 * (bdev_getblk -> __getblk_slow -> __find_get_block); mm/migrate.c
 * __buffer_migrate_folio() holds i_private_lock only for the b_count scan:
 *
 *	spin_lock(&mapping->i_private_lock);
 *	... b_count scan ...
 *	spin_unlock(&mapping->i_private_lock);	<- a lookup may take get_bh()
 *	rc = filemap_migrate_folio(...);	   here and keep it across the move
 *
 * Expected: I1 (kernel-race.md §2.5): a lookup between the scan and the
 * freeze returns a bh whose folio is then moved; a b_data pointer taken
 * before get_write_access writes into the freed source.
 */
#include "strategy.h"

const struct strategy strategy_unfixed = {
	.name = "unfixed",
	.rule = "i_private_lock around the b_count scan only; atomic lookups",
	.kernel = "pre-v5.3 (ebdf4de5642f reverted)",
	.migrate = MIGRATE_NOREFS,
};
