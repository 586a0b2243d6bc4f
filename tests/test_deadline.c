/* SPDX-License-Identifier: MIT */
/*
 * A call's deadline and errors as the library gives them (issue 14):
 * on a port created with MP_PORT_DEADLINES the server reads each call's
 * time left with mp_recv_deadline() (MP_FOREVER when the caller gave
 * none, or on a port without the flag); mp_respond_error() makes the
 * caller's mp_send() return an error of a documented set while the
 * connection goes on.  Forged frames: a deadline of zero or below, or
 * on a one-way, is refused (the connection dropped, the server's user
 * never sees it); one too large for the clock is clamped to none.
 */
#include "harness.h"
#include "test_multiuser.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/wire.h"

#define D_SEC 1000000000LL
#define D_CALLS 8

/* One thread's calls, one after the other on its connection to port. */
struct caller {
	mp_port_t port;
	unsigned n;
	int64_t timeout[D_CALLS];
	int result[D_CALLS];
	uint8_t answer[D_CALLS];	/* o.data[0] of a call that succeeded */
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;

	for (unsigned k = 0; k < c->n; k++) {
		uint8_t in = (uint8_t)k, out = 0;
		mp_msg_t m;

		h_msg_init(&m);
		m.type = 1;
		m.i.data = &in;
		m.i.size = 1;
		m.o.data = &out;
		m.o.size = 1;
		c->result[k] = mp_send(c->port, &m, c->timeout[k]);
		c->answer[k] = out;
	}
	return NULL;
}

static mp_port_t port_new(uint32_t flags)
{
	mp_port_opts_t o = { .sz = sizeof(o), .flags = flags };
	mp_port_t port;

	CHECK_OK(mp_port_create_opts(&port, &o));
	return port;
}

/* The next call, with its rid. */
static mp_rid_t recv_call(mp_port_t port, mp_msg_t *m)
{
	mp_rid_t rid;

	CHECK_EQ(mp_recv(port, m, &rid, 30 * D_SEC), 0);
	CHECK_EQ(m->type, 1u);
	return rid;
}

/* Answer with one byte: the input's + 100. */
static void answer(mp_port_t port, mp_msg_t *m, mp_rid_t rid)
{
	((uint8_t *)m->o.data)[0] = (uint8_t)(((const uint8_t *)m->i.data)[0] + 100);
	m->o.size = 1;
	CHECK_OK(mp_respond(port, m, rid));
}

TEST(deadline_seen_by_server)
{
	struct caller c = { .n = 3, .timeout = { 5 * D_SEC, MP_FOREVER, 5 * D_SEC } };
	int64_t left = 0;
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	c.port = port_new(MP_PORT_DEADLINES);
	CHECK_OK(pthread_create(&th, NULL, caller_main, &c));
	rid = recv_call(c.port, &m);
	CHECK_OK(mp_recv_deadline(c.port, rid, &left));
	CHECK_GT(left, 0);
	CHECK_LE(left, 5 * D_SEC);
	CHECK_ERR(mp_recv_deadline(c.port, rid, NULL), -EINVAL);
	CHECK_ERR(mp_recv_deadline(0, rid, &left), -EINVAL);
	answer(c.port, &m, rid);
	CHECK_ERR(mp_recv_deadline(c.port, rid, &left), -ENOENT);	/* answered */
	rid = recv_call(c.port, &m);	/* MP_FOREVER: perhaps the fast path's */
	CHECK_OK(mp_recv_deadline(c.port, rid, &left));
	CHECK_EQ(left, MP_FOREVER);
	answer(c.port, &m, rid);
	CHECK_ERR(mp_recv_deadline(c.port, rid, &left), -ENOENT);
	rid = recv_call(c.port, &m);	/* the same connection, a deadline again */
	CHECK_OK(mp_recv_deadline(c.port, rid, &left));
	CHECK_GT(left, 0);
	CHECK_LE(left, 5 * D_SEC);
	CHECK_ERR(mp_recv_deadline(c.port, rid ^ (1ull << 33), &left), -ENOENT);	/* forged */
	CHECK_ERR(mp_recv_deadline(c.port, 12345, &left), -ENOENT);
	answer(c.port, &m, rid);
	pthread_join(th, NULL);
	for (unsigned k = 0; k < c.n; k++) {
		CHECK_EQ(c.result[k], 0);
		CHECK_EQ(c.answer[k], 100 + k);
	}
	CHECK_OK(mp_port_destroy(c.port));
}

