/* SPDX-License-Identifier: GPL-2.0 */
/*
 * file.c - the data path: open/read/write/truncate/fallocate/fsync.
 *
 * File data never goes through ext2_file_t or any other libext2fs call
 * that writes data blocks through the channel (that would make the
 * io_manager log file data: "Mode J", libext2fs.md §3.2).  We do "Mode O",
 * the ordered-mode shape: libext2fs only maps and allocates --
 *
 *   map:       ext2fs_bmap2() without BMAP_ALLOC (lookup; BMAP_RET_UNINIT
 *              tells an unwritten extent, which reads as zeros);
 *   allocate:  ext2fs_new_block2() with the kernel's goal (the previous
 *              logical block's physical block + 1, else
 *              ext2fs_find_inode_goal), ext2fs_block_alloc_stats2(+1),
 *              ext2fs_bmap2(BMAP_SET) (which does not zero the block), and
 *              i_blocks += 1 -- the ext4_ext_map_blocks steps;
 *   convert:   a write into an unwritten extent re-maps the block with
 *              BMAP_SET and no BMAP_UNINIT, which splits the extent
 *              (ext4_ext_convert_to_initialized);
 *
 * -- and the data itself is copied into the bdev page cache here (the
 * buffer of the physical block).  A newly allocated or converted block is
 * zero-filled in the cache before a partial copy; an existing block is read
 * first (read-modify-write of a partial block).  Because data and metadata
 * share one mapping there are no aliases to clean (the kernel needs
 * clean_bdev_aliases because its data lives in the inode's mapping).
 *
 * libext2fs functions that take a `struct ext2_inode *` update the caller's
 * copy in place (the extent handle works on our struct) and write the first
 * 128 bytes; we pass our ext2_inode_large and write it in full at the end.
 *
 * Unbounded work is split into ops of at most JFS_CHUNK_BLOCKS blocks, each
 * with its own credits (the kernel restarts its handles the same way):
 * long writes, truncates (freed from the end backwards, the inode on the
 * orphan list in between, i_size already at its new value), punches and
 * fallocates.  ext2fs_fallocate is called only with FORCE_UNINIT (no data
 * zeroing through the channel) and only on holes whose length we computed,
 * seeding the first block ourselves when no extent lies below the hole:
 * that is the path where 1.47.0 ignores `len` (bug 149805bf).
 *
 * Model simplifications: no per-inode page cache and no delalloc (data is
 * allocated at write time, as nodelalloc); data=ordered files every data
 * buffer an op writes with its transaction (ext3's ordered mode, a superset
 * of ext4's new-mappings-only rule) and fsync is the commit of the inode's
 * last transaction (ext4_sync_file; journal.c); without a journal fsync
 * writes the whole bdev cache home (sync_blockdev); fallocate and punch need extent-mapped files (indirect files get
 * -EOPNOTSUPP: the kernel refuses fallocate on them too, but does punch
 * them -- libext2fs 1.47.0's indirect punch is buggy, c49656b1).
 *
 * Writes, truncates (attr.c, O_TRUNC) and fallocate drop S_ISUID/S_ISGID
 * of non-root callers (jfs_inode_kill_suid); reads update atime per the
 * mount's policy (__jfs_touch_atime).
 *
 * Locking rules: public functions are operations (jfs_op_begin/jfs_op_end);
 * `__` helpers assert the fs lock and may restart the op between chunks.
 * Buffer contents are changed under the buffer lock, so the writeback
 * thread never writes a half-copied block.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <linux/falloc.h>
#include "fs_internal.h"

uint64_t jfs_i_size(const struct ext2_inode_large *inode)
{
	return inode->i_size | ((uint64_t)inode->i_size_high << 32);
}

void __jfs_set_i_size(struct jfs *fs, struct ext2_inode_large *inode, uint64_t size)
{
	inode->i_size = (uint32_t)size;
	inode->i_size_high = (uint32_t)(size >> 32);
	/* ext4_update_inode_size -> ext4_do_update_inode: large_file on demand */
	if (size > 0x7fffffffULL && !ext2fs_has_feature_large_file(fs->e2fs->super))
		ext2fs_set_feature_large_file(fs->e2fs->super);
}

/* eh_entries of the extent header in i_block (ext3_extents.h layout). */
static unsigned int extent_root_entries(const struct ext2_inode_large *inode)
{
	return ((const uint16_t *)inode->i_block)[1];
}

static bool inode_has_extents(const struct ext2_inode_large *inode)
{
	return inode->i_flags & EXT4_EXTENTS_FL;
}

uint64_t jfs_inode_maxbytes(const struct jfs *fs, const struct ext2_inode_large *inode)
{
	return inode_has_extents(inode) ? fs->s_maxbytes : fs->s_bitmap_maxbytes;
}

/*
 * ext4_has_free_clusters() for data: the kernel's reserves, the same
 * policy as namei.c and xattr.c (jfs_ns_can_allocate).  Root too stays
 * out of s_resv_clusters: that reserve is what lets a truncate or punch
 * split an extent on a full filesystem (EXT4_MB_USE_RESERVED), and what
 * keeps libext2fs from running dry in the middle of a tree change (it has
 * no undo, libext2fs.md §3.5, §5.2 item 10).
 */
