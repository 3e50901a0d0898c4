// SPDX-License-Identifier: GPL-2.0
/*
 * fuse_ops.c - the FUSE low-level operations: one request, one fs op, one
 * reply.
 *
 * Every op has the same shape: translate the nodeid, gather the caller's
 * credentials, call the fs (which returns 0/count or -errno), and reply
 * exactly once at the end of the op.  Nothing here keeps state about
 * inodes: lookup counts and open references live in the fs layer
 * (include/fs.h), and this file's only duty is to make the kernel's view
 * and the fs's counts agree:
 *
 *   - every successful fuse_reply_entry()/fuse_reply_create() and every
 *     READDIRPLUS entry with a nodeid corresponds to exactly one lookup
 *     count the fs took (jfs_lookup/jfs_mknod/.../jfs_iget);
 *   - when a reply cannot be delivered (the request was interrupted, the
 *     kernel answers ENOENT) the kernel will never forget or release what
 *     we gave it, so we undo it here: jfs_forget()/jfs_release();
 *   - the root is nodeid 1 to the kernel and inode 2 to ext4.  The
 *     kernel holds a reference on it from mount time that the fs never
 *     counted, so forgets of the root are passed down only for the
 *     lookups we handed out (struct jfuse.root_lookups).
 *
 * Names longer than 255 bytes are refused here with ENAMETOOLONG before the
 * fs sees them: the kernel only limits them to 1024, and libext2fs's
 * ext2fs_link() would silently truncate the name_len (fuse2fs corrupts
 * directories that way, reference/testing.md §3).
 *
 * Locking rules: none of our own.  Ops run concurrently on libfuse's
 * worker threads; the fs serialises them under its fs lock.  The only
 * shared mutable field, root_lookups, is atomic.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse/jfuse.h"
#include "locking.h"
#include "trace.h"

#define JFUSE_NAME_MAX		255	/* EXT2_NAME_LEN */
#define JFUSE_SYMLINK_MAX	4096	/* PATH_MAX, the kernel's limit on a target */
#define JFUSE_INLINE_GROUPS	32

/* Every op starts here: it also names a new libfuse worker thread once
 * (the lab's reports name threads: "fuse/N" rather than "tid N"). */
static inline struct jfuse *jfuse(fuse_req_t req)
{
	static __thread bool named;

	if (unlikely(!named)) {
		trace_set_thread_name("fuse/%u", current_tid());
		named = true;
	}
	return fuse_req_userdata(req);
}

/* ---------------------------------------------------------------- creds */

struct jfuse_cred {
	struct jfs_cred c;
	gid_t inline_groups[JFUSE_INLINE_GROUPS];
	gid_t *heap_groups;
};

/*
 * Fill in the caller.  Supplementary groups cost a read of
 * /proc/PID/task/PID/status, so they are fetched only when the fs may need
 * them: for permission checks (no default_permissions), and for the
 * operations where ext4 itself asks in_group_p() even when the kernel has
 * checked permissions (setgid inheritance on create, chown/chmod).
 */
static void get_cred(fuse_req_t req, struct jfuse_cred *cr, bool need_groups)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct jfuse *m = jfuse(req);
	int n;

	cr->c.uid = ctx->uid;
	cr->c.gid = ctx->gid;
	cr->c.pid = ctx->pid;
	cr->c.umask = ctx->umask;
	cr->c.ngroups = 0;
	cr->c.groups = NULL;
	cr->heap_groups = NULL;

	/*
	 * Root passes every check that consults groups (jfs_cred_is_root()
	 * is tested first, as capable() is in the kernel): don't read /proc
	 * for it -- on a cp -r as root that read was a tenth of the daemon's
	 * CPU time.
	 */
	if (m->fakeroot || ctx->uid == 0 || (m->default_permissions && !need_groups))
		return;
	n = fuse_req_getgroups(req, JFUSE_INLINE_GROUPS, cr->inline_groups);
	if (n <= 0)
		return;		/* -ENOSYS (no /proc) or the caller is gone: no groups */
	if (n <= JFUSE_INLINE_GROUPS) {
		cr->c.groups = cr->inline_groups;
		cr->c.ngroups = n;
		return;
	}
	cr->heap_groups = malloc(n * sizeof(gid_t));
	if (!cr->heap_groups) {
		/* a short list can only deny access, never grant it */
		cr->c.groups = cr->inline_groups;
		cr->c.ngroups = JFUSE_INLINE_GROUPS;
		return;
	}
	n = fuse_req_getgroups(req, n, cr->heap_groups);
	cr->c.groups = cr->heap_groups;
	cr->c.ngroups = n < 0 ? 0 : n;
}

