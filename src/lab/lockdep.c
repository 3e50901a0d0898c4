// SPDX-License-Identifier: GPL-2.0
/*
 * lockdep.c - the lab's lock checker: kernel/locking/lockdep.c in
 * miniature, over every lock of the model, bit locks included.
 *
 * What the kernel's lockdep does and this does too:
 *   - locks belong to classes (one static key per init site; the folio
 *     lock and BH_Lock one class each -- which the kernel's lockdep does
 *     not see at all: the 2026 revoke ABBA was found by hangs);
 *   - each thread keeps a stack of the locks it holds (held_lock);
 *   - every blocking acquisition of class B while holding class A records
 *     the dependency A -> B once, with the first witness (thread, the locks
 *     it held, a short backtrace) -- check_prevs_add();
 *   - a new dependency that closes a cycle in the class graph is reported
 *     at once as "possible circular locking dependency", even though no
 *     deadlock happened in this run (check_noncircular());
 *   - a trylock adds no dependency on the locks held (it cannot block), but
 *     what is taken under it depends on it, as in the kernel;
 *   - nesting inside one class (buffer_migrate_lock_buffers() locks the
 *     whole ring, migration locks src then dst) adds no edge: the kernel
 *     needs a subclass annotation there, the lab just skips it;
 *   - the held-lock list goes into the I4 report ("BUG: sleeping function
 *     called from invalid context ... locks held by ...").
 * What it adds:
 *   - a watchdog (the hung-task detector, but for a cycle): threads blocked
 *     on a lock whose holder is itself blocked, back to the first, each for
 *     longer than the timeout, are a real deadlock: reported as I5 with
 *     every thread's held locks, and the run is ended by lab.c (the blocked
 *     threads cannot be unwound, so a lab run lives in a forked child);
 *   - BH_Lock handed to in-flight I/O: submit_bh() releases it from the
 *     submitter's stack (lock_handoff) and the end_io's unlock_buffer() is
 *     ignored (lockdep_irq_context); any other release by a thread that
 *     does not hold the lock is resolved on the holder's stack.
 * Simplifications: no irq/softirq state (the model has no interrupts), no
 * read-recursion rules for rwlock_t (a read acquisition is a dependency
 * like a write; the report says which), no chain cache: the fast path
 * tests one bit per held lock.
 *
 * Locking rules (the checker's own locks are pthread mutexes it does not
 * check):
 *   ld_tasks_lock -> task->lock      the registry, then a task;
 *   task->lock is a leaf: its owner takes it alone on every hook;
 *   ld_graph_lock is taken with no task lock held; reports are printed
 *   with none of them held.
 *   ld_in (TLS) stops the checker from checking itself (reports take
 *   locks the model's primitives track).
 */
#include <execinfo.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab_internal.h"

#define LD_MAX_CLASSES	128
#define LD_WORDS	(LD_MAX_CLASSES / 64)
#define LD_MAX_HELD	48
#define LD_BT		10
#define LD_MAX_CHAIN	8

struct ld_held {
	struct lock_class_key *key;
	const void *inst;
	uint64_t aux;
	int cls;
	bool trylock;
};

struct ld_task {
	pthread_mutex_t lock;			/* what follows [lock] */
	const char *name;			/* the trace name (its TLS; name_buf once it exited) */
	char name_buf[32];
	struct ld_held held[LD_MAX_HELD];
	int nheld;
	struct lock_class_key *wkey;		/* blocked acquiring this (NULL: not) */
	const void *winst;
	uint64_t waux;
	double wsince;
	bool dead;				/* its thread exited */
	struct ld_task *next;			/* [ld_tasks_lock] */
};

struct ld_witness {
	char thread[32];
	uint64_t from_aux, to_aux;
	char held[384];
	void *bt[LD_BT];
	int nbt;
};

static pthread_mutex_t ld_tasks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ld_task *ld_tasks;		/* [ld_tasks_lock] */
static pthread_key_t ld_task_key;
static pthread_once_t ld_once = PTHREAD_ONCE_INIT;
static __thread struct ld_task *ld_me_;
static __thread int ld_in;

static pthread_mutex_t ld_graph_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lock_class_key *ld_class[LD_MAX_CLASSES];	/* [ld_graph_lock; set once] */
static int ld_nclass;						/* [ld_graph_lock] */
static _Atomic uint64_t ld_dep[LD_MAX_CLASSES][LD_WORDS];	/* [atomic; set under ld_graph_lock] */
static struct ld_witness *ld_wit[LD_MAX_CLASSES][LD_MAX_CLASSES];	/* [ld_graph_lock] */

