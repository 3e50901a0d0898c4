/* SPDX-License-Identifier: GPL-2.0 */
/*
 * htree.c - indexed directories, modelled on fs/ext4/namei.c: the index
 * walk of dx_probe(), the lookup of ext4_dx_find_entry() with
 * ext4_htree_next_block() for hash collisions continued in the next leaf,
 * the delete of ext4_delete_entry() in the block the index names, and the
 * conversion of make_indexed_dir() with do_split().
 *
 * Division of labour with libext2fs 1.47.0 (reference/libext2fs.md §6.2):
 * ext2fs_link() inserts into an indexed directory itself (dx_link: leaf
 * splits, index node splits, tree growth), but it never builds an index,
 * and ext2fs_lookup() / ext2fs_unlink() / ext2fs_dir_iterate() walk every
 * block of a directory.  So here:
 *   - a lookup, a delete and an in-place rewrite (rename's ext4_setent) go
 *     through the index to the one leaf that can hold the name, as the
 *     kernel's ext4_find_entry() does;
 *   - a linear directory of exactly one block that has no room for a new
 *     entry becomes indexed (make_indexed_dir): block 0 keeps "." and ".."
 *     and becomes the dx root, its other entries move to a new block 1,
 *     which is split by hash at once into blocks 1 and 2 (do_split), and
 *     ext2fs_link() then inserts the name through the index.  A directory
 *     that is already linear over more blocks stays linear, as in the
 *     kernel (ext4_add_entry converts only at blocks == 1).
 *
 * On-disk layout (ext4's): the root is block 0 -- "." (rec_len 12), ".."
 * (rec_len blocksize - 12), dx_root_info (8 bytes: hash version, info
 * length 8, indirect levels), then the count/limit header overlaying the
 * first dx_entry's hash and the entries {hash, block}; an interior node is
 * one empty dirent spanning the block, then count/limit and entries.  Under
 * metadata_csum the entry limit leaves room for the dx tail, and leaves
 * end with the 12-byte dirent tail; ext2fs_write_dir_block4() computes
 * both checksums.  Hashes are ext2fs_dirhash2() with the root's hash
 * version (+3 for the unsigned variants when the superblock says
 * EXT2_FLAGS_UNSIGNED_HASH) and the superblock's s_hash_seed; the low bit
 * of an index hash marks a leaf that continues the previous leaf's hash.
 *
 * An index that fails a structural check (unknown hash version, too many
 * levels, a count or limit that does not fit, a block past the end) is
 * "ERR_BAD_DX_DIR": the callers fall back to the linear walk, as the
 * kernel does.  An unreadable block or a bad checksum is an error.
 *
 * Simplifications: no casefold or encrypted names (jbdlab supports
 * neither); the conversion gives up (the caller appends a linear block)
 * where the kernel would report corruption: a block 0 whose "." / ".."
 * are not the standard two entries, or fewer than two live entries.
 *
 * Locking rules: every function here is a `__` helper called with the fs
 * lock held (it asserts it), inside the caller's journal handle; no
 * libext2fs handle is kept across calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_internal.h"

#define DX_MAX_LEVELS		3		/* with largedir */
#define DX_BLOCK_MASK		0x0fffffffU	/* dx_get_block() */

struct dx_frame {
	char *buf;			/* the index block */
	blk64_t lblk;
	struct ext2_dx_entry *entries;	/* entries[0] holds count/limit */
	struct ext2_dx_entry *at;	/* the entry followed */
};

struct dx_path {
	struct jfs *fs;
	ext2_ino_t dir;
	struct ext2_inode_large *inode;
	int hash_alg;
	ext2_dirhash_t hash;		/* of the name looked for, low bit clear */
	unsigned int levels;		/* index levels: indirect_levels + 1 */
	struct dx_frame frames[DX_MAX_LEVELS];
};

static unsigned int dx_csum_size(struct jfs *fs)
{
	return ext2fs_has_feature_metadata_csum(fs->e2fs->super) ? sizeof(struct ext2_dx_tail) : 0;
}

static unsigned int dx_count(const struct ext2_dx_entry *e)
{
	return ext2fs_le16_to_cpu(((const struct ext2_dx_countlimit *)e)->count);
}