static void put_cred(struct jfuse_cred *cr)
{
	free(cr->heap_groups);
	cr->heap_groups = NULL;
}

/* ------------------------------------------------------ lookup counting */

/* The kernel forgot @nlookup references of @nodeid. */
static void forget_one(struct jfuse *m, fuse_ino_t nodeid, uint64_t nlookup)
{
	if (nodeid == FUSE_ROOT_ID) {
		uint64_t have = atomic_load(&m->root_lookups);
		uint64_t take;

		/* take min(have, nlookup); the rest is the mount's own ref */
		do {
			take = have < nlookup ? have : nlookup;
		} while (!atomic_compare_exchange_weak(&m->root_lookups, &have, have - take));
		if (take)
			jfs_forget(m->fs, JFUSE_EXT4_ROOT_INO, take);
		return;
	}
	if (!nlookup)
		return;
	jfs_forget(m->fs, to_ino(nodeid), nlookup);
}

static void fill_entry(struct jfuse *m, struct fuse_entry_param *e, const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->ino = to_nodeid(st->st_ino);
	e->generation = 0;	/* ext4 inodes are not reused while the kernel holds them */
	e->attr = *st;
	e->attr_timeout = m->attr_timeout;
	e->entry_timeout = m->entry_timeout;
	if (e->ino == FUSE_ROOT_ID)
		atomic_fetch_add(&m->root_lookups, 1);
}

/*
 * Reply to lookup/mknod/mkdir/symlink/link with an entry whose lookup count
 * the fs has already taken; give it back if the kernel never sees it.
 */
static void reply_entry(fuse_req_t req, const struct stat *st)
{
	struct jfuse *m = jfuse(req);
	struct fuse_entry_param e;

	fill_entry(m, &e, st);
	if (fuse_reply_entry(req, &e))
		forget_one(m, e.ino, 1);
}

static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return -ENOENT;
	return len > JFUSE_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ lifecycle */

static void jfuse_init(void *userdata, struct fuse_conn_info *conn)
{
	struct jfuse *m = userdata;

	/*
	 * O_TRUNC reaches us as a SETATTR(size) before OPEN, so a truncate has
	 * one code path and one journal handle of its own.
	 */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/*
	 * No writeback cache: every write() is a WRITE request, so the fs (and
	 * its journal) sees the application's writes in order and mtime/size
	 * are ours.
	 */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * The fs clears setuid/setgid itself on write and chown, as
	 * file_remove_privs()/chown_common() do.  Without this the kernel
	 * would send a SETATTR(mode) on the writer's behalf, which a
	 * non-owner is refused when the fs checks permissions.
	 */
	if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV)
		conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
	/* the fs has no byte-range locks: the kernel keeps them locally */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	/* libfuse lowers this to what its buffers and the kernel allow */
	conn->max_write = 1U << 20;
	conn->time_gran = 1;	/* ext4 with 256-byte inodes keeps nanoseconds */
	(void)m;
}

static void jfuse_destroy(void *userdata)
{
	struct jfuse *m = userdata;

	/* jfs_unmount runs after fuse_session_destroy(), when no op can run */
	m->destroyed = true;
}

/* -------------------------------------------------------------- inodes */

static void jfuse_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	struct stat st;
	int err;

	err = check_name(name);
	if (err)
		goto out;
	get_cred(req, &cr, false);
	err = jfs_lookup(m->fs, &cr.c, to_ino(parent), name, &st);
	put_cred(&cr);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, &st);
}

static void jfuse_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(jfuse(req), ino, nlookup);
	fuse_reply_none(req);
}

static void jfuse_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct jfuse *m = jfuse(req);

	for (size_t i = 0; i < count; i++)
		forget_one(m, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void jfuse_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	struct stat st;
	int err;

	err = jfs_getattr(m->fs, to_ino(ino), &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, m->attr_timeout);
}

