/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fstest.h - helpers of the src/fs unit tests: make images with mkfs.ext4,
 * add files with debugfs, check with e2fsck -fn, compare files.
 * Each test program runs in its own temporary directory.
 */
#ifndef JBDLAB_FSTEST_H
#define JBDLAB_FSTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "fs.h"

static int fst_failures;

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
	fst_failures++; } } while (0)
#define CHECK_EQ(a, b) do { long long __a = (long long)(a), __b = (long long)(b); \
	if (__a != __b) { fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
		__FILE__, __LINE__, #a, __a, #b, __b); fst_failures++; } } while (0)
#define REQUIRE(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
	exit(1); } } while (0)

static char fst_dir[256];

__attribute__((format(printf, 1, 2)))
static __attribute__((unused)) int fst_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1)
		return -1;
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void fst_cleanup(void)
{
	if (fst_dir[0] && !getenv("FST_KEEP"))
		fst_sh("rm -rf '%s'", fst_dir);
}

/* Exit 77 (skip) when the tools are missing. */
static void fst_init(void)
{
	if (fst_sh("command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && "
		   "command -v debugfs >/dev/null") != 0) {
		fprintf(stderr, "mkfs.ext4/e2fsck/debugfs missing: skip\n");
		exit(77);
	}
	snprintf(fst_dir, sizeof(fst_dir), "/tmp/jbdlab-fstest.XXXXXX");
	REQUIRE(mkdtemp(fst_dir));
	atexit(fst_cleanup);
}

static const char *fst_path(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fst_dir, name);
	return buf[i];
}

/* mkfs.ext4 -q -F -b BS OPTS IMG SIZE */
static void fst_mkfs(const char *img, int bs, const char *opts, const char *size)
{
	REQUIRE(fst_sh("mkfs.ext4 -q -F -b %d %s '%s' %s >/dev/null 2>&1", bs, opts ? opts : "",
		       img, size) == 0);
}

static __attribute__((unused)) int fst_fsck(const char *img)
{
	int rc = fst_sh("e2fsck -fn '%s' >'%s' 2>&1", img, fst_path("fsck.log"));

	if (rc != 0) {
		fprintf(stderr, "e2fsck -fn %s exited %d:\n", img, rc);
		fst_sh("cat '%s' >&2", fst_path("fsck.log"));
	}
	return rc;
}

/* debugfs -w -R CMD IMG */
static __attribute__((unused)) int fst_debugfs(const char *img, const char *cmd)
{
	return fst_sh("debugfs -w -R '%s' '%s' >/dev/null 2>&1", cmd, img);
}

/* The inode number of PATH in IMG (debugfs stat), or 0. */
static __attribute__((unused)) ino_t fst_ino(const char *img, const char *path)
{
	char cmd[1024], line[512];
	unsigned long ino = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat %s' '%s' 2>/dev/null", path, img);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "Inode: %lu", &ino) == 1)
			break;
	pclose(p);
	return ino;
}

static __attribute__((unused)) struct jfs *fst_mount(const char *img, bool ro)
{
	struct jfs_mount_opts o = { .ro = ro, .cache_size = 64 << 20 };
	char err[512];
	struct jfs *fs = NULL;
	int ret = jfs_mount(img, &o, &fs, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "jfs_mount(%s): %d %s\n", img, ret, err);
		exit(1);
	}
	return fs;
}

/*
 * Capture what the code under test writes to stderr (libext2fs's com_err
 * messages, jbd_warn): fst_stderr_begin() points fd 2 at a file,
 * fst_stderr_end() restores it and returns the captured text (static
 * buffer, NUL-terminated, also echoed to the real stderr for the log).
 */
static int fst_saved_stderr = -1;

static __attribute__((unused)) void fst_stderr_begin(void)
{
	int fd;

	fflush(stderr);
	fd = open(fst_path("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	fst_saved_stderr = dup(2);
	REQUIRE(fst_saved_stderr >= 0);
	REQUIRE(dup2(fd, 2) == 2);
	close(fd);
}

static __attribute__((unused)) const char *fst_stderr_end(void)
{
	static char text[16384];
	ssize_t n;
	int fd;

	fflush(stderr);
	REQUIRE(fst_saved_stderr >= 0);
	REQUIRE(dup2(fst_saved_stderr, 2) == 2);
	close(fst_saved_stderr);
	fst_saved_stderr = -1;
	fd = open(fst_path("stderr.txt"), O_RDONLY);
	REQUIRE(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	fputs(text, stderr);
	return text;
}

/* Occurrences of `needle` in `text`. */
static __attribute__((unused)) int fst_count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int fst_done(const char *name)
{
	if (fst_failures) {
		fprintf(stderr, "%s: %d failures\n", name, fst_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

#endif
