/* SPDX-License-Identifier: GPL-2.0 */
/*
 * replay.c - journal recovery of an ext4 image as a whole (the fs side of
 * ext4_load_journal() / e2fsck_run_ext3_journal()) and the log dump.
 *
 * Order, as the kernel's mount (peers.md traps 1, 5, 6):
 *   1. read the ext4 superblock raw and validate it with the mount's
 *      jfs_check_super() (super.c: superblock checksum, sizes, geometry;
 *      not the mount's feature policy), then what replay depends on:
 *      has_journal; refuse an external journal (journal_dev, or
 *      s_journal_uuid set with inode 0) and a journal device image;
 *   2. build the journal's logical -> physical block map ONCE.  The page
 *      cache does not exist yet, so libext2fs is opened read-only over
 *      unix_io_manager just for this -- the analogue of jbd2_journal_bmap()
 *      going through the fs's inode (ext4_get_journal_inode() +
 *      jbd2_journal_init_inode()); the group descriptors and the journal
 *      inode are checked first as the mount checks them
 *      (jfs_check_descriptors() with a ro mount's tolerance of a bad
 *      descriptor checksum, which e2fsck replays too; then
 *      ext2fs_check_desc(); jfs_check_journal_inode() without the inode
 *      checksum, which e2fsck ignores).  Where e2fsck would fall back to
 *      the backup superblock or descriptors (and then run a full check),
 *      this refuses.  Nothing is written, and the handle is closed before
 *      the page cache is built; the journal superblock is checked by
 *      jbd2_journal_init_recovery() before anything is written;
 *   3. build the page cache (blockdev_open, address_space_init at the fs
 *      block size) and run the core, jfs_journal_replay_bdev(): drive
 *      recovery from the needs_recovery flag (trap 6: a clear flag with a
 *      non-empty log is reported, not replayed), recover (the three
 *      passes of src/journal/recovery.c write home through the cache and
 *      sync the device before anything reads the fs), reset the journal
 *      superblock (s_start = 0, s_sequence = next tid, s_errno kept), then
 *      update the ext4 superblock -- re-read after replay, since the log
 *      may have carried it (trap 2) -- clearing needs_recovery, setting
 *      EXT2_ERROR_FS if the journal recorded an error or a commit was
 *      corrupt, and clearing EXT2_VALID_FS if recovery failed, as e2fsck
 *      does; superblock checksum recomputed; sync;
 *   4. tear down.
 * The core takes the block device and its page cache so that mount
 * (super.c) can call it before ext2fs_open2 (trap 5); with
 * JFS_REPLAY_KERNEL it leaves everything but the replayed blocks alone
 * when recovery fails, as the kernel's failed mount does.
 *
 * Locking rules: everything here runs single-threaded on a block device
 * and page cache that nobody else uses yet (offline, or mount before the
 * fs exists); no fs lock, no journal lock.  Buffers are locked around the
 * superblock updates, as the kernel does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include "fs_internal.h"	/* jfs_check_super() and friends (super.c) */

#define REPLAY_CACHE_LIMIT	(256UL << 20)	/* the mount default (cache_size=) */

