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
 */
#ifndef MP_SLOT_H
#define MP_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "msgport.h"
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
	uint8_t kind;
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

#endif