static int can_allocate(struct jfs *fs, const struct jfs_cred *c, blk64_t needed)
{
	return jfs_ns_can_allocate(fs, c, needed);
}

/* Lookup only: *pblk = 0 for a hole. */
static int map_block(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		     blk64_t lblk, blk64_t *pblk, bool *unwritten)
{
	int flags = 0;
	errcode_t err;

	*pblk = 0;
	err = ext2fs_bmap2(fs->e2fs, ino, (struct ext2_inode *)inode, NULL, 0, lblk, &flags, pblk);
	if (err)
		return __jfs_fail(fs, err);
	/*
	 * ext4_valid_extent() (from __ext4_ext_check, and ext4_map_blocks'
	 * check_block_validity): a mapped block must lie inside the
	 * filesystem.  libext2fs hands back whatever the extent says; a
	 * damaged one would send the data read past the device.  Simplified:
	 * the bounds only, not the kernel's system-zone check.
	 */
	if (*pblk && (*pblk < fs->e2fs->super->s_first_data_block ||
		      *pblk >= ext2fs_blocks_count(fs->e2fs->super))) {
		JFS_ERROR(fs, -EFSCORRUPTED, ino, *pblk, "bad extent address lblock: %llu, pblock %llu",
			  (unsigned long long)lblk, (unsigned long long)*pblk);
		*pblk = 0;
		return -EFSCORRUPTED;
	}
	if (unwritten)
		*unwritten = *pblk && (flags & BMAP_RET_UNINIT);
	return 0;
}

/* Allocate one block for lblk and map it (initialised, or unwritten). */
static int alloc_block(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		       blk64_t lblk, blk64_t goal, bool unwritten, blk64_t *pblk)
{
	ext2_filsys e2fs = fs->e2fs;
	blk64_t blk = 0;
	errcode_t err;

	if (!goal && lblk) {
		int ret = map_block(fs, ino, inode, lblk - 1, &goal, NULL);

		if (ret)
			return ret;
		if (goal)
			goal++;
	}
	if (!goal || goal >= ext2fs_blocks_count(e2fs->super))
		goal = ext2fs_find_inode_goal(e2fs, ino, (struct ext2_inode *)inode, lblk);
	err = ext2fs_new_block2(e2fs, goal, NULL, &blk);
	if (err)
		return jfs_errno(err);
	ext2fs_block_alloc_stats2(e2fs, blk, +1);
	/* Block-mapped files need BMAP_ALLOC for their indirect blocks
	 * (metadata, zero-written through the channel); BMAP_SET maps `blk`. */
	err = ext2fs_bmap2(e2fs, ino, (struct ext2_inode *)inode, NULL,
			   BMAP_SET | (unwritten ? BMAP_UNINIT : 0) |
			   (inode_has_extents(inode) ? 0 : BMAP_ALLOC), lblk, NULL, &blk);
	if (err) {
		ext2fs_block_alloc_stats2(e2fs, blk, -1);
		return __jfs_fail(fs, err);
	}
	ext2fs_iblk_add_blocks(e2fs, (struct ext2_inode *)inode, 1);
	*pblk = blk;
	return 0;
}

/* Copy into the cached data block; `fresh` blocks are zero-filled first.
 * data=ordered: filed with the running transaction (written before its
 * commit); data=journal: journaled like metadata (journal.c). */
static int write_data_block(struct jfs *fs, blk64_t pblk, size_t boff, const char *src,
			    size_t n, bool fresh)
{
	return __jfs_journal_write_data(fs, pblk, boff, src, n, fresh);
}

/* Zero [off, off+len) inside one block if it holds written data. */
static int zero_partial(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
			uint64_t off, size_t len)
{
	blk64_t pblk;
	bool unwritten;
	int ret;

	if (!len)
		return 0;
	ret = map_block(fs, ino, inode, off / fs->blocksize, &pblk, &unwritten);
	if (ret || !pblk || unwritten)
		return ret;
	return write_data_block(fs, pblk, off % fs->blocksize, NULL, len, false);
}

/* ------------------------------------------------------------------ read */

ssize_t jfs_read(struct jfs *fs, ino_t ino, off_t off, size_t size, char *buf)
{
	struct ext2_inode_large inode;
	unsigned int bs;
	uint64_t isize;
	size_t done = 0;
	bool accessed = false;
	int ret;

	if (off < 0)
		return -EINVAL;
	ret = jfs_op_begin(fs, "read", 0);
	if (ret)
		return ret;
	bs = fs->blocksize;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (ret)
		goto out;
	if (LINUX_S_ISDIR(inode.i_mode)) {
		ret = -EISDIR;
		goto out;
	}
	if (!LINUX_S_ISREG(inode.i_mode)) {
		ret = -EINVAL;
		goto out;
	}
	isize = jfs_i_size(&inode);
	accessed = size > 0;
	if ((uint64_t)off >= isize)
		goto out;
	if (size > isize - off)
		size = isize - off;
	while (done < size) {
		uint64_t pos = off + done;
		size_t boff = pos % bs, n = min_t(size_t, bs - boff, size - done);
		blk64_t pblk;
		bool unwritten;
		struct buffer_head *bh;

		ret = map_block(fs, ino, &inode, pos / bs, &pblk, &unwritten);
		if (ret)
			break;
		if (!pblk || unwritten) {
			memset(buf + done, 0, n);
		} else {
			bh = __bread(fs->bdev, pblk, bs);
			if (!bh) {
				ret = -EIO;
				break;
			}
			memcpy(buf + done, bh->b_data + boff, n);
			mm_check_access(bh, bh->b_data + boff, n, false);
			brelse(bh);
		}
		done += n;
	}
out:
	/* filemap_read() ends with file_accessed(), at EOF too; its result
	 * is not the read's (touch_atime returns nothing). */
	if (accessed && (done || !ret))
		__jfs_touch_atime(fs, ino, &inode);
	ret = jfs_op_end(fs, ret);
	return done ? (ssize_t)done : ret;
}

