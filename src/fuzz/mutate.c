// SPDX-License-Identifier: GPL-2.0
/*
 * mutate.c - the structure-aware half of the fuzzer: jfz_fixup() takes a
 * mutated input (jfz.h format) and makes the journal in it well-formed
 * again where the mutation broke what recovery checks first, so that the
 * fuzzer spends its time in PASS_SCAN/REVOKE/REPLAY and not in the
 * checksum rejects.  Every repair is taken with a probability (from the
 * mutator's seed), so broken magic, stale sequence numbers and bad
 * checksums still reach the target too, one at a time.
 *
 * The checksums are the journal's own (src/journal/format.c) over a
 * minimal journal_t: the fuzzed superblock, the template's block size,
 * j_csum_seed = crc32c(~0, s_uuid) as jbd2_journal_load() computes it.
 * The log is walked as do_one_pass() walks it: a descriptor's tags name
 * the data blocks that follow it (tag checksums: v2 16-bit, v3 32-bit,
 * over the block as logged, seeded with the descriptor's tid); revoke and
 * descriptor blocks carry a tail checksum; a commit block ends the
 * transaction (v2/v3 h_chksum[0] over the block; v1 COMPAT_CHECKSUM the
 * running crc32_be of the transaction's descriptor and data blocks, as
 * calc_chksums() recomputes it).
 * Simplified: only whole blocks are repaired (a short last block is left
 * as it is), and the superblock only when the input carries all of it.
 *
 * Locking rules: pure function of its arguments; no shared state.
 */
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include "jbd2.h"
#include "fuzz/jfz.h"

struct rnd {
	uint64_t s;
	bool all;		/* seed 0: every repair, nothing added */
};

static unsigned int rnd_next(struct rnd *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (unsigned int)(r->s >> 11);
}

/* true with probability 1 - 1/n */
static bool usually(struct rnd *r, unsigned int n)
{
	return r->all || rnd_next(r) % n != 0;
}

