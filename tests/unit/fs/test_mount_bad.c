/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_mount_bad - corrupt or unsupported images are refused with a clear
 * message and stay byte-identical (nothing is written on a failed mount).
 *
 * Story: fuse2fs 1.47.0 opens images ext2fs_open2 accepts, including
 * features it cannot maintain (quota, inline_data...), and writes the
 * superblock at mount; a mount that fails half-way must not leave a trace.
 */
#include "fstest.h"

static void expect_refused(const char *what, const char *img, bool ro, int want_err,
			   const char *want_msg)
{
	struct jfs_mount_opts o = { .ro = ro };
	char err[512] = "";
	struct jfs *fs = NULL;
	int ret;

	REQUIRE(fst_sh("cp '%s' '%s'", img, fst_path("copy.img")) == 0);
	ret = jfs_mount(img, &o, &fs, err, sizeof(err));
	printf("%s: %d \"%s\"\n", what, ret, err);
	CHECK(ret < 0);
	if (want_err)
		CHECK_EQ(ret, want_err);
	CHECK(strncmp(err, "jbdlab: ", 8) == 0);
	if (want_msg && !strstr(err, want_msg)) {
		fprintf(stderr, "%s: message lacks \"%s\"\n", what, want_msg);
		fst_failures++;
	}
	if (ret == 0)
		jfs_unmount(fs);
	CHECK(fst_sh("cmp -s '%s' '%s'", img, fst_path("copy.img")) == 0);
}

int main(void)
{
	const char *img;

	fst_init();
	img = strdup(fst_path("bad.img"));

	/* 1. truncated image */
	fst_mkfs(img, 4096, "", "16M");
	REQUIRE(fst_sh("truncate -s 8M '%s'", img) == 0);
	expect_refused("truncated", img, false, -EINVAL, "image is truncated");

	/* 2. tiny file */
	REQUIRE(fst_sh("truncate -s 1500 '%s'", img) == 0);
	expect_refused("tiny", img, false, -EINVAL, "truncated");

	/* 3. zeroed superblock */
	fst_mkfs(img, 1024, "", "8M");
	REQUIRE(fst_sh("dd if=/dev/zero of='%s' bs=1024 seek=1 count=1 conv=notrunc 2>/dev/null", img) == 0);
	expect_refused("zeroed superblock", img, false, -EINVAL, "magic");

	/* 4. garbage over the group descriptors (block 1 at 4 KiB) */
	fst_mkfs(img, 4096, "-O ^metadata_csum", "32M");
	REQUIRE(fst_sh("dd if=/dev/urandom of='%s' bs=4096 seek=1 count=1 conv=notrunc 2>/dev/null", img) == 0);
	expect_refused("garbage GDT (no csum)", img, false, -EUCLEAN, NULL);
	fst_mkfs(img, 2048, "", "32M");
	REQUIRE(fst_sh("dd if=/dev/urandom of='%s' bs=2048 seek=1 count=1 conv=notrunc 2>/dev/null", img) == 0);
	expect_refused("garbage GDT (csum)", img, false, -EUCLEAN, NULL);

	/* 5. unknown incompat bit (0x80000), checksum fixed by debugfs ssv */
	fst_mkfs(img, 4096, "", "16M");
	REQUIRE(fst_debugfs(img, "ssv feature_incompat 0x802c2") == 0 ||
		fst_debugfs(img, "ssv feature_incompat 524994") == 0);
	expect_refused("unknown incompat", img, false, -EINVAL, "incompat");
	expect_refused("unknown incompat ro", img, true, -EINVAL, "incompat");

	/* 6. known but unsupported incompat: inline_data */
	fst_mkfs(img, 4096, "-O inline_data", "16M");
	expect_refused("inline_data", img, false, -EOPNOTSUPP, "inline_data");

	/* 7. ro_compat quota: refused RW, allowed ro */
	fst_mkfs(img, 4096, "-O quota", "16M");
	expect_refused("quota rw", img, false, -EROFS, "quota");
	{
		struct jfs *fs = fst_mount(img, true);
		struct statvfs sv;

		CHECK_EQ(jfs_statfs(fs, &sv), 0);
		CHECK(sv.f_flag & ST_RDONLY);
		CHECK_EQ(jfs_unmount(fs), 0);
	}

	/* 8. needs_recovery with an empty log: recovery runs (nothing to
	 * replay), ro and rw mounts succeed, the flag is cleared; rw with
	 * norecovery is refused as the kernel does, ro+norecovery mounts stale */
	fst_mkfs(img, 4096, "", "16M");
	REQUIRE(fst_debugfs(img, "feature needs_recovery") == 0);
	{
		struct jfs_mount_opts o = { .norecovery = true };
		char err[512] = "";
		struct jfs *fs = NULL;

		REQUIRE(fst_sh("cp '%s' '%s'", img, fst_path("copy.img")) == 0);
		CHECK_EQ(jfs_mount(img, &o, &fs, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "required journal recovery suppressed and not mounted read-only") != NULL);
		CHECK(fst_sh("cmp -s '%s' '%s'", img, fst_path("copy.img")) == 0);
		o.ro = true;
		CHECK_EQ(jfs_mount(img, &o, &fs, err, sizeof(err)), 0);
		if (fs)
			CHECK_EQ(jfs_unmount(fs), 0);
		CHECK(fst_sh("cmp -s '%s' '%s'", img, fst_path("copy.img")) == 0);
	}
	{
		struct jfs *fs = fst_mount(img, true);

		CHECK_EQ(jfs_unmount(fs), 0);
		CHECK(fst_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q needs_recovery", img) != 0);
		CHECK_EQ(fst_fsck(img), 0);
	}

	/* 9. nonexistent file */
	{
		char err[256];
		struct jfs *fs;

		CHECK(jfs_mount(fst_path("nope.img"), NULL, &fs, err, sizeof(err)) == -ENOENT);
	}

	/* 10. a read-only mount of a good image writes nothing */
	fst_mkfs(img, 1024, "", "8M");
	REQUIRE(fst_sh("cp '%s' '%s'", img, fst_path("copy.img")) == 0);
	{
		struct jfs *fs = fst_mount(img, true);
		struct stat st;

		CHECK_EQ(jfs_getattr(fs, 2, &st), 0);
		CHECK(S_ISDIR(st.st_mode));
		CHECK_EQ(jfs_unmount(fs), 0);
	}
	CHECK(fst_sh("cmp -s '%s' '%s'", img, fst_path("copy.img")) == 0);
	return fst_done("test_mount_bad");
}
