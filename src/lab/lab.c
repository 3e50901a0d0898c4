// SPDX-License-Identifier: GPL-2.0
/*
 * lab.c - one run of the race lab.
 *
 *   1. copy the pristine image, mount it in-process with the run's strategy
 *      (jfs_mount: the journal is replayed before anything else, so no
 *      recovery ever races the migrator -- model-review item 11);
 *   2. the arena: a preallocated file whose blocks the metadata users own
 *      (read once, their shadows start as what the disk holds);
 *   3. arm the detectors (access check, poison, might_sleep, the
 *      journal-I/O oracle, the trace rings) and the yield points, size the
 *      quarantine so that a late stale write is still caught;
 *   4. start the fs workload threads, the metadata users and the migrator
 *      (targeted at recently looked-up blocks by default), run for the
 *      given time or until the class asked for was detected;
 *   5. stop and join everything; take the crash image (blk_snapshot: the
 *      media between two completions); commit, unmount (every buffer goes
 *      home); check the quarantine one last time;
 *   6. end-of-run oracles: e2fsck -fn of the unmounted image, the arena on
 *      disk against the shadows, and the crash image replayed by jbdlab's
 *      recovery, then e2fsck -fn and the arena's self-check on it.
 *
 * Verdict rules kept here: a run counts its migrations (a verdict of
 * "nothing" means something only with migrations_ok > 0); every detection
 * carries its class, the seed and the threads involved (detect.c).
 *
 * Locking rules: the run's main thread owns struct lab; the worker
 * threads read its [const] fields and write only [atomic] counters and
 * their own arena blocks; detections take det_lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "exec.h"
#include "lab_internal.h"

/* The yield points the lab arms, in permille (kernel-race.md §7.5: the
 * windows Luis widened with udelay(), and the copy's cond_resched()). */
static const unsigned int lab_yield_permille[YP_NR] = {
	[YP_LOOKUP_BEFORE_LOCK] = 100,
	[YP_MIGRATE_AFTER_REFCHECK] = 500,
	[YP_MIGRATE_IN_COPY] = 500,
	[YP_JBD2_TMPBH_IO] = 200,
	[YP_META_ACCESS] = 500,
	[YP_CREATE_ACCESS] = 500,
};

/* Freed folios kept poisoned: the migrator frees a few thousand a second,
 * and the longest window (a metadata user preempted between its lookup and
 * its write) is far below a second. */
#define LAB_QUARANTINE_BYTES	(256UL << 20)

int lab_make_image(const char *path, uint64_t bytes, unsigned int block_size,
		   char *errbuf, size_t errlen)
{
	char *out = NULL;
	int ws = mkfs_ext4(path, bytes, block_size, &out);

	if (ws) {
		snprintf(errbuf, errlen, "mkfs.ext4 %s failed: %s", path,
			 out && *out ? out : "cannot run it");
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	char *buf = malloc(1 << 20);
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, ret = 0;
	ssize_t n;

	if (!buf || in < 0)
		goto fail;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		goto fail;
	while ((n = read(in, buf, 1 << 20)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			goto fail;
	}
	if (n < 0)
		goto fail;
	goto done;
fail:
	ret = -(errno ? errno : EIO);
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) && !ret)
		ret = -errno;
	free(buf);
	return ret;
}

