/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - per-thread event rings for the lab's reports (src/lib/trace.c).
 *
 * Every thread that takes part in a race -- the migrator, the lookups of the
 * fs and of the metadata users, the commit thread, the disk's completion
 * thread -- records its last TRACE_RING events: what it did, to which block
 * and which folio (pfn), in one global order.  A detection then prints the
 * events of every thread that touched the same block or folio around the
 * window, the way KASAN prints the allocation and free stacks of the object.
 *
 * Off (one relaxed load per call) unless trace_enable(true): the mount and
 * the tests outside the lab never pay for it.  A ring is written only by
 * its owner; readers (the report) read racing owners with relaxed atomics,
 * so a report may miss an event being written, never crash.
 */
#ifndef JBDLAB_TRACE_H
#define JBDLAB_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "compiler.h"

enum trace_ev {
	TR_NONE,
	TR_LOOKUP,		/* a lookup returned the bh of block on folio pfn */
	TR_LOOKUP_NULL,		/* a lookup returned NULL for block */
	TR_DERIVE,		/* a b_data pointer into folio pfn was taken (arg: offset) */
	TR_GET_WRITE_ACCESS,	/* jbd2_journal_get_write_access() returned */
	TR_WRITE_PTR,		/* a write through a saved pointer into folio pfn */
	TR_READ_PTR,		/* a read through a saved pointer */
	TR_MIG_ISOLATE,		/* migrator isolated folio pfn (block = first block) */
	TR_MIG_REFCHECK,	/* b_count scan passed */
	TR_MIG_COPY,		/* data copied into the new folio (arg: new pfn) */
	TR_MIG_FREEZE,		/* refcount frozen, slot replaced (arg: new pfn) */
	TR_MIG_SET_BH,		/* buffers re-pointed to the new folio (arg: new pfn) */
	TR_MIG_FREE,		/* the source folio was put (to the quarantine) */
	TR_MIG_FAIL,		/* the attempt failed (arg: reason) */
	TR_TMPBH_ALIAS,		/* jbd2's temporary bh aliases folio pfn (arg: log block) */
	TR_TMPBH_COPY,		/* jbd2's temporary bh logs a copy (arg: log block) */
	TR_TMPBH_DMA,		/* the log write of block completed (arg: log block) */
	TR_NR
};

extern _Atomic bool trace_on;	/* [atomic] */

void __trace_event(enum trace_ev ev, uint64_t block, uint64_t pfn, uint64_t arg);
static inline void trace_event(enum trace_ev ev, uint64_t block, uint64_t pfn, uint64_t arg)
{
	if (unlikely(atomic_load_explicit(&trace_on, memory_order_relaxed)))
		__trace_event(ev, block, pfn, arg);
}

/* Turn recording on or off (the lab, around a run); on also clears every ring. */
void trace_enable(bool on);
/* Name the calling thread in reports ("migrator", "meta-user/2", ...). */
void trace_set_thread_name(const char *fmt, ...) __printf(1, 2);
/* The calling thread's name ("tid 7" if it has none). */
const char *trace_thread_name(void);
/*
 * Print, in global order, the last @max events of every thread that touched
 * @block or one of the folios @pfn[0..npfn) (0 = any), one line each, with
 * the thread names; returns the number of distinct threads printed.
 * Lock state: none needed (takes the registry mutex).
 */
unsigned int trace_print_window(FILE *out, uint64_t block, const uint64_t *pfn, unsigned int npfn,
				unsigned int max, const char *indent);
/* Names of the threads trace_print_window() would show, ", "-separated. */
void trace_window_threads(uint64_t block, const uint64_t *pfn, unsigned int npfn,
			  char *buf, size_t len);
const char *trace_ev_name(enum trace_ev ev);
/* How TR_MIG_FAIL's arg is printed (set by the migrator: its reason names). */
extern const char *(*trace_fail_reason_name)(uint64_t reason);

#endif /* JBDLAB_TRACE_H */
