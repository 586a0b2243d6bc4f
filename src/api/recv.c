/* SPDX-License-Identifier: MIT */
/*
 * mp_recv(): wait for the next message (conn/port_rx.c), fetch its long
 * data outside the port lock, and hand it over: a call with a rid, or a
 * one-way message whose data lives until the thread's next mp_recv().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/deadline.h"
#include "api/pulse_fd.h"
#include "api/prio_inherit.h"
#include "conn/fastpath.h"
#include "conn/port_rx.h"
#include "conn/pulse.h"
#include "conn/tls.h"
#include "mem/data.h"
#include "mem/memcap.h"
#include "mem/pages.h"
#include "os/compiler.h"
#include "os/shm.h"
#include "os/sockio.h"
#include "transport/refuse.h"

/* Release what rx holds; the connection's call buffers it holds (rx->inl)
 * stay claimed until the port lock is taken (rx_inl_drop_locked). */
static void rx_release(struct mp_rx *rx)
{
	if (rx->inl) {
		rx->data = NULL;
		rx->data_kind = MP_BUF_HEAP;
	}
	mp_rx_release(rx);
}

/* Under p->lock: rx's claim on its connection's call buffers ends. */
static void rx_inl_drop_locked(struct mp_sconn *c, struct mp_rx *rx)
{
	if (rx->inl)
		c->inl->busy = false;
	rx->inl = false;
}

static void msg_fill_in(mp_msg_t *msg, const struct mp_sconn *c, struct mp_rx *rx)
{
	const struct mp_frame *f = &rx->hdr;

	mp_msg_zero(msg);	/* transport/transport.h */
	msg->type = f->type;
	if (f->flags & MP_FRAME_DATA_PAGES)
		msg->flags = (f->flags & MP_FRAME_PAGES_SHARE) ? MP_SHARE : MP_MOVE;
	else if (rx->in_bulk == MP_RX_BULK_SHARE)
		msg->flags = MP_SHARE;	/* the caller can still write it */
	msg->oid.port = f->oid_port;
	msg->oid.id = f->oid_id;
	msg->pid = c->pid;
	msg->uid = c->uid;
	msg->gid = c->gid;
	msg->priority = mp_sconn_prio(c, 0);	/* the default, unless PRIO (msg_fill_extra) */
	msg->i.data = rx->data;
	msg->i.size = f->data_size;
	memcpy(msg->i.raw, f->raw, MP_RAW_SIZE);
	if (rx->nfds)
		memcpy(msg->i.fds, rx->fds, sizeof(int) * rx->nfds);
	msg->i.nfds = rx->nfds;
	rx->nfds = 0;	/* the user owns them now */
}

/* A priority, and in/out calls: the output buffer's bytes follow the
 * input (the decoders checked data_size >= out_capacity); deliver_call()
 * puts them in the answer buffer.  Never a short call's (the scan takes
 * only frames without flags), so its path does not look. */
static void msg_fill_extra(mp_msg_t *msg, const struct mp_sconn *c, const struct mp_rx *rx)
{
	const struct mp_frame *f = &rx->hdr;

	msg->priority = mp_sconn_prio(c, f->priority);
	if (f->flags & MP_FRAME_INOUT) {
		msg->flags |= MP_OUT_INOUT;
		msg->i.size = f->data_size - f->out_capacity;
	}
}

/* Nothing was delivered: wait for the next message (not MP_RECV_PULSE). */
#define DELIVER_SKIP 4

/* A library buffer of n bytes held for c, charged to its account (the
 * charge added to *charged): NULL and -ENOBUFS (over its limit) or
 * -ENOMEM in *err.  Short ones, as much as a connection's call buffers
 * (one call in flight), are not charged: a short call does no new work. */
static void *buf_get_charged(struct mp_sconn *c, size_t n, size_t *charged, int *err)
{
	void *buf;

	if (likely(n <= MP_SCONN_INLINE)) {
		*err = -ENOMEM;
		return mp_buf_get(n);
	}
	*err = mp_memcap_charge(c->cap, n);
	if (*err)
		return NULL;
	buf = mp_buf_get(n);
	if (!buf) {
		mp_memcap_uncharge(c->cap, n);
		*err = -ENOMEM;
		return NULL;
	}
	*charged += n;
	return buf;
}

