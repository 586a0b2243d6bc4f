/* SPDX-License-Identifier: MIT */
/* Messaging: calls, one-way sends, receive, respond, timeouts, ordering,
 * held rids, data sizes and their limits. */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------ the reflecting server */

/* What the reflecting server saw, sent back in o.raw. */
struct refl {
	uint32_t type;
	uint32_t oid_port;
	uint64_t oid_id;
	uint64_t isize;
	uint64_t ocap;
	int32_t pid;
	uint32_t uid;
	uint32_t gid;
	uint32_t nfds;
	uint32_t csum;		/* FNV-1a of the input data */
	uint32_t tag;		/* i.raw[0..3] */
};
_Static_assert(sizeof(struct refl) <= MP_RAW_SIZE, "refl fits in raw");

#define T_REFLECT 1u	/* o.data = i.data ^ 0x5a, o.err = i.raw[60..63] */
#define T_LEN 2u	/* o.data = h_fill(tag), length i.raw[8..15] */
#define T_QUIT 3u

#define RAW_TAG 0
#define RAW_LEN 8
#define RAW_ERR 60

static uint32_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	for (size_t k = 0; k < n; k++)
		h = (h ^ c[k]) * 16777619u;
	return h;
}

static void refl_fill(const mp_msg_t *m, struct refl *r)
{
	memset(r, 0, sizeof(*r));
	r->type = m->type;
	r->oid_port = m->oid.port;
	r->oid_id = m->oid.id;
	r->isize = m->i.size;
	r->ocap = m->o.size;
	r->pid = m->pid;
	r->uid = m->uid;
	r->gid = m->gid;
	r->nfds = m->i.nfds;
	r->csum = m->i.size ? fnv(m->i.data, m->i.size) : fnv("", 0);
	memcpy(&r->tag, m->i.raw + RAW_TAG, 4);
}

static void refl_answer(mp_port_t port, mp_msg_t *m, mp_rid_t rid)
{
	struct refl r;
	size_t n;

	refl_fill(m, &r);
	for (uint32_t k = 0; k < m->i.nfds; k++)
		close(m->i.fds[k]);
	if (m->type == T_LEN) {
		uint64_t want;

		memcpy(&want, m->i.raw + RAW_LEN, 8);
		n = want < m->o.size ? want : m->o.size;
		h_fill(m->o.data, n, r.tag);
		m->o.err = 0;
	} else {
		const unsigned char *in = m->i.data;
		unsigned char *out = m->o.data;

		n = m->i.size < m->o.size ? m->i.size : m->o.size;
		for (size_t k = 0; k < n; k++)
			out[k] = in[k] ^ 0x5a;
		memcpy(&m->o.err, m->i.raw + RAW_ERR, 4);
	}
	m->o.size = n;
	m->o.nfds = 0;
	memcpy(m->o.raw, &r, sizeof(r));
	CHECK_OK(mp_respond(port, m, rid));
}

