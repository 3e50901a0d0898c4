/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io_manager.c - "jbdlab", the only io_manager: every block libext2fs reads
 * or writes goes through the simulated bdev page cache (include/mm.h).
 *
 * libext2fs copies: it reads a block into a private buffer, changes it and
 * writes the whole block back (libext2fs.md §0 rule 1).  This manager turns
 * each request into a byte range [block * ch->block_size, + length) --
 * count > 0 is that many channel blocks, count < 0 is -count bytes -- and
 * splits it per fs block (the buffer size of the bdev mapping, which is the
 * fs block size from the first byte on: super.c reads the block size from
 * the raw superblock before it builds the mapping).  So the 1 KiB superblock
 * read that ext2fs_open2 does with set_blksize(1024) is simply bytes
 * 1024..2047 of fs block 0 (or fs block 1 at 1 KiB).
 *
 *   read:  __bread() and copy out (uncommitted contents included, as the
 *          kernel's page cache returns them);
 *   write: bdev_getblk(), bh_read() first if the write covers part of the
 *          block and the buffer is not uptodate, copy in under the buffer
 *          lock, set uptodate, mark_buffer_dirty(), brelse().
 *
 * Inside an op's jbd2 handle a write is journaled instead
 * (__jfs_journal_write_meta, journal.c): get_write_access (create access
 * for a block allocated in this op) before the copy, dirty_metadata after
 * it -- write-ahead logging; the writeback thread never sees these buffers
 * dirty.  The mark_buffer_dirty() path remains for the mount/unmount
 * phases and for images without a journal.
 *
 * Phases.  A write is legal only inside an operation (jfs_op_begin ..
 * jfs_op_end) or during the mount/unmount phase (fs->mount_phase); anything
 * else is a BUG: it catches stray ext2fs_flush2/close2 calls (§1.8).
 * Credits: each op counts the distinct fs blocks libext2fs dirties in it
 * (one credit the first time, as jbd2_journal_dirty_metadata charges) and
 * warns when an op exceeds its declared credits -- once per op name and
 * process, so that one noisy op cannot hide another's overrun (every
 * overrun is counted in fs->credit_overruns, jfs_stats) -- which keeps the
 * credit formulas honest before the journal enforces them.  File data never passes
 * through here (file.c writes the bdev cache itself, Mode O of §3.2).
 *
 * flush writes nothing home (§1.8: flush is called from inside operations);
 * get_stats reports 0 bytes so that ext2fs_close2 would not rewrite the
 * superblock (we never call it: super.c uses ext2fs_free).  The channel does
 * not set CHANNEL_FLAGS_THREADS: callbacks run with the fs lock held.
 *
 * Locking rules: every callback runs in the caller's thread with the fs lock
 * held (super.c holds it around ext2fs_open2 and ext2fs_free, op.c around
 * every operation), and may take page-cache locks below it (folio lock,
 * buffer lock, i_private_lock).  The channel finds its struct jfs through
 * the thread-local current_jfs at open and keeps it in private_data.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "fs_internal.h"

__thread struct jfs *current_jfs;

static struct jfs *channel_jfs(io_channel ch)
{
	struct jfs *fs = ch->private_data;

	BUG_ON(!fs || fs->magic != JFS_MAGIC);
	return fs;
}

