/* SPDX-License-Identifier: GPL-2.0 */
/*
 * format.c - checksums, sizes and field access of the jbd2 on-disk format
 * (../shared/reference/kernel-race.md §5).
 *
 * Every "crc32c" here is the raw CRC32C update (Castagnoli, reflected, no
 * final inversion): what the kernel's crc32c() and e2fsprogs'
 * ext2fs_crc32c_le() return.  The per-journal seed is
 * j_csum_seed = crc32c(~0, s_uuid, 16); the journal superblock alone is
 * checksummed with seed ~0 (jbd2_superblock_csum()).
 *
 * What is checksummed, and how (fs/jbd2/journal.c, fs/jbd2/commit.c,
 * fs/jbd2/recovery.c):
 *   superblock        crc32c(~0, the 1024-byte struct with s_checksum = 0)
 *   descriptor/revoke crc32c(seed, whole block with the 4-byte tail = 0)
 *   commit (v2/v3)    crc32c(seed, whole block with h_chksum[0] = 0)
 *   commit (v1)       crc32_be running sum over the transaction's descriptor
 *                     and logged blocks (COMPAT_CHECKSUM; calc_chksums())
 *   data block tag    crc32c(crc32c(seed, be32 tid), logged bytes); v3 keeps
 *                     32 bits at tag offset 12, v2 the low 16 at offset 4.
 *
 * Tags are read through byte offsets, never through a struct cast, because
 * a tag may sit at any 2-byte boundary of the descriptor block: block
 * number low at 0, flags as a be16 at 6 (the low half of tag3's 32-bit
 * t_flags, the whole of the classic tag's t_flags), block number high at 8
 * (both layouts; meaningful only with INCOMPAT_64BIT).
 *
 * jbd2_journal_check_superblock() is the common part of the kernel's
 * journal_check_superblock()/load_superblock() and e2fsck's
 * e2fsck_journal_load(): every check both make, in their order, with a
 * one-line reason.  Recovery uses it now; the runtime journal's
 * jbd2_journal_load() can call it too.
 *
 * Locking rules: pure functions of their arguments and of journal_t's
 * [const] geometry fields; no locks.  jbd2_journal_check_superblock() runs
 * before the journal is visible to anyone else (load time) and writes the
 * geometry fields that are [const] afterwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <ext2fs/ext2fs.h>
#include "jbd2.h"

uint32_t jbd2_chksum(uint32_t seed, const void *data, size_t len)
{
	return crc32c(seed, data, len);
}

/* crc32_be of the v1 (COMPAT_CHECKSUM) commit: the kernel's crc32_be(). */
uint32_t jbd2_crc32_be(uint32_t crc, const void *data, size_t len)
{
	return ext2fs_crc32_be(crc, data, len);
}

/* v2 superblocks only: the kernel's JBD2_HAS_INCOMPAT_FEATURE. */
static uint32_t sb_incompat(const journal_t *j)
{
	if (j->j_format_version < 2)
		return 0;
	return ntohl(READ_ONCE(j->j_superblock->s_feature_incompat));
}

/* jbd2_journal_has_csum_v2or3() */
bool jbd2_journal_has_csum_v2or3(const journal_t *j)
{
	return sb_incompat(j) & (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3);
}

/*
 * journal_tag_bytes(): tag3 is always 16 bytes; the classic tag is 12 bytes
 * with 64BIT, 8 without, and CSUM_V2 adds its 16-bit checksum -- the kernel
 * computes that as sizeof(journal_block_tag_t) (12) + 2, minus 4 without
 * 64BIT, which gives the historical 14/10.
 */
size_t journal_tag_bytes(const journal_t *j)
{
	uint32_t incompat = sb_incompat(j);
	size_t sz;

	if (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3)
		return sizeof(journal_block_tag3_t);
	sz = sizeof(journal_block_tag_t);
	if (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2)
		sz += sizeof(uint16_t);
	if (incompat & JBD2_FEATURE_INCOMPAT_64BIT)
		return sz;
	return sz - sizeof(uint32_t);
}

/* ------------------------------------------------------- raw field access */

static inline uint32_t get_be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ntohl(v);
}

static inline void put_be32(void *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint16_t get_be16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return ntohs(v);
}

static inline void put_be16(void *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, sizeof(v));
}

