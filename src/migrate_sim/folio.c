// SPDX-License-Identifier: GPL-2.0
/*
 * folio.c - folio allocation, reference counting, the folio lock and the
 * writeback bit (include/linux/page_ref.h, mm/filemap.c, mm/page_alloc.c).
 *
 * A folio's _refcount counts the page-cache slot (folio_nr_pages), the
 * attached buffer ring (+1 while PG_private) and every temporary reference
 * (lookups, isolation, the shrinker).  Two rules carry the whole lab:
 *
 *   - folio_try_get() fails on a count of 0, which is both "free" and
 *     "frozen"; lockless page-cache readers rely on it (filemap_get_entry).
 *   - folio_ref_freeze(expected) is a CAS expected -> 0: it fails if anyone
 *     holds one more reference than the freezer accounted for.  That is how
 *     eviction and migration exclude lookups that already took a reference.
 *
 * The last folio_put() hands the folio to the quarantine (quarantine.c): its
 * data is poisoned and its memory is released only after an RCU grace period
 * and quarantine_len later frees, so stale b_data pointers are observable.
 * The model never recycles folio memory: a new allocation is a new pfn and a
 * new generation (the kernel's page reuse is what the quarantine delays).
 *
 * The folio lock is the PG_locked bit with the hashed bit waitqueue, as
 * folio_lock()/folio_unlock() in mm/filemap.c (PG_waiters is not used: the
 * bucket's waiter count plays its role).
 *
 * Folio memory comes from a page allocator of our own (the buddy
 * allocator's free_area[] in spirit, without splitting or merging): whole
 * mmap'd chunks carved into folios of one order, and a free list per order
 * that quarantine releases feed.  malloc would pad every page-aligned 4 KiB
 * allocation with up to a page of waste and scatter folios over per-thread
 * arenas whose freed space it cannot return, doubling the daemon's RSS
 * over the page cache it holds.  Memory handed back is reused only after
 * the quarantine let go of it, exactly as with free().
 *
 * Locking rules:
 *   - free_area[order].lock is a spinlock, outside only pool_ready_lock
 *     (folio_alloc never sleeps; see the pre-faulted chunks below);
 *   - _refcount and flags are [atomic]; no lock is needed to change them;
 *   - folio_lock() sleeps: never call it with a spinlock held;
 *   - folio_put() may be called anywhere (even under spinlocks and inside
 *     rcu_read_lock()): freeing never sleeps, the release is deferred.
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "mm_internal.h"

_Atomic long nr_live_folios;
static _Atomic uint64_t pfn_seq = 0x1000;
static _Atomic uint64_t generation_seq;

uint64_t folio_next_pfn(void)
{
	return atomic_load(&pfn_seq);
}

/* ------------------------------------------------------ page allocator */

#define FOLIO_POOL_ORDERS	11		/* orders 0..10 come from the pool */
#define FOLIO_POOL_CHUNK	(2UL << 20)	/* mmap granule of the pool */

struct free_area {
	spinlock_t lock;		/* leaf [lock] */
	/* Freed folio memory, kept in an array outside it: a stale write
	 * into memory the quarantine already released must land in data (a
	 * later folio's, where the content oracle sees it), never in an
	 * allocator link. */
	void **free_stack;		/* [lock] */
	size_t nr_free, free_cap;	/* [lock] */
	char *chunk_next, *chunk_end;	/* uncarved rest of the newest chunk [lock] */
};

static struct free_area free_area[FOLIO_POOL_ORDERS];

__attribute__((constructor)) static void free_area_ctor(void)
{
	for (unsigned int i = 0; i < FOLIO_POOL_ORDERS; i++)
		spin_lock_init(&free_area[i].lock);
}

/*
 * Pre-faulted chunks.  A fresh chunk costs a page fault and the kernel's
 * zeroing per page at its first touch -- a journal replay touches ~170 MB
 * of new page cache once, and those faults were a third of its time.  Once
 * a process has shown it allocates in bulk (POOL_REFILL_AFTER chunks mapped
 * on demand), a refill thread keeps up to POOL_READY_MAX chunks mapped with
 * MAP_POPULATE ahead of the allocator, on the other CPU.  This is the
 * simulator's allocator, not a kernel mechanism: the kernel's page
 * allocator hands out pages that are already backed.  The contents are
 * zeros either way.
 *
 * Locking rules: pool_ready_lock is a leaf spinlock, taken under
 * free_area[].lock; pool_refill_mutex only pairs with the condvar and is
 * never taken under a spinlock (the kick is made after the caller dropped
 * its lock).
 */