static struct lab *ld_lab;			/* [set while installed] */
static _Atomic uint64_t ld_edges;		/* dependencies recorded [atomic] */
static _Atomic bool ld_overflowed;		/* a held-lock stack overflowed [atomic] */

/* the watchdog */
static pthread_t ld_wd;
static bool ld_wd_running;			/* [install/remove] */
static _Atomic bool ld_wd_stop;
static double ld_wd_timeout;			/* [const while running] */
static void (*ld_wd_deadlock)(struct lab *lab);	/* [const while running] */

/* ------------------------------------------------------------- tasks */

static void ld_task_exit(void *p)
{
	struct ld_task *t = p;

	pthread_mutex_lock(&t->lock);
	snprintf(t->name_buf, sizeof(t->name_buf), "%s", t->name);
	t->name = t->name_buf;
	t->dead = true;
	pthread_mutex_unlock(&t->lock);
}

static void ld_key_init(void)
{
	pthread_key_create(&ld_task_key, ld_task_exit);
}

static struct ld_task *ld_me(void)
{
	struct ld_task *t = ld_me_;

	if (likely(t))
		return t;
	pthread_once(&ld_once, ld_key_init);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->name = trace_thread_name();
	pthread_mutex_lock(&ld_tasks_lock);
	t->next = ld_tasks;
	ld_tasks = t;
	pthread_mutex_unlock(&ld_tasks_lock);
	pthread_setspecific(ld_task_key, t);
	ld_me_ = t;
	return t;
}

static int ld_class_of(struct lock_class_key *k)
{
	int id = atomic_load_explicit(&k->id, memory_order_acquire);

	if (likely(id))
		return id - 1;
	pthread_mutex_lock(&ld_graph_lock);
	id = atomic_load(&k->id);
	if (!id && ld_nclass < LD_MAX_CLASSES) {
		ld_class[ld_nclass++] = k;
		id = ld_nclass;
		atomic_store_explicit(&k->id, id, memory_order_release);
	}
	pthread_mutex_unlock(&ld_graph_lock);
	return id - 1;	/* -1: out of classes, not checked */
}

static inline bool ld_has_dep(int a, int b)
{
	return atomic_load_explicit(&ld_dep[a][b / 64], memory_order_relaxed) & (1ULL << (b % 64));
}

/* ----------------------------------------------------------- printing */

static int ld_fmt_lock(char *buf, size_t len, const struct lock_class_key *k, uint64_t aux)
{
	if (k->kind == LK_RWLOCK)
		return snprintf(buf, len, "%s (%s)", k->name, aux ? "write" : "read");
	if (k->aux_name)
		return snprintf(buf, len, k->aux_name[0] == 'p' ? "%s (%s %#" PRIx64 ")" :
				"%s (%s %" PRIu64 ")", k->name, k->aux_name, aux);
	return snprintf(buf, len, "%s", k->name);
}

static size_t ld_fmt_held(char *buf, size_t len, const struct ld_held *h, int n, const char *pfx)
{
	size_t l = 0;

	if (len)
		buf[0] = 0;
	for (int i = 0; i < n && l + 1 < len; i++) {
		int w = snprintf(buf + l, len - l, "%s#%d: ", pfx, i);

		if (w < 0 || (size_t)w >= len - l)
			break;
		l += (size_t)w;
		w = ld_fmt_lock(buf + l, len - l, h[i].key, h[i].aux);
		if (w < 0 || (size_t)w >= len - l)
			break;
		l += (size_t)w;
		w = snprintf(buf + l, len - l, "%s\n", h[i].trylock ? " [trylock]" : "");
		if (w < 0 || (size_t)w >= len - l)
			break;
		l += (size_t)w;
	}
	if (!n && len)
		l = (size_t)snprintf(buf, len, "%s(none)\n", pfx);
	return l < len ? l : len - 1;
}

size_t lab_lockdep_held_text(char *buf, size_t len)
{
	struct ld_task *t = ld_me_;
	struct ld_held h[LD_MAX_HELD];
	int n;

	if (!t || !len) {
		if (len)
			snprintf(buf, len, "  (the lock checker is off)\n");
		return len ? strlen(buf) : 0;
	}
	pthread_mutex_lock(&t->lock);
	n = t->nheld;
	memcpy(h, t->held, (size_t)n * sizeof(h[0]));
	pthread_mutex_unlock(&t->lock);
	return ld_fmt_held(buf, len, h, n, "  ");
}

