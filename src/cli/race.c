// SPDX-License-Identifier: GPL-2.0
/*
 * race.c - `jbdlab race`: the race lab, the main job.
 *
 * Without arguments: make a 2 KiB-block ext4 image in a temporary
 * directory, run every strategy for a short fixed time, print one table
 * (strategy, kernel analogue, detections per class, time to first
 * detection, migrations ok/failed with the main failure reason, workload
 * ops/s, verdict).  Every detection prints a KASAN-style report with its
 * class, seed and threads, and the command line that replays it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lab.h"

#define PFX "race: "

struct race_opts {
	struct lab_opts lab;
	const struct strategy *list[64];
	unsigned int nlist;
	unsigned int runs;
	unsigned int block_size;
	uint64_t image_size;
	const char *json, *svg;
	bool replay;
	int replay_class;	/* -1: any */
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: jbdlab race [--strategy NAME[,NAME..]|all] [--seconds N] [--seed N] [--runs N]\n"
"                   [--image PATH] [--block-size N] [--size N[MG]] [--folio-order N]\n"
"                   [--threads N] [--meta-users N] [--arena BLOCKS]\n"
"                   [--mode async|sync-light|sync] [--victim targeted|random|sweep]\n"
"                   [--rate N] [--sweep-ms N] [--freeze-then-copy]\n"
"                   [--credits max|depth] [--revoke-lookup skip-self|alias]\n"
"                   [--no-lockdep] [--watchdog SECONDS] [--no-fork]\n"
"                   [--json FILE] [--svg FILE] [--stop-on-detection] [--reports N]\n"
"                   [--no-oracles] [--quiet] [--replay SEED [--class I1..I5]] [--list]\n"
"\n"
"Run the fs workload, ext4-like metadata users and the folio migrator on an\n"
"ext4 image under each fix strategy and report which race classes show.\n"
"Defaults: every strategy, 4 s each, a fresh 64 MiB 2 KiB-block image, 2 fs\n"
"threads, 2 metadata users, MIGRATE_SYNC, victims targeted at recent lookups.\n"
"--runs N uses seeds SEED, SEED+1, ...; --replay SEED re-runs that seed until\n"
"the first detection (of --class) and says whether it reproduced.\n"
"--credits depth: ext4's credit estimate from the inode's extent depth (before\n"
"32a93f5bc9b9; I3).  --revoke-lookup alias: jbd2_journal_cancel_revoke() looks\n"
"up the bdev alias under the buffer lock (before 981fcc5674e6; I5).  The lock\n"
"checker (I4's held locks, I5) and a deadlock watchdog (default 2 s) are on\n"
"unless --no-lockdep; each run is a forked child unless --no-fork, so that a\n"
"deadlocked run ends with its report.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'G': case 'g': n <<= 30; end++; break;
	case 'M': case 'm': n <<= 20; end++; break;
	case 'K': case 'k': n <<= 10; end++; break;
	}
	if (*end)
		return -1;
	*v = n;
	return 0;
}

static int parse_class(const char *s)
{
	for (int c = 0; c < LAB_NCLASS; c++)
		if (!strcasecmp(s, lab_class_name(c)))
			return c;
	return -2;
}

static int add_strategies(struct race_opts *o, const char *arg)
{
	char *copy = strdup(arg), *save = NULL;

	if (!copy)
		return -1;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "all")) {
			for (const struct strategy *const *s = strategies; *s; s++)
				if (o->nlist < ARRAY_SIZE(o->list))
					o->list[o->nlist++] = *s;
			continue;
		}
		const struct strategy *s = strategy_find(t);

		if (!s) {
			fprintf(stderr, PFX "unknown strategy '%s' (jbdlab race --list)\n", t);
			free(copy);
			return -1;
		}
		if (o->nlist < ARRAY_SIZE(o->list))
			o->list[o->nlist++] = s;
	}
	free(copy);
	return 0;
}

