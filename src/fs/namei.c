/* SPDX-License-Identifier: GPL-2.0 */
/*
 * namei.c - the namespace operations of jbdlab: lookup, mknod/create,
 * mkdir, symlink, link, unlink, rmdir, rename (plain, NOREPLACE, EXCHANGE)
 * and readlink, modelled on fs/ext4/namei.c and the VFS checks of
 * fs/namei.c (may_create, may_delete, check_sticky, vfs_rename).
 *
 * libext2fs has no undo (reference/libext2fs.md §3.5): every block it
 * touches is written at once, and the in-memory bitmaps and descriptors
 * change as it goes.  So every operation here is split in two phases:
 *
 *   1. checks: everything a user can cause is checked before the first
 *      modifying libext2fs call - ENAMETOOLONG (ext2fs_link stores the name
 *      length modulo 256 and would corrupt the parent), ENOENT, EEXIST,
 *      ENOTDIR, EISDIR, ENOTEMPTY, EMLINK, EINVAL for a directory moved into
 *      its own subtree, permissions and the sticky bit, and a free-space
 *      estimate (ns_can_allocate);
 *   2. changes: the libext2fs calls, in the kernel's order, inside the one
 *      journal handle that jfs_op_begin() started.  What can still fail
 *      there is ENOSPC from a racing allocation or an I/O / corruption
 *      error; a new inode whose directory entry cannot be added is given
 *      back (ext4_mkdir's "unlink and iput" path).  Anything half-done
 *      beyond that is the journal's job: the handle is never committed
 *      half-way, and the core aborts on a failed op.
 *
 * New inodes are built here rather than with ext2fs_mkdir/ext2fs_symlink,
 * because those create root-owned objects with i_generation 0, call
 * ext2fs_write_new_inode (which keeps only 128 bytes of our inode and
 * would leave a freed inode's stale in-inode xattrs behind), and ignore
 * dir_nlink.  We write a zeroed full-size inode with i_extra_isize set
 * (s_want_extra_isize as the kernel computes it), nanosecond times,
 * crtime, a generation, the inherited flags (ext4_new_inode's
 * EXT4_FL_INHERITED masks) and, on extent filesystems, EXT4_EXTENTS_FL with
 * an in-inode extent header for directories, regular files and slow
 * symlinks.  The inode is written before the directory block so that the
 * block's checksum (seeded with i_generation under metadata_csum) is right
 * the first time.
 *
 * Directory entries go through ext2fs_link, which handles htree directories
 * itself in 1.47.0 (dx_link).  EXT2_ET_DIR_NO_SPACE from a linear
 * directory of one block makes it indexed, as ext4_add_entry() does
 * (make_indexed_dir, htree.c), then the entry goes in through the index;
 * from a longer linear directory it means "append a block"
 * (ext2fs_expand_dir, then retry); from an htree directory it means the
 * tree is at its maximum depth: ENOSPC, never expand_dir, which would
 * append a block the index does not reference.  Lookups, unlinks and
 * rename's in-place rewrites of an indexed directory go through the index
 * to one leaf (htree.c) instead of libext2fs's walk of every block.  An
 * indexed directory takes sub-directories past EXT4_LINK_MAX with the
 * dir_nlink overflow to 1 (ext4_inc_count); a linear one gives EMLINK
 * there, as ext4 does for non-dx directories.
 *
 * rename replaces a target in place: the target's directory entry is
 * rewritten with the source's inode number and file type (ext4_setent),
 * then the source entry is removed, in the same handle.  RENAME_EXCHANGE
 * rewrites both entries in place (ext4_cross_rename), which keeps every
 * rec_len and every htree hash valid.  An inode whose last link goes away
 * is handed to the core (__jfs_inode_unlinked), which orphans it while it
 * is still looked up or open (fstests generic/035) and frees it otherwise.
 *
 * Permission checks follow the VFS: lookup needs MAY_EXEC on the directory,
 * creating needs MAY_WRITE|MAY_EXEC, deleting additionally honours the
 * sticky bit (check_sticky) and the append-only/immutable flags of the
 * directory and the victim.  __jfs_permission is a no-op with
 * default_permissions (the kernel already checked) or fakeroot; the sticky
 * check is skipped with default_permissions for the same reason.
 *
 * Modes: the FUSE kernel applies the umask before it sends MKNOD, MKDIR and
 * CREATE unless the filesystem asked for FUSE_CAP_DONT_MASK; so cred->umask
 * is applied only when the caller passes a non-zero one (the adapter passes
 * fuse_ctx->umask only in that case, the lab passes what it wants).
 *
 * Simplifications: no casefold, no encryption, no inline-data directories
 * or symlinks are created (block-based ones are valid on any filesystem),
 * no project-quota accounting (the projid is inherited), no i_version.
 *
 * Locking rules: every public function here takes the fs lock through
 * jfs_op_begin() and drops it in jfs_op_end(); nothing is held across
 * calls.  `__` helpers are called with the fs lock held and assert it.
 * No libext2fs handle (xattr, extent, file) is kept across operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fs/fs_internal.h"
#include <ext2fs/ext3_extents.h>	/* after ext2fs.h: it needs __le16 */

#define EXT4_INDEX_EXTRA_TRANS_BLOCKS	12	/* fs/ext4/ext4_jbd2.h, with largedir */
#define NS_N_BLOCKS_BYTES	(EXT2_N_BLOCKS * 4)	/* 60: fast symlink limit */
#define NS_MAX_DEPTH		4096	/* ".." walk bound (corrupt loops) */

/* ext4.h: EXT4_FL_INHERITED and the per-type masks of ext4_mask_flags().
 * CASEFOLD and DAX are left out: we do not support them. */
#define NS_FL_INHERITED	(0x00000001 /* SECRM */ | 0x00000002 /* UNRM */ |	\
			 0x00000004 /* COMPR */ | 0x00000008 /* SYNC */ |	\
			 0x00000040 /* NODUMP */ | 0x00000080 /* NOATIME */ |	\
			 0x00000400 /* NOCOMPR */ | 0x00004000 /* JOURNAL_DATA */ | \
			 0x00008000 /* NOTAIL */ | 0x00010000 /* DIRSYNC */ |	\
			 0x20000000 /* PROJINHERIT */)
#define NS_REG_FLMASK	(~(0x00010000 /* DIRSYNC */ | 0x00020000 /* TOPDIR */ | \
			   0x40000000 /* CASEFOLD */ | 0x20000000 /* PROJINHERIT */))
#define NS_OTHER_FLMASK	(0x00000040 /* NODUMP */ | 0x00000080 /* NOATIME */)
#define NS_PROJINHERIT_FL 0x20000000

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

int jfs_check_name(const char *name)
{
	size_t len;

	if (!name || !name[0])
		return -EINVAL;
	len = strnlen(name, EXT2_NAME_LEN + 1);
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len))
		return -EINVAL;
	return 0;
}

static bool ns_is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static int ns_mode_to_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return EXT2_FT_REG_FILE;
	case S_IFDIR:	return EXT2_FT_DIR;
	case S_IFCHR:	return EXT2_FT_CHRDEV;
	case S_IFBLK:	return EXT2_FT_BLKDEV;
	case S_IFIFO:	return EXT2_FT_FIFO;
	case S_IFSOCK:	return EXT2_FT_SOCK;
	case S_IFLNK:	return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

