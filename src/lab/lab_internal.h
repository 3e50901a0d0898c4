/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lab_internal.h - what the files of src/lab/ share.
 *
 *   lab.c       one run: image, mount, arena, threads, stop, end-of-run oracles
 *   workload.c  the fs workload threads (the fs op API, as the FUSE layer calls it)
 *   metauser.c  the ext4-like metadata users (buffer_heads + journal handles)
 *   detect.c    detections: recording, classes, KASAN-style reports, and the
 *               hooks the lab installs (access check, poison, might_sleep,
 *               the journal-I/O oracle)
 *   report.c    table, JSON, SVG
 *   live.c      the detectors and the migrator under a live mount (no
 *               workload, metadata users or arena of its own)
 *
 * Locking rules: lab->det_lock (a mutex) protects the detection records
 * and counters; the arena's per-block shadow is owned by the block's
 * metadata-user thread [owner] until the threads are joined; everything
 * else of struct lab is [const] while the threads run, or [atomic].
 */
#ifndef JBDLAB_LAB_INTERNAL_H
#define JBDLAB_LAB_INTERNAL_H

#include <pthread.h>

#include "blockdev.h"
#include "fs.h"
#include "jbd2.h"
#include "lab.h"
#include "mm.h"
#include "trace.h"

/* The header of an arena block: the block is self-checking, so a crash
 * image can be judged without knowing which version should be there. */
#define LAB_MAGIC	0x424c414aU	/* "JALB" */
struct lab_block_hdr {
	uint32_t magic;
	uint32_t owner;		/* metadata-user index */
	uint64_t blocknr;
	uint64_t version;	/* writes so far */
	uint32_t crc;		/* crc32c of the rest of the block (after the header) */
	uint32_t pad;
};
#define LAB_SLOT	64	/* one write changes one slot of this size, then the header */

struct lab_arena_block {
	uint64_t blocknr;		/* [const] */
	unsigned int owner;		/* [const] metadata user that writes it */
	bool written;			/* written in this run [owner] */
	bool tainted;			/* an I1 lost update hit it: its crash copy proves nothing more [owner] */
	char *shadow;			/* what the block must hold [owner] */
};

#define LAB_NO_BLOCK	UINT64_MAX	/* a detection about no particular block */

struct lab_detection {
	enum lab_class cls;
	char detector[48];
	uint64_t block;
	uint64_t pfn;
	double t;
};

struct lab {
	const struct lab_opts *o;		/* [const] */
	struct lab_result *r;			/* counters under det_lock */
	struct jfs *fs;				/* [const while running] */
	struct jfs_lab_view v;			/* [const while running] */
	char image[4096];			/* the run's image [const] */
	char crash[4096];			/* the crash copy [const] */
	double t0;				/* monotonic start [const] */
	_Atomic bool stop;			/* [atomic] */
	_Atomic uint64_t ops;			/* [atomic] */
	_Atomic uint64_t null_for_cached;	/* [atomic] */
	_Atomic uint64_t stale_reused;		/* stale writes into released memory [atomic] */
	_Atomic bool jbd2_stale_ptr;		/* jbd2's own pointer went stale [atomic] */
	_Atomic uint64_t fs_errors;		/* [atomic] */
	_Atomic uint64_t fs_errors_after_i3;	/* EROFS & co. once an I3 aborted the journal [atomic] */
	_Atomic bool i3_aborted;		/* an I3 detection: the fs went read-only [atomic] */
	ino_t root_dirs[16];			/* workload directories [const] */
	ino_t shared_ino;			/* the file every fs thread writes [const] */
	struct migrator *mg;			/* [set before the watchdog can see it] */
	int result_fd;				/* the forked run's pipe to the parent, -1 if
						 * not forked [const] */

	struct lab_arena_block *arena;		/* [const array; entries: owner] */
	unsigned int narena;			/* [const] */

	pthread_mutex_t det_lock;		/* protects what follows [lock] */
	struct lab_detection *det;		/* [det_lock] */
	size_t ndet, det_cap;			/* [det_lock] */
	unsigned int reported[LAB_NCLASS];	/* full reports printed [det_lock] */
	pthread_cond_t det_cond;		/* a detection stopped the run [det_lock] */
};

