/* SPDX-License-Identifier: MIT */
/*
 * Taking the next message from a port's connections: receivers poll the
 * rings of polled connections round-robin, look at the port's epoll set
 * now and then (sockets, new clients, destroy), and finally sleep in it
 * with the doorbell handshake.  mp_recv() (api/recv.c) calls
 * mp_port_enter(), mp_port_next(), mp_port_leave() (the last and first in
 * conn/port_evloop.c).
 */
#include "conn/port_rx.h"

#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn/fastpath.h"
#include "conn/pulse.h"
#include "conn/pulse_fd.h"
#include "conn/rxprio.h"
#include "conn/tls.h"
#include "mem/data.h"
#include "os/compiler.h"
#include "os/shm.h"
#include "os/wait.h"
#include "transport/refuse.h"

/* Receivers inside mp_recv(): counted in the port file for sock clients
 * and in the port page for ring clients.  [W1] relaxed: hints that order
 * nothing (proto/ring.h). */
void mp_port_waiting_add(struct mp_port_obj *p, int delta)
{
	fetch_add_relaxed(&p->pf.page->shm_waiting, (uint32_t)delta);
	fetch_add_relaxed(&p->page->shm_waiting, (uint32_t)delta);
}

/* The doorbell count: [D2] [D3] [D4], a seq_cst RMW (the Dekker
 * handshake with the client's [D1] in cli_doorbell()). */
void mp_port_doorbell_add(struct mp_port_obj *p, int delta)
{
	fetch_add_fence(&p->page->shm_doorbell, (uint32_t)delta);
}





/*
 * Doorbells coalesce: two messages can ring while two receivers sleep and
 * wake only one.  So a receiver that took a message passes the wake-up on
 * when another message waits and another receiver sleeps (the doorbell
 * count is above its own share: mine, plus one for "unattended").  Under
 * the port lock.  Checked in model/port.pml (CHAIN).
 */
