// SPDX-License-Identifier: GPL-2.0
/*
 * ops.c - the stress operations.  Each op picks its targets from the model
 * with the thread's PRNG, predicts the outcome the Linux VFS gives (0 or an
 * exact errno: EEXIST, ENOENT, EISDIR, ENOTDIR, ENOTEMPTY, EINVAL, EPERM,
 * ENODATA), runs the syscall, and compares.  The model changes only when the
 * real operation succeeded.  ENOSPC is accepted where a filesystem may run
 * out of space; EOPNOTSUPP only for fallocate modes and xattrs.
 *
 * The rename predictions follow do_renameat2()/vfs_rename(): NOREPLACE on an
 * existing target -> EEXIST; EXCHANGE with no target -> ENOENT; the source
 * an ancestor of the new parent -> EINVAL; the target an ancestor of the old
 * parent -> ENOTEMPTY (EINVAL for EXCHANGE); source and target the same
 * inode -> 0 and nothing happens; dir over non-dir -> ENOTDIR, non-dir over
 * dir -> EISDIR, over a non-empty dir -> ENOTEMPTY (EEXIST is allowed too).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef ENODATA
#define ENODATA ENOATTR
#endif

#define MAX_FILE_OFF	(64ULL << 20)

/* Outcome of one syscall against the prediction. */
enum { RES_OK, RES_EXPECTED, RES_ENOSPC, RES_UNSUPP, RES_FAIL };

#define ALLOW_ENOSPC	0x1
#define ALLOW_UNSUPP	0x2
#define ALLOW_EEXIST	0x4	/* EEXIST accepted where ENOTEMPTY is predicted */

static const unsigned short op_weight[OP_NR] = {
	[OP_CREATE] = 80, [OP_MKDIR] = 40, [OP_MKFIFO] = 10, [OP_SYMLINK] = 40,
	[OP_LINK] = 40, [OP_RENAME] = 50, [OP_RENAME_NOREPLACE] = 20,
	[OP_RENAME_EXCHANGE] = 20, [OP_UNLINK] = 60, [OP_RMDIR] = 25,
	[OP_WRITE] = 215, [OP_TRUNCATE] = 50, [OP_FALLOC] = 30, [OP_PUNCH] = 30,
	[OP_ZERO] = 30, [OP_SETXATTR] = 40, [OP_REMOVEXATTR] = 20, [OP_CHMOD] = 30,
	[OP_UTIMES] = 30, [OP_FSYNC] = 40, [OP_READ] = 100,
};

void stress_name(int idx, char *out, size_t sz)
{
	/* n0..n27 short, n28..n31 long (200..239 bytes) */
	if (idx < 28) {
		snprintf(out, sz, "n%d", idx);
	} else {
		int len = 200 + (idx - 28) * 13;
		int l = snprintf(out, sz, "n%d_", idx);

		for (; l < len && l < (int)sz - 1; l++)
			out[l] = 'a' + (l * 7 + idx) % 26;
		out[l] = 0;
	}
}

static void describe(struct sthread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void describe(struct sthread *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->desc, sizeof(t->desc), fmt, ap);
	va_end(ap);
	if (t->opts->verbose)
		printf("stress: t%d op#%llu %s\n", t->id, (unsigned long long)t->opno, t->desc);
}

static const char *errname(int e)
{
	static __thread char buf[64];

	if (!e)
		return "success";
	snprintf(buf, sizeof(buf), "%s (%s)", strerrorname_np(e) ? strerrorname_np(e) : "?",
		 strerror(e));
	return buf;
}

/* got: 0 or errno of the syscall; want: 0 or the predicted errno. */
static int outcome(struct sthread *t, int op, int got, int want, unsigned allow)
{
	struct op_stats *s = &t->stats[op];

	if (got == want) {
		if (got)
			s->expected_err++;
		else
			s->done++;
		return got ? RES_EXPECTED : RES_OK;
	}
	if (got == EEXIST && want == ENOTEMPTY && (allow & ALLOW_EEXIST)) {
		s->expected_err++;
		return RES_EXPECTED;
	}
	if (got == ENOSPC && (allow & ALLOW_ENOSPC)) {
		s->enospc++;
		return RES_ENOSPC;
	}
	if ((got == EOPNOTSUPP || got == ENOTSUP) && (allow & ALLOW_UNSUPP)) {
		s->unsupported++;
		return RES_UNSUPP;
	}
	{
		char w[64];

		snprintf(w, sizeof(w), "%s", errname(want));
		stress_fail(t, "expected %s, got %s", w, errname(got));
	}
	return RES_FAIL;
}