static void refl_server(void *arg)
{
	const char *path = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid = 0;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		if (r == 1) {
			CHECK_EQ(rid, 0);
			continue;
		}
		CHECK_NE(rid, 0);
		refl_answer(port, &m, rid);
		if (m.type == T_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

static mp_port_t refl_start(const char *path, pid_t *pid)
{
	return h_server_start(refl_server, path, pid);
}

static void refl_stop(mp_port_t port, pid_t pid)
{
	h_server_quit(port, pid, T_QUIT);
}

/* One REFLECT call with len bytes each way; checks everything. */
static void refl_call(mp_port_t port, size_t len, uint32_t tag)
{
	unsigned char *in = len ? malloc(len) : NULL;
	unsigned char *out = len ? malloc(len) : NULL;
	mp_msg_t m;
	struct refl r;

	if (len)
		CHECK(in && out);
	h_fill(in, len, tag);
	h_msg_init(&m);
	m.type = T_REFLECT;
	m.oid.port = port;
	m.oid.id = 0x1122334455667788ull;
	memcpy(m.i.raw + RAW_TAG, &tag, 4);
	m.i.data = in;
	m.i.size = len;
	m.o.data = out;
	m.o.size = len;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, len);
	CHECK_EQ(m.o.err, 0);
	CHECK_EQ(m.o.nfds, 0);
	memcpy(&r, m.o.raw, sizeof(r));
	CHECK_EQ(r.type, T_REFLECT);
	CHECK_EQ(r.oid_port, port);
	CHECK(r.oid_id == 0x1122334455667788ull);
	CHECK_EQ(r.isize, len);
	CHECK_EQ(r.ocap, len);
	CHECK_EQ(r.tag, tag);
	CHECK_EQ(r.csum, len ? fnv(in, len) : fnv("", 0));
	for (size_t k = 0; k < len; k++)
		if (out[k] != (in[k] ^ 0x5a))
			FAIL("reply of %zu bytes wrong at offset %zu", len, k);
	/* the caller's input is untouched */
	{
		unsigned char *chk = len ? malloc(len) : NULL;

		h_fill(chk, len, tag);
		CHECK_MEM(in, chk, len);
		free(chk);
	}
	free(in);
	free(out);
}

TEST(msg_call_round_trip)
{
	pid_t pid;
	mp_port_t port = refl_start("/refl", &pid);
	mp_msg_t m;
	struct refl r;
	char in[] = "hello, server";
	char out[64];

	h_msg_init(&m);
	m.type = T_REFLECT;
	m.oid.port = port;
	m.oid.id = 9;
	for (int k = 0; k < MP_RAW_SIZE; k++)
		m.i.raw[k] = (uint8_t)(200 - k);
	memset(m.i.raw + RAW_ERR, 0, 4);
	m.i.data = in;
	m.i.size = sizeof(in);
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, sizeof(in));
	CHECK_EQ(m.o.err, 0);
	for (size_t k = 0; k < sizeof(in); k++)
		CHECK_EQ((unsigned char)out[k], (unsigned char)in[k] ^ 0x5a);
	memcpy(&r, m.o.raw, sizeof(r));
	CHECK_EQ(r.type, T_REFLECT);
	CHECK_EQ(r.oid_port, port);
	CHECK_EQ(r.oid_id, 9);
	CHECK_EQ(r.isize, sizeof(in));
	CHECK_EQ(r.ocap, sizeof(out));
	CHECK_EQ(r.nfds, 0);
	CHECK_EQ(r.pid, getpid());
	CHECK_EQ(r.uid, getuid());
	CHECK_EQ(r.gid, getgid());
	/* the caller's i part is not consumed */
	CHECK(m.i.data == in);
	CHECK_EQ(m.i.size, sizeof(in));
	CHECK(m.o.data == out);
	for (int k = 0; k < 5; k++)
		refl_call(port, 100, (uint32_t)k);
	refl_stop(port, pid);
}

TEST(msg_echo_raw_area_full)
{
	pid_t pid = h_fork(h_echo_server, "/echo");
	mp_oid_t oid;
	mp_msg_t m;

	CHECK_OK(h_wait_lookup("/echo", &oid, 10000));
	h_msg_init(&m);
	m.type = H_T_ECHO;
	m.oid = oid;
	for (int k = 0; k < MP_RAW_SIZE; k++)
		m.i.raw[k] = (uint8_t)(0xff - 3 * k);
	memset(m.o.raw, 0xcc, MP_RAW_SIZE);
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_MEM(m.o.raw, m.i.raw, MP_RAW_SIZE);
	CHECK_EQ(m.o.size, 0);
	CHECK_OK(h_echo_call(oid.port, 77, 64, MP_FOREVER));
	h_echo_quit(oid.port, pid);
}

TEST(msg_reply_length)
{
	pid_t pid;
	mp_port_t port = refl_start("/refl", &pid);
	static const uint64_t lens[] = { 0, 1, 10, 4095, 4096 };
	unsigned char out[4096], want[4096];

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		mp_msg_t m;
		uint32_t tag = 1000 + (uint32_t)k;

		h_msg_init(&m);
		m.type = T_LEN;
		m.oid.port = port;
		memcpy(m.i.raw + RAW_TAG, &tag, 4);
		memcpy(m.i.raw + RAW_LEN, &lens[k], 8);
		m.o.data = out;
		m.o.size = sizeof(out);
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		CHECK_EQ(m.o.size, lens[k]);
		h_fill(want, lens[k], tag);
		CHECK_MEM(out, want, lens[k]);
	}
	/* no output buffer at all: o.data NULL with o.size 0 */
	{
		mp_msg_t m;
		uint64_t len = 0;

		h_msg_init(&m);
		m.type = T_LEN;
		m.oid.port = port;
		memcpy(m.i.raw + RAW_LEN, &len, 8);
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		CHECK_EQ(m.o.size, 0);
	}
	refl_stop(port, pid);
}

