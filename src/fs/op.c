/* SPDX-License-Identifier: GPL-2.0 */
/*
 * op.c - one filesystem operation = one fs-lock section = (after the journal
 * issue) one jbd2 handle with declared credits.
 *
 * libext2fs writes inodes, directory, extent and xattr blocks at once, but
 * keeps the superblock, the group descriptors and the bitmaps in memory
 * until a flush (libext2fs.md §2.1).  A full ext2fs_flush2 would rewrite
 * every initialised group's bitmaps and the whole GDT (Option A, O(groups)
 * per op and far beyond the kernel's credits).  We do Option B (§3.3): the
 * end of every op writes exactly what changed, the set the kernel journals
 * per allocation:
 *
 *   - groups named by the block-alloc-stats callback (every
 *     ext2fs_block_alloc_stats2), plus groups whose descriptor differs from
 *     the snapshot taken at jfs_op_begin (this catches inode allocation, which
 *     has no hook, and the 1.47.0 range callback that passes the range end
 *     and a count of 0 -- bug 520caea1);
 *   - for those groups: the block bitmap (if a block count/flag changed or
 *     the callback fired) and the inode bitmap (if an inode count/flag
 *     changed), each with its checksum, then the descriptor checksum
 *     (mirrors rw_bitmaps.c: write_bitmaps, per group);
 *   - the descriptor blocks holding those groups;
 *   - the superblock, if its bytes changed, through io_channel_write_byte
 *     (a partial write of the cached fs block holding it), copied into
 *     fs->orig_super so that libext2fs's own diff stays right;
 *   - then BB/IB/DIRTY are cleared so that no later flush rewrites all.
 *
 * The superblock free counts are kept exact (the kernel leaves them lazy):
 * that costs one block per op and keeps e2fsck -fn silent.
 *
 * Credits (§7): the kernel's formulas for this geometry.  They are the
 * credits of the op's jbd2 handle (journal.c): jbd2 enforces them (a
 * handle that dirties more distinct blocks than declared gets WARN and
 * -ENOSPC, kernel-race.md I3: fix the formula, never raise it silently);
 * the io_manager also counts the distinct blocks each op dirties and warns
 * on overrun, per op name (fs->credit_overruns).
 *
 * The handle (ext4_journal_start_sb / ext4_journal_stop): with a journal,
 * jfs_op_begin starts the op's handle BEFORE it takes the fs lock and
 * jfs_op_end stops it AFTER dropping the lock (libext2fs.md §4); a
 * read-only op (credits 0) starts none.  __jfs_op_restart keeps the handle
 * when it still has the credits asked for, extends it when the running
 * transaction has room, and otherwise restarts it with the fs lock dropped
 * (journal.c's essay: a restart waits for t_updates == 0).
 *
 * Locking rules: jfs_op_begin takes fs->fs_lock and sets the thread-local
 * current_jfs; jfs_op_end syncs and drops both, then lets the page cache
 * throttle the caller if it dirtied too much (balance_dirty_pages: the
 * caller must hold no page-cache lock across jfs_op_end).  Ops do not nest: a helper
 * called inside an op uses the `__` variants (which assert the lock) and
 * __jfs_op_restart to split unbounded work.  The alloc-stats callback runs
 * inside libext2fs calls, i.e. with the fs lock held.
 */
#include <errno.h>
#include <string.h>
#include "fs_internal.h"

/* ------------------------------------------------------------- credits */

#define EXT4_XATTR_TRANS_BLOCKS		6
#define EXT4_INDEX_EXTRA_TRANS_BLOCKS	12
#define EXT4_META_TRANS_BLOCKS		(EXT4_XATTR_TRANS_BLOCKS)	/* + MAXQUOTAS_TRANS (0) */
/* Debian's amd64 config: CONFIG_SECURITY + CONFIG_INTEGRITY xattrs on new inodes. */
#define JFS_NEW_INODE_XATTR_CREDITS	(2 * 7)

static bool fs_has_extents(struct jfs *fs)
{
	return ext2fs_has_feature_extents(fs->e2fs->super);
}

/* EXT4_DATA_TRANS_BLOCKS: SINGLEDATA + XATTR - 2 + MAXQUOTAS_TRANS. */
int jfs_credits_data(struct jfs *fs)
{
	int single = fs_has_extents(fs) ? 20 : 8;

	return single + EXT4_XATTR_TRANS_BLOCKS - 2;
}

