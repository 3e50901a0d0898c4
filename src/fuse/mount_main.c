// SPDX-License-Identifier: GPL-2.0
/*
 * mount_main.c - `jbdlab mount`: bring an image up behind a FUSE session and
 * run the request loop until the mount goes away.
 *
 * Start-up without -f:
 *
 *   parent                               child
 *   ------                               -----
 *   parse options (errors: exit 1)
 *   fork()  ---------------------------> setsid()
 *   read(status pipe) ...                lock the image
 *                                        jfs_mount()        (starts fs threads)
 *                                        fuse_session_new() + _mount()
 *                                        write(status pipe) = 0 or exit code
 *   exit(status)                         stdio -> /dev/null, chdir("/")
 *                                        request loop ... jfs_unmount(), exit
 *
 * We fork before jfs_mount() because fork() keeps only the calling thread:
 * forking after the fs has started its commit/writeback/I-O threads would
 * leave a child with an fs whose threads do not exist.  Errors before the
 * mount is up are printed by the child while it still shares the parent's
 * stderr, and the parent exits with the child's status, so `jbdlab mount`
 * fails exactly when the mount did not happen.
 *
 * The image is locked (an OFD write lock on one byte far beyond any real
 * data) for the daemon's whole life.  umount(8) returns before the daemon
 * has written everything home, and fstests unmounts and remounts at once:
 * the new mount must wait for the old daemon to finish, not read a
 * half-written image.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli/jbdlab_version.h"
#include "fuse/jfuse.h"
#include "lab.h"
#include "mm.h"
#include "strategy.h"

#define PFX "jbdlab mount: "

/* offset of the lock byte: far beyond any image, so it never meets a
 * whole-range lock that the device layer might take on real data */
#define JFUSE_LOCK_OFFSET	((off_t)1 << 62)
#define JFUSE_LOCK_WAIT_MS	30000

/*
 * Memory of the daemon beyond its page cache.  FUSE workers: each owns a
 * request buffer of max_write (1 MiB) + a header, and every op runs under
 * the fs lock anyway, so more than a few workers add memory, not speed.
 * malloc arenas: glibc gives each new thread its own arena (up to 8 per
 * core), and memory freed by one thread into another's arena stays there.
 * The quarantine: freed folios it holds count against cache_size, so it
 * keeps at most 1/32 of the cache (KASAN's QUARANTINE_FRACTION).
 */
#define JFUSE_DEF_MAX_THREADS	4

/*
 * The request loop.  One thread by default: measured on this 2-core
 * machine (cp -r /usr/include then rm -rf, 2 KiB blocks, interleaved runs),
 * libfuse's pool of 4 readers took rm from 0.52 s to 0.75 s and doubled the
 * daemon's CPU (fuse_dev_do_read's wait queue wakes a different reader each
 * time, and a FORGET runs beside the UNLINK that caused it, both after the
 * fs lock), while cp was the same within the noise; one thread matched
 * libfuse's passthrough_ll over tmpfs.  The commit wait of fsync goes to
 * the syncer (syncer.c).  The pool is used when max_threads= asks for it,
 * and under the race lab, whose fs threads are the FUSE workers (the races
 * need several).
 */
static bool multi_thread(const struct jfuse_opts *o)
{
	if (o->single_thread)
		return false;
	return o->max_threads > 0 || o->lab;
}
#define JFUSE_MALLOC_ARENAS	2
#define JFUSE_DEF_CACHE		(256UL << 20)	/* fs.h: cache_size 0 */
#define JFUSE_QUARANTINE_FRACTION	32
#define JFUSE_QUARANTINE_MAX	1024		/* quarantine.c's default */

static bool log_syslog;

