/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fs.h - the filesystem-operation API of jbdlab (src/fs/).  Both the FUSE
 * adapter (src/fuse/) and the race lab call only this.  Inode numbers are
 * ext4 inode numbers (the root is EXT2_ROOT_INO = 2; mapping FUSE's nodeid 1
 * is the adapter's business).
 *
 * Every function returns 0 (or a byte count) on success and -errno on
 * failure.  Every operation takes the fs lock for its whole duration
 * (libext2fs is not thread-safe); everything below it is concurrent.
 *
 * Lifetime of inodes (fuse low-level semantics, like the kernel's
 * iget/iput): every successful jfs_lookup/jfs_iget/jfs_mknod/jfs_mkdir/
 * jfs_symlink/jfs_link/jfs_create adds 1 to the inode's lookup count, and
 * jfs_forget() removes them; jfs_open/jfs_create/jfs_opendir add an open
 * reference that jfs_release/jfs_releasedir drop.  An inode whose link
 * count reaches 0 while referenced is put on the orphan list and freed at
 * its last forget/release (fstests generic/035).
 */
#ifndef JBDLAB_FS_H
#define JBDLAB_FS_H

#include <stdbool.h>
#include <stdio.h>	/* FILE: jfs_logdump */
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

struct jfs;
struct strategy;

/* Credentials of the caller (fuse_req_ctx, or the lab's worker). */
struct jfs_cred {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	mode_t umask;
	int ngroups;		/* supplementary groups, may be 0 */
	const gid_t *groups;
};

enum jfs_errors_behaviour { JFS_ERRORS_DEFAULT, JFS_ERRORS_CONTINUE, JFS_ERRORS_RO, JFS_ERRORS_PANIC };

/* Access-time policy (MNT_NOATIME / MNT_RELATIME / MNT_STRICTATIME); the
 * zero value is relatime, the kernel's default since 2.6.30. */
enum jfs_atime_policy { JFS_ATIME_RELATIME, JFS_ATIME_NOATIME, JFS_ATIME_STRICT };

/* How extent-tree index credits are estimated (ext4_ext_index_trans_blocks,
 * kernel-race.md §2.5 I3): from EXT4_MAX_EXTENT_DEPTH (32a93f5bc9b9, the
 * default) or from the inode's extent depth when the estimate is made (the
 * rule before it: an extent tree that grows before the insert overruns). */
enum jfs_credit_rule { JFS_CREDITS_MAX, JFS_CREDITS_DEPTH };

struct jfs_mount_opts {
	bool ro;			/* no user writes (device writes: replay, stale-log wipe) */
	bool fakeroot;			/* every caller is treated as root (fuse2fs's option) */
	bool default_permissions;	/* the kernel checks permissions; the fs skips them */
	size_t cache_size;		/* bytes of page cache; 0 = default (256 MiB) */
	unsigned int folio_order;	/* bdev folio order; default 0 (4 KiB folios) */
	const char *write_log;		/* dm-log-writes log of every device write, or NULL */
	unsigned int dirty_writeback_ms;/* writeback interval; 0 = default (5000) */
	unsigned int dma_delay_us;	/* blockdev: max random delay before the DMA moment */
	unsigned int flush_delay_ms;	/* blockdev: every cache flush takes this much more */
	uint64_t seed;			/* seed of every random choice below the fs */
	const struct strategy *strategy;/* fix strategy of the page cache (strategy.h);
					 * NULL = strategy_default (bh-migrate, v6.15+) */
	/* journal (issue 3) */
	unsigned int commit_interval;	/* seconds; 0 = default 5 */
	bool data_journal;		/* data=journal instead of data=ordered */
	bool norecovery;		/* noload/norecovery: mount ro and stale */
	bool journal_inplace;		/* rw without loading the (clean) journal: metadata is written
					 * in place, as e2fsck does; only `jbdlab replay` uses it, to
					 * release the orphan list after a recovery */
	enum jfs_errors_behaviour errors;
	/* access times (read, readdir) */
	enum jfs_atime_policy atime;	/* default relatime */
	bool nodiratime;		/* no atime updates on directories */
	/* the race lab's switches (issue 14) */
	enum jfs_credit_rule credits;	/* default JFS_CREDITS_MAX (32a93f5bc9b9) */
	bool revoke_lookup_alias;	/* jbd2_journal_cancel_revoke() looks up the alias even
					 * when bh is the bdev buffer (before 981fcc5674e6) */
};

/* Mount: open the image, validate it, build the page cache and open
 * libext2fs over it.  On failure returns -errno and writes a one-line reason
 * to errbuf (e.g. "unsupported incompat feature 0x10000"); nothing is
 * written to the image. */
int jfs_mount(const char *image, const struct jfs_mount_opts *o, struct jfs **out,
	      char *errbuf, size_t errlen);
/* Unmount: release every remaining orphan, write everything home, flush,
 * close.  Returns the first error seen while writing (the fs is freed anyway). */
int jfs_unmount(struct jfs *fs);

/* setattr bits (same values as FUSE_SET_ATTR_*). */
#define JFS_SET_MODE		(1 << 0)
#define JFS_SET_UID		(1 << 1)
#define JFS_SET_GID		(1 << 2)
#define JFS_SET_SIZE		(1 << 3)
#define JFS_SET_ATIME		(1 << 4)
#define JFS_SET_MTIME		(1 << 5)
#define JFS_SET_ATIME_NOW	(1 << 7)
#define JFS_SET_MTIME_NOW	(1 << 8)
#define JFS_SET_CTIME		(1 << 10)
/* Not a FUSE_SET_ATTR_* value: the change comes through an open file
 * (ftruncate, FATTR_FH): the opener's access was checked at open, so a size
 * change needs no write permission on the mode (do_sys_ftruncate). */
#define JFS_SET_FH		(1 << 24)

/* rename flags (same values as RENAME_* of renameat2). */
#define JFS_RENAME_NOREPLACE	(1 << 0)
#define JFS_RENAME_EXCHANGE	(1 << 1)
#define JFS_RENAME_WHITEOUT	(1 << 2)

/*
 * The attribute-change notifier.  The kernel keeps the attributes of a FUSE
 * inode for attr_timeout and revalidates on its own after every request it
 * knows changes them (fuse_invalidate_attr and friends), but some changes
 * are side effects it cannot infer -- a write, fallocate or open(O_TRUNC)
 * by a caller without CAP_FSETID dropping S_ISUID/S_ISGID (file_remove_privs;
 * a kernel that grants FUSE_CAP_HANDLE_KILLPRIV leaves that to us and keeps
 * its cached mode).  In a kernel ext4 there is no second copy to invalidate;
 * here the fs calls cb(arg, ino) for each such change, with the fs lock
 * held, so cb must only queue (the FUSE adapter's notifier thread sends
 * fuse_lowlevel_notify_inval_inode).  Set once before the first op.
 */
typedef void (*jfs_inval_fn)(void *arg, ino_t ino);
void jfs_set_inval_hook(struct jfs *fs, jfs_inval_fn cb, void *arg);

int jfs_lookup(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name, struct stat *st);
int jfs_iget(struct jfs *fs, ino_t ino, struct stat *st);	/* lookup count +1 (readdirplus) */
void jfs_forget(struct jfs *fs, ino_t ino, uint64_t nlookup);
int jfs_getattr(struct jfs *fs, ino_t ino, struct stat *st);
int jfs_setattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const struct stat *attr,
		int to_set, struct stat *out);
