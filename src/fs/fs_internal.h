/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fs_internal.h - shared internals of src/fs/.  Not for the FUSE layer or
 * the lab (they see include/fs.h only).
 *
 * Files of src/fs/:
 *   super.c     mount/unmount, feature checks, superblock state
 *   io_manager.c  the ONLY io_manager: every libext2fs block read/write goes
 *               through the simulated page cache (bdev_getblk/__bread)
 *   op.c        the per-operation wrapper: fs lock, credits, end-of-op sync of
 *               the in-memory superblock/GDT/bitmaps (libext2fs.md §3.3 Option B)
 *   errno.c     jfs_errno(): the one errcode_t -> -errno translation
 *   inode.c     in-memory inode references (lookup/open counts), orphan list
 *               (ext4_orphan_add/del), final delete (ext4_evict_inode)
 *   attr.c      getattr/setattr/access/permission, timestamps, statfs
 *   file.c      the data path: read/write/truncate/fallocate (file data through
 *               the bdev page cache, never through ext2_file_t)
 *   namei.c     lookup/mknod/mkdir/symlink/link/unlink/rmdir/rename/readlink
 *   dir.c       readdir with (lblk, offset) cookies
 *   xattr.c     set/get/list/remove
 *   journal.c   the fs side of the journal (ext4_jbd2.c + ext4_load_journal):
 *               handles per op, journaled io_manager writes, ordered and
 *               journaled data, deferred frees and revokes, fsync, errors=
 *
 * Locking: struct jfs::fs_lock (a mutex) is held across every libext2fs
 * call and every access to the [fs_lock] fields below.  It nests outside
 * everything in src/migrate_sim and src/blockdev (include/locking.h).
 */
#ifndef JBDLAB_FS_INTERNAL_H
#define JBDLAB_FS_INTERNAL_H

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include "fs.h"
#include "mm.h"
#include "blockdev.h"
#include "locking.h"
#include "jbd2.h"

#define JFS_MAGIC	0x4a465331u	/* "JFS1", checked on entry (e2fsprogs habit) */

/* In-memory inode state that outlives a single operation (struct inode's
 * i_count/i_nlink view).  Created on first reference, freed when both counts
 * are 0 and the inode is not an orphan awaiting release. */
struct jfs_inode {
	ext2_ino_t ino;			/* [const] */
	uint64_t nlookup;		/* fuse lookup count [fs_lock] */
	unsigned int nopen;		/* open files + open dirs [fs_lock] */
	bool orphan;			/* on the on-disk orphan list [fs_lock] */
	struct jfs_inode *hnext;	/* hash chain [fs_lock] */
	/* ext4_inode_info's i_sync_tid / i_datasync_tid: the last transaction
	 * that changed the inode (any change / a change fdatasync needs);
	 * 0 = unknown, fsync then waits for the running transaction
	 * (ext4_iget's conservative choice) [fs_lock] */
	uint32_t i_sync_tid;
	uint32_t i_datasync_tid;
};

#define JFS_INODE_HASH	4096

struct jfs {
	unsigned int magic;			/* [const] JFS_MAGIC */
	struct mutex fs_lock;
	ext2_filsys e2fs;			/* [fs_lock] */
	struct block_device *bdev;		/* [const] */
	struct address_space mapping;		/* the bdev page cache (own locks) */
	struct jfs_mount_opts opts;		/* [const] */
	bool ro;				/* [fs_lock] ro mount, or fell back to ro */
	unsigned int blocksize;			/* [const] */
	uint64_t s_maxbytes;			/* [const] ext4_max_size() */
	char image[4096];			/* [const] */

	struct jfs_inode *itable[JFS_INODE_HASH];	/* [fs_lock] */

	/* end-of-op sync (op.c) */
	unsigned char *dirty_groups;		/* one byte of JFS_GD_* flags per group [fs_lock] */
	struct ext2_super_block sb_snap;	/* superblock at op start [fs_lock] */
	void *gd_snap;				/* group descriptors at op start [fs_lock] */
	size_t gd_bytes;			/* [const] */
	const char *op_name;			/* current operation [fs_lock] */
	int op_credits;				/* credits declared for it [fs_lock] */

	_Atomic uint64_t nr_ops;		/* [atomic] */