int jfs_bmap(struct jfs *fs, ino_t ino, uint64_t lblk, uint64_t *pblk)
{
	struct ext2_inode_large inode;
	blk64_t p = 0;
	int ret;

	ret = jfs_op_begin(fs, "bmap", 0);
	if (ret)
		return ret;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (!ret)
		ret = map_block(fs, ino, &inode, lblk, &p, NULL);
	*pblk = p;
	return jfs_op_end(fs, ret);
}

/* ----------------------------------------------------------------- write */

/*
 * The extent depth a credit estimate made before the handle starts sees.
 * ext4_do_writepages() computes ext4_da_writepages_trans_blocks() -- and,
 * before 32a93f5bc9b9, in it ext_depth(inode) -- then starts the handle,
 * and only ext4_map_blocks() takes i_data_sem: another handle on the same
 * inode (a second writeback of it, an unwritten-extent conversion, a
 * fallocate) may grow the tree in between (ext4_ext_grow_indepth).  Here
 * the depth is read in a read-only op of its own (fs lock, no handle) that
 * ends before the write's op starts its handle and takes the lock again:
 * the same window, no wider.  Model: ext4 reads the in-core inode without
 * any lock; we read the inode under the fs lock, which orders the read but
 * leaves the window.  Under JFS_CREDITS_MAX nothing is read.  The yield
 * point YP_CREDIT_WINDOW marks the window for tests that force growth into it.
 */
static int credit_depth_unlocked(struct jfs *fs, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	int depth = EXT4_MAX_EXTENT_DEPTH;

	if (fs->opts.credits == JFS_CREDITS_DEPTH && !jfs_op_begin(fs, "ext_depth", 0)) {
		if (!__jfs_read_inode(fs, ino, &inode))
			depth = jfs_credit_depth(fs, &inode);
		jfs_op_end(fs, 0);
	}
	/* the window: estimate made, handle not started, no lock held (off
	 * unless a test or the lab arms it: both rules pass here) */
	yield_point(YP_CREDIT_WINDOW);
	return depth;
}

/* The restart credits of a chunked tree change (truncate, punch,
 * fallocate): ext4_writepage_trans_blocks()/ext4_chunk_trans_blocks() at
 * the inode's depth now (the fs lock is held: the copy is current). */
static int chunk_credits(struct jfs *fs, const struct ext2_inode_large *inode)
{
	return jfs_credits_meta_depth(fs, JFS_CHUNK_BLOCKS, JFS_CHUNK_BLOCKS,
				      jfs_credit_depth(fs, inode));
}

/* One op's worth of a write: at most JFS_CHUNK_BLOCKS blocks. */
static ssize_t __jfs_write_chunk(struct jfs *fs, const struct jfs_cred *c, ext2_ino_t ino,
				 uint64_t pos, const char *buf, size_t size)
{
	struct ext2_inode_large inode;
	unsigned int bs = fs->blocksize;
	uint64_t limit, end;
	blk64_t first, last, lblk, holes = 0, prev = 0;
	size_t done = 0;
	int ret;

	lockdep_assert_held(&fs->fs_lock);
	fs->op_ino = ino;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (ret)
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return -EINVAL;
	limit = jfs_inode_maxbytes(fs, &inode);
	if (pos >= limit)
		return -EFBIG;
	if (size > limit - pos)
		size = limit - pos;
	end = pos + size;
	first = pos / bs;
	last = (end - 1) / bs;

	/* Space check first, before anything changes (§3.5). */
	for (lblk = first; lblk <= last; lblk++) {
		blk64_t pblk;

		ret = map_block(fs, ino, &inode, lblk, &pblk, NULL);
		if (ret)
			return ret;
		holes += !pblk;
	}
	if (holes) {
		ret = can_allocate(fs, c, holes + 4);
		if (ret)
			return ret;
	}

	for (lblk = first; lblk <= last; lblk++) {
		uint64_t bpos = pos + done;
		size_t boff = bpos % bs, n = min_t(size_t, bs - boff, size - done);
		blk64_t pblk;
		bool unwritten, fresh = false;

		ret = map_block(fs, ino, &inode, lblk, &pblk, &unwritten);
		if (ret)
			break;
		if (!pblk) {
			ret = alloc_block(fs, ino, &inode, lblk, prev ? prev + 1 : 0, false, &pblk);
			if (ret)
				break;
			fresh = true;
		} else if (unwritten) {
			errcode_t err = ext2fs_bmap2(fs->e2fs, ino, (struct ext2_inode *)&inode, NULL,
						     BMAP_SET, lblk, NULL, &pblk);
			if (err) {
				ret = __jfs_fail(fs, err);
				break;
			}
			fresh = true;
		}
		ret = write_data_block(fs, pblk, boff, buf + done, n, fresh);
		if (ret)
			break;
		prev = pblk;
		done += n;
	}
	if (done) {
		if (pos + done > jfs_i_size(&inode))
			__jfs_set_i_size(fs, &inode, pos + done);
		if (jfs_inode_kill_suid(fs, c, &inode))	/* file_remove_privs() */
			__jfs_notify_inval(fs, ino);	/* the kernel keeps its mode */
		jfs_inode_touch(&inode, JFS_T_MTIME | JFS_T_CTIME);
	}
	/* Allocation changed the inode even when the copy failed. */
	{
		int wret = __jfs_write_inode(fs, ino, &inode);

		if (!ret)
			ret = wret;
	}
	return done ? (ssize_t)done : ret;
}

