/* SPDX-License-Identifier: MIT */
/*
 * The server's side of a ring connection: take the next message from the
 * c2s ring into private memory (under the port lock, called by the
 * receive loop in conn/port_rx.c), and publish replies on the s2c ring
 * (under the connection's txlock), waking the client when it sleeps [S2].
 */
#include "transport/ring/ring.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "mem/data.h"
#include "proto/grant.h"
#include "transport/refuse.h"
#include "transport/sock.h"

_Static_assert(MP_SCONN_INLINE >= MP_SLOT_DATA_MAX, "a ring call's data fits its connection's");

/* ------------------------------------------------------------ events */

/* A frame or hang-up on the socket: note the hang-up, drain first. */
int mp_ring_srv_event(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		store_relaxed(&rs->hup, 1);	/* private; read under the port lock */
	return 0;
}

bool mp_ring_srv_pending(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;

	return ring_ready(&rs->rx);	/* [R2] */
}

int mp_ring_srv_head_prio(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;

	if (!ring_ready(&rs->rx))	/* [R2] */
		return -1;
	return (int)mp_slot_head_prio(&rs->rx);
}

/* ------------------------------------------------------------ receive */

static void rx_from_slot(struct mp_rx *rx, const struct mp_slot_msg *m)
{
	struct mp_frame *f = &rx->hdr;

	f->kind = m->kind == MP_SLOT_CALL ? MP_FRAME_CALL : MP_FRAME_ONEWAY;
	f->type = m->type;
	f->seq = m->seq;
	f->oid_port = m->oid.port;
	f->oid_id = m->oid.id;
	f->data_size = m->data_size;
	f->out_capacity = m->out_capacity;
	f->priority = m->priority;
	f->flags |= (m->priority ? MP_FRAME_PRIO : 0) | (m->inout ? MP_FRAME_INOUT : 0);
	if (m->raw)
		memcpy(f->raw, m->raw, MP_RAW_SIZE);
}

/* A one-way sender may be waiting for room: wake it once we made some.
 * (A caller waits for its reply instead, woken by the reply.) */
static void srv_consumed(struct ring_srv *rs, uint64_t n, int oneway)
{
	ring_consume(&rs->rx, n);	/* [R3] */
	if (!oneway)
		return;
	/* [S2] the head [R3] before the flag: pairs with the client's [S1] */
	full_fence();
	if (load_relaxed(&rs->r->client.shm_sleeping))
		wake(rs->wake_efd);
}

/* A BULK frame: the client's new areas (hybrid only), charged to c
 * (mem/bulk.h); 2 = take the next. */
static int srv_take_bulk(struct mp_sconn *c, struct ring_srv *rs, struct mp_rx *rx)
{
	int err = rs->hybrid && rx->nfds == 2 ? mp_bulk_attach(&rs->bulk, rx->fds, c->cap) : -EPROTO;

	mp_rx_release(rx);
	return err && err != -ENOBUFS ? -EPROTO : 2;
}

/* Map a client's shared pages (fd, consumed) to keep in slot h, charged
 * to c (what h kept goes first: the client replaces it). */
static int srv_keep_one(struct mp_sconn *c, int fd, size_t size, unsigned h, void **addr,
			uint64_t *id)
{
	struct ring_srv *rs = c->tp_priv;
	int err;

	mp_kept_rx_drop(&rs->kept, 1u << h);
	err = mp_pages_rx_map(fd, size, true, MP_PAGES_RX_AUTO | MP_PAGES_RX_KEPT, c->cap, addr, id);
	if (!err)
		mp_kept_rx_install(&rs->kept, h, *addr, *id);
	return err;
}

/* Shared pages (in, lent out) to keep mapped: mapped here, not by
 * api/recv.c, so that the next message, which may name their slot, finds
 * them.  Over c's limit: refused with -ENOBUFS, the client forgets the slots. */
