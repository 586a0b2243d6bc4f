/* SPDX-License-Identifier: MIT */
/*
 * Messages in ring slots.  A message is the byte string
 *
 *   | hdr (16) | oid? (16) | outcap? (8) | err? (8) | bulk? (16) | pages? (16) | outpages? (8) | forget? (8) | raw? (64) | data |
 *
 * laid out in a run of whole 64-byte slots: the first slot holds its first
 * 64 bytes (word 0 is the header's stamp), every further slot 60 more
 * after a word 0 that is always zero.  Stamps are odd (ring.h), so no
 * continuation slot, and no data in it, can ever pass for the start of a
 * message one lap later.  Optional parts are present when their flag is
 * set, in this order, so a 64-byte call (outcap + 64 data bytes) takes two
 * slots.  Messages that
 * carry fds or data beyond the inline limit travel as a socket frame, and
 * the ring holds an MP_SLOT_SIDE marker in their place so that order holds.
 *
 * The header's kind byte holds the kind in its low 4 bits and, for a call
 * or one-way, the sender's priority (bits 4-6) and MP_SLOT_X_INOUT (bit 7,
 * calls: the data is the input followed by the output buffer's
 * out_capacity bytes).  Both are 0 for ordinary native messages, which the
 * in-place readers below take; any other byte is not a kind they know, so
 * such messages go the general way (mp_slot_decode()) at no cost to them.
 */
#ifndef MP_SLOT_H
#define MP_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msgport.h"
#include "os/compiler.h"
#include "proto/ring.h"

/* Longest inline data on a ring: "short messages up to 4 KiB". */
#define MP_SLOT_DATA_MAX 4096u
/* Message bytes a continuation slot carries (after its zero word 0). */
#define MP_SLOT_CONT_BYTES (MP_SLOT_SIZE - 4u)
/* Longest message, in bytes and slots. */
#define MP_SLOT_MSG_MAX (16u + 16u + 8u + 8u + 16u + 16u + 8u + 8u + MP_RAW_SIZE + MP_SLOT_DATA_MAX)
/* Shared pages a connection's server keeps mapped (see transport_ring.c). */
#define MP_SLOT_PAGES_SLOTS 16u
#define MP_SLOT_MSG_SLOTS \
	(1u + (MP_SLOT_MSG_MAX - MP_SLOT_SIZE + MP_SLOT_CONT_BYTES - 1) / MP_SLOT_CONT_BYTES)

enum mp_slot_kind {
	MP_SLOT_CALL = 1,
	MP_SLOT_ONEWAY = 2,
	MP_SLOT_REPLY = 3,
	MP_SLOT_SIDE = 4,	/* the message is the next frame on the socket */
	MP_SLOT_CTRL = 5,	/* client, no message: only F_FORGET (see kept.h) */
};
#define MP_SLOT_KIND_MASK 0x0fu	/* of the header's kind byte */
#define MP_SLOT_X_PRIO_SHIFT 4	/* priority, 0 .. MP_PRIO_MAX, in bits 4-6 */
#define MP_SLOT_X_INOUT 0x80u	/* call: the output buffer's bytes follow the input */

enum mp_slot_flags {
	MP_SLOT_F_OID = 1u << 0,
	MP_SLOT_F_OUTCAP = 1u << 1,
	MP_SLOT_F_ERR = 1u << 2,
	MP_SLOT_F_BULK = 1u << 3,	/* data is in the bulk area */
	MP_SLOT_F_RAW = 1u << 4,
	/* call, one-way: the data is shared pages the server keeps mapped;
	 * reply: the answer is already in the caller's output buffer (its
	 * lent pages, or written there with process_vm_writev) */
	MP_SLOT_F_PAGES = 1u << 5,
	MP_SLOT_F_FORGET = 1u << 6,	/* client: drop these kept mappings first */
	MP_SLOT_F_OUTPAGES = 1u << 7,	/* call: the output buffer is kept pages */
};
#define MP_SLOT_F_KNOWN 0xffu

struct mp_slot_hdr {
	uint32_t stamp;		/* ring_stamp_for(pos): written last, by ring_publish() */
	uint8_t kind;		/* enum mp_slot_kind | priority << 4 | MP_SLOT_X_INOUT */
	uint8_t flags;
	uint16_t nslots;	/* whole message, header slot included */
	uint32_t type;
	uint16_t seq;		/* call number (one call in flight per connection) */
	uint16_t data_size;	/* inline bytes; bulk sizes are in the bulk part */
};
_Static_assert(sizeof(struct mp_slot_hdr) == 16, "slot header is shared ABI");

