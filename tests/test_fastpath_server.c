/* SPDX-License-Identifier: MIT */
/*
 * The server's fast path for short calls (tests/test_fastpath.c has the
 * client's): a call's input and output live in its connection (one call in flight), so a client that lies and sends
 * a second call before the first is answered gets ordinary buffers, and
 * neither call's data changes under the other; a rid goes stale once
 * answered and the next call reuses the connection's buffers; a port
 * found through a thread's cached lookup is gone for that thread once
 * destroyed, and a destroy waits for the threads that use it.  The fast
 * take (conn/fastpath.h) puts a short call straight into the user's
 * message, or leaves the message where it is for the general take when
 * any of its guards fails.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conn/fastpath.h"
#include "conn/port.h"
#include "mem/data.h"
#include "transport/all.h"
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

/* ------------------------------------------------ the fast take */

/* A port object with only what the fast take uses: its fast slots. */
static struct mp_port_obj *fake_port(void)
{
	struct mp_port_obj *p = calloc(1, sizeof(*p));

	CHECK(p != NULL);
	p->fast = mp_fastslots_new();
	CHECK(p->fast != NULL);
	return p;
}

static void fake_port_free(struct mp_port_obj *p)
{
	mp_fastslots_free(p->fast);
	free(p);
}

/* The fake connection as a ring connection in slot idx of the port. */
static void fake_conn_init(struct fake_conn *f, uint32_t idx)
{
	fake_init(f);
	f->c.tp = &mp_transport_ring;
	f->c.idx = idx;
	f->c.refs = 1;
	f->c.pid = 4321;
	f->c.uid = 11;
	f->c.gid = 12;
}

/* Publish a message m (kind, flags and parts as given) on the c2s ring. */
static void fake_put(struct fake_conn *f, const struct mp_slot_msg *m)
{
	uint8_t buf[MSG_BUF];

	CHECK_EQ(ring_has_space(&f->prod, mp_slot_count(m)), 1);
	ring_put(&f->prod, buf, m);
}

static int take(struct mp_port_obj *p, struct fake_conn *f, mp_msg_t *msg, mp_rid_t *rid,
		void *buf, size_t len)
{
	memset(msg, 0x5a, sizeof(*msg));	/* what the take does not set shows */
	*rid = 77;
	return mp_fast_take_locked(p, &f->c, msg, rid, buf, len);
}

