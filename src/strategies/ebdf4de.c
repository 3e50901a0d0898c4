// SPDX-License-Identifier: GPL-2.0
/*
 * ebdf4de - "mm: migrate: fix reference check race between
 * __find_get_block() and migration" (ebdf4de5642f, v5.3, stable 5.0+), the
 * scheme of v5.3 .. v6.14.
 *
 * Kernel lines (mm/migrate.c __buffer_migrate_folio):
 *
 *	 	if (busy) { ... spin_unlock(&mapping->i_private_lock); ... }
 *	-	spin_unlock(&mapping->i_private_lock);	(after the scan)
 *	 	rc = filemap_migrate_folio(mapping, dst, src, mode);
 *	 	...folio_set_bh() on every buffer...
 *	 unlock_buffers:
 *	+	if (check_refs)
 *	+		spin_unlock(&mapping->i_private_lock);
 *
 * The lock is held from the b_count scan to after the last folio_set_bh(),
 * so an atomic lookup (all lookups were atomic then) spins until the ring
 * has moved, then finds no buffers on the old folio and bdev_getblk()'s
 * grow_buffers() finds the new one.  With large folios folio_mc_copy()'s
 * cond_resched() runs under the spinlock: I4 (3c20917120ce).
 */
#include "strategy.h"

static void ebdf4de_refcheck_exit(struct address_space *m, enum refcheck_point at)
{
	if (at != REFCHECK_PASSED)	/* held across the copy and the move */
		spin_unlock(&m->i_private_lock);
}

const struct strategy strategy_ebdf4de = {
	.name = "ebdf4de",
	.rule = "i_private_lock held from the b_count scan to folio_set_bh; atomic lookups",
	.kernel = "v5.3-v6.14 (ebdf4de5642f)",
	.migrate = MIGRATE_NOREFS,
	.refcheck_exit = ebdf4de_refcheck_exit,
};