/* A decoded message; data points into the decoder's input buffer, or is
 * described by bulk_off/data_size when MP_SLOT_F_BULK is set, or by
 * pages_slot/data_size when MP_SLOT_F_PAGES is. */
struct mp_slot_msg {
	unsigned kind, flags;
	uint32_t type;
	uint16_t seq;
	mp_oid_t oid;
	uint64_t out_capacity;
	int32_t err;
	uint64_t bulk_off;
	uint32_t pages_slot;	/* F_PAGES: which kept mapping, < MP_SLOT_PAGES_SLOTS (reply: 0) */
	uint32_t out_slot;	/* F_OUTPAGES: the kept mapping to answer into */
	uint32_t forget;	/* F_FORGET: mask of kept mappings to drop, nonzero */
	const void *data;
	size_t data_size;
	const uint8_t *raw;	/* NULL: all zero */
	uint8_t priority;	/* call, one-way: the sender's ^ 4 (api/send.c), 0 .. MP_PRIO_MAX */
	bool inout;		/* call: data_size >= out_capacity, the output's bytes last */
};

/* Encode m into buf (MP_SLOT_MSG_MAX bytes), stamp 0; returns the slots used. */
unsigned mp_slot_encode(void *buf, const struct mp_slot_msg *m);

/* Slots a message with these parts needs. */
unsigned mp_slot_count(const struct mp_slot_msg *m);

/*
 * Decode a message copied out of a ring: buf holds len bytes (whole
 * slots), a private copy that is compacted in place.  Every field is
 * validated; data and raw point into buf.  Returns 0 or -EPROTO.
 */
int mp_slot_decode(void *buf, size_t len, struct mp_slot_msg *out);

/* ------------------------------------------------------------ in place
 *
 * The fast path writes a short call or one-way straight into the ring's
 * slots and reads a reply straight out of them into the caller's buffers:
 * the same wire format as mp_slot_encode()/mp_slot_decode(), with no
 * staging copy.  The bytes after a message in its last slot are left as
 * they were (what this side wrote there a lap before): decoders ignore
 * them.
 */

/* 16 bytes at any alignment, for short copies and tests. */
typedef uint64_t mp_v16 __attribute__((vector_size(16), aligned(1), may_alias));

/* Whether the 64 bytes of a raw part are all zero (then none travels). */
static inline bool mp_raw_zero(const uint8_t *raw)
{
	const mp_v16 *w = (const mp_v16 *)raw;
	mp_v16 acc = w[0] | w[1] | w[2] | w[3];

	return (acc[0] | acc[1]) == 0;
}

/* Copy n <= 64 bytes inline, exactly (no byte outside either range is
 * touched): two overlapping runs from each end, as a C library does. */
static inline void mp_copy64(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n >= 16) {
		mp_v16 a = *(const mp_v16 *)s, b = *(const mp_v16 *)(s + n - 16);

		if (n > 32) {
			mp_v16 c = *(const mp_v16 *)(s + 16), e = *(const mp_v16 *)(s + n - 32);

			*(mp_v16 *)(d + 16) = c;
			*(mp_v16 *)(d + n - 32) = e;
		}
		*(mp_v16 *)d = a;
		*(mp_v16 *)(d + n - 16) = b;
	} else if (n >= 8) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n) {
		uint8_t a = s[0], b = s[n / 2], c = s[n - 1];

		d[0] = a;
		d[n / 2] = b;
		d[n - 1] = c;
	}
}

/* The flags of a call (kind MP_SLOT_CALL) or one-way whose data goes
 * inline: oid, output capacity and raw as the message has them. */
static inline unsigned mp_slot_inline_flags(unsigned kind, const mp_msg_t *msg)
{
	unsigned f = mp_raw_zero(msg->i.raw) ? 0 : MP_SLOT_F_RAW;

	if (msg->oid.port || msg->oid.id)
		f |= MP_SLOT_F_OID;
	if (kind == MP_SLOT_CALL && msg->o.size)
		f |= MP_SLOT_F_OUTCAP;
	return f;
}

/* Slots of a message of len bytes (header and parts included). */
static inline unsigned mp_slot_span(size_t len)
{
	if (len <= MP_SLOT_SIZE)
		return 1;
	return 1 + (unsigned)((len - MP_SLOT_SIZE + MP_SLOT_CONT_BYTES - 1) / MP_SLOT_CONT_BYTES);
}