	/* added by the core (super.c, io_manager.c, op.c, inode.c) */
	uint64_t s_bitmap_maxbytes;		/* [const] ext4_max_bitmap_size(): non-extent files */
	bool in_op;				/* between jfs_op_begin and jfs_op_end [fs_lock] */
	bool mount_phase;			/* writes outside an op are legal (mount/unmount) [fs_lock] */
	bool mounted_rw;			/* the mount-time superblock update was written [fs_lock] */
	bool had_errors;			/* an op failed inside libext2fs: ERROR_FS at unmount [fs_lock] */
	uint16_t saved_state;			/* s_state found at mount, restored at unmount [fs_lock] */
	blk64_t *op_blocks;			/* distinct blocks dirtied by this op [fs_lock] */
	unsigned int op_nblocks, op_blocks_cap;	/* [fs_lock] */
	uint64_t credit_overruns;		/* ops that dirtied more blocks than declared [fs_lock] */
	/* Tests only: called by __jfs_op_restart() at every handle boundary
	 * inside an op, fs lock held, metadata synced -- a state a commit may
	 * make durable on its own. [fs_lock] */
	void (*restart_hook)(struct jfs *fs);
	uint64_t meta_blocks_written;		/* libext2fs writes into the cache (blocks) [fs_lock] */

	/* added by the journal (journal.c; journal issue) */
	struct journal_s *journal;		/* NULL: no journal, or ro [const while mounted rw] */
	struct jbd2_journal_handle *handle;	/* the current op's handle, or NULL [fs_lock] */
	uint64_t *jmap;				/* journal block -> fs block (built once) [const] */
	unsigned int jmap_len;			/* [const] */
	struct jfs_pending *pending;		/* deferred frees (own lock, journal.c) */
	void (*chained_alloc_stats)(ext2_filsys, blk64_t, int);	/* op.c's hook [const] */
	blk64_t *op_new;			/* blocks allocated in this op: create access [fs_lock] */
	unsigned int op_nnew, op_new_cap;	/* [fs_lock] */
	bool aborted;				/* journal aborted by __jfs_error [fs_lock] */
	/* The inode whose extent tree the current op changes (write,
	 * fallocate), for __ext4_handle_dirty_metadata's ext4_error_inode();
	 * 0: none, the error names no inode. [fs_lock] */
	ext2_ino_t op_ino;
	bool replayed;				/* mount replayed the journal [const] */
	/* jfs_set_inval_hook(): attribute changes the kernel cannot infer */
	jfs_inval_fn inval_cb;			/* [const after jfs_set_inval_hook] */
	void *inval_arg;			/* [const after jfs_set_inval_hook] */
};

/* Tell the kernel's attribute cache that ino changed behind its back
 * (jfs_set_inval_hook).  Locking: fs lock. */
void __jfs_notify_inval(struct jfs *fs, ext2_ino_t ino);

/* fs->dirty_groups flags: what of group g the end-of-op sync must write. */
#define JFS_GD_BLOCK_BITMAP	0x1
#define JFS_GD_INODE_BITMAP	0x2
#define JFS_GD_DESC		0x4

/* The one io_manager ("jbdlab"), io_manager.c. */
extern io_manager jfs_io_manager;

/* Block units per operation for unbounded work (truncate, punch, fallocate,
 * long writes): each chunk runs in its own op, as the kernel restarts its
 * handles (ext4_ext_truncate_extend_restart, ext4_alloc_file_blocks). */
#define JFS_CHUNK_BLOCKS	256

/* The thread-local context the io_manager uses to find its filesystem and
 * the current operation (the analogue of journal_current_handle()). */
extern __thread struct jfs *current_jfs;

/* ---- super.c: the open-time checks, shared by mount and `jbdlab replay` ---- */
/* Print a refusal's reason into errbuf (if any); returns 0, for
 * "return jfs_msg(...), -EINVAL".  No locks. */
int jfs_msg(char *errbuf, size_t errlen, const char *fmt, ...) __printf(3, 4);
/* What jfs_check_super() asks of the features: nothing (offline replay),
 * or the mount's policy for a ro or a rw mount. */
