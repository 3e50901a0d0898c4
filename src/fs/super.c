/* SPDX-License-Identifier: GPL-2.0 */
/*
 * super.c - mount and unmount (ext4_fill_super / ext4_put_super).
 *
 * Mount validates before it trusts, in the order of __ext4_fill_super, and
 * all of it before the journal is touched: the superblock is read raw from
 * the device (blk_rw_sync at byte 1024) and checked by jfs_check_super() --
 * magic, checksum type and superblock checksum (a bad one refuses ro and
 * rw mounts, as the kernel's "VFS: Found ext4 filesystem with invalid
 * superblock checksum"), block and inode sizes, feature bits, group and
 * cluster geometry, the size the image must have -- before libext2fs sees
 * it, because ext2fs_open2 accepts features we cannot maintain
 * (libext2fs.md §3.6 step 2) and gives generic messages.  Then the bdev
 * page cache is built at the fs block size and, with an internal journal,
 * a read-only libext2fs over our io_manager checks the group descriptors
 * (jfs_check_descriptors(): ext4_check_descriptors, a bad descriptor
 * checksum refuses rw mounts only; then ext2fs_check_desc()), the journal
 * inode (jfs_check_journal_inode(): ext4_get_journal_inode) and the journal
 * superblock (jbd2_journal_check_superblock() through
 * jbd2_journal_init_recovery(): jbd2's journal_check_superblock) -- on ro
 * mounts too, as the kernel loads the journal there.  Only then can replay
 * write.  The real ext2fs_open2 follows, the descriptors are checked again
 * by libext2fs (and by the kernel's rules if no journal check ran), and the
 * bitmaps are loaded.  `jbdlab replay` (replay.c) goes through the same
 * functions.  Any failure returns -errno with a one-line
 * "jbdlab: IMAGE: reason" and leaves the image untouched: nothing is dirtied
 * before the last check, and the cache is torn down without writeback.
 *
 * The journal (ext4_fill_super -> ext4_load_and_init_journal -> ext4_setup_super):
 *   - needs_recovery set and no norecovery: the journal is replayed with
 *     the same core as `jbdlab replay` (jfs_journal_replay_bdev(), kernel
 *     flavour: a failed recovery leaves the image alone) through the page
 *     cache BEFORE the real ext2fs_open2, so that libext2fs and everything
 *     we cache are read fresh afterwards (peers.md traps 1, 5); the
 *     superblock is checked again after replay (trap 2), and its error
 *     fields are carried across the replay (ext4_load_journal does the
 *     same: the log's copy of the superblock predates them).  The journal
 *     inode's block map is built once, by a read-only libext2fs over our
 *     io_manager opened just for it (jbd2_journal_bmap through the inode);
 *   - ro mounts replay too, as the kernel does (the device is opened
 *     writable for it; a read-only image is refused with the kernel's
 *     advice); norecovery/noload mount read-only and stale, and refuse a
 *     rw mount ("required journal recovery suppressed and not mounted
 *     read-only"); a journal that needs a fast-commit replay is refused
 *     (recovery detects it before writing anything);
 *   - needs_recovery clear but the log not empty (a stale log): never
 *     replayed; jbd2_journal_wipe() marks the log empty (jfs_journal_load()
 *     on rw mounts, __jfs_journal_wipe_ro() on ro mounts, which reopen the
 *     image writable for it when it can be written -- the kernel's wipe
 *     writes unless bdev_read_only() -- and write nothing otherwise);
 *   - rw: jfs_journal_load() (jbd2_journal_init + load, commit interval,
 *     data mode, CSUM_V3 with metadata_csum and 64BIT with 64bit, as
 *     ext4_set_journal_csum_feature_set), then ext4_setup_super: s_state
 *     is left as found, needs_recovery is set, s_mnt_count++ and s_mtime,
 *     written directly and made durable (sync_blockdev: write + flush)
 *     BEFORE the first handle can commit (peers.md trap 3);
 *   - external journals: ro only, and never replayed (refused if needed).
 * Images without a journal (no has_journal) keep the in-place behaviour of
 * fuse2fs: EXT2_VALID_FS is cleared while mounted (an unclean stop leaves
 * the fs marked for e2fsck), s_mnt_count++ and s_mtime are made durable
 * before any other change, and unmount restores the state.
 *
 * Unmount (ext4_put_super): the last orphans are deleted in a final op;
 * jbd2_journal_destroy() commits and checkpoints everything and marks the
 * log empty (s_start = 0, durable); only then needs_recovery is cleared,
 * s_state restored (plus EXT2_ERROR_FS after errors) and s_wtime set, and
 * the superblock is written directly and flushed.  After a journal abort
 * nothing more is written: needs_recovery stays, and the next mount
 * replays the committed transactions.  Unmount never calls ext2fs_close2
 * (it would rewrite the superblock outside an op, §3.6): it ext2fs_free()s.
 *
 * Locking rules: jfs_mount runs single-threaded on a struct nobody else can
 * see yet; it still takes fs_lock around libext2fs calls because the
 * io_manager asserts it.  jfs_unmount requires that no other op runs or can
 * start (the FUSE session has ended); it takes fs_lock for its final op.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <ext2fs/ext2_err.h>
#include "fs_internal.h"

#define JFS_DEFAULT_CACHE	(256UL << 20)
#define JFS_DEFAULT_WB_MS	5000

/* Features this driver maintains on a RW mount. */
#define JFS_INCOMPAT_SUPP	(EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_RECOVER | \
				 EXT2_FEATURE_INCOMPAT_META_BG | EXT3_FEATURE_INCOMPAT_EXTENTS | \
				 EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG | \
				 EXT4_FEATURE_INCOMPAT_CSUM_SEED | EXT4_FEATURE_INCOMPAT_LARGEDIR)
/* Known incompat features we refuse outright (even read-only). */
#define JFS_INCOMPAT_REFUSED	(EXT2_FEATURE_INCOMPAT_COMPRESSION | EXT3_FEATURE_INCOMPAT_JOURNAL_DEV | \
				 EXT4_FEATURE_INCOMPAT_MMP | EXT4_FEATURE_INCOMPAT_EA_INODE | \
				 EXT4_FEATURE_INCOMPAT_DIRDATA | EXT4_FEATURE_INCOMPAT_INLINE_DATA | \
				 EXT4_FEATURE_INCOMPAT_ENCRYPT | EXT4_FEATURE_INCOMPAT_CASEFOLD)
#define JFS_RO_COMPAT_SUPP	(EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE | \
				 EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_GDT_CSUM | \
				 EXT4_FEATURE_RO_COMPAT_DIR_NLINK | EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | \
				 EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)