static int skip(struct sthread *t, int op)
{
	t->stats[op].skipped++;
	return 0;
}

/* ---------------- target selection ---------------- */

static struct snode *pick_dir(struct sthread *t)
{
	return t->dirs[rnd_below(t, t->ndirs)];
}

/* A dentry whose node type is in types (S_IFMT values or'ed as a mask of bits below). */
#define T_REG	0x1
#define T_DIR	0x2
#define T_LNK	0x4
#define T_FIFO	0x8
#define T_ANY	0xf

static unsigned type_bit(mode_t type)
{
	switch (type) {
	case S_IFREG: return T_REG;
	case S_IFDIR: return T_DIR;
	case S_IFLNK: return T_LNK;
	default: return T_FIFO;
	}
}

static bool pick_entry(struct sthread *t, unsigned types, struct snode **dirp, struct sdentry **dp)
{
	for (int tries = 0; tries < 16; tries++) {
		struct snode *dir = pick_dir(t);
		struct sdentry *d;

		if (!dir->nents)
			continue;
		d = &dir->ents[rnd_below(t, dir->nents)];
		if (!(type_bit(d->node->type) & types))
			continue;
		*dirp = dir;
		*dp = d;
		return true;
	}
	return false;
}

/* A node and its path: an entry, or (sometimes) a directory itself, root included. */
static struct snode *pick_node(struct sthread *t, unsigned types, char *path)
{
	struct snode *dir;
	struct sdentry *d;

	if ((types & T_DIR) && rnd_below(t, 4) == 0) {
		dir = pick_dir(t);
		return model_path(t, dir, NULL, path, PATH_MAX) < 0 ? NULL : dir;
	}
	if (!pick_entry(t, types, &dir, &d))
		return NULL;
	if (model_path(t, dir, d->name, path, PATH_MAX) < 0)
		return NULL;
	return d->node;
}

static void pick_name(struct sthread *t, char *name)
{
	stress_name(rnd_below(t, STRESS_NAMES), name, NAME_MAX + 1);
}

static mode_t pick_mode(struct sthread *t, bool dir)
{
	return (rnd(t) & 01777) | (dir ? 0700 : 0600);
}

static uint64_t pick_len(struct sthread *t, uint64_t max)
{
	/* log-uniform: many small I/Os, some big ones */
	int shift = rnd_below(t, 19);
	uint64_t len = (1ULL << shift) + rnd_below(t, 1ULL << shift);

	if (len > max)
		len = max;
	return len ? len : 1;
}

static uint64_t pick_off(struct sthread *t, struct snode *n)
{
	switch (rnd_below(t, 10)) {
	case 0:		/* sparse, far out */
		return rnd_below(t, 16ULL << 20);
	case 1: case 2:
		return rnd_below(t, 1ULL << 20);
	default:	/* around the current data */
		return rnd_below(t, n->size + 65536);
	}
}

/* After an ENOSPC in a data op: trust only what fstat says about the size. */
static void resync_size(struct sthread *t, struct snode *n, int fd, bool content_lost)
{
	struct stat st;

	if (fstat(fd, &st)) {
		stress_fail(t, "fstat after ENOSPC: %s", strerror(errno));
		return;
	}
	if ((uint64_t)st.st_size != n->size || content_lost) {
		if ((uint64_t)st.st_size > n->size && !content_lost) {
			n->size = st.st_size;	/* extension reads as zeros */
		} else {
			n->content_unknown = true;
			if ((uint64_t)st.st_size < n->size)
				model_punch(n, st.st_size, UINT64_MAX);
			n->size = st.st_size;
		}
	}
}

static void check_size(struct sthread *t, struct snode *n, int fd)
{
	struct stat st;

	if (fstat(fd, &st)) {
		stress_fail(t, "fstat: %s", strerror(errno));
		return;
	}
	if ((uint64_t)st.st_size != n->size)
		stress_fail(t, "size is %lld after the op, expected %llu",
			    (long long)st.st_size, (unsigned long long)n->size);
}

static void node_put(struct sthread *t, struct snode *n)
{
	if (n->type == S_IFDIR || n->nlink == 0)
		model_free_node(t, n);
}

