/* SPDX-License-Identifier: GPL-2.0 */
/*
 * strategy.h - fix strategies for the buffer_head / folio-migration races:
 * one table of hooks at the places where the kernel's schemes differ
 * (../shared/reference/kernel-race.md §3, §7.4), chosen by name at run time
 * (`jbdlab race --strategy NAME`).
 *
 * A strategy is one file in src/strategies/ plus one line in registry.c.
 * Every hook left NULL is the base behaviour, which is the kernel WITHOUT
 * any of the fixes (pre-v5.3, "unfixed"):
 *
 *   lookup (fs/buffer.c __find_get_block_slow):
 *     every lookup is the atomic one (no sleeping variant before v6.15:
 *     bdev_getblk -> __getblk_slow -> __find_get_block), i_private_lock
 *     around the ring walk only, no BH_Migrate test;
 *   migration (mm/migrate.c __buffer_migrate_folio, check_refs = true):
 *     i_private_lock around the b_count scan only, no BH_Migrate;
 *   jbd2 (fs/jbd2/journal.c jbd2_journal_write_metadata_buffer): the
 *     temporary bh aliases bh_in's folio with no folio reference, no folio
 *     lock, no PG_writeback and no buffer lock;
 *   metadata users: nothing around their b_data accesses.
 *
 * Where each hook runs, and in what context:
 *
 *   lookup_lock(m, folio, atomic) / lookup_unlock(...)
 *       __find_get_block_slow(), after the temporary folio reference and
 *       the YP_LOOKUP_BEFORE_LOCK yield point, around the ring walk.
 *       Default: atomic -> spin_lock(&m->i_private_lock); sleeping ->
 *       folio_lock(folio) (reached only when lookup_split is set).
 *   lookup_bail(folio, head, atomic) -> true: return NULL ("not cached")
 *       Under the lookup lock, before the ring walk.  Default: false.
 *       A NULL goes back to the caller exactly as in the kernel.
 *   migrate_may_try(src, head) -> 0 or -EAGAIN ("refused by strategy")
 *       __buffer_migrate_folio(), src locked, before
 *       buffer_migrate_lock_buffers().  Default: 0.
 *   migrate_mark(head) / migrate_unmark(head)
 *       Before the b_count scan / after the buffers were re-pointed (or
 *       the attempt failed), buffers still locked.  Default: nothing.
 *   refcheck_enter(m) / refcheck_exit(m, at)
 *       Around the b_count scan of check_refs migration.  refcheck_exit is
 *       called at REFCHECK_BUSY (the scan found a reference: about to drain
 *       the LRUs or give up), REFCHECK_PASSED (the scan found none: about
 *       to copy and move) and REFCHECK_DONE (after the folio_set_bh loop,
 *       or after a failed move).  Default: spin_lock(i_private_lock) on
 *       enter, spin_unlock at BUSY and PASSED.
 *   tmpbh_begin(jh_in)
 *       jbd2_journal_write_metadata_buffer(), commit thread, BEFORE
 *       jh_in->b_state_lock: no lock held, may sleep.  State that must
 *       last until tmpbh_end goes in jh_in->b_tmpbh_cookie.
 *   tmpbh_end(jh_in, tmp)
 *       journal_end_buffer_io_sync(), the disk's completion thread, after
 *       the DMA moment, before BH_Shadow is cleared: must not sleep.
 *   meta_access_begin(bh) / meta_access_end(bh)
 *       The lab's ext4-like metadata users, around their unlocked b_data
 *       access window (from the pointer taken after the lookup to the write
 *       through it).  Default: nothing.
 *
 * Lock state: hooks are called with exactly the locks named above; a
 * hook that takes a lock releases it in its pair.  The strategy of a
 * mapping (address_space.strategy) is [const while the mapping is used].
 */
#ifndef JBDLAB_STRATEGY_H
#define JBDLAB_STRATEGY_H

#include <stdbool.h>
#include "mm.h"

struct journal_head;

enum refcheck_point {
	REFCHECK_BUSY,		/* a b_count is held: drain the LRUs or fail */
	REFCHECK_PASSED,	/* no b_count: the copy and the move follow */
	REFCHECK_DONE,		/* buffers re-pointed, or the move failed */
};

struct strategy {
	const char *name;		/* [const] as given to --strategy */
	const char *rule;		/* [const] the one-line rule */
	const char *kernel;		/* [const] the kernel analogue */
	const char *kernel_port;	/* [const] kernel-port/ series, or NULL */
	enum migrate_policy migrate;	/* [const] def_blk_aops.migrate_folio */
	bool lookup_split;		/* [const] v6.15+: sleeping lookups exist
					 * (__find_get_block_nonatomic, bdev_getblk) */