static uid_t ns_uid(const struct ext2_inode_large *inode)
{
	return inode_uid(*inode);
}

static gid_t ns_gid(const struct ext2_inode_large *inode)
{
	return inode_gid(*inode);
}

/* is_dx(): the kernel treats EXT2_INDEX_FL as an index only with dir_index. */
static bool ns_is_dx(struct jfs *fs, const struct ext2_inode_large *dir)
{
	return ext2fs_has_feature_dir_index(fs->e2fs->super) &&
	       (dir->i_flags & EXT2_INDEX_FL);
}

/* EXT4_DIR_LINK_MAX(): a directory that cannot take one more sub-directory. */
static bool ns_dir_link_max(struct jfs *fs, const struct ext2_inode_large *dir)
{
	if (ns_is_dx(fs, dir) && ext2fs_has_feature_dir_nlink(fs->e2fs->super))
		return false;
	return dir->i_links_count >= EXT2_LINK_MAX;
}

/* ext4_inc_count(): past EXT4_LINK_MAX an indexed directory says "1". */
static void ns_inc_count(struct jfs *fs, struct ext2_inode_large *inode)
{
	unsigned int n = inode->i_links_count + 1;

	if (LINUX_S_ISDIR(inode->i_mode) && ns_is_dx(fs, inode) &&
	    ext2fs_has_feature_dir_nlink(fs->e2fs->super) &&
	    (n > EXT2_LINK_MAX || n == 2))
		n = 1;
	inode->i_links_count = n;
}

/* ext4_dec_count(): a directory at 1 (overflowed) or 2 stays where it is. */
static void ns_dec_count(struct ext2_inode_large *inode)
{
	if (!LINUX_S_ISDIR(inode->i_mode) || inode->i_links_count > 2)
		inode->i_links_count--;
}

/* A mixer for i_generation: the kernel uses get_random_u32(); we want
 * runs to be reproducible from the mount seed. */
static uint32_t ns_next_generation(struct jfs *fs, ext2_ino_t ino)
{
	static _Atomic uint64_t counter;
	uint64_t z = fs->opts.seed ^ ((uint64_t)ino << 32) ^
		     (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)z;
}

/*
 * Free-space estimate before the first change (ext4_has_free_clusters):
 * the kernel keeps s_resv_clusters (ext4_calculate_resv_clusters: 2 % of
 * the blocks or 4096, whichever is smaller; 0 without extents) + 1 for
 * itself and r_blocks for the reserved uid/gid and root.  Every allocating
 * path (namei.c, xattr.c, file.c) checks here, so that the reserve stays
 * free for the allocations that must not fail: the extent splits of a
 * punch/truncate (the kernel's EXT4_GET_BLOCKS_METADATA_NOFAIL ->
 * EXT4_MB_USE_RESERVED) and libext2fs's own node splits.
 */
int jfs_ns_can_allocate(struct jfs *fs, const struct jfs_cred *c, uint64_t need)
{
	struct ext2_super_block *sb = fs->e2fs->super;
	blk64_t free_b = ext2fs_free_blocks_count(sb);
	blk64_t pending = jfs_pending_free_blocks(fs);
	blk64_t resv = 0;

	/* blocks freed by uncommitted transactions cannot be reused yet
	 * (ext4_mb_free_metadata); jfs_op_begin commits them when space is low */
	free_b = free_b > pending ? free_b - pending : 0;
	if (ext2fs_has_feature_extents(sb))
		resv = min_t(blk64_t, ext2fs_blocks_count(sb) / 50, 4096);
	resv += 1;
	if (!jfs_cred_is_root(fs, c) && c->uid != sb->s_def_resuid &&
	    !jfs_cred_in_group(c, sb->s_def_resgid))
		resv += ext2fs_r_blocks_count(sb);
	if (free_b < resv + need)
		return -ENOSPC;
	return 0;
}

/* Blocks that adding one entry may need in the worst case: a new leaf or
 * directory block, a new index block, and extent-tree growth. */
static blk64_t ns_entry_blocks(struct jfs *fs)
{
	return 2 + 2 * 5;	/* 2 dir blocks + EXT4_MAX_EXTENT_DEPTH splits, x2 */
}

static int __ns_read_dir(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode)
{
	int err;

	lockdep_assert_held(&fs->fs_lock);
	err = __jfs_read_inode(fs, dir, inode);
	if (err)
		return err;
	if (!LINUX_S_ISDIR(inode->i_mode))
		return -ENOTDIR;
	return 0;
}

/* Is the directory read through its index for @name?  "." and ".." live
 * in block 0 only and are looked up there (ext4_find_entry). */
static bool __ns_use_dx(struct jfs *fs, ext2_ino_t dir, const char *name,
			struct ext2_inode_large *inode)
{
	lockdep_assert_held(&fs->fs_lock);
	if (ns_is_dot(name) || !strcmp(name, ".."))
		return false;
	return !__jfs_read_inode(fs, dir, inode) && ns_is_dx(fs, inode);
}

/* Name -> inode number, byte exact (ext4_lookup without casefold):
 * through the index of an indexed directory, else (and when the index is
 * unusable, ERR_BAD_DX_DIR) a linear walk. */
