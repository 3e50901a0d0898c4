// SPDX-License-Identifier: GPL-2.0
/*
 * libfuzzer.c - the libFuzzer (and AFL++ libAFLDriver) entry points of the
 * journal-replay target (jfz.h).  Built twice by meson -Dfuzz=libfuzzer:
 * jbdlab-fuzz (libFuzzer's own byte mutations) and jbdlab-fuzz-struct
 * (-DJFZ_STRUCTURED: every mutation but one in eight is followed by
 * jfz_fixup(), which restores magics, sequence numbers and checksums).
 * A broken check aborts with its reason, so the fuzzer keeps the input.
 *
 * Locking rules: the fuzzer calls these from one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include "fuzz/jfz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	atexit(jfz_cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[1024];

	if (jfz_run(data, size, NULL, why, sizeof(why))) {
		fprintf(stderr, "jbdlab fuzz: check failed: %s\n", why);
		abort();
	}
	return 0;
}

#ifdef JFZ_STRUCTURED
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 8)
		jfz_fixup(data, size, seed);
	return size;
}
#endif
