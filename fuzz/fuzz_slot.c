/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ring slot codec (src/slot.c).
 *
 * 1. Decoder: byte 0 chooses how many 64-byte slots the "copied out"
 *    message has (0 .. MP_SLOT_MSG_SLOTS + 1, so too short and too long
 *    are tried as well); that many whole slots are taken from the rest of
 *    the input (fewer if it is short) into a heap buffer of exactly that
 *    size, so AddressSanitizer catches any read past it.  On success the
 *    message must satisfy every promise of slot.h: kind and flags known,
 *    data and raw pointing inside the buffer, sizes within limits, parts
 *    only where their kind allows.  A decoded message must also survive
 *    encode + decode unchanged.
 * 2. Round trip: a message is built from the input bytes (some of them
 *    deliberately invalid: unknown kind, an err on a call, an oversized
 *    capacity, INOUT data shorter than the capacity...); decode(encode(m)) must succeed exactly when m is valid
 *    and then give m back.  The encoder must write the stamp as 0, and
 *    past the parts it declares either nothing or zeros to the end of
 *    the last slot.
 * 3. In place, encoder: mp_slot_put_inline() lays a call or one-way with
 *    inline data only into a ring at a position that wraps, byte for byte
 *    as mp_slot_encode() does (stamp, tail and other slots untouched).
 * 4. In place, reader: mp_slot_reply_read() on the input's slots in such
 *    a ring accepts exactly the plain inline replies to the call that
 *    mp_slot_decode() accepts and fit, gives what it gives, and writes
 *    nothing when it refuses.
 * 5. In place, server reader: mp_slot_call_peek() + mp_slot_call_copy()
 *    on the same ring (and on each ring mp_slot_put_inline() filled in
 *    3.) accept exactly the plain inline calls and one-ways that
 *    mp_slot_decode() accepts and fit, give what it gives, and write
 *    nothing when they refuse.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_slot.h"


static int raw_zero(const uint8_t *raw)
{
	if (!raw)
		return 1;
	for (unsigned k = 0; k < MP_RAW_SIZE; k++)
		if (raw[k])
			return 0;
	return 1;
}

/* The flags and size the encoder should produce, computed independently. */
unsigned expect_flags(const struct mp_slot_msg *m)
{
	unsigned f = m->flags & (MP_SLOT_F_BULK | MP_SLOT_F_PAGES | MP_SLOT_F_OUTPAGES);

	f |= m->forget ? MP_SLOT_F_FORGET : 0;
	f |= (m->oid.port || m->oid.id) ? MP_SLOT_F_OID : 0;
	f |= m->out_capacity ? MP_SLOT_F_OUTCAP : 0;
	f |= m->err ? MP_SLOT_F_ERR : 0;
	f |= raw_zero(m->raw) ? 0 : MP_SLOT_F_RAW;
	return f;
}

