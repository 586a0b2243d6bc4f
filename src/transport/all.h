/* SPDX-License-Identifier: MIT */
/*
 * The transports themselves, for the transport layer only (select.c,
 * sock.c, ring/): every other layer reaches them through the vtable,
 * mp_transport_for(), mp_transport_bootstrap() and mp_transport_attach().
 */
#ifndef MP_TRANSPORT_ALL_H
#define MP_TRANSPORT_ALL_H

#include "transport/transport.h"

extern const struct mp_transport mp_transport_sock;	/* LMP: sock.c */
extern const struct mp_transport mp_transport_ring;	/* UMP: ring/setup.c */
extern const struct mp_transport mp_transport_hybrid;	/* FLMP: ring/setup.c */

#endif