/* A port that did not ask: its clients send no deadline. */
TEST(deadline_port_without_flag)
{
	struct caller c = { .n = 1, .timeout = { 5 * D_SEC } };
	int64_t left = 0;
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	c.port = port_new(0);
	CHECK_OK(pthread_create(&th, NULL, caller_main, &c));
	rid = recv_call(c.port, &m);
	CHECK_OK(mp_recv_deadline(c.port, rid, &left));
	CHECK_EQ(left, MP_FOREVER);
	answer(c.port, &m, rid);
	pthread_join(th, NULL);
	CHECK_EQ(c.result[0], 0);
	CHECK_OK(mp_port_destroy(c.port));
}

/* Errors the caller gets as mp_send()'s result, each on the same
 * connection: a deadline call (a frame), a call without one (the
 * transports' fast path where it has one), then an ordinary answer. */
static void respond_error_on(uint32_t flags)
{
	struct caller c = { .n = 5, .timeout = { 5 * D_SEC, MP_FOREVER, 5 * D_SEC, MP_FOREVER,
						 MP_FOREVER } };
	const int errs[4] = { -EPIPE, -EHOSTDOWN, -ETIMEDOUT, -EPIPE };
	int64_t ms = 300;
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	c.port = port_new(flags | MP_PORT_DISCONNECT_PULSES);
	CHECK_OK(pthread_create(&th, NULL, caller_main, &c));
	for (unsigned k = 0; k < 4; k++) {
		rid = recv_call(c.port, &m);
		CHECK_ERR(mp_respond_error(c.port, rid, -EIO), -EINVAL);	/* not of the set */
		CHECK_ERR(mp_respond_error(c.port, rid, 0), -EINVAL);
		CHECK_ERR(mp_respond_error(c.port, rid, EPIPE), -EINVAL);
		CHECK_ERR(mp_respond_error(0, rid, -EPIPE), -EINVAL);
		CHECK_OK(mp_respond_error(c.port, rid, errs[k]));
		CHECK_ERR(mp_respond_error(c.port, rid, -EPIPE), -ENOENT);	/* used up */
	}
	rid = recv_call(c.port, &m);
	answer(c.port, &m, rid);
	pthread_join(th, NULL);
	for (unsigned k = 0; k < 4; k++)
		CHECK_ERR(c.result[k], errs[k]);
	CHECK_EQ(c.result[4], 0);
	CHECK_EQ(c.answer[4], 104);
	/* the connection went on: its end (the thread's exit) is the only
	 * disconnect notice, and none came before it */
	CHECK_EQ(mp_recv(c.port, &m, &rid, 30 * D_SEC), MP_RECV_PULSE);
	CHECK_EQ(m.type, MP_PULSE_DISCONNECT);
	CHECK_EQ(mp_msg_pulse(&m).count, 1u);
	CHECK_ERR(mp_recv(c.port, &m, &rid, ms * 1000000), -ETIMEDOUT);
	CHECK_OK(mp_port_destroy(c.port));
}

TEST(respond_error_deadlines_port)
{
	respond_error_on(MP_PORT_DEADLINES);
}

TEST(respond_error_plain_port)
{
	respond_error_on(0);
}

/* ------------------------------------------------------ forged frames */

static int raw_call(mp_port_t port, unsigned kind, unsigned flags, int64_t deadline_ns)
{
	struct mp_frame f;
	int fd;

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = (uint8_t)kind;
	f.flags = (uint16_t)flags;
	f.type = 1;
	f.seq = kind == MP_FRAME_CALL ? 1 : 0;
	f.deadline_ns = deadline_ns;
	CHECK_OK(mu_raw_connect(getenv("MSGPORT_ROOT"), port, &fd));
	CHECK_EQ(send(fd, &f, sizeof(f), 0), (ssize_t)sizeof(f));
	return fd;
}