/* The flags of a tag of either layout (count_tags(), do_one_pass()). */
unsigned int jbd2_tag_flags(const void *tagp)
{
	return get_be16((const char *)tagp + 6);
}

/* read_tag_block(): the fs block a tag describes. */
unsigned long long jbd2_tag_blocknr(const journal_t *j, const void *tagp)
{
	unsigned long long block = get_be32(tagp);

	if (jbd2_has_feature_64bit(j))
		block |= (unsigned long long)get_be32((const char *)tagp + 8) << 32;
	return block;
}

/* Fill a tag (the commit side of write_tag_block(); tests and tools). */
void jbd2_tag_set(const journal_t *j, void *tagp, unsigned long long blocknr, unsigned int flags)
{
	memset(tagp, 0, journal_tag_bytes(j));
	put_be32(tagp, (uint32_t)blocknr);
	put_be16((char *)tagp + 6, (uint16_t)flags);
	if (jbd2_has_feature_64bit(j))
		put_be32((char *)tagp + 8, (uint32_t)(blocknr >> 32));
}

/* ------------------------------------------------------------- checksums */

/* jbd2_superblock_csum(): seed ~0, over the struct with s_checksum zeroed. */
uint32_t jbd2_superblock_csum(const journal_superblock_t *sb)
{
	journal_superblock_t copy;

	memcpy(&copy, sb, sizeof(copy));
	copy.s_checksum = 0;
	return jbd2_chksum(~0U, &copy, sizeof(copy));
}

/* jbd2_superblock_csum_verify(): true if no v2/v3 or the checksum matches. */
bool jbd2_superblock_csum_verify(const journal_t *j, const journal_superblock_t *sb)
{
	if (!jbd2_journal_has_csum_v2or3(j))
		return true;
	return ntohl(sb->s_checksum) == jbd2_superblock_csum(sb);
}

void jbd2_superblock_csum_set(const journal_t *j, journal_superblock_t *sb)
{
	if (!jbd2_journal_has_csum_v2or3(j))
		return;
	sb->s_checksum = htonl(jbd2_superblock_csum(sb));
}

/* crc32c(seed, block) with the 4 bytes at @off taken as zero. */
static uint32_t csum_with_hole(const journal_t *j, const void *buf, size_t off)
{
	static const uint32_t zero;
	uint32_t crc;

	crc = jbd2_chksum(j->j_csum_seed, buf, off);
	crc = jbd2_chksum(crc, &zero, sizeof(zero));
	return jbd2_chksum(crc, (const char *)buf + off + 4, j->j_blocksize - off - 4);
}

/*
 * jbd2_descriptor_block_csum_verify(): descriptor and revoke blocks carry
 * struct jbd2_journal_block_tail in their last 4 bytes.
 */
bool jbd2_descriptor_block_csum_verify(const journal_t *j, const void *buf)
{
	size_t off = j->j_blocksize - sizeof(struct jbd2_journal_block_tail);

	if (!jbd2_journal_has_csum_v2or3(j))
		return true;
	return get_be32((const char *)buf + off) == csum_with_hole(j, buf, off);
}

/* jbd2_descriptor_block_csum_set() */
void jbd2_descriptor_block_csum_set(const journal_t *j, void *buf)
{
	size_t off = j->j_blocksize - sizeof(struct jbd2_journal_block_tail);

	if (!jbd2_journal_has_csum_v2or3(j))
		return;
	put_be32((char *)buf + off, csum_with_hole(j, buf, off));
}

/* jbd2_commit_block_csum_verify(): h_chksum[0] over the whole block. */
bool jbd2_commit_block_csum_verify(const journal_t *j, const void *buf)
{
	size_t off = offsetof(struct commit_header, h_chksum);

	if (!jbd2_journal_has_csum_v2or3(j))
		return true;
	return get_be32((const char *)buf + off) == csum_with_hole(j, buf, off);
}

/* jbd2_commit_block_csum_set() */
void jbd2_commit_block_csum_set(const journal_t *j, void *buf)
{
	size_t off = offsetof(struct commit_header, h_chksum);

	if (!jbd2_journal_has_csum_v2or3(j))
		return;
	put_be32((char *)buf + off, csum_with_hole(j, buf, off));
}

