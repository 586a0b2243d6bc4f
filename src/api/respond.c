/* SPDX-License-Identifier: MIT */
/*
 * mp_respond(): answer a call by its rid, from any thread, in any order,
 * on the connection the call came from.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/prio_inherit.h"
#include "conn/fastpath.h"
#include "conn/msgcheck.h"
#include "conn/port.h"
#include "conn/tls.h"
#include "mem/data.h"
#include "mem/pages.h"
#include "os/deadline.h"
#include "os/shm.h"
#include "transport/refuse.h"

/* Take the call rid out of the table if msg fits it; p->lock held. */
static int call_take_locked(struct mp_port_obj *p, mp_rid_t rid, const mp_msg_t *msg,
			    struct mp_call *out)
{
	struct mp_call *call = mp_rid_find(&p->rids, rid);

	if (!call)
		return -ENOENT;
	if (msg->o.size > call->out_cap)
		return -EMSGSIZE;
	*out = *call;
	mp_rid_free(&p->rids, rid);
	mp_stats_answer(p->stats, msg->o.size);
	return 0;
}

/* The call is done: its buffers, its connection's, its reference. */
static void call_done_locked(struct mp_port_obj *p, struct mp_call *call)
{
	if (call->inl)
		call->conn->inl->busy = false;	/* the next call may have them */
	mp_sconn_put_locked(p, call->conn);
}

static unsigned reply_flags(const struct mp_call *call)
{
	return mp_ticks() - call->t_recv > MP_TICKS_HELD ? MP_REPLY_ASK_PEER : 0;
}

/*
 * The answer did not go to a caller that may still wait for it: it does
 * not read its replies (-EAGAIN), or we could not send (-ENOMEM...).  Its
 * connection is dropped: the call fails with -EPIPE, it never waits for
 * ever.  A caller already gone (-EPIPE, -ECONNRESET) goes with its hang-up.
 */
static bool reply_lost(int err)
{
	return err && err != -EPIPE && err != -ECONNRESET;
}

/* An answer we could not send for our own lack (-ENOMEM, -EMFILE) is
 * refused instead when that short frame goes: the caller gets the error,
 * the connection goes on, and so does our mp_respond()'s.  Else the
 * connection is dropped (-EPIPE). */
static int reply_failed(struct mp_sconn *c, uint64_t seq, int err)
{
	if (mp_err_resource(err) && mp_refuse_call(c, seq, err) == 0)
		return err;
	return reply_lost(err) ? -ECONNRESET : -EPIPE;
}

/* The client hung up (it died, or dropped the connection). */
static bool peer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/*
 * How the answer's data travels, besides the usual copy: o.data is pages
 * of ours (moved or shared), the caller's lent pages that we wrote in
 * place, or the caller's buffer, written now with process_vm_writev()
 * (only while it waits: it offered OUT_VM for a call without timeout).
 */
static void reply_placed(struct mp_call *call, const mp_msg_t *msg, struct mp_xfer *x)
{
	struct mp_sconn *c = call->conn;
	size_t vmin = mp_vm_min();
	int err;

	if (call->out_kind == MP_BUF_PAGES && msg->o.data == call->out) {
		if (msg->o.size)	/* kept lent pages (ring): never sent twice */
			x->fflags = MP_FRAME_DATA_PLACED;
		return;
	}
	if (call->out_kind == MP_BUF_LENT && msg->o.data == call->out) {
		if (msg->o.size > MP_FRAME_INLINE_MAX)
			x->fflags = MP_FRAME_DATA_PLACED;
		return;
	}
	if (!call->out_addr || !vmin || msg->o.size <= vmin || load_relaxed(&c->vm_denied))
		return;
	if (call->out_kind == MP_BUF_SHARED && msg->o.data == call->out)
		return;	/* written in the bulk area already: one copy either way */
	if (peer_gone(c->fd))
		return;	/* never write into a pid that may be reused */
	err = mp_vm_write(c->pid, call->out_addr, msg->o.data, msg->o.size);
	if (err == 0)
		x->fflags = MP_FRAME_DATA_PLACED;
	else if (err == -EPERM)
		store_relaxed(&c->vm_denied, true);	/* a hint: at worst one more refused try */
}

