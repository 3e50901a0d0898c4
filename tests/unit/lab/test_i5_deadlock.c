// SPDX-License-Identifier: GPL-2.0
/*
 * test_i5_deadlock.c - the revoke-lookup ABBA (kernel-race.md §2.5 I5)
 * as a real deadlock in a lab run, ended cleanly by the watchdog.
 *
 * The interleaving is forced through the lab's replaceable yield policy
 * (compiler.h), the way a controlled scheduler would: at YP_CREATE_ACCESS
 * -- ext4_getblk() holds the new block's buffer lock, get_create_access
 * not yet called -- one call in eight sleeps 100 ms (a preemption) and
 * then drains the thread's bh LRU (it resumes on another CPU, whose LRU
 * does not hold the bh: the per-CPU LRU of the kernel is per thread in the
 * model).  Meanwhile the migrator sweeps the bdev mapping in MIGRATE_SYNC,
 * takes the folio lock and blocks on that buffer lock; the getblk thread
 * then enters jbd2_journal_cancel_revoke(), whose alias lookup sleeps on
 * the folio lock.  The other yield points keep the lab's random policy.
 *
 * Checked, each run forked by lab_run() (the parent -- this test -- goes
 * on whatever the child's threads do):
 *   --revoke-lookup alias (before 981fcc5674e6): the run ends deadlocked,
 *     with I5 detected, folios moved, and the report naming the watchdog,
 *     both threads and their held locks;
 *   skip-self (981fcc5674e6), same policy and seed: no I5, no deadlock.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "mm.h"
#include "unit_check.h"

static void forced_policy(enum yield_point yp)
{
	if (yp == YP_CREATE_ACCESS) {
		if (prandom_u64() % 8 == 0) {
			usleep(100 * 1000);
			invalidate_bh_lru_current();
		}
		return;
	}
	yield_policy_random(yp);
}

/* One run; its reports (written by the forked child) are read back into
 * *text from a file, which the child shares with us. */
static void one(const char *dir, const char *image, bool alias, uint64_t seed,
		struct lab_result *r, char **text)
{
	struct lab_opts o = { 0 };
	char path[256];
	long len;
	FILE *rep;

	snprintf(path, sizeof(path), "%s/report.txt", dir);
	rep = fopen(path, "w+");
	CHECK(rep);
	o.strategy = strategy_find("bh-migrate");
	CHECK(o.strategy);
	o.seconds = alias ? 20 : 4;
	o.seed = seed;
	o.image = image;
	o.workdir = dir;
	o.threads = 2;
	o.meta_users = 1;
	o.arena_blocks = 256;
	o.migrator.mode = MIGRATE_SYNC;
	o.migrator.victim = VICTIM_SWEEP;
	o.migrator.sweep_ms = 1;
	o.stop_class = -1;
	o.max_reports = 3;
	o.no_oracles = true;
	o.revoke_lookup_alias = alias;
	o.watchdog_s = 1.0;
	o.report = rep;
	CHECK_EQ(lab_run(&o, r), 0);
	fflush(rep);
	len = ftell(rep);
	CHECK(len >= 0);
	*text = calloc(1, (size_t)len + 1);
	CHECK(*text);
	rewind(rep);
	CHECK_EQ(fread(*text, 1, (size_t)len, rep), (size_t)len);
	fclose(rep);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/test_i5.XXXXXX", image[256], err[512];
	uint64_t seed = test_seed("test_i5_deadlock");
	struct lab_result r;
	char *text = NULL;

	CHECK(mkdtemp(dir));
	snprintf(image, sizeof(image), "%s/pristine.img", dir);
	if (lab_make_image(image, 64ULL << 20, 2048, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	atomic_store(&yield_policy, forced_policy);
	one(dir, image, true, seed, &r, &text);
	printf("alias: deadlocked %d, I5 %llu, moved %llu, %.1f s; fsck %s\n", r.deadlocked,
	       (unsigned long long)r.detections[LAB_I5], (unsigned long long)r.mig.ok, r.seconds,
	       r.fsck);
	CHECK(r.deadlocked);
	CHECK(r.detections[LAB_I5] >= 1);
	CHECK(r.mig.ok > 0);
	CHECK(strstr(text, "detector: watchdog (deadlock)"));
	CHECK(strstr(text, "INFO: deadlock:"));
	CHECK(strstr(text, "acquiring folio lock"));
	CHECK(strstr(text, "acquiring buffer lock"));
	CHECK(strstr(text, "the run deadlocked at"));
	fputs(strstr(text, "INFO: deadlock:"), stdout);
	free(text);

	one(dir, image, false, seed, &r, &text);
	printf("skip-self: deadlocked %d, I5 %llu, moved %llu, %.1f s\n", r.deadlocked,
	       (unsigned long long)r.detections[LAB_I5], (unsigned long long)r.mig.ok, r.seconds);
	free(text);
	CHECK(!r.deadlocked);
	CHECK_EQ(r.detections[LAB_I5], 0);
	CHECK(r.mig.ok > 0);
	unlink(image);
	rmdir(dir);
	printf("test_i5_deadlock: ok\n");
	return 0;
}