/* libfuse's own messages (its levels are syslog's) once stderr is gone */
static void fuse_log_syslog(enum fuse_log_level level, const char *fmt, va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

void jfuse_log_to_syslog(void)
{
	openlog("jbdlab", LOG_PID, LOG_DAEMON);
	fuse_set_log_func(fuse_log_syslog);
	log_syslog = true;
}

void jfuse_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(LOG_ERR, fmt, ap);
	} else {
		fputs(PFX, stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/*
 * The mount's own messages: the kernel's jbd2 and ext4 code log to dmesg
 * while the mount runs, and a failed mount(2) says only that it failed;
 * ours print to stderr.  A refused `jbdlab mount` must say why in one line,
 * so stderr is captured (a memfd as fd 2) around jfs_mount(): on success
 * the messages are passed on as they came (recovery's notes, like dmesg),
 * on failure the jbd2 layer's last one joins the reason ("...; JBD2: ...").
 */
struct msg_capture {
	int fd;		/* the memfd, -1 if capturing failed */
	int saved;	/* the real stderr */
};

static void capture_begin(struct msg_capture *c)
{
	fflush(stderr);
	c->saved = -1;
	c->fd = memfd_create("jbdlab-mount-messages", MFD_CLOEXEC);
	if (c->fd < 0)
		return;
	c->saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (c->saved < 0 || dup2(c->fd, 2) < 0) {
		if (c->saved >= 0)
			close(c->saved);
		close(c->fd);
		c->fd = c->saved = -1;
	}
}

/* Restore stderr; @last (if not NULL) gets the last "JBD2: " line. */
static void capture_end(struct msg_capture *c, bool pass_on, char *last, size_t lastlen)
{
	char buf[4096];
	ssize_t n;

	if (last && lastlen)
		last[0] = 0;
	if (c->fd < 0)
		return;
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	lseek(c->fd, 0, SEEK_SET);
	while ((n = read(c->fd, buf, sizeof(buf) - 1)) > 0) {
		if (pass_on && write(2, buf, (size_t)n) != n)
			break;
		if (last && lastlen) {
			char *line, *next;

			buf[n] = 0;
			for (line = buf; line && *line; line = next) {
				size_t len;

				next = strchr(line, '\n');
				len = next ? (size_t)(next - line) : strlen(line);
				if (next)
					next++;
				/* the jbd2 layer's own words (printk's "JBD2: ...") */
				if (len > 6 && !strncmp(line, "JBD2: ", 6)) {
					if (len >= lastlen)
						len = lastlen - 1;
					memcpy(last, line, len);
					last[len] = 0;
				}
			}
		}
	}
	close(c->fd);
	c->fd = -1;
}

/*
 * A path as seen from "/": the daemon changes directory after mounting,
 * and libfuse unmounts by the path it was given.  Returns a malloc'd copy.
 */
static char *absolute_path(const char *p)
{
	char *cwd, *out;

	if (p[0] == '/')
		return strdup(p);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, p) < 0)
		out = NULL;
	free(cwd);
	return out;
}

/* ------------------------------------------------ the race lab's log */

/*
 * Where the lab's detections go without lab_log=: stderr in the
 * foreground, syslog once we are a daemon (a report is many lines; each is
 * one syslog record).  A stdio FILE over a cookie, so that lab_detect()
 * prints to it as to any stream; glibc's FILE lock serializes the writers.
 */
struct log_cookie {
	bool syslog;			/* [const] */
	char line[1024];		/* a partial line [the FILE's lock] */
	size_t len;			/* [the FILE's lock] */
};

static void log_cookie_line(struct log_cookie *c)
{
	syslog(LOG_WARNING, "%.*s", (int)c->len, c->line);
	c->len = 0;
}

static ssize_t log_cookie_write(void *p, const char *buf, size_t size)
{
	struct log_cookie *c = p;

	if (!c->syslog)
		return (ssize_t)fwrite(buf, 1, size, stderr);
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n' || c->len == sizeof(c->line))
			log_cookie_line(c);
		if (buf[i] != '\n')
			c->line[c->len++] = buf[i];
	}
	return (ssize_t)size;
}

static int log_cookie_close(void *p)
{
	struct log_cookie *c = p;

	if (c->len)
		log_cookie_line(c);
	free(c);
	return 0;
}

