// SPDX-License-Identifier: GPL-2.0
/*
 * locking.c - owner-tracking mutexes, might_sleep(), and the hashed
 * wait-on-bit / wait-on-var queues (kernel/sched/wait_bit.c).
 *
 * The kernel hashes (word, bit) to one of a few hundred wait queues so that a
 * bit lock (BH_Lock, PG_locked, BH_Shadow) costs no memory per object.  We do
 * the same: a bucket is a pthread mutex + condvar + waiter count.  Waiters of
 * different bits may share a bucket; they all recheck their own condition.
 *
 * The lost-wakeup argument (the Dekker pattern of wait_var_event):
 *   waiter                                 waker
 *   lock(bucket)                           <make the condition true>
 *   waiters++            (seq_cst RMW)     (clear_bit_unlock / seq_cst store)
 *   if cond: done        (seq_cst load)    atomic_thread_fence(seq_cst)
 *   cond_wait(bucket)                      if waiters == 0: return   (seq_cst load)
 *                                          lock(bucket); broadcast; unlock
 * Either the waiter sees the condition true, or the waker sees waiters != 0;
 * and because the waiter tests the condition with the bucket mutex held and
 * the waker broadcasts with it held, the broadcast cannot fall between the
 * waiter's test and its cond_wait.  With nobody waiting wake_up_bit() is one
 * fence and one load, as the kernel's waitqueue_active() fast path.
 *
 * Locking rules:
 *   - bucket->lock is a leaf: nothing else is taken under it, except that
 *     wait_var_event() evaluates its condition under it (the condition must
 *     therefore be a plain/atomic read, never a lock acquisition);
 *   - wake_up_bit()/wake_up_var() never sleep in the might_sleep() sense and
 *     may be called with spinlocks held;
 *   - every sleeping primitive calls might_sleep() first.
 */
#include <errno.h>
#include <string.h>

#include "locking.h"

/* ---------------------------------------------------------------- tids */

static _Atomic unsigned int next_tid = 1;
static __thread unsigned int my_tid;
__thread int current_spin_depth;
const struct lockdep_ops *_Atomic lockdep_ops;
__thread int lockdep_irq_context;

unsigned int current_tid(void)
{
	if (unlikely(!my_tid))
		my_tid = atomic_fetch_add(&next_tid, 1);
	return my_tid;
}

/* ------------------------------------------------------------ might_sleep */

void (*might_sleep_hook)(const char *what);

void might_sleep(void)
{
	if (likely(current_spin_depth == 0))
		return;
	if (might_sleep_hook) {
		might_sleep_hook("sleeping function called from atomic context");
		return;
	}
	jbd_bug(__FILE__, __LINE__,
		"sleeping function called from invalid context (spin depth %d, caller %p)",
		current_spin_depth, __builtin_return_address(0));
}

/* ---------------------------------------------------------------- mutex */

void __mutex_init(struct mutex *m, struct lock_class_key *key)
{
	pthread_mutex_init(&m->lock, NULL);
	atomic_store(&m->owner, 0);
	m->key = key;
}

void mutex_lock(struct mutex *m)
{
	might_sleep();
	BUG_ON(mutex_is_locked_by_me(m));	/* self-deadlock */
	lock_acquire_check(m->key, m, 0);
	if (pthread_mutex_trylock(&m->lock)) {
		bool w = lock_wait_begin(m->key, m, 0);

		pthread_mutex_lock(&m->lock);
		lock_wait_end(w);
	}
	atomic_store_explicit(&m->owner, current_tid(), memory_order_relaxed);
	lock_acquired(m->key, m, 0, false);
}

bool mutex_trylock(struct mutex *m)
{
	if (pthread_mutex_trylock(&m->lock))
		return false;
	atomic_store_explicit(&m->owner, current_tid(), memory_order_relaxed);
	lock_acquired(m->key, m, 0, true);
	return true;
}

void mutex_unlock(struct mutex *m)
{
	BUG_ON(!mutex_is_locked_by_me(m));
	lock_released(m->key, m);
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
	pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------- hashed waitqueues */

#define WAIT_TABLE_BITS	10
#define WAIT_TABLE_SIZE	(1U << WAIT_TABLE_BITS)

struct wait_bucket {
	pthread_mutex_t lock;		/* [lock] leaf */
	pthread_cond_t cond;		/* [lock] */
	_Atomic int waiters;		/* [atomic; changed under lock] */
} __attribute__((aligned(64)));

static struct wait_bucket wait_table[WAIT_TABLE_SIZE];
static pthread_once_t wait_table_once = PTHREAD_ONCE_INIT;

static void wait_table_init(void)
{
	for (unsigned int i = 0; i < WAIT_TABLE_SIZE; i++) {
		pthread_mutex_init(&wait_table[i].lock, NULL);
		pthread_cond_init(&wait_table[i].cond, NULL);
		atomic_store(&wait_table[i].waiters, 0);
	}
}

/* Run the table initialiser before main(): buckets are used by everyone. */
__attribute__((constructor)) static void wait_table_ctor(void)
{
	pthread_once(&wait_table_once, wait_table_init);
}

static inline struct wait_bucket *bucket_of(const void *p, int bit)
{
	uint64_t h = ((uint64_t)(uintptr_t)p + (uint64_t)bit) * 0x9e3779b97f4a7c15ULL;

	return &wait_table[h >> (64 - WAIT_TABLE_BITS)];
}

static void bucket_wake(struct wait_bucket *b)
{
#if defined(__SANITIZE_THREAD__)
	/* TSan does not model fences: a seq_cst RMW on the count gives the same
	 * guarantee (the waiter's increment then reads-from it). */
	if (atomic_fetch_add(&b->waiters, 0) == 0)
		return;
#else
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&b->waiters) == 0)
		return;
