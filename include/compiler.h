/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compiler.h - the small kernel-isms every jbdlab module uses: list_head,
 * container_of, BUG_ON/WARN_ON_ONCE, atomic bit operations with the kernel's
 * memory-ordering semantics, and the seeded yield points of the lab.
 *
 * Atomics are C11 <stdatomic.h>.  Bit operations follow
 * Documentation/atomic_bitops.txt: test_and_set_bit_lock() has ACQUIRE
 * semantics on success, clear_bit_unlock() has RELEASE semantics, the plain
 * RMW ops (set_bit/clear_bit) are relaxed, test_and_*() that return a value
 * are fully ordered.
 */
#ifndef JBDLAB_COMPILER_H
#define JBDLAB_COMPILER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define __maybe_unused	__attribute__((unused))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define min_t(t, a, b)	((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)	((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
/* Marked accesses: relaxed atomics, so a READ_ONCE/WRITE_ONCE pair is not
 * a C11 data race and ThreadSanitizer sees it (a volatile cast is a plain
 * access to TSan).  Same code as the volatile form on x86-64/arm64;
 * scalars and pointers only. */
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* -------- diagnostics -------- */

__noreturn __printf(3, 4)
void jbd_bug(const char *file, int line, const char *fmt, ...);
__printf(3, 4)
void jbd_warn(const char *file, int line, const char *fmt, ...);

#define BUG()		jbd_bug(__FILE__, __LINE__, "BUG")
#define BUG_ON(c)	do { if (unlikely(c)) jbd_bug(__FILE__, __LINE__, "BUG_ON(%s)", #c); } while (0)
#define WARN_ON(c) ({ bool __w = !!(c); \
	if (unlikely(__w)) { jbd_warn(__FILE__, __LINE__, "WARN_ON(%s)", #c); } __w; })
#define WARN_ON_ONCE(c) ({ static bool __once; bool __w = !!(c); \
	if (unlikely(__w) && !__once) { __once = true; \
		jbd_warn(__FILE__, __LINE__, "WARN_ON_ONCE(%s)", #c); } __w; })

/* -------- list_head (include/linux/list.h semantics) -------- */

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l; l->prev = l; }
static inline void __list_add(struct list_head *n, struct list_head *p, struct list_head *nx)
{
	nx->prev = n; n->next = nx; n->prev = p; p->next = n;
}
static inline void list_add(struct list_head *n, struct list_head *h) { __list_add(n, h, h->next); }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __list_add(n, h->prev, h); }
static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev; e->prev->next = e->next; INIT_LIST_HEAD(e);
}
static inline void list_move_tail(struct list_head *e, struct list_head *h)
{
	list_del_init(e); list_add_tail(e, h);
}
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
#define list_entry(p, t, m)		container_of(p, t, m)
#define list_first_entry(h, t, m)	list_entry((h)->next, t, m)
#define list_for_each_entry(pos, head, member) \
	for (pos = list_entry((head)->next, __typeof__(*pos), member); \
	     &pos->member != (head); \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, head, member) \
	for (pos = list_entry((head)->next, __typeof__(*pos), member), \
	     n = list_entry(pos->member.next, __typeof__(*pos), member); \
	     &pos->member != (head); \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

/* -------- atomic bit operations on an unsigned long word -------- */

#define BIT(nr)	(1UL << (nr))

static inline bool test_bit(int nr, const _Atomic unsigned long *w)
{
	return atomic_load_explicit(w, memory_order_relaxed) & BIT(nr);
}
/* test_bit_acquire(): pairs with clear_bit_unlock() (used for BH_Migrate). */
static inline bool test_bit_acquire(int nr, const _Atomic unsigned long *w)
{
	return atomic_load_explicit(w, memory_order_acquire) & BIT(nr);
}
static inline void set_bit(int nr, _Atomic unsigned long *w)
{
	atomic_fetch_or_explicit(w, BIT(nr), memory_order_relaxed);
}
static inline void clear_bit(int nr, _Atomic unsigned long *w)
{
	atomic_fetch_and_explicit(w, ~BIT(nr), memory_order_relaxed);
}
static inline bool test_and_set_bit(int nr, _Atomic unsigned long *w)
{
	return atomic_fetch_or(w, BIT(nr)) & BIT(nr);
}
static inline bool test_and_clear_bit(int nr, _Atomic unsigned long *w)
{
	return atomic_fetch_and(w, ~BIT(nr)) & BIT(nr);
}
static inline bool test_and_set_bit_lock(int nr, _Atomic unsigned long *w)
{
	return atomic_fetch_or_explicit(w, BIT(nr), memory_order_acquire) & BIT(nr);
}
static inline void clear_bit_unlock(int nr, _Atomic unsigned long *w)
{
	atomic_fetch_and_explicit(w, ~BIT(nr), memory_order_release);
}

/* -------- seeded yield points --------
 * The lab widens the race windows that matter by yielding (or sleeping a
 * few microseconds) at named points.  Outside the lab every point is off and
 * costs one relaxed load.  What happens at an enabled point is one
 * replaceable policy (yield_policy): the default draws from a per-thread
 * PRNG seeded from the run's seed, so a run is replayable; a controlled
 * scheduler (or a unit test forcing one interleaving) installs its own.
 * Keep the sites few and named: the policy owns them all.
 */
enum yield_point {
	YP_LOOKUP_BEFORE_LOCK,		/* __find_get_block_slow: folio ref taken, lock not yet */
	YP_MIGRATE_AFTER_REFCHECK,	/* __buffer_migrate_folio: b_count scan done, not moved */
	YP_MIGRATE_IN_COPY,		/* folio_mc_copy: cond_resched between pages */
	YP_JBD2_TMPBH_IO,		/* journal I/O: between submit and the DMA moment */
	YP_META_ACCESS,			/* metadata user holding a b_data pointer */
	YP_CREDIT_WINDOW,		/* a credit estimate made, its handle not yet started
					 * (ext4_do_writepages, before 32a93f5bc9b9: I3) */
	YP_CREATE_ACCESS,		/* ext4_getblk: a new block's buffer locked, its
					 * get_create_access not yet (preemptible: the I5
					 * window, and where the task may change CPU) */
	YP_NR
};
extern _Atomic unsigned int yield_point_permille[YP_NR];	/* [atomic] 0 = off */
/* The policy at an enabled point; default: yield_policy_random. [atomic] */
typedef void yield_policy_t(enum yield_point yp);
extern yield_policy_t *_Atomic yield_policy;
yield_policy_t yield_policy_random;	/* permille chance: sched_yield() or a 1-64 us sleep */
const char *yield_point_name(enum yield_point yp);
static inline void yield_point(enum yield_point yp)
{
	if (unlikely(atomic_load_explicit(&yield_point_permille[yp], memory_order_relaxed)))
		atomic_load_explicit(&yield_policy, memory_order_relaxed)(yp);
}
/* Seed the calling thread's PRNG (the lab calls this per thread, from the run seed). */
void yield_seed_thread(uint64_t seed);
/* A per-thread xorshift PRNG, also used by the stress tool and the migrator. */
uint64_t prandom_u64(void);

/*
 * crc32c - raw CRC32C update (src/lib/crc32c.c): the kernel's crc32c(),
 * e2fsprogs' ext2fs_crc32c_le(); the CPU's CRC32 instruction when it has
 * one.  crc32c_sw is the table path, crc32c_is_hw says which one runs.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);
bool crc32c_is_hw(void);

#endif /* JBDLAB_COMPILER_H */
