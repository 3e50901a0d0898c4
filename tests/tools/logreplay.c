// SPDX-License-Identifier: GPL-2.0
/*
 * logreplay - list or replay a dm-log-writes log (ours or the kernel's)
 * with the project's own reader (src/blockdev/log_reader.c), so crash tests
 * can rebuild any prefix of a recorded run without fstests' replay-log.
 *
 *   logreplay --list [--tail] LOG
 *       one line per entry: "INDEX SECTOR NR_SECTORS FLAGS [MARK]", after a
 *       header line "entries=N published=P sectorsize=S"
 *   logreplay [--tail] [--upto N | --end-mark TEXT] LOG IMAGE
 *       write entries [0, N) -- or up to and including the MARK TEXT, or all
 *       -- onto IMAGE (which must hold the device's state before the log)
 *   logreplay --find-mark TEXT LOG
 *       print the index of the MARK entry TEXT
 *
 * --tail also reads the complete entries a killed writer logged after its
 * last published count (see BLK_LOG_READ_TAIL).  Exit status 0, 1 on error.
 *
 * Locking rules: single-threaded tool, none.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockdev.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: logreplay --list [--tail] LOG\n"
		"       logreplay [--tail] [--upto N | --end-mark TEXT] LOG IMAGE\n"
		"       logreplay --find-mark TEXT LOG\n");
	exit(1);
}

static void flags_str(uint64_t flags, char *buf, size_t len)
{
	static const char *const names[] = { "FLUSH", "FUA", "DISCARD", "MARK", "METADATA" };
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < 5; i++)
		if (flags & (1ULL << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "|" : "", names[i]);
	if (!off)
		snprintf(buf, len, "WRITE");
}

static int list_log(struct blk_log *log)
{
	struct blk_log_entry e;
	char fl[64];

	printf("entries=%" PRIu64 " published=%" PRIu64 " sectorsize=%u\n",
	       blk_log_nr_entries(log), blk_log_nr_published(log), blk_log_sectorsize(log));
	for (uint64_t i = 0; i < blk_log_nr_entries(log); i++) {
		int ret = blk_log_entry(log, i, &e);

		if (ret) {
			fprintf(stderr, "logreplay: entry %" PRIu64 ": %s\n", i, strerror(-ret));
			return 1;
		}
		flags_str(e.flags, fl, sizeof(fl));
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %s%s%s\n", i, e.sector, e.nr_sectors,
		       fl, e.mark[0] ? " " : "", e.mark);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "tail", no_argument, NULL, 't' },
		{ "upto", required_argument, NULL, 'u' },
		{ "end-mark", required_argument, NULL, 'm' },
		{ "find-mark", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *end_mark = NULL, *find_mark = NULL;
	bool list = false, have_upto = false;
	unsigned int flags = 0;
	uint64_t upto = 0;
	struct blk_log *log;
	int c, ret, fd;

	while ((c = getopt_long(argc, argv, "ltu:m:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = true; break;
		case 't': flags |= BLK_LOG_READ_TAIL; break;
		case 'u': {
			char *end;

			errno = 0;
			upto = strtoull(optarg, &end, 0);
			if (errno || *end)
				usage();
			have_upto = true;
			break;
		}
		case 'm': end_mark = optarg; break;
		case 'f': find_mark = optarg; break;
		default: usage();
		}
	}
	if ((have_upto && end_mark) || optind >= argc)
		usage();
	ret = blk_log_open(argv[optind], flags, &log);
	if (ret) {
		fprintf(stderr, "logreplay: %s: %s\n", argv[optind], strerror(-ret));
		return 1;
	}
	if (list || find_mark) {
		if (optind + 1 != argc)
			usage();
		if (list) {
			ret = list_log(log);
		} else {
			int64_t idx = blk_log_find(log, 0, BLK_LOG_MARK, find_mark);

			if (idx < 0)
				fprintf(stderr, "logreplay: mark '%s' not found\n", find_mark);
			else
				printf("%" PRId64 "\n", idx);
			ret = idx < 0;
		}
		blk_log_close(log);
		return ret;
	}
	if (optind + 2 != argc)
		usage();
	if (end_mark) {
		int64_t idx = blk_log_find(log, 0, BLK_LOG_MARK, end_mark);

		if (idx < 0) {
			fprintf(stderr, "logreplay: mark '%s' not found\n", end_mark);
			blk_log_close(log);
			return 1;
		}
		upto = (uint64_t)idx + 1;
	} else if (!have_upto) {
		upto = blk_log_nr_entries(log);
	}
	fd = open(argv[optind + 1], O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "logreplay: %s: %s\n", argv[optind + 1], strerror(errno));
		blk_log_close(log);
		return 1;
	}
	ret = blk_log_replay(log, fd, upto);
	if (ret)
		fprintf(stderr, "logreplay: replay of %" PRIu64 " entries: %s\n", upto, strerror(-ret));
	if (close(fd) && !ret)
		ret = -errno;
	blk_log_close(log);
	return ret ? 1 : 0;
}