static int parse_args(int argc, char **argv, struct race_opts *o)
{
	static const struct option lo[] = {
		{ "strategy", 1, NULL, 'S' }, { "seconds", 1, NULL, 't' }, { "seed", 1, NULL, 's' },
		{ "runs", 1, NULL, 'r' }, { "image", 1, NULL, 'i' }, { "block-size", 1, NULL, 'b' },
		{ "size", 1, NULL, 'z' }, { "folio-order", 1, NULL, 'o' }, { "threads", 1, NULL, 'T' },
		{ "meta-users", 1, NULL, 'M' }, { "arena", 1, NULL, 'A' }, { "mode", 1, NULL, 'm' },
		{ "victim", 1, NULL, 'v' }, { "rate", 1, NULL, 'R' }, { "sweep-ms", 1, NULL, 'W' },
		{ "freeze-then-copy", 0, NULL, 'F' }, { "json", 1, NULL, 'j' }, { "svg", 1, NULL, 'g' },
		{ "stop-on-detection", 0, NULL, 'x' }, { "reports", 1, NULL, 'P' },
		{ "no-oracles", 0, NULL, 'N' }, { "quiet", 0, NULL, 'q' }, { "replay", 1, NULL, 'y' },
		{ "class", 1, NULL, 'c' }, { "list", 0, NULL, 'l' }, { "help", 0, NULL, 'h' },
		{ "credits", 1, NULL, 'C' }, { "revoke-lookup", 1, NULL, 'K' },
		{ "no-lockdep", 0, NULL, 'D' }, { "watchdog", 1, NULL, 'w' },
		{ "no-fork", 0, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct timespec ts;
	uint64_t v;
	char *end;
	int c, li = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	o->lab.seed = ((uint64_t)ts.tv_sec * 1000003ULL ^ (uint64_t)ts.tv_nsec) % 1000000;
	o->lab.seconds = 4;
	o->lab.threads = 2;
	o->lab.meta_users = 2;
	o->lab.arena_blocks = 1024;
	o->lab.stop_class = -1;
	o->lab.max_reports = 1;
	o->lab.migrator.mode = MIGRATE_SYNC;
	o->lab.migrator.victim = VICTIM_TARGETED;
	o->runs = 1;
	o->block_size = 2048;
	o->image_size = 64ULL << 20;
	o->replay_class = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, &li)) != -1) {
		switch (c) {
		case 'S':
			if (add_strategies(o, optarg))
				return -1;
			break;
		case 't':
			errno = 0;
			o->lab.seconds = strtod(optarg, &end);
			if (errno || *end || !(o->lab.seconds > 0) || o->lab.seconds > 86400)
				goto bad;
			break;
		case 's':
			if (parse_u64(optarg, &o->lab.seed))
				goto bad;
			break;
		case 'r':
			if (parse_u64(optarg, &v) || !v || v > 1000)
				goto bad;
			o->runs = (unsigned int)v;
			break;
		case 'i':
			o->lab.image = optarg;
			break;
		case 'b':
			if (parse_u64(optarg, &v) || (v != 1024 && v != 2048 && v != 4096))
				goto bad;
			o->block_size = (unsigned int)v;
			break;
		case 'z':
			if (parse_size(optarg, &o->image_size) || o->image_size < (16ULL << 20))
				goto bad;
			break;
		case 'o':
			if (parse_u64(optarg, &v) || v > 4)
				goto bad;
			o->lab.folio_order = (unsigned int)v;
			break;
		case 'T':
			if (parse_u64(optarg, &v) || v > 16)
				goto bad;
			o->lab.threads = (unsigned int)v;
			break;
		case 'M':
			if (parse_u64(optarg, &v) || !v || v > 16)
				goto bad;
			o->lab.meta_users = (unsigned int)v;
			break;
		case 'A':
			if (parse_u64(optarg, &v) || v < 16 || v > 65536)
				goto bad;
			o->lab.arena_blocks = (unsigned int)v;
			break;
		case 'm':
			if (!strcmp(optarg, "async"))
				o->lab.migrator.mode = MIGRATE_ASYNC;
			else if (!strcmp(optarg, "sync-light"))
				o->lab.migrator.mode = MIGRATE_SYNC_LIGHT;
			else if (!strcmp(optarg, "sync"))
				o->lab.migrator.mode = MIGRATE_SYNC;
			else
				goto bad;
			break;
		case 'v':
			if (!strcmp(optarg, "targeted"))
				o->lab.migrator.victim = VICTIM_TARGETED;
			else if (!strcmp(optarg, "random"))
				o->lab.migrator.victim = VICTIM_RANDOM;
			else if (!strcmp(optarg, "sweep"))
				o->lab.migrator.victim = VICTIM_SWEEP;
			else
				goto bad;
			break;
		case 'R':
			if (parse_u64(optarg, &v) || v > 10000000)
				goto bad;
			o->lab.migrator.rate = (unsigned int)v;
			break;
		case 'W':
			if (parse_u64(optarg, &v) || v > 600000)
				goto bad;
			o->lab.migrator.sweep_ms = (unsigned int)v;
			break;
		case 'F':
			o->lab.migrator.freeze_then_copy = true;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'g':
			o->svg = optarg;
			break;
		case 'x':
			o->lab.stop_class = LAB_NCLASS;
			break;
		case 'P':
			if (parse_u64(optarg, &v) || v > 1000)
				goto bad;
			o->lab.max_reports = (unsigned int)v;
			break;
		case 'N':
			o->lab.no_oracles = true;
			break;
		case 'q':
			o->quiet = true;
			o->lab.max_reports = 0;
			break;
		case 'y':
			if (parse_u64(optarg, &o->lab.seed))
				goto bad;
			o->replay = true;
			break;
		case 'c':
			o->replay_class = parse_class(optarg);
			if (o->replay_class < 0)
				goto bad;
			break;
		case 'C':
			if (!strcmp(optarg, "max"))
				o->lab.credits = JFS_CREDITS_MAX;
			else if (!strcmp(optarg, "depth"))
				o->lab.credits = JFS_CREDITS_DEPTH;
			else
				goto bad;
			break;
		case 'K':
			if (!strcmp(optarg, "alias"))
				o->lab.revoke_lookup_alias = true;
			else if (!strcmp(optarg, "skip-self"))
				o->lab.revoke_lookup_alias = false;
			else
				goto bad;
			break;
		case 'D':
			o->lab.no_lockdep = true;
			break;
		case 'w':
			errno = 0;
			o->lab.watchdog_s = strtod(optarg, &end);
			if (errno || *end || !(o->lab.watchdog_s >= 0.1) || o->lab.watchdog_s > 3600)
				goto bad;
			break;
		case 'n':
			o->lab.no_fork = true;
			break;
		case 'l':
			for (const struct strategy *const *s = strategies; *s; s++)
				printf("%-16s %-40s %s\n", (*s)->name, (*s)->kernel, (*s)->rule);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, PFX "bad or unknown option '%s' (jbdlab race --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PFX "unexpected argument '%s' (jbdlab race --help)\n", argv[optind]);
		return -1;
	}
	if (!o->nlist)
		add_strategies(o, "all");
	if (o->replay) {
		o->runs = 1;
		o->lab.stop_class = o->replay_class >= 0 ? o->replay_class : LAB_NCLASS;
	}
	if (o->lab.migrator.victim == VICTIM_SWEEP && !o->lab.migrator.sweep_ms)
		o->lab.migrator.sweep_ms = 100;
	return 0;
bad:
	fprintf(stderr, PFX "bad value '%s' for --%s (jbdlab race --help)\n", optarg, lo[li].name);
	return -1;
}

