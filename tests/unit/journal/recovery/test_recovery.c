// SPDX-License-Identifier: GPL-2.0
/*
 * test_recovery.c BLOCKSIZE - unit tests of the journal parser and replay
 * (src/journal/format.c, recovery.c, src/fs/replay.c) on hand-built logs.
 *
 * Each case makes a fresh ext4 image with mkfs.ext4, writes a log into the
 * journal inode's blocks with our own block builders (descriptor tags of
 * every variant -- classic 8/12 bytes, csum v2 10/14 bytes, tag3 16 bytes
 * -- escaped data blocks, revoke blocks with 32- and 64-bit records,
 * commit blocks with v1/v2/v3 checksums), marks the fs needs_recovery and
 * runs jfs_replay_report() -- twice over: with the offline path's private
 * buffers (`jbdlab replay`) and with JFS_REPLAY_PAGECACHE, the page-cache
 * recovery a mount runs.  The expected outcome follows the kernel's
 * do_one_pass(): which blocks are written home, which are revoked, where
 * the log ends, what the journal superblock says afterwards.
 *
 * The stories these guard: tag sizes that depend on feature flags, not
 * struct sizes (the csum v2 -> v3 history, peers.md trap 7); the escaped
 * magic that would end the scan if not restored; a revoke that must win
 * over an older copy but lose to a newer one; a log that wraps past
 * j_last; an r_count past the block (the 2015 overrun); a next tid that
 * must move forward (trap 4).  The same logs with needs_recovery clear are
 * stale (ext4_load_journal -> jbd2_journal_wipe): never replayed, the next
 * tid and head from one scan, the log marked empty by a mount -- only the
 * journal superblock written, also by a ro mount -- and a corrupt stale
 * log fails the first mount after clearing it, as the kernel's does.
 * Exit 77 without mkfs.ext4.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <sys/stat.h>
#include "fs.h"
#include "jbd2.h"
#include "mm.h"
#include "blockdev.h"

static int failures, checks;

static unsigned int replay_mode;	/* 0 or JFS_REPLAY_PAGECACHE */

#define CHECK(cond, ...) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "FAIL %s:%d [%s]: %s: ", __FILE__, __LINE__, \
			replay_mode ? "page cache" : "offline", #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

