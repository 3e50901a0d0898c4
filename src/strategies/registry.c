// SPDX-License-Identifier: GPL-2.0
/*
 * registry.c - every strategy, by name.  A new strategy is one file in
 * src/strategies/ and one line here (and in meson.build).
 */
#include <string.h>

#include "strategy.h"

extern const struct strategy strategy_unfixed, strategy_ebdf4de, strategy_bh_migrate,
	strategy_lookup_heuristic, strategy_skip_meta, strategy_skip_meta_all,
	strategy_refs_ignored, strategy_tmpbh_folio_ref, strategy_tmpbh_writeback,
	strategy_tmpbh_lock, strategy_always_copy, strategy_no_migrate;

const struct strategy *const strategies[] = {
	&strategy_unfixed,
	&strategy_ebdf4de,
	&strategy_bh_migrate,
	&strategy_lookup_heuristic,
	&strategy_skip_meta,
	&strategy_skip_meta_all,
	&strategy_refs_ignored,
	&strategy_tmpbh_folio_ref,
	&strategy_tmpbh_writeback,
	&strategy_tmpbh_lock,
	&strategy_always_copy,
	&strategy_no_migrate,
	NULL
};

const struct strategy *const strategy_default = &strategy_bh_migrate;

const struct strategy *strategy_find(const char *name)
{
	for (const struct strategy *const *s = strategies; *s; s++)
		if (!strcmp((*s)->name, name))
			return *s;
	return NULL;
}