/* Slots of that call or one-way with size bytes of data inline. */
static inline unsigned mp_slot_inline_count(unsigned flags, size_t size)
{
	size_t n = sizeof(struct mp_slot_hdr) + size;

	n += (flags & MP_SLOT_F_OID) ? 16 : 0;
	n += (flags & MP_SLOT_F_OUTCAP) ? 8 : 0;
	n += (flags & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0;
	return mp_slot_span(n);
}

#define MP_SLOT_MASK (MP_RING_SLOTS - 1)
#define MP_SLOT_WORD0 (MP_SLOT_SIZE - MP_SLOT_CONT_BYTES)	/* a further slot's zero word 0 */


/* Byte off of the message at pos (as spread() lays it out: 64 in the
 * first slot, 60 after word 0 in each further one), and the bytes of the
 * message its slot holds from there.  Slots are found by position, so a
 * message may wrap past the ring's end. */
static inline __attribute__((always_inline)) uint8_t *mp_slot_at(struct mp_slot *slots, uint64_t pos, size_t off, uint64_t *k,
			      size_t *room)
{
	size_t r;

	if (likely(off < MP_SLOT_SIZE)) {
		*k = 0;
		*room = MP_SLOT_SIZE - off;
		return slots[pos & MP_SLOT_MASK].b + off;
	}
	r = off - MP_SLOT_SIZE;
	*k = 1 + r / MP_SLOT_CONT_BYTES;
	*room = MP_SLOT_CONT_BYTES - r % MP_SLOT_CONT_BYTES;
	return slots[(pos + *k) & MP_SLOT_MASK].b + MP_SLOT_SIZE - *room;
}

/* Copy n bytes in at byte off of the message at pos.  A slot entered
 * here for the first time gets its zero word 0; slots are filled in
 * order, so each further slot is first entered from the one before. */
static inline __attribute__((always_inline)) void mp_slot_lay(struct mp_slot *slots, uint64_t pos,
							       size_t off, const void *src, size_t n)
{
	const uint8_t *s = src;
	uint64_t k;
	size_t room;
	uint8_t *d = mp_slot_at(slots, pos, off, &k, &room);

	for (;;) {
		size_t m = n < room ? n : room;

		mp_copy64(d, s, m);
		n -= m;
		if (likely(!n))
			return;
		s += m;
		d = slots[(pos + ++k) & MP_SLOT_MASK].b;
		memset(d, 0, MP_SLOT_WORD0);
		d += MP_SLOT_WORD0;
		room = MP_SLOT_CONT_BYTES;
	}
}

/* Copy n bytes out from byte off of the message at pos. */
static inline __attribute__((always_inline)) void mp_slot_gather(struct mp_slot *slots, uint64_t pos, size_t off, void *dst, size_t n)
{
	uint8_t *d = dst;
	uint64_t k;
	size_t room;
	const uint8_t *s = mp_slot_at(slots, pos, off, &k, &room);

	for (;;) {
		size_t m = n < room ? n : room;

		mp_copy64(d, s, m);
		n -= m;
		if (likely(!n))
			return;
		d += m;
		s = slots[(pos + ++k) & MP_SLOT_MASK].b + MP_SLOT_WORD0;
		room = MP_SLOT_CONT_BYTES;
	}
}

/* Write a message's header into its first slot s0, all but the stamp,
 * which ring_publish() writes last [R1]: two little-endian words.  The
 * in-place writers of both sides (mp_slot_put_inline(), the server's
 * reply_lay()) go through here, so the layout is written once. */
static inline __attribute__((always_inline)) void
mp_slot_lay_header(uint8_t *s0, unsigned kind, unsigned flags, unsigned nslots, uint32_t type,
		   uint16_t seq, uint16_t data_size)
{
	_Static_assert(offsetof(struct mp_slot_hdr, kind) == 4 &&
		       offsetof(struct mp_slot_hdr, nslots) == 6 &&
		       offsetof(struct mp_slot_hdr, type) == 8 &&
		       offsetof(struct mp_slot_hdr, seq) == 12 &&
		       offsetof(struct mp_slot_hdr, data_size) == 14, "header words");
	_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "header words little-endian");
	uint32_t w0 = kind | flags << 8 | nslots << 16;
	uint64_t w1 = type | (uint64_t)seq << 32 | (uint64_t)data_size << 48;

	memcpy(s0 + 4, &w0, 4);
	memcpy(s0 + 8, &w1, 8);
}

/*
 * Write that message (msg->i.size <= MP_SLOT_DATA_MAX, nslots from
 * mp_slot_inline_count()) into v's slots from v->pos, all but the stamp:
 * the caller made sure of the room and publishes it (ring_publish(), [R1]).
 */