#define POOL_READY_MAX		8
#define POOL_READY_LOW		4
#define POOL_REFILL_AFTER	4

static spinlock_t pool_ready_lock;
static char *pool_ready[POOL_READY_MAX];	/* [pool_ready_lock] */
static _Atomic unsigned int pool_nr_ready;	/* written under pool_ready_lock [atomic] */
static _Atomic unsigned int pool_nr_mapped;	/* chunks mapped on demand [atomic] */
static pthread_mutex_t pool_refill_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_refill_wait = PTHREAD_COND_INITIALIZER;
static bool pool_refill_started;		/* [pool_refill_mutex] */

__attribute__((constructor)) static void pool_ready_ctor(void)
{
	spin_lock_init(&pool_ready_lock);
}

/*
 * A chunk of @size bytes aligned to @size (a power of two, >= the pool
 * chunk): folio data is aligned to its folio_size, as the kernel's is
 * (folio_address of an order-n folio is 2^n-page aligned), so that
 * offset_in_folio() -- a mask -- is right for any address inside it.
 */
static char *pool_map_aligned(size_t size, bool populate)
{
	char *raw = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0);
	char *c;
	size_t head;

	BUG_ON(raw == MAP_FAILED);
	c = (char *)(((uintptr_t)raw + size - 1) & ~(uintptr_t)(size - 1));
	head = (size_t)(c - raw);
	if (head)
		munmap(raw, head);
	munmap(c + size, size - head);
	c = mmap(c, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (populate ? MAP_POPULATE : 0), -1, 0);
	BUG_ON(c == MAP_FAILED);
	return c;
}

static char *pool_map(bool populate)
{
	return pool_map_aligned(FOLIO_POOL_CHUNK, populate);
}

static void *pool_refill_thread(void *unused)
{
	(void)unused;
	for (;;) {
		char *c;

		pthread_mutex_lock(&pool_refill_mutex);
		while (atomic_load(&pool_nr_ready) >= POOL_READY_MAX)
			pthread_cond_wait(&pool_refill_wait, &pool_refill_mutex);
		pthread_mutex_unlock(&pool_refill_mutex);
		c = pool_map(true);
		spin_lock(&pool_ready_lock);
		if (atomic_load(&pool_nr_ready) < POOL_READY_MAX) {
			pool_ready[atomic_load(&pool_nr_ready)] = c;
			atomic_fetch_add(&pool_nr_ready, 1);
			c = NULL;
		}
		spin_unlock(&pool_ready_lock);
		if (c)
			munmap(c, FOLIO_POOL_CHUNK);
	}
	return NULL;
}

/* The child of a fork() has no refill thread: start another on demand
 * (and the parent's may have held the ready lock at the fork). */
static void pool_atfork_child(void)
{
	spin_lock_init(&pool_ready_lock);
	pthread_mutex_init(&pool_refill_mutex, NULL);
	pthread_cond_init(&pool_refill_wait, NULL);
	pool_refill_started = false;
}

/* Wake (or start) the refill thread.  Lock state: no spinlock held. */
static void pool_refill_kick(void)
{
	pthread_mutex_lock(&pool_refill_mutex);
	if (!pool_refill_started) {
		pthread_t t;
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&a, 64 << 10);
		if (!pthread_create(&t, &a, pool_refill_thread, NULL)) {
			pool_refill_started = true;
			pthread_atfork(NULL, NULL, pool_atfork_child);
		}
		pthread_attr_destroy(&a);
	}
	pthread_cond_signal(&pool_refill_wait);
	pthread_mutex_unlock(&pool_refill_mutex);
}

/*
 * A new chunk for the allocator: a pre-faulted one if ready, else mapped
 * here.  *kick asks the caller to call pool_refill_kick() once it dropped
 * its spinlock.  Lock state: free_area[].lock held.
 */
