// SPDX-License-Identifier: GPL-2.0
/*
 * pattern.c - the stress tool's PRNG (splitmix64, one state per thread) and
 * the content patterns.  Byte o of pattern s is byte (o & 7) of
 * mix64(s ^ (o >> 3) * golden), so any sub-range of any write can be
 * regenerated from its seed alone, whatever was cut off around it later.
 */
#include "stress.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL

uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t rnd(struct sthread *t)
{
	t->rng += GOLDEN;
	return mix64(t->rng);
}

/* Uniform in [0, n); n == 0 gives 0. */
uint64_t rnd_below(struct sthread *t, uint64_t n)
{
	if (n == 0)
		return 0;
	return rnd(t) % n;
}

static inline uint64_t pattern_word(uint64_t seed, uint64_t word)
{
	return mix64(seed ^ (word * GOLDEN));
}

void pattern_fill(uint64_t seed, uint64_t off, unsigned char *buf, size_t len)
{
	size_t i = 0;

	/* unaligned head */
	while (i < len && ((off + i) & 7)) {
		uint64_t o = off + i;

		buf[i++] = pattern_word(seed, o >> 3) >> ((o & 7) * 8);
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = pattern_word(seed, (off + i) >> 3);

		for (int k = 0; k < 8; k++)
			buf[i + k] = w >> (k * 8);
	}
	while (i < len) {
		uint64_t o = off + i;

		buf[i++] = pattern_word(seed, o >> 3) >> ((o & 7) * 8);
	}
}
