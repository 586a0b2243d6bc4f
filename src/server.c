/* SPDX-License-Identifier: MIT */
/*
 * The receiving side: mp_recv() waits on the port's epoll set, takes one
 * message from a ready connection and hands it over with a rid;
 * mp_respond() sends the answer on the connection the call came from.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "compiler.h"
#include "data.h"
#include "pages.h"
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

static bool rings_pending_locked(struct mp_port_obj *p);

/*
 * Doorbells coalesce: two messages can ring while two receivers sleep and
 * wake only one.  So a receiver that took a message passes the wake-up on
 * when another message waits and another receiver sleeps (the doorbell
 * count is above its own share: mine, plus one for "unattended").  Under
 * the port lock.  Checked in model/port.pml (CHAIN).
 */
static void wake_pass_on_locked(struct mp_port_obj *p, unsigned mine)
{
	uint32_t others = mine + (atomic_load_explicit(&p->unattended, memory_order_relaxed) ? 1 : 0);
	uint64_t one = 1;

	if (atomic_load(&p->page->doorbell) <= others || !rings_pending_locked(p))
		return;
	if (write(p->kick_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already kicked */
	}
}

/* Try each polled connection once, round-robin from a moving start so
 * that no client starves another: 1 took a message, 0 none.  mine: this
 * receiver is counted as asleep in the doorbell (port_sleep). */
static int rings_scan_locked(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
			     unsigned mine)
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
			atomic_store_explicit(&p->peer_cpu, c->peer_cpu, memory_order_relaxed);
			wake_pass_on_locked(p, mine);
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
static int rings_scan(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from, bool spinning,
		      unsigned mine)
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
	r = rings_scan_locked(p, rx, from, mine);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void conn_put(struct mp_port_obj *p, struct mp_sconn *c)
{
	pthread_mutex_lock(&p->lock);
	mp_sconn_put_locked(p, c);
	pthread_mutex_unlock(&p->lock);
}

static void conn_read_done(struct mp_port_obj *p, struct mp_sconn *c)
{
	pthread_mutex_lock(&p->lock);
	c->reading = false;
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
	c->reading = false;
	pthread_mutex_unlock(&p->lock);
	mp_rx_release(rx);
}

/* Event on a connection: 1 took a message, 2 handled something else. */
static int conn_event(struct mp_port_obj *p, uint64_t key, struct mp_rx *rx, struct mp_sconn **from)
{
	struct mp_sconn *c = mp_port_conn_get(p, key);
	struct mp_tls *tls = mp_tls_get();
	bool hello;
	int r;

	if (!c)
		return 2;
	pthread_mutex_lock(&p->lock);
	if (c->tp->polled) {
		/* Doorbell or socket of a ring: the scan finds the message. */
		if (!(key & MP_KEY_DOORBELL))
			c->tp->srv_event(c);
		mp_sconn_put_locked(p, c);
		pthread_mutex_unlock(&p->lock);
		return 2;
	}
	/* One reader per socket connection: a HELLO read here makes it a ring
	 * connection, and no other thread may take the frames after it as
	 * socket messages meanwhile (the socket stays readable: it comes back). */
	if (c->reading) {
		mp_sconn_put_locked(p, c);
		pthread_mutex_unlock(&p->lock);
		return 2;
	}
	c->reading = true;
	pthread_mutex_unlock(&p->lock);
	r = tls ? c->tp->srv_recv(c, rx, tls->rxbuf, MP_TLS_RXBUF) : -ENOMEM;
	hello = r == 1 && rx->hdr.kind == MP_FRAME_HELLO;
	if (!hello)
		conn_read_done(p, c);	/* (conn_upgrade() does it for a HELLO) */
	if (hello) {
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
	r = rings_scan(p, rx, from, false, 1);
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

	mp_spin_init(&sp, atomic_load_explicit(&p->peer_cpu, memory_order_relaxed));
	/* The tick is the port's, not this call's: a ring that always has a
	 * message must not starve socket clients and new connections. */
	for (;;) {
		int r;

		if (p->dead)
			return -EPIPE;
		r = rings_scan(p, rx, from, true, 0);
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
	if (f->flags & MP_FRAME_DATA_PAGES)
		msg->flags = (f->flags & MP_FRAME_PAGES_SHARE) ? MP_SHARE : MP_MOVE;
	else if (rx->in_bulk == MP_RX_BULK_SHARE)
		msg->flags = MP_SHARE;	/* the caller can still write it */
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

/* Nothing was delivered: wait for the next message. */
#define DELIVER_SKIP 2

/*
 * Long data that is not in memory yet: map received pages, or read the
 * caller's buffer (it is blocked in its call) straight into ours.
 * 1 ready; 0 the kernel does not let us read the caller; <0 a bad
 * message or a caller that is gone (-EPROTO, -EPIPE), -ENOMEM.
 */
static int rx_fetch(const struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx)
{
	const struct mp_frame *f = &rx->hdr;
	void *buf;
	int err;

	if ((f->flags & MP_FRAME_DATA_PAGES) && rx->data_kind != MP_BUF_PAGES) {
		err = mp_pages_rx_map(rx->pages_fd, f->data_size, f->flags & MP_FRAME_PAGES_SHARE,
				      MP_PAGES_RX_AUTO, &rx->data, &rx->pages_id);
		rx->pages_fd = -1;
		if (err)
			return err;
		rx->data_kind = MP_BUF_PAGES;
	} else if (f->flags & MP_FRAME_DATA_VM) {
		buf = mp_buf_get(f->data_size);
		if (!buf)
			return -ENOMEM;
		err = mp_vm_read(c->pid, f->in_addr, buf, f->data_size);
		if (err) {
			mp_buf_put(buf, f->data_size);
			return err == -EPERM ? 0 : err == -ESRCH ? -EPIPE : -EPROTO;
		}
		rx->data = buf;
		rx->data_kind = MP_BUF_CACHE;
	} else if (rx->in_bulk == MP_RX_BULK_COPY && p->input_in_place) {
		rx->in_bulk = MP_RX_BULK_SHARE;	/* the server asked for it in place */
	} else if (rx->in_bulk == MP_RX_BULK_COPY && f->data_size) {
		buf = mp_buf_get(f->data_size);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, rx->data, f->data_size);	/* read once: the caller can still write */
		rx->data = buf;
		rx->data_kind = MP_BUF_CACHE;
		rx->in_bulk = 0;
	}
	return 1;
}

/* Tell the caller to send its data along after all; a caller that
 * cannot be told is dropped. */
static void refuse_vm(struct mp_port_obj *p, struct mp_sconn *c, const struct mp_rx *rx)
{
	mp_msg_t m;
	struct mp_xfer x;

	memset(&m, 0, sizeof(m));
	mp_xfer_init(&x);
	x.fflags = MP_FRAME_VM_REFUSED;
	if (c->tp->srv_reply(c, rx->hdr.seq, &m, 0, &x) != 0)
		mp_sconn_kill(p, c);
}

/* A one-way message's data lives until this thread's next mp_recv(). */
static int deliver_oneway(struct mp_rx *rx, mp_msg_t *msg, mp_rid_t *rid)
{
	struct mp_tls *tls = mp_tls_get();

	if (rx->data_kind == MP_BUF_PAGES) {
		mp_pages_oneway_hold(rx->data, rx->pages_id);
		mp_tls_oneway_set(tls, NULL, 0, 0);
	} else if (rx->data_kind == MP_BUF_CACHE || rx->data_kind == MP_BUF_SHARED) {
		/* Our clients use these for calls only; a one-way that came
		 * this way anyway gets a plain copy. */
		void *copy = malloc(rx->hdr.data_size ? rx->hdr.data_size : 1);

		if (!copy)
			return -ENOMEM;
		memcpy(copy, rx->data, rx->hdr.data_size);
		mp_rx_release(rx);
		msg->i.data = copy;
		msg->flags = 0;
		mp_tls_oneway_set(tls, copy, rx->hdr.data_size, 0);
	} else {
		mp_tls_oneway_set(tls, rx->data, rx->hdr.data_size, rx->data_kind == MP_BUF_MAPPED);
	}
	*rid = 0;
	return 1;
}

/* The buffer the server writes its answer into: the caller's lent pages,
 * the transport's shared memory, or one of ours. */
static int call_out_buf(struct mp_sconn *c, struct mp_rx *rx, struct mp_call *call)
{
	int err;

	if (rx->out_data) {	/* lent pages the connection keeps mapped */
		call->out = rx->out_data;
		call->out_kind = MP_BUF_PAGES;
		call->out_id = rx->out_id;
		rx->out_data = NULL;
		return 0;
	}
	if (rx->hdr.flags & MP_FRAME_OUT_PAGES) {
		err = mp_pages_lend_map(rx->out_fd, call->out_cap, &call->out);
		rx->out_fd = -1;
		call->out_kind = MP_BUF_LENT;
		return err;
	}
	if (c->tp->srv_out_buf && (call->out = c->tp->srv_out_buf(c, call->out_cap))) {
		call->out_kind = MP_BUF_SHARED;
		return 0;
	}
	call->out_kind = MP_BUF_CACHE;
	if (call->out_cap && !(call->out = mp_buf_get(call->out_cap)))
		return -ENOMEM;
	return 0;
}

static int deliver_call(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
			mp_msg_t *msg, mp_rid_t *rid)
{
	struct mp_call call = {
		.conn = c, .seq = rx->hdr.seq,
		.in = rx->data, .in_size = rx->hdr.data_size,
		.in_kind = rx->data_kind, .in_id = rx->pages_id,
		.out_cap = rx->hdr.out_capacity, .out_addr = rx->hdr.out_addr,
		.t_recv = mp_ticks(),
	};
	mp_rid_t r = 0;
	int err = call_out_buf(c, rx, &call);

	if (err)
		return err;
	pthread_mutex_lock(&p->lock);
	if (!p->dead)
		r = mp_rid_alloc(&p->rids, &call);
	pthread_mutex_unlock(&p->lock);
	if (!r) {
		mp_buf_release(call.out, call.out_cap, call.out_kind, call.out_id);
		return p->dead ? -EPIPE : -ENOMEM;
	}
	msg->o.data = call.out;
	msg->o.size = call.out_cap;
	*rid = r;
	return 0;
}

/* Hand the message over: 0 a call, 1 one-way, DELIVER_SKIP none (it was
 * bad, or refused), <0 error. */
static int deliver(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
		   mp_msg_t *msg, mp_rid_t *rid)
{
	int r = rx_fetch(p, c, rx);

	if (r == 0)
		refuse_vm(p, c, rx);
	if (r <= 0) {
		if (r == -EPROTO || r == -EPIPE)
			mp_sconn_kill(p, c);	/* it lied, or it is gone */
		r = r == -ENOMEM ? r : DELIVER_SKIP;
		mp_rx_release(rx);
		goto put;
	}
	msg_fill_in(msg, c, rx);
	if (rx->hdr.kind == MP_FRAME_ONEWAY)
		r = deliver_oneway(rx, msg, rid);
	else
		r = deliver_call(p, c, rx, msg, rid);
	if (r >= 0 && rx->hdr.kind == MP_FRAME_CALL)
		return r;	/* the rid keeps the connection reference */
	if (r < 0) {
		if (r == -EPROTO) {
			mp_sconn_kill(p, c);
			r = DELIVER_SKIP;
		}
		mp_fds_close(msg->i.fds, msg->i.nfds);
		mp_rx_release(rx);
		memset(msg, 0, sizeof(*msg));
	}
put:
	pthread_mutex_lock(&p->lock);
	mp_sconn_put_locked(p, c);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int mp_recv(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns)
{
	struct mp_deadline d = mp_deadline_in(timeout_ns);
	bool polling = timeout_ns == 0;
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
	mp_pages_oneway_hold(NULL, 0);
	mp_buf_trim();
	do {
		port_enter(p, polling);
		r = port_next(p, &rx, &c, d, polling);
		port_leave(p, polling);
		if (r == 1)
			r = deliver(p, c, &rx, msg, rid);
	} while (r == DELIVER_SKIP);
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

/* The client hung up (it died, or dropped the connection). */
static bool peer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/*
 * How the answer's data travels, besides the usual copy: o.data is pages
 * of ours (moved or shared), the caller's lent pages that we wrote in
 * place, or the caller's buffer, written now with process_vm_writev()
 * (only while it waits: it offered OUT_VM for a call without timeout).
 */
static void reply_placed(struct mp_call *call, const mp_msg_t *msg, struct mp_xfer *x)
{
	struct mp_sconn *c = call->conn;
	size_t vmin = mp_vm_min();
	int err;

	if (call->out_kind == MP_BUF_PAGES && msg->o.data == call->out) {
		if (msg->o.size)	/* kept lent pages (ring): never sent twice */
			x->fflags = MP_FRAME_DATA_PLACED;
		return;
	}
	if (call->out_kind == MP_BUF_LENT && msg->o.data == call->out) {
		if (msg->o.size > MP_FRAME_INLINE_MAX)
			x->fflags = MP_FRAME_DATA_PLACED;
		return;
	}
	if (!call->out_addr || !vmin || msg->o.size <= vmin || atomic_load(&c->vm_denied))
		return;
	if (call->out_kind == MP_BUF_SHARED && msg->o.data == call->out)
		return;	/* written in the bulk area already: one copy either way */
	if (peer_gone(c->fd))
		return;	/* never write into a pid that may be reused */
	err = mp_vm_write(c->pid, call->out_addr, msg->o.data, msg->o.size);
	if (err == 0)
		x->fflags = MP_FRAME_DATA_PLACED;
	else if (err == -EPERM)
		atomic_store(&c->vm_denied, true);
}

int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	struct mp_port_obj *p;
	struct mp_call call;
	struct mp_xfer x;
	int err;

	if (!msg || port == 0 || mp_msg_check_flags(msg->flags))
		return -EINVAL;
	err = mp_msg_check_out(&msg->o);
	if (err)
		return err;
	p = mp_port_get(port);
	if (!p)
		return -ENOENT;
	mp_xfer_init(&x);
	err = mp_pages_tx_begin(&x.in, msg->o.data, msg->o.size,
				msg->flags & MP_SHARE ? MP_SHARE : MP_MOVE);
	if (err == 1)
		x.fflags = MP_FRAME_DATA_PAGES | (x.in.share ? MP_FRAME_PAGES_SHARE : 0);
	if (err >= 0)
		err = call_take(p, rid, msg, &call);
	if (!err) {
		unsigned flags = mp_ticks() - call.t_recv > MP_TICKS_HELD ? MP_REPLY_ASK_PEER : 0;

		if (!x.fflags)
			reply_placed(&call, msg, &x);
		err = call.conn->tp->srv_reply(call.conn, call.seq, msg, flags, &x);
		if (err == -EAGAIN)
			mp_sconn_kill(p, call.conn);	/* it does not read its replies */
		if (err)
			err = -EPIPE;
		mp_call_free_buffers(&call);
		pthread_mutex_lock(&p->lock);
		mp_sconn_put_locked(p, call.conn);
		pthread_mutex_unlock(&p->lock);
	}
	mp_pages_tx_end(&x.in, x.sent);
	mp_port_put(p);
	return err;
}
