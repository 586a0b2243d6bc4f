/* SPDX-License-Identifier: MIT */
/*
 * A receiver's arrival and departure, and what they owe an event loop
 * waiting on mp_port_fd(): while nobody is inside mp_recv() clients must
 * ring the doorbell (the port is "unattended"), and what arrived while a
 * receiver only polled is made readable on the fd when it leaves.
 */
#include "conn/port_rx.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn/pulse.h"
#include "os/compiler.h"
#include "os/shm.h"

/*
 * Whether clients must ring when no receiver sleeps: while a receiver is
 * inside mp_recv(), or a thread-based server will come back to it, the
 * rings are scanned anyway; an event loop waiting on mp_port_fd() needs
 * the doorbell to make the fd readable.  Flipped under the port lock.
 */
static void unattended_set(struct mp_port_obj *p, bool on)
{
	/* relaxed: private, written under the lock; read under it or, by
	 * mp_port_enter(), as a hint that the lock is needed */
	if (load_relaxed(&p->unattended) == on)
		return;
	store_relaxed(&p->unattended, on);
	mp_port_doorbell_add(p, on ? 1 : -1);	/* [D4] */
}

/* A receiver that polls (timeout 0) is not waiting: it counts for nobody.
 * Returns whether it was counted in p->inside, which its mp_port_leave()
 * must be told: mp_port_fd() may be asked for in between. */
bool mp_port_enter(struct mp_port_obj *p, bool polling)
{
	if (!polling)
		mp_port_waiting_add(p, 1);
	/* hints, relaxed: both are set before an event loop can be waiting */
	if (!load_relaxed(&p->unattended) && !load_relaxed(&p->fd_used))
		return false;	/* the usual case, without the lock */
	mp_lock(&p->lock);
	p->inside++;
	unattended_set(p, false);
	mp_unlock(&p->lock);
	return true;
}

/* mp_port_fd() was asked for: with no receiver inside, clients must ring
 * from now on, or an event loop that has not received yet waits forever. */
void mp_port_fd_wanted(struct mp_port_obj *p)
{
	store_release(&p->fd_used, true);
	mp_lock(&p->lock);
	if (p->inside == 0)
		unattended_set(p, true);
	mp_unlock(&p->lock);
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
			mp_port_kick_drain(p);
		} else if (mp_pulse_key(key)) {
			mp_pulse_event(p, key);	/* boards drained: the pending fd says the rest */
		} else if (key == MP_KEY_LISTEN) {
			mp_port_accept(p);
		} else if (key != MP_KEY_SHUTDOWN && (c = mp_port_conn_get(p, key))) {
			mp_lock(&p->lock);
			if ((c->tp->flags & MP_TP_POLLED) && !(key & MP_KEY_DOORBELL))
				c->tp->srv_event(c);
			mp_sconn_put_locked(p, c);
			mp_unlock(&p->lock);
		}
	}
}

/* An event loop waits on mp_port_fd(): messages that arrived while we were
 * polling rang no doorbell, so make the fd readable for them. */
void mp_port_leave(struct mp_port_obj *p, bool polling, bool counted)
{
	uint64_t one = 1;
	bool fd_used, pending;

	if (!polling)
		mp_port_waiting_add(p, -1);
	fd_used = load_relaxed(&p->fd_used);
	if (!counted && !fd_used)
		return;
	if (fd_used)
		events_settle(p);
	mp_lock(&p->lock);
	if (counted)
		p->inside--;
	if (!fd_used) {
		mp_unlock(&p->lock);
		return;
	}
	if (p->inside == 0)
		unattended_set(p, true);
	/* [D5] the count [D4] before the rings, as [D2] in port_sleep():
	 * pairs with the client's [D1] */
	full_fence();
	pending = mp_port_rings_pending_locked(p);
	mp_unlock(&p->lock);
	if (pending && write(p->kick_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already kicked */
	}
}
