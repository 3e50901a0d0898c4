// SPDX-License-Identifier: GPL-2.0
/*
 * metauser.c - the lab's ext4-like metadata users.
 *
 * ext4 modifies metadata the way ext4_find_entry() + ext4_delete_entry() or
 * ext4_find_extent() + ext4_ext_insert_extent() do: look the block up
 * (sb_getblk / sb_bread: bdev_getblk, sleeping from v6.15, atomic before),
 * derive a pointer into b_data (a dirent, an extent header) right away,
 * go on working, call ext4_journal_get_write_access(), and write through the
 * saved pointer without the buffer lock, then ext4_handle_dirty_metadata().
 * Migration holds every buffer lock from buffer_migrate_lock_buffers() to
 * after folio_set_bh(), so a writer that re-reads b_data after
 * get_write_access always lands on the new folio: only a pointer taken
 * before it can go stale.  That is why the fs ops (which re-read b_data
 * under lock_buffer) never show I1, and why these threads exist.
 *
 * Each thread owns a set of the arena's blocks (a preallocated file whose
 * contents e2fsck does not judge) and is their only writer, so the content
 * oracle is exact: the shadow is what the page cache, and after writeback
 * the disk, must hold.  A quarter of a thread's blocks are written, the
 * rest only read.  That split is what the kernel's race needs: jbd2 pins
 * a journalled buffer (the journal_head's get_bh) until it is checkpointed,
 * and norefs migration never moves a pinned folio -- so a block is exposed
 * only while nobody journals it: metadata that is read (ext4_find_entry for
 * a lookup, ext4_find_extent for a read), or written for the first time
 * since its last checkpoint.
 *
 * The arena's folios come in four kinds (folio index % 4), so that the
 * BH_Meta-based schemes meet every case ext4 has -- BH_Meta is set by
 * __ext4_handle_dirty_metadata() on first dirtying and never cleared:
 *   0: the head block is written, the others only read (head has BH_Meta)
 *   1: the second block is written, the head only read (head lacks it:
 *      skip-meta's head-only test misses the folio, skip-meta-all does not)
 *   2: only read, but written once at set-up (every bh has BH_Meta)
 *   3: only read, never written (no BH_Meta anywhere: exposed to both)
 *
 *   lookup       mostly bdev_getblk(); one in five __find_get_block() first
 *                (recently_deleted()-style), falling back to bdev_getblk():
 *                a NULL for a block that is cached is counted
 *   derive       p = b_data; p must not point into a freed folio; the
 *                block must hold its shadow (else: a lost update, a stale read)
 *   window       yield_point(YP_META_ACCESS), the strategy's meta_access_begin
 *   read op      read the block again through p: poison or other bytes are a
 *                stale read ("invalid magic", "directory missing '.'")
 *   write op     jbd2_journal_start(1), get_write_access; one 64-byte slot and
 *                the header, through p, no buffer lock (a p inside a freed
 *                folio is reported as KASAN would); BH_Meta + BH_Prio,
 *                jbd2_journal_dirty_metadata, stop
 *   verify       brelse, then a fresh lookup: the page cache must hold the
 *                shadow
 *
 * Every block carries a header {magic, owner, blocknr, version, crc32c of
 * the rest}, so a crash image can be judged without knowing which version
 * the replay should have brought back.
 *
 * Locking rules: a thread touches only its own arena blocks' shadows; the
 * bh and journal calls take their own locks; nothing here holds a lock
 * across the yield point.
 */
#include <string.h>

#include "lab_internal.h"

static void stamp_slot(char *block, size_t bs, uint64_t blocknr, uint64_t version,
		       unsigned int slot)
{
	uint64_t *w = (uint64_t *)(block + sizeof(struct lab_block_hdr) + (size_t)slot * LAB_SLOT);

	for (size_t i = 0; i < LAB_SLOT / sizeof(*w); i++)
		w[i] = blocknr * 0x9e3779b97f4a7c15ULL ^ version ^ (uint64_t)i << 56;
	(void)bs;
}

static void make_header(struct lab_block_hdr *h, const char *block, size_t bs, uint64_t blocknr,
			uint64_t version, unsigned int owner)
{
	h->magic = LAB_MAGIC;
	h->owner = owner;
	h->blocknr = blocknr;
	h->version = version;
	h->crc = crc32c(~0U, block + sizeof(*h), bs - sizeof(*h));
	h->pad = 0;
}