static int arena_setup(struct lab *lab)
{
	const struct jfs_cred c = { 0 };
	unsigned int bs = lab->v.blocksize, n = lab->o->arena_blocks;
	struct stat st;
	int ret;

	ret = jfs_create(lab->fs, &c, 2, "lab-arena", S_IFREG | 0600, O_RDWR, &st);
	if (ret)
		return ret;
	ret = jfs_fallocate(lab->fs, &c, st.st_ino, 0, 0, (off_t)n * bs);
	if (!ret)
		ret = jfs_fsync(lab->fs, st.st_ino, false);
	jfs_release(lab->fs, st.st_ino);
	jfs_forget(lab->fs, st.st_ino, 1);
	if (ret)
		return ret;
	lab->arena = calloc(n, sizeof(*lab->arena));
	if (!lab->arena)
		return -ENOMEM;
	lab->narena = n;
	for (unsigned int i = 0; i < n; i++) {
		struct lab_arena_block *ab = &lab->arena[i];
		struct buffer_head *bh;
		uint64_t pblk;

		ret = jfs_bmap(lab->fs, st.st_ino, i, &pblk);
		if (ret)
			return ret;
		if (!pblk)
			return -ENOSPC;
		ab->blocknr = pblk;
		/* a folio's blocks have one owner */
		ab->owner = (unsigned int)((pblk >> (PAGE_SHIFT + lab->v.mapping->folio_order -
						    lab->v.mapping->blkbits)) % lab->o->meta_users);
		ab->shadow = malloc(bs);
		if (!ab->shadow)
			return -ENOMEM;
		bh = __bread(lab->v.bdev, pblk, bs);
		if (!bh)
			return -EIO;
		memcpy(ab->shadow, bh->b_data, bs);
		brelse(bh);
	}
	invalidate_bh_lru_current();
	return 0;
}

/* The arena blocks of an image file: disk == shadow (@exact), or each block
 * written in the run self-consistent (header, crc) or untouched. */
static unsigned int arena_check_image(struct lab *lab, const char *path, bool exact,
				      uint64_t *first_bad)
{
	unsigned int bs = lab->v.blocksize, bad = 0;
	char *buf = malloc(bs), *zero = calloc(1, bs);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!buf || !zero || fd < 0) {
		free(buf);
		free(zero);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	for (unsigned int i = 0; i < lab->narena; i++) {
		struct lab_arena_block *ab = &lab->arena[i];
		const struct lab_block_hdr *h = (const void *)buf;
		bool ok;

		if (!ab->written || ab->tainted)
			continue;
		if (pread(fd, buf, bs, (off_t)(ab->blocknr * bs)) != (ssize_t)bs)
			ok = false;
		else if (exact)
			ok = !memcmp(buf, ab->shadow, bs);
		else
			ok = !memcmp(buf, zero, bs) ||
			     (h->magic == LAB_MAGIC && h->blocknr == ab->blocknr &&
			      h->crc == crc32c(~0U, buf + sizeof(*h), bs - sizeof(*h)));
		if (!ok && !bad++)
			*first_bad = ab->blocknr;
	}
	close(fd);
	free(buf);
	free(zero);
	return bad;
}