static unsigned int dx_limit(const struct ext2_dx_entry *e)
{
	return ext2fs_le16_to_cpu(((const struct ext2_dx_countlimit *)e)->limit);
}

static void dx_set_count(struct ext2_dx_entry *e, unsigned int n)
{
	((struct ext2_dx_countlimit *)e)->count = ext2fs_cpu_to_le16((__u16)n);
}

/* dx_root_limit() / dx_node_limit() */
static unsigned int dx_root_limit(struct jfs *fs)
{
	return (fs->blocksize - JFS_DX_ROOT_INFO_OFF - sizeof(struct ext2_dx_root_info) -
		dx_csum_size(fs)) / sizeof(struct ext2_dx_entry);
}

static unsigned int dx_node_limit(struct jfs *fs)
{
	return (fs->blocksize - 8 - dx_csum_size(fs)) / sizeof(struct ext2_dx_entry);
}

/* Validate one entry the way ext4_check_dir_entry does (readdir too). */
int jfs_dir_check_entry(struct jfs *fs, const char *buf, unsigned int off,
			unsigned int end, unsigned int *rec_len)
{
	const struct ext2_dir_entry *d = (const void *)(buf + off);

	if (ext2fs_get_rec_len(fs->e2fs, (struct ext2_dir_entry *)d, rec_len))
		return -EUCLEAN;
	if (*rec_len < 8 || (*rec_len & 3) || off + *rec_len > end ||
	    (unsigned int)ext2fs_dirent_name_len(d) + 8 > *rec_len)
		return -EUCLEAN;
	return 0;
}