#define JFS_CHECK_NO_FEATURES	0
#define JFS_CHECK_RO		1
#define JFS_CHECK_RW		2
/* __ext4_fill_super()'s checks of the raw superblock (checksum, block and
 * inode sizes, geometry against @dev_size bytes; the features by @policy).
 * No locks.  0 or -errno, the reason (no "jbdlab: IMAGE:" prefix) in errbuf. */
int jfs_check_super(const struct ext2_super_block *sb, uint64_t dev_size, int policy,
		    char *errbuf, size_t errlen);
/* ext4_check_descriptors() over an open libext2fs: locations, then the
 * descriptor checksums (with @ro every group is checked and a checksum
 * failure is only reported).  The caller holds what @e2fs's io_manager
 * needs.  0, -EFSCORRUPTED (location) or -EFSBADCRC, reason in errbuf. */
int jfs_check_descriptors(ext2_filsys e2fs, bool ro, char *errbuf, size_t errlen);
/* ext4_get_journal_inode(): inode number, checksum (@verify_csum), links,
 * mode, size; the inode in *inode.  As jfs_check_descriptors for locks. */
int jfs_check_journal_inode(ext2_filsys e2fs, ext2_ino_t ino, bool verify_csum,
			    struct ext2_inode_large *inode, char *errbuf, size_t errlen);

/* ---- op.c ---- */
/* Take the fs lock and start an operation that may dirty at most `credits`
 * blocks (the kernel's credit formula for this op, libext2fs.md §7).  A
 * read-only op passes 0.  Returns -EROFS for a modifying op on a ro fs.
 * The handle records the caller's line (h_line_no, as ext4_journal_start()
 * passes __LINE__) and the ext4 handle type of the op (jfs_handle_type()). */
int jfs_op_begin_at(struct jfs *fs, const char *name, int credits, unsigned int line);
#define jfs_op_begin(fs, name, credits) jfs_op_begin_at((fs), (name), (credits), __LINE__)
/* Write the changed superblock/GDT/bitmaps into the page cache (Option B),
 * then drop the fs lock.  Returns `err`, or the sync error if err was 0. */
int jfs_op_end(struct jfs *fs, int err);
/* Kernel credit formulas for the current geometry (libext2fs.md §7.2-7.3). */
int jfs_credits_data(struct jfs *fs);		/* EXT4_DATA_TRANS_BLOCKS */
int jfs_credits_new_inode(struct jfs *fs);	/* create/mkdir/symlink */
int jfs_credits_writepage(struct jfs *fs);	/* ext4_writepage_trans_blocks */
/* ext4_meta_trans_blocks(inode, lblocks, pextents) for the fs geometry,
 * index blocks for EXT4_MAX_EXTENT_DEPTH (32a93f5bc9b9). */
int jfs_credits_meta(struct jfs *fs, int lblocks, int pextents);
/* The same for an extent tree of @depth levels (ext4_ext_index_trans_blocks
 * before 32a93f5bc9b9: depth * 2 or depth * 3); depth EXT4_MAX_EXTENT_DEPTH
 * is jfs_credits_meta(). */
int jfs_credits_meta_depth(struct jfs *fs, int lblocks, int pextents, int depth);
#define EXT4_MAX_EXTENT_DEPTH	5
/* The depth the mount's credit rule charges for @inode's extent tree:
 * EXT4_MAX_EXTENT_DEPTH under JFS_CREDITS_MAX, else ext_depth(inode) (the
 * eh_depth of the root in i_block; 0 for a block-mapped inode).  Reads
 * only the caller's copy: no lock needed. */
int jfs_credit_depth(const struct jfs *fs, const struct ext2_inode_large *inode);
/* ext4's handle types (fs/ext4/ext4_jbd2.h), recorded in h_type. */
enum ext4_handle_type {
	EXT4_HT_MISC = 0,
	EXT4_HT_INODE = 1,
	EXT4_HT_WRITE_PAGE = 2,
	EXT4_HT_MAP_BLOCKS = 3,
	EXT4_HT_DIR = 4,
	EXT4_HT_TRUNCATE = 5,
	EXT4_HT_QUOTA = 6,
	EXT4_HT_RESIZE = 7,
	EXT4_HT_MIGRATE = 8,
	EXT4_HT_MOVE_EXTENTS = 9,
	EXT4_HT_XATTR = 10,
	EXT4_HT_EXT_CONVERT = 11,
};
/* The type ext4 gives the handle of the op called @name (write_begin:
 * WRITE_PAGE, fallocate: MAP_BLOCKS, namespace ops: DIR, evict: TRUNCATE,
 * setattr and atime: INODE, xattrs: XATTR; the rest MISC). */
