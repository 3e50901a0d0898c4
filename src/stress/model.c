// SPDX-License-Identifier: GPL-2.0
/*
 * model.c - the in-memory model of one thread's subtree, and the final walk
 * that compares the real tree with it (--verify).
 *
 * Directories form a tree through snode->parent and their dentry arrays;
 * non-directories may be named by several dentries (hard links) and count
 * them in snode->nlink.  The thread's list of directories (sthread->dirs) is
 * what operations pick their targets from; removal swaps the last entry into
 * the hole, which is deterministic, so replay stays exact.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "stress.h"

static void *xrealloc(void *p, size_t sz)
{
	p = realloc(p, sz);
	if (!p) {
		perror("stress: realloc");
		exit(2);
	}
	return p;
}

struct snode *model_new_node(struct sthread *t, mode_t type, mode_t mode)
{
	struct snode *n = calloc(1, sizeof(*n));

	if (!n) {
		perror("stress: calloc");
		exit(2);
	}
	n->type = type;
	n->mode = mode;
	n->id = t->next_id++;
	n->dir_idx = -1;
	if (type == S_IFDIR) {
		if (t->ndirs == t->dirs_cap) {
			t->dirs_cap = t->dirs_cap ? t->dirs_cap * 2 : 64;
			t->dirs = xrealloc(t->dirs, t->dirs_cap * sizeof(*t->dirs));
		}
		n->dir_idx = t->ndirs;
		t->dirs[t->ndirs++] = n;
	}
	return n;
}

void model_free_node(struct sthread *t, struct snode *n)
{
	if (n->type == S_IFDIR && n->dir_idx >= 0) {
		struct snode *last = t->dirs[--t->ndirs];

		t->dirs[n->dir_idx] = last;
		last->dir_idx = n->dir_idx;
		n->dir_idx = -1;
	}
	free(n->ext);
	free(n->target);
	free(n->ents);
	free(n);
}

void model_add_dentry(struct sthread *t, struct snode *dir, const char *name, struct snode *n)
{
	if (dir->nents == dir->ents_cap) {
		dir->ents_cap = dir->ents_cap ? dir->ents_cap * 2 : 8;
		dir->ents = xrealloc(dir->ents, dir->ents_cap * sizeof(*dir->ents));
	}
	dir->ents[dir->nents].name = strdup(name);
	dir->ents[dir->nents].node = n;
	dir->nents++;
	if (n->type == S_IFDIR)
		n->parent = dir;
	else
		n->nlink++;
	dir->mtime_known = false;
}

/* Removes the dentry; the caller frees the node when nothing names it. */
void model_del_dentry(struct sthread *t, struct snode *dir, const char *name)
{
	for (int i = 0; i < dir->nents; i++) {
		struct sdentry *d = &dir->ents[i];

		if (strcmp(d->name, name))
			continue;
		if (d->node->type != S_IFDIR)
			d->node->nlink--;
		free(d->name);
		dir->ents[i] = dir->ents[--dir->nents];
		dir->mtime_known = false;
		return;
	}
	fprintf(stderr, "stress: internal error: %s not in model\n", name);
	abort();
}

struct sdentry *model_lookup(struct snode *dir, const char *name)
{
	for (int i = 0; i < dir->nents; i++)
		if (!strcmp(dir->ents[i].name, name))
			return &dir->ents[i];
	return NULL;
}

static const char *dir_name_in_parent(struct snode *dir)
{
	struct snode *p = dir->parent;

	for (int i = 0; i < p->nents; i++)
		if (p->ents[i].node == dir)
			return p->ents[i].name;
	fprintf(stderr, "stress: internal error: directory %d not in its parent\n", dir->id);
	abort();
}

static int dir_path(struct sthread *t, struct snode *dir, char *out, size_t sz)
{
	int len;

	if (dir == t->rootnode) {
		len = snprintf(out, sz, "%s", t->root);
	} else {
		len = dir_path(t, dir->parent, out, sz);
		if (len < 0)
			return len;
		len += snprintf(out + len, sz - len, "/%s", dir_name_in_parent(dir));
	}
	return len < (int)sz ? len : -1;
}

/* DIR/t<N>/.../dir[/name]; -1 when it would exceed STRESS_MAX_PATH. */
int model_path(struct sthread *t, struct snode *dir, const char *name, char *out, size_t sz)
{
	int len = dir_path(t, dir, out, sz);

	if (len < 0)
		return -1;
	if (name)
		len += snprintf(out + len, sz - len, "/%s", name);
	if (len >= (int)sz || len > STRESS_MAX_PATH)
		return -1;
	return len;
}

