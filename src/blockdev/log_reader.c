// SPDX-License-Identifier: GPL-2.0
/*
 * log_reader.c - read and replay a dm-log-writes log (see write_log.h for
 * the layout), ours or one recorded by the kernel target, without fstests.
 *
 * Opening a log indexes it: the entries are walked once from the first
 * sector after the superblock, every header is checked as replay-log checks
 * it (an all-zero header, or a non-MARK header with text after the four
 * fields, is malformed) and more strictly (unknown flag bits, a mark longer
 * than the sector, data running past the end of the file), and the byte
 * offset of each entry is kept, so that any entry can then be read and any
 * prefix replayed.  The superblock's nr_entries decides how many entries
 * there are; with BLK_LOG_READ_TAIL the walk continues past it while whole
 * valid entries follow -- the writes a killed writer had logged but not yet
 * published.  A published entry that is missing or malformed fails the open
 * with -EUCLEAN; a bad tail entry just ends the tail.
 *
 * Replay writes entry data with pwrite() at sector * sectorsize of the
 * image, zeros for DISCARD entries, and ignores FLUSH and MARK entries; it
 * does not grow or shrink the image beyond what the entries write.
 *
 * Locking rules:
 *   none: a struct blk_log belongs to one thread at a time (the caller's
 *   serialisation); the log file must not be written while it is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "write_log.h"

#define BLK_LOG_KNOWN_FLAGS	(BLK_LOG_FLUSH | BLK_LOG_FUA | BLK_LOG_DISCARD | \
				 BLK_LOG_MARK | BLK_LOG_METADATA)

struct blk_log {
	int fd;				/* [owner] */
	unsigned int sectorsize;	/* [const] */
	uint64_t published;		/* superblock nr_entries [const] */
	uint64_t nr_entries;		/* indexed entries [const after open] */
	uint64_t *offsets;		/* byte offset of each entry header [const after open] */
	uint64_t file_size;		/* [const] */
	unsigned char *hdr;		/* one sector of scratch [owner] */
};

static int pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Decode the header at @off into @e; -EUCLEAN if it is not a valid entry. */
static int blk_log_parse(struct blk_log *log, uint64_t off, struct blk_log_entry *e)
{
	unsigned char *h = log->hdr;
	uint64_t data_len;
	int ret;

	if (off + log->sectorsize > log->file_size)
		return -EUCLEAN;
	ret = pread_exact(log->fd, h, log->sectorsize, off);
	if (ret)
		return ret == -ENODATA ? -EUCLEAN : ret;
	e->sector = wlog_get_le64(h + 0);
	e->nr_sectors = wlog_get_le64(h + 8);
	e->flags = wlog_get_le64(h + 16);
	data_len = wlog_get_le64(h + 24);
	e->data_off = off + log->sectorsize;
	e->mark[0] = '\0';

	if (!e->flags && !e->nr_sectors)
		return -EUCLEAN;
	if (e->flags & ~(uint64_t)BLK_LOG_KNOWN_FLAGS)
		return -EUCLEAN;
	if (e->flags != BLK_LOG_MARK && h[WLOG_ENTRY_HDR_LEN] != 0)
		return -EUCLEAN;
	if (data_len > log->sectorsize - WLOG_ENTRY_HDR_LEN - 1)
		return -EUCLEAN;
	if (e->flags & BLK_LOG_MARK) {
		size_t n = min_t(size_t, data_len, sizeof(e->mark) - 1);

		memcpy(e->mark, h + WLOG_ENTRY_HDR_LEN, n);
		e->mark[n] = '\0';
	}
	if (!(e->flags & BLK_LOG_DISCARD)) {
		if (e->nr_sectors > (log->file_size - e->data_off) / log->sectorsize)
			return -EUCLEAN;
	}
	return 0;
}

static uint64_t blk_log_entry_span(struct blk_log *log, const struct blk_log_entry *e)
{
	uint64_t span = log->sectorsize;

	if (!(e->flags & BLK_LOG_DISCARD))
		span += e->nr_sectors * log->sectorsize;
	return span;
}

