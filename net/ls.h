/* SPDX-License-Identifier: MIT */
/*
 * `msgport ls /net` (tools/msgport.c): a call of type MP_NET_MT_LIST on
 * the /net mount point's own oid.  The gateway asks every gateway on
 * NATS and answers, in o.data, one line per reachable host ("HOST") and
 * one per export ("HOST PREFIX"; "* PREFIX" for a --group), up to the
 * caller's capacity (o.err -EMSGSIZE when it was cut).
 */
#ifndef MSGPORT_NET_LS_H
#define MSGPORT_NET_LS_H

#define MP_NET_MT_LIST 0x6e657401u	/* "net" 1 */

#endif
