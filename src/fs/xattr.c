/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xattr.c - extended attributes: set/get/list/remove, with the name and
 * permission rules of the VFS (fs/xattr.c: xattr_resolve_name,
 * xattr_permission; security/commoncap.c: cap_inode_setxattr) and the
 * storage of ext4 (fs/ext4/xattr.c), done by libext2fs's xattr handle.
 *
 * Namespaces, as ext4's handler table resolves them:
 *   user.*     regular files and directories only (EPERM on write, ENODATA
 *              on read otherwise); sticky directories: owner or root
 *              writes; the file's read/write permission applies.
 *   trusted.*  root only (CAP_SYS_ADMIN): EPERM on write, ENODATA on read,
 *              hidden from the list.
 *   security.* anyone reads; writes need root (cap_inode_setxattr).
 *   system.posix_acl_access / system.posix_acl_default: the owner or
 *              root sets; a default ACL only on directories (EACCES).
 *              The value is in the VFS format (posix_acl_xattr_header);
 *              libext2fs converts it to and from the ext4 on-disk format
 *              (ext4_acl_header) itself, exactly once (libext2fs.md §5.1;
 *              fuse2fs 1.47.0 converted a second time).  Updating the mode
 *              from an access ACL (posix_acl_update_mode) is the VFS's
 *              job: with FUSE_POSIX_ACL the kernel does it and sends the
 *              SETATTR; we store what we are given.
 *   gnu.*      the Hurd namespace ext4 also accepts.
 * Anything else (including "system.data", the inline-data attribute) is
 * EOPNOTSUPP, and hidden from the list.  An empty name after a prefix is
 * EINVAL, a name of more than 255 bytes (or an empty one) is ERANGE, a
 * value of more than XATTR_SIZE_MAX is E2BIG.
 *
 * Semantics fuse2fs 1.47.0 gets wrong and we check before changing
 * anything: XATTR_CREATE on an existing name is EEXIST, XATTR_REPLACE or
 * remove of a missing one is ENODATA (ext2fs_xattr_remove says 0).  A
 * value that fits neither in the inode body nor in the one EA block is
 * ENOSPC (EXT2_ET_EA_NO_SPACE), as ext4 without ea_inode says.
 *
 * ext2fs_xattr_set/remove write the EA block and the inode at once
 * (ext2fs_xattrs_write), so the ctime update re-reads the inode afterwards.
 * EA blocks are not shared (no mbcache), and a shared block we modify is
 * copied (prep_ea_block_for_write), as ext4 does.
 *
 * Credits: __ext4_xattr_set_credits() without ea_inode and quota: 7.
 *
 * Locking rules: every public function takes the fs lock through
 * jfs_op_begin() and drops it in jfs_op_end().  The libext2fs xattr handle
 * lives only inside one operation.
 */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/fs_internal.h"

#define XATTR_NAME_MAX_LEN	255
#define XATTR_SIZE_MAX_LEN	65536
#define EXT4_XATTR_SET_CREDITS	7	/* owner inode, 2 EA blocks, 2 bitmaps, 2 GDT */

#define POSIX_ACL_XATTR_VERSION_2 2

enum xa_ns { XA_USER, XA_TRUSTED, XA_SECURITY, XA_ACL_ACCESS, XA_ACL_DEFAULT, XA_GNU };

static const struct {
	const char *prefix;
	enum xa_ns ns;
	bool exact;		/* the whole name, not a prefix */
} xa_names[] = {
	{ "user.",			XA_USER,	false },
	{ "trusted.",			XA_TRUSTED,	false },
	{ "security.",			XA_SECURITY,	false },
	{ "system.posix_acl_access",	XA_ACL_ACCESS,	true },
	{ "system.posix_acl_default",	XA_ACL_DEFAULT,	true },
	{ "gnu.",			XA_GNU,		false },
};

/* xattr_resolve_name(): the namespace of a full name, or -errno. */
static int xa_resolve(const char *name, enum xa_ns *ns)
{
	size_t len, i;

	if (!name)
		return -EINVAL;
	len = strnlen(name, XATTR_NAME_MAX_LEN + 1);
	if (len == 0 || len > XATTR_NAME_MAX_LEN)
		return -ERANGE;
	for (i = 0; i < sizeof(xa_names) / sizeof(xa_names[0]); i++) {
		size_t plen = strlen(xa_names[i].prefix);

		if (xa_names[i].exact) {
			if (!strcmp(name, xa_names[i].prefix)) {
				*ns = xa_names[i].ns;
				return 0;
			}
			continue;
		}
		if (!strncmp(name, xa_names[i].prefix, plen)) {
			if (!name[plen])
				return -EINVAL;
			*ns = xa_names[i].ns;
			return 0;
		}
	}
	return -EOPNOTSUPP;
}

static bool xa_owner_or_root(struct jfs *fs, const struct jfs_cred *c,
			     const struct ext2_inode_large *inode)
{
	return jfs_cred_is_root(fs, c) || inode_uid(*inode) == c->uid;
}

