/* SPDX-License-Identifier: MIT */
/*
 * The server's fast path for short calls (tests/test_fastpath.c has the
 * client's): a call's input and output live in its connection (one call in flight), so a client that lies and sends
 * a second call before the first is answered gets ordinary buffers, and
 * neither call's data changes under the other; a rid goes stale once
 * answered and the next call reuses the connection's buffers; a port
 * found through a thread's cached lookup is gone for that thread once
 * destroyed, and a destroy waits for the threads that use it.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem/data.h"
#include "fake_ring.h"

/* ------------------------------------------------ a lying ring client */

/* Publish a call with data on the c2s ring, as a client would. */
static void fake_call(struct fake_conn *f, uint16_t seq, const char *data, size_t len)
{
	uint8_t buf[MSG_BUF];
	struct mp_slot_msg m = {
		.kind = MP_SLOT_CALL, .seq = seq, .type = 7, .out_capacity = 64,
		.data = data, .data_size = len,
	};

	CHECK_EQ(ring_has_space(&f->prod, mp_slot_count(&m)), 1);
	ring_put(&f->prod, buf, &m);
}

TEST(fastpath_second_call_in_flight_gets_its_own_buffers)
{
	struct fake_conn f;
	struct mp_rx a, b, c;
	char buf[256];

	fake_init(&f);
	fake_call(&f, 1, "first call", 11);
	fake_call(&f, 2, "second call", 12);	/* the first is not answered: a lie */

	CHECK_EQ(mp_ring_srv_recv(&f.c, &a, buf, sizeof(buf)), 1);
	CHECK(a.inl);
	CHECK(f.c.inl != NULL && f.c.inl->busy);
	CHECK(a.data == f.c.inl->in);
	CHECK_EQ(a.hdr.seq, 1);
	CHECK_MEM(a.data, "first call", 11);

	CHECK_EQ(mp_ring_srv_recv(&f.c, &b, buf, sizeof(buf)), 1);
	CHECK(!b.inl);	/* the connection's buffers are the first call's */
	CHECK(b.data != f.c.inl->in);
	CHECK_EQ(b.data_kind, MP_BUF_HEAP);
	CHECK_EQ(b.hdr.seq, 2);
	CHECK_MEM(b.data, "second call", 12);
	CHECK_MEM(a.data, "first call", 11);	/* untouched by the second */
	mp_rx_release(&b);

	/* The first is done (what mp_respond does under the port lock): the
	 * next call has the connection's buffers again. */
	f.c.inl->busy = false;
	fake_call(&f, 3, "third", 6);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &c, buf, sizeof(buf)), 1);
	CHECK(c.inl);
	CHECK(c.data == f.c.inl->in);
	CHECK_MEM(c.data, "third", 6);
	CHECK_ERR(mp_ring_srv_recv(&f.c, &c, buf, sizeof(buf)), -EAGAIN);
	fake_fini(&f);
}

/* ------------------------------------------- rids, through the API */

struct rs_arg {
	mp_port_t port;
	int calls;
};

static void *rs_client(void *arg)
{
	struct rs_arg *a = arg;

	for (int k = 0; k < a->calls; k++)
		CHECK_OK(h_echo_call(a->port, (uint32_t)k, 64, MP_FOREVER));
	return NULL;
}

/* Each answer makes its rid stale; the next call on the connection gets a
 * new rid, and the same (the connection's) output buffer. */
TEST(fastpath_rid_stale_after_respond_and_buffers_reused)
{
	mp_port_t port;
	struct rs_arg a;
	pthread_t th;
	mp_rid_t prev = 0;
	void *out = NULL;
	const char *tp = getenv("MSGPORT_TRANSPORT");
	bool ring = !tp || strcmp(tp, "sock") != 0;	/* the fast path is the rings' */

	CHECK_OK(mp_port_create(&port));
	a = (struct rs_arg){ .port = port, .calls = 20 };
	CHECK_OK(pthread_create(&th, NULL, rs_client, &a));
	for (int k = 0; k < a.calls; k++) {
		mp_msg_t m, again;
		mp_rid_t rid;

		CHECK_OK(mp_recv(port, &m, &rid, MP_FOREVER));
		CHECK(rid != 0 && rid != prev);
		CHECK_GE(m.o.size, m.i.size);
		if (k == 1)
			out = m.o.data;
		else if (k > 1 && ring)
			CHECK(m.o.data == out);	/* the connection's buffer */
		memcpy(m.o.data, m.i.data, m.i.size);
		memcpy(m.o.raw, m.i.raw, MP_RAW_SIZE);
		m.o.size = m.i.size;
		m.o.err = 0;
		m.flags = 0;
		again = m;
		CHECK_OK(mp_respond(port, &m, rid));
		CHECK_ERR(mp_respond(port, &again, rid), -ENOENT);
		if (prev)
			CHECK_ERR(mp_respond(port, &again, prev), -ENOENT);
		prev = rid;
	}
	pthread_join(th, NULL);
	CHECK_OK(mp_port_destroy(port));
}

/* --------------------------------------- cached lookups and destroy */

struct cd_arg {
	mp_port_t port;
	atomic_int stage;
	int first, second;
};

static void *cd_receiver(void *arg)
{
	struct cd_arg *a = arg;
	mp_msg_t m;
	mp_rid_t rid;

	/* Caches its lookup of the port, then blocks in it. */
	CHECK_ERR(mp_recv(a->port, &m, &rid, 0), -EAGAIN);
	atomic_store(&a->stage, 1);
	a->first = mp_recv(a->port, &m, &rid, MP_FOREVER);
	/* Destroyed meanwhile: the cached lookup must not find it. */
	a->second = mp_recv(a->port, &m, &rid, 0);
	return NULL;
}

TEST(fastpath_destroy_while_a_thread_caches_the_port)
{
	struct cd_arg a = { 0 };
	mp_port_t other;
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&a.port));
	CHECK_OK(pthread_create(&th, NULL, cd_receiver, &a));
	CHECK(h_wait_ge(&a.stage, 1, 5000));
	h_sleep_ms(50);
	CHECK_OK(mp_port_destroy(a.port));	/* waits for the receiver to leave */
	pthread_join(th, NULL);
	CHECK_ERR(a.first, -EPIPE);
	CHECK_ERR(a.second, -ENOENT);
	/* This thread's cache too; and a new port is found anew. */
	CHECK_ERR(mp_recv(a.port, &m, &rid, 0), -ENOENT);
	CHECK_OK(mp_port_create(&other));
	CHECK_ERR(mp_recv(other, &m, &rid, 0), -EAGAIN);
	h_msg_init(&m);
	CHECK_ERR(mp_respond(a.port, &m, 1), -ENOENT);
	CHECK_OK(mp_port_destroy(other));
	CHECK_ERR(mp_recv(other, &m, &rid, 0), -ENOENT);
}
