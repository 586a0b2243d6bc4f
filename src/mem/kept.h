/* SPDX-License-Identifier: MIT */
/*
 * Shared pages kept mapped across messages (ring transports).
 *
 * Sending pages with MP_SHARE (as the input, or lent as the output
 * buffer) passes their memfd, and the server maps it: system calls on each
 * side and a wake-up on the socket, every time.  A connection instead lets
 * the server keep up to MP_SLOT_PAGES_SLOTS shared regions mapped, each
 * under a slot number the client chooses:
 *
 *   first send of a region   side frame with the memfd, PAGES_KEEP (input)
 *                            or OUT_KEEP (output), slot h
 *   later sends              a ring slot naming h: F_PAGES and the size
 *                            (input), F_OUTPAGES (output, its capacity)
 *   answer written in place  the reply slot says so (F_PAGES on a reply)
 *   region freed or moved    F_FORGET bit h: on the next message, or at
 *                            once in a CTRL slot when this thread frees it
 *
 * The client's table (mp_kept_tx) says which of its regions the server
 * holds where; the server's (mp_kept_rx) maps slot numbers to its
 * mappings.  A slot the client reuses for another region replaces the old
 * mapping.  The server keeps a region mapped until it is forgotten or the
 * connection ends, and only then releases it (pages_rx.c: "kept" regions),
 * so its memory lives as long as either side uses it.
 *
 * The server validates every slot number and size the client names
 * against its own table; the client never reads the server's.
 */
#ifndef MP_KEPT_H
#define MP_KEPT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/pages.h"
#include "proto/slot.h"
#include "proto/wire.h"

_Static_assert(MP_SLOT_PAGES_SLOTS == MP_FRAME_PAGES_SLOTS, "one number of kept slots");

struct mp_kept_tx {
	const void *addr[MP_SLOT_PAGES_SLOTS];
	uint64_t id[MP_SLOT_PAGES_SLOTS];	/* 0: free */
	unsigned next;			/* round-robin victim */
	unsigned drops_seen;		/* mp_pages_drops when last checked */
	uint32_t forget;		/* slots to forget with the next message */
};

/* The slot the server keeps region addr/id in, or -1. */
int mp_kept_tx_find(const struct mp_kept_tx *k, const void *addr, uint64_t id);

/* A slot for a new region: a free one, else the next in turn. */
unsigned mp_kept_tx_pick(struct mp_kept_tx *k);

/* The server now keeps addr/id in slot h. */
void mp_kept_tx_set(struct mp_kept_tx *k, unsigned h, const void *addr, uint64_t id);

/* Slot h no longer holds what we think: empty it, and have the server
 * drop whatever it keeps there with the next message. */
void mp_kept_tx_clear(struct mp_kept_tx *k, unsigned h);

/* Note regions that are gone (freed, or tx: being moved) as slots to
 * forget; returns the mask the next message must carry. */
uint32_t mp_kept_tx_stale(struct mp_kept_tx *k, const struct mp_pages_tx *tx);

/* The mask went out with a message. */
static inline void mp_kept_tx_sent(struct mp_kept_tx *k, uint32_t mask)
{
	k->forget &= ~mask;
}

struct mp_kept_rx {
	void *addr[MP_SLOT_PAGES_SLOTS];
	uint64_t id[MP_SLOT_PAGES_SLOTS];	/* the region in pages.c's table; 0: empty */
	uint64_t npages[MP_SLOT_PAGES_SLOTS];	/* its length in pages */
	/* Pages kept, counted for mp_stat() (the port's, conn/stats.h; NULL:
	 * not counted).  Several connections share it: RMW, but only when a
	 * region is kept or forgotten, never per message. */
	_Atomic uint64_t *count;
};

/* Keep received shared pages (mapped with MP_PAGES_RX_KEPT) in slot h. */
void mp_kept_rx_install(struct mp_kept_rx *k, unsigned h, void *addr, uint64_t id);

/* Deliver slot h's pages again, size bytes: 0, or -EPROTO (empty slot,
 * too long). */
int mp_kept_rx_use(struct mp_kept_rx *k, unsigned h, size_t size, void **addr, uint64_t *id);

/* Stop keeping the slots in mask (all: the connection ends). */
void mp_kept_rx_drop(struct mp_kept_rx *k, uint32_t mask);

#endif