/* The hash algorithm of a root hash version (dx_probe's hinfo), or -1. */
int jfs_dx_hash_alg(struct jfs *fs, unsigned int version)
{
	if (version != EXT2_HASH_LEGACY && version != EXT2_HASH_HALF_MD4 &&
	    version != EXT2_HASH_TEA)
		return -1;
	if (fs->e2fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		version += 3;		/* s_hash_unsigned */
	return (int)version;
}

static int dx_hash(struct jfs *fs, int alg, const char *name, int len, ext2_dirhash_t *hash)
{
	ext2_dirhash_t minor = 0;
	errcode_t e;

	e = ext2fs_dirhash2(alg, name, len, NULL, 0, fs->e2fs->super->s_hash_seed, hash, &minor);
	return e ? __jfs_fail(fs, e) : 0;
}

/* Read directory block @lblk into @buf (checksums verified). */
static int __dx_read(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		     blk64_t lblk, char *buf, blk64_t *pblk_out)
{
	ext2_filsys e2 = fs->e2fs;
	blk64_t pblk = 0;
	errcode_t e;

	lockdep_assert_held(&fs->fs_lock);
	if (lblk >= EXT2_I_SIZE(inode) / fs->blocksize)
		return JFS_DX_FALLBACK;		/* points past the directory */
	e = ext2fs_bmap2(e2, dir, EXT2_INODE(inode), NULL, 0, lblk, NULL, &pblk);
	if (e)
		return __jfs_fail(fs, e);
	if (!pblk)
		return JFS_DX_FALLBACK;		/* a hole where the index points */
	e = ext2fs_read_dir_block4(e2, pblk, buf, 0, dir);
	if (e)
		return __jfs_fail(fs, e);
	if (pblk_out)
		*pblk_out = pblk;
	return 0;
}

static void dx_path_free(struct dx_path *p)
{
	for (unsigned int i = 0; i < DX_MAX_LEVELS; i++)
		free(p->frames[i].buf);
}

/* Count and limit of an index block as dx_probe checks them. */
static bool dx_entries_ok(struct jfs *fs, const struct ext2_dx_entry *e, bool root)
{
	unsigned int count = dx_count(e), limit = dx_limit(e);

	return limit == (root ? dx_root_limit(fs) : dx_node_limit(fs)) && count && count <= limit;
}

/* The last entry whose hash is <= @hash (entries[0] stands for 0). */
static struct ext2_dx_entry *dx_search(struct ext2_dx_entry *entries, ext2_dirhash_t hash)
{
	struct ext2_dx_entry *p = entries + 1, *q = entries + dx_count(entries) - 1;

	while (p <= q) {
		struct ext2_dx_entry *m = p + (q - p) / 2;

		if (ext2fs_le32_to_cpu(m->hash) > hash)
			q = m - 1;
		else
			p = m + 1;
	}
	return p - 1;
}

/* Read the index block @at points at into level @lvl and check it. */
static int __dx_load_node(struct dx_path *p, unsigned int lvl, const struct ext2_dx_entry *at)
{
	struct jfs *fs = p->fs;
	struct dx_frame *f = &p->frames[lvl];
	const struct ext2_dir_entry *fake;
	unsigned int rec_len = 0;
	int err;

	f->lblk = ext2fs_le32_to_cpu(at->block) & DX_BLOCK_MASK;
	err = __dx_read(fs, p->dir, p->inode, f->lblk, f->buf, NULL);
	if (err)
		return err;
	fake = (const void *)f->buf;
	if (ext2fs_get_rec_len(fs->e2fs, (struct ext2_dir_entry *)fake, &rec_len) ||
	    rec_len != fs->blocksize || ext2fs_dirent_name_len(fake) || fake->inode)
		return JFS_DX_FALLBACK;
	f->entries = (struct ext2_dx_entry *)(f->buf + 8);
	if (!dx_entries_ok(fs, f->entries, false))
		return JFS_DX_FALLBACK;
	return 0;
}

/*
 * dx_probe(): from the root down to the leaf that may hold a name of
 * hash p->hash.  0 with every frame's `at` set, JFS_DX_FALLBACK for an
 * unusable index, or -errno.
 */
static int __dx_probe(struct dx_path *p, const char *name, int len)
{
	struct jfs *fs = p->fs;
	struct dx_frame *f = &p->frames[0];
	struct ext2_dx_root_info *info;
	unsigned int max_levels;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	for (unsigned int i = 0; i < DX_MAX_LEVELS; i++) {
		p->frames[i].buf = malloc(fs->blocksize);
		if (!p->frames[i].buf)
			return -ENOMEM;
	}
	f->lblk = 0;
	err = __dx_read(fs, p->dir, p->inode, 0, f->buf, NULL);
	if (err)
		return err;
	info = (struct ext2_dx_root_info *)(f->buf + JFS_DX_ROOT_INFO_OFF);
	max_levels = ext2fs_has_feature_largedir(fs->e2fs->super) ? 3 : 2;
	p->hash_alg = jfs_dx_hash_alg(fs, info->hash_version);
	if (info->reserved_zero || p->hash_alg < 0 || info->info_length != sizeof(*info) ||
	    (info->unused_flags & EXT2_HASH_FLAG_INCOMPAT) ||
	    info->indirect_levels >= max_levels)
		return JFS_DX_FALLBACK;
	p->levels = info->indirect_levels + 1U;
	f->entries = (struct ext2_dx_entry *)((char *)info + info->info_length);
	if (!dx_entries_ok(fs, f->entries, true))
		return JFS_DX_FALLBACK;
	err = dx_hash(fs, p->hash_alg, name, len, &p->hash);
	if (err)
		return err;
	for (unsigned int lvl = 0;; lvl++) {
		f = &p->frames[lvl];
		f->at = dx_search(f->entries, p->hash);
		if (lvl + 1 == p->levels)
			return 0;
		err = __dx_load_node(p, lvl + 1, f->at);
		if (err)
			return err;
	}
}

/* The directory block of the leaf the path ends at. */
static blk64_t dx_leaf(const struct dx_path *p)
{
	return ext2fs_le32_to_cpu(p->frames[p->levels - 1].at->block) & DX_BLOCK_MASK;
}

/* Results of the walks below, apart from 0, JFS_DX_FALLBACK and -errno. */
#define DX_LEAF_DONE	2	/* the leaf operation found (and did) it */
#define DX_NEXT_LEAF	3	/* moved on to the leaf continuing the hash */

/*
 * ext4_htree_next_block(): step to the next leaf if it continues p->hash
 * (its index hash, continuation bit aside, is the same).  DX_NEXT_LEAF
 * moved, 0 no next leaf for this hash, JFS_DX_FALLBACK / -errno.
 */
static int __dx_next_leaf(struct dx_path *p)
{
	int lvl = (int)p->levels - 1;
	struct dx_frame *f;
	int err;

	for (;;) {
		f = &p->frames[lvl];
		if (f->at + 1 < f->entries + dx_count(f->entries))
			break;
		if (!lvl)
			return 0;
		lvl--;
	}
	f->at++;
	if ((ext2fs_le32_to_cpu(f->at->hash) & ~1U) != p->hash)
		return 0;
	for (unsigned int l = (unsigned int)lvl + 1; l < p->levels; l++) {
		err = __dx_load_node(p, l, p->frames[l - 1].at);
		if (err)
			return err;
		p->frames[l].at = p->frames[l].entries;
	}
	return DX_NEXT_LEAF;
}

/* ---------------------------------------------------- leaf operations */

enum dx_leaf_op { DX_FIND, DX_DELETE, DX_SETENT };

struct dx_leaf_req {
	enum dx_leaf_op op;
	const char *name;
	int len;
	ext2_ino_t match_ino;		/* DX_DELETE/DX_SETENT: the entry's inode */
	ext2_ino_t new_ino;		/* DX_SETENT */
	int new_ftype;			/* DX_SETENT, when the fs has filetype */
	ext2_ino_t found;		/* DX_FIND result */
};


/*
 * Search one leaf (search_dirblock() / ext4_generic_delete_entry()).
 * DX_LEAF_DONE, 0 not in this block, -errno (a corrupt entry: -EUCLEAN, as
 * ext4_check_dir_entry).  A change is written at once.
 */
static int __dx_leaf_op(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
			blk64_t lblk, char *buf, struct dx_leaf_req *r)
{
	struct ext2_dir_entry *prev = NULL;
	unsigned int off = 0, rec_len;
	blk64_t pblk;
	errcode_t e;
	int err;

	err = __dx_read(fs, dir, inode, lblk, buf, &pblk);
	if (err)
		return err == JFS_DX_FALLBACK ? -EUCLEAN : err;
	while (off + 8 <= fs->blocksize) {
		struct ext2_dir_entry *d = (void *)(buf + off);
		int nlen = ext2fs_dirent_name_len(d);

		err = jfs_dir_check_entry(fs, buf, off, fs->blocksize, &rec_len);
		if (err)
			return err;
		if (d->inode && nlen == r->len && !memcmp(d->name, r->name, (size_t)nlen) &&
		    (r->op == DX_FIND || d->inode == r->match_ino)) {
			switch (r->op) {
			case DX_FIND:
				r->found = d->inode;
				return DX_LEAF_DONE;
			case DX_DELETE:
				if (prev) {
					unsigned int plen = 0;

					ext2fs_get_rec_len(fs->e2fs, prev, &plen);
					ext2fs_set_rec_len(fs->e2fs, plen + rec_len, prev);
				} else {
					d->inode = 0;
				}
				break;
			case DX_SETENT:
				d->inode = r->new_ino;
				if (ext2fs_has_feature_filetype(fs->e2fs->super))
					ext2fs_dirent_set_file_type(d, r->new_ftype);
				break;
			}
			e = ext2fs_write_dir_block4(fs->e2fs, pblk, buf, 0, dir);
			return e ? __jfs_fail(fs, e) : DX_LEAF_DONE;
		}
		prev = d;
		off += rec_len;
	}
	return 0;
}

/* The leaf (and its continuations) that can hold r->name. */
static int __dx_op(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		   struct dx_leaf_req *r)
{
	struct dx_path p = { .fs = fs, .dir = dir, .inode = inode };
	char *buf = malloc(fs->blocksize);
	int err;

	lockdep_assert_held(&fs->fs_lock);
	if (!buf)
		return -ENOMEM;
	err = __dx_probe(&p, r->name, r->len);
	while (!err) {
		err = __dx_leaf_op(fs, dir, inode, dx_leaf(&p), buf, r);
		if (err)
			break;
		err = __dx_next_leaf(&p);
		if (err == DX_NEXT_LEAF)
			err = 0;
		else if (!err) {
			err = -ENOENT;
			break;
		}
	}
	dx_path_free(&p);
	free(buf);
	return err == DX_LEAF_DONE ? 0 : err;
}

int __jfs_dx_lookup(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		    const char *name, ext2_ino_t *ino)
{
	struct dx_leaf_req r = { .op = DX_FIND, .name = name, .len = (int)strlen(name) };
	int err = __dx_op(fs, dir, inode, &r);

	if (!err)
		*ino = r.found;
	return err;
}

int __jfs_dx_delete(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		    const char *name, ext2_ino_t ino)
{
	struct dx_leaf_req r = {
		.op = DX_DELETE, .name = name, .len = (int)strlen(name), .match_ino = ino,
	};

	return __dx_op(fs, dir, inode, &r);
}

int __jfs_dx_setent(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		    const char *name, ext2_ino_t old_ino, ext2_ino_t new_ino, int ftype)
{
	struct dx_leaf_req r = {
		.op = DX_SETENT, .name = name, .len = (int)strlen(name),
		.match_ino = old_ino, .new_ino = new_ino, .new_ftype = ftype,
	};

	return __dx_op(fs, dir, inode, &r);
}

/* ------------------------------------------------------ make_indexed_dir */

struct dx_map_entry {
	ext2_dirhash_t hash;
	unsigned int offs;		/* in the block */
	unsigned int size;		/* its rec_len */
};

static int dx_map_cmp(const void *a, const void *b)
{
	const struct dx_map_entry *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->offs < y->offs ? -1 : x->offs > y->offs;	/* deterministic */
}

/* Give the entry at @last the rest of the block up to @end. */
static void dx_extend_last(struct jfs *fs, char *buf, unsigned int last, unsigned int end)
{
	ext2fs_set_rec_len(fs->e2fs, end - last, (struct ext2_dir_entry *)(buf + last));
}

static void dx_init_tail(struct jfs *fs, char *buf)
{
	if (ext2fs_has_feature_metadata_csum(fs->e2fs->super))
		ext2fs_initialize_dirent_tail(fs->e2fs, EXT2_DIRENT_TAIL(buf, fs->blocksize));
}

/* Append @d with its minimal rec_len at *@pos of @to; returns its offset. */
static unsigned int dx_append(char *to, unsigned int *pos, const struct ext2_dir_entry *d,
			      struct jfs *fs)
{
	unsigned int at = *pos, len = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(d));

	memcpy(to + at, d, 8 + (size_t)ext2fs_dirent_name_len(d));
	ext2fs_set_rec_len(fs->e2fs, len, (struct ext2_dir_entry *)(to + at));
	*pos += len;
	return at;
}