/* xattr_permission() + the handlers' own checks. */
static int __xa_permission(struct jfs *fs, const struct jfs_cred *c,
			   const struct ext2_inode_large *inode, enum xa_ns ns, bool write)
{
	if (write && (inode->i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL)))
		return -EPERM;
	switch (ns) {
	case XA_SECURITY:
		if (write && !jfs_cred_is_root(fs, c))
			return -EPERM;
		return 0;
	case XA_ACL_ACCESS:
	case XA_ACL_DEFAULT:
		if (write && !xa_owner_or_root(fs, c, inode))
			return -EPERM;
		if (write && ns == XA_ACL_DEFAULT && !LINUX_S_ISDIR(inode->i_mode))
			return -EACCES;
		return 0;
	case XA_TRUSTED:
		if (!jfs_cred_is_root(fs, c))
			return write ? -EPERM : -ENODATA;
		break;
	case XA_USER:
		if (!LINUX_S_ISREG(inode->i_mode) && !LINUX_S_ISDIR(inode->i_mode))
			return write ? -EPERM : -ENODATA;
		if (write && LINUX_S_ISDIR(inode->i_mode) && (inode->i_mode & S_ISVTX) &&
		    !xa_owner_or_root(fs, c, inode))
			return -EPERM;
		break;
	case XA_GNU:
		break;
	}
	return __jfs_permission(fs, c, inode, write ? JFS_MAY_WRITE : JFS_MAY_READ);
}

/* posix_acl_from_xattr(): reject what libext2fs would misconvert (it says
 * ENOMEM for a short header). */
static int xa_check_acl(const void *value, size_t size)
{
	const uint32_t *ver = value;

	if (!value || size < 4 || (size - 4) % 8 || size == 4)
		return -EINVAL;
	if (ext2fs_le32_to_cpu(*ver) != POSIX_ACL_XATTR_VERSION_2)
		return -EOPNOTSUPP;
	return 0;
}

/*
 * posix_acl_to_xattr() gives ACL_UNDEFINED_ID (-1) as the id of every
 * entry but ACL_USER and ACL_GROUP; libext2fs's conversion leaves 0 there.
 * Make the bytes the kernel would return.
 */
static void xa_acl_undefined_ids(void *value, size_t len)
{
	struct { uint16_t tag, perm; uint32_t id; } *e;
	size_t i;

	if (len < 4)
		return;
	e = (void *)((char *)value + 4);
	for (i = 0; i < (len - 4) / 8; i++) {
		uint16_t tag = ext2fs_le16_to_cpu(e[i].tag);

		if (tag != 0x02 /* ACL_USER */ && tag != 0x08 /* ACL_GROUP */)
			e[i].id = ext2fs_cpu_to_le32(0xffffffffu);
	}
}

static int xa_errno(struct jfs *fs, errcode_t e)
{
	switch (e) {
	case 0:				return 0;
	case EXT2_ET_EA_NO_SPACE:	return -ENOSPC;
	case EXT2_ET_EA_KEY_NOT_FOUND:	return -ENODATA;
	case EXT2_ET_MISSING_EA_FEATURE:return -EOPNOTSUPP;
	case EINVAL:			return -EINVAL;
	case ENOMEM:			return -ENOMEM;
	}
	return __jfs_fail(fs, e);
}

/* Open and parse the attributes of `ino`. */
static int __xa_open(struct jfs *fs, ext2_ino_t ino, struct ext2_xattr_handle **h)
{
	errcode_t e;

	lockdep_assert_held(&fs->fs_lock);
	e = ext2fs_xattrs_open(fs->e2fs, ino, h);
	if (e)
		return xa_errno(fs, e);
	e = ext2fs_xattrs_read(*h);
	if (e) {
		ext2fs_xattrs_close(h);
		return xa_errno(fs, e);
	}
	return 0;
}

static bool __xa_exists(struct ext2_xattr_handle *h, const char *name)
{
	unsigned int flags = XATTR_HANDLE_FLAG_RAW, old;
	void *val = NULL;
	size_t len = 0;
	errcode_t e;

	/* raw: no ACL conversion just to test for presence */
	ext2fs_xattrs_flags(h, &flags, &old);
	e = ext2fs_xattr_get(h, name, &val, &len);
	ext2fs_xattrs_flags(h, &old, NULL);
	if (!e)
		ext2fs_free_mem(&val);
	return !e;
}

/* ext4_xattr_set / vfs_setxattr.  Locking: fs lock. */
int jfs_setxattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const char *name,
		 const void *value, size_t size, int flags)
{
	struct ext2_xattr_handle *h = NULL;
	struct ext2_inode_large inode;
	enum xa_ns ns;
	bool exists;
	errcode_t e;
	int err;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	err = xa_resolve(name, &ns);
	if (err)
		return err;
	if (size > XATTR_SIZE_MAX_LEN)
		return -E2BIG;
	if (size && !value)
		return -EFAULT;
	if (ns == XA_ACL_ACCESS || ns == XA_ACL_DEFAULT) {
		err = xa_check_acl(value, size);
		if (err)
			return err;
	}

	err = jfs_op_begin(fs, "setxattr", EXT4_XATTR_SET_CREDITS);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	err = __xa_permission(fs, c, &inode, ns, true);
	if (err)
		goto out;
	err = __xa_open(fs, ino, &h);
	if (err)
		goto out;
	exists = __xa_exists(h, name);
	if ((flags & XATTR_CREATE) && exists) {
		err = -EEXIST;
		goto out_close;
	}
	if ((flags & XATTR_REPLACE) && !exists) {
		err = -ENODATA;
		goto out_close;
	}
	err = jfs_ns_can_allocate(fs, c, 1);
	if (err)
		goto out_close;

	/* -- changes -- */
	e = ext2fs_xattr_set(h, name, size ? value : "", size);
	if (e) {
		err = xa_errno(fs, e);
		goto out_close;
	}
	err = __jfs_touch_ctime(fs, ino);
out_close:
	ext2fs_xattrs_close(&h);
out:
	return jfs_op_end(fs, err);
}