/* Long input the transport put in memory of ours: the ring's grant (1
 * MiB or more), charged by its offer, or a sealed memfd it mapped. */
static int rx_charge_held(struct mp_sconn *c, const struct mp_rx *rx, size_t *charged)
{
	int err = 0;

	if (rx->data_kind == MP_BUF_MAPPED)
		err = mp_memcap_charge(c->cap, rx->hdr.data_size);
	if (!err && (rx->data_kind == MP_BUF_MAPPED || rx->data_kind == MP_BUF_CACHE))
		*charged += rx->hdr.data_size;
	return err ? err : 1;
}

/*
 * Long data that is not in memory yet: map received pages, or read the
 * caller's buffer (it is blocked in its call) straight into ours.  What
 * that holds is charged to c's account (pages: by their region; copies,
 * a memfd the transport mapped, the ring's grant: added to *charged).
 * 1 ready; 0 the kernel does not let us read the caller; <0 a bad
 * message or a caller that is gone (-EPROTO, -EPIPE), -ENOMEM, -ENOBUFS
 * over c's limit.
 */
static int rx_fetch(const struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
		    size_t *charged)
{
	const struct mp_frame *f = &rx->hdr;
	void *buf;
	int err;

	if ((f->flags & MP_FRAME_DATA_PAGES) && rx->data_kind != MP_BUF_PAGES) {
		err = mp_pages_rx_map(rx->pages_fd, f->data_size, f->flags & MP_FRAME_PAGES_SHARE,
				      MP_PAGES_RX_AUTO, c->cap, &rx->data, &rx->pages_id);
		rx->pages_fd = -1;
		if (err)
			return err;
		rx->data_kind = MP_BUF_PAGES;
	} else if (f->flags & MP_FRAME_DATA_VM) {
		buf = buf_get_charged(c, f->data_size, charged, &err);
		if (!buf)
			return err;
		err = mp_vm_read(c->pid, f->in_addr, buf, f->data_size);
		if (err) {
			mp_buf_put(buf, f->data_size);
			mp_memcap_uncharge(c->cap, f->data_size);
			*charged -= f->data_size;
			return err == -EPERM ? 0 : err == -ESRCH ? -EPIPE :
			       mp_err_resource(err) ? err : -EPROTO;
		}
		rx->data = buf;
		rx->data_kind = MP_BUF_CACHE;
	} else if (rx->in_bulk == MP_RX_BULK_COPY && p->input_in_place) {
		rx->in_bulk = MP_RX_BULK_SHARE;	/* the server asked for it in place */
	} else if (rx->in_bulk == MP_RX_BULK_COPY && f->data_size) {
		buf = buf_get_charged(c, f->data_size, charged, &err);
		if (!buf)
			return err;
		memcpy(buf, rx->data, f->data_size);	/* read once: the caller can still write */
		rx->data = buf;
		rx->data_kind = MP_BUF_CACHE;
		rx->in_bulk = 0;
	} else if (unlikely(f->data_size > MP_SCONN_INLINE)) {
		return rx_charge_held(c, rx, charged);
	}
	return 1;
}

/* Tell the caller to send its data along after all; a caller that
 * cannot be told is dropped. */
static void refuse_vm(struct mp_port_obj *p, struct mp_sconn *c, const struct mp_rx *rx)
{
	mp_msg_t m;
	struct mp_xfer x;

	memset(&m, 0, sizeof(m));
	mp_xfer_init(&x);
	x.fflags = MP_FRAME_VM_REFUSED;
	if (c->tp->srv_reply(c, rx->hdr.seq, &m, 0, &x) != 0)
		mp_sconn_kill(p, c);
}