static void wake_pass_on_locked(struct mp_port_obj *p, unsigned mine)
{
	uint32_t others = mine + (load_relaxed(&p->unattended) ? 1 : 0);
	uint64_t one = 1;

	/* [D6] relaxed: every sleeper's [D2] comes before its scan under this
	 * lock, so the lock orders the count against our look at the rings */
	if (load_relaxed(&p->page->shm_doorbell) <= others || !mp_port_rings_pending_locked(p))
		return;
	if (write(p->kick_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already kicked */
	}
}

/*
 * A short call that holds its connection's buffers (rx->inl) gets its rid
 * at once, under the lock the scan holds: mp_recv() then takes no lock to
 * hand it over.  The scan's reference to c goes to the rid.
 */
static void call_register_locked(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx)
{
	struct mp_call call;

	if (!rx->inl || rx->hdr.kind != MP_FRAME_CALL || rx->hdr.flags || rx->out_data ||
	    rx->in_bulk || rx->hdr.out_capacity > MP_SCONN_INLINE || load_relaxed(&p->dead))
		return;	/* api/recv.c deals with it */
	call = (struct mp_call){
		.conn = c, .seq = rx->hdr.seq,
		.in = rx->data, .in_size = rx->hdr.data_size, .in_kind = MP_BUF_SHARED,
		.out = c->inl->out, .out_cap = rx->hdr.out_capacity, .out_kind = MP_BUF_SHARED,
		.t_recv = mp_ticks(), .inl = true,
	};
	rx->rid = mp_rid_alloc(&p->rids, &call);
	if (rx->rid)
		rx->inl = false;	/* the rid holds the claim now */
}

/*
 * Where a scan woken by a doorbell starts: at the ring whose doorbell it
 * was (its epoll key names the connection), so that with many connections
 * open and most idle, the woken receiver finds the message at once.  The
 * key is ours (epoll's), not the client's: a client can ring only its own
 * doorbell, so it can make itself looked at first, never hide another
 * ring (the scan still goes round all of them).  Under p->lock.
 */
static uint32_t scan_start_locked(const struct mp_port_obj *p, uint64_t rang)
{
	uint32_t idx = (uint32_t)(rang & ~MP_KEY_DOORBELL), gen = (uint32_t)(rang >> 32);
	const struct mp_sconn *c;

	if (likely(!(rang & MP_KEY_DOORBELL) || p->polled_n < 2))
		return p->scan_pos;	/* (one ring: where it starts does not matter) */
	if (idx >= p->nconns || !(c = p->conns[idx]) || c->gen != gen || c->dead ||
	    c->poll_idx >= p->polled_n || p->polled[c->poll_idx] != c)
		return p->scan_pos;
	return c->poll_idx;
}

/* A message was taken from c; the scan goes on after it (idx) next time. */
static void scan_took_locked(struct mp_port_obj *p, const struct mp_sconn *c, uint32_t idx,
			     unsigned mine)
{
	p->scan_pos = idx;
	store_relaxed(&p->peer_cpu, c->peer_cpu);	/* a hint */
	wake_pass_on_locked(p, mine);
}

/* rings_scan_locked(): a socket connection's head beats the rings' (it is
 * in *from, referenced: the caller reads it, conn_take()). */
#define SCAN_SOCK 6

/* Try each polled connection once, round-robin from a moving start so
 * that no client starves another: 1 took a message, 0 none.  mine: this
 * receiver is counted as asleep in the doorbell (port_sleep); rang: the
 * epoll key of the doorbell that woke it, or 0. */
static int rings_scan_locked(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
			     unsigned mine, uint64_t rang)
{
	struct mp_tls *tls = mp_tls_get();
	struct mp_sconn *sock;
	uint32_t n, idx;

	if (!tls)
		return -ENOMEM;
	idx = mp_rxprio_pick_locked(p, scan_start_locked(p, rang), &sock);	/* best first */
again:
	n = p->polled_n;
	if (idx >= n) {
		if (unlikely(idx == MP_RXPRIO_SOCK)) {
			*from = sock;
			return SCAN_SOCK;
		}
		idx = 0;
	}
	for (uint32_t k = 0; k < n; k++) {
		struct mp_sconn *c = p->polled[idx];
		int r = rx->fast ? mp_fast_take_locked(p, c, rx->fast, &rx->rid, tls->rxbuf, MP_TLS_RXBUF) : 0;

		if (++idx == n)
			idx = 0;
		if (r > 0) {
			scan_took_locked(p, c, idx, mine);
			return MP_NEXT_FAST;
		}
		if (r == 0)
			r = c->tp->srv_recv(c, rx, tls->rxbuf, MP_TLS_RXBUF);
		if (r == 1) {
			c->refs++;
			*from = c;
			call_register_locked(p, c, rx);
			scan_took_locked(p, c, idx, mine);
			return 1;
		}
		if (r != -EAGAIN) {
			/* hung up and drained, or lied, or its message lost (a call
			 * would wait for ever): polled[] changes, start over */
			mp_sconn_kill_locked(p, c);
			if (r == -ENOMEM)
				return r;
			idx = p->scan_pos;
			goto again;
		}
	}
	return 0;
}

static int conn_take(struct mp_port_obj *p, struct mp_sconn *c, uint64_t key, struct mp_rx *rx,
		     struct mp_sconn **from);

/* Scan the rings (or read the socket connection whose head beats theirs:
 * 0 when it had nothing after all); when spinning, leave them to a
 * thread already scanning. */
static int rings_scan(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from, bool spinning,
		      unsigned mine, uint64_t rang)
{
	struct mp_sconn *c;
	int r;

	if (!load_relaxed(&p->npolled))
		return 0;
	if (spinning) {
		if (!mp_trylock(&p->lock))
			return 0;
	} else {
		mp_lock(&p->lock);
	}
	r = rings_scan_locked(p, rx, from, mine, rang);
	mp_unlock(&p->lock);
	if (likely(r != SCAN_SOCK))
		return r;
	c = *from;
	*from = NULL;
	r = conn_take(p, c, mp_sconn_key(c), rx, from);
	if (r == 1) {	/* the rings' messages wait: their doorbell woke us */
		mp_lock(&p->lock);
		wake_pass_on_locked(p, mine);
		mp_unlock(&p->lock);
	}
	return r == 2 ? 0 : r;
}

static void conn_put(struct mp_port_obj *p, struct mp_sconn *c)
{
	mp_lock(&p->lock);
	mp_sconn_put_locked(p, c);
	mp_unlock(&p->lock);
}

static void conn_read_done(struct mp_port_obj *p, struct mp_sconn *c)
{
	mp_lock(&p->lock);
	c->reading = false;
	mp_unlock(&p->lock);
}

void mp_port_refuse(struct mp_port_obj *p, struct mp_sconn *c, const struct mp_frame *f, int err)
{
	bool refusable = mp_err_resource(err) || err == -ENOBUFS;	/* ours, or its limit */

	if (!refusable || mp_refuse_frame(c, f, err) != 0)
		mp_sconn_kill(p, c);
}

/* A HELLO turns a socket connection into one of the transport it names
 * (a polled one: ring or hybrid); one we cannot attach for our own lack
 * is refused as at accept (its client's call gets the error, not -EPIPE). */
static void conn_upgrade(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx)
{
	struct mp_attach at;
	int err;

	mp_lock(&p->lock);
	if (mp_verdict_is_hello(rx)) {	/* asks for the verdict (refuse.h): taken */
		mp_accept_send(c->fd);
		goto out;
	}
	if (mp_pulse_is_hello(rx)) {	/* a pulse board: the socket stays as it is */
		if (c->dead || mp_pulse_board_attach_locked(p, c, rx) != 0) {
			mp_sconn_kill_locked(p, c);
		} else {
			c->board = true;	/* no calls: not a socket to order (rxprio.h) */
			p->nlive--;
		}
		goto out;
	}
	at = (struct mp_attach){ .epfd = p->epfd, .page_fd = p->page_fd,
				 .doorbell_key = mp_sconn_key(c) | MP_KEY_DOORBELL,
				 .kept_pages = &p->stats->shm_kept_pages };
	err = c->dead ? -EPIPE : mp_port_poll_reserve_locked(p);
	if (!err)
		err = mp_transport_attach(c, rx, &at);
	if (!err) {
		mp_port_poll_add_locked(p, c);
		if (rx->nfds > 0) {	/* the ring's memfd: kept for readers (conn/stats.h) */
			mp_stats_client_ring(p->stats, c->idx, rx->fds[0]);
			rx->fds[0] = -1;
		}
	}
	if (err && mp_err_resource(err))
		mp_refuse_accept(c->fd, err);
	if (err)
		mp_sconn_kill_locked(p, c);
out:
	c->reading = false;
	mp_unlock(&p->lock);
	mp_rx_release(rx);
}

/*
 * An event on c, under the lock: true when this thread is now c's reader.
 * A polled connection's doorbell or socket only says a message waits (the
 * scan finds it) or a hang-up.  One reader per socket connection: a HELLO
 * read here makes it a ring connection, and no other thread may take the
 * frames after it as socket messages meanwhile (the socket stays
 * readable: it comes back).  When false, c's reference is dropped.
 */
static bool conn_read_begin(struct mp_port_obj *p, struct mp_sconn *c, uint64_t key)
{
	bool mine = false;

	mp_lock(&p->lock);
	if (c->tp->flags & MP_TP_POLLED) {
		if (!(key & MP_KEY_DOORBELL))
			c->tp->srv_event(c);
	} else if (!c->reading) {
		c->reading = true;
		mine = true;
	}
	if (!mine)
		mp_sconn_put_locked(p, c);
	mp_unlock(&p->lock);
	return mine;
}

/* Read c (referenced; the reference is kept in *from or dropped): 1 took
 * a message, 2 handled something else. */
static int conn_take(struct mp_port_obj *p, struct mp_sconn *c, uint64_t key, struct mp_rx *rx,
		     struct mp_sconn **from)
{
	struct mp_tls *tls = mp_tls_get();
	bool hello;
	int r;

	if (!conn_read_begin(p, c, key))
		return 2;
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
	} else if (r != -EAGAIN && tls) {
		/* hang-up, a malformed message, or one lost (-ENOMEM: a call
		 * would wait for ever; its caller gets -EPIPE instead) */
		mp_sconn_kill(p, c);
	}
	conn_put(p, c);
	return r == -ENOMEM ? r : 2;
}

