// SPDX-License-Identifier: GPL-2.0
/*
 * live.c - the race lab under a live mount: `jbdlab mount -o migrate=...`.
 *
 * generic/750 is fsstress plus `echo 1 > /proc/sys/vm/compact_memory` every
 * five seconds, judged by e2fsck after the run.  Here the mount's own page
 * cache is the one compaction walks: the migrator of the lab moves the bdev
 * folios of a mounted jfs while FUSE requests (fsstress, fstests, anything)
 * drive the filesystem, and the lab's detectors watch the same places they
 * watch in `jbdlab race`:
 *
 *   - the access check: a read or write through b_data (the io_manager,
 *     the data path) that lands in a freed, quarantined folio -- I1;
 *   - the quarantine's poison check: a write through a stale pointer -- I1;
 *   - might_sleep() under a spinlock -- I4;
 *   - the journal-I/O oracle (jbd2_commit_observer): the bytes jbd2
 *     checksummed against the bytes that reached the log -- I2; jbd2's own
 *     stale pointers (j_superblock, the descriptor's tagp) -- I1;
 *   - the lock checker: a lock-class cycle -- I5 -- and the held locks in
 *     I4 reports; its watchdog: threads blocked on each other past 2 s,
 *     a real deadlock -- I5.  A deadlocked mount cannot go on (its FUSE
 *     threads are stuck), so after the report and the summary the daemon
 *     exits: the kernel ends the FUSE connection (ENOTCONN), `umount -l`
 *     or `fusermount -u` removes the mount, and the journal replays at the
 *     next mount;
 *   - after unmount, e2fsck -fn of the image (generic/750's only oracle:
 *     _check_scratch_fs; fstests runs no fsck for FSTYP=fuse) -- I1.
 *
 * What the lab has and this has not: no workload or metadata users of its
 * own (the ops come from FUSE), no arena and so no content oracle, no crash
 * image.  An I1 therefore needs a FUSE op to read or write through a
 * pointer the migration left stale; ext4-over-libext2fs re-reads b_data
 * after every lookup, which is why FS ops alone rarely show it (README).
 *
 * The seed is the mount's seed=: it fixes the migrator's victims and the
 * disk's random choices, not the FUSE schedule.  The lab's yield points
 * are armed at the lab's rates unless the mount says lab_yield=off: they
 * widen the windows that took generic/750 hours.
 *
 * Lifetime (mount_main.c):
 *   jfs_mount -> lab_live_start -> [FUSE requests] -> lab_live_stop ->
 *   jfs_unmount -> lab_live_finish (quarantine check, e2fsck, summary).
 *
 * Locking rules: struct lab_live belongs to the mount's main thread; the
 * struct lab inside it follows lab_internal.h (det_lock around the
 * detection records; the detectors run in any thread between start and
 * finish).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/wait.h>

#include "exec.h"
#include "lab_internal.h"

#define LIVE_MAX_REPORTS	3

struct lab_live {
	struct lab lab;				/* the detectors' view [owner: main thread] */
	struct lab_opts o;			/* [const after start] */
	struct lab_result r;			/* counters [lab.det_lock] */
	struct lab_live_opts lo;		/* [const after start] */
	char rerun[512];			/* the reports' replay line [const] */
	char image[4096];			/* for e2fsck after unmount [const] */
	FILE *log;				/* detections and the summary [const] */
	struct migrator *mg;			/* NULL: detectors only [owner] */
	uint64_t ops0;				/* jfs ops at start [owner] */
	bool stopped;				/* lab_live_stop ran [owner] */
	bool quiet;				/* start failed: undo only, no fsck, no summary [owner] */
};

static const char *const mode_names[] = {
	[MIGRATE_ASYNC] = "MIGRATE_ASYNC",
	[MIGRATE_SYNC_LIGHT] = "MIGRATE_SYNC_LIGHT",
	[MIGRATE_SYNC] = "MIGRATE_SYNC",
};

static void live_deadlocked(struct lab *lab);

