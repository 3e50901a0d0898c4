/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jfuse.h - internals of the FUSE adapter (src/fuse/): the per-mount state
 * every low-level op reaches through fuse_req_userdata(), the parsed
 * command line of `jbdlab mount`, and the logging used once the daemon has
 * lost its terminal.
 *
 * Lifetime: a struct jfuse lives from just after jfs_mount() until after
 * fuse_session_destroy(); no op can run outside that window, so ops never
 * check m->fs for NULL.
 */
#ifndef JBDLAB_JFUSE_H
#define JBDLAB_JFUSE_H

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fs.h"
#include "migrate.h"

/* entry_timeout and attr_timeout unless given (mount_opts.c) */
#define JFUSE_DEF_TIMEOUT	86400.0

/* ext4's root directory (EXT2_ROOT_INO); FUSE calls it FUSE_ROOT_ID (1). */
#define JFUSE_EXT4_ROOT_INO	2

static inline ino_t to_ino(fuse_ino_t nodeid)
{
	return nodeid == FUSE_ROOT_ID ? JFUSE_EXT4_ROOT_INO : (ino_t)nodeid;
}

static inline fuse_ino_t to_nodeid(ino_t ino)
{
	return ino == JFUSE_EXT4_ROOT_INO ? FUSE_ROOT_ID : (fuse_ino_t)ino;
}

/*
 * The attribute-change notifier (notify.c): inodes the fs changed behind
 * the kernel's attribute cache (jfs_set_inval_hook), queued under the fs
 * lock and sent as fuse_lowlevel_notify_inval_inode(attributes only) by a
 * thread of its own -- never from a request handler, where the kernel may
 * hold the inode's locks the invalidation needs (libfuse's warning for
 * every notify call).
 */
struct jfuse_notifier {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* [lock] the queue grew, or stop */
	ino_t *q;			/* [lock] queued inodes */
	size_t n, cap;			/* [lock] */
	bool stop;			/* [lock] */
	bool lost;			/* [lock] a queue allocation failed (logged once) */
	struct fuse_session *se;	/* [const] */
	pthread_t thread;		/* [const] */
	bool running;			/* [owner: mount thread] */
};

/*
 * The fsync waiter (syncer.c) of the one-thread request loop: FSYNC and
 * FSYNCDIR are queued here and answered from a thread of its own, so the
 * loop never sleeps in a commit wait.  Concurrent fsyncs of one
 * transaction then share its commit, as the kernel's tasks share it in
 * jbd2_log_wait_commit(): the waiter takes them in arrival order and the
 * ones whose transaction is already committed return at once.
 */
struct jfuse_sync_req {
	struct jfuse_sync_req *next;
	fuse_req_t req;
	ino_t ino;
	bool datasync;
};

struct jfuse_syncer {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* [lock] the queue grew, or stop */
	struct jfuse_sync_req *head, **tail;	/* [lock] FIFO */
	bool stop;			/* [lock] */
	struct jfs *fs;			/* [const] */
	pthread_t thread;		/* [const] */
	bool running;			/* [owner: mount thread; read by the loop thread,
					 * which runs only between start and stop] */
};

struct jfuse {
	struct jfs *fs;			/* [const] */
	struct fuse_session *se;	/* [const after fuse_session_new] */
	double entry_timeout;		/* [const] */
	double attr_timeout;		/* [const] */
	bool default_permissions;	/* [const] the kernel checks permissions */
	bool fakeroot;			/* [const] the fs treats every caller as root */
	bool ro;			/* [const] */
	/*
	 * Lookups of the root we handed to the kernel (a LOOKUP of ".." or a
	 * READDIRPLUS entry can name it).  The kernel's own reference from
	 * mount time was never counted by the fs, so forgets of nodeid 1 are
	 * passed down only up to this number.  [atomic]
	 */
	_Atomic uint64_t root_lookups;
	bool destroyed;			/* [owner: session thread] destroy() ran */
	struct jfuse_notifier notifier;	/* own lock */
	struct jfuse_syncer syncer;	/* own lock; running only under the one-thread loop */
};

/* Start after fuse_session_mount (the hook is set on m->fs), stop after the
 * request loop: stop sends what is still queued, then joins. */
int jfuse_notifier_start(struct jfuse *m);
void jfuse_notifier_stop(struct jfuse *m);

/* Start before the one-thread loop, stop after it (stop answers what is
 * still queued, then joins).  jfuse_syncer_queue: false when no syncer
 * runs (or no memory): the caller then waits itself. */
int jfuse_syncer_start(struct jfuse *m);
void jfuse_syncer_stop(struct jfuse *m);
bool jfuse_syncer_queue(struct jfuse *m, fuse_req_t req, ino_t ino, bool datasync);

extern const struct fuse_lowlevel_ops jfuse_ops;

/* The command line of `jbdlab mount`, see mount_opts.c. */
struct jfuse_opts {
	const char *image;		/* as given */
	const char *mountpoint;		/* as given */
	bool foreground;		/* -f (or -d) */
	bool debug;			/* -d: libfuse traces every request */
	bool single_thread;		/* -s */
	bool show_help, show_version;
	bool nosubtype;			/* mount as plain "fuse" (the mount helper) */
	bool allow_other;
	const char *fsname;		/* NULL: realpath of the image */
	const char *subtype;		/* NULL: "jbdlab" */
	double entry_timeout, attr_timeout;
	unsigned int max_threads;	/* 0: libfuse's default */
	const char *stats_path;		/* stats=PATH: jfs_get_stats at unmount */
	char *kernel_flags;		/* VFS flags for libfuse (nosuid, noexec...), fuse_opt list */
	struct jfs_mount_opts fs;

	/* the race lab under the mount (src/lab/live.c), on with migrate= */
	bool lab;			/* migrate= was given (migrate=0: detectors only) */
	bool lab_migrate;		/* a migrator runs */
	struct migrator_opts migrate;	/* rate, sweep_ms, victim, mode */
	const char *migrate_arg;	/* migrate= as given, for the rerun line */
	const char *strategy_arg;	/* strategy= as given (NULL: the default) */
	const char *lab_log;		/* lab_log=PATH: detections and summary (default stderr/syslog) */
	bool lab_no_yield;		/* lab_yield=off */
	bool lab_no_fsck;		/* lab_fsck=off: no e2fsck -fn at unmount */
	bool seed_given;		/* seed= was given (else the lab picks one and prints it) */

	char **allocs;			/* strings the option values point into */
	size_t nr_allocs;
};

/* Parse argv (argv[0] = "mount"); 0, or -1 after printing why. */
int jfuse_parse_args(int argc, char **argv, struct jfuse_opts *o);
void jfuse_opts_free(struct jfuse_opts *o);
void jfuse_usage(FILE *f);

/* Logging: stderr while we have a terminal, syslog once daemonized. */
void jfuse_log_to_syslog(void);
__attribute__((format(printf, 1, 2)))
void jfuse_err(const char *fmt, ...);

#endif /* JBDLAB_JFUSE_H */