static int __ns_find_entry(struct jfs *fs, ext2_ino_t dir, const char *name, ext2_ino_t *ino)
{
	struct ext2_inode_large dinode;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	if (__ns_use_dx(fs, dir, name, &dinode)) {
		int ret = __jfs_dx_lookup(fs, dir, &dinode, name, ino);

		if (ret != JFS_DX_FALLBACK)
			return ret;
	}
	err = ext2fs_lookup(fs->e2fs, dir, name, strlen(name), NULL, ino);
	if (err == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	if (err)
		return __jfs_fail(fs, err);
	if (*ino == 0)
		return -ENOENT;
	return 0;
}

/* Permission to search a directory (may_lookup). */
static int __ns_may_lookup(struct jfs *fs, const struct jfs_cred *c,
			   const struct ext2_inode_large *dir)
{
	return __jfs_permission(fs, c, dir, JFS_MAY_EXEC);
}

/* may_create(): the directory must be alive and writable. */
static int __ns_may_create(struct jfs *fs, const struct jfs_cred *c,
			   const struct ext2_inode_large *dir)
{
	if (dir->i_links_count == 0)
		return -ENOENT;		/* IS_DEADDIR */
	if (dir->i_flags & EXT2_IMMUTABLE_FL)
		return -EPERM;		/* inode_permission(MAY_WRITE) */
	return __jfs_permission(fs, c, dir, JFS_MAY_WRITE | JFS_MAY_EXEC);
}

/* check_sticky(): in a sticky directory only the owner of the victim, the
 * owner of the directory or CAP_FOWNER may delete. */
static bool ns_sticky_denies(struct jfs *fs, const struct jfs_cred *c,
			     const struct ext2_inode_large *dir,
			     const struct ext2_inode_large *victim)
{
	if (fs->opts.default_permissions)
		return false;
	if (!(dir->i_mode & S_ISVTX))
		return false;
	if (ns_uid(victim) == c->uid || ns_uid(dir) == c->uid)
		return false;
	return !jfs_cred_is_root(fs, c);
}

/* may_delete(): the type checks are done by the callers. */
static int __ns_may_delete(struct jfs *fs, const struct jfs_cred *c,
			   const struct ext2_inode_large *dir,
			   const struct ext2_inode_large *victim)
{
	int err;

	if (dir->i_links_count == 0)
		return -ENOENT;
	if (dir->i_flags & EXT2_IMMUTABLE_FL)
		return -EPERM;
	err = __jfs_permission(fs, c, dir, JFS_MAY_WRITE | JFS_MAY_EXEC);
	if (err)
		return err;
	if (dir->i_flags & EXT2_APPEND_FL)
		return -EPERM;
	if (ns_sticky_denies(fs, c, dir, victim) ||
	    (victim->i_flags & (EXT2_APPEND_FL | EXT2_IMMUTABLE_FL)))
		return -EPERM;
	return 0;
}

/* Add a directory entry (ext4_add_entry).  The name was checked. */
static int __ns_add_entry(struct jfs *fs, ext2_ino_t dir, const char *name,
			  ext2_ino_t ino, mode_t mode)
{
	struct ext2_inode_large dinode;
	errcode_t err;
	int ret;

	lockdep_assert_held(&fs->fs_lock);
	err = ext2fs_link(fs->e2fs, dir, name, ino, ns_mode_to_ftype(mode));
	if (err != EXT2_ET_DIR_NO_SPACE)
		return err ? __jfs_fail(fs, err) : 0;

	ret = __jfs_read_inode(fs, dir, &dinode);
	if (ret)
		return ret;
	if (dinode.i_flags & EXT2_INDEX_FL)
		return -ENOSPC;		/* htree at its maximum depth */
	/* ext4_add_entry(): a full directory of one block becomes indexed */
	ret = __jfs_dx_make_indexed(fs, dir);
	if (ret < 0)
		return ret;
	if (!ret) {
		err = ext2fs_link(fs->e2fs, dir, name, ino, ns_mode_to_ftype(mode));
		if (err == EXT2_ET_DIR_NO_SPACE || err == EXT2_ET_BLOCK_ALLOC_FAIL)
			return -ENOSPC;
		return err ? __jfs_fail(fs, err) : 0;
	}
	err = ext2fs_expand_dir(fs->e2fs, dir);
	if (!err)
		err = ext2fs_link(fs->e2fs, dir, name, ino, ns_mode_to_ftype(mode));
	if (err == EXT2_ET_DIR_NO_SPACE || err == EXT2_ET_BLOCK_ALLOC_FAIL ||
	    err == EXT2_ET_EXPAND_DIR_ERR)
		return -ENOSPC;
	return err ? __jfs_fail(fs, err) : 0;
}

/* ---- in-place rewrite of one directory entry (ext4_setent) ---- */

struct ns_setent {
	const char *name;
	int len;
	ext2_ino_t old_ino, new_ino;
	int ftype;
	bool filetype;
	bool done;
};

static int ns_setent_proc(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
			  int offset, int blocksize, char *buf, void *priv)
{
	struct ns_setent *s = priv;

	if (d->inode != s->old_ino || ext2fs_dirent_name_len(d) != s->len ||
	    memcmp(d->name, s->name, s->len))
		return 0;
	d->inode = s->new_ino;
	if (s->filetype)
		ext2fs_dirent_set_file_type(d, s->ftype);
	s->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Point the entry `name` (currently old_ino) of `dir` at new_ino.  One
 * block is rewritten; rec_len and the name (hence its htree hash) stay. */
static int __ns_setent(struct jfs *fs, ext2_ino_t dir, const char *name,
		       ext2_ino_t old_ino, ext2_ino_t new_ino, mode_t new_mode)
{
	struct ns_setent s = {
		.name = name, .len = strlen(name), .old_ino = old_ino,
		.new_ino = new_ino, .ftype = ns_mode_to_ftype(new_mode),
		.filetype = ext2fs_has_feature_filetype(fs->e2fs->super),
	};
	errcode_t err;

	struct ext2_inode_large dinode;

	lockdep_assert_held(&fs->fs_lock);
	if (__ns_use_dx(fs, dir, name, &dinode)) {
		int ret = __jfs_dx_setent(fs, dir, &dinode, name, old_ino, new_ino, s.ftype);

		if (ret != JFS_DX_FALLBACK && ret != -ENOENT)
			return ret;
	}
	err = ext2fs_dir_iterate2(fs->e2fs, dir, 0, NULL, ns_setent_proc, &s);
	if (err)
		return __jfs_fail(fs, err);
	return s.done ? 0 : -EUCLEAN;
}

/* ---- emptiness (ext4_empty_dir) ---- */

struct ns_empty {
	bool empty;
};

static int ns_empty_proc(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
			 int offset, int blocksize, char *buf, void *priv)
{
	struct ns_empty *e = priv;
	int len = ext2fs_dirent_name_len(d);

	if (!d->inode)
		return 0;
	if ((len == 1 && d->name[0] == '.') ||
	    (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	e->empty = false;
	return DIRENT_ABORT;
}

static int __ns_empty_dir(struct jfs *fs, ext2_ino_t ino)
{
	struct ns_empty e = { .empty = true };
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	err = ext2fs_dir_iterate2(fs->e2fs, ino, 0, NULL, ns_empty_proc, &e);
	if (err)
		return __jfs_fail(fs, err);
	return e.empty ? 0 : -ENOTEMPTY;
}

/* Is `anc` equal to `ino` or one of its ancestors?  Walks ".." up to the
 * root, as the VFS's lock_rename/d_ancestor check does with dentries. */
static int __ns_is_ancestor(struct jfs *fs, ext2_ino_t anc, ext2_ino_t ino)
{
	int depth, err;

	lockdep_assert_held(&fs->fs_lock);
	for (depth = 0; depth < NS_MAX_DEPTH; depth++) {
		ext2_ino_t parent;

		if (ino == anc)
			return 1;
		if (ino == EXT2_ROOT_INO)
			return 0;
		err = __ns_find_entry(fs, ino, "..", &parent);
		if (err)
			return err == -ENOENT ? -EUCLEAN : err;
		ino = parent;
	}
	return -ELOOP;
}

/* ------------------------------------------------------------------ */
/* new inodes (ext4_new_inode)                                         */

static unsigned int ns_extra_isize(struct jfs *fs)
{
	struct ext2_super_block *sb = fs->e2fs->super;
	unsigned int isz = EXT2_INODE_SIZE(sb);
	unsigned int extra = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;

	if (isz <= EXT2_GOOD_OLD_INODE_SIZE)
		return 0;
	if (sb->s_want_extra_isize > extra)
		extra = sb->s_want_extra_isize;
	if (sb->s_min_extra_isize > extra)
		extra = sb->s_min_extra_isize;
	if (extra > isz - EXT2_GOOD_OLD_INODE_SIZE)
		extra = isz - EXT2_GOOD_OLD_INODE_SIZE;
	return extra & ~3u;
}

static void ns_init_extent_header(struct ext2_inode_large *inode)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)inode->i_block;

	memset(inode->i_block, 0, sizeof(inode->i_block));
	eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	eh->eh_entries = 0;
	eh->eh_max = ext2fs_cpu_to_le16((NS_N_BLOCKS_BYTES - sizeof(*eh)) /
					sizeof(struct ext3_extent));
	eh->eh_depth = 0;
	inode->i_flags |= EXT4_EXTENTS_FL;
}

/* Map logical block 0 of a fresh inode to `blk`, in i_block. */
static void ns_map_first_block(struct jfs *fs, struct ext2_inode_large *inode, blk64_t blk)
{
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		struct ext3_extent_header *eh = (struct ext3_extent_header *)inode->i_block;
		struct ext3_extent *ex = (struct ext3_extent *)(eh + 1);

		ex->ee_block = 0;
		ex->ee_len = ext2fs_cpu_to_le16(1);
		ex->ee_start = ext2fs_cpu_to_le32(blk & 0xffffffffu);
		ex->ee_start_hi = ext2fs_cpu_to_le16(blk >> 32);
		eh->eh_entries = ext2fs_cpu_to_le16(1);
	} else {
		inode->i_block[0] = blk;
	}
	ext2fs_iblk_set(fs->e2fs, EXT2_INODE(inode), 1);
}

/*
 * Fill *inode for a new object in `dir` (owner, mode, flags, times,
 * generation).  Picks an inode number but changes nothing yet:
 * ext2fs_new_inode only searches the bitmap.
 */
static int __ns_new_inode(struct jfs *fs, const struct jfs_cred *c, ext2_ino_t dir,
			  const struct ext2_inode_large *dinode, mode_t mode,
			  dev_t rdev, ext2_ino_t *ino, struct ext2_inode_large *inode)
{
	ext2_filsys e2 = fs->e2fs;
	gid_t gid = c->gid;
	uint32_t flags;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);

	/* inode_init_owner() */
	if (dinode->i_mode & S_ISGID) {
		gid = ns_gid(dinode);
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	if (!S_ISDIR(mode) && (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    !jfs_cred_in_group(c, gid) && !jfs_cred_is_root(fs, c))
		mode &= ~S_ISGID;	/* mode_strip_sgid() */

	err = ext2fs_new_inode(e2, dir, mode, NULL, ino);
	if (err)
		return err == EXT2_ET_INODE_ALLOC_FAIL ? -ENOSPC : __jfs_fail(fs, err);

	memset(inode, 0, sizeof(*inode));
	inode->i_mode = mode;
	inode->i_uid = c->uid & 0xffff;
	ext2fs_set_i_uid_high(*inode, c->uid >> 16);
	inode->i_gid = gid & 0xffff;
	ext2fs_set_i_gid_high(*inode, gid >> 16);
	inode->i_links_count = S_ISDIR(mode) ? 2 : 1;
	inode->i_extra_isize = ns_extra_isize(fs);
	inode->i_generation = ns_next_generation(fs, *ino);

	/* ext4_mask_flags(mode, dir->i_flags & EXT4_FL_INHERITED) */
	flags = dinode->i_flags & NS_FL_INHERITED;
	if (S_ISREG(mode))
		flags &= NS_REG_FLMASK;
	else if (!S_ISDIR(mode))
		flags &= NS_OTHER_FLMASK;
	inode->i_flags = flags;
	if ((dinode->i_flags & NS_PROJINHERIT_FL) &&
	    inode->i_extra_isize >= offsetof(struct ext2_inode_large, i_projid) + 4 -
				    EXT2_GOOD_OLD_INODE_SIZE)
		inode->i_projid = dinode->i_projid;

	if (ext2fs_has_feature_extents(e2->super) &&
	    (S_ISDIR(mode) || S_ISREG(mode) || S_ISLNK(mode)))
		ns_init_extent_header(inode);

	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		/* ext4_do_update_inode(): old encoding when it fits */
		unsigned int ma = major(rdev), mi = minor(rdev);

		if (ma < 256 && mi < 256) {
			inode->i_block[0] = (ma << 8) | mi;
			inode->i_block[1] = 0;
		} else {
			inode->i_block[0] = 0;
			inode->i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
			inode->i_block[2] = 0;
		}
	}

	jfs_inode_touch(inode, JFS_T_ATIME | JFS_T_MTIME | JFS_T_CTIME | JFS_T_CRTIME);
	return 0;
}

/* Write a new inode as a zeroed full-size record, so nothing of a freed
 * inode (in-inode xattrs past our struct) survives. */
static int __ns_write_new_inode(struct jfs *fs, ext2_ino_t ino,
				const struct ext2_inode_large *inode)
{
	unsigned int isz = EXT2_INODE_SIZE(fs->e2fs->super);
	size_t bufsz = isz > sizeof(*inode) ? isz : sizeof(*inode);
	char *buf;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	buf = calloc(1, bufsz);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, inode, isz < sizeof(*inode) ? isz : sizeof(*inode));
	err = ext2fs_write_inode_full(fs->e2fs, ino, (struct ext2_inode *)buf, isz);
	free(buf);
	return err ? __jfs_fail(fs, err) : 0;
}

