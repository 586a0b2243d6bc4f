/* SPDX-License-Identifier: MIT */
/* Threads: several receivers on one port, several callers at once. */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define RECEIVERS 4
#define CALLERS 8
#define CALLS 200

#define TT_CALL 1u
#define TT_ONEWAY 2u

struct tt_server {
	mp_port_t port;
	atomic_int served[RECEIVERS];
	atomic_int oneway_seen[CALLERS][CALLS];
	atomic_int oneway_total;
	atomic_int errors;
};

struct tt_recv_arg {
	struct tt_server *s;
	int idx;
};

/* Answer: o.raw = i.raw with every byte + 1, o.data = i.data reversed,
 * o.err = caller * 100000 + seq. */
static void *tt_receiver(void *arg)
{
	struct tt_recv_arg *a = arg;
	struct tt_server *s = a->s;

	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t caller, seq;
		const unsigned char *in;
		unsigned char *out;
		int r = mp_recv(s->port, &m, &rid, MP_FOREVER);

		/* -EPIPE when the destroy finds us waiting; -ENOENT when it
		 * comes while we answer and we come back to no port */
		if (r == -EPIPE || r == -ENOENT)
			break;
		CHECK_GE(r, 0);
		memcpy(&caller, m.i.raw, 4);
		memcpy(&seq, m.i.raw + 4, 4);
		CHECK_LT(caller, CALLERS);
		CHECK_LT(seq, CALLS);
		if (r == 1) {
			CHECK_EQ(m.type, TT_ONEWAY);
			atomic_fetch_add(&s->oneway_seen[caller][seq], 1);
			atomic_fetch_add(&s->oneway_total, 1);
			continue;
		}
		CHECK_EQ(m.type, TT_CALL);
		CHECK_GE(m.o.size, m.i.size);
		in = m.i.data;
		out = m.o.data;
		for (size_t k = 0; k < m.i.size; k++)
			out[k] = in[m.i.size - 1 - k];
		m.o.size = m.i.size;
		for (int k = 0; k < MP_RAW_SIZE; k++)
			m.o.raw[k] = (uint8_t)(m.i.raw[k] + 1);
		m.o.err = (int32_t)(caller * 100000 + seq);
		/* counted first: the caller may see its answer (and the test
		 * the total) before mp_respond returns here */
		atomic_fetch_add(&s->served[a->idx], 1);
		CHECK_OK(mp_respond(s->port, &m, rid));
	}
	return NULL;
}

struct tt_caller {
	mp_port_t port;
	uint32_t id;
	bool oneway;
};

static void tt_one_call(mp_port_t port, uint32_t id, uint32_t seq)
{
	unsigned char in[600], out[600];
	size_t len = (id * 131 + seq * 17) % sizeof(in);
	mp_msg_t m;

	h_fill(in, len, id * 1000 + seq);
	memset(out, 0, sizeof(out));
	h_msg_init(&m);
	m.type = TT_CALL;
	m.oid.port = port;
	memcpy(m.i.raw, &id, 4);
	memcpy(m.i.raw + 4, &seq, 4);
	for (int k = 8; k < MP_RAW_SIZE; k++)
		m.i.raw[k] = (uint8_t)(id + seq + (uint32_t)k);
	m.i.data = len ? in : NULL;
	m.i.size = len;
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(port, &m, 20000000000));
	CHECK_EQ(m.o.err, (int32_t)(id * 100000 + seq));
	CHECK_EQ(m.o.size, len);
	for (size_t k = 0; k < len; k++)
		if (out[k] != in[len - 1 - k])
			FAIL("caller %u call %u: reply byte %zu wrong", id, seq,
			     k);
	for (int k = 0; k < MP_RAW_SIZE; k++)
		CHECK_EQ(m.o.raw[k], (uint8_t)(m.i.raw[k] + 1));
}

static void *tt_caller_thread(void *arg)
{
	struct tt_caller *c = arg;

	for (uint32_t seq = 0; seq < CALLS; seq++) {
		if (c->oneway) {
			mp_msg_t m;
			int r;

			h_msg_init(&m);
			m.type = TT_ONEWAY;
			m.oid.port = c->port;
			memcpy(m.i.raw, &c->id, 4);
			memcpy(m.i.raw + 4, &seq, 4);
			r = mp_send_async(c->port, &m, MP_FOREVER);
			if (r != 0 && r != 1)
				FAIL("caller %u one-way %u: %s", c->id, seq,
				     h_errname(r));
		} else {
			tt_one_call(c->port, c->id, seq);
		}
	}
	return NULL;
}

static void tt_run_callers(mp_port_t port, bool oneway)
{
	struct tt_caller c[CALLERS];
	pthread_t th[CALLERS];

	for (uint32_t k = 0; k < CALLERS; k++) {
		c[k].port = port;
		c[k].id = k;
		c[k].oneway = oneway;
		CHECK_OK(pthread_create(&th[k], NULL, tt_caller_thread, &c[k]));
	}
	for (int k = 0; k < CALLERS; k++)
		pthread_join(th[k], NULL);
}

