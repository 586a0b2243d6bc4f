/* SPDX-License-Identifier: MIT */
/*
 * Queued one-way messages per connection are bounded by the connection's
 * queue (the ring's slots, the socket's buffer): a hostile client that
 * floods one-ways, with or without descriptors, gets -EAGAIN (polling)
 * once its queue is full, the server holds none of its descriptors
 * meanwhile, loses none of what was queued, and keeps serving another
 * client.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

#define T_COUNT 1u	/* answer: o.raw[0..3] one-ways taken, [4..7] open fds */
#define T_QUIT 2u
#define Q_TRIES 200000	/* far more than any queue holds */

static void q_server(void *path)
{
	uint32_t oneways = 0;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);
		uint32_t v[2];

		CHECK_GE(r, 0);
		for (uint32_t k = 0; k < m.i.nfds; k++)
			CHECK_OK(close(m.i.fds[k]));
		if (r == 1) {
			oneways++;
			h_sleep_ms(1);	/* a slow consumer: the queue fills */
			continue;
		}
		v[0] = oneways;
		v[1] = (uint32_t)h_count_fds();
		memset(&m.o, 0, sizeof(m.o));
		memcpy(m.o.raw, v, sizeof(v));
		CHECK_OK(mp_respond(port, &m, rid));
		if (m.type == T_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

static void q_count(mp_port_t port, uint32_t v[2])
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = T_COUNT;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	memcpy(v, m.o.raw, 2 * sizeof(uint32_t));
}

struct q_other {
	atomic_int stop, served;
	mp_port_t port;
};

static void q_other_client(void *arg)
{
	struct q_other *o = arg;

	while (!atomic_load(&o->stop)) {
		uint32_t v[2];

		q_count(o->port, v);
		atomic_fetch_add(&o->served, 1);
		h_sleep_ms(2);
	}
}

/* One-ways with nfds descriptors (one pipe's write end, repeated) until
 * the queue is full: how many were queued. */
static uint32_t q_flood(mp_port_t port, uint32_t nfds)
{
	int p[2];
	uint32_t sent = 0;
	int r = 0;

	CHECK_OK(pipe(p));
	for (int k = 0; k < Q_TRIES; k++) {
		mp_msg_t m;

		h_msg_init(&m);
		for (uint32_t j = 0; j < nfds; j++)
			m.i.fds[j] = p[1];
		m.i.nfds = nfds;
		r = mp_send_async(port, &m, 0);
		if (r < 0)
			break;
		CHECK(r == 0 || r == 1);
		sent++;
	}
	CHECK_ERR(r, -EAGAIN);
	CHECK_LE(sent, Q_TRIES / 10);	/* bounded: a ring's slots, a socket's buffer */
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	return sent;
}

static void q_run(uint32_t nfds)
{
	struct q_other *o = h_shared(sizeof(*o));
	uint32_t v[2], base_fds, total = 0;
	pid_t pid, other;
	mp_port_t port = h_server_start(q_server, "/limits-queue", &pid);
	int served;

	o->port = port;
	other = h_fork(q_other_client, o);
	CHECK(h_wait_ge(&o->served, 1, 20000));
	q_count(port, v);	/* both clients connected */
	base_fds = v[1];
	for (int round = 0; round < 3; round++) {
		served = atomic_load(&o->served);
		total += q_flood(port, nfds);
		/* the other client is served while our queue is full */
		CHECK(h_wait_ge(&o->served, served + 3, 30000));
	}
	/* every queued one-way arrives (in order, before this call) */
	q_count(port, v);
	CHECK_EQ(v[0], total);
	CHECK_EQ(v[1], base_fds);
	atomic_store(&o->stop, 1);
	CHECK_EQ(h_reap(other, 20000), 0);
	h_server_quit(port, pid, T_QUIT);
}

TEST(limits_oneway_queue_full_eagain)
{
	q_run(0);
}

TEST(limits_oneway_fds_in_flight_bounded)
{
	q_run(MP_FDS_MAX);
}