static int srv_keep_pages(struct mp_sconn *c, struct mp_rx *rx)
{
	struct mp_frame f = rx->hdr;
	int err;

	if (rx->hdr.flags & MP_FRAME_PAGES_KEEP) {
		err = srv_keep_one(c, rx->pages_fd, rx->hdr.data_size, rx->hdr.pages_slot,
				   &rx->data, &rx->pages_id);
		rx->pages_fd = -1;
		if (err)
			goto err;
		rx->data_kind = MP_BUF_PAGES;
	}
	if (rx->hdr.flags & MP_FRAME_OUT_KEEP) {
		err = srv_keep_one(c, rx->out_fd, rx->hdr.out_capacity, rx->hdr.out_slot,
				   &rx->out_data, &rx->out_id);
		rx->out_fd = -1;
		if (err)
			goto err;
	}
	return 1;
err:
	mp_rx_release(rx);
	if (err != -ENOBUFS)
		return -EPROTO;
	f.flags &= ~(unsigned)(MP_FRAME_PAGES_KEEP | MP_FRAME_OUT_KEEP);	/* nothing kept */
	return mp_refuse_frame(c, &f, -ENOBUFS) ? -EPROTO : 2;
}

static int srv_take_side(struct mp_sconn *c, struct mp_rx *rx, uint16_t seq, void *buf, size_t len)
{
	struct ring_srv *rs = c->tp_priv;
	int r = mp_sockt_srv_recv(c->fd, rx, buf, len);

	if (r == MP_RX_FDS_LOST)	/* refused (its fds are closed): take the next */
		return (uint16_t)rx->hdr.seq == seq && !mp_refuse_frame(c, &rx->hdr, rx->hdr.err) ? 2 : -EPROTO;
	if (r != 1)
		return -EPROTO;	/* the frame is sent before its marker */
	if ((uint16_t)rx->hdr.seq != seq || rx->hdr.kind == MP_FRAME_HELLO) {
		mp_rx_release(rx);
		return -EPROTO;
	}
	if (rx->hdr.flags & (MP_FRAME_PAGES_KEEP | MP_FRAME_OUT_KEEP))
		return srv_keep_pages(c, rx);
	if (rx->hdr.kind == MP_FRAME_CALL && !(rx->hdr.flags & MP_FRAME_DATA_PAGES))
		mp_ring_grant_offer_to(c, rs, rx->hdr.data_size);	/* the next one in one copy */
	return rx->hdr.kind == MP_FRAME_BULK ? srv_take_bulk(c, rs, rx) : 1;
}

/* The connection's call buffers for the call being taken (under the port
 * lock): false when another call holds them (the client lied) or there is
 * no memory for them. */
static bool srv_inl_claim(struct mp_sconn *c)
{
	if (unlikely(!c->inl)) {
		c->inl = malloc(sizeof(*c->inl));
		if (!c->inl)
			return false;
		store_relaxed(&c->inl->busy, false);
	}
	/* acquire: a fast answer's store_release, after its last read of out */
	if (unlikely(load_acquire(&c->inl->busy)))
		return false;
	store_relaxed(&c->inl->busy, true);
	return true;
}

/* Input data into private memory: the client can still write the ring
 * and its bulk area, so the server never reads them twice.  Bulk data is
 * only pointed at here: api/recv.c copies it outside the port lock, or,
 * when the caller asked for MP_SHARE, leaves it in place (the server is
 * then told that the caller can still change it). */
static int srv_take_data(struct mp_sconn *c, struct ring_srv *rs, const struct mp_slot_msg *m,
			 struct mp_rx *rx)
{
	uint64_t off = m->bulk_off & ~MP_BULK_OFF_SHARE;

	rx->pages_fd = rx->out_fd = -1;
	if (m->flags & MP_SLOT_F_OUTPAGES) {
		if (mp_kept_rx_use(&rs->kept, m->out_slot, m->out_capacity, &rx->out_data, &rx->out_id))
			return -EPROTO;
		rx->hdr.flags |= MP_FRAME_OUT_PAGES;
	}
	if (m->flags & MP_SLOT_F_PAGES) {
		if (mp_kept_rx_use(&rs->kept, m->pages_slot, m->data_size, &rx->data, &rx->pages_id))
			return -EPROTO;
		rx->data_kind = MP_BUF_PAGES;
		rx->hdr.flags |= MP_FRAME_DATA_PAGES | MP_FRAME_PAGES_SHARE;
		return 0;
	}
	if ((m->flags & MP_SLOT_F_BULK) && (m->bulk_off & MP_BULK_OFF_GRANT))
		return mp_ring_grant_take(rs, m, rx);	/* written into our memory */
	if (m->flags & MP_SLOT_F_BULK) {
		if (!mp_bulk_fits(&rs->bulk, off, m->data_size))
			return rs->bulk.lost ? -ENOBUFS : -EPROTO;	/* areas refused, or a lie */
		if (m->kind == MP_SLOT_CALL)
			mp_ring_grant_offer_to(c, rs, m->data_size);	/* the next one in one copy */
		rx->data = rs->bulk.c2s + off;
		rx->data_kind = MP_BUF_SHARED;
		rx->in_bulk = (m->bulk_off & MP_BULK_OFF_SHARE) ? MP_RX_BULK_SHARE : MP_RX_BULK_COPY;
		return 0;
	}
	if (m->kind == MP_SLOT_CALL && !(m->flags & MP_SLOT_F_OUTPAGES) && srv_inl_claim(c)) {
		memcpy(c->inl->in, m->data, m->data_size);
		rx->data = m->data_size ? c->inl->in : NULL;
		rx->data_kind = MP_BUF_SHARED;
		rx->inl = true;
		return 0;
	}
	if (m->data_size == 0)
		return 0;
	rx->data = malloc(m->data_size);
	if (!rx->data)
		return -ENOMEM;
	memcpy(rx->data, m->data, m->data_size);
	return 0;
}