static size_t ld_fmt_bt(char *buf, size_t len, void *const *bt, int n)
{
	char **sym = backtrace_symbols(bt, n);
	size_t l = 0;

	buf[0] = 0;
	/* frames 0..1 are the checker's own */
	for (int i = 2; i < n && l + 1 < len; i++) {
		int w = snprintf(buf + l, len - l, "      %s\n", sym ? sym[i] : "?");

		if (w < 0 || (size_t)w >= len - l)
			break;
		l += (size_t)w;
	}
	free(sym);
	return l;
}

size_t lab_backtrace_text(char *buf, size_t len)
{
	void *bt[LD_BT];
	int n = backtrace(bt, LD_BT);

	if (!len)
		return 0;
	buf[0] = 0;
	return n > 0 ? ld_fmt_bt(buf, len, bt, n) : 0;
}

/* ------------------------------------------------------- new dependencies */

/* Is there a path from @from to @to?  Fills @path (classes, from first) and
 * returns its length in edges, 0 if none.  Entry: ld_graph_lock held. */
static int __ld_path(int from, int to, int *path, int max)
{
	int prev[LD_MAX_CLASSES], queue[LD_MAX_CLASSES], qh = 0, qt = 0, n = ld_nclass;

	for (int i = 0; i < n; i++)
		prev[i] = -2;
	prev[from] = -1;
	queue[qt++] = from;
	while (qh < qt) {
		int a = queue[qh++];

		for (int b = 0; b < n; b++) {
			if (prev[b] != -2 || !ld_has_dep(a, b))
				continue;
			prev[b] = a;
			if (b == to) {
				int len = 0, c = to;

				while (c != -1 && len < max) {
					path[len++] = c;
					c = prev[c];
				}
				for (int i = 0; i < len / 2; i++) {
					int x = path[i];

					path[i] = path[len - 1 - i];
					path[len - 1 - i] = x;
				}
				return len - 1;
			}
			queue[qt++] = b;
		}
	}
	return 0;
}

/*
 * The slow path of a blocking acquisition of @k (class @c) with locks held
 * of which at least one has no recorded dependency on @c yet: record them
 * and look for the cycle each new one may close.
 */