TEST(fastpath_take_puts_a_short_call_into_the_message)
{
	struct mp_port_obj *p = fake_port();
	struct fake_conn f;
	uint8_t raw[MP_RAW_SIZE];
	char buf[256];
	mp_msg_t msg;
	mp_rid_t rid, rid2;
	struct mp_rx rx;

	fake_conn_init(&f, 3);
	h_fill(raw, sizeof(raw), 9);
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 5, .type = 7,
					    .oid = { .port = 2, .id = 99 }, .out_capacity = 64,
					    .raw = raw, .data = "hello", .data_size = 6 });
	CHECK_EQ(take(p, &f, &msg, &rid, buf, sizeof(buf)), 1);
	CHECK(mp_rid_is_fast(rid));
	CHECK_EQ((uint32_t)rid & MP_FAST_IDX_MASK, 3);
	CHECK_EQ(msg.type, 7);
	CHECK_EQ(msg.flags, 0);
	CHECK_EQ(msg.oid.port, 2);
	CHECK_EQ(msg.oid.reserved, 0);
	CHECK_EQ(msg.oid.id, 99);
	CHECK_EQ(msg.pid, 4321);
	CHECK_EQ(msg.uid, 11);
	CHECK_EQ(msg.gid, 12);
	CHECK_EQ(msg.priority, MP_PRIO_DEFAULT);	/* none on the wire: the default */
	CHECK(msg.i.data == f.c.inl->in);	/* copied once, into the connection's */
	CHECK_EQ(msg.i.size, 6);
	CHECK_MEM(msg.i.data, "hello", 6);
	CHECK_MEM(msg.i.raw, raw, MP_RAW_SIZE);
	CHECK_EQ(msg.i.nfds, 0);
	CHECK(msg.o.data == f.c.inl->out);
	CHECK_EQ(msg.o.size, 64);
	CHECK_EQ(msg.o.nfds, 0);
	CHECK_EQ(msg.o.err, 0);
	CHECK(f.c.inl->busy);
	CHECK(p->fast[3].conn == &f.c);	/* the slot holds it ... */
	CHECK_EQ(f.c.refs, 2);		/* ... with a reference of its own */
	CHECK_EQ(load_relaxed(&p->fast[3].word) & MP_FAST_STATES, MP_FAST_INFLIGHT);
	CHECK_EQ(p->fast[3].seq, 5);
	CHECK_ERR(take(p, &f, &msg, &rid2, buf, sizeof(buf)), -EAGAIN);	/* given back */

	/* A second call while the first is in flight (a lie): not taken
	 * fast; the general take gives it ordinary buffers. */
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 6, .type = 8,
					    .out_capacity = 16, .data = "second", .data_size = 7 });
	CHECK_ERR(take(p, &f, &msg, &rid2, buf, sizeof(buf)), 0);
	CHECK_EQ(rid2, 77);
	CHECK(mp_ring_srv_pending(&f.c));
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK(!rx.inl);
	CHECK_EQ(rx.hdr.seq, 6);
	CHECK_MEM(rx.data, "second", 7);
	CHECK_MEM(f.c.inl->in, "hello", 6);	/* the first's, untouched */
	mp_rx_release(&rx);
	fake_fini(&f);
	fake_port_free(p);
}

TEST(fastpath_take_guards_leave_the_message_to_the_general_take)
{
	struct mp_port_obj *p = fake_port();
	struct fake_conn f, other;
	char buf[256], big[600];
	mp_msg_t msg;
	mp_rid_t rid;
	struct mp_rx rx;

	fake_conn_init(&f, 1);
	memset(big, 'b', sizeof(big));
	/* a one-way that fits the thread's buffer: taken, no rid */
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_ONEWAY, .seq = 1, .type = 3,
					    .data = "ow", .data_size = 3 });
	CHECK_EQ(take(p, &f, &msg, &rid, buf, sizeof(buf)), 2);
	CHECK_EQ(rid, 0);
	CHECK(msg.i.data == buf);
	CHECK_MEM(msg.i.data, "ow", 3);
	CHECK(msg.o.data == NULL && msg.o.size == 0);
	CHECK(p->fast[1].conn == NULL);	/* a one-way leaves the slot alone */
	CHECK(f.c.inl == NULL);

	/* a one-way longer than the buffer */
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_ONEWAY, .seq = 2, .type = 3,
					    .data = big, .data_size = sizeof(big) });
	CHECK_ERR(take(p, &f, &msg, &rid, buf, sizeof(buf)), 0);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK_EQ(rx.hdr.data_size, sizeof(big));
	CHECK_MEM(rx.data, big, sizeof(big));
	mp_rx_release(&rx);

	/* an answer room beyond the connection's buffer */
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 3, .type = 3,
					    .out_capacity = MP_SCONN_INLINE + 1, .data = "c", .data_size = 2 });
	CHECK_ERR(take(p, &f, &msg, &rid, buf, sizeof(buf)), 0);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK_EQ(rx.hdr.out_capacity, MP_SCONN_INLINE + 1);
	f.c.inl->busy = rx.inl ? false : f.c.inl->busy;	/* as its answer would */
	rx.inl = false;
	mp_rx_release(&rx);

	/* a shape the fast path does not read (kept mappings to drop) */
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 4, .type = 3,
					    .flags = MP_SLOT_F_FORGET, .forget = 1, .out_capacity = 8,
					    .data = "f", .data_size = 2 });
	CHECK_ERR(take(p, &f, &msg, &rid, buf, sizeof(buf)), 0);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	CHECK_EQ(rx.hdr.seq, 4);
	f.c.inl->busy = rx.inl ? false : f.c.inl->busy;
	rx.inl = false;
	mp_rx_release(&rx);
	CHECK(p->fast[1].conn == NULL);	/* nothing went through the slot */

	/* the slot held by an orphaned call of another connection that had
	 * the same index: calls are not taken fast, one-ways are */
	fake_conn_init(&other, 1);
	p->fast[1].conn = &other.c;
	store_relaxed(&p->fast[1].word, MP_FAST_INFLIGHT | MP_FAST_ORPHAN);
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 5, .type = 3,
					    .out_capacity = 8, .data = "o", .data_size = 2 });
	CHECK_ERR(take(p, &f, &msg, &rid, buf, sizeof(buf)), 0);
	CHECK_EQ(mp_ring_srv_recv(&f.c, &rx, buf, sizeof(buf)), 1);
	f.c.inl->busy = false;
	rx.inl = false;
	mp_rx_release(&rx);
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_ONEWAY, .seq = 6, .type = 3,
					    .data = "w", .data_size = 2 });
	CHECK_EQ(take(p, &f, &msg, &rid, buf, sizeof(buf)), 2);
	p->fast[1].conn = NULL;

	/* a transport without the fast take */
	f.c.tp = mp_transport_bootstrap();
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_ONEWAY, .seq = 7, .type = 3,
					    .data = "s", .data_size = 2 });
	CHECK_ERR(take(p, &f, &msg, &rid, buf, sizeof(buf)), 0);
	CHECK(mp_ring_srv_pending(&f.c));
	fake_fini(&other);
	fake_fini(&f);
	fake_port_free(p);
}