/* A one-way message's data lives until this thread's next mp_recv(). */
static int deliver_oneway(struct mp_rx *rx, mp_msg_t *msg, mp_rid_t *rid)
{
	struct mp_tls *tls = mp_tls_get();

	if (rx->data_kind == MP_BUF_PAGES) {
		mp_pages_oneway_hold(rx->data, rx->pages_id);
		tls->ow_pages = true;
		mp_tls_oneway_set(tls, NULL, 0, 0);
	} else if (rx->data_kind == MP_BUF_CACHE || rx->data_kind == MP_BUF_SHARED) {
		/* Our clients use these for calls only; a one-way that came
		 * this way anyway gets a plain copy. */
		void *copy = malloc(rx->hdr.data_size ? rx->hdr.data_size : 1);

		if (!copy)
			return -ENOMEM;
		memcpy(copy, rx->data, rx->hdr.data_size);
		mp_rx_release(rx);
		msg->i.data = copy;
		msg->flags = 0;
		mp_tls_oneway_set(tls, copy, rx->hdr.data_size, 0);
	} else if (rx->data_kind == MP_BUF_SCRATCH) {
		mp_tls_oneway_set(tls, NULL, 0, 0);	/* the thread's buffer: kept */
	} else {
		mp_tls_oneway_set(tls, rx->data, rx->hdr.data_size, rx->data_kind == MP_BUF_MAPPED);
	}
	*rid = 0;
	return 1;
}

/* The buffer the server writes its answer into: the caller's lent pages,
 * the transport's shared memory, or one of ours (charged to c, added to
 * *charged). */
static int call_out_buf(struct mp_sconn *c, struct mp_rx *rx, struct mp_call *call,
			size_t *charged)
{
	int err;

	if (rx->out_data) {	/* lent pages the connection keeps mapped */
		call->out = rx->out_data;
		call->out_kind = MP_BUF_PAGES;
		call->out_id = rx->out_id;
		rx->out_data = NULL;
		return 0;
	}
	if (rx->hdr.flags & MP_FRAME_OUT_PAGES) {
		err = mp_memcap_charge(c->cap, call->out_cap);	/* the mapping, while the call lasts */
		if (err)
			return err;	/* rx->out_fd is closed with rx */
		err = mp_pages_lend_map(rx->out_fd, call->out_cap, &call->out);
		rx->out_fd = -1;
		call->out_kind = MP_BUF_LENT;
		if (err)
			mp_memcap_uncharge(c->cap, call->out_cap);
		else
			*charged += call->out_cap;
		return err;
	}
	if (c->tp->srv_out_buf && (call->out = c->tp->srv_out_buf(c, call->out_cap))) {
		call->out_kind = MP_BUF_SHARED;
		return 0;
	}
	call->out_kind = MP_BUF_CACHE;
	if (call->out_cap && !(call->out = buf_get_charged(c, call->out_cap, charged, &err)))
		return err;
	return 0;
}

/* MP_OUT_INOUT: the answer buffer starts as the caller's output buffer
 * (its bytes came after the input).  Copied in, whatever the buffer is:
 * ours, the transport's, or lent pages (then the same bytes again). */
static void call_out_prefill(const struct mp_rx *rx, const mp_msg_t *msg, const struct mp_call *call)
{
	if ((rx->hdr.flags & MP_FRAME_INOUT) && call->out_cap)
		memcpy(call->out, (const uint8_t *)rx->data + msg->i.size, call->out_cap);
}

/* A call: its rid, and the buffers it holds (charged: the bytes charged
 * for them, which the call then gives back when they go; on failure,
 * what is left for the caller to uncharge with the input). */
