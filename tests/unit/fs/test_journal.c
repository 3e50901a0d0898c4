/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_journal - every metadata change goes through the journal (the fs
 * side: src/fs/journal.c, super.c's mount/unmount sequence).
 *
 * Stories:
 *   - rsext4 #2298 (peers.md trap 3): needs_recovery must be on disk
 *     before the first transaction commits and stay there while mounted;
 *     it is cleared only after the final checkpoint;
 *   - lwext4 #86 (trap 4): tids never restart at mount;
 *   - a process that dies without unmounting (a child that _exit()s after
 *     fsync) leaves a journal that e2fsck -E journal_only and the kernel
 *     replay to a clean filesystem with the fsync'ed data; our own
 *     replay (ro mount) writes exactly the blocks e2fsck writes;
 *   - data=journal round trip, live and after a crash;
 *   - errors=remount-ro: a libext2fs failure inside an op aborts the
 *     journal, the fs turns read-only (-EROFS), the error count lands in the
 *     superblock, needs_recovery stays for the next mount; errors=continue
 *     keeps going;
 *   - a needs-recovery image written by the kernel (EXT4_IOC_SHUTDOWN
 *     with LOGFLUSH) mounts, and the result equals e2fsck's replay
 *     (root and a kernel loop mount; skipped otherwise).
 */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include "fstest.h"
#include "fs/fs_internal.h"

static const struct jfs_cred root = { 0, 0, 0, 022, 0, NULL };

/* fst_path() rotates 8 buffers: keep the paths we hold on to. */
static const char *path_dup(const char *name)
{
	char *p = strdup(fst_path(name));

	REQUIRE(p);
	return p;
}

static bool dumpe2fs_has(const char *img, const char *pattern)
{
	return fst_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q -E '%s'", img, pattern) == 0;
}

static bool needs_recovery(const char *img)
{
	return dumpe2fs_has(img, "^Filesystem features:.*needs_recovery");
}

/* dumpe2fs's "Journal sequence: 0x..." (s_sequence of the journal sb). */
static unsigned long journal_sequence(const char *img)
{
	char cmd[1024], line[512];
	unsigned long seq = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "dumpe2fs -h '%s' 2>/dev/null", img);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "Journal sequence: %lx", &seq) == 1)
			break;
	pclose(p);
	return seq;
}

static unsigned long dumpe2fs_num(const char *img, const char *field)
{
	char cmd[1024], line[512];
	unsigned long v = 0;
	size_t fl = strlen(field);
	FILE *p;

	snprintf(cmd, sizeof(cmd), "dumpe2fs -h '%s' 2>/dev/null", img);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtoul(line + fl + 1, NULL, 0);
			break;
		}
	pclose(p);
	return v;
}

static void pattern(char *buf, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (i * 7 + seed * 13 + i / 4096) % 26);
}

/* Create /name with n bytes of pattern(seed); returns the inode or 0. */
static ino_t make_file(struct jfs *fs, ino_t dir, const char *name, size_t n, unsigned int seed,
		       bool do_fsync)
{
	struct stat st;
	char *buf = malloc(n ? n : 1);
	ssize_t w;

	REQUIRE(buf);
	pattern(buf, n, seed);
	if (jfs_create(fs, &root, dir, name, 0644, O_RDWR, &st)) {
		free(buf);
		return 0;
	}
	w = n ? jfs_write(fs, &root, st.st_ino, 0, buf, n) : 0;
	CHECK_EQ(w, (ssize_t)n);
	if (do_fsync)
		CHECK_EQ(jfs_fsync(fs, st.st_ino, false), 0);
	CHECK_EQ(jfs_release(fs, st.st_ino), 0);
	jfs_forget(fs, st.st_ino, 1);	/* the kernel's last iput: no orphan at unlink */
	free(buf);
	return st.st_ino;
}

