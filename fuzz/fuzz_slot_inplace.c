/* SPDX-License-Identifier: MIT */
/*
 * Checks 3 to 5 of the fuzz_slot target (fuzz_slot.c says what each
 * asserts): the in-place encoder and the two in-place readers of
 * proto/slot.h, on rings at positions that wrap.
 */
#include <errno.h>
#include <string.h>

#include "fuzz_slot.h"

/* ------------------------------------------------ in place (slot.h) */

/* A ring of MP_RING_SLOTS slots on the heap, poisoned, and a view of it
 * at pos: the in-place encoder and reader index it by position. */
static struct mp_slot *ring_new(struct mp_ring_view *v, uint64_t pos)
{
	struct mp_slot *slots = aligned_alloc(MP_SLOT_SIZE, MP_RING_SLOTS * sizeof(*slots));

	if (slots)
		memset(slots, POISON, MP_RING_SLOTS * sizeof(*slots));
	*v = (struct mp_ring_view){ .slots = slots, .pos = pos };
	return slots;
}

static uint8_t *ring_byte(const struct mp_ring_view *v, uint64_t k, size_t b)
{
	return v->slots[(v->pos + k) & (MP_RING_SLOTS - 1)].b + b;
}

/* A position near the end of the ring, so that messages wrap. */
static uint64_t wrap_pos(uint64_t seed)
{
	return 3 * MP_RING_SLOTS + MP_RING_SLOTS - 1 - seed % 8;
}

/*
 * 3. mp_slot_put_inline(): for a call or one-way with inline data only
 * (the fast path's messages), the ring holds exactly mp_slot_encode()'s
 * bytes, the stamp word left alone, the tail of the last slot and every
 * other slot untouched; the flags and slot count agree with the encoder.
 */
static int check_call_view(const struct mp_ring_view *v, size_t cap);

void check_put_inline(const struct mp_slot_msg *m, uint64_t seed)
{
	static uint8_t enc[ENC_MAX];
	const unsigned away = MP_SLOT_F_BULK | MP_SLOT_F_PAGES | MP_SLOT_F_OUTPAGES;
	struct mp_ring_view v;
	mp_msg_t msg;
	unsigned f = expect_flags(m), n;
	size_t need, used;

	if ((m->kind != MP_SLOT_CALL && m->kind != MP_SLOT_ONEWAY) || (m->flags & away) ||
	    m->forget || m->err || m->data_size > MP_SLOT_DATA_MAX || m->priority || m->inout)
		return;	/* the in-place writer lays ordinary messages only */
	if (m->kind == MP_SLOT_ONEWAY && m->out_capacity)
		return;
	if (m->out_capacity > MP_DATA_MAX)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.type = m->type;
	msg.oid = m->oid;
	msg.i.data = (void *)m->data;
	msg.i.size = m->data_size;
	if (m->raw)
		memcpy(msg.i.raw, m->raw, MP_RAW_SIZE);
	msg.o.size = m->out_capacity;
	CHECK(mp_slot_inline_flags(m->kind, &msg) == f);
	n = mp_slot_inline_count(f, m->data_size);
	CHECK(n == mp_slot_count(m));
	memset(enc, 0, ENC_MAX);
	CHECK(mp_slot_encode(enc, m) == n);
	if (!ring_new(&v, wrap_pos(seed)))
		return;
	mp_slot_put_inline(&v, m->kind, f, n, m->seq, &msg);
	need = expect_size(m, f);
	used = n == 1 ? need : MP_SLOT_SIZE + (n - 1) * MP_SLOT_SIZE -
			       ((n - 1) * MP_SLOT_CONT_BYTES - (need - MP_SLOT_SIZE));
	for (unsigned k = 0; k < MP_RING_SLOTS; k++)
		for (size_t b = 0; b < MP_SLOT_SIZE; b++) {
			size_t at = (size_t)k * MP_SLOT_SIZE + b;
			uint8_t got = *ring_byte(&v, k, b);

			if (k < n && at >= (k == 0 ? 4 : 0) && at < used)
				CHECK(got == enc[at]);
			else
				CHECK(got == POISON);	/* stamp, tail, other slots */
		}
	/* 5. the server's reader takes what the client's writer laid */
	CHECK(check_call_view(&v, MP_SLOT_DATA_MAX));
	free(v.slots);
}

