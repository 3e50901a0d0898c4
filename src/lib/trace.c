// SPDX-License-Identifier: GPL-2.0
/*
 * trace.c - per-thread event rings (include/trace.h).
 *
 * Each thread's ring holds its last TRACE_RING events.  An event is written
 * by the owner as: seq = 0 (invalid), the fields, seq = global sequence
 * number (release).  A reader takes seq (acquire), the fields, then seq
 * again and keeps the event only if both are equal and non-zero: a
 * seqcount in miniature, so an event overwritten under the reader is
 * dropped, never mixed.
 *
 * Rings live on a registry list and are never freed while the process
 * runs: a thread that exited may still be part of the story (a ring is
 * ~3 KiB; the lab starts a dozen threads per run).
 *
 * Locking rules: trace_registry_lock (a mutex) protects the list and ring
 * ownership; ring slots are [atomic] and written only by their owner.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "locking.h"
#include "trace.h"

#define TRACE_RING	64

struct trace_slot {
	_Atomic uint64_t seq;		/* 0 = empty or being written */
	_Atomic uint64_t ns, block, pfn, arg;
	_Atomic unsigned int ev;
};

struct trace_ring {
	struct trace_slot slot[TRACE_RING];	/* [owner writes, atomic] */
	_Atomic unsigned int head;		/* next slot [owner] */
	char name[32];				/* [trace_registry_lock once registered] */
	struct trace_ring *next;		/* [trace_registry_lock] */
};

_Atomic bool trace_on;
const char *(*trace_fail_reason_name)(uint64_t reason);
static _Atomic uint64_t trace_seq;
static uint64_t trace_t0;			/* [atomic via trace_enable ordering] */
static pthread_mutex_t trace_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct trace_ring *trace_rings;		/* [trace_registry_lock] */
static pthread_key_t trace_key;
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;
static __thread struct trace_ring *my_ring;
static __thread char my_name[32];

static const char *const ev_names[TR_NR] = {
	[TR_NONE] = "-",
	[TR_LOOKUP] = "lookup",
	[TR_LOOKUP_NULL] = "lookup -> NULL",
	[TR_DERIVE] = "ptr = b_data",
	[TR_GET_WRITE_ACCESS] = "get_write_access",
	[TR_WRITE_PTR] = "write via saved ptr",
	[TR_READ_PTR] = "read via saved ptr",
	[TR_MIG_ISOLATE] = "migrate: isolate",
	[TR_MIG_REFCHECK] = "migrate: b_count scan passed",
	[TR_MIG_COPY] = "migrate: folio_mc_copy ->",
	[TR_MIG_FREEZE] = "migrate: freeze + replace slot ->",
	[TR_MIG_SET_BH] = "migrate: folio_set_bh ->",
	[TR_MIG_FREE] = "migrate: source freed",
	[TR_MIG_FAIL] = "migrate: failed",
	[TR_TMPBH_ALIAS] = "jbd2: tmp bh aliases folio, log blk",
	[TR_TMPBH_COPY] = "jbd2: tmp bh logs a copy, log blk",
	[TR_TMPBH_DMA] = "jbd2: log write DMA done, log blk",
};