struct lab_live *lab_live_start(struct jfs *fs, const struct lab_live_opts *o, FILE *log,
				char *errbuf, size_t errlen)
{
	struct lab_live *lv = calloc(1, sizeof(*lv));
	struct jfs_stats st;

	if (!lv) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	lv->lo = *o;
	lv->log = log ? log : stderr;
	if (o->image)
		snprintf(lv->image, sizeof(lv->image), "%s", o->image);
	if (o->rerun)
		snprintf(lv->rerun, sizeof(lv->rerun), "%s", o->rerun);

	lv->lab.fs = fs;
	jfs_lab_view(fs, &lv->lab.v);
	lv->o.strategy = mapping_strategy(lv->lab.v.mapping);
	lv->o.seed = o->seed;
	lv->o.folio_order = lv->lab.v.mapping->folio_order;
	lv->o.migrator = o->migrator;
	lv->o.stop_class = -1;
	lv->o.max_reports = o->max_reports ? o->max_reports : LIVE_MAX_REPORTS;
	lv->o.report = lv->log;
	lv->o.no_oracles = true;
	lv->o.credits = o->credits;
	lv->o.revoke_lookup_alias = o->revoke_lookup_alias;
	lv->o.rerun = lv->rerun[0] ? lv->rerun : NULL;
	lv->lab.o = &lv->o;
	lv->lab.r = &lv->r;
	lv->r.strategy = lv->o.strategy;
	lv->r.seed = o->seed;
	for (int c = 0; c < LAB_NCLASS; c++)
		lv->r.first_s[c] = -1;
	pthread_mutex_init(&lv->lab.det_lock, NULL);
	pthread_cond_init(&lv->lab.det_cond, NULL);
	if (o->image)
		snprintf(lv->lab.image, sizeof(lv->lab.image), "%s", o->image);

	/* arm the detectors, as lab_run() does */
	if (o->quarantine_bytes)
		quarantine_set_len(o->quarantine_bytes / mapping_folio_size(lv->lab.v.mapping) ?: 1);
	lab_hooks_install(&lv->lab);
	lab_lockdep_install(&lv->lab, 2.0, live_deadlocked);
	if (lv->lab.v.journal)
		WRITE_ONCE(lv->lab.v.journal->j_observer, &lab_commit_observer);
	trace_enable(true);
	mm_recent_enable(lv->lab.v.mapping, true);
	if (o->yield_points)
		lab_arm_yield_points(true);

	jfs_get_stats(fs, &st);
	lv->ops0 = st.ops;
	lv->lab.t0 = lab_now();
	if (o->migrate) {
		struct migrator_opts mopts = o->migrator;

		mopts.seed = o->seed * 1000003ULL + 7;	/* as lab_run() */
		lv->mg = migrator_start(lv->lab.v.mapping, &mopts);
		if (!lv->mg) {
			snprintf(errbuf, errlen, "cannot start the migrator");
			lv->quiet = true;	/* nothing ran: disarm, nothing to report */
			lab_live_stop(lv);
			lab_live_finish(lv, 0, NULL);
			return NULL;
		}
	}
	fprintf(lv->log, "jbdlab race lab (live mount): strategy %s (%s), seed %" PRIu64
		", migrator: %s, yield points %s; detections follow, the summary at unmount\n",
		lv->o.strategy->name, lv->o.strategy->kernel, o->seed,
		o->describe ? o->describe : (o->migrate ? "on" : "off"),
		o->yield_points ? "armed at the lab's rates" : "off");
	fflush(lv->log);
	return lv;
}