static void ld_new_deps(struct ld_task *t, struct lock_class_key *k, int c, uint64_t aux)
{
	struct ld_held h[LD_MAX_HELD];
	void *bt[LD_BT];
	int n, nbt = 0;
	char *report = NULL;
	uint64_t rblock = LAB_NO_BLOCK, rpfn = 0;
	char threads[160] = "";

	ld_in++;
	pthread_mutex_lock(&t->lock);
	n = t->nheld;
	memcpy(h, t->held, (size_t)n * sizeof(h[0]));
	pthread_mutex_unlock(&t->lock);
	nbt = backtrace(bt, LD_BT);

	pthread_mutex_lock(&ld_graph_lock);
	for (int i = 0; i < n; i++) {
		int p = h[i].cls, path[LD_MAX_CLASSES], plen;
		struct ld_witness *w;

		if (p == c || ld_has_dep(p, c))
			continue;
		/* check_noncircular(): does the new lock already lead back to p? */
		plen = report ? 0 : __ld_path(c, p, path, LD_MAX_CHAIN + 1);
		w = calloc(1, sizeof(*w));
		if (w) {
			snprintf(w->thread, sizeof(w->thread), "%s", t->name);
			w->from_aux = h[i].aux;
			w->to_aux = aux;
			ld_fmt_held(w->held, sizeof(w->held), h, n, "      ");
			memcpy(w->bt, bt, (size_t)nbt * sizeof(bt[0]));
			w->nbt = nbt;
			ld_wit[p][c] = w;
		}
		atomic_fetch_or(&ld_dep[p][c / 64], 1ULL << (c % 64));
		atomic_fetch_add(&ld_edges, 1);
		if (plen > 0) {
			size_t cap = 16384, l = 0;
			char a[96], b[96], held[1024];

			report = malloc(cap);
			if (!report)
				continue;
			ld_fmt_lock(a, sizeof(a), k, aux);
			ld_fmt_lock(b, sizeof(b), h[i].key, h[i].aux);
			ld_fmt_held(held, sizeof(held), h, n, "  ");
			l += (size_t)snprintf(report + l, cap - l,
				"WARNING: possible circular locking dependency detected\n"
				"thread \"%s\" is trying to acquire lock:\n  %s\n"
				"but it already holds lock:\n  %s\n"
				"which lock already depends on the new lock.\n"
				"locks held by \"%s\":\n%s"
				"the existing dependency chain (first witness of each link):\n",
				t->name, a, b, t->name, held);
			snprintf(threads, sizeof(threads), "%s", t->name);
			for (int j = 0; j < plen && l + 1 < cap; j++) {
				struct ld_witness *x = ld_wit[path[j]][path[j + 1]];
				char xa[96], xb[96], xbt[1024];

				ld_fmt_lock(xa, sizeof(xa), ld_class[path[j]], x ? x->from_aux : 0);
				ld_fmt_lock(xb, sizeof(xb), ld_class[path[j + 1]], x ? x->to_aux : 0);
				xbt[0] = 0;
				if (x)
					ld_fmt_bt(xbt, sizeof(xbt), x->bt, x->nbt);
				l += (size_t)snprintf(report + l, cap - l,
					"-> #%d: %s -> %s, first by thread \"%s\", holding:\n%s"
					"    at:\n%s", plen - j, xa, xb, x ? x->thread : "?",
					x ? x->held : "", xbt);
				if (x && !strstr(threads, x->thread)) {
					size_t tl = strlen(threads);

					snprintf(threads + tl, sizeof(threads) - tl, ", %s", x->thread);
				}
			}
			if (l < cap) {
				char nbtxt[1024];

				ld_fmt_bt(nbtxt, sizeof(nbtxt), bt, nbt);
				snprintf(report + l, cap - l,
					"-> #0: %s -> %s, now by thread \"%s\", at:\n%s"
					"possible unsafe locking scenario:\n"
					"       thread A                 thread B\n"
					"       lock(%s);\n"
					"                                lock(%s);\n"
					"                                lock(%s);\n"
					"       lock(%s);\n"
					" *** DEADLOCK ***",
					b, a, t->name, nbtxt, h[i].key->name, k->name,
					h[i].key->name, k->name);
			}
			if (k->aux_name && !strcmp(k->aux_name, "block"))
				rblock = aux;
			if (h[i].key->aux_name && !strcmp(h[i].key->aux_name, "block"))
				rblock = h[i].aux;
			if (k->aux_name && !strcmp(k->aux_name, "pfn"))
				rpfn = aux;
			if (h[i].key->aux_name && !strcmp(h[i].key->aux_name, "pfn"))
				rpfn = h[i].aux;
		}
	}
	pthread_mutex_unlock(&ld_graph_lock);
	if (report && ld_lab)
		lab_detect_threads(ld_lab, LAB_I5, "lock checker (class cycle)", rblock, rpfn, 0,
				   threads, "%s", report);
	free(report);
	ld_in--;
}

/* ----------------------------------------------------------- the hooks */

/* The calling thread's task and @k's class (*c), or NULL: not checked
 * (inside the checker, out of memory, out of classes). */
static struct ld_task *ld_enter(struct lock_class_key *k, int *c)
{
	struct ld_task *t;

	if (ld_in || !(t = ld_me()))
		return NULL;
	*c = ld_class_of(k);
	return *c < 0 ? NULL : t;
}

