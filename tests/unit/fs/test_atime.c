/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_atime - access times on read and readdir follow the mount's policy,
 * as touch_atime() -> atime_needs_update() -> relatime_need_update() do
 * (fstests generic/003 is the end-to-end version).
 *
 * The bug: under FUSE the kernel leaves atime to the filesystem, and the
 * driver never updated it -- every mount behaved as noatime, and the
 * relatime/strictatime options were accepted and ignored.  Now relatime is
 * the default (update when atime <= mtime, atime <= ctime, or atime is a
 * day old), strictatime updates on every access, noatime never, nodiratime
 * never on directories; a ro mount and EXT2_NOATIME_FL never.  The update
 * is an inode-only step of 2 credits (ext4_dirty_inode).
 */
#include <fcntl.h>
#include <time.h>
#include "fstest.h"
#include "fs/fs_internal.h"

#define DAY	(24 * 60 * 60)

static struct jfs *mount_with(const char *img, enum jfs_atime_policy pol, bool nodiratime,
			      bool ro)
{
	struct jfs_mount_opts o = { .ro = ro, .cache_size = 64 << 20, .atime = pol,
				    .nodiratime = nodiratime };
	char err[512];
	struct jfs *fs = NULL;

	if (jfs_mount(img, &o, &fs, err, sizeof(err))) {
		fprintf(stderr, "jfs_mount(%s): %s\n", img, err);
		exit(1);
	}
	return fs;
}

/* Set atime, mtime and ctime to now + the given offsets (seconds). */
static void set_times(struct jfs *fs, ino_t ino, long da, long dm, long dc)
{
	time_t now = time(NULL);
	struct stat attr;

	memset(&attr, 0, sizeof(attr));
	attr.st_atim.tv_sec = now + da;
	attr.st_mtim.tv_sec = now + dm;
	attr.st_ctim.tv_sec = now + dc;
	CHECK_EQ(jfs_setattr(fs, NULL, ino, &attr,
			     JFS_SET_ATIME | JFS_SET_MTIME | JFS_SET_CTIME, NULL), 0);
}

static time_t atime_of(struct jfs *fs, ino_t ino)
{
	struct stat st;

	CHECK_EQ(jfs_getattr(fs, ino, &st), 0);
	return st.st_atim.tv_sec;
}

static int filldir(void *ctx, const char *name, size_t namelen, ino_t ino, unsigned int dtype,
		   uint64_t next)
{
	(void)ctx; (void)name; (void)namelen; (void)ino; (void)dtype; (void)next;
	return 0;
}

static void access_it(struct jfs *fs, ino_t ino, bool dir)
{
	char buf[64];

	if (dir)
		CHECK_EQ(jfs_readdir(fs, ino, 0, filldir, NULL), 0);
	else
		CHECK_EQ(jfs_read(fs, ino, 0, sizeof(buf), buf), 5);
}

/* atime after an access, relative to now: "updated" means within 5 s of now. */
static bool updated_by_access(struct jfs *fs, ino_t ino, bool dir)
{
	access_it(fs, ino, dir);
	return atime_of(fs, ino) >= time(NULL) - 5;
}

static void check_relatime(struct jfs *fs, ino_t ino, bool dir)
{
	/* atime older than mtime: update */
	set_times(fs, ino, -3600, -60, -7200);
	CHECK(updated_by_access(fs, ino, dir));
	/* atime older than ctime: update */
	set_times(fs, ino, -3600, -7200, -60);
	CHECK(updated_by_access(fs, ino, dir));
	/* atime newer than both and recent: no update */
	set_times(fs, ino, -3600, -7200, -7200);
	CHECK(!updated_by_access(fs, ino, dir));
	CHECK_EQ(atime_of(fs, ino), time(NULL) - 3600);
	/* atime a day old: update */
	set_times(fs, ino, -DAY - 60, -3 * DAY, -3 * DAY);
	CHECK(updated_by_access(fs, ino, dir));
	/* just updated: the next access leaves it (atime > mtime, ctime) */
	{
		time_t a = atime_of(fs, ino);

		access_it(fs, ino, dir);
		CHECK_EQ(atime_of(fs, ino), a);
	}
}

