// SPDX-License-Identifier: GPL-2.0
/*
 * workload.c - the lab's filesystem workload: fsstress -w in miniature,
 * through the fs op API exactly as the FUSE layer calls it (jfs_create,
 * jfs_write, jfs_setattr, jfs_rename, jfs_fsync, ...) plus sync(2) as the
 * VFS runs it (sync_filesystem: the fs's sync, then the bdev's writeback),
 * so every metadata
 * block libext2fs touches -- bitmaps, group descriptors, inode tables,
 * directory and extent blocks -- is looked up, journalled, committed and
 * checkpointed while the migrator moves folios under it.
 *
 * Each thread works in its own directory with a handful of names and keeps
 * only what it needs to pick a plausible next op (which names exist and
 * what they are).  Expected failures (ENOSPC, a name the model got wrong)
 * are ignored; EIO, EUCLEAN, EROFS -- a journal abort, corrupt metadata --
 * are counted as fs errors, which the lab reports: under the schemes the
 * kernel ships there must be none.  Data contents are not checked here
 * (the stress tool does that on mounts); this workload exists for the
 * metadata traffic.
 *
 * Locking rules: a thread's state is its own; the fs takes its fs lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "lab_internal.h"

#define WL_NAMES	24

struct wl_name {
	ino_t ino;		/* 0: free */
	bool dir;
};

struct wl {
	struct lab *lab;
	unsigned int index;
	ino_t dir;
	struct wl_name names[WL_NAMES];
	char *buf;
};

static const struct jfs_cred root_cred = { .uid = 0, .gid = 0, .umask = 022 };

static void wl_result(struct wl *w, const char *op, int ret)
{
	static _Atomic bool told;

	if (ret >= 0 || ret == -ENOSPC || ret == -ENOENT || ret == -EEXIST ||
	    ret == -ENOTEMPTY || ret == -EISDIR || ret == -ENOTDIR || ret == -EFBIG ||
	    ret == -EDQUOT || ret == -E2BIG || ret == -ENODATA || ret == -EMLINK)
		return;
	lab_fs_error(w->lab);
	if (!atomic_exchange(&told, true))
		fprintf(w->lab->o->report ? w->lab->o->report : stderr,
			"lab: %s: fs op %s failed: %s (seed %llu)\n", w->lab->o->strategy->name, op,
			strerror(-ret), (unsigned long long)w->lab->o->seed);
}

/*
 * The file all fs threads write (I3's workload, kernel-race.md §2.5): one
 * block at a time at scattered block offsets of its first WL_SHARED_BLOCKS,
 * so that every write may add an extent and the tree grows (in-inode root,
 * then a leaf, then an index level: ext4_ext_grow_indepth and the splits),
 * while the other thread's write to the same inode sits between its credit
 * estimate and its handle (credit_depth_unlocked(): the depth read before
 * the handle, under --credits depth).  Now and then a punch frees a range,
 * so the tree also shrinks and the blocks come back.
 */
#define WL_SHARED_BLOCKS	4096

static void wl_shared(struct wl *w)
{
	struct jfs *fs = w->lab->fs;
	unsigned int bs = w->lab->v.blocksize;
	off_t off = (off_t)(prandom_u64() % WL_SHARED_BLOCKS) * bs;
	ino_t ino = w->lab->shared_ino;
	int ret;

	if (prandom_u64() % 16 == 0) {
		ret = jfs_fallocate(fs, &root_cred, ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    off, (off_t)(1 + prandom_u64() % 64) * bs);
		wl_result(w, "shared punch", ret == -EOPNOTSUPP ? 0 : ret);
		return;
	}
	ret = jfs_open(fs, &root_cred, ino, O_RDWR);
	if (!ret) {
		ssize_t wr = jfs_write(fs, &root_cred, ino, off, w->buf, bs);

		wl_result(w, "shared write", wr < 0 ? (int)wr : 0);
		jfs_release(fs, ino);
	}
	wl_result(w, "shared open", ret);
}

static void name_of(unsigned int i, char *buf)
{
	snprintf(buf, 16, "n%u", i);
}

