/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blockdev.h - the "disk" (src/blockdev/): an image file behind an
 * asynchronous request queue with a simulated DMA moment, flush/FUA, and an
 * optional write log in the dm-log-writes format that fstests'
 * src/log-writes/replay-log reads.
 *
 * Semantics, as a real device with a volatile write cache:
 *   - a WRITE request's bytes are copied out of the caller's buffer at the
 *     DMA moment (in the completion thread, just before pwrite), not at
 *     submit time; end_io runs after that, in the completion thread;
 *   - a completed write is NOT durable until a later flush (REQ_PREFLUSH on a
 *     request, or blkdev_issue_flush()) -- the write log records exactly this;
 *   - REQ_FUA makes that one write durable on completion.
 *   - requests may complete out of submission order only if
 *     blockdev_set_reorder() is enabled (crash tests); default FIFO.
 */
#ifndef JBDLAB_BLOCKDEV_H
#define JBDLAB_BLOCKDEV_H

#include <stdint.h>
#include <sys/types.h>
#include "compiler.h"
#include "locking.h"

struct address_space;
struct blk_request;

typedef void blk_end_io_t(struct blk_request *rq, int error);

struct blk_request {
	unsigned int opf;		/* REQ_OP_READ/WRITE | REQ_SYNC | REQ_PREFLUSH | REQ_FUA (mm.h) */
	uint64_t pos;			/* byte offset on the device */
	size_t len;			/* bytes */
	char *buf;			/* raw pointer, read/written at the DMA moment */
	blk_end_io_t *end_io;		/* runs in the completion thread */
	void *private;
	struct list_head queue;		/* [bdev->q_lock] */
	uint64_t seq;			/* [bdev->q_lock] submission order */
};

struct blk_write_log;

struct block_device {
	int fd;				/* [const] */
	char *path;			/* [const] */
	uint64_t size;			/* [const] bytes */
	bool read_only;			/* [const] */
	struct address_space *bd_mapping;	/* [const after blockdev_attach_mapping] */

	spinlock_t q_lock;
	struct list_head q;		/* pending requests [q_lock] */
	uint64_t q_seq;			/* [q_lock] */
	unsigned int q_sleepers;	/* [q_lock] I/O threads asleep on q_cond */
	bool q_wake_pending;		/* [q_lock] a submitter signalled q_cond, no sleeper woke yet */
	_Atomic int q_wakers;		/* [atomic] submitters inside blk_wake_io_thread() */
	pthread_mutex_t q_mutex;	/* sleeps of the completion thread */
	pthread_cond_t q_cond;
	pthread_t *io_threads;		/* [const] */
	unsigned int nr_io_threads;	/* [const] */
	bool stopping;			/* [q_mutex] */
	_Atomic long inflight;		/* [atomic] submitted, not completed */
	unsigned int dma_delay_us;	/* [const] max random delay before the DMA moment */
	unsigned int flush_delay_ms;	/* [const] added to every cache flush */
	bool reorder;			/* [const] allow out-of-order completion (set at open or
					 * by blockdev_set_reorder() while idle) */
	bool inline_io;			/* [const] opts.inline_completion: no I/O thread */

	struct blk_write_log *log;	/* [log's own lock] NULL = no write log */
	pthread_rwlock_t media_lock;	/* completions read-hold it; blk_snapshot() writes [lock] */
	_Atomic unsigned long *written;	/* [const pointer; bits atomic] opts.written_map */

	/* statistics [atomic] */
	_Atomic uint64_t stat_reads, stat_writes, stat_flushes, stat_bytes_read, stat_bytes_written;
};

struct blockdev_opts {
	bool read_only;
	const char *write_log;		/* path of a dm-log-writes log, or NULL */
	unsigned int nr_io_threads;	/* 0 = 1 */
	unsigned int dma_delay_us;	/* 0 = complete as soon as possible */
	/* A slow disk cache: every flush (REQ_PREFLUSH, REQ_FUA, a flush of
	 * its own) takes this many milliseconds more; 0 = none. */
	unsigned int flush_delay_ms;
	bool reorder;			/* as blockdev_set_reorder(bdev, true) */
	uint64_t seed;			/* PRNG seed of the I/O threads (delays, reorder); 0 = fixed default */
	/* If set: one bit per BLK_WRITTEN_SHIFT-sized chunk of the device,
	 * set (atomically, by the I/O thread) when a write touching it
	 * completes; never cleared by the device.  The fuzzer restores
	 * exactly those chunks between runs.  Caller-owned, sized for the
	 * device, outlives the open. */
	_Atomic unsigned long *written_map;
	/* A RAM disk (the kernel's brd): every request completes in the
	 * submitter's context, at blk_submit() or blk_finish_plug(), in
	 * submission order; no I/O thread.  The DMA moment is then the
	 * submission.  Not with write_log, reorder or dma_delay_us (-EINVAL).
	 * The fuzz target's memfd device uses it. */
	bool inline_completion;
};
#define BLK_WRITTEN_SHIFT	12	/* 4 KiB chunks */

