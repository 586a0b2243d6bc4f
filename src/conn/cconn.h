/* SPDX-License-Identifier: MIT */
/*
 * The sending side: each thread keeps its own connection to each port it
 * talks to, so a connection has at most one call in flight and its next
 * reply is always that call's.  Messages from one thread keep their order.
 */
#ifndef MP_CLIENT_H
#define MP_CLIENT_H

#include "conn/tls.h"

/* This thread's connection to port, opened on first use; *fresh is 1
 * when it was opened now. */
int mp_cconn_get(struct mp_tls *tls, mp_port_t port, struct mp_cconn **out, int *fresh);
/* This thread's connection to port if it has one already (the one it
 * used last, else a look through the others), else NULL: the fast path's
 * lookup, which opens nothing and drops nothing. */
struct mp_cconn *mp_cconn_cached(mp_port_t port);
/* Close and forget a connection (its server gone, or a call abandoned). */
void mp_cconn_drop(struct mp_tls *tls, struct mp_cconn *c);
/* Receivers waiting in mp_recv() at the port, as its server tells them. */
int mp_cconn_receivers_waiting(struct mp_cconn *c);

/* Close every connection of a thread (at its exit). */
void mp_cconn_close_all(struct mp_tls *tls);

/* Pages this thread shared were freed: its connections tell their
 * servers to let go of them now (kept.h). */
void mp_cconn_pages_freed(void);

#endif