/*
 * do_split(): move the upper half (by size, in hash order) of leaf @buf1
 * to @buf2, pack what stays, and return the first moved hash with the
 * continuation bit set when it equals the last hash kept.  1 when the
 * block cannot be split (fewer than two live entries), else 0 / -errno.
 */
static int __dx_split(struct jfs *fs, int alg, char *buf1, char *buf2, ext2_dirhash_t *hash2)
{
	unsigned int end = fs->blocksize - (ext2fs_has_feature_metadata_csum(fs->e2fs->super) ?
					    sizeof(struct ext2_dir_entry_tail) : 0);
	unsigned int off = 0, count = 0, move = 0, size = 0, split, pos, last = 0;
	struct dx_map_entry *map;
	char *tmp;
	int i, err = 0;

	map = calloc(fs->blocksize / 8 + 1, sizeof(*map));
	tmp = malloc(fs->blocksize);
	if (!map || !tmp) {
		free(map);
		free(tmp);
		return -ENOMEM;
	}
	/* dx_make_map(): the live entries, hashed */
	while (off < end) {
		struct ext2_dir_entry *d = (void *)(buf1 + off);
		unsigned int rec_len = 0;

		ext2fs_get_rec_len(fs->e2fs, d, &rec_len);
		if (d->inode && ext2fs_dirent_name_len(d)) {
			err = dx_hash(fs, alg, d->name, ext2fs_dirent_name_len(d), &map[count].hash);
			if (err)
				goto out;
			map[count].offs = off;
			map[count].size = rec_len;
			count++;
		}
		off += rec_len;
	}
	if (count < 2) {
		err = 1;
		goto out;
	}
	qsort(map, count, sizeof(*map), dx_map_cmp);	/* dx_sort_map() */
	/* Split in the middle, size-wise: is more than half of an entry in
	 * the second half of the block? */
	for (i = (int)count - 1; i >= 0; i--) {
		if (size + map[i].size / 2 > fs->blocksize / 2)
			break;
		size += map[i].size;
		move++;
	}
	split = i > 0 ? count - move : count / 2;
	*hash2 = map[split].hash;
	if (map[split].hash == map[split - 1].hash)
		*hash2 |= 1;		/* continued */
	/* dx_move_dirents(): the moved ones to buf2, in hash order */
	memset(buf2, 0, fs->blocksize);
	pos = 0;
	for (unsigned int k = split; k < count; k++) {
		struct ext2_dir_entry *d = (void *)(buf1 + map[k].offs);

		last = dx_append(buf2, &pos, d, fs);
		d->inode = 0;
	}
	dx_extend_last(fs, buf2, last, end);
	dx_init_tail(fs, buf2);
	/* dx_pack_dirents(): what stays, in its order */
	memset(tmp, 0, fs->blocksize);
	pos = 0;
	for (off = 0; off < end;) {
		struct ext2_dir_entry *d = (void *)(buf1 + off);
		unsigned int rec_len = 0;

		ext2fs_get_rec_len(fs->e2fs, d, &rec_len);
		if (d->inode && ext2fs_dirent_name_len(d))
			last = dx_append(tmp, &pos, d, fs);
		off += rec_len;
	}
	dx_extend_last(fs, tmp, last, end);
	dx_init_tail(fs, tmp);
	memcpy(buf1, tmp, fs->blocksize);
out:
	free(map);
	free(tmp);
	return err;
}