#endif
	pthread_mutex_lock(&b->lock);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void wait_on_bit(_Atomic unsigned long *word, int bit)
{
	struct wait_bucket *b;

	might_sleep();
	if (!test_bit_acquire(bit, word))
		return;
	b = bucket_of(word, bit);
	pthread_mutex_lock(&b->lock);
	atomic_fetch_add(&b->waiters, 1);
	while (atomic_load(word) & BIT(bit))
		pthread_cond_wait(&b->cond, &b->lock);
	atomic_fetch_sub(&b->waiters, 1);
	pthread_mutex_unlock(&b->lock);
}

void wait_on_bit_lock(_Atomic unsigned long *word, int bit)
{
	struct wait_bucket *b;

	might_sleep();
	if (!test_and_set_bit_lock(bit, word))
		return;
	b = bucket_of(word, bit);
	pthread_mutex_lock(&b->lock);
	atomic_fetch_add(&b->waiters, 1);
	for (;;) {
		while (atomic_load(word) & BIT(bit))
			pthread_cond_wait(&b->cond, &b->lock);
		if (!test_and_set_bit_lock(bit, word))
			break;
	}
	atomic_fetch_sub(&b->waiters, 1);
	pthread_mutex_unlock(&b->lock);
}

void wake_up_bit(_Atomic unsigned long *word, int bit)
{
	bucket_wake(bucket_of(word, bit));
}

struct wait_bucket *wait_bucket_prepare(const void *var)
{
	struct wait_bucket *b = bucket_of(var, 0);

	might_sleep();
	pthread_mutex_lock(&b->lock);
	atomic_fetch_add(&b->waiters, 1);
	return b;
}

void wait_bucket_sleep(struct wait_bucket *b)
{
	pthread_cond_wait(&b->cond, &b->lock);
}

void wait_bucket_finish(struct wait_bucket *b)
{
	atomic_fetch_sub(&b->waiters, 1);
	pthread_mutex_unlock(&b->lock);
}

void wake_up_var(const void *var)
{
	bucket_wake(bucket_of(var, 0));
}

/* ---------------------------------------------------------------- rwlock_t */

void __rwlock_init(rwlock_t *l, struct lock_class_key *key)
{
	pthread_rwlock_init(&l->lock, NULL);
	atomic_store(&l->writer, 0);
	l->key = key;
}

/* read_lock/write_lock spin in the kernel: the holder is in atomic context
 * (current_spin_depth), so might_sleep() under j_state_lock is I4. */
void read_lock(rwlock_t *l)
{
	lock_acquire_check(l->key, l, 0);
	if (pthread_rwlock_tryrdlock(&l->lock)) {
		bool w = lock_wait_begin(l->key, l, 0);

		pthread_rwlock_rdlock(&l->lock);
		lock_wait_end(w);
	}
	current_spin_depth++;
	lock_acquired(l->key, l, 0, false);
}

void read_unlock(rwlock_t *l)
{
	lock_released(l->key, l);
	current_spin_depth--;
	pthread_rwlock_unlock(&l->lock);
}

/* The checker's aux of an rwlock: 0 read, 1 write. */
void write_lock(rwlock_t *l)
{
	lock_acquire_check(l->key, l, 1);
	if (pthread_rwlock_trywrlock(&l->lock)) {
		bool w = lock_wait_begin(l->key, l, 1);

		pthread_rwlock_wrlock(&l->lock);
		lock_wait_end(w);
	}
	atomic_store_explicit(&l->writer, current_tid(), memory_order_relaxed);
	current_spin_depth++;
	lock_acquired(l->key, l, 1, false);
}

void write_unlock(rwlock_t *l)
{
	BUG_ON(atomic_load_explicit(&l->writer, memory_order_relaxed) != current_tid());
	lock_released(l->key, l);
	atomic_store_explicit(&l->writer, 0, memory_order_relaxed);
	current_spin_depth--;
	pthread_rwlock_unlock(&l->lock);
}