/* ---------------- namespace ops ---------------- */

static int do_create(struct sthread *t, int op)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	struct snode *dir = pick_dir(t), *n;
	mode_t mode;
	int want, fd, r;
	char target[STRESS_MAX_SYMLINK + 1];

	pick_name(t, name);
	mode = pick_mode(t, op == OP_MKDIR);
	if (model_path(t, dir, name, path, sizeof(path)) < 0)
		return skip(t, op);
	want = model_lookup(dir, name) ? EEXIST : 0;

	switch (op) {
	case OP_CREATE:
		describe(t, "create %s mode 0%o", path, mode);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, mode);
		r = outcome(t, op, fd < 0 ? errno : 0, want, ALLOW_ENOSPC);
		if (fd >= 0)
			close(fd);
		if (r == RES_ENOSPC)
			dir->mtime_known = false;
		if (r != RES_OK)
			return r == RES_FAIL ? -1 : 0;
		n = model_new_node(t, S_IFREG, mode);
		break;
	case OP_MKDIR:
		describe(t, "mkdir %s mode 0%o", path, mode);
		r = outcome(t, op, mkdir(path, mode) ? errno : 0, want, ALLOW_ENOSPC);
		if (r == RES_ENOSPC)
			dir->mtime_known = false;
		if (r != RES_OK)
			return r == RES_FAIL ? -1 : 0;
		n = model_new_node(t, S_IFDIR, mode);
		break;
	case OP_MKFIFO:
		describe(t, "mknod fifo %s mode 0%o", path, mode);
		r = outcome(t, op, mknod(path, S_IFIFO | mode, 0) ? errno : 0, want, ALLOW_ENOSPC);
		if (r == RES_ENOSPC)
			dir->mtime_known = false;
		if (r != RES_OK)
			return r == RES_FAIL ? -1 : 0;
		n = model_new_node(t, S_IFIFO, mode);
		break;
	default: {	/* OP_SYMLINK: fast (< 60 bytes) and slow symlinks */
		static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789._/-";
		size_t len = rnd_below(t, 10) < 6 ? 1 + rnd_below(t, 59)
						   : 60 + rnd_below(t, STRESS_MAX_SYMLINK - 59);

		for (size_t i = 0; i < len; i++)
			target[i] = chars[rnd_below(t, sizeof(chars) - 1)];
		target[len] = 0;
		describe(t, "symlink %s -> (%zu bytes)", path, len);
		r = outcome(t, op, symlink(target, path) ? errno : 0, want, ALLOW_ENOSPC);
		if (r == RES_ENOSPC)
			dir->mtime_known = false;
		if (r != RES_OK)
			return r == RES_FAIL ? -1 : 0;
		n = model_new_node(t, S_IFLNK, 0777);
		n->target = strdup(target);
		break;
	}
	}
	model_add_dentry(t, dir, name, n);
	return 0;
}

static int do_link(struct sthread *t, int op)
{
	char src[PATH_MAX], dst[PATH_MAX], name[NAME_MAX + 1];
	struct snode *sdir, *ddir, *n;
	struct sdentry *sd;
	int want, r;

	if (!pick_entry(t, rnd_below(t, 10) ? T_REG | T_LNK | T_FIFO : T_ANY, &sdir, &sd))
		return skip(t, op);
	ddir = pick_dir(t);
	pick_name(t, name);
	if (model_path(t, sdir, sd->name, src, sizeof(src)) < 0 ||
	    model_path(t, ddir, name, dst, sizeof(dst)) < 0)
		return skip(t, op);
	if (model_lookup(ddir, name))
		want = EEXIST;
	else if (sd->node->type == S_IFDIR)
		want = EPERM;
	else
		want = 0;
	describe(t, "link %s %s", src, dst);
	r = outcome(t, op, linkat(AT_FDCWD, src, AT_FDCWD, dst, 0) ? errno : 0, want, ALLOW_ENOSPC);
	if (r == RES_ENOSPC)
		ddir->mtime_known = sd->node->mtime_known = false;
	if (r != RES_OK)
		return r == RES_FAIL ? -1 : 0;
	n = sd->node;		/* sd dies if ddir's dentry array grows */
	model_add_dentry(t, ddir, name, n);
	n->mtime_known = false;
	return 0;
}