static int deliver_call(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
			mp_msg_t *msg, mp_rid_t *rid, size_t *charged)
{
	size_t in_charged = *charged;
	struct mp_call call = {
		.conn = c, .seq = rx->hdr.seq,
		.in = rx->data, .in_size = rx->hdr.data_size,
		.in_kind = rx->data_kind, .in_id = rx->pages_id,
		.out_cap = rx->hdr.out_capacity, .out_addr = rx->hdr.out_addr,
		.t_recv = mp_ticks(),
		.deadline_at = mp_call_deadline_at(p, &rx->hdr),	/* api/deadline.h */
	};
	mp_rid_t r = 0;
	bool dead;
	int err;

	if (rx->inl && call.out_cap <= MP_SCONN_INLINE && !rx->out_data &&
	    !(rx->hdr.flags & MP_FRAME_OUT_PAGES)) {
		call.out = c->inl->out;	/* the connection's: one call in flight */
		call.out_kind = MP_BUF_SHARED;
		call.inl = true;
	} else {
		err = call_out_buf(c, rx, &call, charged);
		if (err)
			return err;
		call.inl = rx->inl;
	}
	if (*charged) {	/* given back with the call's buffers (conn/rid.c) */
		call.cap = mp_memcap_ref(c->cap);
		call.charged = *charged;
	}
	call_out_prefill(rx, msg, &call);
	mp_lock(&p->lock);
	dead = load_relaxed(&p->dead);	/* set under this lock: no order needed */
	if (!dead)
		r = mp_rid_alloc(&p->rids, &call);
	if (r)
		rx->inl = false;	/* the rid holds the claim now */
	mp_unlock(&p->lock);
	if (!r) {
		mp_buf_release(call.out, call.out_cap, call.out_kind, call.out_id);
		mp_memcap_uncharge(c->cap, *charged - in_charged);
		mp_memcap_unref(call.cap);
		*charged = in_charged;	/* the input's: released by the caller */
		return dead ? -EPIPE : -ENOMEM;
	}
	*charged = 0;
	msg->o.data = call.out;
	msg->o.size = call.out_cap;
	*rid = r;
	return 0;
}

/* Hand the message over: 0 a call, 1 one-way, DELIVER_SKIP none (it was
 * bad, or refused), <0 error. */
static int deliver(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx,
		   mp_msg_t *msg, mp_rid_t *rid)
{
	size_t charged = 0;	/* copies of the input, charged to c */
	int r;

	if (likely(rx->rid)) {	/* a short call, registered by the scan */
		msg_fill_in(msg, c, rx);
		msg->o.data = c->inl->out;
		msg->o.size = rx->hdr.out_capacity;
		*rid = rx->rid;
		return 0;
	}
	r = rx_fetch(p, c, rx, &charged);

	if (r == 0)
		refuse_vm(p, c, rx);
	if (r == -ENOBUFS || r == -EPROTO || r == -EPIPE || (r < 0 && rx->hdr.kind == MP_FRAME_CALL))
		mp_port_refuse(p, c, &rx->hdr, r);	/* our lack, its limit: refused; else a lie, gone */
	if (r <= 0) {
		r = r == -ENOMEM ? r : DELIVER_SKIP;
		rx_release(rx);
		goto put;
	}
	msg_fill_in(msg, c, rx);
	if (unlikely(rx->hdr.flags & (MP_FRAME_INOUT | MP_FRAME_PRIO)))
		msg_fill_extra(msg, c, rx);
	if (rx->hdr.kind == MP_FRAME_ONEWAY)
		r = deliver_oneway(rx, msg, rid);	/* copies, when any, are released */
	else
		r = deliver_call(p, c, rx, msg, rid, &charged);
	if (r >= 0 && rx->hdr.kind == MP_FRAME_CALL)
		return r;	/* the rid keeps the connection reference */
	if (r < 0) {
		if (r == -ENOBUFS || r == -EPROTO || rx->hdr.kind == MP_FRAME_CALL)
			mp_port_refuse(p, c, &rx->hdr, r);	/* refused, or a lie: never a hang */
		if (r == -EPROTO || r == -ENOBUFS)
			r = DELIVER_SKIP;
		mp_fds_close(msg->i.fds, msg->i.nfds);
		rx_release(rx);
		memset(msg, 0, sizeof(*msg));
	}
put:
	mp_memcap_uncharge(c->cap, charged);	/* the input's copy, when not the call's */
	mp_lock(&p->lock);
	rx_inl_drop_locked(c, rx);
	mp_sconn_put_locked(p, c);
	mp_unlock(&p->lock);
	return r;
}

/* A pulse waits: MP_RECV_PULSE, or none (another receiver took it). */
static int pulse_take(struct mp_port_obj *p, mp_msg_t *msg, mp_rid_t *rid)
{
	int r = mp_pulse_take(p, msg);

	if (r > 0)	/* coalesced across the sender's threads: no one's priority */
		msg->priority = MP_PRIO_DEFAULT;
	*rid = 0;
	return r ? r : DELIVER_SKIP;
}

