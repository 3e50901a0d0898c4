/* SPDX-License-Identifier: GPL-2.0 */
/*
 * errno.c - the one translation from libext2fs's errcode_t to -errno.
 *
 * libext2fs returns two kinds of codes through one type: plain errnos
 * (below EXT2_ET_BASE, from the I/O layer -- our io_manager returns EIO,
 * ENOMEM...) and com_err codes of the ext2 table.  The plain ones are
 * returned negated (fuse2fs 1.47.0 returns them positive, a bug fixed in
 * HEAD).  The table follows the kernel's conventions where ext4 has them
 * (libext2fs.md §5.4): on-disk corruption is EUCLEAN (EFSCORRUPTED), a bad
 * checksum is EBADMSG (EFSBADCRC), allocation failures are ENOSPC, and
 * anything the table does not know is EIO.
 *
 * Locking rules: none; a pure function, callable from any context.
 */
#include <errno.h>
#include "fs_internal.h"

int jfs_errno(errcode_t err)
{
	if (!err)
		return 0;
	if (err > 0 && err < EXT2_ET_BASE)
		return -(int)err;

	switch (err) {
	case EXT2_ET_NO_MEMORY:
	case EXT2_ET_TDB_ERR_OOM:
		return -ENOMEM;
	case EXT2_ET_INVALID_ARGUMENT:
	case EXT2_ET_LLSEEK_FAILED:
	case EXT2_ET_BAD_INODE_NUM:
		return -EINVAL;
	case EXT2_ET_NO_DIRECTORY:
		return -ENOTDIR;
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_TOOSMALL:
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_DIR_NO_SPACE_FOR_CSUM:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
	case EXT2_ET_EXTENT_NO_SPACE:
		return -ENOSPC;
	case EXT2_ET_SYMLINK_LOOP:
		return -ELOOP;
	case EXT2_ET_FILE_TOO_BIG:
		return -EFBIG;
	case EXT2_ET_FILE_EXISTS:
	case EXT2_ET_DIR_EXISTS:
	case EXT2_ET_TDB_ERR_EXISTS:
		return -EEXIST;
	case EXT2_ET_MMP_FAILED:
	case EXT2_ET_MMP_FSCK_ON:
		return -EBUSY;
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return -ENODATA;
	case EXT2_ET_UNIMPLEMENTED:
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_EXTENT_NOT_SUPPORTED:
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
		return -EOPNOTSUPP;
	case EXT2_ET_RO_FILSYS:
		return -EROFS;
	case EXT2_ET_FILE_RO:
		return -EBADF;
	case EXT2_ET_SB_CSUM_INVALID:
	case EXT2_ET_BLOCK_BITMAP_CSUM_INVALID:
	case EXT2_ET_INODE_BITMAP_CSUM_INVALID:
	case EXT2_ET_INODE_CSUM_INVALID:
	case EXT2_ET_EXTENT_CSUM_INVALID:
	case EXT2_ET_DIR_CSUM_INVALID:
	case EXT2_ET_EXT_ATTR_CSUM_INVALID:
	case EXT2_ET_MMP_CSUM_INVALID:
	case EXT2_ET_BAD_CRC:
		return -EBADMSG;
	case EXT2_ET_BAD_MAGIC:
	case EXT2_ET_CORRUPT_SUPERBLOCK:
	case EXT2_ET_DIR_CORRUPTED:
	case EXT2_ET_FILESYSTEM_CORRUPTED:
	case EXT2_ET_INODE_CORRUPTED:
	case EXT2_ET_INODE_IS_GARBAGE:
	case EXT2_ET_EA_INODE_CORRUPTED:
	case EXT2_ET_RESIZE_INODE_CORRUPT:
	case EXT2_ET_EXTENT_HEADER_BAD:
	case EXT2_ET_EXTENT_INDEX_BAD:
	case EXT2_ET_EXTENT_LEAF_BAD:
	case EXT2_ET_EXTENT_INVALID_LENGTH:
	case EXT2_ET_EXTENT_CYCLE:
	case EXT2_ET_BAD_EA_HEADER:
	case EXT2_ET_BAD_EA_BLOCK_NUM:
	case EXT2_ET_BAD_EA_HASH:
	case EXT2_ET_EA_BAD_NAME_LEN:
	case EXT2_ET_EA_BAD_VALUE_OFFSET:
	case EXT2_ET_EA_BAD_VALUE_SIZE:
	case EXT2_ET_BAD_BLOCK_NUM:
	case EXT2_ET_BAD_IND_BLOCK:
	case EXT2_ET_BAD_DIND_BLOCK:
	case EXT2_ET_BAD_TIND_BLOCK:
	case EXT2_ET_GDESC_BAD_BLOCK_MAP:
	case EXT2_ET_GDESC_BAD_INODE_MAP:
	case EXT2_ET_GDESC_BAD_INODE_TABLE:
	case EXT2_ET_MISSING_INODE_TABLE:
	case EXT2_ET_BAD_DESC_SIZE:
	case EXT2_ET_CORRUPT_JOURNAL_SB:
	case EXT2_ET_UNDO_FILE_CORRUPT:
	case EXT2_ET_TDB_ERR_CORRUPT:
		return -EUCLEAN;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
	default:
		return -EIO;
	}
}
