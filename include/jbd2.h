/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jbd2.h - the jbd2 equivalent of jbdlab (src/journal/): the on-disk format
 * (include/linux/jbd2.h, ../shared/reference/kernel-race.md §5) and the
 * in-memory machinery (journal_t, transaction_t, handle_t, struct
 * journal_head; kernel-race.md §6).  Names and semantics are the kernel's so
 * that a strategy reads like a kernel diff.
 *
 * Files (one per phase, as fs/jbd2/):
 *   journal.c      journal_t lifetime: init, load (superblock checks), update
 *                  of the journal superblock, log space, abort, destroy; the
 *                  commit thread (kjournald2)
 *   transaction.c  handles and credits, get_write_access (frozen copy-out,
 *                  BH_Shadow waits), dirty_metadata, forget, buffer filing
 *   commit.c       jbd2_journal_commit_transaction(), the aliasing temporary
 *                  bh of jbd2_journal_write_metadata_buffer(), async log I/O
 *   checkpoint.c   checkpoint lists, jbd2_log_do_checkpoint, log-space waits,
 *                  tail advance
 *   revoke.c       the two revoke tables, revoke/cancel_revoke, revoke records
 *                  on disk, and the recovery revoke hash
 *   recovery.c     jbd2_journal_recover(): PASS_SCAN, PASS_REVOKE, PASS_REPLAY
 *   format.c       checksums and block (de)serialisation helpers
 *
 * Lock ranking (outermost first; see also include/locking.h):
 *   j_checkpoint_mutex
 *     j_state_lock (rw)            -> t_handle_lock
 *       buffer lock (BH_Lock)      (never taken under the spinlocks below)
 *         jh->b_state_lock (spin)  -> j_list_lock (spin)
 *           jbd_lock_bh_journal_head (BH_JournalHead bit spinlock, leaf)
 *   j_revoke_lock, j_logged_lock (spin) are leaves taken alone;
 *   j_wait_commit_lock is a leaf (may be taken under j_state_lock);
 *   j_abort_mutex is taken with no other journal lock held.
 *   wake_up_var() on the journal's wait queues only after dropping
 *   j_state_lock.  The fs API contract is in src/journal/journal.c.
 *   The fs lock (src/fs) is taken AFTER a handle has started and dropped
 *   before it stops; the commit thread never takes it.
 */
#ifndef JBDLAB_JBD2_H
#define JBDLAB_JBD2_H

#include <stdint.h>
#include <pthread.h>
#include <endian.h>	/* recovery: be32toh() in jbd2_has_feature_*() */
#include <errno.h>	/* recovery: EFSCORRUPTED, EFSBADCRC */
#include "compiler.h"
#include "locking.h"
#include "mm.h"

/* ================================================================ on disk */
/* All multi-byte fields are big-endian. */

#define JBD2_MAGIC_NUMBER		0xc03b3998U

#define JBD2_DESCRIPTOR_BLOCK		1
#define JBD2_COMMIT_BLOCK		2
#define JBD2_SUPERBLOCK_V1		3
#define JBD2_SUPERBLOCK_V2		4
#define JBD2_REVOKE_BLOCK		5
#define JBD2_FC_BLOCK			6

typedef struct journal_header_s {
	uint32_t h_magic;
	uint32_t h_blocktype;
	uint32_t h_sequence;
} journal_header_t;

#define JBD2_CRC32_CHKSUM		1
#define JBD2_MD5_CHKSUM			2
#define JBD2_SHA1_CHKSUM		3
#define JBD2_CRC32C_CHKSUM		4
#define JBD2_CRC32_CHKSUM_SIZE		4
#define JBD2_CHECKSUM_BYTES		(32 / sizeof(uint32_t))

struct commit_header {
	uint32_t h_magic;
	uint32_t h_blocktype;
	uint32_t h_sequence;
	unsigned char h_chksum_type;
	unsigned char h_chksum_size;
	unsigned char h_padding[2];
	uint32_t h_chksum[JBD2_CHECKSUM_BYTES];
	uint64_t h_commit_sec;
	uint32_t h_commit_nsec;
};

/* Tag of a CSUM_V3 journal: always 16 bytes. */
typedef struct journal_block_tag3_s {
	uint32_t t_blocknr;
	uint32_t t_flags;
	uint32_t t_blocknr_high;
	uint32_t t_checksum;
} journal_block_tag3_t;

/* Classic tag: 8 bytes, +4 with 64BIT; CSUM_V2 uses t_checksum (16 bits). */
typedef struct journal_block_tag_s {
	uint32_t t_blocknr;
	uint16_t t_checksum;
	uint16_t t_flags;
	uint32_t t_blocknr_high;
} journal_block_tag_t;

