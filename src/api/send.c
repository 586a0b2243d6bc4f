/* SPDX-License-Identifier: MIT */
/*
 * mp_send() and mp_send_async(): decide how the message's long data
 * travels (struct mp_xfer), send it on this thread's connection to the
 * port (conn/cconn.c), and reconnect once when the connection turns out
 * to be dropped before it took the message.
 *
 * -ECONNRESET, the transports' word for "not delivered, the peer dropped
 * the connection", never leaves this file: send_errno() makes it -EPIPE,
 * msgport.h's word for a peer gone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/cconn.h"
#include "conn/msgcheck.h"
#include "conn/verdict.h"
#include "mem/bulk.h"
#include "mem/data.h"
#include "mem/pages.h"
#include "os/compiler.h"
#include "os/prio.h"

enum { SEND_CALL, SEND_ONEWAY };

/*
 * msg->priority is a request: the call goes at the lower of it and the
 * thread's (numerically the larger; 0 asks for the thread's own), never
 * higher.  It travels as that ^ MP_PRIO_DEFAULT, so that the default (4)
 * is the wire's 0 and keeps the transports' fast paths (api/recv.c and
 * conn/fastpath.c undo it, then clamp it to what the peer may claim).
 */
static inline uint32_t prio_wire(uint32_t req, uint32_t thread)
{
	return (req > thread ? req : thread) ^ MP_PRIO_DEFAULT;
}

static int send_via(struct mp_cconn *c, int how, mp_msg_t *msg, struct mp_deadline d,
		    struct mp_xfer *x)
{
	return how == SEND_CALL ? c->tp->call(c, msg, d, x) : c->tp->oneway(c, msg, d, x);
}

static bool ranges_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return alen && blen && x < y + blen && y < x + alen;
}

/* Input pages: moved or shared.  Moved pages cannot be the output too. */
static int xfer_pages_in(const mp_msg_t *msg, unsigned mode, struct mp_xfer *x)
{
	int r = mp_pages_tx_begin(&x->in, msg->i.data, msg->i.size, mode);

	if (r <= 0)
		return r;
	if (mode == MP_MOVE && ranges_overlap(x->in.addr, x->in.len, msg->o.data, msg->o.size))
		goto err;
	x->fflags |= MP_FRAME_DATA_PAGES | (mode == MP_SHARE ? MP_FRAME_PAGES_SHARE : 0);
	return 0;
err:
	mp_pages_tx_end(&x->in, false);
	return -EINVAL;
}

/* Output pages lent to the server (MP_SHARE), when they are pages. */
static int xfer_pages_out(const mp_msg_t *msg, struct mp_xfer *x)
{
	int r = mp_pages_tx_begin(&x->out, msg->o.data, msg->o.size, MP_SHARE);

	if (r <= 0)
		return r;
	x->fflags |= MP_FRAME_OUT_PAGES;
	return 0;
}

/* The transport's bulk areas (MP_TP_BULK: hybrid) take this call (unless
 * pages send it as a frame): faster than process_vm_readv/writev (measured: a user-space
 * memcpy each way, the answer written in place), so those are not offered. */
static bool bulk_covers(const struct mp_cconn *c, const mp_msg_t *msg)
{
	return (c->tp->flags & MP_TP_BULK) && msg->i.nfds == 0 && msg->i.size <= MP_BULK_MAX &&
	       msg->o.size <= MP_BULK_OUT_MAX;
}

/*
 * How the message's long data travels (struct mp_xfer): pages by their
 * memfd; output pages lent to the server (MP_SHARE); ordinary buffers of
 * more than mp_vm_min() bytes left in our memory for the server to read,
 * and to write while we wait without limit (a caller that gives up must
 * not have its buffer written after it returned).
 */
static int xfer_prepare(struct mp_cconn *c, const mp_msg_t *msg, int how, struct mp_deadline d,
			struct mp_xfer *x)
{
	unsigned mode = (msg->flags & MP_SHARE) ? MP_SHARE : MP_MOVE;
	size_t vmin;
	int r;

	mp_xfer_init(x);
	/* carried in the frame or slot header; as flags, they keep the
	 * call off the transports' fast paths, which have no room for them */
	x->fflags = (msg->priority ? MP_FRAME_PRIO : 0) |
		    (how == SEND_CALL && (msg->flags & MP_OUT_INOUT) && msg->o.size ? MP_FRAME_INOUT : 0);
	/* a port that asks for deadlines gets the time left (the frame's) */
	if (how == SEND_CALL && c->deadlines && !mp_deadline_forever(d))
		x->fflags |= MP_FRAME_DEADLINE;
	r = xfer_pages_in(msg, mode, x);
	if (r || how != SEND_CALL)
		return r;
	if (mode == MP_SHARE) {
		r = xfer_pages_out(msg, x);
		if (r)
			goto err;
	}
	vmin = mp_vm_min();
	if (!vmin || c->vm_denied ||
	    (!(x->fflags & ~(unsigned)(MP_FRAME_PRIO | MP_FRAME_INOUT)) && bulk_covers(c, msg)))
		return 0;
	if (!(x->fflags & MP_FRAME_DATA_PAGES) && msg->i.size > vmin)
		x->fflags |= MP_FRAME_DATA_VM;
	if (!(x->fflags & MP_FRAME_OUT_PAGES) && msg->o.size > vmin && mp_deadline_forever(d))
		x->fflags |= MP_FRAME_OUT_VM;
	return 0;
err:
	mp_pages_tx_end(&x->in, false);
	return r;
}