int jfs_handle_type(const char *name);
/* Write the current op's metadata and continue with `credits` (ext4's
 * ensure_credits / jbd2_journal_restart): the same handle if it has the
 * credits or can be extended, else a restarted one -- then the fs lock is
 * DROPPED and retaken inside (other ops may run in between; journal.c).
 * Caller holds the fs lock and is inside an op; returns 0 or -errno. */
int __jfs_op_restart(struct jfs *fs, int credits);
/* Write the changed superblock/GDT/bitmaps into the page cache (Option B);
 * used by jfs_op_end and __jfs_op_restart.  Caller holds the fs lock. */
int __jfs_sync_meta(struct jfs *fs);
/* Install the block-alloc-stats hook that feeds fs->dirty_groups (super.c). */
void jfs_install_alloc_hooks(struct jfs *fs);
/* Record an errcode_t failure inside libext2fs (ERROR_FS at unmount). */
int __jfs_fail(struct jfs *fs, errcode_t err);

/* ---- journal.c (the ext4_jbd2.c of jbdlab; see its essay) ---- */
/* Revoke records every modifying op may add (a truncate chunk's worth plus
 * its tree blocks); one descriptor-block credit per j_revoke_records_per_block. */
#define JFS_OP_REVOKES		(JFS_CHUNK_BLOCKS + 64)
/* ext4_load_journal + ext4_set_journal_csum_feature_set: init, wipe of a
 * stale log, load, features.  Entry: mount phase, fs lock held, fs->jmap built. */
int jfs_journal_load(struct jfs *fs, char *errbuf, size_t errlen);
/* s_start of the journal superblock on disk (0: empty, unreadable or no
 * magic).  Entry: mount phase, fs lock held, fs->jmap built. */
unsigned long __jfs_journal_log_start(struct jfs *fs);
/* A ro mount's ext4_load_journal() as far as a stale log goes: wipe it
 * (cleared if fs->bdev is writable, ignored if not), keep no journal.
 * Entry: mount phase, fs lock held, fs->jmap built.  0 or -errno. */
int __jfs_journal_wipe_ro(struct jfs *fs, char *errbuf, size_t errlen);
/* ext4_put_super's journal part: jbd2_journal_destroy.  Entry: no handle,
 * fs lock not held.  0, or -EIO if the journal was aborted. */
int jfs_journal_destroy(struct jfs *fs);
/* Build fs->jmap from s_journal_inum with ext2fs_bmap2 over our io_manager.
 * Entry: fs lock held, e2fs open (any mode). */
int __jfs_journal_build_map(struct jfs *fs, ext2_filsys e2fs, char *errbuf, size_t errlen);
/* ext4_journal_start_sb: a handle for an op with @credits (before the fs lock).
 * Returns NULL when the op needs none (no journal, credits 0), or ERR_PTR. */
struct jbd2_journal_handle *jfs_journal_start(struct jfs *fs, const char *name, int credits,
					     unsigned int line);
/* ext4_journal_stop (after the fs lock is dropped).  0 or -errno. */
int jfs_journal_stop(struct jfs *fs, struct jbd2_journal_handle *h);
/* ext4_journal_ensure_credits: keep, extend, or restart the op's handle
 * (then with the fs lock dropped around it: *dropped).  Entry/exit: fs
 * lock held, inside an op. */
int __jfs_journal_ensure_credits(struct jfs *fs, int credits, bool *dropped);
/* The io_manager's write inside a handle: get_write_access (create access
 * for a block allocated in this op) -> copy -> dirty_metadata.  fs lock held. */
int __jfs_journal_write_meta(struct jfs *fs, blk64_t blk, size_t off, const void *src, size_t n);
/* The data path: copy into the data block's buffer (zeros if !src); ordered:
 * dirty + jbd2_journal_file_data; data=journal: journaled like metadata.
 * @fresh: newly allocated/converted (zero-filled first, create access). */
int __jfs_journal_write_data(struct jfs *fs, blk64_t pblk, size_t boff, const char *src,
			     size_t n, bool fresh);