static char *pool_take_chunk(bool *kick)
{
	char *c = NULL;

	spin_lock(&pool_ready_lock);
	if (atomic_load(&pool_nr_ready)) {
		atomic_fetch_sub(&pool_nr_ready, 1);
		c = pool_ready[atomic_load(&pool_nr_ready)];
	}
	spin_unlock(&pool_ready_lock);
	if (!c) {
		c = pool_map(false);
		*kick = atomic_fetch_add(&pool_nr_mapped, 1) + 1 >= POOL_REFILL_AFTER;
	} else {
		*kick = atomic_load(&pool_nr_ready) < POOL_READY_LOW;
	}
	return c;
}

/*
 * Page-aligned memory for one folio of `order`; *zeroed tells whether it is
 * fresh from a chunk (all zeros) or reused (contents undefined: poison).
 */
static void *folio_data_alloc(unsigned int order, bool *zeroed)
{
	size_t size = PAGE_SIZE << order;
	struct free_area *area;
	bool kick = false;
	void *p;

	if (order >= FOLIO_POOL_ORDERS) {
		p = aligned_alloc(size, size);
		BUG_ON(!p);
		*zeroed = false;
		return p;
	}
	area = &free_area[order];
	spin_lock(&area->lock);
	*zeroed = !area->nr_free;
	if (area->nr_free) {
		p = area->free_stack[--area->nr_free];
	} else {
		if (area->chunk_next == area->chunk_end) {
			size_t chunk = size > FOLIO_POOL_CHUNK ? size : FOLIO_POOL_CHUNK;
			char *c;

			if (chunk == FOLIO_POOL_CHUNK)
				c = pool_take_chunk(&kick);
			else
				c = pool_map_aligned(chunk, false);
			area->chunk_next = c;	/* fresh anonymous memory reads as zeros */
			area->chunk_end = c + chunk;
		}
		p = area->chunk_next;
		area->chunk_next += size;
	}
	spin_unlock(&area->lock);
	if (kick)
		pool_refill_kick();
	return p;
}

static void folio_data_free(void *p, unsigned int order)
{
	struct free_area *area;

	if (order >= FOLIO_POOL_ORDERS) {
		free(p);
		return;
	}
	area = &free_area[order];
	spin_lock(&area->lock);
	if (area->nr_free == area->free_cap) {
		size_t cap = area->free_cap ? 2 * area->free_cap : 256;
		void **n = realloc(area->free_stack, cap * sizeof(*n));

		BUG_ON(!n);
		area->free_stack = n;
		area->free_cap = cap;
	}
	area->free_stack[area->nr_free++] = p;
	spin_unlock(&area->lock);
}

/*
 * folio_alloc - a fresh folio with refcount 1, not in any mapping, zeroed.
 * Lock state: none required; never sleeps.
 */
struct folio *folio_alloc(unsigned int order)
{
	struct folio *f = calloc(1, sizeof(*f));
	bool zeroed;

	BUG_ON(!f);
	/* Aligned to folio_size (offset_in_folio() masks; the quarantine
	 * hashes by page). */
	f->data = folio_data_alloc(order, &zeroed);
	if (!zeroed)
		memset(f->data, 0, PAGE_SIZE << order);
	f->order = order;
	atomic_store(&f->flags, 0);
	atomic_store(&f->_refcount, 1);
	f->pfn = atomic_fetch_add(&pfn_seq, 1UL << order);
	f->generation = atomic_fetch_add(&generation_seq, 1) + 1;
	INIT_LIST_HEAD(&f->lru);
	atomic_fetch_add(&nr_live_folios, 1);
	return f;
}

/* Called by quarantine.c when the folio leaves quarantine. */
void folio_free_memory(struct folio *f)
{
	folio_data_free(f->data, f->order);
	free(f);
}

/* What every free checks (free_unref_folios()'s bad-page checks). */
static void folio_free_checks(struct folio *f)
{
	unsigned long flags = atomic_load(&f->flags);

	if (unlikely(f->private || (flags & BIT(PG_private))))
		jbd_bug(__FILE__, __LINE__, "freeing folio pfn %#llx with buffers attached",
			(unsigned long long)f->pfn);
	if (unlikely(flags & (BIT(PG_locked) | BIT(PG_writeback))))
		jbd_bug(__FILE__, __LINE__, "freeing folio pfn %#llx that is %s",
			(unsigned long long)f->pfn,
			(flags & BIT(PG_locked)) ? "locked" : "under writeback");
	if (unlikely(flags & BIT(PG_freed)))
		jbd_bug(__FILE__, __LINE__, "double free of folio pfn %#llx",
			(unsigned long long)f->pfn);
}

