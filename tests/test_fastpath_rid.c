/* SPDX-License-Identifier: MIT */
/*
 * The server's fast rids (conn/fastslot.h), through the API: a short call
 * on a ring transport is named by a fast rid, on the socket transport by
 * a rid of the table; either way a stale, forged, repeated or foreign rid
 * is refused and leaves the call answerable, an answer too long is
 * refused without using the call up, calls are answered from any thread
 * in any order, and a port destroyed with a call unanswered ends it.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conn/fastslot.h"

static bool ring_transport(void)
{
	const char *tp = getenv("MSGPORT_TRANSPORT");

	return !tp || strcmp(tp, "sock") != 0;
}

struct caller {
	mp_port_t port;
	int calls;
	uint32_t tag;
	atomic_int done;
};

static void *caller_main(void *arg)
{
	struct caller *a = arg;

	for (int k = 0; k < a->calls; k++)
		CHECK_OK(h_echo_call(a->port, a->tag + (uint32_t)k, 64, MP_FOREVER));
	atomic_store(&a->done, 1);
	return NULL;
}

/* The echo answer to m, in place. */
static void echo(mp_msg_t *m)
{
	memcpy(m->o.data, m->i.data, m->i.size);
	memcpy(m->o.raw, m->i.raw, MP_RAW_SIZE);
	m->o.size = m->i.size;
	m->o.err = 0;
	m->o.nfds = 0;
	m->flags = 0;
}

TEST(fastpath_rid_refuses_forged_stale_repeated_and_foreign_rids)
{
	struct caller a = { .calls = 2, .tag = 40 };
	mp_port_t other;
	pthread_t th;
	mp_msg_t m, bad;
	mp_rid_t rid;
	size_t room;

	CHECK_OK(mp_port_create(&a.port));
	CHECK_OK(mp_port_create(&other));
	CHECK_OK(pthread_create(&th, NULL, caller_main, &a));
	/* a connection's first call may come before its ring is attached */
	CHECK_OK(mp_recv(a.port, &m, &rid, MP_FOREVER));
	echo(&m);
	CHECK_OK(mp_respond(a.port, &m, rid));
	CHECK_OK(mp_recv(a.port, &m, &rid, MP_FOREVER));
	CHECK_EQ(mp_rid_is_fast(rid), ring_transport());	/* the fast path took it */
	room = m.o.size;
	echo(&m);
	bad = m;
	/* another token, another slot, no slot, the table's kind: refused */
	CHECK_ERR(mp_respond(a.port, &bad, rid ^ ((mp_rid_t)1 << 32)), -ENOENT);
	CHECK_ERR(mp_respond(a.port, &bad, rid + 1), -ENOENT);
	CHECK_ERR(mp_respond(a.port, &bad, (rid & ~(mp_rid_t)MP_FAST_IDX_MASK) | MP_FAST_IDX_MASK),
		  -ENOENT);
	CHECK_ERR(mp_respond(a.port, &bad, rid ^ MP_RID_FAST), -ENOENT);
	/* the rid of another port */
	CHECK_ERR(mp_respond(other, &bad, rid), -ENOENT);
	/* too long an answer: refused, and the call is still there */
	bad.o.size = room + 1;
	CHECK_ERR(mp_respond(a.port, &bad, rid), -EMSGSIZE);
	CHECK(!atomic_load(&a.done));
	CHECK_OK(mp_respond(a.port, &m, rid));
	/* used up: a second answer finds nothing */
	CHECK_ERR(mp_respond(a.port, &m, rid), -ENOENT);
	pthread_join(th, NULL);
	CHECK(atomic_load(&a.done));
	CHECK_OK(mp_port_destroy(other));
	CHECK_OK(mp_port_destroy(a.port));
}

/* --------------------------------- any thread, any order, many rounds */

struct answers {
	mp_port_t port;
	mp_msg_t m[2];
	mp_rid_t rid[2];
};

/* Answers the second call first. */
static void *answerer(void *arg)
{
	struct answers *s = arg;

	for (int k = 1; k >= 0; k--)
		CHECK_OK(mp_respond(s->port, &s->m[k], s->rid[k]));
	return NULL;
}