const char *trace_ev_name(enum trace_ev ev)
{
	return ev < TR_NR && ev_names[ev] ? ev_names[ev] : "?";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void trace_ring_exit(void *p)
{
	my_ring = NULL;	/* the ring stays on the registry */
}

static void trace_key_init(void)
{
	pthread_key_create(&trace_key, trace_ring_exit);
}

static struct trace_ring *trace_ring_get(void)
{
	struct trace_ring *r = my_ring;

	if (likely(r))
		return r;
	pthread_once(&trace_once, trace_key_init);
	r = calloc(1, sizeof(*r));
	BUG_ON(!r);
	if (my_name[0])
		snprintf(r->name, sizeof(r->name), "%s", my_name);
	else
		snprintf(r->name, sizeof(r->name), "tid %u", current_tid());
	pthread_mutex_lock(&trace_registry_lock);
	r->next = trace_rings;
	trace_rings = r;
	pthread_mutex_unlock(&trace_registry_lock);
	pthread_setspecific(trace_key, r);
	my_ring = r;
	return r;
}

void __trace_event(enum trace_ev ev, uint64_t block, uint64_t pfn, uint64_t arg)
{
	struct trace_ring *r = trace_ring_get();
	unsigned int h = atomic_load_explicit(&r->head, memory_order_relaxed);
	struct trace_slot *s = &r->slot[h % TRACE_RING];

	atomic_store_explicit(&s->seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->ns, now_ns(), memory_order_relaxed);
	atomic_store_explicit(&s->block, block, memory_order_relaxed);
	atomic_store_explicit(&s->pfn, pfn, memory_order_relaxed);
	atomic_store_explicit(&s->arg, arg, memory_order_relaxed);
	atomic_store_explicit(&s->ev, ev, memory_order_relaxed);
	atomic_store_explicit(&s->seq, atomic_fetch_add(&trace_seq, 1) + 1, memory_order_release);
	atomic_store_explicit(&r->head, h + 1, memory_order_relaxed);
}

void trace_enable(bool on)
{
	if (on) {
		struct trace_ring *r;

		pthread_mutex_lock(&trace_registry_lock);
		for (r = trace_rings; r; r = r->next)
			for (int i = 0; i < TRACE_RING; i++)
				atomic_store(&r->slot[i].seq, 0);
		pthread_mutex_unlock(&trace_registry_lock);
		trace_t0 = now_ns();
	}
	atomic_store(&trace_on, on);
}

void trace_set_thread_name(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(my_name, sizeof(my_name), fmt, ap);
	va_end(ap);
	if (my_ring) {
		pthread_mutex_lock(&trace_registry_lock);
		snprintf(my_ring->name, sizeof(my_ring->name), "%s", my_name);
		pthread_mutex_unlock(&trace_registry_lock);
	}
}

const char *trace_thread_name(void)
{
	if (!my_name[0])
		snprintf(my_name, sizeof(my_name), "tid %u", current_tid());
	return my_name;
}

struct trace_rec {
	uint64_t seq, ns, block, pfn, arg;
	unsigned int ev;
	const struct trace_ring *ring;
};

static int rec_cmp(const void *a, const void *b)
{
	const struct trace_rec *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool rec_matches(const struct trace_rec *e, uint64_t block, const uint64_t *pfn,
			unsigned int npfn)
{
	if (e->block == block)
		return true;
	for (unsigned int i = 0; i < npfn; i++)
		if (pfn[i] && (e->pfn == pfn[i] || e->arg == pfn[i]))
			return true;
	return false;
}

/* Matching events of every ring, sorted; entry: trace_registry_lock held. */
static size_t __collect(uint64_t block, const uint64_t *pfn, unsigned int npfn,
			struct trace_rec **out)
{
	struct trace_ring *r;
	size_t n = 0, cap = 0;
	struct trace_rec *v = NULL;

	for (r = trace_rings; r; r = r->next) {
		for (int i = 0; i < TRACE_RING; i++) {
			struct trace_slot *s = &r->slot[i];
			struct trace_rec e;
			uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);

			if (!seq)
				continue;
			e.ns = atomic_load_explicit(&s->ns, memory_order_relaxed);
			e.block = atomic_load_explicit(&s->block, memory_order_relaxed);
			e.pfn = atomic_load_explicit(&s->pfn, memory_order_relaxed);
			e.arg = atomic_load_explicit(&s->arg, memory_order_relaxed);
			e.ev = atomic_load_explicit(&s->ev, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
				continue;
			e.seq = seq;
			e.ring = r;
			if (!rec_matches(&e, block, pfn, npfn))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				v = realloc(v, cap * sizeof(*v));
				BUG_ON(!v);
			}
			v[n++] = e;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), rec_cmp);
	*out = v;
	return n;
}

unsigned int trace_print_window(FILE *out, uint64_t block, const uint64_t *pfn, unsigned int npfn,
				unsigned int max, const char *indent)
{
	struct trace_rec *v;
	const struct trace_ring *seen[64];
	unsigned int nseen = 0;
	size_t n, first;

	pthread_mutex_lock(&trace_registry_lock);
	n = __collect(block, pfn, npfn, &v);
	first = n > max ? n - max : 0;
	for (size_t i = first; i < n; i++) {
		const struct trace_rec *e = &v[i];
		bool known = false;

		for (unsigned int k = 0; k < nseen; k++)
			known |= seen[k] == e->ring;
		if (!known && nseen < ARRAY_SIZE(seen))
			seen[nseen++] = e->ring;
		fprintf(out, "%s%+10.6fs  %-14s %-36s block %" PRIu64 " pfn %#" PRIx64,
			indent, (double)((int64_t)(e->ns - trace_t0)) / 1e9, e->ring->name,
			trace_ev_name(e->ev), e->block, e->pfn);
		if (e->ev == TR_MIG_FAIL && trace_fail_reason_name)
			fprintf(out, " (%s)", trace_fail_reason_name(e->arg));
		else if (e->ev == TR_DERIVE)
			fprintf(out, " (offset %" PRIu64 ")", e->arg);
		else if (e->ev == TR_MIG_FAIL || e->ev >= TR_TMPBH_ALIAS)
			fprintf(out, " (%" PRIu64 ")", e->arg);
		else if (e->ev == TR_WRITE_PTR)
			fprintf(out, " (version %" PRIu64 ")", e->arg);
		else if (e->arg)
			fprintf(out, " %#" PRIx64, e->arg);
		fputc('\n', out);
	}
	pthread_mutex_unlock(&trace_registry_lock);
	free(v);
	return nseen;
}

void trace_window_threads(uint64_t block, const uint64_t *pfn, unsigned int npfn,
			  char *buf, size_t len)
{
	struct trace_rec *v;
	const struct trace_ring *seen[64];
	unsigned int nseen = 0;
	size_t n, used = 0;

	buf[0] = 0;
	pthread_mutex_lock(&trace_registry_lock);
	n = __collect(block, pfn, npfn, &v);
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (unsigned int k = 0; k < nseen; k++)
			known |= seen[k] == v[i].ring;
		if (known || nseen == ARRAY_SIZE(seen))
			continue;
		seen[nseen++] = v[i].ring;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", nseen > 1 ? ", " : "",
						 v[i].ring->name);
	}
	pthread_mutex_unlock(&trace_registry_lock);
	free(v);
}
