/* SPDX-License-Identifier: MIT */
/*
 * The server's fast path (conn/fastpath.h): the fast take and
 * mp_respond_fast().  The slots' states: conn/fastslot.h.
 */
#include "conn/fastpath.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "conn/msgcheck.h"
#include "conn/port.h"
#include "conn/tls.h"
#include "mem/pages.h"
#include "os/compiler.h"
#include "os/deadline.h"
#include "os/shm.h"

_Static_assert(MP_SCONN_INLINE <= MP_FAST_CAP_MASK, "the answer's room fits the word");
_Static_assert(MP_FAST_SLOTS <= MP_FAST_IDX_MASK, "a slot index fits the rid");

/* ------------------------------------------------------------ take */

static void msg_creds(mp_msg_t *msg, const struct mp_sconn *c)
{
	msg->pid = c->pid;
	msg->uid = c->uid;
	msg->gid = c->gid;
	msg->priority = mp_sconn_prio(c, 0);	/* a fast take's: the default (wire 0) */
}

int mp_fast_take_locked(struct mp_port_obj *p, struct mp_sconn *c, mp_msg_t *msg, mp_rid_t *rid,
			void *buf, size_t buflen)
{
	struct mp_fast_call *s;
	struct mp_fast_took t;
	uint64_t w;
	bool slot_ok;
	int r;

	if (unlikely(!c->tp->srv_take_fast || c->idx >= MP_FAST_SLOTS))
		return 0;
	s = &p->fast[c->idx];
	/* acquire: pairs with an answerer's release of the word */
	w = load_acquire(&s->word);
	/* A call only when the slot is free and c's (a slot still held by an
	 * orphaned call of a connection that had this index is not). */
	slot_ok = !(w & MP_FAST_STATES) && (!s->conn || s->conn == c);
	r = c->tp->srv_take_fast(c, msg, slot_ok ? &t : NULL, buf, buflen);
	if (r <= 0)
		return r;
	msg_creds(msg, c);
	if (r == 2) {
		*rid = 0;
		return 2;
	}
	if (!s->conn) {
		s->conn = c;
		c->refs++;	/* the slot's, kept across calls */
	}
	s->seq = t.seq;
	s->t_recv = mp_ticks();
	w = MP_FAST_TOKEN(w) + ((uint64_t)1 << 32);
	/* release: the fields above before the state an answerer claims */
	store_release(&s->word, w | (uint64_t)t.out_cap << MP_FAST_CAP_SHIFT | MP_FAST_INFLIGHT);
	*rid = w | MP_RID_FAST | c->idx;
	return 1;
}

/* ------------------------------------------------------------ answer */

/* Claim the call rid names (its answer size bytes): 0 and *sp, *wp (the
 * word now, ANSWERING), or -ENOENT (no such call, answered, or ended),
 * -EMSGSIZE (nothing claimed). */
static int fast_claim(struct mp_port_obj *p, mp_rid_t rid, size_t size, struct mp_fast_call **sp,
		      uint64_t *wp)
{
	uint32_t idx = (uint32_t)rid & MP_FAST_IDX_MASK;
	struct mp_fast_call *s;
	uint64_t w, want = MP_FAST_TOKEN(rid) | MP_FAST_INFLIGHT;

	if (unlikely(idx >= MP_FAST_SLOTS))
		return -ENOENT;
	s = &p->fast[idx];
	w = load_acquire(&s->word);
	do {
		if (unlikely((w & ~(uint64_t)(MP_FAST_ORPHAN | MP_FAST_CAP_MASK << MP_FAST_CAP_SHIFT)) != want))
			return -ENOENT;
		if (unlikely(size > ((w >> MP_FAST_CAP_SHIFT) & MP_FAST_CAP_MASK)))
			return -EMSGSIZE;
		/* acquire: the taker's fields (seq, conn) */
	} while (unlikely(!atomic_compare_exchange_weak_explicit(&s->word, &w,
								   (w & ~(uint64_t)MP_FAST_INFLIGHT) | MP_FAST_ANSWERING,
								   memory_order_acquire, memory_order_acquire)));
	*sp = s;
	*wp = (w & ~(uint64_t)MP_FAST_INFLIGHT) | MP_FAST_ANSWERING;
	return 0;
}