/* Tail of descriptor and revoke blocks with CSUM_V2/V3. */
struct jbd2_journal_block_tail {
	uint32_t t_checksum;
};

typedef struct jbd2_journal_revoke_header_s {
	journal_header_t r_header;
	uint32_t r_count;	/* bytes used in the block, header included */
} jbd2_journal_revoke_header_t;

#define JBD2_FLAG_ESCAPE		1
#define JBD2_FLAG_SAME_UUID		2
#define JBD2_FLAG_DELETED		4
#define JBD2_FLAG_LAST_TAG		8

#define JBD2_USERS_MAX			48
#define JBD2_USERS_SIZE			(UUID_SIZE * JBD2_USERS_MAX)
#define UUID_SIZE			16

typedef struct journal_superblock_s {
	journal_header_t s_header;		/* 0x00 */
	uint32_t s_blocksize;			/* 0x0C */
	uint32_t s_maxlen;			/* 0x10 */
	uint32_t s_first;			/* 0x14 */
	uint32_t s_sequence;			/* 0x18 */
	uint32_t s_start;			/* 0x1C: 0 = clean */
	int32_t  s_errno;			/* 0x20 */
	uint32_t s_feature_compat;		/* 0x24 */
	uint32_t s_feature_incompat;		/* 0x28 */
	uint32_t s_feature_ro_compat;		/* 0x2C */
	uint8_t  s_uuid[16];			/* 0x30 */
	uint32_t s_nr_users;			/* 0x40 */
	uint32_t s_dynsuper;			/* 0x44 */
	uint32_t s_max_transaction;		/* 0x48 */
	uint32_t s_max_trans_data;		/* 0x4C */
	uint8_t  s_checksum_type;		/* 0x50 */
	uint8_t  s_padding2[3];
	uint32_t s_num_fc_blks;			/* 0x54 */
	uint32_t s_head;			/* 0x58 */
	uint32_t s_padding[40];			/* 0x5C */
	uint32_t s_checksum;			/* 0xFC */
	uint8_t  s_users[16 * 48];		/* 0x100 */
} journal_superblock_t;				/* 0x400 */

#define JBD2_FEATURE_COMPAT_CHECKSUM		0x00000001
#define JBD2_FEATURE_INCOMPAT_REVOKE		0x00000001
#define JBD2_FEATURE_INCOMPAT_64BIT		0x00000002
#define JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT	0x00000004
#define JBD2_FEATURE_INCOMPAT_CSUM_V2		0x00000008
#define JBD2_FEATURE_INCOMPAT_CSUM_V3		0x00000010
#define JBD2_FEATURE_INCOMPAT_FAST_COMMIT	0x00000020
#define JBD2_KNOWN_COMPAT_FEATURES	JBD2_FEATURE_COMPAT_CHECKSUM
#define JBD2_KNOWN_ROCOMPAT_FEATURES	0
#define JBD2_KNOWN_INCOMPAT_FEATURES	(JBD2_FEATURE_INCOMPAT_REVOKE | \
	JBD2_FEATURE_INCOMPAT_64BIT | JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT | \
	JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3 | \
	JBD2_FEATURE_INCOMPAT_FAST_COMMIT)

#define JBD2_MIN_JOURNAL_BLOCKS		1024
#define JBD2_DEFAULT_FAST_COMMIT_BLOCKS	256
#define JBD2_DEFAULT_MAX_COMMIT_AGE	5

typedef uint32_t tid_t;

/* Modular tid comparisons (include/linux/jbd2.h). */
static inline bool tid_gt(tid_t x, tid_t y) { return (int32_t)(x - y) > 0; }
static inline bool tid_geq(tid_t x, tid_t y) { return (int32_t)(x - y) >= 0; }

/* ============================================================= in memory */

struct journal_s;
struct transaction_s;
typedef struct journal_s journal_t;
typedef struct transaction_s transaction_t;
typedef struct jbd2_journal_handle handle_t;

/* b_jlist values (the kernel's current numbering; NOT e2fsprogs' old one) */
enum {
	BJ_None = 0,
	BJ_Metadata,	/* normal journaled metadata */
	BJ_Forget,	/* buffer superseded by this transaction */
	BJ_Shadow,	/* buffer contents being shadowed to the log */
	BJ_Reserved,	/* buffer is reserved for access by journal */
	BJ_Types
};

