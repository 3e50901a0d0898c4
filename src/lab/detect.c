// SPDX-License-Identifier: GPL-2.0
/*
 * detect.c - the lab's evidence: every detector reports here, each report
 * names its class, its seed and the threads involved, in the shape of a
 * KASAN splat (the class and the access, the folio and block, then the
 * events of every thread that touched them around the window, then the
 * line that replays it).
 *
 * Detectors wired here (the others call lab_detect() from their threads):
 *   - the access check (mm_access_hook): a read through b_data of the fs's
 *     io_manager or data path that lands in a freed, quarantined folio;
 *   - the quarantine's poison check (poison_report_hook): a write through
 *     a stale pointer, found when the freed folio is checked;
 *   - might_sleep() under a spinlock (might_sleep_hook): I4;
 *   - the journal-I/O oracle (a jbd2_commit_observer): the bytes of every
 *     temporary bh are copied when jbd2 sets it up -- the bytes the tag
 *     checksum is taken over -- and compared with what the log block holds
 *     once its write completed; a difference means the bio read a folio
 *     that moved (I2).  A temporary bh set up on a folio already in the
 *     quarantine is I2 too.
 *
 * Locking rules: lab->det_lock (mutex) around records and printing; the
 * observer's table has its own spinlock (its callbacks run under
 * jh->b_state_lock and in the I/O completion thread: no sleeping lock
 * there except det_lock for an actual detection, which is rare).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab_internal.h"

static struct lab *cur_lab;	/* [set before the threads start, cleared after they stop] */
static void (*saved_poison_hook)(const struct mm_poison_report *r);	/* [as cur_lab] */

static const char *const class_names[LAB_NCLASS] = { "I1", "I2", "I3", "I4", "I5" };
static const char *const class_titles[LAB_NCLASS] = {
	"lookup-vs-migration (stale b_data, lost update)",
	"jbd2 temporary bh vs migration (the log got other bytes)",
	"handle credit overrun",
	"sleeping function called from invalid context",
	"lock-order inversion",
};

const char *lab_class_name(enum lab_class c)
{
	return (unsigned int)c < LAB_NCLASS ? class_names[c] : "?";
}

double lab_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* __lab_is_duplicate - entry: det_lock held. */
static bool __lab_is_duplicate(struct lab *lab, enum lab_class cls, uint64_t block, uint64_t pfn,
			       double t)
{
	for (size_t i = lab->ndet; i-- > 0; ) {
		const struct lab_detection *d = &lab->det[i];

		if (d->cls != cls)
			continue;
		if (pfn && d->pfn == pfn)
			return true;
		if (block != LAB_NO_BLOCK && d->block == block && t - d->t < 0.05)
			return true;
		if (t - d->t > 1.0)
			break;
	}
	return false;
}

static void lab_vdetect(struct lab *lab, enum lab_class cls, const char *detector,
			uint64_t block, uint64_t pfn, uint64_t pfn2, const char *named,
			const char *fmt, va_list ap)
{
	const struct lab_opts *o = lab->o;
	FILE *out = o->report ? o->report : stderr;
	double t = lab_time(lab);
	struct lab_detection *d;
	char what[16384], threads[256];
	uint64_t pfns[2] = { pfn, pfn2 };

	vsnprintf(what, sizeof(what), fmt, ap);

	pthread_mutex_lock(&lab->det_lock);
	if (__lab_is_duplicate(lab, cls, block, pfn, t)) {
		pthread_mutex_unlock(&lab->det_lock);
		return;
	}
	if (lab->ndet == lab->det_cap) {
		size_t cap = lab->det_cap ? 2 * lab->det_cap : 64;
		struct lab_detection *n = realloc(lab->det, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&lab->det_lock);
			return;
		}
		lab->det = n;
		lab->det_cap = cap;
	}
	d = &lab->det[lab->ndet++];
	d->cls = cls;
	snprintf(d->detector, sizeof(d->detector), "%s", detector);
	d->block = block;
	d->pfn = pfn;
	d->t = t;
	if (!lab->r->detections[cls]++)
		lab->r->first_s[cls] = t;
	if ((int)cls == o->stop_class || o->stop_class == LAB_NCLASS) {
		atomic_store(&lab->stop, true);
		pthread_cond_broadcast(&lab->det_cond);
	}

	if (lab->reported[cls] < o->max_reports) {
		char fo[32] = "";

		if (o->folio_order)
			snprintf(fo, sizeof(fo), " --folio-order %u", o->folio_order);
		lab->reported[cls]++;
		fprintf(out, "==================================================================\n"
			"BUG: jbdlab %s: %s\n"
			"%s\n"
			"detector: %s", class_names[cls], class_titles[cls], what, detector);
		if (block != LAB_NO_BLOCK)
			fprintf(out, "; block %" PRIu64, block);
		if (pfn)
			fprintf(out, "; folio pfn %#" PRIx64, pfn);
		if (pfn2)
			fprintf(out, " (new folio pfn %#" PRIx64 ")", pfn2);
		fprintf(out, "\nstrategy %s (%s), seed %" PRIu64 ", t=%.3fs, detected by thread %s\n",
			o->strategy->name, o->strategy->kernel, o->seed, t, trace_thread_name());
		threads[0] = 0;
		if (named)
			snprintf(threads, sizeof(threads), "%s", named);
		if (block != LAB_NO_BLOCK || pfn) {
			if (!named)
				trace_window_threads(block, pfns, 2, threads, sizeof(threads));
			fprintf(out, "events of the threads that touched the block or the folio:\n");
			if (!trace_print_window(out, block, pfns, 2, 24, "  "))
				fprintf(out, "  (no events recorded)\n");
		}
		if (!named && !strstr(threads, trace_thread_name())) {
			size_t l = strlen(threads);

			snprintf(threads + l, sizeof(threads) - l, "%s%s", l ? ", " : "",
				 trace_thread_name());
		}
		fprintf(out, "threads involved: %s\n", threads);
		if (o->rerun)	/* a live mount: its own options (live.c) */
			fprintf(out, "replay: %s\n", o->rerun);
		else
			fprintf(out, "replay: jbdlab race --strategy %s --replay %" PRIu64
				" --class %s%s%s%s%s\n", o->strategy->name, o->seed, class_names[cls],
				fo, o->credits == JFS_CREDITS_DEPTH ? " --credits depth" : "",
				o->revoke_lookup_alias ? " --revoke-lookup alias" : "",
				o->rerun_args ? o->rerun_args : "");
		fprintf(out, "==================================================================\n");
		fflush(out);
	}
	pthread_mutex_unlock(&lab->det_lock);
}