ssize_t jfs_write(struct jfs *fs, const struct jfs_cred *c, ino_t ino, off_t off,
		  const char *buf, size_t size)
{
	size_t done = 0;
	ssize_t ret = 0;

	if (off < 0)
		return -EINVAL;
	if (!size)
		return 0;
	if (!fs || fs->magic != JFS_MAGIC)
		return -EINVAL;
	while (done < size) {
		uint64_t pos = (uint64_t)off + done;
		unsigned int bs = fs->blocksize;
		/* data=journal: smaller chunks, so that a chunk's credits stay
		 * well inside a transaction (ext4_da_writepages_trans_blocks) */
		uint64_t window_end = (pos / bs + (fs->opts.data_journal ? JFS_CHUNK_BLOCKS / 4 :
						    JFS_CHUNK_BLOCKS)) * bs;
		size_t n = min_t(uint64_t, size - done, window_end - pos);
		int nblk = (int)DIV_ROUND_UP(pos % bs + n, bs);
		int depth = credit_depth_unlocked(fs, (ext2_ino_t)ino);
		int e;

		/* data=journal: the data blocks are journaled too
		 * (ext4_writepage_trans_blocks + bpp) */
		e = jfs_op_begin(fs, "write", jfs_credits_meta_depth(fs, nblk, nblk, depth) + 1 +
				 (fs->opts.data_journal ? nblk : 0));
		if (e) {
			ret = e;
			break;
		}
		ret = __jfs_write_chunk(fs, c, ino, pos, buf + done, n);
		e = jfs_op_end(fs, ret < 0 ? (int)ret : 0);
		if (ret < 0)
			break;
		if (e) {
			ret = e;
			break;
		}
		done += ret;
		if ((size_t)ret < n)
			break;		/* hit the size limit */
	}
	return done ? (ssize_t)done : ret;
}

/* -------------------------------------------------------------- truncate */

/* The last mapped logical block, or false if none. */
static bool last_mapped_lblk(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
			     blk64_t *last)
{
	if (inode_has_extents(inode)) {
		ext2_extent_handle_t handle;
		struct ext2fs_extent ext;
		errcode_t err;

		if (!extent_root_entries(inode))
			return false;
		err = ext2fs_extent_open2(fs->e2fs, ino, (struct ext2_inode *)inode, &handle);
		if (err)
			return false;
		err = ext2fs_extent_get(handle, EXT2_EXTENT_LAST_LEAF, &ext);
		ext2fs_extent_free(handle);
		if (err || !ext.e_len)
			return false;
		*last = ext.e_lblk + ext.e_len - 1;
		return true;
	}
	/* Block-mapped: no blocks past EOF exist (no fallocate), so the
	 * caller's bound (the size before the truncate) is the last block. */
	if (!ext2fs_inode_has_valid_blocks2(fs->e2fs, (struct ext2_inode *)inode) ||
	    !inode->i_blocks)
		return false;
	*last = ~0ULL;
	return true;
}

/*
 * libext2fs 1.47.0's punch_extent_blocks() rejects a freed range that ends
 * at the last block of the filesystem (EXT2_ET_BAD_BLOCK_NUM, fixed by
 * 509da989) -- after the extent has already been shortened or deleted, so
 * the blocks leak, i_blocks stays, and the rest of the punch never runs.
 * A full filesystem hands out that block sooner or later.  If [a, b] frees
 * it (the tail of its extent), take it off that extent here first, the way
 * ext4_ext_rm_leaf() trims an extent's tail; the library then never sees
 * it.  Extent files only; nothing allocates.
 */