	void (*lookup_lock)(struct address_space *m, struct folio *f, bool atomic);
	void (*lookup_unlock)(struct address_space *m, struct folio *f, bool atomic);
	bool (*lookup_bail)(struct folio *f, struct buffer_head *head, bool atomic);
	int (*migrate_may_try)(struct folio *src, struct buffer_head *head);
	void (*migrate_mark)(struct buffer_head *head);
	void (*migrate_unmark)(struct buffer_head *head);
	void (*refcheck_enter)(struct address_space *m);
	void (*refcheck_exit)(struct address_space *m, enum refcheck_point at);
	void (*tmpbh_begin)(struct journal_head *jh_in);
	void (*tmpbh_end)(struct journal_head *jh_in, struct buffer_head *tmp);
	void (*meta_access_begin)(struct buffer_head *bh);
	void (*meta_access_end)(struct buffer_head *bh);
};

/* The registry (src/strategies/registry.c), in table order; NULL-terminated. */
extern const struct strategy *const strategies[];
/* By name; NULL if unknown. */
const struct strategy *strategy_find(const char *name);
/* The mount's default: the shipped kernel's scheme (bh-migrate, v6.15+). */
extern const struct strategy *const strategy_default;

/* The base behaviour, for strategies that extend it rather than replace it. */
void strategy_base_lookup_lock(struct address_space *m, struct folio *f, bool atomic);
void strategy_base_lookup_unlock(struct address_space *m, struct folio *f, bool atomic);
void strategy_base_refcheck_enter(struct address_space *m);
void strategy_base_refcheck_exit(struct address_space *m, enum refcheck_point at);

/* Callers' entry points: the hook, or the base behaviour when it is NULL. */
static inline const struct strategy *mapping_strategy(const struct address_space *m)
{
	return m->strategy ? m->strategy : strategy_default;
}

static inline void strategy_lookup_lock(struct address_space *m, struct folio *f, bool atomic)
{
	const struct strategy *s = mapping_strategy(m);

	(s->lookup_lock ? s->lookup_lock : strategy_base_lookup_lock)(m, f, atomic);
}

static inline void strategy_lookup_unlock(struct address_space *m, struct folio *f, bool atomic)
{
	const struct strategy *s = mapping_strategy(m);

	(s->lookup_unlock ? s->lookup_unlock : strategy_base_lookup_unlock)(m, f, atomic);
}

static inline bool strategy_lookup_bail(struct address_space *m, struct folio *f,
					struct buffer_head *head, bool atomic)
{
	const struct strategy *s = mapping_strategy(m);

	return s->lookup_bail && s->lookup_bail(f, head, atomic);
}

static inline int strategy_migrate_may_try(struct address_space *m, struct folio *src,
					   struct buffer_head *head)
{
	const struct strategy *s = mapping_strategy(m);

	return s->migrate_may_try ? s->migrate_may_try(src, head) : 0;
}

static inline void strategy_migrate_mark(struct address_space *m, struct buffer_head *head)
{
	const struct strategy *s = mapping_strategy(m);

	if (s->migrate_mark)
		s->migrate_mark(head);
}

static inline void strategy_migrate_unmark(struct address_space *m, struct buffer_head *head)
{
	const struct strategy *s = mapping_strategy(m);

	if (s->migrate_unmark)
		s->migrate_unmark(head);
}

static inline void strategy_refcheck_enter(struct address_space *m)
{
	const struct strategy *s = mapping_strategy(m);

	(s->refcheck_enter ? s->refcheck_enter : strategy_base_refcheck_enter)(m);
}

static inline void strategy_refcheck_exit(struct address_space *m, enum refcheck_point at)
{
	const struct strategy *s = mapping_strategy(m);

	(s->refcheck_exit ? s->refcheck_exit : strategy_base_refcheck_exit)(m, at);
}

static inline void strategy_meta_access_begin(struct address_space *m, struct buffer_head *bh)
{
	const struct strategy *s = mapping_strategy(m);

	if (s->meta_access_begin)
		s->meta_access_begin(bh);
}

static inline void strategy_meta_access_end(struct address_space *m, struct buffer_head *bh)
{
	const struct strategy *s = mapping_strategy(m);

	if (s->meta_access_end)
		s->meta_access_end(bh);
}

#endif /* JBDLAB_STRATEGY_H */