/* ext4_create/mkdir/symlink: DATA + INDEX_EXTRA + 3 + new-inode xattrs. */
int jfs_credits_new_inode(struct jfs *fs)
{
	return jfs_credits_data(fs) + EXT4_INDEX_EXTRA_TRANS_BLOCKS + 3 +
	       JFS_NEW_INODE_XATTR_CREDITS;
}

/*
 * ext4_index_trans_blocks(): the indirect rule, or ext4_ext_index_trans_blocks()
 * -- each level of a tree of @depth may split once for one extent (2 blocks
 * a level), a little more for several (3).  With depth EXT4_MAX_EXTENT_DEPTH
 * this is the rule since 32a93f5bc9b9; with the inode's ext_depth() read
 * when the estimate is made it is the rule before it, which a tree that
 * grows before the insert overruns (kernel-race.md §2.5 I3).
 */
static int index_trans_blocks(struct jfs *fs, int lblocks, int pextents, int depth)
{
	if (!fs_has_extents(fs)) {
		int apb = fs->blocksize / 4;

		return DIV_ROUND_UP(lblocks, apb) + 4;
	}
	return pextents <= 1 ? 2 * depth : 3 * depth;
}

int jfs_credit_depth(const struct jfs *fs, const struct ext2_inode_large *inode)
{
	const struct ext3_extent_header *eh = (const void *)inode->i_block;

	if (fs->opts.credits != JFS_CREDITS_DEPTH)
		return EXT4_MAX_EXTENT_DEPTH;
	/* ext_depth(inode): i_block's header (block-mapped: no tree) */
	if (!(inode->i_flags & EXT4_EXTENTS_FL) ||
	    ext2fs_le16_to_cpu(eh->eh_magic) != EXT3_EXT_MAGIC)
		return 0;
	return min_t(int, ext2fs_le16_to_cpu(eh->eh_depth), EXT4_MAX_EXTENT_DEPTH);
}

int jfs_credits_meta(struct jfs *fs, int lblocks, int pextents)
{
	return jfs_credits_meta_depth(fs, lblocks, pextents, EXT4_MAX_EXTENT_DEPTH);
}

/* ext4_meta_trans_blocks(inode, lblocks, pextents), fs/ext4/inode.c. */
int jfs_credits_meta_depth(struct jfs *fs, int lblocks, int pextents, int depth)
{
	int ngroups = fs->e2fs->group_desc_count;
	int gdb = fs->e2fs->desc_blocks;
	int idx = index_trans_blocks(fs, lblocks, pextents, depth);
	int groups = idx + pextents;
	int gdp = groups;

	if (groups > ngroups)
		groups = ngroups;
	if (groups > gdb)
		gdp = gdb;
	return idx + groups + gdp + EXT4_META_TRANS_BLOCKS;
}

/* ext4_writepage_trans_blocks(): bpp = blocks per 4 KiB page. */
int jfs_credits_writepage(struct jfs *fs)
{
	int bpp = fs->blocksize >= PAGE_SIZE ? 1 : (int)(PAGE_SIZE / fs->blocksize);

	return jfs_credits_meta(fs, bpp, bpp);
}

/* ----------------------------------------------------- dirty-group tracking */

static void jfs_block_alloc_stats(ext2_filsys e2fs, blk64_t blk, int inuse)
{
	struct jfs *fs = e2fs->priv_data;
	dgrp_t g;

	if (!fs || fs->magic != JFS_MAGIC || !fs->dirty_groups)
		return;
	if (blk < e2fs->super->s_first_data_block || blk >= ext2fs_blocks_count(e2fs->super))
		return;
	g = ext2fs_group_of_blk2(e2fs, blk);
	fs->dirty_groups[g] |= JFS_GD_BLOCK_BITMAP | JFS_GD_DESC;
}

/* Installed by super.c after ext2fs_open2. */
void jfs_install_alloc_hooks(struct jfs *fs)
{
	void (*old)(ext2_filsys, blk64_t, int) = NULL;

	ext2fs_set_block_alloc_stats_callback(fs->e2fs, jfs_block_alloc_stats, &old);
}