static void record_drop(struct mp_sconn *c, void *arg)
{
	*(struct mp_sconn **)arg = c;
}

/* A dropped connection: its slot lets go of it at once when no call is
 * in flight, else marks the call ORPHAN; an orphan nobody answers ends
 * at the port's shutdown, which hands its connection back. */
TEST(fastpath_slot_and_a_dropped_connection)
{
	struct mp_port_obj *p = fake_port();
	struct mp_sconn *got = NULL;
	struct fake_conn f;
	char buf[64];
	mp_msg_t msg;
	mp_rid_t rid;

	fake_conn_init(&f, 2);
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 1, .type = 3,
					    .out_capacity = 8, .data = "x", .data_size = 2 });
	CHECK_EQ(take(p, &f, &msg, &rid, buf, sizeof(buf)), 1);
	CHECK(mp_fastslot_conn_gone(p->fast, &f.c) == NULL);	/* in flight */
	CHECK(p->fast[2].conn == &f.c);
	CHECK_EQ(load_relaxed(&p->fast[2].word) & MP_FAST_STATES,
		 MP_FAST_INFLIGHT | MP_FAST_ORPHAN);
	mp_fastslots_end_orphans(p->fast, record_drop, &got);
	CHECK(got == &f.c);
	CHECK(p->fast[2].conn == NULL);
	CHECK_EQ(load_relaxed(&p->fast[2].word) & MP_FAST_STATES, 0);
	/* once free, a drop lets go at once */
	f.c.inl->busy = false;
	fake_put(&f, &(struct mp_slot_msg){ .kind = MP_SLOT_CALL, .seq = 2, .type = 3,
					    .out_capacity = 8, .data = "y", .data_size = 2 });
	CHECK_EQ(take(p, &f, &msg, &rid, buf, sizeof(buf)), 1);
	store_relaxed(&p->fast[2].word, MP_FAST_TOKEN(rid));	/* as an answer ends it */
	CHECK(mp_fastslot_conn_gone(p->fast, &f.c) == &f.c);
	CHECK(p->fast[2].conn == NULL);
	fake_fini(&f);
	fake_port_free(p);
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
