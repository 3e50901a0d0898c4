/* SPDX-License-Identifier: GPL-2.0 */
/*
 * write_log.h - internal interface between the request queue (blockdev.c)
 * and the dm-log-writes writer (write_log.c), plus the on-disk layout that
 * the writer and the reader (log_reader.c) share.
 *
 * On-disk layout (little endian, all units are WLOG_SECTOR_SIZE = 512 bytes):
 *
 *   sector 0            superblock: magic u64, version u64, nr_entries u64,
 *                       sectorsize u32, zero padding to the end of the sector
 *   then, per entry     one header sector: sector u64, nr_sectors u64,
 *                       flags u64, data_len u64, then (MARK only) the mark
 *                       text, NUL padded to the end of the sector;
 *                       followed by nr_sectors data sectors (not for DISCARD)
 *
 * `sector` and `nr_sectors` count sectorsize units of the logged device.
 * data_len is the length of the mark text for a MARK entry and 0 otherwise.
 */
#ifndef JBDLAB_BLOCKDEV_WRITE_LOG_H
#define JBDLAB_BLOCKDEV_WRITE_LOG_H

#include <stdint.h>
#include <stddef.h>
#include "blockdev.h"

int blk_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#define WLOG_MAGIC		0x6a736677736872ULL
#define WLOG_VERSION		1ULL
#define WLOG_SECTOR_SIZE	512U
#define WLOG_SECTOR_SHIFT	9
#define WLOG_ENTRY_HDR_LEN	32U	/* four le64 fields before the mark text */
#define WLOG_FLUSH		(1ULL << 0)
#define WLOG_FUA		(1ULL << 1)
#define WLOG_DISCARD		(1ULL << 2)
#define WLOG_MARK		(1ULL << 3)
#define WLOG_METADATA		(1ULL << 4)
#define WLOG_SUPER_LEN		28U	/* three le64 + one le32 */
/* The longest mark text that fits the header sector with its NUL. */
#define WLOG_MARK_MAX		(WLOG_SECTOR_SIZE - WLOG_ENTRY_HDR_LEN - 1)

static inline void wlog_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline void wlog_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t wlog_get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static inline uint32_t wlog_get_le32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* write_log.c.  Lock state on entry and exit: none held (log->lock is internal). */
int wlog_create(const char *path, struct blk_write_log **out);
/*
 * Write @len bytes at @pos to the image (@fd) and append them to the log as
 * one entry, atomically with respect to every other log operation, so that
 * the log order is the order in which bytes reached the image.  @data is the
 * DMA-moment copy.  Unaligned ranges are logged as the whole covering
 * sectors, read back from the image.  With WLOG_FUA in @flags the image is
 * fdatasync()ed after the write and the log is made durable and published
 * (nr_entries) before returning.  Returns 0 or -EIO (the image write failed;
 * nothing is logged then).  A failure of the log file itself disables
 * logging, is reported once on stderr, and does not fail the I/O.
 */
int wlog_write(struct blk_write_log *log, int fd, const void *data, uint64_t pos,
	       size_t len, uint64_t flags);
/* fdatasync(@fd), append a FLUSH entry, publish nr_entries, make the log durable. */
int wlog_flush(struct blk_write_log *log, int fd);
void wlog_mark(struct blk_write_log *log, const char *text);
/* Publish nr_entries, make the log durable, close it, free @log. */
int wlog_close(struct blk_write_log *log);

#endif /* JBDLAB_BLOCKDEV_WRITE_LOG_H */