/* Give back a new inode whose entry could not be added (ext4_mkdir's
 * failure path: clear_nlink + iput).  Best effort; the op fails anyway. */
static void __ns_undo_new_inode(struct jfs *fs, ext2_ino_t ino,
				struct ext2_inode_large *inode, blk64_t blk)
{
	lockdep_assert_held(&fs->fs_lock);
	if (blk)
		ext2fs_block_alloc_stats2(fs->e2fs, blk, -1);
	ext2fs_inode_alloc_stats2(fs->e2fs, ino, -1, LINUX_S_ISDIR(inode->i_mode));
	inode->i_links_count = 0;
	inode->i_dtime = inode->i_ctime ? inode->i_ctime : 1;
	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_blocks = 0;
	inode->osd2.linux2.l_i_blocks_hi = 0;
	inode->i_flags &= ~EXT4_EXTENTS_FL;
	__ns_write_new_inode(fs, ino, inode);
}

/*
 * The common part of mknod/create/mkdir/symlink, ext4_create/ext4_mkdir/
 * ext4_symlink: checks, new inode, (directory or symlink block), entry,
 * parent update, lookup reference.
 */
static int __ns_create(struct jfs *fs, const struct jfs_cred *c, ext2_ino_t dir,
		       const char *name, mode_t mode, dev_t rdev, const char *target,
		       ext2_ino_t *out_ino, struct stat *st)
{
	ext2_filsys e2 = fs->e2fs;
	struct ext2_inode_large dinode, inode;
	size_t tlen = target ? strlen(target) : 0;
	blk64_t blk = 0, need;
	ext2_ino_t ino;
	char *blkbuf = NULL;
	errcode_t e;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	err = __ns_read_dir(fs, dir, &dinode);
	if (err)
		return err;
	err = __ns_may_lookup(fs, c, &dinode);
	if (err)
		return err;
	if (dinode.i_links_count == 0)
		return -ENOENT;
	err = __ns_find_entry(fs, dir, name, &ino);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	err = __ns_may_create(fs, c, &dinode);
	if (err)
		return err;
	if (S_ISDIR(mode) && ns_dir_link_max(fs, &dinode))
		return -EMLINK;
	need = ns_entry_blocks(fs);
	if (S_ISDIR(mode) || (S_ISLNK(mode) && tlen >= NS_N_BLOCKS_BYTES))
		need++;
	err = jfs_ns_can_allocate(fs, c, need);
	if (err)
		return err;

	/* -- from here on, changes -- */
	err = __ns_new_inode(fs, c, dir, &dinode, mode, rdev, &ino, &inode);
	if (err)
		return err;

	if (S_ISDIR(mode) || (S_ISLNK(mode) && tlen >= NS_N_BLOCKS_BYTES)) {
		blk64_t goal = ext2fs_find_inode_goal(e2, ino, EXT2_INODE(&inode), 0);

		e = ext2fs_new_block2(e2, goal, NULL, &blk);
		if (e)
			return e == EXT2_ET_BLOCK_ALLOC_FAIL ? -ENOSPC : __jfs_fail(fs, e);
		ns_map_first_block(fs, &inode, blk);
	}
	if (S_ISDIR(mode)) {
		inode.i_size = fs->blocksize;
	} else if (S_ISLNK(mode)) {
		inode.i_size = tlen;
		if (!blk) {
			/* fast symlink: the target lives in i_block */
			inode.i_flags &= ~EXT4_EXTENTS_FL;
			memset(inode.i_block, 0, sizeof(inode.i_block));
			memcpy(inode.i_block, target, tlen);
		}
	}

	err = __ns_write_new_inode(fs, ino, &inode);
	if (err)
		return err;
	ext2fs_inode_alloc_stats2(e2, ino, +1, S_ISDIR(mode));
	if (blk) {
		ext2fs_block_alloc_stats2(e2, blk, +1);
		if (S_ISDIR(mode)) {
			e = ext2fs_new_dir_block(e2, ino, dir, &blkbuf);
			if (!e)
				e = ext2fs_write_dir_block4(e2, blk, blkbuf, 0, ino);
		} else {
			/* ext4_init_symlink_block(): since 6.x the symlink block
			 * is journalled metadata, written through the bdev
			 * mapping like any other metadata block. */
			blkbuf = calloc(1, fs->blocksize);
			e = blkbuf ? 0 : EXT2_ET_NO_MEMORY;
			if (!e) {
				memcpy(blkbuf, target, tlen);
				e = io_channel_write_blk64(e2->io, blk, 1, blkbuf);
			}
		}
		if (blkbuf)
			ext2fs_free_mem(&blkbuf);
		if (e) {
			err = __jfs_fail(fs, e);
			goto out_undo;
		}
	}

	err = __ns_add_entry(fs, dir, name, ino, mode);
	if (err)
		goto out_undo;

	/* parent: mtime/ctime, and a link for the new ".." */
	err = __jfs_read_inode(fs, dir, &dinode);
	if (err)
		return err;
	if (S_ISDIR(mode))
		ns_inc_count(fs, &dinode);
	jfs_inode_touch(&dinode, JFS_T_MTIME | JFS_T_CTIME);
	err = __jfs_write_inode(fs, dir, &dinode);
	if (err)
		return err;

	jfs_inode_ref_lookup(fs, ino);
	if (st)
		__jfs_fill_stat(fs, ino, &inode, st);
	*out_ino = ino;
	return 0;

out_undo:
	__ns_undo_new_inode(fs, ino, &inode, blk);
	return err;
}