TEST(fastpath_rid_answered_by_another_thread_in_any_order)
{
	struct caller a = { .calls = 30, .tag = 1000 }, b = { .calls = 30, .tag = 5000 };
	struct answers s;
	pthread_t ta, tb;

	CHECK_OK(mp_port_create(&s.port));
	a.port = b.port = s.port;
	CHECK_OK(pthread_create(&ta, NULL, caller_main, &a));
	CHECK_OK(pthread_create(&tb, NULL, caller_main, &b));
	for (int round = 0; round < a.calls + b.calls; round += 2) {
		pthread_t th;

		/* both callers wait in their call: one call from each */
		for (int k = 0; k < 2; k++) {
			CHECK_OK(mp_recv(s.port, &s.m[k], &s.rid[k], MP_FOREVER));
			echo(&s.m[k]);
		}
		CHECK_NE(s.rid[0], s.rid[1]);
		CHECK_OK(pthread_create(&th, NULL, answerer, &s));
		pthread_join(th, NULL);
		for (int k = 0; k < 2; k++)
			CHECK_ERR(mp_respond(s.port, &s.m[k], s.rid[k]), -ENOENT);
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(atomic_load(&a.done) && atomic_load(&b.done));
	CHECK_OK(mp_port_destroy(s.port));
}

/* ------------------------------------- several receivers on one port */

struct pool {
	mp_port_t port;
	atomic_int served;
	atomic_int stop;
};

static void *pool_receiver(void *arg)
{
	struct pool *s = arg;
	mp_msg_t m;
	mp_rid_t rid;

	while (!atomic_load(&s->stop)) {
		int r = mp_recv(s->port, &m, &rid, 20000000);	/* 20 ms: looks at stop */

		if (r == -ETIMEDOUT)
			continue;
		if (r == -EPIPE)
			break;
		CHECK_OK(r);
		echo(&m);
		CHECK_OK(mp_respond(s->port, &m, rid));
		atomic_fetch_add(&s->served, 1);
	}
	return NULL;
}

TEST(fastpath_rid_several_receivers_serve_several_callers)
{
	struct caller c[3];
	struct pool s = { 0 };
	pthread_t rt[3], ct[3];

	CHECK_OK(mp_port_create(&s.port));
	for (int k = 0; k < 3; k++)
		CHECK_OK(pthread_create(&rt[k], NULL, pool_receiver, &s));
	for (int k = 0; k < 3; k++) {
		c[k] = (struct caller){ .port = s.port, .calls = 50, .tag = 100u * (uint32_t)k };
		CHECK_OK(pthread_create(&ct[k], NULL, caller_main, &c[k]));
	}
	for (int k = 0; k < 3; k++)
		pthread_join(ct[k], NULL);
	atomic_store(&s.stop, 1);
	for (int k = 0; k < 3; k++)
		pthread_join(rt[k], NULL);
	CHECK_EQ(atomic_load(&s.served), 150);
	CHECK_OK(mp_port_destroy(s.port));
}

/* ----------------------------------- destroy with a call unanswered */

struct lone {
	mp_port_t port;
	atomic_int result;
	atomic_int done;
};

static void *lone_caller(void *arg)
{
	struct lone *l = arg;
	char in[32] = "unanswered", out[32];
	mp_msg_t m;

	CHECK_OK(h_echo_call(l->port, 1, 16, MP_FOREVER));	/* the ring attached */
	h_msg_init(&m);
	m.type = 9;
	m.i.data = in;
	m.i.size = sizeof(in);
	m.o.data = out;
	m.o.size = sizeof(out);
	atomic_store(&l->result, mp_send(l->port, &m, MP_FOREVER));
	atomic_store(&l->done, 1);
	return NULL;
}

TEST(fastpath_rid_destroy_ends_an_unanswered_call)
{
	struct lone l = { 0 };
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&l.port));
	CHECK_OK(pthread_create(&th, NULL, lone_caller, &l));
	CHECK_OK(mp_recv(l.port, &m, &rid, MP_FOREVER));
	echo(&m);
	CHECK_OK(mp_respond(l.port, &m, rid));
	CHECK_OK(mp_recv(l.port, &m, &rid, MP_FOREVER));
	CHECK_EQ(mp_rid_is_fast(rid), ring_transport());
	CHECK_MEM(m.i.data, "unanswered", 11);
	CHECK_OK(mp_port_destroy(l.port));
	pthread_join(th, NULL);
	CHECK(atomic_load(&l.done));
	CHECK_NE(atomic_load(&l.result), 0);	/* the caller learns it is gone */
	m.o.size = 0;
	CHECK_ERR(mp_respond(l.port, &m, rid), -ENOENT);
}