static void put32(void *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

void jfz_fixup(uint8_t *data, size_t size, unsigned int seed)
{
	struct rnd r = { .s = 0x9e3779b97f4a7c15ULL ^ seed, .all = !seed };
	unsigned int bs, incompat;
	journal_superblock_t sb;
	journal_t j;
	size_t jsblen, nlog;
	uint8_t *log;
	uint32_t seq, crc_v1 = ~0U;
	bool in_trans = false, full_sb;

	if (size < 1 + offsetof(journal_superblock_t, s_feature_compat))
		return;
	bs = jfz_cfg_blocksize(data[0]);
	jsblen = size - 1 > JFZ_JSB_BYTES ? JFZ_JSB_BYTES : size - 1;
	full_sb = jsblen == sizeof(sb);
	memset(&sb, 0, sizeof(sb));
	memcpy(&sb, data + 1, jsblen);
	if (usually(&r, 16))
		put32(&sb.s_header.h_magic, JBD2_MAGIC_NUMBER);
	if (usually(&r, 16) && get32(&sb.s_header.h_blocktype) != JBD2_SUPERBLOCK_V1)
		put32(&sb.s_header.h_blocktype, JBD2_SUPERBLOCK_V2);
	if (usually(&r, 16))
		put32(&sb.s_blocksize, bs);
	if (usually(&r, 8) && get32(&sb.s_start) == 0)
		put32(&sb.s_start, get32(&sb.s_first) ? get32(&sb.s_first) : 1);
	incompat = get32(&sb.s_feature_incompat);
	if (usually(&r, 16) && (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2) &&
	    (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3))
		put32(&sb.s_feature_incompat, incompat & ~JBD2_FEATURE_INCOMPAT_CSUM_V2);
	if (usually(&r, 16) && full_sb)
		sb.s_nr_users = htonl(1);

	memset(&j, 0, sizeof(j));
	j.j_superblock = &sb;
	j.j_format_version = get32(&sb.s_header.h_blocktype) == JBD2_SUPERBLOCK_V1 ? 1 : 2;
	j.j_blocksize = (int)bs;
	j.j_csum_seed = jbd2_chksum(~0U, sb.s_uuid, sizeof(sb.s_uuid));
	if (jbd2_journal_has_csum_v2or3(&j) && usually(&r, 16))
		sb.s_checksum_type = JBD2_CRC32C_CHKSUM;

	seq = get32(&sb.s_sequence);
	log = data + 1 + jsblen;
	nlog = (size - 1 - jsblen) / bs;	/* whole blocks only */
	for (size_t i = 0; i < nlog; i++) {
		uint8_t *b = log + i * bs;
		uint32_t type = get32(b + 4);

		if (get32(b) != JBD2_MAGIC_NUMBER) {
			/* the end of the log: now and then, end the open
			 * transaction here with a commit block */
			if (!in_trans || r.all || rnd_next(&r) % 4)
				break;
			memset(b, 0, 64);
			put32(b, JBD2_MAGIC_NUMBER);
			type = JBD2_COMMIT_BLOCK;
		}
		if (usually(&r, 16))
			put32(b + 8, seq);
		switch (type) {
		case JBD2_DESCRIPTOR_BLOCK: {
			size_t tag_bytes = journal_tag_bytes(&j);
			size_t end = bs - (jbd2_journal_has_csum_v2or3(&j) ?
					   sizeof(struct jbd2_journal_block_tail) : 0);
			size_t off = sizeof(journal_header_t), ndata = 0;
			uint8_t *tags[JFZ_MAX_LOG_BYTES / 1024 + 1];

			if (!in_trans)
				crc_v1 = ~0U;
			in_trans = true;
			/* count_tags(): the data blocks that follow */
			while (off + tag_bytes <= end && ndata < sizeof(tags) / sizeof(tags[0])) {
				unsigned int flags = jbd2_tag_flags(b + off);

				tags[ndata++] = b + off;
				off += tag_bytes;
				if (!(flags & JBD2_FLAG_SAME_UUID))
					off += UUID_SIZE;
				if (flags & JBD2_FLAG_LAST_TAG)
					break;
			}
			for (size_t d = 0; d < ndata && i + 1 + d < nlog; d++)
				if (usually(&r, 16))
					jbd2_block_tag_csum_set(&j, tags[d], log + (i + 1 + d) * bs, seq);
			if (usually(&r, 16))
				jbd2_descriptor_block_csum_set(&j, b);
			crc_v1 = jbd2_crc32_be(crc_v1, b, bs);
			for (size_t d = 0; d < ndata && i + 1 < nlog; d++) {
				i++;
				crc_v1 = jbd2_crc32_be(crc_v1, log + i * bs, bs);
			}
			break;
		}
		case JBD2_REVOKE_BLOCK: {
			uint32_t rcount = get32(b + 12);
			size_t max = bs - (jbd2_journal_has_csum_v2or3(&j) ?
					   sizeof(struct jbd2_journal_block_tail) : 0);

			if (!in_trans)
				crc_v1 = ~0U;
			in_trans = true;
			if (usually(&r, 8) && rcount > max)
				put32(b + 12, (uint32_t)(sizeof(jbd2_journal_revoke_header_t) +
					       (rcount % (max - sizeof(jbd2_journal_revoke_header_t)))));
			if (usually(&r, 16))
				jbd2_descriptor_block_csum_set(&j, b);
			break;
		}
		case JBD2_COMMIT_BLOCK: {
			/* the input is byte-aligned: fields by offset, not a struct pointer */
			if (jbd2_has_feature_checksum(&j) && usually(&r, 16)) {
				b[offsetof(struct commit_header, h_chksum_type)] = JBD2_CRC32_CHKSUM;
				b[offsetof(struct commit_header, h_chksum_size)] = JBD2_CRC32_CHKSUM_SIZE;
				put32(b + offsetof(struct commit_header, h_chksum), crc_v1);
			}
			if (usually(&r, 16))
				jbd2_commit_block_csum_set(&j, b);
			seq++;
			crc_v1 = ~0U;
			in_trans = false;
			break;
		}
		default:
			break;
		}
	}
	if (full_sb && usually(&r, 16))
		jbd2_superblock_csum_set(&j, &sb);
	memcpy(data + 1, &sb, jsblen);
}

void jfz_fix_sb_csum(uint8_t *data, size_t size)
{
	journal_superblock_t sb;
	journal_t j;

	if (size < 1 + sizeof(sb))
		return;
	memcpy(&sb, data + 1, sizeof(sb));
	memset(&j, 0, sizeof(j));
	j.j_superblock = &sb;
	j.j_format_version = 2;
	jbd2_superblock_csum_set(&j, &sb);
	memcpy(data + 1, &sb, sizeof(sb));
}