size_t expect_size(const struct mp_slot_msg *m, unsigned f)
{
	size_t n = 16;

	n += (f & MP_SLOT_F_OID) ? 16 : 0;
	n += (f & MP_SLOT_F_OUTCAP) ? 8 : 0;
	n += (f & MP_SLOT_F_ERR) ? 8 : 0;
	n += (f & (MP_SLOT_F_BULK | MP_SLOT_F_PAGES)) ? 16 : m->data_size;
	n += ((f & MP_SLOT_F_BULK) && (f & MP_SLOT_F_PAGES)) ? 16 : 0;
	n += (f & MP_SLOT_F_OUTPAGES) ? 8 : 0;
	n += (f & MP_SLOT_F_FORGET) ? 8 : 0;
	n += (f & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0;
	return n;
}

/* Whether the decoder must accept the encoding of m (slot.h's rules). */
static int msg_valid(const struct mp_slot_msg *m)
{
	unsigned f = expect_flags(m);

	if (m->kind < MP_SLOT_CALL || m->kind > MP_SLOT_CTRL)
		return 0;
	if (m->kind == MP_SLOT_CTRL)
		return f == MP_SLOT_F_FORGET && m->data_size == 0 && !(m->forget >> MP_SLOT_PAGES_SLOTS);
	if (m->out_capacity && (m->kind != MP_SLOT_CALL || m->out_capacity > MP_DATA_MAX))
		return 0;
	if (m->err && m->kind != MP_SLOT_REPLY)
		return 0;
	if ((f & MP_SLOT_F_BULK) && m->data_size > MP_DATA_MAX)
		return 0;
	if ((f & MP_SLOT_F_BULK) && (f & MP_SLOT_F_PAGES))
		return 0;
	if ((f & MP_SLOT_F_PAGES) && (m->pages_slot >= MP_SLOT_PAGES_SLOTS || m->data_size == 0 ||
				      m->data_size > MP_DATA_MAX))
		return 0;
	if ((f & MP_SLOT_F_FORGET) && m->forget >> MP_SLOT_PAGES_SLOTS)
		return 0;
	if ((f & MP_SLOT_F_FORGET) && m->kind == MP_SLOT_REPLY)
		return 0;
	if ((f & MP_SLOT_F_PAGES) && m->kind == MP_SLOT_REPLY && m->pages_slot != 0)
		return 0;
	if ((f & MP_SLOT_F_OUTPAGES) && (m->kind != MP_SLOT_CALL || !(f & MP_SLOT_F_OUTCAP) ||
					 m->out_slot >= MP_SLOT_PAGES_SLOTS))
		return 0;
	if (m->kind == MP_SLOT_SIDE && ((f & ~(unsigned)MP_SLOT_F_FORGET) || m->data_size))
		return 0;
	if (m->priority && m->kind != MP_SLOT_CALL && m->kind != MP_SLOT_ONEWAY)
		return 0;
	if (m->inout && (m->kind != MP_SLOT_CALL || (f & MP_SLOT_F_PAGES) ||
			 m->data_size < m->out_capacity))
		return 0;	/* the output's bytes follow the input, in ordinary data */
	return 1;
}

/* Everything a successfully decoded message must satisfy. */
static void check_decoded(const uint8_t *buf, size_t len, const struct mp_slot_msg *m)
{
	struct mp_slot_hdr h;

	memcpy(&h, buf, sizeof(h));
	CHECK(len % MP_SLOT_SIZE == 0 && len >= MP_SLOT_SIZE);
	CHECK(len <= MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE);
	CHECK((size_t)h.nslots * MP_SLOT_SIZE == len);
	CHECK(m->kind >= MP_SLOT_CALL && m->kind <= MP_SLOT_CTRL);
	CHECK(m->kind == (h.kind & MP_SLOT_KIND_MASK) && m->flags == h.flags && m->type == h.type &&
	      m->seq == h.seq);
	CHECK(m->priority == ((h.kind >> MP_SLOT_X_PRIO_SHIFT) & MP_PRIO_MAX));
	CHECK(m->inout == ((h.kind & MP_SLOT_X_INOUT) != 0));
	if (m->priority)
		CHECK(m->kind == MP_SLOT_CALL || m->kind == MP_SLOT_ONEWAY);
	if (m->inout) {
		CHECK(m->kind == MP_SLOT_CALL && !(m->flags & MP_SLOT_F_PAGES));
		CHECK(m->data_size >= m->out_capacity);	/* a hostile peer may claim less */
	}
	CHECK((m->flags & ~MP_SLOT_F_KNOWN) == 0);
	CHECK(m->oid.reserved == 0);
	CHECK(m->out_capacity <= MP_DATA_MAX);
	CHECK(m->out_capacity == 0 || m->kind == MP_SLOT_CALL);
	CHECK(m->err == 0 || m->kind == MP_SLOT_REPLY);
	if (!(m->flags & MP_SLOT_F_OID))
		CHECK(m->oid.port == 0 && m->oid.id == 0);
	if (!(m->flags & MP_SLOT_F_OUTCAP))
		CHECK(m->out_capacity == 0);
	if (!(m->flags & MP_SLOT_F_ERR))
		CHECK(m->err == 0);
	CHECK(!((m->flags & MP_SLOT_F_BULK) && (m->flags & MP_SLOT_F_PAGES)));
	if (m->flags & MP_SLOT_F_PAGES) {
		CHECK(m->kind != MP_SLOT_SIDE);
		CHECK(m->pages_slot < MP_SLOT_PAGES_SLOTS);
		CHECK(m->kind != MP_SLOT_REPLY || m->pages_slot == 0);
		CHECK(m->data_size > 0);
	} else {
		CHECK(m->pages_slot == 0);
	}
	if (m->flags & MP_SLOT_F_OUTPAGES) {
		CHECK(m->kind == MP_SLOT_CALL);
		CHECK(m->flags & MP_SLOT_F_OUTCAP);
		CHECK(m->out_slot < MP_SLOT_PAGES_SLOTS);
	} else {
		CHECK(m->out_slot == 0);
	}
	if (m->flags & MP_SLOT_F_FORGET) {
		CHECK(m->kind != MP_SLOT_REPLY);
		CHECK(m->forget != 0 && !(m->forget >> MP_SLOT_PAGES_SLOTS));
	} else {
		CHECK(m->forget == 0);
	}
	if (m->flags & (MP_SLOT_F_BULK | MP_SLOT_F_PAGES)) {
		CHECK(m->data == NULL);
		CHECK(m->data_size <= MP_DATA_MAX);
		CHECK(h.data_size == 0);
		if (!(m->flags & MP_SLOT_F_BULK))
			CHECK(m->bulk_off == 0);
	} else {
		CHECK(m->bulk_off == 0);
		CHECK(m->data_size <= MP_SLOT_DATA_MAX);
		CHECK(m->data_size == h.data_size);
		CHECK(m->data != NULL);
		CHECK((const uint8_t *)m->data >= buf + sizeof(h));
		CHECK((const uint8_t *)m->data + m->data_size <= buf + len);
	}
	if (m->flags & MP_SLOT_F_RAW) {
		CHECK(m->raw != NULL);
		CHECK(m->raw >= buf + sizeof(h) && m->raw + MP_RAW_SIZE <= buf + len);
	} else {
		CHECK(m->raw == NULL);
	}
	if (m->kind == MP_SLOT_SIDE)
		CHECK((m->flags & ~(unsigned)MP_SLOT_F_FORGET) == 0 && m->data_size == 0);
	if (m->kind == MP_SLOT_CTRL)
		CHECK(m->flags == MP_SLOT_F_FORGET && m->data_size == 0 && m->forget != 0);
}

/* a and b describe the same message (raw NULL reads as all zero). */
static void check_same(const struct mp_slot_msg *a, const struct mp_slot_msg *b)
{
	CHECK(a->kind == b->kind);
	CHECK(a->type == b->type);
	CHECK(a->seq == b->seq);
	CHECK(a->oid.port == b->oid.port && a->oid.id == b->oid.id);
	CHECK(a->out_capacity == b->out_capacity);
	CHECK(a->err == b->err);
	CHECK((a->flags & MP_SLOT_F_BULK) == (b->flags & MP_SLOT_F_BULK));
	CHECK((a->flags & MP_SLOT_F_PAGES) == (b->flags & MP_SLOT_F_PAGES));
	CHECK((a->flags & MP_SLOT_F_OUTPAGES) == (b->flags & MP_SLOT_F_OUTPAGES));
	CHECK(a->out_slot == b->out_slot);
	CHECK(a->forget == b->forget);
	CHECK(a->data_size == b->data_size);
	CHECK(a->priority == b->priority && a->inout == b->inout);
	if (a->flags & MP_SLOT_F_PAGES) {
		CHECK(a->pages_slot == b->pages_slot);
	} else if (a->flags & MP_SLOT_F_BULK) {
		CHECK(a->bulk_off == b->bulk_off);
	} else if (a->data_size) {
		CHECK(memcmp(a->data, b->data, a->data_size) == 0);
	}
	if (raw_zero(a->raw))
		CHECK(raw_zero(b->raw));
	else
		CHECK(b->raw && memcmp(a->raw, b->raw, MP_RAW_SIZE) == 0);
}

/* Encode m into a poisoned buffer, check what the encoder wrote, then
 * decode a copy of exactly nslots slots: 0 and *out, or -EPROTO. */
static int round_trip(const struct mp_slot_msg *m, uint8_t *enc, uint8_t **dec_buf,
		      struct mp_slot_msg *out)
{
	unsigned f = expect_flags(m);
	size_t need = expect_size(m, f);
	unsigned n;
	int r;

	memset(enc, POISON, ENC_MAX);
	n = mp_slot_encode(enc, m);
	/* the first slot carries 64 bytes, each further one 60 (slot.h) */
	CHECK(n == (need <= MP_SLOT_SIZE ? 1 :
		    1 + (need - MP_SLOT_SIZE + MP_SLOT_CONT_BYTES - 1) / MP_SLOT_CONT_BYTES));
	CHECK(n == mp_slot_count(m));
	CHECK(n >= 1 && n <= MP_SLOT_MSG_SLOTS);
	CHECK(enc[0] == 0 && enc[1] == 0 && enc[2] == 0 && enc[3] == 0);	/* stamp 0 */
	CHECK(enc[6] == (uint8_t)n && enc[7] == (uint8_t)(n >> 8));	/* nslots */
	CHECK(enc[5] == f);
	/* Word 0 of every continuation slot is zero (no stamp can match it);
	 * the tail of the last slot is zeroed (the whole slot goes to the
	 * peer); nothing is written past the last slot. */
	{
		size_t end = (size_t)n * MP_SLOT_SIZE, used, k;

		for (k = 1; k < n; k++)
			CHECK(enc[k * MP_SLOT_SIZE] == 0 && enc[k * MP_SLOT_SIZE + 1] == 0 &&
			      enc[k * MP_SLOT_SIZE + 2] == 0 && enc[k * MP_SLOT_SIZE + 3] == 0);
		used = n == 1 ? need : MP_SLOT_SIZE + (n - 1) * MP_SLOT_SIZE -
				       ((n - 1) * MP_SLOT_CONT_BYTES - (need - MP_SLOT_SIZE));
		for (k = used; k < end; k++)
			CHECK(enc[k] == 0);
		for (k = end; k < ENC_MAX; k++)
			CHECK(enc[k] == POISON);
	}
	*dec_buf = malloc((size_t)n * MP_SLOT_SIZE);
	if (!*dec_buf)
		return -ENOMEM;
	memcpy(*dec_buf, enc, (size_t)n * MP_SLOT_SIZE);
	r = mp_slot_decode(*dec_buf, (size_t)n * MP_SLOT_SIZE, out);
	CHECK(r == 0 || r == -EPROTO);
	if (r == 0)
		check_decoded(*dec_buf, (size_t)n * MP_SLOT_SIZE, out);
	return r;
}

/* ------------------------------------------------ a message from bytes */

struct reader {
	const uint8_t *p;
	size_t left;
};

static uint64_t rd(struct reader *r, unsigned nbytes)
{
	uint64_t v = 0;

	for (unsigned k = 0; k < nbytes; k++) {
		uint64_t b = 0;

		if (r->left) {
			b = *r->p++;
			r->left--;
		}
		v |= b << (8 * k);
	}
	return v;
}

/* A limit, or (when the input says so) anything at all. */
static uint64_t rd_size(struct reader *r, uint64_t max, int wild)
{
	uint64_t v = rd(r, 8);

	return wild ? v : v % (max + 1);
}

static void msg_build(struct reader *r, struct mp_slot_msg *m, uint8_t raw[MP_RAW_SIZE])
{
	unsigned sel = (unsigned)rd(r, 2);
	int wild = (sel & 0x100) != 0;

	memset(m, 0, sizeof(*m));
	m->kind = (unsigned)rd(r, 1) % 7;	/* 0 and 6 are invalid */
	m->type = (uint32_t)rd(r, 4);
	m->seq = (uint16_t)rd(r, 2);
	if (sel & 0x01) {
		m->oid.port = (mp_port_t)rd(r, 4);
		m->oid.id = rd(r, 8);
	}
	if (sel & 0x02)
		m->out_capacity = rd_size(r, MP_DATA_MAX, wild);
	if (sel & 0x04)
		m->err = (int32_t)rd(r, 4);
	if (sel & 0x08) {
		m->flags = MP_SLOT_F_BULK;
		m->bulk_off = rd(r, 8);
		m->data_size = (size_t)rd_size(r, MP_DATA_MAX, wild);
	} else if (sel & 0x40) {
		m->flags = MP_SLOT_F_PAGES;
		m->pages_slot = wild ? (uint32_t)rd(r, 4) : (uint32_t)rd(r, 1) % MP_SLOT_PAGES_SLOTS;
		m->data_size = (size_t)rd_size(r, MP_DATA_MAX, wild);
	}
	if (sel & 0x80)
		m->forget = wild ? (uint32_t)rd(r, 4) : (uint32_t)rd(r, 2);
	if (sel & 0x200) {
		m->flags |= MP_SLOT_F_OUTPAGES;
		m->out_slot = wild ? (uint32_t)rd(r, 4) : (uint32_t)rd(r, 1) % MP_SLOT_PAGES_SLOTS;
	}
	if (sel & 0x400)
		m->priority = (uint8_t)(rd(r, 1) % (MP_PRIO_MAX + 1));	/* the encoder's range */
	if (sel & 0x800)
		m->inout = true;	/* valid when the data holds the capacity */
	if (sel & 0x10) {
		for (unsigned k = 0; k < MP_RAW_SIZE; k++)
			raw[k] = (uint8_t)rd(r, 1);
		m->raw = raw;
	} else if (sel & 0x20) {
		memset(raw, 0, MP_RAW_SIZE);
		m->raw = raw;	/* all zero: must travel as no raw part */
	}
	if (!(sel & 0x48)) {
		size_t want = (size_t)rd(r, 2) % (MP_SLOT_DATA_MAX + 1);

		m->data_size = want < r->left ? want : r->left;
		m->data = r->p;
	}
}

/* ------------------------------------------------------------- target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t enc[ENC_MAX];
	struct mp_slot_msg m, back, built;
	uint8_t raw[MP_RAW_SIZE];
	struct reader rdr = { data, size };
	uint8_t *buf, *dec = NULL;
	size_t nslots, avail, len;
	int r;

	if (size < 1)
		return 0;

	/* 1. Arbitrary slots into the decoder. */
	nslots = data[0] % (MP_SLOT_MSG_SLOTS + 2);
	avail = (size - 1) / MP_SLOT_SIZE;
	len = (nslots < avail ? nslots : avail) * MP_SLOT_SIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	check_reply_read(buf, len, data[size - 1]);
	check_call_read(buf, len, data[size - 1]);
	memset(&m, 0x5a, sizeof(m));
	r = mp_slot_decode(buf, len, &m);
	CHECK(r == 0 || r == -EPROTO);
	/* (decode compacts buf in place: the input copy is scratch) */
	if (r == 0) {
		check_decoded(buf, len, &m);
		/* What the decoder accepts, the encoder reproduces. */
		CHECK(msg_valid(&m));
		CHECK(round_trip(&m, enc, &dec, &back) == 0);
		check_same(&m, &back);
		free(dec);
		dec = NULL;
	}
	free(buf);

	/* 2. A message built from the input: decode(encode(m)) == m. */
	msg_build(&rdr, &built, raw);
	r = round_trip(&built, enc, &dec, &back);
	if (r != -ENOMEM) {
		CHECK((r == 0) == msg_valid(&built));
		if (r == 0)
			check_same(&built, &back);
		if (r == 0)
			check_put_inline(&built, size);
	}
	free(dec);
	return 0;
}