static void progress(const struct lab_opts *o, double t, const uint64_t *det, uint64_t ok,
		     void *priv)
{
	fprintf(stderr, "\r  %-16s seed %-8" PRIu64 " %5.1fs/%.0fs  I1 %-3" PRIu64 " I2 %-3" PRIu64
		" I3 %-3" PRIu64 " I4 %-3" PRIu64 " I5 %-3" PRIu64 " moved %-8" PRIu64, o->strategy->name,
		o->seed, t, o->seconds, det[LAB_I1], det[LAB_I2], det[LAB_I3], det[LAB_I4],
		det[LAB_I5], ok);
	fflush(stderr);
}

int jbdlab_race_main(int argc, char **argv)
{
	struct race_opts o = { 0 };
	char dir[] = "/tmp/jbdlab-race.XXXXXX", image[PATH_MAX], errbuf[512];
	struct lab_result *res;
	size_t nres = 0;
	bool tty = isatty(STDERR_FILENO), made = false;
	int status = 0;

	if (parse_args(argc, argv, &o))
		return 2;
	if (!mkdtemp(dir)) {
		fprintf(stderr, PFX "cannot make a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	o.lab.workdir = dir;
	if (!o.lab.image) {
		snprintf(image, sizeof(image), "%s/pristine.img", dir);
		if (lab_make_image(image, o.image_size, o.block_size, errbuf, sizeof(errbuf))) {
			fprintf(stderr, PFX "%s\n", errbuf);
			rmdir(dir);
			return 1;
		}
		o.lab.image = image;
		made = true;
	} else if (access(o.lab.image, R_OK)) {
		fprintf(stderr, PFX "%s: %s\n", o.lab.image, strerror(errno));
		rmdir(dir);
		return 1;
	}
	if (tty && !o.quiet)
		o.lab.progress = progress;
	{
		static char args[PATH_MAX + 128];
		size_t l = 0;

		if (!made)
			l += (size_t)snprintf(args + l, sizeof(args) - l, " --image %s", o.lab.image);
		else if (o.block_size != 2048 || o.image_size != 64ULL << 20)
			l += (size_t)snprintf(args + l, sizeof(args) - l, " --block-size %u --size %"
					      PRIu64 "M", o.block_size, o.image_size >> 20);
		if (o.lab.migrator.mode != MIGRATE_SYNC)
			l += (size_t)snprintf(args + l, sizeof(args) - l, " --mode %s",
					      o.lab.migrator.mode == MIGRATE_ASYNC ? "async" : "sync-light");
		if (o.lab.threads != 2 || o.lab.meta_users != 2)
			l += (size_t)snprintf(args + l, sizeof(args) - l, " --threads %u --meta-users %u",
					      o.lab.threads, o.lab.meta_users);
		if (o.lab.no_lockdep)
			l += (size_t)snprintf(args + l, sizeof(args) - l, " --no-lockdep");
		o.lab.rerun_args = l ? args : NULL;
	}
	res = calloc((size_t)o.nlist * o.runs, sizeof(*res));
	if (!res)
		return 1;
	if (made)
		snprintf(errbuf, sizeof(errbuf), "a new %" PRIu64 " MiB ext4, %u-byte blocks",
			 o.image_size >> 20, o.block_size);
	else
		snprintf(errbuf, sizeof(errbuf), "%s", o.lab.image);
	printf("jbdlab race: %u strateg%s x %u run(s) of %.1f s, seed %" PRIu64 "%s, image: %s\n",
	       o.nlist, o.nlist == 1 ? "y" : "ies", o.runs, o.lab.seconds, o.lab.seed,
	       o.runs > 1 ? " (+1 per run)" : "", errbuf);
	fflush(stdout);
	for (unsigned int s = 0; s < o.nlist; s++) {
		for (unsigned int run = 0; run < o.runs; run++) {
			struct lab_opts lo = o.lab;
			struct lab_result *r = &res[nres];

			lo.strategy = o.list[s];
			lo.seed = o.lab.seed + run;
			if (lab_run(&lo, r)) {
				if (tty && !o.quiet)
					fputc('\n', stderr);
				fprintf(stderr, PFX "%s seed %" PRIu64 ": %s\n", lo.strategy->name,
					lo.seed, r->error);
				status = 1;
				goto out;
			}
			nres++;
			if (tty && !o.quiet)
				fprintf(stderr, "\r%-100s\r", "");
		}
	}
	printf("\n");
	lab_print_table_header(stdout);
	for (size_t i = 0; i < nres; i += o.runs)
		lab_print_table_row(stdout, &res[i], o.runs);
	for (size_t i = 0; i < nres; i++) {
		if (res[i].null_for_cached || res[i].lookup_bails)
			printf("%s seed %" PRIu64 ": %" PRIu64 " metadata-user lookups returned NULL for a "
			       "cached block; the strategy made %" PRIu64 " lookups of all threads bail\n",
			       res[i].strategy->name, res[i].seed, res[i].null_for_cached,
			       res[i].lookup_bails);
		if (res[i].fs_errors || (res[i].fsck[0] && strcmp(res[i].fsck, "clean")))
			printf("%s seed %" PRIu64 ": %" PRIu64 " fs errors; fsck %s; crash image: %s\n",
			       res[i].strategy->name, res[i].seed, res[i].fs_errors, res[i].fsck,
			       res[i].crash);
	}
	if (o.replay) {
		const struct lab_result *r = &res[0];
		int c = o.replay_class;
		double t = -1;

		for (int k = 0; k < LAB_NCLASS; k++)
			if ((c < 0 || c == k) && r->first_s[k] >= 0 && (t < 0 || r->first_s[k] < t))
				t = r->first_s[k];
		if (t >= 0) {
			printf("replay: seed %" PRIu64 " under %s reproduced %s at %.3f s\n", r->seed,
			       r->strategy->name, c < 0 ? "a detection" : lab_class_name(c), t);
		} else {
			printf("replay: seed %" PRIu64 " under %s did NOT reproduce %s within %.1f s "
			       "(the thread schedule is not part of the seed)\n", r->seed,
			       r->strategy->name, c < 0 ? "a detection" : lab_class_name(c), r->seconds);
			status = 1;
		}
	}
	if (o.json && lab_write_json(o.json, res, nres)) {
		fprintf(stderr, PFX "cannot write %s: %s\n", o.json, strerror(errno));
		status = 1;
	}
	if (o.svg && lab_write_svg(o.svg, res, nres, o.lab.seconds)) {
		fprintf(stderr, PFX "cannot write %s: %s\n", o.svg, strerror(errno));
		status = 1;
	}
out:
	free(res);
	if (made)
		unlink(image);
	rmdir(dir);
	return status;
}
