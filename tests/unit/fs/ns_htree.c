/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ns_htree.c - htree (dir_index) directories built by the kernel, then
 * grown, shrunk, looked up and listed through jfs.
 *
 * Story: libext2fs 1.47.0 is the first release whose ext2fs_link inserts
 * into an htree (dx_link) instead of clearing EXT2_INDEX_FL; a driver that
 * answers its EXT2_ET_DIR_NO_SPACE with ext2fs_expand_dir appends a block
 * the index does not reference (e2fsck PR_2_HTREE_NOTREF).  And a readdir
 * that resumes at a block position returns entries twice once a leaf split
 * moves them to a new block behind the cursor: the cookies of an htree
 * directory must be hash positions, as ext4_dx_readdir's.
 *
 * The kernel (loop mount, rw) creates 3500 entries, which makes the
 * directory indexed; jfs then adds 3000, removes 1500, looks every name up,
 * lists the directory in small batches (each entry exactly once), lists it
 * again while adding and removing entries between the batches, and after
 * jfs_unmount e2fsck -fn must pass and the kernel must list the same set.
 */
#include "ns_test.h"

#define NK	3500
#define NJ	3000

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct expected {
	char **names;
	size_t n, cap;
};

static void exp_add(struct expected *e, const char *name)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 1024;
		e->names = realloc(e->names, e->cap * sizeof(char *));
		CHECK(e->names);
	}
	e->names[e->n++] = strdup(name);
}

static void exp_del(struct expected *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->names[i], name)) {
			free(e->names[i]);
			e->names[i] = e->names[--e->n];
			return;
		}
	CHECK(!"name not expected");
}

/* Names of the listing, without "." and "..", sorted; compared to e. */
static void compare(struct ns_rd *r, struct expected *e, int want_dots)
{
	char **got = calloc(r->n + 1, sizeof(char *));
	size_t n = 0;
	int dots = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(r->ents[i].name, ".") || !strcmp(r->ents[i].name, "..")) {
			dots++;
			continue;
		}
		got[n++] = r->ents[i].name;
	}
	CHECK_EQ(dots, want_dots);
	qsort(got, n, sizeof(char *), cmpstr);
	qsort(e->names, e->n, sizeof(char *), cmpstr);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(got[i - 1], got[i])) {
			fprintf(stderr, "duplicate entry %s\n", got[i]);
			CHECK(0);
		}
	CHECK_EQ(n, e->n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(got[i], e->names[i])) {
			fprintf(stderr, "listing differs at %zu: got %s want %s\n", i, got[i],
				e->names[i]);
			CHECK(0);
		}
	free(got);
}

static bool is_indexed(const char *img, const char *path)
{
	return ns_sh("debugfs -R 'stat %s' '%s' 2>/dev/null | grep -q 'Flags: 0x[0-9a-f]*1[0-9a-f][0-9a-f][0-9a-f]$'",
		     path, img) == 0;
}