/* The send is over: moved pages are gone if the server may have them,
 * and back in place if it cannot (-ECONNRESET: it never took them). */
static void xfer_end(struct mp_xfer *x, int err)
{
	/* -ENOBUFS: refused over the server's memory limit, never taken */
	mp_pages_tx_end(&x->in, x->sent && err != -ECONNRESET && err != -ENOBUFS);
	mp_pages_tx_end(&x->out, true);
}

/* The transports' errors as msgport.h documents them. */
static int send_errno(int err)
{
	if (err == -ECONNRESET)
		return -EPIPE;
	return err == -ETIME ? -ETIMEDOUT : err;
}

/*
 * Send on this thread's connection.  A connection dropped before it took
 * the message (-ECONNRESET: a cached one whose server has gone since its
 * last use, or a new one the server dropped while accepting it, short of
 * memory) did not deliver it: reconnect once.  A server gone meanwhile
 * (-ENOENT then) is the first attempt's news: -EPIPE.
 * *waiting gets the receivers waiting just before sending.
 */
static int send_on(mp_port_t port, mp_msg_t *msg, int how, int64_t timeout_ns, int *waiting)
{
	struct mp_tls *tls = mp_tls_get();
	struct mp_deadline d = mp_deadline_in(timeout_ns);
	struct mp_cconn *c;
	struct mp_xfer x;
	int fresh, err;

	if (!tls)
		return -ENOMEM;
	for (int attempt = 0;; attempt++) {
		err = mp_cconn_get(tls, port, d, &c, &fresh);
		if (err == -ECONNRESET && attempt == 0)
			continue;	/* dropped while connecting */
		if (err == -ENOENT && attempt > 0)
			return -EPIPE;
		if (err)
			return send_errno(err);
		if (how == SEND_ONEWAY && !c->confirmed) {
			/* nobody answers a one-way: learn the verdict at accept
			 * first, or a refusal would lose it (conn/verdict.h) */
			err = mp_verdict_wait(c, d);
			if (err)
				mp_cconn_drop(tls, c);	/* refused, or gone */
			if (err == -ECONNRESET && attempt == 0)
				continue;	/* dropped while connecting */
			if (err)
				return send_errno(err);
		}
		if (how == SEND_ONEWAY || timeout_ns == 0)
			*waiting = mp_cconn_receivers_waiting(c);
		if (how == SEND_CALL && timeout_ns == 0) {
			if (*waiting <= 0)
				return -EAGAIN;
			d = mp_deadline_in(MP_FOREVER);
		}
		err = xfer_prepare(c, msg, how, d, &x);
		if (err)
			return err;
		err = send_via(c, how, msg, d, &x);
		if (how == SEND_CALL && (!err || c->call_refused) && !c->confirmed)
			mp_cconn_confirm(c);	/* answered: the server took it */
		if (c->call_refused) {	/* the server failed the call: c goes on */
			c->call_refused = false;
			xfer_end(&x, err);
			return send_errno(err);
		}
		err = mp_cconn_refusal(c, err);	/* refused at accept: say why */
		xfer_end(&x, c->refused ? -ECONNRESET : err);	/* never taken */
		if (err == -ECONNRESET && attempt == 0) {
			mp_cconn_drop(tls, c);
			continue;
		}
		break;
	}
	(void)fresh;	/* new or cached: either may be dropped once */
	/* After a broken or abandoned call the connection is unusable; its
	 * server sees the hang-up, and its respond then fails. */
	if (err == -ECONNRESET || err == -EPIPE || err == -ETIME || err == -EPROTO || c->refused ||
	    c->broken)
		mp_cconn_drop(tls, c);
	return send_errno(err);
}

/* send_on() at the wire's priority (the thread's read afresh); the
 * caller's msg->priority is given back as it was. */
static int send_common(mp_port_t port, mp_msg_t *msg, int how, int64_t timeout_ns, int *waiting)
{
	uint32_t req = msg->priority;
	int err;

	msg->priority = prio_wire(req, mp_prio_refresh());
	err = send_on(port, msg, how, timeout_ns, waiting);
	msg->priority = req;
	return err;
}

/*
 * The fast path: a message with nothing to arrange (no fds, no pages,
 * no data left in our memory, a timeout other than 0) on the thread's
 * cached connection to port goes straight to the transport with an empty
 * struct mp_xfer, which is what xfer_prepare() would have built.  Any
 * other message, or a first call, leaves at a guard with nothing done:
 * SEND_SLOW.  A cached connection found gone before it took the message
 * (-ECONNRESET) is dropped, and the slow path tries once more on a new one.
 */
#define SEND_SLOW 1