/*
 * struct journal_head (include/linux/journal-head.h).  Attached to a bh by
 * jbd2_journal_add_journal_head(), which takes a b_count reference (get_bh)
 * that is dropped only when the jh is freed, after checkpoint.  That pin is
 * what keeps the norefs migration path off jbd2's buffers.
 */
struct journal_head {
	struct buffer_head *b_bh;		/* [const] */
	spinlock_t b_state_lock;		/* protects the [jh->b_state_lock] fields */
	int b_jcount;				/* jh references [jbd_lock_bh_journal_head: the BH_JournalHead bit spinlock] */
	unsigned b_jlist;			/* BJ_* [jh->b_state_lock + j_list_lock] */
	unsigned b_modified;			/* dirtied by the running transaction [jh->b_state_lock] */
	char *b_frozen_data;			/* copy-out for the committing transaction [jh->b_state_lock] */
	char *b_committed_data;			/* undo access (bitmaps) [jh->b_state_lock] */
	transaction_t *b_transaction;		/* owning transaction [jh->b_state_lock + j_list_lock] */
	transaction_t *b_next_transaction;	/* running transaction waiting for it [jh->b_state_lock + j_list_lock] */
	struct journal_head *b_tnext, *b_tprev;	/* transaction list [j_list_lock] */
	transaction_t *b_cp_transaction;	/* checkpoint owner [j_list_lock] */
	struct journal_head *b_cpnext, *b_cpprev;	/* checkpoint list [j_list_lock] */
	void *b_tmpbh_cookie;			/* model only: what the strategy's tmpbh_begin holds
						 * until tmpbh_end (strategy.h) [owner: commit
						 * thread, then the I/O completion] */
};

/*
 * jbd_lock_bh_journal_head() - the kernel's bit spinlock on BH_JournalHead
 * that protects bh->b_private/BH_JBD and jh->b_jcount.  It counts as a
 * spinlock for might_sleep().
 */
static inline void jbd_lock_bh_journal_head(struct buffer_head *bh)
{
	while (test_and_set_bit_lock(BH_JournalHead, &bh->b_state)) {
		while (test_bit(BH_JournalHead, &bh->b_state))
			__builtin_ia32_pause();
	}
	current_spin_depth++;
}

static inline void jbd_unlock_bh_journal_head(struct buffer_head *bh)
{
	current_spin_depth--;
	clear_bit_unlock(BH_JournalHead, &bh->b_state);
}

static inline struct journal_head *bh2jh(struct buffer_head *bh) { return bh->b_private; }
static inline struct buffer_head *jh2bh(struct journal_head *jh) { return jh->b_bh; }

/* transaction_t states (include/linux/jbd2.h), in order. */
enum transaction_state {
	T_RUNNING,
	T_LOCKED,
	T_SWITCH,
	T_FLUSH,
	T_COMMIT,
	T_COMMIT_DFLUSH,
	T_COMMIT_JFLUSH,
	T_COMMIT_CALLBACK,
	T_FINISHED
};

struct transaction_s {
	journal_t *t_journal;			/* [const] */
	tid_t t_tid;				/* [const] */
	enum transaction_state t_state;		/* [j_state_lock write; T_FINISHED also j_list_lock] */
	unsigned long t_log_start;		/* first log block [j_state_lock] */
	int t_nr_buffers;			/* on t_buffers [j_list_lock] */
	struct journal_head *t_reserved_list;	/* BJ_Reserved [j_list_lock] */
	struct journal_head *t_buffers;		/* BJ_Metadata [j_list_lock] */
	struct journal_head *t_forget;		/* BJ_Forget [j_list_lock] */
	struct journal_head *t_checkpoint_list;	/* [j_list_lock] */
	struct journal_head *t_shadow_list;	/* BJ_Shadow [j_list_lock] */
	/* ordered-mode data buffers, each holding a b_count (model of t_inode_list:
	 * our file data lives in the bdev cache, so the commit writes these
	 * buffers instead of the jbd2_inodes' dirty ranges; see commit.c) */
	sector_t *t_data_blocks;		/* ordered data: fs blocks to write before commit [j_list_lock] */
	int t_nr_data_blocks, t_data_blocks_cap;	/* [j_list_lock] */
	struct buffer_head **t_data_held;	/* data buffers being written by the commit [owner: commit thread] */
	int t_nr_data_held;			/* [owner: commit thread] */
	spinlock_t t_handle_lock;
	unsigned long t_max_wait;		/* [t_handle_lock] (not measured) */
	unsigned long t_start;			/* ms; reset at commit end [j_state_lock] */
	unsigned long t_requested;		/* commit requested, ms [j_state_lock] */
	unsigned long t_expires;		/* [const] ms */
	_Atomic int t_updates;			/* open handles [atomic; read under j_state_lock] */
	_Atomic int t_outstanding_credits;	/* [atomic] */
	_Atomic int t_outstanding_revokes;	/* [atomic] */
	_Atomic int t_handle_count;		/* [atomic] */
	transaction_t *t_cpnext, *t_cpprev;	/* j_checkpoint_transactions ring [j_list_lock] */
	int t_synchronous_commit;		/* [t_handle_lock] */
	int t_need_data_flush;			/* [owner: commit thread] (unused: internal journal) */
	struct list_head t_deferred_frees;	/* fs blocks freed in this tid: reuse only after commit (model of ext4_mb_free_metadata) [j_list_lock] */
};

