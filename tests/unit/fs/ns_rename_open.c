/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ns_rename_open.c - names removed from inodes that are still in use
 * (fstests generic/035 and friends).
 *
 * Story: with libfuse2's high-level API fuse2fs never sees an open file
 * being unlinked (the library renames it to .fuse_hiddenXXXX); with the
 * low-level API the kernel sends UNLINK/RENAME/RMDIR for inodes it still
 * holds (lookup count, open files), so the victim must go on the orphan
 * list and live until its last FORGET/RELEASE.  generic/035 renames a file
 * over an open file and checks that the open one is still usable, with
 * nlink 0, and that the space comes back after close.
 */
#include "ns_test.h"

static ino_t create_tagged(struct jfs *fs, ino_t dir, const char *name, const char *tag)
{
	struct stat st;

	CHECK_OK(jfs_create(fs, &ns_root, dir, name, 0644, O_RDWR, &st));
	CHECK_OK(jfs_setxattr(fs, &ns_root, st.st_ino, "user.tag", tag, strlen(tag), 0));
	return st.st_ino;
}

static void check_tag(struct jfs *fs, ino_t ino, const char *tag)
{
	char buf[64];
	ssize_t n = jfs_getxattr(fs, &ns_root, ino, "user.tag", buf, sizeof(buf));

	CHECK_EQ(n, strlen(tag));
	CHECK(!memcmp(buf, tag, n));
}

static void run(unsigned int bs, const char *features, const char *tag, bool release_first)
{
	char img[300];
	struct jfs *fs;
	struct stat st;
	struct statvfs sv0, sv1;
	ino_t a, b, d, e, x, fd;
	struct ns_rd r;

	printf("%s: bs %u features '%s' %s\n", tag, bs, features,
	       release_first ? "release before unmount" : "unmount with orphans");
	ns_mkfs(img, sizeof(img), tag, bs, features, 32);
	fs = ns_mount(img);
	CHECK_OK(jfs_statfs(fs, &sv0));

	/* generic/035: rename a over the open b */
	a = create_tagged(fs, 2, "a", "A");
	b = create_tagged(fs, 2, "b", "B");
	CHECK_OK(jfs_rename(fs, &ns_root, 2, "a", 2, "b", 0));
	CHECK_OK(jfs_lookup(fs, &ns_root, 2, "b", &st));
	CHECK_EQ(st.st_ino, a);
	CHECK_OK(jfs_getattr(fs, b, &st));
	CHECK_EQ(st.st_nlink, 0);
	check_tag(fs, b, "B");
	check_tag(fs, a, "A");

	/* unlink of an open file */
	x = create_tagged(fs, 2, "x", "X");
	CHECK_OK(jfs_unlink(fs, &ns_root, 2, "x"));
	CHECK_OK(jfs_getattr(fs, x, &st));
	CHECK_EQ(st.st_nlink, 0);
	check_tag(fs, x, "X");

	/* rmdir of an open directory: it lists nothing any more */
	CHECK_OK(jfs_mkdir(fs, &ns_root, 2, "d", 0755, &st));
	d = st.st_ino;
	CHECK_OK(jfs_opendir(fs, &ns_root, d));
	CHECK_OK(jfs_rmdir(fs, &ns_root, 2, "d"));
	ns_readdir_all(fs, d, 0, &r);
	CHECK_EQ(r.n, 0);
	free(r.ents);
	CHECK_ERR(jfs_mknod(fs, &ns_root, d, "late", S_IFREG | 0644, 0, &st), ENOENT);
	CHECK_ERR(jfs_lookup(fs, &ns_root, d, "..", &st), ENOENT);

	/* a directory renamed over an empty directory that is open */
	CHECK_OK(jfs_mkdir(fs, &ns_root, 2, "e", 0755, &st));
	e = st.st_ino;
	CHECK_OK(jfs_opendir(fs, &ns_root, e));
	CHECK_OK(jfs_mkdir(fs, &ns_root, 2, "f", 0755, &st));
	fd = st.st_ino;
	CHECK_OK(jfs_rename(fs, &ns_root, 2, "f", 2, "e", 0));
	CHECK_OK(jfs_getattr(fs, e, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_OK(jfs_getattr(fs, 2, &st));
	CHECK_EQ(st.st_nlink, 4);		/* ., .., lost+found, e */

	if (release_first) {
		CHECK_OK(jfs_release(fs, b));
		jfs_forget(fs, b, 1);
		CHECK_OK(jfs_release(fs, x));
		jfs_forget(fs, x, 1);
		CHECK_OK(jfs_releasedir(fs, d));
		jfs_forget(fs, d, 1);
		CHECK_OK(jfs_releasedir(fs, e));
		jfs_forget(fs, e, 1);
		CHECK_ERR(jfs_iget(fs, b, &st), ESTALE);
		CHECK_OK(jfs_release(fs, a));
		CHECK_OK(jfs_unlink(fs, &ns_root, 2, "b"));
		jfs_forget(fs, a, 2);
		CHECK_OK(jfs_rmdir(fs, &ns_root, 2, "e"));
		jfs_forget(fs, fd, 1);		/* mkdir's lookup reference */
		/* everything came back (inodes at least; blocks too) */
		CHECK_OK(jfs_statfs(fs, &sv1));
		CHECK_EQ(sv1.f_ffree, sv0.f_ffree);
		CHECK_EQ(sv1.f_bfree, sv0.f_bfree);
	}
	ns_check_credits(fs, __func__);
	CHECK_OK(jfs_unmount(fs));
	CHECK_EQ(ns_fsck(img), 0);
	/* the orphan list is empty again (dumpe2fs names a non-zero head) */
	CHECK(ns_sh("dumpe2fs -h '%s' 2>/dev/null | grep -qi 'first orphan inode'", img) != 0);
}

int main(void)
{
	ns_setup("ns_rename_open");
	run(4096, "", "ro4k", true);
	run(4096, "", "ro4k-orph", false);
	run(1024, "^64bit,^metadata_csum", "ro1k-plain", true);
	run(2048, "^metadata_csum", "ro2k-orph", false);
	printf("ns_rename_open: ok\n");
	return 0;
}
