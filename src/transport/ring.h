/* SPDX-License-Identifier: MIT */
/* The ring (UMP) and hybrid (FLMP) transports: set-up entry points. */
#ifndef MP_TRANSPORT_RING_H
#define MP_TRANSPORT_RING_H

#include "proto/slot.h"
#include "transport/transport.h"

struct mp_port_obj;

/* Client: turn a connected socket into a ring connection (HELLO). */
int mp_ring_client_open(struct mp_cconn *c, const struct mp_transport *tp);
/* Server: a HELLO arrived on c: map the client's region, answer WELCOME. */
int mp_ring_srv_attach(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *hello);

#endif