/* The block is all poison where the shadow is not: a read of freed memory. */
static size_t poison_bytes(const char *p, const char *shadow, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += (unsigned char)p[i] == FOLIO_POISON && (unsigned char)shadow[i] != FOLIO_POISON;
	return k;
}

static uint64_t folio_pfn_of(struct buffer_head *bh)
{
	struct folio *f = READ_ONCE(bh->b_folio);

	return f ? f->pfn : 0;
}

static struct buffer_head *meta_lookup(struct lab *lab, struct lab_arena_block *ab)
{
	unsigned int bs = lab->v.blocksize;
	struct buffer_head *bh = NULL;

	if (prandom_u64() % 5 == 0) {
		bh = __find_get_block(lab->v.bdev, ab->blocknr, bs);
		if (!bh) {
			trace_event(TR_LOOKUP_NULL, ab->blocknr, 0, 0);
			if (lab_block_is_cached(lab, ab->blocknr))
				atomic_fetch_add(&lab->null_for_cached, 1);
		}
	}
	if (!bh)
		bh = bdev_getblk(lab->v.bdev, ab->blocknr, bs);
	trace_event(TR_LOOKUP, ab->blocknr, folio_pfn_of(bh), 0);
	if (!buffer_uptodate(bh) && bh_read(bh)) {
		brelse(bh);
		return NULL;
	}
	return bh;
}

/* Compare the block at p with the shadow; report a difference. */
static bool meta_check(struct lab *lab, struct lab_arena_block *ab, struct buffer_head *bh,
		       const char *p, uint64_t pfn, const char *when)
{
	size_t bs = lab->v.blocksize, first;
	const struct lab_block_hdr *want = (const void *)ab->shadow;
	struct lab_block_hdr got;

	if (!memcmp(p, ab->shadow, bs))
		return true;
	for (first = 0; first < bs && p[first] == ab->shadow[first]; first++)
		;
	memcpy(&got, p, sizeof(got));
	ab->tainted = true;
	lab_detect(lab, LAB_I1, poison_bytes(p, ab->shadow, bs) ? "poison read" : "content oracle",
		   ab->blocknr, pfn, folio_pfn_of(bh),
		   "%s: block %llu does not hold its last write (version %llu): it holds version "
		   "%llu%s, first difference at offset %zu -- %s",
		   when, (unsigned long long)ab->blocknr, (unsigned long long)want->version,
		   got.magic == LAB_MAGIC ? (unsigned long long)got.version : 0ULL,
		   got.magic == LAB_MAGIC ? "" : " (no header: foreign bytes)", first,
		   poison_bytes(p, ab->shadow, bs) ? "it reads as freed-folio poison (a stale read)"
						   : "a write went to a folio that migration had copied "
						     "already (a lost update)");
	return false;
}

