/* SPDX-License-Identifier: MIT */
/*
 * Messages the library refuses on the server's side before its user sees
 * them: a frame whose descriptors could not all be received (the
 * server's descriptor table is full).  The frame itself came whole, so
 * the connection stays in step: a call is answered with a REFUSED reply
 * (its caller's mp_send() returns the error), a one-way is dropped and
 * counted.  Nothing is leaked: the descriptors that did arrive were
 * closed by os/sockio.c.
 *
 * A connection refused at accept (conn/peer.c: the peer's credentials may
 * not call the port, or its uid holds too many connections) gets one
 * REFUSED reply of seq 0 (calls are numbered from 1) before the server
 * closes it: the client's call fails with that error, not -EPIPE.
 * A client of the socket transport that wants to learn the verdict
 * before its first one-way, which nobody answers (conn/verdict.h), sends
 * a HELLO of MP_HELLO_VERDICT: a server that took the connection answers
 * it with one ACCEPTED frame (a reply of seq 0, err 0, no flags), which
 * reply readers skip as a stale reply.  The ring transports' verdict is
 * their WELCOME.
 */
#ifndef MP_REFUSE_H
#define MP_REFUSE_H

#include <errno.h>
#include <stdbool.h>

#include "os/lack.h"
#include "transport/transport.h"

/* What mp_sockt_srv_recv() returns for such a frame, or for one it could
 * not take for want of memory or descriptors of its own (read and thrown
 * away, its descriptors closed by the kernel): rx->hdr holds its
 * validated header and rx->hdr.err why (-EMFILE, -ENOMEM), nothing else
 * is held. */
#define MP_RX_FDS_LOST 3

/* The server's own lack (os/lack.h: mp_err_resource()) is reported as
 * such, a refusal, never as the client's fault (-EPROTO). */

/*
 * Refuse the message whose header is f on c with err (negative): a call
 * gets a REFUSED reply, a one-way is dropped.  0 done; <0 the reply
 * could not be sent, or the frame cannot be refused without losing step
 * (HELLO, BULK, kept pages): drop the connection.
 */
int mp_refuse_frame(struct mp_sconn *c, const struct mp_frame *f, int err);

/* Refuse call seq on c with err after all (its answer could not be
 * sent): 0 the caller was told, <0 not. */
int mp_refuse_call(struct mp_sconn *c, uint64_t seq, int err);

/* Server: tell the peer of the accepted socket fd, which is about to be
 * closed, why (err negative).  Best effort, never blocks: 0 or -errno. */
int mp_refuse_accept(int fd, int err);

/* Server: whether rx is a HELLO asking for the verdict; then answer it
 * on fd with the ACCEPTED frame (best effort, never blocks). */
bool mp_verdict_is_hello(const struct mp_rx *rx);
int mp_accept_send(int fd);

/* Client, socket transport: ask for the verdict (the HELLO), never
 * waiting (a new socket has room): 0 or -errno. */
int mp_verdict_ask(int fd);

/* Client: whether the datagram buf (n bytes, nfds descriptors) is the
 * ACCEPTED frame. */
bool mp_frame_accepted(const void *buf, size_t n, unsigned nfds);

/* Client, socket transport: read the verdict from fd without waiting:
 * 1 accepted, 0 none yet, the refusal's error, -ECONNRESET hung up with
 * none, -EPROTO anything else (nothing else comes before it). */
int mp_verdict_take(int fd);

/* Client: the datagram buf (n bytes, nfds descriptors with it), when it
 * is a refusal at accept: its error (negative); else 0. */
int mp_refusal_of(const void *buf, size_t n, unsigned nfds);

/* Client: read one datagram from fd without waiting (past an ACCEPTED
 * frame), and give its error when it is a refusal at accept; else 0.  Only for a connection that is
 * dropped anyway (what it reads is gone). */
int mp_refusal_take(int fd);

#endif
