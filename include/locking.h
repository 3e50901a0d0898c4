/* SPDX-License-Identifier: GPL-2.0 */
/*
 * locking.h - spinlocks, mutexes and wait-on-bit with owner tracking, so that
 * every `__` function can assert the lock its caller must hold
 * (lockdep_assert_held()), and a hashed bit-waitqueue like the kernel's
 * (kernel/sched/wait_bit.c) for BH_Lock, BH_Shadow and PG_locked.
 *
 * spinlock_t models a kernel spinlock: never sleep while holding one.  The
 * lock checker (lab) records "sleeping while holding a spinlock" through
 * might_sleep(), which every sleeping primitive here calls.
 *
 * Lock ranking (outermost first), for the whole project:
 *   fs lock (struct jfs::fs_lock, mutex)            -- src/fs
 *   j_checkpoint_mutex -> j_state_lock -> t_handle_lock   -- src/journal (issue 3)
 *   folio lock (PG_locked, sleeping)
 *   buffer lock (BH_Lock, sleeping)
 *   jh->b_state_lock -> j_list_lock (spin)
 *   mapping->i_private_lock (spin)
 *   mapping->i_pages.xa_lock (spin, innermost for mapping updates)
 *   bh_lru->lock (spin, per-thread LRU; taken alone)
 */
#ifndef JBDLAB_LOCKING_H
#define JBDLAB_LOCKING_H

#include <pthread.h>
#include "compiler.h"

/* A small, stable per-thread id (1..), 0 = nobody. */
unsigned int current_tid(void);

/* Number of spinlocks the current thread holds (for might_sleep()). */
extern __thread int current_spin_depth;

typedef struct {
	pthread_spinlock_t lock;
	_Atomic unsigned int owner;	/* [atomic] current_tid() of holder, 0 if free */
} spinlock_t;

static inline void spin_lock_init(spinlock_t *l)
{
	pthread_spin_init(&l->lock, PTHREAD_PROCESS_PRIVATE);
	atomic_store(&l->owner, 0);
}
static inline void spin_lock(spinlock_t *l)
{
	pthread_spin_lock(&l->lock);
	atomic_store_explicit(&l->owner, current_tid(), memory_order_relaxed);
	current_spin_depth++;
}
static inline bool spin_trylock(spinlock_t *l)
{
	if (pthread_spin_trylock(&l->lock))
		return false;
	atomic_store_explicit(&l->owner, current_tid(), memory_order_relaxed);
	current_spin_depth++;
	return true;
}
static inline void spin_unlock(spinlock_t *l)
{
	BUG_ON(atomic_load_explicit(&l->owner, memory_order_relaxed) != current_tid());
	atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
	current_spin_depth--;
	pthread_spin_unlock(&l->lock);
}
static inline bool spin_is_locked_by_me(spinlock_t *l)
{
	return atomic_load_explicit(&l->owner, memory_order_relaxed) == current_tid();
}
#define assert_spin_locked(l)	BUG_ON(!spin_is_locked_by_me(l))

struct mutex {
	pthread_mutex_t lock;
	_Atomic unsigned int owner;	/* [atomic] */
};
void mutex_init(struct mutex *m);
void mutex_lock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);
static inline bool mutex_is_locked_by_me(struct mutex *m)
{
	return atomic_load_explicit(&m->owner, memory_order_relaxed) == current_tid();
}
#define lockdep_assert_held(m)	BUG_ON(!mutex_is_locked_by_me(m))

/* Called by every primitive that may block: flags sleeping under a spinlock (I4). */
void might_sleep(void);
/* Hook the lab installs to count/report sleep-in-atomic instead of BUG(). */
extern void (*might_sleep_hook)(const char *what);

/*
 * Wait-on-bit, as kernel/sched/wait_bit.c: waiters hash on (word, bit).
 *   wait_on_bit(word, bit):       sleep until the bit is clear
 *   wait_on_bit_lock(word, bit):  sleep until test_and_set_bit_lock() succeeds
 *   wake_up_bit(word, bit):       after clear_bit_unlock(); cheap when nobody waits
 */
void wait_on_bit(_Atomic unsigned long *word, int bit);
void wait_on_bit_lock(_Atomic unsigned long *word, int bit);
void wake_up_bit(_Atomic unsigned long *word, int bit);

/*
 * wait_var_event()/wake_up_var() for counters and conditions (e.g. waiting for
 * I/O in flight).  The condition is evaluated with the hash bucket's mutex
 * held, so a wake_up_var() issued after the condition became true (with a
 * sequentially consistent store) can never be lost.
 */
struct wait_bucket;
struct wait_bucket *wait_bucket_prepare(const void *var);
void wait_bucket_sleep(struct wait_bucket *b);
void wait_bucket_finish(struct wait_bucket *b);
#define wait_var_event(var, cond) do { \
	struct wait_bucket *__wb = wait_bucket_prepare(var); \
	while (!(cond)) \
		wait_bucket_sleep(__wb); \
	wait_bucket_finish(__wb); } while (0)
void wake_up_var(const void *var);

/* rwlock_t: a reader/writer lock (j_state_lock); the writer is tracked so
 * that `__` functions can assert it; readers are not tracked. */
typedef struct {
	pthread_rwlock_t lock;
	_Atomic unsigned int writer;	/* [atomic] current_tid() of the writer */
} rwlock_t;
void rwlock_init(rwlock_t *l);
void read_lock(rwlock_t *l);
void read_unlock(rwlock_t *l);
void write_lock(rwlock_t *l);
void write_unlock(rwlock_t *l);
#define assert_write_locked(l) BUG_ON(atomic_load(&(l)->writer) != current_tid())

#endif /* JBDLAB_LOCKING_H */