TEST(msg_err_propagation)
{
	pid_t pid;
	mp_port_t port = refl_start("/refl", &pid);
	static const int32_t errs[] = { -ENOTTY, 12345, INT32_MIN, INT32_MAX,
					-1, 0 };

	for (size_t k = 0; k < sizeof(errs) / sizeof(errs[0]); k++) {
		mp_msg_t m;

		h_msg_init(&m);
		m.type = T_REFLECT;
		m.oid.port = port;
		memcpy(m.i.raw + RAW_ERR, &errs[k], 4);
		m.o.err = 777;
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		CHECK_EQ(m.o.err, errs[k]);
	}
	refl_stop(port, pid);
}

/* A call from another process: the server sees that process's ids. */
struct id_arg {
	mp_port_t port;
	atomic_int pid;
	atomic_int ok;
};

static void id_client(void *arg)
{
	struct id_arg *a = arg;
	mp_msg_t m;
	struct refl r;

	h_msg_init(&m);
	m.type = T_REFLECT;
	m.oid.port = a->port;
	CHECK_OK(mp_send(a->port, &m, MP_FOREVER));
	memcpy(&r, m.o.raw, sizeof(r));
	CHECK_EQ(r.pid, getpid());
	CHECK_EQ(r.uid, getuid());
	CHECK_EQ(r.gid, getgid());
	atomic_store(&a->pid, r.pid);
	atomic_store(&a->ok, 1);
}

TEST(msg_recv_fills_sender_ids)
{
	pid_t pid, cpid;
	mp_port_t port = refl_start("/refl", &pid);
	struct id_arg *a = h_shared(sizeof(*a));

	a->port = port;
	cpid = h_fork(id_client, a);
	CHECK_EQ(h_reap(cpid, 10000), 0);
	CHECK_EQ(atomic_load(&a->ok), 1);
	CHECK_EQ(atomic_load(&a->pid), cpid);
	/* and from a thread of this process: the process id, not the tid */
	{
		struct refl r;
		mp_msg_t m;

		h_msg_init(&m);
		m.type = T_REFLECT;
		m.oid.port = port;
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		memcpy(&r, m.o.raw, sizeof(r));
		CHECK_EQ(r.pid, getpid());
	}
	refl_stop(port, pid);
}

/* One-way: 0 when a receiver was blocked in mp_recv, 1 when queued;
 * mp_recv returns 1 and sets *rid to 0 for it. */
struct ow_state {
	atomic_int in_recv;
	atomic_int got;
	atomic_int go;
	atomic_int done;
};

static void ow_server(void *arg)
{
	struct ow_state *s = arg;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/ow", 0666));
	atomic_store(&s->in_recv, 1);
	rid = 99;
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), 1);
	CHECK_EQ(rid, 0);
	CHECK_EQ(m.type, 11);
	CHECK_EQ(m.pid, getppid());
	CHECK_EQ(m.i.size, 5);
	CHECK_MEM(m.i.data, "first", 5);
	CHECK_EQ(m.i.raw[0], 0xab);
	atomic_store(&s->got, 1);
	CHECK(h_wait_ge(&s->go, 1, 10000));
	rid = 99;
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), 1);
	CHECK_EQ(rid, 0);
	CHECK_EQ(m.type, 12);
	CHECK_EQ(m.i.size, 6);
	CHECK_MEM(m.i.data, "second", 6);
	/* a call after one-way messages is a call */
	rid = 0;
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), 0);
	CHECK_NE(rid, 0);
	CHECK_EQ(m.type, 13);
	m.o.size = 0;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK(h_wait_ge(&s->done, 1, 10000));
	CHECK_OK(mp_port_destroy(port));
}

