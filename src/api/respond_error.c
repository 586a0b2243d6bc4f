/* SPDX-License-Identifier: MIT */
/*
 * mp_respond_error(): fail a call as the library would.  The answer is
 * the library's refusal (MP_FRAME_REFUSED, transport/refuse.h): err and
 * nothing else, which every transport's client turns into its caller's
 * mp_send() result, keeping the connection (api/send.c).
 */
#include <errno.h>
#include <string.h>

#include "api/prio_inherit.h"
#include "conn/fastpath.h"
#include "conn/port.h"
#include "conn/tls.h"
#include "os/shm.h"

/* What a server may make a call fail with: what the library itself gives
 * for a peer, a host or a route that failed (msgport.h). */
static bool err_allowed(int err)
{
	switch (err) {
	case -EPIPE:
	case -EHOSTDOWN:
	case -ETIMEDOUT:
	case -ENOENT:
	case -ECONNREFUSED:
	case -EOPNOTSUPP:
	case -EMSGSIZE:
	case -EACCES:
	case -EAGAIN:
		return true;
	default:
		return false;
	}
}

/* Take the call rid out of the table; p->lock held. */
static int call_take_locked(struct mp_port_obj *p, mp_rid_t rid, struct mp_call *out)
{
	struct mp_call *call = mp_rid_find(&p->rids, rid);

	if (!call)
		return -ENOENT;
	*out = *call;
	mp_rid_free(&p->rids, rid);
	mp_stats_answer(p->stats, 0);
	return 0;
}

/* As api/respond.c's reply_send(): the refusal goes, then the call. */
static int refuse_call(struct mp_port_obj *p, struct mp_call *call, mp_msg_t *m,
		       struct mp_xfer *x)
{
	int err = call->conn->tp->srv_reply(call->conn, call->seq, m, 0, x);

	if (err && err != -EPIPE && err != -ECONNRESET)
		mp_sconn_kill(p, call->conn);	/* its caller must not wait in vain */
	mp_call_free_buffers(call);
	mp_lock(&p->lock);
	if (call->inl)
		call->conn->inl->busy = false;
	mp_sconn_put_locked(p, call->conn);
	mp_unlock(&p->lock);
	return err ? -EPIPE : 0;
}

static int respond_error(mp_port_t port, mp_rid_t rid, int err)
{
	struct mp_port_obj *p;
	struct mp_call call;
	struct mp_xfer x;
	struct mp_tls *tls;
	mp_msg_t m;
	bool held;
	int r;

	r = mp_port_find_mine(port, &tls, &p, &held);
	if (r)
		return r;
	memset(&m, 0, sizeof(m));
	m.o.err = err;
	mp_xfer_init(&x);
	x.fflags = MP_FRAME_REFUSED;	/* ring transports: a frame, not a slot */
	if (mp_rid_is_fast(rid)) {
		r = mp_fast_answer(p, rid, &m, &x);	/* conn/fastpath.h */
	} else {
		mp_lock(&p->lock);
		r = call_take_locked(p, rid, &call);
		mp_unlock(&p->lock);
		if (!r)
			r = refuse_call(p, &call, &m, &x);
	}
	mp_port_done(p, tls, held);
	return r;
}

int mp_respond_error(mp_port_t port, mp_rid_t rid, int err)
{
	int r;

	if (port == 0 || !err_allowed(err))
		return -EINVAL;
	r = respond_error(port, rid, err);
	if (mp_inherit_rid && rid == mp_inherit_rid)
		mp_inherit_end();	/* answered (or gone): as mp_respond() */
	return r;
}