/*
 * folio_free - the refcount reached 0 through folio_put(): the model of
 * free_unref_folios().  Buffers must be gone (a freed folio with PG_private
 * is a leak of its bh ring and a BUG in the kernel too).
 */
void folio_free(struct folio *f)
{
	folio_free_checks(f);
	f->mapping = NULL;
	atomic_fetch_sub(&nr_live_folios, 1);
	quarantine_add(f);
}

/*
 * folio_put_bulk - the last folio_put() of a bulk teardown
 * (address_space_destroy: the mapping is gone, every buffer was found idle,
 * the block device drained).  The folio skips the quarantine -- no poison,
 * no page hash, no check at release -- and waits on @list for the caller's
 * grace period, then folio_free_bulk_list() frees it.  The teardown sends
 * only what exceeds quarantine_len this way: the quarantine keeps its
 * length of poisoned folios, and the rest would have left it within the
 * same teardown anyway (a window of one grace period), at the cost of
 * writing and reading every byte of the cache once more.
 * Lock state: none; the caller holds the last reference.
 */
void folio_put_bulk(struct folio *f, struct list_head *list)
{
	int old = atomic_fetch_sub(&f->_refcount, 1);

	if (unlikely(old != 1))
		jbd_bug(__FILE__, __LINE__, "folio_put_bulk on folio pfn %#llx with refcount %d",
			(unsigned long long)f->pfn, old);
	folio_free_checks(f);
	f->mapping = NULL;
	atomic_fetch_sub(&nr_live_folios, 1);
	atomic_store(&f->flags, BIT(PG_freed));
	list_add_tail(&f->lru, list);
}

/* Entry: a grace period has elapsed since the folios' last folio_put_bulk(). */
void folio_free_bulk_list(struct list_head *list)
{
	struct folio *f, *n;

	list_for_each_entry_safe(f, n, list, lru) {
		list_del_init(&f->lru);
		folio_free_memory(f);
	}
}

/* Lock state for all refcount helpers: any; they never sleep. */
void folio_get(struct folio *f)
{
	int old = atomic_fetch_add(&f->_refcount, 1);

	if (unlikely(old <= 0))
		jbd_bug(__FILE__, __LINE__, "folio_get on folio pfn %#llx with refcount %d",
			(unsigned long long)f->pfn, old);
}

/* folio_try_get - page_ref_add_unless(folio, 1, 0): fails if free or frozen. */
bool folio_try_get(struct folio *f)
{
	int c = atomic_load_explicit(&f->_refcount, memory_order_relaxed);

	do {
		if (c == 0)
			return false;
		BUG_ON(c < 0);
	} while (!atomic_compare_exchange_weak(&f->_refcount, &c, c + 1));
	return true;
}

void folio_put(struct folio *f)
{
	int old = atomic_fetch_sub(&f->_refcount, 1);

	if (unlikely(old <= 0))
		jbd_bug(__FILE__, __LINE__, "folio_put on folio pfn %#llx with refcount %d",
			(unsigned long long)f->pfn, old);
	if (old == 1)
		folio_free(f);
}

void folio_ref_add(struct folio *f, int nr)
{
	int old = atomic_fetch_add(&f->_refcount, nr);

	BUG_ON(old <= 0);
}

/*
 * folio_ref_freeze - CAS expected -> 0 (page_ref_freeze()).  On success the
 * caller owns the folio exclusively until folio_ref_unfreeze().
 */
bool folio_ref_freeze(struct folio *f, int expected)
{
	int c = expected;

	BUG_ON(expected <= 0);
	return atomic_compare_exchange_strong(&f->_refcount, &c, 0);
}

void folio_ref_unfreeze(struct folio *f, int count)
{
	BUG_ON(atomic_load(&f->_refcount) != 0);
	BUG_ON(count < 0);
	atomic_store_explicit(&f->_refcount, count, memory_order_release);
}

/*
 * folio_expected_ref_count - the references a folio has for being what it
 * is, excluding the caller's (include/linux/mm.h since 86ebd50224c0): one
 * per page for the page-cache slot while it has a mapping, one for
 * PG_private.  No page tables map bdev folios in the model.
 */
