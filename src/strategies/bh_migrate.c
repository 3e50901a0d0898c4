// SPDX-License-Identifier: GPL-2.0
/*
 * bh-migrate - Davidlohr Bueso's "fs/buffer: split pagecache lookups into
 * atomic or blocking" (v6.15-rc4: 7ffe3de53a88, 2814a7d3d2ff, 5b67d4397682,
 * f76d4c28a46a, 2d900efff915), the scheme of v6.15+.
 *
 * Kernel lines:
 *   fs/buffer.c __find_get_block_slow():
 *	-	spin_lock(&bd_mapping->i_private_lock);
 *	+	if (atomic) spin_lock(&bd_mapping->i_private_lock);
 *	+	else folio_lock(folio);			(lookup_split; the base lock hook)
 *	 	head = folio_buffers(folio);
 *	+	if (test_bit_acquire(BH_Migrate, &head->b_state)) {
 *	+		WARN_ON(!atomic);
 *	+		goto out_unlock;		(lookup_bail)
 *	+	}
 *   mm/migrate.c __buffer_migrate_folio(), check_refs:
 *	+	migrating = test_and_set_bit_lock(BH_Migrate, &head->b_state);
 *	+	VM_WARN_ON_ONCE(migrating);		(migrate_mark)
 *	 	spin_lock(&mapping->i_private_lock); ... scan ...
 *	 	spin_unlock(&mapping->i_private_lock);	(the base refcheck)
 *	 	...
 *	+	clear_bit_unlock(BH_Migrate, &head->b_state);	(migrate_unmark)
 *
 * A sleeping lookup serialises on the folio lock, which migration holds
 * throughout; an atomic one bails ("not cached") while BH_Migrate is set.
 * The jbd2 revoke lookups sleep (f76d4c28a46a), with 981fcc5674e6's
 * "skip the alias lookup of a bdev buffer" rule.
 */
#include "strategy.h"

static bool bh_migrate_lookup_bail(struct folio *f, struct buffer_head *head, bool atomic)
{
	if (!test_bit_acquire(BH_Migrate, &head->b_state))
		return false;
	/* A sleeping lookup holds the folio lock, which migration holds too. */
	WARN_ON(!atomic);
	return true;
}

static void bh_migrate_mark(struct buffer_head *head)
{
	bool migrating = test_and_set_bit_lock(BH_Migrate, &head->b_state);

	WARN_ON_ONCE(migrating);	/* outside the WARN: it must not vanish */
}

static void bh_migrate_unmark(struct buffer_head *head)
{
	clear_bit_unlock(BH_Migrate, &head->b_state);
}

const struct strategy strategy_bh_migrate = {
	.name = "bh-migrate",
	.rule = "BH_Migrate on the head bh: atomic lookups bail, sleeping lookups take the folio lock",
	.kernel = "v6.15+ (2d900efff915, 7ffe3de53a88)",
	.migrate = MIGRATE_NOREFS,
	.lookup_split = true,
	.lookup_bail = bh_migrate_lookup_bail,
	.migrate_mark = bh_migrate_mark,
	.migrate_unmark = bh_migrate_unmark,
};