double lab_now(void);
/* An fs error of the run (EIO, EUCLEAN, EROFS, a journal abort) -- or,
 * after an I3 aborted the journal, the read-only fs that follows from it
 * (counted apart: ext4 does the same, "Readonly filesystem" cascades). */
static inline void lab_fs_error(struct lab *lab)
{
	if (atomic_load(&lab->i3_aborted))
		atomic_fetch_add(&lab->fs_errors_after_i3, 1);
	else
		atomic_fetch_add(&lab->fs_errors, 1);
}
static inline double lab_time(const struct lab *lab)
{
	return lab_now() - lab->t0;
}

/* workload.c, metauser.c: thread bodies; arg is a struct lab_thread. */
struct lab_thread {
	struct lab *lab;
	unsigned int index;
	pthread_t thread;
};
void *lab_workload_thread(void *arg);
void *lab_metauser_thread(void *arg);
int lab_workload_setup(struct lab *lab);	/* the per-thread directories, the shared file */
bool lab_arena_written(const struct lab *lab, const struct lab_arena_block *ab);
void lab_arena_first_writes(struct lab *lab);	/* set-up, before the threads */

/* detect.c */
/*
 * Record a detection.  @pfn is the folio involved (0 if none); @what is a
 * short sentence for the report's first line; the rest of the report (the
 * events of the threads that touched @block or @pfn) is printed by this
 * call for the first max_reports of the class.  Duplicates -- the same
 * race seen by a second detector (same class and folio, or same class and
 * block within 50 ms) -- are folded into the first.  Lock state: no lab
 * lock held; may be called from any thread, including the commit and
 * I/O-completion threads (it takes det_lock and prints).
 */
void lab_detect(struct lab *lab, enum lab_class cls, const char *detector, uint64_t block,
		uint64_t pfn, uint64_t pfn2, const char *fmt, ...) __printf(7, 8);
/* lab_detect() naming the threads involved itself (@threads: "a, b"),
 * instead of the threads of the trace window around @block/@pfn. */
void lab_detect_threads(struct lab *lab, enum lab_class cls, const char *detector,
			uint64_t block, uint64_t pfn, uint64_t pfn2, const char *threads,
			const char *fmt, ...) __printf(8, 9);
/* Install/remove the hooks (access check, poison, might_sleep, observer). */
void lab_hooks_install(struct lab *lab);
void lab_hooks_remove(struct lab *lab);	/* all but the poison hook */
void lab_hooks_final(void);			/* the poison hook, after the last quarantine check */
/* The journal-I/O oracle's observer for jfs's journal (installed by lab.c). */
extern const struct jbd2_commit_observer lab_commit_observer;
/* The block an address of a stale pointer belongs to, for reports. */
bool lab_block_is_cached(struct lab *lab, uint64_t blocknr);

/* lockdep.c: the lock checker (I5, and the held locks of I4 reports).
 * Install before the run's threads start: it forgets the previous run's
 * dependencies and held locks.  @watchdog_s > 0 starts the deadlock
 * watchdog; on a deadlock it reports I5 and calls @deadlock (which may
 * end the process: the blocked threads cannot be unwound).  Remove after
 * the threads stopped (joins the watchdog).  No lock held for either. */
void lab_lockdep_install(struct lab *lab, double watchdog_s, void (*deadlock)(struct lab *lab));
void lab_lockdep_remove(void);
/* The calling thread's held locks, one per line ("  #0: name (aux)"). */
size_t lab_lockdep_held_text(char *buf, size_t len);
/* The caller's call trace, one frame per line (backtrace_symbols()). */
size_t lab_backtrace_text(char *buf, size_t len);
/* Lock-class dependencies recorded since the install. */
uint64_t lab_lockdep_deps(void);

/* lab.c: arm (or disarm) the lab's seeded yield points at lab_run's rates
 * (live.c arms the same ones under a mount). */
void lab_arm_yield_points(bool on);

#endif /* JBDLAB_LAB_INTERNAL_H */
