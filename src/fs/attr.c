/* SPDX-License-Identifier: GPL-2.0 */
/*
 * attr.c - attributes: getattr/setattr, permission checks, timestamps,
 * statfs.
 *
 * Permissions follow fs/namei.c: generic_permission() (owner, then group
 * including the supplementary groups, then other; root passes everything
 * except executing a file that has no x bit at all), skipped entirely with
 * default_permissions (the kernel checks) or fakeroot (everyone is root).
 * setattr follows fs/attr.c: setattr_prepare() (chown/chmod/utimes rules)
 * and notify_change(), with chown_common()'s clearing of S_ISUID (always)
 * and S_ISGID (setattr_should_drop_sgid) on non-directories.
 *
 * Timestamps carry nanoseconds and the two extra epoch bits in the
 * i_*time_extra fields, encoded as ext4_encode_extra_time() does; the
 * _extra fields exist only when i_extra_isize covers them (EXT4_FITS_IN_INODE).
 *
 * A size change checks MAY_WRITE as truncate(2) does (vfs_truncate), unless
 * it comes through an open file (JFS_SET_FH: ftruncate, do_sys_ftruncate),
 * whose write access was checked at open.  Every size change by a caller
 * without CAP_FSETID drops S_ISUID, and S_ISGID with group-exec (do_truncate
 * -> dentry_needs_remove_privs -> should_remove_suid); so do writes and
 * fallocate (file_remove_privs, file_modified): jfs_inode_kill_suid().
 *
 * Access times (touch_atime -> atime_needs_update -> relatime_need_update,
 * fs/inode.c): read and readdir update i_atime per the mount's policy --
 * relatime by default (only when atime <= mtime, atime <= ctime, or atime
 * is a day old), strictatime always, noatime never, nodiratime never on
 * directories, never on a ro mount or an inode with EXT2_NOATIME_FL -- as
 * an inode-only change in its own 2-credit step (ext4_dirty_inode).
 *
 * Locking rules: public functions are operations (they take the fs lock
 * through jfs_op_begin); `__` helpers assert it.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/sysmacros.h>
#include "fs_internal.h"

#ifndef EXT4_EPOCH_BITS
#define EXT4_EPOCH_BITS	2
#endif
#ifndef EXT4_EPOCH_MASK
#define EXT4_EPOCH_MASK	((1U << EXT4_EPOCH_BITS) - 1)
#endif

bool jfs_cred_is_root(const struct jfs *fs, const struct jfs_cred *c)
{
	return !c || fs->opts.fakeroot || c->uid == 0;
}

bool jfs_cred_in_group(const struct jfs_cred *c, gid_t gid)
{
	if (!c)
		return true;
	if (c->gid == gid)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups && c->groups[i] == gid)
			return true;
	return false;
}

static uid_t i_uid(const struct ext2_inode_large *inode)
{
	return inode_uid(*(const struct ext2_inode *)inode);
}

static gid_t i_gid(const struct ext2_inode_large *inode)
{
	return inode_gid(*(const struct ext2_inode *)inode);
}

static bool owner_or_root(const struct jfs *fs, const struct jfs_cred *c,
			  const struct ext2_inode_large *inode)
{
	return jfs_cred_is_root(fs, c) || c->uid == i_uid(inode);
}

/*
 * should_remove_suid() (setattr_should_drop_suidgid() since 6.2) applied as
 * file_remove_privs()/do_truncate() do: a data change of a regular file by
 * a caller without CAP_FSETID drops S_ISUID, and S_ISGID when group-exec is
 * set (setgid without group-exec is the mandatory-locking mark and stays).
 * Not modelled: 6.2's setattr_should_drop_sgid() also drops a non-exec
 * S_ISGID for callers outside the file's group -- that needs the caller's
 * supplementary groups on every write, which the FUSE adapter does not
 * fetch.  Returns true when the mode changed (the caller writes the inode).
 */