int folio_expected_ref_count(const struct folio *f)
{
	int refs = 0;

	if (READ_ONCE(((struct folio *)f)->mapping))
		refs += (int)folio_nr_pages(f);
	if (folio_test_private(f))
		refs++;
	return refs;
}

/*
 * folio_free_unpublished - free a folio nobody but its allocator ever saw
 * (migration's destination after a failed attempt: put_new_folio()).  It
 * skips the quarantine: no stale pointer into it can exist, and a
 * quarantine filled with never-used folios would release the ones that
 * matter sooner.  Entry: refcount 1 held by the caller, unlocked, no buffers.
 */
void folio_free_unpublished(struct folio *f)
{
	BUG_ON(folio_ref_count(f) != 1 || f->mapping);
	atomic_store(&f->_refcount, 0);
	folio_free_checks(f);
	atomic_fetch_sub(&nr_live_folios, 1);
	folio_free_memory(f);
}

/* ----------------------------------------------------------- folio lock */

/* PG_locked for the lock checker (src/lab/lockdep.c): one class. */
struct lock_class_key folio_lock_key = {
	.name = "folio lock", .kind = LK_BIT, .aux_name = "pfn",
};

/* folio_lock - sleeps until PG_locked is ours.  Entry: no spinlock held. */
void folio_lock(struct folio *f)
{
	might_sleep();
	lock_acquire_check(&folio_lock_key, f, f->pfn);
	if (unlikely(test_and_set_bit_lock(PG_locked, &f->flags))) {
		bool w = lock_wait_begin(&folio_lock_key, f, f->pfn);

		wait_on_bit_lock(&f->flags, PG_locked);
		lock_wait_end(w);
	}
	lock_acquired(&folio_lock_key, f, f->pfn, false);
}

bool folio_trylock(struct folio *f)
{
	if (test_and_set_bit_lock(PG_locked, &f->flags))
		return false;
	lock_acquired(&folio_lock_key, f, f->pfn, true);
	return true;
}

void __folio_set_locked(struct folio *f)
{
	set_bit(PG_locked, &f->flags);
	lock_acquired(&folio_lock_key, f, f->pfn, true);
}

/* folio_unlock - entry: folio locked (by us, not checked: no owner). */
void folio_unlock(struct folio *f)
{
	BUG_ON(!folio_test_locked(f));
	lock_released(&folio_lock_key, f);
	clear_bit_unlock(PG_locked, &f->flags);
	wake_up_bit(&f->flags, PG_locked);
}

/* ------------------------------------------------------- writeback bit */

void folio_start_writeback(struct folio *f)
{
	BUG_ON(!folio_test_locked(f));
	if (folio_test_set_writeback(f))
		jbd_bug(__FILE__, __LINE__, "folio pfn %#llx already under writeback",
			(unsigned long long)f->pfn);
}

/*
 * folio_end_writeback - clear PG_writeback and wake waiters.  Like the
 * kernel, hold a reference across the wake-up: the folio may otherwise be
 * evicted and freed the moment the bit is clear.
 */
void folio_end_writeback(struct folio *f)
{
	folio_get(f);
	if (!test_and_clear_bit(PG_writeback, &f->flags))
		jbd_bug(__FILE__, __LINE__, "folio pfn %#llx not under writeback",
			(unsigned long long)f->pfn);
	wake_up_bit(&f->flags, PG_writeback);
	folio_put(f);
}

/* folio_wait_writeback - sleeps.  Entry: no spinlock held; caller holds a ref. */
void folio_wait_writeback(struct folio *f)
{
	wait_on_bit(&f->flags, PG_writeback);	/* might_sleep + acquire test */
}

/*
 * folio_mc_copy - copy_mc_highpage() page by page with cond_resched()
 * between pages (mm/util.c).  The cond_resched() is a might_sleep(): under
 * i_private_lock (strategy S1) with a large folio it reports I4.
 */
void folio_mc_copy(struct folio *dst, struct folio *src)
{
	unsigned long nr = folio_nr_pages(src);

	BUG_ON(dst->order != src->order);
	for (unsigned long i = 0; i < nr; i++) {
		memcpy(dst->data + i * PAGE_SIZE, src->data + i * PAGE_SIZE, PAGE_SIZE);
		if (i + 1 < nr) {
			might_sleep();
			yield_point(YP_MIGRATE_IN_COPY);
		}
	}
}
