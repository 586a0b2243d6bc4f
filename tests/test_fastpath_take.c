/* SPDX-License-Identifier: MIT */
/*
 * The server's one-read take of a plain short call or one-way
 * (mp_slot_call_peek() in srv_take_one): what it gives is what the
 * general path gave (every field of the frame and of the rx), a one-way's
 * data goes into the thread's buffer (a private copy when too long), and
 * a message that is not of that shape, or lies about its size, goes to
 * the general path, which refuses it.  Also:
 * mp_rx_release() leaves data of kind MP_BUF_SHARED alone.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "mem/data.h"
#include "fake_ring.h"

/* Publish m, its header bytes then patched by patch (NULL: none). */
static void take_put(struct fake_conn *f, const struct mp_slot_msg *m,
		     void (*patch)(struct mp_slot_hdr *))
{
	uint8_t buf[MSG_BUF];
	unsigned n = mp_slot_encode(buf, m);
	struct mp_slot_hdr h;

	memcpy(&h, buf, sizeof(h));
	if (patch)
		patch(&h);
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(ring_has_space(&f->prod, n), 1);
	ring_copy_in(&f->prod, f->prod.pos, buf, (size_t)n * MP_SLOT_SIZE);
	ring_publish(&f->prod, n);
}

TEST(fastpath_take_call_fields_as_before)
{
	struct fake_conn f;
	struct mp_rx rx;
	uint8_t raw[MP_RAW_SIZE];
	char data[200], buf[64];
	struct mp_slot_msg m = {
		.kind = MP_SLOT_CALL, .seq = 9, .type = 0x1234, .out_capacity = 300,
		.oid = { .port = 5, .id = 0x1122334455667788ull },
		.data = data, .data_size = sizeof(data), .raw = raw,
	};

	for (unsigned k = 0; k < sizeof(raw); k++)
		raw[k] = (uint8_t)(k * 7 + 1);
	for (unsigned k = 0; k < sizeof(data); k++)
		data[k] = (char)(k ^ 0x5a);
	fake_init(&f);
	/* the message wraps past the ring's end */
	f.prod.pos = f.prod.cached = f.rs->rx.pos = MP_RING_SLOTS - 2;
	store_relaxed(&f.r->c2s_head.shm_pos, f.prod.pos);
	take_put(&f, &m, NULL);
	memset(&rx, 0xa5, sizeof(rx));
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK_EQ(rx.hdr.magic, 0);
	CHECK_EQ(rx.hdr.kind, MP_FRAME_CALL);
	CHECK_EQ(rx.hdr.nfds, 0);
	CHECK_EQ(rx.hdr.flags, 0);
	CHECK_EQ(rx.hdr.type, 0x1234);
	CHECK_EQ(rx.hdr.err, 0);
	CHECK_EQ(rx.hdr.seq, 9);
	CHECK_EQ(rx.hdr.oid_port, 5);
	CHECK(rx.hdr.oid_id == 0x1122334455667788ull);
	CHECK_EQ(rx.hdr.pages_slot, 0);
	CHECK_EQ(rx.hdr.out_slot, 0);
	CHECK_EQ(rx.hdr.data_size, sizeof(data));
	CHECK_EQ(rx.hdr.out_capacity, 300);
	CHECK_MEM(rx.hdr.raw, raw, sizeof(raw));
	CHECK(rx.hdr.in_addr == 0 && rx.hdr.out_addr == 0);
	CHECK(rx.inl && rx.data == f.c.inl->in && rx.data_kind == MP_BUF_SHARED);
	CHECK_MEM(rx.data, data, sizeof(data));
	CHECK(rx.pages_id == 0 && rx.out_id == 0 && rx.pages_fd == -1 && rx.out_fd == -1);
	CHECK(rx.out_data == NULL && rx.in_bulk == 0 && rx.nfds == 0 && rx.rid == 0);
	CHECK(f.rs->rx.pos == f.prod.pos);	/* every slot given back */
	CHECK(load_relaxed(&f.r->c2s_head.shm_pos) == f.prod.pos);
	CHECK_ERR(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), -EAGAIN);
	fake_fini(&f);
}

/* A one-way's data goes into the receiving thread's buffer (kind
 * MP_BUF_SCRATCH: no allocation, good until its next mp_recv()), or, when
 * it does not fit there, into a private copy. */
TEST(fastpath_take_oneway_into_the_thread_buffer)
{
	struct fake_conn f;
	struct mp_rx rx;
	char buf[64], small[4];
	struct mp_slot_msg m = {
		.kind = MP_SLOT_ONEWAY, .seq = 3, .type = 4, .data = "one way", .data_size = 8,
	};

	fake_init(&f);
	take_put(&f, &m, NULL);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK_EQ(rx.hdr.kind, MP_FRAME_ONEWAY);
	CHECK(!rx.inl && rx.data_kind == MP_BUF_SCRATCH && rx.data == (void *)buf);
	CHECK_MEM(buf, "one way", 8);
	for (unsigned k = 0; k < MP_RAW_SIZE; k++)
		CHECK_EQ(rx.hdr.raw[k], 0);
	CHECK_EQ(rx.hdr.out_capacity, 0);
	mp_rx_release(&rx);	/* nothing freed (ASan would see a free() of the stack) */
	CHECK(rx.data == NULL && rx.data_kind == MP_BUF_HEAP);
	/* too long for the buffer: a private copy */
	take_put(&f, &m, NULL);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, small, sizeof(small)), 1);
	CHECK(!rx.inl && rx.data_kind == MP_BUF_HEAP && rx.data != NULL && rx.data != (void *)small);
	CHECK_MEM(rx.data, "one way", 8);
	mp_rx_release(&rx);
	fake_fini(&f);
}

static void flag_unknown(struct mp_slot_hdr *h) { h->flags |= 0x80; }	/* OUTPAGES, no part */
static void slots_short(struct mp_slot_hdr *h) { h->nslots = 1; }
static void oneway_with_cap(struct mp_slot_hdr *h) { h->kind = MP_SLOT_ONEWAY; }

/* Each lie costs the connection (-EPROTO), through either path. */
TEST(fastpath_take_refuses_what_decode_refuses)
{
	void (*lies[])(struct mp_slot_hdr *) = { flag_unknown, slots_short, oneway_with_cap };
	char data[100] = "x", buf[64];
	struct mp_slot_msg m = {
		.kind = MP_SLOT_CALL, .seq = 1, .type = 2, .out_capacity = 8,
		.data = data, .data_size = sizeof(data),
	};

	for (unsigned k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
		struct fake_conn f;
		struct mp_rx rx;

		fake_init(&f);
		take_put(&f, &m, lies[k]);
		CHECK_ERR(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), -EPROTO);
		CHECK(f.c.inl == NULL || !f.c.inl->busy);	/* nothing claimed */
		fake_fini(&f);
	}
}

/* Shared data (a bulk area, a connection's call buffers) is not ours to
 * free: releasing it only forgets it (ASan sees a free() of it). */
TEST(rx_release_leaves_shared_data)
{
	static uint8_t area[64];
	struct mp_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.data = area + 8;
	rx.data_kind = MP_BUF_SHARED;
	rx.hdr.data_size = 16;
	rx.pages_fd = rx.out_fd = -1;
	mp_rx_release(&rx);
	CHECK(rx.data == NULL && rx.data_kind == MP_BUF_HEAP);
}
