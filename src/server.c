/* SPDX-License-Identifier: MIT */
/*
 * The receiving side: mp_recv() waits on the port's epoll set, takes one
 * message from a ready connection and hands it over with a rid;
 * mp_respond() sends the answer on the connection the call came from.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "compiler.h"
#include "msgcheck.h"
#include "port.h"
#include "sockio.h"
#include "tls.h"

/* One epoll event; 0 when none came before d.  Counts us as waiting. */
static int port_wait(struct mp_port_obj *p, struct epoll_event *ev, struct mp_deadline d)
{
	_Atomic uint32_t *waiting = &p->pf.page->waiting;
	int n, ms;

	n = epoll_wait(p->epfd, ev, 1, 0);
	if (n != 0)
		return n < 0 ? (errno == EINTR ? 0 : -errno) : n;
	ms = mp_deadline_ms(d);
	if (ms == 0)
		return 0;
	/* Senders read this to tell "delivered to a waiting receiver". */
	atomic_fetch_add_explicit(waiting, 1, memory_order_relaxed);
	n = epoll_wait(p->epfd, ev, 1, ms);
	atomic_fetch_sub_explicit(waiting, 1, memory_order_relaxed);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

/* Take one message from connection key: 1 got, 0 nothing. */
static int conn_take(struct mp_port_obj *p, uint64_t key, struct mp_rx *rx,
		     struct mp_sconn **from)
{
	struct mp_sconn *c = mp_port_conn_get(p, key);
	struct mp_tls *tls = mp_tls_get();
	int r;

	if (!c)
		return 0;
	if (!tls) {
		r = -ENOMEM;
	} else {
		r = c->tp->srv_recv(c, rx, tls->rxbuf, MP_TLS_RXBUF);
	}
	if (r == 1) {
		*from = c;	/* keeps the reference */
		return 1;
	}
	/* Hang-up, or a malformed message: the sender loses its connection. */
	if (r != -EAGAIN && r != -ENOMEM)
		mp_sconn_kill(p, c);
	pthread_mutex_lock(&p->lock);
	mp_sconn_put_locked(p, c);
	pthread_mutex_unlock(&p->lock);
	return r == -ENOMEM ? r : 0;
}

/* Wait for the next message: 1 got one, or -EAGAIN/-ETIMEDOUT/-EPIPE. */
static int port_next(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		     struct mp_deadline d, bool polling)
{
	for (;;) {
		struct epoll_event ev;
		int n;

		if (p->dead)
			return -EPIPE;
		n = port_wait(p, &ev, d);
		if (n < 0)
			return n;
		if (n == 0) {
			if (polling)
				return -EAGAIN;
			if (mp_deadline_ms(d) == 0)
				return -ETIMEDOUT;
			continue;	/* interrupted by a signal */
		}
		if (ev.data.u64 == MP_KEY_SHUTDOWN)
			return -EPIPE;
		if (ev.data.u64 == MP_KEY_LISTEN) {
			mp_port_accept(p);
			continue;
		}
		n = conn_take(p, ev.data.u64, rx, from);
		if (n)
			return n;
	}
}

static void msg_fill_in(mp_msg_t *msg, const struct mp_sconn *c, struct mp_rx *rx)
{
	const struct mp_frame *f = &rx->hdr;

	memset(msg, 0, sizeof(*msg));
	msg->type = f->type;
	msg->oid.port = f->oid_port;
	msg->oid.id = f->oid_id;
	msg->pid = c->pid;
	msg->uid = c->uid;
	msg->gid = c->gid;
	msg->i.data = rx->data;
	msg->i.size = f->data_size;
	memcpy(msg->i.raw, f->raw, MP_RAW_SIZE);
	memcpy(msg->i.fds, rx->fds, sizeof(int) * rx->nfds);
	msg->i.nfds = rx->nfds;
	rx->nfds = 0;	/* the user owns them now */
}

/* A one-way message's data lives until this thread's next mp_recv(). */
static int deliver_oneway(struct mp_rx *rx, mp_rid_t *rid)
{
	struct mp_tls *tls = mp_tls_get();

	mp_tls_oneway_set(tls, rx->data, rx->hdr.data_size, rx->data_mapped);
	*rid = 0;
	return 1;
}

static int deliver_call(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
			mp_msg_t *msg, mp_rid_t *rid)
{
	struct mp_call call = {
		.conn = c, .seq = rx->hdr.seq,
		.in = rx->data, .in_size = rx->hdr.data_size, .in_mapped = rx->data_mapped,
		.out_cap = rx->hdr.out_capacity,
	};
	mp_rid_t r = 0;

	if (call.out_cap && !(call.out = malloc(call.out_cap)))
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	if (!p->dead)
		r = mp_rid_alloc(&p->rids, &call);
	pthread_mutex_unlock(&p->lock);
	if (!r) {
		free(call.out);
		return p->dead ? -EPIPE : -ENOMEM;
	}
	msg->o.data = call.out;
	msg->o.size = call.out_cap;
	*rid = r;
	return 0;
}

static int deliver(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
		   mp_msg_t *msg, mp_rid_t *rid)
{
	int r;

	msg_fill_in(msg, c, rx);
	if (rx->hdr.kind == MP_FRAME_ONEWAY)
		r = deliver_oneway(rx, rid);
	else
		r = deliver_call(p, c, rx, msg, rid);
	if (r >= 0 && rx->hdr.kind == MP_FRAME_CALL)
		return r;	/* the rid keeps the connection reference */
	if (r < 0) {
		mp_fds_close(msg->i.fds, msg->i.nfds);
		mp_rx_release(rx);
		memset(msg, 0, sizeof(*msg));
	}
	pthread_mutex_lock(&p->lock);
	mp_sconn_put_locked(p, c);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int mp_recv(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns)
{
	struct mp_port_obj *p;
	struct mp_sconn *c = NULL;
	struct mp_rx rx;
	int r;

	if (!msg || !rid || port == 0 || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	if (!mp_tls_get())
		return -ENOMEM;
	p = mp_port_get(port);
	if (!p)
		return -ENOENT;
	mp_tls_oneway_release(mp_tls_get());
	r = port_next(p, &rx, &c, mp_deadline_in(timeout_ns), timeout_ns == 0);
	if (r == 1)
		r = deliver(p, c, &rx, msg, rid);
	mp_port_put(p);
	return r;
}

/* Take the call rid out of the table if msg fits it (under p->lock). */
static int call_take(struct mp_port_obj *p, mp_rid_t rid, const mp_msg_t *msg,
		     struct mp_call *out)
{
	struct mp_call *call;
	int err = 0;

	pthread_mutex_lock(&p->lock);
	call = mp_rid_find(&p->rids, rid);
	if (!call)
		err = -ENOENT;
	else if (msg->o.size > call->out_cap)
		err = -EMSGSIZE;
	if (!err) {
		*out = *call;
		mp_rid_free(&p->rids, rid);
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	struct mp_port_obj *p;
	struct mp_call call;
	int err;

	if (!msg || port == 0)
		return -EINVAL;
	err = mp_msg_check_out(&msg->o);
	if (err)
		return err;
	p = mp_port_get(port);
	if (!p)
		return -ENOENT;
	err = call_take(p, rid, msg, &call);
	if (!err) {
		err = call.conn->tp->srv_reply(call.conn, call.seq, msg);
		if (err == -EAGAIN)
			mp_sconn_kill(p, call.conn);	/* it does not read its replies */
		if (err)
			err = -EPIPE;
		mp_call_free_buffers(&call);
		pthread_mutex_lock(&p->lock);
		mp_sconn_put_locked(p, call.conn);
		pthread_mutex_unlock(&p->lock);
	}
	mp_port_put(p);
	return err;
}