bool jfs_inode_kill_suid(struct jfs *fs, const struct jfs_cred *c,
			 struct ext2_inode_large *inode)
{
	unsigned int mode = inode->i_mode, kill = 0;

	if (!LINUX_S_ISREG(mode) || jfs_cred_is_root(fs, c))
		return false;
	if (mode & LINUX_S_ISUID)
		kill |= LINUX_S_ISUID;
	if ((mode & LINUX_S_ISGID) && (mode & LINUX_S_IXGRP))
		kill |= LINUX_S_ISGID;
	inode->i_mode = mode & ~kill;
	return kill != 0;
}

/* generic_permission() / acl_permission_check(), without ACLs. */
int __jfs_permission(struct jfs *fs, const struct jfs_cred *c,
		     const struct ext2_inode_large *inode, int mask)
{
	unsigned int mode = inode->i_mode;

	if (fs->opts.default_permissions || !c)
		return 0;
	if (jfs_cred_is_root(fs, c)) {
		/* CAP_DAC_OVERRIDE: exec needs some x bit unless a directory */
		if ((mask & JFS_MAY_EXEC) && !LINUX_S_ISDIR(mode) && !(mode & 0111))
			return -EACCES;
		return 0;
	}
	if (c->uid == i_uid(inode))
		mode >>= 6;
	else if (jfs_cred_in_group(c, i_gid(inode)))
		mode >>= 3;
	if (mask & ~mode & 7)
		return -EACCES;
	return 0;
}

/* ----------------------------------------------------------- timestamps */

/* Byte offset just past a large-inode field: is it inside i_extra_isize? */
#define FITS_IN_INODE(inode, field) \
	(EXT2_GOOD_OLD_INODE_SIZE + (inode)->i_extra_isize >= \
	 offsetof(struct ext2_inode_large, field) + sizeof((inode)->field))

static uint32_t encode_extra(const struct timespec *ts)
{
	uint32_t extra = ((uint64_t)(ts->tv_sec - (int32_t)ts->tv_sec) >> 32) & EXT4_EPOCH_MASK;

	return extra | ((uint32_t)ts->tv_nsec << EXT4_EPOCH_BITS);
}

static void decode_extra(uint32_t base, uint32_t extra, struct timespec *ts)
{
	ts->tv_sec = (int32_t)base;
	if (extra & EXT4_EPOCH_MASK)
		ts->tv_sec += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
	ts->tv_nsec = extra >> EXT4_EPOCH_BITS;
}

void jfs_inode_set_time(struct ext2_inode_large *inode, int which, const struct timespec *ts)
{
	if (which & JFS_T_ATIME) {
		inode->i_atime = (uint32_t)ts->tv_sec;
		if (FITS_IN_INODE(inode, i_atime_extra))
			inode->i_atime_extra = encode_extra(ts);
	}
	if (which & JFS_T_MTIME) {
		inode->i_mtime = (uint32_t)ts->tv_sec;
		if (FITS_IN_INODE(inode, i_mtime_extra))
			inode->i_mtime_extra = encode_extra(ts);
	}
	if (which & JFS_T_CTIME) {
		inode->i_ctime = (uint32_t)ts->tv_sec;
		if (FITS_IN_INODE(inode, i_ctime_extra))
			inode->i_ctime_extra = encode_extra(ts);
	}
	if ((which & JFS_T_CRTIME) && FITS_IN_INODE(inode, i_crtime_extra)) {
		inode->i_crtime = (uint32_t)ts->tv_sec;
		inode->i_crtime_extra = encode_extra(ts);
	}
}

void jfs_inode_touch(struct ext2_inode_large *inode, int which)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	jfs_inode_set_time(inode, which, &now);
}