static void end_of_run_oracles(struct lab *lab, bool crash_taken)
{
	struct lab_result *r = lab->r;
	struct jfs_replay_report rep;
	char why[512], *out = NULL;
	uint64_t bad_blk = 0;
	unsigned int bad;
	bool i2_seen;
	int ws, ret;

	/* the unmounted image: everything went home */
	ws = e2fsck_fn(lab->image, &out);
	if (ws == 0) {
		snprintf(r->fsck, sizeof(r->fsck), "clean");
	} else {
		if (ws > 0 && WIFEXITED(ws))
			snprintf(r->fsck, sizeof(r->fsck), "e2fsck exit %d", WEXITSTATUS(ws));
		else
			snprintf(r->fsck, sizeof(r->fsck), "e2fsck did not run");
		if (ws > 0)	/* after an I3 abort: the aborted handle's part of the I3 */
			lab_detect(lab, r->detections[LAB_I3] ? LAB_I3 : LAB_I1,
				   "e2fsck -fn (unmounted)", LAB_NO_BLOCK, 0, 0,
				   "e2fsck -fn of the unmounted image: exit %d (corrupt metadata reached "
				   "the disk):\n%.1500s", WEXITSTATUS(ws), out ? out : "");
	}
	free(out);
	bad = arena_check_image(lab, lab->image, true, &bad_blk);
	if (bad)
		lab_detect(lab, LAB_I1, "content oracle (disk)", bad_blk, 0, 0,
			   "after unmount %u arena block(s) on disk do not hold their last write "
			   "(first: block %llu): a lost update reached the disk",
			   bad, (unsigned long long)bad_blk);

	if (!crash_taken) {
		snprintf(r->crash, sizeof(r->crash), "not taken");
		return;
	}
	/*
	 * The crash image: jbdlab's recovery (e2fsck -E journal_only's), then
	 * fsck and the arena's self-check.  Wrong bytes in the log are I2 only
	 * if they differ from the ones the tag checksums were taken over (the
	 * replay's checksum error; the journal-I/O oracle saw them during the
	 * run).  Bytes journalled faithfully but read from a freed folio -- a
	 * frozen copy made through a stale b_data, jbd2's j_superblock pointer
	 * into a migrated journal superblock -- are stale pointers: I1.  So is
	 * a checksum error with no temporary bh seen going wrong and jbd2's
	 * descriptor tagp seen stale: the descriptor lost its last tags.
	 */
	i2_seen = r->detections[LAB_I2] > 0;
	ret = jfs_replay_report(lab->crash, 0, &rep, why, sizeof(why));
	if (ret < 0 && rep.recover_err == -EBADMSG && !i2_seen &&
	    atomic_load(&lab->jbd2_stale_ptr)) {
		/* no temporary bh was seen going wrong, a descriptor's tagp was */
		lab_detect(lab, LAB_I1, "crash + replay", LAB_NO_BLOCK, 0, 0,
			   "replaying the journal of the crash image failed its tag checksums (%s): "
			   "the journal-I/O oracle saw every temporary bh written as checksummed, "
			   "and jbd2 wrote descriptor tags through a stale pointer (reported above)",
			   why);
		snprintf(r->crash, sizeof(r->crash), "replay: checksum errors (stale descriptor)");
	} else if (ret < 0 && rep.recover_err == -EBADMSG) {
		lab_detect(lab, LAB_I2, "crash + replay", LAB_NO_BLOCK, 0, 0,
			   "replaying the journal of the crash image failed its tag checksums (%s): a "
			   "journalled block's bytes differ from the ones its checksum was taken over",
			   why);
		snprintf(r->crash, sizeof(r->crash), "replay: checksum errors");
		i2_seen = true;
	} else if (ret < 0) {
		lab_detect(lab, LAB_I1, "crash + replay", LAB_NO_BLOCK, 0, 0,
			   "the journal of the crash image cannot be replayed (%s): jbd2 wrote its own "
			   "metadata through a stale pointer", why);
		snprintf(r->crash, sizeof(r->crash), "replay failed: %.70s", why);
	} else {
		snprintf(r->crash, sizeof(r->crash), "replay ok");
	}
	ws = e2fsck_fn(lab->crash, &out);
	if (ws > 0) {
		size_t l = strlen(r->crash);

		snprintf(r->crash + l, sizeof(r->crash) - l, ", e2fsck exit %d", WEXITSTATUS(ws));
		lab_detect(lab, i2_seen ? LAB_I2 : LAB_I1, "crash + replay + e2fsck", LAB_NO_BLOCK, 0,
			   0, "e2fsck -fn of the replayed crash image: exit %d (%s):\n%.1500s",
			   WEXITSTATUS(ws), i2_seen ? "the log got bytes other than the checksummed ones" :
			   "the log got stale bytes, faithfully: a b_data reader of a moved folio",
			   out ? out : "");
	} else if (ws == 0) {
		size_t l = strlen(r->crash);

		snprintf(r->crash + l, sizeof(r->crash) - l, ", e2fsck clean");
	}
	free(out);
	bad = arena_check_image(lab, lab->crash, false, &bad_blk);
	if (bad)
		lab_detect(lab, i2_seen ? LAB_I2 : LAB_I1, "crash + replay (arena)", bad_blk, 0, 0,
			   "after crash + replay %u arena block(s) fail their own checksum (first: "
			   "block %llu): the log replayed bytes nobody wrote",
			   bad, (unsigned long long)bad_blk);
}

