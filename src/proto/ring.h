/* SPDX-License-Identifier: MIT */
/*
 * Single-producer single-consumer rings of cache-line slots in memory
 * shared between two processes (Barrelfish's UMP).
 *
 * Positions are free-running 64-bit counters; slot = pos & (nslots - 1).
 * A message is a run of slots whose first word is a stamp (odd, one per
 * lap: ring_stamp_for()), so the consumer polls the message itself rather
 * than a separate tail index, and a round trip moves only the message's
 * cache lines:
 *
 *    producer                                  consumer
 *    --------                                  --------
 *    write slots [pos, pos + n) but the stamp
 *    store_release(stamp[pos], stamp(pos)) ->  load_acquire(stamp[pos]) == stamp(pos) ?
 *                                              validate, copy slots out
 *    h = load_acquire(head)  <--------------   store_release(head, pos + n)
 *    (reuse slots below h)
 *
 * The release store of the stamp pairs with the consumer's acquire load:
 * the whole message is visible before its stamp is.  The release store of
 * head pairs with the producer's acquire load: the consumer has copied the
 * slots out before the producer may overwrite them.  The producer keeps a
 * cached copy of head and reloads it only when the copy says full.
 *
 * Sleeping (see wait.h) adds one flag per waiter and a full fence on both
 * sides (Dekker): the sleeper sets its flag, fences, re-checks the ring;
 * the producer publishes, fences, reads the flag and rings the doorbell
 * only when it is set.  Either the sleeper sees the message or the
 * producer sees the flag.  Modelled in model/ring.pml.
 *
 * The other side may be hostile: a head it writes is validated on every
 * load, a stamp that is not exactly stamp(pos) is no message, and slots are
 * copied to private memory before they are decoded.
 */
#ifndef MP_RING_H
#define MP_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "os/compiler.h"
#include "os/shm.h"

#define MP_SLOT_SIZE 64u
#define MP_RING_SLOTS 256u	/* per direction: 16 KiB */
#define MP_RING_MAGIC 0x4d50524eu	/* "MPRN" */

struct mp_slot {
	uint8_t b[MP_SLOT_SIZE];
} __attribute__((aligned(MP_CACHELINE)));

/* One shared index alone on its cache line. */
struct mp_ring_index {
	_Atomic uint64_t pos;
	uint8_t pad[MP_CACHELINE - sizeof(uint64_t)];
} __attribute__((aligned(MP_CACHELINE)));

/* A side's state, written by that side only. */
struct mp_ring_waiter {
	_Atomic uint32_t sleeping;	/* 1 while blocked or about to block */
	_Atomic int32_t cpu;		/* CPU it last ran on, -1 unknown */
	_Atomic uint32_t closed;	/* 1: this side dropped the connection */
	uint8_t pad[MP_CACHELINE - 12];
} __attribute__((aligned(MP_CACHELINE)));

/*
 * The shared region of one connection: a header page, then the slots of
 * the client-to-server ring, then those of the server-to-client ring.
 * Written: the c2s slots, s2c_head and client by the client; the s2c
 * slots, c2s_head and server by the server.
 */
struct mp_ring_region {
	uint32_t magic;		/* set by the client before handing it over */
	uint32_t nslots;
	uint8_t pad0[MP_CACHELINE - 8];
	struct mp_ring_index c2s_head;	/* server consumed up to here */
	struct mp_ring_index s2c_head;	/* client consumed up to here */
	struct mp_ring_waiter client;	/* waiting for a reply or for room */
	struct mp_ring_waiter server;	/* server's CPU (sleeping unused) */
	uint8_t pad1[4096 - 5 * MP_CACHELINE];
	struct mp_slot c2s[MP_RING_SLOTS];
	struct mp_slot s2c[MP_RING_SLOTS];
};
_Static_assert(offsetof(struct mp_ring_region, c2s_head) == 64, "region layout");
_Static_assert(offsetof(struct mp_ring_region, c2s) == 4096, "region layout");
_Static_assert(sizeof(struct mp_ring_region) == 4096 + 2 * MP_RING_SLOTS * MP_SLOT_SIZE,
	       "region layout");

/* One side's private view of a ring. */
struct mp_ring_view {
	struct mp_slot *slots;
	_Atomic uint64_t *head;		/* consumer's index: its own, or theirs */
	uint64_t pos;			/* our position (private copy) */
	uint64_t cached;		/* producer: last valid head it read */
};

static inline _Atomic uint32_t *ring_stamp(const struct mp_ring_view *v, uint64_t pos)
{
	return (_Atomic uint32_t *)&v->slots[pos & (MP_RING_SLOTS - 1)];
}

/* The stamp of a message starting at pos: odd, and different for every
 * lap, so neither a stale header, nor a continuation slot (whose word 0
 * is always zero), nor zeroed memory can look like a new message. */
static inline uint32_t ring_stamp_for(uint64_t pos)
{
	return (uint32_t)(pos / MP_RING_SLOTS) << 1 | 1u;
}

/* Consumer: whether a message starts at our position. */
static inline bool ring_ready(const struct mp_ring_view *v)
{
	/* pairs with the producer's store_release of the stamp */
	return atomic_load_explicit(ring_stamp(v, v->pos), memory_order_acquire) ==
	       ring_stamp_for(v->pos);
}

/* Producer: 1 when need slots are free, 0 when not yet, -1 when the
 * consumer wrote an impossible head. */
static inline int ring_has_space(struct mp_ring_view *v, uint64_t need)
{
	uint64_t h;

	if (MP_RING_SLOTS - (v->pos - v->cached) >= need)
		return 1;
	h = load_acquire(v->head);	/* pairs with consumer's store_release(head) */
	if (unlikely(v->pos - h > MP_RING_SLOTS))
		return -1;
	v->cached = h;
	return MP_RING_SLOTS - (v->pos - h) >= need;
}

/* Copy len bytes between private memory and the ring at slot position
 * pos, wrapping at the end of the slot array. */
static inline void ring_copy_out(const struct mp_ring_view *v, uint64_t pos, void *dst, size_t len)
{
	size_t off = (size_t)(pos & (MP_RING_SLOTS - 1)) * MP_SLOT_SIZE;
	size_t first = MP_RING_SLOTS * MP_SLOT_SIZE - off;

	if (first > len)
		first = len;
	memcpy(dst, (const uint8_t *)v->slots + off, first);
	memcpy((uint8_t *)dst + first, v->slots, len - first);
}

static inline void ring_copy_in(struct mp_ring_view *v, uint64_t pos, const void *src, size_t len)
{
	size_t off = (size_t)(pos & (MP_RING_SLOTS - 1)) * MP_SLOT_SIZE;
	size_t first = MP_RING_SLOTS * MP_SLOT_SIZE - off;

	if (first > len)
		first = len;
	memcpy((uint8_t *)v->slots + off, src, first);
	memcpy(v->slots, (const uint8_t *)src + first, len - first);
}

/* Producer: make the n-slot message at pos visible: its stamp last.
 * The stamp word of the first slot is written here, not by the caller. */
static inline void ring_publish(struct mp_ring_view *v, uint64_t n)
{
	/* pairs with the consumer's load_acquire of the stamp */
	atomic_store_explicit(ring_stamp(v, v->pos), ring_stamp_for(v->pos), memory_order_release);
	v->pos += n;
}

/* Consumer: give slots [pos, pos + n) back. */
static inline void ring_consume(struct mp_ring_view *v, uint64_t n)
{
	v->pos += n;
	store_release(v->head, v->pos);	/* pairs with producer's load_acquire(head) */
}
#endif