static int do_rename(struct sthread *t, int op)
{
	char src[PATH_MAX], dst[PATH_MAX], name[NAME_MAX + 1], sname[NAME_MAX + 1];
	unsigned flags = op == OP_RENAME_NOREPLACE ? RENAME_NOREPLACE :
			 op == OP_RENAME_EXCHANGE ? RENAME_EXCHANGE : 0;
	struct snode *sp, *dp, *sn, *dn;
	struct sdentry *sd, *dd;
	int want, r, slen, dlen;

	if (!pick_entry(t, T_ANY, &sp, &sd))
		return skip(t, op);
	dp = pick_dir(t);
	if (dp->nents && rnd_below(t, 2))	/* aim at an existing name half the time */
		snprintf(name, sizeof(name), "%s", dp->ents[rnd_below(t, dp->nents)].name);
	else
		pick_name(t, name);
	snprintf(sname, sizeof(sname), "%s", sd->name);
	sn = sd->node;
	dd = model_lookup(dp, name);
	dn = dd ? dd->node : NULL;

	slen = model_path(t, sp, sname, src, sizeof(src));
	dlen = model_path(t, dp, name, dst, sizeof(dst));
	if (slen < 0 || dlen < 0 ||
	    dlen + model_subtree_depth_chars(sn) > STRESS_MAX_PATH ||
	    (dn && slen + model_subtree_depth_chars(dn) > STRESS_MAX_PATH))
		return skip(t, op);

	if ((flags & RENAME_NOREPLACE) && dn)
		want = EEXIST;
	else if ((flags & RENAME_EXCHANGE) && !dn)
		want = ENOENT;
	else if (sn->type == S_IFDIR && model_is_ancestor(sn, dp))
		want = EINVAL;
	else if (dn && dn->type == S_IFDIR && model_is_ancestor(dn, sp))
		want = (flags & RENAME_EXCHANGE) ? EINVAL : ENOTEMPTY;
	else if (sn == dn)
		want = 0;
	else if (!(flags & RENAME_EXCHANGE) && dn && sn->type == S_IFDIR && dn->type != S_IFDIR)
		want = ENOTDIR;
	else if (!(flags & RENAME_EXCHANGE) && dn && sn->type != S_IFDIR && dn->type == S_IFDIR)
		want = EISDIR;
	else if (!(flags & RENAME_EXCHANGE) && dn && dn->type == S_IFDIR && dn->nents)
		want = ENOTEMPTY;
	else
		want = 0;

	describe(t, "rename%s %s %s", flags == RENAME_NOREPLACE ? "(NOREPLACE)" :
		 flags == RENAME_EXCHANGE ? "(EXCHANGE)" : "", src, dst);
	if (flags)
		r = syscall(SYS_renameat2, AT_FDCWD, src, AT_FDCWD, dst, flags) ? errno : 0;
	else
		r = rename(src, dst) ? errno : 0;
	r = outcome(t, op, r, want, ALLOW_ENOSPC | ALLOW_EEXIST);
	if (r == RES_ENOSPC) {
		sp->mtime_known = dp->mtime_known = sn->mtime_known = false;
		if (dn)
			dn->mtime_known = false;
	}
	if (r != RES_OK)
		return r == RES_FAIL ? -1 : 0;
	if (sn == dn)
		return 0;
	sn->mtime_known = false;
	if (flags & RENAME_EXCHANGE) {
		sd->node = dn;
		dd->node = sn;
		if (sn->type == S_IFDIR)
			sn->parent = dp;
		if (dn->type == S_IFDIR)
			dn->parent = sp;
		dn->mtime_known = false;
		sp->mtime_known = dp->mtime_known = false;
		return 0;
	}
	if (dn) {
		model_del_dentry(t, dp, name);
		node_put(t, dn);
	}
	model_del_dentry(t, sp, sname);
	model_add_dentry(t, dp, name, sn);
	return 0;
}

