/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compiler.h"
#include "msgcheck.h"
#include "portfile.h"
#include "root.h"
#include "sockio.h"
#include "transport_ring.h"

static void cconn_free(struct mp_cconn *c)
{
	if (!c)
		return;
	if (c->tp && c->tp->close)
		c->tp->close(c);
	if (c->fd >= 0)
		close(c->fd);
	if (c->portfd >= 0)
		close(c->portfd);
	free(c);
}

void mp_cconn_close_all(struct mp_tls *tls)
{
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

/* Upgrade the bootstrap socket to the chosen transport. */
static int transport_open(struct mp_cconn *c, const struct mp_transport *tp)
{
	if (tp == &mp_transport_sock)
		return 0;
	return mp_ring_client_open(c, tp);
}

static int cconn_open(mp_port_t port, struct mp_cconn **out)
{
	char root[MP_ROOT_MAX], path[MP_ROOT_PATH_MAX];
	struct mp_cconn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->port = port;
	c->fork_gen = mp_fork_gen;
	c->tp = &mp_transport_sock;
	c->portfd = -1;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	err = c->fd < 0 ? -errno : mp_root_get(root, sizeof(root));
	if (!err)
		err = mp_portfile_path(path, sizeof(path), root, port, ".sock");
	if (!err)
		err = connect_errno(mp_sock_connect_path(c->fd, path));
	if (!err)
		err = mp_portfile_path(path, sizeof(path), root, port, "");
	if (!err && (c->portfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		err = -ENOENT;
	if (!err)
		err = transport_open(c, mp_transport_for(c->portfd));
	if (err) {
		cconn_free(c);
		return err;
	}
	*out = c;
	return 0;
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
	cconn_free(tls->conns[k]);
	tls->conns[k] = tls->conns[--tls->nconns];
}

/* This thread's connection to port, opened on first use. *fresh says so. */
static int cconn_get(struct mp_tls *tls, mp_port_t port, struct mp_cconn **out, int *fresh)
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
			*fresh = 0;
			return 0;
		}
	}
	err = cconn_open(port, &c);
	if (!err && (err = cache_add(tls, c)))
		cconn_free(c);
	if (!err) {
		*out = c;
		*fresh = 1;
	}
	return err;
}

static void cconn_drop(struct mp_tls *tls, struct mp_cconn *c)
{
	for (unsigned k = 0; k < tls->nconns; k++)
		if (tls->conns[k] == c)
			cache_drop(tls, k);
}

enum { SEND_CALL, SEND_ONEWAY };

static int receivers_waiting(struct mp_cconn *c)
{
	if (c->tp->receiver_waiting)
		return c->tp->receiver_waiting(c);
	return mp_portfile_waiting(c->portfd);
}

static int send_via(struct mp_cconn *c, int how, mp_msg_t *msg, struct mp_deadline d)
{
	return how == SEND_CALL ? c->tp->call(c, msg, d) : c->tp->oneway(c, msg, d);
}

/*
 * Send on this thread's connection.  A cached connection whose server has
 * gone since its last use did not take the message: reconnect once.
 * *waiting gets the receivers waiting just before sending.
 */
static int send_common(mp_port_t port, mp_msg_t *msg, int how, int64_t timeout_ns, int *waiting)
{
	struct mp_tls *tls = mp_tls_get();
	struct mp_deadline d = mp_deadline_in(timeout_ns);
	struct mp_cconn *c;
	int fresh, err;

	if (!tls)
		return -ENOMEM;
	for (int attempt = 0;; attempt++) {
		err = cconn_get(tls, port, &c, &fresh);
		if (err)
			return err;
		if (how == SEND_ONEWAY || timeout_ns == 0)
			*waiting = receivers_waiting(c);
		if (how == SEND_CALL && timeout_ns == 0) {
			if (*waiting <= 0)
				return -EAGAIN;
			d = mp_deadline_in(MP_FOREVER);
		}
		err = send_via(c, how, msg, d);
		if (err == -ECONNRESET && !fresh && attempt == 0) {
			cconn_drop(tls, c);
			continue;
		}
		break;
	}
	if (err == -ECONNRESET)
		err = -EPIPE;
	/* After a broken or abandoned call the connection is unusable; its
	 * server sees the hang-up, and its respond then fails. */
	if (err == -EPIPE || err == -ETIME || err == -EPROTO)
		cconn_drop(tls, c);
	return err == -ETIME ? -ETIMEDOUT : err;
}

int mp_send(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	int waiting, err;

	if (port == 0 || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	err = mp_msg_check_send(msg, 1);
	if (err)
		return err;
	return send_common(port, msg, SEND_CALL, timeout_ns, &waiting);
}

int mp_send_async(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	int waiting, err;

	if (port == 0 || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	err = mp_msg_check_send(msg, 0);
	if (err)
		return err;
	err = send_common(port, msg, SEND_ONEWAY, timeout_ns, &waiting);
	if (err)
		return err;
	return waiting > 0 ? 0 : 1;
}