static void wl_one(struct wl *w)
{
	struct jfs *fs = w->lab->fs;
	unsigned int i = (unsigned int)(prandom_u64() % WL_NAMES), j;
	struct wl_name *n = &w->names[i], *m;
	char name[16], name2[16];
	struct stat st;
	int ret = 0, op = (int)(prandom_u64() % 100);

	name_of(i, name);
	if (!n->ino) {
		/* create a file or a directory */
		if (op < 75) {
			ret = jfs_create(fs, &root_cred, w->dir, name, S_IFREG | 0644, O_RDWR, &st);
			if (!ret) {
				jfs_release(fs, st.st_ino);
				jfs_forget(fs, st.st_ino, 1);
				n->ino = st.st_ino;
				n->dir = false;
			}
			wl_result(w, "create", ret);
		} else {
			ret = jfs_mkdir(fs, &root_cred, w->dir, name, 0755, &st);
			if (!ret) {
				jfs_forget(fs, st.st_ino, 1);
				n->ino = st.st_ino;
				n->dir = true;
			}
			wl_result(w, "mkdir", ret);
		}
		goto out;
	}
	if (n->dir) {
		if (op < 50) {
			ret = jfs_rmdir(fs, &root_cred, w->dir, name);
			if (!ret || ret == -ENOENT)
				n->ino = 0;
			wl_result(w, "rmdir", ret);
		} else {
			/* a file inside the directory, then gone again */
			ret = jfs_create(fs, &root_cred, n->ino, "f", S_IFREG | 0644, O_RDWR, &st);
			if (!ret) {
				jfs_write(fs, &root_cred, st.st_ino, 0, w->buf, 4096);
				jfs_release(fs, st.st_ino);
				jfs_forget(fs, st.st_ino, 1);
				ret = jfs_unlink(fs, &root_cred, n->ino, "f");
			}
			wl_result(w, "dir-file", ret);
		}
		goto out;
	}
	if (op < 40) {
		/* a write somewhere in the first 1 MiB: allocations, extent growth */
		off_t off = (off_t)(prandom_u64() % 256) * 4096 + (off_t)(prandom_u64() % 4096);
		size_t len = 1 + (size_t)(prandom_u64() % 65536);

		ret = jfs_open(fs, &root_cred, n->ino, O_RDWR);
		if (!ret) {
			ssize_t wr = jfs_write(fs, &root_cred, n->ino, off, w->buf, len);

			wl_result(w, "write", wr < 0 ? (int)wr : 0);
			if (prandom_u64() % 4 == 0)
				wl_result(w, "fsync", jfs_fsync(fs, n->ino, prandom_u64() & 1));
			jfs_release(fs, n->ino);
		}
		wl_result(w, "open", ret);
	} else if (op < 52) {
		struct stat a = { .st_size = (off_t)(prandom_u64() % (1 << 20)) };

		ret = jfs_setattr(fs, &root_cred, n->ino, &a, JFS_SET_SIZE, &st);
		wl_result(w, "truncate", ret);
	} else if (op < 60) {
		off_t off = (off_t)(prandom_u64() % 128) * 4096;

		ret = jfs_fallocate(fs, &root_cred, n->ino, prandom_u64() & 1 ? 0 :
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, 65536);
		wl_result(w, "fallocate", ret == -EOPNOTSUPP ? 0 : ret);
	} else if (op < 70) {
		ret = jfs_unlink(fs, &root_cred, w->dir, name);
		if (!ret || ret == -ENOENT)
			n->ino = 0;
		wl_result(w, "unlink", ret);
	} else if (op < 80) {
		j = (unsigned int)(prandom_u64() % WL_NAMES);
		m = &w->names[j];
		name_of(j, name2);
		if (j != i && (!m->ino || !m->dir)) {
			ret = jfs_rename(fs, &root_cred, w->dir, name, w->dir, name2, 0);
			if (!ret) {
				*m = *n;
				n->ino = 0;
			}
			wl_result(w, "rename", ret);
		}
	} else if (op < 88) {
		char v[64];

		memset(v, 'a' + (int)(prandom_u64() % 26), sizeof(v));
		ret = jfs_setxattr(fs, &root_cred, n->ino, prandom_u64() & 1 ? "user.a" : "user.b",
				   v, 1 + prandom_u64() % sizeof(v), 0);
		wl_result(w, "setxattr", ret == -ENOTSUP ? 0 : ret);
	} else if (op < 94) {
		ret = jfs_open(fs, &root_cred, n->ino, O_RDONLY);
		if (!ret) {
			ssize_t rd = jfs_read(fs, n->ino, (off_t)(prandom_u64() % (1 << 20)), 65536,
					      w->buf);

			wl_result(w, "read", rd < 0 ? (int)rd : 0);
			jfs_release(fs, n->ino);
		}
		wl_result(w, "open", ret);
	} else if (op < 96) {
		wl_shared(w);
	} else if (op < 98) {
		wl_result(w, "fsync", jfs_fsync(fs, n->ino, false));
	} else {
		/* sync(2)/syncfs(2) -> sync_filesystem(): ->sync_fs (ext4_sync_fs,
		 * the commit), then sync_blockdev() of the fs's bdev -- writeback of
		 * the buffer cache in WB_SYNC_ALL, folio lock then every buffer lock
		 * (the T2 of the generic/013 hang, kernel-race.md §2.5 I5).  The VFS
		 * half runs here, outside the fs, as it does in the kernel. */
		ret = jfs_syncfs(fs);
		if (!ret)
			ret = sync_blockdev(w->lab->v.bdev);
		wl_result(w, "sync", ret);
	}
out:
	atomic_fetch_add(&w->lab->ops, 1);
}

int lab_workload_setup(struct lab *lab)
{
	unsigned int n = lab->o->threads;
	struct stat st;

	for (unsigned int i = 0; i < n && i < ARRAY_SIZE(lab->root_dirs); i++) {
		char name[32];
		int ret;

		snprintf(name, sizeof(name), "lab-w%u", i);
		ret = jfs_mkdir(lab->fs, &root_cred, 2, name, 0755, &st);
		if (ret)
			return ret;
		jfs_forget(lab->fs, st.st_ino, 1);
		lab->root_dirs[i] = st.st_ino;
	}
	{
		int ret = jfs_create(lab->fs, &root_cred, 2, "lab-shared", S_IFREG | 0644, O_RDWR,
				     &st);

		if (ret)
			return ret;
		jfs_release(lab->fs, st.st_ino);
		jfs_forget(lab->fs, st.st_ino, 1);
		lab->shared_ino = st.st_ino;
	}
	return 0;
}

void *lab_workload_thread(void *arg)
{
	struct lab_thread *t = arg;
	struct wl w = { .lab = t->lab, .index = t->index };

	yield_seed_thread(t->lab->o->seed * 1000003ULL + 1 + t->index);
	trace_set_thread_name("fs-worker/%u", t->index);
	mm_recent_thread(false);
	w.dir = t->lab->root_dirs[t->index];
	w.buf = malloc(65536);
	if (!w.buf)
		return NULL;
	for (size_t i = 0; i < 65536; i++)
		w.buf[i] = (char)(i * 7 + t->index);
	while (!atomic_load(&t->lab->stop))
		wl_one(&w);
	free(w.buf);
	bh_lru_thread_exit();
	return NULL;
}
