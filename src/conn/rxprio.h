/* SPDX-License-Identifier: MIT */
/*
 * Priority-ordered receive (include/msgport.h, "Priorities"): which
 * connection a receiver takes its next message from.  Each connection
 * keeps its own order (one ring, one socket: a sender's messages are
 * never reordered); among connections, the head message with the best
 * priority (mp_sconn_prio(): the peer's claim clamped) goes first, and
 * among heads of equal priority the scan's round-robin order stands.
 * The heads are hints (srv_head_prio in transport.h): the take reads and
 * checks the message again.
 *
 * Across transports: the ring scan looks at the socket connections' heads
 * (one poll() over them, then one MSG_PEEK per readable one) only on a
 * port that has both kinds (p->nlive above p->polled_n; a pulse board's
 * socket, which carries no calls, does not count) and only when the
 * best ring head is not of priority 0; a
 * socket's event looks at the rings' heads (memory reads) only when the
 * port has polled connections.  A port of one transport pays a compare.
 * Ties go to whichever side is looking: the ring scan takes a socket's
 * message only when it is strictly better, and the reverse.
 */
#ifndef MP_CONN_RXPRIO_H
#define MP_CONN_RXPRIO_H

#include <stdint.h>

#include "conn/port.h"
#include "os/compiler.h"

/* A pick's index when a socket connection's head beats every ring's: no
 * index in p->polled (above any, so that the scan's wrap-around test
 * finds it at no cost on the common path). */
#define MP_RXPRIO_SOCK UINT32_MAX

/* Polled connections (under p->lock): the index in p->polled to scan
 * from, idx or the one whose head is best (the first such from idx), or
 * MP_RXPRIO_SOCK with *sock the socket connection whose head beats
 * every ring's, referenced (*sock is written only then).  A port of one
 * connection costs a compare. */
uint32_t mp_rxprio_pick_many_locked(struct mp_port_obj *p, uint32_t idx, struct mp_sconn **sock);

static inline uint32_t mp_rxprio_pick_locked(struct mp_port_obj *p, uint32_t idx,
					     struct mp_sconn **sock)
{
	if (likely(p->nlive < 2))
		return idx;	/* one connection: its order is the order */
	return mp_rxprio_pick_many_locked(p, idx, sock);
}

/* A socket connection c fired (its reference held, or NULL): c, or
 * another socket connection of p whose next message has a better
 * priority, referenced instead (c's reference dropped), or NULL (c's
 * dropped) when a ring's head beats them: the ring scan takes it.  One
 * MSG_PEEK per socket connection, only when c's head is not of priority
 * 0 and another could beat it. */
struct mp_sconn *mp_rxprio_better(struct mp_port_obj *p, struct mp_sconn *c);

#endif