struct img {
	char path[64];
	unsigned int bs;
	uint64_t *jmap;
	unsigned int jlen;
	journal_superblock_t *jsb;	/* block 0 of the journal, whole block */
	journal_t j;			/* for the format.c builders */
	unsigned int pos;		/* next log block to write */
	uint32_t crc32_sum;		/* v1 running sum of the open transaction */
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void pwrite_all(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		die(path);
	close(fd);
}

static void pread_all(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		die(path);
	close(fd);
}

/* A fresh image; journal csum/64bit features are set by img_features(). */
static void img_make(struct img *im, unsigned int bs, const char *features)
{
	char cmd[512];
	ext2_filsys fs;
	int fd;

	memset(im, 0, sizeof(*im));
	im->bs = bs;
	snprintf(im->path, sizeof(im->path), "/tmp/jbdlab-rectest.XXXXXX");
	fd = mkstemp(im->path);
	if (fd < 0)
		die("mkstemp");
	if (ftruncate(fd, 16 << 20))
		die("ftruncate");
	close(fd);
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -b %u -O %s %s >/dev/null 2>&1",
		 bs, features, im->path);
	if (system(cmd))
		die("mkfs.ext4");
	if (ext2fs_open(im->path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		die("ext2fs_open");
	{
		struct ext2_inode inode;

		ext2fs_read_inode(fs, EXT2_JOURNAL_INO, &inode);
		im->jlen = EXT2_I_SIZE(&inode) / bs;
	}
	im->jmap = calloc(im->jlen, sizeof(*im->jmap));
	for (unsigned int i = 0; i < im->jlen; i++) {
		blk64_t p = 0;

		if (ext2fs_bmap2(fs, EXT2_JOURNAL_INO, NULL, NULL, 0, i, NULL, &p) || !p)
			die("bmap");
		im->jmap[i] = p;
	}
	ext2fs_close2(fs, 0);
	im->jsb = calloc(1, bs);
	pread_all(im->path, im->jmap[0] * bs, im->jsb, bs);
	im->j.j_superblock = im->jsb;
	im->j.j_format_version = 2;	/* the log writer's: features apply */
	im->j.j_blocksize = (int)bs;
	im->pos = 1;
	im->crc32_sum = ~0U;
}

static void img_free(struct img *im)
{
	unlink(im->path);
	free(im->jmap);
	free(im->jsb);
}

static void img_features(struct img *im, uint32_t compat, uint32_t incompat)
{
	im->jsb->s_feature_compat = htonl(compat);
	im->jsb->s_feature_incompat = htonl(incompat);
	if (incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3))
		im->jsb->s_checksum_type = JBD2_CRC32C_CHKSUM;
	im->j.j_csum_seed = jbd2_chksum(~0U, im->jsb->s_uuid, 16);
}

static void jwrite(struct img *im, unsigned int jblock, const void *buf)
{
	pwrite_all(im->path, im->jmap[jblock] * im->bs, buf, im->bs);
}

static unsigned int next_pos(struct img *im)
{
	unsigned int p = im->pos;

	im->pos = p + 1 >= ntohl(im->jsb->s_maxlen) ? ntohl(im->jsb->s_first) : p + 1;
	return p;
}

static void header(void *buf, unsigned int type, tid_t tid)
{
	journal_header_t *h = buf;

	h->h_magic = htonl(JBD2_MAGIC_NUMBER);
	h->h_blocktype = htonl(type);
	h->h_sequence = htonl(tid);
}

/* One descriptor + data blocks.  data[i] is the block content before
 * escaping; bad_csum_tag marks one tag's checksum wrong (or -1). */
static void put_descriptor(struct img *im, tid_t tid, int n, const uint64_t *blocks,
			   unsigned char *const *data, int bad_csum_tag)
{
	char *d = calloc(1, im->bs), *logged = malloc((size_t)n * im->bs);
	size_t tb = journal_tag_bytes(&im->j), off = sizeof(journal_header_t);
	unsigned int dpos = next_pos(im);

	header(d, JBD2_DESCRIPTOR_BLOCK, tid);
	for (int i = 0; i < n; i++) {
		unsigned int flags = i ? JBD2_FLAG_SAME_UUID : 0;
		char *l = logged + (size_t)i * im->bs;

		memcpy(l, data[i], im->bs);
		if (ntohl(*(uint32_t *)(void *)l) == JBD2_MAGIC_NUMBER) {
			memset(l, 0, 4);
			flags |= JBD2_FLAG_ESCAPE;
		}
		if (i == n - 1)
			flags |= JBD2_FLAG_LAST_TAG;
		assert(off + tb + 16 + 4 <= im->bs);
		jbd2_tag_set(&im->j, d + off, blocks[i], flags);
		jbd2_block_tag_csum_set(&im->j, d + off, l, tid);
		if (i == bad_csum_tag)
			d[off + (jbd2_has_feature_csum3(&im->j) ? 12 : 4)] ^= 0x55;
		off += tb;
		if (!(flags & JBD2_FLAG_SAME_UUID)) {
			memcpy(d + off, im->jsb->s_uuid, 16);
			off += 16;
		}
	}
	jbd2_descriptor_block_csum_set(&im->j, d);
	jwrite(im, dpos, d);
	im->crc32_sum = jbd2_crc32_be(im->crc32_sum, d, im->bs);
	for (int i = 0; i < n; i++) {
		jwrite(im, next_pos(im), logged + (size_t)i * im->bs);
		im->crc32_sum = jbd2_crc32_be(im->crc32_sum, logged + (size_t)i * im->bs, im->bs);
	}
	free(d);
	free(logged);
}

static void put_revoke(struct img *im, tid_t tid, int n, const uint64_t *blocks, uint32_t rcount_override)
{
	char *r = calloc(1, im->bs);
	size_t rl = jbd2_has_feature_64bit(&im->j) ? 8 : 4, off = sizeof(jbd2_journal_revoke_header_t);

	header(r, JBD2_REVOKE_BLOCK, tid);
	for (int i = 0; i < n; i++, off += rl) {
		if (rl == 8) {
			uint32_t hi = htonl((uint32_t)(blocks[i] >> 32)), lo = htonl((uint32_t)blocks[i]);

			memcpy(r + off, &hi, 4);
			memcpy(r + off + 4, &lo, 4);
		} else {
			uint32_t v = htonl((uint32_t)blocks[i]);

			memcpy(r + off, &v, 4);
		}
	}
	((jbd2_journal_revoke_header_t *)(void *)r)->r_count = htonl(rcount_override ? rcount_override
								     : (uint32_t)off);
	jbd2_descriptor_block_csum_set(&im->j, r);
	jwrite(im, next_pos(im), r);
	free(r);
}

static void put_commit(struct img *im, tid_t tid, uint64_t sec, bool bad_csum)
{
	char *c = calloc(1, im->bs);
	struct commit_header *ch = (void *)c;

	header(c, JBD2_COMMIT_BLOCK, tid);
	ch->h_commit_sec = htobe64(sec);
	if (jbd2_has_feature_checksum(&im->j)) {
		ch->h_chksum_type = JBD2_CRC32_CHKSUM;
		ch->h_chksum_size = JBD2_CRC32_CHKSUM_SIZE;
		ch->h_chksum[0] = htonl(im->crc32_sum ^ (bad_csum ? 1 : 0));
	}
	jbd2_commit_block_csum_set(&im->j, c);
	if (bad_csum && jbd2_journal_has_csum_v2or3(&im->j))
		c[17] ^= 0x55;
	jwrite(im, next_pos(im), c);
	im->crc32_sum = ~0U;
	free(c);
}

/* Write the journal superblock (log at start, tid seq) and set
 * needs_recovery in the ext4 superblock (checksum fixed). */
static void arm(struct img *im, tid_t seq, unsigned int start)
{
	struct ext2_super_block es;

	im->jsb->s_sequence = htonl(seq);
	im->jsb->s_start = htonl(start);
	jbd2_superblock_csum_set(&im->j, im->jsb);
	jwrite(im, 0, im->jsb);
	pread_all(im->path, 1024, &es, sizeof(es));
	es.s_feature_incompat |= EXT3_FEATURE_INCOMPAT_RECOVER;
	if (es.s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		es.s_checksum = ext2fs_crc32c_le(~0U, (unsigned char *)&es,
						 offsetof(struct ext2_super_block, s_checksum));
	pwrite_all(im->path, 1024, &es, sizeof(es));
}

static unsigned char *pattern(unsigned int bs, unsigned int seed, bool magic)
{
	unsigned char *p = malloc(bs < 1024 ? 1024 : bs);

	if (!p)
		die("malloc");
	for (unsigned int i = 0; i < bs; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
	if (magic) {
		uint32_t m = htonl(JBD2_MAGIC_NUMBER);

		memcpy(p, &m, 4);
	}
	return p;
}

static bool block_is(struct img *im, uint64_t block, const unsigned char *want)
{
	unsigned char *got = malloc(im->bs);
	bool same;

	pread_all(im->path, block * im->bs, got, im->bs);
	same = !memcmp(got, want, im->bs);
	free(got);
	return same;
}

static int fsck(struct img *im)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s >/dev/null 2>&1", im->path);
	return WEXITSTATUS(system(cmd));
}

static tid_t jsb_on_disk(struct img *im, uint32_t *start)
{
	journal_superblock_t *sb = malloc(im->bs);
	tid_t seq;

	pread_all(im->path, im->jmap[0] * im->bs, sb, im->bs);
	seq = ntohl(sb->s_sequence);
	*start = ntohl(sb->s_start);
	free(sb);
	return seq;
}

static const struct variant {
	const char *name, *mkfs;
	uint32_t compat, incompat;
	size_t tag_bytes;
} variants[] = {
	{ "plain-32", "^64bit,^metadata_csum", 0, JBD2_FEATURE_INCOMPAT_REVOKE, 8 },
	{ "plain-64", "64bit,^metadata_csum", 0, JBD2_FEATURE_INCOMPAT_REVOKE | JBD2_FEATURE_INCOMPAT_64BIT, 12 },
	{ "v1-32", "^64bit,^metadata_csum", JBD2_FEATURE_COMPAT_CHECKSUM, JBD2_FEATURE_INCOMPAT_REVOKE, 8 },
	{ "csum2-32", "^64bit,metadata_csum", 0, JBD2_FEATURE_INCOMPAT_REVOKE | JBD2_FEATURE_INCOMPAT_CSUM_V2, 10 },
	{ "csum2-64", "64bit,metadata_csum", 0, JBD2_FEATURE_INCOMPAT_REVOKE | JBD2_FEATURE_INCOMPAT_64BIT |
	  JBD2_FEATURE_INCOMPAT_CSUM_V2, 14 },
	{ "csum3-32", "^64bit,metadata_csum", 0, JBD2_FEATURE_INCOMPAT_REVOKE | JBD2_FEATURE_INCOMPAT_CSUM_V3, 16 },
	{ "csum3-64", "64bit,metadata_csum", 0, JBD2_FEATURE_INCOMPAT_REVOKE | JBD2_FEATURE_INCOMPAT_64BIT |
	  JBD2_FEATURE_INCOMPAT_CSUM_V3, 16 },
};

/* Data blocks well inside a 16 MiB image, away from metadata. */
static uint64_t data_block(const struct img *im, int i)
{
	return (8ULL << 20) / im->bs + (uint64_t)i * 3;
}

/*
 * Case "tags+revoke": T1 logs A, B (escaped magic), C; T2 revokes A and
 * logs D; T3 logs A again (newer than the revoke: replayed) -- except that
 * in the first half T3 is missing, so A must keep its old contents.
 * Then T4 without a commit block logs E: never replayed.
 */
static void case_tags_revoke(unsigned int bs, const struct variant *v, bool wrap)
{
	struct img im;
	struct jfs_replay_report rep;
	char err[512];
	uint64_t A, B, C, D, E, blocks[3];
	unsigned char *pa, *pb, *pc, *pd, *pa3, *pe, *origA, *origE, *data[3];
	unsigned int start;
	uint32_t s;
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	CHECK(journal_tag_bytes(&im.j) == v->tag_bytes, "%s: tag bytes %zu", v->name,
	      journal_tag_bytes(&im.j));
	A = data_block(&im, 0); B = data_block(&im, 1); C = data_block(&im, 2);
	D = data_block(&im, 3); E = data_block(&im, 4);
	pa = pattern(bs, 1, false); pb = pattern(bs, 2, true); pc = pattern(bs, 3, false);
	pd = pattern(bs, 4, false); pa3 = pattern(bs, 5, true); pe = pattern(bs, 6, false);
	origA = malloc(bs); origE = malloc(bs);
	pread_all(im.path, A * bs, origA, bs);
	pread_all(im.path, E * bs, origE, bs);

	/* wrap: start 3 blocks before j_last, so the first transaction runs
	 * over the end of the log */
	start = wrap ? ntohl(im.jsb->s_maxlen) - 3 : 1;
	im.pos = start;
	blocks[0] = A; blocks[1] = B; blocks[2] = C;
	data[0] = pa; data[1] = pb; data[2] = pc;
	put_descriptor(&im, 100, 3, blocks, data, -1);
	put_commit(&im, 100, 1000, false);
	put_revoke(&im, 101, 1, &A, 0);
	blocks[0] = D; data[0] = pd;
	put_descriptor(&im, 101, 1, blocks, data, -1);
	put_commit(&im, 101, 1001, false);
	blocks[0] = A; data[0] = pa3;
	put_descriptor(&im, 102, 1, blocks, data, -1);
	put_commit(&im, 102, 1002, false);
	blocks[0] = E; data[0] = pe;
	put_descriptor(&im, 103, 1, blocks, data, -1);	/* no commit */
	arm(&im, 100, start);

	ret = jfs_replay_report(im.path, replay_mode, &rep, err, sizeof(err));
	CHECK(ret == 0, "%s%s: replay returned %d: %s", v->name, wrap ? "/wrap" : "", ret, err);
	CHECK(rep.start_tid == 100 && rep.end_tid == 103, "%s: tids %u..%u", v->name, rep.start_tid,
	      rep.end_tid);
	CHECK(rep.nr_replays == 4 && rep.nr_revoke_hits == 1 && rep.nr_revokes == 1,
	      "%s: replays %d hits %d revokes %d", v->name, rep.nr_replays, rep.nr_revoke_hits,
	      rep.nr_revokes);
	CHECK(block_is(&im, A, pa3), "%s: A is T3's copy (escape restored)", v->name);
	CHECK(block_is(&im, B, pb), "%s: B escaped magic restored", v->name);
	CHECK(block_is(&im, C, pc), "%s: C replayed", v->name);
	CHECK(block_is(&im, D, pd), "%s: D replayed", v->name);
	CHECK(block_is(&im, E, origE), "%s: uncommitted E not replayed", v->name);
	CHECK(jsb_on_disk(&im, &s) == 104 && s == 0, "%s: next tid %u start %u", v->name,
	      jsb_on_disk(&im, &s), s);
	CHECK(fsck(&im) == 0, "%s: e2fsck -fn after replay", v->name);
	ret = jfs_replay_report(im.path, replay_mode, &rep, err, sizeof(err));
	CHECK(ret == JFS_REPLAY_NOTHING, "%s: second replay %d: %s", v->name, ret, err);

	img_free(&im);
	free(pa); free(pb); free(pc); free(pd); free(pa3); free(pe); free(origA); free(origE);
}

/*
 * Case "super": T1 logs the block that holds the ext4 superblock, with a
 * new volume name.  After the replay the superblock has that name AND
 * needs_recovery clear: the superblock update that follows the replay must
 * start from the replayed bytes, never from the copy read before it (the
 * offline path writes replayed blocks around the page cache).
 */
static void case_super(unsigned int bs, const struct variant *v)
{
	struct img im;
	struct jfs_replay_report rep;
	struct ext2_super_block es;
	char err[512];
	uint64_t blocks[1];
	unsigned char *sbblk, *data[1];
	size_t off = 1024 % bs;
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	blocks[0] = 1024 / bs;
	sbblk = malloc(bs);
	if (!sbblk)
		die("malloc");
	pread_all(im.path, blocks[0] * bs, sbblk, bs);
	memcpy(&es, sbblk + off, sizeof(es));
	memset(es.s_volume_name, 0, sizeof(es.s_volume_name));
	memcpy(es.s_volume_name, "replayed-sb", 11);
	es.s_feature_incompat |= EXT3_FEATURE_INCOMPAT_RECOVER;	/* as logged by a live fs */
	if (es.s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		es.s_checksum = ext2fs_crc32c_le(~0U, (unsigned char *)&es,
						 offsetof(struct ext2_super_block, s_checksum));
	memcpy(sbblk + off, &es, sizeof(es));
	data[0] = sbblk;
	im.pos = 1;
	put_descriptor(&im, 100, 1, blocks, data, -1);
	put_commit(&im, 100, 1000, false);
	arm(&im, 100, 1);

	ret = jfs_replay_report(im.path, replay_mode, &rep, err, sizeof(err));
	CHECK(ret == 0 && rep.nr_replays == 1, "%s: super: replay %d (%d blocks): %s", v->name,
	      ret, rep.nr_replays, err);
	pread_all(im.path, 1024, &es, sizeof(es));
	CHECK(!memcmp(es.s_volume_name, "replayed-sb", 12), "%s: super: the replayed superblock "
	      "was overwritten (volume name \"%.16s\")", v->name, es.s_volume_name);
	CHECK(!(es.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER),
	      "%s: super: needs_recovery still set", v->name);
	CHECK(fsck(&im) == 0, "%s: super: e2fsck -fn after replay", v->name);
	img_free(&im);
	free(sbblk);
}

/* T1 ok, T2's commit is bad: T1 replayed, T2 not, failed_commit = T2. */
static void case_bad_commit(unsigned int bs, const struct variant *v)
{
	struct img im;
	struct jfs_replay_report rep;
	char err[512];
	uint64_t A = 0, B;
	unsigned char *pa, *pb, *orig, *data[1];
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	A = data_block(&im, 0); B = data_block(&im, 1);
	pa = pattern(bs, 7, false); pb = pattern(bs, 8, false); orig = malloc(bs);
	pread_all(im.path, B * bs, orig, bs);
	data[0] = pa;
	put_descriptor(&im, 5, 1, &A, data, -1);
	put_commit(&im, 5, 50, false);
	data[0] = pb;
	put_descriptor(&im, 6, 1, &B, data, -1);
	put_commit(&im, 6, 60, true);
	arm(&im, 5, 1);
	ret = jfs_replay_report(im.path, replay_mode, &rep, err, sizeof(err));
	CHECK(ret == 0, "%s: bad commit: replay %d: %s", v->name, ret, err);
	CHECK(block_is(&im, A, pa) && block_is(&im, B, orig), "%s: only T5 replayed", v->name);
	CHECK(rep.failed_commit == 6 && rep.end_tid == 6, "%s: failed commit %u end %u", v->name,
	      rep.failed_commit, rep.end_tid);
	CHECK(strstr(err, "transaction 6 was corrupt"), "%s: message %s", v->name, err);
	img_free(&im);
	free(pa); free(pb); free(orig);
}

/* A data block with a bad tag checksum is skipped; the rest is replayed;
 * the replay reports the checksum error (e2fsck's j_corrupt_journal_block). */
static void case_bad_tag(unsigned int bs, const struct variant *v)
{
	struct img im;
	struct jfs_replay_report rep;
	char err[512];
	uint64_t blocks[2];
	unsigned char *pa, *pb, *orig, *data[2];
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	blocks[0] = data_block(&im, 0); blocks[1] = data_block(&im, 1);
	pa = pattern(bs, 9, false); pb = pattern(bs, 10, false); orig = malloc(bs);
	pread_all(im.path, blocks[1] * bs, orig, bs);
	data[0] = pa; data[1] = pb;
	put_descriptor(&im, 9, 2, blocks, data, 1);
	put_commit(&im, 9, 90, false);
	arm(&im, 9, 1);
	ret = jfs_replay_report(im.path, replay_mode, &rep, err, sizeof(err));
	CHECK(ret == -EFSBADCRC, "%s: bad tag: replay %d: %s", v->name, ret, err);
	CHECK(block_is(&im, blocks[0], pa) && block_is(&im, blocks[1], orig),
	      "%s: good block replayed, bad one skipped", v->name);
	img_free(&im);
	free(pa); free(pb); free(orig);
}

/* r_count beyond the block: -EINVAL, nothing replayed, never a crash. */
static void case_bad_rcount(unsigned int bs, const struct variant *v)
{
	struct img im;
	struct jfs_replay_report rep;
	char err[512];
	uint64_t A;
	unsigned char *pa, *orig, *data[1];
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	A = data_block(&im, 0);
	pa = pattern(bs, 11, false); orig = malloc(bs);
	pread_all(im.path, A * bs, orig, bs);
	data[0] = pa;
	put_descriptor(&im, 1, 1, &A, data, -1);
	put_commit(&im, 1, 10, false);
	put_revoke(&im, 2, 1, &A, 0xffff);
	put_commit(&im, 2, 11, false);
	arm(&im, 1, 1);
	ret = jfs_replay_report(im.path, replay_mode, &rep, err, sizeof(err));
	CHECK(ret == -EINVAL, "%s: bad r_count: replay %d: %s", v->name, ret, err);
	CHECK(block_is(&im, A, orig), "%s: nothing replayed", v->name);
	img_free(&im);
	free(pa); free(orig);
}

/* ------------------------------------------------------------ stale logs */

/* The journal superblock says the log starts at @start with tid @seq, but
 * the ext4 superblock's needs_recovery stays clear (mkfs left it so). */
static void arm_stale(struct img *im, tid_t seq, unsigned int start)
{
	im->jsb->s_sequence = htonl(seq);
	im->jsb->s_start = htonl(start);
	jbd2_superblock_csum_set(&im->j, im->jsb);
	jwrite(im, 0, im->jsb);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	off_t n = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;

	if (!buf || pread(fd, buf, (size_t)n, 0) != n)
		die(path);
	close(fd);
	*len = (size_t)n;
	return buf;
}

/* Blocks of @path that differ from @before; *only is the single one, or
 * ~0 with none or several. */
static int blocks_changed(const char *path, const unsigned char *before, size_t len,
			  unsigned int bs, uint64_t *only)
{
	size_t n;
	unsigned char *now = read_file(path, &n);
	int changed = 0;

	*only = ~0ULL;
	for (size_t off = 0; off < len && off < n; off += bs) {
		if (memcmp(now + off, before + off, bs)) {
			*only = changed ? ~0ULL : off / bs;
			changed++;
		}
	}
	free(now);
	return changed;
}

/* The runtime journal over a fresh page cache of the image. */
struct jdev {
	struct block_device *bdev;
	struct address_space mapping;
};

static journal_t *jdev_open(struct jdev *d, struct img *im)
{
	struct blockdev_opts o = { 0 };
	journal_t *j;

	if (blockdev_open(im->path, &o, &d->bdev) ||
	    address_space_init(&d->mapping, d->bdev, d->bdev->size,
			       (unsigned int)__builtin_ctz(im->bs), 0, 0))
		die("blockdev");
	d->bdev->bd_mapping = &d->mapping;
	j = jbd2_journal_init(d->bdev, im->jmap, im->jlen, im->bs);
	if (!j)
		die("jbd2_journal_init");
	return j;
}

static void jdev_close(struct jdev *d, journal_t *j)
{
	jbd2_journal_destroy(j);	/* never loaded: writes nothing */
	address_space_destroy(&d->mapping);
	blockdev_close(d->bdev);
}

static int mount_img(const char *path, bool ro, struct jfs **fs, char *err, size_t errlen)
{
	struct jfs_mount_opts o = { .ro = ro, .cache_size = 32 << 20 };

	*fs = NULL;
	return jfs_mount(path, &o, fs, err, errlen);
}

/*
 * Case "stale": the kernel's ext4_load_journal() with needs_recovery clear
 * and s_start set -- a log older than the filesystem (the flag reaches the
 * disk before the first commit and leaves it after the last checkpoint).
 * jbd2_journal_wipe(): one PASS_SCAN (jbd2_journal_skip_recovery) for the
 * next tid and head, nothing replayed, the superblock marked empty unless
 * the device is read-only.  T100 logs A, B (escaped magic); T101 logs C;
 * T102 logs D; T103 logs E without a commit.  None of A..E may change.
 *   - wipe without write ("Ignoring"): the scan ends at T103 (no commit),
 *     so the next tid is 104, j_head is the block after T102's commit,
 *     j_tail 0, and not one byte is written;
 *   - jfs_mount ro of a writable image: only the journal superblock block
 *     changes (s_start 0, s_sequence 104, s_head), as the kernel's ro
 *     mount of a writable device;
 *   - jfs_mount rw: mounts, s_start 0 with s_sequence 104 = the tid after
 *     the stale log (jbdlab's deviation: the kernel keeps 100 and counts on
 *     JBD2_CYCLE_RECORD; trap 4), e2fsck -fn clean after unmount and the
 *     tids went on from there.
 */
static void case_stale(unsigned int bs, const struct variant *v, bool wrap)
{
	struct img im;
	struct jdev d;
	struct jfs *fs;
	journal_t *j;
	char err[512], copy[80];
	uint64_t blocks[2], only, X[5];
	unsigned char *p[5], *orig[5], *before, *data[2];
	unsigned int start, head;
	size_t len;
	uint32_t s;
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	for (int i = 0; i < 5; i++) {
		X[i] = data_block(&im, i);
		p[i] = pattern(bs, 20 + (unsigned int)i, i == 1);
		orig[i] = malloc(bs);
		pread_all(im.path, X[i] * bs, orig[i], bs);
	}
	start = wrap ? ntohl(im.jsb->s_maxlen) - 3 : 1;
	im.pos = start;
	blocks[0] = X[0]; blocks[1] = X[1]; data[0] = p[0]; data[1] = p[1];
	put_descriptor(&im, 100, 2, blocks, data, -1);
	put_commit(&im, 100, 1000, false);
	put_descriptor(&im, 101, 1, &X[2], &p[2], -1);
	put_commit(&im, 101, 1001, false);
	put_descriptor(&im, 102, 1, &X[3], &p[3], -1);
	put_commit(&im, 102, 1002, false);
	head = im.pos;
	put_descriptor(&im, 103, 1, &X[4], &p[4], -1);	/* no commit */
	arm_stale(&im, 100, start);
	before = read_file(im.path, &len);

	/* the library: wipe without write */
	j = jdev_open(&d, &im);
	ret = jbd2_journal_wipe(j, 0);
	CHECK(ret == 0, "%s%s: stale: wipe(0) %d", v->name, wrap ? "/wrap" : "", ret);
	CHECK(j->j_transaction_sequence == 104 && j->j_head == head && j->j_tail == 0,
	      "%s: stale: skip_recovery left tid %u head %lu (want %u) tail %lu", v->name,
	      j->j_transaction_sequence, j->j_head, head, j->j_tail);
	jdev_close(&d, j);
	CHECK(blocks_changed(im.path, before, len, bs, &only) == 0,
	      "%s: stale: a wipe without write wrote block %llu", v->name, (unsigned long long)only);

	/* jfs_mount ro of a writable copy: the journal superblock only */
	snprintf(copy, sizeof(copy), "%s.ro", im.path);
	{
		int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, before, len) != (ssize_t)len)
			die(copy);
		close(fd);
	}
	ret = mount_img(copy, true, &fs, err, sizeof(err));
	CHECK(ret == 0, "%s: stale: ro mount %d: %s", v->name, ret, err);
	if (!ret)
		CHECK(jfs_unmount(fs) == 0, "%s: stale: ro unmount", v->name);
	CHECK(blocks_changed(copy, before, len, bs, &only) == 1 && only == im.jmap[0],
	      "%s: stale: the ro mount changed block %llu, not (only) the journal superblock %llu",
	      v->name, (unsigned long long)only, (unsigned long long)im.jmap[0]);
	{
		journal_superblock_t *sb = malloc(bs);

		pread_all(copy, im.jmap[0] * bs, sb, bs);
		CHECK(!sb->s_start && ntohl(sb->s_sequence) == 104 && ntohl(sb->s_head) == head,
		      "%s: stale: ro mount left start %u seq %u head %u", v->name, ntohl(sb->s_start),
		      ntohl(sb->s_sequence), ntohl(sb->s_head));
		free(sb);
	}
	unlink(copy);

	/* jfs_mount rw: wiped, nothing replayed, tids go on */
	ret = mount_img(im.path, false, &fs, err, sizeof(err));
	CHECK(ret == 0, "%s: stale: rw mount %d: %s", v->name, ret, err);
	CHECK(jsb_on_disk(&im, &s) == 104 && s == 0, "%s: stale: mounted: seq %u start %u", v->name,
	      jsb_on_disk(&im, &s), s);
	if (!ret) {
		struct stat st;
		const struct jfs_cred root = { 0, 0, 0, 022, 0, NULL };

		CHECK(jfs_mkdir(fs, &root, 2, "after-wipe", 0755, &st) == 0, "%s: stale: mkdir", v->name);
		CHECK(jfs_unmount(fs) == 0, "%s: stale: rw unmount", v->name);
	}
	for (int i = 0; i < 5; i++)
		CHECK(block_is(&im, X[i], orig[i]), "%s: stale: block %d was replayed", v->name, i);
	CHECK(jsb_on_disk(&im, &s) > 104 && s == 0, "%s: stale: after unmount seq %u start %u",
	      v->name, jsb_on_disk(&im, &s), s);
	CHECK(fsck(&im) == 0, "%s: stale: e2fsck -fn", v->name);

	img_free(&im);
	free(before);
	for (int i = 0; i < 5; i++) {
		free(p[i]);
		free(orig[i]);
	}
}

/*
 * Case "stale, corrupt": the scan of a stale log can fail, and the kernel
 * then fails the mount -- after the wipe cleared s_start, so the next
 * mount succeeds (seen on 6.18 with e2fsprogs' j_corrupt_descr_csum and
 * j_corrupt_commit_csum, needs_recovery cleared).
 *   - bad descriptor tail in T101, whose commit is not older: the scan
 *     fails (-EFSBADCRC, "JBD2: error -74 scanning journal"): the tid is
 *     the old one + 1, j_head = j_first; the rw mount fails;
 *   - bad commit checksum of T101 (sync commit): the scan ends there
 *     without an error but j_failed_commit = 101, so the load fails
 *     (-EFSCORRUPTED) -- after the wipe.
 * Either way nothing is replayed and the second mount succeeds.
 */
static void case_stale_corrupt(unsigned int bs, const struct variant *v, bool bad_descr)
{
	const char *what = bad_descr ? "bad descriptor" : "bad commit";
	struct img im;
	struct jdev d;
	struct jfs *fs;
	journal_t *j;
	char err[512];
	uint64_t A, B;
	unsigned char *pa, *pb, *origA, *origB;
	unsigned int dpos;
	uint32_t s;
	int ret;

	img_make(&im, bs, v->mkfs);
	img_features(&im, v->compat, v->incompat);
	A = data_block(&im, 0); B = data_block(&im, 1);
	pa = pattern(bs, 30, false); pb = pattern(bs, 31, false);
	origA = malloc(bs); origB = malloc(bs);
	pread_all(im.path, A * bs, origA, bs);
	pread_all(im.path, B * bs, origB, bs);
	put_descriptor(&im, 100, 1, &A, &pa, -1);
	put_commit(&im, 100, 1000, false);
	dpos = im.pos;
	put_descriptor(&im, 101, 1, &B, &pb, -1);
	put_commit(&im, 101, 1001, !bad_descr);
	if (bad_descr) {
		unsigned char *blk = malloc(bs);

		pread_all(im.path, im.jmap[dpos] * bs, blk, bs);
		blk[bs - 1] ^= 0x5a;	/* the tail checksum */
		jwrite(&im, dpos, blk);
		free(blk);
	}
	arm_stale(&im, 100, 1);

	j = jdev_open(&d, &im);
	ret = jbd2_journal_wipe(j, 0);
	if (bad_descr)
		CHECK(ret == -EFSBADCRC && j->j_transaction_sequence == 101 &&
		      j->j_head == j->j_first && j->j_tail == 0,
		      "%s: %s: wipe(0) %d tid %u head %lu tail %lu", v->name, what, ret,
		      j->j_transaction_sequence, j->j_head, j->j_tail);
	else
		CHECK(ret == 0 && j->j_failed_commit == 101 && j->j_transaction_sequence == 102 &&
		      j->j_tail == 0, "%s: %s: wipe(0) %d failed commit %u tid %u", v->name, what,
		      ret, j->j_failed_commit, j->j_transaction_sequence);
	jdev_close(&d, j);

	ret = mount_img(im.path, false, &fs, err, sizeof(err));
	CHECK(ret == (bad_descr ? -EFSBADCRC : -EFSCORRUPTED),
	      "%s: %s: first rw mount %d: %s", v->name, what, ret, err);
	if (!ret)
		jfs_unmount(fs);
	CHECK(jsb_on_disk(&im, &s) == (bad_descr ? 101U : 102U) && s == 0,
	      "%s: %s: the failed mount left seq %u start %u", v->name, what,
	      jsb_on_disk(&im, &s), s);
	ret = mount_img(im.path, false, &fs, err, sizeof(err));
	CHECK(ret == 0, "%s: %s: second rw mount %d: %s", v->name, what, ret, err);
	if (!ret)
		CHECK(jfs_unmount(fs) == 0, "%s: %s: unmount", v->name, what);
	CHECK(block_is(&im, A, origA) && block_is(&im, B, origB), "%s: %s: replayed", v->name, what);
	CHECK(fsck(&im) == 0, "%s: %s: e2fsck -fn", v->name, what);
	img_free(&im);
	free(pa); free(pb); free(origA); free(origB);
}

/* format.c alone: 64-bit tag block numbers and the tag-size table. */
static void case_format(void)
{
	journal_superblock_t *sb = calloc(1, 4096);
	journal_t j = { .j_superblock = sb, .j_blocksize = 4096, .j_format_version = 2 };
	char tag[16];

	sb->s_feature_incompat = htonl(JBD2_FEATURE_INCOMPAT_64BIT | JBD2_FEATURE_INCOMPAT_CSUM_V3);
	jbd2_tag_set(&j, tag, 0x123456789aULL, JBD2_FLAG_LAST_TAG | JBD2_FLAG_ESCAPE);
	CHECK(jbd2_tag_blocknr(&j, tag) == 0x123456789aULL, "64-bit tag block %llx",
	      jbd2_tag_blocknr(&j, tag));
	CHECK(jbd2_tag_flags(tag) == (JBD2_FLAG_LAST_TAG | JBD2_FLAG_ESCAPE), "tag3 flags");
	sb->s_feature_incompat = htonl(JBD2_FEATURE_INCOMPAT_CSUM_V3);
	CHECK(jbd2_tag_blocknr(&j, tag) == 0x3456789aULL, "32-bit journal ignores the high word");
	sb->s_feature_incompat = htonl(JBD2_FEATURE_INCOMPAT_CSUM_V2);
	CHECK(journal_tag_bytes(&j) == 10, "csum v2 32-bit tag is 10 bytes");
	sb->s_feature_incompat = htonl(JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_64BIT);
	CHECK(journal_tag_bytes(&j) == 14, "csum v2 64-bit tag is 14 bytes");
	/* superblock checksum round trip with seed ~0 */
	sb->s_header.h_magic = htonl(JBD2_MAGIC_NUMBER);
	jbd2_superblock_csum_set(&j, sb);
	CHECK(jbd2_superblock_csum_verify(&j, sb), "superblock csum round trip");
	sb->s_sequence ^= 1;
	CHECK(!jbd2_superblock_csum_verify(&j, sb), "superblock csum detects a change");
	free(sb);
}

int main(int argc, char **argv)
{
	unsigned int bs = argc > 1 ? (unsigned int)atoi(argv[1]) : 4096;

	if (system("command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null"))
		return 77;
	case_format();
	for (int m = 0; m < 2; m++) {
		replay_mode = m ? JFS_REPLAY_PAGECACHE : 0;
		for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
			case_tags_revoke(bs, &variants[i], false);
			case_tags_revoke(bs, &variants[i], true);
			case_super(bs, &variants[i]);
			if (variants[i].compat || (variants[i].incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 |
									   JBD2_FEATURE_INCOMPAT_CSUM_V3)))
				case_bad_commit(bs, &variants[i]);
			if (variants[i].incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3))
				case_bad_tag(bs, &variants[i]);
			case_bad_rcount(bs, &variants[i]);
			case_stale(bs, &variants[i], false);
			case_stale(bs, &variants[i], true);
			if (variants[i].incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3))
				case_stale_corrupt(bs, &variants[i], true);
			if (variants[i].compat || (variants[i].incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 |
									   JBD2_FEATURE_INCOMPAT_CSUM_V3)))
				case_stale_corrupt(bs, &variants[i], false);
		}
	}
	printf("test_recovery %u: %s (%d checks, %d failures)\n", bs, failures ? "FAIL" : "ok", checks,
	       failures);
	return failures ? 1 : 0;
}