/* mode for mknod/create: type 0 means a regular file (mknod(2)). */
static mode_t ns_apply_umask(const struct jfs_cred *c, mode_t mode)
{
	if (c->umask)
		mode &= ~(c->umask & 0777);
	return mode;
}

/* ------------------------------------------------------------------ */
/* public operations                                                   */

/* Locking: takes and drops the fs lock. */
int jfs_lookup(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	       struct stat *st)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t ino;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	err = jfs_op_begin(fs, "lookup", 0);
	if (err)
		return err;
	err = __ns_read_dir(fs, dir, &dinode);
	if (err)
		goto out;
	err = __ns_may_lookup(fs, c, &dinode);
	if (err)
		goto out;
	if (dinode.i_links_count == 0) {
		err = -ENOENT;		/* lookups in a removed directory */
		goto out;
	}
	err = __ns_find_entry(fs, dir, name, &ino);
	if (err)
		goto out;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	jfs_inode_ref_lookup(fs, ino);
	__jfs_fill_stat(fs, ino, &inode, st);
out:
	return jfs_op_end(fs, err);
}

/* readdirplus: a lookup reference without a name.  Locking: fs lock. */
int jfs_iget(struct jfs *fs, ino_t ino, struct stat *st)
{
	struct ext2_inode_large inode;
	int err;

	err = jfs_op_begin(fs, "iget", 0);
	if (err)
		return err;
	if (ino < EXT2_ROOT_INO || ino > fs->e2fs->super->s_inodes_count ||
	    (ino != EXT2_ROOT_INO && ino < EXT2_FIRST_INO(fs->e2fs->super))) {
		err = -ESTALE;
		goto out;
	}
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	if (inode.i_links_count == 0 && !jfs_inode_find(fs, ino, false)) {
		err = -ESTALE;		/* freed, not an orphan we still hold */
		goto out;
	}
	jfs_inode_ref_lookup(fs, ino);
	if (st)
		__jfs_fill_stat(fs, ino, &inode, st);
out:
	return jfs_op_end(fs, err);
}

/* ext4_mknod / vfs_mknod.  Locking: fs lock. */
int jfs_mknod(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	      mode_t mode, dev_t rdev, struct stat *st)
{
	ext2_ino_t ino;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFIFO: case S_IFSOCK:
		rdev = 0;
		break;
	case S_IFCHR: case S_IFBLK:
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	if ((S_ISCHR(mode) || S_ISBLK(mode)) && !jfs_cred_is_root(fs, c))
		return -EPERM;		/* CAP_MKNOD */
	mode = (mode & S_IFMT) | ns_apply_umask(c, mode & 07777);

	err = jfs_op_begin(fs, "mknod", jfs_credits_new_inode(fs));
	if (err)
		return err;
	err = __ns_create(fs, c, dir, name, mode, rdev, NULL, &ino, st);
	return jfs_op_end(fs, err);
}

/*
 * ext4_create + open.  libfuse documents CREATE as "create if missing,
 * then open": an existing name is opened (jfs_open, which handles O_TRUNC
 * and the permission check) unless O_EXCL.  Locking: fs lock.
 */
int jfs_create(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	       mode_t mode, int flags, struct stat *st)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t ino = 0;
	bool exists = false;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	mode = S_IFREG | ns_apply_umask(c, mode & 07777);

	err = jfs_op_begin(fs, "create", jfs_credits_new_inode(fs));
	if (err)
		return err;
	err = __ns_read_dir(fs, dir, &dinode);
	if (err)
		goto out;
	err = __ns_may_lookup(fs, c, &dinode);
	if (err)
		goto out;
	err = __ns_find_entry(fs, dir, name, &ino);
	if (!err) {
		exists = true;
		if (flags & O_EXCL) {
			err = -EEXIST;
		} else {
			err = __jfs_read_inode(fs, ino, &inode);
			if (!err && LINUX_S_ISDIR(inode.i_mode))
				err = -EISDIR;
		}
		goto out;
	}
	if (err != -ENOENT)
		goto out;
	err = __ns_create(fs, c, dir, name, mode, 0, NULL, &ino, st);
	if (!err)
		__jfs_inode_open(fs, ino);
out:
	err = jfs_op_end(fs, err);
	if (err || !exists)
		return err;

	/* the name existed: open it like open(2) without O_CREAT would */
	err = jfs_open(fs, c, ino, flags & ~(O_CREAT | O_EXCL));
	if (err)
		return err;
	err = jfs_iget(fs, ino, st);
	if (err)
		jfs_release(fs, ino);
	return err;
}

