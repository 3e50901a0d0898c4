/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ns_perm.c - permission checks of the namespace ops without
 * default_permissions: search/write permission on directories, the sticky
 * bit (check_sticky in may_delete, for unlink, rmdir and both ends of a
 * rename), CAP_MKNOD for device nodes, and write permission on a directory
 * that moves to another parent (its ".." changes).  With
 * default_permissions the kernel has checked already and jfs must not
 * refuse.
 */
#include "ns_test.h"
#include <sys/sysmacros.h>

static const struct jfs_cred u1 = { .uid = 1000, .gid = 1000 };
static const struct jfs_cred u2 = { .uid = 1001, .gid = 1001 };

static ino_t mkd(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
		 mode_t mode)
{
	struct stat st;

	CHECK_OK(jfs_mkdir(fs, c, dir, name, mode, &st));
	return st.st_ino;
}

static void chmod_(struct jfs *fs, ino_t ino, mode_t mode)
{
	struct stat attr = { .st_mode = mode }, st;

	CHECK_OK(jfs_setattr(fs, &ns_root, ino, &attr, JFS_SET_MODE, &st));
}

int main(void)
{
	char img[300];
	struct jfs_mount_opts o = { .seed = 1, .default_permissions = true };
	char err[256];
	struct jfs *fs;
	struct stat st;
	ino_t pub, priv, mine, ro;

	ns_setup("ns_perm");
	ns_mkfs(img, sizeof(img), "perm", 4096, "", 32);
	fs = ns_mount(img);

	pub = mkd(fs, &ns_root, 2, "pub", 0777);
	chmod_(fs, pub, S_IFDIR | 01777);
	priv = mkd(fs, &ns_root, 2, "priv", 0700);

	/* search and write permission */
	CHECK_ERR(jfs_lookup(fs, &u1, priv, "x", &st), EACCES);
	CHECK_ERR(jfs_mkdir(fs, &u1, priv, "x", 0755, &st), EACCES);
	CHECK_ERR(jfs_mknod(fs, &u1, 2, "x", S_IFREG | 0644, 0, &st), EACCES);
	CHECK_ERR(jfs_mknod(fs, &u1, pub, "c", S_IFCHR | 0644, makedev(1, 3), &st), EPERM);

	/* sticky: u2 may not remove or replace u1's file, u1 and root may */
	CHECK_OK(jfs_mknod(fs, &u1, pub, "f1", S_IFREG | 0666, 0, &st));
	CHECK_OK(jfs_mknod(fs, &u2, pub, "f2", S_IFREG | 0666, 0, &st));
	CHECK_ERR(jfs_unlink(fs, &u2, pub, "f1"), EPERM);
	CHECK_ERR(jfs_rename(fs, &u2, pub, "f1", pub, "g", 0), EPERM);
	CHECK_ERR(jfs_rename(fs, &u2, pub, "f2", pub, "f1", 0), EPERM);
	CHECK_ERR(jfs_rename(fs, &u2, pub, "f2", pub, "f1", JFS_RENAME_EXCHANGE), EPERM);
	mine = mkd(fs, &u1, pub, "d1", 0755);
	CHECK_ERR(jfs_rmdir(fs, &u2, pub, "d1"), EPERM);
	CHECK_OK(jfs_rename(fs, &u1, pub, "f1", pub, "f1b", 0));
	CHECK_OK(jfs_unlink(fs, &ns_root, pub, "f2"));

	/* moving a directory to another parent needs write on it */
	ro = mkd(fs, &u1, pub, "ro", 0755);
	CHECK_OK(jfs_rename(fs, &u1, pub, "ro", mine, "ro", 0));
	chmod_(fs, ro, S_IFDIR | 0555);
	CHECK_ERR(jfs_rename(fs, &u1, mine, "ro", pub, "ro", 0), EACCES);
	CHECK_OK(jfs_rename(fs, &u1, mine, "ro", mine, "ro2", 0));	/* same parent: fine */

	/* no write permission in the target parent */
	CHECK_ERR(jfs_rename(fs, &u1, pub, "f1b", priv, "f", 0), EACCES);
	CHECK_ERR(jfs_link(fs, &u1, ro, pub, "l", &st), EPERM);

	ns_check_credits(fs, __func__);
	CHECK_OK(jfs_unmount(fs));
	CHECK_EQ(ns_fsck(img), 0);

	/* default_permissions: the kernel decided, we do not refuse */
	CHECK_OK(jfs_mount(img, &o, &fs, err, sizeof(err)));
	CHECK_OK(jfs_lookup(fs, &u2, 2, "pub", &st));
	CHECK_OK(jfs_unlink(fs, &u2, pub, "f1b"));
	CHECK_OK(jfs_mkdir(fs, &u2, priv, "x", 0755, &st));
	ns_check_credits(fs, __func__);
	CHECK_OK(jfs_unmount(fs));
	CHECK_EQ(ns_fsck(img), 0);
	printf("ns_perm: ok\n");
	return 0;
}