static void ld_check(struct lock_class_key *k, const void *inst, uint64_t aux)
{
	struct ld_task *t;
	bool need = false;
	int c;

	if (!(t = ld_enter(k, &c)))
		return;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nheld; i++) {
		int p = t->held[i].cls;

		if (p != c && !ld_has_dep(p, c)) {
			need = true;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (need)
		ld_new_deps(t, k, c, aux);
}

static void ld_acquired(struct lock_class_key *k, const void *inst, uint64_t aux, bool trylock)
{
	struct ld_task *t;
	int c;

	if (!(t = ld_enter(k, &c)))
		return;
	pthread_mutex_lock(&t->lock);
	if (t->nheld < LD_MAX_HELD)
		t->held[t->nheld++] = (struct ld_held){ k, inst, aux, c, trylock };
	else
		c = -1;
	pthread_mutex_unlock(&t->lock);
	if (c < 0 && !atomic_exchange(&ld_overflowed, true) && ld_lab) {
		FILE *f = ld_lab->o->report ? ld_lab->o->report : stderr;

		/* MAX_LOCK_DEPTH in the kernel: lockdep turns itself off */
		fprintf(f, "lab: lock checker: thread \"%s\" holds more than %d locks; the locks "
			"it takes beyond them are not checked (seed %" PRIu64 ")\n", t->name,
			LD_MAX_HELD, ld_lab->o->seed);
		fflush(f);
	}
}

/* __ld_drop - entry: t->lock held.  Removes @inst of @k from t's stack. */
static bool __ld_drop(struct ld_task *t, struct lock_class_key *k, const void *inst)
{
	for (int i = t->nheld; i-- > 0; ) {
		if (t->held[i].inst != inst || t->held[i].key != k)
			continue;
		memmove(&t->held[i], &t->held[i + 1],
			(size_t)(t->nheld - i - 1) * sizeof(t->held[0]));
		t->nheld--;
		return true;
	}
	return false;
}

static void ld_released(struct lock_class_key *k, const void *inst)
{
	struct ld_task *t;
	bool found;

	if (ld_in || !(t = ld_me()))
		return;
	pthread_mutex_lock(&t->lock);
	found = __ld_drop(t, k, inst);
	pthread_mutex_unlock(&t->lock);
	/* in an end_io, a lock that is not its own was handed off by submit_bh() */
	if (found || lockdep_irq_context || !atomic_load_explicit(&k->id, memory_order_relaxed))
		return;
	/* released by a thread that does not hold it: the holder's entry goes */
	pthread_mutex_lock(&ld_tasks_lock);
	for (struct ld_task *o = ld_tasks; o && !found; o = o->next) {
		if (o == t)
			continue;
		pthread_mutex_lock(&o->lock);
		found = __ld_drop(o, k, inst);
		pthread_mutex_unlock(&o->lock);
	}
	pthread_mutex_unlock(&ld_tasks_lock);
}

static void ld_wait_begin(struct lock_class_key *k, const void *inst, uint64_t aux)
{
	struct ld_task *t;

	if (ld_in || !(t = ld_me()))
		return;
	pthread_mutex_lock(&t->lock);
	t->wkey = k;
	t->winst = inst;
	t->waux = aux;
	t->wsince = lab_now();
	pthread_mutex_unlock(&t->lock);
}

static void ld_wait_end(void)
{
	struct ld_task *t = ld_me_;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->wkey = NULL;
	t->winst = NULL;
	pthread_mutex_unlock(&t->lock);
}

static const struct lockdep_ops ld_ops = {
	.check = ld_check,
	.acquired = ld_acquired,
	.released = ld_released,
	.wait_begin = ld_wait_begin,
	.wait_end = ld_wait_end,
};

/* ----------------------------------------------------------- the watchdog */

struct ld_snap {
	struct ld_task *t;
	char name[32];
	struct ld_held held[LD_MAX_HELD];
	int nheld;
	struct lock_class_key *wkey;
	const void *winst;
	uint64_t waux;
	double wsince;
};

static int ld_holder(const struct ld_snap *s, int n, const struct ld_snap *w)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < s[i].nheld; j++)
			if (s[i].held[j].inst == w->winst && s[i].held[j].key == w->wkey &&
			    &s[i] != w)
				return i;
	return -1;
}

/* One scan: a cycle of threads each blocked past the timeout on a lock the
 * next one holds.  Returns the report (malloc'd) or NULL. */