void lab_live_stop(struct lab_live *lv)
{
	struct lab *lab = &lv->lab;
	struct jfs_stats st;

	if (lv->mg) {
		migrator_stop(lv->mg);
		migrator_get_stats(lv->mg, &lv->r.mig);
		migrator_free(lv->mg);
		lv->mg = NULL;
	}
	lv->r.seconds = lab_time(lab);
	lab_arm_yield_points(false);
	mm_recent_enable(lab->v.mapping, false);
	jfs_get_stats(lab->fs, &st);
	lv->r.ops = st.ops - lv->ops0;
	lv->r.ops_per_s = lv->r.seconds > 0 ? (double)lv->r.ops / lv->r.seconds : 0;
	if (!lv->quiet) {
		/* every temporary bh the oracle saw completes (lab_run() does the same) */
		if (jfs_syncfs(lab->fs))
			lab_fs_error(lab);
		if (lab->v.journal && jbd2_is_journal_aborted(lab->v.journal))
			lab_fs_error(lab);
	}
	lv->stopped = true;
	if (lab->v.journal)
		WRITE_ONCE(lab->v.journal->j_observer, NULL);
	lab_lockdep_remove();
	lab_hooks_remove(lab);
	lv->r.lookup_bails = atomic_load(&lab->v.mapping->stat_lookup_bails);
	lab->fs = NULL;		/* jfs_unmount() follows */
}

static void print_summary(const struct lab_live *lv, FILE *f);

/* The watchdog's end of a deadlocked mount (see the top).  No lock held;
 * the FUSE threads stay blocked, so nothing is unwound. */
static void live_deadlocked(struct lab *lab)
{
	struct lab_live *lv = container_of(lab, struct lab_live, lab);
	struct jfs_stats st;

	if (lv->mg)
		migrator_get_stats(lv->mg, &lv->r.mig);
	lv->r.seconds = lab_time(lab);
	jfs_get_stats(lab->fs, &st);
	lv->r.ops = st.ops - lv->ops0;
	lv->r.ops_per_s = lv->r.seconds > 0 ? (double)lv->r.ops / lv->r.seconds : 0;
	lv->r.fs_errors = atomic_load(&lab->fs_errors);
	snprintf(lv->r.fsck, sizeof(lv->r.fsck), "not run (deadlock)");
	pthread_mutex_lock(&lab->det_lock);
	print_summary(lv, lv->log);
	pthread_mutex_unlock(&lab->det_lock);
	fprintf(lv->log, "jbdlab mount: the mount deadlocked (I5 above): the daemon exits now; "
		"remove the mount with 'umount -l' or 'fusermount -u', the journal replays at the "
		"next mount\n");
	fflush(lv->log);
	if (lv->log != stderr) {
		fprintf(stderr, "jbdlab mount: deadlock (I5, seed %" PRIu64 "): the daemon exits; see "
			"the lab log\n", lv->r.seed);
		fflush(stderr);
	}
	_exit(3);
}

static uint64_t mig_failed(const struct migrate_stats *m)
{
	uint64_t n = 0;

	for (int i = 0; i < MF_NR; i++)
		n += m->fail[i];
	return n;
}