void jfs_inode_get_time(const struct ext2_inode_large *inode, int which, struct timespec *ts)
{
	uint32_t base = 0, extra = 0;
	bool has = false;

	switch (which) {
	case JFS_T_ATIME:
		base = inode->i_atime;
		if ((has = FITS_IN_INODE(inode, i_atime_extra)))
			extra = inode->i_atime_extra;
		break;
	case JFS_T_MTIME:
		base = inode->i_mtime;
		if ((has = FITS_IN_INODE(inode, i_mtime_extra)))
			extra = inode->i_mtime_extra;
		break;
	case JFS_T_CTIME:
		base = inode->i_ctime;
		if ((has = FITS_IN_INODE(inode, i_ctime_extra)))
			extra = inode->i_ctime_extra;
		break;
	case JFS_T_CRTIME:
		if (FITS_IN_INODE(inode, i_crtime_extra)) {
			base = inode->i_crtime;
			extra = inode->i_crtime_extra;
			has = true;
		}
		break;
	}
	if (has) {
		decode_extra(base, extra, ts);
	} else {
		ts->tv_sec = (int32_t)base;
		ts->tv_nsec = 0;
	}
}

/* ---------------------------------------------------------------- atime */

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

/* relatime_need_update(): with relatime, only when atime is not newer than
 * mtime or ctime, or is at least a day old. */
static bool relatime_need_update(struct jfs *fs, const struct ext2_inode_large *inode,
				 const struct timespec *now)
{
	struct timespec atime, t;

	if (fs->opts.atime != JFS_ATIME_RELATIME)
		return true;
	jfs_inode_get_time(inode, JFS_T_ATIME, &atime);
	jfs_inode_get_time(inode, JFS_T_MTIME, &t);
	if (ts_cmp(&t, &atime) >= 0)
		return true;
	jfs_inode_get_time(inode, JFS_T_CTIME, &t);
	if (ts_cmp(&t, &atime) >= 0)
		return true;
	return now->tv_sec - atime.tv_sec >= 24 * 60 * 60;
}

/* atime_needs_update(); *now is current_time() at the inode's granularity. */
static bool atime_needs_update(struct jfs *fs, const struct ext2_inode_large *inode,
			       struct timespec *now)
{
	struct timespec atime;

	if (inode->i_flags & EXT2_NOATIME_FL)			/* IS_NOATIME */
		return false;
	if (fs->opts.atime == JFS_ATIME_NOATIME)		/* MNT_NOATIME */
		return false;
	if (fs->opts.nodiratime && LINUX_S_ISDIR(inode->i_mode))	/* MNT_NODIRATIME */
		return false;
	if (fs->ro)						/* __mnt_is_readonly */
		return false;
	clock_gettime(CLOCK_REALTIME, now);
	if (!FITS_IN_INODE(inode, i_atime_extra))
		now->tv_nsec = 0;		/* s_time_gran of 128-byte inodes: 1 s */
	if (!relatime_need_update(fs, inode, now))
		return false;
	jfs_inode_get_time(inode, JFS_T_ATIME, &atime);
	return ts_cmp(&atime, now) != 0;
}

int __jfs_touch_atime(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct timespec now;
	int ret;

	lockdep_assert_held(&fs->fs_lock);
	if (!atime_needs_update(fs, inode, &now))
		return 0;
	/* generic_update_time(S_ATIME) -> ext4_dirty_inode: its own handle,
	 * EXT4_HT_INODE with 2 credits; no ctime or i_version change. */
	ret = __jfs_op_restart(fs, 2);
	if (ret)
		return ret;
	jfs_inode_set_time(inode, JFS_T_ATIME, &now);
	return __jfs_write_inode(fs, ino, inode);
}

/* ---------------------------------------------------------------- stat */

/* ext4's device encoding: old 8:8 in i_block[0], else new in i_block[1]. */
static dev_t inode_rdev(const struct ext2_inode_large *inode)
{
	uint32_t old = inode->i_block[0], nw = inode->i_block[1];

	if (old)
		return makedev((old >> 8) & 255, old & 255);
	return makedev((nw & 0xfff00) >> 8, (nw & 0xff) | ((nw >> 12) & 0xfff00));
}

