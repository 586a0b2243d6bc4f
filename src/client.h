/* SPDX-License-Identifier: MIT */
/*
 * The sending side: each thread keeps its own connection to each port it
 * talks to, so a connection has at most one call in flight and its next
 * reply is always that call's.  Messages from one thread keep their order.
 */
#ifndef MP_CLIENT_H
#define MP_CLIENT_H

#include "tls.h"

/* Close every connection of a thread (at its exit). */
void mp_cconn_close_all(struct mp_tls *tls);

/* Pages this thread shared were freed: its connections tell their
 * servers to let go of them now (kept.h). */
void mp_cconn_pages_freed(void);

#endif