/* ext4_xattr_get / vfs_getxattr.  Locking: fs lock. */
ssize_t jfs_getxattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const char *name,
		     void *buf, size_t size)
{
	struct ext2_xattr_handle *h = NULL;
	struct ext2_inode_large inode;
	void *val = NULL;
	size_t len = 0;
	enum xa_ns ns;
	ssize_t ret;
	errcode_t e;
	int err;

	err = xa_resolve(name, &ns);
	if (err)
		return err;
	err = jfs_op_begin(fs, "getxattr", 0);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	err = __xa_permission(fs, c, &inode, ns, false);
	if (err)
		goto out;
	err = __xa_open(fs, ino, &h);
	if (err)
		goto out;
	e = ext2fs_xattr_get(h, name, &val, &len);
	ext2fs_xattrs_close(&h);
	if (e) {
		err = xa_errno(fs, e);
		goto out;
	}
	if (ns == XA_ACL_ACCESS || ns == XA_ACL_DEFAULT)
		xa_acl_undefined_ids(val, len);
	if (size == 0) {
		ret = len;
	} else if (len > size) {
		err = -ERANGE;
		goto out;
	} else {
		memcpy(buf, val, len);
		ret = len;
	}
	ext2fs_free_mem(&val);
	err = jfs_op_end(fs, 0);
	return err ? err : ret;
out:
	if (val)
		ext2fs_free_mem(&val);
	return jfs_op_end(fs, err);
}

struct xa_list {
	struct jfs *fs;
	const struct jfs_cred *c;
	char *buf;
	size_t size, len;
	bool range;
};

static int xa_list_proc(char *name, char *value, size_t value_len, void *priv)
{
	struct xa_list *l = priv;
	size_t n = strlen(name) + 1;
	enum xa_ns ns;

	if (xa_resolve(name, &ns))
		return 0;		/* system.data and friends: hidden */
	if (ns == XA_TRUSTED && !jfs_cred_is_root(l->fs, l->c))
		return 0;		/* ext4_xattr_trusted_list() */
	if (l->size) {
		if (l->len + n > l->size) {
			l->range = true;
			return XATTR_ABORT;
		}
		memcpy(l->buf + l->len, name, n);
	}
	l->len += n;
	return 0;
}

/* ext4_listxattr.  Locking: fs lock. */
ssize_t jfs_listxattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, char *buf,
		      size_t size)
{
	struct xa_list l = { .fs = fs, .c = c, .buf = buf, .size = size };
	struct ext2_xattr_handle *h = NULL;
	struct ext2_inode_large inode;
	errcode_t e;
	int err;

	err = jfs_op_begin(fs, "listxattr", 0);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	err = __xa_open(fs, ino, &h);
	if (err)
		goto out;
	e = ext2fs_xattrs_iterate(h, xa_list_proc, &l);
	ext2fs_xattrs_close(&h);
	if (e)
		err = xa_errno(fs, e);
	else if (l.range)
		err = -ERANGE;
out:
	err = jfs_op_end(fs, err);
	return err ? err : (ssize_t)l.len;
}

/* ext4_xattr_set(value = NULL) / vfs_removexattr.  Locking: fs lock. */
int jfs_removexattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const char *name)
{
	struct ext2_xattr_handle *h = NULL;
	struct ext2_inode_large inode;
	enum xa_ns ns;
	errcode_t e;
	int err;

	err = xa_resolve(name, &ns);
	if (err)
		return err;
	err = jfs_op_begin(fs, "removexattr", EXT4_XATTR_SET_CREDITS);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	err = __xa_permission(fs, c, &inode, ns, true);
	if (err == -EACCES && ns == XA_ACL_DEFAULT) {
		err = 0;	/* set_posix_acl(NULL) on a non-directory: no-op */
		goto out;
	}
	if (err)
		goto out;
	err = __xa_open(fs, ino, &h);
	if (err)
		goto out;
	if (!__xa_exists(h, name)) {
		err = -ENODATA;
		goto out_close;
	}
	/* -- changes -- */
	e = ext2fs_xattr_remove(h, name);
	if (e) {
		err = xa_errno(fs, e);
		goto out_close;
	}
	err = __jfs_touch_ctime(fs, ino);
out_close:
	ext2fs_xattrs_close(&h);
out:
	return jfs_op_end(fs, err);
}