static int punch_fs_last_block(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
			       blk64_t a, blk64_t b)
{
	ext2_filsys e2fs = fs->e2fs;
	blk64_t last_pblk = ext2fs_blocks_count(e2fs->super) - 1;
	ext2_extent_handle_t handle;
	struct ext2fs_extent ext;
	errcode_t err;
	bool found = false;

	if (!ext2fs_test_block_bitmap2(e2fs->block_map, last_pblk))
		return 0;
	err = ext2fs_extent_open2(e2fs, ino, (struct ext2_inode *)inode, &handle);
	if (err)
		return __jfs_fail(fs, err);
	ext2fs_extent_goto(handle, b);	/* at b's extent, or the one before */
	err = ext2fs_extent_get(handle, EXT2_EXTENT_CURRENT, &ext);
	while (!err && ext.e_lblk + ext.e_len > a) {
		blk64_t lend = ext.e_lblk + ext.e_len - 1;

		if (ext.e_len && ext.e_pblk + ext.e_len - 1 == last_pblk) {
			found = lend >= a && lend <= b;
			break;
		}
		err = ext2fs_extent_get(handle, EXT2_EXTENT_PREV_LEAF, &ext);
	}
	if (err == EXT2_ET_EXTENT_NO_PREV || err == EXT2_ET_NO_CURRENT_NODE ||
	    err == EXT2_ET_EXTENT_NO_NEXT)
		err = 0;
	if (!err && found) {
		if (--ext.e_len)
			err = ext2fs_extent_replace(handle, 0, &ext);
		else
			err = ext2fs_extent_delete(handle, 0);
		if (!err) {
			err = ext2fs_extent_fix_parents(handle);
			if (err == EXT2_ET_NO_CURRENT_NODE)	/* the leaf went */
				err = 0;
		}
		if (!err) {
			ext2fs_block_alloc_stats2(e2fs, last_pblk, -1);
			err = ext2fs_iblk_sub_blocks(e2fs, (struct ext2_inode *)inode, 1);
		}
	}
	ext2fs_extent_free(handle);
	return err ? __jfs_fail(fs, err) : 0;
}

/*
 * ext2fs_punch(a, b) on our inode copy.  The library updates the copy in
 * place (extent root, i_blocks) and writes its first 128 bytes; we write it
 * in full afterwards -- on failure too, so that what the library already
 * changed (freed blocks, shortened extents, node splits) and i_blocks stay
 * in step on disk.  A failed split (no block for a new extent node) fails
 * before anything changes: that is ENOSPC, not corruption.
 *
 * The library sizes the last index entry of the extent root from i_size
 * (extent_open: the root's end_blk), and ext2fs_extent_fix_parents, after
 * a delete has emptied a leaf and climbed back to the root, looks the
 * remaining entry up by that size (goto2 at root level).  When the new
 * i_size ends where that entry starts -- a truncate to 0 of any file with
 * two leaves, or an evict of a file with unwritten blocks past EOF -- the
 * entry looks empty, fix_parents fails with EXTENT_NOT_FOUND and the punch
 * stops half done: blocks marked in use but unmapped, i_blocks stale.  The
 * kernel's tree walk (ext4_ext_remove_space) never consults i_size, so
 * show the library the largest size while it punches, and put ours back
 * before the write.
 */
static int punch_blocks(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
			blk64_t a, blk64_t b)
{
	uint64_t size = jfs_i_size(inode);
	/* end_blk 0xffffffff: every entry's length (a __u32) is > 0 */
	uint64_t lib_size = (uint64_t)0xffffffffu * fs->blocksize;
	errcode_t err;
	int ret = 0, wret;

	if (inode_has_extents(inode)) {
		inode->i_size = (uint32_t)lib_size;
		inode->i_size_high = (uint32_t)(lib_size >> 32);
		ret = punch_fs_last_block(fs, ino, inode, a, b);
	}
	if (!ret) {
		err = ext2fs_punch(fs->e2fs, ino, (struct ext2_inode *)inode, NULL, a, b);
		if (err)
			ret = __jfs_fail(fs, err);
	}
	inode->i_size = (uint32_t)size;
	inode->i_size_high = (uint32_t)(size >> 32);
	wret = __jfs_write_inode(fs, ino, inode);
	return ret ? ret : wret;
}

/*
 * Free every block at or after `first`, from the end backwards, one op per
 * JFS_CHUNK_BLOCKS (ext4_ext_remove_space with handle restarts).  Each
 * ext2fs_punch runs to ~0 ("to EOF"), which also keeps indirect files off
 * the 1.47.0 mid-file punch bug.
 */
static int punch_tail(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		      blk64_t first, blk64_t cap)
{
	blk64_t last, a;
	bool restarted = false;
	int ret;

	for (;;) {
		if (!last_mapped_lblk(fs, ino, inode, &last))
			return 0;
		if (last > cap)
			last = cap;
		if (last < first)
			return 0;
		if (last == ~0ULL)	/* unknown bound: one punch to the end */
			a = first;
		else
			a = last + 1 >= first + JFS_CHUNK_BLOCKS ? last + 1 - JFS_CHUNK_BLOCKS : first;
		if (restarted) {
			ret = __jfs_op_restart(fs, chunk_credits(fs, inode));
			if (ret)
				return ret;
		}
		ret = punch_blocks(fs, ino, inode, a, ~0ULL);
		if (ret)
			return ret;
		if (a == first)
			return 0;
		cap = a - 1;
		restarted = true;
	}
}

