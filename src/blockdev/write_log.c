// SPDX-License-Identifier: GPL-2.0
/*
 * write_log.c - the device's write log, in the on-disk format of the
 * kernel's dm-log-writes target (drivers/md/dm-log-writes.c), so that
 * fstests' src/log-writes/replay-log and our own reader (log_reader.c) can
 * rebuild the device as it was after any prefix of its writes.
 *
 * What is logged, and when.  dm-log-writes logs a write once it is known to
 * be on the media, i.e. in the order writes reach stable storage: plain
 * writes in completion order ahead of the flush that covers them, FUA writes
 * at completion, then the FLUSH entry.  We log each write at its completion,
 * which is the same order, because the entry is appended in the same
 * critical section as the pwrite() of the image: whatever order concurrent
 * I/O threads hit the image in is the order of the log, and a replay of the
 * whole log reproduces the image byte for byte even with overlapping
 * writes.  A FLUSH entry is appended after fdatasync() of the image, so
 * every write before it in the log is durable; a FUA write's entry carries
 * the FUA flag and is appended after its own fdatasync().
 *
 * nr_entries.  Readers trust only the superblock's nr_entries.  It is
 * republished (one sector pwrite at offset 0) after every FLUSH, FUA and
 * MARK entry and at close; at FLUSH, FUA and close the log file is
 * fdatasync()ed *before* the superblock is rewritten, so a published count
 * never covers entries that are not durable (the superblock itself becomes
 * durable at the next sync -- it may lag, never lead).  A log taken from a
 * killed process is thus readable up to its last flush at least; the
 * unpublished tail is still there for a reader that asks for it
 * (BLK_LOG_READ_TAIL).
 *
 * Failure of the log file (ENOSPC, EIO) disables logging for the rest of
 * the device's life, as dm-log-writes does, with one message; the device
 * itself keeps working.  A failing image write is not logged.
 *
 * Locking rules:
 *   log->lock (a sleeping mutex: it is held across pwrite/fdatasync) protects
 *   the append position, the entry count and the image-write + append pair.
 *   It is the innermost lock of the block device and is never held while
 *   calling out of this file.  bdev->q_lock/q_mutex are never taken under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockdev.h"
#include "locking.h"
#include "write_log.h"

_Static_assert(WLOG_FLUSH == BLK_LOG_FLUSH && WLOG_FUA == BLK_LOG_FUA &&
	       WLOG_DISCARD == BLK_LOG_DISCARD && WLOG_MARK == BLK_LOG_MARK &&
	       WLOG_METADATA == BLK_LOG_METADATA, "log flags");

struct blk_write_log {
	struct mutex lock;		/* held across log and image I/O */
	int fd;				/* [const] */
	char *path;			/* [const] */
	uint64_t next_off;		/* byte offset of the next entry [lock] */
	uint64_t nr_entries;		/* appended so far [lock] */
	uint64_t published;		/* nr_entries last written to the superblock [lock] */
	bool failed;			/* logging disabled after an error [lock] */
};

#define __wlog_assert_locked(log)	lockdep_assert_held(&(log)->lock)

/* pwrite() all of @buf at @off, retrying short writes and EINTR; 0 or -errno
 * (-EIO for a write that makes no progress).  Shared by the whole module. */
int blk_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void __wlog_fail(struct blk_write_log *log, const char *what, int err)
{
	__wlog_assert_locked(log);
	if (!log->failed)
		fprintf(stderr, "blockdev: write log %s: %s failed: %s; logging disabled\n",
			log->path, what, strerror(-err));
	log->failed = true;
}

static int __wlog_write_super(struct blk_write_log *log)
{
	unsigned char sb[WLOG_SECTOR_SIZE];
	int ret;

	__wlog_assert_locked(log);
	memset(sb, 0, sizeof(sb));
	wlog_put_le64(sb + 0, WLOG_MAGIC);
	wlog_put_le64(sb + 8, WLOG_VERSION);
	wlog_put_le64(sb + 16, log->nr_entries);
	wlog_put_le32(sb + 24, WLOG_SECTOR_SIZE);
	ret = blk_pwrite_full(log->fd, sb, sizeof(sb), 0);
	if (ret)
		return ret;
	log->published = log->nr_entries;
	return 0;
}

/* Make the appended entries durable, then publish them. */
static int __wlog_sync_publish(struct blk_write_log *log)
{
	int ret;

	__wlog_assert_locked(log);
	if (log->failed)
		return 0;
	if (fdatasync(log->fd)) {
		ret = -errno;
		goto out_fail;
	}
	ret = __wlog_write_super(log);
	if (ret)
		goto out_fail;
	return 0;
out_fail:
	__wlog_fail(log, "sync", ret);
	return ret;
}

/*
 * Append one entry: the header sector (with @mark for MARK entries) and
 * @nr_sectors sectors of @data.
 */
