/* SPDX-License-Identifier: MIT */
/*
 * The client's messages that do not fit a ring slot run: long data of a
 * hybrid call through the bulk areas; fds and long data as a side frame
 * on the socket with a marker on the ring; shared pages that the server
 * keeps mapped (kept.h), named by their slot.  Each fills the ring
 * message and reserves its slots; client.c publishes it.
 */
#include "transport/ring/ring.h"

#include <errno.h>

#include "proto/grant.h"
#include "transport/sock.h"

/* Areas of at least need bytes; new ones go to the server in a BULK side
 * frame, in order, before the message that uses them. */
static int cli_bulk_ready(struct mp_cconn *c, struct ring_cli *rc, size_t need, struct mp_deadline d)
{
	struct mp_slot_msg mark = { .kind = MP_SLOT_SIDE, .seq = (uint16_t)c->seq };
	int fds[2], r;

	if (rc->bulk.c2s && rc->bulk.len >= need)
		return 0;
	r = cli_reserve(c, rc, 1, d);
	if (r)
		return r;
	r = mp_bulk_reserve(&rc->bulk, need, fds);
	if (r < 0)
		return r;
	r = mp_ring_frame_send_fds(c->fd, MP_FRAME_BULK, 0, c->seq, fds, 2);
	close(fds[0]);
	close(fds[1]);
	if (r)
		return -ECONNRESET;	/* our areas and the server's now differ */
	ring_put(&rc->tx, rc->buf, &mark);	/* [R1] */
	return 0;
}

/* Long input into the server's grant (grant.c), for a call that waits
 * without limit: one that gave up must not have its next call write the
 * grant while the server still reads the input (the server hands each
 * grant to one call, this keeps an honest client from racing itself).
 * MP_SHARE asked for the bulk area, where the server reads it in place
 * (one copy too, and the server is told). */
static bool cli_granted(struct mp_cconn *c, struct ring_cli *rc, unsigned kind,
			const mp_msg_t *msg, struct mp_deadline d)
{
	return kind == MP_SLOT_CALL && !(msg->flags & MP_SHARE) && mp_deadline_forever(d) &&
	       mp_ring_grant_write(c, rc, msg);
}

/* The message for a bulk call: long input written once into the server's
 * grant, or copied once into the area. */
int mp_ring_bulk_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		     struct mp_slot_msg *m, struct mp_deadline d)
{
	bool granted = cli_granted(c, rc, kind, msg, d);
	size_t need = !granted && msg->i.size > msg->o.size ? msg->i.size : msg->o.size;
	int err = need > MP_SLOT_DATA_MAX ? cli_bulk_ready(c, rc, need, d) : 0;

	if (err)
		return err;
	slot_msg_from(m, kind, (uint16_t)c->seq, msg);
	if (granted) {
		m->flags = MP_SLOT_F_BULK;
		m->bulk_off = MP_BULK_OFF_GRANT;
	} else if (msg->i.size > MP_SLOT_DATA_MAX) {
		memcpy(rc->bulk.c2s, msg->i.data, msg->i.size);
		m->flags = MP_SLOT_F_BULK;
		m->bulk_off = (msg->flags & MP_SHARE) ? MP_BULK_OFF_SHARE : 0;
	}
	m->forget = rc->forget;
	return cli_reserve(c, rc, mp_slot_count(m), d);
}

int mp_ring_grant_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		      struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x)
{
	if (!cli_granted(c, rc, kind, msg, d))
		return 1;
	x->fflags &= ~(unsigned)MP_FRAME_DATA_VM;	/* not left in our memory after all */
	slot_msg_from(m, kind, (uint16_t)c->seq, msg);
	m->flags = MP_SLOT_F_BULK;
	m->bulk_off = MP_BULK_OFF_GRANT;
	m->forget = rc->forget;
	return cli_reserve(c, rc, mp_slot_count(m), d);
}

int mp_ring_side_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		     struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x)
{
	/* Reserve the marker first: a frame must never wait for it. */
	int err = cli_reserve(c, rc, 1, d);

	*m = (struct mp_slot_msg){ .kind = MP_SLOT_SIDE, .seq = (uint16_t)c->seq,
				   .forget = rc->forget };
	if (err)
		return err;
	return mp_sockt_send(c->fd, kind == MP_SLOT_CALL ? MP_FRAME_CALL : MP_FRAME_ONEWAY, c->seq,
			     msg, d, x);
}

/* The slot the server keeps tx's region in; -1 when none (or no region). */
static int kept_slot(const struct ring_cli *rc, const struct mp_pages_tx *tx)
{
	return tx->fd >= 0 ? mp_kept_tx_find(&rc->kept, tx->addr, tx->id) : -1;
}

/* A slot for tx's region (its own, or a new one), noted as taken. */
static unsigned kept_claim(struct ring_cli *rc, const struct mp_pages_tx *tx)
{
	int h = kept_slot(rc, tx);

	if (h < 0) {
		h = (int)mp_kept_tx_pick(&rc->kept);
		mp_kept_tx_set(&rc->kept, (unsigned)h, tx->addr, tx->id);
	}
	return (unsigned)h;
}

/* Every region of the message the server keeps: one ring slot names them. */
static int cli_kept_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind,
			const mp_msg_t *msg, struct mp_slot_msg *m, struct mp_deadline d,
			struct mp_xfer *x, int hin, int hout)
{
	int err;

	slot_msg_from(m, kind, (uint16_t)c->seq, msg);
	if (hin >= 0) {
		m->flags |= MP_SLOT_F_PAGES;
		m->pages_slot = (uint32_t)hin;
		m->data = NULL;
	}
	if (hout >= 0) {
		m->flags |= MP_SLOT_F_OUTPAGES;
		m->out_slot = (uint32_t)hout;
	}
	m->forget = rc->forget;
	err = cli_reserve(c, rc, mp_slot_count(m), d);
	x->sent = !err;
	return err;
}

/* Shared pages: named by their slots when the server keeps them all,
 * else sent as a side frame that asks it to keep them (in slots we note
 * as taken; after a failed send, forgotten). */
int mp_ring_pages_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		      struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x)
{
	int hin = kept_slot(rc, &x->in), hout = kept_slot(rc, &x->out), err;

	if ((x->in.fd < 0 || hin >= 0) && (x->out.fd < 0 || hout >= 0))
		return cli_kept_msg(c, rc, kind, msg, m, d, x, hin, hout);
	if (x->in.fd >= 0) {
		x->fflags |= MP_FRAME_PAGES_KEEP;
		x->pages_slot = kept_claim(rc, &x->in);
	}
	if (x->out.fd >= 0) {
		x->fflags |= MP_FRAME_OUT_KEEP;
		x->out_slot = kept_claim(rc, &x->out);
	}
	err = mp_ring_side_msg(c, rc, kind, msg, m, d, x);
	if (err)
		goto err;
	return 0;
err:	/* not installed: whatever the server has there goes */
	if (x->fflags & MP_FRAME_PAGES_KEEP)
		mp_kept_tx_clear(&rc->kept, x->pages_slot);
	if (x->fflags & MP_FRAME_OUT_KEEP)
		mp_kept_tx_clear(&rc->kept, x->out_slot);
	return err;
}