/* Free [first, last] (inclusive), chunked from the end; extent files only. */
static int punch_range(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		       blk64_t first, blk64_t last)
{
	int ret;

	while (last >= first) {
		blk64_t a = last + 1 >= first + JFS_CHUNK_BLOCKS ? last + 1 - JFS_CHUNK_BLOCKS : first;

		ret = punch_blocks(fs, ino, inode, a, last);
		if (ret)
			return ret;
		if (a == first)
			break;
		last = a - 1;
		ret = __jfs_op_restart(fs, chunk_credits(fs, inode));
		if (ret)
			return ret;
	}
	return 0;
}

int __jfs_truncate(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		   uint64_t new_size)
{
	unsigned int bs = fs->blocksize;
	uint64_t old = jfs_i_size(inode);
	struct jfs_inode *ji;
	bool orphaned = false;
	blk64_t nblocks;
	int ret, ret2;

	lockdep_assert_held(&fs->fs_lock);
	if (new_size > old) {
		/* Growing: a hole; the old tail beyond EOF is already zero. */
		__jfs_set_i_size(fs, inode, new_size);
		return 0;
	}
	/* ext4_block_truncate_page(): zero the tail of the new last block. */
	if (new_size % bs) {
		ret = zero_partial(fs, ino, inode, new_size, bs - new_size % bs);
		if (ret)
			return ret;
	}
	__jfs_set_i_size(fs, inode, new_size);

	/*
	 * ext4_setattr: on a shrink the inode goes on the orphan list in the
	 * handle that writes the new i_size, and ext4_truncate frees the blocks
	 * in handles of its own.  The orphan is needed for any block past the
	 * new EOF, not only for a truncate long enough to restart: the first
	 * restart below already lets a commit fall between the new i_size and
	 * the freed blocks, and a crash there must leave an orphan to finish
	 * the truncate, not initialized extents past i_size (e2fsck: "i_size
	 * is X, should be Y"; race lab, ebdf4de seeds 2004 and 2114).
	 */
	nblocks = ext2fs_get_stat_i_blocks(fs->e2fs, (struct ext2_inode *)inode) / (bs / 512);
	ji = jfs_inode_find(fs, ino, false);
	if (nblocks && inode->i_links_count && !(ji && ji->orphan)) {
		ret = __jfs_orphan_add(fs, ino, inode);
		if (ret)
			return ret;
		orphaned = true;
	} else {
		ret = __jfs_write_inode(fs, ino, inode);
		if (ret)
			return ret;
	}
	/*
	 * ext4_truncate runs in its own handle after setattr's, and frees every
	 * block from the new EOF on (ext4_ext_remove_space to EXT_MAX_BLOCKS):
	 * blocks past the old i_size too -- preallocated ones, and those an
	 * interrupted truncate left behind when the orphan cleanup finishes it
	 * at i_size (old == new there: capped at the old EOF it freed nothing,
	 * race lab crash image of bh-migrate seed 424231, e2fsck "end of extent
	 * exceeds allowed value").
	 */
	ret = __jfs_op_restart(fs, chunk_credits(fs, inode));
	if (!ret)
		ret = punch_tail(fs, ino, inode, DIV_ROUND_UP(new_size, bs), ~0ULL);
	if (orphaned) {
		ret2 = __jfs_orphan_del(fs, ino, inode);
		if (!ret)
			ret = ret2;
	}
	return ret;
}

int __jfs_free_inode_blocks(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	lockdep_assert_held(&fs->fs_lock);
	/* Fast symlinks and device inodes keep no blocks in i_block. */
	if (LINUX_S_ISLNK(inode->i_mode) && jfs_i_size(inode) < sizeof(inode->i_block) &&
	    !inode_has_extents(inode))
		return 0;
	if (!ext2fs_inode_has_valid_blocks2(fs->e2fs, (struct ext2_inode *)inode))
		return 0;
	return punch_tail(fs, ino, inode, 0,
			  jfs_i_size(inode) ? (jfs_i_size(inode) - 1) / fs->blocksize : 0);
}

/* ------------------------------------------------------------ open/close */

int jfs_open(struct jfs *fs, const struct jfs_cred *c, ino_t ino, int flags)
{
	struct ext2_inode_large inode;
	int acc = flags & O_ACCMODE, mask = 0, ret;
	bool trunc = (flags & O_TRUNC) && acc != O_RDONLY;

	ret = jfs_op_begin(fs, "open", trunc && !fs->ro ? 3 + 1 : 0);
	if (ret)
		return ret;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (ret)
		goto out;
	if (!inode.i_links_count && !jfs_inode_find(fs, ino, false)) {
		ret = -ENOENT;
		goto out;
	}
	if (acc == O_RDONLY || acc == O_RDWR)
		mask |= JFS_MAY_READ;
	if (acc == O_WRONLY || acc == O_RDWR || trunc)
		mask |= JFS_MAY_WRITE;
	if (LINUX_S_ISDIR(inode.i_mode) && (mask & JFS_MAY_WRITE)) {
		ret = -EISDIR;
		goto out;
	}
	if ((mask & JFS_MAY_WRITE) && fs->ro &&
	    (LINUX_S_ISREG(inode.i_mode) || LINUX_S_ISDIR(inode.i_mode))) {
		ret = -EROFS;
		goto out;
	}
	ret = __jfs_permission(fs, c, &inode, mask);
	if (ret)
		goto out;
	if (trunc && LINUX_S_ISREG(inode.i_mode)) {
		/* handle_truncate() -> do_truncate(): privileges go even when
		 * the file is already empty */
		bool killed = jfs_inode_kill_suid(fs, c, &inode);
		bool had_size = jfs_i_size(&inode) != 0;

		if (killed)
			__jfs_notify_inval(fs, ino);	/* an OPEN reply has no attributes */

		if (had_size) {
			ret = __jfs_truncate(fs, ino, &inode, 0);
			if (ret)
				goto out;
			jfs_inode_touch(&inode, JFS_T_MTIME | JFS_T_CTIME);
		} else if (killed) {
			jfs_inode_touch(&inode, JFS_T_CTIME);
		}
		if (had_size || killed) {
			ret = __jfs_write_inode(fs, ino, &inode);
			if (ret)
				goto out;
		}
	}
	__jfs_inode_open(fs, ino);
out:
	return jfs_op_end(fs, ret);
}