static void print_summary(const struct lab_live *lv, FILE *f)
{
	const struct lab_result *r = &lv->r;
	const struct lab_live_opts *o = &lv->lo;
	uint64_t cnt;
	const char *why = lab_main_fail_reason(&r->mig, &cnt);
	size_t l = 0;
	char verdict[192];
	bool any = false;

	fprintf(f, "jbdlab race lab summary (live mount): strategy %s (%s), seed %" PRIu64
		", %.1f s\n", r->strategy->name, r->strategy->kernel, r->seed, r->seconds);
	fprintf(f, "  detections:");
	for (int c = 0; c < LAB_NCLASS; c++) {
		const char *sep = c ? "," : "";

		if (r->detections[c])
			fprintf(f, "%s %s %" PRIu64 " (first at %.3f s)", sep, lab_class_name(c),
				r->detections[c], r->first_s[c]);
		else
			fprintf(f, "%s %s 0", sep, lab_class_name(c));
		any |= r->detections[c] > 0;
	}
	fprintf(f, "\n");
	if (o->migrate)
		fprintf(f, "  migrations: %" PRIu64 " ok, %" PRIu64 " failed (main failure: %s, %" PRIu64
			"), %" PRIu64 " attempts, %" PRIu64 " sweeps; %s, %s\n", r->mig.ok,
			mig_failed(&r->mig), why, cnt, r->mig.attempts,
			r->mig.sweeps, mode_names[o->migrator.mode],
			o->describe ? o->describe : "migrator on");
	else
		fprintf(f, "  migrations: 0 ok (no migrator: migrate=0)\n");
	fprintf(f, "  fs: %" PRIu64 " ops (%.0f/s), %" PRIu64 " lookups bailed by the strategy, %"
		PRIu64 " fs errors; yield points %s; credits=%s, revoke_lookup=%s\n", r->ops,
		r->ops_per_s, r->lookup_bails, r->fs_errors,
		o->yield_points ? "armed at the lab's rates" : "off",
		o->credits == JFS_CREDITS_DEPTH ? "depth" : "max",
		o->revoke_lookup_alias ? "alias" : "skip-self");
	fprintf(f, "  e2fsck -fn of the unmounted image: %s\n", r->fsck[0] ? r->fsck : "not run");

	if (any) {
		l = (size_t)snprintf(verdict, sizeof(verdict), "RACE");
		for (int c = 0; c < LAB_NCLASS; c++)
			if (r->detections[c])
				l += (size_t)snprintf(verdict + l, sizeof(verdict) - l, " %s",
						      lab_class_name(c));
	} else if (!r->mig.ok) {
		l = (size_t)snprintf(verdict, sizeof(verdict),
				     "VACUOUS: the migrator moved nothing, so no detection proves anything");
	} else {
		l = (size_t)snprintf(verdict, sizeof(verdict), "none, with %" PRIu64 " folios moved",
				     r->mig.ok);
	}
	if (r->fs_errors && l < sizeof(verdict))
		snprintf(verdict + l, sizeof(verdict) - l, "; %" PRIu64 " fs errors", r->fs_errors);
	fprintf(f, "  verdict: %s\n", verdict);
	fflush(f);
}

void lab_live_finish(struct lab_live *lv, int unmount_err, FILE *also)
{
	struct lab *lab = &lv->lab;
	char *out = NULL;
	int ws;

	BUG_ON(!lv->stopped);	/* lab_live_stop() belongs before jfs_unmount() */
	if (unmount_err)
		lab_fs_error(lab);
	trace_enable(false);
	/* the last stale writes show in the quarantine, then it empties */
	quarantine_scan();
	quarantine_drain();
	if (lv->image[0] && !unmount_err && !lv->quiet) {
		/* what generic/750 relies on: the fsck after the run */
		ws = e2fsck_fn(lv->image, &out);
		if (ws == 0) {
			snprintf(lv->r.fsck, sizeof(lv->r.fsck), "clean");
		} else if (ws > 0 && WIFEXITED(ws)) {
			snprintf(lv->r.fsck, sizeof(lv->r.fsck), "e2fsck exit %d", WEXITSTATUS(ws));
			lab_detect(lab, LAB_I1, "e2fsck -fn (unmounted)", LAB_NO_BLOCK, 0, 0,
				   "e2fsck -fn of the unmounted image: exit %d (corrupt metadata reached "
				   "the disk):\n%.1500s", WEXITSTATUS(ws), out ? out : "");
		} else {
			snprintf(lv->r.fsck, sizeof(lv->r.fsck), "e2fsck did not run");
		}
		free(out);
	}
	lab_hooks_final();
	lv->r.fs_errors = atomic_load(&lab->fs_errors);
	lv->r.null_for_cached = atomic_load(&lab->null_for_cached);
	lv->r.stale_reused = atomic_load(&lab->stale_reused);
	if (!lv->quiet) {
		print_summary(lv, lv->log);
		if (also && also != lv->log)
			print_summary(lv, also);
	}
	free(lab->det);
	pthread_mutex_destroy(&lab->det_lock);
	pthread_cond_destroy(&lab->det_cond);
	free(lv);
}
