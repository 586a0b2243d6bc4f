/* SPDX-License-Identifier: MIT */
/*
 * The fast slots of a port: the calls taken by the server's fast path
 * (conn/fastpath.h), answered by their rid without the rid table and
 * without the port lock.
 *
 * A client's calls are synchronous, so a connection has one call in
 * flight: its fast call lives in the port's slot for the connection
 * (fast[c->idx], a fixed array: found without a lock), named by a rid
 *
 *    token << 32 | MP_RID_FAST | c->idx
 *
 * whose token changes with every call taken through the slot (and starts
 * apart for each port), so a stale, repeated or foreign rid is refused.
 * The slot's word holds the token, the answer's room and the state:
 *
 *    FREE --take (port lock)--> INFLIGHT --claim (CAS, any thread)--> ANSWERING
 *      ^                                                                  |
 *      +--------------------- release (CAS, release) --------------------+
 *
 * ORPHAN is added (under the port lock) when the connection is dropped
 * while a call is INFLIGHT or ANSWERING: the slot's reference to the
 * connection (taken by its first fast call, kept across calls) is then
 * dropped by whoever ends the call (its answerer, or the port's
 * shutdown), else by the drop itself.  One claim wins: a second answer
 * to the same rid finds the word changed (-ENOENT).
 *
 * Orders: the taker writes the slot's fields, then store_release of
 * INFLIGHT; the answerer's CAS (acquire) reads them.  The answerer clears
 * the call buffers' busy (store_release, after its last read of the
 * answer buffer) before it releases the word, so a connection freed after
 * the release is never touched (transport.h, struct mp_sconn_call).
 */
#ifndef MP_FASTSLOT_H
#define MP_FASTSLOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "msgport.h"

struct mp_sconn;

/* Connections whose table index is below this have a fast slot. */
#define MP_FAST_SLOTS 256u

/* In a rid's low word: a fast rid (table rids have indexes < 2^24). */
#define MP_RID_FAST (1u << 31)

enum {
	MP_FAST_INFLIGHT = 1u << 0,
	MP_FAST_ANSWERING = 1u << 1,
	MP_FAST_ORPHAN = 1u << 2,
	MP_FAST_STATES = 7u,
	MP_FAST_CAP_SHIFT = 3,
	MP_FAST_CAP_MASK = 0x1fffu,	/* the answer's room, <= MP_SCONN_INLINE */
};
#define MP_FAST_TOKEN(w) ((w) & ~(uint64_t)UINT32_MAX)
#define MP_FAST_IDX_MASK 0x00ffffffu

struct mp_fast_call {
	_Atomic uint64_t word;	/* token << 32 | out_cap << 3 | state */
	struct mp_sconn *conn;	/* set: the slot holds a reference to it */
	uint64_t seq;		/* the call's number, for the reply */
	uint64_t t_recv;	/* mp_ticks() when taken */
};

static inline int mp_rid_is_fast(mp_rid_t rid)
{
	return ((uint32_t)rid & MP_RID_FAST) != 0;
}

/* A port's MP_FAST_SLOTS slots, free, their tokens apart from every
 * other port's; NULL when out of memory. */
struct mp_fast_call *mp_fastslots_new(void);
void mp_fastslots_free(struct mp_fast_call *v);

/*
 * Under the port lock.  c is being dropped: c when the caller must drop
 * the reference its slot in v holds (the slot lets go), NULL when it has
 * none or a call is in flight (marked ORPHAN: whoever ends it drops it).
 */
struct mp_sconn *mp_fastslot_conn_gone(struct mp_fast_call *v, struct mp_sconn *c);
/* Under the port lock, at shutdown: orphaned calls nobody answers end;
 * drop() lets go of each one's connection. */
void mp_fastslots_end_orphans(struct mp_fast_call *v, void (*drop)(struct mp_sconn *, void *),
			      void *arg);
/* A fork child: forget() each connection only a slot holds (an orphan's,
 * in no table); the slots forget theirs. */
void mp_fastslots_forget(struct mp_fast_call *v, void (*forget)(struct mp_sconn *));
/* The slot let go of its connection (under the port lock); w: its word. */
void mp_fastslot_clear(struct mp_fast_call *s, uint64_t w);

#endif
