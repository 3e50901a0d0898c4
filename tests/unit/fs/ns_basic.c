/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ns_basic.c - the namespace operations on fresh mkfs.ext4 images of 1, 2
 * and 4 KiB blocks, with the Debian defaults (64bit, metadata_csum) and
 * without them: mkdir/mknod/create/symlink/link/unlink/rmdir/rename with
 * their error cases, then jfs_unmount, e2fsck -fn, and a read-only kernel
 * mount that must see the same names, link targets, device numbers and
 * parent links.
 *
 * The bug stories behind some checks:
 *  - fuse2fs passes names of more than 255 bytes to ext2fs_link, which
 *    stores name_len modulo 256 and corrupts the parent (libext2fs.md §5.2):
 *    every op that takes a name must say ENAMETOOLONG and change nothing,
 *    which e2fsck confirms.
 *  - RENAME_EXCHANGE of a directory and a file across directories must
 *    move the directory's ".." and the parents' link counts (e2fsck pass 2/4
 *    catch both).
 */
#include "ns_test.h"
#include <sys/sysmacros.h>

static ino_t mk(struct jfs *fs, ino_t dir, const char *name, mode_t mode)
{
	struct stat st;

	if (S_ISDIR(mode))
		CHECK_OK(jfs_mkdir(fs, &ns_root, dir, name, mode & 07777, &st));
	else
		CHECK_OK(jfs_mknod(fs, &ns_root, dir, name, mode, 0, &st));
	return st.st_ino;
}

static ino_t look(struct jfs *fs, ino_t dir, const char *name, struct stat *st)
{
	struct stat tmp;

	if (!st)
		st = &tmp;
	CHECK_OK(jfs_lookup(fs, &ns_root, dir, name, st));
	return st->st_ino;
}

static nlink_t nlink(struct jfs *fs, ino_t ino)
{
	struct stat st;

	CHECK_OK(jfs_getattr(fs, ino, &st));
	return st.st_nlink;
}

static void names_too_long(struct jfs *fs, ino_t d, ino_t f)
{
	char n300[301], n256[257];
	struct stat st;

	ns_name(n300, 300, "long");
	ns_name(n256, 256, "long");
	CHECK_ERR(jfs_lookup(fs, &ns_root, 2, n300, &st), ENAMETOOLONG);
	CHECK_ERR(jfs_lookup(fs, &ns_root, 2, n256, &st), ENAMETOOLONG);
	CHECK_ERR(jfs_mkdir(fs, &ns_root, 2, n300, 0755, &st), ENAMETOOLONG);
	CHECK_ERR(jfs_mknod(fs, &ns_root, 2, n300, S_IFIFO | 0644, 0, &st), ENAMETOOLONG);
	CHECK_ERR(jfs_create(fs, &ns_root, 2, n300, 0644, O_WRONLY, &st), ENAMETOOLONG);
	CHECK_ERR(jfs_symlink(fs, &ns_root, 2, n300, "t", &st), ENAMETOOLONG);
	CHECK_ERR(jfs_link(fs, &ns_root, f, 2, n300, &st), ENAMETOOLONG);
	CHECK_ERR(jfs_unlink(fs, &ns_root, 2, n300), ENAMETOOLONG);
	CHECK_ERR(jfs_rmdir(fs, &ns_root, 2, n300), ENAMETOOLONG);
	CHECK_ERR(jfs_rename(fs, &ns_root, d, "f", 2, n300, 0), ENAMETOOLONG);
	CHECK_ERR(jfs_rename(fs, &ns_root, d, n300, 2, "x", 0), ENAMETOOLONG);
	CHECK_ERR(jfs_mkdir(fs, &ns_root, 2, "", 0755, &st), EINVAL);
	CHECK_ERR(jfs_mkdir(fs, &ns_root, 2, "a/b", 0755, &st), EINVAL);
}

struct kexpect {
	char fast_target[64];
	char slow_target[300];
	dev_t blk_rdev, chr_rdev;
	nlink_t a_nlink, b_nlink;
	ino_t moved_dir;
};