/* Send the answer to a call taken from the table, then let the call go. */
static int reply_send(struct mp_port_obj *p, struct mp_call *call, const mp_msg_t *msg,
		      struct mp_xfer *x)
{
	unsigned flags = reply_flags(call);
	int err;

	if (!x->fflags)
		reply_placed(call, msg, x);
	err = call->conn->tp->srv_reply(call->conn, call->seq, msg, flags, x);
	if (err)
		err = reply_failed(call->conn, call->seq, err);
	if (err == -ECONNRESET)
		mp_sconn_kill(p, call->conn);
	mp_call_free_buffers(call);
	mp_lock(&p->lock);
	call_done_locked(p, call);
	mp_unlock(&p->lock);
	return err == -ECONNRESET ? -EPIPE : err;
}

/*
 * A short call (its input and output buffers are its connection's) with
 * a short answer that moves nothing is answered under the hold of p->lock
 * that took it, which orders over the transport's txlock (conn/port.h).
 */
static bool call_short(const struct mp_call *call, const mp_msg_t *msg, const struct mp_xfer *x)
{
	return call->inl && call->in_kind == MP_BUF_SHARED && call->out == call->conn->inl->out &&
	       !x->fflags && !msg->o.nfds && msg->o.size <= MP_SCONN_INLINE;
}

static int reply_short_locked(struct mp_port_obj *p, struct mp_call *call, const mp_msg_t *msg,
			      struct mp_xfer *x)
{
	int err = call->conn->tp->srv_reply(call->conn, call->seq, msg, reply_flags(call), x);

	if (err)
		err = reply_failed(call->conn, call->seq, err);
	if (err == -ECONNRESET)
		mp_sconn_kill_locked(p, call->conn);
	call_done_locked(p, call);
	return err == -ECONNRESET ? -EPIPE : err;
}

static inline __attribute__((always_inline)) int respond_any(mp_port_t port, mp_msg_t *msg,
							       mp_rid_t rid)
{
	struct mp_port_obj *p;
	struct mp_call call;
	struct mp_xfer x;
	struct mp_tls *tls;
	bool held;
	int err;

	if (likely(mp_rid_is_fast(rid)))
		return mp_respond_fast(port, msg, rid);	/* conn/fastpath.h */
	err = mp_msg_check_answer(port, msg);
	if (err)
		return err;
	err = mp_port_find_mine(port, &tls, &p, &held);
	if (err)
		return err;
	err = mp_answer_pages_begin(msg, &x);
	if (err)
		goto out;
	mp_lock(&p->lock);
	err = call_take_locked(p, rid, msg, &call);
	if (!err && call_short(&call, msg, &x)) {
		err = reply_short_locked(p, &call, msg, &x);
		mp_unlock(&p->lock);
		goto out;
	}
	mp_unlock(&p->lock);
	if (err)
		goto out;
	err = reply_send(p, &call, msg, &x);
out:
	mp_pages_tx_end(&x.in, x.sent);
	mp_port_done(p, tls, held);
	return err;
}

/* mp_respond() in a process with a port that inherits: the handler's
 * priority put back once its call is answered (or gone). */
static MP_COLD int respond_inheriting(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	int err = respond_any(port, msg, rid);

	if (mp_inherit_rid && rid == mp_inherit_rid && err != -EMSGSIZE && err != -EINVAL)
		mp_inherit_end();
	return err;
}

int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	if (unlikely(load_relaxed(&mp_inherit_ports)))	/* a hint: such a port, ever */
		return respond_inheriting(port, msg, rid);
	return respond_any(port, msg, rid);
}
