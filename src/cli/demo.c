// SPDX-License-Identifier: GPL-2.0
/*
 * demo.c - `jbdlab demo`: the built-in default job.
 *
 *   mkfs.ext4 a scratch image -> jbdlab mount -f (child) -> jbdlab stress
 *   (child) -> umount -> wait for the mount process -> e2fsck -fn -> summary
 *
 * Everything runs as separate processes of this same binary, exactly as a
 * user would run them, so the demo exercises the real FUSE path.  The mount
 * process is waited for before e2fsck: umount(2) returns before the FUSE
 * daemon has written the image home, and only its exit says it is done.
 *
 * Whatever fails, the demo still unmounts, reaps the children it started
 * (by pid) and removes its scratch directory; the exit status is 0 only if
 * the mount, the workload, the unmount and e2fsck all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "exec.h"

#define PFX "demo: "
#define DEMO_IMAGE_SIZE		(256ULL << 20)
#define DEMO_MOUNT_WAIT_S	20
#define DEMO_UMOUNT_WAIT_S	120

extern char **environ;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

struct demo_opts {
	uint64_t seed;
	bool have_seed;
	unsigned int threads;
	uint64_t ops;
	double duration;
	unsigned int block_size;
	uint64_t image_size;
	const char *image;		/* --image: an existing image, used as is */
	const char *mount_opts;		/* extra -o for jbdlab mount */
	unsigned int timeout;		/* seconds the workload may take */
	bool keep;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: jbdlab demo [--seed N] [--threads N] [--ops N] [--duration S]\n"
