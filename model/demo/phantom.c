/* SPDX-License-Identifier: MIT */
/*
 * What model/ring.pml -DPHANTOM finds, on the real ring code (src/proto/ring.h,
 * src/proto/slot.c), in one thread: the consumer polls the first word of the
 * slot at its position for the stamp (u32)(pos + 1), but the first word of
 * a continuation slot is message bytes.  When the slot the consumer polls
 * last held a continuation slot whose bytes there equal the stamp it now
 * expects, it takes a message that was never published.  Here the data of
 * a 2-slot one-way message makes the phantom a well-formed one-way
 * message, which mp_slot_decode() accepts.
 *
 *   cc -std=c11 -D_GNU_SOURCE -Isrc -Iinclude model/demo/phantom.c src/proto/slot.c \
 *       -o build/phantom && build/phantom
 *
 * Exit status 1: a phantom message was taken; 0: none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ring.h"
#include "proto/slot.h"

static struct mp_slot slots[MP_RING_SLOTS];
static _Atomic uint64_t head;

/* As transport_ring.c's ring_put(): the stamp word last. */
static void put(struct mp_ring_view *v, const struct mp_slot_msg *m)
{
	static uint8_t buf[MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE];
	unsigned n = mp_slot_encode(buf, m);
	struct mp_slot *first = &v->slots[v->pos & (MP_RING_SLOTS - 1)];

	memcpy(first->b + 4, buf + 4, MP_SLOT_SIZE - 4);
	if (n > 1)
		ring_copy_in(v, v->pos + 1, buf + MP_SLOT_SIZE, (size_t)(n - 1) * MP_SLOT_SIZE);
	ring_publish(v, n);
}

/* As ring_take() + mp_slot_decode() + ring_consume(): 1 took a message. */
static int take(struct mp_ring_view *v, struct mp_slot_msg *m, uint8_t *buf)
{
	struct mp_slot_hdr h;

	if (!ring_ready(v))
		return 0;
	ring_copy_out(v, v->pos, buf, MP_SLOT_SIZE);
	memcpy(&h, buf, sizeof(h));
	if (h.nslots == 0 || h.nslots > MP_SLOT_MSG_SLOTS)
		return -1;
	if (h.nslots > 1)
		ring_copy_out(v, v->pos + 1, buf + MP_SLOT_SIZE, (h.nslots - 1u) * MP_SLOT_SIZE);
	if (mp_slot_decode(buf, (size_t)h.nslots * MP_SLOT_SIZE, m))
		return -1;
	ring_consume(v, h.nslots);
	return 1;
}

int main(void)
{
	struct mp_ring_view tx = { .slots = slots, .head = &head };
	struct mp_ring_view rx = { .slots = slots, .head = &head };
	static uint8_t buf[MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE];
	uint8_t data[64];
	struct mp_slot_msg m = { .kind = MP_SLOT_ONEWAY, .type = 1 };
	struct mp_slot_hdr fake = { .kind = MP_SLOT_ONEWAY, .nslots = 1, .type = 666 };
	int r;

	/* Message 1 at position 0: 2 slots.  Its bytes 64.. land in slot 1;
	 * they happen to read as the stamp of position 1 + 256 followed by a
	 * well-formed one-slot header. */
	memset(data, 0, sizeof(data));
	fake.stamp = (uint32_t)(1 + MP_RING_SLOTS + 1);
	memcpy(data + 64 - 16, &fake, sizeof(fake));	/* encoding: 16-byte header, then data */
	m.data = data;
	m.data_size = sizeof(data);
	put(&tx, &m);
	if (take(&rx, &m, buf) != 1)
		return 2;
	/* Then 255 one-slot messages, each taken: the consumer is at 257. */
	m.data_size = 0;
	for (unsigned k = 0; k < MP_RING_SLOTS - 1; k++) {
		m.type = 2 + k;
		put(&tx, &m);
		if (take(&rx, &m, buf) != 1)
			return 2;
	}
	/* Nothing more is published; yet: */
	r = take(&rx, &m, buf);
	printf("producer at %llu, consumer at %llu: %s", (unsigned long long)tx.pos,
	       (unsigned long long)(rx.pos - (r == 1)),
	       r == 1 ? "took a message never sent" : r < 0 ? "took garbage (-EPROTO)" : "nothing to take");
	if (r == 1)
		printf(" (type %u)", m.type);
	printf("\n");
	return r != 0;
}