/* Install the allocator and stats hooks (deferred frees, revokes). fs lock held. */
void __jfs_journal_install_hooks(struct jfs *fs);
void __jfs_journal_free_hooks(struct jfs *fs);
/* After an abort: drop every cached buffer's dirty state (unmount). */
void jfs_journal_discard_dirty(struct jfs *fs);
/* Blocks freed but not yet reusable (their transaction has not committed). */
uint64_t jfs_pending_free_blocks(struct jfs *fs);
/* Note the op's start/end for the per-op bookkeeping. fs lock held. */
void __jfs_journal_op_reset(struct jfs *fs);
/* ext4_update_inode_fsync_trans: the inode changed in the running transaction. */
void __jfs_inode_update_tid(struct jfs *fs, ext2_ino_t ino, bool datasync);
/* ext4_sync_file's journal part: wait for the inode's last transaction.
 * Entry: no handle, fs lock not held.  0 or -errno. */
int jfs_journal_fsync(struct jfs *fs, ext2_ino_t ino, bool datasync);
/* ext4_sync_fs: commit the running transaction and wait.  No handle, no lock. */
int jfs_journal_sync_fs(struct jfs *fs);
/* __ext4_error + ext4_handle_error: record the error in the superblock,
 * then the errors= behaviour (abort the journal + remount-ro / continue /
 * panic).  Entry: fs lock held. */
void __jfs_error(struct jfs *fs, const char *func, unsigned int line, int err,
		 ext2_ino_t ino, blk64_t block, const char *fmt, ...) __printf(7, 8);