static FILE *open_log_stream(bool to_syslog)
{
	static const cookie_io_functions_t fns = {
		.write = log_cookie_write,
		.close = log_cookie_close,
	};
	struct log_cookie *c = calloc(1, sizeof(*c));
	FILE *f;

	if (!c)
		return NULL;
	c->syslog = to_syslog;
	f = fopencookie(c, "w", fns);
	if (!f) {
		free(c);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/*
 * The lab's view of the mount's options.  Without seed= the lab draws one
 * (as `jbdlab race` does) and sets it as the mount's, so the one number on
 * every report is the one to mount with again.
 */
static void lab_live_setup(struct jfuse_opts *o, const char *image, struct lab_live_opts *lo,
			   char *describe, size_t dlen, char *rerun, size_t rlen)
{
	static const char *const modes[] = {
		[MIGRATE_ASYNC] = "async", [MIGRATE_SYNC_LIGHT] = "sync-light",
		[MIGRATE_SYNC] = "sync",
	};
	size_t cache = o->fs.cache_size ? o->fs.cache_size : JFUSE_DEF_CACHE;
	const struct strategy *st = o->fs.strategy ? o->fs.strategy : strategy_default;

	if (!o->seed_given) {
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
			seed = (uint64_t)time(NULL) * 2654435761ULL ^ (uint64_t)getpid();
		o->fs.seed = seed % 1000000;	/* short enough to type */
	}
	memset(lo, 0, sizeof(*lo));
	lo->migrate = o->lab_migrate;
	lo->migrator = o->migrate;
	lo->seed = o->fs.seed;
	lo->yield_points = !o->lab_no_yield;
	/*
	 * The lab keeps 256 MiB of freed folios poisoned, for the metadata
	 * users' long windows; a FUSE op's window is one op.  An eighth of the
	 * cache keeps a freed folio for seconds at thousands of moves a second
	 * and leaves the cache most of its memory (the quarantine is charged
	 * to it, writeback.c).
	 */
	lo->quarantine_bytes = cache / 8;
	lo->image = o->lab_no_fsck ? NULL : image;
	lo->credits = o->fs.credits;
	lo->revoke_lookup_alias = o->fs.revoke_lookup_alias;
	if (!o->lab_migrate)
		snprintf(describe, dlen, "none (migrate=0: detectors only)");
	else if (o->migrate.victim == VICTIM_SWEEP)
		snprintf(describe, dlen, "migrate=%s: a sweep of every cached folio, then %u ms of "
			 "pause (compact_memory)", o->migrate_arg, o->migrate.sweep_ms);
	else if (!o->migrate.rate)
		snprintf(describe, dlen, "migrate=max: recently looked-up blocks, back to back");
	else
		snprintf(describe, dlen, "migrate=%s: %u attempts/s on recently looked-up blocks",
			 o->migrate_arg, o->migrate.rate);
	lo->describe = describe;
	snprintf(rerun, rlen, "jbdlab mount -o seed=%llu,strategy=%s,migrate=%s,migrate_mode=%s%s%s "
		 "on a copy of the image as it was mounted, and the same workload (the seed fixes "
		 "the migrator's victims, not the schedule)", (unsigned long long)o->fs.seed,
		 st->name, o->migrate_arg, modes[o->migrate.mode],
		 o->fs.credits == JFS_CREDITS_DEPTH ? ",credits=depth" : "",
		 o->fs.revoke_lookup_alias ? ",revoke_lookup=alias" : "");
	lo->rerun = rerun;
}

static int lock_image(const char *image, bool ro)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = JFUSE_LOCK_OFFSET,
		.l_len = 1,
	};
	int waited = 0;
	int fd;

	fd = open(image, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 && !ro && (errno == EACCES || errno == EROFS))
		fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		jfuse_err("%s: %s", image, strerror(errno));
		return -1;
	}
	/* a read-only fd can only take a read lock; it still excludes writers */
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
		fl.l_type = F_RDLCK;

	while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno != EAGAIN && errno != EACCES) {
			/* no OFD locks here (old kernel, odd fs): run unlocked */
			if (errno == EINVAL || errno == ENOLCK)
				return fd;
			jfuse_err("%s: cannot lock: %s", image, strerror(errno));
			close(fd);
			return -1;
		}
		if (waited >= JFUSE_LOCK_WAIT_MS) {
			jfuse_err("%s is in use by another jbdlab mount (waited %d s)", image,
				  JFUSE_LOCK_WAIT_MS / 1000);
			close(fd);
			return -1;
		}
		if (waited == 1000)
			jfuse_err("%s is locked by another jbdlab mount (still writing it "
				  "home?); waiting up to %d s", image, JFUSE_LOCK_WAIT_MS / 1000);
		usleep(20 * 1000);
		waited += 20;
	}
	return fd;
}

static void report(int fd, int status)
{
	unsigned char c = status;

	if (fd < 0)
		return;
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
	close(fd);
}

