/* SPDX-License-Identifier: MIT */
/*
 * The sending side: each thread keeps its own connection to each port it
 * talks to, so a connection has at most one call in flight and its next
 * reply is always that call's.  Messages from one thread keep their order.
 */
#ifndef MP_CLIENT_H
#define MP_CLIENT_H

#include "conn/tls.h"
#include "os/compiler.h"

/* This thread's connection to port, opened on first use (its verdict at
 * accept perhaps not known yet: c->confirmed); *fresh is 1
 * when it was opened now.  A full listen backlog (connect() says EAGAIN)
 * is waited out, backing off, until d: then -EAGAIN. */
int mp_cconn_get(struct mp_tls *tls, mp_port_t port, struct mp_deadline d,
		 struct mp_cconn **out, int *fresh);
/* The connection this thread used last (initial-exec: no call to find
 * it, in the shared library too). */
extern __thread struct mp_cconn *mp_cconn_last MP_HIDDEN __attribute__((tls_model("initial-exec")));
/* mp_cconn_cached() when the last one is not port's. */
struct mp_cconn *mp_cconn_find(mp_port_t port);

/* This thread's connection to port if it has one already (the one it
 * used last, else a look through the others), else NULL: the fast path's
 * lookup, which opens nothing and drops nothing.  A connection to a port
 * with MP_PORT_DEADLINES is never found here (nor the last): its calls
 * carry their deadline, which the fast path has no room for. */
static inline struct mp_cconn *mp_cconn_cached(mp_port_t port)
{
	struct mp_cconn *c = mp_cconn_last;

	if (likely(c && c->port == port && c->fork_gen == mp_fork_gen))
		return c;
	return mp_cconn_find(port);
}
/* The server took c (a call on it was answered, or conn/verdict.h saw
 * the verdict): the fast path may use it from now on.  Until then it
 * finds no connection (mp_cconn_cached()), and a one-way waits for the
 * verdict on the slow path (api/send.c). */
void mp_cconn_confirm(struct mp_cconn *c);
/* Close and forget a connection (its server gone, or a call abandoned). */
void mp_cconn_drop(struct mp_tls *tls, struct mp_cconn *c);

/* err of an operation on c; when it says the connection broke (-EPIPE,
 * -ECONNRESET, -EPROTO) and the server refused c at accept
 * (transport/refuse.h), that refusal's error instead (-EACCES, -EUSERS):
 * c is then to be dropped. */
int mp_cconn_refusal(struct mp_cconn *c, int err);
/* Receivers waiting in mp_recv() at the port, as its server tells them. */
int mp_cconn_receivers_waiting(struct mp_cconn *c);

/* A connection to port of no thread's (conn/callpool.c), and its close;
 * mp_cconn_close(NULL) does nothing. */
int mp_cconn_open(mp_port_t port, struct mp_deadline d, struct mp_cconn **out);
void mp_cconn_close(struct mp_cconn *c);

/* Close every connection of a thread (at its exit). */
void mp_cconn_close_all(struct mp_tls *tls);

/* Pages this thread shared were freed: its connections tell their
 * servers to let go of them now (kept.h). */
void mp_cconn_pages_freed(void);

#endif
