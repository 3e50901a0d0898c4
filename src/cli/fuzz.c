// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz.c - `jbdlab fuzz`: the journal-replay fuzz target (src/fuzz/jfz.h)
 * without a fuzzer, for any build:
 *   jbdlab fuzz run [-v] FILE|DIR...   run each input (a directory: every
 *       file in it) through both recovery layers and every check; one line
 *       per broken check (-v: one line per input with its outcome)
 *   jbdlab fuzz image INPUT OUT.img    write the image an input stands for
 *       (template + input, before replay), for e2fsck/debugfs to compare
 *   jbdlab fuzz fixup [--seed N | --sb-only] INPUT OUT   the
 *       structure-aware fix-up (jfz_fixup) applied to INPUT; --seed 0 does
 *       every repair, --sb-only recomputes the superblock checksum only
 * The campaigns themselves (libFuzzer, AFL++) are scripts/fuzz.sh.
 * Exit status: 0 all held / done, 1 a check broke or an error, 2 usage.
 *
 * Locking rules: single-threaded command; no locks of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz/jfz.h"

int jbdlab_fuzz_main(int argc, char **argv);

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: jbdlab fuzz run [-v] FILE|DIR...\n"
		"       jbdlab fuzz image INPUT OUT.img\n"
		"       jbdlab fuzz fixup [--seed N | --sb-only] INPUT OUT\n\n"
		"The journal-replay fuzz target without a fuzzer (inputs: src/fuzz/jfz.h).\n"
		"  run    replay each input offline and through the page cache and check\n"
		"         that both agree, nothing is written outside the journal but the\n"
		"         replayed blocks, and a reset journal is empty\n"
		"  image  write the image an input stands for, before replay\n"
		"  fixup  make an input's magics, tids and checksums valid again, with\n"
		"         random choices from --seed N (default 1; 0: every repair), or\n"
		"         only the journal superblock's checksum (--sb-only)\n"
		"Campaigns: scripts/fuzz.sh (libFuzzer, AFL++).\n"
		"Exit status: 0 all checks held, 1 a check broke or an error, 2 usage.\n");
	return status;
}

static uint8_t *read_input(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(JFZ_MAX_INPUT);

	*size = 0;
	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	*size = fread(buf, 1, JFZ_MAX_INPUT, f);
	fclose(f);
	return buf;
}

static int run_file(const char *path, bool verbose, unsigned int *nr, unsigned int *bad)
{
	struct jfz_outcome o;
	char why[1024];
	size_t size;
	uint8_t *data = read_input(path, &size);

	if (!data) {
		fprintf(stderr, "jbdlab fuzz: %s: %s\n", path, strerror(errno));
		(*bad)++;
		return -1;
	}
	(*nr)++;
	if (jfz_run(data, size, &o, why, sizeof(why))) {
		printf("FAIL %s: %s\n", path, why);
		(*bad)++;
	} else if (verbose) {
		printf("ok %s: cfg 0x%02x, ret %d, %d replayed, %d revoked, tids %u..%u: %s\n", path,
		       size ? data[0] : 0, o.ret, o.nr_replays, o.nr_revoke_hits, o.start_tid,
		       o.end_tid, o.msg);
	}
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, bool verbose, unsigned int *nr, unsigned int *bad)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		run_file(path, verbose, nr, bad);
		return;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "jbdlab fuzz: %s: %s\n", path, strerror(errno));
		(*bad)++;
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!p)
				break;
			names = p;
		}
		if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);	/* a stable order to replay in */
	for (size_t i = 0; i < n; i++) {
		run_file(names[i], verbose, nr, bad);
		free(names[i]);
	}
	free(names);
}

int jbdlab_fuzz_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(argc < 2 ? stderr : stdout, argc < 2 ? 2 : 0);
	if (!strcmp(argv[1], "run")) {
		unsigned int nr = 0, bad = 0;
		bool verbose = false;
		int i = 2;

		if (i < argc && !strcmp(argv[i], "-v")) {
			verbose = true;
			i++;
		}
		if (i >= argc)
			return usage(stderr, 2);
		for (; i < argc; i++)
			run_path(argv[i], verbose, &nr, &bad);
		printf("jbdlab fuzz: %u inputs, %u failed\n", nr, bad);
		jfz_cleanup();
		return bad ? 1 : 0;
	}
	if (!strcmp(argv[1], "image") || !strcmp(argv[1], "fixup")) {
		bool image = !strcmp(argv[1], "image");
		unsigned int seed = 1;
		bool sb_only = false;
		int i = 2, ret = 0;
		uint8_t *data;
		size_t size;

		if (!image && i + 1 < argc && !strcmp(argv[i], "--seed")) {
			char *end;

			seed = (unsigned int)strtoul(argv[i + 1], &end, 0);
			if (*end)
				return usage(stderr, 2);
			i += 2;
		} else if (!image && i < argc && !strcmp(argv[i], "--sb-only")) {
			sb_only = true;
			i++;
		}
		if (argc - i != 2)
			return usage(stderr, 2);
		data = read_input(argv[i], &size);
		if (!data || !size) {
			fprintf(stderr, "jbdlab fuzz: %s: %s\n", argv[i], data ? "empty input" : strerror(errno));
			free(data);
			return 1;
		}
		if (image) {
			ret = jfz_write_image(data, size, argv[i + 1]);
		} else {
			FILE *f = fopen(argv[i + 1], "wb");

			if (sb_only)
				jfz_fix_sb_csum(data, size);
			else
				jfz_fixup(data, size, seed);
			if (!f || fwrite(data, 1, size, f) != size)
				ret = -errno;
			if (f && fclose(f) && !ret)
				ret = -errno;
		}
		if (ret)
			fprintf(stderr, "jbdlab fuzz: %s: %s\n", argv[i + 1], strerror(-ret));
		free(data);
		jfz_cleanup();
		return ret ? 1 : 0;
	}
	return usage(stderr, 2);
}
