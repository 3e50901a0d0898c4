// SPDX-License-Identifier: GPL-2.0
/*
 * blockdev.c - the "disk": an image file (or a real block device) behind an
 * asynchronous request queue, modelled on a device with a volatile write
 * cache.
 *
 * A request is queued by blk_submit() and returns at once; one of the
 * device's I/O threads ("completion threads") later takes it off the queue
 * and completes it: optionally sleeps a random time up to dma_delay_us, then
 * performs the DMA -- for a WRITE the bytes are copied out of rq->buf *now*,
 * so a caller that changes the buffer between submit and completion writes
 * the changed bytes, exactly the window the kernel has between submit_bh()
 * and the controller reading the page -- and then calls rq->end_io(rq, err)
 * in the same thread.  With one I/O thread (the default) requests complete
 * in submission order; several threads, or reorder mode, let them overtake
 * each other.
 *
 * Durability is separate from completion: the image is written with
 * pwrite() at completion, which stands for "in the device cache"; only
 * fdatasync() -- REQ_PREFLUSH on a request (before its own write), REQ_FUA
 * (after its own write), blkdev_issue_flush(), close -- stands for "on the
 * media".  The write log (write_log.c) records exactly that order.
 *
 * Errors: a write to a read-only device fails with -EROFS and touches
 * nothing (an empty REQ_PREFLUSH request succeeds, as bio_check_ro() lets
 * it); a request that reaches past the end of the device fails with
 * -EIO (a read fills what exists and zeroes the rest, a write writes
 * nothing); any failing pread/pwrite/fdatasync is -EIO.  All are reported
 * through end_io, never by blk_submit().
 *
 * Batching: one I/O thread in FIFO mode takes every queued request per
 * wake-up, and a submitter signals only when a thread sleeps; with no DMA
 * delay, no write log, no reorder and no armed yield point, a run of
 * adjacent plain reads or writes (no PREFLUSH/FUA) is done as one
 * preadv/pwritev (the block layer's merge), end_io still per request, in
 * order.  blk_start_plug()/blk_finish_plug() hold a thread's submissions
 * and queue them together.
 *
 * Reorder mode (crash tests): an I/O thread picks a random queued request
 * among those before the first REQ_PREFLUSH one -- a flush epoch -- so
 * writes of one epoch reach the image, and the log, in any order.
 *
 * Locking rules:
 *   bdev->q_mutex   sleeping lock of the I/O threads: they check for work and
 *                   wait on q_cond under it; `stopping` is written under it.
 *   bdev->q_lock    spinlock inside q_mutex (or taken alone by blk_submit):
 *                   the queue list, rq->queue, rq->seq and q_seq.
 *   log->lock       (write_log.c) innermost, taken by an I/O thread or by a
 *                   flush/mark caller with neither queue lock held.
 *   end_io runs with no lock of ours held; it may submit new requests, but
 *   must not wait for one (blk_rw_sync/blk_drain) when there is a single I/O
 *   thread -- that thread is the one it would wait for.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "locking.h"
#include "mm.h"
#include "write_log.h"
#include "trace.h"

#define REQ_OP_MASK	0xffU
#define BLK_DEFAULT_SEED	0x6a62646c61622d31ULL	/* "jbdlab-1" */

struct blk_io_thread_arg {
	struct block_device *bdev;
	uint64_t seed;
};

/* ------------------------------------------------------------ helpers */

static int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *done)
{
	char *p = buf;

	*done = 0;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		if (n == 0)
			break;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
		*done += (size_t)n;
	}
	return 0;
}

static bool blk_in_range(struct block_device *bdev, uint64_t pos, size_t len)
{
	return pos <= bdev->size && len <= bdev->size - pos;
}