static char *ld_scan(char *threads, size_t tlen)
{
	struct ld_snap *s;
	int n = 0, cap = 0;
	double now = lab_now();
	char *report = NULL;

	pthread_mutex_lock(&ld_tasks_lock);
	for (struct ld_task *t = ld_tasks; t; t = t->next)
		cap++;
	s = calloc((size_t)cap + 1, sizeof(*s));
	for (struct ld_task *t = ld_tasks; s && t && n < cap; t = t->next) {
		pthread_mutex_lock(&t->lock);
		if (!t->dead && (t->nheld || t->winst)) {
			s[n].t = t;
			snprintf(s[n].name, sizeof(s[n].name), "%s", t->name);
			s[n].nheld = t->nheld;
			memcpy(s[n].held, t->held, (size_t)t->nheld * sizeof(t->held[0]));
			s[n].wkey = t->wkey;
			s[n].winst = t->winst;
			s[n].waux = t->waux;
			s[n].wsince = t->wsince;
			n++;
		}
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&ld_tasks_lock);
	if (!s)
		return NULL;
	for (int start = 0; start < n && !report; start++) {
		int chain[LD_MAX_CHAIN], len = 0, cur = start;

		while (len < LD_MAX_CHAIN) {
			if (!s[cur].winst || now - s[cur].wsince < ld_wd_timeout)
				break;
			chain[len++] = cur;
			cur = ld_holder(s, n, &s[cur]);
			if (cur < 0)
				break;
			if (cur == start) {
				size_t rcap = 16384, l = 0;

				report = malloc(rcap);
				if (!report)
					break;
				threads[0] = 0;
				l += (size_t)snprintf(report, rcap,
					"INFO: deadlock: %d threads blocked on each other for more than "
					"%.1f s (the watchdog)\n", len, ld_wd_timeout);
				for (int i = 0; i < len && l + 1 < rcap; i++) {
					const struct ld_snap *x = &s[chain[i]];
					const struct ld_snap *y = &s[chain[(i + 1) % len]];
					char want[96], held[2048];
					size_t tl = strlen(threads);

					ld_fmt_lock(want, sizeof(want), x->wkey, x->waux);
					ld_fmt_held(held, sizeof(held), x->held, x->nheld, "    ");
					l += (size_t)snprintf(report + l, rcap - l,
						"thread \"%s\" blocked for %.1f s acquiring %s, held by "
						"\"%s\"; it holds:\n%s", x->name, now - x->wsince, want,
						y->name, held);
					snprintf(threads + tl, tlen - tl, "%s%s", tl ? ", " : "",
						 x->name);
				}
				if (l + 1 < rcap)
					snprintf(report + l, rcap - l, " *** DEADLOCK ***");
				break;
			}
		}
	}
	free(s);
	return report;
}

static void *ld_watchdog(void *arg)
{
	(void)arg;
	ld_in = 1;	/* its own locks are not the model's */
	trace_set_thread_name("lockdep-watchdog");
	while (!atomic_load(&ld_wd_stop)) {
		struct timespec ts = { 0, 100 * 1000000L };
		char threads[160];
		char *report;

		nanosleep(&ts, NULL);
		report = ld_scan(threads, sizeof(threads));
		if (!report)
			continue;
		if (ld_lab)
			lab_detect_threads(ld_lab, LAB_I5, "watchdog (deadlock)", LAB_NO_BLOCK, 0, 0,
					   threads, "%s", report);
		free(report);
		if (ld_wd_deadlock && ld_lab)
			ld_wd_deadlock(ld_lab);	/* ends the run; may not return */
		break;
	}
	return NULL;
}

/* --------------------------------------------------------- install/remove */

void lab_lockdep_install(struct lab *lab, double watchdog_s, void (*deadlock)(struct lab *lab))
{
	pthread_mutex_lock(&ld_graph_lock);
	memset(ld_dep, 0, sizeof(ld_dep));
	for (int a = 0; a < LD_MAX_CLASSES; a++)
		for (int b = 0; b < LD_MAX_CLASSES; b++) {
			free(ld_wit[a][b]);
			ld_wit[a][b] = NULL;
		}
	pthread_mutex_unlock(&ld_graph_lock);
	pthread_mutex_lock(&ld_tasks_lock);
	for (struct ld_task *t = ld_tasks; t; t = t->next) {
		pthread_mutex_lock(&t->lock);
		t->nheld = 0;
		t->winst = NULL;
		t->wkey = NULL;
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&ld_tasks_lock);
	atomic_store(&ld_edges, 0);
	atomic_store(&ld_overflowed, false);
	ld_lab = lab;
	atomic_store(&lockdep_ops, &ld_ops);
	if (watchdog_s > 0) {
		ld_wd_timeout = watchdog_s;
		ld_wd_deadlock = deadlock;
		atomic_store(&ld_wd_stop, false);
		ld_wd_running = !pthread_create(&ld_wd, NULL, ld_watchdog, NULL);
	}
}

void lab_lockdep_remove(void)
{
	if (ld_wd_running) {
		atomic_store(&ld_wd_stop, true);
		pthread_join(ld_wd, NULL);
		ld_wd_running = false;
	}
	atomic_store(&lockdep_ops, NULL);
	ld_lab = NULL;
}

uint64_t lab_lockdep_deps(void)
{
	return atomic_load(&ld_edges);
}