struct jbd2_journal_handle {
	union {
		transaction_t *h_transaction;	/* [owner: the handle's thread] */
		journal_t *h_journal;		/* reserved handle not yet started */
	};
	handle_t *h_rsv_handle;
	int h_total_credits;			/* buffer + revoke-descriptor credits [owner] */
	int h_revoke_credits;			/* [owner] */
	int h_revoke_credits_requested;		/* [owner] */
	int h_ref;				/* nesting [owner] */
	int h_err;				/* [owner] */
	unsigned int h_sync:1;
	unsigned int h_reserved:1;
	unsigned int h_aborted:1;
	unsigned int h_type:8;
	unsigned int h_line_no:16;
	unsigned long h_start_jiffies;
	unsigned int h_requested_credits;
	const char *h_name;			/* model: op name for diagnostics [owner] */
};

/* journal_t->j_flags */
#define JBD2_UNMOUNT		0x001
#define JBD2_ABORT		0x002
#define JBD2_ACK_ERR		0x004
#define JBD2_FLUSHED		0x008
#define JBD2_LOADED		0x010
#define JBD2_BARRIER		0x020
#define JBD2_ABORT_ON_SYNCDATA_ERR	0x040
#define JBD2_CYCLE_RECORD	0x080


struct jbd2_revoke_table_s;
struct jbd2_logged_map;

/* A wait queue head: in this model only an address for wait_var_event()/
 * wake_up_var() (include/locking.h); the condition is the waiter's. */
typedef struct { _Atomic int __key; } wait_queue_head_t;

/* ERR_PTR convention of jbd2__journal_start() (include/linux/err.h). */
#ifndef IS_ERR
#define MAX_ERRNO	4095
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO; }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }
#endif

#define JBD2_NR_BATCH	64	/* checkpoint write batch (fs/jbd2/checkpoint.c) */
#define JOURNAL_REVOKE_DEFAULT_HASH	256

struct journal_s {
	unsigned long j_flags;			/* JBD2_* [j_state_lock] */
	int j_errno;				/* [j_state_lock] */
	struct buffer_head *j_sb_buffer;	/* journal superblock bh [const] */
	journal_superblock_t *j_superblock;	/* == j_sb_buffer->b_data [j_checkpoint_mutex to write] */
	int j_format_version;			/* [const after load] */

	rwlock_t j_state_lock;
	int j_barrier_count;			/* [j_state_lock] */
	struct mutex j_barrier;

	transaction_t *j_running_transaction;	/* [j_state_lock] */
	transaction_t *j_committing_transaction;/* [j_state_lock] */
	transaction_t *j_checkpoint_transactions;	/* oldest first ring [j_list_lock] */

	struct mutex j_checkpoint_mutex;	/* checkpointing and sb tail updates [lock] */
	struct mutex j_abort_mutex;		/* serialises jbd2_journal_abort() [lock] */
	/* Wait queues (wait_var_event() keys; conditions re-read their state
	 * with READ_ONCE/atomics, wakers wake after dropping j_state_lock). */
	wait_queue_head_t j_wait_transaction_locked;	/* running transaction left T_RUNNING/T_LOCKED [key] */
	wait_queue_head_t j_wait_done_commit;	/* j_commit_sequence advanced, thread state [key] */
	wait_queue_head_t j_wait_updates;	/* t_updates reached 0 [key] */
	wait_queue_head_t j_wait_reserved;	/* j_reserved_credits dropped [key] */
	/* j_wait_commit with the commit timer: kjournald2 sleeps here with a
	 * timeout (the kernel's timer_list + waitqueue) */
	pthread_mutex_t j_wait_commit_lock;	/* leaf [lock] */
	pthread_cond_t j_wait_commit;		/* [j_wait_commit_lock] */
	unsigned long j_wait_commit_seq;	/* wakeups posted [j_wait_commit_lock] */

