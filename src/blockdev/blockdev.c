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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockdev.h"
#include "locking.h"
#include "mm.h"
#include "write_log.h"

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

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static bool blk_in_range(struct block_device *bdev, uint64_t pos, size_t len)
{
	return pos <= bdev->size && len <= bdev->size - pos;
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
	else if (fdatasync(bdev->fd))
		ret = -EIO;
	return ret;
}

/* ----------------------------------------------------------- completion */

static int blk_do_write(struct block_device *bdev, struct blk_request *rq)
{
	void *dma = NULL;
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

	/* The DMA moment: the device reads the caller's buffer now. */
	if (rq->len) {
		dma = malloc(rq->len);
		if (!dma)
			return -EIO;
		memcpy(dma, rq->buf, rq->len);
	}
	if (bdev->log) {
		uint64_t lflags = 0;

		if (rq->opf & REQ_FUA)
			lflags |= WLOG_FUA;
		if (rq->opf & REQ_META)
			lflags |= WLOG_METADATA;
		ret = wlog_write(bdev->log, bdev->fd, dma, rq->pos, rq->len, lflags);
	} else {
		ret = pwrite_full(bdev->fd, dma, rq->len, rq->pos);
		if (!ret && (rq->opf & REQ_FUA) && fdatasync(bdev->fd))
			ret = -EIO;
	}
	free(dma);
	if (!ret) {
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

/* Sleep until there is a request (returned, off the queue) or we stop (NULL). */
static struct blk_request *blk_dequeue(struct block_device *bdev)
{
	struct blk_request *rq;

	pthread_mutex_lock(&bdev->q_mutex);
	for (;;) {
		spin_lock(&bdev->q_lock);
		rq = __blk_pick(bdev);
		if (rq)
			list_del_init(&rq->queue);
		spin_unlock(&bdev->q_lock);
		if (rq || bdev->stopping)
			break;
		pthread_cond_wait(&bdev->q_cond, &bdev->q_mutex);
	}
	pthread_mutex_unlock(&bdev->q_mutex);
	return rq;
}

static void *blk_io_thread(void *p)
{
	struct blk_io_thread_arg *arg = p;
	struct block_device *bdev = arg->bdev;
	struct blk_request *rq;

	yield_seed_thread(arg->seed);
	free(arg);
	while ((rq = blk_dequeue(bdev)))
		blk_complete(bdev, rq);
	return NULL;
}

/*
 * Queue @rq; end_io(rq, err) runs later in an I/O thread.  The caller must
 * keep rq and rq->buf valid until then.  Any lock state; does not sleep
 * beyond the queue mutex.
 */
void blk_submit(struct block_device *bdev, struct blk_request *rq)
{
	atomic_fetch_add(&bdev->inflight, 1);
	spin_lock(&bdev->q_lock);
	rq->seq = bdev->q_seq++;
	list_add_tail(&rq->queue, &bdev->q);
	spin_unlock(&bdev->q_lock);

	pthread_mutex_lock(&bdev->q_mutex);
	BUG_ON(bdev->stopping);
	pthread_cond_signal(&bdev->q_cond);
	pthread_mutex_unlock(&bdev->q_mutex);
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
	pthread_cond_init(&bdev->q_cond, NULL);
	bdev->dma_delay_us = o->dma_delay_us;
	bdev->reorder = o->reorder;
	bdev->nr_io_threads = o->nr_io_threads ? o->nr_io_threads : 1;

	if (o->write_log) {
		ret = wlog_create(o->write_log, &bdev->log);
		if (ret)
			goto out_destroy;
	}

	bdev->io_threads = calloc(bdev->nr_io_threads, sizeof(pthread_t));
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
	if (bdev->log && wlog_close(bdev->log))
		fprintf(stderr, "blockdev: %s: write log incomplete\n", bdev->path);
	pthread_cond_destroy(&bdev->q_cond);
	pthread_mutex_destroy(&bdev->q_mutex);
	close(bdev->fd);
	free(bdev->io_threads);
	free(bdev->path);
	free(bdev);
}
