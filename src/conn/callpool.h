/* SPDX-License-Identifier: MIT */
/*
 * Connections for started calls (api/call_async.c): a call in flight
 * needs a connection of its own, so that one thread may have several to
 * one port.  Each comes from a small per-process free list of the port's
 * (reused after a call that succeeded; a dropped one is closed) and
 * carries its wait descriptor: an epoll set of the connection's socket,
 * the transport's wake-up descriptor (call_wake_fd) and a kick eventfd,
 * readable once the answer is there.
 */
#ifndef MP_CALLPOOL_H
#define MP_CALLPOOL_H

#include <stdbool.h>

#include "transport/transport.h"

/* Idle connections kept per port; more are closed when handed back. */
#define MP_CALLPOOL_IDLE_MAX 8

struct mp_callconn {
	struct mp_callconn *next;	/* in the free list */
	struct mp_cconn *c;
	int epfd;		/* the wait descriptor (mp_call_fd()) */
	int kick;		/* eventfd: readable on demand (an answer taken early) */
	int wake_fd;		/* the transport's wake-up fd once in epfd, else -1 */
};

/* A connection to port for a started call: an idle one, else a new one
 * (the errors of opening one: -ENOENT, -EACCES, -ECONNRESET, ...). */
int mp_callpool_get(mp_port_t port, struct mp_callconn **out);
/* The call on it is over and it is fine: back to the free list. */
void mp_callpool_put(struct mp_callconn *k);
/* Close it (a call abandoned or broken); NULL does nothing. */
void mp_callpool_drop(struct mp_callconn *k);
/* Watch the transport's wake-up fd too once it has one: 0 or -errno. */
int mp_callpool_watch(struct mp_callconn *k);
/* Make epfd readable now, and the reverse. */
void mp_callpool_kick(struct mp_callconn *k);
void mp_callpool_unkick(struct mp_callconn *k);
/* Close every idle connection (tests count descriptors). */
void mp_callpool_flush(void);

#endif