static void jfuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	/* FUSE_SET_ATTR_* and JFS_SET_* share their values (fs.h) */
	const int known = JFS_SET_MODE | JFS_SET_UID | JFS_SET_GID | JFS_SET_SIZE |
			  JFS_SET_ATIME | JFS_SET_MTIME | JFS_SET_ATIME_NOW |
			  JFS_SET_MTIME_NOW | JFS_SET_CTIME;
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	struct stat st;
	int err;

	_Static_assert(FUSE_SET_ATTR_MODE == JFS_SET_MODE && FUSE_SET_ATTR_UID == JFS_SET_UID &&
		       FUSE_SET_ATTR_GID == JFS_SET_GID && FUSE_SET_ATTR_SIZE == JFS_SET_SIZE &&
		       FUSE_SET_ATTR_ATIME == JFS_SET_ATIME && FUSE_SET_ATTR_MTIME == JFS_SET_MTIME &&
		       FUSE_SET_ATTR_ATIME_NOW == JFS_SET_ATIME_NOW &&
		       FUSE_SET_ATTR_MTIME_NOW == JFS_SET_MTIME_NOW &&
		       FUSE_SET_ATTR_CTIME == JFS_SET_CTIME, "setattr bits differ");

	/*
	 * Bits we do not know (KILL_SUID from handle_killpriv_v2, which we
	 * do not negotiate; FORCE) are dropped; with nothing left this is a
	 * getattr.
	 */
	to_set &= known;
	if (!to_set) {
		err = jfs_getattr(m->fs, to_ino(ino), &st);
	} else {
		get_cred(req, &cr, to_set & (JFS_SET_MODE | JFS_SET_UID | JFS_SET_GID));
		/* FATTR_FH: ftruncate on a descriptor the kernel opened for
		 * writing; the fs must not ask the mode for write permission */
		if (fi)
			to_set |= JFS_SET_FH;
		err = jfs_setattr(m->fs, &cr.c, to_ino(ino), attr, to_set, &st);
		put_cred(&cr);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, m->attr_timeout);
}

static void jfuse_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	get_cred(req, &cr, true);
	err = jfs_access(m->fs, &cr.c, to_ino(ino), mask);
	put_cred(&cr);
	fuse_reply_err(req, -err);
}

static void jfuse_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct jfuse *m = jfuse(req);
	char *buf = malloc(JFUSE_SYMLINK_MAX + 1);
	ssize_t n;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = jfs_readlink(m->fs, to_ino(ino), buf, JFUSE_SYMLINK_MAX);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
	} else {
		buf[n > JFUSE_SYMLINK_MAX ? JFUSE_SYMLINK_MAX : n] = '\0';
		fuse_reply_readlink(req, buf);
	}
	free(buf);
}

/* ----------------------------------------------------------- namespace */

static void jfuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	struct stat st;
	int err;

	err = check_name(name);
	if (err)
		goto out;
	get_cred(req, &cr, true);
	err = jfs_mknod(m->fs, &cr.c, to_ino(parent), name, mode, rdev, &st);
	put_cred(&cr);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, &st);
}

static void jfuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	struct stat st;
	int err;

	err = check_name(name);
	if (err)
		goto out;
	get_cred(req, &cr, true);
	err = jfs_mkdir(m->fs, &cr.c, to_ino(parent), name, mode, &st);
	put_cred(&cr);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, &st);
}

static void jfuse_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
			  const char *name)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	struct stat st;
	int err;

	err = check_name(name);
	if (err)
		goto out;
	if (strlen(target) >= JFUSE_SYMLINK_MAX) {
		err = -ENAMETOOLONG;
		goto out;
	}
	get_cred(req, &cr, true);
	err = jfs_symlink(m->fs, &cr.c, to_ino(parent), name, target, &st);
	put_cred(&cr);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, &st);
}

static void jfuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	struct stat st;
	int err;

	err = check_name(newname);
	if (err)
		goto out;
	get_cred(req, &cr, false);
	err = jfs_link(m->fs, &cr.c, to_ino(ino), to_ino(newparent), newname, &st);
	put_cred(&cr);
out:
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_entry(req, &st);
}

static void jfuse_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	err = check_name(name);
	if (!err) {
		get_cred(req, &cr, false);
		err = jfs_unlink(m->fs, &cr.c, to_ino(parent), name);
		put_cred(&cr);
	}
	fuse_reply_err(req, -err);
}

static void jfuse_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	err = check_name(name);
	if (!err) {
		get_cred(req, &cr, false);
		err = jfs_rmdir(m->fs, &cr.c, to_ino(parent), name);
		put_cred(&cr);
	}
	fuse_reply_err(req, -err);
}