static void run(unsigned int bs, const char *features, const char *tag)
{
	char img[300], n255[256], slow[300], toolong[4200], buf[4200];
	struct kexpect kx = { 0 };
	struct jfs *fs;
	struct stat st;
	struct ns_rd rd;
	ino_t d, f, a, b, x, sub, fino, moved;
	const char *km;
	int i;

	printf("%s: bs %u features '%s'\n", tag, bs, features);
	ns_mkfs(img, sizeof(img), tag, bs, features, 64);
	fs = ns_mount(img);

	/* mkdir, link counts */
	d = mk(fs, 2, "d", S_IFDIR | 0755);
	CHECK_OK(jfs_getattr(fs, d, &st));
	CHECK_EQ(st.st_mode, S_IFDIR | 0755);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(nlink(fs, 2), 4);		/* ".", "..", lost+found, d */
	CHECK_ERR(jfs_mkdir(fs, &ns_root, 2, "d", 0755, &st), EEXIST);
	CHECK_ERR(jfs_mkdir(fs, &ns_root, 99999999, "q", 0755, &st), ESTALE);

	/* create + an open file */
	CHECK_OK(jfs_create(fs, &ns_root, d, "f", 0640, O_WRONLY, &st));
	f = st.st_ino;
	CHECK_EQ(st.st_mode, S_IFREG | 0640);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_OK(jfs_release(fs, f));
	CHECK_ERR(jfs_create(fs, &ns_root, d, "f", 0640, O_WRONLY | O_CREAT | O_EXCL, &st), EEXIST);
	CHECK_ERR(jfs_mkdir(fs, &ns_root, f, "x", 0755, &st), ENOTDIR);
	CHECK_ERR(jfs_lookup(fs, &ns_root, d, "nope", &st), ENOENT);

	names_too_long(fs, d, f);
	ns_name(n255, 255, "n255");
	x = mk(fs, 2, n255, S_IFDIR | 0700);
	CHECK_EQ(look(fs, 2, n255, NULL), x);

	/* special files */
	mk(fs, d, "fifo", S_IFIFO | 0600);
	mk(fs, d, "sock", S_IFSOCK | 0600);
	kx.chr_rdev = makedev(1, 3);
	kx.blk_rdev = makedev(300, 70000);	/* needs the new encoding */
	CHECK_OK(jfs_mknod(fs, &ns_root, d, "chr", S_IFCHR | 0600, kx.chr_rdev, &st));
	CHECK_EQ(st.st_rdev, kx.chr_rdev);
	CHECK_OK(jfs_mknod(fs, &ns_root, d, "blk", S_IFBLK | 0600, kx.blk_rdev, &st));
	look(fs, d, "blk", &st);
	CHECK_EQ(st.st_rdev, kx.blk_rdev);
	CHECK(S_ISBLK(st.st_mode));
	look(fs, d, "fifo", &st);
	CHECK(S_ISFIFO(st.st_mode));

	/* symlinks: fast, slow, too long */
	snprintf(kx.fast_target, sizeof(kx.fast_target), "%s", "../some/where");
	memset(slow, 's', 200);
	slow[0] = '/';
	slow[200] = 0;
	snprintf(kx.slow_target, sizeof(kx.slow_target), "%s", slow);
	CHECK_OK(jfs_symlink(fs, &ns_root, d, "fast", kx.fast_target, &st));
	CHECK_EQ(st.st_size, strlen(kx.fast_target));
	CHECK_OK(jfs_symlink(fs, &ns_root, d, "slow", kx.slow_target, &st));
	CHECK_EQ(st.st_size, 200);
	CHECK_EQ(jfs_readlink(fs, st.st_ino, buf, sizeof(buf)), 200);
	CHECK(!strcmp(buf, kx.slow_target));
	CHECK_EQ(jfs_readlink(fs, look(fs, d, "fast", NULL), buf, sizeof(buf)),
		 strlen(kx.fast_target));
	CHECK(!strcmp(buf, kx.fast_target));
	memset(toolong, 'y', bs);
	toolong[bs] = 0;
	CHECK_ERR(jfs_symlink(fs, &ns_root, d, "toolong", toolong, &st), ENAMETOOLONG);
	toolong[bs - 1] = 0;			/* blocksize - 1 bytes fit */
	CHECK_OK(jfs_symlink(fs, &ns_root, d, "maxlink", toolong, &st));
	CHECK_EQ(jfs_readlink(fs, st.st_ino, buf, sizeof(buf)), bs - 1);
	CHECK_ERR(jfs_readlink(fs, d, buf, sizeof(buf)), EINVAL);

	/* hard links */
	CHECK_OK(jfs_link(fs, &ns_root, f, 2, "flink", &st));
	CHECK_EQ(st.st_nlink, 2);
	CHECK_ERR(jfs_link(fs, &ns_root, d, 2, "dlink", &st), EPERM);
	CHECK_ERR(jfs_link(fs, &ns_root, f, 2, "flink", &st), EEXIST);
	CHECK_ERR(jfs_link(fs, &ns_root, f, f, "x", &st), ENOTDIR);

	/* unlink / rmdir errors */
	CHECK_ERR(jfs_unlink(fs, &ns_root, 2, "d"), EISDIR);
	CHECK_ERR(jfs_rmdir(fs, &ns_root, 2, "flink"), ENOTDIR);
	CHECK_ERR(jfs_rmdir(fs, &ns_root, 2, "d"), ENOTEMPTY);
	CHECK_ERR(jfs_rmdir(fs, &ns_root, d, "."), EINVAL);
	CHECK_ERR(jfs_rmdir(fs, &ns_root, d, ".."), ENOTEMPTY);
	CHECK_ERR(jfs_unlink(fs, &ns_root, 2, "nope"), ENOENT);
	CHECK_OK(jfs_unlink(fs, &ns_root, 2, "flink"));
	CHECK_EQ(nlink(fs, f), 1);

	/* rename */
	a = mk(fs, 2, "a", S_IFDIR | 0755);
	b = mk(fs, 2, "b", S_IFDIR | 0755);
	sub = mk(fs, a, "sub", S_IFDIR | 0755);
	mk(fs, sub, "deep", S_IFDIR | 0755);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "a", sub, "a2", 0), EINVAL);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "a", a, "self", 0), EINVAL);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "a", 2, "b", JFS_RENAME_WHITEOUT), EINVAL);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "a", 2, "b", JFS_RENAME_NOREPLACE), EEXIST);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "b", a, "sub", 0), ENOTEMPTY);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "b", d, "f", 0), ENOTDIR);
	CHECK_ERR(jfs_rename(fs, &ns_root, d, "f", 2, "b", 0), EISDIR);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "nope", 2, "x", 0), ENOENT);
	CHECK_ERR(jfs_rename(fs, &ns_root, 2, "a", 2, "nope", JFS_RENAME_EXCHANGE), ENOENT);
	CHECK_OK(jfs_rename(fs, &ns_root, 2, "a", 2, "a", 0));	/* same entry */

	/* move a dir between parents: ".." and link counts follow */
	CHECK_OK(jfs_rename(fs, &ns_root, a, "sub", b, "sub", 0));
	CHECK_EQ(look(fs, sub, "..", NULL), b);
	CHECK_EQ(nlink(fs, a), 2);
	CHECK_EQ(nlink(fs, b), 3);
	/* replace an empty dir: the old one goes, b loses nothing net */
	mk(fs, a, "empty", S_IFDIR | 0755);
	CHECK_OK(jfs_rename(fs, &ns_root, b, "sub", a, "empty", 0));
	CHECK_EQ(look(fs, a, "empty", NULL), sub);
	CHECK_EQ(nlink(fs, a), 3);
	CHECK_EQ(nlink(fs, b), 2);
	CHECK_OK(jfs_rename(fs, &ns_root, a, "empty", b, "sub", 0));

	/* replace a file with a file */
	mk(fs, a, "victim", S_IFREG | 0644);
	fino = mk(fs, a, "src", S_IFREG | 0600);
	CHECK_OK(jfs_rename(fs, &ns_root, a, "src", a, "victim", 0));
	CHECK_EQ(look(fs, a, "victim", &st), fino);
	CHECK_EQ(st.st_mode, S_IFREG | 0600);
	CHECK_ERR(jfs_lookup(fs, &ns_root, a, "src", &st), ENOENT);

	/* EXCHANGE a directory (b/sub) with a file (a/victim) */
	CHECK_OK(jfs_rename(fs, &ns_root, b, "sub", a, "victim", JFS_RENAME_EXCHANGE));
	CHECK_EQ(look(fs, a, "victim", NULL), sub);
	CHECK_EQ(look(fs, b, "sub", NULL), fino);
	CHECK_EQ(look(fs, sub, "..", NULL), a);
	CHECK_EQ(nlink(fs, a), 3);
	CHECK_EQ(nlink(fs, b), 2);
	/* and back, and a dir/dir exchange within one parent */
	CHECK_OK(jfs_rename(fs, &ns_root, a, "victim", b, "sub", JFS_RENAME_EXCHANGE));
	CHECK_EQ(look(fs, sub, "..", NULL), b);
	CHECK_OK(jfs_rename(fs, &ns_root, 2, "a", 2, "b", JFS_RENAME_EXCHANGE));
	CHECK_EQ(look(fs, 2, "a", NULL), b);
	CHECK_EQ(look(fs, 2, "b", NULL), a);
	moved = sub;
	kx.moved_dir = moved;
	kx.a_nlink = nlink(fs, b);		/* the dir now called "a" */
	kx.b_nlink = nlink(fs, a);

	/* sgid directories: group and S_ISGID inherited */
	{
		struct jfs_cred user = { .uid = 1000, .gid = 1000 };
		struct stat attr = { .st_gid = 1234, .st_mode = S_IFDIR | 02777 };
		ino_t sg = mk(fs, 2, "sg", S_IFDIR | 0777);

		CHECK_OK(jfs_setattr(fs, &ns_root, sg, &attr, JFS_SET_GID | JFS_SET_MODE, &st));
		CHECK_OK(jfs_mkdir(fs, &user, sg, "ud", 0755, &st));
		CHECK_EQ(st.st_gid, 1234);
		CHECK_EQ(st.st_uid, 1000);
		CHECK_EQ(st.st_mode, S_IFDIR | 02755);
		CHECK_OK(jfs_mknod(fs, &user, sg, "uf", S_IFREG | 02755, 0, &st));
		CHECK_EQ(st.st_gid, 1234);
		CHECK_EQ(st.st_mode, S_IFREG | 0755);	/* not in group 1234: sgid dropped */
		/* umask is applied only when the caller passes one */
		user.umask = 077;
		CHECK_OK(jfs_mkdir(fs, &user, sg, "um", 0777, &st));
		CHECK_EQ(st.st_mode & 0777, 0700);
	}

	/* a directory that grows over several blocks -- linear without
	 * dir_index, else an htree from its second block on -- read back in
	 * small batches while entries are removed between the calls.  Linear:
	 * positions never move, so an entry removed before the walk reaches
	 * it never shows and one read before its removal was read.  Indexed
	 * (hash order): an entry is never returned twice, never after its
	 * removal, and every entry that stays is returned once. */
	{
		char nm[64];
		ino_t big = mk(fs, 2, "big", S_IFDIR | 0755);
		uint64_t cookie = 0;
		int seen[600] = { 0 }, del_call[600], dots = 0, ndel = 0;
		bool linear = strstr(features, "^dir_index") != NULL;
		struct ns_rd r;

		for (i = 0; i < 600; i++) {
			snprintf(nm, sizeof(nm), "entry-%04d-%s", i, i % 3 ? "pad" : "a-longer-name");
			mk(fs, big, nm, S_IFREG | 0644);
			del_call[i] = -1;
		}
		memset(&r, 0, sizeof(r));
		r.limit = 7;
		for (int call = 0;; call++) {
			size_t before = r.n;

			r.taken = 0;
			CHECK_OK(jfs_readdir(fs, big, cookie, ns_fill, &r));
			if (r.n == before)
				break;
			cookie = r.next;
			for (size_t j = before; j < r.n; j++) {
				int k;

				if (!strcmp(r.ents[j].name, ".") || !strcmp(r.ents[j].name, "..")) {
					dots++;
					continue;
				}
				CHECK_EQ(sscanf(r.ents[j].name, "entry-%d-", &k), 1);
				CHECK(k >= 0 && k < 600);
				CHECK_EQ(seen[k], 0);		/* never twice */
				CHECK_EQ(del_call[k], -1);	/* never after its removal */
				seen[k] = 1;
			}
			/* delete entries from the end, 3 per call, and some from
			 * the start, after call 30 */
			for (int q = 0; q < 3 && ndel < 60; q++, ndel++) {
				int k = 599 - ndel;

				snprintf(nm, sizeof(nm), "entry-%04d-%s", k, k % 3 ? "pad" : "a-longer-name");
				CHECK_OK(jfs_unlink(fs, &ns_root, big, nm));
				if (linear)
					CHECK_EQ(seen[k], 0);	/* not reached yet */
				del_call[k] = call;
			}
			if (call >= 30 && call < 40) {
				int k = call - 30;

				snprintf(nm, sizeof(nm), "entry-%04d-%s", k, k % 3 ? "pad" : "a-longer-name");
				CHECK_OK(jfs_unlink(fs, &ns_root, big, nm));
				if (linear)
					CHECK_EQ(seen[k], 1);	/* read before its unlink */
				del_call[k] = call;
			}
		}
		CHECK_EQ(dots, 2);
		for (i = 0; i < 600; i++)
			if (del_call[i] < 0)
				CHECK_EQ(seen[i], 1);	/* every entry that stays, once */
		free(r.ents);
	}

	/* rmdir and unlink leave a clean parent */
	CHECK_OK(jfs_rmdir(fs, &ns_root, 2, n255));
	ns_readdir_all(fs, 2, 0, &rd);
	CHECK(ns_rd_find(&rd, "d") && ns_rd_find(&rd, "a") && ns_rd_find(&rd, ".."));
	CHECK(!ns_rd_find(&rd, n255));
	CHECK_EQ(ns_rd_find(&rd, "d")->dtype, DT_DIR);
	free(rd.ents);
	ns_readdir_all(fs, d, 2, &rd);
	CHECK_EQ(ns_rd_find(&rd, "fast")->dtype, DT_LNK);
	CHECK_EQ(ns_rd_find(&rd, "blk")->dtype, DT_BLK);
	CHECK_EQ(ns_rd_find(&rd, "sock")->dtype, DT_SOCK);
	free(rd.ents);

	ns_check_credits(fs, __func__);
	CHECK_OK(jfs_unmount(fs));
	CHECK_EQ(ns_fsck(img), 0);

	/* the kernel sees the same thing */
	km = ns_kmount(0, img, true);
	if (!km) {
		printf("%s: kernel mount unavailable, kernel comparison skipped\n", tag);
		return;
	}
	{
		char p[512];
		ssize_t n;

		snprintf(p, sizeof(p), "%s/d/fast", km);
		n = readlink(p, buf, sizeof(buf));
		CHECK_EQ(n, strlen(kx.fast_target));
		CHECK(!memcmp(buf, kx.fast_target, n));
		snprintf(p, sizeof(p), "%s/d/slow", km);
		n = readlink(p, buf, sizeof(buf));
		CHECK_EQ(n, 200);
		CHECK(!memcmp(buf, kx.slow_target, n));
		snprintf(p, sizeof(p), "%s/d/blk", km);
		CHECK_OK(lstat(p, &st));
		CHECK_EQ(st.st_rdev, kx.blk_rdev);
		snprintf(p, sizeof(p), "%s/d/chr", km);
		CHECK_OK(lstat(p, &st));
		CHECK_EQ(st.st_rdev, kx.chr_rdev);
		snprintf(p, sizeof(p), "%s/a", km);
		CHECK_OK(lstat(p, &st));
		CHECK_EQ(st.st_nlink, kx.a_nlink);
		snprintf(p, sizeof(p), "%s/a/sub/..", km);
		CHECK_OK(stat(p, &st));
		snprintf(p, sizeof(p), "%s/a", km);
		{
			struct stat st2;

			CHECK_OK(stat(p, &st2));
			CHECK_EQ(st.st_ino, st2.st_ino);
		}
		snprintf(p, sizeof(p), "%s/sg/ud", km);
		CHECK_OK(lstat(p, &st));
		CHECK_EQ(st.st_gid, 1234);
		CHECK_EQ(st.st_mode, S_IFDIR | 02755);
		snprintf(p, sizeof(p), "%s/big", km);
		{
			DIR *dp = opendir(p);
			struct dirent *de;
			int cnt = 0;

			CHECK(dp);
			while ((de = readdir(dp)))
				cnt++;
			closedir(dp);
			CHECK_EQ(cnt, 530 + 2);
		}
	}
	ns_kumount(0);
}

int main(void)
{
	ns_setup("ns_basic");
	run(1024, "", "b1k");
	run(2048, "", "b2k");
	run(4096, "", "b4k");
	run(1024, "^64bit,^metadata_csum", "b1k-plain");
	run(4096, "^64bit,^metadata_csum", "b4k-plain");
	run(2048, "^metadata_csum,^64bit,^dir_nlink,^extent", "b2k-noextent");
	run(1024, "^dir_index", "b1k-nodx");	/* directories stay linear */
	printf("ns_basic: ok\n");
	return 0;
}
