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

/*
 * The lock checker's view of the primitives (lockdep in miniature; the
 * checker itself is src/lab/lockdep.c, installed by the lab).  Every lock
 * belongs to a class, as in the kernel: one static key per init site
 * (spin_lock_init(&m->i_private_lock) names the class
 * "&m->i_private_lock"), plus one key each for the bit locks PG_locked
 * ("folio lock") and BH_Lock ("buffer lock"), which the kernel's lockdep
 * cannot see -- the reason the 2026 revoke ABBA (kernel-race.md §2.5 I5)
 * was found by hangs.  With no checker installed each hook costs one
 * relaxed load of lockdep_ops.
 *
 * The order of the calls a primitive makes:
 *   lock_acquire_check()    before it may block (not for trylocks): the
 *                           checker adds held -> this class dependencies and
 *                           reports a cycle before the deadlock can happen;
 *   lock_wait_begin/end()   around the blocking part (the watchdog's
 *                           wait-for graph);
 *   lock_acquired()         once it holds the lock;
 *   lock_released()         before it lets go; a release by a thread that
 *                           does not hold it (BH_Lock unlocked by the I/O
 *                           completion) is the checker's to resolve;
 *   lock_handoff()          the lock now belongs to in-flight I/O
 *                           (submit_bh): no thread holds it.
 */
enum lock_kind { LK_SPIN, LK_RWLOCK, LK_MUTEX, LK_BIT };

struct lock_class_key {
	const char *name;		/* [const] */
	enum lock_kind kind;		/* [const] */
	_Atomic int id;			/* [atomic] the checker's class index + 1, 0 = unseen */
	const char *aux_name;		/* [const] what the aux value of a bit lock is
					 * ("pfn", "block"), NULL for the others */
};

struct lockdep_ops {
	void (*check)(struct lock_class_key *k, const void *inst, uint64_t aux);
	void (*acquired)(struct lock_class_key *k, const void *inst, uint64_t aux, bool trylock);
	void (*released)(struct lock_class_key *k, const void *inst);
	void (*wait_begin)(struct lock_class_key *k, const void *inst, uint64_t aux);
	void (*wait_end)(void);
};
/* The installed checker, NULL when off [atomic; set between runs]. */
extern const struct lockdep_ops *_Atomic lockdep_ops;
/*
 * Non-zero while a bio's end_io runs (the kernel runs it in softirq
 * context): the bit locks it releases were handed off by submit_bh(), so
 * the checker does not look for them on anyone's held-lock stack.
 */
extern __thread int lockdep_irq_context;

static inline const struct lockdep_ops *__lockdep(void)
{
	return atomic_load_explicit(&lockdep_ops, memory_order_relaxed);
}
static inline void lock_acquire_check(struct lock_class_key *k, const void *inst, uint64_t aux)
{
	const struct lockdep_ops *ops = __lockdep();

	if (unlikely(ops) && k)
		ops->check(k, inst, aux);
}
static inline void lock_acquired(struct lock_class_key *k, const void *inst, uint64_t aux,
				 bool trylock)
{
	const struct lockdep_ops *ops = __lockdep();

	if (unlikely(ops) && k)
		ops->acquired(k, inst, aux, trylock);
}
static inline void lock_released(struct lock_class_key *k, const void *inst)
{
	const struct lockdep_ops *ops = __lockdep();

	if (unlikely(ops) && k)
		ops->released(k, inst);
}
#define lock_handoff(k, inst)	lock_released((k), (inst))
static inline bool lock_wait_begin(struct lock_class_key *k, const void *inst, uint64_t aux)
{
	const struct lockdep_ops *ops = __lockdep();

	if (likely(!ops) || !k)
		return false;
	ops->wait_begin(k, inst, aux);
	return true;
}
static inline void lock_wait_end(bool began)
{
	const struct lockdep_ops *ops = __lockdep();

	if (unlikely(began) && ops)
		ops->wait_end();
}

typedef struct {
	pthread_spinlock_t lock;
	_Atomic unsigned int owner;	/* [atomic] current_tid() of holder, 0 if free */
	struct lock_class_key *key;	/* [const] the lock checker's class */
} spinlock_t;

static inline void __spin_lock_init(spinlock_t *l, struct lock_class_key *key)
{
	pthread_spin_init(&l->lock, PTHREAD_PROCESS_PRIVATE);
	atomic_store(&l->owner, 0);
	l->key = key;
}
/* One class per init site, named after the expression (the kernel's way). */
#define spin_lock_init(l) do { \
	static struct lock_class_key __key = { .name = #l, .kind = LK_SPIN }; \
	__spin_lock_init((l), &__key); } while (0)

static inline void spin_lock(spinlock_t *l)
{
	lock_acquire_check(l->key, l, 0);
	if (pthread_spin_trylock(&l->lock)) {
		bool w = lock_wait_begin(l->key, l, 0);

		pthread_spin_lock(&l->lock);
		lock_wait_end(w);
	}
	atomic_store_explicit(&l->owner, current_tid(), memory_order_relaxed);
	current_spin_depth++;
	lock_acquired(l->key, l, 0, false);
}
static inline bool spin_trylock(spinlock_t *l)
{
	if (pthread_spin_trylock(&l->lock))
		return false;
	atomic_store_explicit(&l->owner, current_tid(), memory_order_relaxed);
	current_spin_depth++;
	lock_acquired(l->key, l, 0, true);
	return true;
}
static inline void spin_unlock(spinlock_t *l)
{
	BUG_ON(atomic_load_explicit(&l->owner, memory_order_relaxed) != current_tid());
	lock_released(l->key, l);
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
	struct lock_class_key *key;	/* [const] the lock checker's class */
};
void __mutex_init(struct mutex *m, struct lock_class_key *key);
#define mutex_init(m) do { \
	static struct lock_class_key __key = { .name = #m, .kind = LK_MUTEX }; \
	__mutex_init((m), &__key); } while (0)
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

/* rwlock_t: a reader/writer spinlock (j_state_lock; the kernel's rwlock_t
 * spins, so holding either side is atomic context: might_sleep() under it is
 * I4); the writer is tracked so that `__` functions can assert it; readers
 * are not tracked. */
typedef struct {
	pthread_rwlock_t lock;
	_Atomic unsigned int writer;	/* [atomic] current_tid() of the writer */
	struct lock_class_key *key;	/* [const] the lock checker's class */
} rwlock_t;
void __rwlock_init(rwlock_t *l, struct lock_class_key *key);
#define rwlock_init(l) do { \
	static struct lock_class_key __key = { .name = #l, .kind = LK_RWLOCK }; \
	__rwlock_init((l), &__key); } while (0)
void read_lock(rwlock_t *l);
void read_unlock(rwlock_t *l);
void write_lock(rwlock_t *l);
void write_unlock(rwlock_t *l);
#define assert_write_locked(l) BUG_ON(atomic_load(&(l)->writer) != current_tid())

#endif /* JBDLAB_LOCKING_H */