TEST(msg_oneway_waiting_vs_queued)
{
	struct ow_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(ow_server, s);
	mp_oid_t oid;
	mp_msg_t m;

	CHECK(h_wait_ge(&s->in_recv, 1, 10000));
	CHECK_OK(mp_lookup("/ow", &oid));
	h_sleep_ms(300);	/* the server is blocked in mp_recv by now */
	h_msg_init(&m);
	m.type = 11;
	m.oid = oid;
	m.i.data = "first";
	m.i.size = 5;
	m.i.raw[0] = 0xab;
	m.o.size = 12345;	/* ignored for one-way */
	m.o.data = NULL;
	CHECK_ERR(mp_send_async(oid.port, &m, MP_FOREVER), 0);
	CHECK(h_wait_ge(&s->got, 1, 10000));
	/* the server is busy now, not receiving: the message is queued */
	h_msg_init(&m);
	m.type = 12;
	m.oid = oid;
	m.i.data = "second";
	m.i.size = 6;
	CHECK_ERR(mp_send_async(oid.port, &m, MP_FOREVER), 1);
	atomic_store(&s->go, 1);
	h_msg_init(&m);
	m.type = 13;
	m.oid = oid;
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	atomic_store(&s->done, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ----------------------------------------------------------- timeouts */

TEST(msg_recv_timeouts)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	int64_t t0, dt;

	CHECK_OK(mp_port_create(&port));
	t0 = h_now_ms();
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	CHECK_LT(h_now_ms() - t0, 1000);
	t0 = h_now_ns();
	CHECK_ERR(mp_recv(port, &m, &rid, 50000000), -ETIMEDOUT);
	dt = h_now_ns() - t0;
	CHECK_GE(dt, 45000000);
	CHECK_LT(dt, 5000000000);
	t0 = h_now_ns();
	CHECK_ERR(mp_recv(port, &m, &rid, 1), -ETIMEDOUT);
	CHECK_LT(h_now_ns() - t0, 1000000000);
	CHECK_OK(mp_port_destroy(port));
}

/* A server that registers and then never receives until told. */
struct deaf_state {
	atomic_int ready;
	atomic_int quit;
	atomic_int drained;
	atomic_int expect;	/* one-way messages to drain before quitting */
};

static void deaf_server(void *arg)
{
	struct deaf_state *s = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/deaf", 0666));
	atomic_store(&s->ready, 1);
	CHECK(h_wait_ge(&s->quit, 1, 15000));
	for (int k = 0; k < atomic_load(&s->expect); k++) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t seq;

		CHECK_ERR(mp_recv(port, &m, &rid, 5000000000), 1);
		memcpy(&seq, m.i.raw, 4);
		CHECK_EQ(seq, k);
		atomic_store(&s->drained, k + 1);
	}
	CHECK_OK(mp_port_destroy(port));
}

TEST(msg_send_timeouts)
{
	struct deaf_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(deaf_server, s);
	mp_oid_t oid;
	mp_msg_t m;
	int64_t t0, dt;

	CHECK(h_wait_ge(&s->ready, 1, 10000));
	CHECK_OK(mp_lookup("/deaf", &oid));
	/* timeout 0: nobody is receiving */
	h_msg_init(&m);
	m.oid = oid;
	t0 = h_now_ms();
	CHECK_ERR(mp_send(oid.port, &m, 0), -EAGAIN);
	CHECK_LT(h_now_ms() - t0, 1000);
	/* finite: no answer in time */
	h_msg_init(&m);
	m.oid = oid;
	t0 = h_now_ns();
	CHECK_ERR(mp_send(oid.port, &m, 100000000), -ETIMEDOUT);
	dt = h_now_ns() - t0;
	CHECK_GE(dt, 90000000);
	CHECK_LT(dt, 5000000000);
	/* the server is never told about either of them: a timed-out call
	 * may or may not have been queued, so we drain nothing */
	atomic_store(&s->quit, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* One-way sends to a port that nobody drains: queued (1) until the queue
 * is full, then -EAGAIN (timeout 0) and -ETIMEDOUT (finite); after the
 * server drains, every queued message arrives, in order. */
TEST(msg_oneway_queue_full)
{
	struct deaf_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(deaf_server, s);
	mp_oid_t oid;
	mp_msg_t m;
	uint32_t seq = 0;
	int r = 0;
	int64_t t0, dt;

	CHECK(h_wait_ge(&s->ready, 1, 10000));
	CHECK_OK(mp_lookup("/deaf", &oid));
	for (seq = 0; seq < 200000; seq++) {
		h_msg_init(&m);
		m.oid = oid;
		memcpy(m.i.raw, &seq, 4);
		r = mp_send_async(oid.port, &m, 0);
		if (r != 1)
			break;
	}
	if (r == 1)
		FAIL("200000 one-way messages queued and the queue never "
		     "filled");
	CHECK_ERR(r, -EAGAIN);
	CHECK_GT(seq, 0);
	/* the same message again: queues may count bytes, so a smaller one
	 * could still fit */
	h_msg_init(&m);
	m.oid = oid;
	memcpy(m.i.raw, &seq, 4);
	t0 = h_now_ns();
	CHECK_ERR(mp_send_async(oid.port, &m, 50000000), -ETIMEDOUT);
	dt = h_now_ns() - t0;
	CHECK_GE(dt, 45000000);
	CHECK_LT(dt, 5000000000);
	atomic_store(&s->expect, (int)seq);
	atomic_store(&s->quit, 1);
	CHECK_EQ(h_reap(pid, 15000), 0);
	CHECK_EQ(atomic_load(&s->drained), seq);
}

/* Timeout 0 is good when a receiver is waiting: the call goes through
 * and the answer is awaited without limit. */
struct slow_state {
	atomic_int in_recv;
};

static void slow_answer_server(void *arg)
{
	struct slow_state *s = arg;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/slow", 0666));
	atomic_store(&s->in_recv, 1);
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), 0);
	h_sleep_ms(300);
	m.o.size = 0;
	m.o.err = 5;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK_OK(mp_port_destroy(port));
}

