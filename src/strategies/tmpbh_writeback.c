// SPDX-License-Identifier: GPL-2.0
/*
 * tmpbh-writeback - the log write sets PG_writeback on the folio it aliases
 * (S5b, kernel-race.md §3; not proposed upstream), over refs-ignored.
 *
 * Kernel lines (fs/jbd2/journal.c, commit.c):
 *   jbd2_journal_write_metadata_buffer(), before the b_state_lock:
 *	+	folio_lock(folio);  (rechecked: still bh_in's folio)
 *	+	folio_wait_writeback(folio);	the sibling buffer's bdev writeback
 *	+	folio_start_writeback(folio);
 *	+	folio_unlock(folio);
 *   journal_end_buffer_io_sync():
 *	+	folio_end_writeback(folio);
 *
 * Migration honours PG_writeback (migrate_folio_unmap: MIGRATE_SYNC waits,
 * ASYNC and SYNC_LIGHT give up), so the folio cannot move while the log
 * write aliases it.  PG_writeback is folio-wide: two buffers of one folio in
 * one commit share it -- the second joins the first's writeback instead of
 * waiting for it, which would deadlock the commit thread (the first one's
 * bio is not even submitted until the descriptor block is full) and, in
 * turn, a SYNC migrator sleeping in folio_wait_writeback() with the folio
 * locked.  A folio in the table is under our writeback, hence cannot be
 * moved, so joining needs no folio lock.  The sibling's bdev writeback
 * waits (WB_SYNC_ALL) or skips the folio meanwhile: the conflict the
 * scheme costs.
 *
 * Locking rules: wb_table_lock (spin, leaf) protects wb_table; begin runs in
 * the commit thread (the only inserter), end in the completion thread.
 */
#include "strategy.h"
#include "jbd2.h"

#define WB_HASH	1024	/* buckets; a commit may have thousands of folios in flight */

struct tmpbh_wb {
	struct folio *folio;		/* [wb_table_lock] */
	unsigned int users;		/* temporary bhs aliasing it [wb_table_lock] */
	struct tmpbh_wb *next;		/* bucket chain [wb_table_lock] */
};

static spinlock_t wb_table_lock;
static struct tmpbh_wb *wb_table[WB_HASH];	/* [wb_table_lock] */

__attribute__((constructor)) static void tmpbh_writeback_ctor(void)
{
	spin_lock_init(&wb_table_lock);
}

static struct tmpbh_wb **wb_bucket(const struct folio *f)
{
	return &wb_table[((uintptr_t)f >> 6) % WB_HASH];
}

/* __wb_find - entry: wb_table_lock held. */
static struct tmpbh_wb *__wb_find(const struct folio *f)
{
	assert_spin_locked(&wb_table_lock);
	for (struct tmpbh_wb *w = *wb_bucket(f); w; w = w->next)
		if (w->folio == f)
			return w;
	return NULL;
}

static void writeback_tmpbh_begin(struct journal_head *jh_in)
{
	struct buffer_head *bh = jh2bh(jh_in);
	struct tmpbh_wb *w;
	struct folio *f;

	/* A sibling's log write already holds PG_writeback: join it. */
	spin_lock(&wb_table_lock);
	w = __wb_find(READ_ONCE(bh->b_folio));
	if (w) {
		w->users++;
		jh_in->b_tmpbh_cookie = w->folio;
		spin_unlock(&wb_table_lock);
		return;
	}
	spin_unlock(&wb_table_lock);

	for (;;) {
		f = bh_folio_get(bh);
		folio_lock(f);
		if (READ_ONCE(bh->b_folio) == f && f->mapping)
			break;
		folio_unlock(f);
		folio_put(f);
	}
	folio_wait_writeback(f);
	folio_start_writeback(f);
	folio_unlock(f);
	folio_put(f);	/* PG_writeback keeps it in the cache from here */

	w = malloc(sizeof(*w));
	BUG_ON(!w);
	w->folio = f;
	w->users = 1;
	spin_lock(&wb_table_lock);
	w->next = *wb_bucket(f);
	*wb_bucket(f) = w;
	spin_unlock(&wb_table_lock);
	jh_in->b_tmpbh_cookie = f;
}

static void writeback_tmpbh_end(struct journal_head *jh_in, struct buffer_head *tmp)
{
	struct folio *f = jh_in->b_tmpbh_cookie;
	struct tmpbh_wb *w;
	bool last;

	jh_in->b_tmpbh_cookie = NULL;
	spin_lock(&wb_table_lock);
	w = __wb_find(f);
	BUG_ON(!w || !w->users);
	last = --w->users == 0;
	if (last) {
		struct tmpbh_wb **pp = wb_bucket(f);

		while (*pp != w)
			pp = &(*pp)->next;
		*pp = w->next;
	}
	spin_unlock(&wb_table_lock);
	if (last) {
		free(w);
		folio_end_writeback(f);
	}
}

const struct strategy strategy_tmpbh_writeback = {
	.name = "tmpbh-writeback",
	.rule = "refs-ignored; PG_writeback on the aliased folio during the log write",
	.kernel = "S5b: folio_start/end_writeback around the log I/O (not proposed)",
	.migrate = MIGRATE_REFS_IGNORED,
	.lookup_split = true,
	.tmpbh_begin = writeback_tmpbh_begin,
	.tmpbh_end = writeback_tmpbh_end,
};