/* The entries of a linear block after ".." are sane to move (a full check,
 * as ext4_check_dir_entry does before make_indexed_dir uses them). */
static bool dx_block_ok(struct jfs *fs, const char *buf, unsigned int from, unsigned int end)
{
	unsigned int off = from, rec_len;

	while (off < end) {
		const struct ext2_dir_entry *d = (const void *)(buf + off);

		if (ext2fs_get_rec_len(fs->e2fs, (struct ext2_dir_entry *)d, &rec_len) ||
		    rec_len < 12 || (rec_len & 3) || off + rec_len > end ||
		    (unsigned int)ext2fs_dirent_name_len(d) + 8 > rec_len)
			return false;
		off += rec_len;
	}
	return off == end;
}

/*
 * make_indexed_dir(): turn the one-block linear directory @dir, which has
 * no room for an entry, into an index root over two leaves.  0 converted
 * (the caller inserts with ext2fs_link), JFS_DX_FALLBACK not convertible
 * (the caller appends a linear block instead), -errno.
 */
int __jfs_dx_make_indexed(struct jfs *fs, ext2_ino_t dir)
{
	ext2_filsys e2 = fs->e2fs;
	unsigned int bs = fs->blocksize, csum = ext2fs_has_feature_metadata_csum(e2->super) ?
		sizeof(struct ext2_dir_entry_tail) : 0;
	unsigned int dot_len = 0, dotdot_len = 0, from, len, last, off;
	struct ext2_inode_large inode;
	struct ext2_dir_entry *dot, *dotdot;
	struct ext2_dx_root_info *info;
	struct ext2_dx_entry *entries;
	blk64_t pblk[3] = { 0 };
	char *b0 = NULL, *b1 = NULL, *b2 = NULL;
	ext2_dirhash_t hash2 = 0;
	errcode_t e;
	int alg, err;

	lockdep_assert_held(&fs->fs_lock);
	if (!ext2fs_has_feature_dir_index(e2->super))
		return JFS_DX_FALLBACK;
	alg = jfs_dx_hash_alg(fs, e2->super->s_def_hash_version);
	if (alg < 0)
		return JFS_DX_FALLBACK;		/* siphash is casefold's */
	err = __jfs_read_inode(fs, dir, &inode);
	if (err)
		return err;
	if ((inode.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL | EXT4_CASEFOLD_FL |
			      EXT4_ENCRYPT_FL)) || EXT2_I_SIZE(&inode) != bs)
		return JFS_DX_FALLBACK;
	b0 = malloc(bs);
	b1 = calloc(1, bs);
	b2 = malloc(bs);
	if (!b0 || !b1 || !b2) {
		err = -ENOMEM;
		goto out;
	}
	err = __dx_read(fs, dir, &inode, 0, b0, &pblk[0]);
	if (err)
		goto out;
	/* "." then ".." then the entries to move (ext4: "invalid rec_len") */
	dot = (void *)b0;
	dotdot = (void *)(b0 + 12);
	if (ext2fs_get_rec_len(e2, dot, &dot_len) || dot_len != 12 ||
	    ext2fs_dirent_name_len(dot) != 1 || dot->name[0] != '.' ||
	    ext2fs_get_rec_len(e2, dotdot, &dotdot_len) || dotdot_len < 12 ||
	    ext2fs_dirent_name_len(dotdot) != 2 || memcmp(dotdot->name, "..", 2) ||
	    12 + dotdot_len >= bs - csum || !dx_block_ok(fs, b0, 12 + dotdot_len, bs - csum)) {
		err = JFS_DX_FALLBACK;
		goto out;
	}
	/* ext4_append() twice: blocks 1 and 2 (expand_dir writes them empty
	 * and updates i_size and i_blocks; their contents come below) */
	e = ext2fs_expand_dir(e2, dir);
	if (!e)
		e = ext2fs_expand_dir(e2, dir);
	if (e) {
		err = (e == EXT2_ET_BLOCK_ALLOC_FAIL || e == EXT2_ET_DIR_NO_SPACE ||
		       e == EXT2_ET_EXPAND_DIR_ERR) ? -ENOSPC : __jfs_fail(fs, e);
		goto out;
	}
	err = __jfs_read_inode(fs, dir, &inode);
	if (err)
		goto out;
	for (int i = 1; i < 3; i++) {
		e = ext2fs_bmap2(e2, dir, EXT2_INODE(&inode), NULL, 0, (blk64_t)i, NULL, &pblk[i]);
		if (e || !pblk[i]) {
			err = e ? __jfs_fail(fs, e) : -EUCLEAN;
			goto out;
		}
	}
	/* block 1: the entries after ".." (data2), the last one to the end */
	from = 12 + dotdot_len;
	len = bs - csum - from;
	memcpy(b1, b0 + from, len);
	for (off = 0, last = 0; off < len;) {
		unsigned int rl = 0;

		ext2fs_get_rec_len(e2, (struct ext2_dir_entry *)(b1 + off), &rl);
		last = off;
		off += rl;
	}
	dx_extend_last(fs, b1, last, bs - csum);
	dx_init_tail(fs, b1);
	/* block 0: the root, ".." now spanning the block */
	ext2fs_set_rec_len(e2, bs - 12, dotdot);
	memset(b0 + JFS_DX_ROOT_INFO_OFF, 0, bs - JFS_DX_ROOT_INFO_OFF);
	info = (struct ext2_dx_root_info *)(b0 + JFS_DX_ROOT_INFO_OFF);
	info->hash_version = e2->super->s_def_hash_version;
	info->info_length = sizeof(*info);
	entries = (struct ext2_dx_entry *)(info + 1);
	((struct ext2_dx_countlimit *)entries)->limit = ext2fs_cpu_to_le16((__u16)dx_root_limit(fs));
	dx_set_count(entries, 1);
	entries[0].block = ext2fs_cpu_to_le32(1);
	/* do_split() of block 1 into 1 and 2; dx_insert_block() */
	err = __dx_split(fs, alg, b1, b2, &hash2);
	if (err) {
		if (err == 1)
			err = -EUCLEAN;	/* a full block with one live entry */
		goto out;
	}
	entries[1].hash = ext2fs_cpu_to_le32(hash2);
	entries[1].block = ext2fs_cpu_to_le32(2);
	dx_set_count(entries, 2);
	/* the leaves first, then the root, then the flag: a crash inside the
	 * handle cannot show a half-made index (the handle is atomic anyway) */
	e = ext2fs_write_dir_block4(e2, pblk[1], b1, 0, dir);
	if (!e)
		e = ext2fs_write_dir_block4(e2, pblk[2], b2, 0, dir);
	if (!e)
		e = ext2fs_write_dir_block4(e2, pblk[0], b0, 0, dir);
	if (e) {
		err = __jfs_fail(fs, e);
		goto out;
	}
	inode.i_flags |= EXT2_INDEX_FL;		/* ext4_set_inode_flag(INDEX) */
	err = __jfs_write_inode(fs, dir, &inode);
out:
	free(b0);
	free(b1);
	free(b2);
	return err;
}
