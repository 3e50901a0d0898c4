// SPDX-License-Identifier: GPL-2.0
/*
 * replay.c - `jbdlab replay IMAGE` (journal recovery alone, like
 * e2fsck -E journal_only) and `jbdlab logdump IMAGE` (like debugfs
 * -R logdump).  The work is src/fs/replay.c; this is argument handling
 * and the one-line report.
 *
 * Exit status: 0 replayed or nothing to do, 1 error or refused, 2 usage.
 *
 * Locking rules: single-threaded command; no locks of its own.
 */
#include <stdio.h>
#include <string.h>
#include "fs.h"

int jbdlab_replay_main(int argc, char **argv);
int jbdlab_logdump_main(int argc, char **argv);

static int usage(FILE *f, const char *cmd, int status)
{
	if (!strcmp(cmd, "replay"))
		fprintf(f, "usage: jbdlab replay [--kernel] [--no-orphans] [--page-cache] IMAGE\n\n"
			"Recover the journal of an ext4 image (like e2fsck -E journal_only):\n"
			"replay every complete transaction, reset the log, clear needs_recovery,\n"
			"then release the orphan list as e2fsck does.\n"
			"  --no-orphans  replay only (like debugfs jr): the next mount releases them\n"
			"  --kernel   on a failed recovery leave the journal as it is (kernel mount\n"
			"             semantics) instead of resetting it and marking the fs for fsck\n"
			"  --page-cache  replay through the simulated page cache, as a mount does\n"
			"             (every log and home block a cache folio; slower), instead of\n"
			"             private buffers written home in log order\n"
			"Exit status: 0 replayed or nothing to do, 1 error or refused, 2 usage.\n");
	else
		fprintf(f, "usage: jbdlab logdump IMAGE\n\n"
			"Print the journal superblock and every block of the log from s_start\n"
			"(descriptors with their tags, revoke records, commits), like\n"
			"debugfs -R logdump.  Nothing is written.\n");
	return status;
}

int jbdlab_replay_main(int argc, char **argv)
{
	struct jfs_replay_report rep;
	const char *image = NULL;
	unsigned int flags = 0;
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, "replay", 0);
		if (!strcmp(argv[i], "--kernel"))
			flags |= JFS_REPLAY_KERNEL;
		else if (!strcmp(argv[i], "--no-orphans"))
			flags |= JFS_REPLAY_NO_ORPHANS;
		else if (!strcmp(argv[i], "--page-cache"))
			flags |= JFS_REPLAY_PAGECACHE;
		else if (argv[i][0] == '-' || image)
			return usage(stderr, "replay", 2);
		else
			image = argv[i];
	}
	if (!image)
		return usage(stderr, "replay", 2);
	ret = jfs_replay_report(image, flags, &rep, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "jbdlab replay: %s: %s\n", image, err[0] ? err : strerror(-ret));
		return 1;
	}
	printf("jbdlab replay: %s: %s\n", image, err);
	return 0;
}

int jbdlab_logdump_main(int argc, char **argv)
{
	const char *image = NULL;
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, "logdump", 0);
		if (argv[i][0] == '-' || image)
			return usage(stderr, "logdump", 2);
		image = argv[i];
	}
	if (!image)
		return usage(stderr, "logdump", 2);
	ret = jfs_logdump(image, stdout, err, sizeof(err));
	fflush(stdout);
	if (ret) {
		fprintf(stderr, "jbdlab logdump: %s: %s\n", image, err[0] ? err : strerror(-ret));
		return 1;
	}
	return 0;
}