static void tt_start_receivers(struct tt_server *s, pthread_t *th,
			       struct tt_recv_arg *a)
{
	for (int k = 0; k < RECEIVERS; k++) {
		a[k].s = s;
		a[k].idx = k;
		CHECK_OK(pthread_create(&th[k], NULL, tt_receiver, &a[k]));
	}
}

static int tt_total_served(struct tt_server *s)
{
	int n = 0;

	for (int k = 0; k < RECEIVERS; k++)
		n += atomic_load(&s->served[k]);
	return n;
}

/* The server process: 4 receiving threads until told to stop, then the
 * port is destroyed, which ends every receiver with -EPIPE. */
struct tt_proc {
	struct tt_server srv;
	atomic_int ready;
	atomic_int stop;
};

static void tt_server_proc(void *arg)
{
	struct tt_proc *p = arg;
	pthread_t th[RECEIVERS];
	struct tt_recv_arg a[RECEIVERS];

	CHECK_OK(mp_port_create(&p->srv.port));
	CHECK_OK(mp_port_register(p->srv.port, "/tt", 0666));
	tt_start_receivers(&p->srv, th, a);
	atomic_store(&p->ready, 1);
	CHECK(h_wait_ge(&p->stop, 1, 60000));
	CHECK_OK(mp_port_destroy(p->srv.port));
	for (int k = 0; k < RECEIVERS; k++)
		pthread_join(th[k], NULL);
}

TEST(threads_4_receivers_8_callers)
{
	struct tt_proc *p = h_shared(sizeof(*p));
	pid_t pid = h_fork(tt_server_proc, p);
	mp_oid_t oid;

	CHECK(h_wait_ge(&p->ready, 1, 10000));
	CHECK_OK(mp_lookup("/tt", &oid));
	tt_run_callers(oid.port, false);
	CHECK_EQ(tt_total_served(&p->srv), CALLERS * CALLS);
	atomic_store(&p->stop, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

TEST(threads_4_receivers_8_oneway_senders)
{
	struct tt_proc *p = h_shared(sizeof(*p));
	pid_t pid = h_fork(tt_server_proc, p);
	mp_oid_t oid;

	CHECK(h_wait_ge(&p->ready, 1, 10000));
	CHECK_OK(mp_lookup("/tt", &oid));
	tt_run_callers(oid.port, true);
	CHECK(h_wait_ge(&p->srv.oneway_total, CALLERS * CALLS, 10000));
	for (int c = 0; c < CALLERS; c++)
		for (int q = 0; q < CALLS; q++)
			if (atomic_load(&p->srv.oneway_seen[c][q]) != 1)
				FAIL("one-way %d of sender %d received %d "
				     "times", q, c,
				     atomic_load(&p->srv.oneway_seen[c][q]));
	atomic_store(&p->stop, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* The same with receivers and callers in one process. */
TEST(threads_same_process)
{
	struct tt_server *s = calloc(1, sizeof(*s));
	pthread_t th[RECEIVERS];
	struct tt_recv_arg a[RECEIVERS];

	CHECK(s != NULL);
	CHECK_OK(mp_port_create(&s->port));
	tt_start_receivers(s, th, a);
	tt_run_callers(s->port, false);
	CHECK_EQ(tt_total_served(s), CALLERS * CALLS);
	CHECK_OK(mp_port_destroy(s->port));
	for (int k = 0; k < RECEIVERS; k++)
		pthread_join(th[k], NULL);
	free(s);
}

/* Callers from several processes at once, each with several threads. */
static void tt_client_proc(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;

	tt_run_callers(port, false);
}

TEST(threads_callers_from_several_processes)
{
	struct tt_proc *p = h_shared(sizeof(*p));
	pid_t pid = h_fork(tt_server_proc, p);
	pid_t cl[3];
	mp_oid_t oid;

	CHECK(h_wait_ge(&p->ready, 1, 10000));
	CHECK_OK(mp_lookup("/tt", &oid));
	for (int k = 0; k < 3; k++)
		cl[k] = h_fork(tt_client_proc, &oid.port);
	for (int k = 0; k < 3; k++)
		CHECK_EQ(h_reap(cl[k], 30000), 0);
	CHECK_EQ(tt_total_served(&p->srv), 3 * CALLERS * CALLS);
	atomic_store(&p->stop, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* A thread that exits after using the library leaves no descriptor
 * behind (per-thread state is released at thread exit). */
static void *tt_short_lived(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;

	tt_one_call(port, 1, 2);
	return NULL;
}

TEST(threads_exiting_threads_leak_nothing)
{
	struct tt_proc *p = h_shared(sizeof(*p));
	pid_t pid = h_fork(tt_server_proc, p);
	mp_oid_t oid;
	pthread_t th;
	int n0;

	CHECK(h_wait_ge(&p->ready, 1, 10000));
	CHECK_OK(mp_lookup("/tt", &oid));
	CHECK_OK(pthread_create(&th, NULL, tt_short_lived, &oid.port));
	pthread_join(th, NULL);
	n0 = h_count_fds();
	for (int k = 0; k < 50; k++) {
		CHECK_OK(pthread_create(&th, NULL, tt_short_lived, &oid.port));
		pthread_join(th, NULL);
	}
	CHECK_EQ(h_count_fds(), n0);
	atomic_store(&p->stop, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}