int jfs_access(struct jfs *fs, const struct jfs_cred *c, ino_t ino, int mask);
ssize_t jfs_readlink(struct jfs *fs, ino_t ino, char *buf, size_t size);

int jfs_mknod(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	      mode_t mode, dev_t rdev, struct stat *st);
int jfs_mkdir(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	      mode_t mode, struct stat *st);
int jfs_symlink(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
		const char *target, struct stat *st);
int jfs_link(struct jfs *fs, const struct jfs_cred *c, ino_t ino, ino_t newdir,
	     const char *newname, struct stat *st);
int jfs_unlink(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name);
int jfs_rmdir(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name);
int jfs_rename(struct jfs *fs, const struct jfs_cred *c, ino_t olddir, const char *oldname,
	       ino_t newdir, const char *newname, unsigned int flags);

/* open flags are open(2)'s: O_ACCMODE, O_TRUNC, O_APPEND are honoured. */
int jfs_open(struct jfs *fs, const struct jfs_cred *c, ino_t ino, int flags);
int jfs_create(struct jfs *fs, const struct jfs_cred *c, ino_t dir, const char *name,
	       mode_t mode, int flags, struct stat *st);
int jfs_release(struct jfs *fs, ino_t ino);
ssize_t jfs_read(struct jfs *fs, ino_t ino, off_t off, size_t size, char *buf);
ssize_t jfs_write(struct jfs *fs, const struct jfs_cred *c, ino_t ino, off_t off,
		  const char *buf, size_t size);
int jfs_flush(struct jfs *fs, ino_t ino);
int jfs_fsync(struct jfs *fs, ino_t ino, bool datasync);
/* mode: 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE|KEEP_SIZE,
 * FALLOC_FL_ZERO_RANGE[|KEEP_SIZE]; anything else -EOPNOTSUPP. */
int jfs_fallocate(struct jfs *fs, const struct jfs_cred *c, ino_t ino, int mode,
		  off_t off, off_t len);

int jfs_opendir(struct jfs *fs, const struct jfs_cred *c, ino_t ino);
int jfs_releasedir(struct jfs *fs, ino_t ino);
/* Called per entry; `next` is the cookie that resumes after this entry.
 * Return non-zero to stop (the caller's buffer is full; the entry was NOT
 * consumed). */
typedef int (*jfs_filldir_t)(void *ctx, const char *name, size_t namelen, ino_t ino,
			     unsigned int dtype, uint64_t next);
/* Resume at `cookie` (0 = start).  Cookies stay valid across concurrent
 * changes of the directory (an entry is never returned twice). */
