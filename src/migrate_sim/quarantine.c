// SPDX-License-Identifier: GPL-2.0
/*
 * quarantine.c - the poisoned quarantine of freed folios.
 *
 * The kernel reuses a freed page at once; a stale pointer (b_data of a bh
 * that was not re-pointed, a temporary jbd2 bh aliasing a migrated folio, a
 * bio still in flight) then reads or corrupts someone else's data, and the
 * symptom shows up hours later as "invalid magic".  The lab makes the same
 * mistakes observable at once, in the style of KASAN's quarantine and the
 * radix-tree test suite's poisoning:
 *
 *   1. folio_put() of the last reference -> folio_free() -> quarantine_add():
 *      the data is filled with FOLIO_POISON, PG_freed is set, the folio is
 *      queued (FIFO, numbered by freed_seq) and hashed by its address so that
 *      mm_addr_in_quarantine() can classify a raw pointer;
 *   2. when more than quarantine_len folios are queued, the oldest batch is
 *      moved to a "pending" list and handed to call_rcu(): lockless
 *      page-cache readers (filemap_get_entry) may still be looking at the
 *      struct folio, exactly why the kernel's folio memory is type-stable;
 *   3. after the grace period the poison is verified (a mismatch is a write
 *      through a stale pointer: poison_report_hook, quarantine_violations)
 *      and the memory is freed.  Never earlier, and never reused.
 *
 * quarantine_scan() verifies everything that is queued or pending, and
 * re-poisons a corrupted folio after reporting it so that one stray write is
 * counted once.
 *
 * Locking rules:
 *   - quarantine_lock (spin) protects both lists, the counters and the page
 *     hash; it is a leaf lock and may be taken under any other lock;
 *   - quarantine_add() never sleeps (call_rcu() only queues);
 *   - quarantine_drain() calls synchronize_rcu(): never call it inside
 *     rcu_read_lock() or with a spinlock held.
 */
#include <string.h>

#include "mm_internal.h"

#define QUARANTINE_BATCH	32
#define QHASH_BITS		12

struct qbatch {
	struct rcu_head rh;		/* [owner: call_rcu until the callback] */
	struct list_head node;		/* on quarantine_pending [quarantine_lock] */
	struct list_head folios;	/* [quarantine_lock] */
};

static spinlock_t quarantine_lock;
static LIST_HEAD(quarantine_list);	/* newest at tail [quarantine_lock] */
static LIST_HEAD(quarantine_pending);	/* waiting for a grace period [quarantine_lock] */
static unsigned long quarantine_nr;	/* on quarantine_list [quarantine_lock] */
static unsigned long quarantine_nr_pending;	/* [quarantine_lock] */
static unsigned long quarantine_len = 1024;	/* [quarantine_lock] */
static uint64_t quarantine_seq;		/* [quarantine_lock] */
static struct folio *qhash[1U << QHASH_BITS];	/* by f->data [quarantine_lock] */
static unsigned int qhash_max_order;		/* largest order ever queued [quarantine_lock] */
static _Atomic uint64_t nr_violations;
static unsigned char poison_page[PAGE_SIZE];	/* [const after the constructor] quarantine_check()'s reference */
static _Atomic size_t quarantine_nr_bytes;	/* queued + pending folio memory [atomic] */

static void default_poison_report(const struct mm_poison_report *r)
{
	fprintf(stderr, "mm: poison violation in freed folio pfn %#llx gen %llu: "
		"offset %zu holds %#02x (expected %#02x)\n",
		(unsigned long long)r->pfn, (unsigned long long)r->generation,
		r->offset, r->byte, FOLIO_POISON);
}

void (*poison_report_hook)(const struct mm_poison_report *r) = default_poison_report;

__attribute__((constructor)) static void quarantine_ctor(void)
{
	spin_lock_init(&quarantine_lock);
	memset(poison_page, FOLIO_POISON, sizeof(poison_page));
}

