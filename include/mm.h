/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mm.h - the simulated mm of jbdlab (src/migrate_sim/): folios, buffer_heads,
 * the block-device address_space, buffer-cache lookups, per-thread bh LRUs,
 * writeback, the memory limit and the poisoned quarantine of freed folios.
 *
 * Names and semantics follow the kernel (include/linux/mm_types.h,
 * include/linux/page-flags.h, include/linux/buffer_head.h, fs/buffer.c,
 * mm/filemap.c, mm/migrate.c); see ../shared/reference/kernel-race.md §2, §7.1.
 * The one deliberate difference: b_data is a raw pointer into the folio's
 * data, so that stale pointers after a migration are possible and observable.
 *
 * Reference counting (the crux of every race the lab models):
 *   folio->_refcount: 1 per page-cache slot (folio_nr_pages), +1 while
 *     PG_private (buffers attached), +1 per temporary reference
 *     (filemap_get_folio, isolation).  folio_expected_ref_count() = nr_pages
 *     + private, the caller's own reference excluded (86ebd50224c0);
 *     migration's folio_expected_refs() adds its isolation reference.
 *   bh->b_count: held by whoever obtained the bh (lookup/getblk callers, an
 *     LRU slot, jbd2's journal_head, the commit code).  A b_count reference
 *     does NOT pin the folio, and lookups drop their temporary folio
 *     reference before returning the bh.
 *
 * Lock ranking: see include/locking.h.
 */
#ifndef JBDLAB_MM_H
#define JBDLAB_MM_H

#include <stdint.h>
#include <sys/types.h>
#include "compiler.h"
#include "locking.h"

typedef uint64_t sector_t;	/* a block number in units of the buffer size */
typedef uint64_t pgoff_t;	/* a page-cache index in units of PAGE_SIZE << order */

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

struct block_device;
struct address_space;
struct buffer_head;
struct strategy;

/* ---------------------------------------------------------------- folio */

/* include/linux/page-flags.h: bit numbers in folio->flags */
enum pageflags {
	PG_locked,	/* sleeping lock; waiters sleep on the bit waitqueue */
	PG_waiters,	/* someone sleeps on this folio's bits */
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_writeback,
	PG_private,	/* folio->private holds the head of the buffer ring */
	PG_isolated,	/* model only: isolated by the migrator (folio_isolate_lru), PG_lru clear */
	PG_freed,	/* model only: freed, poisoned, in quarantine (MIGRATED_AWAY/FREED) */
	__NR_PAGEFLAGS
};

struct folio {
	_Atomic unsigned long flags;	/* enum pageflags [atomic] */
	_Atomic int _refcount;		/* [atomic] 0 = frozen or free */
	unsigned int order;		/* [const] size = PAGE_SIZE << order */
	struct address_space *mapping;	/* [folio lock + xa_lock to change] NULL once removed */
	pgoff_t index;			/* [folio lock + xa_lock to change] */
	struct buffer_head *private;	/* head bh [folio lock + i_private_lock to attach/free;
					 * migration moves it with the folio and every buffer
					 * locked, WRITE_ONCE] */
	char *data;			/* [const] folio_address(), aligned to folio_size() */
	uint64_t pfn;			/* [const] identity, unique for the process lifetime */
	uint64_t generation;		/* [const] distinct per allocation (model: reuse count) */
	struct list_head lru;		/* mapping LRU [mapping->lru_lock]; quarantine [quarantine lock] */
	uint64_t freed_seq;		/* [quarantine lock] order in quarantine */
	struct folio *qhash_next;	/* [quarantine lock] quarantine hash chain */
};

static inline size_t folio_size(const struct folio *f) { return PAGE_SIZE << f->order; }
static inline unsigned long folio_nr_pages(const struct folio *f) { return 1UL << f->order; }
static inline char *folio_address(const struct folio *f) { return f->data; }
static inline struct buffer_head *folio_buffers(const struct folio *f)
{
	return READ_ONCE(((struct folio *)f)->private);	/* atomic lookups read it under
							 * i_private_lock only */
}

#define DEFINE_FOLIO_FLAG(name, bit) \
static inline bool folio_test_##name(const struct folio *f) { return test_bit(bit, &((struct folio *)f)->flags); } \
static inline void folio_set_##name(struct folio *f) { set_bit(bit, &f->flags); } \
static inline void folio_clear_##name(struct folio *f) { clear_bit(bit, &f->flags); } \
static inline bool folio_test_set_##name(struct folio *f) { return test_and_set_bit(bit, &f->flags); } \
static inline bool folio_test_clear_##name(struct folio *f) { return test_and_clear_bit(bit, &f->flags); }
DEFINE_FOLIO_FLAG(uptodate, PG_uptodate)
DEFINE_FOLIO_FLAG(dirty, PG_dirty)
DEFINE_FOLIO_FLAG(lru, PG_lru)
DEFINE_FOLIO_FLAG(writeback, PG_writeback)
DEFINE_FOLIO_FLAG(private, PG_private)
DEFINE_FOLIO_FLAG(isolated, PG_isolated)
DEFINE_FOLIO_FLAG(freed, PG_freed)
DEFINE_FOLIO_FLAG(referenced, PG_referenced)
#undef DEFINE_FOLIO_FLAG
static inline bool folio_test_locked(const struct folio *f) { return test_bit(PG_locked, &((struct folio *)f)->flags); }

/* Reference counting (include/linux/page_ref.h).  folio_put() of the last
 * reference frees the folio into the poisoned quarantine. */
static inline int folio_ref_count(const struct folio *f) { return atomic_load(&((struct folio *)f)->_refcount); }
void folio_get(struct folio *f);			/* BUG if count was 0 */
bool folio_try_get(struct folio *f);			/* fails if frozen (0) */
void folio_put(struct folio *f);
void folio_ref_add(struct folio *f, int nr);
bool folio_ref_freeze(struct folio *f, int expected);	/* CAS expected -> 0 */
void folio_ref_unfreeze(struct folio *f, int count);	/* 0 -> count */
/* include/linux/mm.h: page-cache + PG_private references, the caller's excluded. */
int folio_expected_ref_count(const struct folio *f);
/* offset_in_folio(): a mask, right for any address inside the folio's data
 * (folio data is aligned to its size), even a b_data read on the other side
 * of a migration's folio_set_bh() than the b_folio it is paired with. */
static inline size_t offset_in_folio(const struct folio *f, const void *p)
{
	return (size_t)((uintptr_t)p & (folio_size(f) - 1));
}

/* Folio lock: a sleeping lock (PG_locked) with waiters; might_sleep().
 * The lock checker sees it as one class, "folio lock" (aux: the pfn). */
extern struct lock_class_key folio_lock_key;
void folio_lock(struct folio *f);
bool folio_trylock(struct folio *f);
void folio_unlock(struct folio *f);
/* __folio_set_locked() - a new folio nobody else can see yet is locked. */
void __folio_set_locked(struct folio *f);
void folio_wait_writeback(struct folio *f);
void folio_start_writeback(struct folio *f);
void folio_end_writeback(struct folio *f);

/* Allocation and freeing.  folio_alloc() reuses nothing that is still in
 * quarantine; a freed folio is poisoned (FOLIO_POISON) and quarantined until
 * an RCU grace period has passed and quarantine_len newer folios were freed. */
#define FOLIO_POISON	0xa5
struct folio *folio_alloc(unsigned int order);		/* refcount 1, not in any mapping */
void folio_free_unpublished(struct folio *f);		/* never visible to anyone: no quarantine */
void folio_mc_copy(struct folio *dst, struct folio *src);	/* yields between pages (YP_MIGRATE_IN_COPY) */

/* -------------------------------------------------------------- buffer_head */

/* include/linux/buffer_head.h */
enum bh_state_bits {
	BH_Uptodate,	/* contains valid data */
	BH_Dirty,	/* is dirty */
	BH_Lock,	/* is locked */
	BH_Req,		/* has been submitted for I/O */
	BH_Mapped,	/* has a disk mapping */
	BH_New,
	BH_Async_Read,
	BH_Async_Write,
	BH_Delay,
	BH_Boundary,
	BH_Write_EIO,	/* I/O error on write */
	BH_Unwritten,
	BH_Quiet,
	BH_Meta,	/* contains metadata */
	BH_Prio,
	BH_Defer_Completion,
	BH_Migrate,	/* v6.15+: head bh; buffer is being migrated (norefs) */
	BH_PrivateStart	/* jbd2's bits start here (include/linux/jbd2.h) */
};

/* include/linux/jbd2.h: jbd2's private b_state bits. */
enum jbd_state_bits {
	BH_JBD = BH_PrivateStart,	/* has an attached journal_head */
	BH_JWrite,			/* being written to the log (commit) */
	BH_Freed,			/* freed while in a committing transaction */
	BH_Revoked,			/* has been revoked from the log */
	BH_RevokeValid,			/* revoked flag is valid */
	BH_JBDDirty,			/* dirty, but owned by the journal */
	BH_JournalHead,			/* (model: unused, the jh lock is a spinlock) */
	BH_Shadow,			/* I/O on the shadow bh is in flight */
	BH_Verified,			/* metadata block has been verified ok */
	BH_JBDPrivateStart
};

struct buffer_head;
typedef void bh_end_io_t(struct buffer_head *bh, int uptodate);

struct buffer_head {
	_Atomic unsigned long b_state;	/* enum bh_state_bits [atomic] */
	struct buffer_head *b_this_page;/* ring of the folio's buffers [folio lock + i_private_lock] */
	struct folio *b_folio;		/* the folio this bh is mapped to [folio lock + all buffer
					 * locks to change (migration re-points); READ_ONCE without them] */
	sector_t b_blocknr;		/* start block number [folio lock when attached] */
	size_t b_size;			/* [const] size of the mapping */
	char *b_data;			/* RAW pointer into b_folio's data [as b_folio] */
	struct block_device *b_bdev;	/* [const after attach] */
	bh_end_io_t *b_end_io;		/* I/O completion [BH_Lock holder] */
	void *b_private;		/* journal_head when BH_JBD [jbd2: jh->b_state_lock] */
	struct list_head b_assoc_buffers;/* jbd2 io_bufs / log_bufs [owner: commit thread] */
	_Atomic int b_count;		/* users of this buffer_head [atomic] */
	uint64_t b_alloc_seq;		/* [const] identity for diagnostics */
};

#define BUFFER_FNS(bit, name) \
static inline void set_buffer_##name(struct buffer_head *bh) { set_bit(BH_##bit, &bh->b_state); } \
static inline void clear_buffer_##name(struct buffer_head *bh) { clear_bit(BH_##bit, &bh->b_state); } \
static inline bool buffer_##name(const struct buffer_head *bh) { return test_bit(BH_##bit, &((struct buffer_head *)bh)->b_state); }
#define TAS_BUFFER_FNS(bit, name) \
static inline bool test_set_buffer_##name(struct buffer_head *bh) { return test_and_set_bit(BH_##bit, &bh->b_state); } \
static inline bool test_clear_buffer_##name(struct buffer_head *bh) { return test_and_clear_bit(BH_##bit, &bh->b_state); }
/* Uptodate has the kernel's barriers (d4252071b97d): readers of b_data after
 * buffer_uptodate() see the bytes the I/O completion wrote before setting it. */
static inline void set_buffer_uptodate(struct buffer_head *bh)
{
	if (test_bit_acquire(BH_Uptodate, &bh->b_state))
		return;
	atomic_fetch_or_explicit(&bh->b_state, BIT(BH_Uptodate), memory_order_release);
}
static inline void clear_buffer_uptodate(struct buffer_head *bh) { clear_bit(BH_Uptodate, &bh->b_state); }
static inline bool buffer_uptodate(const struct buffer_head *bh)
{
	return test_bit_acquire(BH_Uptodate, &((struct buffer_head *)bh)->b_state);
}
BUFFER_FNS(Dirty, dirty)
TAS_BUFFER_FNS(Dirty, dirty)
BUFFER_FNS(Lock, locked)
BUFFER_FNS(Req, req)
TAS_BUFFER_FNS(Req, req)
BUFFER_FNS(Mapped, mapped)
BUFFER_FNS(New, new)
BUFFER_FNS(Write_EIO, write_io_error)
BUFFER_FNS(Meta, meta)
BUFFER_FNS(Prio, prio)
BUFFER_FNS(Migrate, migrate)
BUFFER_FNS(JBD, jbd)
BUFFER_FNS(JWrite, jwrite)
BUFFER_FNS(Freed, freed)
BUFFER_FNS(Revoked, revoked)
TAS_BUFFER_FNS(Revoked, revoked)
BUFFER_FNS(RevokeValid, revokevalid)
TAS_BUFFER_FNS(RevokeValid, revokevalid)
BUFFER_FNS(JBDDirty, jbddirty)
TAS_BUFFER_FNS(JBDDirty, jbddirty)
BUFFER_FNS(Shadow, shadow)
BUFFER_FNS(Verified, verified)
#undef BUFFER_FNS
#undef TAS_BUFFER_FNS

static inline void get_bh(struct buffer_head *bh) { atomic_fetch_add(&bh->b_count, 1); }
void put_bh(struct buffer_head *bh);	/* BUG (b_count never negative) */
void __brelse(struct buffer_head *bh);	/* put_bh with the kernel's WARN on free buffer */
static inline void brelse(struct buffer_head *bh) { if (bh) __brelse(bh); }
/* The bh's offset in its folio (the kernel's bh_offset() masks by
 * PAGE_SIZE; by folio_size here, so large folios keep every buffer). */
static inline size_t bh_offset(const struct buffer_head *bh)
{
	return offset_in_folio(READ_ONCE(((struct buffer_head *)bh)->b_folio),
			       READ_ONCE(((struct buffer_head *)bh)->b_data));
}

/* Buffer lock: BH_Lock bit lock; lock_buffer() sleeps (might_sleep).
 * The lock checker's class "buffer lock" (aux: the block number). */
extern struct lock_class_key buffer_lock_key;
void lock_buffer(struct buffer_head *bh);
bool trylock_buffer(struct buffer_head *bh);
void unlock_buffer(struct buffer_head *bh);
void wait_on_buffer(struct buffer_head *bh);

/* fs/buffer.c: folio_set_bh() -- b_folio = folio, b_data = address + offset. */
void folio_set_bh(struct buffer_head *bh, struct folio *folio, size_t offset);
/* A reference on bh's current folio that a migration cannot overtake
 * (try-get + slot recheck); entry: b_count held, no spinlock. */
struct folio *bh_folio_get(struct buffer_head *bh);
/* A detached buffer_head (jbd2's temporary bh): b_count = 1, no folio. */
struct buffer_head *alloc_buffer_head(void);
void free_buffer_head(struct buffer_head *bh);

/* Dirtying.  mark_buffer_dirty() sets BH_Dirty and the folio's PG_dirty. */
void mark_buffer_dirty(struct buffer_head *bh);
void clear_buffer_dirty_folio(struct buffer_head *bh);	/* model helper for clean_bdev_aliases */

/* I/O.  submit_bh() hands the bh to the block device: the bytes are read
 * from (or written to) bh->b_data at the device's completion moment, then
 * bh->b_end_io(bh, uptodate) runs in the completion thread. */
enum req_op { REQ_OP_READ = 0, REQ_OP_WRITE = 1 };
#define REQ_SYNC	(1U << 8)
#define REQ_META	(1U << 9)
#define REQ_PREFLUSH	(1U << 10)
#define REQ_FUA		(1U << 11)
void submit_bh(unsigned int opf, struct buffer_head *bh);
void end_buffer_read_sync(struct buffer_head *bh, int uptodate);
void end_buffer_write_sync(struct buffer_head *bh, int uptodate);
int bh_read(struct buffer_head *bh);			/* sync read if !uptodate; 0/-EIO */
int sync_dirty_buffer(struct buffer_head *bh);		/* write if dirty, wait; 0/-EIO */
void write_dirty_buffer(struct buffer_head *bh, unsigned int opf);	/* async, as fs/buffer.c */

/* ---------------------------------------------------------- address_space */

/*
 * The page-cache index: a two-level radix table ("xarray") of folio pointers.
 * Readers use RCU (liburcu-bp) exactly as filemap_get_entry(): load the slot
 * under rcu_read_lock(), folio_try_get(), recheck the slot, retry if it moved.
 * Writers hold xa_lock and publish with rcu_assign_pointer().
 */
#define XA_CHUNK_SHIFT	12
struct xarray {
	spinlock_t xa_lock;				/* slot changes [lock] */
	_Atomic(struct folio *) *_Atomic *chunks;	/* [xa_lock to change; RCU to read] */
	uint64_t nr_chunks;				/* [const] */
};

/* The migrate_folio of the mapping's a_ops (kernel-race.md §7.1 item 2);
 * a strategy chooses it (strategy.h). */
enum migrate_policy {
	MIGRATE_NOREFS,		/* buffer_migrate_folio_norefs (def_blk_aops) */
	MIGRATE_REFS_IGNORED,	/* buffer_migrate_folio (no b_count check) */
	MIGRATE_NONE,		/* no .migrate_folio: fallback, refuse busy/dirty */
};

struct address_space {
	struct xarray i_pages;		/* index -> folio [i_pages.xa_lock; RCU to read] */
	spinlock_t i_private_lock;	/* buffer rings; the lookup/migration handshake [lock] */
	_Atomic unsigned long nrpages;	/* [atomic] pages (not folios) in the cache */
	struct block_device *host;	/* [const] */
	unsigned int blkbits;		/* [const] log2 of the buffer size */
	unsigned int folio_order;	/* [const] order of new folios */
	const struct strategy *strategy;/* fix strategy (strategy.h); NULL = strategy_default
					 * [const while the mapping is used] */

	/* memory limit: clean unreferenced folios above the limit are evicted */
	size_t limit_bytes;		/* [const] 0 = unlimited (cache_size=) */
	spinlock_t lru_lock;		/* protects lru; nests inside xa_lock [lock] */
	struct list_head lru;		/* folios in insertion/access order [lru_lock] */
	_Atomic unsigned long nr_dirty;	/* dirty buffers, a writeback-pressure hint (approximate:
					 * resynchronised when nothing is tagged dirty) [atomic] */

	/* statistics [atomic] */
	_Atomic uint64_t stat_lookups, stat_lru_hits, stat_evictions, stat_grow;
	_Atomic uint64_t stat_lookup_bails;	/* lookups the strategy made return NULL */

	/* mm-internal state: writeback thread, write error, etc. (migrate_sim/mm_internal.h) */
	struct mapping_private *priv;	/* [const between address_space_init and _destroy] */
};

static inline size_t mapping_folio_size(const struct address_space *m)
{
	return PAGE_SIZE << m->folio_order;
}

int address_space_init(struct address_space *m, struct block_device *bdev,
		       uint64_t dev_bytes, unsigned int blkbits, unsigned int folio_order,
		       size_t limit_bytes);
/* Tear down at unmount: all buffers must be clean with b_count == 0 (BUG otherwise). */
void address_space_destroy(struct address_space *m);

/* mm/filemap.c */
#define FGP_ACCESSED	0x01
#define FGP_LOCK	0x02
#define FGP_CREAT	0x04
#define FGP_NOWAIT	0x08
/* Returns the folio with a reference (and locked with FGP_LOCK), or NULL. */
struct folio *__filemap_get_folio(struct address_space *m, pgoff_t index, unsigned int fgp);
static inline struct folio *filemap_get_folio(struct address_space *m, pgoff_t index)
{
	return __filemap_get_folio(m, index, 0);
}
/* Insert a locked new folio (refcount += nr_pages); -EEXIST if the slot is taken. */
int filemap_add_folio(struct address_space *m, struct folio *f, pgoff_t index);
/* Replace the slot (migration, under xa_lock, after freeze); both folios locked. */
void __filemap_replace_folio(struct address_space *m, struct folio *old, struct folio *new);
/* Remove a locked, frozen folio from the cache (eviction). */
void __filemap_remove_folio(struct address_space *m, struct folio *f);
/* mm/vmscan.c folio_isolate_lru(): clear PG_lru and take the folio off the
 * mapping's LRU (the shrinker's list); false if it was not on it.  The
 * caller holds a reference (compaction's folio_try_get). */
bool folio_isolate_lru(struct folio *f);
/* folio_add_lru(): put a folio of the mapping on its LRU, PG_lru set. */
void folio_add_lru(struct folio *f);
/* folio_putback_lru(): folio_add_lru() and drop the isolation reference. */
void folio_putback_lru(struct folio *f);

/* --------------------------------------------------------- buffer lookups */

/*
 * fs/buffer.c lookups, in the kernel's step order:
 *   1. lookup_bh_lru(): per-thread LRU hit -> get_bh(), return (no lock at all);
 *   2. __find_get_block_slow(): __filemap_get_folio (temporary folio ref) ->
 *      [yield point YP_LOOKUP_BEFORE_LOCK] -> atomic: spin_lock(i_private_lock)
 *      (and, for the v6.15 model, bail if the head has BH_Migrate);
 *      sleeping: folio_lock() -> walk the ring for a mapped bh with b_blocknr
 *      -> get_bh() -> unlock -> folio_put() BEFORE returning;
 *   3. bh_lru_install() (the LRU slot takes its own b_count).
 * The locking and the bail are the mapping's strategy's (strategy.h): under
 * strategies without lookup_split (every scheme before v6.15) there is no
 * sleeping lookup and __find_get_block_nonatomic() and bdev_getblk() run
 * the atomic one, as __getblk_slow() -> __find_get_block() did.
 */
struct buffer_head *__find_get_block(struct block_device *bdev, sector_t block, unsigned int size);
struct buffer_head *__find_get_block_nonatomic(struct block_device *bdev, sector_t block, unsigned int size);
/* bdev_getblk(): lookup, else grow_buffers() (create/attach under folio lock +
 * i_private_lock), then retry.  Never returns NULL (GFP_NOFAIL semantics). */
struct buffer_head *bdev_getblk(struct block_device *bdev, sector_t block, unsigned int size);
struct buffer_head *__bread(struct block_device *bdev, sector_t block, unsigned int size); /* NULL on EIO */

/* Per-thread bh LRU (BH_LRU_SIZE slots, each holding a b_count). */
#define BH_LRU_SIZE	16
void invalidate_bh_lrus(void);		/* drain every thread's LRU (the IPI) */
void invalidate_bh_lru_current(void);	/* drain the calling thread's LRU */
/* Release the calling thread's LRU at thread exit (also done by a TLS destructor). */
void bh_lru_thread_exit(void);

/* ------------------------------------------------------- writeback, limit */

/*
 * The writeback thread (bdi_writeback): every dirty_writeback_ms, and when
 * kicked (dirty pressure or memory pressure), writes dirty buffers home with
 * write_dirty_buffer() and, above the memory limit, evicts clean folios
 * whose buffers all have b_count == 0 (try_to_free_buffers +
 * remove_mapping: folio_ref_freeze(expected) under the folio lock).
 */
int writeback_start(struct address_space *m, unsigned int dirty_writeback_ms);
void writeback_stop(struct address_space *m);
void writeback_kick(struct address_space *m);
/* balance_dirty_pages: a dirtier holding no lock waits (at most 200 ms) while
 * dirty data is above half the limit. */
void balance_dirty_pages_ratelimited(struct address_space *m);
/* sync_blockdev(): write every dirty buffer, wait for all, then flush the device. */
int sync_blockdev(struct block_device *bdev);
/* filemap_write_and_wait(): the same without the device flush. */
int filemap_write_and_wait(struct address_space *m);
/* Evict clean unreferenced folios until the mapping is under `target` bytes. */
unsigned long shrink_mapping(struct address_space *m, size_t target_bytes);
/* Drop every cached folio of [start, end) blocks that is clean and unreferenced
 * (used after an outside writer changed the disk, e.g. replay). */
void invalidate_bdev(struct block_device *bdev);
/* Drop cached copies of blocks handed out as file data (clean_bdev_aliases). */
void clean_bdev_aliases(struct block_device *bdev, sector_t block, sector_t len);

/* ------------------------------------------------------------- quarantine */

struct mm_poison_report {
	uint64_t pfn, generation;	/* the freed folio [value] */
	size_t offset;		/* first non-poison byte found [value] */
	unsigned char byte;	/* what was there [value] */
};
/* Number of folios freed but not yet released; poison violations seen so far. */
unsigned long quarantine_count(void);
uint64_t quarantine_violations(void);
/* Check every quarantined folio now (returns the number of corrupted ones). */
unsigned long quarantine_scan(void);
/* Release everything (at exit, after a grace period), checking poison first. */
void quarantine_drain(void);
/* Set how many freed folios are held before the oldest is released (default 1024). */
void quarantine_set_len(unsigned long len);
/* Called on every detected poison violation (default: print to stderr). */
extern void (*poison_report_hook)(const struct mm_poison_report *r);
/* Is `p` inside a folio that is in quarantine?  (stale-pointer detector) */
bool mm_addr_in_quarantine(const void *p);
/* As mm_addr_in_quarantine(), also giving the freed folio's identity. */
bool mm_quarantine_lookup(const void *p, uint64_t *pfn, uint64_t *generation);

/*
 * The lab's stale-access detector: accessors that use b_data without the
 * buffer lock (the io_manager's reads, the lab's metadata users) report
 * each access here; NULL outside the lab, so the check costs one load.
 */
typedef void mm_access_hook_t(struct buffer_head *bh, const void *p, size_t len, bool write);
extern mm_access_hook_t *_Atomic mm_access_hook;	/* [atomic] */
static inline void mm_check_access(struct buffer_head *bh, const void *p, size_t len, bool write)
{
	mm_access_hook_t *h = atomic_load_explicit(&mm_access_hook, memory_order_relaxed);

	if (unlikely(h))
		h(bh, p, len, write);
}

/* Live-object counters (the radix-tree test-suite habit): must return to 0. */
extern _Atomic long nr_live_folios, nr_live_buffer_heads;

#endif /* JBDLAB_MM_H */
