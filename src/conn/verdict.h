/* SPDX-License-Identifier: MIT */
/*
 * Waiting for the server's verdict on a new connection (transport/
 * refuse.h: ACCEPTED, or a refusal of seq 0, then the ring's WELCOME).
 * A call learns it from its answer, but a one-way has none: sent before
 * the verdict to a server that then refuses the connection, it would be
 * lost while mp_send_async() said 0.  So a one-way on a connection whose
 * verdict is not known yet waits for it first (api/send.c), until the
 * one-way's own deadline, and never longer than MP_VERDICT_WAIT_NS: a
 * server that never accepts (it never receives) costs its sender that
 * long, then -ETIMEDOUT, the message not sent; a one-way of timeout 0
 * gets -EAGAIN at once instead, as for a full queue.  A port of this process is
 * accepted by the waiting thread itself (the server may be this very
 * thread), and its ACCEPTED frame is the verdict then.  Connection setup
 * only: a connection whose verdict is known never comes here.
 */
#ifndef MP_VERDICT_H
#define MP_VERDICT_H

#include "os/deadline.h"
#include "transport/transport.h"

/* The longest a one-way waits for the verdict at accept: 10 s. */
#define MP_VERDICT_WAIT_NS (10 * 1000000000LL)

/* Wait until c's verdict is known or d (capped at MP_VERDICT_WAIT_NS
 * from now) passes: 0 taken (mp_cconn_confirm(c)), the refusal's error,
 * -ETIMEDOUT none in time, -EAGAIN none yet and d had passed already
 * (timeout 0: never blocks), -ECONNRESET hung up before it (nothing was
 * sent: a new connection may try), or another error of the socket.
 * After -ETIMEDOUT and -EAGAIN c stays as it is, the verdict to come. */
int mp_verdict_wait(struct mp_cconn *c, struct mp_deadline d);	/* c: this thread's */

#endif
