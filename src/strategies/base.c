// SPDX-License-Identifier: GPL-2.0
/*
 * base.c - the behaviour every strategy hook defaults to (strategy.h): the
 * kernel without any of the fixes.
 *
 *   lookup (fs/buffer.c __find_get_block_slow, before 2d900efff915):
 *       spin_lock(&bd_mapping->i_private_lock) around the ring walk; a
 *       sleeping lookup (only reachable when the strategy has lookup_split,
 *       7ffe3de53a88) takes the folio lock instead;
 *   migration (mm/migrate.c __buffer_migrate_folio, check_refs, before
 *       ebdf4de5642f): i_private_lock around the b_count scan only.
 *
 * Locking rules: refcheck_enter takes i_private_lock; refcheck_exit drops
 * it at REFCHECK_BUSY and REFCHECK_PASSED, so at REFCHECK_DONE it is not
 * held.  The lookup pair takes and drops one lock.
 */
#include "strategy.h"

void strategy_base_lookup_lock(struct address_space *m, struct folio *f, bool atomic)
{
	if (atomic)
		spin_lock(&m->i_private_lock);
	else
		folio_lock(f);
}

void strategy_base_lookup_unlock(struct address_space *m, struct folio *f, bool atomic)
{
	if (atomic)
		spin_unlock(&m->i_private_lock);
	else
		folio_unlock(f);
}

void strategy_base_refcheck_enter(struct address_space *m)
{
	spin_lock(&m->i_private_lock);
}

void strategy_base_refcheck_exit(struct address_space *m, enum refcheck_point at)
{
	if (at != REFCHECK_DONE)
		spin_unlock(&m->i_private_lock);
}
