/* SPDX-License-Identifier: MIT */
/* The connection cache: each thread's connection to each port it sends to. */
#include "conn/cconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "os/compiler.h"
#include "ns/portfile.h"
#include "ns/root.h"
#include "mem/bulk.h"
#include "mem/data.h"
#include "mem/pages.h"
#include "os/lack.h"
#include "os/sockio.h"
#include "transport/refuse.h"
#include "transport/transport.h"

/* A connection a fork child inherited is the parent's: closing it must
 * not tell the server anything. */
static unsigned close_flags(const struct mp_cconn *c)
{
	return c->fork_gen != mp_fork_gen ? MP_CLOSE_INHERITED : 0;
}

static void cconn_free(struct mp_cconn *c)
{
	if (!c)
		return;
	if (c->tp && c->tp->close)
		c->tp->close(c, close_flags(c));
	if (c->fd >= 0)
		close(c->fd);
	if (c->portfd >= 0)
		close(c->portfd);
	free(c);
}

__thread struct mp_cconn *mp_cconn_last;

void mp_cconn_close_all(struct mp_tls *tls)
{
	mp_cconn_last = NULL;
	for (unsigned k = 0; k < tls->nconns; k++)
		cconn_free(tls->conns[k]);
	free(tls->conns);
	tls->conns = NULL;
	tls->nconns = 0;
}

static int connect_errno(int err)
{
	/* No socket, or nobody listening on it: the port has no server. */
	if (err == -ECONNREFUSED || err == -ENOENT || err == -ENOTDIR)
		return -ENOENT;
	return err;
}

/* Before connecting again to a full backlog: the wait doubles from
 * 1 ms to 64 ms, within d.  0 to try again, -EAGAIN past d. */
static int backlog_wait(struct mp_deadline d, int64_t *wait_ns)
{
	int64_t left = mp_deadline_forever(d) ? INT64_MAX : d.at_ns - mp_now_ns();
	struct timespec ts;

	if (left <= 0)
		return -EAGAIN;
	*wait_ns = *wait_ns ? (*wait_ns < 64000000 ? *wait_ns * 2 : *wait_ns) : 1000000;
	if (*wait_ns > left)
		*wait_ns = left;
	ts.tv_sec = *wait_ns / 1000000000;
	ts.tv_nsec = *wait_ns % 1000000000;
	nanosleep(&ts, NULL);
	return 0;
}

/* Connect fd to the port's socket at path; the server's accept drains a
 * full backlog (EAGAIN), so that is waited for until d. */
static int connect_wait(int fd, const char *path, struct mp_deadline d)
{
	int64_t wait_ns = 0;
	int err;

	while ((err = mp_sock_connect_path(fd, path)) == -EAGAIN)
		if (backlog_wait(d, &wait_ns))
			break;
	return connect_errno(err);
}

/* Connect the bootstrap socket to the port's and open its port file. */
static int cconn_connect(struct mp_cconn *c, struct mp_deadline d)
{
	char root[MP_ROOT_MAX], path[MP_ROOT_PATH_MAX];
	int err;

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	err = mp_portfile_path(path, sizeof(path), root, c->port, ".sock");
	if (err)
		return err;
	err = connect_wait(c->fd, path, d);
	if (err)
		return err;
	err = mp_portfile_path(path, sizeof(path), root, c->port, "");
	if (err)
		return err;
	c->portfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c->portfd >= 0)
		return 0;
	/* gone (-ENOENT), or our own lack, which is no news of the port */
	return mp_err_resource(-errno) ? -errno : -ENOENT;
}

int mp_cconn_refusal(struct mp_cconn *c, int err)
{
	if (err != -EPIPE && err != -ECONNRESET && err != -EPROTO)
		return err;
	if (!c->refused && c->fd >= 0)
		c->refused = mp_refusal_take(c->fd);
	return c->refused ? c->refused : err;
}

/* Upgrade the bootstrap socket to the transport the port asks for. */
static int transport_open(struct mp_cconn *c, const struct mp_transport *tp)
{
	return tp->open ? tp->open(c) : 0;	/* no open: the socket is the transport */
}

/* The longest data that api/send.c never leaves in our memory for the
 * server: all when that is off, what the bulk areas take (MP_TP_BULK),
 * else up to mp_vm_min(). */
static size_t copy_max(const struct mp_transport *tp)
{
	size_t vmin = mp_vm_min();

	if (!vmin || vmin > MP_DATA_MAX)
		return MP_DATA_MAX;
	return (tp->flags & MP_TP_BULK) ? MP_BULK_MAX : vmin;
}