	unsigned long j_head;			/* next log block to write [j_state_lock] */
	unsigned long j_tail;			/* oldest live log block [j_state_lock] */
	unsigned long j_free;			/* free log blocks [j_state_lock] */
	unsigned long j_first, j_last;		/* usable log range [const after load] */
	unsigned long j_fc_first, j_fc_last;	/* fast-commit area (never written) [const] */
	struct block_device *j_dev;		/* journal device [const] */
	struct block_device *j_fs_dev;		/* fs device [const] */
	int j_blocksize;			/* [const] */
	unsigned long long j_blk_offset;	/* [const] */
	unsigned int j_total_len;		/* s_maxlen [const] */
	const uint64_t *j_blockmap;		/* journal logical -> fs physical block [const] */
	bool j_recover_direct;			/* offline recovery, private buffers (recovery.c) [const] */
	_Atomic int j_reserved_credits;		/* reserved handles (unused: rsv_blocks must be 0) [atomic] */

	tid_t j_tail_sequence;			/* [j_state_lock] */
	tid_t j_transaction_sequence;		/* next tid to hand out [j_state_lock] */
	tid_t j_commit_sequence;		/* last committed [j_state_lock] */
	tid_t j_commit_request;			/* highest requested [j_state_lock] */

	uint8_t j_uuid[16];			/* [const] */
	pthread_t j_task;			/* kjournald2 [const while running] */
	int j_max_transaction_buffers;		/* [const] */
	int j_revoke_records_per_block;		/* [const] */
	int j_transaction_overhead_buffers;	/* [const] */
	unsigned long j_commit_interval;	/* ms, commit= (set by the fs before the first handle) [const] */
	unsigned long j_commit_timer_expires;	/* ms [j_state_lock] */

	spinlock_t j_revoke_lock;
	struct jbd2_revoke_table_s *j_revoke;	/* running table [j_revoke_lock] */
	struct jbd2_revoke_table_s *j_revoke_table[2];	/* [j_revoke_lock] */

	struct buffer_head **j_wbuf;		/* commit batch [owner: commit thread] */
	int j_wbufsize;				/* [const] */

	spinlock_t j_list_lock;
	uint32_t j_csum_seed;			/* crc32c(~0, uuid) [const] */
	bool j_data_journal;			/* data=journal [const] */
	bool j_revoke_lookup_alias;		/* cancel_revoke looks up the alias of a bdev
						 * buffer too: the kernel before 981fcc5674e6,
						 * the lab's I5 switch [const] */
	void *j_private;			/* the fs (struct jfs) [const] */
	/* commit callback: the fs releases deferred frees of a committed tid */
	void (*j_commit_callback)(journal_t *, transaction_t *);
	/* statistics [atomic] */
	_Atomic uint64_t j_stat_commits, j_stat_blocks_logged, j_stat_checkpoints;

	/* ---- runtime (journal.c, transaction.c, commit.c, checkpoint.c) ---- */
	bool j_task_running;			/* kjournald2 alive [j_state_lock] */
	struct buffer_head **j_chkpt_bhs;	/* checkpoint batch, JBD2_NR_BATCH [j_checkpoint_mutex] */
	/* Last tid that wrote each fs block to the log (jbd2_journal_block_logged(),
	 * for the fs's revoke decisions; model only, not a kernel structure) */
	spinlock_t j_logged_lock;		/* leaf [lock] */
	struct jbd2_logged_map *j_logged;	/* [j_logged_lock] */
	/* Observer of the commit (tests, the lab's journal-I/O oracle). */
	const struct jbd2_commit_observer *j_observer;	/* [WRITE_ONCE; read with jbd2_observer()] */
	/* recovery: tid of a commit block that failed its checksum during
	 * PASS_SCAN (0 = none); the fs marks itself with errors [const after recovery] */
	tid_t j_failed_commit;
};

/* --------------------------------------------------------------- checksums */
uint32_t jbd2_chksum(uint32_t seed, const void *data, size_t len);	/* raw crc32c */
bool jbd2_journal_has_csum_v2or3(const journal_t *j);
size_t journal_tag_bytes(const journal_t *j);

/* recovery: feature tests on the journal superblock (include/linux/jbd2.h's
 * jbd2_has_feature_*(): none on a v1 superblock); [const after load]. */
