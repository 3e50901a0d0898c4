/* SPDX-License-Identifier: GPL-2.0 */
/*
 * unit_check.h - the fatal checks and the seed of the unit tests that stop
 * at the first failure (mm, journal runtime, fs namespace).  A failing check
 * prints file:line and the expression and exits 1; the seed is printed
 * first so every failure can be replayed with JBDLAB_SEED.
 */
#ifndef JBDLAB_UNIT_CHECK_H
#define JBDLAB_UNIT_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compiler.h"

#define CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
		exit(1); \
	} } while (0)
#define CHECK_EQ(a, b) do { \
	long long __a = (long long)(a), __b = (long long)(b); \
	if (__a != __b) { \
		fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", \
			__FILE__, __LINE__, #a, #b, __a, __b); \
		exit(1); \
	} } while (0)

/* The run's seed: $JBDLAB_SEED or the clock; always printed; seeds this
 * thread's prandom_u64(). */
static inline uint64_t test_seed(const char *name)
{
	const char *s = getenv("JBDLAB_SEED");
	uint64_t seed;

	if (s && *s) {
		seed = strtoull(s, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
	}
	printf("%s: seed %" PRIu64 " (set JBDLAB_SEED to replay)\n", name, seed);
	fflush(stdout);
	yield_seed_thread(seed);
	return seed;
}

#endif /* JBDLAB_UNIT_CHECK_H */