static int cconn_open(mp_port_t port, struct mp_deadline d, struct mp_cconn **out)
{
	struct mp_cconn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	/* Upward calls into this layer: only our connections care. */
	mp_pages_on_shared_freed(mp_cconn_pages_freed);
	mp_tls_on_thread_exit(mp_cconn_close_all);
	c->port = port;
	c->fork_gen = mp_fork_gen;
	c->tp = mp_transport_bootstrap();
	c->fd = c->portfd = -1;
	err = cconn_connect(c, d);
	if (err)
		goto err;
	err = transport_open(c, mp_transport_for(c->portfd));
	if (err)
		err = mp_cconn_refusal(c, err);	/* the HELLO found it closed */
	if (err)
		goto err;
	c->copy_max = copy_max(c->tp);
	c->deadlines = mp_portfile_flags(c->portfd) > 0;	/* MP_PORTFILE_F_DEADLINES */
	*out = c;
	return 0;
err:
	cconn_free(c);
	return err;
}

static int cache_add(struct mp_tls *tls, struct mp_cconn *c)
{
	struct mp_cconn **v = realloc(tls->conns, sizeof(*v) * (tls->nconns + 1));

	if (!v)
		return -ENOMEM;
	tls->conns = v;
	tls->conns[tls->nconns++] = c;
	return 0;
}

static void cache_drop(struct mp_tls *tls, unsigned k)
{
	if (mp_cconn_last == tls->conns[k])
		mp_cconn_last = NULL;
	cconn_free(tls->conns[k]);
	tls->conns[k] = tls->conns[--tls->nconns];
	if (!tls->nconns)
		mp_pages_trim();	/* nothing left to wait on: no idle to use it */
}

/* This thread's connection to port, opened on first use. *fresh says so. */
int mp_cconn_get(struct mp_tls *tls, mp_port_t port, struct mp_deadline d,
		 struct mp_cconn **out, int *fresh)
{
	struct mp_cconn *c;
	int err;

	for (unsigned k = 0; k < tls->nconns; k++) {
		c = tls->conns[k];
		if (c->fork_gen != mp_fork_gen) {
			cache_drop(tls, k--);	/* the parent's, after fork */
			continue;
		}
		if (c->port == port) {
			*out = c;
			if (!c->deadlines && c->confirmed)	/* never the fast path's */
				mp_cconn_last = c;
			*fresh = 0;
			return 0;
		}
	}
	err = cconn_open(port, d, &c);
	if (err)
		return err;
	err = cache_add(tls, c);
	if (err)
		goto err;
	*out = c;	/* the fast path's once its verdict is known */
	*fresh = 1;
	return 0;
err:
	cconn_free(c);
	return err;
}

struct mp_cconn *mp_cconn_find(mp_port_t port)
{
	struct mp_tls *tls = mp_tls_peek();

	for (unsigned k = 0; tls && k < tls->nconns; k++) {
		struct mp_cconn *c = tls->conns[k];

		if (c->port == port && c->fork_gen == mp_fork_gen)	/* calls carry deadlines; a
									 * one-way waits for the verdict */
			return c->deadlines || !c->confirmed ? NULL : (mp_cconn_last = c);
	}
	return NULL;
}

void mp_cconn_confirm(struct mp_cconn *c)
{
	c->confirmed = true;
	if (!c->deadlines)
		mp_cconn_last = c;
}

void mp_cconn_drop(struct mp_tls *tls, struct mp_cconn *c)
{
	for (unsigned k = 0; k < tls->nconns; k++)
		if (tls->conns[k] == c)
			cache_drop(tls, k);
}

void mp_cconn_pages_freed(void)
{
	struct mp_tls *tls = mp_tls_peek();

	for (unsigned k = 0; tls && k < tls->nconns; k++) {
		struct mp_cconn *c = tls->conns[k];

		if (c->fork_gen == mp_fork_gen && c->tp->pages_freed)
			c->tp->pages_freed(c);
	}
}

int mp_cconn_open(mp_port_t port, struct mp_deadline d, struct mp_cconn **out)
{
	return cconn_open(port, d, out);
}

void mp_cconn_close(struct mp_cconn *c)
{
	cconn_free(c);
}

int mp_cconn_receivers_waiting(struct mp_cconn *c)
{
	if (c->tp->receiver_waiting)
		return c->tp->receiver_waiting(c);
	return mp_portfile_waiting(c->portfd);
}
