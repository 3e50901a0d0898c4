/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_killpriv - data changes by unprivileged callers drop S_ISUID (and
 * S_ISGID with group-exec), and ftruncate needs no write permission.
 *
 * The bugs: the FUSE adapter keeps FUSE_CAP_HANDLE_KILLPRIV on, so the
 * kernel leaves privilege clearing to the fs.  Writes and chown did it, but
 * truncate(2) (do_truncate -> should_remove_suid), open(O_TRUNC)
 * (handle_truncate) and fallocate (ext4_fallocate -> file_modified) kept a
 * setuid bit a non-root user had just changed the contents under -- a
 * privilege escalation.  And setattr(size) always asked the mode for write
 * permission, so ftruncate on a descriptor opened for writing failed with
 * EACCES once the mode lost its w bit (Linux's do_sys_ftruncate only
 * checks the descriptor): JFS_SET_FH says the change comes through one.
 * Each drop by a write, fallocate or open(O_TRUNC) -- whose replies carry
 * no attributes -- is reported to the attribute-change hook
 * (jfs_set_inval_hook: the FUSE adapter's notify_inval_inode), and nothing
 * else is.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include "fstest.h"
#include "fs/fs_internal.h"

static struct jfs_cred user = { .uid = 1000, .gid = 1000 };

static unsigned int mode_of(struct jfs *fs, ino_t ino)
{
	struct stat st;

	CHECK_EQ(jfs_getattr(fs, ino, &st), 0);
	return st.st_mode & 07777;
}

static void set_mode(struct jfs *fs, ino_t ino, unsigned int mode)
{
	struct stat attr = { .st_mode = mode };

	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr, JFS_SET_MODE, NULL), 0);
	CHECK_EQ(mode_of(fs, ino), mode);
}

static unsigned int nr_inval;
static ino_t last_inval;

static void count_inval(void *arg, ino_t ino)
{
	(void)arg;
	nr_inval++;
	last_inval = ino;
}

static int truncate_as(struct jfs *fs, const struct jfs_cred *c, ino_t ino, off_t size, int fh)
{
	struct stat attr = { .st_size = size };

	return jfs_setattr(fs, c, ino, &attr, JFS_SET_SIZE | fh, NULL);
}

