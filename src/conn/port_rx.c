/* SPDX-License-Identifier: MIT */
/*
 * Taking the next message from a port's connections: receivers poll the
 * rings of polled connections round-robin, look at the port's epoll set
 * now and then (sockets, new clients, destroy), and finally sleep in it
 * with the doorbell handshake.  mp_recv() (api/recv.c) calls
 * mp_port_enter(), mp_port_next(), mp_port_leave().
 */
#include "conn/port_rx.h"

#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn/tls.h"
#include "os/compiler.h"
#include "os/wait.h"
#include "transport/ring.h"

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
void mp_port_enter(struct mp_port_obj *p, bool polling)
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
int mp_port_next(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
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
void mp_port_leave(struct mp_port_obj *p, bool polling)
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