/* debugfs cat PATH must give pattern(seed) of n bytes. */
static bool image_file_is(const char *img, const char *path, size_t n, unsigned int seed)
{
	char *want = malloc(n ? n : 1);
	FILE *f;
	int rc;

	REQUIRE(want);
	pattern(want, n, seed);
	f = fopen(fst_path("want.bin"), "wb");
	REQUIRE(f);
	fwrite(want, 1, n, f);
	fclose(f);
	free(want);
	rc = fst_sh("debugfs -R 'cat %s' '%s' 2>/dev/null >'%s' && cmp -s '%s' '%s'", path, img,
		    fst_path("got.bin"), fst_path("got.bin"), fst_path("want.bin"));
	if (rc)
		fprintf(stderr, "%s:%s differs from the expected contents\n", img, path);
	return rc == 0;
}

/* journal_lib.sh's cmp_images in C: every block equal but the ext4 and the
 * journal superblocks. */
static bool same_but_superblocks(const char *a, const char *b, unsigned int bs)
{
	char cmd[1024], line[128];
	unsigned long long jsb = ~0ULL, blk = 0;
	char *x = malloc(bs), *y = malloc(bs);
	FILE *fa, *fb, *p;
	int ndiff = 0;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap <8> 0' '%s' 2>/dev/null", b);
	p = popen(cmd, "r");
	if (p) {
		while (fgets(line, sizeof(line), p))
			jsb = strtoull(line, NULL, 10);
		pclose(p);
	}
	fa = fopen(a, "rb");
	fb = fopen(b, "rb");
	REQUIRE(fa && fb && x && y);
	for (;; blk++) {
		size_t na = fread(x, 1, bs, fa), nb = fread(y, 1, bs, fb);

		if (!na && !nb)
			break;
		if ((na != nb || memcmp(x, y, na)) && blk != 1024 / bs && blk != jsb) {
			if (ndiff++ < 10)
				fprintf(stderr, "%s vs %s: block %llu differs\n", a, b, blk);
		}
	}
	fclose(fa);
	fclose(fb);
	free(x);
	free(y);
	return ndiff == 0;
}

static struct jfs *mount_opts(const char *img, const struct jfs_mount_opts *o)
{
	char err[512];
	struct jfs *fs = NULL;
	int ret = jfs_mount(img, o, &fs, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "jfs_mount(%s): %d %s\n", img, ret, err);
		exit(1);
	}
	return fs;
}