static void snapshot(struct jfs *fs)
{
	memcpy(&fs->sb_snap, fs->e2fs->super, sizeof(fs->sb_snap));
	memcpy(fs->gd_snap, fs->e2fs->group_desc, fs->gd_bytes);
	memset(fs->dirty_groups, 0, fs->e2fs->group_desc_count);
	fs->op_nblocks = 0;
}

static void begin_locked(struct jfs *fs, const char *name, int credits)
{
	current_jfs = fs;
	__jfs_journal_op_reset(fs);
	fs->in_op = true;
	fs->op_name = name;
	fs->op_ino = 0;
	fs->op_credits = credits;
	if (fs->e2fs)
		snapshot(fs);
	atomic_fetch_add(&fs->nr_ops, 1);
}

int jfs_handle_type(const char *name)
{
	static const struct { const char *op; int type; } types[] = {
		{ "write", EXT4_HT_WRITE_PAGE },	/* ext4_write_begin */
		{ "fallocate", EXT4_HT_MAP_BLOCKS },	/* ext4_alloc_file_blocks */
		{ "setattr", EXT4_HT_INODE },		/* ext4_setattr */
		{ "open", EXT4_HT_INODE },		/* O_TRUNC: ext4_setattr */
		{ "read", EXT4_HT_INODE },		/* atime: ext4_dirty_inode */
		{ "readdir", EXT4_HT_INODE },
		{ "create", EXT4_HT_DIR }, { "mknod", EXT4_HT_DIR }, { "mkdir", EXT4_HT_DIR },
		{ "symlink", EXT4_HT_DIR }, { "link", EXT4_HT_DIR }, { "unlink", EXT4_HT_DIR },
		{ "rmdir", EXT4_HT_DIR }, { "rename", EXT4_HT_DIR },
		{ "release", EXT4_HT_TRUNCATE },	/* the last close of an orphan: */
		{ "releasedir", EXT4_HT_TRUNCATE },	/* ext4_evict_inode */
		{ "forget", EXT4_HT_TRUNCATE },
		{ "setxattr", EXT4_HT_XATTR }, { "removexattr", EXT4_HT_XATTR },
	};

	for (size_t i = 0; name && i < ARRAY_SIZE(types); i++)
		if (!strcmp(name, types[i].op))
			return types[i].type;
	return EXT4_HT_MISC;
}

int jfs_op_begin_at(struct jfs *fs, const char *name, int credits, unsigned int line)
{
	handle_t *h = NULL;

	if (!fs || fs->magic != JFS_MAGIC)
		return -EINVAL;
	if (credits > 0 && READ_ONCE(fs->ro))
		return -EROFS;
	/* ext4_journal_start_sb: before the fs lock (it may wait for a commit) */
	if (credits > 0 && READ_ONCE(fs->journal)) {
		h = jfs_journal_start(fs, name, credits, line);
		if (IS_ERR(h))
			return (int)PTR_ERR(h);
	}
	mutex_lock(&fs->fs_lock);
	BUG_ON(fs->in_op);
	if (credits > 0 && fs->ro) {
		mutex_unlock(&fs->fs_lock);
		jfs_journal_stop(fs, h);
		return -EROFS;
	}
	fs->handle = h;
	begin_locked(fs, name, credits);
	return 0;
}

/* Compare descriptor g with its snapshot; returns JFS_GD_* flags. */
static unsigned int desc_changes(struct jfs *fs, dgrp_t g)
{
	ext2_filsys e2fs = fs->e2fs;
	unsigned int dsz = EXT2_DESC_SIZE(e2fs->super);
	const unsigned char *now = (const unsigned char *)e2fs->group_desc + (size_t)g * dsz;
	const unsigned char *old = (const unsigned char *)fs->gd_snap + (size_t)g * dsz;
	const struct ext4_group_desc *a = (const void *)now, *b = (const void *)old;
	unsigned int flags = 0;
	bool big = dsz >= EXT2_MIN_DESC_SIZE_64BIT;

	if (!memcmp(now, old, dsz))
		return 0;
	flags |= JFS_GD_DESC;
	if (a->bg_free_blocks_count != b->bg_free_blocks_count ||
	    (big && a->bg_free_blocks_count_hi != b->bg_free_blocks_count_hi) ||
	    ((a->bg_flags ^ b->bg_flags) & EXT2_BG_BLOCK_UNINIT))
		flags |= JFS_GD_BLOCK_BITMAP;
	if (a->bg_free_inodes_count != b->bg_free_inodes_count ||
	    (big && a->bg_free_inodes_count_hi != b->bg_free_inodes_count_hi) ||
	    a->bg_used_dirs_count != b->bg_used_dirs_count ||
	    a->bg_itable_unused != b->bg_itable_unused ||
	    ((a->bg_flags ^ b->bg_flags) & EXT2_BG_INODE_UNINIT))
		flags |= JFS_GD_INODE_BITMAP;
	return flags;
}

