// SPDX-License-Identifier: GPL-2.0
/*
 * test_waitbit - the bit waitqueue and wait_var_event never lose a wakeup.
 *
 * Invariant: a waiter that sleeps on a bit (BH_Lock, PG_locked) or a
 * variable is always woken by the waker's clear + wake_up_bit() /
 * store + wake_up_var(), however the two interleave (the waiter count is
 * incremented and the condition rechecked under the bucket mutex; the waker
 * fences and then checks the count).  A lost wakeup shows as a hang, which
 * the meson timeout turns into a failure.  Also: lock_buffer() is a real
 * mutual exclusion, and might_sleep() under a spinlock reaches the hook.
 */
#include "mm_test.h"

#define THREADS	4
#define ITERS	20000

static struct buffer_head *bh;
static long counter;			/* [BH_Lock of bh] */
static _Atomic int turn;
static int hook_calls;

static void *locker(void *arg)
{
	yield_seed_thread((uintptr_t)arg);
	for (int i = 0; i < ITERS; i++) {
		lock_buffer(bh);
		long c = counter;

		if ((prandom_u64() & 63) == 0)
			sched_yield();
		counter = c + 1;
		unlock_buffer(bh);
	}
	return NULL;
}

/* Ping-pong through wait_var_event: each side waits for its turn. */
static void *pong(void *arg)
{
	int me = (int)(uintptr_t)arg;

	for (int i = 0; i < ITERS / 4; i++) {
		wait_var_event(&turn, atomic_load(&turn) == me);
		atomic_store(&turn, !me);
		wake_up_var(&turn);
	}
	return NULL;
}

static void sleep_hook(const char *what)
{
	hook_calls++;
}

int main(void)
{
	pthread_t t[THREADS];
	spinlock_t sl;
	uint64_t seed = test_seed("test_waitbit");

	bh = alloc_buffer_head();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, locker, (void *)(uintptr_t)(seed + i));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(counter, (long)THREADS * ITERS);
	CHECK(!buffer_locked(bh));

	atomic_store(&turn, 0);
	pthread_create(&t[0], NULL, pong, (void *)0);
	pthread_create(&t[1], NULL, pong, (void *)1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);

	/* might_sleep() with a spinlock held goes to the hook. */
	might_sleep_hook = sleep_hook;
	spin_lock_init(&sl);
	spin_lock(&sl);
	might_sleep();
	spin_unlock(&sl);
	might_sleep();
	CHECK_EQ(hook_calls, 1);
	might_sleep_hook = NULL;

	free_buffer_head(bh);
	check_no_leaks();
	printf("test_waitbit: ok\n");
	return 0;
}
