/* base_ring.c - raw single-producer single-consumer ring of 64-byte
 * cache-line slots: the throughput limit of one-way messages.
 *
 * Free-running 64-bit positions, a power-of-two slot count, the producer's
 * and the consumer's position on separate cache lines, and a private cached
 * copy of the other side's position, so that a side touches the shared
 * position line only when its cached copy says the ring is full or empty.
 *
 *   producer                                consumer
 *   slot[tail & MASK] = msg
 *   store_release(tail, tail + 1) ------>  load_acquire(tail): slots up to it are full
 *                                          msg = slot[head & MASK]
 *   load_acquire(head): slots <---------- store_release(head, head + 1)
 *   before it are free again
 *
 * Cross-core both sides spin; same-core they yield while blocked, since
 * spinning there only waits for the scheduler to preempt the spinner.
 */
#include "pingpong.h"

#include <errno.h>
#include <stdlib.h>

#define RING_SLOTS 256u			/* 16 KiB: stays in L1 on both sides */
#define RING_MASK (RING_SLOTS - 1)

struct ring_shared {
	_Alignas(PP_CACHELINE) _Atomic uint64_t head;	/* consumer position */
	_Alignas(PP_CACHELINE) _Atomic uint64_t tail;	/* producer position */
	_Alignas(PP_CACHELINE) struct pp_msg slot[RING_SLOTS];
};

struct ring_local {
	uint64_t mine;		/* my position: tail (producer) or head (consumer) */
	uint64_t theirs;	/* cached copy of the other side's position */
};

static int ring_setup(struct pp_ctx *c)
{
	c->shared = pp_shm_alloc(sizeof(struct ring_shared));
	return c->shared ? 0 : -ENOMEM;
}

static void ring_teardown(struct pp_ctx *c)
{
	pp_shm_free(c->shared, sizeof(struct ring_shared));
}

static int ring_attach(struct pp_ctx *c)
{
	c->local = calloc(1, sizeof(struct ring_local));
	return c->local ? 0 : -ENOMEM;
}

static void ring_detach(struct pp_ctx *c)
{
	free(c->local);
}

static int ring_send(struct pp_ctx *c, const struct pp_msg *m)
{
	struct ring_shared *r = c->shared;
	struct ring_local *l = c->local;

	while (l->mine - l->theirs == RING_SLOTS) {
		/* pairs with the consumer's release of head: the slot is free */
		l->theirs = pp_load_acquire64(&r->head);
		if (l->mine - l->theirs == RING_SLOTS)
			pp_poll_relax(c);
	}
	r->slot[l->mine & RING_MASK] = *m;
	pp_store_release64(&r->tail, ++l->mine);	/* pairs with acquire in ring_recv */
	return 0;
}

static int ring_recv(struct pp_ctx *c, struct pp_msg *m)
{
	struct ring_shared *r = c->shared;
	struct ring_local *l = c->local;

	while (l->mine == l->theirs) {
		/* pairs with the producer's release of tail: the slot is full */
		l->theirs = pp_load_acquire64(&r->tail);
		if (l->mine == l->theirs)
			pp_poll_relax(c);
	}
	*m = r->slot[l->mine & RING_MASK];
	pp_store_release64(&r->head, ++l->mine);	/* pairs with acquire in ring_send */
	return 0;
}

const struct pp_backend pp_backend_ring = {
	.name = "spsc-ring",
	.what = "raw SPSC ring of 64-byte slots in shared memory, one-way",
	.note = { "busy-poll", "sched_yield while full or empty" },
	.flags = PP_THROUGHPUT | PP_CROSS_OK | PP_SAME_OK | PP_BASE_RING | PP_CALLGRIND,
	.setup = ring_setup,
	.attach = ring_attach,
	.send = ring_send,
	.recv = ring_recv,
	.detach = ring_detach,
	.teardown = ring_teardown,
};