static int build_fuse_args(const struct jfuse_opts *o, const char *fsname, struct fuse_args *args)
{
	char *opts = NULL;
	char *kv = NULL;
	int err = 0;

	if (fuse_opt_add_arg(args, "jbdlab"))
		return -1;
	if (o->debug && fuse_opt_add_arg(args, "-d"))
		return -1;

	if (asprintf(&kv, "fsname=%s", fsname) < 0)
		return -1;
	err |= fuse_opt_add_opt_escaped(&opts, kv);
	free(kv);
	if (!o->nosubtype) {
		if (asprintf(&kv, "subtype=%s", o->subtype ? o->subtype : "jbdlab") < 0)
			err = -1;
		else
			err |= fuse_opt_add_opt_escaped(&opts, kv);
		free(kv);
	}
	if (o->allow_other)
		err |= fuse_opt_add_opt(&opts, "allow_other");
	if (o->fs.default_permissions)
		err |= fuse_opt_add_opt(&opts, "default_permissions");
	if (o->fs.ro)
		err |= fuse_opt_add_opt(&opts, "ro");
	if (o->kernel_flags)
		err |= fuse_opt_add_opt(&opts, o->kernel_flags);
	if (!err)
		err |= fuse_opt_add_arg(args, "-o");
	if (!err)
		err |= fuse_opt_add_arg(args, opts);
	free(opts);
	return err ? -1 : 0;
}

