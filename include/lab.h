/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lab.h - the race lab (src/lab/): the fs op API driven by workload threads
 * and by ext4-like metadata users, the migrator moving folios underneath,
 * and the detectors that turn a race into a classified, seeded report.
 * See ../shared/DESIGN.md (threads, detectors) and kernel-race.md §2.5
 * (the classes I1..I5), §7.3 (detectors).
 */
#ifndef JBDLAB_LAB_H
#define JBDLAB_LAB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "migrate.h"
#include "strategy.h"
#include "fs.h"

/* Race classes (kernel-race.md §2.5). */
enum lab_class {
	LAB_I1,		/* lookup-vs-migration: a stale b_data, a lost update */
	LAB_I2,		/* jbd2's temporary bh aliases a folio that moved */
	LAB_I3,		/* handle credit overrun */
	LAB_I4,		/* sleeping while holding a spinlock */
	LAB_I5,		/* lock-order inversion (lock checker) / deadlock (watchdog) */
	LAB_NCLASS
};
const char *lab_class_name(enum lab_class c);

struct lab_opts {
	const struct strategy *strategy;	/* required */
	double seconds;			/* run length; default 4 */
	uint64_t seed;
	const char *image;		/* pristine image to copy per run (NULL: lab_make_image) */
	const char *workdir;		/* where the run's images go (required) */
	unsigned int folio_order;	/* bdev folio order (default 0: 4 KiB) */
	unsigned int threads;		/* fs workload threads (default 2) */
	unsigned int meta_users;	/* metadata-user threads (default 2) */
	unsigned int arena_blocks;	/* blocks the metadata users own (default 1024) */
	struct migrator_opts migrator;	/* mode/victim/rate/copy order (seed set per run) */
	int stop_class;			/* stop at the first detection of this class; -1: never,
					 * LAB_NCLASS: of any class */
	unsigned int max_reports;	/* full reports printed per class (default 1) */
	FILE *report;			/* reports and notes go here (default stderr) */
	bool no_oracles;		/* skip crash + replay + e2fsck at the end (speed) */
	enum jfs_credit_rule credits;	/* --credits max|depth (I3) */
	bool revoke_lookup_alias;	/* --revoke-lookup alias|skip-self (I5) */
	const char *rerun;		/* the reports' "replay:" command (NULL: jbdlab race
					 * --replay; a live mount names its own options) */
	const char *rerun_args;		/* appended to the replay line (the image options) */
	bool no_fork;			/* run in this process: a deadlock then ends it
					 * (default: a forked child, so that the watchdog
					 * can end a deadlocked run and the caller goes on) */
	bool no_lockdep;		/* without the lock checker (its overhead) */
	double watchdog_s;		/* deadlock watchdog timeout (0: 2 s) */
	/* progress: called about every 250 ms from the run's main thread */
	void (*progress)(const struct lab_opts *o, double t, const uint64_t *detections,
			 uint64_t migrations_ok, void *priv);
	void *priv;
};

struct lab_result {
	const struct strategy *strategy;
	uint64_t seed;
	double seconds;				/* how long the threads ran */
	uint64_t detections[LAB_NCLASS];
	double first_s[LAB_NCLASS];		/* time to first detection, < 0 if none */
	struct migrate_stats mig;
	uint64_t ops;				/* fs ops + metadata-user writes */
	double ops_per_s;
	uint64_t null_for_cached;		/* lookups that returned NULL for a cached block */
	uint64_t stale_reused;			/* stale writes into memory the quarantine gave back */
	uint64_t lookup_bails;			/* of which the strategy's bail */
	uint64_t fs_errors;			/* EIO/EUCLEAN/EROFS from the fs, journal aborts */
	uint64_t fs_errors_after_i3;		/* the same once an I3 made the fs read-only */
	char fsck[64];				/* e2fsck -fn of the unmounted image: "clean" or why not */
	char crash[96];				/* crash copy: replay + e2fsck verdict */
	char error[256];			/* the run could not be set up: why ("" if it ran) */
	bool deadlocked;			/* the watchdog ended the run: its threads were
						 * blocked on each other (I5), no end-of-run oracles */
	uint64_t lock_deps;			/* lock-class dependencies the checker recorded */
};

/* mkfs.ext4 -b @block_size an image of @bytes.  0, or -1 with a reason in errbuf. */
int lab_make_image(const char *path, uint64_t bytes, unsigned int block_size,
		   char *errbuf, size_t errlen);
/* One run.  0, or -1 if it could not be set up (r->error says why). */
int lab_run(const struct lab_opts *o, struct lab_result *r);

/* Report helpers (src/lab/report.c). */
void lab_print_table_header(FILE *f);
void lab_print_table_row(FILE *f, const struct lab_result *r, unsigned int nruns);
int lab_write_json(const char *path, const struct lab_result *r, size_t n);
int lab_write_svg(const char *path, const struct lab_result *r, size_t n, double seconds);
/* The verdict of a run against what the issue expects of its strategy. */
const char *lab_main_fail_reason(const struct migrate_stats *m, uint64_t *count);

/*
 * The race lab under a live mount (src/lab/live.c; `jbdlab mount -o
 * migrate=...`): the detectors and the migrator around a mounted jfs whose
 * ops come from FUSE -- fsstress against the mount is generic/750 in
 * userspace.  No workload, metadata users, arena or crash image of its own.
 * The strategy is the mount's (strategy= of jfs_mount_opts).
 */
struct lab_live_opts {
	bool migrate;			/* start the migrator (false: detectors only) */
	struct migrator_opts migrator;	/* mode, victim, rate, sweep_ms; its seed comes from seed */
	const char *describe;		/* the migrator in words, for the log and the summary */
	uint64_t seed;			/* the mount's seed= (printed with every detection) */
	bool yield_points;		/* arm the lab's seeded yield points (lab_run's rates) */
	size_t quarantine_bytes;	/* freed folios kept poisoned (0: leave as set) */
	unsigned int max_reports;	/* full reports per class (0: 3) */
	const char *rerun;		/* how to rerun, on each report's "replay:" line */
	const char *image;		/* e2fsck -fn it after the unmount (NULL: don't) */
	enum jfs_credit_rule credits;	/* as mounted, for the summary */
	bool revoke_lookup_alias;	/* as mounted, for the summary */
};
struct lab_live;
/*
 * Arm the detectors and start the migrator; detections go to @log (NULL:
 * stderr) as they happen.  Call after jfs_mount(), before the first request.
 * NULL with a reason in errbuf if it cannot start (nothing stays armed).
 * Lock state: no lock held; one live lab per process (the hooks are global).
 */
struct lab_live *lab_live_start(struct jfs *fs, const struct lab_live_opts *o, FILE *log,
				char *errbuf, size_t errlen);
/* Stop the migrator, sync, disarm.  Before jfs_unmount(); no lock held. */
void lab_live_stop(struct lab_live *lv);
/*
 * After jfs_unmount() (@unmount_err its result): the last quarantine
 * check, e2fsck -fn of the image, the summary to the log and to @also (if
 * not NULL and not the log); frees @lv.  No lock held.
 */
void lab_live_finish(struct lab_live *lv, int unmount_err, FILE *also);

#endif /* JBDLAB_LAB_H */