void __jfs_fill_stat(struct jfs *fs, ext2_ino_t ino, const struct ext2_inode_large *inode,
		     struct stat *st)
{
	lockdep_assert_held(&fs->fs_lock);
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = inode->i_mode;
	st->st_nlink = inode->i_links_count;
	st->st_uid = i_uid(inode);
	st->st_gid = i_gid(inode);
	st->st_size = jfs_i_size(inode);
	st->st_blksize = fs->blocksize;
	st->st_blocks = ext2fs_get_stat_i_blocks(fs->e2fs, (struct ext2_inode *)inode);
	if (LINUX_S_ISCHR(inode->i_mode) || LINUX_S_ISBLK(inode->i_mode))
		st->st_rdev = inode_rdev(inode);
	jfs_inode_get_time(inode, JFS_T_ATIME, &st->st_atim);
	jfs_inode_get_time(inode, JFS_T_MTIME, &st->st_mtim);
	jfs_inode_get_time(inode, JFS_T_CTIME, &st->st_ctim);
}

int jfs_getattr(struct jfs *fs, ino_t ino, struct stat *st)
{
	struct ext2_inode_large inode;
	int ret;

	ret = jfs_op_begin(fs, "getattr", 0);
	if (ret)
		return ret;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (!ret && !inode.i_links_count && !jfs_inode_find(fs, ino, false))
		ret = -ENOENT;		/* a freed inode, not an open orphan */
	if (!ret)
		__jfs_fill_stat(fs, ino, &inode, st);
	return jfs_op_end(fs, ret);
}

/* ------------------------------------------------------------- setattr */

/* setattr_prepare(): -EPERM/-EACCES before anything changes. */
static int setattr_prepare(struct jfs *fs, const struct jfs_cred *c,
			   const struct ext2_inode_large *inode, const struct stat *attr,
			   int to_set)
{
	/*
	 * With default_permissions the FUSE kernel ran setattr_prepare() itself
	 * (fuse_do_setattr()) before sending the request, including the
	 * ATTR_KILL_SUID/SGID mode change of file_remove_privs(), which is
	 * exempt from the owner rule there: do not check a second time.
	 */
	bool privileged = jfs_cred_is_root(fs, c) || fs->opts.default_permissions;
	int ret;

	if (to_set & JFS_SET_UID) {
		/* chown_ok(): only CAP_CHOWN changes the owner */
		if (!privileged && !(c->uid == i_uid(inode) && attr->st_uid == i_uid(inode)))
			return -EPERM;
	}
	if (to_set & JFS_SET_GID) {
		/* chgrp_ok(): the owner may pick one of his groups */
		if (!privileged && !(c->uid == i_uid(inode) &&
			       (attr->st_gid == i_gid(inode) || jfs_cred_in_group(c, attr->st_gid))))
			return -EPERM;
	}
	if (to_set & JFS_SET_MODE && !privileged) {
		mode_t cur = inode->i_mode & 07777, want = attr->st_mode & 07777;

		/*
		 * Without FUSE_HANDLE_KILLPRIV the kernel clears SUID/SGID after a
		 * write or truncate by sending a mode change for the writer
		 * (file_remove_privs() -> notify_change(ATTR_KILL_*)); the VFS
		 * lets a non-owner with write access do exactly that.
		 */
		bool kill_only = want == (cur & ~(mode_t)(S_ISUID | S_ISGID)) && want != cur;

		if (kill_only) {
			ret = __jfs_permission(fs, c, inode, JFS_MAY_WRITE);
			if (ret)
				return -EPERM;
		} else if (!owner_or_root(fs, c, inode)) {
			return -EPERM;
		}
	}
	if (to_set & (JFS_SET_ATIME | JFS_SET_MTIME)) {
		bool now_only = (!(to_set & JFS_SET_ATIME) || (to_set & JFS_SET_ATIME_NOW)) &&
				(!(to_set & JFS_SET_MTIME) || (to_set & JFS_SET_MTIME_NOW));

		if (!privileged && !owner_or_root(fs, c, inode)) {
			if (!now_only)
				return -EPERM;
			ret = __jfs_permission(fs, c, inode, JFS_MAY_WRITE);
			if (ret)
				return ret;
		}
	}
	if (to_set & JFS_SET_SIZE) {
		if (LINUX_S_ISDIR(inode->i_mode))
			return -EISDIR;
		if (!LINUX_S_ISREG(inode->i_mode))
			return -EINVAL;
		if (attr->st_size < 0)
			return -EINVAL;
		/* do_sys_ftruncate checks the file's FMODE_WRITE, not the mode */
		if (!(to_set & JFS_SET_FH)) {
			ret = __jfs_permission(fs, c, inode, JFS_MAY_WRITE);
			if (ret)
				return ret;
		}
		if ((uint64_t)attr->st_size > jfs_inode_maxbytes(fs, inode))
			return -EFBIG;
	}
	return 0;
}