/* The answer is out: the call buffers, then the slot, go free. */
static void fast_release(struct mp_port_obj *p, struct mp_fast_call *s, uint64_t w)
{
	struct mp_sconn *c = s->conn;

	/* release: our reads of the answer buffer before the next taker's
	 * claim (srv_inl_claim() acquires); before the word: once the slot
	 * is free, the connection may go */
	store_release(&c->inl->busy, false);
	if (likely(!(w & MP_FAST_ORPHAN) &&
		   atomic_compare_exchange_strong_explicit(&s->word, &w, MP_FAST_TOKEN(w),
							   memory_order_release, memory_order_relaxed)))
		return;
	/* dropped meanwhile (ORPHAN): the slot's reference is ours to let go */
	mp_lock(&p->lock);
	mp_fastslot_clear(s, w);
	mp_sconn_put_locked(p, c);
	mp_unlock(&p->lock);
}

static int fast_answer(struct mp_port_obj *p, mp_rid_t rid, mp_msg_t *msg, struct mp_xfer *x)
{
	struct mp_fast_call *s;
	struct mp_sconn *c;
	unsigned flags;
	uint64_t w;
	int err = fast_claim(p, rid, msg->o.size, &s, &w);

	if (err)
		return err;
	mp_stats_answer(p->stats, msg->o.size);
	c = s->conn;
	flags = mp_ticks() - s->t_recv > MP_TICKS_HELD ? MP_REPLY_ASK_PEER : 0;
	err = c->tp->srv_reply(c, s->seq, msg, flags, x);
	if (unlikely(err && err != -EPIPE && err != -ECONNRESET))
		mp_sconn_kill(p, c);	/* a caller that waits in vain: respond.c's reply_lost() */
	fast_release(p, s, w);
	return err ? -EPIPE : 0;
}

int mp_fast_answer(struct mp_port_obj *p, mp_rid_t rid, mp_msg_t *msg, struct mp_xfer *x)
{
	return fast_answer(p, rid, msg, x);
}

/* A fast rid with an answer that moves pages or fds, or that is wrong:
 * mp_respond()'s checks and its pages, then the same answer. */
static MP_COLD int respond_fast_general(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	struct mp_port_obj *p;
	struct mp_xfer x;
	struct mp_tls *tls;
	bool held;
	int err;

	err = mp_msg_check_answer(port, msg);
	if (err)
		return err;
	err = mp_port_find_mine(port, &tls, &p, &held);
	if (err)
		return err;
	err = mp_answer_pages_begin(msg, &x);
	if (err)
		goto out;
	err = fast_answer(p, rid, msg, &x);
out:
	mp_pages_tx_end(&x.in, x.sent);
	mp_port_done(p, tls, held);
	return err;
}

int mp_respond_fast(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	struct mp_tls *tls = mp_tls_cur;
	struct mp_port_obj *p;
	struct mp_xfer x;
	int err;

	/* the guards: what mp_respond() checks, and nothing to move */
	if (unlikely(!msg || port == 0 || msg->flags || msg->o.nfds || msg->o.size > MP_DATA_MAX))
		return respond_fast_general(port, msg, rid);
	if (unlikely(msg->o.size && (!msg->o.data || mp_pages_maybe(msg->o.data))))
		return respond_fast_general(port, msg, rid);
	if (unlikely(!tls || load_relaxed(&tls->port_inuse)))	/* our own field */
		return respond_fast_general(port, msg, rid);
	p = mp_port_hold(port, tls);
	if (unlikely(!p))
		return -ENOENT;
	mp_xfer_init(&x);
	err = fast_answer(p, rid, msg, &x);
	mp_port_unhold(tls);
	return err;
}
