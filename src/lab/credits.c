// SPDX-License-Identifier: GPL-2.0
/*
 * credits.c - the I3 detector: a handle out of credits (kernel-race.md §2.5
 * I3, the 2025 signature).
 *
 * jbd2_journal_dirty_metadata() refuses a buffer that would join the
 * transaction when the handle has no buffer credit left: WARN_ON_ONCE and
 * -ENOSPC.  The fs then does what ext4's __ext4_handle_dirty_metadata()
 * does (src/fs/journal.c): "aborting transaction: error 28", handle abort,
 * ext4_error "journal_dirty_metadata failed: handle type T started at line
 * L, credits N/0, errcode -28", the error count in the superblock, the
 * journal abort and the fall back to read-only.  The journal tells the lab
 * through its observer (credits_out), before the fs reacts; the report
 * carries the handle the way the kernel prints it.
 *
 * The estimates are the kernel's (src/fs/op.c); --credits depth is the rule
 * before 32a93f5bc9b9 (ext_depth() when the estimate is made), max the fix.
 * What was measured (README, "I3"): in this model a write of up to 256
 * one-block extents, estimated at depth 0 and inserted into a tree grown to
 * depth 2 in its window, in a fresh transaction, dirties 9 blocks against
 * 10 credits -- the formula's slack (EXT4_META_TRANS_BLOCKS, the group
 * terms) covers every growth the lab's 2-group image allows; the kernel's
 * overrun needed its allocations spread over more groups than idx + pextents
 * budgets, after 90 h.  So the detector is armed in every run and fires on
 * any overrun, whichever op it is.
 *
 * Locking rules: called in the refused handle's thread, no journal lock
 * held, the fs lock held by the caller (lab_detect() takes only det_lock).
 */
#include <inttypes.h>

#include "lab_internal.h"

static struct lab *credits_lab;	/* [set by lab_credits_arm before the threads, cleared after] */

void lab_credits_arm(struct lab *lab)
{
	WRITE_ONCE(credits_lab, lab);
}

void lab_credits_out(journal_t *j, handle_t *h, struct buffer_head *bh, void *priv)
{
	struct lab *lab = READ_ONCE(credits_lab);

	(void)j;
	(void)priv;
	if (!lab)
		return;
	lab_detect(lab, LAB_I3, "jbd2 credit WARN (-ENOSPC)", bh->b_blocknr, 0, 0,
		   "jbd2_journal_dirty_metadata: handle %s (type %u) started at line %u, "
		   "credits %u/%d: block %" PRIu64 " would join the transaction with no credit "
		   "left: WARN_ON_ONCE, -ENOSPC; the fs aborts the handle and the journal and "
		   "falls back to read-only (--credits %s)",
		   h->h_name ? h->h_name : "?", h->h_type, h->h_line_no, h->h_requested_credits,
		   jbd2_handle_buffer_credits(h), (uint64_t)bh->b_blocknr,
		   lab->o->credits == JFS_CREDITS_DEPTH ? "depth" : "max");
}