static int __wlog_append(struct blk_write_log *log, uint64_t sector, uint64_t nr_sectors,
			 uint64_t flags, const char *mark, const void *data)
{
	unsigned char hdr[WLOG_SECTOR_SIZE];
	size_t mlen = 0;
	int ret;

	__wlog_assert_locked(log);
	if (log->failed)
		return 0;
	memset(hdr, 0, sizeof(hdr));
	wlog_put_le64(hdr + 0, sector);
	wlog_put_le64(hdr + 8, nr_sectors);
	wlog_put_le64(hdr + 16, flags);
	if (mark) {
		mlen = strnlen(mark, WLOG_MARK_MAX);
		memcpy(hdr + WLOG_ENTRY_HDR_LEN, mark, mlen);
	}
	wlog_put_le64(hdr + 24, mlen);

	ret = blk_pwrite_full(log->fd, hdr, sizeof(hdr), log->next_off);
	if (ret)
		goto out_fail;
	if (nr_sectors) {
		ret = blk_pwrite_full(log->fd, data, nr_sectors << WLOG_SECTOR_SHIFT,
				  log->next_off + WLOG_SECTOR_SIZE);
		if (ret)
			goto out_fail;
	}
	log->next_off += WLOG_SECTOR_SIZE + (nr_sectors << WLOG_SECTOR_SHIFT);
	log->nr_entries++;
	return 0;
out_fail:
	__wlog_fail(log, "append", ret);
	return ret;
}

int wlog_create(const char *path, struct blk_write_log **out)
{
	struct blk_write_log *log;
	int ret;

	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->path = strdup(path);
	if (!log->path) {
		ret = -ENOMEM;
		goto out_free;
	}
	mutex_init(&log->lock);
	log->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log->fd < 0) {
		ret = -errno;
		goto out_free_path;
	}
	log->next_off = WLOG_SECTOR_SIZE;
	mutex_lock(&log->lock);
	ret = __wlog_write_super(log);
	mutex_unlock(&log->lock);
	if (ret)
		goto out_close;
	*out = log;
	return 0;

out_close:
	close(log->fd);
out_free_path:
	free(log->path);
out_free:
	free(log);
	return ret;
}

int wlog_write(struct blk_write_log *log, int fd, const void *data, uint64_t pos,
	       size_t len, uint64_t flags)
{
	uint64_t first = pos >> WLOG_SECTOR_SHIFT;
	uint64_t end = DIV_ROUND_UP(pos + len, WLOG_SECTOR_SIZE);
	void *bounce = NULL;
	const void *ldata = data;
	int ret;

	if (!len && !(flags & WLOG_FUA))
		return 0;

	mutex_lock(&log->lock);
	ret = blk_pwrite_full(fd, data, len, pos);
	if (ret) {
		ret = -EIO;
		goto out_unlock;
	}
	if (flags & WLOG_FUA) {
		if (fdatasync(fd)) {
			ret = -EIO;
			goto out_unlock;
		}
	}
	if (log->failed)
		goto out_unlock;

	/* A partial sector is logged whole, as the image now holds it. */
	if ((pos | len) & (WLOG_SECTOR_SIZE - 1)) {
		size_t blen = (size_t)(end - first) << WLOG_SECTOR_SHIFT;
		size_t got = 0;

		bounce = calloc(1, blen);
		if (!bounce) {
			__wlog_fail(log, "bounce allocation", -ENOMEM);
			goto out_unlock;
		}
		while (got < blen) {
			ssize_t n = pread(fd, (char *)bounce + got, blen - got,
					  (off_t)((first << WLOG_SECTOR_SHIFT) + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;	/* past the end of a short device: zeros */
			got += (size_t)n;
		}
		ldata = bounce;
	}
	if (__wlog_append(log, first, end - first, flags, NULL, ldata))
		goto out_unlock;
	if (flags & WLOG_FUA)
		__wlog_sync_publish(log);
out_unlock:
	mutex_unlock(&log->lock);
	free(bounce);
	return ret;
}

int wlog_flush(struct blk_write_log *log, int fd)
{
	int ret = 0;

	mutex_lock(&log->lock);
	if (fd >= 0 && fdatasync(fd))
		ret = -EIO;
	if (!ret && !__wlog_append(log, 0, 0, WLOG_FLUSH, NULL, NULL))
		__wlog_sync_publish(log);
	mutex_unlock(&log->lock);
	return ret;
}

void wlog_mark(struct blk_write_log *log, const char *text)
{
	mutex_lock(&log->lock);
	/* Published without a sync, as dm-log-writes does for a mark. */
	if (!__wlog_append(log, 0, 0, WLOG_MARK, text, NULL) && !log->failed) {
		int ret = __wlog_write_super(log);

		if (ret)
			__wlog_fail(log, "superblock", ret);
	}
	mutex_unlock(&log->lock);
}

int wlog_close(struct blk_write_log *log)
{
	int ret;

	mutex_lock(&log->lock);
	ret = __wlog_sync_publish(log);
	if (!ret && !log->failed && fdatasync(log->fd))
		ret = -errno;
	ret = log->failed ? -EIO : ret;
	mutex_unlock(&log->lock);
	if (close(log->fd) && !ret)
		ret = -errno;
	free(log->path);
	free(log);
	return ret;
}