/* ext4_mkdir.  Locking: fs lock. */
int jfs_mkdir(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	      mode_t mode, struct stat *st)
{
	ext2_ino_t ino;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	mode = S_IFDIR | ns_apply_umask(c, mode & 07777);

	err = jfs_op_begin(fs, "mkdir", jfs_credits_new_inode(fs));
	if (err)
		return err;
	err = __ns_create(fs, c, dir, name, mode, 0, NULL, &ino, st);
	return jfs_op_end(fs, err);
}

/* ext4_symlink.  Locking: fs lock. */
int jfs_symlink(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
		const char *target, struct stat *st)
{
	ext2_ino_t ino;
	size_t tlen;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	if (!target || !target[0])
		return -ENOENT;			/* getname("") */
	tlen = strnlen(target, fs->blocksize);
	if (tlen >= fs->blocksize)
		return -ENAMETOOLONG;		/* disk_link.len > s_blocksize */

	err = jfs_op_begin(fs, "symlink", jfs_credits_new_inode(fs));
	if (err)
		return err;
	err = __ns_create(fs, c, dir, name, S_IFLNK | 0777, 0, target, &ino, st);
	return jfs_op_end(fs, err);
}

/* ext4_inode_is_fast_symlink(): no data blocks besides an xattr block. */
static bool ns_is_fast_symlink(struct jfs *fs, const struct ext2_inode_large *inode)
{
	uint64_t blocks = inode->i_blocks |
			  ((uint64_t)inode->osd2.linux2.l_i_blocks_hi << 32);
	uint64_t ea = ext2fs_file_acl_block(fs->e2fs, (struct ext2_inode *)inode) ?
		      EXT2FS_CLUSTER_RATIO(fs->e2fs) * (fs->blocksize >> 9) : 0;

	if (EXT2_I_SIZE(inode) >= NS_N_BLOCKS_BYTES)
		return false;
	return blocks <= ea;
}

/* ext4_readlink / ext4_get_link: copies at most size-1 bytes and a NUL;
 * returns the number of bytes copied.  Locking: fs lock. */
ssize_t jfs_readlink(struct jfs *fs, ino_t ino, char *buf, size_t size)
{
	struct ext2_inode_large inode;
	ext2_filsys e2;
	uint64_t len;
	char *blkbuf = NULL;
	const char *src;
	ssize_t ret;
	int err;

	err = jfs_op_begin(fs, "readlink", 0);
	if (err)
		return err;
	e2 = fs->e2fs;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	if (!LINUX_S_ISLNK(inode.i_mode)) {
		err = -EINVAL;
		goto out;
	}
	len = EXT2_I_SIZE(&inode);
	if (len == 0 || len >= fs->blocksize) {
		err = -EUCLEAN;
		goto out;
	}
	if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		size_t got = len;

		blkbuf = calloc(1, fs->blocksize + 1);
		if (!blkbuf) {
			err = -ENOMEM;
			goto out;
		}
		err = __jfs_fail(fs, ext2fs_inline_data_get(e2, ino, EXT2_INODE(&inode),
						       blkbuf, &got));
		if (err)
			goto out;
		src = blkbuf;
	} else if (ns_is_fast_symlink(fs, &inode)) {
		src = (const char *)inode.i_block;
	} else {
		blk64_t pblk = 0;
		errcode_t e;

		e = ext2fs_bmap2(e2, ino, EXT2_INODE(&inode), NULL, 0, 0, NULL, &pblk);
		if (e || !pblk) {
			err = e ? __jfs_fail(fs, e) : -EUCLEAN;
			goto out;
		}
		blkbuf = malloc(fs->blocksize);
		if (!blkbuf) {
			err = -ENOMEM;
			goto out;
		}
		e = io_channel_read_blk64(e2->io, pblk, 1, blkbuf);
		if (e) {
			err = __jfs_fail(fs, e);
			goto out;
		}
		src = blkbuf;
	}
	if (size == 0) {
		ret = 0;
	} else {
		ret = len < size - 1 ? len : size - 1;
		memcpy(buf, src, ret);
		buf[ret] = '\0';
	}
	free(blkbuf);
	err = jfs_op_end(fs, 0);
	return err ? err : ret;
out:
	free(blkbuf);
	return jfs_op_end(fs, err);
}

/* __ext4_link / vfs_link.  Locking: fs lock. */
int jfs_link(struct jfs *fs, const struct jfs_cred *c, ino_t ino, ino_t newdir,
	     const char *newname, struct stat *st)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t other;
	int err;

	err = jfs_check_name(newname);
	if (err)
		return err;
	err = jfs_op_begin(fs, "link", jfs_credits_data(fs) + EXT4_INDEX_EXTRA_TRANS_BLOCKS + 1);
	if (err)
		return err;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	err = __ns_read_dir(fs, newdir, &dinode);
	if (err)
		goto out;
	err = __ns_may_lookup(fs, c, &dinode);
	if (err)
		goto out;
	err = __ns_find_entry(fs, newdir, newname, &other);
	if (err != -ENOENT) {
		err = err ? err : -EEXIST;
		goto out;
	}
	err = __ns_may_create(fs, c, &dinode);
	if (err)
		goto out;
	if (LINUX_S_ISDIR(inode.i_mode)) {
		err = -EPERM;
		goto out;
	}
	if (inode.i_flags & (EXT2_APPEND_FL | EXT2_IMMUTABLE_FL)) {
		err = -EPERM;
		goto out;
	}
	if (inode.i_links_count == 0) {
		err = -ENOENT;		/* no I_LINKABLE (O_TMPFILE) support */
		goto out;
	}
	if (inode.i_links_count >= EXT2_LINK_MAX) {
		err = -EMLINK;
		goto out;
	}
	err = jfs_ns_can_allocate(fs, c, ns_entry_blocks(fs));
	if (err)
		goto out;

	/* -- changes -- */
	err = __ns_add_entry(fs, newdir, newname, ino, inode.i_mode);
	if (err)
		goto out;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	inode.i_links_count++;
	jfs_inode_touch(&inode, JFS_T_CTIME);
	err = __jfs_write_inode(fs, ino, &inode);
	if (err)
		goto out;
	err = __jfs_read_inode(fs, newdir, &dinode);
	if (err)
		goto out;
	jfs_inode_touch(&dinode, JFS_T_MTIME | JFS_T_CTIME);
	err = __jfs_write_inode(fs, newdir, &dinode);
	if (err)
		goto out;
	jfs_inode_ref_lookup(fs, ino);
	if (st)
		__jfs_fill_stat(fs, ino, &inode, st);
out:
	return jfs_op_end(fs, err);
}

/* Drop one link of `ino` (already unlinked from its directory) and hand it
 * to the core when the count reaches 0.  `clear` empties a directory's
 * count at once (clear_nlink). */
static int __ns_drop_link(struct jfs *fs, ext2_ino_t ino, bool clear)
{
	struct ext2_inode_large inode;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		return err;
	if (clear || inode.i_links_count <= 1)
		inode.i_links_count = 0;
	else
		ns_dec_count(&inode);
	jfs_inode_touch(&inode, JFS_T_CTIME);
	err = __jfs_write_inode(fs, ino, &inode);
	if (err)
		return err;
	if (inode.i_links_count == 0)
		err = __jfs_inode_unlinked(fs, ino, &inode);
	return err;
}