void lab_detect(struct lab *lab, enum lab_class cls, const char *detector, uint64_t block,
		uint64_t pfn, uint64_t pfn2, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lab_vdetect(lab, cls, detector, block, pfn, pfn2, NULL, fmt, ap);
	va_end(ap);
}

void lab_detect_threads(struct lab *lab, enum lab_class cls, const char *detector,
			uint64_t block, uint64_t pfn, uint64_t pfn2, const char *threads,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lab_vdetect(lab, cls, detector, block, pfn, pfn2, threads, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------- the hooks */

static void lab_access_hook(struct buffer_head *bh, const void *p, size_t len, bool write)
{
	struct lab *lab = cur_lab;
	uint64_t pfn, gen;

	if (!lab || !mm_quarantine_lookup(p, &pfn, &gen))
		return;
	lab_detect(lab, LAB_I1, write ? "use-after-free write" : "use-after-free read",
		   bh->b_blocknr, pfn, 0,
		   "%s of size %zu at %p through b_data of block %llu: the folio (pfn %#llx gen %llu) "
		   "was freed by a migration while this bh reference was held",
		   write ? "Write" : "Read", len, p, (unsigned long long)bh->b_blocknr,
		   (unsigned long long)pfn, (unsigned long long)gen);
}

static void lab_poison_hook(const struct mm_poison_report *pr)
{
	struct lab *lab = cur_lab;

	if (!lab)
		return;
	lab_detect(lab, LAB_I1, "poison overwritten (quarantine)", LAB_NO_BLOCK, pr->pfn, 0,
		   "A freed folio (pfn %#llx gen %llu) was written after it was freed: offset %zu "
		   "holds %#02x instead of the poison %#02x (a write through a stale pointer)",
		   (unsigned long long)pr->pfn, (unsigned long long)pr->generation, pr->offset,
		   pr->byte, FOLIO_POISON);
}

static void lab_might_sleep_hook(const char *what)
{
	struct lab *lab = cur_lab;

	char held[2048], bt[2048];

	if (!lab)
		return;
	lab_lockdep_held_text(held, sizeof(held));
	lab_backtrace_text(bt, sizeof(bt));
	lab_detect(lab, LAB_I4, "might_sleep()", LAB_NO_BLOCK, 0, 0,
		   "BUG: %s: a sleeping function was called with %d spinlock(s) held\n"
		   "locks held by \"%s\":\n%s"
		   "call trace:\n%s",
		   what, current_spin_depth, trace_thread_name(), held, bt);
}

void lab_hooks_install(struct lab *lab)
{
	cur_lab = lab;
	atomic_store(&mm_access_hook, lab_access_hook);
	saved_poison_hook = poison_report_hook;
	poison_report_hook = lab_poison_hook;
	might_sleep_hook = lab_might_sleep_hook;
}

void lab_hooks_remove(struct lab *lab)
{
	atomic_store(&mm_access_hook, NULL);
	might_sleep_hook = NULL;
	/* the poison hook stays until the quarantine was checked (lab.c) */
	(void)lab;
}

void lab_hooks_final(void)
{
	poison_report_hook = saved_poison_hook;
	cur_lab = NULL;
}

/* --------------------------------------------------- journal-I/O oracle */

#define ORACLE_SLOTS	16384

struct oracle_rec {
	struct buffer_head *tmp;	/* key [oracle_lock] */
	uint64_t block;			/* bh_in's block */
	uint64_t logblk;		/* tmp->b_blocknr */
	uint64_t pfn;			/* the aliased folio, 0 for a copy */
	size_t size;
	char data[];			/* what the tag checksum is taken over */
};

static spinlock_t oracle_lock;
static struct oracle_rec *oracle[ORACLE_SLOTS];	/* [oracle_lock] */
static _Atomic uint64_t oracle_dropped;	/* table full: not checked [atomic] */

__attribute__((constructor)) static void oracle_ctor(void)
{
	spin_lock_init(&oracle_lock);
}

static unsigned int oracle_hash(const struct buffer_head *tmp)
{
	return (unsigned int)(((uintptr_t)tmp >> 4) * 0x9e3779b97f4a7c15ULL >> 50) % ORACLE_SLOTS;
}

static void oracle_begin(journal_t *j, struct buffer_head *bh_in, struct buffer_head *tmp,
			 bool aliasing, void *priv)
{
	struct lab *lab = cur_lab;
	struct oracle_rec *rec;
	uint64_t pfn = 0, qpfn;
	unsigned int h, h0;

	if (!lab)
		return;
	if (aliasing)
		pfn = READ_ONCE(tmp->b_folio)->pfn;
	trace_event(aliasing ? TR_TMPBH_ALIAS : TR_TMPBH_COPY, bh_in->b_blocknr, pfn, tmp->b_blocknr);
	if (aliasing && mm_quarantine_lookup(tmp->b_data, &qpfn, NULL))
		lab_detect(lab, LAB_I2, "tmp bh on a freed folio", bh_in->b_blocknr, qpfn, 0,
			   "jbd2_journal_write_metadata_buffer() aliased the temporary bh of block "
			   "%llu (log block %llu) to a folio that migration already freed",
			   (unsigned long long)bh_in->b_blocknr, (unsigned long long)tmp->b_blocknr);
	rec = malloc(sizeof(*rec) + tmp->b_size);
	if (!rec) {
		atomic_fetch_add(&oracle_dropped, 1);
		return;
	}
	rec->tmp = tmp;
	rec->block = bh_in->b_blocknr;
	rec->logblk = tmp->b_blocknr;
	rec->pfn = pfn;
	rec->size = tmp->b_size;
	memcpy(rec->data, tmp->b_data, tmp->b_size);
	spin_lock(&oracle_lock);
	h0 = h = oracle_hash(tmp);
	do {
		if (!oracle[h]) {
			oracle[h] = rec;
			rec = NULL;
			break;
		}
		h = (h + 1) % ORACLE_SLOTS;
	} while (h != h0);
	spin_unlock(&oracle_lock);
	if (rec) {
		free(rec);
		atomic_fetch_add(&oracle_dropped, 1);
	}
}

static struct oracle_rec *oracle_take(struct buffer_head *tmp)
{
	struct oracle_rec *rec = NULL;
	unsigned int h0 = oracle_hash(tmp), h = h0;

	spin_lock(&oracle_lock);
	do {
		if (oracle[h] && oracle[h]->tmp == tmp) {
			rec = oracle[h];
			oracle[h] = NULL;
			break;
		}
		h = (h + 1) % ORACLE_SLOTS;
	} while (h != h0);
	spin_unlock(&oracle_lock);
	return rec;
}

static void oracle_end(journal_t *j, struct buffer_head *bh_in, struct buffer_head *tmp,
		       int uptodate, void *priv)
{
	struct lab *lab = cur_lab;
	struct oracle_rec *rec = oracle_take(tmp);
	char *disk;
	size_t diff = 0, first = 0, poison = 0;

	if (!rec)
		return;
	trace_event(TR_TMPBH_DMA, rec->block, rec->pfn, rec->logblk);
	disk = malloc(rec->size);
	if (lab && disk && uptodate &&
	    pread(j->j_dev->fd, disk, rec->size, (off_t)(rec->logblk * rec->size)) ==
	    (ssize_t)rec->size) {
		for (size_t i = 0; i < rec->size; i++) {
			if (disk[i] == rec->data[i])
				continue;
			if (!diff++)
				first = i;
			poison += (unsigned char)disk[i] == FOLIO_POISON;
		}
		if (diff)
			lab_detect(lab, LAB_I2, "journal-I/O oracle", rec->block, rec->pfn, 0,
				   "The log write of block %llu (log block %llu) put other bytes into "
				   "the journal than jbd2 checksummed: %zu of %zu differ, the first at "
				   "offset %zu, %zu of them poison (%#02x): the temporary bh's folio "
				   "was moved and freed before the DMA",
				   (unsigned long long)rec->block, (unsigned long long)rec->logblk,
				   diff, rec->size, first, poison, FOLIO_POISON);
	}
	free(disk);
	free(rec);
}

/*
 * jbd2's own stale pointer: the descriptor's tagp or j_superblock outlived
 * a move of its buffer (a b_count holder's pointer, as the metadata users'
 * are, in jbd2 itself): I1.  The block goes to the log without what was
 * written through the pointer after the move -- a descriptor missing its
 * last tags fails the replay's tag checksums, a journal superblock its own
 * checksum -- which is why the crash detector looks here before it calls
 * a replay's checksum error I2.
 */
static void own_ptr_stale(journal_t *j, struct buffer_head *bh, const void *ptr, const char *what,
			  void *priv)
{
	struct lab *lab = cur_lab;
	uint64_t qpfn = 0;

	(void)j;
	(void)priv;
	if (!lab)
		return;
	atomic_store(&lab->jbd2_stale_ptr, true);
	mm_quarantine_lookup(ptr, &qpfn, NULL);
	lab_detect(lab, LAB_I1, "jbd2 stale pointer", bh->b_blocknr, qpfn,
		   READ_ONCE(bh->b_folio)->pfn,
		   "jbd2's %s pointer %p into journal block %llu was taken from b_data before a "
		   "migration moved the block (b_count held, ignored): what jbd2 wrote through it "
		   "after the move is not in the block it now writes to the log",
		   what, ptr, (unsigned long long)bh->b_blocknr);
}

/*
 * I3: jbd2_journal_dirty_metadata() refused a buffer that would join the
 * transaction because the handle had no buffer credit left (WARN_ON_ONCE,
 * -ENOSPC; kernel-race.md §2.5 I3).  The fs then does what ext4's
 * __ext4_handle_dirty_metadata() does (src/fs/journal.c): "aborting
 * transaction: error 28", handle abort, ext4_error "journal_dirty_metadata
 * failed: handle type T started at line L, credits N/0, errcode -28", the
 * error count, the journal abort and read-only.  Called before the fs
 * reacts, in the refused handle's thread, no journal lock held (the fs
 * lock is).  --credits depth is the estimate rule before 32a93f5bc9b9, max
 * the fix (src/fs/op.c); the detector fires on any overrun, whichever op.
 */
static void credits_out(journal_t *j, handle_t *h, struct buffer_head *bh, void *priv)
{
	struct lab *lab = cur_lab;

	(void)j;
	(void)priv;
	if (!lab)
		return;
	atomic_store(&lab->i3_aborted, true);	/* what follows is the read-only fs */
	lab_detect(lab, LAB_I3, "jbd2 credit WARN (-ENOSPC)", bh->b_blocknr, 0, 0,
		   "jbd2_journal_dirty_metadata: handle %s (type %u) started at line %u, "
		   "credits %u/%d: block %" PRIu64 " would join the transaction with no credit "
		   "left: WARN_ON_ONCE, -ENOSPC; the fs aborts the handle and the journal and "
		   "falls back to read-only (--credits %s)",
		   h->h_name ? h->h_name : "?", h->h_type, h->h_line_no, h->h_requested_credits,
		   jbd2_handle_buffer_credits(h), (uint64_t)bh->b_blocknr,
		   lab->o->credits == JFS_CREDITS_DEPTH ? "depth" : "max");
}

const struct jbd2_commit_observer lab_commit_observer = {
	.tmpbh_begin = oracle_begin,
	.tmpbh_end = oracle_end,
	.own_ptr_stale = own_ptr_stale,
	.credits_out = credits_out,
};

/* -------------------------------------------------------------- helpers */

bool lab_block_is_cached(struct lab *lab, uint64_t blocknr)
{
	struct address_space *m = lab->v.mapping;
	unsigned int shift = PAGE_SHIFT + m->folio_order - m->blkbits;
	struct buffer_head *head, *bh;
	struct folio *f = filemap_get_folio(m, blocknr >> shift);
	bool found = false;

	if (!f)
		return false;
	folio_lock(f);
	head = folio_buffers(f);
	if (head && f->mapping == m) {
		bh = head;
		do {
			if (buffer_mapped(bh) && bh->b_blocknr == blocknr)
				found = true;
			bh = bh->b_this_page;
		} while (bh != head && !found);
	}
	folio_unlock(f);
	folio_put(f);
	return found;
}