/* A message of the library's own (mp_pulse_on_fd's) that the fast path
 * took: served like those the general path takes. */
static MP_COLD void serve_fast_taken(mp_port_t port, mp_msg_t *msg, mp_rid_t rid, int kind)
{
	struct mp_tls *tls = mp_tls_get();
	struct mp_port_obj *p;
	bool held;

	p = tls ? mp_port_find(port, tls, &held) : NULL;
	if (!p)
		return;	/* the port is going: its callers get -EPIPE (fast messages carry no fds) */
	mp_pulse_fd_serve(port, p, msg, rid, kind);
	mp_port_done(p, tls, held);
}

static inline __attribute__((always_inline)) int recv_any(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid,
							    int64_t timeout_ns)
{
	struct mp_deadline d = mp_deadline_in(timeout_ns);
	bool polling = timeout_ns == 0;
	struct mp_port_obj *p;
	struct mp_sconn *c = NULL;
	struct mp_rx rx;
	struct mp_tls *tls;
	bool held;
	int r;

	while ((r = mp_recv_fast(port, msg, rid, timeout_ns, &p)) != MP_FAST_SLOW) {	/* conn/fastpath.h */
		if (likely(r < 0 || !mp_pulse_fd_msg(msg)))
			return r;
		serve_fast_taken(port, msg, *rid, r);	/* the library's own: not the user's */
	}
	if (!msg || !rid || port == 0 || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	tls = mp_tls_get();
	if (!tls)
		return -ENOMEM;
	held = true;	/* p: held by mp_recv_fast() already, or NULL */
	if (!p)
		p = mp_port_find(port, tls, &held);
	if (!p)
		return -ENOENT;
	if (tls->ow_data)
		mp_tls_oneway_release(tls);
	if (tls->ow_pages) {
		mp_pages_oneway_hold(NULL, 0);
		tls->ow_pages = false;
	}
	mp_buf_trim();
	do {
		bool counted = mp_port_enter(p, polling);

		rx.rid = 0;
		rx.inl = false;
		rx.fast = msg;
		r = mp_port_next(p, &rx, &c, d, polling);
		mp_port_leave(p, polling, counted);
		if (r == MP_NEXT_FAST) {
			*rid = rx.rid;
			r = rx.rid ? 0 : 1;
		} else if (r == 1) {
			r = deliver(p, c, &rx, msg, rid);
		} else if (r == MP_NEXT_PULSE) {
			r = pulse_take(p, msg, rid);
		}
		if ((r == 0 || r == 1) && mp_pulse_fd_msg(msg)) {
			mp_pulse_fd_serve(port, p, msg, *rid, r);	/* the library's own */
			r = DELIVER_SKIP;
		}
	} while (r == DELIVER_SKIP);
	if (r >= 0)	/* 0 call, 1 one-way, 2 pulse: as MP_STATS_* (conn/stats.h) */
		mp_stats_recv(p->stats, r, r == MP_RECV_PULSE ? 0 : msg->i.size);
	if (r == MP_RECV_PULSE)	/* what is left waiting (conn/stats.h [S4]) */
		mp_stats_queued(p->stats, load_relaxed(&p->pulse->npending));
	mp_port_done(p, tls, held);
	return r;
}

/* mp_recv() in a process with a port that inherits (api/prio_inherit.h). */
static MP_COLD int recv_inheriting(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns)
{
	int r;

	if (mp_inherit_rid)
		mp_inherit_end();	/* the last call's handler is over */
	r = recv_any(port, msg, rid, timeout_ns);
	if (r == 0)
		mp_inherit_begin(port, *rid, msg->priority);
	return r;
}

int mp_recv(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns)
{
	if (unlikely(load_relaxed(&mp_inherit_ports)))	/* a hint: such a port, ever */
		return recv_inheriting(port, msg, rid, timeout_ns);
	return recv_any(port, msg, rid, timeout_ns);
}
