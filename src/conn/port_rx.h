/* SPDX-License-Identifier: MIT */
/*
 * The receive loop of a port (conn/port_rx.c): mp_recv() brackets its wait
 * with mp_port_enter()/mp_port_leave(), which keep the waiting counts and
 * the doorbell that clients read, and takes messages with mp_port_next().
 */
#ifndef MP_PORT_RX_H
#define MP_PORT_RX_H

#include <stdbool.h>

#include "conn/fastpath.h"
#include "conn/port.h"
#include "conn/pulseq.h"
#include "conn/tls.h"
#include "os/compiler.h"
#include "os/shm.h"
#include "os/deadline.h"

/* A receiver arrives (polling: timeout 0, it counts for nobody); returns
 * whether it was counted, for its mp_port_leave(). */
bool mp_port_enter(struct mp_port_obj *p, bool polling);
/* mp_port_fd() was asked for (clients ring from now on when nobody receives). */
void mp_port_fd_wanted(struct mp_port_obj *p);
/* Shared by port_rx.c and port_evloop.c: receivers inside mp_recv() [W1],
 * the doorbell count [D2]-[D4], draining the kick eventfd, and whether a
 * polled connection holds a message (under p->lock). */
void mp_port_waiting_add(struct mp_port_obj *p, int delta);
void mp_port_doorbell_add(struct mp_port_obj *p, int delta);
void mp_port_kick_drain(struct mp_port_obj *p);
bool mp_port_rings_pending_locked(struct mp_port_obj *p);
/* The message f from c could not be taken for our own lack (err, see
 * mp_err_resource()) or because it would take c over its memory limit
 * (-ENOBUFS, mem/memcap.h): refuse it (a call's caller gets err, a
 * one-way is dropped and counted; the connection goes on); anything
 * else, or a frame that cannot be refused, drops c. */
void mp_port_refuse(struct mp_port_obj *p, struct mp_sconn *c, const struct mp_frame *f, int err);
/* Wait for the next message: 1 got one (from *from, referenced),
 * MP_NEXT_FAST (rx->fast set by the caller) the fast path took it into
 * rx->fast, rx->rid its rid (0: a one-way), MP_NEXT_PULSE a pulse waits
 * (conn/pulse.h: mp_pulse_take), or -EAGAIN / -ETIMEDOUT / -EPIPE /
 * -ENOMEM. */
#define MP_NEXT_FAST 3
int mp_port_next(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		 struct mp_deadline d, bool polling);
/* mp_recv_fast()'s receive (conn/fastpath.h), p held: a short message
 * taken into msg if one waits, else, for a blocking receiver
 * (MP_WAIT_BLOCK) without a timeout (forever), once one comes: 1 a
 * call, 2 a one-way, 0 the general path's (nothing taken).  The scan
 * lock is only tried. */
int mp_port_recv_fast(struct mp_port_obj *p, mp_msg_t *msg, mp_rid_t *rid, void *buf,
		      size_t buflen, bool forever);
/*
 * mp_recv()'s fast function, inline (its guards cost a port without
 * polled connections little): 0 a call, 1 a one-way, or MP_FAST_SLOW with
 * *held the port, held (mp_port_hold()) for the general path, or NULL.
 */
static inline int mp_recv_fast(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns,
			       struct mp_port_obj **held)
{
	struct mp_tls *tls = mp_tls_cur;
	struct mp_port_obj *p;
	uint32_t tick;
	int r;

	*held = NULL;
	if (unlikely(!msg || !rid || port == 0 || !mp_timeout_valid(timeout_ns)))
		return MP_FAST_SLOW;
	/* a one-way's data to let go of first, or a call inside a call */
	if (unlikely(!tls || tls->ow_data || tls->ow_pages || load_relaxed(&tls->port_inuse)))
		return MP_FAST_SLOW;
	p = mp_port_hold(port, tls);
	*held = p;	/* the general path goes on with it */
	if (unlikely(!p))
		return MP_FAST_SLOW;
	/* hints, relaxed: a destroyed port, an event loop, nothing polled
	 * are the general path's (it looks again, under the lock); and now
	 * and then its look at the port's events (mp_port_next() counts the
	 * tick that makes it look) */
	tick = load_relaxed(&p->event_tick);
	if (unlikely(load_relaxed(&p->dead) || load_relaxed(&p->fd_used) ||
		     !load_relaxed(&p->npolled) || (tick & 255) == 255 ||
		     load_relaxed(&p->pulse->npending)))	/* pulses: the general path's turn */
		return MP_FAST_SLOW;
	store_relaxed(&p->event_tick, tick + 1);	/* a hint: a lost tick is harmless */
	r = mp_port_recv_fast(p, msg, rid, tls->rxbuf, MP_TLS_RXBUF, timeout_ns == MP_FOREVER);
	if (unlikely(!r))
		return MP_FAST_SLOW;
	mp_stats_recv(p->stats, r - 1, msg->i.size);	/* r - 1: MP_STATS_CALL or _ONEWAY */
	*held = NULL;
	mp_port_unhold(tls);
	return r - 1;
}

/* The receiver leaves: an event loop's fd is made readable for what came. */
void mp_port_leave(struct mp_port_obj *p, bool polling, bool counted);

#endif
