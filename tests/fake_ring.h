/* SPDX-License-Identifier: MIT */
/*
 * A server-side ring connection over a private region, as attach() would
 * set it up, and the client's producer view of its c2s ring: for tests
 * that play a client that skips the library (test_fastpath_server.c,
 * test_fastpath_take.c).
 */
#ifndef MSGPORT_TEST_FAKE_RING_H
#define MSGPORT_TEST_FAKE_RING_H

#include "transport/ring/ring.h"

struct fake_conn {
	struct mp_ring_region *r;
	struct ring_srv *rs;
	struct mp_sconn c;
	struct mp_ring_view prod;
};

void fake_init(struct fake_conn *f);
void fake_fini(struct fake_conn *f);

#endif