static void jfuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	err = check_name(name);
	if (!err)
		err = check_name(newname);
	/* whiteouts are overlayfs's business; ext4 would need a 0:0 chardev */
	if (!err && (flags & ~(JFS_RENAME_NOREPLACE | JFS_RENAME_EXCHANGE)))
		err = -EINVAL;
	if (!err) {
		get_cred(req, &cr, false);
		err = jfs_rename(m->fs, &cr.c, to_ino(parent), name, to_ino(newparent),
				 newname, flags);
		put_cred(&cr);
	}
	fuse_reply_err(req, -err);
}

/* --------------------------------------------------------------- files */

static void jfuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	get_cred(req, &cr, false);
	err = jfs_open(m->fs, &cr.c, to_ino(ino), fi->flags);
	put_cred(&cr);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = 0;		/* the fs keys open files by inode */
	fi->keep_cache = 0;	/* drop cached pages on open: other mounts, replay */
	/* fuse_reply_open() failing means release() will never come */
	if (fuse_reply_open(req, fi))
		jfs_release(m->fs, to_ino(ino));
}

static void jfuse_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	struct fuse_entry_param e;
	struct jfuse_cred cr;
	struct stat st;
	int err;

	err = check_name(name);
	if (err)
		goto fail;
	get_cred(req, &cr, true);
	err = jfs_create(m->fs, &cr.c, to_ino(parent), name, mode, fi->flags, &st);
	put_cred(&cr);
	if (err)
		goto fail;
	fi->fh = 0;
	fi->keep_cache = 0;
	fill_entry(m, &e, &st);
	if (fuse_reply_create(req, &e, fi)) {
		/* both the lookup count and the open reference are ours to drop */
		jfs_release(m->fs, st.st_ino);
		forget_one(m, e.ino, 1);
	}
	return;
fail:
	fuse_reply_err(req, -err);
}

static void jfuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	ssize_t n;
	char *buf;

	if (!size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = jfs_read(m->fs, to_ino(ino), off, size, buf);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n > size ? size : (size_t)n);
	free(buf);
}

static void jfuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	ssize_t n;

	/*
	 * With no writeback cache the kernel has already turned O_APPEND
	 * into the right offset (under the inode lock, from its i_size).
	 */
	get_cred(req, &cr, false);
	n = jfs_write(m->fs, &cr.c, to_ino(ino), off, buf, size);
	put_cred(&cr);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void jfuse_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* the kernel ignores the error of a release; the reference is gone either way */
	fuse_reply_err(req, -jfs_release(jfuse(req)->fs, to_ino(ino)));
}

static void jfuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);

	/* the one-thread loop must not sleep in the commit wait (syncer.c) */
	if (jfuse_syncer_queue(m, req, to_ino(ino), datasync != 0))
		return;
	fuse_reply_err(req, -jfs_fsync(m->fs, to_ino(ino), datasync != 0));
}

static void jfuse_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			    off_t length, struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	get_cred(req, &cr, false);
	err = jfs_fallocate(m->fs, &cr.c, to_ino(ino), mode, offset, length);
	put_cred(&cr);
	fuse_reply_err(req, -err);
}

/* --------------------------------------------------------- directories */

static void jfuse_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	get_cred(req, &cr, false);
	err = jfs_opendir(m->fs, &cr.c, to_ino(ino));
	put_cred(&cr);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = 0;
	if (fuse_reply_open(req, fi))
		jfs_releasedir(m->fs, to_ino(ino));
}

static void jfuse_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, -jfs_releasedir(jfuse(req)->fs, to_ino(ino)));
}

static void jfuse_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			   struct fuse_file_info *fi)
{
	struct jfuse *m = jfuse(req);

	/* jfs_fsyncdir is jfs_fsync, which is what the syncer calls */
	if (jfuse_syncer_queue(m, req, to_ino(ino), datasync != 0))
		return;
	fuse_reply_err(req, -jfs_fsyncdir(m->fs, to_ino(ino), datasync != 0));
}

/*
 * One READDIR(PLUS) request.  The filldir callback runs under the fs lock,
 * so it never calls back into the fs: for READDIR it packs entries straight
 * into the reply buffer; for READDIRPLUS it only records which entries fit
 * (the record size depends on the name alone), and the inodes are taken
 * with jfs_iget() after jfs_readdir() has returned.  Between the two an
 * entry can be unlinked; such an entry goes out without a nodeid, which the
 * kernel treats as "no attributes" rather than as an error.
 */