int jfs_release(struct jfs *fs, ino_t ino)
{
	int ret;

	if (!fs || fs->magic != JFS_MAGIC)
		return -EINVAL;
	ret = jfs_op_begin(fs, "release", fs->ro ? 0 : jfs_credits_data(fs) + 64 + 3);
	if (ret)
		return ret;
	return jfs_op_end(fs, __jfs_inode_close(fs, ino));
}

int jfs_fsync(struct jfs *fs, ino_t ino, bool datasync)
{
	int ret;

	/* ext4_sync_file: with a journal, the commit of the inode's last
	 * transaction (its ordered data is written before the commit block);
	 * without one, everything home */
	if (READ_ONCE(fs->journal))
		return jfs_journal_fsync(fs, ino, datasync);
	ret = jfs_op_begin(fs, "fsync", 0);
	if (ret)
		return ret;
	ret = fs->ro ? 0 : sync_blockdev(fs->bdev);
	return jfs_op_end(fs, ret);
}

/* ------------------------------------------------------------- fallocate */

/*
 * Allocate unwritten blocks for the hole [lblk, lblk + len).  Two 1.47.0
 * bugs decide the shape:
 *
 *  - when no extent lies below lblk, extent_fallocate takes the distance
 *    to the next extent as the length (149805bf): seed the first block
 *    ourselves so that the library always sees a left neighbour;
 *  - when the hole has an unwritten extent on both sides, ext_falloc_helper
 *    tries to merge them without checking that they are physically
 *    contiguous (459efa34, 1.47.3): if the right one lies physically before
 *    the left, it hands ext2fs_new_range a negative length, and libext2fs
 *    prints "Illegal block number passed to ext2fs_test_block_bitmap" from
 *    the bitmap search.  That merge never succeeds in 1.47.0, so nothing is
 *    lost by hiding the right neighbour: the library gets the hole minus
 *    its last block, which we map ourselves after it.
 */
static int falloc_hole(struct jfs *fs, const struct jfs_cred *c, ext2_ino_t ino,
		       struct ext2_inode_large *inode, blk64_t lblk, blk64_t len)
{
	bool left_uw = false, right_uw = false, tail = false;
	blk64_t pblk;
	errcode_t err;
	int ret;

	ret = can_allocate(fs, c, len + 4);
	if (ret)
		return ret;
	if (extent_root_entries(inode)) {
		ext2_extent_handle_t handle;
		struct ext2fs_extent ext;
		bool seed = false;

		err = ext2fs_extent_open2(fs->e2fs, ino, (struct ext2_inode *)inode, &handle);
		if (err)
			return __jfs_fail(fs, err);
		ext2fs_extent_goto(handle, lblk);
		err = ext2fs_extent_get(handle, EXT2_EXTENT_CURRENT, &ext);
		if (!err && ext.e_lblk > lblk)
			seed = true;
		ext2fs_extent_free(handle);
		if (seed) {
			ret = alloc_block(fs, ino, inode, lblk, 0, true, &pblk);
			if (ret)
				return ret;
			lblk++;
			len--;
		}
	}
	if (!len)
		return 0;
	if (lblk) {
		ret = map_block(fs, ino, inode, lblk - 1, &pblk, &left_uw);
		if (!ret && left_uw)
			ret = map_block(fs, ino, inode, lblk + len, &pblk, &right_uw);
		if (ret)
			return ret;
		if (left_uw && right_uw) {
			tail = true;
			len--;
		}
	}
	if (len) {
		err = ext2fs_fallocate(fs->e2fs, EXT2_FALLOCATE_FORCE_UNINIT, ino,
				       (struct ext2_inode *)inode, ~0ULL, lblk, len);
		if (err)
			return err == EXT2_ET_BLOCK_ALLOC_FAIL ? -ENOSPC : __jfs_fail(fs, err);
	}
	if (tail)
		return alloc_block(fs, ino, inode, lblk + len, 0, true, &pblk);
	return 0;
}

/* Unwritten blocks for every hole of [first, first + count), chunked. */
static int falloc_range(struct jfs *fs, const struct jfs_cred *c, ext2_ino_t ino,
			struct ext2_inode_large *inode, blk64_t first, blk64_t count)
{
	blk64_t end = first + count, lblk = first;
	int ret;

