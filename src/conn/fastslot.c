/* SPDX-License-Identifier: MIT */
/* The fast slots of a port (conn/fastslot.h). */
#include "conn/fastslot.h"

#include <stdbool.h>
#include <stdlib.h>

#include "os/shm.h"
#include "transport/transport.h"

/* Tokens of different ports start far apart: a rid of one port is no
 * rid of another (unless 2^24 calls went through the same slot). */
static _Atomic uint32_t fast_seed;

struct mp_fast_call *mp_fastslots_new(void)
{
	uint32_t seed = atomic_fetch_add_explicit(&fast_seed, 1u << 24, memory_order_relaxed);
	struct mp_fast_call *v = calloc(MP_FAST_SLOTS, sizeof(*v));

	if (!v)
		return NULL;
	for (uint32_t k = 0; k < MP_FAST_SLOTS; k++)
		atomic_init(&v[k].word, (uint64_t)seed << 32);
	return v;
}

void mp_fastslots_free(struct mp_fast_call *v)
{
	free(v);
}

void mp_fastslot_clear(struct mp_fast_call *s, uint64_t w)
{
	s->conn = NULL;
	store_release(&s->word, MP_FAST_TOKEN(w));
}

struct mp_sconn *mp_fastslot_conn_gone(struct mp_fast_call *v, struct mp_sconn *c)
{
	struct mp_fast_call *s;
	uint64_t w;

	if (c->idx >= MP_FAST_SLOTS || v[c->idx].conn != c)
		return NULL;
	s = &v[c->idx];
	w = load_acquire(&s->word);
	do {
		if (!(w & (MP_FAST_INFLIGHT | MP_FAST_ANSWERING))) {
			/* free: no answerer can claim it, the slot lets go */
			s->conn = NULL;
			return c;
		}
	} while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w | MP_FAST_ORPHAN,
							 memory_order_acq_rel, memory_order_acquire));
	return NULL;
}

/* An orphaned call nobody answers now ends: its connection, or NULL.  (An
 * answerer that claims it meanwhile ends it itself: the CAS decides.) */
static struct mp_sconn *end_orphan(struct mp_fast_call *s)
{
	uint64_t w = load_acquire(&s->word);

	while (s->conn && (w & MP_FAST_STATES) == (MP_FAST_INFLIGHT | MP_FAST_ORPHAN)) {
		if (atomic_compare_exchange_weak_explicit(&s->word, &w, MP_FAST_TOKEN(w),
							  memory_order_acq_rel, memory_order_acquire)) {
			struct mp_sconn *c = s->conn;

			s->conn = NULL;
			return c;
		}
	}
	return NULL;
}

void mp_fastslots_end_orphans(struct mp_fast_call *v, void (*drop)(struct mp_sconn *, void *),
			      void *arg)
{
	for (uint32_t k = 0; k < MP_FAST_SLOTS; k++) {
		struct mp_sconn *c = end_orphan(&v[k]);

		if (c)
			drop(c, arg);
	}
}

void mp_fastslots_forget(struct mp_fast_call *v, void (*forget)(struct mp_sconn *))
{
	for (uint32_t k = 0; k < MP_FAST_SLOTS; k++) {
		if (v[k].conn && (load_relaxed(&v[k].word) & MP_FAST_ORPHAN))
			forget(v[k].conn);
		v[k].conn = NULL;
	}
}