/* 1 + 2: needs_recovery while mounted, cleared at unmount; tids continue */
static void test_flag_and_tids(void)
{
	const char *img = path_dup("flag.img");
	unsigned long seq0, seq1, seq2;
	struct jfs *fs;
	struct stat st;

	fst_mkfs(img, 4096, "", "32M");
	seq0 = journal_sequence(img);
	fs = fst_mount(img, false);
	CHECK(needs_recovery(img));
	CHECK(dumpe2fs_has(img, "^Filesystem state: +clean$"));	/* VALID_FS as found */
	CHECK_EQ(jfs_mkdir(fs, &root, 2, "d", 0755, &st), 0);
	CHECK(make_file(fs, st.st_ino, "f", 10000, 1, true) != 0);
	CHECK(needs_recovery(img));
	CHECK_EQ(jfs_syncfs(fs), 0);
	CHECK(needs_recovery(img));
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK(!needs_recovery(img));
	CHECK(dumpe2fs_has(img, "^Journal start: +0$"));
	CHECK_EQ(fst_fsck(img), 0);
	CHECK(image_file_is(img, "/d/f", 10000, 1));
	seq1 = journal_sequence(img);
	printf("tids: mkfs %lu, after mount 1 %lu\n", seq0, seq1);
	CHECK(seq1 > seq0 + 1);		/* something was committed */

	fs = fst_mount(img, false);
	CHECK(make_file(fs, 2, "g", 5000, 2, false) != 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	seq2 = journal_sequence(img);
	printf("tids: after mount 2 %lu\n", seq2);
	CHECK(seq2 > seq1);
	CHECK_EQ(fst_fsck(img), 0);
	CHECK(image_file_is(img, "/g", 5000, 2));
}

/*
 * A child mounts, works, fsyncs and _exit()s without unmounting: the
 * process-level crash (the page cache dies with it; what reached the
 * image is what the journal made durable, plus whatever writeback wrote).
 */
static void crash_child(const char *img, bool data_journal, unsigned int bs)
{
	struct jfs_mount_opts o = { .cache_size = 64 << 20, .data_journal = data_journal };
	pid_t pid;
	int status;

	fst_mkfs(img, (int)bs, "", "64M");
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct jfs *fs = mount_opts(img, &o);
		struct stat st;
		char name[32];

		if (jfs_mkdir(fs, &root, 2, "dir", 0755, &st))
			_exit(2);
		for (int i = 0; i < 20; i++) {
			snprintf(name, sizeof(name), "f%02d", i);
			if (!make_file(fs, st.st_ino, name, 3000 + 1000 * i, (unsigned int)i, false))
				_exit(3);
		}
		if (!make_file(fs, 2, "synced", 200000, 99, true))
			_exit(4);
		/* delete some: frees, revokes, deferred reuse */
		for (int i = 0; i < 20; i += 3) {
			snprintf(name, sizeof(name), "f%02d", i);
			if (jfs_unlink(fs, &root, st.st_ino, name))
				_exit(5);
		}
		/* a directory whose blocks were logged, then removed: its
		 * freed metadata blocks are revoked */
		{
			struct stat rst;

			if (jfs_mkdir(fs, &root, 2, "rmd", 0755, &rst))
				_exit(7);
			for (int i = 0; i < 40; i++) {
				snprintf(name, sizeof(name), "long-name-to-fill-a-block-%02d", i);
				if (!make_file(fs, rst.st_ino, name, 0, 0, false))
					_exit(8);
			}
			if (jfs_syncfs(fs))
				_exit(9);
			for (int i = 0; i < 40; i++) {
				snprintf(name, sizeof(name), "long-name-to-fill-a-block-%02d", i);
				if (jfs_unlink(fs, &root, rst.st_ino, name))
					_exit(10);
			}
			jfs_forget(fs, rst.st_ino, 1);
			if (jfs_rmdir(fs, &root, 2, "rmd"))
				_exit(11);
		}
		if (!make_file(fs, 2, "synced2", 50000, 98, true))
			_exit(6);
		_exit(0);	/* no unmount */
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void check_crash_image(const char *img, unsigned int bs, const char *tag)
{
	char e2[300], ours[300], kern[300];

	CHECK(needs_recovery(img));
	snprintf(e2, sizeof(e2), "%s.e2fsck", img);
	snprintf(ours, sizeof(ours), "%s.ours", img);
	snprintf(kern, sizeof(kern), "%s.kernel", img);
	REQUIRE(fst_sh("cp '%s' '%s' && cp '%s' '%s' && cp '%s' '%s'", img, e2, img, ours,
		       img, kern) == 0);

	/* e2fsck's replay: clean, fsync'ed data present */
	CHECK(fst_sh("e2fsck -E journal_only -y '%s' >/dev/null 2>&1; test $? -le 1", e2) == 0);
	CHECK(!needs_recovery(e2));
	CHECK_EQ(fst_fsck(e2), 0);
	CHECK(image_file_is(e2, "/synced", 200000, 99));
	CHECK(image_file_is(e2, "/synced2", 50000, 98));

	/* ours (a ro mount replays as the kernel's): the same blocks */
	{
		struct jfs *fs = fst_mount(ours, true);
		struct stat st;

		CHECK_EQ(jfs_lookup(fs, &root, 2, "synced", &st), 0);
		CHECK_EQ(st.st_size, 200000);
		CHECK_EQ(jfs_unmount(fs), 0);
	}
	CHECK(!needs_recovery(ours));
	CHECK(same_but_superblocks(ours, e2, bs));
	CHECK_EQ(fst_fsck(ours), 0);

	/* the kernel's replay (root + loop mount) */
	const char *kmnt = path_dup("kmnt");

	/* (rw: a ro loop device would refuse the replay, as ours does) */
	if (geteuid() == 0 && fst_sh("mkdir -p '%s' && mount -o loop '%s' '%s' 2>/dev/null",
				     kmnt, kern, kmnt) == 0) {
		CHECK(fst_sh("test -f '%s/synced'", kmnt) == 0);
		fst_sh("umount '%s'", kmnt);
		CHECK(!needs_recovery(kern));
		CHECK_EQ(fst_fsck(kern), 0);
		CHECK(image_file_is(kern, "/synced", 200000, 99));
		CHECK(image_file_is(kern, "/synced2", 50000, 98));
	} else {
		printf("%s: kernel replay skipped (needs root and a loop mount)\n", tag);
	}
}

/* 3: crash in data=ordered and data=journal */
static void test_crash(bool data_journal, unsigned int bs)
{
	char name[64];
	const char *img;

	snprintf(name, sizeof(name), "crash-%s-%u.img", data_journal ? "dj" : "ord", bs);
	img = path_dup(name);
	crash_child(img, data_journal, bs);
	check_crash_image(img, bs, name);
}

/* 4: data=journal live round trip */
static void test_data_journal(void)
{
	struct jfs_mount_opts o = { .cache_size = 64 << 20, .data_journal = true };
	const char *img = path_dup("dj.img");
	struct jfs *fs;
	char buf[8192];

	fst_mkfs(img, 1024, "", "32M");
	fs = mount_opts(img, &o);
	CHECK(make_file(fs, 2, "a", 300000, 5, true) != 0);
	CHECK(make_file(fs, 2, "b", 100, 6, false) != 0);
	{
		struct stat st;

		CHECK_EQ(jfs_lookup(fs, &root, 2, "a", &st), 0);
		CHECK_EQ(jfs_read(fs, st.st_ino, 4000, sizeof(buf), buf), (ssize_t)sizeof(buf));
	}
	CHECK_EQ(jfs_unlink(fs, &root, 2, "b"), 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK(!needs_recovery(img));
	CHECK_EQ(fst_fsck(img), 0);
	CHECK(image_file_is(img, "/a", 300000, 5));
}

/* 5: errors=remount-ro and errors=continue after an injected failure */
static void inject_failure(struct jfs *fs)
{
	int ret = jfs_op_begin(fs, "inject", 1);

	CHECK_EQ(ret, 0);
	if (ret)
		return;
	/* a libext2fs call failing with an I/O error inside the op */
	ret = __jfs_fail(fs, EXT2_ET_SHORT_READ);
	jfs_op_end(fs, ret);
}

static void test_errors(void)
{
	const char *img = path_dup("err.img");
	struct jfs_mount_opts o = { .cache_size = 64 << 20 };
	struct statvfs sv;
	struct jfs *fs;
	struct stat st;

	/* errors=remount-ro explicitly: without the option the superblock's
	 * s_errors decides, as in the kernel, and mkfs.ext4 writes "continue" */
	o.errors = JFS_ERRORS_RO;
	fst_mkfs(img, 4096, "", "32M");
	fs = mount_opts(img, &o);
	CHECK(make_file(fs, 2, "before", 4096, 7, true) != 0);
	fst_stderr_begin();
	inject_failure(fs);
	CHECK(strstr(fst_stderr_end(), "Remounting filesystem read-only") != NULL);
	CHECK_EQ(jfs_mkdir(fs, &root, 2, "after", 0755, &st), -EROFS);
	CHECK_EQ(jfs_statfs(fs, &sv), 0);
	CHECK(sv.f_flag & ST_RDONLY);
	CHECK_EQ(jfs_lookup(fs, &root, 2, "before", &st), 0);	/* reads still work */
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK(needs_recovery(img));		/* aborted: left for recovery */
	CHECK(dumpe2fs_num(img, "FS Error count") >= 1);
	CHECK(dumpe2fs_has(img, "^Filesystem state: .*with errors"));
	/* the next mount replays the committed part and carries the errors */
	fs = fst_mount(img, false);
	CHECK_EQ(jfs_lookup(fs, &root, 2, "before", &st), 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK(!needs_recovery(img));
	CHECK(dumpe2fs_num(img, "FS Error count") >= 1);
	CHECK(image_file_is(img, "/before", 4096, 7));

	/* errors=continue: recorded, the fs keeps going */
	fst_mkfs(img, 4096, "", "32M");
	o.errors = JFS_ERRORS_CONTINUE;
	fs = mount_opts(img, &o);
	inject_failure(fs);
	CHECK_EQ(jfs_mkdir(fs, &root, 2, "after", 0755, &st), 0);
	CHECK_EQ(jfs_unmount(fs), 0);
	CHECK(!needs_recovery(img));
	CHECK(dumpe2fs_num(img, "FS Error count") >= 1);
	CHECK(fst_sh("debugfs -R 'stat /after' '%s' 2>/dev/null | grep -q Inode", img) == 0);
}

/* 6: a needs-recovery image written by the kernel */
#define EXT4_IOC_SHUTDOWN		_IOR('X', 125, uint32_t)
#define EXT4_GOING_FLAGS_LOGFLUSH	0x1

static void test_kernel_image(void)
{
	const char *img = path_dup("k.img"), *mnt = path_dup("kw");
	char e2[300], ours[300], p[600];
	uint32_t flags = EXT4_GOING_FLAGS_LOGFLUSH;
	int fd;

	if (geteuid() != 0) {
		printf("kernel image: skipped (needs root)\n");
		return;
	}
	fst_mkfs(img, 4096, "", "64M");
	if (fst_sh("mkdir -p '%s' && mount -o loop '%s' '%s' 2>/dev/null", mnt, img, mnt)) {
		printf("kernel image: skipped (no ext4 loop mount)\n");
		return;
	}
	fst_sh("mkdir '%s/kd' && for i in $(seq 1 30); do head -c $((i * 1500)) /dev/urandom > '%s/kd/f'$i; done; "
	       "sync; rm '%s/kd/f3' '%s/kd/f7'; mkdir '%s/kd/sub'; echo hello > '%s/kd/sub/x'",
	       mnt, mnt, mnt, mnt, mnt, mnt);
	snprintf(p, sizeof(p), "%s/kd", mnt);
	fd = open(p, O_RDONLY);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(ioctl(fd, EXT4_IOC_SHUTDOWN, &flags) == 0);
		close(fd);
	}
	fst_sh("umount '%s'", mnt);
	if (!needs_recovery(img)) {
		printf("kernel image: the kernel left no journal to recover; skipped\n");
		return;
	}
	snprintf(e2, sizeof(e2), "%s.e2fsck", img);
	snprintf(ours, sizeof(ours), "%s.ours", img);
	REQUIRE(fst_sh("cp '%s' '%s' && cp '%s' '%s'", img, e2, img, ours) == 0);
	CHECK(fst_sh("e2fsck -E journal_only -y '%s' >/dev/null 2>&1; test $? -le 1", e2) == 0);
	{
		struct jfs *fs = fst_mount(ours, true);	/* replays */

		CHECK_EQ(jfs_unmount(fs), 0);
	}
	CHECK(same_but_superblocks(ours, e2, 4096));
	/* and a rw mount of the original replays, works and unmounts clean */
	{
		struct jfs *fs = fst_mount(img, false);
		struct stat st;

		CHECK_EQ(jfs_mkdir(fs, &root, 2, "after-replay", 0755, &st), 0);
		CHECK_EQ(jfs_unmount(fs), 0);
	}
	CHECK(!needs_recovery(img));
	CHECK_EQ(fst_fsck(img), 0);
	/* (x's data was delalloc'ed: the shutdown kept the inode, not the data) */
	CHECK(fst_sh("debugfs -R 'stat /kd/sub/x' '%s' 2>/dev/null | grep -q Inode:", img) == 0);
	CHECK(fst_sh("debugfs -R 'stat /kd/f3' '%s' 2>&1 | grep -q 'not found'", img) == 0);
}

int main(void)
{
	fst_init();
	test_flag_and_tids();
	test_crash(false, 4096);
	test_crash(false, 1024);
	test_crash(true, 4096);
	test_data_journal();
	test_errors();
	test_kernel_image();
	return fst_done("test_journal");
}
