// SPDX-License-Identifier: GPL-2.0
/*
 * notify.c - the attribute-change notifier of the FUSE adapter.
 *
 * The kernel's FUSE keeps an inode's attributes for attr_timeout and
 * invalidates them itself after each request it knows changes them
 * (fuse_invalidate_attr / fuse_update_ctime after WRITE, SETXATTR, LINK,
 * RENAME, ...; the reply's attributes after SETATTR and the entry ops).
 * What it cannot infer are the side effects the fs applies on its own: a
 * write, fallocate or open(O_TRUNC) by a caller without CAP_FSETID drops
 * S_ISUID/S_ISGID, and those replies carry no attributes.  A kernel that
 * grants FUSE_CAP_HANDLE_KILLPRIV leaves the drop to us, and its
 * invalidation after a WRITE (FUSE_STATX_MODSIZE) does not cover the mode,
 * so exec's permission check (fuse_permission: a refresh only when
 * MODE/UID/GID are invalid or the attributes expired) would set the old
 * uid until attr_timeout ran out.  (The 6.18 kernel here grants none: it
 * drops the bit itself with GETATTR + SETATTR(mode) before the WRITE, and
 * the hook then finds nothing to drop.)  The fs reports such changes
 * through jfs_set_inval_hook(); this file turns them into
 * fuse_lowlevel_notify_inval_inode(ino, off = -1): attributes only, the
 * kernel's page cache untouched (fuse_reverse_inval_inode).
 *
 * The hook runs under the fs lock inside a request: it only queues.  The
 * notification goes from a thread of its own, because a notify written
 * from a request handler can wait on what that request holds in the
 * kernel (libfuse's warning for every notify call).  The window between
 * the reply and the notification is the kernel's too for a change it
 * learns late; it ends without any request from the kernel.
 *
 * Locking rules: notifier->lock guards the queue; it nests inside the fs
 * lock (the hook) and is never held across a notify.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jfuse.h"
#include "trace.h"

static void notifier_queue(void *arg, ino_t ino)
{
	struct jfuse_notifier *n = arg;

	pthread_mutex_lock(&n->lock);
	if (n->n && n->q[n->n - 1] == ino)
		goto out;	/* already the last one queued */
	if (n->n == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 16;
		ino_t *q = realloc(n->q, cap * sizeof(*q));

		if (!q) {
			if (!n->lost)
				jfuse_err("attribute notifier: out of memory; the kernel's "
					  "attributes of inode %lu stay cached until attr_timeout",
					  (unsigned long)ino);
			n->lost = true;
			goto out;
		}
		n->q = q;
		n->cap = cap;
	}
	n->q[n->n++] = ino;
	pthread_cond_signal(&n->cond);
out:
	pthread_mutex_unlock(&n->lock);
}

static void *notifier_thread(void *arg)
{
	struct jfuse_notifier *n = arg;
	ino_t *batch;
	size_t nb;

	trace_set_thread_name("fuse/notify");
	pthread_mutex_lock(&n->lock);
	for (;;) {
		while (!n->n && !n->stop)
			pthread_cond_wait(&n->cond, &n->lock);
		if (!n->n)
			break;	/* stop, and nothing left to send */
		/* take the whole queue, send outside the lock */
		batch = n->q;
		nb = n->n;
		n->q = NULL;
		n->n = n->cap = 0;
		pthread_mutex_unlock(&n->lock);
		for (size_t i = 0; i < nb; i++) {
			/* -ENOENT: the kernel has no such inode cached, nothing to do */
			int err = fuse_lowlevel_notify_inval_inode(n->se, to_nodeid(batch[i]), -1, 0);

			if (err && err != -ENOENT && err != -ENOTCONN && err != -ENODEV)
				jfuse_err("attribute notifier: inode %lu: %s",
					  (unsigned long)batch[i], strerror(-err));
		}
		free(batch);
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int jfuse_notifier_start(struct jfuse *m)
{
	struct jfuse_notifier *n = &m->notifier;
	int err;

	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	n->se = m->se;
	err = pthread_create(&n->thread, NULL, notifier_thread, n);
	if (err) {
		pthread_cond_destroy(&n->cond);
		pthread_mutex_destroy(&n->lock);
		return -err;
	}
	n->running = true;
	jfs_set_inval_hook(m->fs, notifier_queue, n);
	return 0;
}

void jfuse_notifier_stop(struct jfuse *m)
{
	struct jfuse_notifier *n = &m->notifier;

	if (!n->running)
		return;
	/* no request runs any more: nothing can call the hook now */
	jfs_set_inval_hook(m->fs, NULL, NULL);
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	n->running = false;
	free(n->q);
	n->q = NULL;
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
}