	while (lblk < end) {
		blk64_t cend = min_t(blk64_t, end, lblk + JFS_CHUNK_BLOCKS), b = lblk;

		while (b < cend) {
			blk64_t pblk, r;

			ret = map_block(fs, ino, inode, b, &pblk, NULL);
			if (ret)
				return ret;
			if (pblk) {
				b++;
				continue;
			}
			for (r = b + 1; r < cend; r++) {
				ret = map_block(fs, ino, inode, r, &pblk, NULL);
				if (ret)
					return ret;
				if (pblk)
					break;
			}
			ret = falloc_hole(fs, c, ino, inode, b, r - b);
			if (ret) {
				/* What was allocated before the failure (the
				 * seed block, the library's partial ranges) is
				 * mapped: i_blocks and the extent root of our
				 * copy must reach the disk with it (a failed
				 * write marks the fs itself). */
				__jfs_write_inode(fs, ino, inode);
				return ret;
			}
			b = r;
		}
		ret = __jfs_write_inode(fs, ino, inode);
		if (ret)
			return ret;
		lblk = cend;
		if (lblk < end) {
			/* ext4_alloc_file_blocks: recomputed at the depth now */
			ret = __jfs_op_restart(fs, chunk_credits(fs, inode));
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Zero the partial edges of [off, end) in the cache; whole blocks are left. */
static int zero_edges(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		      uint64_t off, uint64_t end)
{
	unsigned int bs = fs->blocksize;
	uint64_t first_full = DIV_ROUND_UP(off, bs) * bs, last_full = end / bs * bs;
	int ret;

	if (off / bs == (end - 1) / bs && (off % bs || end % bs))
		return zero_partial(fs, ino, inode, off, end - off);	/* within one block */
	if (off % bs) {
		ret = zero_partial(fs, ino, inode, off, first_full - off);
		if (ret)
			return ret;
	}
	if (end % bs)
		return zero_partial(fs, ino, inode, last_full, end - last_full);
	return 0;
}

int jfs_fallocate(struct jfs *fs, const struct jfs_cred *c, ino_t ino, int mode,
		  off_t off, off_t len)
{
	struct ext2_inode_large inode;
	unsigned int bs;
	uint64_t end, isize;
	int ret;

	switch (mode) {
	case 0:
	case FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((uint64_t)off + (uint64_t)len > (uint64_t)INT64_MAX)
		return -EFBIG;
	ret = jfs_op_begin(fs, "fallocate",
			   jfs_credits_meta_depth(fs, JFS_CHUNK_BLOCKS, JFS_CHUNK_BLOCKS,
						  credit_depth_unlocked(fs, (ext2_ino_t)ino)));
	if (ret)
		return ret;
	bs = fs->blocksize;
	fs->op_ino = ino;
	ret = __jfs_read_inode(fs, ino, &inode);
	if (ret)
		goto out;
	if (LINUX_S_ISDIR(inode.i_mode)) {
		ret = -EISDIR;
		goto out;
	}
	if (!LINUX_S_ISREG(inode.i_mode)) {
		ret = -ENODEV;
		goto out;
	}
	if (!inode_has_extents(&inode)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	end = off + len;
	isize = jfs_i_size(&inode);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > jfs_inode_maxbytes(fs, &inode)) {
		ret = -EFBIG;
		goto out;
	}

	if (mode & FALLOC_FL_PUNCH_HOLE) {
		/* ext4_punch_hole: nothing past EOF's page */
		if ((uint64_t)off >= isize)
			goto out;
		if (end > isize)
			end = (isize + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
		ret = zero_edges(fs, ino, &inode, off, end);
		if (ret)
			goto out;
		if (DIV_ROUND_UP(off, bs) < end / bs)
			ret = punch_range(fs, ino, &inode, DIV_ROUND_UP(off, bs), end / bs - 1);
		if (ret)
			goto out;
	} else if (mode & FALLOC_FL_ZERO_RANGE) {
		blk64_t ffirst = DIV_ROUND_UP(off, bs), fend = end / bs;

		ret = zero_edges(fs, ino, &inode, off, end);
		if (ret)
			goto out;
		if (ffirst < fend) {
			ret = punch_range(fs, ino, &inode, ffirst, fend - 1);
			if (!ret)
				ret = falloc_range(fs, c, ino, &inode, ffirst, fend - ffirst);
			if (ret)
				goto out;
		}
	} else {
		blk64_t first = off / bs, last = (end - 1) / bs;

		ret = falloc_range(fs, c, ino, &inode, first, last - first + 1);
		if (ret)
			goto out;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > jfs_i_size(&inode))
		__jfs_set_i_size(fs, &inode, end);
	/* ext4_fallocate and its punch/zero paths call file_modified(): the
	 * privileges go and the times change, whatever the mode */
	if (jfs_inode_kill_suid(fs, c, &inode))
		__jfs_notify_inval(fs, ino);
	jfs_inode_touch(&inode, JFS_T_MTIME | JFS_T_CTIME);
	ret = __jfs_write_inode(fs, ino, &inode);
out:
	return jfs_op_end(fs, ret);
}
