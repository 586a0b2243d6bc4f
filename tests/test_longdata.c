/* SPDX-License-Identifier: MIT */
/*
 * Long ordinary input through the input grant (proto/grant.h): on the
 * ring transports a call after the first long one is written by the
 * client straight into the server's buffer.  Every size, repeated and
 * changing (a grant fits a call only at its own capacity), with and
 * without a time limit (a limited call never uses the grant), must echo
 * back exactly; and the server's checks of a call that names the grant.
 */
#include "harness.h"

#include <string.h>
#include <unistd.h>

#include "fake_ring.h"
#include "mem/data.h"
#include "proto/grant.h"

#define MIB ((size_t)1 << 20)

TEST(longdata_grant_sizes_echo_exactly)
{
	static const size_t sizes[] = { 3 * MIB, 3 * MIB + 1, 5 * MIB / 2, 3 * MIB / 2,
					3 * MIB / 2, MIB, 9 * MIB, 9 * MIB, 64 * 1024 + 1, 3 * MIB };
	pid_t pid;
	mp_port_t port = h_server_start(h_echo_server, "/ld/echo", &pid);

	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		CHECK_OK(h_echo_call(port, 100 + k, sizes[k], MP_FOREVER));
		CHECK_OK(h_echo_call(port, 200 + k, sizes[k], 10 * 1000000000LL));
		CHECK_OK(h_echo_call(port, 300 + k, sizes[k], MP_FOREVER));
	}
	h_echo_quit(port, pid);
}

/* A call of size bytes, kind, that names the grant with bulk_off off. */
static void grant_put(struct fake_conn *f, unsigned kind, uint64_t off, size_t size)
{
	uint8_t buf[MSG_BUF];
	struct mp_slot_msg m = { .kind = kind, .seq = 1, .flags = MP_SLOT_F_BULK,
				 .bulk_off = off, .data_size = size };
	unsigned n = mp_slot_encode(buf, &m);

	CHECK_EQ(ring_has_space(&f->prod, n), 1);
	ring_copy_in(&f->prod, f->prod.pos, buf, (size_t)n * MP_SLOT_SIZE);
	ring_publish(&f->prod, n);
}

/* The server side, playing a client that skips the library: a grant is
 * taken only by a call at its capacity, once; the line then names a new
 * buffer; anything else is a protocol error. */
TEST(longdata_grant_server_checks)
{
	struct fake_conn f;
	struct mp_grant_line *g;
	struct mp_rx rx;
	char buf[64];
	uint64_t first;

	fake_init(&f);
	g = mp_grant_line(f.r);
	grant_put(&f, MP_SLOT_CALL, MP_BULK_OFF_GRANT, 3 * MIB);	/* none published */
	CHECK_ERR(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), -EPROTO);
	fake_fini(&f);

	fake_init(&f);
	g = mp_grant_line(f.r);
	mp_ring_grant_offer(f.rs, MIB - 1);	/* too short to be worth it */
	CHECK(load_relaxed(&g->shm_addr) == 0);
	mp_ring_grant_offer(f.rs, 3 * MIB);
	first = load_relaxed(&g->shm_addr);
	CHECK(first != 0 && load_relaxed(&g->shm_cap) == 4 * MIB);
	CHECK_EQ(load_relaxed(&g->shm_pid), getpid());
	grant_put(&f, MP_SLOT_CALL, MP_BULK_OFF_GRANT, 3 * MIB + 5);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK(rx.data == (void *)(uintptr_t)first && rx.data_kind == MP_BUF_CACHE);
	CHECK(rx.hdr.data_size == 3 * MIB + 5 && rx.in_bulk == 0);
	memset(rx.data, 0x5a, rx.hdr.data_size);	/* ours to use */
	CHECK(load_relaxed(&g->shm_addr) != 0 && load_relaxed(&g->shm_addr) != first);
	CHECK(load_relaxed(&g->shm_cap) == 4 * MIB);
	mp_rx_release(&rx);
	grant_put(&f, MP_SLOT_CALL, MP_BULK_OFF_GRANT, 3 * MIB / 2);	/* another capacity */
	CHECK_ERR(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), -EPROTO);
	mp_ring_grant_fini(f.rs);
	fake_fini(&f);

	for (int k = 0; k < 3; k++) {
		fake_init(&f);
		mp_ring_grant_offer(f.rs, 3 * MIB);
		if (k == 0)
			grant_put(&f, MP_SLOT_ONEWAY, MP_BULK_OFF_GRANT, 3 * MIB);
		else if (k == 1)
			grant_put(&f, MP_SLOT_CALL, MP_BULK_OFF_GRANT | 64, 3 * MIB);
		else
			grant_put(&f, MP_SLOT_CALL, MP_BULK_OFF_GRANT, 8 * MIB);
		CHECK_ERR(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), -EPROTO);
		mp_ring_grant_fini(f.rs);
		fake_fini(&f);
	}
}