/* [H1] Our CPU for the client, the client's for us: hints, looked at
 * only every MP_TICKS_HELD ticks (a CPU number costs a call). */
static void srv_cpu_publish(struct mp_sconn *c, struct ring_srv *rs)
{
	uint64_t now = mp_ticks();

	if (now - rs->cpu_at < MP_TICKS_HELD)
		return;
	rs->cpu_at = now;
	cpu_publish(&rs->r->server.shm_cpu);
	c->peer_cpu = load_relaxed(&rs->r->client.shm_cpu);
}

/* Everything of an rx but its frame, empty (fds[] beyond nfds, 0, is
 * never read). */
static void rx_clear_body(struct mp_rx *rx)
{
	rx->data = NULL;
	rx->data_kind = MP_BUF_HEAP;
	rx->pages_id = rx->out_id = 0;
	rx->pages_fd = rx->out_fd = -1;
	rx->out_data = NULL;
	rx->in_bulk = 0;
	rx->nfds = 0;
	rx->inl = false;
	rx->rid = 0;
}

/*
 * The common shape, read once straight from the ring (mp_slot_call_peek()
 * checked its n slots): the data into the connection's call buffers, or
 * a private copy, as srv_take_data() puts it; the frame as rx_from_slot()
 * fills it.
 */
static int srv_take_plain(struct mp_sconn *c, struct ring_srv *rs, struct mp_rx *rx,
			  const struct mp_slot_call *m, unsigned n, void *buf, size_t buflen)
{
	struct mp_frame *f = &rx->hdr;
	void *data = NULL;
	int oneway = m->kind != MP_SLOT_CALL;

	_Static_assert(sizeof(*f) == 4 + 1 + 1 + 2 + 4 + 4 + 8 + 8 + 4 + 1 + 1 + 2 + 8 + 8 + MP_RAW_SIZE + 8 + 8 + 8,
		       "every field is set here (raw by mp_slot_call_copy()) but deadline_ns, read only under MP_FRAME_DEADLINE");

	srv_cpu_publish(c, rs);
	/* the frame cleared field by field (srv_take_one()): no store twice */
	f->magic = 0;
	f->kind = oneway ? MP_FRAME_ONEWAY : MP_FRAME_CALL;
	f->nfds = 0;
	f->flags = 0;
	f->type = m->type;
	f->err = 0;
	f->seq = m->seq;
	f->oid_id = m->oid.id;
	f->oid_port = m->oid.port;
	f->pages_slot = f->priority = 0;	/* peeked: an ordinary message (slot.h) */
	f->out_slot = 0;
	f->data_size = m->data_size;
	f->out_capacity = m->out_capacity;
	f->in_addr = f->out_addr = 0;
	rx_clear_body(rx);
	if (!oneway && srv_inl_claim(c)) {
		data = c->inl->in;
		rx->data = m->data_size ? data : NULL;
		rx->data_kind = MP_BUF_SHARED;
		rx->inl = true;
	} else if (oneway && m->data_size <= buflen) {
		/* the receiving thread's buffer: a one-way's data lives until
		 * its next mp_recv(), and no allocation per message */
		data = buf;
		rx->data = m->data_size ? data : NULL;
		rx->data_kind = MP_BUF_SCRATCH;
	} else if (m->data_size) {
		data = rx->data = malloc(m->data_size);
		if (!data)
			return -ENOMEM;
	}
	mp_slot_call_copy(&rs->rx, m, f->raw, data);
	srv_consumed(rs, n, oneway);
	return 1;
}