#define JBD2_FEATURE_TEST(name, field, bit) \
static inline bool jbd2_has_feature_##name(const journal_t *j) \
{ return j->j_format_version >= 2 && (be32toh(READ_ONCE(j->j_superblock->field)) & (bit)) != 0; }
JBD2_FEATURE_TEST(checksum, s_feature_compat, JBD2_FEATURE_COMPAT_CHECKSUM)
JBD2_FEATURE_TEST(revoke, s_feature_incompat, JBD2_FEATURE_INCOMPAT_REVOKE)
JBD2_FEATURE_TEST(64bit, s_feature_incompat, JBD2_FEATURE_INCOMPAT_64BIT)
JBD2_FEATURE_TEST(async_commit, s_feature_incompat, JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT)
JBD2_FEATURE_TEST(csum2, s_feature_incompat, JBD2_FEATURE_INCOMPAT_CSUM_V2)
JBD2_FEATURE_TEST(csum3, s_feature_incompat, JBD2_FEATURE_INCOMPAT_CSUM_V3)
JBD2_FEATURE_TEST(fast_commit, s_feature_incompat, JBD2_FEATURE_INCOMPAT_FAST_COMMIT)
#undef JBD2_FEATURE_TEST

/* recovery: the kernel's error codes for corruption and bad checksums. */
#ifndef EFSCORRUPTED
#define EFSCORRUPTED	EUCLEAN
#endif
#ifndef EFSBADCRC
#define EFSBADCRC	EBADMSG
#endif

/* recovery: format.c -- field access and checksums of every block type.
 * Pure functions (no locks); "tagp" points at a tag inside a descriptor. */
uint32_t jbd2_crc32_be(uint32_t crc, const void *data, size_t len);	/* v1 commit sum */
unsigned int jbd2_tag_flags(const void *tagp);
unsigned long long jbd2_tag_blocknr(const journal_t *j, const void *tagp);
void jbd2_tag_set(const journal_t *j, void *tagp, unsigned long long blocknr, unsigned int flags);
uint32_t jbd2_superblock_csum(const journal_superblock_t *sb);
bool jbd2_superblock_csum_verify(const journal_t *j, const journal_superblock_t *sb);
void jbd2_superblock_csum_set(const journal_t *j, journal_superblock_t *sb);
bool jbd2_descriptor_block_csum_verify(const journal_t *j, const void *buf);	/* and revoke */
void jbd2_descriptor_block_csum_set(const journal_t *j, void *buf);
bool jbd2_commit_block_csum_verify(const journal_t *j, const void *buf);
void jbd2_commit_block_csum_set(const journal_t *j, void *buf);
bool jbd2_block_tag_csum_verify(const journal_t *j, const void *tagp, const void *data, tid_t seq);
void jbd2_block_tag_csum_set(const journal_t *j, void *tagp, const void *data, tid_t seq);
unsigned int jbd2_journal_get_num_fc_blks(const journal_superblock_t *sb);
/* Validate j_superblock (magic, version, features, csum type and checksum,
 * block size, s_maxlen vs j_total_len, s_first, s_start, fast-commit area)
 * and load the geometry.  Load time, no locks.  0, -EFSCORRUPTED or
 * -EOPNOTSUPP with a one-line reason in errbuf. */
int jbd2_journal_check_superblock(journal_t *j, char *errbuf, size_t errlen);

/* --------------------------------------------------------------- lifetime */
/* The journal of an ext4 image: blockmap[i] is the fs block of journal
 * block i (internal journal: the inode's extents, built once at mount). */
journal_t *jbd2_journal_init(struct block_device *bdev, const uint64_t *blockmap,
			     unsigned int nblocks, unsigned int blocksize);
int jbd2_journal_load(journal_t *journal);		/* after recover or wipe: reset, start thread */
int jbd2_journal_recover(journal_t *journal);		/* replay only */
/* A stale log (needs_recovery clear, s_start set): scan it for the next tid
 * and head, replay nothing, j_tail = 0 (recovery.c).  Before load, no locks. */
int jbd2_journal_skip_recovery(journal_t *journal);
/* ext4_load_journal()'s wipe of a stale log, between init and load:
 * skip_recovery, then with @write s_start = 0 on disk (REQ_FUA).  No locks. */
int jbd2_journal_wipe(journal_t *journal, int write);
int jbd2_journal_destroy(journal_t *journal);		/* commit, checkpoint all, s_start = 0 */
void jbd2_journal_abort(journal_t *journal, int errno_);
int jbd2_journal_errno(journal_t *journal);
int jbd2_journal_flush(journal_t *journal, unsigned int flags);	/* checkpoint everything */
bool jbd2_journal_set_features(journal_t *j, unsigned long compat, unsigned long ro, unsigned long incompat);

/* ---------------------------------------------------------------- handles */
handle_t *jbd2_journal_current_handle(void);
handle_t *jbd2__journal_start(journal_t *journal, int nblocks, int rsv_blocks,
			      int revoke_records, int type, unsigned int line_no, const char *name);