static bool uuid_is_zero(const uint8_t *u)
{
	for (int i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

/* ------------------------------------------------------ step 1 and 2 */

struct journal_map {
	uint64_t *map;			/* journal block -> fs block */
	unsigned int nblocks;
	unsigned int blocksize;
	bool needs_recovery;		/* EXT3_FEATURE_INCOMPAT_RECOVER */
	bool metadata_csum;
};

/*
 * Raw superblock checks before libext2fs sees the image: the mount's
 * jfs_check_super() without the feature policy (e2fsck replays any
 * feature libext2fs knows), then what replay itself needs.  A bad
 * superblock checksum is refused: e2fsck -E journal_only refuses it too
 * when there is no backup superblock to fall back to, and with one it goes
 * on to a full check from the backup, which is not journal recovery.
 */
static int check_raw_super(const char *image, struct ext2_super_block *sb, char *errbuf,
			   size_t errlen)
{
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	int ret;

	if (fd < 0)
		return jfs_msg(errbuf, errlen, "cannot open: %s", strerror(errno)), -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return jfs_msg(errbuf, errlen, "cannot stat: %s", strerror(-ret)), ret;
	}
	n = pread(fd, sb, sizeof(*sb), SUPERBLOCK_OFFSET);
	close(fd);
	if (n != (ssize_t)sizeof(*sb))
		return jfs_msg(errbuf, errlen, "image too short for an ext4 superblock"), -EINVAL;
	/* a journal device has no fs geometry: say what it is first */
	if (sb->s_magic == EXT2_SUPER_MAGIC &&
	    (sb->s_feature_incompat & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV))
		return jfs_msg(errbuf, errlen,
			   "this is an external journal device, not a filesystem; not supported"),
		       -EOPNOTSUPP;
	ret = jfs_check_super(sb, (uint64_t)st.st_size, JFS_CHECK_NO_FEATURES, errbuf, errlen);
	if (ret)
		return ret;
	if (!(sb->s_feature_compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL)) {
		if (sb->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER)
			return jfs_msg(errbuf, errlen,
				   "needs_recovery is set but the filesystem has no journal"), -EUCLEAN;
		return jfs_msg(errbuf, errlen, "the filesystem has no journal"), -ENOENT;
	}
	if (!sb->s_journal_inum && (!uuid_is_zero(sb->s_journal_uuid) || sb->s_journal_dev))
		return jfs_msg(errbuf, errlen, "external journal not supported"), -EOPNOTSUPP;
	return 0;
}

struct map_walk {
	uint64_t *map;
	unsigned int nblocks;
	blk64_t fs_blocks;
	bool bad;
};

static int map_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_block, int ref_offset, void *priv)
{
	struct map_walk *w = priv;

	if (blockcnt < 0 || (uint64_t)blockcnt >= w->nblocks)
		return 0;
	if (*blocknr == 0 || *blocknr >= w->fs_blocks) {
		w->bad = true;
		return BLOCK_ABORT;
	}
	w->map[blockcnt] = *blocknr;
	return 0;
}

/*
 * journal_blockmap - steps 1 and 2: validate the superblock and map the
 * journal inode (ext4_get_journal_inode() checks, e2fsck_get_journal()'s
 * sanity checks).  libext2fs is opened read-only with unix_io_manager:
 * the page cache does not exist yet.
 */
static int journal_blockmap(const char *image, struct journal_map *jm, char *errbuf,
			    size_t errlen)
{
	struct ext2_super_block raw;
	struct ext2_inode_large inode;
	struct map_walk w = { 0 };
	ext2_filsys fs = NULL;
	errcode_t err;
	uint64_t size;
	int ret;

	memset(jm, 0, sizeof(*jm));
	ret = check_raw_super(image, &raw, errbuf, errlen);
	if (ret)
		return ret;
	jm->blocksize = 1024U << raw.s_log_block_size;
	jm->needs_recovery = raw.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER;
	jm->metadata_csum = raw.s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;

	err = ext2fs_open2(image, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			   unix_io_manager, &fs);
	if (err)
		return jfs_msg(errbuf, errlen, "libext2fs cannot open it: %s", error_message(err)),
		       -EUCLEAN;
	/*
	 * The descriptors as the mount checks them (ext4_check_descriptors()
	 * with a ro mount's tolerance of bad checksums: e2fsck replays
	 * them too, and fixes them afterwards), then libext2fs' own check.
	 * e2fsck, when a check fails, retries with the backup descriptors and
	 * goes on to a full check: here that is a refusal.
	 */
	ret = jfs_check_descriptors(fs, true, errbuf, errlen);
	if (ret && ret != -EFSBADCRC) {
		size_t n = strlen(errbuf);

		snprintf(errbuf + n, errlen - n, "; group descriptors corrupted!");
		ret = -EUCLEAN;
		goto out;
	}
	err = ext2fs_check_desc(fs);
	if (err) {
		ret = -EUCLEAN;
		jfs_msg(errbuf, errlen, "corrupted group descriptors: %s", error_message(err));
		goto out;
	}
	/* ext4_get_journal_inode(); e2fsck ignores the inode checksum */
	ret = jfs_check_journal_inode(fs, raw.s_journal_inum, false, &inode, errbuf, errlen);
	if (ret) {
		ret = -EUCLEAN;
		goto out;
	}
	size = EXT2_I_SIZE(&inode);
	w.nblocks = (unsigned int)(size / jm->blocksize);
	w.fs_blocks = ext2fs_blocks_count(fs->super);
	w.map = calloc(w.nblocks, sizeof(*w.map));
	if (!w.map) {
		ret = -ENOMEM;
		jfs_msg(errbuf, errlen, "out of memory");
		goto out;
	}
	err = ext2fs_block_iterate3(fs, raw.s_journal_inum, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				    NULL, map_block, &w);
	if (err || w.bad) {
		ret = -EUCLEAN;
		jfs_msg(errbuf, errlen, "cannot map the journal inode %u: %s", raw.s_journal_inum,
		    err ? error_message(err) : "block out of range");
		goto out;
	}
	for (unsigned int i = 0; i < w.nblocks; i++) {
		if (!w.map[i]) {
			ret = -EUCLEAN;
			jfs_msg(errbuf, errlen, "journal inode %u has a hole at block %u", raw.s_journal_inum, i);
			goto out;
		}
	}
	jm->map = w.map;
	jm->nblocks = w.nblocks;
	w.map = NULL;
	ret = 0;
out:
	free(w.map);
	ext2fs_close2(fs, 0);	/* opened read-only: writes nothing */
	return ret;
}