/* Remove `name` -> ino from `dir`.  ext2fs_unlink says DIR_NO_SPACE when it
 * does not find the entry. */
static int __ns_delete_entry(struct jfs *fs, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct ext2_inode_large dinode;
	errcode_t e;

	lockdep_assert_held(&fs->fs_lock);
	/* the block the index names (ext4_find_entry + ext4_delete_entry);
	 * an index that does not lead to it: the linear walk */
	if (__ns_use_dx(fs, dir, name, &dinode)) {
		int ret = __jfs_dx_delete(fs, dir, &dinode, name, ino);

		if (ret != JFS_DX_FALLBACK && ret != -ENOENT)
			return ret;
	}
	e = ext2fs_unlink(fs->e2fs, dir, name, ino, 0);
	if (e == EXT2_ET_DIR_NO_SPACE)
		return -EUCLEAN;	/* it was there a moment ago */
	return e ? __jfs_fail(fs, e) : 0;
}

static int __ns_touch_dir(struct jfs *fs, ext2_ino_t dir, int delta_links)
{
	struct ext2_inode_large dinode;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	err = __jfs_read_inode(fs, dir, &dinode);
	if (err)
		return err;
	if (delta_links > 0)
		ns_inc_count(fs, &dinode);
	else if (delta_links < 0)
		ns_dec_count(&dinode);
	jfs_inode_touch(&dinode, JFS_T_MTIME | JFS_T_CTIME);
	return __jfs_write_inode(fs, dir, &dinode);
}

/* ext4_unlink / may_delete.  Locking: fs lock. */
int jfs_unlink(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t ino;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	err = jfs_op_begin(fs, "unlink", jfs_credits_data(fs));
	if (err)
		return err;
	err = __ns_read_dir(fs, dir, &dinode);
	if (err)
		goto out;
	err = __ns_may_lookup(fs, c, &dinode);
	if (err)
		goto out;
	if (ns_is_dot(name)) {
		err = -EISDIR;		/* do_unlinkat: last_type != LAST_NORM */
		goto out;
	}
	err = __ns_find_entry(fs, dir, name, &ino);
	if (err)
		goto out;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	if (LINUX_S_ISDIR(inode.i_mode)) {
		err = -EISDIR;
		goto out;
	}
	err = __ns_may_delete(fs, c, &dinode, &inode);
	if (err)
		goto out;

	/* -- changes -- */
	err = __ns_delete_entry(fs, dir, name, ino);
	if (err)
		goto out;
	err = __ns_touch_dir(fs, dir, 0);
	if (err)
		goto out;
	err = __ns_drop_link(fs, ino, false);
out:
	return jfs_op_end(fs, err);
}

/* ext4_rmdir.  Locking: fs lock. */
int jfs_rmdir(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name)
{
	struct ext2_inode_large dinode, inode;
	ext2_ino_t ino;
	int err;

	err = jfs_check_name(name);
	if (err)
		return err;
	err = jfs_op_begin(fs, "rmdir", jfs_credits_data(fs));
	if (err)
		return err;
	err = __ns_read_dir(fs, dir, &dinode);
	if (err)
		goto out;
	err = __ns_may_lookup(fs, c, &dinode);
	if (err)
		goto out;
	if (ns_is_dot(name)) {
		err = name[1] ? -ENOTEMPTY : -EINVAL;	/* do_rmdir */
		goto out;
	}
	err = __ns_find_entry(fs, dir, name, &ino);
	if (err)
		goto out;
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		goto out;
	if (!LINUX_S_ISDIR(inode.i_mode)) {
		err = -ENOTDIR;
		goto out;
	}
	if (ino == EXT2_ROOT_INO) {
		err = -EBUSY;
		goto out;
	}
	err = __ns_may_delete(fs, c, &dinode, &inode);
	if (err)
		goto out;
	err = __ns_empty_dir(fs, ino);
	if (err)
		goto out;

	/* -- changes -- */
	err = __ns_delete_entry(fs, dir, name, ino);
	if (err)
		goto out;
	err = __ns_touch_dir(fs, dir, -1);
	if (err)
		goto out;
	/* last: the final delete may restart the op between block chunks */
	err = __ns_drop_link(fs, ino, true);
out:
	return jfs_op_end(fs, err);
}

/* ------------------------------------------------------------------ */
/* rename                                                              */

struct ns_rename_side {
	ext2_ino_t dir;
	const char *name;
	struct ext2_inode_large dinode;
	ext2_ino_t ino;			/* 0: the entry does not exist */
	struct ext2_inode_large inode;
	bool is_dir;
};

/* Check that a directory's ".." points at `parent` before we rewrite it
 * (ext4_rename_dir_prepare: a mismatch is corruption). */
static int __ns_check_dotdot(struct jfs *fs, ext2_ino_t ino, ext2_ino_t parent)
{
	ext2_ino_t dd;
	int err;

	err = __ns_find_entry(fs, ino, "..", &dd);
	if (err)
		return err == -ENOENT ? -EUCLEAN : err;
	return dd == parent ? 0 : -EUCLEAN;
}

/*
 * All the checks of vfs_rename + ext4_rename / ext4_cross_rename, before
 * any change.
 */
static int __ns_rename_checks(struct jfs *fs, const struct jfs_cred *c,
			      struct ns_rename_side *o, struct ns_rename_side *n,
			      unsigned int flags)
{
	bool exchange = flags & JFS_RENAME_EXCHANGE;
	int err, anc;

	lockdep_assert_held(&fs->fs_lock);
	err = __ns_read_dir(fs, o->dir, &o->dinode);
	if (err)
		return err;
	err = __ns_read_dir(fs, n->dir, &n->dinode);
	if (err)
		return err;
	err = __ns_may_lookup(fs, c, &o->dinode);
	if (!err)
		err = __ns_may_lookup(fs, c, &n->dinode);
	if (err)
		return err;

	err = __ns_find_entry(fs, o->dir, o->name, &o->ino);
	if (err)
		return err;
	err = __jfs_read_inode(fs, o->ino, &o->inode);
	if (err)
		return err;
	o->is_dir = LINUX_S_ISDIR(o->inode.i_mode);

	err = __ns_find_entry(fs, n->dir, n->name, &n->ino);
	if (err == -ENOENT) {
		n->ino = 0;
		if (exchange)
			return -ENOENT;
	} else if (err) {
		return err;
	} else {
		if (flags & JFS_RENAME_NOREPLACE)
			return -EEXIST;
		err = __jfs_read_inode(fs, n->ino, &n->inode);
		if (err)
			return err;
		n->is_dir = LINUX_S_ISDIR(n->inode.i_mode);
	}

	/* vfs_rename: renaming a link onto itself does nothing */
	if (o->ino == n->ino)
		return 1;

	/* permissions (vfs_rename) */
	err = __ns_may_delete(fs, c, &o->dinode, &o->inode);
	if (err)
		return err;
	if (n->ino)
		err = __ns_may_delete(fs, c, &n->dinode, &n->inode);
	else
		err = __ns_may_create(fs, c, &n->dinode);
	if (err)
		return err;
	if (o->dir != n->dir) {
		if (o->is_dir) {
			err = __jfs_permission(fs, c, &o->inode, JFS_MAY_WRITE);
			if (err)
				return err;
		}
		if (exchange && n->is_dir) {
			err = __jfs_permission(fs, c, &n->inode, JFS_MAY_WRITE);
			if (err)
				return err;
		}
	}

	/* types */
	if (!exchange && n->ino) {
		if (o->is_dir && !n->is_dir)
			return -ENOTDIR;
		if (!o->is_dir && n->is_dir)
			return -EISDIR;
	}

	/* loops: a directory may not move below itself */
	if (o->is_dir && o->dir != n->dir) {
		anc = __ns_is_ancestor(fs, o->ino, n->dir);
		if (anc < 0)
			return anc;
		if (anc)
			return -EINVAL;
	}
	if (exchange && n->is_dir && o->dir != n->dir) {
		anc = __ns_is_ancestor(fs, n->ino, o->dir);
		if (anc < 0)
			return anc;
		if (anc)
			return -EINVAL;
	}
	/* the target must not be an ancestor of the source (d_ancestor) */
	if (!exchange && n->ino && n->is_dir && o->dir != n->dir) {
		anc = __ns_is_ancestor(fs, n->ino, o->dir);
		if (anc < 0)
			return anc;
		if (anc)
			return -ENOTEMPTY;
	}

	/* emptiness and link counts */
	if (!exchange && n->ino && n->is_dir) {
		err = __ns_empty_dir(fs, n->ino);
		if (err)
			return err;
	}
	if (o->dir != n->dir) {
		bool n_gains = exchange ? (o->is_dir && !n->is_dir) : (o->is_dir && !n->ino);
		bool o_gains = exchange && n->is_dir && !o->is_dir;

		if (n_gains && ns_dir_link_max(fs, &n->dinode))
			return -EMLINK;
		if (o_gains && ns_dir_link_max(fs, &o->dinode))
			return -EMLINK;
	}
	if (o->is_dir && o->dir != n->dir) {
		err = __ns_check_dotdot(fs, o->ino, o->dir);
		if (err)
			return err;
	}
	if (exchange && n->is_dir && o->dir != n->dir) {
		err = __ns_check_dotdot(fs, n->ino, n->dir);
		if (err)
			return err;
	}
	if (!n->ino)
		return jfs_ns_can_allocate(fs, c, ns_entry_blocks(fs));
	return 0;
}