#define JFS_ERROR(fs, err, ino, blk, fmt, ...) \
	__jfs_error((fs), __func__, __LINE__, (err), (ino), (blk), fmt, ##__VA_ARGS__)

/* ---- errno.c ---- */
int jfs_errno(errcode_t err);

/* ---- inode.c ---- */
struct jfs_inode *jfs_inode_find(struct jfs *fs, ext2_ino_t ino, bool create);
void jfs_inode_ref_lookup(struct jfs *fs, ext2_ino_t ino);	/* nlookup++ */
int __jfs_read_inode(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
int __jfs_write_inode(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
int __jfs_touch_ctime(struct jfs *fs, ext2_ino_t ino);	/* read, ctime = now, write */
/* nlink reached 0: orphan it if referenced, else free it now. */
int __jfs_inode_unlinked(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
/* Drop references; frees an unreferenced orphan. */
int __jfs_inode_maybe_evict(struct jfs *fs, ext2_ino_t ino);
int __jfs_orphan_add(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
int __jfs_orphan_del(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
/* open count +1 (jfs_open, jfs_create, jfs_opendir); caller holds the fs lock. */
void __jfs_inode_open(struct jfs *fs, ext2_ino_t ino);
/* open count -1 and maybe evict (jfs_release, jfs_releasedir); fs lock held. */
int __jfs_inode_close(struct jfs *fs, ext2_ino_t ino);
/* The final delete of an unlinked inode (ext4_evict_inode): may restart the op. */
int __jfs_evict_inode(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
/* Mount-time orphan list processing (ext4_orphan_cleanup); fs lock held, in an op. */
int __jfs_orphan_cleanup(struct jfs *fs);
/* Unmount: delete every orphan still referenced, free the inode table. */
int __jfs_inode_release_all(struct jfs *fs);

/* ---- attr.c ---- */
#define JFS_MAY_EXEC	1
#define JFS_MAY_WRITE	2
#define JFS_MAY_READ	4
/* generic_permission(): -EACCES/0; a no-op with default_permissions or fakeroot. */
int __jfs_permission(struct jfs *fs, const struct jfs_cred *c,
		     const struct ext2_inode_large *inode, int mask);
bool jfs_cred_is_root(const struct jfs *fs, const struct jfs_cred *c);
bool jfs_cred_in_group(const struct jfs_cred *c, gid_t gid);
void __jfs_fill_stat(struct jfs *fs, ext2_ino_t ino, const struct ext2_inode_large *inode,
		     struct stat *st);
/* Timestamps with nanoseconds and the extra epoch bits. */
#define JFS_T_ATIME	1
#define JFS_T_MTIME	2
#define JFS_T_CTIME	4
#define JFS_T_CRTIME	8
void jfs_inode_set_time(struct ext2_inode_large *inode, int which, const struct timespec *ts);
void jfs_inode_touch(struct ext2_inode_large *inode, int which);	/* now */
void jfs_inode_get_time(const struct ext2_inode_large *inode, int which, struct timespec *ts);
/* touch_atime(): update i_atime after a read/readdir if the mount's atime
 * policy asks for it, as an inode-only step of 2 credits (restarts the op;
 * ext4_dirty_inode).  Caller holds the fs lock, inside an op.  The kernel
 * ignores the result; callers may too. */
int __jfs_touch_atime(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
/* file_remove_privs()/should_remove_suid(): clear S_ISUID, and S_ISGID with
 * group-exec, of a regular file changed by a caller without CAP_FSETID;
 * true if the mode changed.  No lock needed (works on the caller's copy). */
bool jfs_inode_kill_suid(struct jfs *fs, const struct jfs_cred *c,
			 struct ext2_inode_large *inode);

/* ---- file.c ---- */
/* Free blocks past new_size and zero the tail of the last partial block in
 * the page cache (ext4_truncate); sets i_size.  Caller writes the inode. */
int __jfs_truncate(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode,
		   uint64_t new_size);
/* Free every block of an inode (evict); may restart the op between chunks. */
int __jfs_free_inode_blocks(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode);
/* The size limit for this inode: s_maxbytes, or s_bitmap_maxbytes without extents. */
uint64_t jfs_inode_maxbytes(const struct jfs *fs, const struct ext2_inode_large *inode);
/* i_size of an inode (i_size | i_size_high << 32), and the setter that also
 * sets RO_COMPAT_LARGE_FILE when needed (ext4_update_inode_size). */
uint64_t jfs_i_size(const struct ext2_inode_large *inode);
void __jfs_set_i_size(struct jfs *fs, struct ext2_inode_large *inode, uint64_t size);

/* ---- namei.c ---- */
/* ENAMETOOLONG for more than EXT2_NAME_LEN bytes, EINVAL for empty names. */
int jfs_check_name(const char *name);
/* ext4_has_free_clusters(): ENOSPC unless `need` blocks are available to
 * this caller above the kernel's reserves (s_resv_clusters, r_blocks for
 * non-root).  Used by namei.c and xattr.c before their first change. */
int jfs_ns_can_allocate(struct jfs *fs, const struct jfs_cred *c, uint64_t need);

/* ---- htree.c: indexed directories (ext4_dx_find_entry, make_indexed_dir) ---- */
#define JFS_DX_FALLBACK	1	/* ERR_BAD_DX_DIR: the index is unusable, walk linearly */
#define JFS_DX_ROOT_INFO_OFF	24	/* dx_root_info: after "." (12) and the ".." header (12) */
/* ext4_check_dir_entry() of the entry at @off (< @end) of a directory
 * block: 0 with its rec_len, or -EUCLEAN.  Pure: no lock needed. */
int jfs_dir_check_entry(struct jfs *fs, const char *buf, unsigned int off,
			unsigned int end, unsigned int *rec_len);
/* dx_probe's hash: the root's hash version as ext2fs_dirhash2() wants it
 * (+3 under EXT2_FLAGS_UNSIGNED_HASH), or -1 for an unknown one. */
int jfs_dx_hash_alg(struct jfs *fs, unsigned int version);
/* Through the index of dx directory @dir (@inode read by the caller): 0,
 * -ENOENT, JFS_DX_FALLBACK or -errno.  lookup sets *ino; delete removes
 * name -> ino; setent points name (now old_ino) at new_ino. */
int __jfs_dx_lookup(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		    const char *name, ext2_ino_t *ino);
int __jfs_dx_delete(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		    const char *name, ext2_ino_t ino);
int __jfs_dx_setent(struct jfs *fs, ext2_ino_t dir, struct ext2_inode_large *inode,
		    const char *name, ext2_ino_t old_ino, ext2_ino_t new_ino, int ftype);
/* A full one-block linear directory becomes indexed: 0, JFS_DX_FALLBACK
 * (stays linear), -errno. */
int __jfs_dx_make_indexed(struct jfs *fs, ext2_ino_t dir);

#endif /* JBDLAB_FS_INTERNAL_H */