/*
 * The fast take (srv_take_fast in transport.h): the shape srv_take_plain()
 * takes, straight into the user's message.  Guards first, each leaving
 * with nothing taken; after the claim of the call buffers, the commit:
 * the bytes read once (mp_slot_call_copy()), the slots given back.
 */
static __attribute__((noinline)) int srv_take_fast(struct mp_sconn *c, struct ring_srv *rs,
						    mp_msg_t *msg, struct mp_fast_took *t,
						    void *buf, size_t buflen)
{
	struct mp_slot_call m;
	unsigned n;
	bool oneway;
	void *data;

	n = mp_slot_call_peek(&rs->rx, MP_SCONN_INLINE, &m);
	if (unlikely(!n))
		return 0;	/* not a plain short message: the general take */
	oneway = m.kind != MP_SLOT_CALL;
	/* t NULL: no calls (the connection's fast slot is not free) */
	if (unlikely(oneway ? m.data_size > buflen : !t || m.out_capacity > MP_SCONN_INLINE))
		return 0;
	if (!oneway && unlikely(!srv_inl_claim(c)))
		return 0;	/* another call holds them (a lie), or no memory */
	srv_cpu_publish(c, rs);
	data = oneway ? buf : c->inl->in;
	mp_msg_zero(msg);
	msg->type = m.type;
	msg->oid.port = m.oid.port;
	msg->oid.id = m.oid.id;
	msg->i.data = m.data_size ? data : NULL;
	msg->i.size = m.data_size;
	if (!oneway) {
		msg->o.data = c->inl->out;
		msg->o.size = m.out_capacity;
		t->seq = m.seq;
		t->out_cap = (uint32_t)m.out_capacity;
	}
	mp_slot_call_copy(&rs->rx, &m, msg->i.raw, data);
	srv_consumed(rs, n, oneway);
	return oneway ? 2 : 1;
}

/* An empty ring (every scan of an idle connection) costs its test only. */
int mp_ring_srv_take_fast(struct mp_sconn *c, mp_msg_t *msg, struct mp_fast_took *t, void *buf,
			  size_t buflen)
{
	struct ring_srv *rs = c->tp_priv;

	if (!ring_ready(&rs->rx))	/* [R2] */
		return load_relaxed(&rs->hup) ? 0 : -EAGAIN;
	return srv_take_fast(c, rs, msg, t, buf, buflen);
}

/* One message from the ring: 1 taken, 2 control (take the next), else
 * as srv_recv. */
static int srv_take_one(struct mp_sconn *c, struct ring_srv *rs, struct mp_rx *rx, void *buf,
			size_t buflen)
{
	struct mp_slot_msg m;
	struct mp_slot_call pc;
	unsigned pn;
	int oneway, err, n;

	if (!ring_ready(&rs->rx))	/* [R2] */
		return load_relaxed(&rs->hup) ? 0 : -EAGAIN;
	pn = mp_slot_call_peek(&rs->rx, MP_SCONN_INLINE, &pc);
	if (likely(pn))
		return srv_take_plain(c, rs, rx, &pc, pn, buf, buflen);
	n = ring_take(&rs->rx, rs->buf);	/* [R2] */
	if (n <= 0)
		return n < 0 ? n : (load_relaxed(&rs->hup) ? 0 : -EAGAIN);
	if (mp_slot_decode(rs->buf, (size_t)n * MP_SLOT_SIZE, &m) || m.kind == MP_SLOT_REPLY)
		return -EPROTO;
	oneway = m.kind != MP_SLOT_CALL;
	srv_cpu_publish(c, rs);
	rx->hdr = (struct mp_frame){ 0 };
	rx_clear_body(rx);
	if (m.forget)
		mp_kept_rx_drop(&rs->kept, m.forget);
	if (m.kind == MP_SLOT_CTRL) {
		srv_consumed(rs, (uint64_t)n, 1);
		return 2;
	}
	if (m.kind == MP_SLOT_SIDE) {
		srv_consumed(rs, (uint64_t)n, oneway);
		return srv_take_side(c, rx, m.seq, buf, buflen);
	}
	rx_from_slot(rx, &m);
	err = srv_take_data(c, rs, &m, rx);
	if (err) {
		mp_rx_release(rx);	/* (its header stays) */
		if (err != -ENOBUFS)
			return err;
		srv_consumed(rs, (uint64_t)n, oneway);	/* areas refused: in step, the next */
		return mp_refuse_frame(c, &rx->hdr, MP_BULK_REFUSED) ? -EPROTO : 2;
	}
	srv_consumed(rs, (uint64_t)n, oneway);
	return 1;
}

