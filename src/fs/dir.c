/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dir.c - opendir/readdir/releasedir/fsyncdir, modelled on fs/ext4/dir.c
 * (ext4_readdir, ext4_dx_readdir, htree_fill_tree).
 *
 * FUSE's readdir is stateless between calls except for a 64-bit cookie:
 * each entry is handed to the filler with the cookie that resumes *after*
 * it, and a later call starts from any cookie we gave out.  The directory
 * may change in between; an entry must never be returned twice and an
 * entry that exists during the whole listing must be returned once.
 *
 * Linear directories (ext4_readdir): the cookie is the byte position in
 * the directory, lblk * blocksize + offset, exactly ext4's f_pos.  Entries
 * never move in a linear directory (libext2fs and the kernel insert into
 * slack and delete by merging into the previous entry), so a position
 * names one entry for its lifetime.  A cookie may point into the middle of
 * an entry that absorbed a deleted neighbour; we resynchronise by walking
 * the block from its start to the first entry at or past the offset (the
 * kernel's "f_version changed" rescan).
 *
 * htree directories (ext4_dx_readdir): leaf splits move entries to other
 * blocks, so a position would return moved entries twice.  As ext4 does,
 * the cookie is a hash position: ((major >> 1) << 32 | minor) + 2, with 0
 * and 1 reserved for "." and "..".  Every call collects the live entries
 * whose position is at or past the cookie, sorts them by position and
 * emits them; the entry's own position + 1 is its resume cookie.  A
 * directory whose index root is unusable is read linearly, as ext4 falls
 * back when ext4_dx_readdir reports ERR_BAD_DX_DIR.  Two names with the
 * same 63-bit hash position could be split across calls and one lost -
 * the same (vanishingly rare) limit as the kernel's 64-bit cookies.
 *
 * Inline-data directories: "." and ".." are positions 0 and 1, the entries
 * are at their byte offset in the inline area (i_block then system.data).
 *
 * Index blocks of an htree (dx root after "." and "..", dx nodes as one
 * empty dirent spanning the block) and the metadata_csum tail carry inode
 * number 0, so they are skipped with every other empty entry.
 *
 * A successful readdir updates the directory's atime per the mount's
 * policy (iterate_dir -> file_accessed; attr.c: __jfs_touch_atime).
 *
 * Locking rules: every public function takes the fs lock through
 * jfs_op_begin() and drops it in jfs_op_end().  The filler is called with
 * the fs lock held: it must only copy the entry out (the FUSE adapter
 * fills its reply buffer; the lab records names) and never call back into
 * the fs API.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "fs/fs_internal.h"

#define DX_POS_FIRST		2	/* first hash position of a real entry */

static unsigned int dir_ftype_to_dt(int ftype)
{
	switch (ftype) {
	case EXT2_FT_REG_FILE:	return DT_REG;
	case EXT2_FT_DIR:	return DT_DIR;
	case EXT2_FT_CHRDEV:	return DT_CHR;
	case EXT2_FT_BLKDEV:	return DT_BLK;
	case EXT2_FT_FIFO:	return DT_FIFO;
	case EXT2_FT_SOCK:	return DT_SOCK;
	case EXT2_FT_SYMLINK:	return DT_LNK;
	}
	return DT_UNKNOWN;
}

/* d_type of an entry: the dirent's file type, or the inode's mode when the
 * filesystem has no filetype feature (ext4 then says DT_UNKNOWN; FUSE
 * readdirplus wants the real type, so we look). */
static unsigned int __dir_dtype(struct jfs *fs, const struct ext2_dir_entry *d)
{
	struct ext2_inode_large inode;

	lockdep_assert_held(&fs->fs_lock);
	if (ext2fs_has_feature_filetype(fs->e2fs->super))
		return dir_ftype_to_dt(ext2fs_dirent_file_type(d));
	if (__jfs_read_inode(fs, d->inode, &inode))
		return DT_UNKNOWN;
	return IFTODT(inode.i_mode);
}

/* ------------------------------------------------------------------ */
/* linear                                                              */

struct dir_linear {
	struct jfs *fs;
	ext2_ino_t ino;
	uint64_t cookie;
	jfs_filldir_t fill;
	void *ctx;
	char *buf;
	int err;
	bool full;
};

static int dir_linear_block(ext2_filsys e2, blk64_t *pblk, e2_blkcnt_t lblk,
			    blk64_t ref_blk, int ref_off, void *priv)
{
	struct dir_linear *l = priv;
	struct jfs *fs = l->fs;
	uint64_t base = (uint64_t)lblk * fs->blocksize;
	unsigned int off = 0, rec_len, start;
	errcode_t e;

	if (lblk < 0)
		return 0;
	if (base + fs->blocksize <= l->cookie)
		return 0;		/* wholly before the cookie */
	start = l->cookie > base ? l->cookie - base : 0;

	e = ext2fs_read_dir_block4(e2, *pblk, l->buf, 0, l->ino);
	if (e) {
		l->err = __jfs_fail(fs, e);
		return BLOCK_ABORT;
	}
	while (off + 8 <= fs->blocksize) {
		struct ext2_dir_entry *d = (void *)(l->buf + off);
		int err = jfs_dir_check_entry(fs, l->buf, off, fs->blocksize, &rec_len);

		if (err) {
			l->err = err;
			return BLOCK_ABORT;
		}
		if (off >= start && d->inode) {
			if (l->fill(l->ctx, d->name, ext2fs_dirent_name_len(d), d->inode,
				    __dir_dtype(fs, d), base + off + rec_len)) {
				l->full = true;
				return BLOCK_ABORT;
			}
		}
		off += rec_len;
	}
	return 0;
}

static int __dir_readdir_linear(struct jfs *fs, ext2_ino_t ino, uint64_t cookie,
				jfs_filldir_t fill, void *ctx)
{
	struct dir_linear l = {
		.fs = fs, .ino = ino, .cookie = cookie, .fill = fill, .ctx = ctx,
	};
	errcode_t e;

	lockdep_assert_held(&fs->fs_lock);
	l.buf = malloc(fs->blocksize);
	if (!l.buf)
		return -ENOMEM;
	e = ext2fs_block_iterate3(fs->e2fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				  NULL, dir_linear_block, &l);
	free(l.buf);
	if (l.err)
		return l.err;
	return e ? __jfs_fail(fs, e) : 0;
}

/* ------------------------------------------------------------------ */
/* htree                                                               */

struct dx_ent {
	uint64_t pos;
	ext2_ino_t ino;
	uint32_t name_off;
	uint8_t len;
	uint8_t dtype;
};

struct dir_dx {
	struct jfs *fs;
	ext2_ino_t ino;
	uint64_t cookie;
	int hash_alg;
	char *buf;
	struct dx_ent *ents;
	size_t nents, cap;
	char *names;
	size_t names_len, names_cap;
	int err;
};

static int dx_add(struct dir_dx *x, uint64_t pos, const struct ext2_dir_entry *d)
{
	int len = ext2fs_dirent_name_len(d);
	struct dx_ent *e;

	if (x->nents == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 256;
		void *p = realloc(x->ents, cap * sizeof(*x->ents));

		if (!p)
			return -ENOMEM;
		x->ents = p;
		x->cap = cap;
	}
	if (x->names_len + len > x->names_cap) {
		size_t cap = x->names_cap ? 2 * x->names_cap : 8192;
		void *p;

		while (cap < x->names_len + len)
			cap *= 2;
		p = realloc(x->names, cap);
		if (!p)
			return -ENOMEM;
		x->names = p;
		x->names_cap = cap;
	}
	e = &x->ents[x->nents++];
	e->pos = pos;
	e->ino = d->inode;
	e->name_off = x->names_len;
	e->len = len;
	e->dtype = __dir_dtype(x->fs, d);
	memcpy(x->names + x->names_len, d->name, len);
	x->names_len += len;
	return 0;
}

static int dir_dx_block(ext2_filsys e2, blk64_t *pblk, e2_blkcnt_t lblk,
			blk64_t ref_blk, int ref_off, void *priv)
{
	struct dir_dx *x = priv;
	struct jfs *fs = x->fs;
	unsigned int off = 0, rec_len;
	errcode_t e;
	int err;

	if (lblk < 0)
		return 0;
	e = ext2fs_read_dir_block4(e2, *pblk, x->buf, 0, x->ino);
	if (e) {
		x->err = __jfs_fail(fs, e);
		return BLOCK_ABORT;
	}
	while (off + 8 <= fs->blocksize) {
		struct ext2_dir_entry *d = (void *)(x->buf + off);
		int len = ext2fs_dirent_name_len(d);
		uint64_t pos;

		err = jfs_dir_check_entry(fs, x->buf, off, fs->blocksize, &rec_len);
		if (err) {
			x->err = err;
			return BLOCK_ABORT;
		}
		off += rec_len;
		if (!d->inode || !len)
			continue;
		if (lblk == 0 && len == 1 && d->name[0] == '.') {
			pos = 0;
		} else if (lblk == 0 && len == 2 && d->name[0] == '.' && d->name[1] == '.') {
			pos = 1;
		} else {
			ext2_dirhash_t major = 0, minor = 0;

			e = ext2fs_dirhash2(x->hash_alg, d->name, len, e2->encoding, 0,
					    e2->super->s_hash_seed, &major, &minor);
			if (e) {
				x->err = __jfs_fail(fs, e);
				return BLOCK_ABORT;
			}
			pos = (((uint64_t)(major >> 1) << 32) | minor) + DX_POS_FIRST;
		}
		if (pos < x->cookie)
			continue;
		err = dx_add(x, pos, d);
		if (err) {
			x->err = err;
			return BLOCK_ABORT;
		}
	}
	return 0;
}

static int dx_ent_cmp(const void *a, const void *b)
{
	const struct dx_ent *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The hash of the index root, or -1 if the root is unusable. */
static int __dx_hash_alg(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
			 char *buf)
{
	ext2_filsys e2 = fs->e2fs;
	struct ext2_dx_root_info *root;
	blk64_t pblk = 0;

	lockdep_assert_held(&fs->fs_lock);
	if (ext2fs_bmap2(e2, ino, EXT2_INODE(inode), NULL, 0, 0, NULL, &pblk) || !pblk)
		return -1;
	if (ext2fs_read_dir_block4(e2, pblk, buf, 0, ino))
		return -1;
	root = (struct ext2_dx_root_info *)(buf + JFS_DX_ROOT_INFO_OFF);
	return jfs_dx_hash_alg(fs, root->hash_version);
}

static int __dir_readdir_dx(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
			    uint64_t cookie, jfs_filldir_t fill, void *ctx)
{
	struct dir_dx x = { .fs = fs, .ino = ino, .cookie = cookie };
	errcode_t e;
	size_t i;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	x.buf = malloc(fs->blocksize);
	if (!x.buf)
		return -ENOMEM;
	x.hash_alg = __dx_hash_alg(fs, ino, inode, x.buf);
	if (x.hash_alg < 0) {
		free(x.buf);
		return 1;	/* ERR_BAD_DX_DIR: caller falls back to linear */
	}
	e = ext2fs_block_iterate3(fs->e2fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				  NULL, dir_dx_block, &x);
	err = x.err ? x.err : (e ? __jfs_fail(fs, e) : 0);
	if (err)
		goto out;
	if (x.nents)	/* qsort(NULL, 0, ...) is undefined (glibc: nonnull) */
		qsort(x.ents, x.nents, sizeof(*x.ents), dx_ent_cmp);
	for (i = 0; i < x.nents; i++) {
		struct dx_ent *d = &x.ents[i];

		if (fill(ctx, x.names + d->name_off, d->len, d->ino, d->dtype, d->pos + 1))
			break;
	}
out:
	free(x.ents);
	free(x.names);
	free(x.buf);
	return err;
}

/* ------------------------------------------------------------------ */
/* inline data                                                         */

static int __dir_readdir_inline(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
				uint64_t cookie, jfs_filldir_t fill, void *ctx)
{
	size_t size = 0;
	unsigned int off, rec_len;
	char *buf;
	errcode_t e;
	int err = 0;

	lockdep_assert_held(&fs->fs_lock);
	e = ext2fs_inline_data_size(fs->e2fs, ino, &size);
	if (e)
		return __jfs_fail(fs, e);
	if (size < 4)
		return -EUCLEAN;
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	e = ext2fs_inline_data_get(fs->e2fs, ino, EXT2_INODE(inode), buf, &size);
	if (e) {
		err = __jfs_fail(fs, e);
		goto out;
	}
	if (cookie == 0 && fill(ctx, ".", 1, ino, DT_DIR, 1))
		goto out;
	if (cookie <= 1) {
		ext2_ino_t parent = ext2fs_le32_to_cpu(*(uint32_t *)buf);

		if (fill(ctx, "..", 2, parent, DT_DIR, 4))
			goto out;
	}
	/* entries in i_block after the parent, then in system.data; the
	 * boundary at 60 is also an entry boundary */
	for (off = 4; off + 8 <= size; off += rec_len) {
		struct ext2_dir_entry *d = (void *)(buf + off);
		unsigned int end = off < EXT2_N_BLOCKS * 4 ? EXT2_N_BLOCKS * 4 : size;

		if (end > size)
			end = size;
		err = jfs_dir_check_entry(fs, buf, off, end, &rec_len);
		if (err)
			goto out;
		if (off >= cookie && d->inode &&
		    fill(ctx, d->name, ext2fs_dirent_name_len(d), d->inode,
			 __dir_dtype(fs, d), off + rec_len))
			goto out;
	}
out:
	free(buf);
	return err;
}

/* ------------------------------------------------------------------ */
/* public operations                                                   */

/* ext4_dir_open + may_open(MAY_READ).  Locking: fs lock. */
int jfs_opendir(struct jfs *fs, const struct jfs_cred *c, ino_t ino)
{
	struct ext2_inode_large inode;
	int err;

	err = jfs_op_begin(fs, "opendir", 0);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	if (!LINUX_S_ISDIR(inode.i_mode)) {
		err = -ENOTDIR;
		goto out;
	}
	err = __jfs_permission(fs, c, &inode, JFS_MAY_READ);
	if (err)
		goto out;
	__jfs_inode_open(fs, ino);
out:
	return jfs_op_end(fs, err);
}

/* Drop the open reference; the last reference of a removed directory
 * frees it (ext4_evict_inode), hence the credits of a final delete.
 * Locking: fs lock. */
int jfs_releasedir(struct jfs *fs, ino_t ino)
{
	int err;

	err = jfs_op_begin(fs, "releasedir", fs->ro ? 0 : jfs_credits_data(fs) + 64 + 3);
	if (err)
		return err;
	err = __jfs_inode_close(fs, ino);
	return jfs_op_end(fs, err);
}

/* ext4_sync_file serves directories too: commit what changed them. */
int jfs_fsyncdir(struct jfs *fs, ino_t ino, bool datasync)
{
	return jfs_fsync(fs, ino, datasync);
}

/* ext4_readdir / ext4_dx_readdir.  Locking: fs lock (filler included). */
int jfs_readdir(struct jfs *fs, ino_t ino, uint64_t cookie, jfs_filldir_t fill, void *ctx)
{
	struct ext2_inode_large inode;
	int err;

	err = jfs_op_begin(fs, "readdir", 0);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	if (!LINUX_S_ISDIR(inode.i_mode)) {
		err = -ENOTDIR;
		goto out;
	}
	if (inode.i_links_count == 0)
		goto out;	/* removed while open: ext4 set i_size = 0 */

	if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		err = __dir_readdir_inline(fs, ino, &inode, cookie, fill, ctx);
	} else if (ext2fs_has_feature_dir_index(fs->e2fs->super) &&
		   (inode.i_flags & EXT2_INDEX_FL)) {
		err = __dir_readdir_dx(fs, ino, &inode, cookie, fill, ctx);
		if (err == 1)
			err = __dir_readdir_linear(fs, ino, cookie, fill, ctx);
	} else {
		err = __dir_readdir_linear(fs, ino, cookie, fill, ctx);
	}
	/* iterate_dir() -> file_accessed(), for a directory still linked */
	if (!err)
		__jfs_touch_atime(fs, ino, &inode);
out:
	return jfs_op_end(fs, err);
}
