/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exec.h - the system's tools from jbdlab (src/lib/exec.c).
 */
#ifndef JBDLAB_EXEC_H
#define JBDLAB_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A system tool: $PATH first, then the sbin directories a user's PATH lacks. */
const char *find_tool(const char *name, char *buf, size_t len);
/* Start argv; with out_fd, its stdout+stderr go to a pipe returned there.
 * The pid, or -1. */
pid_t spawn(char *const argv[], int *out_fd);
/* waitpid() that a signal does not cut short; the wait status or -1. */
int reap(pid_t pid);
const char *describe_status(int ws, char *buf, size_t len);
/* Run to completion, collecting stdout+stderr (*out, malloc'd, may be
 * NULL); the wait status or -1. */
int run_capture(char *const argv[], char **out);
/* mkfs.ext4 -q -F -b BS on a new (or truncated) file of @bytes: the wait
 * status (0 = made) or -1; *out holds the tool's output or the reason. */
int mkfs_ext4(const char *img, uint64_t bytes, unsigned int block_size, char **out);
/* e2fsck -fn: the wait status (0 = clean) or -1 if it could not run. */
int e2fsck_fn(const char *img, char **out);

#endif /* JBDLAB_EXEC_H */
