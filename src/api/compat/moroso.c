/* SPDX-License-Identifier: MIT */
/*
 * The Moroso IPC front-end (include/msgport/moroso.h): per-thread mailboxes
 * on msgport ports, synchronous and asynchronous short messages, and long
 * messages whose pages travel as a sealed memfd.
 *
 * Every Moroso message is an mp_msg_t of type MORO_TYPE with a struct
 * moro_hdr in i.raw, the short message in i.data and, for a long message,
 * its memfd in i.fds[0].  Synchronous messages (option_sync 1 and 2, long
 * messages) are msgport calls; asynchronous ones are one-way sends.  The
 * header and the memfd come from another process: ipc_recv() reads the
 * header once, checks every field and the memfd's seals and size, and
 * drops what does not fit (answering a call with an error).
 *
 * Answers the library gives by itself carry a negative o.err:
 * -ETIMEDOUT the message had expired when it was taken, -ESRCH it reached
 * the wrong mailbox (a stale cached port number), -EPROTO it was malformed.
 * ipc_reply() answers with o.err 0.
 *
 * This file: the thread state and the mailboxes.  The checks of the
 * caller's buffers are in moroso_mem.c, sending in moroso_send.c, receiving
 * and replying in moroso_recv.c.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/compat/moroso_priv.h"

static pthread_key_t moro_key;
static pthread_once_t moro_once = PTHREAD_ONCE_INIT;
static unsigned moro_gen;
static __thread struct moro_tls *moro_cur;

static void sleep_tick(void)
{
	struct timespec ts = { 0, MOROSO_TICK_NS };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------ thread state */

static void tls_free(void *arg)
{
	struct moro_tls *t = arg;

	if (t->box && t->gen == moro_gen)
		mp_port_destroy(t->box);	/* the thread's death: senders get -EPIPE */
	free(t);
	moro_cur = NULL;
}

static void fork_child(void)
{
	moro_gen++;
	mp_moro_mem_forked();
}

static void moro_init_once(void)
{
	mp_moro_mem_init();
	pthread_key_create(&moro_key, tls_free);
	pthread_atfork(NULL, NULL, fork_child);
}

struct moro_tls *mp_moro_tls(void)
{
	struct moro_tls *t = moro_cur;

	if (t && t->gen == moro_gen)
		return t;
	if (t) {	/* a fork child: the mailbox was the parent's */
		t->gen = moro_gen;
		t->tid = (pid_t)syscall(SYS_gettid);
		t->box = 0;
		t->pending = false;
		return t;
	}
	pthread_once(&moro_once, moro_init_once);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->gen = moro_gen;
	t->tid = (pid_t)syscall(SYS_gettid);
	mp_moro_mem_thread();
	if (pthread_setspecific(moro_key, t) != 0)
		goto err;
	moro_cur = t;
	return t;
err:
	free(t);
	return NULL;
}

/* -------------------------------------------------------- mailboxes */

static void box_path(char *buf, size_t len, pid_t tid)
{
	snprintf(buf, len, "/moroso/%d", (int)tid);
}

int mp_moro_box_open(struct moro_tls *t)
{
	char path[32];
	mp_port_t port;
	int err;

	if (t->box)
		return 0;
	err = mp_port_create(&port);
	if (err)
		return err;
	box_path(path, sizeof(path), t->tid);
	err = mp_port_register(port, path, 0666);
	if (err)
		goto err;
	t->box = port;
	return 0;
err:
	mp_port_destroy(port);
	return err;
}

int mp_moroso_mailbox_init(void)
{
	struct moro_tls *t = mp_moro_tls();

	return t ? mp_moro_box_open(t) : -ENOMEM;
}

int mp_moroso_mailbox_destroy(void)
{
	struct moro_tls *t = mp_moro_tls();

	if (!t)
		return -ENOMEM;
	if (t->box)
		mp_port_destroy(t->box);
	t->box = 0;
	t->pending = false;
	return 0;
}

static bool thread_exists(pid_t tid)
{
	return kill(tid, 0) == 0 || errno == EPERM;
}

void mp_moro_cache_drop(struct moro_tls *t, pid_t tid)
{
	for (unsigned k = 0; k < MORO_CACHE; k++)
		if (t->cache[k].tid == tid)
			t->cache[k].tid = 0;
}

static bool cache_find(const struct moro_tls *t, pid_t tid, mp_port_t *port)
{
	for (unsigned k = 0; k < MORO_CACHE; k++) {
		if (t->cache[k].tid == tid) {
			*port = t->cache[k].port;
			return true;
		}
	}
	return false;
}

static void cache_add(struct moro_tls *t, pid_t tid, mp_port_t port)
{
	t->cache[t->cache_next].tid = tid;
	t->cache[t->cache_next].port = port;
	t->cache_next = (t->cache_next + 1) % MORO_CACHE;
}

int mp_moro_box_find(struct moro_tls *t, pid_t tid, bool may_wait, struct moro_deadline d,
		     mp_port_t *port)
{
	char path[32];
	mp_oid_t oid;
	int err;

	if (cache_find(t, tid, port))
		return 0;
	box_path(path, sizeof(path), tid);
	while ((err = mp_lookup(path, &oid)) == -ENOENT) {
		if (!thread_exists(tid))
			return -ESRCH;
		if (!may_wait || d.poll)
			return -EAGAIN;
		if (moro_deadline_left(d) < MP_FOREVER)
			return -ETIMEDOUT;
		sleep_tick();
	}
	if (err)
		return err;
	cache_add(t, tid, oid.port);
	*port = oid.port;
	return 0;
}