/* The longest relative path (in bytes, "/a/b") of anything below dir n. */
int model_subtree_depth_chars(struct snode *n)
{
	int best = 0;

	if (n->type != S_IFDIR)
		return 0;
	for (int i = 0; i < n->nents; i++) {
		int l = 1 + strlen(n->ents[i].name) + model_subtree_depth_chars(n->ents[i].node);

		if (l > best)
			best = l;
	}
	return best;
}

/* Is directory anc equal to n or one of its ancestors? */
bool model_is_ancestor(struct snode *anc, struct snode *n)
{
	for (; n; n = n->parent)
		if (n == anc)
			return true;
	return false;
}

int model_ndirs_under(struct snode *dir)
{
	int c = 0;

	for (int i = 0; i < dir->nents; i++)
		if (dir->ents[i].node->type == S_IFDIR)
			c++;
	return c;
}

/* ---------------- contents as extents ---------------- */

static void ext_reserve(struct snode *n, int more)
{
	if (n->next + more <= n->ext_cap)
		return;
	while (n->next + more > n->ext_cap)
		n->ext_cap = n->ext_cap ? n->ext_cap * 2 : 8;
	n->ext = xrealloc(n->ext, n->ext_cap * sizeof(*n->ext));
}

/* Forget what was written in [off, end): it reads as zeros now. */
void model_punch(struct snode *n, uint64_t off, uint64_t end)
{
	struct sext *out;
	int k = 0, cap;

	if (end <= off || !n->next)
		return;
	cap = n->next + 1;	/* a split adds at most one extent */
	out = xrealloc(NULL, cap * sizeof(*out));
	for (int i = 0; i < n->next; i++) {
		struct sext e = n->ext[i];
		uint64_t e_end = e.off + e.len;

		if (e_end <= off || e.off >= end) {
			out[k++] = e;
			continue;
		}
		if (e.off < off)
			out[k++] = (struct sext){ e.off, off - e.off, e.seed };
		if (e_end > end)
			out[k++] = (struct sext){ end, e_end - end, e.seed };
	}
	free(n->ext);
	n->ext = out;
	n->next = k;
	n->ext_cap = cap;
}

void model_write(struct snode *n, uint64_t off, uint64_t len, uint64_t seed)
{
	int pos;

	if (!len)
		return;
	model_punch(n, off, off + len);
	ext_reserve(n, 1);
	for (pos = 0; pos < n->next && n->ext[pos].off < off; pos++)
		;
	memmove(&n->ext[pos + 1], &n->ext[pos], (n->next - pos) * sizeof(*n->ext));
	n->ext[pos] = (struct sext){ off, len, seed };
	n->next++;
	if (off + len > n->size)
		n->size = off + len;
}

void model_truncate(struct snode *n, uint64_t size)
{
	model_punch(n, size, UINT64_MAX);
	n->size = size;
	if (size == 0)
		n->content_unknown = false;
}

void model_expected(struct snode *n, uint64_t off, unsigned char *buf, size_t len)
{
	uint64_t end = off + len;

	memset(buf, 0, len);
	for (int i = 0; i < n->next; i++) {
		const struct sext *e = &n->ext[i];
		uint64_t s = e->off > off ? e->off : off;
		uint64_t f = e->off + e->len < end ? e->off + e->len : end;

		if (s < f)
			pattern_fill(e->seed, s, buf + (s - off), f - s);
	}
}

/* ---------------- final verification ---------------- */

struct ino_rec {
	ino_t ino;
	int id;
};

struct verify_ctx {
	struct sthread *t;
	struct ino_rec *inos;
	int ninos, inos_cap;
	int errors;
	char path[4200];
};

#define VFAIL(v, ...) do { \
	stress_fail((v)->t, __VA_ARGS__); \
	(v)->errors++; \
} while (0)

static void verify_content(struct verify_ctx *v, struct snode *n, const char *path)
{
	struct sthread *t = v->t;
	int fd = open(path, O_RDONLY);
	uint64_t off = 0;

	if (fd < 0) {
		VFAIL(v, "verify: open %s: %s", path, strerror(errno));
		return;
	}
	while (off < n->size + 1) {
		size_t want = STRESS_MAX_IO;
		ssize_t r = pread(fd, t->buf, want, off);

		if (r < 0) {
			VFAIL(v, "verify: read %s at %llu: %s", path,
			      (unsigned long long)off, strerror(errno));
			break;
		}
		if ((uint64_t)r != (n->size - off < want ? n->size - off : want)) {
			VFAIL(v, "verify: read %s at %llu returned %zd, model size %llu", path,
			      (unsigned long long)off, r, (unsigned long long)n->size);
			break;
		}
		if (r == 0)
			break;
		model_expected(n, off, t->buf2, r);
		if (memcmp(t->buf, t->buf2, r)) {
			ssize_t i = 0;

			while (t->buf[i] == t->buf2[i])
				i++;
			VFAIL(v, "verify: content of %s differs at byte %llu: 0x%02x, expected 0x%02x",
			      path, (unsigned long long)(off + i), t->buf[i], t->buf2[i]);
			break;
		}
		off += r;
	}
	close(fd);
}