int main(void)
{
	const char *img;
	struct jfs *fs;
	struct stat st;
	ino_t f, d, n;

	fst_init();
	img = strdup(fst_path("atime.img"));
	fst_mkfs(img, 2048, "", "32M");
	REQUIRE(fst_debugfs(img, "mkdir d") == 0);
	REQUIRE(fst_debugfs(img, "write /dev/null n") == 0);
	REQUIRE(fst_debugfs(img, "sif /n flags 0x80080") == 0);	/* EXTENTS | NOATIME */
	d = fst_ino(img, "/d");
	n = fst_ino(img, "/n");
	REQUIRE(d && n);

	/* relatime, the default (zeroed options) */
	fs = mount_with(img, JFS_ATIME_RELATIME, false, false);
	CHECK_EQ(jfs_create(fs, &(struct jfs_cred){ .umask = 022 }, 2, "f", 0100644, O_RDWR, &st),
		 0);
	f = st.st_ino;
	CHECK_EQ(jfs_write(fs, NULL, f, 0, "hello", 5), 5);
	CHECK_EQ(jfs_release(fs, f), 0);
	CHECK_EQ(jfs_write(fs, NULL, n, 0, "hello", 5), 5);
	check_relatime(fs, f, false);
	check_relatime(fs, d, true);
	/* a read at EOF is an access too (filemap_read -> file_accessed) */
	set_times(fs, f, -3600, -60, -7200);
	{
		char b[8];

		CHECK_EQ(jfs_read(fs, f, 100, sizeof(b), b), 0);
		CHECK(atime_of(fs, f) >= time(NULL) - 5);
	}
	/* chattr +A (EXT2_NOATIME_FL, S_NOATIME) */
	set_times(fs, n, -3600, -60, -60);
	CHECK(!updated_by_access(fs, n, false));
	/* a readdir-only update is inode-only: ctime stays */
	set_times(fs, d, -3600, -60, -60);
	access_it(fs, d, true);
	CHECK_EQ(jfs_getattr(fs, d, &st), 0);
	CHECK_EQ(st.st_ctim.tv_sec, time(NULL) - 60);
	CHECK_EQ(fs->credit_overruns, 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);

	/* strictatime: every access, even a recent atime newer than m/ctime */
	fs = mount_with(img, JFS_ATIME_STRICT, false, false);
	set_times(fs, f, -3600, -7200, -7200);
	CHECK(updated_by_access(fs, f, false));
	set_times(fs, d, -3600, -7200, -7200);
	CHECK(updated_by_access(fs, d, true));
	CHECK_EQ(jfs_unmount(fs), 0);

	/* noatime: never */
	fs = mount_with(img, JFS_ATIME_NOATIME, false, false);
	set_times(fs, f, -DAY * 2, -60, -60);
	CHECK(!updated_by_access(fs, f, false));
	set_times(fs, d, -DAY * 2, -60, -60);
	CHECK(!updated_by_access(fs, d, true));
	CHECK_EQ(jfs_unmount(fs), 0);

	/* nodiratime: files yes, directories no */
	fs = mount_with(img, JFS_ATIME_RELATIME, true, false);
	set_times(fs, f, -3600, -60, -60);
	CHECK(updated_by_access(fs, f, false));
	set_times(fs, d, -3600, -60, -60);
	CHECK(!updated_by_access(fs, d, true));
	/* leave atime < mtime for the ro mount below */
	set_times(fs, f, -3600, -60, -60);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);

	/* read-only mount: never, and the read still succeeds */
	fs = mount_with(img, JFS_ATIME_RELATIME, false, true);
	CHECK(!updated_by_access(fs, f, false));
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK_EQ(fst_fsck(img), 0);
	return fst_done("test_atime");
}