static inline __attribute__((always_inline)) void
mp_slot_put_inline(struct mp_ring_view *v, unsigned kind, unsigned flags, unsigned nslots,
		   uint16_t seq, const mp_msg_t *msg)
{
	uint8_t *s0 = v->slots[v->pos & MP_SLOT_MASK].b;
	size_t off = sizeof(struct mp_slot_hdr);

	mp_slot_lay_header(s0, kind, flags, nslots, msg->type, seq, (uint16_t)msg->i.size);
	/* oid and capacity end by byte 40: in the first slot */
	if (flags & MP_SLOT_F_OID) {
		uint64_t pair[2] = { msg->oid.port, msg->oid.id };

		memcpy(s0 + off, pair, 16);
		off += 16;
	}
	if (flags & MP_SLOT_F_OUTCAP) {
		uint64_t cap = msg->o.size;

		memcpy(s0 + off, &cap, 8);
		off += 8;
	}
	if (flags & MP_SLOT_F_RAW) {
		mp_slot_lay(v->slots, v->pos, off, msg->i.raw, MP_RAW_SIZE);
		off += MP_RAW_SIZE;
	}
	if (msg->i.size)
		mp_slot_lay(v->slots, v->pos, off, msg->i.data, msg->i.size);
}

/*
 * Read the reply to call seq that starts at v->pos (its stamp seen,
 * [R2]) straight into o: its data (at most o->size bytes) into o->data,
 * then o->size, o->err, o->raw, o->nfds = 0.  Each header field is read
 * once from shared memory into a local, checked, then used.  Returns the
 * message's slot count (> 0: the caller gives them back, [R3]), or 0 when
 * it is not a plain inline reply to seq that fits: then nothing was
 * written, and the caller decodes it the general way (ring_take(),
 * mp_slot_decode()).
 */
