// SPDX-License-Identifier: GPL-2.0
/*
 * test_lockdep.c - the race lab's lock checker and deadlock watchdog
 * (src/lab/lockdep.c) on the model's own primitives, without an fs:
 *
 *   1. one order only (folio lock -> buffer lock, as writeback and
 *      migration take them) from two threads: no report;
 *   2. a trylock adds no dependency: buffer lock held, folio_trylock():
 *      no report, though it is the inverse order;
 *   3. a BH_Lock handed to I/O (submit_bh's lock_handoff) and released
 *      by the end_io (lockdep_irq_context) is nobody's held lock after;
 *   4. the inverse order, buffer lock -> folio lock (the pre-981fcc5674e6
 *      revoke alias lookup under ext4_getblk's lock_buffer), after (1): I5
 *      "possible circular locking dependency" at once, without a hang,
 *      naming both threads;
 *   5. a real ABBA between two threads: the watchdog reports the deadlock
 *      with both threads' held locks and calls the run's end, which here
 *      checks the report and exits (the blocked threads cannot be joined).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lab_internal.h"
#include "unit_check.h"

static struct lab lab;
static struct lab_opts opts;
static struct lab_result res;
static char *report_buf;
static size_t report_len;
static struct folio *F;
static struct buffer_head *X;
static pthread_barrier_t bar;

static void *folio_then_buffer(void *arg)
{
	trace_set_thread_name("%s", (const char *)arg);
	for (int i = 0; i < 100; i++) {
		folio_lock(F);
		lock_buffer(X);
		unlock_buffer(X);
		folio_unlock(F);
	}
	return NULL;
}

static void *buffer_then_folio(void *arg)
{
	trace_set_thread_name("%s", (const char *)arg);
	lock_buffer(X);
	folio_lock(F);
	folio_unlock(F);
	unlock_buffer(X);
	return NULL;
}

static void *io_completion(void *arg)
{
	(void)arg;
	trace_set_thread_name("blk-completion");
	lockdep_irq_context++;
	unlock_buffer(X);
	lockdep_irq_context--;
	return NULL;
}

/* The ABBA of kernel-race.md §2.5 I5, forced. */
static void *writeback(void *arg)
{
	(void)arg;
	trace_set_thread_name("writeback");
	folio_lock(F);
	pthread_barrier_wait(&bar);
	lock_buffer(X);		/* never returns */
	return NULL;
}

static void *getblk(void *arg)
{
	(void)arg;
	trace_set_thread_name("ext4_getblk");
	lock_buffer(X);
	pthread_barrier_wait(&bar);
	folio_lock(F);		/* never returns */
	return NULL;
}

static uint64_t i5(void)
{
	uint64_t n;

	pthread_mutex_lock(&lab.det_lock);
	n = res.detections[LAB_I5];
	pthread_mutex_unlock(&lab.det_lock);
	return n;
}

static void run(void *(*fn)(void *), const char *name)
{
	pthread_t t;

	CHECK(!pthread_create(&t, NULL, fn, (void *)name));
	pthread_join(t, NULL);
}

static void deadlocked(struct lab *l)
{
	(void)l;
	fflush(opts.report);
	CHECK_EQ(i5(), 2);
	CHECK(strstr(report_buf, "INFO: deadlock: 2 threads blocked on each other"));
	CHECK(strstr(report_buf, "thread \"writeback\" blocked for"));
	CHECK(strstr(report_buf, "thread \"ext4_getblk\" blocked for"));
	CHECK(strstr(report_buf, "acquiring buffer lock (block 4242), held by \"ext4_getblk\""));
	CHECK(strstr(report_buf, "acquiring folio lock (pfn 0x77), held by \"writeback\""));
	CHECK(strstr(report_buf, "threads involved: writeback, ext4_getblk\n") ||
	      strstr(report_buf, "threads involved: ext4_getblk, writeback\n"));
	CHECK(strstr(report_buf, "detector: watchdog (deadlock)"));
	printf("%s\ntest_lockdep: ok\n", report_buf);
	fflush(stdout);
	_exit(0);
}

int main(void)
{
	pthread_t a, b;
	uint64_t seed = test_seed("test_lockdep");

	opts.strategy = strategy_find("bh-migrate");
	opts.seed = seed;
	opts.max_reports = 5;
	opts.stop_class = -1;
	opts.report = open_memstream(&report_buf, &report_len);
	CHECK(opts.strategy && opts.report);
	lab.o = &opts;
	lab.r = &res;
	lab.result_fd = -1;
	pthread_mutex_init(&lab.det_lock, NULL);
	pthread_cond_init(&lab.det_cond, NULL);
	lab.t0 = lab_now();
	F = calloc(1, sizeof(*F));
	X = calloc(1, sizeof(*X));
	CHECK(F && X);
	F->pfn = 0x77;
	X->b_blocknr = 4242;
	CHECK(!pthread_barrier_init(&bar, NULL, 2));
	lab_lockdep_install(&lab, 0.5, deadlocked);

	/* 1: one order, two threads */
	CHECK(!pthread_create(&a, NULL, folio_then_buffer, "writeback-1"));
	CHECK(!pthread_create(&b, NULL, folio_then_buffer, "migrator-1"));
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(i5(), 0);

	/* 2: the inverse order through a trylock adds no dependency */
	lock_buffer(X);
	CHECK(folio_trylock(F));
	folio_unlock(F);
	unlock_buffer(X);
	CHECK_EQ(i5(), 0);

	/* 3: handed to I/O, released by the completion */
	lock_buffer(X);
	lock_handoff(&buffer_lock_key, X);
	run(io_completion, NULL);
	{
		char held[256];

		lab_lockdep_held_text(held, sizeof(held));
		CHECK(strstr(held, "(none)"));
	}
	CHECK_EQ(i5(), 0);

	/* 4: the inverse order, blocking: a cycle in the class graph */
	run(buffer_then_folio, "getblk-1");
	CHECK_EQ(i5(), 1);
	fflush(opts.report);
	CHECK(strstr(report_buf, "WARNING: possible circular locking dependency detected"));
	CHECK(strstr(report_buf, "thread \"getblk-1\" is trying to acquire lock:\n"
			      "  folio lock (pfn 0x77)"));
	CHECK(strstr(report_buf, "but it already holds lock:\n  buffer lock (block 4242)"));
	CHECK(strstr(report_buf, "threads involved: getblk-1, writeback-1") ||
	      strstr(report_buf, "threads involved: getblk-1, migrator-1"));

	/* 5: the real deadlock; deadlocked() ends the test */
	CHECK(!pthread_create(&a, NULL, writeback, NULL));
	CHECK(!pthread_create(&b, NULL, getblk, NULL));
	sleep(20);
	fprintf(stderr, "test_lockdep: the watchdog did not report the deadlock within 20 s\n");
	return 1;
}
