// SPDX-License-Identifier: GPL-2.0
/*
 * compiler.c - diagnostics (BUG/WARN) and the seeded yield points of the lab.
 *
 * A yield point is a named race window (enum yield_point).  When the lab
 * enables a point, each pass through it calls yield_policy.  The default,
 * yield_policy_random, draws from the calling thread's xorshift PRNG with
 * the point's permille rate; on a hit the thread either yields the CPU or
 * sleeps a few microseconds, which widens the window the way Luis'
 * udelay(2000) experiment did in __find_get_block_slow().  The PRNG is per
 * thread and seeded by yield_seed_thread() from the run's seed, so the
 * decisions of one thread are replayable (the OS schedule is not, of course).
 *
 * Locking rules:
 *   - yield_point_permille[] is [atomic] and read with relaxed loads; the lab
 *     sets it before starting its threads.
 *   - the PRNG state is thread-local: no locking.
 *   - jbd_bug()/jbd_warn() take no lock other than stdio's own.
 */
#include <stdarg.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "compiler.h"
#include "locking.h"

_Atomic unsigned int yield_point_permille[YP_NR];

void jbd_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

void jbd_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "WARNING at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* ---- per-thread PRNG: xorshift64* (Marsaglia / Vigna) ---- */

static __thread uint64_t prandom_state;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void yield_seed_thread(uint64_t seed)
{
	uint64_t s = splitmix64(seed);

	prandom_state = s ? s : 0x2545f4914f6cdd1dULL;
}

uint64_t prandom_u64(void)
{
	uint64_t x = prandom_state;

	if (unlikely(!x)) {
		/* Unseeded thread: derive a seed from its stack address and time,
		 * so threads differ; seeded runs call yield_seed_thread(). */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = splitmix64((uint64_t)(uintptr_t)&x ^ (uint64_t)ts.tv_nsec);
		if (!x)
			x = 0x2545f4914f6cdd1dULL;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	prandom_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void yield_policy_random(enum yield_point yp)
{
	unsigned int permille = atomic_load_explicit(&yield_point_permille[yp],
						     memory_order_relaxed);
	uint64_t r = prandom_u64();

	if ((r % 1000) >= permille)
		return;
	/* A spinlock disables preemption: nothing to widen while one is held. */
	if (current_spin_depth)
		return;
	/* Half the hits yield, half sleep 1..64 us: both shapes of a preemption. */
	if ((r >> 20) & 1)
		sched_yield();
	else
		usleep(1 + ((r >> 32) & 63));
}

yield_policy_t *_Atomic yield_policy = yield_policy_random;

const char *yield_point_name(enum yield_point yp)
{
	static const char *const names[YP_NR] = {
		[YP_LOOKUP_BEFORE_LOCK] = "lookup-before-lock",
		[YP_MIGRATE_AFTER_REFCHECK] = "migrate-after-refcheck",
		[YP_MIGRATE_IN_COPY] = "migrate-in-copy",
		[YP_JBD2_TMPBH_IO] = "jbd2-tmpbh-io",
		[YP_META_ACCESS] = "meta-access",
		[YP_CREDIT_WINDOW] = "credit-window",
		[YP_CREATE_ACCESS] = "create-access",
	};

	return (unsigned int)yp < YP_NR ? names[yp] : "?";
}
