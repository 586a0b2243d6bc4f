/* SPDX-License-Identifier: MIT */
/* Which connection's message a receiver takes next (conn/rxprio.h). */
#include "conn/rxprio.h"

#include "os/compiler.h"

/* c's head message's priority on the scale, 8 when none (worse than any). */
static uint32_t head_prio(const struct mp_sconn *c)
{
	int w = c->tp->srv_head_prio ? c->tp->srv_head_prio((struct mp_sconn *)c) : -1;

	return w < 0 ? MP_PRIO_MAX + 1 : mp_sconn_prio(c, (uint32_t)w);
}

uint32_t mp_rxprio_pick_many_locked(struct mp_port_obj *p, uint32_t idx)
{
	uint32_t n = p->polled_n, best = MP_PRIO_MAX + 1, at = idx;

	if (idx >= n)
		idx = 0;
	for (uint32_t k = 0; k < n && best > 0; k++) {
		uint32_t i = idx + k < n ? idx + k : idx + k - n;
		uint32_t pr = head_prio(p->polled[i]);

		if (pr < best) {
			best = pr;
			at = i;
		}
	}
	return at;
}

/* A socket connection another thread may read from now. */
static bool sock_candidate(const struct mp_sconn *c)
{
	return c && !c->dead && !c->reading && !(c->tp->flags & MP_TP_POLLED) && c->tp->srv_head_prio;
}

struct mp_sconn *mp_rxprio_better(struct mp_port_obj *p, struct mp_sconn *c)
{
	struct mp_sconn *best = c;
	uint32_t pr = 0;
	bool peeked = false;

	if (!c)
		return c;
	mp_lock(&p->lock);	/* c->tp changes under it (a HELLO upgrades c) */
	if ((c->tp->flags & MP_TP_POLLED) || !c->tp->srv_head_prio) {
		mp_unlock(&p->lock);
		return c;
	}
	for (uint32_t i = 0; i < p->nconns; i++) {
		struct mp_sconn *o = p->conns[i];
		uint32_t q;

		if (o == c || !sock_candidate(o))
			continue;
		if (!peeked) {	/* c's own head, once another could beat it */
			pr = head_prio(c);
			peeked = true;
		}
		if (pr == 0 || pr > MP_PRIO_MAX)
			break;	/* nothing beats it, or c has nothing: its event stands */
		q = head_prio(o);
		if (q < pr) {
			pr = q;
			best = o;
		}
	}
	if (best != c) {
		best->refs++;
		mp_sconn_put_locked(p, c);
	}
	mp_unlock(&p->lock);
	return best;
}