/* The data-block checksum of jbd2_block_tag_csum_set()/_verify(). */
static uint32_t block_tag_csum(const journal_t *j, const void *data, tid_t sequence)
{
	uint32_t seq = htonl(sequence), crc;

	crc = jbd2_chksum(j->j_csum_seed, &seq, sizeof(seq));
	return jbd2_chksum(crc, data, j->j_blocksize);
}

/*
 * jbd2_block_tag_csum_verify(): @data is the block as logged (escaped),
 * @sequence the tid of the descriptor that holds the tag.
 */
bool jbd2_block_tag_csum_verify(const journal_t *j, const void *tagp, const void *data,
				tid_t sequence)
{
	uint32_t csum;

	if (!jbd2_journal_has_csum_v2or3(j))
		return true;
	csum = block_tag_csum(j, data, sequence);
	if (jbd2_has_feature_csum3(j))
		return get_be32((const char *)tagp + 12) == csum;
	return get_be16((const char *)tagp + 4) == (uint16_t)csum;
}

/* jbd2_block_tag_csum_set() */
void jbd2_block_tag_csum_set(const journal_t *j, void *tagp, const void *data, tid_t sequence)
{
	uint32_t csum;

	if (!jbd2_journal_has_csum_v2or3(j))
		return;
	csum = block_tag_csum(j, data, sequence);
	if (jbd2_has_feature_csum3(j))
		put_be32((char *)tagp + 12, csum);
	else
		put_be16((char *)tagp + 4, (uint16_t)csum);
}

/* jbd2_journal_get_num_fc_blks(): 0 in the superblock means the default. */
unsigned int jbd2_journal_get_num_fc_blks(const journal_superblock_t *sb)
{
	unsigned int n = ntohl(sb->s_num_fc_blks);

	return n ? n : JBD2_DEFAULT_FAST_COMMIT_BLOCKS;
}

/* -------------------------------------------------------------- superblock */

__printf(3, 4)
static int sb_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return -EFSCORRUPTED;
}

/*
 * jbd2_journal_check_superblock - validate j_superblock and load geometry
 * (kernel: journal_check_superblock() + load_superblock(); e2fsck:
 * e2fsck_journal_load()).  Entry: j_superblock points at the journal's
 * block 0 as read, j_blocksize is the fs block size and j_total_len the
 * number of blocks the journal inode maps.  Exit: 0 with j_format_version,
 * j_first, j_last, j_fc_first, j_fc_last, j_total_len, j_tail,
 * j_tail_sequence, j_transaction_sequence, j_errno, j_csum_seed and j_uuid
 * set; or -EFSCORRUPTED (bad superblock), -EOPNOTSUPP (unknown features or
 * version) with a one-line reason in errbuf.  Nothing is written.
 */