int jfs_readdir(struct jfs *fs, ino_t ino, uint64_t cookie, jfs_filldir_t fill, void *ctx);
int jfs_fsyncdir(struct jfs *fs, ino_t ino, bool datasync);

int jfs_statfs(struct jfs *fs, struct statvfs *st);
int jfs_syncfs(struct jfs *fs);

/* xattrs: flags are XATTR_CREATE/XATTR_REPLACE; size 0 asks for the size. */
int jfs_setxattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const char *name,
		 const void *value, size_t size, int flags);
ssize_t jfs_getxattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const char *name,
		     void *buf, size_t size);
ssize_t jfs_listxattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, char *buf, size_t size);
int jfs_removexattr(struct jfs *fs, const struct jfs_cred *c, ino_t ino, const char *name);

/* Statistics for the summary lines of demo/bench. */
struct jfs_stats {
	uint64_t ops, cache_bytes, cache_limit, evictions, dev_reads, dev_writes, dev_flushes;
	uint64_t bytes_written;
	uint64_t credit_overruns;	/* ops that dirtied more blocks than declared */
};
void jfs_get_stats(struct jfs *fs, struct jfs_stats *st);

/* FIBMAP: the physical block of logical block @lblk of @ino (0: a hole). */
int jfs_bmap(struct jfs *fs, ino_t ino, uint64_t lblk, uint64_t *pblk);

/* What lies below the op API, for the race lab's kernel-like metadata
 * users (src/lab/), which work on buffer_heads and journal handles as
 * ext4's own callers do.  Valid until jfs_unmount(). */
struct block_device;
struct address_space;
struct journal_s;
struct jfs_lab_view {
	struct block_device *bdev;	/* the disk */
	struct address_space *mapping;	/* its page cache */
	struct journal_s *journal;	/* NULL without a journal (or ro) */
	unsigned int blocksize;
};
void jfs_lab_view(struct jfs *fs, struct jfs_lab_view *v);

/* ------------------------------------------------------ journal replay
 * (src/fs/replay.c; recovery proper is src/journal/recovery.c).
 * These run on an image nobody has mounted: single-threaded, no fs lock. */

/* What a replay found and did. */
struct jfs_replay_report {
	bool needs_recovery;		/* the ext4 superblock's needs_recovery flag */
	bool replayed;			/* recovery ran and the journal was reset */
	unsigned long log_start;	/* s_start before replay (0 = empty log) */
	uint32_t start_tid, end_tid;	/* complete transactions [start_tid, end_tid) */
	uint32_t next_tid;		/* s_sequence written after replay */
	uint32_t failed_commit;		/* tid whose commit block was corrupt, or 0 */
	int nr_replays, nr_revokes, nr_revoke_hits;
	int journal_errno;		/* the journal superblock's s_errno */
	int recover_err;		/* jbd2_journal_recover()'s result */
	bool recovered;			/* jbd2_journal_recover() ran: nothing before it
					 * depends on JFS_REPLAY_PAGECACHE */
};

#define JFS_REPLAY_NOTHING	1	/* positive return: nothing to do */
/* flags */
#define JFS_REPLAY_KERNEL	0x1	/* failed recovery: leave the journal and superblock as they
					 * are (kernel mount) instead of e2fsck's reset + fsck mark */
#define JFS_REPLAY_NO_ORPHANS	0x2	/* replay only: leave the orphan list for the next mount
					 * (without it the orphans are released after the replay,
					 * as e2fsck -E journal_only does) */
#define JFS_REPLAY_PAGECACHE	0x4	/* recover through the page cache, as a mount does,
					 * instead of the offline path's private buffers
					 * (recovery.c, "Offline recovery") */

/* `jbdlab replay`: recover IMAGE's journal like e2fsck -E journal_only.
 * Returns 0 (replayed; errbuf holds the summary line), JFS_REPLAY_NOTHING
 * (errbuf says why) or -errno with a one-line reason (refused or failed:
 * external journal, corrupt journal superblock, fast-commit replay needed,
 * checksum errors -- then the image was replayed as far as e2fsck would). */
int jfs_replay(const char *image, unsigned int flags, char *errbuf, size_t errlen);
int jfs_replay_report(const char *image, unsigned int flags, struct jfs_replay_report *rep,
		      char *errbuf, size_t errlen);
/* `jbdlab logdump`: print the journal superblock and the log (debugfs's
 * logdump); nothing is written.  0 or -errno with a reason. */
int jfs_logdump(const char *image, FILE *out, char *errbuf, size_t errlen);

/* The core, for mount: the journal whose block i is fs block blockmap[i],
 * recovered through an already built page cache (bdev->bd_mapping ==
 * mapping, blkbits = the fs block size) before anything reads the fs. */
struct block_device;
struct address_space;
int jfs_journal_replay_bdev(struct block_device *bdev, struct address_space *mapping,
			    const uint64_t *blockmap, unsigned int nblocks, unsigned int blocksize,
			    unsigned int flags, struct jfs_replay_report *rep,
			    char *errbuf, size_t errlen);

#endif /* JBDLAB_FS_H */
