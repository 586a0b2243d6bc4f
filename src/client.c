/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bulk.h"
#include "compiler.h"
#include "data.h"
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

void mp_cconn_pages_freed(void)
{
	struct mp_tls *tls = mp_tls_peek();

	for (unsigned k = 0; tls && k < tls->nconns; k++) {
		struct mp_cconn *c = tls->conns[k];

		if (c->fork_gen == mp_fork_gen && c->tp->pages_freed)
			c->tp->pages_freed(c);
	}
}

enum { SEND_CALL, SEND_ONEWAY };

static int receivers_waiting(struct mp_cconn *c)
{
	if (c->tp->receiver_waiting)
		return c->tp->receiver_waiting(c);
	return mp_portfile_waiting(c->portfd);
}

static int send_via(struct mp_cconn *c, int how, mp_msg_t *msg, struct mp_deadline d,
		    struct mp_xfer *x)
{
	return how == SEND_CALL ? c->tp->call(c, msg, d, x) : c->tp->oneway(c, msg, d, x);
}

static bool ranges_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return alen && blen && x < y + blen && y < x + alen;
}

/* Input pages: moved or shared.  Moved pages cannot be the output too. */
static int xfer_pages_in(const mp_msg_t *msg, unsigned mode, struct mp_xfer *x)
{
	int r = mp_pages_tx_begin(&x->in, msg->i.data, msg->i.size, mode);

	if (r <= 0)
		return r;
	if (mode == MP_MOVE && ranges_overlap(x->in.addr, x->in.len, msg->o.data, msg->o.size)) {
		mp_pages_tx_end(&x->in, false);
		return -EINVAL;
	}
	x->fflags |= MP_FRAME_DATA_PAGES | (mode == MP_SHARE ? MP_FRAME_PAGES_SHARE : 0);
	return 0;
}

/* The hybrid transport's bulk areas take this call (unless pages send it
 * as a frame): faster than process_vm_readv/writev (measured: a user-space
 * memcpy each way, the answer written in place), so those are not offered. */
static bool bulk_covers(const struct mp_cconn *c, const mp_msg_t *msg)
{
	return c->tp == &mp_transport_hybrid && msg->i.nfds == 0 && msg->i.size <= MP_BULK_MAX &&
	       msg->o.size <= MP_BULK_MAX;
}

/*
 * How the message's long data travels (struct mp_xfer): pages by their
 * memfd; output pages lent to the server (MP_SHARE); ordinary buffers of
 * more than mp_vm_min() bytes left in our memory for the server to read,
 * and to write while we wait without limit (a caller that gives up must
 * not have its buffer written after it returned).
 */
static int xfer_prepare(struct mp_cconn *c, const mp_msg_t *msg, int how, struct mp_deadline d,
			struct mp_xfer *x)
{
	unsigned mode = (msg->flags & MP_SHARE) ? MP_SHARE : MP_MOVE;
	size_t vmin;
	int r;

	mp_xfer_init(x);
	r = xfer_pages_in(msg, mode, x);
	if (r || how != SEND_CALL)
		return r;
	if (mode == MP_SHARE && (r = mp_pages_tx_begin(&x->out, msg->o.data, msg->o.size, MP_SHARE))) {
		if (r < 0) {
			mp_pages_tx_end(&x->in, false);
			return r;
		}
		x->fflags |= MP_FRAME_OUT_PAGES;
	}
	vmin = mp_vm_min();
	if (!vmin || c->vm_denied || (!x->fflags && bulk_covers(c, msg)))
		return 0;
	if (!(x->fflags & MP_FRAME_DATA_PAGES) && msg->i.size > vmin)
		x->fflags |= MP_FRAME_DATA_VM;
	if (!(x->fflags & MP_FRAME_OUT_PAGES) && msg->o.size > vmin && mp_deadline_forever(d))
		x->fflags |= MP_FRAME_OUT_VM;
	return 0;
}

/* The send is over: moved pages are gone if the server may have them,
 * and back in place if it cannot (-ECONNRESET: it never took them). */
static void xfer_end(struct mp_xfer *x, int err)
{
	mp_pages_tx_end(&x->in, x->sent && err != -ECONNRESET);
	mp_pages_tx_end(&x->out, true);
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
	struct mp_xfer x;
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
		err = xfer_prepare(c, msg, how, d, &x);
		if (err)
			return err;
		err = send_via(c, how, msg, d, &x);
		xfer_end(&x, err);
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