/* Event on a connection: 1 took a message, 2 handled something else. */
static int conn_event(struct mp_port_obj *p, uint64_t key, struct mp_rx *rx, struct mp_sconn **from)
{
	struct mp_sconn *c;

	/* A doorbell only says that a ring holds a message: the scan finds it. */
	if (key & MP_KEY_DOORBELL)
		return 2;
	c = mp_rxprio_better(p, mp_port_conn_get(p, key));	/* a better one's first */
	return c ? conn_take(p, c, mp_sconn_key(c), rx, from) : 2;	/* (c: maybe another's) */
}

void mp_port_kick_drain(struct mp_port_obj *p)
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
		mp_port_kick_drain(p);
		return 2;
	default:
		if (mp_pulse_key(ev->data.u64))
			return mp_pulse_event(p, ev->data.u64);
		if (mp_pulse_fd_key(ev->data.u64))	/* a descriptor that pulses */
			return mp_pulse_fd_event(p, ev->data.u64, ev->events);
		return conn_event(p, ev->data.u64, rx, from);
	}
}

/* Wait up to ms for one event and handle it: 1 message, 2 handled, 0 none.
 * *key: the event's epoll key (0 when none). */
static int port_events(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from, int ms,
		       uint64_t *key)
{
	struct epoll_event ev;
	int n = epoll_wait(p->epfd, &ev, 1, ms);

	*key = 0;
	if (n < 0)
		return errno == EINTR ? 2 : -errno;
	if (n == 0)
		return 0;
	*key = ev.data.u64;
	return port_dispatch(p, &ev, rx, from);
}