struct plus_ent {
	ino_t ino;
	unsigned int dtype;
	uint64_t next;
	size_t name;		/* offset in dir_ctx.names */
	bool counted;		/* jfs_iget succeeded: the entry carries a nodeid */
};

struct dir_ctx {
	fuse_req_t req;
	char *buf;
	size_t size;		/* of buf, as the kernel asked */
	size_t used;		/* bytes of buf filled / reserved */
	bool plus;
	struct plus_ent *ents;
	size_t nr_ents, cap_ents;
	char *names;
	size_t names_len, names_cap;
	int err;
};

static mode_t dtype_to_mode(unsigned int dtype)
{
	return (mode_t)(dtype & 0xf) << 12;	/* DTTOIF */
}

static int plus_record(struct dir_ctx *d, const char *name, size_t namelen, ino_t ino,
		       unsigned int dtype, uint64_t next)
{
	if (d->nr_ents == d->cap_ents) {
		size_t cap = d->cap_ents ? 2 * d->cap_ents : 64;
		struct plus_ent *e = realloc(d->ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		d->ents = e;
		d->cap_ents = cap;
	}
	if (d->names_len + namelen + 1 > d->names_cap) {
		size_t cap = d->names_cap ? 2 * d->names_cap : 4096;
		char *n;

		while (cap < d->names_len + namelen + 1)
			cap *= 2;
		n = realloc(d->names, cap);
		if (!n)
			return -ENOMEM;
		d->names = n;
		d->names_cap = cap;
	}
	memcpy(d->names + d->names_len, name, namelen);
	d->names[d->names_len + namelen] = '\0';
	d->ents[d->nr_ents++] = (struct plus_ent){
		.ino = ino, .dtype = dtype, .next = next, .name = d->names_len,
	};
	d->names_len += namelen + 1;
	return 0;
}

static int jfuse_filldir(void *ctx, const char *name, size_t namelen, ino_t ino,
			 unsigned int dtype, uint64_t next)
{
	struct dir_ctx *d = ctx;
	char tmp[JFUSE_NAME_MAX + 1];
	size_t len;

	if (namelen > JFUSE_NAME_MAX) {
		/* ext4 cannot store it; a damaged entry, skip rather than stop */
		return 0;
	}
	memcpy(tmp, name, namelen);
	tmp[namelen] = '\0';

	if (!d->plus) {
		struct stat st = { .st_ino = ino, .st_mode = dtype_to_mode(dtype) };

		len = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, tmp, &st,
					(off_t)next);
		if (len > d->size - d->used)
			return 1;
		d->used += len;
		return 0;
	}

	/* a NULL buffer asks for the record size only */
	len = fuse_add_direntry_plus(d->req, NULL, 0, tmp, NULL, 0);
	if (len > d->size - d->used)
		return 1;
	d->err = plus_record(d, tmp, namelen, ino, dtype, next);
	if (d->err)
		return 1;
	d->used += len;
	return 0;
}

static bool is_dot_or_dotdot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

/* Undo the lookup counts of entries the kernel never received. */
static void plus_forget_all(struct jfuse *m, struct dir_ctx *d)
{
	for (size_t i = 0; i < d->nr_ents; i++)
		if (d->ents[i].counted)
			forget_one(m, to_nodeid(d->ents[i].ino), 1);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct jfuse *m = jfuse(req);
	struct dir_ctx d = { .req = req, .size = size, .plus = plus };
	int err;

	d.buf = malloc(size ? size : 1);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = jfs_readdir(m->fs, to_ino(ino), (uint64_t)off, jfuse_filldir, &d);
	if (!err)
		err = d.err;
	/*
	 * An error after some entries were packed still loses nothing: the
	 * kernel gets what fitted and asks again from the last cookie.
	 */
	if (err && (d.used == 0 || d.err)) {
		fuse_reply_err(req, -err);
		goto out;
	}

	if (plus) {
		size_t pos = 0;

		for (size_t i = 0; i < d.nr_ents; i++) {
			struct plus_ent *pe = &d.ents[i];
			const char *name = d.names + pe->name;
			struct fuse_entry_param e;
			struct stat st;
			size_t len;

			if (!is_dot_or_dotdot(name) && !jfs_iget(m->fs, pe->ino, &st)) {
				fill_entry(m, &e, &st);
				pe->counted = true;
			} else {
				/*
				 * "." and ".." never carry a nodeid (the kernel
				 * ignores them); an entry that vanished since
				 * jfs_readdir is listed without attributes, as a
				 * plain readdir would have listed it.
				 */
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = pe->ino;
				e.attr.st_mode = dtype_to_mode(pe->dtype);
			}
			len = fuse_add_direntry_plus(req, d.buf + pos, size - pos, name, &e,
						     (off_t)pe->next);
			/* the sizes were reserved in jfuse_filldir */
			if (len > size - pos) {
				if (pe->counted) {
					forget_one(m, e.ino, 1);
					pe->counted = false;
				}
				d.nr_ents = i;
				break;
			}
			pos += len;
		}
		d.used = pos;
	}
	if (fuse_reply_buf(req, d.buf, d.used) && plus)
		plus_forget_all(m, &d);
out:
	free(d.ents);
	free(d.names);
	free(d.buf);
}