/* Open the image; returns -errno.  A read-only open never writes the file. */
int blockdev_open(const char *path, const struct blockdev_opts *o, struct block_device **out);
/* Wait for everything in flight, flush, close the log, close the file. */
void blockdev_close(struct block_device *bdev);

void blk_submit(struct block_device *bdev, struct blk_request *rq);
/* Plugging: hold this thread's submissions and queue them at once (no
 * waiting for I/O while plugged). */
struct blk_plug {
	struct list_head list;		/* held requests [owner: the plugging thread] */
	struct block_device *bdev;	/* their device [owner: the plugging thread] */
	long count;			/* [owner: the plugging thread] */
};
void blk_start_plug(struct blk_plug *plug);
void blk_finish_plug(struct blk_plug *plug);
/* Queue the held requests now (before sleeping while plugged); NULL is a no-op. */
void blk_flush_plug(struct blk_plug *plug);
/* Synchronous helpers (submit + wait). */
int blk_rw_sync(struct block_device *bdev, unsigned int opf, uint64_t pos, void *buf, size_t len);
/* n requests of one block each (blocks[i] * bs <-> bufs[i]), plugged, all waited for. */
int blk_rw_blocks_sync(struct block_device *bdev, unsigned int opf, unsigned int bs,
		       const uint64_t *blocks, char *const *bufs, unsigned int n);
/* Make every completed write durable (fdatasync + log FLUSH entry). */
int blkdev_issue_flush(struct block_device *bdev);
/* Wait until no request is in flight. */
void blk_drain(struct block_device *bdev);

/* Copy the media between two completions (the lab's power cut). 0/-errno. */
int blk_snapshot(struct block_device *bdev, const char *path);

/* Write-log MARK entry (e.g. "op 123 mkdir", "commit 17"), as dm-log-writes' message. */
void blk_log_mark(struct block_device *bdev, const char *fmt, ...) __printf(2, 3);

/*
 * Let requests of one flush epoch complete in any order: an I/O thread picks
 * a random request among those queued before the first REQ_PREFLUSH request
 * (which itself is picked only after all earlier ones were).
 * Call while no request is in flight.  Deterministic for a given opts.seed
 * with one I/O thread.
 */
void blockdev_set_reorder(struct block_device *bdev, bool on);

/* ------------------------------------------------------------------------
 * Write-log reader (src/blockdev/log_reader.c): reads a dm-log-writes log --
 * ours or the kernel's -- and replays any prefix of it onto an image, as
 * fstests' replay-log does.  Used by the crash tests and tests/tools/logreplay.
 */
#define BLK_LOG_FLUSH		(1U << 0)
#define BLK_LOG_FUA		(1U << 1)
#define BLK_LOG_DISCARD		(1U << 2)
#define BLK_LOG_MARK		(1U << 3)
#define BLK_LOG_METADATA	(1U << 4)	/* REQ_META */

struct blk_log_entry {
	uint64_t index;			/* 0-based position in the log */
	uint64_t sector;		/* in sectorsize units */
	uint64_t nr_sectors;		/* data sectors (0 for FLUSH and MARK) */
	uint64_t flags;			/* BLK_LOG_* */
	uint64_t data_off;		/* byte offset of the data sectors in the log file */
	char mark[512];			/* MARK text, NUL terminated; "" otherwise */
};

struct blk_log;

/* Also return complete, valid entries past the superblock's nr_entries: the
 * unpublished tail of a log whose writer was killed (writes completed but
 * not yet flushed). */
#define BLK_LOG_READ_TAIL	(1U << 0)

/* Open and index a log; -EINVAL bad magic/version/sectorsize, -EUCLEAN a
 * published entry is missing or malformed, else -errno. */
int blk_log_open(const char *path, unsigned int flags, struct blk_log **out);
void blk_log_close(struct blk_log *log);
uint64_t blk_log_nr_entries(const struct blk_log *log);	/* readable entries */
uint64_t blk_log_nr_published(const struct blk_log *log);	/* superblock nr_entries */
unsigned int blk_log_sectorsize(const struct blk_log *log);
/* Entry @index (0 .. nr_entries-1); -ENOENT past the end. */
int blk_log_entry(struct blk_log *log, uint64_t index, struct blk_log_entry *e);
/* Read @e's nr_sectors * sectorsize data bytes into @buf. */
int blk_log_read_data(struct blk_log *log, const struct blk_log_entry *e, void *buf);
/* First entry at or after @start with any of @flags set and, if @mark is
 * not NULL, that MARK text; returns its index or -ENOENT. */
int64_t blk_log_find(struct blk_log *log, uint64_t start, uint64_t flags, const char *mark);
/* Write the data of entries [0, @nr) to @image_fd in log order (DISCARD
 * entries write zeros): the image then holds exactly the writes of that
 * prefix -- one of the states a power cut after entry nr-1 can leave; if
 * entry nr-1 is a FLUSH, every write of the prefix is certainly durable.
 * -ENOENT if nr > nr_entries. */
int blk_log_replay(struct blk_log *log, int image_fd, uint64_t nr);

#endif /* JBDLAB_BLOCKDEV_H */
