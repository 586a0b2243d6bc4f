/* SPDX-License-Identifier: MIT */
/*
 * The server's verdict on a new connection, for its first one-way
 * (transport/refuse.h: the socket transport's ACCEPTED, answer to its
 * HELLO of MP_HELLO_VERDICT; the ring's and hybrid's WELCOME; or a
 * refusal of seq 0).  A call learns the verdict from its answer, but a
 * one-way has none: sent before it to a server that then refuses the
 * connection, it would be lost while mp_send_async() said 1.  So a
 * one-way on a connection whose verdict is not known waits for it first
 * (api/send.c), once per connection, until the one-way's own deadline
 * and never longer than MP_VERDICT_WAIT_NS: a refusal then fails that
 * one-way with its error, nothing sent.  A server that does not receive
 * meanwhile (it accepts only in mp_recv()) costs the first one-way that
 * long; then it is queued as before, and a refusal that comes after it
 * is the next operation's error (that one-way is the only one that can
 * be lost).  Later one-ways look for the verdict without waiting, until
 * it came; then the connection is the fast path's.  A port of this
 * process is taken as accepted at once (its server may be this very
 * thread).  Connection setup only: nothing here once the verdict is in.
 */
#ifndef MP_VERDICT_H
#define MP_VERDICT_H

#include "os/deadline.h"
#include "transport/transport.h"

/* The longest the first one-way of a connection waits for the verdict. */
#define MP_VERDICT_WAIT_NS (250 * 1000000LL)	/* 250 ms */

/* Before a one-way on c (this thread's): 0 go on (the verdict taken:
 * mp_cconn_confirm(c); or not in time, see above), the refusal's error,
 * -ECONNRESET hung up before a verdict (nothing sent: a new connection
 * may try), or another error of the socket. */
int mp_verdict_wait(struct mp_cconn *c, struct mp_deadline d);

#endif
