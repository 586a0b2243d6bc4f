/* SPDX-License-Identifier: MIT */
/* The free list of connections for started calls (conn/callpool.h). */
#include "conn/callpool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "conn/cconn.h"

/* Idle connections of every port, newest first; the lock is a leaf. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_callconn *pool_idle;

void mp_callpool_drop(struct mp_callconn *k)
{
	if (!k)
		return;
	mp_cconn_close(k->c);
	if (k->epfd >= 0)
		close(k->epfd);
	if (k->kick >= 0)
		close(k->kick);
	free(k);
}

static int watch_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int callconn_new(mp_port_t port, struct mp_callconn **out)
{
	struct mp_callconn *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return -ENOMEM;
	k->wake_fd = -1;
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	k->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = k->epfd < 0 || k->kick < 0 ? -errno : 0;
	if (err)
		goto err;
	/* never waits: a full listen backlog is -EAGAIN at once */
	err = mp_cconn_open(port, mp_deadline_in(0), &k->c);
	if (err)
		goto err;
	err = watch_add(k->epfd, k->kick);
	if (!err)
		err = watch_add(k->epfd, k->c->fd);
	if (!err)
		err = mp_callpool_watch(k);
	if (err)
		goto err;
	*out = k;
	return 0;
err:
	mp_callpool_drop(k);
	return err;
}

/* An idle connection is fit for a call: ours (not a fork parent's), and
 * its server has not hung up meanwhile. */
static bool callconn_fit(const struct mp_callconn *k)
{
	struct pollfd p = { .fd = k->c->fd, .events = POLLIN };

	if (k->c->fork_gen != mp_fork_gen)
		return false;
	return poll(&p, 1, 0) == 0;
}

/* Take port's newest idle connection off the list: NULL when none.  The
 * unfit ones met on the way are handed back for closing in *dead. */
static struct mp_callconn *pool_take(mp_port_t port, struct mp_callconn **dead)
{
	struct mp_callconn **pp, *k;

	pthread_mutex_lock(&pool_lock);
	for (pp = &pool_idle; (k = *pp) != NULL;) {
		if (k->c->port != port && k->c->fork_gen == mp_fork_gen) {
			pp = &k->next;
			continue;
		}
		*pp = k->next;
		if (k->c->port == port && callconn_fit(k))
			break;
		k->next = *dead;
		*dead = k;
	}
	pthread_mutex_unlock(&pool_lock);
	return k;
}

static void drop_list(struct mp_callconn *k)
{
	while (k) {
		struct mp_callconn *next = k->next;

		mp_callpool_drop(k);
		k = next;
	}
}

int mp_callpool_get(mp_port_t port, struct mp_callconn **out)
{
	struct mp_callconn *dead = NULL, *k = pool_take(port, &dead);

	drop_list(dead);	/* closed outside the lock */
	if (k) {
		k->next = NULL;
		*out = k;
		return 0;
	}
	return callconn_new(port, out);
}

void mp_callpool_put(struct mp_callconn *k)
{
	struct mp_callconn *p;
	unsigned n = 0;

	mp_callpool_unkick(k);
	pthread_mutex_lock(&pool_lock);
	for (p = pool_idle; p; p = p->next)
		n += p->c->port == k->c->port;
	if (n < MP_CALLPOOL_IDLE_MAX) {
		k->next = pool_idle;
		pool_idle = k;
		k = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	mp_callpool_drop(k);	/* enough idle ones already */
}

int mp_callpool_watch(struct mp_callconn *k)
{
	int fd = k->c->tp->call_wake_fd ? k->c->tp->call_wake_fd(k->c) : -1;
	int err;

	if (fd < 0 || fd == k->wake_fd)
		return 0;
	err = watch_add(k->epfd, fd);
	if (!err)
		k->wake_fd = fd;
	return err;
}

void mp_callpool_kick(struct mp_callconn *k)
{
	uint64_t one = 1;

	if (write(k->kick, &one, sizeof(one)) < 0) {
		/* EAGAIN: it is readable already */
	}
}

void mp_callpool_unkick(struct mp_callconn *k)
{
	uint64_t v;

	if (read(k->kick, &v, sizeof(v)) < 0) {
		/* EAGAIN: it was not */
	}
}

void mp_callpool_flush(void)
{
	struct mp_callconn *k;

	pthread_mutex_lock(&pool_lock);
	k = pool_idle;
	pool_idle = NULL;
	pthread_mutex_unlock(&pool_lock);
	drop_list(k);
}
