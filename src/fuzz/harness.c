// SPDX-License-Identifier: GPL-2.0
/*
 * harness.c - the journal-replay fuzz target (see jfz.h for the input
 * format and the checks).
 *
 * The image lives in a memfd: the block device opens it as
 * /proc/self/fd/N, so the code under test is the mount's, I/O thread and
 * all; the harness keeps it mapped and, between runs, copies the template
 * back over exactly the 4 KiB chunks an input or a replay changed
 * (blockdev_opts.written_map), so an exec costs what recovery costs, not
 * an image copy.  The journal's block map is read once per template with
 * libext2fs (the fuzz bytes never touch the journal inode), as
 * ext4_get_journal_inode() + jbd2_journal_bmap() would give it.
 *
 * The block device stays open from a template's first run to
 * jfz_cleanup(): every run gets a fresh page cache (address_space_init/
 * destroy, as a mount's), but the device is the same, so an exec does not
 * pay an open and a close.  It is a RAM disk, as the kernel's brd: every
 * request completes in the submitter's context (blockdev_opts.
 * inline_completion), so an exec pays no I/O-thread hand-off either; the
 * code above the device -- bios, plugs, end_io, buffer locks -- is the
 * mount's.
 *
 * Templates: mke2fs -t ext4 with a 1024-block journal, fixed UUID and
 * hash seed, needs_recovery then set by hand (superblock checksum
 * recomputed).  Built on first use, one per (block size, 64bit, csum).
 *
 * Locking rules: single-threaded (jfz.h); the written maps are set
 * (atomically) by the completions, in this thread, and read after
 * address_space_destroy() has drained the device (blk_drain).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include "fs.h"
#include "mm.h"
#include "blockdev.h"
#include "jbd2.h"
#include "fuzz/jfz.h"

#define CHUNK		(1UL << BLK_WRITTEN_SHIFT)
#define BITS		(8 * sizeof(unsigned long))
#define JOURNAL_BLOCKS	1024

struct template {
	bool built;
	uint8_t cfg;			/* JFZ_CFG_TEMPLATE_MASK bits */
	unsigned int bs;
	uint64_t size;			/* bytes */
	int memfd;
	char path[64];			/* /proc/self/fd/N */
	char *media;			/* the memfd, mapped shared: what the device sees */
	struct block_device *bdev;	/* the memfd opened, from the first run on */
	char *orig;			/* the template as built */
	char *base;			/* orig + the current input (the image before replay);
					 * valid on the touched chunks only */
	uint64_t *jmap;			/* journal block -> fs block */
	unsigned int jlen;
	unsigned long nchunks;
	_Atomic unsigned long *written;	/* [bits atomic] set by the I/O thread */
	unsigned long *touched;		/* chunks the current input changed */
	unsigned long *jchunks;		/* chunks holding journal blocks */
	char *saved;			/* the offline run's written chunks, by chunk */
};

static struct template templates[JFZ_NR_TEMPLATES];

static inline void set_bit_ul(unsigned long *m, unsigned long i)
{
	m[i / BITS] |= 1UL << (i % BITS);
}

