// SPDX-License-Identifier: GPL-2.0
/*
 * syncer.c - the fsync waiter of the one-thread request loop.
 *
 * The default request loop is one thread (mount_main.c): on this 2-core
 * machine libfuse's worker pool costs more than it gives, because every
 * request then wakes a different reader of /dev/fuse (fuse_dev_do_read's
 * exclusive wait is FIFO) and FORGETs run beside the UNLINK that caused
 * them, each fighting the other for the fs lock.  The one op that sleeps
 * for long is fsync: ext4_sync_file -> jbd2_complete_transaction waits for
 * a commit, which includes the host's flush.  A loop thread asleep there
 * would stall every other process on the mount, which the kernel never
 * does.  So FSYNC/FSYNCDIR are queued here and answered by this thread
 * (libfuse lets any thread reply to a request), and the loop goes on.
 *
 * Group commit falls out as in the kernel: fsyncs that arrive while a
 * commit runs queue up, the first waits for its transaction, the next
 * ones find theirs committed or wait for the one commit that carries them
 * all (jbd2_log_wait_commit).  Simplification: the waiter is one thread,
 * so the tid an fsync waits for is read when the waiter reaches it, not
 * when the request arrived; it can only be the same or later (later
 * means a longer wait, never a missed one).
 *
 * Locking rules: syncer->lock guards the queue; it is never held across
 * a call into the fs or a reply.
 */
#include <errno.h>
#include <stdlib.h>

#include "jfuse.h"
#include "trace.h"

static void *syncer_thread(void *arg)
{
	struct jfuse_syncer *s = arg;
	struct jfuse_sync_req *batch, *r;

	trace_set_thread_name("fuse/fsync");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->head)
			break;	/* stop, and nothing left to answer */
		batch = s->head;
		s->head = NULL;
		s->tail = &s->head;
		pthread_mutex_unlock(&s->lock);
		while ((r = batch)) {
			batch = r->next;
			fuse_reply_err(r->req, -jfs_fsync(s->fs, r->ino, r->datasync));
			free(r);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

bool jfuse_syncer_queue(struct jfuse *m, fuse_req_t req, ino_t ino, bool datasync)
{
	struct jfuse_syncer *s = &m->syncer;
	struct jfuse_sync_req *r;

	if (!s->running)
		return false;
	r = malloc(sizeof(*r));
	if (!r)
		return false;	/* the caller waits itself: slower, still correct */
	r->next = NULL;
	r->req = req;
	r->ino = ino;
	r->datasync = datasync;
	pthread_mutex_lock(&s->lock);
	*s->tail = r;
	s->tail = &r->next;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

int jfuse_syncer_start(struct jfuse *m)
{
	struct jfuse_syncer *s = &m->syncer;
	int err;

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->head = NULL;
	s->tail = &s->head;
	s->fs = m->fs;
	err = pthread_create(&s->thread, NULL, syncer_thread, s);
	if (err) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		return -err;
	}
	s->running = true;
	return 0;
}

void jfuse_syncer_stop(struct jfuse *m)
{
	struct jfuse_syncer *s = &m->syncer;

	if (!s->running)
		return;
	/* the loop is over: nothing queues any more */
	s->running = false;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}
