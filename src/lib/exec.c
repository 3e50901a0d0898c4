// SPDX-License-Identifier: GPL-2.0
/*
 * exec.c - running the system's tools (mkfs.ext4, e2fsck, fusermount3)
 * from the jbdlab command and the race lab: find them, spawn them with
 * their output captured, reap them by pid (include/exec.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

extern char **environ;

/* A system tool: $PATH first, then the sbin directories a user's PATH lacks. */
const char *find_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	const char *path = getenv("PATH");

	if (path) {
		char *copy = strdup(path), *save = NULL;

		for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
		     d = strtok_r(NULL, ":", &save)) {
			snprintf(buf, len, "%s/%s", d, name);
			if (!access(buf, X_OK)) {
				free(copy);
				return buf;
			}
		}
		free(copy);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

/*
 * Start @argv.  With @out_fd, the child's stdout and stderr go to a pipe
 * whose read end is returned there.  Returns the pid or -1.
 */
pid_t spawn(char *const argv[], int *out_fd)
{
	posix_spawn_file_actions_t fa;
	int p[2] = { -1, -1 };
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	if (out_fd) {
		if (pipe2(p, O_CLOEXEC)) {
			posix_spawn_file_actions_destroy(&fa);
			return -1;
		}
		posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	}
	err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out_fd) {
		close(p[1]);
		if (err)
			close(p[0]);
		else
			*out_fd = p[0];
	}
	if (err) {
		fprintf(stderr, "jbdlab: cannot run %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	return pid;
}

/* waitpid() that a signal does not cut short; returns the wait status or -1. */
int reap(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return ws;
}

const char *describe_status(int ws, char *buf, size_t len)
{
	if (ws < 0)
		snprintf(buf, len, "lost");
	else if (WIFEXITED(ws))
		snprintf(buf, len, "exit %d", WEXITSTATUS(ws));
	else if (WIFSIGNALED(ws))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(ws));
	else
		snprintf(buf, len, "status 0x%x", ws);
	return buf;
}

/* Run to completion, collecting stdout+stderr; returns the wait status or -1. */
int run_capture(char *const argv[], char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	pid_t pid;
	ssize_t n;
	int fd;

	*out = NULL;
	if (!buf)
		return -1;
	pid = spawn(argv, &fd);
	if (pid < 0) {
		free(buf);
		return -1;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return reap(pid);
}

int mkfs_ext4(const char *img, uint64_t bytes, unsigned int block_size, char **out)
{
	char tool[PATH_MAX], bs[16];
	int fd, ws;

	*out = NULL;
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)bytes)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (asprintf(out, "%s: %s\n", img, strerror(e)) < 0)
			*out = NULL;
		return -1;
	}
	close(fd);
	if (!find_tool("mkfs.ext4", tool, sizeof(tool))) {
		if (asprintf(out, "mkfs.ext4 not found (install e2fsprogs)\n") < 0)
			*out = NULL;
		return -1;
	}
	snprintf(bs, sizeof(bs), "%u", block_size);
	{
		char *argv[] = { tool, "-q", "-F", "-b", bs, (char *)img, NULL };

		ws = run_capture(argv, out);
	}
	return ws;
}

int e2fsck_fn(const char *img, char **out)
{
	char tool[PATH_MAX];

	*out = NULL;
	if (!find_tool("e2fsck", tool, sizeof(tool)))
		return -1;
	{
		char *argv[] = { tool, "-fn", (char *)img, NULL };

		return run_capture(argv, out);
	}
}