#define jbd2_journal_start(j, n) jbd2__journal_start((j), (n), 0, 0, 0, __LINE__, __func__)
int jbd2_journal_stop(handle_t *handle);		/* 0 or h_err / -EIO on abort */
int jbd2_journal_extend(handle_t *handle, int nblocks, int revoke_records);
int jbd2__journal_restart(handle_t *handle, int nblocks, int revoke_records);
int jbd2_journal_get_write_access(handle_t *handle, struct buffer_head *bh);
int jbd2_journal_get_create_access(handle_t *handle, struct buffer_head *bh);
int jbd2_journal_dirty_metadata(handle_t *handle, struct buffer_head *bh);
int jbd2_journal_forget(handle_t *handle, struct buffer_head *bh);
int jbd2_journal_revoke(handle_t *handle, unsigned long long blocknr, struct buffer_head *bh);
void jbd2_journal_cancel_revoke(handle_t *handle, struct journal_head *jh);
/* Ordered data (model of jbd2_journal_inode_ranged_write): the data buffer
 * must reach the disk before the running transaction's commit block. */
int jbd2_journal_file_data(handle_t *handle, struct buffer_head *bh);
static inline int jbd2_handle_buffer_credits(handle_t *h)
{
	return h->h_total_credits - DIV_ROUND_UP(h->h_revoke_credits_requested,
			h->h_transaction->t_journal->j_revoke_records_per_block);
}
/* Mark the handle aborted: its later journal calls fail, its stop returns
 * -EIO; the journal itself keeps running (ext4_journal_abort_handle() calls
 * this before ext4_error decides about the journal).  Entry: the handle's
 * own thread. */
static inline void jbd2_journal_abort_handle(handle_t *handle)
{
	handle->h_aborted = 1;
}

/* --------------------------------------------------------------- commits */
int jbd2_log_start_commit(journal_t *journal, tid_t tid);
int jbd2_log_wait_commit(journal_t *journal, tid_t tid);
int jbd2_complete_transaction(journal_t *journal, tid_t tid);	/* fsync */
int jbd2_journal_force_commit(journal_t *journal);
void jbd2_journal_commit_transaction(journal_t *journal);	/* commit thread only */
int jbd2_journal_write_metadata_buffer(transaction_t *transaction, struct journal_head *jh_in,
				       struct buffer_head **bh_out, unsigned long long blocknr);
int jbd2_journal_bmap(journal_t *journal, unsigned long blocknr, unsigned long long *retp);

/* ------------------------------------------------------------- checkpoint */
int jbd2_log_do_checkpoint(journal_t *journal);
void __jbd2_log_wait_for_space(journal_t *journal);
int jbd2_cleanup_journal_tail(journal_t *journal);
unsigned long jbd2_log_space_left(journal_t *journal);

/* ----------------------------------------------------------- journal_head */
struct journal_head *jbd2_journal_add_journal_head(struct buffer_head *bh);
struct journal_head *jbd2_journal_grab_journal_head(struct buffer_head *bh);
void jbd2_journal_put_journal_head(struct journal_head *jh);

/* ------------------------------------------------ runtime: more of the API
 * (the rules for the fs layer are in src/journal/journal.c's essay) */
/* Clear feature bits (in memory; on disk with the next superblock write). */
void jbd2_journal_clear_features(journal_t *j, unsigned long compat, unsigned long ro,
				 unsigned long incompat);
/* Barrier against new handles: wait until t_updates == 0 and hold it. */
void jbd2_journal_lock_updates(journal_t *journal);
void jbd2_journal_unlock_updates(journal_t *journal);
/* The oldest tid still in the log and its first block (checkpoint.c). */
bool jbd2_journal_get_log_tail(journal_t *journal, tid_t *tid, unsigned long *block);
/* Model helper for the fs's revoke decision: true if a copy of fs block
 * @blocknr may still be in the live log, i.e. a transaction that is not
 * yet checkpointed past the tail logged it (its tid in *tid), or the
 * block is journaled by the running/committing transaction right now.
 * Replay of such a copy over a freed-and-reused block is what a revoke
 * prevents.  ext4 itself simply revokes every freed metadata block;
 * both are correct.  Lock state: none; takes j_state_lock and the leaf
 * j_logged_lock. */
bool jbd2_journal_block_logged(journal_t *journal, unsigned long long blocknr, tid_t *tid);
/* The tid of the running transaction, or 0 with none (for fsync bookkeeping,
 * like ext4's i_sync_tid/i_datasync_tid from handle->h_transaction->t_tid). */