/* Stop polling the rings and block in epoll; a message published while we
 * stop is found by the scan after the fence, or its doorbell wakes us. */
static int port_sleep(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		      struct mp_deadline d)
{
	uint64_t rang = 0;
	int r;

	/* [D2] count us asleep, fence, then look at the rings: pairs with the
	 * client's [D1] (publish, fence, read the count) */
	mp_port_doorbell_add(p, 1);
	full_fence();
	r = rings_scan(p, rx, from, false, 1, 0);
	if (r == 0)
		r = port_events(p, rx, from, mp_deadline_ms(d), &rang);
	/* Woken (a doorbell, most often): the ring that rang is scanned now,
	 * first (scan_start_locked), still counted asleep, instead of after
	 * another round of the loop and another [D2] (a client that sees the
	 * count rings once more). */
	if (r == 2)
		r = rings_scan(p, rx, from, false, 1, rang);
	mp_port_doorbell_add(p, -1);	/* [D3] a count seen late costs one spurious ring */
	return r;
}

/*
 * The fast take over the polled rings (conn/fastpath.h), from where the
 * scan would start: 1 a call, 2 a one-way taken into msg, -EAGAIN every
 * ring empty, 0 the scan lock busy (it is only tried) or a message the
 * fast path does not take (nothing taken).
 */
static int fast_scan(struct mp_port_obj *p, mp_msg_t *msg, mp_rid_t *rid, void *buf,
		     size_t buflen, unsigned mine, uint64_t rang)
{
	struct mp_sconn *sock;
	uint32_t n, idx;
	int r = -EAGAIN;

	if (!mp_trylock(&p->lock))
		return 0;
	n = p->polled_n;
	idx = mp_rxprio_pick_locked(p, rang ? scan_start_locked(p, rang) : p->scan_pos, &sock);
	if (idx >= n) {
		if (unlikely(idx == MP_RXPRIO_SOCK)) {	/* a socket's is better: the general path's */
			mp_sconn_put_locked(p, sock);
			mp_unlock(&p->lock);
			return 0;
		}
		idx = 0;
	}
	for (uint32_t k = 0; k < n && r == -EAGAIN; k++) {
		struct mp_sconn *c = p->polled[idx];

		r = mp_fast_take_locked(p, c, msg, rid, buf, buflen);
		if (++idx == n)
			idx = 0;
		if (r > 0)
			scan_took_locked(p, c, idx, mine);
	}
	mp_unlock(&p->lock);
	return r;
}

/* The process's wait policy (os/wait.h), asked once. */
static const struct mp_wait_policy *wait_policy(void)
{
	static _Atomic(const struct mp_wait_policy *) pol;
	const struct mp_wait_policy *q = load_relaxed(&pol);	/* the same pointer for all */

	if (unlikely(!q)) {
		q = mp_wait_policy();
		store_relaxed(&pol, q);
	}
	return q;
}

