// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the jbdlab command: dispatch to a subcommand.
 *
 * Each subcommand is a function with main()'s signature (include/cli.h)
 * that sees argv starting at its own name, so it can be called in-process
 * (the demo calls them) as well as from here.
 */
#include <stdio.h>
#include <string.h>

#include <fuse_lowlevel.h>

#include "cli.h"
#include "cli/jbdlab_version.h"

/* src/cli/replay.c (journal recovery issue) */
int jbdlab_replay_main(int argc, char **argv);
int jbdlab_logdump_main(int argc, char **argv);
/* src/cli/fuzz.c (fuzzing journal replay) */
int jbdlab_fuzz_main(int argc, char **argv);

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *args;
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "race", jbdlab_race_main, "[--strategy NAME|all] [--seconds N] [--seed N] [--runs N] ...",
	  "the race lab: the migrator against every fix strategy, one verdict table" },
	{ "demo", jbdlab_demo_main, "[--seed N] [--threads N] [--ops N | --duration S] [OPTIONS]",
	  "mkfs a scratch ext4 image, mount it, stress it, unmount, e2fsck it" },
	{ "mount", jbdlab_mount_main, "[-f] [-d] [-s] [-o OPTS] IMAGE MOUNTPOINT",
	  "mount an ext4 image through FUSE" },
	{ "stress", jbdlab_stress_main, "[OPTIONS] DIR",
	  "run the multi-threaded stress workload in DIR" },
	{ "replay", jbdlab_replay_main, "[--kernel] IMAGE",
	  "recover the journal of an image (like e2fsck -E journal_only)" },
	{ "logdump", jbdlab_logdump_main, "IMAGE",
	  "print the journal superblock and log (like debugfs -R logdump)" },
	{ "fuzz", jbdlab_fuzz_main, "run [-v] FILE|DIR... | image INPUT OUT | fixup INPUT OUT",
	  "the journal-replay fuzz target without a fuzzer (campaigns: scripts/fuzz.sh)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: jbdlab COMMAND [ARGS]\n\n"
		"jbdlab - ext4 journalling in userspace, over FUSE\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-7s %s\n          %s\n", subcommands[i].name, subcommands[i].args,
			subcommands[i].summary);
	fprintf(f, "  help    [COMMAND]\n"
		"          this text, or COMMAND --help\n"
		"  --version\n"
		"          print versions\n\n"
		"Without a command, `jbdlab race` is what to run first.\n");
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct subcommand *sc;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") ||
	    !strcmp(argv[1], "version")) {
		printf("jbdlab %s\nlibfuse %s\n", JBDLAB_VERSION, fuse_pkgversion());
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2) {
			char help[] = "--help";
			char *av[] = { argv[2], help, NULL };

			sc = find(argv[2]);
			if (!sc) {
				fprintf(stderr, "jbdlab: unknown command '%s'\n", argv[2]);
				return 1;
			}
			return sc->main(2, av);
		}
		usage(stdout);
		return 0;
	}
	sc = find(argv[1]);
	if (!sc) {
		fprintf(stderr, "jbdlab: unknown command '%s' (try jbdlab help)\n", argv[1]);
		return 1;
	}
	return sc->main(argc - 1, argv + 1);
}