static void write_stats(struct jfs *fs, const char *path)
{
	struct jfs_stats st;
	FILE *f;

	jfs_get_stats(fs, &st);
	f = fopen(path, "we");
	if (!f) {
		jfuse_err("stats: %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "ops=%llu cache_bytes=%llu cache_limit=%llu evictions=%llu dev_reads=%llu "
		"dev_writes=%llu dev_flushes=%llu bytes_written=%llu\n",
		(unsigned long long)st.ops, (unsigned long long)st.cache_bytes,
		(unsigned long long)st.cache_limit, (unsigned long long)st.evictions,
		(unsigned long long)st.dev_reads, (unsigned long long)st.dev_writes,
		(unsigned long long)st.dev_flushes, (unsigned long long)st.bytes_written);
	if (fclose(f))
		jfuse_err("stats: %s: %s", path, strerror(errno));
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	/* paths were made absolute before mounting; don't pin a directory */
	if (chdir("/") < 0)
		jfuse_err("chdir /: %s", strerror(errno));
}

/*
 * Mount and serve.  @status_fd (or -1 in the foreground) receives 0 once the
 * mount is up, or the exit code if it never comes up.  Returns the exit code.
 */
static int run(struct jfuse_opts *o, int status_fd)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *cfg;
	struct jfuse m = { 0 };
	char errbuf[256] = "", last_msg[256];
	struct msg_capture msgs;
	char *image, *mnt, *fsname = NULL, *write_log = NULL, *stats = NULL, *lab_log = NULL;
	struct lab_live_opts lo;
	struct lab_live *lv = NULL;
	char lab_describe[160], lab_rerun[400];
	FILE *lab_file = NULL, *lab_stream = NULL;	/* lab_log=PATH; stderr or syslog */
	sigset_t block, old;
	int lock_fd = -1;
	int ret = 1, err;
	struct stat st;

	image = absolute_path(o->image);
	mnt = realpath(o->mountpoint, NULL);
	if (!image) {
		jfuse_err("%s: %s", o->image, strerror(errno));
		goto out_free;
	}
	if (!mnt || stat(mnt, &st)) {
		jfuse_err("mount point %s: %s", o->mountpoint, strerror(errno));
		goto out_free;
	}
	if (!S_ISDIR(st.st_mode)) {
		jfuse_err("mount point %s: %s", o->mountpoint, strerror(ENOTDIR));
		goto out_free;
	}
	fsname = o->fsname ? strdup(o->fsname) : realpath(o->image, NULL);
	if (!fsname)
		fsname = strdup(image);
	if (!fsname)
		goto out_nomem;
	if (o->fs.write_log) {
		write_log = absolute_path(o->fs.write_log);
		if (!write_log)
			goto out_nomem;
		o->fs.write_log = write_log;
	}
	if (o->stats_path) {
		stats = absolute_path(o->stats_path);
		if (!stats)
			goto out_nomem;
		o->stats_path = stats;
	}
	if (o->lab_log) {
		lab_log = absolute_path(o->lab_log);
		if (!lab_log)
			goto out_nomem;
	}
	if (build_fuse_args(o, fsname, &args))
		goto out_nomem;
	if (o->lab) {
		/* detections and the summary: lab_log=, or stderr / syslog */
		lab_stream = open_log_stream(!o->foreground);
		if (!lab_stream)
			goto out_nomem;
		if (lab_log) {
			lab_file = fopen(lab_log, "ae");
			if (!lab_file) {
				jfuse_err("lab_log %s: %s", o->lab_log, strerror(errno));
				goto out_free;
			}
			setvbuf(lab_file, NULL, _IOLBF, 0);
		}
		lab_live_setup(o, image, &lo, lab_describe, sizeof(lab_describe), lab_rerun,
			       sizeof(lab_rerun));
	}

	lock_fd = lock_image(image, o->fs.ro);
	if (lock_fd < 0)
		goto out_free;

	/*
	 * The fs threads inherit our signal mask: keep SIGINT/SIGTERM/SIGHUP
	 * blocked in them so the signal always lands on a libfuse thread and
	 * wakes the request loop.
	 */
	mallopt(M_ARENA_MAX, JFUSE_MALLOC_ARENAS);
	{
		size_t cache = o->fs.cache_size ? o->fs.cache_size : JFUSE_DEF_CACHE;
		unsigned long qlen = cache / PAGE_SIZE / JFUSE_QUARANTINE_FRACTION;

		quarantine_set_len(qlen < JFUSE_QUARANTINE_MAX ? (qlen ? qlen : 1) : JFUSE_QUARANTINE_MAX);
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	capture_begin(&msgs);
	err = jfs_mount(image, &o->fs, &m.fs, errbuf, sizeof(errbuf));
	capture_end(&msgs, !err, last_msg, sizeof(last_msg));
	if (err) {
		const char *why = errbuf;

		pthread_sigmask(SIG_SETMASK, &old, NULL);
		/* the fs's reason is the useful part; it may carry our prefix */
		if (!strncmp(why, "jbdlab: ", 8))
			why += 8;
		if (last_msg[0] && !strstr(why, last_msg) && !strstr(last_msg, why))
			jfuse_err("cannot mount %s: %s; %s", o->image, *why ? why : strerror(-err),
				  last_msg);
		else
			jfuse_err("cannot mount %s: %s", o->image, *why ? why : strerror(-err));
		goto out_unlock;
	}
	/* the race lab: after the mount (recovery done), before any request;
	 * its migrator inherits the blocked signals too */
	if (o->lab)
		lv = lab_live_start(m.fs, &lo, lab_file ? lab_file : lab_stream, errbuf,
				    sizeof(errbuf));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (o->lab && !lv) {
		jfuse_err("cannot start the race lab: %s", errbuf);
		goto out_unmount_fs;
	}
	m.entry_timeout = o->entry_timeout;
	m.attr_timeout = o->attr_timeout;
	m.default_permissions = o->fs.default_permissions;
	m.fakeroot = o->fs.fakeroot;
	m.ro = o->fs.ro;

	m.se = fuse_session_new(&args, &jfuse_ops, sizeof(jfuse_ops), &m);
	if (!m.se) {
		jfuse_err("cannot create the FUSE session");
		goto out_unmount_fs;
	}
	if (fuse_set_signal_handlers(m.se)) {
		jfuse_err("cannot install signal handlers");
		goto out_destroy;
	}
	if (fuse_session_mount(m.se, mnt)) {
		/* libfuse has said why (fusermount3 or mount(2)) */
		jfuse_err("cannot mount on %s", o->mountpoint);
		goto out_signals;
	}

	err = jfuse_notifier_start(&m);
	if (err) {
		jfuse_err("cannot start the attribute notifier: %s", strerror(-err));
		fuse_session_unmount(m.se);
		goto out_signals;
	}

	report(status_fd, 0);
	status_fd = -1;
	if (!o->foreground) {
		jfuse_log_to_syslog();
		detach_stdio();
	}

	if (!multi_thread(o)) {
		err = jfuse_syncer_start(&m);
		if (err)
			jfuse_err("cannot start the fsync waiter: %s; fsyncs wait in the loop",
				  strerror(-err));
		err = fuse_session_loop(m.se);
		jfuse_syncer_stop(&m);	/* answers what is still queued */
	} else {
		cfg = fuse_loop_cfg_create();
		if (!cfg) {
			jfuse_err("out of memory");
			err = -ENOMEM;
		} else {
			fuse_loop_cfg_set_clone_fd(cfg, 0);
			fuse_loop_cfg_set_max_threads(cfg, o->max_threads ? o->max_threads
							       : JFUSE_DEF_MAX_THREADS);
			err = fuse_session_loop_mt(m.se, cfg);
			fuse_loop_cfg_destroy(cfg);
		}
	}
	/* a signal ends the loop with the (positive) signal number: normal */
	if (err < 0)
		jfuse_err("request loop: %s", strerror(-err));
	ret = 0;
	jfuse_notifier_stop(&m);	/* the loop is over: no op can queue */

	fuse_session_unmount(m.se);
out_signals:
	fuse_remove_signal_handlers(m.se);
out_destroy:
	fuse_session_destroy(m.se);
out_unmount_fs:
	if (ret == 0 && o->stats_path)
		write_stats(m.fs, o->stats_path);
	if (lv)
		lab_live_stop(lv);
	err = jfs_unmount(m.fs);
	if (err) {
		jfuse_err("unmounting %s: %s", o->image, strerror(-err));
		ret = 1;
	}
	/* the summary goes to the lab's log, and with lab_log= to stderr/syslog too;
	 * the image lock is still ours, so no new mount races the e2fsck */
	if (lv)
		lab_live_finish(lv, err, lab_file ? lab_stream : NULL);
out_unlock:
	close(lock_fd);
	goto out_free;
out_nomem:
	jfuse_err("out of memory");
out_free:
	if (status_fd >= 0)
		report(status_fd, ret ? ret : 1);
	if (lab_file)
		fclose(lab_file);
	if (lab_stream)
		fclose(lab_stream);
	fuse_opt_free_args(&args);
	free(lab_log);
	free(write_log);
	free(stats);
	free(fsname);
	free(image);
	free(mnt);
	return ret;
}

static void print_version(void)
{
	printf("jbdlab %s\n", JBDLAB_VERSION);
	printf("libfuse %s (FUSE_USE_VERSION %d)\n", fuse_pkgversion(), FUSE_USE_VERSION);
}

/* The parent's half of daemonizing: wait for the child's verdict. */
static int wait_child_status(pid_t child, int fd)
{
	unsigned char c;
	ssize_t n;
	int ws;

	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n == 1)
		return c;
	/* the child died without a word: its exit status is all we have */
	if (waitpid(child, &ws, 0) == child) {
		if (WIFEXITED(ws) && WEXITSTATUS(ws))
			return WEXITSTATUS(ws);
		if (WIFSIGNALED(ws))
			fprintf(stderr, PFX "the filesystem process died (signal %d)\n", WTERMSIG(ws));
	}
	return 1;
}

int jbdlab_mount_main(int argc, char **argv)
{
	struct jfuse_opts o;
	int pipefd[2];
	pid_t pid;
	int ret;

	if (jfuse_parse_args(argc, argv, &o)) {
		jfuse_opts_free(&o);
		return 1;
	}
	if (o.show_help || o.show_version) {
		if (o.show_help)
			jfuse_usage(stdout);
		else
			print_version();
		jfuse_opts_free(&o);
		return 0;
	}

	if (o.foreground) {
		ret = run(&o, -1);
		jfuse_opts_free(&o);
		return ret;
	}

	fflush(NULL);
	if (pipe2(pipefd, O_CLOEXEC)) {
		perror(PFX "pipe");
		jfuse_opts_free(&o);
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror(PFX "fork");
		close(pipefd[0]);
		close(pipefd[1]);
		jfuse_opts_free(&o);
		return 1;
	}
	if (pid > 0) {
		close(pipefd[1]);
		jfuse_opts_free(&o);
		return wait_child_status(pid, pipefd[0]);
	}

	close(pipefd[0]);
	/* leave the caller's session: its hangup must not end the mount */
	setsid();
	ret = run(&o, pipefd[1]);
	jfuse_opts_free(&o);
	return ret;
}