TEST(msg_send_timeout0_to_waiting_receiver)
{
	struct slow_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(slow_answer_server, s);
	mp_oid_t oid;
	mp_msg_t m;
	int64_t t0;

	CHECK(h_wait_ge(&s->in_recv, 1, 10000));
	CHECK_OK(mp_lookup("/slow", &oid));
	h_sleep_ms(300);
	h_msg_init(&m);
	m.oid = oid;
	t0 = h_now_ms();
	CHECK_OK(mp_send(oid.port, &m, 0));
	CHECK_EQ(m.o.err, 5);
	CHECK_GE(h_now_ms() - t0, 250);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* A finite timeout longer than the server needs: the answer arrives. */
TEST(msg_send_finite_timeout_answered)
{
	struct slow_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(slow_answer_server, s);
	mp_oid_t oid;
	mp_msg_t m;

	CHECK(h_wait_ge(&s->in_recv, 1, 10000));
	CHECK_OK(mp_lookup("/slow", &oid));
	h_msg_init(&m);
	m.oid = oid;
	CHECK_OK(mp_send(oid.port, &m, 10000000000));
	CHECK_EQ(m.o.err, 5);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ----------------------------------------------------------- ordering */

#define ORDER_N 1000

struct order_arg {
	mp_port_t port;
};

static void order_client(void *arg)
{
	struct order_arg *a = arg;
	unsigned char data[256];

	for (uint32_t seq = 0; seq < ORDER_N; seq++) {
		mp_msg_t m;
		size_t len = seq % 200;

		h_msg_init(&m);
		m.type = seq % 50 == 49 ? 2 : 1;	/* some calls */
		m.oid.port = a->port;
		memcpy(m.i.raw, &seq, 4);
		h_fill(data, len, seq);
		m.i.data = len ? data : NULL;
		m.i.size = len;
		if (m.type == 2) {
			CHECK_OK(mp_send(a->port, &m, MP_FOREVER));
			CHECK_EQ(m.o.err, (int32_t)seq);
		} else {
			int r = mp_send_async(a->port, &m, MP_FOREVER);

			if (r != 0 && r != 1)
				FAIL("one-way %u: %s", seq, h_errname(r));
		}
	}
}

TEST(msg_order_one_sender)
{
	struct order_arg a;
	pid_t pid;
	unsigned char want[256];

	CHECK_OK(mp_port_create(&a.port));
	pid = h_fork(order_client, &a);
	for (uint32_t seq = 0; seq < ORDER_N; seq++) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t got;
		size_t len = seq % 200;
		int r = mp_recv(a.port, &m, &rid, 10000000000);

		CHECK_GE(r, 0);
		memcpy(&got, m.i.raw, 4);
		if (got != seq)
			FAIL("message %u received in place %u", got, seq);
		CHECK_EQ(m.pid, pid);
		CHECK_EQ(m.i.size, len);
		h_fill(want, len, seq);
		CHECK_MEM(m.i.data, want, len);
		CHECK_EQ(r, m.type == 2 ? 0 : 1);
		if (r == 0) {
			m.o.size = 0;
			m.o.err = (int32_t)seq;
			CHECK_OK(mp_respond(a.port, &m, rid));
		}
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(mp_port_destroy(a.port));
}

/* Several sending threads of one process, one receiver: each thread's
 * messages arrive in the order that thread sent them. */
#define OT_THREADS 4
#define OT_N 500

struct ot_thread {
	mp_port_t port;
	uint32_t id;
};

static void *ot_sender(void *arg)
{
	struct ot_thread *t = arg;

	for (uint32_t seq = 0; seq < OT_N; seq++) {
		mp_msg_t m;
		int r;

		h_msg_init(&m);
		m.type = 1;
		m.oid.port = t->port;
		memcpy(m.i.raw, &t->id, 4);
		memcpy(m.i.raw + 4, &seq, 4);
		r = mp_send_async(t->port, &m, MP_FOREVER);
		if (r != 0 && r != 1)
			FAIL("thread %u one-way %u: %s", t->id, seq,
			     h_errname(r));
	}
	return NULL;
}

static void ot_client(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	pthread_t th[OT_THREADS];
	struct ot_thread t[OT_THREADS];

	for (uint32_t k = 0; k < OT_THREADS; k++) {
		t[k].port = port;
		t[k].id = k;
		CHECK_OK(pthread_create(&th[k], NULL, ot_sender, &t[k]));
	}
	for (int k = 0; k < OT_THREADS; k++)
		pthread_join(th[k], NULL);
}

TEST(msg_order_per_sender_thread)
{
	mp_port_t port;
	pid_t pid;
	uint32_t next[OT_THREADS] = { 0 };

	CHECK_OK(mp_port_create(&port));
	pid = h_fork(ot_client, &port);
	for (int n = 0; n < OT_THREADS * OT_N; n++) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t id, seq;

		CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 1);
		memcpy(&id, m.i.raw, 4);
		memcpy(&seq, m.i.raw + 4, 4);
		CHECK_LT(id, OT_THREADS);
		if (seq != next[id])
			FAIL("thread %u: message %u arrived when %u was due",
			     id, seq, next[id]);
		next[id]++;
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(mp_port_destroy(port));
}

/* ------------------------------------------------------ many held rids */

#define HOLD_N 16

struct hold_state {
	atomic_int received;
};

struct hold_call {
	mp_msg_t m;
	mp_rid_t rid;
	unsigned char copy[128];
};

struct hold_resp {
	mp_port_t port;
	struct hold_call *c;
};

static void hold_answer(mp_port_t port, struct hold_call *c)
{
	uint32_t tag;

	/* the call's input data is still valid until its respond */
	CHECK_EQ(c->m.i.size, sizeof(c->copy));
	CHECK_MEM(c->m.i.data, c->copy, sizeof(c->copy));
	memcpy(&tag, c->m.i.raw, 4);
	memcpy(c->m.o.raw, &tag, 4);
	c->m.o.err = (int32_t)(tag * 3);
	CHECK_GE(c->m.o.size, 4);
	memcpy(c->m.o.data, &tag, 4);
	c->m.o.size = 4;
	CHECK_OK(mp_respond(port, &c->m, c->rid));
}

static void *hold_resp_thread(void *arg)
{
	struct hold_resp *r = arg;

	hold_answer(r->port, r->c);
	return NULL;
}

static void hold_server(void *arg)
{
	struct hold_state *s = arg;
	static struct hold_call c[HOLD_N];
	struct hold_resp hr[HOLD_N];
	pthread_t th[HOLD_N];
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/hold", 0666));
	for (int k = 0; k < HOLD_N; k++) {
		CHECK_ERR(mp_recv(port, &c[k].m, &c[k].rid, 10000000000), 0);
		CHECK_EQ(c[k].m.i.size, sizeof(c[k].copy));
		memcpy(c[k].copy, c[k].m.i.data, sizeof(c[k].copy));
		for (int j = 0; j < k; j++)
			CHECK_NE(c[j].rid, c[k].rid);
		atomic_store(&s->received, k + 1);
	}
	/* reverse order; every other answer from a thread of its own */
	for (int k = HOLD_N - 1; k >= 0; k--) {
		if (k % 2) {
			hr[k].port = port;
			hr[k].c = &c[k];
			CHECK_OK(pthread_create(&th[k], NULL, hold_resp_thread,
						&hr[k]));
			pthread_join(th[k], NULL);
		} else {
			hold_answer(port, &c[k]);
		}
	}
	CHECK_OK(mp_port_destroy(port));
}

struct hold_client {
	mp_port_t port;
	uint32_t tag;
	int64_t done_ns;
};

static void *hold_client_thread(void *arg)
{
	struct hold_client *hc = arg;
	unsigned char data[128], out[16];
	uint32_t got;
	mp_msg_t m;

	h_fill(data, sizeof(data), hc->tag);
	h_msg_init(&m);
	m.oid.port = hc->port;
	memcpy(m.i.raw, &hc->tag, 4);
	m.i.data = data;
	m.i.size = sizeof(data);
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(hc->port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, 4);
	memcpy(&got, out, 4);
	CHECK_EQ(got, hc->tag);
	memcpy(&got, m.o.raw, 4);
	CHECK_EQ(got, hc->tag);
	CHECK_EQ(m.o.err, (int32_t)(hc->tag * 3));
	return NULL;
}

TEST(msg_held_rids_reverse_order_other_threads)
{
	struct hold_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(hold_server, s);
	struct hold_client hc[HOLD_N];
	pthread_t th[HOLD_N];
	mp_oid_t oid;

	CHECK_OK(h_wait_lookup("/hold", &oid, 10000));
	for (int k = 0; k < HOLD_N; k++) {
		hc[k].port = oid.port;
		hc[k].tag = 0x100 + (uint32_t)k;
		CHECK_OK(pthread_create(&th[k], NULL, hold_client_thread,
					&hc[k]));
	}
	for (int k = 0; k < HOLD_N; k++)
		pthread_join(th[k], NULL);
	CHECK_EQ(atomic_load(&s->received), HOLD_N);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* --------------------------------------------------------- data sizes */

TEST(msg_data_sizes)
{
	pid_t pid;
	mp_port_t port = refl_start("/refl", &pid);
	static const size_t sizes[] = { 0, 1, 64, 4095, 4096, 4097, 100000,
					(size_t)8 << 20 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		refl_call(port, sizes[k], (uint32_t)k + 1);
	refl_stop(port, pid);
}

/* Reply smaller than the input, input smaller than the capacity. */
TEST(msg_data_asymmetric)
{
	pid_t pid;
	mp_port_t port = refl_start("/refl", &pid);
	unsigned char in[100000], out[300];
	mp_msg_t m;
	struct refl r;

	h_fill(in, sizeof(in), 5);
	h_msg_init(&m);
	m.type = T_REFLECT;
	m.oid.port = port;
	m.i.data = in;
	m.i.size = sizeof(in);
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, sizeof(out));
	memcpy(&r, m.o.raw, sizeof(r));
	CHECK_EQ(r.isize, sizeof(in));
	CHECK_EQ(r.ocap, sizeof(out));
	CHECK_EQ(r.csum, fnv(in, sizeof(in)));
	for (size_t k = 0; k < sizeof(out); k++)
		CHECK_EQ(out[k], in[k] ^ 0x5a);
	refl_stop(port, pid);
}

/* The server answers from a buffer of its own. */
static void own_buf_server(void *arg)
{
	static unsigned char buf[200000];
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	(void)arg;
	h_fill(buf, sizeof(buf), 99);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/own", 0666));
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.o.size, sizeof(buf));
	m.o.data = buf;
	m.o.size = sizeof(buf) - 7;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK_OK(mp_port_destroy(port));
}

TEST(msg_server_own_buffer)
{
	pid_t pid = h_fork(own_buf_server, NULL);
	static unsigned char out[200000], want[200000];
	mp_oid_t oid;
	mp_msg_t m;

	CHECK_OK(h_wait_lookup("/own", &oid, 10000));
	h_fill(want, sizeof(want), 99);
	h_msg_init(&m);
	m.oid = oid;
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, sizeof(out) - 7);
	CHECK_MEM(out, want, sizeof(out) - 7);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* -EMSGSIZE at respond for an answer over the capacity; the rid stays. */
struct big_state {
	atomic_int r1, r2, r3, r4;
	atomic_int stored;
	atomic_int done;
};

static void big_answer_server(void *arg)
{
	struct big_state *s = arg;
	static unsigned char buf[64];
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	memset(buf, 'z', sizeof(buf));
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/big", 0666));
	/* capacity 10 */
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.o.size, 10);
	m.o.data = buf;
	m.o.size = 11;
	atomic_store(&s->r1, mp_respond(port, &m, rid) + 1000);
	m.o.size = 10;
	atomic_store(&s->r2, mp_respond(port, &m, rid) + 1000);
	/* capacity 0, no buffer */
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.o.size, 0);
	m.o.data = buf;
	m.o.size = 1;
	atomic_store(&s->r3, mp_respond(port, &m, rid) + 1000);
	m.o.size = 0;
	atomic_store(&s->r4, mp_respond(port, &m, rid) + 1000);
	atomic_store(&s->stored, 1);
	CHECK(h_wait_ge(&s->done, 1, 10000));
	CHECK_OK(mp_port_destroy(port));
}