static __attribute__((noreturn)) void die(const char *what, const char *detail)
{
	fprintf(stderr, "jbdlab fuzz: cannot build the template image: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
	exit(2);
}

/* ------------------------------------------------------------ templates */

static void run_mke2fs(const struct template *t, const char *file)
{
	char bs[16], size[32], feat[64];
	pid_t pid;
	int st;

	snprintf(bs, sizeof(bs), "%u", t->bs);
	/* 8 MiB of 1 and 2 KiB blocks, 16 MiB of 4 KiB: room for the journal */
	snprintf(size, sizeof(size), "%lluk", (unsigned long long)t->size >> 10);
	snprintf(feat, sizeof(feat), "%s64bit,%smetadata_csum,^resize_inode",
		 (t->cfg & JFZ_CFG_64BIT) ? "" : "^", (t->cfg & JFZ_CFG_CSUM) ? "" : "^");
	pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (!pid) {
		char jsize[32];
		int devnull = open("/dev/null", O_WRONLY);

		snprintf(jsize, sizeof(jsize), "size=%u", JOURNAL_BLOCKS * t->bs >> 20);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		setenv("E2FSPROGS_FAKE_TIME", "1700000000", 1);
		execlp("mke2fs", "mke2fs", "-q", "-F", "-o", "Linux", "-t", "ext4", "-b", bs,
		       "-O", feat, "-I", "256", "-N", "256", "-J", jsize,
		       "-U", "6a62646c-6162-4675-a97a-000000000001",
		       "-E", "hash_seed=6a62646c-6162-4675-a97a-000000000002,lazy_itable_init=0,nodiscard",
		       file, size, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("mke2fs failed", WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "not installed" : NULL);
}

static void map_journal(struct template *t, const char *file)
{
	ext2_filsys fs;
	struct ext2_inode inode;
	errcode_t err;

	err = ext2fs_open2(file, NULL, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (err)
		die("ext2fs_open2", error_message(err));
	err = ext2fs_read_inode(fs, fs->super->s_journal_inum, &inode);
	if (err)
		die("journal inode", error_message(err));
	t->jlen = (unsigned int)(EXT2_I_SIZE(&inode) / t->bs);
	t->jmap = calloc(t->jlen, sizeof(*t->jmap));
	if (!t->jmap)
		die("out of memory", NULL);
	for (unsigned int i = 0; i < t->jlen; i++) {
		blk64_t pblk = 0;

		err = ext2fs_bmap2(fs, fs->super->s_journal_inum, &inode, NULL, 0, i, NULL, &pblk);
		if (err || !pblk)
			die("journal block map", err ? error_message(err) : "hole");
		t->jmap[i] = pblk;
	}
	ext2fs_close2(fs, 0);
}

static void set_needs_recovery(struct template *t)
{
	struct ext2_super_block *es = (void *)(t->orig + SUPERBLOCK_OFFSET);

	es->s_feature_incompat |= EXT3_FEATURE_INCOMPAT_RECOVER;
	if (es->s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)
		es->s_checksum = crc32c(~0U, es, offsetof(struct ext2_super_block, s_checksum));
}

/*
 * The template's file: made by mke2fs in a temporary file, or, when
 * JBDLAB_FUZZ_TEMPLATES names a directory, kept there as
 * template-<cfg>.img and reused by later processes (the AFL++ run of
 * bench/fuzz.sh execs one process per input).  Returns the path to read,
 * and whether it is a temporary to unlink.
 */
static bool template_file(const struct template *t, char *file, size_t len)
{
	const char *dir = getenv("JBDLAB_FUZZ_TEMPLATES");
	char tmp[] = "/tmp/jbdlab-fuzz-XXXXXX";
	int fd;

	if (dir && *dir) {
		snprintf(file, len, "%s/template-%02x.img", dir, t->cfg);
		if (!access(file, R_OK))
			return false;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		die("mkstemp", strerror(errno));
	close(fd);
	run_mke2fs(t, tmp);
	if (dir && *dir) {
		if (rename(tmp, file))	/* atomic: a racing process reads a whole file */
			die("keeping the template", strerror(errno));
		return false;
	}
	snprintf(file, len, "%s", tmp);
	return true;
}

static struct template *get_template(uint8_t cfg)
{
	struct template *t = &templates[cfg & JFZ_CFG_TEMPLATE_MASK];
	char file[4096];
	size_t words;
	bool temporary;
	int fd;

	if (t->built)
		return t;
	t->cfg = cfg & JFZ_CFG_TEMPLATE_MASK;
	t->bs = jfz_cfg_blocksize(cfg);
	t->size = t->bs == 4096 ? 16ULL << 20 : 8ULL << 20;
	temporary = template_file(t, file, sizeof(file));
	map_journal(t, file);
	t->orig = malloc(t->size);
	t->base = malloc(t->size);
	fd = open(file, O_RDONLY);
	if (!t->orig || !t->base || fd < 0 || pread(fd, t->orig, t->size, 0) != (ssize_t)t->size)
		die("reading the image", strerror(errno));
	close(fd);
	if (temporary)
		unlink(file);
	set_needs_recovery(t);
	t->memfd = -1;

	t->nchunks = (unsigned long)(t->size / CHUNK);
	words = (t->nchunks + BITS - 1) / BITS;
	t->written = calloc(words, sizeof(unsigned long));
	t->touched = calloc(words, sizeof(unsigned long));
	t->jchunks = calloc(words, sizeof(unsigned long));
	t->saved = malloc(t->size);
	if (!t->written || !t->touched || !t->jchunks || !t->saved)
		die("out of memory", NULL);
	for (unsigned int i = 0; i < t->jlen; i++)
		set_bit_ul(t->jchunks, (unsigned long)(t->jmap[i] * t->bs / CHUNK));
	t->built = true;
	return t;
}

/* The device's memfd, made on the first run (`jbdlab fuzz image` needs none). */
static void ensure_media(struct template *t)
{
	if (t->media)
		return;
	t->memfd = memfd_create("jbdlab-fuzz", MFD_CLOEXEC);
	if (t->memfd < 0 || ftruncate(t->memfd, (off_t)t->size))
		die("memfd", strerror(errno));
	t->media = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
	if (t->media == MAP_FAILED)
		die("mmap", strerror(errno));
	memcpy(t->media, t->orig, t->size);
	snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d", t->memfd);
}

void jfz_cleanup(void)
{
	for (int i = 0; i < JFZ_NR_TEMPLATES; i++) {
		struct template *t = &templates[i];

		if (!t->built)
			continue;
		if (t->bdev)
			blockdev_close(t->bdev);
		if (t->media) {
			munmap(t->media, t->size);
			close(t->memfd);
		}
		free(t->orig);
		free(t->base);
		free(t->saved);
		free(t->jmap);
		free((void *)t->written);
		free(t->touched);
		free(t->jchunks);
		memset(t, 0, sizeof(*t));
	}
}

/* ---------------------------------------------------------------- input */

static void put_bytes(struct template *t, uint64_t pos, const uint8_t *p, size_t n)
{
	for (uint64_t c = pos / CHUNK; n && c <= (pos + n - 1) / CHUNK; c++) {
		if (!(t->touched[c / BITS] & (1UL << (c % BITS)))) {
			memcpy(t->base + c * CHUNK, t->orig + c * CHUNK, CHUNK);
			set_bit_ul(t->touched, (unsigned long)c);
		}
	}
	memcpy(t->base + pos, p, n);
}

/* The image before replay, chunk @c. */
static const char *base_chunk(const struct template *t, unsigned long c)
{
	return (t->touched[c / BITS] & (1UL << (c % BITS)) ? t->base : t->orig) + c * CHUNK;
}

/* The log's first block and end, as the fuzzed superblock has them when
 * they make sense (else the template's: 1 and the journal's length). */
static void log_geometry(const struct template *t, const uint8_t *jsb, size_t jsblen,
			 unsigned int *first, unsigned int *last, unsigned int *start)
{
	journal_superblock_t sb;
	uint32_t f, l, s;

	memcpy(&sb, t->orig + t->jmap[0] * t->bs, sizeof(sb));
	memcpy(&sb, jsb, jsblen < sizeof(sb) ? jsblen : sizeof(sb));
	f = ntohl(sb.s_first);
	l = ntohl(sb.s_maxlen);
	s = ntohl(sb.s_start);
	*first = f >= 1 && f < t->jlen ? f : 1;
	*last = l > *first && l <= t->jlen ? l : t->jlen;
	*start = s >= 1 && s < *last ? s : *first;	/* below s_first too: recovery starts there */
}

/* Make t->base = orig + input (touched chunks only). */
static void apply_input(struct template *t, const uint8_t *data, size_t size)
{
	const uint8_t *jsb = data + 1, *log;
	size_t jsblen = size - 1 > JFZ_JSB_BYTES ? JFZ_JSB_BYTES : size - 1;
	size_t loglen = size - 1 - jsblen;
	unsigned int first, last, pos;
	char zero[4096] = { 0 };

	if (loglen > JFZ_MAX_LOG_BYTES)
		loglen = JFZ_MAX_LOG_BYTES;
	log = jsb + jsblen;
	put_bytes(t, t->jmap[0] * t->bs, jsb, jsblen);
	log_geometry(t, jsb, jsblen, &first, &last, &pos);
	for (size_t off = 0, k = 0; off < loglen && k < last - first; off += t->bs, k++) {
		size_t n = loglen - off < t->bs ? loglen - off : t->bs;
		uint64_t at = t->jmap[pos] * t->bs;

		put_bytes(t, at, log + off, n);
		if (n < t->bs)
			put_bytes(t, at + n, (const uint8_t *)zero, t->bs - n);
		if (++pos == last)
			pos = first;
	}
}

/* Copy the template back over every chunk in @map; clear @map. */
static void restore(struct template *t, char *dst, unsigned long *map)
{
	for (unsigned long w = 0; w < (t->nchunks + BITS - 1) / BITS; w++) {
		while (map[w]) {
			unsigned long c = w * BITS + (unsigned long)__builtin_ctzl(map[w]);

			memcpy(dst + c * CHUNK, t->orig + c * CHUNK, CHUNK);
			map[w] &= map[w] - 1;
		}
	}
}

/* media = base on the touched and written chunks; clears written. */
static void reset_media(struct template *t)
{
	for (unsigned long w = 0; w < (t->nchunks + BITS - 1) / BITS; w++) {
		unsigned long m = t->touched[w] | atomic_load(&t->written[w]);

		atomic_store(&t->written[w], 0);
		while (m) {
			unsigned long c = w * BITS + (unsigned long)__builtin_ctzl(m);

			memcpy(t->media + c * CHUNK, base_chunk(t, c), CHUNK);
			m &= m - 1;
		}
	}
}

/* ------------------------------------------------------------------ run */

static int replay_once(struct template *t, unsigned int flags, struct jfz_outcome *o)
{
	struct jfs_replay_report rep;
	struct address_space mapping;
	struct block_device *bdev;
	unsigned int blkbits = (unsigned int)__builtin_ctz(t->bs);
	int err;

	memset(o, 0, sizeof(*o));
	if (!t->bdev) {
		/* a memfd is a RAM disk: brd completes in the submitter */
		struct blockdev_opts bo = { .written_map = t->written, .inline_completion = true };

		err = blockdev_open(t->path, &bo, &t->bdev);
		if (err)
			return err;
	}
	bdev = t->bdev;
	err = address_space_init(&mapping, bdev, bdev->size, blkbits,
				 blkbits > PAGE_SHIFT ? blkbits - PAGE_SHIFT : 0, 64UL << 20);
	if (err)
		return err;
	bdev->bd_mapping = &mapping;
	o->ret = jfs_journal_replay_bdev(bdev, &mapping, t->jmap, t->jlen, t->bs, flags, &rep,
					 o->msg, sizeof(o->msg));
	invalidate_bh_lrus();
	address_space_destroy(&mapping);	/* drains the device: the written bits are final */
	bdev->bd_mapping = NULL;
	o->replayed = rep.replayed;
	o->nr_replays = rep.nr_replays;
	o->nr_revokes = rep.nr_revokes;
	o->nr_revoke_hits = rep.nr_revoke_hits;
	o->start_tid = rep.start_tid;
	o->end_tid = rep.end_tid;
	o->next_tid = rep.next_tid;
	o->failed_commit = rep.failed_commit;
	o->recovered = rep.recovered;
	for (unsigned long w = 0; w < (t->nchunks + BITS - 1) / BITS; w++)
		o->written_chunks += (unsigned int)__builtin_popcountl(atomic_load(&t->written[w]));
	return 0;
}

__printf(3, 4)
static int broken(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* The checks on one run's result (media as the run left it). */
static int check_run(struct template *t, unsigned int flags, const struct jfz_outcome *o,
		     const char *layer, char *why, size_t len)
{
	unsigned long outside = 0;
	const struct ext2_super_block *es = (const void *)(t->media + SUPERBLOCK_OFFSET);
	const journal_superblock_t *jsb = (const void *)(t->media + t->jmap[0] * t->bs);
	static uint64_t violations;
	uint64_t v = quarantine_violations();

	/* a write into a freed folio (the mm model's poisoned quarantine, checked
	 * as folios leave it: possibly a folio an earlier input freed) */
	if (v != violations) {
		violations = v;
		return broken(why, len, "%s: a freed folio was written (%llu poison violations so far)",
			      layer, (unsigned long long)v);
	}

	for (unsigned long w = 0; w < (t->nchunks + BITS - 1) / BITS; w++) {
		unsigned long m = atomic_load(&t->written[w]) & ~t->jchunks[w];

		if (!w)
			m &= ~1UL;	/* chunk 0: the ext4 superblock */
		outside += (unsigned long)__builtin_popcountl(m);
	}
	if (outside > (unsigned long)(o->nr_replays > 0 ? o->nr_replays : 0))
		return broken(why, len, "%s: %lu chunks written outside the journal, %d blocks replayed",
			      layer, outside, o->nr_replays);
	if (o->ret == JFS_REPLAY_NOTHING && o->written_chunks)
		return broken(why, len, "%s: nothing to do, yet %u chunks written", layer,
			      o->written_chunks);
	if ((flags & JFZ_CFG_KERNEL) && o->ret < 0 && !o->nr_replays && o->written_chunks)
		return broken(why, len, "%s: kernel-mode recovery failed before replaying (%s), yet %u chunks written",
			      layer, o->msg, o->written_chunks);
	if (o->replayed) {
		if (jsb->s_start)
			return broken(why, len, "%s: the journal was reset but s_start is %u", layer,
				      ntohl(jsb->s_start));
		if (es->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER)
			return broken(why, len, "%s: the journal was reset but needs_recovery is still set",
				      layer);
	}
	return 0;
}

static bool same_outcome(const struct jfz_outcome *a, const struct jfz_outcome *b)
{
	return a->ret == b->ret && a->replayed == b->replayed && a->nr_replays == b->nr_replays &&
	       a->nr_revokes == b->nr_revokes && a->nr_revoke_hits == b->nr_revoke_hits &&
	       a->start_tid == b->start_tid && a->end_tid == b->end_tid &&
	       a->next_tid == b->next_tid && a->failed_commit == b->failed_commit &&
	       a->recovered == b->recovered;
}

/*
 * JBDLAB_FUZZ_BLOCKSIZE=1024|2048|4096 pins the template's block size
 * whatever the configuration byte says (bench/fuzz.sh measures on 2 KiB
 * blocks); the other bits stay the input's.
 */
static uint8_t input_cfg(uint8_t cfg)
{
	static int forced = -2;

	if (forced == -2) {
		const char *e = getenv("JBDLAB_FUZZ_BLOCKSIZE");

		forced = !e ? -1 : !strcmp(e, "1024") ? 0 : !strcmp(e, "2048") ? 1 :
			 !strcmp(e, "4096") ? 2 : -1;
	}
	return forced < 0 ? cfg : (uint8_t)((cfg & ~JFZ_CFG_BS_MASK) | forced);
}

/*
 * JBDLAB_FUZZ_LAYERS=offline runs the offline layer only (about twice the
 * execs/s, without the layer comparison); default: both.
 */
static bool one_layer(void)
{
	static int offline_only = -1;

	if (offline_only < 0) {
		const char *e = getenv("JBDLAB_FUZZ_LAYERS");

		offline_only = e && !strcmp(e, "offline");
	}
	return offline_only;
}

int jfz_run(const uint8_t *data, size_t size, struct jfz_outcome *out, char *why, size_t whylen)
{
	uint8_t cfg;
	struct jfz_outcome a, b;
	unsigned int flags;
	struct template *t;
	unsigned long words;
	int err, ret = 0;

	if (why && whylen)
		why[0] = 0;
	if (!size) {
		if (out)
			memset(out, 0, sizeof(*out));
		return 0;
	}
	if (size > JFZ_MAX_INPUT)
		size = JFZ_MAX_INPUT;
	cfg = input_cfg(data[0]);
	t = get_template(cfg);
	ensure_media(t);
	words = (t->nchunks + BITS - 1) / BITS;
	flags = (cfg & JFZ_CFG_KERNEL) ? JFS_REPLAY_KERNEL : 0;

	apply_input(t, data, size);
	reset_media(t);
	err = replay_once(t, flags, &a);
	if (err) {
		ret = broken(why, whylen, "cannot set up the offline run: %s", strerror(-err));
		goto out;
	}
	ret = check_run(t, cfg, &a, "offline", why, whylen);
	if (ret || one_layer() || !a.recovered)
		goto out;	/* !recovered: the page-cache run is this one again (jfz.h) */
	/* keep what the offline run wrote; start again from the same image */
	{
		unsigned long wa[words];

		for (unsigned long w = 0; w < words; w++) {
			wa[w] = atomic_load(&t->written[w]);
			for (unsigned long m = wa[w]; m; m &= m - 1) {
				unsigned long c = w * BITS + (unsigned long)__builtin_ctzl(m);

				memcpy(t->saved + c * CHUNK, t->media + c * CHUNK, CHUNK);
			}
		}
		reset_media(t);
		err = replay_once(t, flags | JFS_REPLAY_PAGECACHE, &b);
		if (err) {
			ret = broken(why, whylen, "cannot set up the page-cache run: %s", strerror(-err));
			goto out;
		}
		ret = check_run(t, cfg, &b, "page cache", why, whylen);
		if (ret)
			goto out;
		if (!same_outcome(&a, &b)) {
			ret = broken(why, whylen,
				     "the layers disagree: offline ret %d, %d replayed, tids %u..%u (%s); page cache ret %d, %d replayed, tids %u..%u (%s)",
				     a.ret, a.nr_replays, a.start_tid, a.end_tid, a.msg, b.ret,
				     b.nr_replays, b.start_tid, b.end_tid, b.msg);
			goto out;
		}
		for (unsigned long w = 0; w < words && !ret; w++) {
			unsigned long wb = atomic_load(&t->written[w]);

			for (unsigned long m = wa[w] | wb; m && !ret; m &= m - 1) {
				unsigned long bit = (unsigned long)__builtin_ctzl(m), c = w * BITS + bit;
				bool in_a = wa[w] & (1UL << bit), in_b = wb & (1UL << bit);
				const char *pa = in_a ? t->saved + c * CHUNK : base_chunk(t, c);

				if (memcmp(pa, t->media + c * CHUNK, CHUNK))
					ret = broken(why, whylen,
						     "the layers wrote different bytes at offset %lu (written by %s)",
						     c * CHUNK, in_a && in_b ? "both" :
						     in_a ? "offline only" : "page cache only");
			}
		}
		for (unsigned long w = 0; w < words; w++)
			atomic_fetch_or(&t->written[w], wa[w]);
	}
out:
	if (out)
		*out = a;
	/* back to the template: media on touched|written, base on touched */
	for (unsigned long w = 0; w < words; w++) {
		unsigned long m = atomic_load(&t->written[w]) | t->touched[w];

		atomic_store(&t->written[w], m);
	}
	restore(t, t->media, (unsigned long *)t->written);
	memset(t->touched, 0, words * sizeof(unsigned long));
	return ret;
}

int jfz_write_image(const uint8_t *data, size_t size, const char *path)
{
	struct template *t;
	int fd, ret = 0;

	if (!size)
		return -EINVAL;
	if (size > JFZ_MAX_INPUT)
		size = JFZ_MAX_INPUT;
	t = get_template(input_cfg(data[0]));
	apply_input(t, data, size);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		ret = -errno;
	else if (pwrite(fd, t->orig, t->size, 0) != (ssize_t)t->size)
		ret = -EIO;
	for (unsigned long c = 0; !ret && c < t->nchunks; c++)
		if (t->touched[c / BITS] & (1UL << (c % BITS)) &&
		    pwrite(fd, t->base + c * CHUNK, CHUNK, (off_t)(c * CHUNK)) != (ssize_t)CHUNK)
			ret = -EIO;
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	memset(t->touched, 0, (t->nchunks + BITS - 1) / BITS * sizeof(unsigned long));
	return ret;
}