/* The forged frame is refused: the server's user never sees it, and the
 * connection is dropped. */
static void refused(mp_port_t port, unsigned kind, unsigned flags, int64_t deadline_ns)
{
	int fd = raw_call(port, kind, flags, deadline_ns);
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_ERR(mp_recv(port, &m, &rid, 300 * 1000000LL), -ETIMEDOUT);
	CHECK_EQ(mu_raw_closed(fd, h_test_timeout_ms() / 2), 1);
	close(fd);
}

/* The forged call arrives, with the time left the server reads. */
static int64_t accepted(mp_port_t port, int64_t deadline_ns)
{
	int fd = raw_call(port, MP_FRAME_CALL, MP_FRAME_DEADLINE, deadline_ns);
	struct mp_frame r;
	int64_t left = 0;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_EQ(mp_recv(port, &m, &rid, 30 * D_SEC), 0);
	CHECK_OK(mp_recv_deadline(port, rid, &left));
	m.o.size = 0;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK_EQ(recv(fd, &r, sizeof(r), 0), (ssize_t)sizeof(r));
	CHECK_EQ(r.kind, MP_FRAME_REPLY);
	close(fd);
	return left;
}

TEST(deadline_forged_frames)
{
	mp_port_t port = port_new(MP_PORT_DEADLINES), plain = port_new(0);
	int64_t left;

	refused(port, MP_FRAME_CALL, MP_FRAME_DEADLINE, -1);
	refused(port, MP_FRAME_CALL, MP_FRAME_DEADLINE, INT64_MIN);
	refused(port, MP_FRAME_CALL, MP_FRAME_DEADLINE, 0);
	refused(port, MP_FRAME_CALL, 0, 5 * D_SEC);	/* a value without its flag */
	refused(port, MP_FRAME_ONEWAY, MP_FRAME_DEADLINE, 5 * D_SEC);
	CHECK_EQ(accepted(port, INT64_MAX), MP_FOREVER);	/* clamped: none */
	left = accepted(port, 5 * D_SEC);
	CHECK_GT(left, 0);
	CHECK_LE(left, 5 * D_SEC);
	CHECK_EQ(accepted(plain, 5 * D_SEC), MP_FOREVER);	/* not asked for: ignored */
	CHECK_OK(mp_port_destroy(port));
	CHECK_OK(mp_port_destroy(plain));
}

/* The caller's own timeout still ends its call; the server sees the
 * deadline pass and its late answer fails. */
TEST(deadline_passes)
{
	struct caller c = { .n = 1, .timeout = { 200 * 1000000LL } };
	int64_t left = -2;
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	c.port = port_new(MP_PORT_DEADLINES);
	CHECK_OK(pthread_create(&th, NULL, caller_main, &c));
	rid = recv_call(c.port, &m);
	CHECK_OK(mp_recv_deadline(c.port, rid, &left));
	CHECK_GE(left, 0);
	CHECK_LE(left, 200 * 1000000LL);
	pthread_join(th, NULL);
	CHECK_ERR(c.result[0], -ETIMEDOUT);
	/* The server's deadline is its receipt plus the time left at the
	 * send: later than the caller's by the transit, which a loaded
	 * machine stretches (milliseconds); it passes soon after. */
	for (int k = 0; k < 1000; k++) {
		CHECK_OK(mp_recv_deadline(c.port, rid, &left));
		if (left == 0)
			break;
		CHECK_LE(left, 200 * 1000000LL);
		h_sleep_ms(1);
	}
	CHECK_EQ(left, 0);	/* passed */
	CHECK_ERR(mp_respond_error(c.port, rid, -ETIMEDOUT), -EPIPE);	/* it gave up */
	CHECK_OK(mp_port_destroy(c.port));
}
