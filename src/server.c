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
#include <unistd.h>

#include "compiler.h"
#include "msgcheck.h"
#include "port.h"
#include "sockio.h"
#include "tls.h"
#include "transport_ring.h"
#include "wait.h"

/* Receivers inside mp_recv(): counted in the port file for sock clients
 * and in the port page for ring clients. */
static void waiting_add(struct mp_port_obj *p, int delta)
{
	atomic_fetch_add_explicit(&p->pf.page->waiting, (uint32_t)delta, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->page->waiting, (uint32_t)delta, memory_order_relaxed);
}

static void doorbell_add(struct mp_port_obj *p, int delta)
{
	/* seq_cst: the Dekker handshake with cli_doorbell() */
	atomic_fetch_add(&p->page->doorbell, (uint32_t)delta);
}

/*
 * Whether clients must ring when no receiver sleeps: while a receiver is
 * inside mp_recv(), or a thread-based server will come back to it, the
 * rings are scanned anyway; an event loop waiting on mp_port_fd() needs
 * the doorbell to make the fd readable.  Flipped under the port lock.
 */
static void unattended_set(struct mp_port_obj *p, bool on)
{
	if (p->unattended == on)
		return;
	p->unattended = on;
	doorbell_add(p, on ? 1 : -1);
}

/* A receiver that polls (timeout 0) is not waiting: it counts for nobody. */
static void port_enter(struct mp_port_obj *p, bool polling)
{
	if (!polling)
		waiting_add(p, 1);
	if (!p->unattended && !p->fd_used)
		return;	/* the usual case, without the lock */
	pthread_mutex_lock(&p->lock);
	p->inside++;
	unattended_set(p, false);
	pthread_mutex_unlock(&p->lock);
}

/* Try each polled connection once, round-robin from a moving start so
 * that no client starves another: 1 took a message, 0 none. */
static int rings_scan_locked(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from)
{
	struct mp_tls *tls = mp_tls_get();
	uint32_t n = p->nconns;

	if (!tls)
		return -ENOMEM;
	for (uint32_t k = 0; k < n && p->npolled; k++) {
		uint32_t idx = (p->scan_pos + k) % n;
		struct mp_sconn *c = p->conns[idx];
		int r;

		if (!c || !c->tp->polled)
			continue;
		r = c->tp->srv_recv(c, rx, tls->rxbuf, MP_TLS_RXBUF);
		if (r == 1) {
			c->refs++;
			*from = c;
			p->scan_pos = idx + 1;
			p->peer_cpu = c->peer_cpu;
			return 1;
		}
		if (r == -ENOMEM)
			return r;
		if (r != -EAGAIN)
			mp_sconn_kill_locked(p, c);	/* hung up and drained, or lied */
	}
	return 0;
}