/* ext4_rename: move o over n (which may not exist). */
static int __ns_do_rename(struct jfs *fs, struct ns_rename_side *o, struct ns_rename_side *n)
{
	int err;

	lockdep_assert_held(&fs->fs_lock);
	if (n->ino)
		err = __ns_setent(fs, n->dir, n->name, n->ino, o->ino, o->inode.i_mode);
	else
		err = __ns_add_entry(fs, n->dir, n->name, o->ino, o->inode.i_mode);
	if (err)
		return err;
	err = __ns_delete_entry(fs, o->dir, o->name, o->ino);
	if (err)
		return err;
	/* ext4_rename sets the moved inode's ctime, as most Unix systems do */
	err = __jfs_touch_ctime(fs, o->ino);
	if (err)
		return err;

	if (o->is_dir && o->dir != n->dir) {
		err = __ns_setent(fs, o->ino, "..", o->dir, n->dir, S_IFDIR);
		if (err)
			return err;
	}
	/* link counts: the old parent loses the moved directory's "..",
	 * the new parent gains it unless it replaces a directory there */
	if (o->dir == n->dir) {
		err = __ns_touch_dir(fs, o->dir, (o->is_dir && n->ino) ? -1 : 0);
	} else {
		err = __ns_touch_dir(fs, o->dir, o->is_dir ? -1 : 0);
		if (!err)
			err = __ns_touch_dir(fs, n->dir, (o->is_dir && !n->ino) ? 1 : 0);
	}
	if (err)
		return err;
	if (n->ino)
		err = __ns_drop_link(fs, n->ino, n->is_dir);
	return err;
}

/* ext4_cross_rename: swap the two entries in place. */
static int __ns_do_exchange(struct jfs *fs, struct ns_rename_side *o, struct ns_rename_side *n)
{
	int err, od = 0, nd = 0;

	lockdep_assert_held(&fs->fs_lock);
	err = __ns_setent(fs, o->dir, o->name, o->ino, n->ino, n->inode.i_mode);
	if (err)
		return err;
	err = __ns_setent(fs, n->dir, n->name, n->ino, o->ino, o->inode.i_mode);
	if (err)
		return err;
	err = __jfs_touch_ctime(fs, o->ino);
	if (!err)
		err = __jfs_touch_ctime(fs, n->ino);
	if (err)
		return err;
	if (o->dir != n->dir) {
		if (o->is_dir) {
			err = __ns_setent(fs, o->ino, "..", o->dir, n->dir, S_IFDIR);
			if (err)
				return err;
		}
		if (n->is_dir) {
			err = __ns_setent(fs, n->ino, "..", n->dir, o->dir, S_IFDIR);
			if (err)
				return err;
		}
		/* ext4_update_dir_count() */
		if (o->is_dir != n->is_dir) {
			od = o->is_dir ? -1 : 1;
			nd = -od;
		}
		err = __ns_touch_dir(fs, o->dir, od);
		if (!err)
			err = __ns_touch_dir(fs, n->dir, nd);
	} else {
		err = __ns_touch_dir(fs, o->dir, 0);
	}
	return err;
}

/* vfs_rename + ext4_rename2.  Locking: fs lock. */
int jfs_rename(struct jfs *fs, const struct jfs_cred *c, ino_t olddir, const char *oldname,
	       ino_t newdir, const char *newname, unsigned int flags)
{
	struct ns_rename_side o = { .dir = olddir, .name = oldname };
	struct ns_rename_side n = { .dir = newdir, .name = newname };
	int credits, err;

	if (flags & ~(JFS_RENAME_NOREPLACE | JFS_RENAME_EXCHANGE | JFS_RENAME_WHITEOUT))
		return -EINVAL;
	if (flags & JFS_RENAME_WHITEOUT)
		return -EINVAL;		/* no whiteouts (overlayfs) support */
	if ((flags & JFS_RENAME_NOREPLACE) && (flags & JFS_RENAME_EXCHANGE))
		return -EINVAL;
	err = jfs_check_name(oldname);
	if (!err)
		err = jfs_check_name(newname);
	if (err)
		return err;
	if (ns_is_dot(oldname))
		return -EBUSY;
	if (ns_is_dot(newname))
		return (flags & JFS_RENAME_NOREPLACE) ? -EEXIST : -EBUSY;

	if (flags & JFS_RENAME_EXCHANGE)
		credits = 2 * jfs_credits_data(fs) + 2 * EXT4_INDEX_EXTRA_TRANS_BLOCKS + 2;
	else
		credits = 2 * jfs_credits_data(fs) + EXT4_INDEX_EXTRA_TRANS_BLOCKS + 2;
	err = jfs_op_begin(fs, (flags & JFS_RENAME_EXCHANGE) ? "rename_exchange" : "rename",
			   credits);
	if (err)
		return err;
	err = __ns_rename_checks(fs, c, &o, &n, flags);
	if (err) {
		if (err > 0)
			err = 0;	/* same inode: nothing to do */
		goto out;
	}
	if (flags & JFS_RENAME_EXCHANGE)
		err = __ns_do_exchange(fs, &o, &n);
	else
		err = __ns_do_rename(fs, &o, &n);
out:
	return jfs_op_end(fs, err);
}
