/* SPDX-License-Identifier: MIT */
#include "proto/slot.h"

#include <errno.h>
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
		.kind = (uint8_t)(m->kind | (m->priority & MP_PRIO_MAX) << MP_SLOT_X_PRIO_SHIFT |
				  (m->inout ? MP_SLOT_X_INOUT : 0)),
		.flags = (uint8_t)flags, .nslots = (uint16_t)nslots,
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

/* The kind byte's upper bits: a priority for calls and one-ways, INOUT
 * for calls only. */
static int kind_x_ok(unsigned kind, unsigned x)
{
	if (x & MP_SLOT_X_INOUT)
		return kind == MP_SLOT_CALL;
	return !x || kind == MP_SLOT_CALL || kind == MP_SLOT_ONEWAY;
}

static int hdr_ok(const struct mp_slot_hdr *h, size_t len)
{
	unsigned kind = h->kind & MP_SLOT_KIND_MASK;

	if (kind < MP_SLOT_CALL || kind > MP_SLOT_CTRL || (h->flags & ~MP_SLOT_F_KNOWN))
		return 0;
	if (!kind_x_ok(kind, h->kind & ~MP_SLOT_KIND_MASK))
		return 0;
	if (h->nslots == 0 || h->nslots > MP_SLOT_MSG_SLOTS || (size_t)h->nslots * MP_SLOT_SIZE != len)
		return 0;
	if (kind == MP_SLOT_CTRL)
		return h->flags == MP_SLOT_F_FORGET && h->data_size == 0;
	if (h->data_size > MP_SLOT_DATA_MAX || ((h->flags & SLOT_F_DATA_AWAY) && h->data_size))
		return 0;
	if ((h->flags & SLOT_F_DATA_AWAY) == SLOT_F_DATA_AWAY)
		return 0;	/* one place for the data */
	if ((h->flags & MP_SLOT_F_FORGET) && kind == MP_SLOT_REPLY)
		return 0;	/* the client's kept pages only */
	if ((h->flags & MP_SLOT_F_OUTPAGES) &&
	    (kind != MP_SLOT_CALL || !(h->flags & MP_SLOT_F_OUTCAP)))
		return 0;	/* an output buffer is a call's, with its capacity */
	if ((h->kind & MP_SLOT_X_INOUT) && (h->flags & MP_SLOT_F_PAGES))
		return 0;	/* the output's bytes are in ordinary data */
	return kind != MP_SLOT_SIDE ||
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
	/* the output's bytes follow the input: a hostile peer may claim less */
	return m->inout && m->data_size < m->out_capacity ? -EPROTO : 0;
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
	m.kind = h.kind & MP_SLOT_KIND_MASK;
	m.priority = (uint8_t)((h.kind >> MP_SLOT_X_PRIO_SHIFT) & MP_PRIO_MAX);
	m.inout = (h.kind & MP_SLOT_X_INOUT) != 0;
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
