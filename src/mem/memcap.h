/* SPDX-License-Identifier: MIT */
/*
 * The memory a server holds for one client connection (issue 13): the
 * ring and bulk areas set up at connect, received pages mapped in (moved,
 * shared, kept), long input copied into library buffers and the answer
 * buffers allocated for its calls.  Each connection has one account,
 * capped at mp_memcap_limit() (MP_CONN_MEM_MAX, or the environment's
 * MSGPORT_CONN_MEM_MAX); what would go over it is refused with -ENOBUFS
 * and harms that client alone.
 *
 * The account is refcounted: a received region holds a reference
 * (pages_priv.h) and may outlive its connection, uncharging when it is
 * unmapped.  held and refs are atomic: regions are dropped by any thread.
 */
#ifndef MP_MEMCAP_H
#define MP_MEMCAP_H

#include <stdatomic.h>
#include <stddef.h>

struct mp_memcap {
	_Atomic size_t held;	/* bytes charged, never over max */
	_Atomic unsigned refs;
	size_t max;
};

/* The per-connection limit in bytes: MSGPORT_CONN_MEM_MAX when set to a
 * number (read once per process, at its first connection), else
 * MP_CONN_MEM_MAX. */
size_t mp_memcap_limit(void);

/* A new account of max bytes, one reference: NULL out of memory. */
struct mp_memcap *mp_memcap_new(size_t max);

/* Charge n bytes: 0, or -ENOBUFS when held would go over max (nothing
 * charged then).  A NULL cap (not accounted) always takes it. */
int mp_memcap_charge(struct mp_memcap *cap, size_t n);

/* The same, but only when spare bytes more would still fit: what a hint
 * holds (the ring's grant for the next call) never takes the room the
 * message at hand needs. */
int mp_memcap_charge_spare(struct mp_memcap *cap, size_t n, size_t spare);

/* Give back n bytes charged before (NULL: nothing). */
void mp_memcap_uncharge(struct mp_memcap *cap, size_t n);

/* Take and drop a reference (NULL: nothing); the last frees it. */
struct mp_memcap *mp_memcap_ref(struct mp_memcap *cap);
void mp_memcap_unref(struct mp_memcap *cap);

#endif