static inline unsigned int qhash_of(uintptr_t addr)
{
	return (unsigned int)(((uint64_t)addr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL >> (64 - QHASH_BITS));
}

/*
 * The hash holds each queued folio once, by its data address; a raw
 * pointer is found by probing, for every order, the base that a folio of
 * that order containing it would have (folio data is aligned to its
 * size).  Insert and remove cost no allocation.  Entry: quarantine_lock.
 */
static void qhash_insert(struct folio *f)
{
	unsigned int h = qhash_of((uintptr_t)f->data);

	f->qhash_next = qhash[h];
	qhash[h] = f;
	if (f->order > qhash_max_order)
		qhash_max_order = f->order;
}

static void qhash_remove(struct folio *f)
{
	struct folio **pp = &qhash[qhash_of((uintptr_t)f->data)];

	while (*pp && *pp != f)
		pp = &(*pp)->qhash_next;
	BUG_ON(!*pp);
	*pp = f->qhash_next;
	f->qhash_next = NULL;
}

static struct folio *qhash_find(const void *p)
{
	for (unsigned int order = 0; order <= qhash_max_order; order++) {
		uintptr_t base = (uintptr_t)p & ~(((uintptr_t)PAGE_SIZE << order) - 1);

		for (struct folio *f = qhash[qhash_of(base)]; f; f = f->qhash_next)
			if ((uintptr_t)f->data == base && f->order == order)
				return f;
	}
	return NULL;
}

/*
 * Verify the poison of one folio; report, count and re-poison on mismatch.
 * Page by page with memcmp() (folio data is page aligned), bytes only to
 * locate a mismatch: a byte or word loop here is what a coverage-guided
 * fuzzer's instrumentation makes the most expensive line of a run.
 */
static bool quarantine_check(struct folio *f)
{
	const unsigned char *p = (const unsigned char *)f->data;
	size_t size = folio_size(f), off = 0;

	while (off < size && !memcmp(p + off, poison_page, PAGE_SIZE))
		off += PAGE_SIZE;
	for (; off < size; off++) {
		if (likely(p[off] == FOLIO_POISON))
			continue;
		struct mm_poison_report r = {
			.pfn = f->pfn, .generation = f->generation,
			.offset = off, .byte = p[off],
		};
		atomic_fetch_add(&nr_violations, 1);
		if (poison_report_hook)
			poison_report_hook(&r);
		memset(f->data, FOLIO_POISON, size);
		return false;
	}
	return true;
}

static void release_list(struct list_head *head)
{
	struct folio *f, *n;

	list_for_each_entry_safe(f, n, head, lru) {
		list_del_init(&f->lru);
		quarantine_check(f);
		atomic_fetch_sub(&quarantine_nr_bytes, folio_size(f));
		folio_free_memory(f);
	}
}

static void quarantine_batch_rcu(struct rcu_head *rh)
{
	struct qbatch *b = container_of(rh, struct qbatch, rh);
	struct folio *f, *n;
	LIST_HEAD(done);

	spin_lock(&quarantine_lock);
	list_del_init(&b->node);
	list_for_each_entry_safe(f, n, &b->folios, lru) {
		qhash_remove(f);
		list_move_tail(&f->lru, &done);
		quarantine_nr_pending--;
	}
	spin_unlock(&quarantine_lock);
	/* Verified outside the lock: the folios are unreachable now. */
	release_list(&done);
	free(b);
}

/*
 * quarantine_add - poison and queue a folio whose refcount reached 0.
 * Lock state: any (never sleeps).  The folio is owned by nobody.
 */
void quarantine_add(struct folio *f)
{
	struct qbatch *b = NULL;

	memset(f->data, FOLIO_POISON, folio_size(f));
	atomic_store(&f->flags, BIT(PG_freed));
	atomic_fetch_add(&quarantine_nr_bytes, folio_size(f));

	spin_lock(&quarantine_lock);
	f->freed_seq = ++quarantine_seq;
	list_add_tail(&f->lru, &quarantine_list);
	quarantine_nr++;
	qhash_insert(f);
	if (quarantine_nr >= quarantine_len + QUARANTINE_BATCH) {
		/* The oldest QUARANTINE_BATCH each have >= quarantine_len newer frees. */
		b = malloc(sizeof(*b));
		BUG_ON(!b);
		INIT_LIST_HEAD(&b->folios);
		for (int i = 0; i < QUARANTINE_BATCH; i++) {
			struct folio *old = list_first_entry(&quarantine_list, struct folio, lru);

			list_move_tail(&old->lru, &b->folios);
			quarantine_nr--;
			quarantine_nr_pending++;
		}
		list_add_tail(&b->node, &quarantine_pending);
	}
	spin_unlock(&quarantine_lock);
	if (b)
		call_rcu(&b->rh, quarantine_batch_rcu);
}

/* Lock state for the queries below: none held; they take quarantine_lock. */
unsigned long quarantine_count(void)
{
	unsigned long n;

	spin_lock(&quarantine_lock);
	n = quarantine_nr + quarantine_nr_pending;
	spin_unlock(&quarantine_lock);
	return n;
}

/* quarantine_bytes - folio memory held by the quarantine.  Lock state: any. */
size_t quarantine_bytes(void)
{
	return atomic_load_explicit(&quarantine_nr_bytes, memory_order_relaxed);
}

uint64_t quarantine_violations(void)
{
	return atomic_load(&nr_violations);
}

/* quarantine_scan - verify every queued and pending folio now. */
unsigned long quarantine_scan(void)
{
	unsigned long bad = 0;
	struct folio *f;
	struct qbatch *b;

	spin_lock(&quarantine_lock);
	list_for_each_entry(f, &quarantine_list, lru)
		bad += !quarantine_check(f);
	list_for_each_entry(b, &quarantine_pending, node)
		list_for_each_entry(f, &b->folios, lru)
			bad += !quarantine_check(f);
	spin_unlock(&quarantine_lock);
	return bad;
}

/*
 * quarantine_drain - release everything after a grace period.
 * Entry: outside rcu_read_lock(), no spinlock held (sleeps).
 */
void quarantine_drain(void)
{
	LIST_HEAD(all);
	struct folio *f;

	might_sleep();
	spin_lock(&quarantine_lock);
	while (!list_empty(&quarantine_list)) {
		f = list_first_entry(&quarantine_list, struct folio, lru);
		qhash_remove(f);
		list_move_tail(&f->lru, &all);
		quarantine_nr--;
	}
	spin_unlock(&quarantine_lock);
	synchronize_rcu();
	release_list(&all);
	/* Pending batches are released by their callbacks. */
	rcu_barrier();
}

void quarantine_set_len(unsigned long len)
{
	spin_lock(&quarantine_lock);
	quarantine_len = len;
	spin_unlock(&quarantine_lock);
}

unsigned long quarantine_get_len(void)
{
	unsigned long len;

	spin_lock(&quarantine_lock);
	len = quarantine_len;
	spin_unlock(&quarantine_lock);
	return len;
}

/* mm_quarantine_lookup - lock state: any except quarantine_lock. */
bool mm_quarantine_lookup(const void *p, uint64_t *pfn, uint64_t *generation)
{
	struct folio *f;

	spin_lock(&quarantine_lock);
	f = qhash_find(p);
	if (f) {
		if (pfn)
			*pfn = f->pfn;
		if (generation)
			*generation = f->generation;
	}
	spin_unlock(&quarantine_lock);
	return f != NULL;
}

bool mm_addr_in_quarantine(const void *p)
{
	return mm_quarantine_lookup(p, NULL, NULL);
}

mm_access_hook_t *_Atomic mm_access_hook;