/*
 * 4. mp_slot_reply_read(), against mp_slot_decode(): the slots of the
 * input, at a position that wraps, read for call seq into a buffer of
 * capacity cap (both from the input, mostly the header's seq and about
 * its size).  Accepted: decode accepts the same slots as a reply to seq
 * with no part but err and raw, and the reader gave what decode gives
 * (data, size, err, raw; fds 0).  Refused: nothing was written, and
 * decode does not accept such a reply either (the reader misses none).
 */
void check_reply_read(const uint8_t *in, size_t len, uint8_t ctl)
{
	const unsigned plain = MP_SLOT_F_ERR | MP_SLOT_F_RAW;
	struct mp_slot_hdr h;
	struct mp_ring_view v;
	struct mp_slot_msg m;
	struct mp_msg_out o, before;
	uint8_t *dec, *out;
	uint16_t seq;
	size_t cap;
	int n, r = -EPROTO;

	if (len < MP_SLOT_SIZE || !ring_new(&v, wrap_pos(ctl)))
		return;
	for (size_t k = 0; k < len / MP_SLOT_SIZE; k++)
		memcpy(ring_byte(&v, k, 0), in + k * MP_SLOT_SIZE, MP_SLOT_SIZE);
	memcpy(&h, in, sizeof(h));
	seq = (ctl & 1) ? h.seq : (uint16_t)(h.seq + 1);
	cap = (ctl & 2) ? (h.data_size ? h.data_size - 1u : 0u) : h.data_size + (ctl >> 2);
	out = malloc(cap ? cap : 1);
	if (!out)
		goto done;
	memset(&o, POISON, sizeof(o));
	memset(out, POISON, cap ? cap : 1);
	o.data = out;
	o.size = cap;
	before = o;
	n = mp_slot_reply_read(&v, seq, &o);
	CHECK(n >= 0);
	/* what the general path decodes: the header's slot count, copied out */
	dec = NULL;
	if (h.nslots >= 1 && h.nslots <= MP_SLOT_MSG_SLOTS) {
		dec = malloc((size_t)h.nslots * MP_SLOT_SIZE);
		if (!dec)
			goto done;
		for (unsigned k = 0; k < h.nslots; k++)
			memcpy(dec + (size_t)k * MP_SLOT_SIZE, ring_byte(&v, k, 0), MP_SLOT_SIZE);
		r = mp_slot_decode(dec, (size_t)h.nslots * MP_SLOT_SIZE, &m);
	}
	if (n > 0) {
		CHECK(n == h.nslots);
		CHECK(r == 0 && m.kind == MP_SLOT_REPLY && (m.flags & ~plain) == 0 && m.seq == seq);
		CHECK(m.data_size <= cap && o.size == m.data_size && o.data == out);
		CHECK(o.err == m.err && o.nfds == 0);
		CHECK(memcmp(out, m.data, m.data_size) == 0);
		for (size_t b = m.data_size; b < cap; b++)
			CHECK(out[b] == POISON);
		if (m.raw) {
			CHECK(memcmp(o.raw, m.raw, MP_RAW_SIZE) == 0);
		} else {
			for (unsigned b = 0; b < MP_RAW_SIZE; b++)
				CHECK(o.raw[b] == 0);
		}
	} else {
		CHECK(memcmp(&o, &before, sizeof(o)) == 0);
		for (size_t b = 0; b < cap; b++)
			CHECK(out[b] == POISON);
		CHECK(!(r == 0 && m.kind == MP_SLOT_REPLY && (m.flags & ~plain) == 0 &&
			m.seq == seq && m.data_size <= cap));
	}
	free(dec);
done:
	free(out);
	free(v.slots);
}