static __attribute__((noinline)) int srv_take(struct mp_sconn *c, struct ring_srv *rs,
					       struct mp_rx *rx, void *buf, size_t buflen)
{
	int r;

	do
		r = srv_take_one(c, rs, rx, buf, buflen);
	while (r == 2);
	return r;
}

/* An empty ring (every scan of an idle connection) costs its test only. */
int mp_ring_srv_recv(struct mp_sconn *c, struct mp_rx *rx, void *buf, size_t buflen)
{
	struct ring_srv *rs = c->tp_priv;

	if (!ring_ready(&rs->rx))	/* [R2] */
		return load_relaxed(&rs->hup) ? 0 : -EAGAIN;
	return srv_take(c, rs, rx, buf, buflen);
}

/* ------------------------------------------------------------ reply */

/* Hybrid: a long answer is written straight into the bulk area. */
void *mp_ring_srv_out_buf(struct mp_sconn *c, size_t cap)
{
	struct ring_srv *rs = c->tp_priv;

	if (!rs->hybrid || cap <= MP_SLOT_DATA_MAX || !rs->bulk.s2c || cap > rs->bulk.len)
		return NULL;
	return rs->bulk.s2c;
}

/* The client dropped the connection, hung up, or (asked only when it
 * sleeps: waking it costs a system call anyway) died.  Asked before the
 * reply is published: afterwards the client may take it and leave. */
static bool srv_client_gone(struct mp_sconn *c, struct ring_srv *rs, unsigned flags)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	/* hup: a private flag, relaxed; [C2] acquire, pairs with the
	 * client's [C1] in cli_free() */
	if (load_relaxed(&rs->hup) || load_acquire(&rs->r->client.shm_closed))
		return true;
	if (!(flags & MP_REPLY_ASK_PEER) && !load_relaxed(&rs->r->client.shm_sleeping))
		return false;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static int srv_put_reply(struct mp_sconn *c, struct ring_srv *rs, const struct mp_slot_msg *m,
			 unsigned flags)
{
	uint8_t buf[MSG_BUF];
	int r = ring_has_space(&rs->tx, mp_slot_count(m));	/* [R4] */

	/* One call in flight per connection: a full ring means a lying client. */
	if (r <= 0)
		return -EAGAIN;
	if (srv_client_gone(c, rs, flags))
		return -EPIPE;
	ring_put(&rs->tx, buf, m);	/* [R1] */
	/* [S2] the reply [R1] before the flag: pairs with the client's [S1] */
	full_fence();
	if (load_relaxed(&rs->r->client.shm_sleeping))
		wake(rs->wake_efd);
	return 0;
}

/*
 * A short reply, written straight into the s2c ring slots as proto/slot.h
 * says and as mp_slot_encode() would (header, err when not 0, raw when
 * not all zero, the data), as the client writes its calls
 * (mp_slot_put_inline()).  The header's stamp word is left to
 * ring_publish() [R1]; continuation slots get their zero word 0; the
 * bytes after the reply in its last slot are what this side wrote there
 * a lap before (decoders ignore them).  Parts start at byte 16 or 24 (in
 * the first slot) or 80 or 88 (in the second, which the raw part, laid
 * before, entered), so mp_slot_lay() enters every slot in order.
 */
static void reply_lay(struct mp_ring_view *v, uint16_t seq, const mp_msg_t *msg, unsigned flags,
		      unsigned n)
{
	uint8_t *s0 = v->slots[v->pos & MP_SLOT_MASK].b;
	size_t off = sizeof(struct mp_slot_hdr);

	mp_slot_lay_header(s0, MP_SLOT_REPLY, flags, n, 0, seq, (uint16_t)msg->o.size);	/* type 0 */
	if (flags & MP_SLOT_F_ERR) {
		int64_t e = msg->o.err;

		memcpy(s0 + off, &e, 8);
		off += 8;
	}
	if (flags & MP_SLOT_F_RAW) {
		mp_slot_lay(v->slots, v->pos, off, msg->o.raw, MP_RAW_SIZE);
		off += MP_RAW_SIZE;
	}
	if (msg->o.size)
		mp_slot_lay(v->slots, v->pos, off, msg->o.data, msg->o.size);
}