static inline bool short_msg(const mp_msg_t *msg, int how, int64_t timeout_ns)
{
	_Static_assert(MP_MOVE == 1 && MP_SHARE == 2, "flags <= MP_SHARE: MOVE, SHARE or neither");
	_Static_assert(MP_OUT_INOUT > MP_SHARE, "in/out calls take the slow path");

	/* a priority asked for, a thread at another than the default (4), or
	 * MP_OUT_INOUT: the slow path sets MP_FRAME_PRIO or _INOUT, which keep
	 * them off the transports' fast paths too */

	if (unlikely(!msg || timeout_ns == 0 || timeout_ns < MP_FOREVER))
		return false;
	if (unlikely(msg->flags > MP_SHARE || (msg->priority | (mp_prio_thread() ^ MP_PRIO_DEFAULT)) ||
		     msg->oid.reserved || msg->i.nfds))
		return false;
	if (unlikely(msg->i.size && (!msg->i.data || mp_pages_maybe(msg->i.data))))
		return false;	/* no data, or perhaps pages */
	if (how == SEND_ONEWAY)
		return true;
	if (unlikely(msg->o.nfds > MP_FDS_MAX))
		return false;
	return likely(!msg->o.size ||
		      (msg->o.data && !((msg->flags & MP_SHARE) && mp_pages_maybe(msg->o.data))));
}

static inline __attribute__((always_inline)) int send_fast(mp_port_t port, mp_msg_t *msg, int how, int64_t timeout_ns, int *waiting)
{
	struct mp_cconn *c;
	struct mp_xfer x;
	int err;

	if (!short_msg(msg, how, timeout_ns))
		return SEND_SLOW;
	c = mp_cconn_cached(port);
	if (unlikely(!c))
		return SEND_SLOW;
	if (how == SEND_CALL && unlikely(msg->i.size > c->copy_max || msg->o.size > c->copy_max))
		return SEND_SLOW;	/* it may be left in our memory (MP_FRAME_*_VM) */
	if (how == SEND_ONEWAY) {
		if (unlikely(msg->i.size > MP_DATA_MAX))
			return SEND_SLOW;
		*waiting = mp_cconn_receivers_waiting(c);
	}
	mp_xfer_init(&x);
	err = send_via(c, how, msg, mp_deadline_in(timeout_ns), &x);
	if (likely(!err))
		return 0;
	if (err == -ECONNRESET) {
		mp_cconn_drop(mp_tls_get(), c);
		return SEND_SLOW;
	}
	if (c->call_refused) {	/* the server failed the call: c goes on */
		c->call_refused = false;
		return send_errno(err);
	}
	err = mp_cconn_refusal(c, err);	/* refused at accept: say why */
	if (err == -EPIPE || err == -ETIME || err == -EPROTO || c->refused || c->broken)
		mp_cconn_drop(mp_tls_get(), c);
	return send_errno(err);
}

/*
 * MP_OUT_INOUT: the call's data is the input followed by the output
 * buffer's o.size bytes, in one buffer of ours, so that every transport
 * carries them as it carries any input (the server splits them,
 * api/recv.c).  The answer still goes to msg->o.data; msg->o changes only
 * when the call succeeds.
 */
static int send_call_inout(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	size_t n = msg->i.size + msg->o.size;	/* checked: at most MP_DATA_MAX */
	uint8_t *buf = malloc(n);
	mp_msg_t m = *msg;
	int waiting, err;

	if (!buf)
		return -ENOMEM;
	if (msg->i.size)
		memcpy(buf, msg->i.data, msg->i.size);
	memcpy(buf + msg->i.size, msg->o.data, msg->o.size);
	m.i.data = buf;
	m.i.size = n;
	err = send_common(port, &m, SEND_CALL, timeout_ns, &waiting);
	free(buf);
	if (!err)
		msg->o = m.o;
	return err;
}

/* mp_send() past the fast path's guards: apart, so that the fast path
 * saves no registers for it. */
static MP_COLD int send_call_slow(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	int waiting, err;

	if (port == 0 || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	err = mp_msg_check_send(msg, 1);
	if (err)
		return err;
	if ((msg->flags & MP_OUT_INOUT) && msg->o.size)
		return send_call_inout(port, msg, timeout_ns);
	return send_common(port, msg, SEND_CALL, timeout_ns, &waiting);
}

int mp_send(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	int waiting, err = send_fast(port, msg, SEND_CALL, timeout_ns, &waiting);

	if (likely(err != SEND_SLOW))
		return err;
	return send_call_slow(port, msg, timeout_ns);
}

int mp_send_async(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	int waiting, err = send_fast(port, msg, SEND_ONEWAY, timeout_ns, &waiting);

	if (likely(err != SEND_SLOW))
		return err ? err : (waiting > 0 ? 0 : 1);
	if (port == 0 || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	err = mp_msg_check_send(msg, 0);
	if (err)
		return err;
	err = send_common(port, msg, SEND_ONEWAY, timeout_ns, &waiting);
	if (err)
		return err;
	return waiting > 0 ? 0 : 1;
}
