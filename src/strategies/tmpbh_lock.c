// SPDX-License-Identifier: GPL-2.0
/*
 * tmpbh-lock - the buffer lock is held over the log write of a buffer that
 * the temporary bh aliases (S5c, kernel-race.md §3 "lock the buffer during
 * commit I/O"; not proposed upstream), over refs-ignored.
 *
 * Kernel lines (fs/jbd2/journal.c, commit.c):
 *   jbd2_journal_write_metadata_buffer(), before the b_state_lock:
 *	+	lock the buffers of bh_in's folio that this commit journals, in
 *	+	ring order from the head;
 *   journal_end_buffer_io_sync():
 *	+	unlock them when the folio's last log write completes.
 *
 * buffer_migrate_lock_buffers() takes every buffer lock of the ring, so a
 * SYNC migration waits until the log write is done and an ASYNC one gives
 * up; the ring cannot be re-pointed while we hold a lock.
 *
 * Why the whole ring and not just lock_buffer(bh_in): with 2 KiB blocks
 * both buffers of a folio are often in one commit, and the commit thread
 * keeps its locks until the bios of a full descriptor complete.  Holding X
 * and then waiting for the head Y, while a SYNC migrator holds Y and waits
 * for X (it locks in ring order), deadlocks both.  Taking, in the
 * migrator's order and once per folio per commit, every buffer of the ring
 * that belongs to the committing transaction (the second one then joins)
 * keeps one lock order.  Only those: a descriptor or commit block that
 * shares the folio (the journal's first or last block) is locked by the
 * commit thread itself later, and the committing transaction gains no
 * buffers, so the set is fixed when the first one is taken.  The cost:
 * whoever locks those buffers (get_write_access, bh_read, writeback)
 * waits for the log write -- jbd2 uses BH_Shadow instead precisely to
 * avoid that.
 *
 * Locking rules: lk_table_lock (spin, leaf) protects lk_table; begin runs
 * in the commit thread (the only inserter), end in the completion thread.
 */
#include "strategy.h"
#include "jbd2.h"

#define LK_HASH	1024	/* buckets; a commit may have thousands of folios in flight */

struct tmpbh_lk {
	struct buffer_head *head;	/* ring we hold [lk_table_lock] */
	unsigned int users;		/* temporary bhs of that ring [lk_table_lock] */
	struct buffer_head **locked;	/* the buffers we locked, in ring order
					 * [owner: the holder of head] */
	unsigned int nr_locked;		/* [owner: the holder of head] */
	struct tmpbh_lk *next;		/* bucket chain [lk_table_lock] */
};

static spinlock_t lk_table_lock;
static struct tmpbh_lk *lk_table[LK_HASH];	/* [lk_table_lock] */

__attribute__((constructor)) static void tmpbh_lock_ctor(void)
{
	spin_lock_init(&lk_table_lock);
}

static struct tmpbh_lk **lk_bucket(const struct buffer_head *head)
{
	return &lk_table[((uintptr_t)head >> 6) % LK_HASH];
}

/*
 * __lk_find - the entry of the ring headed by @head.  A ring we hold cannot
 * move, so the head that bh's folio names now is its key; for a ring we do
 * not hold the answer is "none" whatever the head read returned.
 * Entry: lk_table_lock held.
 */
static struct tmpbh_lk *__lk_find(const struct buffer_head *head)
{
	assert_spin_locked(&lk_table_lock);
	for (struct tmpbh_lk *l = head ? *lk_bucket(head) : NULL; l; l = l->next)
		if (l->head == head)
			return l;
	return NULL;
}

/*
 * Is @b one of the buffers the committing transaction of @jh_in journals?
 * b_transaction is stable for them: the commit thread (us) is the only one
 * that moves them off that transaction, and that happens after the I/O.
 * The journal-head bit lock keeps b's jh from being freed while we look
 * (what jbd2_journal_grab_journal_head() relies on).
 */
static bool tmpbh_lock_wanted(struct journal_head *jh_in, struct buffer_head *b)
{
	bool ret = false;

	if (b == jh2bh(jh_in))
		return true;
	jbd_lock_bh_journal_head(b);
	if (buffer_jbd(b))
		ret = READ_ONCE(bh2jh(b)->b_transaction) == READ_ONCE(jh_in->b_transaction);
	jbd_unlock_bh_journal_head(b);
	return ret;
}

static void lock_tmpbh_begin(struct journal_head *jh_in)
{
	struct buffer_head *bh = jh2bh(jh_in), *head, *b, **locked;
	struct tmpbh_lk *l;
	unsigned int nr;
	struct folio *f;

	/* A sibling's log write holds the ring (so it cannot move): join. */
	spin_lock(&lk_table_lock);
	l = __lk_find(folio_buffers(READ_ONCE(bh->b_folio)));
	if (l) {
		l->users++;
		jh_in->b_tmpbh_cookie = l->head;
		spin_unlock(&lk_table_lock);
		return;
	}
	spin_unlock(&lk_table_lock);

	/* This commit's buffers of bh's folio, in ring order, as
	 * buffer_migrate_lock_buffers() takes them. */
	for (;;) {
		unsigned int n = 0;

		f = bh_folio_get(bh);
		head = folio_buffers(f);
		locked = calloc(folio_size(f) / bh->b_size, sizeof(*locked));
		BUG_ON(!locked);
		b = head;
		do {
			if (tmpbh_lock_wanted(jh_in, b)) {
				lock_buffer(b);
				locked[n++] = b;
			}
			b = b->b_this_page;
		} while (b != head);
		if (READ_ONCE(bh->b_folio) == f && folio_buffers(f) == head) {
			nr = n;
			break;
		}
		/* moved while we waited: unlock and take the new ring */
		while (n)
			unlock_buffer(locked[--n]);
		free(locked);
		folio_put(f);
	}
	folio_put(f);	/* the locks keep the ring where it is */

	l = malloc(sizeof(*l));
	BUG_ON(!l);
	l->head = head;
	l->users = 1;
	l->locked = locked;
	l->nr_locked = nr;
	spin_lock(&lk_table_lock);
	l->next = *lk_bucket(head);
	*lk_bucket(head) = l;
	spin_unlock(&lk_table_lock);
	jh_in->b_tmpbh_cookie = head;
}

static void lock_tmpbh_end(struct journal_head *jh_in, struct buffer_head *tmp)
{
	struct buffer_head *head = jh_in->b_tmpbh_cookie, **locked = NULL;
	struct tmpbh_lk *l = NULL;
	unsigned int nr = 0;

	jh_in->b_tmpbh_cookie = NULL;
	spin_lock(&lk_table_lock);
	l = __lk_find(head);
	BUG_ON(!l || !l->users);
	if (--l->users == 0) {
		struct tmpbh_lk **pp = lk_bucket(head);

		while (*pp != l)
			pp = &(*pp)->next;
		*pp = l->next;
		locked = l->locked;
		nr = l->nr_locked;
	} else {
		l = NULL;
	}
	spin_unlock(&lk_table_lock);
	free(l);
	for (unsigned int i = 0; i < nr; i++)
		unlock_buffer(locked[i]);
	free(locked);
}

const struct strategy strategy_tmpbh_lock = {
	.name = "tmpbh-lock",
	.rule = "refs-ignored; the folio's buffer locks are held over the log write",
	.kernel = "S5c: lock_buffer around the log I/O (not proposed)",
	.migrate = MIGRATE_REFS_IGNORED,
	.lookup_split = true,
	.tmpbh_begin = lock_tmpbh_begin,
	.tmpbh_end = lock_tmpbh_end,
};