static int do_remove(struct sthread *t, int op)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	struct snode *dir, *n;
	struct sdentry *d;
	int want, r;

	if (op == OP_RMDIR)
		r = pick_entry(t, rnd_below(t, 10) ? T_DIR : T_ANY, &dir, &d);
	else
		r = pick_entry(t, rnd_below(t, 20) ? T_REG | T_LNK | T_FIFO : T_ANY, &dir, &d);
	if (!r)
		return skip(t, op);
	if (model_path(t, dir, d->name, path, sizeof(path)) < 0)
		return skip(t, op);
	n = d->node;
	snprintf(name, sizeof(name), "%s", d->name);
	if (op == OP_RMDIR) {
		want = n->type != S_IFDIR ? ENOTDIR : n->nents ? ENOTEMPTY : 0;
		describe(t, "rmdir %s", path);
		r = outcome(t, op, rmdir(path) ? errno : 0, want, ALLOW_EEXIST);
	} else {
		want = n->type == S_IFDIR ? EISDIR : 0;
		describe(t, "unlink %s", path);
		r = outcome(t, op, unlink(path) ? errno : 0, want, 0);
	}
	if (r != RES_OK)
		return r == RES_FAIL ? -1 : 0;
	model_del_dentry(t, dir, name);
	n->mtime_known = false;
	node_put(t, n);
	return 0;
}

/* ---------------- data ops ---------------- */

static int do_write(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_REG, path);
	uint64_t off, len, seed, done = 0;
	int flags = O_WRONLY, fd, r = 0;
	unsigned kind;
	bool sync, sync_failed = false;

	if (!n)
		return skip(t, op);
	kind = rnd_below(t, 20);
	if (kind == 0)
		flags |= O_TRUNC;
	else if (kind == 1)
		flags |= O_APPEND;
	off = pick_off(t, n);
	len = pick_len(t, STRESS_MAX_IO);
	seed = rnd(t) | 1;
	sync = rnd_below(t, 10) == 0;
	if (flags & O_TRUNC)
		off = rnd_below(t, 4096);
	if (flags & O_APPEND)
		off = n->size;
	if (off + len > MAX_FILE_OFF)
		off = MAX_FILE_OFF - len;
	describe(t, "write %s off %llu len %llu%s%s%s pattern %016llx", path,
		 (unsigned long long)off, (unsigned long long)len,
		 flags & O_TRUNC ? " O_TRUNC" : "", flags & O_APPEND ? " O_APPEND" : "",
		 sync ? " +fsync" : "", (unsigned long long)seed);
	fd = open(path, flags);
	if (fd < 0)
		return outcome(t, op, errno, 0, 0) == RES_FAIL ? -1 : 0;
	if (flags & O_TRUNC)
		model_truncate(n, 0);
	n->mtime_known = false;
	pattern_fill(seed, off, t->buf, len);
	while (done < len) {
		ssize_t w = (flags & O_APPEND) ? write(fd, t->buf + done, len - done)
					       : pwrite(fd, t->buf + done, len - done, off + done);
		if (w < 0) {
			r = errno;
			break;
		}
		if (w == 0) {
			r = EIO;
			break;
		}
		done += w;
	}
	if (done)
		model_write(n, off, done, seed);
	if (!r && sync && fsync(fd)) {
		r = errno;
		sync_failed = true;	/* writeback failed: the pages may be gone */
	}
	r = outcome(t, op, r, 0, ALLOW_ENOSPC);
	if (r == RES_ENOSPC)
		resync_size(t, n, fd, sync_failed);
	else if (r == RES_OK)
		check_size(t, n, fd);
	close(fd);
	return r == RES_FAIL || t->failed ? -1 : 0;
}

static int do_truncate(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_REG, path);
	uint64_t size;
	int r;

	if (!n)
		return skip(t, op);
	switch (rnd_below(t, 10)) {
	case 0:
		size = 0;
		break;
	case 1: case 2: case 3: case 4:
		size = rnd_below(t, n->size + 1);
		break;
	case 5: case 6: case 7:
		size = n->size + rnd_below(t, 1 << 20);
		break;
	default:
		size = rnd_below(t, 4 << 20);
	}
	describe(t, "truncate %s %llu (from %llu)", path, (unsigned long long)size,
		 (unsigned long long)n->size);
	r = outcome(t, op, truncate(path, size) ? errno : 0, 0, ALLOW_ENOSPC);
	n->mtime_known = false;
	if (r == RES_ENOSPC) {
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			return outcome(t, op, errno, 0, 0) == RES_FAIL ? -1 : 0;
		resync_size(t, n, fd, true);
		close(fd);
	}
	if (r != RES_OK)
		return r == RES_FAIL ? -1 : 0;
	model_truncate(n, size);
	return 0;
}

