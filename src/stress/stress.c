// SPDX-License-Identifier: GPL-2.0
/*
 * stress.c - `jbdlab stress DIR [--seed N] [--threads N] [--ops N]
 * [--duration S] [--verify] [--quiet] [--verbose]`: argument parsing, the
 * worker threads, the summary and the exit status (0 pass, 1 failure, 2
 * usage or set-up error).  See stress.h for the design.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stress.h"

#define MAX_FAIL_MSGS	30

atomic_bool stress_stop;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static int fail_msgs;
static uint64_t run_seed;
static double deadline;

static const char *const op_names[OP_NR] = {
	[OP_CREATE] = "create", [OP_MKDIR] = "mkdir", [OP_MKFIFO] = "mkfifo",
	[OP_SYMLINK] = "symlink", [OP_LINK] = "link", [OP_RENAME] = "rename",
	[OP_RENAME_NOREPLACE] = "rename_noreplace", [OP_RENAME_EXCHANGE] = "rename_exchange",
	[OP_UNLINK] = "unlink", [OP_RMDIR] = "rmdir", [OP_WRITE] = "write",
	[OP_TRUNCATE] = "truncate", [OP_FALLOC] = "fallocate", [OP_PUNCH] = "punch_hole",
	[OP_ZERO] = "zero_range", [OP_SETXATTR] = "setxattr", [OP_REMOVEXATTR] = "removexattr",
	[OP_CHMOD] = "chmod", [OP_UTIMES] = "utimes", [OP_FSYNC] = "fsync", [OP_READ] = "read",
};

const char *stress_op_name(int op)
{
	return op_names[op];
}

void stress_fail(struct sthread *t, const char *fmt, ...)
{
	va_list ap;

	t->failed = true;
	atomic_store(&stress_stop, true);
	pthread_mutex_lock(&fail_lock);
	fflush(stdout);		/* keep --verbose output and the report in order */
	if (fail_msgs++ < MAX_FAIL_MSGS) {
		fprintf(stderr, "stress: FAIL seed=%" PRIu64 " thread=%d op#%" PRIu64 " [%s]: ",
			run_seed, t->id, t->opno, t->desc);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	} else if (fail_msgs == MAX_FAIL_MSGS + 1) {
		fprintf(stderr, "stress: (further failures not shown)\n");
	}
	pthread_mutex_unlock(&fail_lock);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	struct sthread *t = arg;
	const struct stress_opts *o = t->opts;

	for (t->opno = 0; !o->ops || t->opno < o->ops; t->opno++) {
		if (atomic_load_explicit(&stress_stop, memory_order_relaxed))
			break;
		if (o->duration > 0 && (t->opno & 15) == 0 && now() >= deadline)
			break;
		if (stress_run_op(t) < 0 || t->failed)
			break;
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jbdlab stress DIR [--seed N] [--threads N] [--ops N] [--duration S]\n"
		"                         [--verify] [--quiet] [--verbose]\n"
		"  A seeded random workload: each thread works in DIR/t<N> (which must not exist),\n"
		"  predicts every result from an in-memory model and fails (exit 1) on any\n"
		"  unexpected errno or content.  --ops is per thread (default 2000, or no limit\n"
		"  when only --duration is given); --verify compares the whole tree with the\n"
		"  model at the end.  Same seed, same op sequence in each thread.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

int jbdlab_stress_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verify", no_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stress_opts o = { .threads = 4 };
	bool have_seed = false, have_ops = false;
	struct sthread *th;
	pthread_t *tids;
	struct op_stats tot[OP_NR] = { { 0 } };
	uint64_t v, total_ops = 0;
	int c, failed = 0, verify_errors = 0;
	double start, elapsed, vstart;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:t:n:d:Vqvh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &o.seed))
				goto bad;
			have_seed = true;
			break;
		case 't':
			if (parse_u64(optarg, &v) || v < 1 || v > 256)
				goto bad;
			o.threads = v;
			break;
		case 'n':
			if (parse_u64(optarg, &o.ops))
				goto bad;
			have_ops = true;
			break;
		case 'd': {
			char *end;

			o.duration = strtod(optarg, &end);
			if (end == optarg || *end || o.duration < 0)
				goto bad;
			break;
		}
		case 'V':
			o.verify = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	o.dir = argv[optind];
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o.seed = (uint64_t)ts.tv_sec * 1000003u ^ ts.tv_nsec ^ (uint64_t)getpid() << 32;
		o.seed &= 0xffffffffffffULL;
	}
	if (!have_ops)
		o.ops = o.duration > 0 ? 0 : 2000;
	run_seed = o.seed;

	printf("stress: seed=%" PRIu64 " threads=%d ops=%" PRIu64, o.seed, o.threads, o.ops);
	if (o.duration > 0)
		printf(" duration=%gs", o.duration);
	printf(" dir=%s%s\n", o.dir, o.verify ? " verify" : "");
	fflush(stdout);

	umask(0);	/* the model predicts modes exactly */
	th = calloc(o.threads, sizeof(*th));
	tids = calloc(o.threads, sizeof(*tids));
	if (!th || !tids) {
		perror("stress: calloc");
		return 2;
	}
	for (int i = 0; i < o.threads; i++) {
		struct sthread *t = &th[i];

		t->id = i;
		t->opts = &o;
		t->rng = mix64(o.seed * 0x100000001b3ULL + i + 1);
		t->buf = malloc(STRESS_MAX_IO + 64);
		t->buf2 = malloc(STRESS_MAX_IO + 64);
		if (asprintf(&t->root, "%s/t%d", o.dir, i) < 0 || !t->buf || !t->buf2) {
			perror("stress: malloc");
			return 2;
		}
		if (mkdir(t->root, 0755) || chmod(t->root, 0755)) {
			fprintf(stderr, "stress: mkdir %s: %s%s\n", t->root, strerror(errno),
				errno == EEXIST ? " (use a fresh directory)" : "");
			return 2;
		}
		t->rootnode = model_new_node(t, S_IFDIR, 0755);
	}

	start = now();
	deadline = start + o.duration;
	for (int i = 0; i < o.threads; i++) {
		if (pthread_create(&tids[i], NULL, worker, &th[i])) {
			fprintf(stderr, "stress: pthread_create failed\n");
			return 2;
		}
	}
	for (int i = 0; i < o.threads; i++)
		pthread_join(tids[i], NULL);
	elapsed = now() - start;

	vstart = now();
	for (int i = 0; i < o.threads; i++) {
		struct sthread *t = &th[i];

		if (t->failed) {
			failed++;
			continue;
		}
		if (o.verify) {
			snprintf(t->desc, sizeof(t->desc), "final verify of %s", t->root);
			verify_errors += model_verify(t);
			if (t->failed)
				failed++;
		}
	}

	for (int i = 0; i < o.threads; i++) {
		total_ops += th[i].opno;
		for (int op = 0; op < OP_NR; op++) {
			tot[op].done += th[i].stats[op].done;
			tot[op].expected_err += th[i].stats[op].expected_err;
			tot[op].enospc += th[i].stats[op].enospc;
			tot[op].unsupported += th[i].stats[op].unsupported;
			tot[op].skipped += th[i].stats[op].skipped;
		}
	}
	if (!o.quiet || failed) {
		printf("stress: %-17s %8s %8s %8s %8s %8s\n", "op", "ok", "errno", "ENOSPC",
		       "EOPNOTSUP", "skipped");
		for (int op = 0; op < OP_NR; op++)
			printf("stress: %-17s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			       " %8" PRIu64 "\n", op_names[op], tot[op].done, tot[op].expected_err,
			       tot[op].enospc, tot[op].unsupported, tot[op].skipped);
	}
	printf("stress: %s seed=%" PRIu64 " threads=%d ops=%" PRIu64 " in %.2fs (%.0f ops/s)",
	       failed ? "FAIL" : "PASS", o.seed, o.threads, total_ops, elapsed,
	       elapsed > 0 ? total_ops / elapsed : 0.0);
	if (o.verify)
		printf(", verify: %d mismatches in %.2fs", verify_errors, now() - vstart);
	printf(", errors: %d thread(s)\n", failed);
	fflush(stdout);

	for (int i = 0; i < o.threads; i++) {
		model_destroy(&th[i]);
		free(th[i].root);
		free(th[i].buf);
		free(th[i].buf2);
	}
	free(th);
	free(tids);
	return failed ? 1 : 0;

bad:
	fprintf(stderr, "stress: bad value for an option: %s\n", optarg);
	usage(stderr);
	return 2;
}
