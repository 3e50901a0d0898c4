/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ns_xattr.c - extended attributes: flags, sizes, namespaces, ACLs, and
 * what the kernel reads back.
 *
 * Story: fuse2fs 1.47.0 ignores XATTR_CREATE/XATTR_REPLACE, says 0 when
 * removing a missing name, accepts any prefix, and converts POSIX ACLs
 * twice (libext2fs already converts between the VFS and the ext4 format),
 * so the kernel reads back garbage ACLs.  Each of those is checked here,
 * the ACL by comparing the kernel's getxattr bytes with what we set.
 */
#include "ns_test.h"
#include <sys/xattr.h>

#define ACL_USER_OBJ	0x01
#define ACL_USER	0x02
#define ACL_GROUP_OBJ	0x04
#define ACL_MASK	0x10
#define ACL_OTHER	0x20

struct vfs_acl {
	uint32_t version;
	struct { uint16_t tag, perm; uint32_t id; } e[5];
} __attribute__((packed));

static const struct jfs_cred u1 = { .uid = 1000, .gid = 1000 };

static void run(unsigned int bs, const char *features, const char *tag)
{
	/* as setfacl sends it: ACL_UNDEFINED_ID where there is no id */
	struct vfs_acl acl = { 2, { { ACL_USER_OBJ, 6, ~0u }, { ACL_USER, 4, 1000 },
				   { ACL_GROUP_OBJ, 4, ~0u }, { ACL_MASK, 4, ~0u },
				   { ACL_OTHER, 0, ~0u } } };
	char img[300], buf[70000], name[300], big[70000];
	struct jfs *fs;
	struct stat st, st2;
	ino_t f, d, fifo, lnk, many;
	ssize_t n;
	int i, ret;

	printf("%s: bs %u features '%s'\n", tag, bs, features);
	ns_mkfs(img, sizeof(img), tag, bs, features, 32);
	fs = ns_mount(img);
	CHECK_OK(jfs_mknod(fs, &ns_root, 2, "f", S_IFREG | 0666, 0, &st));
	f = st.st_ino;
	CHECK_OK(jfs_mkdir(fs, &ns_root, 2, "d", 0777, &st));
	d = st.st_ino;
	CHECK_OK(jfs_mknod(fs, &ns_root, 2, "fifo", S_IFIFO | 0666, 0, &st));
	fifo = st.st_ino;
	CHECK_OK(jfs_symlink(fs, &ns_root, 2, "lnk", "f", &st));
	lnk = st.st_ino;

	/* basic get/set/list/remove and the flags */
	CHECK_OK(jfs_getattr(fs, f, &st));
	usleep(2000);
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "user.a", "hello", 5, 0));
	CHECK_OK(jfs_getattr(fs, f, &st2));
	CHECK(st2.st_ctim.tv_sec > st.st_ctim.tv_sec ||
	      (st2.st_ctim.tv_sec == st.st_ctim.tv_sec && st2.st_ctim.tv_nsec > st.st_ctim.tv_nsec));
	CHECK_EQ(jfs_getxattr(fs, &ns_root, f, "user.a", NULL, 0), 5);
	CHECK_ERR(jfs_getxattr(fs, &ns_root, f, "user.a", buf, 2), ERANGE);
	CHECK_EQ(jfs_getxattr(fs, &ns_root, f, "user.a", buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "hello", 5));
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "user.a", "x", 1, XATTR_CREATE), EEXIST);
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "user.a", "bye", 3, XATTR_REPLACE));
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "user.empty", NULL, 0, XATTR_CREATE));
	CHECK_EQ(jfs_getxattr(fs, &ns_root, f, "user.empty", buf, sizeof(buf)), 0);
	CHECK_ERR(jfs_removexattr(fs, &ns_root, f, "user.missing"), ENODATA);
	CHECK_ERR(jfs_getxattr(fs, &ns_root, f, "user.missing", buf, sizeof(buf)), ENODATA);
	n = jfs_listxattr(fs, &ns_root, f, NULL, 0);
	CHECK_EQ(n, sizeof("user.a") + sizeof("user.empty"));
	CHECK_ERR(jfs_listxattr(fs, &ns_root, f, buf, 3), ERANGE);
	CHECK_EQ(jfs_listxattr(fs, &ns_root, f, buf, sizeof(buf)), n);

	/* names */
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "foo.bar", "x", 1, 0), EOPNOTSUPP);
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "system.data", "x", 1, 0), EOPNOTSUPP);
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "user.", "x", 1, 0), EINVAL);
	CHECK_ERR(jfs_getxattr(fs, &ns_root, f, "", buf, 10), ERANGE);
	memcpy(name, "user.", 5);
	ns_name(name + 5, 251, "n");
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, name, "x", 1, 0), ERANGE);

	/* namespaces and who may use them */
	CHECK_ERR(jfs_setxattr(fs, &ns_root, fifo, "user.a", "x", 1, 0), EPERM);
	CHECK_ERR(jfs_setxattr(fs, &ns_root, lnk, "user.a", "x", 1, 0), EPERM);
	CHECK_ERR(jfs_getxattr(fs, &ns_root, fifo, "user.a", buf, 10), ENODATA);
	CHECK_OK(jfs_setxattr(fs, &ns_root, fifo, "trusted.t", "tt", 2, 0));
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "trusted.t", "tt", 2, 0));
	CHECK_ERR(jfs_setxattr(fs, &u1, f, "trusted.u", "x", 1, 0), EPERM);
	CHECK_ERR(jfs_getxattr(fs, &u1, f, "trusted.t", buf, 10), ENODATA);
	CHECK_EQ(jfs_listxattr(fs, &u1, f, NULL, 0), n);	/* trusted.* hidden */
	CHECK_EQ(jfs_listxattr(fs, &ns_root, f, NULL, 0), n + sizeof("trusted.t"));
	CHECK_ERR(jfs_setxattr(fs, &u1, f, "security.s", "x", 1, 0), EPERM);
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "security.s", "sec", 3, 0));
	CHECK_EQ(jfs_getxattr(fs, &u1, f, "security.s", buf, 10), 3);
	CHECK_OK(jfs_setxattr(fs, &u1, f, "user.byu1", "1", 1, 0));	/* mode 0666 */

	/* ACLs: set in the VFS format, read back the same bytes */
	CHECK_ERR(jfs_setxattr(fs, &u1, f, "system.posix_acl_access", &acl, sizeof(acl), 0), EPERM);
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "system.posix_acl_access", &acl, sizeof(acl), 0));
	CHECK_EQ(jfs_getxattr(fs, &ns_root, f, "system.posix_acl_access", buf, sizeof(buf)),
		 sizeof(acl));
	CHECK(!memcmp(buf, &acl, sizeof(acl)));
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "system.posix_acl_default", &acl, sizeof(acl), 0),
		  EACCES);
	CHECK_OK(jfs_setxattr(fs, &ns_root, d, "system.posix_acl_default", &acl, sizeof(acl), 0));
	CHECK_ERR(jfs_setxattr(fs, &ns_root, d, "system.posix_acl_access", &acl, 6, 0), EINVAL);

	/* sizes: too big for the VFS, too big for inode + one block */
	memset(big, 'v', sizeof(big));
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "user.huge", big, 65537, 0), E2BIG);
	CHECK_ERR(jfs_setxattr(fs, &ns_root, f, "user.big", big, bs, 0), ENOSPC);
	CHECK_OK(jfs_setxattr(fs, &ns_root, f, "user.mid", big, bs / 2, 0));
	CHECK_EQ(jfs_getxattr(fs, &ns_root, f, "user.mid", buf, sizeof(buf)), bs / 2);
	CHECK(!memcmp(buf, big, bs / 2));
	/* fill an EA block with small ones until ENOSPC */
	CHECK_OK(jfs_mknod(fs, &ns_root, 2, "many", S_IFREG | 0644, 0, &st));
	many = st.st_ino;
	for (i = 0, ret = 0; i < 1000 && !ret; i++) {
		snprintf(name, sizeof(name), "user.k%04d", i);
		ret = jfs_setxattr(fs, &ns_root, many, name, "0123456789abcdef", 16, 0);
	}
	CHECK_EQ(ret, -ENOSPC);
	CHECK(i > 10);
	snprintf(name, sizeof(name), "user.k%04d", 3);
	CHECK_OK(jfs_removexattr(fs, &ns_root, many, name));
	CHECK_ERR(jfs_getxattr(fs, &ns_root, many, name, buf, 10), ENODATA);
	CHECK_OK(jfs_removexattr(fs, &ns_root, f, "user.mid"));
	CHECK_OK(jfs_removexattr(fs, &ns_root, f, "user.empty"));

	ns_check_credits(fs, __func__);
	CHECK_OK(jfs_unmount(fs));
	CHECK_EQ(ns_fsck(img), 0);

	/* the kernel reads the same values and ACL bytes */
	{
		const char *km = ns_kmount(0, img, true);
		char p[600];

		if (!km) {
			printf("%s: no kernel mount, comparison skipped\n", tag);
			return;
		}
		snprintf(p, sizeof(p), "%s/f", km);
		CHECK_EQ(lgetxattr(p, "user.a", buf, sizeof(buf)), 3);
		CHECK(!memcmp(buf, "bye", 3));
		CHECK_EQ(lgetxattr(p, "trusted.t", buf, sizeof(buf)), 2);
		CHECK_EQ(lgetxattr(p, "security.s", buf, sizeof(buf)), 3);
		n = lgetxattr(p, "system.posix_acl_access", buf, sizeof(buf));
		CHECK_EQ(n, sizeof(acl));
		CHECK(!memcmp(buf, &acl, sizeof(acl)));
		CHECK(lgetxattr(p, "user.mid", buf, sizeof(buf)) < 0 && errno == ENODATA);
		snprintf(p, sizeof(p), "%s/d", km);
		n = lgetxattr(p, "system.posix_acl_default", buf, sizeof(buf));
		CHECK_EQ(n, sizeof(acl));
		CHECK(!memcmp(buf, &acl, sizeof(acl)));
		snprintf(p, sizeof(p), "%s/many", km);
		CHECK_EQ(lgetxattr(p, "user.k0000", buf, sizeof(buf)), 16);
		ns_kumount(0);
	}
}

int main(void)
{
	ns_setup("ns_xattr");
	run(1024, "", "xa1k");
	run(4096, "^metadata_csum,^64bit", "xa4k-plain");
	run(4096, "", "xa4k");
	printf("ns_xattr: ok\n");
	return 0;
}
