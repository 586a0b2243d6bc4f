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
 */
#ifndef MP_CONN_RXPRIO_H
#define MP_CONN_RXPRIO_H

#include <stdint.h>

#include "conn/port.h"
#include "os/compiler.h"

/* Polled connections (under p->lock): the index in p->polled to scan
 * from, idx or the one whose head is best (the first such from idx).
 * One polled connection costs a compare. */
uint32_t mp_rxprio_pick_many_locked(struct mp_port_obj *p, uint32_t idx);

static inline uint32_t mp_rxprio_pick_locked(struct mp_port_obj *p, uint32_t idx)
{
	if (likely(p->polled_n < 2))
		return idx;	/* one ring: its order is the order */
	return mp_rxprio_pick_many_locked(p, idx);
}

/* A socket connection c fired (its reference held, or NULL): c, or
 * another socket connection of p whose next message has a better
 * priority, referenced instead (c's reference dropped).  One MSG_PEEK per
 * socket connection, only when c's head is not of priority 0. */
struct mp_sconn *mp_rxprio_better(struct mp_port_obj *p, struct mp_sconn *c);

#endif