static const struct { uint32_t bit; const char *name; } incompat_names[] = {
	{ EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ EXT3_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ EXT4_FEATURE_INCOMPAT_MMP, "mmp" },
	{ EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
}, ro_compat_names[] = {
	{ EXT4_FEATURE_RO_COMPAT_HAS_SNAPSHOT, "snapshot" },
	{ EXT4_FEATURE_RO_COMPAT_QUOTA, "quota" },
	{ EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc" },
	{ EXT4_FEATURE_RO_COMPAT_REPLICA, "replica" },
	{ EXT4_FEATURE_RO_COMPAT_READONLY, "readonly" },
	{ EXT4_FEATURE_RO_COMPAT_PROJECT, "project" },
	{ EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS, "shared_blocks" },
	{ EXT4_FEATURE_RO_COMPAT_VERITY, "verity" },
	{ EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT, "orphan_present" },
};

__printf(4, 5)
static int mount_fail(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		n = 0;
		vsnprintf(errbuf + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void feature_list(char *out, size_t len, uint32_t bits,
			 const __typeof__(incompat_names[0]) *names, size_t nnames)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t i = 0; i < nnames; i++)
		if (bits & names[i].bit)
			used += snprintf(out + used, used < len ? len - used : 0, "%s%s",
					 used ? "," : "", names[i].name);
}

/* ext4_max_size(): the largest file with extents (fs/ext4/super.c). */
static uint64_t ext4_max_size(unsigned int blkbits, bool huge_files)
{
	int64_t upper_limit = LLONG_MAX;	/* MAX_LFS_FILESIZE on 64-bit */
	int64_t res;

	if (!huge_files) {
		/* i_blocks is 32 bits of 512-byte sectors */
		upper_limit = (1LL << 32) - 1;
		upper_limit >>= (blkbits - 9);
		upper_limit <<= blkbits;
	}
	/* ee_block is 32 bits; one block less so ee_len can reach the end */
	res = (1LL << 32) - 1;
	res <<= blkbits;
	if (res > upper_limit)
		res = upper_limit;
	return res;
}

/* ext4_max_bitmap_size(): the largest dense block-mapped file. */
static uint64_t ext4_max_bitmap_size(unsigned int bits, bool huge_files)
{
	uint64_t ppb = 1ULL << (bits - 2);
	int64_t upper_limit, res = EXT2_NDIR_BLOCKS, meta_blocks;

	if (!huge_files) {
		upper_limit = (1LL << 32) - 1;
		upper_limit >>= (bits - 9);
	} else {
		upper_limit = (1LL << 48) - 1;
	}
	res += ppb;
	res += ppb * ppb;
	res += ppb * ppb * ppb;
	meta_blocks = 1;
	meta_blocks += 1 + ppb;
	meta_blocks += 1 + ppb + ppb * ppb;
	if (res + meta_blocks <= upper_limit)
		goto check_lfs;

	res = upper_limit;
	upper_limit -= EXT2_NDIR_BLOCKS;
	meta_blocks = 1;
	upper_limit -= ppb;
	if (upper_limit < (int64_t)(ppb * ppb)) {
		meta_blocks += 1 + DIV_ROUND_UP(upper_limit, (int64_t)ppb);
		res -= meta_blocks;
		goto check_lfs;
	}
	meta_blocks += 1 + ppb;
	upper_limit -= ppb * ppb;
	meta_blocks += 1 + DIV_ROUND_UP(upper_limit, (int64_t)ppb) +
		       DIV_ROUND_UP(upper_limit, (int64_t)(ppb * ppb));
	res -= meta_blocks;
check_lfs:
	if (res > (LLONG_MAX >> bits))
		return LLONG_MAX;
	return (uint64_t)res << bits;
}

/* Limits of fs/ext4/ext4.h that libext2fs spells differently or not at all. */
#define EXT4_MAX_BLOCK_LOG_SIZE		16
#define EXT4_MIN_BLOCK_LOG_SIZE		10
#define EXT4_MAX_CLUSTER_LOG_SIZE	30

/* fs_internal.h: the reason of a refusal into errbuf; returns 0. */
int jfs_msg(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/*
 * The feature policy of the mount (ext4_check_feature_compatibility() ->
 * ext4_feature_set_ok(), with jbdlab's own list of what it can maintain):
 * unknown incompat bits refuse any mount, known incompat features jbdlab
 * cannot handle too, ro_compat features it cannot maintain a rw mount.
 */
static int check_feature_policy(const struct ext2_super_block *sb, bool ro, char *errbuf,
				size_t errlen)
{
	uint32_t incompat = sb->s_feature_incompat, ro_compat = sb->s_feature_ro_compat;
	uint32_t unknown = incompat & ~(JFS_INCOMPAT_SUPP | JFS_INCOMPAT_REFUSED);
	char names[256];

	if (unknown)
		return jfs_msg(errbuf, errlen, "unsupported incompat features 0x%x", unknown), -EINVAL;
	if (incompat & JFS_INCOMPAT_REFUSED) {
		feature_list(names, sizeof(names), incompat & JFS_INCOMPAT_REFUSED,
			     incompat_names, ARRAY_SIZE(incompat_names));
		return jfs_msg(errbuf, errlen, "unsupported incompat features 0x%x (%s)",
			   incompat & JFS_INCOMPAT_REFUSED, names), -EOPNOTSUPP;
	}
	if (!ro && (ro_compat & ~JFS_RO_COMPAT_SUPP)) {
		uint32_t bad = ro_compat & ~JFS_RO_COMPAT_SUPP;

		feature_list(names, sizeof(names), bad, ro_compat_names, ARRAY_SIZE(ro_compat_names));
		return jfs_msg(errbuf, errlen,
			   "ro_compat features 0x%x (%s) cannot be maintained; mount read-only",
			   bad, names[0] ? names : "unknown"), -EROFS;
	}
	return 0;
}

/*
 * jfs_check_super - the checks __ext4_fill_super() makes of the raw
 * superblock before it reads anything else, in its order:
 *   ext4_load_super(): magic; ext4_init_metadata_csum(): ext4_verify_csum_type()
 *   and ext4_superblock_csum_verify() (crc32c(~0, bytes 0..1019)); the
 *   log block size;
 *   ext4_inode_info_init(): inode size, s_first_ino, the extra isize fields;
 *   ext4_check_feature_compatibility(): the feature policy (mount only);
 *   ext4_block_group_meta_init(): descriptor size of 64bit, blocks and
 *   inodes per group;
 *   ext4_handle_clustersize(): cluster size, blocks per group;
 *   ext4_check_geometry(): reserved GDT blocks, blocks count vs the device,
 *   first data block, groups count, inodes count; then the meta_bg bound
 *   of __ext4_fill_super().
 * The messages are the kernel's, shortened to one line.  Stricter than the
 * kernel, because libext2fs needs it: s_rev_level must be 0 or 1
 * (EXT2_ET_REV_TOO_HIGH), at least 8 blocks per group, and s_first_data_block
 * exactly 1 for 1 KiB blocks (0 with bigalloc) and 0 for larger ones.
 * s_log_groups_per_flex out of [1, 31] is not refused: ext4_fill_flex_info()
 * then ignores the flex grouping.
 * @policy: JFS_CHECK_NO_FEATURES (offline replay: e2fsck replays whatever
 * libext2fs can open), JFS_CHECK_RO or JFS_CHECK_RW (the mount).
 * No locks; reads only @sb.  0 or -errno with the reason in errbuf.
 */
int jfs_check_super(const struct ext2_super_block *sb, uint64_t dev_size, int policy,
		    char *errbuf, size_t errlen)
{
	uint32_t incompat = sb->s_feature_incompat, ro_compat = sb->s_feature_ro_compat;
	bool bigalloc = ro_compat & EXT4_FEATURE_RO_COMPAT_BIGALLOC;
	uint64_t bs, blocks, need, groups, dev_blocks, clustersize;
	unsigned int inode_size, first_ino, desc_size, inodes_per_block, desc_per_block, db_count;
	int ret;

	if (errbuf && errlen)
		errbuf[0] = 0;
	/* ext4_load_super() */
	if (sb->s_magic != EXT2_SUPER_MAGIC)
		return jfs_msg(errbuf, errlen, "not an ext2/3/4 filesystem (bad superblock magic 0x%04x)",
			   sb->s_magic), -EINVAL;
	/* ext4_init_metadata_csum(): before anything else of the superblock is trusted */
	if (ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM) {
		uint32_t want;

		if (sb->s_checksum_type != EXT2_CRC32C_CHKSUM)
			return jfs_msg(errbuf, errlen,
				   "VFS: Found ext4 filesystem with unknown checksum algorithm (%u)",
				   sb->s_checksum_type), -EINVAL;
		want = crc32c(~0U, sb, offsetof(struct ext2_super_block, s_checksum));
		if (ext2fs_le32_to_cpu(sb->s_checksum) != want)
			return jfs_msg(errbuf, errlen,
				   "VFS: Found ext4 filesystem with invalid superblock checksum (0x%08x, computed 0x%08x).  Run e2fsck?",
				   ext2fs_le32_to_cpu(sb->s_checksum), want), -EFSBADCRC;
	}
	if (sb->s_log_block_size > EXT4_MAX_BLOCK_LOG_SIZE - EXT4_MIN_BLOCK_LOG_SIZE)
		return jfs_msg(errbuf, errlen, "invalid log block size: %u (at most 64 KiB blocks)",
			   sb->s_log_block_size), -EINVAL;
	bs = 1024ULL << sb->s_log_block_size;
	if (sb->s_rev_level > EXT2_DYNAMIC_REV)
		return jfs_msg(errbuf, errlen, "unsupported revision level %u", sb->s_rev_level), -EINVAL;

	/* ext4_inode_info_init() */
	if (sb->s_rev_level == EXT2_GOOD_OLD_REV) {
		inode_size = EXT2_GOOD_OLD_INODE_SIZE;
		first_ino = EXT2_GOOD_OLD_FIRST_INO;
	} else {
		inode_size = sb->s_inode_size;
		first_ino = sb->s_first_ino;
		if (first_ino < EXT2_GOOD_OLD_FIRST_INO)
			return jfs_msg(errbuf, errlen, "invalid first ino: %u", first_ino), -EINVAL;
		if (inode_size < EXT2_GOOD_OLD_INODE_SIZE || inode_size > bs ||
		    (inode_size & (inode_size - 1)))
			return jfs_msg(errbuf, errlen, "unsupported inode size: %u", inode_size), -EINVAL;
		if (inode_size > EXT2_GOOD_OLD_INODE_SIZE &&
		    (ro_compat & EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE)) {
			unsigned int max = inode_size - EXT2_GOOD_OLD_INODE_SIZE;

			if (sb->s_want_extra_isize > max)
				return jfs_msg(errbuf, errlen, "bad s_want_extra_isize: %u",
					   sb->s_want_extra_isize), -EINVAL;
			if (sb->s_min_extra_isize > max)
				return jfs_msg(errbuf, errlen, "bad s_min_extra_isize: %u",
					   sb->s_min_extra_isize), -EINVAL;
		}
	}

	/* ext4_check_feature_compatibility() */
	if (policy != JFS_CHECK_NO_FEATURES) {
		ret = check_feature_policy(sb, policy == JFS_CHECK_RO, errbuf, errlen);
		if (ret)
			return ret;
	}

	/* ext4_block_group_meta_init() */
	desc_size = EXT2_MIN_DESC_SIZE;
	if (incompat & EXT4_FEATURE_INCOMPAT_64BIT) {
		desc_size = sb->s_desc_size;
		if (desc_size < EXT2_MIN_DESC_SIZE_64BIT || desc_size > EXT2_MAX_DESC_SIZE ||
		    (desc_size & (desc_size - 1)))
			return jfs_msg(errbuf, errlen, "unsupported descriptor size %u", desc_size), -EINVAL;
	}
	inodes_per_block = (unsigned int)(bs / inode_size);
	if (sb->s_blocks_per_group == 0)
		return jfs_msg(errbuf, errlen, "VFS: Can't find ext4 filesystem (0 blocks per group)"),
		       -EINVAL;
	if (sb->s_inodes_per_group < inodes_per_block || sb->s_inodes_per_group > bs * 8)
		return jfs_msg(errbuf, errlen, "invalid inodes per group: %u", sb->s_inodes_per_group),
		       -EINVAL;
	desc_per_block = (unsigned int)(bs / desc_size);

	/* ext4_handle_clustersize() */
	clustersize = 1024ULL << (sb->s_log_cluster_size & 63);
	if (bigalloc) {
		if (sb->s_log_cluster_size < sb->s_log_block_size)
			return jfs_msg(errbuf, errlen, "cluster size (%llu) smaller than block size (%llu)",
				   (unsigned long long)clustersize, (unsigned long long)bs), -EINVAL;
		if (sb->s_log_cluster_size > EXT4_MAX_CLUSTER_LOG_SIZE - EXT4_MIN_BLOCK_LOG_SIZE)
			return jfs_msg(errbuf, errlen, "invalid log cluster size: %u",
				   sb->s_log_cluster_size), -EINVAL;
		if (sb->s_clusters_per_group > bs * 8)
			return jfs_msg(errbuf, errlen, "#clusters per group too big: %u",
				   sb->s_clusters_per_group), -EINVAL;
		if ((uint64_t)sb->s_blocks_per_group !=
		    (uint64_t)sb->s_clusters_per_group * (clustersize / bs))
			return jfs_msg(errbuf, errlen,
				   "blocks per group (%u) and clusters per group (%u) inconsistent",
				   sb->s_blocks_per_group, sb->s_clusters_per_group), -EINVAL;
	} else {
		if (sb->s_log_cluster_size != sb->s_log_block_size)
			return jfs_msg(errbuf, errlen,
				   "fragment/cluster size (2^(10+%u)) != block size (%llu)",
				   sb->s_log_cluster_size, (unsigned long long)bs), -EINVAL;
		if (sb->s_blocks_per_group > bs * 8)
			return jfs_msg(errbuf, errlen, "#blocks per group too big: %u",
				   sb->s_blocks_per_group), -EINVAL;
		if (sb->s_clusters_per_group != sb->s_blocks_per_group)
			return jfs_msg(errbuf, errlen,
				   "blocks per group (%u) and clusters per group (%u) inconsistent",
				   sb->s_blocks_per_group, sb->s_clusters_per_group), -EINVAL;
	}
	if (sb->s_blocks_per_group < 8)	/* libext2fs: EXT2_ET_CORRUPT_SUPERBLOCK */
		return jfs_msg(errbuf, errlen, "bad geometry: %u blocks per group",
			   sb->s_blocks_per_group), -EINVAL;

	/* ext4_check_geometry() */
	if (sb->s_reserved_gdt_blocks > bs / 4)
		return jfs_msg(errbuf, errlen, "Number of reserved GDT blocks insanely large: %u",
			   sb->s_reserved_gdt_blocks), -EINVAL;
	blocks = sb->s_blocks_count;
	if (incompat & EXT4_FEATURE_INCOMPAT_64BIT)
		blocks |= (uint64_t)sb->s_blocks_count_hi << 32;
	if (!blocks)
		return jfs_msg(errbuf, errlen, "zero blocks count"), -EINVAL;
	need = blocks * bs;
	dev_blocks = dev_size / bs;
	if (need / bs != blocks || blocks > dev_blocks)
		return jfs_msg(errbuf, errlen,
			   "image is truncated: bad geometry: block count %llu exceeds size of device (%llu blocks of %llu bytes)",
			   (unsigned long long)blocks, (unsigned long long)dev_blocks,
			   (unsigned long long)bs), -EINVAL;
	if (sb->s_first_data_block >= blocks)
		return jfs_msg(errbuf, errlen,
			   "bad geometry: first data block %u is beyond end of filesystem (%llu)",
			   sb->s_first_data_block, (unsigned long long)blocks), -EINVAL;
	if (sb->s_first_data_block == 0 && bs == 1024 && !bigalloc)
		return jfs_msg(errbuf, errlen,
			   "bad geometry: first data block is 0 with a 1k block and cluster size"),
		       -EINVAL;
	if ((bs == 1024 && sb->s_first_data_block > 1) || (bs > 1024 && sb->s_first_data_block))
		return jfs_msg(errbuf, errlen, "bad geometry: first data block %u with %llu-byte blocks",
			   sb->s_first_data_block, (unsigned long long)bs), -EINVAL;
	groups = DIV_ROUND_UP(blocks - sb->s_first_data_block, (uint64_t)sb->s_blocks_per_group);
	if (groups > (1ULL << 32) - desc_per_block)
		return jfs_msg(errbuf, errlen,
			   "groups count too large: %llu (block count %llu, first data block %u, blocks per group %u)",
			   (unsigned long long)groups, (unsigned long long)blocks,
			   sb->s_first_data_block, sb->s_blocks_per_group), -EINVAL;
	if ((uint64_t)sb->s_inodes_per_group * groups != sb->s_inodes_count)
		return jfs_msg(errbuf, errlen, "bad geometry: inodes count not valid: %u vs %llu",
			   sb->s_inodes_count,
			   (unsigned long long)groups * sb->s_inodes_per_group), -EINVAL;
	/* __ext4_fill_super(), after ext4_check_geometry() */
	db_count = (unsigned int)DIV_ROUND_UP(groups, (uint64_t)desc_per_block);
	if ((incompat & EXT2_FEATURE_INCOMPAT_META_BG) && sb->s_first_meta_bg > db_count)
		return jfs_msg(errbuf, errlen,
			   "first meta block group too large: %u (group descriptor block count %u)",
			   sb->s_first_meta_bg, db_count), -EINVAL;
	return 0;
}

/* jfs_check_super() for the mount, with the "jbdlab: IMAGE: " prefix. */
static int check_raw_super(struct jfs *fs, const struct ext2_super_block *sb, bool ro,
			   char *errbuf, size_t errlen)
{
	char reason[400];
	int ret;

	ret = jfs_check_super(sb, fs->bdev->size, ro ? JFS_CHECK_RO : JFS_CHECK_RW, reason,
			      sizeof(reason));
	if (ret)
		return mount_fail(errbuf, errlen, ret, "jbdlab: %s: %s", fs->image, reason);
	return 0;
}

/*
 * jfs_check_descriptors - ext4_check_descriptors(), run by
 * ext4_group_desc_init() before the journal is loaded: every group's block
 * bitmap, inode bitmap and inode table inside its group (inside the fs with
 * flex_bg), none on the superblock or the group 0 descriptor blocks, and
 * the descriptor checksum (gdt_csum or metadata_csum).  As the kernel, a
 * checksum failure refuses only a rw mount (@ro: the first failing group is
 * still reported, -EFSBADCRC, after every location was checked); a bad
 * location always refuses.  Simplification: the kernel tolerates a bitmap
 * or table on the superblock/GDT on ro mounts too; here it is refused
 * always, because ext2fs_check_desc(), which the mount runs next, refuses
 * it anyway.  @e2fs: opened over the pre-replay image (checksum errors
 * ignored).  No locks of its own (the caller holds what its io_manager
 * needs).  0, -EFSCORRUPTED or -EFSBADCRC with the reason in errbuf.
 */
int jfs_check_descriptors(ext2_filsys e2fs, bool ro, char *errbuf, size_t errlen)
{
	struct ext2_super_block *es = e2fs->super;
	bool flexbg = ext2fs_has_feature_flex_bg(es);
	blk64_t first_block = es->s_first_data_block, last_block;
	blk64_t sb_block = e2fs->blocksize == 1024 ? 1 : 0;	/* logical_sb_block */
	blk64_t last_bg_block, blks[3];
	unsigned int itb = es->s_inodes_per_group / (e2fs->blocksize / EXT2_INODE_SIZE(es));
	unsigned int nbad = 0, gdb0;
	static const char *const what[3] = { "Block bitmap", "Inode bitmap", "Inode table" };

	if (errbuf && errlen)
		errbuf[0] = 0;
	/* ext4_bg_num_gdb(sb, 0) */
	if (ext2fs_has_feature_meta_bg(es))
		gdb0 = es->s_first_meta_bg ? es->s_first_meta_bg : 1;
	else
		gdb0 = e2fs->desc_blocks;
	last_bg_block = sb_block + gdb0;
	for (dgrp_t i = 0; i < e2fs->group_desc_count; i++) {
		if (i == e2fs->group_desc_count - 1 || flexbg)
			last_block = ext2fs_blocks_count(es) - 1;
		else
			last_block = first_block + es->s_blocks_per_group - 1;
		blks[0] = ext2fs_block_bitmap_loc(e2fs, i);
		blks[1] = ext2fs_inode_bitmap_loc(e2fs, i);
		blks[2] = ext2fs_inode_table_loc(e2fs, i);
		for (int k = 0; k < 3; k++) {
			blk64_t end = blks[k] + (k == 2 ? itb : 1) - 1;

			if (blks[k] == sb_block)
				return jfs_msg(errbuf, errlen,
					   "ext4_check_descriptors: %s for group %u overlaps superblock",
					   what[k], i), -EFSCORRUPTED;
			if (blks[k] >= sb_block + 1 && blks[k] <= last_bg_block)
				return jfs_msg(errbuf, errlen,
					   "ext4_check_descriptors: %s for group %u overlaps block group descriptors",
					   what[k], i), -EFSCORRUPTED;
			if (blks[k] < first_block || end > last_block || end < blks[k])
				return jfs_msg(errbuf, errlen,
					   "ext4_check_descriptors: %s for group %u not in group (block %llu)!",
					   what[k], i, (unsigned long long)blks[k]), -EFSCORRUPTED;
		}
		if (!ext2fs_group_desc_csum_verify(e2fs, i)) {
			if (!nbad++)
				jfs_msg(errbuf, errlen,
				    "ext4_check_descriptors: Checksum for group %u failed (%u!=%u)",
				    i, ext2fs_group_desc_csum(e2fs, i), ext2fs_bg_checksum(e2fs, i));
			if (!ro)
				return -EFSBADCRC;
		}
		if (!flexbg)
			first_block += es->s_blocks_per_group;
	}
	if (nbad > 1 && errbuf && errlen) {
		size_t n = strlen(errbuf);

		snprintf(errbuf + n, errlen - n, " (%u groups)", nbad);
	}
	return nbad ? -EFSBADCRC : 0;
}

/*
 * jfs_check_journal_inode - ext4_get_journal_inode(): ext4_iget()'s
 * inode number range (EXT4_IGET_SPECIAL: at least EXT4_ROOT_INO, at most
 * s_inodes_count) and inode checksum (@verify_csum: the kernel's iget
 * refuses a bad one, e2fsck's replay ignores it), then links ("journal
 * inode is deleted"), a regular unencrypted file ("invalid journal inode");
 * and the size jbd2_journal_init_inode() takes for j_total_len: at least
 * JBD2_MIN_JOURNAL_BLOCKS (journal_reset(): "Journal too short"), at most
 * the fs.  Fills *inode.  No locks of its own.  0 or -EFSCORRUPTED/-EFSBADCRC.
 */
int jfs_check_journal_inode(ext2_filsys e2fs, ext2_ino_t ino, bool verify_csum,
			    struct ext2_inode_large *inode, char *errbuf, size_t errlen)
{
	uint64_t size, n;
	unsigned int isize;
	bool csum_ok;
	errcode_t err;
	void *raw;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (ino < EXT2_ROOT_INO || ino > e2fs->super->s_inodes_count)
		return jfs_msg(errbuf, errlen, "iget: illegal inode #%u (the journal inode)", ino),
		       -EFSCORRUPTED;
	/* the whole on-disk inode: its checksum covers s_inode_size bytes */
	isize = EXT2_INODE_SIZE(e2fs->super);
	raw = calloc(1, isize > sizeof(*inode) ? isize : sizeof(*inode));
	if (!raw)
		return jfs_msg(errbuf, errlen, "out of memory"), -ENOMEM;
	err = ext2fs_read_inode_full(e2fs, ino, (struct ext2_inode *)raw, isize);
	if (err) {
		free(raw);
		return jfs_msg(errbuf, errlen, "no journal found: cannot read the journal inode %u: %s",
			   ino, error_message(err)), -EFSCORRUPTED;
	}
	csum_ok = !verify_csum ||
		  ext2fs_inode_csum_verify(e2fs, ino, (struct ext2_inode_large *)raw);
	memcpy(inode, raw, sizeof(*inode));
	free(raw);
	if (!csum_ok)
		return jfs_msg(errbuf, errlen, "journal inode #%u: iget: checksum invalid", ino),
		       -EFSBADCRC;
	if (!inode->i_links_count)
		return jfs_msg(errbuf, errlen, "journal inode %u is deleted", ino), -EFSCORRUPTED;
	if (!LINUX_S_ISREG(inode->i_mode) || (inode->i_flags & EXT4_ENCRYPT_FL))
		return jfs_msg(errbuf, errlen, "invalid journal inode %u (mode 0%o%s)", ino,
			   inode->i_mode, inode->i_flags & EXT4_ENCRYPT_FL ? ", encrypted" : ""),
		       -EFSCORRUPTED;
	size = EXT2_I_SIZE(inode);
	n = size / e2fs->blocksize;
	if (n < JBD2_MIN_JOURNAL_BLOCKS)
		return jfs_msg(errbuf, errlen,
			   "JBD2: journal file too short: journal inode %u has %llu bytes (%llu blocks, at least %u)",
			   ino, (unsigned long long)size, (unsigned long long)n,
			   JBD2_MIN_JOURNAL_BLOCKS), -EFSCORRUPTED;
	if (n > ext2fs_blocks_count(e2fs->super) || n > UINT32_MAX)
		return jfs_msg(errbuf, errlen, "journal inode %u has a bad size %llu", ino,
			   (unsigned long long)size), -EFSCORRUPTED;
	return 0;
}

static pthread_once_t err_table_once = PTHREAD_ONCE_INIT;

static void init_err_table(void)
{
	initialize_ext2_error_table();
}

static void fs_free(struct jfs *fs)
{
	free(fs->dirty_groups);
	free(fs->gd_snap);
	free(fs->op_blocks);
	free(fs->op_new);
	free(fs->jmap);
	free(fs);
}

static bool uuid_is_zero(const uint8_t *u)
{
	for (int i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

/*
 * The journal part of ext4_fill_super's checks (ext4_load_journal,
 * ext4_get_journal_inode): decides whether to replay.  0 or -errno.
 */
static int check_journal_policy(struct jfs *fs, const struct ext2_super_block *sb,
				bool *internal, bool *replay, char *errbuf, size_t errlen)
{
	bool has_journal = sb->s_feature_compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL;
	bool needs_rec = sb->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER;
	const char *img = fs->image;

	*internal = has_journal && sb->s_journal_inum;
	*replay = false;
	if (needs_rec && !has_journal)
		return mount_fail(errbuf, errlen, -EUCLEAN,
				  "jbdlab: %s: needs_recovery is set but the filesystem has no journal; run e2fsck",
				  img);
	if (has_journal && !sb->s_journal_inum &&
	    (!uuid_is_zero(sb->s_journal_uuid) || sb->s_journal_dev)) {
		if (!fs->ro)
			return mount_fail(errbuf, errlen, -EOPNOTSUPP,
					  "jbdlab: %s: external journals are not supported; mount read-only",
					  img);
		if (needs_rec && !fs->opts.norecovery)
			return mount_fail(errbuf, errlen, -EOPNOTSUPP,
					  "jbdlab: %s: the external journal needs recovery, which is not supported; mount with norecovery for the stale state",
					  img);
	} else if (has_journal && !sb->s_journal_inum) {
		return mount_fail(errbuf, errlen, -EUCLEAN,
				  "jbdlab: %s: has_journal without a journal inode or device; run e2fsck", img);
	}
	if (fs->opts.norecovery && !fs->ro)
		return mount_fail(errbuf, errlen, -EINVAL,
				  needs_rec ?
				  "jbdlab: %s: required journal recovery suppressed and not mounted read-only" :
				  "jbdlab: %s: norecovery/noload need a read-only mount (nothing is written without the journal)",
				  img);
	if (needs_rec && fs->opts.norecovery)
		fprintf(stderr, "jbdlab: %s: warning: journal recovery suppressed (norecovery): the mount shows the stale pre-crash state\n",
			img);
	*replay = needs_rec && !fs->opts.norecovery && *internal;
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

/* ext4_load_journal's "save the error info across replay" area. */
#define JFS_SB_ERR_START	offsetof(struct ext2_super_block, s_error_count)
#define JFS_SB_ERR_LEN		(offsetof(struct ext2_super_block, s_mount_opts) - JFS_SB_ERR_START)

/*
 * Replay at mount (ext4_load_journal -> jbd2_journal_load's recovery) with
 * the core of `jbdlab replay`, then carry the error fields across it.
 * Entry: fs lock held, mount phase, the page cache built, fs->jmap built.
 */
static int __mount_replay(struct jfs *fs, const struct ext2_super_block *before, char *errbuf,
			  size_t errlen)
{
	unsigned int bs = fs->blocksize;
	struct jfs_replay_report rep;
	char why[512];
	int ret;

	lockdep_assert_held(&fs->fs_lock);
	fprintf(stderr, "jbdlab: %s: recovery required%s\n", fs->image,
		fs->ro ? " on readonly filesystem; write access will be enabled during recovery" : "");
	ret = jfs_journal_replay_bdev(fs->bdev, &fs->mapping, fs->jmap, fs->jmap_len, bs,
				      JFS_REPLAY_KERNEL, &rep, why, sizeof(why));
	if (ret < 0)
		return mount_fail(errbuf, errlen, ret, "jbdlab: %s: journal recovery failed: %s",
				  fs->image, why);
	if (ret == JFS_REPLAY_NOTHING)
		return 0;
	fprintf(stderr, "jbdlab: %s: recovery complete: %s\n", fs->image, why);
	fs->replayed = true;

	/* the error fields of the superblock as they were before replay */
	if (!all_zero((const char *)before + JFS_SB_ERR_START, JFS_SB_ERR_LEN)) {
		struct buffer_head *bh = __bread(fs->bdev, SUPERBLOCK_OFFSET / bs, bs);
		struct ext2_super_block *es;

		if (!bh)
			return mount_fail(errbuf, errlen, -EIO,
					  "jbdlab: %s: cannot read the superblock after recovery",
					  fs->image);
		lock_buffer(bh);
		es = (struct ext2_super_block *)(bh->b_data + SUPERBLOCK_OFFSET % bs);
		memcpy((char *)es + JFS_SB_ERR_START, (const char *)before + JFS_SB_ERR_START,
		       JFS_SB_ERR_LEN);
		if (before->s_state & EXT2_ERROR_FS)
			es->s_state |= EXT2_ERROR_FS;
		if (es->s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
			es->s_checksum = ext2fs_cpu_to_le32(crc32c(~0U, es,
						offsetof(struct ext2_super_block, s_checksum)));
		unlock_buffer(bh);
		mark_buffer_dirty(bh);
		ret = sync_dirty_buffer(bh);
		brelse(bh);
		if (!ret)
			ret = blkdev_issue_flush(fs->bdev);
		if (ret)
			return mount_fail(errbuf, errlen, ret,
					  "jbdlab: %s: cannot write the superblock after recovery",
					  fs->image);
	}
	return 0;
}

/* Close the read-only block device and open the image writable (replay or
 * a stale-log wipe on a ro mount, as the kernel's writable device); on
 * failure fs->bdev is NULL.  Mount phase, nothing cached on the device. */
static int bdev_reopen_writable(struct jfs *fs, const char *image, struct blockdev_opts *bopts)
{
	int ret;

	blockdev_close(fs->bdev);
	fs->bdev = NULL;
	bopts->read_only = false;
	ret = blockdev_open(image, bopts, &fs->bdev);
	if (ret)
		fs->bdev = NULL;
	return ret;
}

/* Could the image be opened for writing (the kernel's !bdev_read_only())? */
static bool image_writable(const char *image)
{
	int fd = open(image, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * ext4_group_desc_init()'s ext4_check_descriptors() (jfs_check_descriptors:
 * a bad checksum refuses a rw mount, and only warns on a ro one: then
 * *bad_csum is set), then libext2fs' stricter ext2fs_check_desc() that the
 * rest of the mount relies on.  Entry: fs lock held, mount phase, @e2fs
 * over the page cache.
 */
static int __mount_check_descriptors(struct jfs *fs, ext2_filsys e2fs, bool kernel_checks,
				     bool *bad_csum, char *errbuf, size_t errlen)
{
	char reason[300];
	errcode_t err;
	int ret = 0;

	lockdep_assert_held(&fs->fs_lock);
	if (kernel_checks)
		ret = jfs_check_descriptors(e2fs, fs->ro, reason, sizeof(reason));
	if (ret == -EFSBADCRC && fs->ro) {
		*bad_csum = true;
		fprintf(stderr, "jbdlab: %s: warning: %s; mounting read-only anyway, as the kernel does; run e2fsck\n",
			fs->image, reason);
	} else if (ret) {
		return mount_fail(errbuf, errlen, -EUCLEAN,
				  "jbdlab: %s: %s; group descriptors corrupted!", fs->image, reason);
	}
	err = ext2fs_check_desc(e2fs);
	if (err)
		return mount_fail(errbuf, errlen, -EUCLEAN,
				  "jbdlab: %s: corrupted group descriptors: %s", fs->image,
				  error_message(err));
	return 0;
}

/*
 * Before the journal is touched, with a read-only libext2fs opened only for
 * it over the page cache (checksum errors ignored: jfs_check_super() has
 * verified the superblock's): the group descriptors (ext4_group_desc_init),
 * the journal inode (ext4_get_journal_inode), fs->jmap
 * (jbd2_journal_init_inode's bmap) and the journal superblock
 * (jbd2_journal_load -> load_superblock -> journal_check_superblock, with
 * jbd2_journal_check_superblock() as recovery uses it).  Nothing is
 * written.  Entry: fs lock held, mount phase, the page cache built.
 */
static int __mount_journal_map(struct jfs *fs, bool *gd_bad_csum, char *errbuf, size_t errlen)
{
	struct ext2_inode_large inode;
	ext2_filsys tmp = NULL;
	char reason[300];
	journal_t *j;
	errcode_t err;
	int ret;

	lockdep_assert_held(&fs->fs_lock);
	err = ext2fs_open2(fs->image, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			   jfs_io_manager, &tmp);
	if (err)
		return mount_fail(errbuf, errlen, jfs_errno(err) == -EIO ? -EIO : -EUCLEAN,
				  "jbdlab: %s: libext2fs cannot open it: %s", fs->image,
				  error_message(err));
	tmp->priv_data = fs;
	ret = __mount_check_descriptors(fs, tmp, true, gd_bad_csum, errbuf, errlen);
	if (!ret) {
		ret = jfs_check_journal_inode(tmp, tmp->super->s_journal_inum, true, &inode, reason,
					      sizeof(reason));
		if (ret)
			mount_fail(errbuf, errlen, -EUCLEAN, "jbdlab: %s: error loading journal: %s",
				   fs->image, reason);
	}
	if (!ret)
		ret = __jfs_journal_build_map(fs, tmp, errbuf, errlen);
	ext2fs_free(tmp);
	if (ret)
		return ret;
	j = jbd2_journal_init_recovery(fs->bdev, fs->jmap, fs->jmap_len, fs->blocksize, &ret,
				       reason, sizeof(reason));
	if (!j)
		return mount_fail(errbuf, errlen, ret == -EOPNOTSUPP ? -EOPNOTSUPP : ret == -EIO ? -EIO : -EUCLEAN,
				  "jbdlab: %s: error loading journal: %s", fs->image, reason);
	jbd2_journal_free_recovery(j);
	return 0;
}

/* ext4_setup_super() with a journal: needs_recovery on disk before the
 * first commit.  Entry: fs lock held, mount phase. */
static int __setup_super_journal(struct jfs *fs)
{
	ext2_filsys e2fs = fs->e2fs;
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	ext2fs_set_feature_journal_needs_recovery(e2fs->super);
	e2fs->super->s_mnt_count++;
	e2fs->super->s_mtime = time(NULL);
	if (e2fs->super->s_max_mnt_count > 0 &&
	    (int16_t)e2fs->super->s_mnt_count >= (int16_t)e2fs->super->s_max_mnt_count)
		fprintf(stderr, "jbdlab: %s: warning: maximal mount count reached, running e2fsck is recommended\n",
			fs->image);
	ext2fs_superblock_csum_set(e2fs, e2fs->super);
	err = io_channel_write_byte(e2fs->io, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, e2fs->super);
	if (err)
		return jfs_errno(err);
	if (e2fs->orig_super)
		memcpy(e2fs->orig_super, e2fs->super, SUPERBLOCK_SIZE);
	e2fs->flags &= ~EXT2_FLAG_DIRTY;
	return sync_blockdev(fs->bdev);
}

int jfs_mount(const char *image, const struct jfs_mount_opts *o, struct jfs **out,
	      char *errbuf, size_t errlen)
{
	struct jfs_mount_opts defaults = { 0 };
	struct blockdev_opts bopts = { 0 };
	struct ext2_super_block raw;
	struct jfs *fs;
	ext2_filsys e2fs = NULL;
	unsigned int blkbits, order;
	bool internal, replay, desc_checked = false, gd_bad_csum = false;
	errcode_t err;
	int ret;

	if (errbuf && errlen)
		errbuf[0] = 0;
	pthread_once(&err_table_once, init_err_table);
	if (!o)
		o = &defaults;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return mount_fail(errbuf, errlen, -ENOMEM, "jbdlab: %s: out of memory", image);
	fs->magic = JFS_MAGIC;
	mutex_init(&fs->fs_lock);
	fs->opts = *o;
	if (!fs->opts.cache_size)
		fs->opts.cache_size = JFS_DEFAULT_CACHE;
	if (!fs->opts.dirty_writeback_ms)
		fs->opts.dirty_writeback_ms = JFS_DEFAULT_WB_MS;
	fs->ro = o->ro;
	snprintf(fs->image, sizeof(fs->image), "%s", image);

	bopts.read_only = fs->ro;
	bopts.write_log = o->write_log;
	bopts.dma_delay_us = o->dma_delay_us;
	bopts.flush_delay_ms = o->flush_delay_ms;
	bopts.seed = o->seed;
	ret = blockdev_open(image, &bopts, &fs->bdev);
	if (ret) {
		mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot open: %s", image, strerror(-ret));
		goto out_free;
	}
	if (fs->bdev->size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) {
		ret = mount_fail(errbuf, errlen, -EINVAL,
				 "jbdlab: %s: image is truncated: %llu bytes, no room for a superblock",
				 image, (unsigned long long)fs->bdev->size);
		goto out_close;
	}
	ret = blk_rw_sync(fs->bdev, REQ_OP_READ, SUPERBLOCK_OFFSET, &raw, sizeof(raw));
	if (ret) {
		mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot read the superblock: %s",
			   image, strerror(-ret));
		goto out_close;
	}
	ret = check_raw_super(fs, &raw, fs->ro, errbuf, errlen);
	if (!ret)
		ret = check_journal_policy(fs, &raw, &internal, &replay, errbuf, errlen);
	if (ret)
		goto out_close;
	if (replay && fs->bdev->read_only) {
		/* ro mount, as the kernel: replay needs write access to the device */
		ret = bdev_reopen_writable(fs, image, &bopts);
		if (ret) {
			mount_fail(errbuf, errlen, -EROFS,
				   "jbdlab: %s: journal recovery required but write access unavailable (%s), cannot proceed (try mounting with noload)",
				   image, strerror(-ret));
			ret = -EROFS;
			goto out_free;
		}
	}

	blkbits = 10 + raw.s_log_block_size;
	fs->blocksize = 1U << blkbits;
	order = o->folio_order;
	if (blkbits > PAGE_SHIFT + order)
		order = blkbits - PAGE_SHIFT;	/* a buffer never spans folios */
	ret = address_space_init(&fs->mapping, fs->bdev, fs->bdev->size, blkbits, order,
				 fs->opts.cache_size);
	if (ret) {
		mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot build the page cache: %s",
			   image, strerror(-ret));
		goto out_close;
	}
	fs->bdev->bd_mapping = &fs->mapping;
	fs->mapping.strategy = o->strategy;

	mutex_lock(&fs->fs_lock);
	fs->mount_phase = true;
	current_jfs = fs;
	if (internal && !fs->opts.norecovery) {
		/*
		 * ext4_fill_super's checks before the journal is touched, and
		 * the journal's own (ext4_load_journal on ro mounts too: a bad
		 * journal fails them).  A ro mount keeps no journal, but the
		 * kernel's loads it, and a stale log (needs_recovery clear,
		 * s_start set) is wiped there too:
		 * jbd2_journal_wipe(journal, !really_read_only).
		 */
		ret = __mount_journal_map(fs, &gd_bad_csum, errbuf, errlen);
		if (ret)
			goto out_unlock;
		desc_checked = true;
		if (fs->ro && !replay && __jfs_journal_log_start(fs)) {
			if (fs->bdev->read_only && image_writable(image)) {
				/* the kernel's device is writable: reopen the image
				 * writable (only clean blocks are cached) */
				current_jfs = NULL;
				mutex_unlock(&fs->fs_lock);
				invalidate_bh_lrus();
				address_space_destroy(&fs->mapping);
				ret = bdev_reopen_writable(fs, image, &bopts);
				if (ret) {
					mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot reopen: %s",
						   image, strerror(-ret));
					goto out_free;
				}
				ret = address_space_init(&fs->mapping, fs->bdev, fs->bdev->size,
							 blkbits, order, fs->opts.cache_size);
				if (ret) {
					mount_fail(errbuf, errlen, ret,
						   "jbdlab: %s: cannot build the page cache: %s",
						   image, strerror(-ret));
					goto out_close;
				}
				fs->bdev->bd_mapping = &fs->mapping;
				fs->mapping.strategy = o->strategy;
				mutex_lock(&fs->fs_lock);
				current_jfs = fs;
			}
			ret = __jfs_journal_wipe_ro(fs, errbuf, errlen);
			if (ret)
				goto out_unlock_written;
		}
	}
	if (replay) {
		ret = __mount_replay(fs, &raw, errbuf, errlen);
		if (ret)
			goto out_unlock_written;
		/* the log may have carried a new superblock (trap 2) */
		ret = blk_rw_sync(fs->bdev, REQ_OP_READ, SUPERBLOCK_OFFSET, &raw, sizeof(raw));
		if (ret) {
			mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot read the superblock: %s",
				   image, strerror(-ret));
			goto out_unlock_written;
		}
		ret = check_raw_super(fs, &raw, fs->ro, errbuf, errlen);
		if (!ret && (raw.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER))
			ret = mount_fail(errbuf, errlen, -EUCLEAN,
					 "jbdlab: %s: needs_recovery still set after recovery", image);
		if (ret)
			goto out_unlock_written;
	}
	err = ext2fs_open2(image, NULL, EXT2_FLAG_64BITS | (fs->ro ? 0 : EXT2_FLAG_RW),
			   0, 0, jfs_io_manager, &e2fs);
	if (err) {
		ret = mount_fail(errbuf, errlen, jfs_errno(err) == -EIO ? -EIO : -EUCLEAN,
				 "jbdlab: %s: libext2fs cannot open it: %s", image, error_message(err));
		e2fs = NULL;
		goto out_unlock;
	}
	e2fs->priv_data = fs;
	fs->e2fs = e2fs;
	/* the kernel checks the descriptors once, before the journal (done
	 * above if there is one); libext2fs' check runs on what it opened */
	ret = __mount_check_descriptors(fs, e2fs, !desc_checked, &gd_bad_csum, errbuf, errlen);
	if (ret)
		goto out_unlock;
	/*
	 * A ro mount over a bad descriptor checksum: the kernel goes on and
	 * trusts the descriptor; libext2fs then distrusts the group's uninit
	 * flags and refuses its bitmap's checksum.  Simplification: such a
	 * mount ignores libext2fs' checksum errors from here on (the kernel
	 * would still report a bad inode or bitmap checksum when it meets one).
	 */
	if (gd_bad_csum)
		e2fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
	err = ext2fs_read_bitmaps(e2fs);
	if (err) {
		ret = mount_fail(errbuf, errlen, jfs_errno(err) == -EIO ? -EIO : -EUCLEAN,
				 "jbdlab: %s: cannot read the bitmaps: %s", image, error_message(err));
		goto out_unlock;
	}
	fs->s_maxbytes = ext4_max_size(blkbits, ext2fs_has_feature_huge_file(e2fs->super));
	fs->s_bitmap_maxbytes = ext4_max_bitmap_size(blkbits, ext2fs_has_feature_huge_file(e2fs->super));
	fs->gd_bytes = (size_t)e2fs->desc_blocks * fs->blocksize;
	fs->gd_snap = malloc(fs->gd_bytes);
	fs->dirty_groups = calloc(e2fs->group_desc_count, 1);
	if (!fs->gd_snap || !fs->dirty_groups) {
		ret = mount_fail(errbuf, errlen, -ENOMEM, "jbdlab: %s: out of memory", image);
		goto out_unlock;
	}
	fs->saved_state = e2fs->super->s_state;
	if (!fs->ro && internal && !fs->opts.journal_inplace) {
		ret = jfs_journal_load(fs, errbuf, errlen);
		if (ret)
			goto out_unlock;
	}
	jfs_install_alloc_hooks(fs);
	__jfs_journal_install_hooks(fs);
	if (e2fs->super->s_state & EXT2_ERROR_FS)
		fprintf(stderr, "jbdlab: %s: warning: mounting fs with errors, running e2fsck is recommended\n",
			image);
	else if (!(e2fs->super->s_state & EXT2_VALID_FS))
		fprintf(stderr, "jbdlab: %s: warning: mounting unchecked fs, running e2fsck is recommended\n",
			image);

	if (fs->journal) {
		ret = __setup_super_journal(fs);
		if (ret) {
			mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot write the superblock: %s",
				   image, strerror(-ret));
			current_jfs = NULL;
			mutex_unlock(&fs->fs_lock);
			goto out_e2fs;
		}
		fs->mounted_rw = true;
	}
	current_jfs = NULL;
	mutex_unlock(&fs->fs_lock);

	if (!fs->ro && !fs->journal) {
		/*
		 * No journal: fuse2fs semantics, the image is "not clean" while
		 * mounted.  Written and made durable before any other change.
		 */
		ret = jfs_op_begin(fs, "mount", 1);
		if (ret)
			goto out_e2fs;
		e2fs->super->s_state &= ~EXT2_VALID_FS;
		e2fs->super->s_mnt_count++;
		e2fs->super->s_mtime = time(NULL);
		ret = jfs_op_end(fs, 0);
		if (!ret)
			ret = sync_blockdev(fs->bdev);
		if (ret) {
			mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot write the superblock: %s",
				   image, strerror(-ret));
			goto out_e2fs;
		}
		fs->mounted_rw = true;
	}
	if (!fs->ro) {
		if (!(fs->saved_state & EXT2_ERROR_FS) && e2fs->super->s_last_orphan) {
			ret = jfs_op_begin(fs, "orphan_cleanup", jfs_credits_data(fs));
			if (!ret)
				ret = jfs_op_end(fs, __jfs_orphan_cleanup(fs));
			if (ret)
				fprintf(stderr, "jbdlab: %s: warning: orphan cleanup failed: %s\n",
					image, strerror(-ret));
		} else if (e2fs->super->s_last_orphan) {
			fprintf(stderr, "jbdlab: %s: warning: errors on the fs, skipping orphan cleanup\n",
				image);
		}
	}
	mutex_lock(&fs->fs_lock);
	fs->mount_phase = false;
	mutex_unlock(&fs->fs_lock);

	ret = writeback_start(&fs->mapping, fs->opts.dirty_writeback_ms);
	if (ret) {
		/* Everything written so far is durable; the mount cannot run. */
		mount_fail(errbuf, errlen, ret, "jbdlab: %s: cannot start writeback: %s",
			   image, strerror(-ret));
		goto out_e2fs;
	}
	*out = fs;
	return 0;

out_e2fs:
	/* Failure after the first write: commit, write back what is there, close. */
	jfs_journal_destroy(fs);
	mutex_lock(&fs->fs_lock);
	fs->mount_phase = true;
	current_jfs = fs;
	__jfs_journal_free_hooks(fs);
	sync_blockdev(fs->bdev);
	ext2fs_free(fs->e2fs);
	fs->e2fs = NULL;
	current_jfs = NULL;
	mutex_unlock(&fs->fs_lock);
	goto out_destroy;
out_unlock_written:
	/* replay wrote (and synced) what it replayed; nothing else is dirty */
out_unlock:
	/* Nothing was written: drop the cache without writeback. */
	if (fs->journal) {
		jfs_journal_destroy(fs);
		__jfs_journal_free_hooks(fs);
	}
	if (e2fs)
		ext2fs_free(e2fs);
	fs->e2fs = NULL;
	current_jfs = NULL;
	mutex_unlock(&fs->fs_lock);
out_destroy:
	invalidate_bh_lrus();
	address_space_destroy(&fs->mapping);
out_close:
	if (fs->bdev)
		blockdev_close(fs->bdev);
out_free:
	fs_free(fs);
	return ret;
}

/* Forget the in-memory inodes without deleting anything (ro fallback). */
static void __drop_inode_table(struct jfs *fs)
{
	lockdep_assert_held(&fs->fs_lock);
	for (unsigned int h = 0; h < JFS_INODE_HASH; h++) {
		while (fs->itable[h]) {
			struct jfs_inode *ji = fs->itable[h];

			fs->itable[h] = ji->hnext;
			free(ji);
		}
	}
}

int jfs_unmount(struct jfs *fs)
{
	ext2_filsys e2fs;
	bool journal_ok = false, had_journal;
	int ret, err;

	if (!fs || fs->magic != JFS_MAGIC)
		return -EINVAL;
	e2fs = fs->e2fs;
	had_journal = fs->journal != NULL;

	/* Orphans whose last forget/release never came (ext4_put_super has none
	 * left: the VFS evicted them; FUSE may not send the last forgets). */
	if (!fs->ro) {
		ret = jfs_op_begin(fs, "unmount", jfs_credits_data(fs));
		if (!ret) {
			err = __jfs_inode_release_all(fs);
			if (fs->mounted_rw && !had_journal) {
				e2fs->super->s_state = fs->saved_state;
				if (fs->had_errors)
					e2fs->super->s_state |= EXT2_ERROR_FS;
				e2fs->super->s_wtime = time(NULL);
			}
			ret = jfs_op_end(fs, err);
		} else if (ret == -EROFS) {
			ret = 0;	/* fell back to ro meanwhile */
		}
	} else {
		ret = 0;
	}
	mutex_lock(&fs->fs_lock);
	if (fs->ro)
		__drop_inode_table(fs);	/* ro (or ro fallback): nothing to delete */
	mutex_unlock(&fs->fs_lock);

	if (had_journal) {
		/* commit, checkpoint everything, s_start = 0 (no fs lock: the
		 * final commit's callback releases the deferred frees) */
		err = jfs_journal_destroy(fs);
		journal_ok = !err && !fs->aborted;
		if (err && !fs->aborted && !ret)
			ret = err;
	}

	mutex_lock(&fs->fs_lock);
	fs->mount_phase = true;
	current_jfs = fs;
	if (journal_ok && fs->mounted_rw) {
		/* ext4_put_super: only after the final checkpoint */
		ext2fs_clear_feature_journal_needs_recovery(e2fs->super);
		e2fs->super->s_state = fs->saved_state;
		if (fs->had_errors)
			e2fs->super->s_state |= EXT2_ERROR_FS;
		e2fs->super->s_wtime = time(NULL);
		ext2fs_superblock_csum_set(e2fs, e2fs->super);
		if (io_channel_write_byte(e2fs->io, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, e2fs->super) &&
		    !ret)
			ret = -EIO;
	}
	__jfs_journal_free_hooks(fs);
	if (!fs->aborted) {
		err = sync_blockdev(fs->bdev);
		if (!ret)
			ret = err;
	}
	ext2fs_free(e2fs);
	fs->e2fs = NULL;
	current_jfs = NULL;
	mutex_unlock(&fs->fs_lock);

	writeback_stop(&fs->mapping);
	if (fs->aborted)
		jfs_journal_discard_dirty(fs);
	invalidate_bh_lrus();
	address_space_destroy(&fs->mapping);
	blockdev_close(fs->bdev);
	fs->magic = 0;
	fs_free(fs);
	return ret;
}

void jfs_lab_view(struct jfs *fs, struct jfs_lab_view *v)
{
	v->bdev = fs->bdev;
	v->mapping = &fs->mapping;
	v->journal = fs->journal;
	v->blocksize = fs->blocksize;
}

void jfs_get_stats(struct jfs *fs, struct jfs_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!fs || fs->magic != JFS_MAGIC)
		return;
	st->ops = atomic_load(&fs->nr_ops);
	st->cache_bytes = atomic_load(&fs->mapping.nrpages) * PAGE_SIZE;
	st->cache_limit = fs->mapping.limit_bytes;
	st->evictions = atomic_load(&fs->mapping.stat_evictions);
	st->dev_reads = atomic_load(&fs->bdev->stat_reads);
	st->dev_writes = atomic_load(&fs->bdev->stat_writes);
	st->dev_flushes = atomic_load(&fs->bdev->stat_flushes);
	st->bytes_written = atomic_load(&fs->bdev->stat_bytes_written);
	mutex_lock(&fs->fs_lock);
	st->credit_overruns = fs->credit_overruns;
	mutex_unlock(&fs->fs_lock);
}