/* Scan the rings; when spinning, leave them to a thread already scanning. */
static int rings_scan(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from, bool spinning)
{
	int r;

	if (!p->npolled)
		return 0;
	if (spinning) {
		if (pthread_mutex_trylock(&p->lock) != 0)
			return 0;
	} else {
		pthread_mutex_lock(&p->lock);
	}
	r = rings_scan_locked(p, rx, from);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void conn_put(struct mp_port_obj *p, struct mp_sconn *c)
{
	pthread_mutex_lock(&p->lock);
	mp_sconn_put_locked(p, c);
	pthread_mutex_unlock(&p->lock);
}

/* A HELLO turns a socket connection into a ring connection. */
static void conn_upgrade(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx)
{
	int err;

	pthread_mutex_lock(&p->lock);
	err = c->dead ? -EPIPE : mp_ring_srv_attach(p, c, rx);
	if (!err)
		p->npolled++;
	else
		mp_sconn_kill_locked(p, c);
	pthread_mutex_unlock(&p->lock);
	mp_rx_release(rx);
}

/* Event on a connection: 1 took a message, 2 handled something else. */
static int conn_event(struct mp_port_obj *p, uint64_t key, struct mp_rx *rx, struct mp_sconn **from)
{
	struct mp_sconn *c = mp_port_conn_get(p, key);
	struct mp_tls *tls = mp_tls_get();
	int r;

	if (!c)
		return 2;
	if (c->tp->polled) {
		/* Doorbell or socket of a ring: the scan finds the message. */
		pthread_mutex_lock(&p->lock);
		if (!(key & MP_KEY_DOORBELL))
			c->tp->srv_event(c);
		mp_sconn_put_locked(p, c);
		pthread_mutex_unlock(&p->lock);
		return 2;
	}
	r = tls ? c->tp->srv_recv(c, rx, tls->rxbuf, MP_TLS_RXBUF) : -ENOMEM;
	if (r == 1 && rx->hdr.kind == MP_FRAME_HELLO) {
		conn_upgrade(p, c, rx);
		r = 2;
	} else if (r == 1 && rx->hdr.kind == MP_FRAME_BULK) {
		mp_rx_release(rx);	/* bulk areas without a ring: a lie */
		mp_sconn_kill(p, c);
		r = 2;
	} else if (r == 1) {
		*from = c;	/* keeps the reference */
		return 1;
	} else if (r != -EAGAIN && r != -ENOMEM) {
		mp_sconn_kill(p, c);	/* hang-up, or a malformed message */
	}
	conn_put(p, c);
	return r == -ENOMEM ? r : 2;
}

static void kick_drain(struct mp_port_obj *p)
{
	uint64_t v;

	if (read(p->kick_efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another receiver drained it first */
	}
}

/* One epoll event: 1 message, 2 handled, <0 -EPIPE (destroyed). */
static int port_dispatch(struct mp_port_obj *p, const struct epoll_event *ev, struct mp_rx *rx,
			 struct mp_sconn **from)
{
	switch (ev->data.u64) {
	case MP_KEY_SHUTDOWN:
		return -EPIPE;
	case MP_KEY_LISTEN:
		mp_port_accept(p);
		return 2;
	case MP_KEY_KICK:
		kick_drain(p);
		return 2;
	default:
		return conn_event(p, ev->data.u64, rx, from);
	}
}

/* Wait up to ms for one event and handle it: 1 message, 2 handled, 0 none. */
static int port_events(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from, int ms)
{
	struct epoll_event ev;
	int n = epoll_wait(p->epfd, &ev, 1, ms);

	if (n < 0)
		return errno == EINTR ? 2 : -errno;
	return n == 0 ? 0 : port_dispatch(p, &ev, rx, from);
}

/* Stop polling the rings and block in epoll; a message published while we
 * stop is found by the scan after the fence, or its doorbell wakes us. */
static int port_sleep(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		      struct mp_deadline d)
{
	int r;

	doorbell_add(p, 1);
	full_fence();
	r = rings_scan(p, rx, from, false);
	if (r == 0)
		r = port_events(p, rx, from, mp_deadline_ms(d));
	doorbell_add(p, -1);
	return r;
}

static bool deadline_passed(struct mp_deadline d)
{
	return d.at_ns >= 0 && d.at_ns <= mp_now_ns();
}

/* Wait for the next message: 1 got one, or -EAGAIN/-ETIMEDOUT/-EPIPE. */
static int port_next(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		     struct mp_deadline d, bool polling)
{
	struct mp_spin sp;
	unsigned iter = 0;

	mp_spin_init(&sp, p->peer_cpu);
	/* The tick is the port's, not this call's: a ring that always has a
	 * message must not starve socket clients and new connections. */
	for (;;) {
		int r;

		if (p->dead)
			return -EPIPE;
		r = rings_scan(p, rx, from, true);
		if (r != 0)
			return r;
		/* Sockets, new clients and destroy are looked at now and then. */
		iter++;
		if (!p->npolled || polling ||
		    (atomic_fetch_add_explicit(&p->event_tick, 1, memory_order_relaxed) & 255) == 255) {
			r = port_events(p, rx, from, 0);
			if (r == 2 && polling && iter < 64)
				continue;
			if (r != 0 && r != 2)
				return r;
		}
		if (polling)
			return -EAGAIN;
		if (deadline_passed(d))
			return -ETIMEDOUT;
		if (p->npolled && mp_spin_step(&sp))
			continue;
		r = port_sleep(p, rx, from, d);
		if (r != 0 && r != 2)
			return r;
	}
}

/* Consume the edge-triggered doorbells and other non-message events that
 * a scan made stale, so that the port fd reads ready only for messages. */
static void events_settle(struct mp_port_obj *p)
{
	struct epoll_event ev[16];
	int n = epoll_wait(p->epfd, ev, 16, 0);

	for (int k = 0; k < n; k++) {
		uint64_t key = ev[k].data.u64;
		struct mp_sconn *c;

		if (key == MP_KEY_KICK) {
			kick_drain(p);
		} else if (key == MP_KEY_LISTEN) {
			mp_port_accept(p);
		} else if (key != MP_KEY_SHUTDOWN && (c = mp_port_conn_get(p, key))) {
			pthread_mutex_lock(&p->lock);
			if (c->tp->polled && !(key & MP_KEY_DOORBELL))
				c->tp->srv_event(c);
			mp_sconn_put_locked(p, c);
			pthread_mutex_unlock(&p->lock);
		}
	}
}

/* Whether a polled connection holds a message (under p->lock). */
static bool rings_pending_locked(struct mp_port_obj *p)
{
	for (uint32_t k = 0; k < p->nconns && p->npolled; k++) {
		struct mp_sconn *c = p->conns[k];

		if (c && c->tp->polled && c->tp->srv_pending(c))
			return true;
	}
	return false;
}

/* An event loop waits on mp_port_fd(): messages that arrived while we were
 * polling rang no doorbell, so make the fd readable for them. */
static void port_leave(struct mp_port_obj *p, bool polling)
{
	uint64_t one = 1;
	bool pending;

	if (!polling)
		waiting_add(p, -1);
	if (!p->fd_used)
		return;
	events_settle(p);
	pthread_mutex_lock(&p->lock);
	if (p->inside && --p->inside == 0)
		unattended_set(p, true);
	full_fence();	/* the doorbell flag before the rings, as in port_sleep() */
	pending = rings_pending_locked(p);
	pthread_mutex_unlock(&p->lock);
	if (pending && write(p->kick_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already kicked */
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
		.t_recv = mp_ticks(),
	};
	mp_rid_t r = 0;

	if (c->tp->srv_out_buf)
		call.out = c->tp->srv_out_buf(c, call.out_cap);
	call.out_shared = call.out != NULL;
	if (call.out_cap && !call.out && !(call.out = malloc(call.out_cap)))
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	if (!p->dead)
		r = mp_rid_alloc(&p->rids, &call);
	pthread_mutex_unlock(&p->lock);
	if (!r) {
		if (!call.out_shared)
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
	port_enter(p, timeout_ns == 0);
	r = port_next(p, &rx, &c, mp_deadline_in(timeout_ns), timeout_ns == 0);
	port_leave(p, timeout_ns == 0);
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
		unsigned flags = mp_ticks() - call.t_recv > MP_TICKS_HELD ? MP_REPLY_ASK_PEER : 0;

		err = call.conn->tp->srv_reply(call.conn, call.seq, msg, flags);
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