"                   [--block-size N] [--size N[MG]] [--image PATH]\n"
"                   [--mount-opts OPTS] [--timeout S] [--keep]\n"
"\n"
"Make a scratch ext4 image (mkfs.ext4 -q -F -b 2048, 256 MiB) in a temporary\n"
"directory, mount it with `jbdlab mount -f`, run the seeded stress workload\n"
"(`jbdlab stress --verify`) on it, unmount, wait for the filesystem process to\n"
"write everything home, and check the image with `e2fsck -fn`.  Exit status 0\n"
"only if every step passed.  Must run as root or with FUSE access.\n"
"\n"
"  --seed N          seed of the workload and of the filesystem (default: random,\n"
"                    printed)\n"
"  --threads N       workload threads (default 4)\n"
"  --ops N           operations per thread (default 2000)\n"
"  --duration S      run for S seconds instead of a fixed number of operations\n"
"  --block-size N    mkfs.ext4 block size, a power of two 1024..65536 (default 2048)\n"
"  --size N[MG]      image size (default 256M)\n"
"  --image PATH      use this existing ext4 image instead of a scratch one; it\n"
"                    is neither reformatted nor deleted\n"
"  --mount-opts OPTS extra options for jbdlab mount -o (e.g. cache_size=8M)\n"
"  --timeout S       kill the workload after S seconds and fail (default 900,\n"
"                    or 2 x duration + 300)\n"
"  --keep            keep the scratch directory and image\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Decode the octal escapes of a /proc/self/mountinfo field in place. */
static void unescape_mountinfo(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* Is something mounted at @dir?  Its type is returned in @type. */
static bool is_mounted(const char *dir, char *type, size_t tlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *mp = NULL;
		int field = 0;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			if (++field == 5)
				mp = tok;
			if (!strcmp(tok, "-"))
				break;
		}
		if (!mp)
			continue;
		unescape_mountinfo(mp);
		if (strcmp(mp, dir))
			continue;
		tok = strtok_r(NULL, " \n", &save);	/* fstype, after " - " */
		snprintf(type, tlen, "%s", tok ? tok : "?");
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

/* Wait for the mount to appear, or for the mount process to give up. */
static int wait_for_mount(const char *mnt, pid_t mount_pid, int *mount_ws)
{
	double deadline = now() + DEMO_MOUNT_WAIT_S;
	char type[64];

	while (now() < deadline && !interrupted) {
		int ws;

		if (is_mounted(mnt, type, sizeof(type))) {
			printf(PFX "mounted %s (type %s)\n", mnt, type);
			return 0;
		}
		if (waitpid(mount_pid, &ws, WNOHANG) == mount_pid) {
			*mount_ws = ws;
			return -1;
		}
		sleep_ms(20);
	}
	fprintf(stderr, PFX "%s did not appear within %d s\n", mnt, DEMO_MOUNT_WAIT_S);
	return -1;
}

/*
 * Unmount the FUSE mount we made.  umount2() as root; fusermount3 -u
 * otherwise; and if neither works, SIGTERM to our own mount process, which
 * unmounts on its way out.
 */
static int unmount(const char *mnt, pid_t mount_pid)
{
	double deadline = now() + 10;
	char tool[PATH_MAX], type[64];

	while (umount2(mnt, 0)) {
		if (errno == EINVAL || errno == ENOENT)
			return 0;	/* already gone (the daemon was signalled) */
		if (errno == EBUSY && now() < deadline) {
			sleep_ms(100);
			continue;
		}
		if (errno == EPERM && find_tool("fusermount3", tool, sizeof(tool))) {
			char *argv[] = { tool, "-u", (char *)mnt, NULL };
			char *out;
			int ws = run_capture(argv, &out);

			free(out);
			if (ws == 0)
				return 0;
		}
		fprintf(stderr, PFX "cannot unmount %s (%s); stopping the mount process\n", mnt,
			strerror(errno));
		if (mount_pid > 0 && is_mounted(mnt, type, sizeof(type)))
			kill(mount_pid, SIGTERM);
		return -1;
	}
	return 0;
}

/* Wait (bounded) for our mount process; escalate to signals if it hangs. */
static int wait_mount_process(pid_t pid)
{
	double deadline = now() + DEMO_UMOUNT_WAIT_S;
	int ws;

	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);

		if (r == pid)
			return ws;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now() > deadline)
			break;
		sleep_ms(20);
	}
	fprintf(stderr, PFX "mount process %d still running after %d s: SIGTERM\n", (int)pid,
		DEMO_UMOUNT_WAIT_S);
	kill(pid, SIGTERM);
	deadline = now() + 10;
	while (now() < deadline) {
		if (waitpid(pid, &ws, WNOHANG) == pid)
			return ws;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	return reap(pid);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;
	unsigned int shift = 0;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (*end || (shift && n > (UINT64_MAX >> shift)))
		return -1;
	*v = (uint64_t)n << shift;
	return 0;
}