/* A connection's doorbell (not the listening socket, the kick or the
 * shutdown, whose keys have no generation). */
static bool key_is_doorbell(uint64_t key)
{
	return (key >> 32) && (key & MP_KEY_DOORBELL);
}

int mp_port_recv_fast(struct mp_port_obj *p, mp_msg_t *msg, mp_rid_t *rid, void *buf,
		      size_t buflen, bool forever)
{
	struct epoll_event ev;
	int r;

	if (!forever || wait_policy()->mode != MP_WAIT_BLOCK) {
		r = fast_scan(p, msg, rid, buf, buflen, 0, 0);
		return r > 0 ? r : 0;
	}
	/* Blocking: as port_sleep(), counted as waiting and asleep at once
	 * ([D2], then the rings: pairs with the client's [D1]) */
	mp_port_waiting_add(p, 1);
	mp_port_doorbell_add(p, 1);
	full_fence();
	r = fast_scan(p, msg, rid, buf, buflen, 1, 0);
	while (r == -EAGAIN) {
		/* anything but a doorbell (level-triggered: it stays) and
		 * any error are the general path's; a doorbell's message is
		 * scanned for first, still counted asleep */
		if (epoll_wait(p->epfd, &ev, 1, -1) != 1 || !key_is_doorbell(ev.data.u64))
			r = 0;
		else
			r = fast_scan(p, msg, rid, buf, buflen, 1, ev.data.u64);
	}
	mp_port_doorbell_add(p, -1);	/* [D3] */
	mp_port_waiting_add(p, -1);
	return r > 0 ? r : 0;
}

static bool deadline_passed(struct mp_deadline d)
{
	return d.at_ns >= 0 && d.at_ns <= mp_now_ns();
}

/* Wait for the next message: 1 got one, or -EAGAIN/-ETIMEDOUT/-EPIPE. */
int mp_port_next(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		     struct mp_deadline d, bool polling)
{
	const struct mp_wait_policy *pol = mp_wait_policy();
	/* Blocking at once: port_sleep() scans anyway, after its [D2]; and
	 * whose CPU the peer is on matters only to spinning. */
	bool block = !polling && pol->mode == MP_WAIT_BLOCK;
	struct mp_spin sp;
	unsigned iter = 0;
	uint64_t key;

	if (block)
		sp = (struct mp_spin){ .pol = pol, .same_cpu = false };
	else
		mp_spin_init(&sp, load_relaxed(&p->peer_cpu));
	/* The tick is the port's, not this call's: a ring that always has a
	 * message must not starve socket clients and new connections. */
	for (;;) {
		int r;

		if (load_relaxed(&p->dead))	/* a flag; destroy also wakes sleepers (shut_efd) */
			return -EPIPE;
		if (unlikely(mp_pulse_turn(p)))	/* calls and pulses take turns */
			return MP_NEXT_PULSE;
		r = block ? 0 : rings_scan(p, rx, from, true, 0, 0);
		if (r != 0)
			return r;
		/* Sockets, new clients and destroy are looked at now and then. */
		iter++;
		if (!load_relaxed(&p->npolled) || polling ||
		    (fetch_add_relaxed(&p->event_tick, 1) & 255) == 255) {
			r = port_events(p, rx, from, 0, &key);
			if (r == 2 && polling && iter < 64)
				continue;
			if (r != 0 && r != 2)
				return r;
		}
		if (polling)
			return -EAGAIN;
		if (deadline_passed(d)) {
			r = block ? rings_scan(p, rx, from, false, 0, 0) : 0;
			return r != 0 ? r : -ETIMEDOUT;
		}
		if (load_relaxed(&p->npolled) && mp_spin_step(&sp))
			continue;
		r = port_sleep(p, rx, from, d);
		if (r != 0 && r != 2)
			return r;
	}
}


/* Whether a polled connection holds a message (under p->lock). */
bool mp_port_rings_pending_locked(struct mp_port_obj *p)
{
	for (uint32_t k = 0; k < p->polled_n; k++) {
		struct mp_sconn *c = p->polled[k];

		if (c->tp->srv_pending(c))
			return true;
	}
	return false;
}