int jfs_setattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const struct stat *attr,
		int to_set, struct stat *out)
{
	struct ext2_inode_large inode;
	struct timespec now;
	int fh = to_set & JFS_SET_FH;	/* only setattr_prepare's size check uses it */
	int credits, ret;

	to_set &= ~JFS_SET_FH;
	credits = (to_set & (JFS_SET_UID | JFS_SET_GID)) ? 3 : 2;
	if (to_set & JFS_SET_SIZE)
		credits = 3 + 1;	/* inode, orphan add, large_file superblock */
	ret = jfs_op_begin(fs, "setattr", to_set ? credits : 0);
	if (ret)
		return ret;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (ret)
		goto out;
	ret = setattr_prepare(fs, c, &inode, attr, to_set | fh);
	if (ret)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);

	if (to_set & JFS_SET_SIZE) {
		uint64_t size = attr->st_size;

		/* do_truncate(): ATTR_KILL_SUID/SGID, never together with a mode */
		if (!(to_set & JFS_SET_MODE))
			jfs_inode_kill_suid(fs, c, &inode);

		/* ext4_setattr truncates even at the same size: that drops
		 * blocks preallocated past EOF.  Times change on any truncate(2). */
		ret = __jfs_truncate(fs, ino, &inode, size);
		if (ret)
			goto out;
		jfs_inode_set_time(&inode, JFS_T_MTIME | JFS_T_CTIME, &now);
	}
	if (to_set & (JFS_SET_UID | JFS_SET_GID)) {
		uid_t uid = (to_set & JFS_SET_UID) ? attr->st_uid : i_uid(&inode);
		gid_t gid = (to_set & JFS_SET_GID) ? attr->st_gid : i_gid(&inode);

		/* chown_common(): non-directories lose S_ISUID, and S_ISGID per
		 * setattr_should_drop_sgid() (group-exec, or caller not in the
		 * file's group and not capable). */
		if (!(to_set & JFS_SET_MODE) && !LINUX_S_ISDIR(inode.i_mode)) {
			unsigned int mode = inode.i_mode;

			mode &= ~LINUX_S_ISUID;
			if ((mode & LINUX_S_ISGID) &&
			    ((mode & LINUX_S_IXGRP) ||
			     !(jfs_cred_is_root(fs, c) || jfs_cred_in_group(c, i_gid(&inode)))))
				mode &= ~LINUX_S_ISGID;
			inode.i_mode = mode;
		}
		inode.i_uid = uid & 0xffff;
		ext2fs_set_i_uid_high(inode, uid >> 16);
		inode.i_gid = gid & 0xffff;
		ext2fs_set_i_gid_high(inode, gid >> 16);
	}
	if (to_set & JFS_SET_MODE) {
		unsigned int mode = attr->st_mode & 07777;
		gid_t gid = i_gid(&inode);

		/* setattr_prepare(): S_ISGID needs membership of the file's group */
		if ((mode & LINUX_S_ISGID) && !jfs_cred_is_root(fs, c) && !jfs_cred_in_group(c, gid))
			mode &= ~LINUX_S_ISGID;
		inode.i_mode = (inode.i_mode & LINUX_S_IFMT) | mode;
	}
	if (to_set & JFS_SET_ATIME) {
		if (to_set & JFS_SET_ATIME_NOW)
			jfs_inode_set_time(&inode, JFS_T_ATIME, &now);
		else
			jfs_inode_set_time(&inode, JFS_T_ATIME, &attr->st_atim);
	}
	if (to_set & JFS_SET_MTIME) {
		if (to_set & JFS_SET_MTIME_NOW)
			jfs_inode_set_time(&inode, JFS_T_MTIME, &now);
		else
			jfs_inode_set_time(&inode, JFS_T_MTIME, &attr->st_mtim);
	}
	if (to_set & JFS_SET_CTIME)
		jfs_inode_set_time(&inode, JFS_T_CTIME, &attr->st_ctim);
	else if (to_set)
		jfs_inode_set_time(&inode, JFS_T_CTIME, &now);
	if (to_set)
		ret = __jfs_write_inode(fs, ino, &inode);
	if (!ret && out)
		__jfs_fill_stat(fs, ino, &inode, out);