static errcode_t jfs_io_open(const char *name, int flags, io_channel *channel)
{
	struct jfs *fs = current_jfs;
	io_channel ch;

	if (!fs || fs->magic != JFS_MAGIC)
		return EXT2_ET_BAD_DEVICE_NAME;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return EXT2_ET_NO_MEMORY;
	ch->name = strdup(name ? name : "");
	if (!ch->name) {
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = jfs_io_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->flags = 0;
	ch->private_data = fs;
	*channel = ch;
	return 0;
}

static errcode_t jfs_io_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t jfs_io_set_blksize(io_channel ch, int blksize)
{
	/* Nothing is cached per channel block size: the cache is per fs block. */
	ch->block_size = blksize;
	return 0;
}

static errcode_t request_bytes(io_channel ch, unsigned long long block, int count,
			       uint64_t *pos, uint64_t *len)
{
	if (count < 0) {
		*len = (uint64_t)(-(int64_t)count);
	} else {
		*len = (uint64_t)count * ch->block_size;
	}
	*pos = block * (uint64_t)ch->block_size;
	return 0;
}

/*
 * Op names whose credit overrun was already reported (at most once per
 * distinct name per process, as a WARN_ONCE per call site would be).  Names
 * are the string literals given to jfs_op_begin; compared by content.
 * Process-wide because several filesystems may be mounted at once.
 */
#define JFS_OVERRUN_NAMES	64
static struct {
	pthread_mutex_t lock;
	const char *names[JFS_OVERRUN_NAMES];	/* [lock] */
	unsigned int nr;			/* [lock] */
} overrun_warned = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* true the first time `name` overruns in this process. */
static bool overrun_first_for(const char *name)
{
	bool first = true;
	unsigned int i;

	pthread_mutex_lock(&overrun_warned.lock);
	for (i = 0; i < overrun_warned.nr; i++) {
		if (!strcmp(overrun_warned.names[i], name)) {
			first = false;
			break;
		}
	}
	if (first && overrun_warned.nr < JFS_OVERRUN_NAMES)
		overrun_warned.names[overrun_warned.nr++] = name;
	pthread_mutex_unlock(&overrun_warned.lock);
	return first;
}

/* Charge one credit the first time this op dirties `blk` (b_modified). */
static void note_dirty(struct jfs *fs, blk64_t blk)
{
	unsigned int i;

	fs->meta_blocks_written++;
	if (!fs->in_op)
		return;
	for (i = 0; i < fs->op_nblocks; i++)
		if (fs->op_blocks[i] == blk)
			return;
	if (fs->op_nblocks == fs->op_blocks_cap) {
		unsigned int cap = fs->op_blocks_cap ? fs->op_blocks_cap * 2 : 64;
		blk64_t *n = realloc(fs->op_blocks, cap * sizeof(*n));

		if (!n)
			return;		/* accounting only; never fail the write */
		fs->op_blocks = n;
		fs->op_blocks_cap = cap;
	}
	fs->op_blocks[fs->op_nblocks++] = blk;
	if (fs->op_credits > 0 && (int)fs->op_nblocks == fs->op_credits + 1) {
		const char *name = fs->op_name ? fs->op_name : "?";

		fs->credit_overruns++;
		if (overrun_first_for(name))
			jbd_warn(__FILE__, __LINE__,
				 "op %s dirtied more than its %d declared credits (block %llu)",
				 name, fs->op_credits, (unsigned long long)blk);
	}
}

static errcode_t jfs_io_rw(io_channel ch, uint64_t pos, uint64_t len, void *data, bool write)
{
	struct jfs *fs = channel_jfs(ch);
	unsigned int bs = fs->blocksize;
	char *buf = data;

	lockdep_assert_held(&fs->fs_lock);
	if (write) {
		BUG_ON(!fs->in_op && !fs->mount_phase);
		/* with a journal, an op's writes are journaled: a write in an op
		 * without a handle is a missed credit declaration */
		BUG_ON(fs->journal && fs->in_op && !fs->handle && !fs->mount_phase);
	}
	if (pos + len > fs->bdev->size)
		return EXT2_ET_SHORT_READ;

	while (len) {
		sector_t blk = pos / bs;
		size_t off = pos % bs;
		size_t n = min_t(uint64_t, bs - off, len);
		struct buffer_head *bh;

		if (!write) {
			bh = __bread(fs->bdev, blk, bs);
			if (!bh)
				return EIO;
			memcpy(buf, bh->b_data + off, n);
			mm_check_access(bh, bh->b_data + off, n, false);
			brelse(bh);
		} else if (fs->handle) {
			int err = __jfs_journal_write_meta(fs, blk, off, buf, n);

			if (err)
				return err == -EIO ? EIO : (errcode_t)-err;
			note_dirty(fs, blk);
		} else {
			bh = bdev_getblk(fs->bdev, blk, bs);
			if (n < bs && !buffer_uptodate(bh) && bh_read(bh)) {
				brelse(bh);
				return EIO;
			}
			lock_buffer(bh);
			memcpy(bh->b_data + off, buf, n);
			set_buffer_uptodate(bh);
			unlock_buffer(bh);
			mark_buffer_dirty(bh);
			brelse(bh);
			note_dirty(fs, blk);
		}
		pos += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static errcode_t jfs_io_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
	uint64_t pos, len;

	request_bytes(ch, block, count, &pos, &len);
	return jfs_io_rw(ch, pos, len, data, false);
}

static errcode_t jfs_io_write_blk64(io_channel ch, unsigned long long block, int count,
				    const void *data)
{
	uint64_t pos, len;

	request_bytes(ch, block, count, &pos, &len);
	return jfs_io_rw(ch, pos, len, (void *)data, true);
}

static errcode_t jfs_io_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
	return jfs_io_read_blk64(ch, block, count, data);
}

static errcode_t jfs_io_write_blk(io_channel ch, unsigned long block, int count,
				  const void *data)
{
	return jfs_io_write_blk64(ch, block, count, data);
}

static errcode_t jfs_io_write_byte(io_channel ch, unsigned long offset, int size,
				   const void *data)
{
	if (size < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return jfs_io_rw(ch, offset, size, (void *)data, true);
}

/* Writes nothing home: flush runs inside operations (§1.8). */
static errcode_t jfs_io_flush(io_channel ch)
{
	return 0;
}

static errcode_t jfs_io_set_option(io_channel ch, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t jfs_io_get_stats(io_channel ch, io_stats *stats)
{
	static struct struct_io_stats zero = { .num_fields = 2 };

	if (stats)
		*stats = &zero;
	return 0;
}

static struct struct_io_manager jfs_io_manager_struct = {
	.magic		= EXT2_ET_MAGIC_IO_MANAGER,
	.name		= "jbdlab",
	.open		= jfs_io_open,
	.close		= jfs_io_close,
	.set_blksize	= jfs_io_set_blksize,
	.read_blk	= jfs_io_read_blk,
	.write_blk	= jfs_io_write_blk,
	.flush		= jfs_io_flush,
	.write_byte	= jfs_io_write_byte,
	.set_option	= jfs_io_set_option,
	.get_stats	= jfs_io_get_stats,
	.read_blk64	= jfs_io_read_blk64,
	.write_blk64	= jfs_io_write_blk64,
};

io_manager jfs_io_manager = &jfs_io_manager_struct;