static void verify_xattrs(struct verify_ctx *v, struct snode *n, const char *path)
{
	struct sthread *t = v->t;
	char list[4096];
	bool listed[STRESS_NXATTR] = { false };
	ssize_t l = llistxattr(path, list, sizeof(list));

	if (l < 0) {
		if (errno == EOPNOTSUPP || errno == ENOTSUP)
			l = 0;
		else {
			VFAIL(v, "verify: llistxattr %s: %s", path, strerror(errno));
			return;
		}
	}
	for (char *p = list; p < list + l; p += strlen(p) + 1) {
		int k;

		if (strncmp(p, "user.", 5))
			continue;
		if (sscanf(p, "user.s%d", &k) != 1 || k < 0 || k >= STRESS_NXATTR ||
		    !n->xattr[k].present) {
			VFAIL(v, "verify: %s has unexpected xattr %s", path, p);
			continue;
		}
		listed[k] = true;
	}
	for (int k = 0; k < STRESS_NXATTR; k++) {
		struct sxattr *x = &n->xattr[k];
		char name[32];
		ssize_t r;

		if (!x->present)
			continue;
		snprintf(name, sizeof(name), "user.s%d", k);
		if (!listed[k]) {
			VFAIL(v, "verify: %s lacks xattr %s in its list", path, name);
			continue;
		}
		r = lgetxattr(path, name, t->buf, STRESS_XATTR_MAX + 16);
		if (r < 0) {
			VFAIL(v, "verify: lgetxattr %s %s: %s", path, name, strerror(errno));
			continue;
		}
		pattern_fill(x->seed, 0, t->buf2, x->len);
		if ((size_t)r != x->len || memcmp(t->buf, t->buf2, x->len))
			VFAIL(v, "verify: xattr %s of %s: %zd bytes, expected %u (or content differs)",
			      name, path, r, x->len);
	}
}

static void verify_node(struct verify_ctx *v, struct snode *n, const char *path,
			const struct stat *st)
{
	if ((st->st_mode & S_IFMT) != n->type) {
		VFAIL(v, "verify: %s has type 0%o, expected 0%o", path,
		      st->st_mode & S_IFMT, n->type);
		return;
	}
	if (n->seen) {
		if (st->st_ino != n->seen_ino)
			VFAIL(v, "verify: %s is a hard link of inode %lu but has inode %lu",
			      path, (unsigned long)n->seen_ino, (unsigned long)st->st_ino);
		return;
	}
	n->seen = true;
	n->seen_ino = st->st_ino;
	if (v->ninos == v->inos_cap) {
		v->inos_cap = v->inos_cap ? v->inos_cap * 2 : 256;
		v->inos = xrealloc(v->inos, v->inos_cap * sizeof(*v->inos));
	}
	v->inos[v->ninos++] = (struct ino_rec){ st->st_ino, n->id };

	if (n->type != S_IFLNK && (st->st_mode & 07777) != n->mode)
		VFAIL(v, "verify: %s has mode 0%o, expected 0%o", path,
		      st->st_mode & 07777, n->mode);
	if (n->type == S_IFDIR) {
		nlink_t want = 2 + model_ndirs_under(n);

		if (st->st_nlink != want)
			VFAIL(v, "verify: directory %s has nlink %lu, expected %lu", path,
			      (unsigned long)st->st_nlink, (unsigned long)want);
	} else if (st->st_nlink != (nlink_t)n->nlink) {
		VFAIL(v, "verify: %s has nlink %lu, expected %d", path,
		      (unsigned long)st->st_nlink, n->nlink);
	}
	if (n->mtime_known && st->st_mtim.tv_sec != n->mtime)
		VFAIL(v, "verify: %s has mtime %lld, expected %lld (set by utimes)", path,
		      (long long)st->st_mtim.tv_sec, (long long)n->mtime);
	if (n->type == S_IFREG) {
		if ((uint64_t)st->st_size != n->size) {
			VFAIL(v, "verify: %s has size %lld, expected %llu", path,
			      (long long)st->st_size, (unsigned long long)n->size);
			return;
		}
		if (!n->content_unknown)
			verify_content(v, n, path);
	} else if (n->type == S_IFLNK) {
		char tgt[STRESS_MAX_SYMLINK + 8];
		ssize_t r = readlink(path, tgt, sizeof(tgt));

		if (r < 0 || (size_t)r != strlen(n->target) || memcmp(tgt, n->target, r))
			VFAIL(v, "verify: symlink %s: readlink gives %zd bytes%s, expected \"%.40s...\" (%zu)",
			      path, r, r < 0 ? strerror(errno) : "", n->target, strlen(n->target));
		if ((uint64_t)st->st_size != strlen(n->target))
			VFAIL(v, "verify: symlink %s has size %lld, expected %zu", path,
			      (long long)st->st_size, strlen(n->target));
	}
	if (n->type == S_IFREG || n->type == S_IFDIR)
		verify_xattrs(v, n, path);
}