tid_t jbd2_journal_running_tid(journal_t *journal);
/* Is the journal aborted (JBD2_ABORT)? */
bool jbd2_is_journal_aborted(journal_t *journal);

/*
 * Observer of the commit: called from the commit thread (and, for end_io,
 * from the disk's completion thread).  Tests and the lab's journal-I/O
 * oracle use it; the strategy table (a later issue) plugs its
 * jbd2_tmpbh_begin/end hooks in at exactly the same two places
 * (src/journal/jbd2_internal.h: jbd2_tmpbh_begin()/jbd2_tmpbh_end()).
 *   commit_state   after every t_state change of the committing
 *                  transaction (the callback may sleep: it runs in the
 *                  commit thread with no lock held);
 *   tmpbh_begin    the temporary bh @tmp now shadows @bh_in: set up by
 *                  jbd2_journal_write_metadata_buffer(), BH_Shadow set, not
 *                  yet checksummed or submitted; @aliasing = tmp->b_data
 *                  points into bh_in's live folio (no frozen copy).  Runs
 *                  under no lock; must not sleep for long;
 *   tmpbh_submitted right after submit_bh(tmp) (commit thread, no lock);
 *   tmpbh_end      in journal_end_buffer_io_sync(), in the disk's
 *                  completion thread, after the DMA read tmp->b_data and
 *                  before BH_Shadow is cleared; must not sleep;
 *   own_ptr_stale  jbd2 is about to use, for the last time, a pointer @ptr
 *                  it took from @bh->b_data earlier (@what: "descriptor
 *                  tags", "j_superblock"), and the buffer has been
 *                  re-pointed since (commit thread or the superblock
 *                  writer, no spinlock held; must not sleep for long);
 *   credits_out    jbd2_journal_dirty_metadata() refused @bh to @h: the
 *                  handle had no buffer credit left (the WARN_ON_ONCE and
 *                  -ENOSPC of kernel-race.md I3), called after the WARN on
 *                  every refusal, in the handle's thread with no journal
 *                  lock held (the caller's locks, e.g. the fs lock, are).
 */
struct jbd2_commit_observer {
	void *priv;
	void (*commit_state)(journal_t *j, transaction_t *t, enum transaction_state state, void *priv);
	void (*tmpbh_begin)(journal_t *j, struct buffer_head *bh_in, struct buffer_head *tmp,
			    bool aliasing, void *priv);
	void (*tmpbh_submitted)(journal_t *j, struct buffer_head *bh_in, struct buffer_head *tmp,
				void *priv);
	void (*tmpbh_end)(journal_t *j, struct buffer_head *bh_in, struct buffer_head *tmp,
			  int uptodate, void *priv);
	void (*own_ptr_stale)(journal_t *j, struct buffer_head *bh, const void *ptr,
			      const char *what, void *priv);
	void (*credits_out)(journal_t *j, handle_t *h, struct buffer_head *bh, void *priv);
};

/* ---------------------------------------------------- recovery (offline) */
struct jbd2_recovery_info {
	tid_t start_transaction;
	tid_t end_transaction;
	unsigned long head_block;
	int nr_replays;
	int nr_revokes;
	int nr_revoke_hits;
	bool bad_log;		/* an -EIO of the log's content (a later pass ended
				 * elsewhere, a replayed block's checksum), not of the device */
};

/* recovery: recovery.c.  All of these run before the journal is live
 * (mount or offline replay): single-threaded, no journal locks taken. */
/* As jbd2_journal_recover(), also returning what the passes found. */
int jbd2_journal_recover_info(journal_t *journal, struct jbd2_recovery_info *info);
/* A journal_t with just what recovery needs (j_dev = j_fs_dev = bdev, the
 * superblock bh read through the page cache and checked with
 * jbd2_journal_check_superblock()).  Until the runtime journal's
 * jbd2_journal_init()/load() exist, offline replay uses this.  NULL with
 * *err = -errno and a reason in errbuf on failure. */
journal_t *jbd2_journal_init_recovery(struct block_device *bdev, const uint64_t *blockmap,
				      unsigned int nblocks, unsigned int blocksize,
				      int *err, char *errbuf, size_t errlen);
void jbd2_journal_free_recovery(journal_t *journal);	/* brelse the sb bh, free */
/* After recovery, mark the log empty as e2fsck does: s_start = 0,
 * s_sequence = j_transaction_sequence (the next tid, never restarted),
 * s_errno kept; checksum, write with FUA and wait.  0 or -EIO. */
int jbd2_journal_reset_after_recovery(journal_t *journal);

#endif /* JBDLAB_JBD2_H */