static errcode_t write_block_bitmap(struct jfs *fs, dgrp_t g, char *buf)
{
	ext2_filsys e2fs = fs->e2fs;
	unsigned int cpg = EXT2_CLUSTERS_PER_GROUP(e2fs->super);
	unsigned int nbytes = cpg / 8;
	blk64_t start = EXT2FS_B2C(e2fs, e2fs->super->s_first_data_block) + (blk64_t)g * cpg;
	errcode_t err;

	if (ext2fs_has_group_desc_csum(e2fs) && ext2fs_bg_flags_test(e2fs, g, EXT2_BG_BLOCK_UNINIT))
		return 0;
	memset(buf, 0xff, fs->blocksize);
	err = ext2fs_get_block_bitmap_range2(e2fs->block_map, start, cpg, buf);
	if (err)
		return err;
	if (g == e2fs->group_desc_count - 1) {
		/* Padding past the end of the filesystem is "in use". */
		blk64_t nbits = EXT2FS_NUM_B2C(e2fs, ext2fs_blocks_count(e2fs->super) -
					       (blk64_t)e2fs->super->s_first_data_block) % cpg;

		if (nbits)
			for (blk64_t j = nbits; j < (blk64_t)fs->blocksize * 8; j++)
				ext2fs_set_bit(j, buf);
	}
	err = ext2fs_block_bitmap_csum_set(e2fs, g, buf, nbytes);
	if (err)
		return err;
	return io_channel_write_blk64(e2fs->io, ext2fs_block_bitmap_loc(e2fs, g), 1, buf);
}

static errcode_t write_inode_bitmap(struct jfs *fs, dgrp_t g, char *buf)
{
	ext2_filsys e2fs = fs->e2fs;
	unsigned int ipg = e2fs->super->s_inodes_per_group;
	unsigned int nbytes = ipg / 8;
	ext2_ino_t start = (ext2_ino_t)g * ipg + 1;
	errcode_t err;

	if (ext2fs_has_group_desc_csum(e2fs) && ext2fs_bg_flags_test(e2fs, g, EXT2_BG_INODE_UNINIT))
		return 0;
	memset(buf, 0xff, fs->blocksize);
	err = ext2fs_get_inode_bitmap_range2(e2fs->inode_map, start, ipg, buf);
	if (err)
		return err;
	err = ext2fs_inode_bitmap_csum_set(e2fs, g, buf, nbytes);
	if (err)
		return err;
	return io_channel_write_blk64(e2fs->io, ext2fs_inode_bitmap_loc(e2fs, g), 1, buf);
}