static void verify_dir(struct verify_ctx *v, struct snode *dir, int plen)
{
	struct sthread *t = v->t;
	DIR *d = opendir(v->path);
	struct dirent *de;
	int seen = 0;

	if (!d) {
		VFAIL(v, "verify: opendir %s: %s", v->path, strerror(errno));
		return;
	}
	while ((errno = 0, de = readdir(d))) {
		struct sdentry *md;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		md = model_lookup(dir, de->d_name);
		snprintf(v->path + plen, sizeof(v->path) - plen, "/%s", de->d_name);
		if (!md) {
			VFAIL(v, "verify: unexpected entry %s", v->path);
			v->path[plen] = 0;
			continue;
		}
		seen++;
		if (lstat(v->path, &st)) {
			VFAIL(v, "verify: lstat %s: %s", v->path, strerror(errno));
		} else {
			if (de->d_type != DT_UNKNOWN && DTTOIF(de->d_type) != (st.st_mode & S_IFMT))
				VFAIL(v, "verify: %s: readdir type %d disagrees with lstat mode 0%o",
				      v->path, de->d_type, st.st_mode);
			verify_node(v, md->node, v->path, &st);
			if (md->node->type == S_IFDIR && (st.st_mode & S_IFMT) == S_IFDIR)
				verify_dir(v, md->node, plen + 1 + strlen(de->d_name));
		}
		v->path[plen] = 0;
	}
	if (errno)
		VFAIL(v, "verify: readdir %s: %s", v->path, strerror(errno));
	closedir(d);
	v->path[plen] = 0;
	if (seen != dir->nents) {
		for (int i = 0; i < dir->nents; i++) {
			char p[4300];
			struct stat st;

			snprintf(p, sizeof(p), "%s/%s", v->path, dir->ents[i].name);
			if (lstat(p, &st) == 0)
				VFAIL(v, "verify: %s exists but readdir of %s did not list it",
				      p, v->path);
			else
				VFAIL(v, "verify: %s is missing (%s)", p, strerror(errno));
		}
	}
	(void)t;
}

static int cmp_ino(const void *a, const void *b)
{
	const struct ino_rec *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Walks DIR/t<N> and compares it with the model; returns the mismatch count. */
int model_verify(struct sthread *t)
{
	struct verify_ctx v = { .t = t };
	struct stat st;
	int plen;

	plen = snprintf(v.path, sizeof(v.path), "%s", t->root);
	if (lstat(v.path, &st)) {
		VFAIL(&v, "verify: lstat %s: %s", v.path, strerror(errno));
		return v.errors;
	}
	verify_node(&v, t->rootnode, v.path, &st);
	verify_dir(&v, t->rootnode, plen);
	qsort(v.inos, v.ninos, sizeof(*v.inos), cmp_ino);
	for (int i = 1; i < v.ninos; i++)
		if (v.inos[i].ino == v.inos[i - 1].ino)
			VFAIL(&v, "verify: two distinct files share inode number %lu",
			      (unsigned long)v.inos[i].ino);
	free(v.inos);
	return v.errors;
}

static void destroy_tree(struct sthread *t, struct snode *dir)
{
	for (int i = 0; i < dir->nents; i++) {
		struct snode *n = dir->ents[i].node;

		free(dir->ents[i].name);
		if (n->type == S_IFDIR) {
			destroy_tree(t, n);
		} else if (--n->nlink == 0) {
			model_free_node(t, n);
		}
	}
	dir->nents = 0;
	model_free_node(t, dir);
}

void model_destroy(struct sthread *t)
{
	if (t->rootnode)
		destroy_tree(t, t->rootnode);
	t->rootnode = NULL;
	free(t->dirs);
	t->dirs = NULL;
}