int main(void)
{
	struct stat attr = { .st_uid = 1000, .st_gid = 1000 };
	const char *img;
	struct jfs *fs;
	ino_t f;

	fst_init();
	img = strdup(fst_path("killpriv.img"));
	fst_mkfs(img, 2048, "", "32M");
	REQUIRE(fst_debugfs(img, "write /dev/null f") == 0);
	f = fst_ino(img, "/f");
	REQUIRE(f > 0);

	fs = fst_mount(img, false);
	CHECK_EQ(jfs_setattr(fs, NULL, f, &attr, JFS_SET_UID | JFS_SET_GID, NULL), 0);
	CHECK_EQ(jfs_write(fs, NULL, f, 0, "0123456789", 10), 10);

	/* truncate by the (non-root) owner: S_ISUID and group-exec S_ISGID go */
	set_mode(fs, f, 06775);
	CHECK_EQ(truncate_as(fs, &user, f, 5, 0), 0);
	CHECK_EQ(mode_of(fs, f), 0775);
	/* S_ISGID without group-exec (mandatory-locking mark) stays */
	set_mode(fs, f, 06765);
	CHECK_EQ(truncate_as(fs, &user, f, 7, 0), 0);
	CHECK_EQ(mode_of(fs, f), 02765);
	/* even a same-size truncate drops them (do_truncate always asks) */
	set_mode(fs, f, 04766);
	CHECK_EQ(truncate_as(fs, &user, f, 7, 0), 0);
	CHECK_EQ(mode_of(fs, f), 0766);
	/* root (CAP_FSETID) keeps them */
	set_mode(fs, f, 06775);
	CHECK_EQ(truncate_as(fs, NULL, f, 3, 0), 0);
	CHECK_EQ(mode_of(fs, f), 06775);

	/* fallocate: file_modified() in every ext4_fallocate mode */
	set_mode(fs, f, 06775);
	CHECK_EQ(jfs_fallocate(fs, &user, f, FALLOC_FL_KEEP_SIZE, 0, 8192), 0);
	CHECK_EQ(mode_of(fs, f), 0775);
	set_mode(fs, f, 04775);
	CHECK_EQ(jfs_fallocate(fs, &user, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2048),
		 0);
	CHECK_EQ(mode_of(fs, f), 0775);
	set_mode(fs, f, 04775);
	CHECK_EQ(jfs_fallocate(fs, NULL, f, 0, 0, 4096), 0);	/* root keeps it */
	CHECK_EQ(mode_of(fs, f), 04775);

	/* open(O_TRUNC): handle_truncate -> do_truncate, also of an empty file */
	set_mode(fs, f, 04777);
	CHECK_EQ(jfs_open(fs, &user, f, O_WRONLY | O_TRUNC), 0);
	CHECK_EQ(jfs_release(fs, f), 0);
	CHECK_EQ(mode_of(fs, f), 0777);
	set_mode(fs, f, 04777);
	CHECK_EQ(jfs_open(fs, &user, f, O_WRONLY | O_TRUNC), 0);
	CHECK_EQ(jfs_release(fs, f), 0);
	CHECK_EQ(mode_of(fs, f), 0777);

	/* ftruncate through a descriptor: no MAY_WRITE on the mode */
	set_mode(fs, f, 0);
	CHECK_EQ(truncate_as(fs, &user, f, 100, 0), -EACCES);	/* truncate(2) */
	CHECK_EQ(truncate_as(fs, &user, f, 100, JFS_SET_FH), 0);	/* ftruncate(2) */
	{
		struct stat st;

		CHECK_EQ(jfs_getattr(fs, f, &st), 0);
		CHECK_EQ(st.st_size, 100);
	}
	/* the flag grants nothing else: chmod by a non-owner is still EPERM */
	attr.st_mode = 0644;
	CHECK_EQ(jfs_setattr(fs, &(struct jfs_cred){ .uid = 2000, .gid = 2000 }, f, &attr,
			     JFS_SET_MODE | JFS_SET_FH, NULL), -EPERM);
	/* and the size rules stay */
	CHECK_EQ(truncate_as(fs, &user, 2, 0, JFS_SET_FH), -EISDIR);

	/* the attribute-change hook: once per drop the kernel cannot see */
	jfs_set_inval_hook(fs, count_inval, NULL);
	set_mode(fs, f, 04777);
	CHECK_EQ(jfs_write(fs, &user, f, 0, "x", 1), 1);
	CHECK_EQ(mode_of(fs, f), 0777);
	CHECK_EQ(nr_inval, 1);
	CHECK_EQ(last_inval, f);
	CHECK_EQ(jfs_write(fs, &user, f, 0, "x", 1), 1);	/* nothing left to drop */
	CHECK_EQ(nr_inval, 1);
	set_mode(fs, f, 04777);
	CHECK_EQ(jfs_write(fs, NULL, f, 0, "x", 1), 1);	/* root keeps it */
	CHECK_EQ(nr_inval, 1);
	CHECK_EQ(jfs_fallocate(fs, &user, f, FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
	CHECK_EQ(nr_inval, 2);
	set_mode(fs, f, 04777);
	CHECK_EQ(jfs_open(fs, &user, f, O_WRONLY | O_TRUNC), 0);
	CHECK_EQ(jfs_release(fs, f), 0);
	CHECK_EQ(nr_inval, 3);
	set_mode(fs, f, 04777);
	CHECK_EQ(truncate_as(fs, &user, f, 0, 0), 0);	/* SETATTR: its reply has the mode */
	CHECK_EQ(mode_of(fs, f), 0777);
	CHECK_EQ(nr_inval, 3);
	jfs_set_inval_hook(fs, NULL, NULL);

	CHECK_EQ(fs->credit_overruns, 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_killpriv");
}