int jbd2_journal_check_superblock(journal_t *j, char *errbuf, size_t errlen)
{
	journal_superblock_t *sb = j->j_superblock;
	uint32_t type, maxlen, first, num_fc;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (ntohl(sb->s_header.h_magic) != JBD2_MAGIC_NUMBER)
		return sb_fail(errbuf, errlen, "journal superblock has a bad magic number 0x%08x",
			       ntohl(sb->s_header.h_magic));
	type = ntohl(sb->s_header.h_blocktype);
	switch (type) {
	case JBD2_SUPERBLOCK_V1:
		j->j_format_version = 1;
		/* The kernel ignores the v2 fields of a v1 superblock (every
		 * jbd2_has_feature_*() tests j_format_version >= 2 first);
		 * e2fsck clears them (clear_v2_journal_fields).  Either way no
		 * feature applies: the tests below see none. */
		break;
	case JBD2_SUPERBLOCK_V2:
		j->j_format_version = 2;
		/* s_nr_users matters only to an external journal
		 * (ext4_get_dev_journal); jbdlab has internal ones only,
		 * and the kernel ignores the field for those. */
		break;
	case JBD2_DESCRIPTOR_BLOCK:
	case JBD2_COMMIT_BLOCK:
	case JBD2_REVOKE_BLOCK:
		return sb_fail(errbuf, errlen, "journal block 0 is a log block (type %u), not a superblock",
			       type);
	default:
		snprintf(errbuf, errlen, "unknown journal superblock version %u", type);
		return -EOPNOTSUPP;
	}

	if (j->j_format_version >= 2 &&
	    (ntohl(sb->s_feature_incompat) & ~JBD2_KNOWN_INCOMPAT_FEATURES)) {
		snprintf(errbuf, errlen, "journal has unknown incompat features 0x%x",
			 ntohl(sb->s_feature_incompat) & ~JBD2_KNOWN_INCOMPAT_FEATURES);
		return -EOPNOTSUPP;
	}
	if (j->j_format_version >= 2 &&
	    (ntohl(sb->s_feature_ro_compat) & ~JBD2_KNOWN_ROCOMPAT_FEATURES)) {
		snprintf(errbuf, errlen, "journal has unknown ro_compat features 0x%x",
			 ntohl(sb->s_feature_ro_compat) & ~JBD2_KNOWN_ROCOMPAT_FEATURES);
		return -EOPNOTSUPP;
	}
	/* Checksum v1, v2 and v3 are mutually exclusive. */
	if (jbd2_has_feature_csum2(j) && jbd2_has_feature_csum3(j))
		return sb_fail(errbuf, errlen, "journal superblock has both csum v2 and v3");
	if (jbd2_journal_has_csum_v2or3(j) && jbd2_has_feature_checksum(j))
		return sb_fail(errbuf, errlen, "journal superblock has both csum v1 and v2/v3");
	if (jbd2_journal_has_csum_v2or3(j)) {
		if (sb->s_checksum_type != JBD2_CRC32C_CHKSUM)
			return sb_fail(errbuf, errlen, "journal checksum type %u is not crc32c",
				       sb->s_checksum_type);
		if (!jbd2_superblock_csum_verify(j, sb))
			return sb_fail(errbuf, errlen,
				       "journal superblock checksum does not match (0x%08x, computed 0x%08x)",
				       ntohl(sb->s_checksum), jbd2_superblock_csum(sb));
		j->j_csum_seed = jbd2_chksum(~0U, sb->s_uuid, sizeof(sb->s_uuid));
	}

	if (ntohl(sb->s_blocksize) != (uint32_t)j->j_blocksize)
		return sb_fail(errbuf, errlen, "journal block size %u != filesystem block size %d",
			       ntohl(sb->s_blocksize), j->j_blocksize);
	maxlen = ntohl(sb->s_maxlen);
	if (maxlen > j->j_total_len)
		return sb_fail(errbuf, errlen, "journal too short: s_maxlen %u > %u mapped blocks",
			       maxlen, j->j_total_len);
	j->j_total_len = maxlen;
	first = ntohl(sb->s_first);
	if (first == 0 || first >= maxlen)
		return sb_fail(errbuf, errlen, "journal s_first %u out of range [1, %u)", first, maxlen);

	j->j_first = first;
	j->j_last = maxlen;
	j->j_fc_first = j->j_fc_last = 0;
	if (jbd2_has_feature_fast_commit(j)) {
		num_fc = jbd2_journal_get_num_fc_blks(sb);
		if (num_fc >= maxlen || maxlen - num_fc < JBD2_MIN_JOURNAL_BLOCKS ||
		    maxlen - num_fc <= first)
			return sb_fail(errbuf, errlen, "incorrect fast commit blocks (%u of %u)",
				       num_fc, maxlen);
		j->j_fc_last = maxlen;
		j->j_last = maxlen - num_fc;
		j->j_fc_first = j->j_last + 1;
	}
	j->j_tail = ntohl(sb->s_start);
	/* Past the log, the first jread() of recovery fails the kernel's
	 * jbd2_journal_bmap(); refused here.  Below s_first is not
	 * checked by the kernel (journal_load_superblock) nor e2fsck:
	 * the scan starts there and wraps at the end as usual. */
	if (j->j_tail >= j->j_last)
		return sb_fail(errbuf, errlen, "journal s_start %lu outside the log [%lu, %lu)",
			       j->j_tail, j->j_first, j->j_last);
	j->j_tail_sequence = ntohl(sb->s_sequence);
	j->j_transaction_sequence = j->j_tail_sequence;
	j->j_errno = (int32_t)ntohl((uint32_t)sb->s_errno);
	memcpy(j->j_uuid, sb->s_uuid, sizeof(j->j_uuid));
	return 0;
}