static int do_fallocate(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_REG, path);
	uint64_t off, len, end;
	int mode, fd, r;
	const char *mname;

	if (!n)
		return skip(t, op);
	off = pick_off(t, n);
	len = pick_len(t, 1 << 20);
	if (off + len > MAX_FILE_OFF)
		off = MAX_FILE_OFF - len;
	end = off + len;
	switch (op) {
	case OP_FALLOC:
		mode = rnd_below(t, 2) ? FALLOC_FL_KEEP_SIZE : 0;
		mname = mode ? "KEEP_SIZE" : "0";
		break;
	case OP_PUNCH:
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		mname = "PUNCH_HOLE|KEEP_SIZE";
		break;
	default:
		mode = FALLOC_FL_ZERO_RANGE | (rnd_below(t, 2) ? FALLOC_FL_KEEP_SIZE : 0);
		mname = mode & FALLOC_FL_KEEP_SIZE ? "ZERO_RANGE|KEEP_SIZE" : "ZERO_RANGE";
	}
	describe(t, "fallocate %s mode %s off %llu len %llu (size %llu)", path, mname,
		 (unsigned long long)off, (unsigned long long)len, (unsigned long long)n->size);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return outcome(t, op, errno, 0, 0) == RES_FAIL ? -1 : 0;
	n->mtime_known = false;		/* even a failing call may have touched it */
	r = outcome(t, op, fallocate(fd, mode, off, len) ? errno : 0, 0,
		    ALLOW_ENOSPC | ALLOW_UNSUPP);
	if (r == RES_ENOSPC)
		resync_size(t, n, fd, op != OP_FALLOC);
	if (r == RES_OK) {
		if (op != OP_FALLOC)
			n->mtime_known = false;
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			model_punch(n, off, end);
		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > n->size)
			n->size = end;
		n->mtime_known = false;
		check_size(t, n, fd);
	}
	close(fd);
	return r == RES_FAIL || t->failed ? -1 : 0;
}

static int do_read(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_REG, path);
	uint64_t off, len, want_len;
	ssize_t got;
	int fd;

	if (!n)
		return skip(t, op);
	off = rnd_below(t, 8) ? rnd_below(t, n->size + 1) : pick_off(t, n);
	len = pick_len(t, STRESS_MAX_IO);
	want_len = off >= n->size ? 0 : (n->size - off < len ? n->size - off : len);
	describe(t, "read %s off %llu len %llu (size %llu)", path, (unsigned long long)off,
		 (unsigned long long)len, (unsigned long long)n->size);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return outcome(t, op, errno, 0, 0) == RES_FAIL ? -1 : 0;
	got = pread(fd, t->buf, len, off);
	close(fd);
	if (outcome(t, op, got < 0 ? errno : 0, 0, 0) != RES_OK)
		return -1;
	if (n->content_unknown)
		return 0;
	if ((uint64_t)got != want_len) {
		stress_fail(t, "read returned %zd bytes, expected %llu", got,
			    (unsigned long long)want_len);
		return -1;
	}
	model_expected(n, off, t->buf2, got);
	if (memcmp(t->buf, t->buf2, got)) {
		ssize_t i = 0;

		while (t->buf[i] == t->buf2[i])
			i++;
		stress_fail(t, "content differs at file offset %llu: 0x%02x, expected 0x%02x",
			    (unsigned long long)(off + i), t->buf[i], t->buf2[i]);
		return -1;
	}
	return 0;
}

/* ---------------- attribute ops ---------------- */

static int do_xattr(struct sthread *t, int op)
{
	char path[PATH_MAX], name[32];
	struct snode *n = pick_node(t, T_REG | T_DIR, path);
	int k, want, r;

	if (!n)
		return skip(t, op);
	k = rnd_below(t, STRESS_NXATTR);
	snprintf(name, sizeof(name), "user.s%d", k);
	if (op == OP_SETXATTR) {
		uint32_t len = rnd_below(t, STRESS_XATTR_MAX + 1);
		uint64_t seed = rnd(t) | 1;
		unsigned f = rnd_below(t, 7);
		int flags = f == 0 ? XATTR_CREATE : f == 1 ? XATTR_REPLACE : 0;

		if (flags == XATTR_CREATE && n->xattr[k].present)
			want = EEXIST;
		else if (flags == XATTR_REPLACE && !n->xattr[k].present)
			want = ENODATA;
		else
			want = 0;
		pattern_fill(seed, 0, t->buf, len);
		describe(t, "setxattr %s %s len %u%s", path, name, len,
			 flags == XATTR_CREATE ? " CREATE" : flags == XATTR_REPLACE ? " REPLACE" : "");
		r = outcome(t, op, lsetxattr(path, name, t->buf, len, flags) ? errno : 0, want,
			    ALLOW_ENOSPC | ALLOW_UNSUPP);
		if (r == RES_UNSUPP)
			t->xattr_unsupported = true;
		if (r != RES_OK)
			return r == RES_FAIL ? -1 : 0;
		n->xattr[k] = (struct sxattr){ true, len, seed };
		return 0;
	}
	want = n->xattr[k].present ? 0 : ENODATA;
	describe(t, "removexattr %s %s", path, name);
	r = outcome(t, op, lremovexattr(path, name) ? errno : 0, want, ALLOW_UNSUPP);
	if (r != RES_OK)
		return r == RES_FAIL ? -1 : 0;
	n->xattr[k].present = false;
	return 0;
}