int __jfs_sync_meta(struct jfs *fs)
{
	ext2_filsys e2fs = fs->e2fs;
	dgrp_t g, ngroups;
	unsigned int dpb;
	long last_gdb = -1;
	char *buf = NULL;
	errcode_t err = 0;

	lockdep_assert_held(&fs->fs_lock);
	if (!e2fs)
		return 0;
	ngroups = e2fs->group_desc_count;
	dpb = EXT2_DESC_PER_BLOCK(e2fs->super);

	for (g = 0; g < ngroups; g++)
		fs->dirty_groups[g] |= desc_changes(fs, g);

	for (g = 0; g < ngroups; g++) {
		unsigned char f = fs->dirty_groups[g];

		if (!(f & (JFS_GD_BLOCK_BITMAP | JFS_GD_INODE_BITMAP)))
			continue;
		if (!buf) {
			buf = malloc(fs->blocksize);
			if (!buf) {
				err = EXT2_ET_NO_MEMORY;
				goto out;
			}
		}
		if (f & JFS_GD_BLOCK_BITMAP) {
			err = write_block_bitmap(fs, g, buf);
			if (err)
				goto out;
		}
		if (f & JFS_GD_INODE_BITMAP) {
			err = write_inode_bitmap(fs, g, buf);
			if (err)
				goto out;
		}
		ext2fs_group_desc_csum_set(e2fs, g);
		fs->dirty_groups[g] |= JFS_GD_DESC;
	}

	for (g = 0; g < ngroups; g++) {
		long i = g / dpb;

		if (!(fs->dirty_groups[g] & JFS_GD_DESC) || i == last_gdb)
			continue;
		last_gdb = i;
		err = io_channel_write_blk64(e2fs->io,
				ext2fs_descriptor_block_loc2(e2fs, e2fs->super->s_first_data_block, i),
				1, (char *)e2fs->group_desc + (size_t)i * fs->blocksize);
		if (err)
			goto out;
	}

	if (memcmp(e2fs->super, &fs->sb_snap, sizeof(fs->sb_snap))) {
		ext2fs_superblock_csum_set(e2fs, e2fs->super);
		err = io_channel_write_byte(e2fs->io, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, e2fs->super);
		if (err)
			goto out;
		if (e2fs->orig_super)
			memcpy(e2fs->orig_super, e2fs->super, SUPERBLOCK_SIZE);
	}
	e2fs->flags &= ~(EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY | EXT2_FLAG_DIRTY);
	/* What is written is the new baseline (an op restart continues from here). */
	memcpy(&fs->sb_snap, e2fs->super, sizeof(fs->sb_snap));
	memcpy(fs->gd_snap, e2fs->group_desc, fs->gd_bytes);
	memset(fs->dirty_groups, 0, ngroups);
out:
	free(buf);
	return err ? jfs_errno(err) : 0;
}

int __jfs_op_restart(struct jfs *fs, int credits)
{
	bool dropped = false;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	BUG_ON(!fs->in_op);
	err = __jfs_sync_meta(fs);
	if (!err && fs->restart_hook)
		fs->restart_hook(fs);
	if (!err && fs->journal)
		err = __jfs_journal_ensure_credits(fs, credits, &dropped);
	if (dropped && fs->e2fs)
		snapshot(fs);	/* other ops ran while the lock was dropped */
	__jfs_journal_op_reset(fs);
	fs->op_nblocks = 0;
	fs->op_credits = credits;
	return err;
}

int jfs_op_end(struct jfs *fs, int err)
{
	handle_t *h;
	int serr, herr;

	lockdep_assert_held(&fs->fs_lock);
	BUG_ON(!fs->in_op);
	serr = __jfs_sync_meta(fs);
	if (serr && fs->journal && fs->handle && !fs->aborted)
		JFS_ERROR(fs, serr, 0, 0, "op %s: end-of-op metadata sync failed: %d",
			  fs->op_name ? fs->op_name : "?", serr);
	else if (serr)
		fs->had_errors = true;
	h = fs->handle;
	fs->handle = NULL;
	fs->in_op = false;
	fs->op_name = NULL;
	fs->op_credits = 0;
	fs->op_nblocks = 0;
	current_jfs = NULL;
	mutex_unlock(&fs->fs_lock);
	/* ext4_journal_stop: after the fs lock */
	herr = jfs_journal_stop(fs, h);
	if (!serr && herr && herr != -EIO)
		serr = herr;
	/* As generic_perform_write() does after each chunk: no lock held now. */
	balance_dirty_pages_ratelimited(&fs->mapping);
	return err ? err : serr;
}

int __jfs_fail(struct jfs *fs, errcode_t err)
{
	int e = jfs_errno(err);

	lockdep_assert_held(&fs->fs_lock);
	/* Corruption and I/O errors mark the fs; user errors do not.  With a
	 * journal, inside a handle: __ext4_error (abort + errors=). */
	if (e == -EIO || e == -EUCLEAN || e == -EBADMSG) {
		if (fs->journal && fs->handle)
			JFS_ERROR(fs, e, 0, 0, "op %s: libext2fs: %s",
				  fs->op_name ? fs->op_name : "?", error_message(err));
		else
			fs->had_errors = true;
	}
	return e;
}