int blk_log_open(const char *path, unsigned int flags, struct blk_log **out)
{
	unsigned char sb[WLOG_SUPER_LEN];
	struct blk_log_entry e;
	struct blk_log *log;
	uint64_t off, cap;
	struct stat st;
	int ret;

	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (log->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	if (fstat(log->fd, &st)) {
		ret = -errno;
		goto out_close;
	}
	log->file_size = (uint64_t)st.st_size;
	ret = pread_exact(log->fd, sb, sizeof(sb), 0);
	if (ret) {
		ret = ret == -ENODATA ? -EINVAL : ret;
		goto out_close;
	}
	if (wlog_get_le64(sb) != WLOG_MAGIC || wlog_get_le64(sb + 8) != WLOG_VERSION) {
		ret = -EINVAL;
		goto out_close;
	}
	log->published = wlog_get_le64(sb + 16);
	log->sectorsize = wlog_get_le32(sb + 24);
	if (log->sectorsize < WLOG_SECTOR_SIZE || log->sectorsize > 65536 ||
	    (log->sectorsize & (log->sectorsize - 1))) {
		ret = -EINVAL;
		goto out_close;
	}
	log->hdr = malloc(log->sectorsize);
	if (!log->hdr) {
		ret = -ENOMEM;
		goto out_close;
	}

	cap = 0;
	off = log->sectorsize;
	for (uint64_t i = 0; ; i++) {
		bool tail = i >= log->published;

		if (tail && !(flags & BLK_LOG_READ_TAIL))
			break;
		if (tail && off >= log->file_size)
			break;
		ret = blk_log_parse(log, off, &e);
		if (ret) {
			if (tail && ret == -EUCLEAN)
				break;
			goto out_index;
		}
		if (i == cap) {
			uint64_t *n;

			cap = cap ? cap * 2 : 256;
			n = realloc(log->offsets, cap * sizeof(*n));
			if (!n) {
				ret = -ENOMEM;
				goto out_index;
			}
			log->offsets = n;
		}
		log->offsets[i] = off;
		log->nr_entries = i + 1;
		off += blk_log_entry_span(log, &e);
	}
	*out = log;
	return 0;

out_index:
	free(log->offsets);
	free(log->hdr);
out_close:
	close(log->fd);
out_free:
	free(log);
	return ret;
}

void blk_log_close(struct blk_log *log)
{
	if (!log)
		return;
	close(log->fd);
	free(log->offsets);
	free(log->hdr);
	free(log);
}

uint64_t blk_log_nr_entries(const struct blk_log *log)
{
	return log->nr_entries;
}

uint64_t blk_log_nr_published(const struct blk_log *log)
{
	return log->published;
}

unsigned int blk_log_sectorsize(const struct blk_log *log)
{
	return log->sectorsize;
}

int blk_log_entry(struct blk_log *log, uint64_t index, struct blk_log_entry *e)
{
	int ret;

	if (index >= log->nr_entries)
		return -ENOENT;
	ret = blk_log_parse(log, log->offsets[index], e);
	if (ret)
		return ret;
	e->index = index;
	return 0;
}

int blk_log_read_data(struct blk_log *log, const struct blk_log_entry *e, void *buf)
{
	if (e->flags & BLK_LOG_DISCARD)
		return -EINVAL;
	if (!e->nr_sectors)
		return 0;
	return pread_exact(log->fd, buf, e->nr_sectors * log->sectorsize, e->data_off);
}

int64_t blk_log_find(struct blk_log *log, uint64_t start, uint64_t flags, const char *mark)
{
	struct blk_log_entry e;

	for (uint64_t i = start; i < log->nr_entries; i++) {
		int ret = blk_log_entry(log, i, &e);

		if (ret)
			return ret;
		if (!(e.flags & flags))
			continue;
		if (mark && (!(e.flags & BLK_LOG_MARK) || strcmp(mark, e.mark)))
			continue;
		return (int64_t)i;
	}
	return -ENOENT;
}

/* DISCARD: zero the range, in bounded chunks (a discard may be huge). */
static int blk_log_zero(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];

	while (len) {
		size_t n = (size_t)min_t(uint64_t, len, sizeof(zeros));
		int ret = blk_pwrite_full(fd, zeros, n, off);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

int blk_log_replay(struct blk_log *log, int image_fd, uint64_t nr)
{
	struct blk_log_entry e;
	size_t cap = 0;
	char *buf = NULL;
	int ret = 0;

	if (nr > log->nr_entries)
		return -ENOENT;
	for (uint64_t i = 0; i < nr; i++) {
		size_t len;

		ret = blk_log_entry(log, i, &e);
		if (ret)
			goto out;
		if (!e.nr_sectors)
			continue;
		if (e.flags & BLK_LOG_DISCARD) {
			ret = blk_log_zero(image_fd, e.sector * log->sectorsize,
					   e.nr_sectors * log->sectorsize);
			if (ret)
				goto out;
			continue;
		}
		len = e.nr_sectors * log->sectorsize;
		if (len > cap) {
			char *n = realloc(buf, len);

			if (!n) {
				ret = -ENOMEM;
				goto out;
			}
			buf = n;
			cap = len;
		}
		ret = blk_log_read_data(log, &e, buf);
		if (ret)
			goto out;
		ret = blk_pwrite_full(image_fd, buf, len, e.sector * log->sectorsize);
		if (ret)
			goto out;
	}
	if (fdatasync(image_fd) && errno != EINVAL && errno != EROFS)
		ret = -errno;
out:
	free(buf);
	return ret;
}
