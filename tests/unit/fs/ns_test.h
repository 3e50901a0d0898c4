/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ns_test.h - helpers of the namespace tests (tests/unit/fs/ns_*.c): a
 * scratch directory, images made by mkfs.ext4, e2fsck -fn as the oracle,
 * kernel loop mounts (read-only checks and pre-population), and cleanup of
 * every mount and loop device even when a check fails (atexit + signals).
 *
 * The tests need root, mkfs.ext4/e2fsck and a kernel with ext4 for the
 * loop mounts; where those are missing they exit 77 (skip).
 */
#ifndef JBDLAB_NS_TEST_H
#define JBDLAB_NS_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "fs/fs_internal.h"	/* white box: credit_overruns */

#include "../unit_check.h"
#define CHECK_ERR(expr, e) CHECK_EQ((expr), -(e))
#define CHECK_OK(expr) CHECK_EQ((expr), 0)

static char ns_tmpdir[256];
static char ns_kmounts[4][300];		/* kernel mount points to clean up */

static inline void ns_cleanup(void)
{
	char cmd[600];

	for (int i = 0; i < 4; i++) {
		if (!ns_kmounts[i][0])
			continue;
		/* umount of a loop mount set up with -o loop also frees the loop device */
		if (umount2(ns_kmounts[i], 0) && umount2(ns_kmounts[i], MNT_DETACH) == 0)
			fprintf(stderr, "cleanup: lazily unmounted %s\n", ns_kmounts[i]);
		ns_kmounts[i][0] = 0;
	}
	if (ns_tmpdir[0] && !getenv("NS_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ns_tmpdir);
		if (system(cmd)) {}
		ns_tmpdir[0] = 0;
	}
}

static inline void ns_sig(int sig)
{
	ns_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline int ns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int ns_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Skip (77) where the test cannot run; set up the scratch dir. */
static inline void ns_setup(const char *name)
{
	char tmpl[] = "/tmp/jbdlab-ns-XXXXXX";

	if (geteuid() != 0) {
		printf("%s: SKIP (needs root for loop mounts)\n", name);
		exit(77);
	}
	if (ns_sh("command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null")) {
		printf("%s: SKIP (no mkfs.ext4/e2fsck)\n", name);
		exit(77);
	}
	CHECK(mkdtemp(tmpl));
	snprintf(ns_tmpdir, sizeof(ns_tmpdir), "%s", tmpl);
	atexit(ns_cleanup);
	signal(SIGINT, ns_sig);
	signal(SIGTERM, ns_sig);
	signal(SIGABRT, ns_sig);
	signal(SIGSEGV, ns_sig);
}

/* An image in the scratch dir: mkfs.ext4 -b bs [-O features] of `mib` MiB. */
static inline void ns_mkfs(char *path, size_t len, const char *tag, unsigned int bs,
		    const char *features, unsigned int mib)
{
	snprintf(path, len, "%s/%s.img", ns_tmpdir, tag);
	CHECK_EQ(ns_sh("mkfs.ext4 -q -F -b %u %s%s '%s' %uM >/dev/null 2>&1", bs,
		       features && *features ? "-O " : "", features ? features : "",
		       path, mib), 0);
}

static inline int ns_fsck(const char *path)
{
	int rc = ns_sh("e2fsck -fn '%s' >'%s.fsck' 2>&1", path, path);

	if (rc) {
		fprintf(stderr, "e2fsck -fn %s: exit %d\n", path, rc);
		ns_sh("cat '%s.fsck' >&2", path);
	}
	return rc;
}

static inline struct jfs *ns_mount(const char *path)
{
	struct jfs_mount_opts o = { .seed = 42 };
	char err[256];
	struct jfs *fs = NULL;
	int ret = jfs_mount(path, &o, &fs, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "jfs_mount %s: %d %s\n", path, ret, err);
		exit(1);
	}
	return fs;
}

/* Loop-mount with the kernel at <tmp>/k<slot>; ro or rw. */
static inline const char *ns_kmount(int slot, const char *img, bool ro)
{
	snprintf(ns_kmounts[slot], sizeof(ns_kmounts[slot]), "%s/k%d", ns_tmpdir, slot);
	mkdir(ns_kmounts[slot], 0755);
	if (ns_sh("mount -t ext4 -o loop%s '%s' '%s'", ro ? ",ro" : "", img,
		  ns_kmounts[slot])) {
		ns_kmounts[slot][0] = 0;
		return NULL;
	}
	return ns_kmounts[slot];
}

static inline void ns_kumount(int slot)
{
	CHECK_EQ(umount2(ns_kmounts[slot], 0), 0);
	ns_kmounts[slot][0] = 0;
}

/* Every op so far stayed within the kernel's credits (io_manager counts
 * the distinct blocks each op dirties).  Read without the fs lock: the
 * test is the only thread issuing ops. */
static inline void ns_check_credits(struct jfs *fs, const char *where)
{
	if (fs->credit_overruns) {
		fprintf(stderr, "%s: %llu ops dirtied more blocks than their credits\n",
			where, (unsigned long long)fs->credit_overruns);
		exit(1);
	}
}

static const struct jfs_cred ns_root = { .uid = 0, .gid = 0 };

/* A name of `len` bytes: prefix then 'x'. */
static inline char *ns_name(char *buf, size_t len, const char *prefix)
{
	size_t p = strlen(prefix);

	memcpy(buf, prefix, p);
	memset(buf + p, 'x', len - p);
	buf[len] = 0;
	return buf;
}

/* readdir collector */
struct ns_dent {
	char name[256];
	ino_t ino;
	unsigned int dtype;
};

struct ns_rd {
	struct ns_dent *ents;
	size_t n, cap;
	size_t limit;		/* accept at most this many per call (0: all) */
	size_t taken;
	uint64_t next;
};

static inline int ns_fill(void *ctx, const char *name, size_t namelen, ino_t ino,
		   unsigned int dtype, uint64_t next)
{
	struct ns_rd *r = ctx;

	if (r->limit && r->taken >= r->limit)
		return 1;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ents = realloc(r->ents, r->cap * sizeof(*r->ents));
		CHECK(r->ents);
	}
	CHECK(namelen <= 255);
	memcpy(r->ents[r->n].name, name, namelen);
	r->ents[r->n].name[namelen] = 0;
	r->ents[r->n].ino = ino;
	r->ents[r->n].dtype = dtype;
	r->n++;
	r->taken++;
	r->next = next;
	return 0;
}

/* Whole directory, `limit` entries per jfs_readdir call. */
static inline void ns_readdir_all(struct jfs *fs, ino_t dir, size_t limit, struct ns_rd *r)
{
	uint64_t cookie = 0;

	memset(r, 0, sizeof(*r));
	r->limit = limit;
	for (;;) {
		size_t before = r->n;

		r->taken = 0;
		CHECK_OK(jfs_readdir(fs, dir, cookie, ns_fill, r));
		if (r->n == before)
			break;
		cookie = r->next;
	}
}

static inline struct ns_dent *ns_rd_find(struct ns_rd *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->ents[i].name, name))
			return &r->ents[i];
	return NULL;
}

#endif /* JBDLAB_NS_TEST_H */