/* The fast reply: short data, no fds, nothing placed or moved. */
static int srv_reply_short(struct mp_sconn *c, struct ring_srv *rs, uint16_t seq,
			   const mp_msg_t *msg, unsigned rflags)
{
	unsigned flags = (msg->o.err ? MP_SLOT_F_ERR : 0) | (mp_raw_zero(msg->o.raw) ? 0 : MP_SLOT_F_RAW);
	unsigned n = mp_slot_span(sizeof(struct mp_slot_hdr) + ((flags & MP_SLOT_F_ERR) ? 8 : 0) +
				  ((flags & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0) + msg->o.size);

	/* One call in flight per connection: a full ring means a lying client. */
	if (unlikely(ring_has_space(&rs->tx, n) <= 0))	/* [R4] */
		return -EAGAIN;
	if (unlikely(srv_client_gone(c, rs, rflags)))
		return -EPIPE;
	reply_lay(&rs->tx, seq, msg, flags, n);
	ring_publish(&rs->tx, n);	/* [R1] */
	/* [S2] the reply [R1] before the flag: pairs with the client's [S1] */
	full_fence();
	if (load_relaxed(&rs->r->client.shm_sleeping))
		wake(rs->wake_efd);
	return 0;
}

/* The reply's data: inline, in the bulk area (copied there unless the
 * server wrote it there), or false = not on the ring. */
static bool srv_reply_data(struct ring_srv *rs, const mp_msg_t *msg, struct mp_slot_msg *m)
{
	if (fits_ring(msg->o.nfds, msg->o.size)) {
		m->data = msg->o.data;
	} else if (rs->hybrid && msg->o.nfds == 0 && rs->bulk.s2c && msg->o.size <= rs->bulk.len) {
		if (msg->o.data != rs->bulk.s2c)
			memcpy(rs->bulk.s2c, msg->o.data, msg->o.size);
		m->flags = MP_SLOT_F_BULK;
		m->bulk_off = 0;
	} else {
		return false;
	}
	m->err = msg->o.err;
	m->raw = msg->o.raw;
	m->data_size = msg->o.size;
	return true;
}

/* The answer is in the caller's output buffer already: say so on the ring. */
static void srv_reply_placed(const mp_msg_t *msg, struct mp_slot_msg *m)
{
	m->flags = MP_SLOT_F_PAGES;
	m->data_size = msg->o.size;
	m->err = msg->o.err;
	m->raw = msg->o.raw;
}

/* Not on the ring: the reply goes as a frame, with a marker on the ring
 * (room for it first, so the frame never waits for it). */
static int srv_reply_side(struct mp_sconn *c, struct ring_srv *rs, uint16_t seq,
			  const mp_msg_t *msg, struct mp_xfer *x)
{
	if (ring_has_space(&rs->tx, 1) != 1)	/* [R4] */
		return -EAGAIN;
	return mp_sockt_srv_reply(c->fd, seq, msg, x);
}

int mp_ring_srv_reply(struct mp_sconn *c, uint64_t seq, const mp_msg_t *msg, unsigned flags,
		      struct mp_xfer *x)
{
	struct ring_srv *rs = c->tp_priv;
	struct mp_slot_msg m;
	int err;

	mp_lock(&rs->txlock);
	if (likely(!x->fflags && fits_ring(msg->o.nfds, msg->o.size))) {
		err = srv_reply_short(c, rs, (uint16_t)seq, msg, flags);
		goto out;
	}
	m = (struct mp_slot_msg){ .kind = MP_SLOT_REPLY, .seq = (uint16_t)seq };
	if (x->fflags == MP_FRAME_DATA_PLACED && msg->o.nfds == 0) {
		srv_reply_placed(msg, &m);
	} else if (x->fflags || !srv_reply_data(rs, msg, &m)) {
		m = (struct mp_slot_msg){ .kind = MP_SLOT_SIDE, .seq = (uint16_t)seq };
		err = srv_reply_side(c, rs, (uint16_t)seq, msg, x);
		if (err)
			goto out;
	}
	err = srv_put_reply(c, rs, &m, flags);
out:
	mp_unlock(&rs->txlock);
	return err;
}