/* opts.written_map: note the chunks a completed write touched. */
static void blk_note_written(struct block_device *bdev, uint64_t pos, size_t len)
{
	const unsigned int bits = 8 * sizeof(unsigned long);

	if (!bdev->written || !len)
		return;
	for (uint64_t c = pos >> BLK_WRITTEN_SHIFT; c <= (pos + len - 1) >> BLK_WRITTEN_SHIFT; c++)
		atomic_fetch_or(&bdev->written[c / bits], 1UL << (c % bits));
}

/* The host's flush, then the simulated cache's extra latency. */
static int blk_fdatasync(struct block_device *bdev)
{
	int ret = fdatasync(bdev->fd) ? -EIO : 0;

	if (bdev->flush_delay_ms) {
		struct timespec ts = {
			.tv_sec = bdev->flush_delay_ms / 1000,
			.tv_nsec = (long)(bdev->flush_delay_ms % 1000) * 1000000L,
		};

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	return ret;
}

/* Everything completed so far becomes durable. */
static int blk_flush_media(struct block_device *bdev)
{
	int ret = 0;

	atomic_fetch_add(&bdev->stat_flushes, 1);
	if (bdev->read_only)
		return 0;
	if (bdev->log)
		ret = wlog_flush(bdev->log, bdev->fd);
	else
		ret = blk_fdatasync(bdev);
	return ret;
}

/* ----------------------------------------------------------- completion */

/*
 * The DMA bounce buffer of an I/O thread: with a write log, the bytes read
 * out of rq->buf at the DMA moment are the ones both the image and the log
 * get, so they are copied once; reused across requests (no malloc per
 * request).  [owner: the I/O thread]
 */
static __thread char *dma_buf;
static __thread size_t dma_cap;

static char *blk_dma_buf(size_t len)
{
	if (len > dma_cap) {
		char *p = realloc(dma_buf, len);

		if (!p)
			return NULL;
		dma_buf = p;
		dma_cap = len;
	}
	return dma_buf;
}

static int blk_do_write(struct block_device *bdev, struct blk_request *rq)
{
	int ret;

	if (bdev->read_only) {
		/* As bio_check_ro(): an empty flush is fine on a read-only device. */
		if (rq->len || !(rq->opf & REQ_PREFLUSH) || (rq->opf & REQ_FUA))
			return -EROFS;
		return blk_flush_media(bdev);
	}
	if (!blk_in_range(bdev, rq->pos, rq->len))
		return -EIO;
	if (rq->opf & REQ_PREFLUSH) {
		ret = blk_flush_media(bdev);
		if (ret)
			return ret;
	}
	if (!rq->len && !(rq->opf & REQ_FUA))
		return 0;

	if (bdev->log) {
		uint64_t lflags = 0;
		char *dma = NULL;

		/* The DMA moment: the device reads the caller's buffer now. */
		if (rq->len) {
			dma = blk_dma_buf(rq->len);
			if (!dma)
				return -EIO;
			memcpy(dma, rq->buf, rq->len);
		}
		if (rq->opf & REQ_FUA)
			lflags |= WLOG_FUA;
		if (rq->opf & REQ_META)
			lflags |= WLOG_METADATA;
		ret = wlog_write(bdev->log, bdev->fd, dma, rq->pos, rq->len, lflags);
	} else {
		/* The DMA moment: pwrite() reads the caller's buffer now. */
		ret = blk_pwrite_full(bdev->fd, rq->buf, rq->len, rq->pos) ? -EIO : 0;
		if (!ret && (rq->opf & REQ_FUA))
			ret = blk_fdatasync(bdev);
	}
	if (!ret) {
		blk_note_written(bdev, rq->pos, rq->len);
		atomic_fetch_add(&bdev->stat_writes, 1);
		atomic_fetch_add(&bdev->stat_bytes_written, rq->len);
	}
	return ret;
}

static int blk_do_read(struct block_device *bdev, struct blk_request *rq)
{
	size_t want, got = 0;
	int ret = 0;

	if (rq->opf & REQ_PREFLUSH) {
		ret = blk_flush_media(bdev);
		if (ret)
			return ret;
	}
	want = rq->len;
	if (!blk_in_range(bdev, rq->pos, rq->len)) {
		want = rq->pos < bdev->size ? (size_t)(bdev->size - rq->pos) : 0;
		ret = -EIO;
	}
	if (want) {
		int err = pread_full(bdev->fd, rq->buf, want, rq->pos, &got);

		if (err)
			ret = err;
		else if (got < want)
			ret = -EIO;
	}
	if (got < rq->len)
		memset(rq->buf + got, 0, rq->len - got);
	atomic_fetch_add(&bdev->stat_reads, 1);
	atomic_fetch_add(&bdev->stat_bytes_read, got);
	return ret;
}

static void blk_dma_delay(struct block_device *bdev)
{
	uint64_t us = prandom_u64() % ((uint64_t)bdev->dma_delay_us + 1);
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000),
			       .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void blk_complete(struct block_device *bdev, struct blk_request *rq)
{
	unsigned int op = rq->opf & REQ_OP_MASK;
	blk_end_io_t *end_io = rq->end_io;
	int err;

	if (bdev->dma_delay_us)
		blk_dma_delay(bdev);
	if (op == REQ_OP_WRITE) {
		yield_point(YP_JBD2_TMPBH_IO);
		err = blk_do_write(bdev, rq);
	} else if (op == REQ_OP_READ) {
		err = blk_do_read(bdev, rq);
	} else {
		err = -EOPNOTSUPP;
	}
	/* rq may be freed by end_io: do not touch it afterwards. */
	if (end_io)
		end_io(rq, err);
	if (atomic_fetch_sub(&bdev->inflight, 1) == 1)
		wake_up_var(&bdev->inflight);
}

/* ---------------------------------------------------------------- queue */

/* The next request to complete.  Caller holds q_lock. */
static struct blk_request *__blk_pick(struct block_device *bdev)
{
	struct blk_request *rq;
	unsigned int n = 0, k;

	assert_spin_locked(&bdev->q_lock);
	if (list_empty(&bdev->q))
		return NULL;
	if (!bdev->reorder)
		return list_first_entry(&bdev->q, struct blk_request, queue);

	/* Candidates: the requests before the first PREFLUSH (epoch barrier). */
	list_for_each_entry(rq, &bdev->q, queue) {
		if (rq->opf & REQ_PREFLUSH) {
			if (!n)
				return rq;
			break;
		}
		n++;
	}
	k = (unsigned int)(prandom_u64() % n);
	list_for_each_entry(rq, &bdev->q, queue) {
		if (!k--)
			return rq;
	}
	BUG();
}

/*
 * Merging (the block layer's plug/merge): consecutive queued requests of
 * the same direction that are adjacent on the device become one
 * preadv/pwritev.  Only where nothing observable changes: FIFO with one
 * thread, no simulated DMA delay (each request would have its own DMA
 * moment), no write log (which logs one entry per request), no
 * PREFLUSH/FUA, no armed yield point between submit and DMA.
 */
#define BLK_MAX_MERGE	256

static bool blk_may_merge(struct block_device *bdev)
{
	return !bdev->reorder && (bdev->nr_io_threads == 1 || bdev->inline_io) && !bdev->dma_delay_us &&
	       !atomic_load_explicit(&yield_point_permille[YP_JBD2_TMPBH_IO], memory_order_relaxed);
}

/*
 * Take work off the queue into @batch, sleeping until there is some; false
 * when we stop.  One I/O thread in FIFO mode takes the whole queue per
 * wake-up (one hand-off per batch, not per request: the device fetches
 * every queued command); several threads or reorder mode take one request
 * at a time, so that they can overtake each other.
 */
static bool blk_dequeue(struct block_device *bdev, struct list_head *batch, bool *merge)
{
	bool got = false;

	pthread_mutex_lock(&bdev->q_mutex);
	for (;;) {
		spin_lock(&bdev->q_lock);
		if (!bdev->reorder && bdev->nr_io_threads == 1) {
			while (!list_empty(&bdev->q)) {
				list_move_tail(bdev->q.next, batch);
				got = true;
			}
		} else {
			struct blk_request *rq = __blk_pick(bdev);

			if (rq) {
				list_move_tail(&rq->queue, batch);
				got = true;
			}
		}
		if (got || bdev->stopping) {
			*merge = got && blk_may_merge(bdev);	/* reorder is read under q_lock */
			spin_unlock(&bdev->q_lock);
			break;
		}
		/* Announce the sleep under q_lock: a submitter that queues after
		 * this sees it and signals under q_mutex, which we hold until
		 * pthread_cond_wait() sleeps -- no lost wake-up. */
		bdev->q_sleepers++;
		spin_unlock(&bdev->q_lock);
		pthread_cond_wait(&bdev->q_cond, &bdev->q_mutex);
		spin_lock(&bdev->q_lock);
		bdev->q_sleepers--;
		bdev->q_wake_pending = false;
		spin_unlock(&bdev->q_lock);
	}
	pthread_mutex_unlock(&bdev->q_mutex);
	return got;
}

static bool blk_rq_mergeable(struct block_device *bdev, const struct blk_request *rq)
{
	unsigned int op = rq->opf & REQ_OP_MASK;

	if (rq->opf & (REQ_PREFLUSH | REQ_FUA) || !rq->len || !blk_in_range(bdev, rq->pos, rq->len))
		return false;
	if (op == REQ_OP_READ)
		return true;
	return op == REQ_OP_WRITE && !bdev->read_only && !bdev->log;
}

/* Full preadv/pwritev of @iov (modified); 0, or -EIO (also for a short read). */
static int blk_rw_vec(int fd, bool write, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt) {
		ssize_t n = write ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Complete the requests at the head of @batch; merges a run of adjacent
 * ones when allowed.  end_io runs per request, in queue order.
 */
static void blk_complete_batch(struct block_device *bdev, struct list_head *batch, bool merge)
{
	struct blk_request *rqs[BLK_MAX_MERGE];
	struct iovec iov[BLK_MAX_MERGE];
	struct blk_request *rq = list_first_entry(batch, struct blk_request, queue);
	unsigned int op = rq->opf & REQ_OP_MASK;
	bool write = op == REQ_OP_WRITE;
	int n = 0, err;

	list_del_init(&rq->queue);
	if (!merge || !blk_rq_mergeable(bdev, rq)) {
		blk_complete(bdev, rq);
		return;
	}
	rqs[n] = rq;
	iov[n].iov_base = rq->buf;
	iov[n++].iov_len = rq->len;
	while (n < BLK_MAX_MERGE && !list_empty(batch)) {
		struct blk_request *next = list_first_entry(batch, struct blk_request, queue);
		struct blk_request *prev = rqs[n - 1];

		if ((next->opf & REQ_OP_MASK) != op || next->pos != prev->pos + prev->len ||
		    !blk_rq_mergeable(bdev, next))
			break;
		list_del_init(&next->queue);
		rqs[n] = next;
		iov[n].iov_base = next->buf;
		iov[n++].iov_len = next->len;
	}
	if (n == 1) {
		blk_complete(bdev, rq);
		return;
	}
	/* The DMA moment of the merged bio: the device reads (writes) every
	 * request's buffer now. */
	err = blk_rw_vec(bdev->fd, write, iov, n, rqs[0]->pos);
	for (int i = 0; i < n; i++) {
		blk_end_io_t *end_io = rqs[i]->end_io;
		int e = 0;

		rq = rqs[i];
		if (err) {
			/* Redo it alone for the exact per-request result. */
			e = write ? blk_do_write(bdev, rq) : blk_do_read(bdev, rq);
		} else if (write) {
			blk_note_written(bdev, rq->pos, rq->len);
			atomic_fetch_add(&bdev->stat_writes, 1);
			atomic_fetch_add(&bdev->stat_bytes_written, rq->len);
		} else {
			atomic_fetch_add(&bdev->stat_reads, 1);
			atomic_fetch_add(&bdev->stat_bytes_read, rq->len);
		}
		if (end_io)
			end_io(rq, e);
	}
	if (atomic_fetch_sub(&bdev->inflight, n) == n)
		wake_up_var(&bdev->inflight);
}

static void *blk_io_thread(void *p)
{
	struct blk_io_thread_arg *arg = p;
	struct block_device *bdev = arg->bdev;
	struct list_head batch;

	INIT_LIST_HEAD(&batch);
	trace_set_thread_name("blk-io");	/* the request queue's completions */
	yield_seed_thread(arg->seed);
	free(arg);
	bool merge;

	while (blk_dequeue(bdev, &batch, &merge)) {
		while (!list_empty(&batch)) {
			pthread_rwlock_rdlock(&bdev->media_lock);
			blk_complete_batch(bdev, &batch, merge);
			pthread_rwlock_unlock(&bdev->media_lock);
		}
	}
	free(dma_buf);
	dma_buf = NULL;
	dma_cap = 0;
	return NULL;
}

/*
 * Queue @rq; end_io(rq, err) runs later in an I/O thread.  The caller must
 * keep rq and rq->buf valid until then.  Any lock state; does not sleep
 * beyond the queue mutex, which it takes only to wake a sleeping I/O thread.
 */
static __thread struct blk_plug *current_plug;

/*
 * Wake a sleeping I/O thread.  Taking q_mutex orders us after its sleep
 * announcement: once we hold it, the sleeper is inside pthread_cond_wait()
 * (or has not announced and will see the queue).  Signal after unlocking,
 * so that the woken thread does not block at once on the mutex we hold.
 */
static void blk_wake_io_thread(struct block_device *bdev)
{
	atomic_fetch_add(&bdev->q_wakers, 1);
	pthread_mutex_lock(&bdev->q_mutex);
	BUG_ON(bdev->stopping);
	pthread_mutex_unlock(&bdev->q_mutex);
	pthread_cond_signal(&bdev->q_cond);
	atomic_fetch_sub(&bdev->q_wakers, 1);	/* blockdev_close() may destroy q_cond now */
}

/* Queue every request of @list (in order) with one wake-up. */
static void blk_queue_list(struct block_device *bdev, struct list_head *list, long nr)
{
	bool wake = false;

	atomic_fetch_add(&bdev->inflight, nr);
	if (bdev->inline_io) {
		/* brd_submit_bio(): done before the submission returns */
		pthread_rwlock_rdlock(&bdev->media_lock);
		while (!list_empty(list))
			blk_complete_batch(bdev, list, blk_may_merge(bdev));
		pthread_rwlock_unlock(&bdev->media_lock);
		return;
	}
	spin_lock(&bdev->q_lock);
	while (!list_empty(list)) {
		struct blk_request *rq = list_first_entry(list, struct blk_request, queue);

		rq->seq = bdev->q_seq++;
		list_move_tail(&rq->queue, &bdev->q);
	}
	if (bdev->q_sleepers && !bdev->q_wake_pending) {
		bdev->q_wake_pending = true;
		wake = true;
	}
	spin_unlock(&bdev->q_lock);

	if (wake)
		blk_wake_io_thread(bdev);
}

/* Queue what @plug holds now; the plug stays active.  Call before any wait
 * while plugged (the kernel does it from schedule()). */
void blk_flush_plug(struct blk_plug *plug)
{
	/* A nested plug is not installed: what this thread holds is on the
	 * outermost one. */
	if (plug && current_plug && plug != current_plug)
		plug = current_plug;
	if (plug && plug->bdev && plug->count)
		blk_queue_list(plug->bdev, &plug->list, plug->count);
	plug->bdev = NULL;
	plug->count = 0;
}

/*
 * blk_start_plug/blk_finish_plug (block/blk-core.c): requests this thread
 * submits in between are held on the plug and reach the device queue
 * together, in submission order, at blk_finish_plug() (or when the plug
 * fills up / another device is submitted to).  The kernel also flushes the
 * plug when the task sleeps; we cannot, so a plugged section must not wait
 * for I/O (it would wait for its own held requests).
 */
void blk_start_plug(struct blk_plug *plug)
{
	INIT_LIST_HEAD(&plug->list);
	plug->bdev = NULL;
	plug->count = 0;
	if (!current_plug)
		current_plug = plug;
}

void blk_finish_plug(struct blk_plug *plug)
{
	if (current_plug != plug)
		return;
	blk_flush_plug(plug);
	current_plug = NULL;
}

#define BLK_PLUG_MAX	256

void blk_submit(struct block_device *bdev, struct blk_request *rq)
{
	struct blk_plug *plug = current_plug;
	LIST_HEAD(one);

	if (plug) {
		if (plug->bdev != bdev || plug->count >= BLK_PLUG_MAX)
			blk_flush_plug(plug);
		plug->bdev = bdev;
		list_add_tail(&rq->queue, &plug->list);
		plug->count++;
		return;
	}
	list_add_tail(&rq->queue, &one);
	blk_queue_list(bdev, &one, 1);
}

struct blk_sync {
	struct blk_request rq;
	_Atomic int done;		/* [atomic] set by end_io */
	int error;			/* [owner: end_io until done is set, then the waiter] */
};

static void blk_end_sync(struct blk_request *rq, int error)
{
	struct blk_sync *s = container_of(rq, struct blk_sync, rq);

	s->error = error;
	atomic_store(&s->done, 1);
	wake_up_var(&s->done);
}

/* Submit one request and wait for it.  No spinlock held; sleeps. */
int blk_rw_sync(struct block_device *bdev, unsigned int opf, uint64_t pos, void *buf, size_t len)
{
	struct blk_sync s = {
		.rq = { .opf = opf, .pos = pos, .len = len, .buf = buf,
			.end_io = blk_end_sync },
	};

	might_sleep();
	INIT_LIST_HEAD(&s.rq.queue);
	blk_submit(bdev, &s.rq);
	wait_var_event(&s.done, atomic_load(&s.done));
	return s.error;
}

struct blk_sync_batch {
	_Atomic long pending;		/* requests not completed [atomic] */
	_Atomic int error;		/* first error [atomic] */
};

struct blk_sync_rq {
	struct blk_request rq;
	struct blk_sync_batch *batch;	/* [const] */
};

static void blk_end_sync_batch(struct blk_request *rq, int error)
{
	struct blk_sync_batch *b = container_of(rq, struct blk_sync_rq, rq)->batch;
	int zero = 0;

	if (error)
		atomic_compare_exchange_strong(&b->error, &zero, error);
	if (atomic_fetch_sub(&b->pending, 1) == 1)
		wake_up_var(&b->pending);
}

/*
 * Submit n block requests under one plug (adjacent ones merge) and wait
 * for all of them: block blocks[i] of size bs to or from bufs[i], in
 * submission order unless the device reorders.  Returns 0, the first
 * error, or -ENOMEM.  No spinlock held; sleeps.
 */
int blk_rw_blocks_sync(struct block_device *bdev, unsigned int opf, unsigned int bs,
		       const uint64_t *blocks, char *const *bufs, unsigned int n)
{
	struct blk_sync_batch b = { .pending = n };
	struct blk_sync_rq *r;
	struct blk_plug plug;

	might_sleep();
	if (!n)
		return 0;
	r = calloc(n, sizeof(*r));
	if (!r)
		return -ENOMEM;
	blk_start_plug(&plug);
	for (unsigned int i = 0; i < n; i++) {
		r[i].rq = (struct blk_request){ .opf = opf, .pos = blocks[i] * bs, .len = bs,
						.buf = bufs[i], .end_io = blk_end_sync_batch };
		r[i].batch = &b;
		INIT_LIST_HEAD(&r[i].rq.queue);
		blk_submit(bdev, &r[i].rq);
	}
	blk_finish_plug(&plug);
	wait_var_event(&b.pending, atomic_load(&b.pending) == 0);
	free(r);
	return atomic_load(&b.error);
}

/* No spinlock held; sleeps.  Not from an end_io with a single I/O thread. */
void blk_drain(struct block_device *bdev)
{
	might_sleep();
	wait_var_event(&bdev->inflight, atomic_load(&bdev->inflight) == 0);
}

/* Make every completed write durable.  No spinlock held; sleeps. */
int blkdev_issue_flush(struct block_device *bdev)
{
	might_sleep();
	return blk_flush_media(bdev);
}

/* Append a MARK (text cut to the sector).  No spinlock held; sleeps on the log lock. */
void blk_log_mark(struct block_device *bdev, const char *fmt, ...)
{
	char text[WLOG_MARK_MAX + 1];
	va_list ap;

	if (!bdev->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	wlog_mark(bdev->log, text);
}

/* Takes q_lock; call with no request in flight (reorder is read by the I/O threads). */
void blockdev_set_reorder(struct block_device *bdev, bool on)
{
	if (atomic_load(&bdev->inflight))
		jbd_warn(__FILE__, __LINE__, "blockdev_set_reorder with I/O in flight");
	spin_lock(&bdev->q_lock);
	bdev->reorder = on;
	spin_unlock(&bdev->q_lock);
}

/* ------------------------------------------------------- open and close */

static int blk_get_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;

		if (ioctl(fd, BLKGETSIZE64, &sz))
			return -errno;
		*size = sz;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -ENOTBLK;
	*size = (uint64_t)st.st_size;
	return 0;
}

static void blk_stop_threads(struct block_device *bdev, unsigned int nr)
{
	pthread_mutex_lock(&bdev->q_mutex);
	bdev->stopping = true;
	pthread_cond_broadcast(&bdev->q_cond);
	pthread_mutex_unlock(&bdev->q_mutex);
	for (unsigned int i = 0; i < nr; i++)
		pthread_join(bdev->io_threads[i], NULL);
}

/* No lock held on entry or exit; starts the I/O threads.  @o may be NULL. */
int blockdev_open(const char *path, const struct blockdev_opts *o, struct block_device **out)
{
	static const struct blockdev_opts defaults;
	struct block_device *bdev;
	unsigned int i;
	int ret;

	if (!o)
		o = &defaults;
	bdev = calloc(1, sizeof(*bdev));
	if (!bdev)
		return -ENOMEM;
	bdev->path = strdup(path);
	if (!bdev->path) {
		ret = -ENOMEM;
		goto out_free;
	}
	bdev->read_only = o->read_only;
	bdev->fd = open(path, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (bdev->fd < 0) {
		ret = -errno;
		goto out_free_path;
	}
	ret = blk_get_size(bdev->fd, &bdev->size);
	if (ret)
		goto out_close;

	spin_lock_init(&bdev->q_lock);
	INIT_LIST_HEAD(&bdev->q);
	pthread_mutex_init(&bdev->q_mutex, NULL);
	pthread_rwlock_init(&bdev->media_lock, NULL);
	pthread_cond_init(&bdev->q_cond, NULL);
	bdev->dma_delay_us = o->dma_delay_us;
	bdev->flush_delay_ms = o->flush_delay_ms;
	bdev->reorder = o->reorder;
	bdev->written = o->written_map;
	bdev->nr_io_threads = o->nr_io_threads ? o->nr_io_threads : 1;
	bdev->inline_io = o->inline_completion;
	if (bdev->inline_io) {
		if (o->write_log || o->reorder || o->dma_delay_us) {
			ret = -EINVAL;
			goto out_destroy;
		}
		bdev->nr_io_threads = 0;
	}

	if (o->write_log) {
		ret = wlog_create(o->write_log, &bdev->log);
		if (ret)
			goto out_destroy;
	}

	bdev->io_threads = calloc(bdev->nr_io_threads ? bdev->nr_io_threads : 1, sizeof(pthread_t));
	if (!bdev->io_threads) {
		ret = -ENOMEM;
		goto out_log;
	}
	for (i = 0; i < bdev->nr_io_threads; i++) {
		struct blk_io_thread_arg *arg = malloc(sizeof(*arg));

		if (!arg) {
			ret = -ENOMEM;
			goto out_threads;
		}
		arg->bdev = bdev;
		arg->seed = (o->seed ? o->seed : BLK_DEFAULT_SEED) + i * 0x9e3779b97f4a7c15ULL;
		ret = -pthread_create(&bdev->io_threads[i], NULL, blk_io_thread, arg);
		if (ret) {
			free(arg);
			goto out_threads;
		}
	}
	*out = bdev;
	return 0;

out_threads:
	blk_stop_threads(bdev, i);
	free(bdev->io_threads);
out_log:
	if (bdev->log)
		wlog_close(bdev->log);
out_destroy:
	pthread_cond_destroy(&bdev->q_cond);
	pthread_mutex_destroy(&bdev->q_mutex);
	pthread_rwlock_destroy(&bdev->media_lock);
out_close:
	close(bdev->fd);
out_free_path:
	free(bdev->path);
out_free:
	free(bdev);
	return ret;
}

/* Drain, flush, stop the I/O threads, close log and image.  No lock held; sleeps;
 * the caller guarantees nobody submits any more. */
void blockdev_close(struct block_device *bdev)
{
	if (!bdev)
		return;
	blk_drain(bdev);
	if (!bdev->read_only && blk_flush_media(bdev))
		fprintf(stderr, "blockdev: %s: final flush failed\n", bdev->path);
	blk_stop_threads(bdev, bdev->nr_io_threads);
	/* A submitter whose request already completed may still be in
	 * blk_wake_io_thread(), past the mutex, signalling. */
	while (atomic_load(&bdev->q_wakers))
		sched_yield();
	if (bdev->log && wlog_close(bdev->log))
		fprintf(stderr, "blockdev: %s: write log incomplete\n", bdev->path);
	pthread_cond_destroy(&bdev->q_cond);
	pthread_mutex_destroy(&bdev->q_mutex);
	pthread_rwlock_destroy(&bdev->media_lock);
	close(bdev->fd);
	free(bdev->io_threads);
	free(bdev->path);
	free(bdev);
}

/*
 * blk_snapshot - the power cut of the race lab: copy the media as it is
 * between two completions (every completed write, none of the queued or
 * half-done ones: a state a real power cut can leave with a write cache
 * that happened to keep everything).  The I/O threads wait meanwhile.
 * Entry: no lock held; 0 or -errno.
 */
int blk_snapshot(struct block_device *bdev, const char *path)
{
	char *buf = malloc(1 << 20);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	pthread_rwlock_wrlock(&bdev->media_lock);
	for (uint64_t off = 0; off < bdev->size && !ret; ) {
		size_t n = bdev->size - off < (1 << 20) ? (size_t)(bdev->size - off) : (1 << 20);
		size_t got = 0;

		ret = pread_full(bdev->fd, buf, n, off, &got);
		if (!ret && got == n && pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			ret = errno ? -errno : -EIO;
		if (!ret && got != n)
			ret = -EIO;
		off += n;
	}
	pthread_rwlock_unlock(&bdev->media_lock);
	if (close(fd) && !ret)
		ret = -errno;
	free(buf);
	return ret;
}
