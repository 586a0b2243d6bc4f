/* SPDX-License-Identifier: MIT */
/* The decoders' rules for in/out calls and priorities (proto/wire.c,
 * proto/slot.c): what a hostile peer may not claim. */
#include "harness.h"

#include "proto/slot.h"
#include "proto/wire.h"

/* A call frame with inline data of size bytes and an output capacity. */
static int frame_try(unsigned kind, unsigned flags, uint64_t size, uint64_t cap, uint8_t prio)
{
	static uint8_t buf[sizeof(struct mp_frame) + 256];
	struct mp_frame f, out;

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = (uint8_t)kind;
	f.flags = (uint16_t)flags;
	f.data_size = size;
	f.out_capacity = cap;
	f.priority = prio;
	memcpy(buf, &f, sizeof(f));
	return mp_frame_decode(buf, sizeof(f) + size, 0, 0, &out);
}

TEST(inout_frame_decoder_rules)
{
	/* the output's bytes follow the input: data_size >= out_capacity */
	CHECK_OK(frame_try(MP_FRAME_CALL, MP_FRAME_INOUT, 100, 100, 0));
	CHECK_OK(frame_try(MP_FRAME_CALL, MP_FRAME_INOUT, 100, 40, 0));
	CHECK_EQ(frame_try(MP_FRAME_CALL, MP_FRAME_INOUT, 99, 100, 0), -EPROTO);
	CHECK_EQ(frame_try(MP_FRAME_CALL, MP_FRAME_INOUT, 0, 1, 0), -EPROTO);
	CHECK_OK(frame_try(MP_FRAME_CALL, 0, 0, 100, 0));	/* without it, as before */
	CHECK_EQ(frame_try(MP_FRAME_ONEWAY, MP_FRAME_INOUT, 10, 0, 0), -EPROTO);
	/* a priority: flagged exactly when set, 1 .. MP_PRIO_MAX, calls and one-ways */
	CHECK_OK(frame_try(MP_FRAME_CALL, MP_FRAME_PRIO, 0, 0, 1));
	CHECK_OK(frame_try(MP_FRAME_ONEWAY, MP_FRAME_PRIO, 0, 0, MP_PRIO_MAX));
	CHECK_EQ(frame_try(MP_FRAME_CALL, MP_FRAME_PRIO, 0, 0, MP_PRIO_MAX + 1), -EPROTO);
	CHECK_EQ(frame_try(MP_FRAME_CALL, MP_FRAME_PRIO, 0, 0, 0), -EPROTO);
	CHECK_EQ(frame_try(MP_FRAME_CALL, 0, 0, 0, 3), -EPROTO);
	CHECK_EQ(frame_try(MP_FRAME_HELLO, MP_FRAME_PRIO, 0, 0, 3), -EPROTO);
}

/* Encode m, overwrite the header's kind byte when kind_byte >= 0 (what a
 * hostile peer may write), decode. */
static int slot_try(const struct mp_slot_msg *m, int kind_byte, struct mp_slot_msg *out)
{
	static uint8_t buf[MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE];
	unsigned n = mp_slot_encode(buf, m);

	if (kind_byte >= 0)
		buf[offsetof(struct mp_slot_hdr, kind)] = (uint8_t)kind_byte;
	return mp_slot_decode(buf, (size_t)n * MP_SLOT_SIZE, out);
}

TEST(inout_slot_decoder_rules)
{
	static const uint8_t data[200];
	struct mp_slot_msg m = { .kind = MP_SLOT_CALL, .data = data, .data_size = 150,
				 .out_capacity = 100, .priority = 5, .inout = true };
	struct mp_slot_msg out;

	CHECK_OK(slot_try(&m, -1, &out));
	CHECK_EQ(out.kind, MP_SLOT_CALL);
	CHECK_EQ(out.priority, 5);
	CHECK(out.inout);
	CHECK_EQ(out.data_size, 150);
	CHECK_EQ(out.out_capacity, 100);
	/* hostile: less data than the capacity it claims to carry */
	m.data_size = 99;
	CHECK_EQ(slot_try(&m, -1, &out), -EPROTO);
	m.data_size = 150;
	/* the bits only on calls (INOUT) and calls or one-ways (priority) */
	CHECK_EQ(slot_try(&m, MP_SLOT_REPLY | MP_SLOT_X_INOUT, &out), -EPROTO);
	CHECK_EQ(slot_try(&m, MP_SLOT_REPLY | 3 << MP_SLOT_X_PRIO_SHIFT, &out), -EPROTO);
	CHECK_EQ(slot_try(&m, MP_SLOT_SIDE | 1 << MP_SLOT_X_PRIO_SHIFT, &out), -EPROTO);
	m.out_capacity = 0;
	m.inout = false;
	m.kind = MP_SLOT_ONEWAY;
	CHECK_OK(slot_try(&m, -1, &out));
	CHECK_EQ(out.priority, 5);
	CHECK_EQ(slot_try(&m, MP_SLOT_ONEWAY | MP_SLOT_X_INOUT, &out), -EPROTO);
	/* a plain kind byte: priority 0 */
	CHECK_EQ(slot_try(&m, MP_SLOT_ONEWAY, &out), 0);
	CHECK_EQ(out.priority, 0);
}