static void jfuse_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false);
}

static void jfuse_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true);
}

/* ------------------------------------------------------------ fs-wide */

static void jfuse_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	int err;

	err = jfs_statfs(jfuse(req)->fs, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_statfs(req, &st);
}

/* --------------------------------------------------------------- xattrs */

static void jfuse_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			   size_t size, int flags)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	get_cred(req, &cr, false);
	err = jfs_setxattr(m->fs, &cr.c, to_ino(ino), name, value, size, flags);
	put_cred(&cr);
	fuse_reply_err(req, -err);
}

/* getxattr and listxattr share the size-probe protocol: size 0 asks for the length. */
static void reply_xattr_value(fuse_req_t req, ssize_t n, const char *buf, size_t size)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else if ((size_t)n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void jfuse_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	get_cred(req, &cr, false);
	n = jfs_getxattr(m->fs, &cr.c, to_ino(ino), name, buf, size);
	put_cred(&cr);
	reply_xattr_value(req, n, buf, size);
	free(buf);
}

static void jfuse_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	get_cred(req, &cr, false);
	n = jfs_listxattr(m->fs, &cr.c, to_ino(ino), buf, size);
	put_cred(&cr);
	reply_xattr_value(req, n, buf, size);
	free(buf);
}

static void jfuse_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct jfuse *m = jfuse(req);
	struct jfuse_cred cr;
	int err;

	get_cred(req, &cr, false);
	err = jfs_removexattr(m->fs, &cr.c, to_ino(ino), name);
	put_cred(&cr);
	fuse_reply_err(req, -err);
}

const struct fuse_lowlevel_ops jfuse_ops = {
	.init		= jfuse_init,
	.destroy	= jfuse_destroy,
	.lookup		= jfuse_lookup,
	.forget		= jfuse_forget,
	.forget_multi	= jfuse_forget_multi,
	.getattr	= jfuse_getattr,
	.setattr	= jfuse_setattr,
	.readlink	= jfuse_readlink,
	.mknod		= jfuse_mknod,
	.mkdir		= jfuse_mkdir,
	.unlink		= jfuse_unlink,
	.rmdir		= jfuse_rmdir,
	.symlink	= jfuse_symlink,
	.rename		= jfuse_rename,
	.link		= jfuse_link,
	.open		= jfuse_open,
	.read		= jfuse_read,
	.write		= jfuse_write,
	/* no .flush: ext4's file_operations have none, so close(2) costs no
	 * round trip -- libfuse answers the first FLUSH with ENOSYS and the
	 * kernel stops sending them (fc->no_flush); dirty pages are still
	 * written at close under writeback_cache (fuse_flush) */
	.release	= jfuse_release,
	.fsync		= jfuse_fsync,
	.opendir	= jfuse_opendir,
	.readdir	= jfuse_readdir,
	.releasedir	= jfuse_releasedir,
	.fsyncdir	= jfuse_fsyncdir,
	.statfs		= jfuse_statfs,
	.setxattr	= jfuse_setxattr,
	.getxattr	= jfuse_getxattr,
	.listxattr	= jfuse_listxattr,
	.removexattr	= jfuse_removexattr,
	.access		= jfuse_access,
	.create		= jfuse_create,
	.fallocate	= jfuse_fallocate,
	.readdirplus	= jfuse_readdirplus,
};
