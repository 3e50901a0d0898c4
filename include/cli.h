/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli.h - entry points of the jbdlab subcommands (src/cli/main.c dispatches).
 * Each returns the process exit status.
 */
#ifndef JBDLAB_CLI_H
#define JBDLAB_CLI_H

int jbdlab_mount_main(int argc, char **argv);	/* src/fuse/: jbdlab mount [-f] [-o opts] IMAGE MNT */
int jbdlab_stress_main(int argc, char **argv);	/* src/stress/: jbdlab stress [opts] DIR */
int jbdlab_demo_main(int argc, char **argv);	/* src/cli/demo.c: mount + stress + e2fsck */
int jbdlab_race_main(int argc, char **argv);	/* src/cli/race.c: the race lab, the main job */

#endif /* JBDLAB_CLI_H */
