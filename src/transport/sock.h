/* SPDX-License-Identifier: MIT */
/*
 * Frames of the sock transport, also used by the ring transports for
 * what does not fit a ring: messages with fds or long data.
 */
#ifndef MP_SOCKT_H
#define MP_SOCKT_H

#include "transport/transport.h"

/* Send a call or one-way frame with x's long data (x->sent set once it
 * left); -ECONNRESET when the peer is gone. */
int mp_sockt_send(int fd, unsigned kind, uint64_t seq, const mp_msg_t *msg, struct mp_deadline d,
		  struct mp_xfer *x);
/* Take one reply frame without blocking into msg->o: 1 taken, 2 the
 * server refused DATA_VM (send again), 3 the call failed with msg->o.err
 * (refused by the server's library, or the reply's descriptors could not
 * be received: -EMFILE) and the connection goes on, 0 stale (not seq),
 * -EAGAIN none, -EPIPE hung up, -EPROTO malformed, 4 the server refused
 * the connection at accept with msg->o.err (transport/refuse.h).  x: what
 * the call offered. */
int mp_sockt_recv_reply(int fd, uint64_t seq, mp_msg_t *msg, const struct mp_xfer *x);
/* Server: take one frame without blocking (see mp_transport.srv_recv);
 * MP_RX_FDS_LOST (transport/refuse.h): its descriptors could not all be
 * received, rx->hdr holds its header and nothing else is held. */
int mp_sockt_srv_recv(int fd, struct mp_rx *rx, void *buf, size_t buflen);
/* Server: send a reply frame without blocking. */
int mp_sockt_srv_reply(int fd, uint64_t seq, const mp_msg_t *msg, struct mp_xfer *x);

#endif