out:
	return jfs_op_end(fs, ret);
}

int jfs_access(struct jfs *fs, const struct jfs_cred *c, ino_t ino, int mask)
{
	struct ext2_inode_large inode;
	int ret;

	ret = jfs_op_begin(fs, "access", 0);
	if (ret)
		return ret;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (!ret && (mask & JFS_MAY_WRITE) && fs->ro)
		ret = -EROFS;
	if (!ret && mask)
		ret = __jfs_permission(fs, c, &inode, mask & 7);
	return jfs_op_end(fs, ret);
}

/* ----------------------------------------------------------------- statfs */

int jfs_statfs(struct jfs *fs, struct statvfs *st)
{
	struct ext2_super_block *sb;
	uint64_t overhead, blocks, bfree, resv;
	int ret;

	ret = jfs_op_begin(fs, "statfs", 0);
	if (ret)
		return ret;
	sb = fs->e2fs->super;
	memset(st, 0, sizeof(*st));
	/* fuse2fs's overhead estimate (libext2fs.md §5.1 statfs) */
	overhead = fs->e2fs->desc_blocks +
		   (uint64_t)fs->e2fs->group_desc_count * (fs->e2fs->inode_blocks_per_group + 2);
	blocks = ext2fs_blocks_count(sb);
	bfree = ext2fs_free_blocks_count(sb);
	resv = ext2fs_r_blocks_count(sb);
	if (!resv)
		resv = blocks / 10;
	st->f_bsize = fs->blocksize;
	st->f_frsize = fs->blocksize;
	st->f_blocks = blocks > overhead ? blocks - overhead : 0;
	st->f_bfree = bfree;
	st->f_bavail = bfree > resv ? bfree - resv : 0;
	st->f_files = sb->s_inodes_count;
	st->f_ffree = sb->s_free_inodes_count;
	st->f_favail = sb->s_free_inodes_count;
	memcpy(&st->f_fsid, sb->s_uuid, sizeof(st->f_fsid));
	st->f_flag = fs->ro ? ST_RDONLY : 0;
	st->f_namemax = EXT2_NAME_LEN;
	return jfs_op_end(fs, 0);
}

int jfs_syncfs(struct jfs *fs)
{
	int ret;

	/* ext4_sync_fs: commit the running transaction and wait (the ordered
	 * data goes first); without a journal, everything home */
	if (READ_ONCE(fs->journal))
		return jfs_journal_sync_fs(fs);
	ret = jfs_op_begin(fs, "syncfs", 0);
	if (ret)
		return ret;
	ret = fs->ro ? 0 : sync_blockdev(fs->bdev);
	return jfs_op_end(fs, ret);
}