static inline int mp_slot_reply_read(const struct mp_ring_view *v, uint16_t seq, struct mp_msg_out *o)
{
	const unsigned plain = MP_SLOT_F_ERR | MP_SLOT_F_RAW;
	const uint8_t *s0 = v->slots[v->pos & MP_SLOT_MASK].b;
	struct mp_slot_hdr h;
	size_t off = sizeof(h), len;
	int64_t e = 0;

	memcpy(&h, s0, sizeof(h));	/* once: every decision below is on this copy */
	if (h.kind != MP_SLOT_REPLY || (h.flags & ~plain) || h.seq != seq)
		return 0;
	if (h.data_size > MP_SLOT_DATA_MAX || h.data_size > o->size)
		return 0;
	len = sizeof(h) + ((h.flags & MP_SLOT_F_ERR) ? 8 : 0) +
	      ((h.flags & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0) + h.data_size;
	/* n slots hold 64 + 60 (n - 1) bytes: the parts must fit the slots
	 * the header claims (more is allowed, as mp_slot_decode() allows) */
	if (h.nslots == 0 || h.nslots > MP_SLOT_MSG_SLOTS ||
	    len > MP_SLOT_WORD0 + (size_t)h.nslots * MP_SLOT_CONT_BYTES)
		return 0;
	if (h.flags & MP_SLOT_F_ERR) {
		memcpy(&e, s0 + off, 8);	/* byte 16: in the first slot */
		off += 8;
		if (e < INT32_MIN || e > INT32_MAX)
			return 0;
	}
	/* Checked: from here on only copies, each byte read once. */
	if (h.flags & MP_SLOT_F_RAW) {
		mp_slot_gather(v->slots, v->pos, off, o->raw, MP_RAW_SIZE);
		off += MP_RAW_SIZE;
	} else {
		memset(o->raw, 0, MP_RAW_SIZE);
	}
	if (h.data_size)
		mp_slot_gather(v->slots, v->pos, off, o->data, h.data_size);
	o->size = h.data_size;
	o->err = (int32_t)e;
	o->nfds = 0;
	return h.nslots;
}

/*
 * The server's side: a plain short call or one-way (header, oid?,
 * outcap?, raw?, inline data; no bulk, pages, forget or side) read
 * straight from the ring in two steps, the same as mp_slot_decode()
 * accepts and gives for that shape.  mp_slot_call_peek() reads the
 * header, oid and capacity of the message at v->pos (its stamp seen,
 * [R2]) once into private memory, checks every field there (data_size
 * at most cap), and returns the message's slot count with m filled, or 0
 * with m untouched when it is not such a message: the caller then takes
 * it the general way (ring_take(), mp_slot_decode()).  After a peek
 * that returned n > 0, mp_slot_call_copy() copies its raw part (zeros
 * when it has none) and its m->data_size data bytes out, each byte read
 * once; the caller gives the n slots back [R3].
 */
/* The wire priority of the message at v->pos (its stamp seen, [R2]): a
 * hint that orders receives, never trusted further (the take reads the
 * header again); 0 for what is not a call or one-way. */
static inline unsigned mp_slot_head_prio(const struct mp_ring_view *v)
{
	struct mp_slot_hdr h;
	unsigned k;

	memcpy(&h, v->slots[v->pos & MP_SLOT_MASK].b, sizeof(h));	/* once */
	k = h.kind & MP_SLOT_KIND_MASK;
	if (k != MP_SLOT_CALL && k != MP_SLOT_ONEWAY)
		return 0;
	return (h.kind >> MP_SLOT_X_PRIO_SHIFT) & MP_PRIO_MAX;
}

struct mp_slot_call {
	unsigned kind;		/* MP_SLOT_CALL or MP_SLOT_ONEWAY */
	unsigned flags;		/* MP_SLOT_F_OID, _OUTCAP, _RAW only */
	uint32_t type;
	uint16_t seq;
	uint16_t data_size;
	mp_oid_t oid;
	uint64_t out_capacity;	/* 0 unless a call with MP_SLOT_F_OUTCAP */
};

static inline unsigned mp_slot_call_peek(const struct mp_ring_view *v, size_t cap,
					 struct mp_slot_call *m)
{
	const unsigned plain = MP_SLOT_F_OID | MP_SLOT_F_OUTCAP | MP_SLOT_F_RAW;
	const uint8_t *s0 = v->slots[v->pos & MP_SLOT_MASK].b;
	struct mp_slot_hdr h;
	uint64_t pair[2] = { 0, 0 }, ocap = 0;
	size_t off = sizeof(h), len;

	memcpy(&h, s0, sizeof(h));	/* once: every decision below is on this copy */
	if ((h.kind != MP_SLOT_CALL && h.kind != MP_SLOT_ONEWAY) || (h.flags & ~plain))
		return 0;
	if ((h.flags & MP_SLOT_F_OUTCAP) && h.kind != MP_SLOT_CALL)
		return 0;
	if (h.data_size > MP_SLOT_DATA_MAX || h.data_size > cap)
		return 0;
	len = sizeof(h) + ((h.flags & MP_SLOT_F_OID) ? 16 : 0) +
	      ((h.flags & MP_SLOT_F_OUTCAP) ? 8 : 0) + ((h.flags & MP_SLOT_F_RAW) ? MP_RAW_SIZE : 0) +
	      h.data_size;
	/* the parts must fit the slots the header claims (more is allowed,
	 * as mp_slot_decode() allows) */
	if (h.nslots == 0 || h.nslots > MP_SLOT_MSG_SLOTS ||
	    len > MP_SLOT_WORD0 + (size_t)h.nslots * MP_SLOT_CONT_BYTES)
		return 0;
	/* oid and capacity end by byte 40: in the first slot */
	if (h.flags & MP_SLOT_F_OID) {
		memcpy(pair, s0 + off, 16);
		off += 16;
		if (pair[0] > UINT32_MAX)
			return 0;
	}
	if (h.flags & MP_SLOT_F_OUTCAP) {
		memcpy(&ocap, s0 + off, 8);
		if (ocap > MP_DATA_MAX)
			return 0;
	}
	m->kind = h.kind;
	m->flags = h.flags;
	m->type = h.type;
	m->seq = h.seq;
	m->data_size = h.data_size;
	m->oid.port = (mp_port_t)pair[0];
	m->oid.id = pair[1];
	m->out_capacity = ocap;
	return h.nslots;
}

static inline void mp_slot_call_copy(const struct mp_ring_view *v, const struct mp_slot_call *m,
				     uint8_t *raw, void *data)
{
	size_t off = sizeof(struct mp_slot_hdr) + ((m->flags & MP_SLOT_F_OID) ? 16 : 0) +
		     ((m->flags & MP_SLOT_F_OUTCAP) ? 8 : 0);

	if (m->flags & MP_SLOT_F_RAW) {
		mp_slot_gather(v->slots, v->pos, off, raw, MP_RAW_SIZE);
		off += MP_RAW_SIZE;
	} else {
		memset(raw, 0, MP_RAW_SIZE);
	}
	if (m->data_size)
		mp_slot_gather(v->slots, v->pos, off, data, m->data_size);
}

#endif
