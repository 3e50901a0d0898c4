/* SPDX-License-Identifier: GPL-2.0 */
/*
 * migrate.h - the folio migrator of the simulated mm (src/migrate_sim/
 * migrate.c): compaction's isolate + migrate_pages() over the bdev mapping,
 * with the mapping's strategy (strategy.h) choosing migrate_folio
 * (buffer_migrate_folio_norefs / buffer_migrate_folio / the fallback) and
 * the locking of the handshake.  See kernel-race.md §2.3 and §7.1 item 6.
 */
#ifndef JBDLAB_MIGRATE_H
#define JBDLAB_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include "mm.h"

/* include/linux/migrate_mode.h */
enum migrate_mode {
	MIGRATE_ASYNC,		/* never block: trylocks, give up on writeback */
	MIGRATE_SYNC_LIGHT,	/* block on locks of uptodate folios/buffers, not on writeback */
	MIGRATE_SYNC,		/* block on everything (compact_memory, generic/750) */
};

/* Why an attempt failed; one counter each (Luis' F11 debugfs counters). */
enum migrate_fail {
	MF_ISOLATE,		/* not on the LRU (already isolated, being removed, gone) */
	MF_LOCKED,		/* folio locked: ASYNC trylock, SYNC_LIGHT on a !uptodate folio */
	MF_WRITEBACK,		/* under writeback: ASYNC and SYNC_LIGHT give up (-EBUSY) */
	MF_REFCOUNT,		/* refcount pre-check: a reference beyond the expected ones */
	MF_STRATEGY,		/* refused by the strategy (migrate_may_try) */
	MF_BUFFER_LOCKED,	/* buffer_migrate_lock_buffers() gave up (ASYNC, SYNC_LIGHT) */
	MF_BUSY,		/* a b_count was held, also after invalidate_bh_lrus() */
	MF_FREEZE,		/* folio_ref_freeze() failed: a reference came after the check */
	MF_DIRTY,		/* fallback_migrate_folio: dirty folio (no writepage to clean it) */
	MF_BUFFERS,		/* fallback_migrate_folio: buffers could not be released */
	MF_NR
};
const char *migrate_fail_name(enum migrate_fail f);

/* Victim choice. */
enum migrate_victim {
	VICTIM_RANDOM,		/* a random cached folio per attempt */
	VICTIM_SWEEP,		/* compact_memory: every cached folio, in index order */
	VICTIM_TARGETED,	/* folios of recently looked-up blocks (mm_note_recent) */
};

struct migrator_opts {
	enum migrate_mode mode;		/* default MIGRATE_SYNC (compact_memory) */
	enum migrate_victim victim;	/* default VICTIM_TARGETED */
	unsigned int rate;		/* attempts per second; 0 = back to back */
	unsigned int sweep_ms;		/* VICTIM_SWEEP: pause between sweeps (generic/750: 5000) */
	bool freeze_then_copy;		/* <= v6.10 order (folio_migrate_mapping, then copy);
					 * default v6.11+: folio_mc_copy before the freeze */
	unsigned int passes;		/* tries per victim on -EAGAIN (migrate_pages' passes); 0 = 3 */
	uint64_t seed;			/* the migrator thread's PRNG */
};

struct migrate_stats {
	uint64_t attempts;		/* calls of migrate_folio_attempt() */
	uint64_t ok;			/* folios moved */
	uint64_t fail[MF_NR];		/* failed attempts, by reason */
	uint64_t sweeps;		/* VICTIM_SWEEP passes completed */
};

/*
 * migrate_folio_attempt - isolate @src and try to move it once per pass,
 * as compaction does for one folio: folio_isolate_lru(), then up to
 * @passes times migrate_folio_unmap() + migrate_folio_move(), then
 * folio_putback_lru() if it did not move.  Returns -1 if it moved, else
 * the reason of the last failure.  @stats is updated per try.
 * Entry: the caller holds a reference on @src (compaction's folio_try_get),
 * which this consumes; no lock held (sleeps in MIGRATE_SYNC).  The journal
 * must be loaded (recovery done): replay must not race a migration.
 */
int migrate_folio_attempt(struct address_space *m, struct folio *src,
			  const struct migrator_opts *o, struct migrate_stats *stats);

struct migrator;
/* Start the background migrator thread on @m.  NULL on failure. */
struct migrator *migrator_start(struct address_space *m, const struct migrator_opts *o);
/* Stop and join it; the stats survive until migrator_free(). */
void migrator_stop(struct migrator *mg);
void migrator_free(struct migrator *mg);
/* A consistent-enough snapshot of the counters (the thread keeps running). */
void migrator_get_stats(struct migrator *mg, struct migrate_stats *out);

/*
 * Recently looked-up blocks, for VICTIM_TARGETED: lookups record their
 * folio index while the mapping's recent ring is enabled, except in threads
 * that opted out (the lab's fs workers: the ring then holds the blocks its
 * metadata users hammer; the quarter of victims drawn at random covers the
 * rest of the cache).
 */
void mm_recent_enable(struct address_space *m, bool on);
void mm_recent_thread(bool on);		/* the calling thread's lookups count (default) or not */

#endif /* JBDLAB_MIGRATE_H */