TEST(msg_respond_emsgsize)
{
	struct big_state *s = h_shared(sizeof(*s));
	pid_t pid = h_fork(big_answer_server, s);
	unsigned char out[10];
	mp_oid_t oid;
	mp_msg_t m;

	CHECK_OK(h_wait_lookup("/big", &oid, 10000));
	h_msg_init(&m);
	m.oid = oid;
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, 10);
	CHECK_MEM(out, "zzzzzzzzzz", 10);
	h_msg_init(&m);
	m.oid = oid;
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, 0);
	CHECK(h_wait_ge(&s->stored, 1, 10000));
	CHECK_EQ(atomic_load(&s->r1) - 1000, -EMSGSIZE);
	CHECK_EQ(atomic_load(&s->r2) - 1000, 0);
	CHECK_EQ(atomic_load(&s->r3) - 1000, -EMSGSIZE);
	CHECK_EQ(atomic_load(&s->r4) - 1000, 0);
	atomic_store(&s->done, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* Over MP_DATA_MAX: -EMSGSIZE before anything is read or sent. */
TEST(msg_emsgsize_over_data_max)
{
	mp_port_t port;
	char small[8] = "x";
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	h_msg_init(&m);
	m.oid.port = port;
	m.i.data = small;
	m.i.size = MP_DATA_MAX + 1;
	CHECK_ERR(mp_send(port, &m, 0), -EMSGSIZE);
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EMSGSIZE);
	CHECK_ERR(mp_send_async(port, &m, 0), -EMSGSIZE);
	m.i.size = SIZE_MAX;
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), -EMSGSIZE);
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EMSGSIZE);
	h_msg_init(&m);
	m.oid.port = port;
	m.o.data = small;
	m.o.size = MP_DATA_MAX + 1;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EMSGSIZE);
	m.o.size = SIZE_MAX;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EMSGSIZE);
	/* nothing was sent */
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	CHECK_OK(mp_port_destroy(port));
}

