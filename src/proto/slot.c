/* SPDX-License-Identifier: MIT */
#include "proto/slot.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "os/compiler.h"

/* The data is elsewhere (bulk area, pages); the slot holds its size. */
#define SLOT_F_DATA_AWAY (MP_SLOT_F_BULK | MP_SLOT_F_PAGES)

static size_t parts_size(const struct mp_slot_msg *m, unsigned flags)
{
	size_t n = sizeof(struct mp_slot_hdr);

	n += (flags & MP_SLOT_F_OID) ? 16 : 0;
	n += (flags & MP_SLOT_F_OUTCAP) ? 8 : 0;
	n += (flags & MP_SLOT_F_ERR) ? 8 : 0;
	n += (flags & MP_SLOT_F_BULK) ? 16 : 0;
	n += (flags & MP_SLOT_F_PAGES) ? 16 : 0;
	n += (flags & MP_SLOT_F_OUTPAGES) ? 8 : 0;
	n += (flags & MP_SLOT_F_FORGET) ? 8 : 0;
	n += (flags & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0;
	return n + ((flags & SLOT_F_DATA_AWAY) ? 0 : m->data_size);
}

/* The optional parts this message needs. */
static unsigned flags_for(const struct mp_slot_msg *m)
{
	unsigned f = m->flags & (SLOT_F_DATA_AWAY | MP_SLOT_F_OUTPAGES);

	if (m->oid.port || m->oid.id)
		f |= MP_SLOT_F_OID;
	if (m->out_capacity)
		f |= MP_SLOT_F_OUTCAP;
	if (m->err)
		f |= MP_SLOT_F_ERR;
	if (m->forget)
		f |= MP_SLOT_F_FORGET;
	if (m->raw && !mp_raw_zero(m->raw))
		f |= MP_SLOT_F_RAW;
	return f;
}

unsigned mp_slot_count(const struct mp_slot_msg *m)
{
	return mp_slot_span(parts_size(m, flags_for(m)));
}

static uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* Lay a message of len bytes out in slots: continuation slots get a zero
 * word 0, and the last slot's tail is zeroed (no stack bytes leak). */
static void spread(uint8_t *slots, const uint8_t *lin, size_t len, unsigned nslots)
{
	size_t off = len < MP_SLOT_SIZE ? len : MP_SLOT_SIZE;

	memset(slots, 0, (size_t)nslots * MP_SLOT_SIZE);
	memcpy(slots, lin, off);
	for (unsigned k = 1; k < nslots; k++) {
		size_t n = len - off < MP_SLOT_CONT_BYTES ? len - off : MP_SLOT_CONT_BYTES;

		memcpy(slots + (size_t)k * MP_SLOT_SIZE + MP_SLOT_SIZE - MP_SLOT_CONT_BYTES, lin + off, n);
		off += n;
	}
}

/* The inverse, in place: the message's bytes without the continuation
 * words (each move goes down, so a forward pass is safe). */
static size_t gather(uint8_t *slots, unsigned nslots)
{
	size_t off = MP_SLOT_SIZE;

	for (unsigned k = 1; k < nslots; k++) {
		memmove(slots + off, slots + (size_t)k * MP_SLOT_SIZE + MP_SLOT_SIZE - MP_SLOT_CONT_BYTES,
			MP_SLOT_CONT_BYTES);
		off += MP_SLOT_CONT_BYTES;
	}
	return off;
}

unsigned mp_slot_encode(void *buf, const struct mp_slot_msg *m)
{
	uint8_t lin[MP_SLOT_MSG_MAX];
	unsigned flags = flags_for(m);
	size_t len = parts_size(m, flags);
	unsigned nslots = mp_slot_span(len);
	struct mp_slot_hdr h = {
		.kind = (uint8_t)m->kind, .flags = (uint8_t)flags, .nslots = (uint16_t)nslots,
		.type = m->type, .seq = m->seq,
		.data_size = (flags & SLOT_F_DATA_AWAY) ? 0 : (uint16_t)m->data_size,
	};
	uint64_t pair[2];
	uint8_t *p = put(lin, &h, sizeof(h));

	if (flags & MP_SLOT_F_OID) {
		pair[0] = m->oid.port;
		pair[1] = m->oid.id;
		p = put(p, pair, 16);
	}
	if (flags & MP_SLOT_F_OUTCAP)
		p = put(p, &m->out_capacity, 8);
	if (flags & MP_SLOT_F_ERR) {
		int64_t e = m->err;

		p = put(p, &e, 8);
	}
	if (flags & MP_SLOT_F_BULK) {
		pair[0] = m->bulk_off;
		pair[1] = m->data_size;
		p = put(p, pair, 16);
	}
	if (flags & MP_SLOT_F_PAGES) {
		pair[0] = m->pages_slot;
		pair[1] = m->data_size;
		p = put(p, pair, 16);
	}
	if (flags & MP_SLOT_F_OUTPAGES) {
		uint64_t w = m->out_slot;

		p = put(p, &w, 8);
	}
	if (flags & MP_SLOT_F_FORGET) {
		uint64_t w = m->forget;

		p = put(p, &w, 8);
	}
	if (flags & MP_SLOT_F_RAW)
		p = put(p, m->raw, MP_RAW_SIZE);
	if (!(flags & SLOT_F_DATA_AWAY) && m->data_size)
		put(p, m->data, m->data_size);
	spread(buf, lin, len, nslots);
	return nslots;
}

static int hdr_ok(const struct mp_slot_hdr *h, size_t len)
{
	if (h->kind < MP_SLOT_CALL || h->kind > MP_SLOT_CTRL || (h->flags & ~MP_SLOT_F_KNOWN))
		return 0;
	if (h->nslots == 0 || h->nslots > MP_SLOT_MSG_SLOTS || (size_t)h->nslots * MP_SLOT_SIZE != len)
		return 0;
	if (h->kind == MP_SLOT_CTRL)
		return h->flags == MP_SLOT_F_FORGET && h->data_size == 0;
	if (h->data_size > MP_SLOT_DATA_MAX || ((h->flags & SLOT_F_DATA_AWAY) && h->data_size))
		return 0;
	if ((h->flags & SLOT_F_DATA_AWAY) == SLOT_F_DATA_AWAY)
		return 0;	/* one place for the data */
	if ((h->flags & MP_SLOT_F_FORGET) && h->kind == MP_SLOT_REPLY)
		return 0;	/* the client's kept pages only */
	if ((h->flags & MP_SLOT_F_OUTPAGES) &&
	    (h->kind != MP_SLOT_CALL || !(h->flags & MP_SLOT_F_OUTCAP)))
		return 0;	/* an output buffer is a call's, with its capacity */
	return h->kind != MP_SLOT_SIDE ||
	       ((h->flags & ~(unsigned)MP_SLOT_F_FORGET) == 0 && h->data_size == 0);
}

static const uint8_t *get(const uint8_t *p, void *dst, size_t n)
{
	memcpy(dst, p, n);
	return p + n;
}

/* Optional parts, each checked for reserved bits and ranges. */
static int parts_decode(const uint8_t *p, struct mp_slot_msg *m)
{
	uint64_t pair[2];
	int64_t e;

	if (m->flags & MP_SLOT_F_OID) {
		p = get(p, pair, 16);
		if (pair[0] > UINT32_MAX)
			return -EPROTO;
		m->oid.port = (mp_port_t)pair[0];
		m->oid.id = pair[1];
	}
	if (m->flags & MP_SLOT_F_OUTCAP) {
		p = get(p, &m->out_capacity, 8);
		if (m->out_capacity > MP_DATA_MAX || m->kind != MP_SLOT_CALL)
			return -EPROTO;
	}
	if (m->flags & MP_SLOT_F_ERR) {
		p = get(p, &e, 8);
		if (e < INT32_MIN || e > INT32_MAX || m->kind != MP_SLOT_REPLY)
			return -EPROTO;
		m->err = (int32_t)e;
	}
	if (m->flags & MP_SLOT_F_BULK) {
		p = get(p, pair, 16);
		if (pair[1] > MP_DATA_MAX)
			return -EPROTO;
		m->bulk_off = pair[0];
		m->data_size = pair[1];
	}
	if (m->flags & MP_SLOT_F_PAGES) {
		p = get(p, pair, 16);
		if (pair[0] >= MP_SLOT_PAGES_SLOTS || pair[1] == 0 || pair[1] > MP_DATA_MAX)
			return -EPROTO;
		if (m->kind == MP_SLOT_REPLY && pair[0] != 0)
			return -EPROTO;
		m->pages_slot = (uint32_t)pair[0];
		m->data_size = pair[1];
	}
	if (m->flags & MP_SLOT_F_OUTPAGES) {
		uint64_t w;

		p = get(p, &w, 8);
		if (w >= MP_SLOT_PAGES_SLOTS || m->out_capacity == 0)
			return -EPROTO;	/* lent pages hold an answer of some length */
		m->out_slot = (uint32_t)w;
	}
	if (m->flags & MP_SLOT_F_FORGET) {
		uint64_t w;

		p = get(p, &w, 8);
		if (w == 0 || w >> MP_SLOT_PAGES_SLOTS)
			return -EPROTO;
		m->forget = (uint32_t)w;
	}
	if (m->flags & MP_SLOT_F_RAW) {
		m->raw = p;
		p += MP_RAW_SIZE;
	}
	m->data = (m->flags & SLOT_F_DATA_AWAY) ? NULL : p;
	return 0;
}

int mp_slot_decode(void *buf, size_t len, struct mp_slot_msg *out)
{
	struct mp_slot_hdr h;
	struct mp_slot_msg m;
	uint8_t *lin = buf;
	size_t lin_len;

	if (len < MP_SLOT_SIZE || len > MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE)
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (!hdr_ok(&h, len))
		return -EPROTO;
	lin_len = gather(lin, h.nslots);
	memset(&m, 0, sizeof(m));
	m.kind = h.kind;
	m.flags = h.flags;
	m.type = h.type;
	m.seq = h.seq;
	m.data_size = h.data_size;
	/* The declared parts must fit in the slots the header claims. */
	if (parts_size(&m, h.flags) > lin_len)
		return -EPROTO;
	if (parts_decode(lin + sizeof(h), &m))
		return -EPROTO;
	*out = m;
	return 0;
}

/* ------------------------------------------------------------ in place */

/* Where the next byte of a message goes in (or comes from) the ring:
 * linear message bytes onto slots as spread() lays them out, each slot
 * found by its position (so a message may wrap past the ring's end). */
struct slot_cur {
	struct mp_slot *slots;
	uint64_t pos;		/* the slot p is in */
	uint8_t *p;
	size_t room;		/* bytes of the message left in that slot */
};

static inline void cur_init(struct slot_cur *c, const struct mp_ring_view *v, size_t off)
{
	c->slots = v->slots;
	c->pos = v->pos;
	c->p = v->slots[v->pos & (MP_RING_SLOTS - 1)].b + off;
	c->room = MP_SLOT_SIZE - off;
}

/* On to the next slot: its word 0 is zero on the wire (slot.h). */
static inline void cur_next(struct slot_cur *c, bool write)
{
	uint8_t *s = c->slots[++c->pos & (MP_RING_SLOTS - 1)].b;

	if (write)
		memset(s, 0, MP_SLOT_SIZE - MP_SLOT_CONT_BYTES);
	c->p = s + MP_SLOT_SIZE - MP_SLOT_CONT_BYTES;
	c->room = MP_SLOT_CONT_BYTES;
}

static inline void cur_put(struct slot_cur *c, const void *src, size_t n)
{
	const uint8_t *s = src;

	while (unlikely(n > c->room)) {
		mp_copy64(c->p, s, c->room);
		s += c->room;
		n -= c->room;
		cur_next(c, true);
	}
	mp_copy64(c->p, s, n);
	c->p += n;
	c->room -= n;
}

static inline void cur_get(struct slot_cur *c, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (unlikely(n > c->room)) {
		mp_copy64(d, c->p, c->room);
		d += c->room;
		n -= c->room;
		cur_next(c, false);
	}
	mp_copy64(d, c->p, n);
	c->p += n;
	c->room -= n;
}

/* The same for a part of constant size n: one inline copy when it fits. */
static inline void cur_put_k(struct slot_cur *c, const void *src, size_t n)
{
	if (likely(n <= c->room)) {
		memcpy(c->p, src, n);
		c->p += n;
		c->room -= n;
	} else {
		cur_put(c, src, n);
	}
}

static inline void cur_get_k(struct slot_cur *c, void *dst, size_t n)
{
	if (likely(n <= c->room)) {
		memcpy(dst, c->p, n);
		c->p += n;
		c->room -= n;
	} else {
		cur_get(c, dst, n);
	}
}

void mp_slot_put_inline(struct mp_ring_view *v, unsigned kind, unsigned flags, unsigned nslots,
			uint16_t seq, const mp_msg_t *msg)
{
	struct mp_slot_hdr h = {
		.kind = (uint8_t)kind, .flags = (uint8_t)flags, .nslots = (uint16_t)nslots,
		.type = msg->type, .seq = seq, .data_size = (uint16_t)msg->i.size,
	};
	struct slot_cur c;

	/* The header but its stamp, which ring_publish() writes last [R1]. */
	cur_init(&c, v, sizeof(h.stamp));
	cur_put_k(&c, (const uint8_t *)&h + sizeof(h.stamp), sizeof(h) - sizeof(h.stamp));
	if (flags & MP_SLOT_F_OID) {
		uint64_t pair[2] = { msg->oid.port, msg->oid.id };

		cur_put_k(&c, pair, 16);
	}
	if (flags & MP_SLOT_F_OUTCAP) {
		uint64_t cap = msg->o.size;

		cur_put_k(&c, &cap, 8);
	}
	if (flags & MP_SLOT_F_RAW)
		cur_put(&c, msg->i.raw, MP_RAW_SIZE);
	if (msg->i.size)
		cur_put(&c, msg->i.data, msg->i.size);
}

int mp_slot_reply_read(const struct mp_ring_view *v, uint16_t seq, struct mp_msg_out *o)
{
	const unsigned plain = MP_SLOT_F_ERR | MP_SLOT_F_RAW;
	struct mp_slot_hdr h;
	struct slot_cur c;
	size_t len;
	int64_t e = 0;

	cur_init(&c, v, 0);
	cur_get_k(&c, &h, sizeof(h));	/* once: every decision below is on this copy */
	if (h.kind != MP_SLOT_REPLY || (h.flags & ~plain) || h.seq != seq)
		return 0;
	if (h.data_size > MP_SLOT_DATA_MAX || h.data_size > o->size)
		return 0;
	len = sizeof(h) + ((h.flags & MP_SLOT_F_ERR) ? 8 : 0) +
	      ((h.flags & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0) + h.data_size;
	if (h.nslots < mp_slot_span(len) || h.nslots > MP_SLOT_MSG_SLOTS)
		return 0;
	if (h.flags & MP_SLOT_F_ERR) {
		cur_get_k(&c, &e, 8);
		if (e < INT32_MIN || e > INT32_MAX)
			return 0;
	}
	/* Checked: from here on only copies, each byte read once. */
	if (h.flags & MP_SLOT_F_RAW)
		cur_get(&c, o->raw, MP_RAW_SIZE);
	else
		memset(o->raw, 0, MP_RAW_SIZE);
	if (h.data_size)
		cur_get(&c, o->data, h.data_size);
	o->size = h.data_size;
	o->err = (int32_t)e;
	o->nfds = 0;
	return h.nslots;
}