/* --------------------------------------------------------------- step 3 */

/* ext4_superblock_csum(): crc32c(~0, bytes 0..1019), little-endian at 1020. */
static void ext4_super_csum_set(struct ext2_super_block *es)
{
	es->s_checksum = ext2fs_cpu_to_le32(crc32c(~0U, es, offsetof(struct ext2_super_block,
								       s_checksum)));
}

/*
 * update_ext4_super - ext4_mark_recovery_complete() + the error marks of
 * ext4_clear_journal_err() / e2fsck_clear_recover(), through the page
 * cache: the superblock is re-read after replay.
 */
static int update_ext4_super(struct block_device *bdev, unsigned int blocksize,
			     bool mark_errors, bool recovery_failed)
{
	sector_t block = SUPERBLOCK_OFFSET / blocksize;
	size_t off = SUPERBLOCK_OFFSET % blocksize;
	struct ext2_super_block *es;
	struct buffer_head *bh;
	int err;

	bh = __bread(bdev, block, blocksize);
	if (!bh)
		return -EIO;
	lock_buffer(bh);
	es = (struct ext2_super_block *)(bh->b_data + off);
	es->s_feature_incompat &= ~EXT3_FEATURE_INCOMPAT_RECOVER;
	if (mark_errors)
		es->s_state |= EXT2_ERROR_FS;
	if (recovery_failed)
		es->s_state &= ~EXT2_VALID_FS;	/* a full fsck is needed */
	if (es->s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		ext4_super_csum_set(es);
	unlock_buffer(bh);
	mark_buffer_dirty(bh);
	err = sync_dirty_buffer(bh);
	brelse(bh);
	return err;
}

static bool read_needs_recovery(struct block_device *bdev, unsigned int blocksize, int *err)
{
	struct buffer_head *bh = __bread(bdev, SUPERBLOCK_OFFSET / blocksize, blocksize);
	const struct ext2_super_block *es;
	bool rec;

	*err = 0;
	if (!bh) {
		*err = -EIO;
		return false;
	}
	es = (const void *)(bh->b_data + SUPERBLOCK_OFFSET % blocksize);
	rec = es->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER;
	brelse(bh);
	return rec;
}

/*
 * jfs_journal_replay_bdev - the core (see the top of the file).
 * Entry: bdev->bd_mapping == mapping, built at the fs block size; nothing
 * else uses them; nothing of the fs has been read through them.
 * Exit: 0 replayed (or an empty log reset), JFS_REPLAY_NOTHING nothing to
 * do, or -errno with a reason in errbuf; everything written is synced.
 */
int jfs_journal_replay_bdev(struct block_device *bdev, struct address_space *mapping,
			    const uint64_t *blockmap, unsigned int nblocks, unsigned int blocksize,
			    unsigned int flags, struct jfs_replay_report *rep,
			    char *errbuf, size_t errlen)
{
	struct jbd2_recovery_info info;
	journal_t *j;
	bool mark_errors, reset;
	int err, rerr;

	BUG_ON(bdev->bd_mapping != mapping);
	BUG_ON((1U << mapping->blkbits) != blocksize);
	memset(rep, 0, sizeof(*rep));
	jfs_msg(errbuf, errlen, "%s", "");

	j = jbd2_journal_init_recovery(bdev, blockmap, nblocks, blocksize, &err, errbuf, errlen);
	if (!j)
		return err;
	if (flags & JFS_REPLAY_PAGECACHE)
		j->j_recover_direct = false;
	rep->needs_recovery = read_needs_recovery(bdev, blocksize, &err);
	if (err) {
		jfs_msg(errbuf, errlen, "cannot read the superblock");
		goto out;
	}
	rep->log_start = j->j_tail;
	rep->journal_errno = j->j_errno;
	if (!rep->needs_recovery) {
		if (j->j_tail)
			jfs_msg(errbuf, errlen,
			    "needs_recovery flag is clear but the journal has data (s_start %lu, tid %u): not replayed",
			    j->j_tail, j->j_tail_sequence);
		else
			jfs_msg(errbuf, errlen, "journal is clean; nothing to do");
		err = JFS_REPLAY_NOTHING;
		goto out;
	}

	rep->recovered = true;
	rerr = jbd2_journal_recover_info(j, &info);
	rep->start_tid = info.start_transaction;
	rep->end_tid = info.end_transaction;
	rep->nr_replays = info.nr_replays;
	rep->nr_revokes = info.nr_revokes;
	rep->nr_revoke_hits = info.nr_revoke_hits;
	rep->failed_commit = j->j_failed_commit;
	rep->next_tid = j->j_transaction_sequence;
	rep->recover_err = rerr;
	if (rerr == -EOPNOTSUPP) {
		/* recovery stopped before PASS_REVOKE: nothing was written */
		jfs_msg(errbuf, errlen,
		    "journal needs a fast-commit replay (transaction %u); not supported: run e2fsck -E journal_only",
		    info.end_transaction);
		err = rerr;
		goto out;
	}
	/* e2fsck resets the log after a failed recovery too; the kernel's
	 * mount fails and leaves it.  I/O errors of the device and memory
	 * errors: never reset (an -EIO that is the log's own inconsistency,
	 * info.bad_log, is a failed recovery like any other). */
	reset = !rerr || (!(flags & JFS_REPLAY_KERNEL) &&
			  ((rerr != -EIO && rerr != -ENOMEM) || info.bad_log));
	if (!reset) {
		jfs_msg(errbuf, errlen, "recovery failed: %s", strerror(-rerr));
		err = rerr;
		goto out;
	}
	err = jbd2_journal_reset_after_recovery(j);
	if (err) {
		jfs_msg(errbuf, errlen, "cannot write the journal superblock: %s", strerror(-err));
		goto out;
	}
	/* e2fsck's recover_ext3_journal(): a corrupt commit marks the fs
	 * only when recovery itself succeeded (a failed one clears VALID) */
	mark_errors = j->j_errno != 0 || (!rerr && j->j_failed_commit != 0);
	err = update_ext4_super(bdev, blocksize, mark_errors, rerr != 0);
	if (!err)
		err = sync_blockdev(bdev);
	if (err) {
		jfs_msg(errbuf, errlen, "cannot write the superblock: %s", strerror(-err));
		goto out;
	}
	rep->replayed = true;
	if (rerr) {
		const char *why = rerr == -EFSBADCRC ? "journal checksum error" : strerror(-rerr);

		if (!info.nr_replays)
			jfs_msg(errbuf, errlen,
			    "recovery failed (%s) at transaction %u; nothing replayed; journal reset, filesystem marked for fsck",
			    why, info.end_transaction);
		else
			jfs_msg(errbuf, errlen,
			    "recovery of transactions %u..%u ended with an error (%s), %d blocks replayed; journal reset, filesystem marked for fsck",
			    info.start_transaction, info.end_transaction - 1, why, info.nr_replays);
		err = rerr;
	} else if (info.end_transaction == info.start_transaction) {
		jfs_msg(errbuf, errlen, "no complete transaction in the log (next tid %u); journal reset",
		    j->j_transaction_sequence);
	} else {
		jfs_msg(errbuf, errlen, "replayed transactions %u..%u (%d blocks, %d revoked)",
		    info.start_transaction, info.end_transaction - 1, info.nr_replays,
		    info.nr_revoke_hits);
	}
	if (!rerr && j->j_failed_commit) {
		size_t n = strlen(errbuf);

		snprintf(errbuf + n, errlen - n,
			 "; journal transaction %u was corrupt, replay was aborted", j->j_failed_commit);
	}
out:
	jbd2_journal_free_recovery(j);
	return err;
}

/* ------------------------------------------------------- image entries */

struct image_cache {
	struct block_device *bdev;
	struct address_space mapping;
	bool mapping_up;
};

static int image_cache_open(const char *image, bool ro, unsigned int blocksize,
			    struct image_cache *c, char *errbuf, size_t errlen)
{
	struct blockdev_opts o = { .read_only = ro };
	unsigned int blkbits = (unsigned int)__builtin_ctz(blocksize);
	unsigned int order = blkbits > PAGE_SHIFT ? blkbits - PAGE_SHIFT : 0;
	int err;

	memset(c, 0, sizeof(*c));
	err = blockdev_open(image, &o, &c->bdev);
	if (err)
		return jfs_msg(errbuf, errlen, "cannot open: %s", strerror(-err)), err;
	err = address_space_init(&c->mapping, c->bdev, c->bdev->size, blkbits, order,
				 REPLAY_CACHE_LIMIT);
	if (err) {
		blockdev_close(c->bdev);
		return jfs_msg(errbuf, errlen, "cannot build the page cache: %s", strerror(-err)), err;
	}
	c->bdev->bd_mapping = &c->mapping;
	c->mapping_up = true;
	return 0;
}

static void image_cache_close(struct image_cache *c)
{
	if (c->mapping_up) {
		invalidate_bh_lrus();
		address_space_destroy(&c->mapping);
	}
	if (c->bdev)
		blockdev_close(c->bdev);
}

static int release_orphans(const char *image, char *errbuf, size_t errlen);

int jfs_replay_report(const char *image, unsigned int flags, struct jfs_replay_report *rep,
		      char *errbuf, size_t errlen)
{
	struct journal_map jm;
	struct image_cache c;
	int err;

	memset(rep, 0, sizeof(*rep));
	err = journal_blockmap(image, &jm, errbuf, errlen);
	if (err)
		return err;
	err = image_cache_open(image, false, jm.blocksize, &c, errbuf, errlen);
	if (!err) {
		err = jfs_journal_replay_bdev(c.bdev, &c.mapping, jm.map, jm.nblocks, jm.blocksize,
					      flags, rep, errbuf, errlen);
		image_cache_close(&c);
	}
	free(jm.map);
	if (err >= 0 && !(flags & (JFS_REPLAY_NO_ORPHANS | JFS_REPLAY_KERNEL))) {
		char msg[256];
		int oerr = release_orphans(image, msg, sizeof(msg));

		if (oerr) {
			snprintf(errbuf, errlen, "replayed, but releasing the orphan list failed: %s",
				 msg[0] ? msg : strerror(-oerr));
			return oerr;
		}
	}
	return err;
}

/*
 * After the replay, e2fsck -E journal_only goes on to release the orphan
 * list (release_orphan_inodes(): an unlinked-but-open file at the crash, or
 * an interrupted truncate) before it calls the filesystem clean; the kernel
 * does the same at mount (ext4_orphan_cleanup()).  Do it the same way: mount
 * with the journal left alone (it is empty now) so the orphan cleanup of
 * jfs_mount() writes in place, as e2fsck does, and unmount.
 */
static int release_orphans(const char *image, char *errbuf, size_t errlen)
{
	struct ext2_super_block sb;
	struct jfs_mount_opts o = { .journal_inplace = true, .cache_size = REPLAY_CACHE_LIMIT };
	struct jfs *fs;
	int fd, err;

	fd = open(image, O_RDONLY);
	if (fd < 0)
		return -errno;
	err = pread(fd, &sb, sizeof(sb), 1024) == (ssize_t)sizeof(sb) ? 0 : -EIO;
	close(fd);
	if (err || !sb.s_last_orphan || (sb.s_state & EXT2_ERROR_FS))
		return err;
	err = jfs_mount(image, &o, &fs, errbuf, errlen);
	if (err)
		return err;
	return jfs_unmount(fs);
}

int jfs_replay(const char *image, unsigned int flags, char *errbuf, size_t errlen)
{
	struct jfs_replay_report rep;

	return jfs_replay_report(image, flags, &rep, errbuf, errlen);
}

/* ---------------------------------------------------------------- logdump */

static const char *block_type_name(unsigned int type)
{
	switch (type) {
	case JBD2_DESCRIPTOR_BLOCK: return "descriptor block";
	case JBD2_COMMIT_BLOCK: return "commit block";
	case JBD2_SUPERBLOCK_V1: return "V1 superblock";
	case JBD2_SUPERBLOCK_V2: return "V2 superblock";
	case JBD2_REVOKE_BLOCK: return "revoke table";
	case JBD2_FC_BLOCK: return "fast-commit block";
	}
	return "unrecognised type";
}

static void dump_superblock(FILE *out, journal_t *j)
{
	journal_superblock_t *sb = j->j_superblock;
	uint32_t incompat = ntohl(sb->s_feature_incompat);
	static const char *const names[] = { "revoke", "64bit", "async_commit", "csum_v2", "csum_v3",
					     "fast_commit" };

	fprintf(out, "Journal superblock: v%d, block size %u, %u blocks, log [%lu, %lu)",
		j->j_format_version, ntohl(sb->s_blocksize), ntohl(sb->s_maxlen), j->j_first,
		j->j_last);
	if (jbd2_has_feature_fast_commit(j))
		fprintf(out, ", fast-commit area [%lu, %lu]", j->j_fc_first, j->j_fc_last);
	fprintf(out, "\n  sequence %u, start %u, errno %d\n  features: compat 0x%x%s, incompat 0x%x",
		ntohl(sb->s_sequence), ntohl(sb->s_start), (int32_t)ntohl((uint32_t)sb->s_errno),
		ntohl(sb->s_feature_compat), jbd2_has_feature_checksum(j) ? " (checksum v1)" : "",
		incompat);
	for (unsigned int i = 0, first = 1; i < ARRAY_SIZE(names); i++)
		if (incompat & (1U << i)) {
			fprintf(out, "%s%s", first ? " (" : ",", names[i]);
			first = 0;
			if (!(incompat & ~((2U << i) - 1)))
				fprintf(out, ")");
		}
	fprintf(out, ", ro_compat 0x%x\n", ntohl(sb->s_feature_ro_compat));
	if (jbd2_journal_has_csum_v2or3(j))
		fprintf(out, "  checksum type %u, superblock checksum 0x%08x\n", sb->s_checksum_type,
			ntohl(sb->s_checksum));
	fprintf(out, "  tag size %zu bytes\n", journal_tag_bytes(j));
}

/* jfs_logdump walker: debugfs's logdump over our reader. */
static void dump_log(FILE *out, journal_t *j, uint64_t dev_blocks)
{
	journal_superblock_t *sb = j->j_superblock;
	unsigned long block = ntohl(sb->s_start), walked = 0;
	tid_t tid = ntohl(sb->s_sequence);
	size_t tag_bytes = journal_tag_bytes(j);
	size_t tail = jbd2_journal_has_csum_v2or3(j) ? sizeof(struct jbd2_journal_block_tail) : 0;

	if (!block) {
		fprintf(out, "Journal is clean (s_start = 0); next transaction %u\n", tid);
		return;
	}
	fprintf(out, "Journal starts at block %lu, transaction %u\n", block, tid);
	for (;;) {
		struct buffer_head *bh;
		const journal_header_t *h;
		unsigned int type;
		tid_t seq;

		if (walked++ > j->j_last - j->j_first) {
			fprintf(out, "Walked the whole log: stopping\n");
			return;
		}
		if (block >= j->j_total_len || j->j_blockmap[block] >= dev_blocks ||
		    !(bh = __bread(j->j_dev, j->j_blockmap[block], j->j_blocksize))) {
			fprintf(out, "Cannot read log block %lu: end of journal\n", block);
			return;
		}
		h = (const void *)bh->b_data;
		if (ntohl(h->h_magic) != JBD2_MAGIC_NUMBER) {
			fprintf(out, "No magic number at block %lu: end of journal.\n", block);
			brelse(bh);
			return;
		}
		type = ntohl(h->h_blocktype);
		seq = ntohl(h->h_sequence);
		if (seq != tid) {
			fprintf(out, "Found sequence %u (not %u) at block %lu: end of journal.\n", seq,
				tid, block);
			brelse(bh);
			return;
		}
		fprintf(out, "Found expected sequence %u, type %u (%s) at block %lu\n", seq, type,
			block_type_name(type), block);
		if (type == JBD2_DESCRIPTOR_BLOCK) {
			size_t off = sizeof(journal_header_t);
			unsigned long lb = block;

			if (tail && !jbd2_descriptor_block_csum_verify(j, bh->b_data))
				fprintf(out, "  descriptor checksum does NOT match\n");
			while (off + tag_bytes <= (size_t)j->j_blocksize - tail) {
				const char *tagp = bh->b_data + off;
				unsigned int flags = jbd2_tag_flags(tagp);
				struct buffer_head *obh;
				const char *cs = "";

				lb = lb + 1 >= j->j_last ? j->j_first : lb + 1;
				if (tail && lb < j->j_total_len && j->j_blockmap[lb] < dev_blocks &&
				    (obh = __bread(j->j_dev, j->j_blockmap[lb], j->j_blocksize))) {
					cs = jbd2_block_tag_csum_verify(j, tagp, obh->b_data, seq) ?
					     ", csum ok" : ", csum BAD";
					brelse(obh);
				}
				fprintf(out, "  FS block %llu logged at journal block %lu (flags 0x%x%s%s%s)%s\n",
					jbd2_tag_blocknr(j, tagp), lb, flags,
					flags & JBD2_FLAG_ESCAPE ? " escape" : "",
					flags & JBD2_FLAG_SAME_UUID ? " same_uuid" : "",
					flags & JBD2_FLAG_LAST_TAG ? " last" : "", cs);
				off += tag_bytes;
				if (!(flags & JBD2_FLAG_SAME_UUID))
					off += UUID_SIZE;
				walked++;
				if (flags & JBD2_FLAG_LAST_TAG)
					break;
			}
			block = lb;
		} else if (type == JBD2_REVOKE_BLOCK) {
			const jbd2_journal_revoke_header_t *rh = (const void *)bh->b_data;
			uint32_t rcount = ntohl(rh->r_count);
			size_t rl = jbd2_has_feature_64bit(j) ? 8 : 4;

			fprintf(out, "  r_count %u%s\n", rcount,
				tail && !jbd2_descriptor_block_csum_verify(j, bh->b_data) ?
				", revoke checksum does NOT match" : "");
			if (rcount > j->j_blocksize - tail) {
				fprintf(out, "  r_count beyond the block: records not shown\n");
				rcount = 0;
			}
			for (size_t off = sizeof(*rh); off + rl <= rcount; off += rl) {
				uint32_t w[2];
				unsigned long long b;

				memcpy(w, bh->b_data + off, rl);
				b = ntohl(w[0]);
				if (rl == 8)
					b = b << 32 | ntohl(w[1]);
				fprintf(out, "  Revoke FS block %llu\n", b);
			}
		} else if (type == JBD2_COMMIT_BLOCK) {
			const struct commit_header *c = (const void *)bh->b_data;
			uint64_t sec = be64toh(c->h_commit_sec);
			time_t t = (time_t)sec;
			char when[64];
			struct tm tm;

			if (sec > (1ULL << 40) || !gmtime_r(&t, &tm) ||
			    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
				snprintf(when, sizeof(when), "%llu s", (unsigned long long)sec);
			fprintf(out, "  commit of transaction %u at %s.%09u UTC%s\n", seq, when,
				ntohl(c->h_commit_nsec),
				tail && !jbd2_commit_block_csum_verify(j, bh->b_data) ?
				", commit checksum does NOT match" : "");
			tid++;
			walked = 0;
		} else {
			fprintf(out, "Unexpected block type %u at block %lu: end of journal.\n", type, block);
			brelse(bh);
			return;
		}
		brelse(bh);
		block = block + 1 >= j->j_last ? j->j_first : block + 1;
	}
}

int jfs_logdump(const char *image, FILE *out, char *errbuf, size_t errlen)
{
	struct journal_map jm;
	struct image_cache c;
	journal_t *j;
	int err;

	err = journal_blockmap(image, &jm, errbuf, errlen);
	if (err)
		return err;
	err = image_cache_open(image, true, jm.blocksize, &c, errbuf, errlen);
	if (err)
		goto out;
	fprintf(out, "Journal inode: %u blocks of %u bytes%s\n", jm.nblocks, jm.blocksize,
		jm.needs_recovery ? ", needs_recovery set" : "");
	j = jbd2_journal_init_recovery(c.bdev, jm.map, jm.nblocks, jm.blocksize, &err, errbuf,
				       errlen);
	if (j) {
		dump_superblock(out, j);
		dump_log(out, j, c.bdev->size / jm.blocksize);
		jbd2_journal_free_recovery(j);
	}
	image_cache_close(&c);
out:
	free(jm.map);
	return err;
}