/* Respond twice: the second finds no such rid. */
static void *twice_server(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	m.o.size = 0;
	m.o.err = 1;
	CHECK_OK(mp_respond(port, &m, rid));
	m.o.err = 2;
	CHECK_ERR(mp_respond(port, &m, rid), -ENOENT);
	/* never issued */
	CHECK_ERR(mp_respond(port, &m, rid + 1000), -ENOENT);
	CHECK_ERR(mp_respond(port, &m, 0), -ENOENT);
	/* the next call is unaffected */
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	m.o.size = 0;
	m.o.err = 3;
	CHECK_OK(mp_respond(port, &m, rid));
	return NULL;
}

TEST(msg_respond_twice)
{
	mp_port_t port;
	pthread_t th;
	mp_msg_t m;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(pthread_create(&th, NULL, twice_server, &port));
	h_msg_init(&m);
	m.oid.port = port;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, 1);
	h_msg_init(&m);
	m.oid.port = port;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, 3);
	pthread_join(th, NULL);
	CHECK_OK(mp_port_destroy(port));
}

/* Client and server threads in one process. */
static void *self_server(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;

	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		/* -EPIPE when the destroy finds us waiting; -ENOENT when it
		 * happens while we answer, and we come back to no port */
		if (r < 0) {
			CHECK(r == -EPIPE || r == -ENOENT);
			break;
		}
		if (r == 1)
			continue;
		refl_answer(port, &m, rid);
	}
	return NULL;
}

TEST(msg_same_process)
{
	mp_port_t port;
	pthread_t th;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(pthread_create(&th, NULL, self_server, &port));
	for (int k = 0; k < 20; k++)
		refl_call(port, (size_t)k * 997, (uint32_t)k);
	refl_call(port, 1 << 20, 77);
	CHECK_OK(mp_port_destroy(port));
	pthread_join(th, NULL);
}
