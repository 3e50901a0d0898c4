// SPDX-License-Identifier: GPL-2.0
/*
 * bh_lru.c - the per-CPU buffer_head LRU of fs/buffer.c, per thread here.
 *
 * Each thread keeps the BH_LRU_SIZE most recently looked-up buffer_heads;
 * a hit returns the bh with get_bh() and no lock of the mapping at all, the
 * only lock-free way to obtain a bh reference.  Every slot holds its own
 * b_count reference, which is why migration's b_count scan must drain the
 * LRUs (invalidate_bh_lrus(), an IPI to every CPU in the kernel) before
 * declaring a folio busy.
 *
 * The model of the IPI: each thread's LRU is a struct registered in a global
 * list and guarded by its own spinlock, which the owner takes around every
 * lookup/install (the kernel disables preemption/irqs instead) and which
 * invalidate_bh_lrus() takes from the draining thread.  A TLS destructor
 * drains and unregisters the LRU when its thread exits.
 *
 * Locking rules:
 *   - lru->lock protects lru->bhs[]; the owner takes it alone; the drainer
 *     takes bh_lru_registry_lock then each lru->lock (registry -> lru);
 *   - brelse() under lru->lock is fine: it never sleeps;
 *   - nothing in this file sleeps except the registry mutex.
 */
#include <string.h>

#include "mm_internal.h"

struct bh_lru {
	spinlock_t lock;			/* owner thread + drainers [lock] */
	struct buffer_head *bhs[BH_LRU_SIZE];	/* [lock] each holds a b_count */
	struct list_head node;			/* [bh_lru_registry_lock] */
};

static pthread_mutex_t bh_lru_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(bh_lru_registry);		/* [bh_lru_registry_lock] */
static pthread_key_t bh_lru_key;
static pthread_once_t bh_lru_once = PTHREAD_ONCE_INIT;
static __thread struct bh_lru *my_bh_lru;

static void bh_lru_destructor(void *p);

static void bh_lru_key_init(void)
{
	pthread_key_create(&bh_lru_key, bh_lru_destructor);
}

static struct bh_lru *bh_lru_get(void)
{
	struct bh_lru *lru = my_bh_lru;

	if (likely(lru))
		return lru;
	pthread_once(&bh_lru_once, bh_lru_key_init);
	lru = calloc(1, sizeof(*lru));
	BUG_ON(!lru);
	spin_lock_init(&lru->lock);
	pthread_mutex_lock(&bh_lru_registry_lock);
	list_add_tail(&lru->node, &bh_lru_registry);
	pthread_mutex_unlock(&bh_lru_registry_lock);
	pthread_setspecific(bh_lru_key, lru);
	my_bh_lru = lru;
	return lru;
}

static void __bh_lru_drain(struct bh_lru *lru)
{
	assert_spin_locked(&lru->lock);
	for (int i = 0; i < BH_LRU_SIZE; i++) {
		if (lru->bhs[i]) {
			__brelse(lru->bhs[i]);
			lru->bhs[i] = NULL;
		}
	}
}

static void bh_lru_release(struct bh_lru *lru)
{
	pthread_mutex_lock(&bh_lru_registry_lock);
	list_del_init(&lru->node);
	pthread_mutex_unlock(&bh_lru_registry_lock);
	spin_lock(&lru->lock);
	__bh_lru_drain(lru);
	spin_unlock(&lru->lock);
	free(lru);
}

static void bh_lru_destructor(void *p)
{
	if (p) {
		if (my_bh_lru == p)
			my_bh_lru = NULL;
		bh_lru_release(p);
	}
}

/* bh_lru_thread_exit - release the calling thread's LRU.  Lock state: none. */
void bh_lru_thread_exit(void)
{
	struct bh_lru *lru = my_bh_lru;

	if (!lru)
		return;
	my_bh_lru = NULL;
	pthread_setspecific(bh_lru_key, NULL);
	bh_lru_release(lru);
}

/*
 * lookup_bh_lru - fs/buffer.c.  On a hit, move the bh to the front and
 * return it with a new b_count reference.  Lock state: any except this
 * thread's lru->lock; never sleeps.
 */
struct buffer_head *lookup_bh_lru(struct block_device *bdev, sector_t block, unsigned int size)
{
	struct bh_lru *lru = bh_lru_get();
	struct buffer_head *ret = NULL;

	spin_lock(&lru->lock);
	for (int i = 0; i < BH_LRU_SIZE; i++) {
		struct buffer_head *bh = lru->bhs[i];

		if (bh && bh->b_blocknr == block && bh->b_bdev == bdev && bh->b_size == size) {
			if (i) {
				memmove(&lru->bhs[1], &lru->bhs[0], i * sizeof(lru->bhs[0]));
				lru->bhs[0] = bh;
			}
			get_bh(bh);
			ret = bh;
			break;
		}
	}
	spin_unlock(&lru->lock);
	return ret;
}

/*
 * bh_lru_install - put bh at the front; the slot takes its own b_count, the
 * evicted last slot's reference is dropped.  Entry: caller holds b_count.
 */
void bh_lru_install(struct buffer_head *bh)
{
	struct bh_lru *lru = bh_lru_get();
	struct buffer_head *evict = NULL;
	int pos;

	spin_lock(&lru->lock);
	if (lru->bhs[0] == bh) {
		spin_unlock(&lru->lock);
		return;
	}
	for (pos = 1; pos < BH_LRU_SIZE; pos++)
		if (lru->bhs[pos] == bh)
			break;
	if (pos == BH_LRU_SIZE) {
		/* New entry: the slot takes a reference, the last one is evicted. */
		get_bh(bh);
		pos = BH_LRU_SIZE - 1;
		evict = lru->bhs[pos];
	}
	memmove(&lru->bhs[1], &lru->bhs[0], pos * sizeof(lru->bhs[0]));
	lru->bhs[0] = bh;
	spin_unlock(&lru->lock);
	if (evict)
		__brelse(evict);
}

/* invalidate_bh_lru_current - drain the calling thread's LRU. */
void invalidate_bh_lru_current(void)
{
	struct bh_lru *lru = my_bh_lru;

	if (!lru)
		return;
	spin_lock(&lru->lock);
	__bh_lru_drain(lru);
	spin_unlock(&lru->lock);
}

/*
 * invalidate_bh_lrus - drain every thread's LRU (the kernel's
 * on_each_cpu_cond(has_bh_in_lru, invalidate_bh_lru)).  Entry: no spinlock
 * held (takes the registry mutex); on return no LRU holds a reference that
 * existed at the call.
 */
void invalidate_bh_lrus(void)
{
	struct bh_lru *lru;

	might_sleep();
	pthread_mutex_lock(&bh_lru_registry_lock);
	list_for_each_entry(lru, &bh_lru_registry, node) {
		spin_lock(&lru->lock);
		__bh_lru_drain(lru);
		spin_unlock(&lru->lock);
	}
	pthread_mutex_unlock(&bh_lru_registry_lock);
}
