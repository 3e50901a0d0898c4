/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stress.h - `jbdlab stress`: a seeded, replayable, self-checking filesystem
 * workload usable against any directory (a kernel ext4 mount as the control,
 * tmpfs, or a jbdlab FUSE mount).
 *
 * Each worker thread owns one subtree DIR/t<N> and an in-memory model of it
 * (struct snode/sdentry).  Every operation is chosen from the thread's own
 * PRNG (seeded from (seed, thread)) and the model, the model predicts its
 * outcome (success or the exact errno the kernel VFS gives), and the real
 * result must match.  File contents are never stored: a file is a sorted
 * list of extents, each naming the pattern seed of the write that produced
 * it; byte o of a pattern depends only on (pattern seed, o), so any range can
 * be regenerated and compared.  Holes and zeroed ranges are simply absent.
 *
 * Threads share nothing but the stop flag and the failure report, so the op
 * sequence of thread T depends only on (seed, T) and the outcomes the
 * filesystem gives it (ENOSPC/EOPNOTSUPP): same seed, same filesystem state,
 * same ops.
 */
#ifndef JBDLAB_STRESS_H
#define JBDLAB_STRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define STRESS_NAMES		32	/* names per directory: n0..n31 (collisions on purpose) */
#define STRESS_NXATTR		6	/* user.s0 .. user.s5 */
#define STRESS_XATTR_MAX	120	/* bytes per value: 6 fit in one 1 KiB xattr block */
#define STRESS_MAX_IO		(256 * 1024)
#define STRESS_MAX_PATH		3600	/* ops whose paths would be longer are skipped */
#define STRESS_MAX_SYMLINK	300

enum stress_op {
	OP_CREATE, OP_MKDIR, OP_MKFIFO, OP_SYMLINK, OP_LINK, OP_RENAME,
	OP_RENAME_NOREPLACE, OP_RENAME_EXCHANGE, OP_UNLINK, OP_RMDIR,
	OP_WRITE, OP_TRUNCATE, OP_FALLOC, OP_PUNCH, OP_ZERO, OP_SETXATTR,
	OP_REMOVEXATTR, OP_CHMOD, OP_UTIMES, OP_FSYNC, OP_READ,
	OP_NR
};

/* One written range of a regular file: bytes [off, off+len) = pattern(seed). */
struct sext {
	uint64_t off, len, seed;
};

struct sxattr {
	bool present;
	uint32_t len;
	uint64_t seed;
};

struct sdentry;

/* A model inode. */
struct snode {
	mode_t type;			/* S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO */
	mode_t mode;			/* permission bits (07777) */
	int nlink;			/* non-dirs: number of dentries naming it */
	uint64_t size;			/* regular files */
	struct sext *ext;		/* sorted, non-overlapping */
	int next, ext_cap;
	bool content_unknown;		/* an ENOSPC left the data uncertain */
	char *target;			/* symlinks */
	struct sxattr xattr[STRESS_NXATTR];
	bool mtime_known;		/* set by utimes and not modified since */
	int64_t mtime;
	/* directories */
	struct sdentry *ents;
	int nents, ents_cap;
	struct snode *parent;
	int dir_idx;			/* index in sthread->dirs */
	/* verification */
	ino_t seen_ino;
	bool seen;
	int id;
};

struct sdentry {
	char *name;
	struct snode *node;
};

struct stress_opts {
	uint64_t seed;
	int threads;
	uint64_t ops;			/* per thread; 0 = no limit (duration only) */
	double duration;		/* seconds; 0 = none */
	bool verify;
	bool quiet;
	bool verbose;
	const char *dir;
};

struct op_stats {
	uint64_t done;			/* succeeded */
	uint64_t expected_err;		/* failed with the predicted errno */
	uint64_t enospc;
	uint64_t unsupported;		/* EOPNOTSUPP: skipped */
	uint64_t skipped;		/* nothing suitable in the model */
};

struct sthread {
	int id;
	uint64_t rng;
	const struct stress_opts *opts;
	char *root;			/* DIR/t<id> */
	struct snode *rootnode;
	struct snode **dirs;		/* every directory of the subtree */
	int ndirs, dirs_cap;
	int next_id;
	uint64_t opno;			/* index of the current op */
	struct op_stats stats[OP_NR];
	unsigned char *buf, *buf2;	/* STRESS_MAX_IO each */
	bool xattr_unsupported;
	bool failed;
	char desc[512];			/* the current op, for failure reports */
};

/* stress.c */
extern atomic_bool stress_stop;
void stress_fail(struct sthread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *stress_op_name(int op);

/* pattern.c: PRNG and content patterns */
uint64_t mix64(uint64_t x);
uint64_t rnd(struct sthread *t);
uint64_t rnd_below(struct sthread *t, uint64_t n);
void pattern_fill(uint64_t seed, uint64_t off, unsigned char *buf, size_t len);

/* model.c */
struct snode *model_new_node(struct sthread *t, mode_t type, mode_t mode);
void model_free_node(struct sthread *t, struct snode *n);
void model_add_dentry(struct sthread *t, struct snode *dir, const char *name, struct snode *n);
void model_del_dentry(struct sthread *t, struct snode *dir, const char *name);
struct sdentry *model_lookup(struct snode *dir, const char *name);
int model_path(struct sthread *t, struct snode *dir, const char *name, char *out, size_t sz);
int model_subtree_depth_chars(struct snode *n);
bool model_is_ancestor(struct snode *anc, struct snode *n);
void model_punch(struct snode *n, uint64_t off, uint64_t end);
void model_write(struct snode *n, uint64_t off, uint64_t len, uint64_t seed);
void model_truncate(struct snode *n, uint64_t size);
void model_expected(struct snode *n, uint64_t off, unsigned char *buf, size_t len);
int model_ndirs_under(struct snode *dir);
int model_verify(struct sthread *t);
void model_destroy(struct sthread *t);

/* ops.c */
int stress_run_op(struct sthread *t);
void stress_name(int idx, char *out, size_t sz);

#endif /* JBDLAB_STRESS_H */
