/* SPDX-License-Identifier: MIT */
/* Which connection's message a receiver takes next (conn/rxprio.h). */
#include "conn/rxprio.h"

#include <poll.h>

#include "os/compiler.h"

#define PRIO_NONE (MP_PRIO_MAX + 1)	/* no head: worse than any */
#define PRIO_ASK UINT32_MAX		/* not looked at yet */

/* c's head message's priority on the scale, PRIO_NONE when none. */
static uint32_t head_prio(const struct mp_sconn *c)
{
	int w = c->tp->srv_head_prio ? c->tp->srv_head_prio((struct mp_sconn *)c) : -1;

	return w < 0 ? PRIO_NONE : mp_sconn_prio(c, (uint32_t)w);
}

/* A socket connection another thread may read from now. */
static bool sock_candidate(const struct mp_sconn *c)
{
	return c && !c->dead && !c->reading && !c->board && !(c->tp->flags & MP_TP_POLLED) &&
	       c->tp->srv_head_prio;
}

/* The socket connection other than c whose head is best and better than
 * *pr (then its priority), or NULL; PRIO_ASK in *pr: c's head, peeked
 * once another could beat it.  Stops at 0, and at once when c has none
 * (its event stands: a hang-up, ...). */
static struct mp_sconn *socks_best_locked(struct mp_port_obj *p, const struct mp_sconn *c,
					  uint32_t *pr)
{
	struct mp_sconn *at = NULL;

	for (uint32_t i = 0; i < p->nconns; i++) {
		struct mp_sconn *o = p->conns[i];
		uint32_t q;

		if (o == c || !sock_candidate(o))
			continue;
		if (*pr == PRIO_ASK)
			*pr = head_prio(c);
		if (*pr == 0 || *pr == PRIO_NONE)
			break;
		q = head_prio(o);
		if (q < *pr) {
			*pr = q;
			at = o;
		}
	}
	return at;
}

/*
 * The ring scan's look at the sockets: one poll() over the socket
 * connections, then a MSG_PEEK of each readable one only (an idle one
 * costs no peek); past POLL_MAX of them, a peek of each.  As
 * socks_best_locked(p, NULL, pr), *pr known.
 */
#define POLL_MAX 64

static struct mp_sconn *socks_ready_best_locked(struct mp_port_obj *p, uint32_t *pr)
{
	struct pollfd fds[POLL_MAX];
	struct mp_sconn *cs[POLL_MAX], *at = NULL;
	nfds_t n = 0;

	for (uint32_t i = 0; i < p->nconns; i++) {
		struct mp_sconn *o = p->conns[i];

		if (!sock_candidate(o))
			continue;
		if (n == POLL_MAX)
			return socks_best_locked(p, NULL, pr);
		fds[n] = (struct pollfd){ .fd = o->fd, .events = POLLIN };
		cs[n++] = o;
	}
	if (!n || poll(fds, n, 0) <= 0)
		return NULL;	/* (EINTR, ENOMEM: this once, as before: rings first) */
	for (nfds_t k = 0; k < n && *pr > 0; k++) {
		uint32_t q = (fds[k].revents & POLLIN) ? head_prio(cs[k]) : PRIO_NONE;

		if (q < *pr) {
			*pr = q;
			at = cs[k];
		}
	}
	return at;
}

uint32_t mp_rxprio_pick_many_locked(struct mp_port_obj *p, uint32_t idx, struct mp_sconn **sock)
{
	uint32_t n = p->polled_n, best = PRIO_NONE, at = idx;

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
	/* a socket's head strictly better (none: the scan finds nothing and
	 * the sockets' events come as before) */
	if (best > 0 && best != PRIO_NONE && p->nlive > n) {
		struct mp_sconn *o = socks_ready_best_locked(p, &best);

		if (o) {
			o->refs++;
			*sock = o;
			return MP_RXPRIO_SOCK;
		}
	}
	return at;
}

/* The best head among the polled connections, or one better than than,
 * whichever is found first; PRIO_NONE when none. */
static uint32_t rings_best_locked(const struct mp_port_obj *p, uint32_t than)
{
	uint32_t best = PRIO_NONE;

	for (uint32_t k = 0; k < p->polled_n && best >= than; k++) {
		uint32_t pr = head_prio(p->polled[k]);

		best = pr < best ? pr : best;
	}
	return best;
}

struct mp_sconn *mp_rxprio_better(struct mp_port_obj *p, struct mp_sconn *c)
{
	struct mp_sconn *best;
	uint32_t pr;

	if (!c)
		return c;
	mp_lock(&p->lock);	/* c->tp changes under it (a HELLO upgrades c) */
	if ((c->tp->flags & MP_TP_POLLED) || !c->tp->srv_head_prio || (!p->polled_n && p->nlive < 2)) {
		mp_unlock(&p->lock);
		return c;	/* nothing else could beat it */
	}
	pr = p->polled_n ? head_prio(c) : PRIO_ASK;
	best = socks_best_locked(p, c, &pr);
	if (p->polled_n && pr > 0 && pr != PRIO_NONE && rings_best_locked(p, pr) < pr) {
		mp_sconn_put_locked(p, c);	/* a ring's is better: the scan takes it */
		mp_unlock(&p->lock);
		return NULL;
	}
	if (best) {
		best->refs++;
		mp_sconn_put_locked(p, c);
	}
	mp_unlock(&p->lock);
	return best ? best : c;
}