/* Also live.c's: the mount arms the same points at the same rates.  The
 * policy stays whatever is installed (yield_policy_random unless a test
 * forces an interleaving with its own). */
void lab_arm_yield_points(bool on)
{
	for (int i = 0; i < YP_NR; i++)
		atomic_store(&yield_point_permille[i], on ? lab_yield_permille[i] : 0);
}

/*
 * The watchdog found the run's threads blocked on each other (I5, already
 * reported).  They cannot be unwound -- a deadlock in the kernel ends with
 * a hung task too -- so the run ends here with what it measured: the
 * forked child hands its result to the parent and exits; not forked, the
 * process has to go.  Called from the watchdog thread, no lock held.
 */
/* The run's counters into its result (r->seconds set).  Lock state: any;
 * the counters are [atomic]. */
static void lab_collect_counters(struct lab *lab, struct lab_result *r)
{
	r->ops = atomic_load(&lab->ops);
	r->ops_per_s = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
	r->null_for_cached = atomic_load(&lab->null_for_cached);
	r->stale_reused = atomic_load(&lab->stale_reused);
	r->fs_errors = atomic_load(&lab->fs_errors);
	r->fs_errors_after_i3 = atomic_load(&lab->fs_errors_after_i3);
}

/* The run's image and crash copy go, unless JBDLAB_LAB_KEEP asks otherwise. */
static void remove_run_images(const char *workdir)
{
	char p[PATH_MAX];

	if (getenv("JBDLAB_LAB_KEEP"))
		return;
	snprintf(p, sizeof(p), "%s/run.img", workdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/crash.img", workdir);
	unlink(p);
}

static void lab_run_deadlocked(struct lab *lab)
{
	struct lab_result *r = lab->r;
	FILE *rep = lab->o->report ? lab->o->report : stderr;

	atomic_store(&lab->stop, true);
	pthread_mutex_lock(&lab->det_lock);
	r->seconds = lab_time(lab);
	r->deadlocked = true;
	lab_collect_counters(lab, r);
	pthread_mutex_unlock(&lab->det_lock);
	if (lab->mg)
		migrator_get_stats(lab->mg, &r->mig);
	r->lock_deps = lab_lockdep_deps();
	snprintf(r->fsck, sizeof(r->fsck), "not checked (deadlock)");
	snprintf(r->crash, sizeof(r->crash), "not taken (deadlock)");
	fprintf(rep, "jbdlab race: %s seed %" PRIu64 ": the run deadlocked at t=%.3fs; it ends "
		"here (blocked threads cannot be unwound), without the end-of-run oracles\n",
		lab->o->strategy->name, lab->o->seed, r->seconds);
	fflush(rep);
	fflush(stdout);
	fflush(stderr);
	if (lab->result_fd >= 0) {
		ssize_t w = write(lab->result_fd, r, sizeof(*r));

		_exit(w == (ssize_t)sizeof(*r) ? 0 : 3);
	}
	fprintf(stderr, "jbdlab: the race lab deadlocked outside a forked run: exiting\n");
	_exit(3);
}

static int lab_run_here(const struct lab_opts *o, struct lab_result *r, int result_fd);

/*
 * lab_run - one run, in a forked child unless o->no_fork: the child runs
 * lab_run_here() and writes its struct lab_result back through a pipe; a
 * run the watchdog ends (deadlock) does the same from the watchdog.  The
 * caller must be single-threaded (fork).  Entry: no lock held.
 */
int lab_run(const struct lab_opts *o, struct lab_result *r)
{
	int pfd[2], status = 0;
	pid_t pid;
	ssize_t n;

	if (o->no_fork)
		return lab_run_here(o, r, -1);
	memset(r, 0, sizeof(*r));
	r->strategy = o->strategy;
	r->seed = o->seed;
	if (pipe(pfd)) {
		snprintf(r->error, sizeof(r->error), "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if (o->report)
		fflush(o->report);
	pid = fork();
	if (pid < 0) {
		snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (!pid) {
		struct lab_result cr;
		int ret;

		close(pfd[0]);
		ret = lab_run_here(o, &cr, pfd[1]);
		fflush(stdout);
		fflush(stderr);
		if (o->report)
			fflush(o->report);
		n = write(pfd[1], &cr, sizeof(cr));
		_exit(n == (ssize_t)sizeof(cr) ? (ret ? 1 : 0) : 3);
	}
	close(pfd[1]);
	n = read(pfd[0], r, sizeof(*r));
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*r)) {
		memset(r, 0, sizeof(*r));
		r->strategy = o->strategy;
		r->seed = o->seed;
		if (WIFSIGNALED(status))
			snprintf(r->error, sizeof(r->error), "the run (pid %d) died of signal %d (%s)",
				 (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(r->error, sizeof(r->error), "the run (pid %d) exited %d without a "
				 "result", (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	if (r->deadlocked)	/* the child could not clean up */
		remove_run_images(o->workdir);
	return r->error[0] ? -1 : 0;
}

static int lab_run_here(const struct lab_opts *o, struct lab_result *r, int result_fd)
{
	struct jfs_mount_opts mo = { 0 };
	struct lab lab = { .o = o, .r = r, .result_fd = result_fd };
	struct lab_thread *th = NULL;
	struct migrator_opts mopts = o->migrator;
	struct migrator *mg = NULL;
	unsigned int nth = o->threads + o->meta_users;
	char errbuf[512];
	bool crash_taken = false;
	double last_progress = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	r->strategy = o->strategy;
	r->seed = o->seed;
	for (int c = 0; c < LAB_NCLASS; c++)
		r->first_s[c] = -1;
	pthread_mutex_init(&lab.det_lock, NULL);
	pthread_cond_init(&lab.det_cond, NULL);
	snprintf(lab.image, sizeof(lab.image), "%s/run.img", o->workdir);
	snprintf(lab.crash, sizeof(lab.crash), "%s/crash.img", o->workdir);

	ret = copy_file(o->image, lab.image);
	if (ret) {
		snprintf(r->error, sizeof(r->error), "cannot copy %s: %s", o->image, strerror(-ret));
		goto out;
	}
	mo.strategy = o->strategy;
	mo.seed = o->seed;
	mo.folio_order = o->folio_order;
	mo.credits = o->credits;	/* I3: the estimate rule */
	mo.revoke_lookup_alias = o->revoke_lookup_alias;	/* I5: without 981fcc5674e6 */
	mo.commit_interval = 1;
	mo.dirty_writeback_ms = 200;	/* checkpointed buffers go home, jbd2 unpins them */
	ret = jfs_mount(lab.image, &mo, &lab.fs, errbuf, sizeof(errbuf));
	if (ret) {
		snprintf(r->error, sizeof(r->error), "%.250s", errbuf);
		goto out;
	}
	jfs_lab_view(lab.fs, &lab.v);
	if (!lab.v.journal) {
		snprintf(r->error, sizeof(r->error), "%s has no journal: the lab needs one", o->image);
		goto out_unmount;
	}
	ret = arena_setup(&lab);
	if (!ret) {
		lab_arena_first_writes(&lab);
		ret = lab_workload_setup(&lab);
	}
	if (!ret)
		ret = jfs_syncfs(lab.fs);
	if (ret) {
		snprintf(r->error, sizeof(r->error), "cannot set up the arena and directories: %s",
			 strerror(-ret));
		goto out_unmount;
	}

	quarantine_set_len(LAB_QUARANTINE_BYTES / mapping_folio_size(lab.v.mapping));
	lab_hooks_install(&lab);
	if (!o->no_lockdep)
		lab_lockdep_install(&lab, o->watchdog_s > 0 ? o->watchdog_s : 2.0,
				    lab_run_deadlocked);
	WRITE_ONCE(lab.v.journal->j_observer, &lab_commit_observer);
	trace_enable(true);
	trace_set_thread_name("lab");
	mm_recent_enable(lab.v.mapping, true);
	lab_arm_yield_points(true);

	th = calloc(nth, sizeof(*th));
	if (!th) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto out_disarm;
	}
	lab.t0 = lab_now();
	for (unsigned int i = 0; i < nth; i++) {
		th[i].lab = &lab;
		th[i].index = i < o->threads ? i : i - o->threads;
		if (pthread_create(&th[i].thread, NULL,
				   i < o->threads ? lab_workload_thread : lab_metauser_thread, &th[i])) {
			atomic_store(&lab.stop, true);
			nth = i;
			snprintf(r->error, sizeof(r->error), "cannot start thread %u", i);
			break;
		}
	}
	mopts.seed = o->seed * 1000003ULL + 7;
	if (!r->error[0]) {
		mg = migrator_start(lab.v.mapping, &mopts);
		lab.mg = mg;
		if (!mg) {
			atomic_store(&lab.stop, true);
			snprintf(r->error, sizeof(r->error), "cannot start the migrator");
		}
	}

	while (!atomic_load(&lab.stop) && lab_time(&lab) < o->seconds) {
		struct timespec ts;
		double t;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&lab.det_lock);
		if (!atomic_load(&lab.stop))
			pthread_cond_timedwait(&lab.det_cond, &lab.det_lock, &ts);
		pthread_mutex_unlock(&lab.det_lock);
		t = lab_time(&lab);
		if (o->progress && mg && t - last_progress >= 0.25) {
			struct migrate_stats ms;
			uint64_t det[LAB_NCLASS];

			migrator_get_stats(mg, &ms);
			pthread_mutex_lock(&lab.det_lock);
			memcpy(det, r->detections, sizeof(det));
			pthread_mutex_unlock(&lab.det_lock);
			o->progress(o, t, det, ms.ok, o->priv);
			last_progress = t;
		}
	}
	atomic_store(&lab.stop, true);
	for (unsigned int i = 0; i < nth; i++)
		pthread_join(th[i].thread, NULL);
	r->seconds = lab_time(&lab);
	if (mg) {
		migrator_stop(mg);
		migrator_get_stats(mg, &r->mig);
	}
	lab_arm_yield_points(false);
	mm_recent_enable(lab.v.mapping, false);

	/* the power cut, then the orderly end */
	if (!o->no_oracles)
		crash_taken = !blk_snapshot(lab.v.bdev, lab.crash);
	ret = jfs_syncfs(lab.fs);	/* every temporary bh the oracle saw completes */
	if (ret)
		lab_fs_error(&lab);
out_disarm:
	WRITE_ONCE(lab.v.journal->j_observer, NULL);
	if (!o->no_lockdep) {
		/* the watchdog until the syncs above are done: they may block too */
		lab_lockdep_remove();
		r->lock_deps = lab_lockdep_deps();
	}
	if (mg) {
		lab.mg = NULL;
		migrator_free(mg);
	}
	lab_hooks_remove(&lab);
	r->lookup_bails = atomic_load(&lab.v.mapping->stat_lookup_bails);
out_unmount:
	ret = jfs_unmount(lab.fs);
	if (ret && !r->error[0])
		lab_fs_error(&lab);
	lab.fs = NULL;
	trace_enable(false);
	quarantine_scan();
	quarantine_drain();
	if (!r->error[0] && !o->no_oracles)
		end_of_run_oracles(&lab, crash_taken);
	lab_hooks_final();
	lab_collect_counters(&lab, r);
out:
	for (unsigned int i = 0; i < lab.narena; i++)
		free(lab.arena[i].shadow);
	free(lab.arena);
	free(th);
	free(lab.det);
	pthread_mutex_destroy(&lab.det_lock);
	pthread_cond_destroy(&lab.det_cond);
	remove_run_images(o->workdir);
	return r->error[0] ? -1 : 0;
}