static int parse_args(int argc, char **argv, struct demo_opts *o)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 'S' },
		{ "image", required_argument, NULL, 'i' },
		{ "mount-opts", required_argument, NULL, 'o' },
		{ "keep", no_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	char *end;
	int c;

	*o = (struct demo_opts){ .threads = 4, .ops = 2000, .block_size = 2048,
				 .image_size = DEMO_IMAGE_SIZE };
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:t:n:d:b:S:i:o:kT:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &o->seed))
				goto bad;
			o->have_seed = true;
			break;
		case 't':
			if (parse_u64(optarg, &v) || v < 1 || v > 256)
				goto bad;
			o->threads = v;
			break;
		case 'n':
			if (parse_u64(optarg, &o->ops))
				goto bad;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (end == optarg || *end || !(o->duration > 0))
				goto bad;
			break;
		case 'b':
			if (parse_u64(optarg, &v) || (v != 1024 && v != 2048 && v != 4096 &&
						      v != 8192 && v != 16384 && v != 32768 &&
						      v != 65536))
				goto bad;
			o->block_size = v;
			break;
		case 'S':
			if (parse_size(optarg, &o->image_size) || o->image_size < (16ULL << 20))
				goto bad;
			break;
		case 'i':
			o->image = optarg;
			break;
		case 'o':
			o->mount_opts = optarg;
			break;
		case 'k':
			o->keep = true;
			break;
		case 'T':
			if (parse_u64(optarg, &v) || v < 1 || v > 7 * 86400)
				goto bad;
			o->timeout = v;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->timeout)
		o->timeout = o->duration > 0 ? (unsigned int)(2 * o->duration) + 300 : 900;
	if (optind != argc) {
		fprintf(stderr, PFX "unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, PFX "bad value for an option: '%s'\n", optarg);
	usage(stderr);
	return -1;
}

/* A value for a -o list: "," and "\\" escaped with a backslash. */
static char *escape_opt(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static int make_image(const char *img, const struct demo_opts *o)
{
	char *out = NULL, st[64];
	int ws;

	/* O_EXCL: the scratch directory is ours and new */
	if (!access(img, F_OK)) {
		fprintf(stderr, PFX "%s: exists\n", img);
		return -1;
	}
	ws = mkfs_ext4(img, o->image_size, o->block_size, &out);
	if (ws != 0) {
		if (ws > 0)
			fprintf(stderr, PFX "mkfs.ext4 failed (%s):\n", describe_status(ws, st, sizeof(st)));
		fprintf(stderr, PFX "%s", out ? out : "mkfs.ext4 failed\n");
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* One complete line of the workload's output: echo it, and pick the totals
 * out of the final "stress: PASS seed=.. threads=.. ops=N in Xs ..." line. */
static void stress_line(const char *line, uint64_t *ops_done, double *secs)
{
	const char *p = strstr(line, " ops=");
	unsigned long long n;
	double s;

	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	if (p && (!strncmp(line, "stress: PASS", 12) || !strncmp(line, "stress: FAIL", 12)) &&
	    sscanf(p, " ops=%llu in %lfs", &n, &s) == 2) {
		*ops_done = n;
		*secs = s;
	}
}

/*
 * Run jbdlab stress on the mount, echoing its output.  A workload that
 * outlives @timeout seconds is killed (a hung filesystem must not hang the
 * demo; the caller then unmounts and stops the mount process).
 */
static int run_stress(const char *exe, const char *mnt, const struct demo_opts *o,
		      uint64_t *ops_done, double *secs)
{
	char seed[32], threads[16], ops[32], dur[32];
	char *argv[16], buf[4096 + 1];
	size_t len = 0;
	double deadline = now() + o->timeout;
	bool timed_out = false;
	int argc = 0, fd, ws;
	pid_t pid;

	snprintf(seed, sizeof(seed), "%" PRIu64, o->seed);
	snprintf(threads, sizeof(threads), "%u", o->threads);
	snprintf(ops, sizeof(ops), "%" PRIu64, o->ops);
	argv[argc++] = (char *)exe;
	argv[argc++] = "stress";
	argv[argc++] = (char *)mnt;
	argv[argc++] = "--seed";
	argv[argc++] = seed;
	argv[argc++] = "--threads";
	argv[argc++] = threads;
	if (o->duration > 0) {
		snprintf(dur, sizeof(dur), "%g", o->duration);
		argv[argc++] = "--duration";
		argv[argc++] = dur;
	} else {
		argv[argc++] = "--ops";
		argv[argc++] = ops;
	}
	argv[argc++] = "--verify";
	argv[argc] = NULL;

	pid = spawn(argv, &fd);
	if (pid < 0)
		return -1;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = deadline - now();
		ssize_t n;
		char *nl;
		int r;

		if (left <= 0 || interrupted) {
			if (!interrupted) {
				fprintf(stderr, PFX "workload still running after %u s: killing it\n",
					o->timeout);
				timed_out = true;
			}
			kill(pid, SIGKILL);
			break;
		}
		r = poll(&pfd, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			stress_line(buf, ops_done, secs);
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1) {	/* an overlong line: pass it on as is */
			stress_line(buf, ops_done, secs);
			len = 0;
		}
	}
	if (len) {
		buf[len] = '\0';
		stress_line(buf, ops_done, secs);
	}
	close(fd);
	ws = reap(pid);
	if (ws != 0 || timed_out) {
		char st[64];

		fprintf(stderr, PFX "stress failed (%s)\n",
			timed_out ? "timed out" : describe_status(ws, st, sizeof(st)));
		return -1;
	}
	return 0;
}

static int run_e2fsck(const char *img, char *verdict, size_t vlen)
{
	char *out = NULL;
	int ws = e2fsck_fn(img, &out);

	if (ws == 0) {
		snprintf(verdict, vlen, "clean");
		free(out);
		return 0;
	}
	if (ws > 0 && WIFEXITED(ws))
		snprintf(verdict, vlen, "NOT CLEAN (e2fsck exit %d)", WEXITSTATUS(ws));
	else
		snprintf(verdict, vlen, ws < 0 && !out ? "e2fsck not found" : "e2fsck did not run");
	fprintf(stderr, PFX "e2fsck -fn %s:\n%s", img, out ? out : "");
	free(out);
	return -1;
}

static void print_stats(const char *path)
{
	unsigned long long ops, cb, cl, ev, dr, dw, df, bw;
	FILE *f = fopen(path, "re");
	int n;

	if (!f) {
		printf(PFX "  cache stats:  not available\n");
		return;
	}
	n = fscanf(f, "ops=%llu cache_bytes=%llu cache_limit=%llu evictions=%llu dev_reads=%llu "
		   "dev_writes=%llu dev_flushes=%llu bytes_written=%llu",
		   &ops, &cb, &cl, &ev, &dr, &dw, &df, &bw);
	fclose(f);
	if (n != 8) {
		printf(PFX "  cache stats:  unreadable\n");
		return;
	}
	printf(PFX "  fs ops:       %llu\n", ops);
	printf(PFX "  page cache:   %.1f of %.1f MiB in use at unmount, %llu evictions\n",
	       cb / 1048576.0, cl / 1048576.0, ev);
	printf(PFX "  device:       %llu reads, %llu writes (%.1f MiB), %llu flushes\n",
	       dr, dw, bw / 1048576.0, df);
}

int jbdlab_demo_main(int argc, char **argv)
{
	char tmpl[PATH_MAX], exe[PATH_MAX], verdict[128] = "not run", st[64];
	char *mnt = NULL, *stats = NULL, *img_buf = NULL, *mopts = NULL, *stats_esc = NULL;
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	const char *tmpdir = getenv("TMPDIR");
	const char *img;
	struct demo_opts o;
	uint64_t ops_done = 0;
	double t0 = now(), stress_secs = 0;
	pid_t mount_pid = -1;
	int mount_ws = -1;
	bool ok = false, mounted = false, stress_ok = false, umount_ok = false;
	bool fsck_ok = false;
	ssize_t n;
	int r;

	r = parse_args(argc, argv, &o);
	if (r)
		return r > 0 ? 0 : 1;
	if (!o.have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o.seed = ((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^
			  (uint64_t)getpid() << 20) & 0xffffffffffffULL;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		perror(PFX "/proc/self/exe");
		return 1;
	}
	exe[n] = '\0';

	snprintf(tmpl, sizeof(tmpl), "%s/jbdlab-demo.XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, PFX "mkdtemp %s: %s\n", tmpl, strerror(errno));
		return 1;
	}
	/* the mountinfo comparison needs the path without symlinks */
	{
		char *real = realpath(tmpl, NULL);

		if (real) {
			snprintf(tmpl, sizeof(tmpl), "%s", real);
			free(real);
		}
	}
	if (asprintf(&mnt, "%s/mnt", tmpl) < 0 || asprintf(&stats, "%s/stats", tmpl) < 0 ||
	    asprintf(&img_buf, "%s/ext4.img", tmpl) < 0 || !(stats_esc = escape_opt(stats))) {
		fprintf(stderr, PFX "out of memory\n");
		rmdir(tmpl);
		return 1;
	}
	img = o.image ? o.image : img_buf;

	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	if (o.duration > 0)
		printf(PFX "seed=%" PRIu64 " threads=%u duration=%gs image=%s\n", o.seed,
		       o.threads, o.duration, img);
	else
		printf(PFX "seed=%" PRIu64 " threads=%u ops/thread=%" PRIu64 " image=%s\n", o.seed,
		       o.threads, o.ops, img);
	fflush(stdout);

	if (!o.image) {
		if (make_image(img, &o)) {
			printf(PFX "FAIL\n");
			goto out_cleanup;
		}
		printf(PFX "mkfs.ext4 -b %u: %" PRIu64 " MiB image\n", o.block_size,
		       o.image_size >> 20);
	}
	if (mkdir(mnt, 0755)) {
		fprintf(stderr, PFX "mkdir %s: %s\n", mnt, strerror(errno));
		goto out_cleanup;
	}

	if (asprintf(&mopts, "seed=%" PRIu64 ",stats=%s%s%s", o.seed, stats_esc,
		     o.mount_opts ? "," : "", o.mount_opts ? o.mount_opts : "") < 0) {
		mopts = NULL;
		goto out_cleanup;
	}
	{
		char *margv[] = { exe, "mount", "-f", "-o", mopts, (char *)img, mnt, NULL };

		mount_pid = spawn(margv, NULL);
	}
	if (mount_pid < 0)
		goto out_cleanup;
	if (wait_for_mount(mnt, mount_pid, &mount_ws)) {
		if (mount_ws != -1) {
			fprintf(stderr, PFX "jbdlab mount failed (%s)\n",
				describe_status(mount_ws, st, sizeof(st)));
			mount_pid = -1;		/* already reaped */
		}
		goto out_stop;
	}
	mounted = true;

	stress_ok = !interrupted && run_stress(exe, mnt, &o, &ops_done, &stress_secs) == 0;

out_stop:
	if (mount_pid > 0) {
		umount_ok = unmount(mnt, mount_pid) == 0;
		mount_ws = wait_mount_process(mount_pid);
		if (mount_ws != 0) {
			fprintf(stderr, PFX "jbdlab mount exited with %s\n",
				describe_status(mount_ws, st, sizeof(st)));
			umount_ok = false;
		}
	}
	if (mounted && !interrupted)
		fsck_ok = run_e2fsck(img, verdict, sizeof(verdict)) == 0;
	ok = mounted && stress_ok && umount_ok && fsck_ok && !interrupted;

	printf(PFX "summary\n");
	printf(PFX "  seed:         %" PRIu64 "  (rerun: jbdlab demo --seed %" PRIu64 ")\n", o.seed,
	       o.seed);
	if (mounted)
		printf(PFX "  workload:     %s, %" PRIu64 " ops in %.2f s\n",
		       stress_ok ? "passed" : "FAILED", ops_done, stress_secs);
	else
		printf(PFX "  workload:     not run (no mount)\n");
	printf(PFX "  unmount:      %s\n", umount_ok ? "clean" : (mounted ? "FAILED" : "not run"));
	printf(PFX "  e2fsck -fn:   %s\n", verdict);
	if (mounted)
		print_stats(stats);
	printf(PFX "  total time:   %.2f s\n", now() - t0);
	if (interrupted)
		printf(PFX "  interrupted by signal %d\n", (int)interrupted);
	printf(PFX "%s\n", ok ? "PASS" : "FAIL");

out_cleanup:
	unlink(stats);
	rmdir(mnt);
	if (!o.image && !o.keep)
		unlink(img_buf);
	if (o.keep)
		printf(PFX "kept %s\n", tmpl);
	else if (rmdir(tmpl) && errno != ENOENT)
		fprintf(stderr, PFX "cannot remove %s: %s\n", tmpl, strerror(errno));
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	fflush(stdout);
	free(mnt);
	free(stats);
	free(stats_esc);
	free(img_buf);
	free(mopts);
	return ok ? 0 : 1;
}