/*
 * 5. mp_slot_call_peek() and mp_slot_call_copy(), against
 * mp_slot_decode(), on the message at v's position, with a data capacity
 * of cap.  Accepted: decode accepts the same slots as a call or one-way
 * with no part but oid, capacity and raw, and the reader gave what decode
 * gives.  Refused: nothing was written, and decode does not accept such a
 * message either.  Returns whether it was accepted.
 */
static int check_call_view(const struct mp_ring_view *v, size_t cap)
{
	const unsigned plain = MP_SLOT_F_OID | MP_SLOT_F_OUTCAP | MP_SLOT_F_RAW;
	struct mp_slot_hdr h;
	struct mp_slot_call pc, before;
	struct mp_slot_msg m;
	uint8_t raw[MP_RAW_SIZE], *dec = NULL, *out;
	unsigned n;
	int r = -EPROTO, ok;

	out = malloc(cap ? cap : 1);
	if (!out)
		return 0;
	memcpy(&h, ring_byte(v, 0, 0), sizeof(h));
	if (h.nslots >= 1 && h.nslots <= MP_SLOT_MSG_SLOTS) {
		dec = malloc((size_t)h.nslots * MP_SLOT_SIZE);
		if (!dec) {
			free(out);
			return 0;
		}
		for (unsigned k = 0; k < h.nslots; k++)
			memcpy(dec + (size_t)k * MP_SLOT_SIZE, ring_byte(v, k, 0), MP_SLOT_SIZE);
		r = mp_slot_decode(dec, (size_t)h.nslots * MP_SLOT_SIZE, &m);
	}
	memset(&pc, POISON, sizeof(pc));
	memset(raw, POISON, sizeof(raw));
	memset(out, POISON, cap ? cap : 1);
	before = pc;
	n = mp_slot_call_peek(v, cap, &pc);
	/* a priority or INOUT goes the general way (slot.h) */
	ok = r == 0 && (m.kind == MP_SLOT_CALL || m.kind == MP_SLOT_ONEWAY) &&
	     (m.flags & ~plain) == 0 && m.data_size <= cap && !m.priority && !m.inout;
	CHECK((n > 0) == ok);
	if (n > 0) {
		mp_slot_call_copy(v, &pc, raw, out);
		CHECK(n == h.nslots);
		CHECK(pc.kind == m.kind && pc.flags == m.flags && pc.type == m.type &&
		      pc.seq == m.seq && pc.data_size == m.data_size);
		CHECK(pc.oid.port == m.oid.port && pc.oid.id == m.oid.id &&
		      pc.out_capacity == m.out_capacity);
		CHECK(memcmp(out, m.data, m.data_size) == 0);
		for (size_t b = m.data_size; b < cap; b++)
			CHECK(out[b] == POISON);
		if (m.raw) {
			CHECK(memcmp(raw, m.raw, MP_RAW_SIZE) == 0);
		} else {
			for (unsigned b = 0; b < MP_RAW_SIZE; b++)
				CHECK(raw[b] == 0);
		}
	} else {
		CHECK(memcmp(&pc, &before, sizeof(pc)) == 0);
	}
	free(dec);
	free(out);
	return n > 0;
}

/* 5. on the input's slots, at a position that wraps. */
void check_call_read(const uint8_t *in, size_t len, uint8_t ctl)
{
	struct mp_ring_view v;
	struct mp_slot_hdr h;
	size_t cap;

	if (len < MP_SLOT_SIZE || !ring_new(&v, wrap_pos(ctl >> 3)))
		return;
	for (size_t k = 0; k < len / MP_SLOT_SIZE; k++)
		memcpy(ring_byte(&v, k, 0), in + k * MP_SLOT_SIZE, MP_SLOT_SIZE);
	memcpy(&h, in, sizeof(h));
	/* mostly the server's capacity; sometimes one short, or exact */
	cap = (ctl & 3) == 0 ? (h.data_size ? h.data_size - 1u : 0u)
	      : (ctl & 3) == 1 ? h.data_size : MP_SLOT_DATA_MAX;
	check_call_view(&v, cap);
	free(v.slots);
}