static void meta_one(struct lab *lab, unsigned int me, struct lab_arena_block *ab, bool write)
{
	const struct strategy *s = mapping_strategy(lab->v.mapping);
	unsigned int bs = lab->v.blocksize;
	unsigned int nslots = (bs - sizeof(struct lab_block_hdr)) / LAB_SLOT;
	struct lab_block_hdr *sh = (void *)ab->shadow;
	struct buffer_head *bh, *vbh;
	uint64_t pfn, qpfn, version;
	unsigned int slot;
	handle_t *h;
	tid_t tid = 0;
	char *p;
	int err;

	bh = meta_lookup(lab, ab);
	if (!bh) {
		lab_fs_error(lab);
		return;
	}
	/* the ext4_find_entry() step: a pointer into the block, kept */
	p = READ_ONCE(bh->b_data);
	pfn = folio_pfn_of(bh);
	trace_event(TR_DERIVE, ab->blocknr, pfn, (uint64_t)offset_in_folio(READ_ONCE(bh->b_folio), p));
	if (mm_quarantine_lookup(p, &qpfn, NULL))
		lab_detect(lab, LAB_I1, "use-after-free read", ab->blocknr, qpfn, 0,
			   "Read of size %u at %p: b_data of block %llu points into a folio that "
			   "migration freed, right after the lookup returned it",
			   bs, (void *)p, (unsigned long long)ab->blocknr);
	else
		meta_check(lab, ab, bh, p, pfn, "after the lookup");

	if (s->meta_access_begin)
		s->meta_access_begin(bh);
	yield_point(YP_META_ACCESS);

	if (!write) {
		/* the reader's second look, through the saved pointer */
		trace_event(TR_READ_PTR, ab->blocknr, pfn, 0);
		if (mm_quarantine_lookup(p, &qpfn, NULL))
			lab_detect(lab, LAB_I1, "use-after-free read", ab->blocknr, qpfn,
				   folio_pfn_of(bh),
				   "Read of size %u at %p: a pointer into block %llu taken after the "
				   "lookup now points into a folio that migration freed (the bh was "
				   "re-pointed to pfn %#llx, the pointer was not)",
				   bs, (void *)p, (unsigned long long)ab->blocknr,
				   (unsigned long long)folio_pfn_of(bh));
		else
			meta_check(lab, ab, bh, p, pfn, "through the saved pointer");
		atomic_fetch_add(&lab->ops, 1);
		goto out;
	}
	h = jbd2_journal_start(lab->v.journal, 1);
	if (IS_ERR(h)) {
		lab_fs_error(lab);
		goto out;
	}
	err = jbd2_journal_get_write_access(h, bh);
	trace_event(TR_GET_WRITE_ACCESS, ab->blocknr, folio_pfn_of(bh), 0);
	if (err) {
		lab_fs_error(lab);
		jbd2_journal_stop(h);
		goto out;
	}

	/* the write, through the pointer taken before get_write_access */
	version = sh->version + 1;
	slot = (unsigned int)(prandom_u64() % nslots);
	stamp_slot(ab->shadow, bs, ab->blocknr, version, slot);
	make_header(sh, ab->shadow, bs, ab->blocknr, version, me);
	ab->written = true;
	if (mm_quarantine_lookup(p, &qpfn, NULL) && (ab->tainted = true))
		lab_detect(lab, LAB_I1, "use-after-free write", ab->blocknr, qpfn, folio_pfn_of(bh),
			   "Write of size %u at %p: a pointer into block %llu taken before "
			   "get_write_access points into a folio that migration freed; the write is "
			   "lost (the page cache has block %llu on folio pfn %#llx)",
			   LAB_SLOT + (unsigned int)sizeof(*sh), (void *)p,
			   (unsigned long long)ab->blocknr, (unsigned long long)ab->blocknr,
			   (unsigned long long)folio_pfn_of(bh));
	else if (p != READ_ONCE(bh->b_data) && (ab->tainted = true)) {
		/*
		 * Migration re-pointed the buffer and p's folio is not in the
		 * quarantine: released already (the thread held p across a long
		 * journal stall, and the memory may now be another folio's), or
		 * not freed yet (the copy is done; the poisoning would erase the
		 * write).  Either way the write is lost.  KASAN would be silent
		 * after the release, and the kernel would corrupt whatever reused
		 * the page.  Simplification: the lab reports the stale write and
		 * does not make it, because that damage would surface in another
		 * block's oracle (the content oracle, or the journal-I/O oracle as
		 * a false I2 under a scheme that protects the temporary bh).
		 */
		atomic_fetch_add(&lab->stale_reused, 1);
		lab_detect(lab, LAB_I1, "use-after-free write", ab->blocknr, pfn, folio_pfn_of(bh),
			   "Write of size %u at %p: a pointer into block %llu taken before "
			   "get_write_access points into folio pfn %#llx, which migration left "
			   "(the buffer is on pfn %#llx now) and which is not in the quarantine "
			   "(released, or not freed yet): the write is lost, the lab does not make it",
			   LAB_SLOT + (unsigned int)sizeof(*sh), (void *)p,
			   (unsigned long long)ab->blocknr, (unsigned long long)pfn,
			   (unsigned long long)folio_pfn_of(bh));
		goto dirty;
	}
	memcpy(p + sizeof(*sh) + (size_t)slot * LAB_SLOT,
	       ab->shadow + sizeof(*sh) + (size_t)slot * LAB_SLOT, LAB_SLOT);
	memcpy(p, sh, sizeof(*sh));
	trace_event(TR_WRITE_PTR, ab->blocknr, pfn, version);
dirty:

	/* __ext4_handle_dirty_metadata() */
	set_buffer_meta(bh);
	set_buffer_prio(bh);
	err = jbd2_journal_dirty_metadata(h, bh);
	if (h->h_transaction)
		tid = h->h_transaction->t_tid;
	if (jbd2_journal_stop(h) || err)
		lab_fs_error(lab);
	atomic_fetch_add(&lab->ops, 1);
	if (version % 64 == 0 && tid)
		jbd2_log_start_commit(lab->v.journal, tid);
out:
	if (s->meta_access_end)
		s->meta_access_end(bh);
	brelse(bh);

	/* the content oracle: a fresh lookup must find the last write */
	vbh = bdev_getblk(lab->v.bdev, ab->blocknr, bs);
	lock_buffer(vbh);	/* b_data cannot be re-pointed under us */
	meta_check(lab, ab, vbh, vbh->b_data, folio_pfn_of(vbh), "after the write");
	/* a lost update is reported once: from here on the block holds the shadow */
	if (memcmp(vbh->b_data, ab->shadow, bs)) {
		unlock_buffer(vbh);
		h = jbd2_journal_start(lab->v.journal, 1);
		if (!IS_ERR(h)) {
			if (!jbd2_journal_get_write_access(h, vbh)) {
				lock_buffer(vbh);
				memcpy(vbh->b_data, ab->shadow, bs);
				unlock_buffer(vbh);
				jbd2_journal_dirty_metadata(h, vbh);
			}
			jbd2_journal_stop(h);
		}
	} else {
		unlock_buffer(vbh);
	}
	brelse(vbh);
}