static void run(unsigned int bs, const char *features, const char *tag)
{
	struct expected e = { 0 };
	char img[300], name[64], p[600];
	struct ns_rd r;
	struct jfs *fs;
	struct stat st;
	ino_t big;
	const char *km;
	int i;

	printf("%s: bs %u features '%s'\n", tag, bs, features);
	ns_mkfs(img, sizeof(img), tag, bs, features, 64);

	/* the kernel builds the index */
	km = ns_kmount(0, img, false);
	if (!km) {
		printf("ns_htree: SKIP (no kernel ext4 loop mount)\n");
		exit(77);
	}
	snprintf(p, sizeof(p), "%s/big", km);
	CHECK_OK(mkdir(p, 0755));
	for (i = 0; i < NK; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/big/kernel-made-entry-%05d", km, i);
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		close(fd);
		snprintf(name, sizeof(name), "kernel-made-entry-%05d", i);
		exp_add(&e, name);
	}
	ns_kumount(0);
	CHECK_EQ(ns_fsck(img), 0);
	CHECK(is_indexed(img, "/big"));

	fs = ns_mount(img);
	CHECK_OK(jfs_lookup(fs, &ns_root, 2, "big", &st));
	big = st.st_ino;
	for (i = 0; i < NK; i += 7) {
		snprintf(name, sizeof(name), "kernel-made-entry-%05d", i);
		CHECK_OK(jfs_lookup(fs, &ns_root, big, name, &st));
	}

	/* grow: thousands of inserts split leaves and grow the index */
	for (i = 0; i < NJ; i++) {
		snprintf(name, sizeof(name), "jfs-%05d-%s", i, i % 2 ? "odd" : "even-longer");
		CHECK_OK(jfs_mknod(fs, &ns_root, big, name, S_IFREG | 0644, 0, &st));
		exp_add(&e, name);
	}
	CHECK_ERR(jfs_mknod(fs, &ns_root, big, "jfs-00000-even-longer", S_IFREG | 0644, 0, &st),
		  EEXIST);
	/* shrink */
	for (i = 0; i < NK; i += 2) {
		snprintf(name, sizeof(name), "kernel-made-entry-%05d", i);
		CHECK_OK(jfs_unlink(fs, &ns_root, big, name));
		exp_del(&e, name);
	}
	for (i = 0; i < NJ; i += 6) {
		snprintf(name, sizeof(name), "jfs-%05d-%s", i, i % 2 ? "odd" : "even-longer");
		CHECK_OK(jfs_unlink(fs, &ns_root, big, name));
		exp_del(&e, name);
	}
	/* every name is found, removed ones are not */
	for (size_t j = 0; j < e.n; j++)
		CHECK_OK(jfs_lookup(fs, &ns_root, big, e.names[j], &st));
	CHECK_ERR(jfs_lookup(fs, &ns_root, big, "kernel-made-entry-00000", &st), ENOENT);
	CHECK_ERR(jfs_lookup(fs, &ns_root, big, "jfs-00006-even-longer", &st), ENOENT);

	/* list in batches: every entry exactly once */
	ns_readdir_all(fs, big, 50, &r);
	compare(&r, &e, 2);
	free(r.ents);
	ns_readdir_all(fs, big, 1, &r);
	compare(&r, &e, 2);
	free(r.ents);

	/* list while changing: add 400 (splits), remove 300; survivors that
	 * existed throughout appear exactly once, removed ones never after */
	{
		struct expected stable = { 0 };
		uint64_t cookie = 0;
		int added = 0, removed = 0;

		for (size_t j = 0; j < e.n; j++)
			exp_add(&stable, e.names[j]);
		memset(&r, 0, sizeof(r));
		r.limit = 37;
		for (int call = 0;; call++) {
			size_t before = r.n;

			r.taken = 0;
			CHECK_OK(jfs_readdir(fs, big, cookie, ns_fill, &r));
			if (r.n == before)
				break;
			cookie = r.next;
			for (int q = 0; q < 10 && added < 400; q++, added++) {
				snprintf(name, sizeof(name), "during-%05d", added);
				CHECK_OK(jfs_mknod(fs, &ns_root, big, name, S_IFREG | 0644, 0, &st));
				exp_add(&e, name);
			}
			for (int q = 0; q < 8 && removed < 300; q++, removed++) {
				snprintf(name, sizeof(name), "kernel-made-entry-%05d", 1 + 2 * removed);
				CHECK_OK(jfs_unlink(fs, &ns_root, big, name));
				exp_del(&e, name);
				exp_del(&stable, name);
			}
		}
		/* no duplicates at all; every stable name present */
		{
			char **got = calloc(r.n, sizeof(char *));
			size_t n = 0, k = 0;

			for (size_t j = 0; j < r.n; j++)
				got[n++] = r.ents[j].name;
			qsort(got, n, sizeof(char *), cmpstr);
			for (size_t j = 1; j < n; j++)
				CHECK(strcmp(got[j - 1], got[j]));
			qsort(stable.names, stable.n, sizeof(char *), cmpstr);
			for (size_t j = 0; j < stable.n; j++) {
				while (k < n && strcmp(got[k], stable.names[j]) < 0)
					k++;
				if (k >= n || strcmp(got[k], stable.names[j])) {
					fprintf(stderr, "stable entry %s missing\n", stable.names[j]);
					CHECK(0);
				}
			}
			free(got);
		}
		free(r.ents);
	}
	ns_readdir_all(fs, big, 64, &r);
	compare(&r, &e, 2);
	free(r.ents);

	ns_check_credits(fs, __func__);
	CHECK_OK(jfs_unmount(fs));
	CHECK_EQ(ns_fsck(img), 0);
	CHECK(is_indexed(img, "/big"));

	/* the kernel lists the same set */
	km = ns_kmount(0, img, true);
	CHECK(km);
	{
		DIR *dp;
		struct dirent *de;

		snprintf(p, sizeof(p), "%s/big", km);
		dp = opendir(p);
		CHECK(dp);
		memset(&r, 0, sizeof(r));
		while ((de = readdir(dp)))
			ns_fill(&r, de->d_name, strlen(de->d_name), de->d_ino, de->d_type, 0);
		closedir(dp);
		compare(&r, &e, 2);
		free(r.ents);
		/* and finds names by hash */
		for (size_t j = 0; j < e.n; j += 11) {
			snprintf(p, sizeof(p), "%s/big/%s", km, e.names[j]);
			CHECK_OK(lstat(p, &st));
		}
	}
	ns_kumount(0);
	for (size_t j = 0; j < e.n; j++)
		free(e.names[j]);
	free(e.names);
}

int main(void)
{
	ns_setup("ns_htree");
	run(1024, "", "htree-1k");
	run(4096, "^metadata_csum,^64bit", "htree-4k-plain");
	printf("ns_htree: ok\n");
	return 0;
}