static int do_chmod(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_REG | T_DIR | T_FIFO, path);
	mode_t mode;

	if (!n)
		return skip(t, op);
	mode = pick_mode(t, n->type == S_IFDIR);
	describe(t, "chmod %s 0%o", path, mode);
	if (outcome(t, op, chmod(path, mode) ? errno : 0, 0, 0) != RES_OK)
		return -1;
	n->mode = mode;
	return 0;
}

static int do_utimes(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_ANY, path);
	struct timespec ts[2];

	if (!n)
		return skip(t, op);
	/* 1973 .. 2038: representable by every ext4 inode size */
	ts[0].tv_sec = 100000000 + rnd_below(t, 2000000000);
	ts[0].tv_nsec = rnd_below(t, 1000000000);
	ts[1].tv_sec = 100000000 + rnd_below(t, 2000000000);
	ts[1].tv_nsec = rnd_below(t, 1000000000);
	describe(t, "utimensat %s atime %lld mtime %lld", path, (long long)ts[0].tv_sec,
		 (long long)ts[1].tv_sec);
	if (outcome(t, op, utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) ? errno : 0,
		    0, 0) != RES_OK)
		return -1;
	n->mtime_known = true;
	n->mtime = ts[1].tv_sec;
	return 0;
}

static int do_fsync(struct sthread *t, int op)
{
	char path[PATH_MAX];
	struct snode *n = pick_node(t, T_REG | T_DIR, path);
	bool data = rnd_below(t, 2);
	int fd, r;

	if (!n)
		return skip(t, op);
	describe(t, "%s %s", data ? "fdatasync" : "fsync", path);
	fd = open(path, O_RDONLY | (n->type == S_IFDIR ? O_DIRECTORY : 0));
	if (fd < 0)
		return outcome(t, op, errno, 0, 0) == RES_FAIL ? -1 : 0;
	r = (data ? fdatasync(fd) : fsync(fd)) ? errno : 0;
	close(fd);
	return outcome(t, op, r, 0, 0) == RES_FAIL ? -1 : 0;
}

/* Runs one op; -1 when it failed (the failure is already reported). */
int stress_run_op(struct sthread *t)
{
	unsigned total = 0, x;
	int op;

	for (op = 0; op < OP_NR; op++)
		total += op_weight[op];
	x = rnd_below(t, total);
	for (op = 0; op < OP_NR - 1; op++) {
		if (x < op_weight[op])
			break;
		x -= op_weight[op];
	}
	t->desc[0] = 0;
	switch (op) {
	case OP_CREATE: case OP_MKDIR: case OP_MKFIFO: case OP_SYMLINK:
		return do_create(t, op);
	case OP_LINK:
		return do_link(t, op);
	case OP_RENAME: case OP_RENAME_NOREPLACE: case OP_RENAME_EXCHANGE:
		return do_rename(t, op);
	case OP_UNLINK: case OP_RMDIR:
		return do_remove(t, op);
	case OP_WRITE:
		return do_write(t, op);
	case OP_TRUNCATE:
		return do_truncate(t, op);
	case OP_FALLOC: case OP_PUNCH: case OP_ZERO:
		return do_fallocate(t, op);
	case OP_SETXATTR: case OP_REMOVEXATTR:
		return do_xattr(t, op);
	case OP_CHMOD:
		return do_chmod(t, op);
	case OP_UTIMES:
		return do_utimes(t, op);
	case OP_FSYNC:
		return do_fsync(t, op);
	default:
		return do_read(t, op);
	}
}
