/* SPDX-License-Identifier: MIT */
/*
 * A port's shared page: a sealed memfd the server writes and every ring
 * client maps read-only (handed over in the WELCOME frame).  Clients read
 * it to decide whether a doorbell is needed and whether a receiver was
 * waiting.  Sealed against shrinking, so the server cannot make a client's
 * read fault.  The protocol of its fields: proto/ring.h.
 */
#ifndef MP_PORTPAGE_H
#define MP_PORTPAGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "os/compiler.h"

#define MP_PORTPAGE_SIZE 4096

struct mp_port_page {
	_Atomic uint32_t shm_waiting;	/* threads inside mp_recv() [W1] */
	uint8_t pad0[MP_CACHELINE - 4];
	/* Reasons to ring the doorbell: receivers asleep, plus one while no
	 * receiver will look at the rings unasked [D2] [D4].  Written on those
	 * transitions only, so a busy server's clients read it from cache. */
	_Atomic uint32_t shm_doorbell;
	uint8_t pad1[MP_CACHELINE - 4];
};

/* Create the page: returns its memfd and maps it writable at *page. */
int mp_portpage_create(struct mp_port_page **page);
/* Map a peer's page read-only after checking its seals; NULL on error. */
const struct mp_port_page *mp_portpage_map(int fd);
void mp_portpage_unmap(const void *page);

#endif