/* The kind of an arena block's folio, and whether it is a writer block. */
static unsigned int arena_kind(const struct lab *lab, const struct lab_arena_block *ab,
			       unsigned int *pos)
{
	const struct address_space *m = lab->v.mapping;
	unsigned int shift = PAGE_SHIFT + m->folio_order - m->blkbits;

	*pos = (unsigned int)(ab->blocknr & ((1U << shift) - 1));
	return (unsigned int)((ab->blocknr >> shift) % 4);
}

bool lab_arena_written(const struct lab *lab, const struct lab_arena_block *ab)
{
	unsigned int pos, kind = arena_kind(lab, ab, &pos);

	return (kind == 0 && pos == 0) || (kind == 1 && pos == 1);
}

/* Set-up: kind-2 blocks get the one write that gives them BH_Meta. */
void lab_arena_first_writes(struct lab *lab)
{
	for (unsigned int i = 0; i < lab->narena; i++) {
		unsigned int pos;

		if (arena_kind(lab, &lab->arena[i], &pos) == 2)
			meta_one(lab, lab->arena[i].owner, &lab->arena[i], true);
	}
	invalidate_bh_lru_current();
}

void *lab_metauser_thread(void *arg)
{
	struct lab_thread *t = arg;
	struct lab *lab = t->lab;
	unsigned int *rd, *wr, nrd = 0, nwr = 0;

	yield_seed_thread(lab->o->seed * 1000003ULL + 101 + t->index);
	trace_set_thread_name("meta-user/%u", t->index);
	rd = calloc(lab->narena, sizeof(*rd));
	wr = calloc(lab->narena, sizeof(*wr));
	if (!rd || !wr)
		goto out;
	for (unsigned int i = 0; i < lab->narena; i++) {
		if (lab->arena[i].owner != t->index)
			continue;
		if (lab_arena_written(lab, &lab->arena[i]))
			wr[nwr++] = i;
		else
			rd[nrd++] = i;
	}
	while ((nrd || nwr) && !atomic_load(&lab->stop)) {
		bool write = nwr && (!nrd || prandom_u64() % 10 < 3);

		if (write)
			meta_one(lab, t->index, &lab->arena[wr[prandom_u64() % nwr]], true);
		else
			meta_one(lab, t->index, &lab->arena[rd[prandom_u64() % nrd]], false);
	}
out:
	free(rd);
	free(wr);
	bh_lru_thread_exit();
	return NULL;
}
