/* SPDX-License-Identifier: MIT */
/*
 * A client blocked in a call (transport/ring/client.c cli_block) waits
 * for the server's wake-up and its hang-up in one epoll_wait() on the
 * server's wake-up set, which the client's socket joined at WELCOME.  A
 * fork child inherits that connection and closes its copy: the parent's
 * blocked calls must still be woken by a late answer, and must still see
 * the server's death (-EPIPE, not the deadline).  On sock the same holds
 * through its own wait.
 */
#include <pthread.h>
#include <signal.h>

#include "harness.h"

#define WB_PATH "/waitblock"
#define WB_T_NOW 1u	/* answered at once: o.err = 7 */
#define WB_T_LATE 2u	/* answered after 20 ms: the caller is asleep by then */
#define WB_T_HOLD 3u	/* never answered: the server marks it held */

struct wb_state {
	atomic_int held;
	mp_port_t port;
	pid_t srv;
};

static void wb_server(void *arg)
{
	struct wb_state *s = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, WB_PATH, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid = 0;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		if (r < 0)
			break;
		if (r == 1)
			continue;
		if (m.type == WB_T_HOLD) {
			atomic_store(&s->held, 1);
			continue;	/* the caller waits until we die */
		}
		if (m.type == WB_T_LATE)
			h_sleep_ms(20);
		m.o.size = 0;
		m.o.err = 7;
		CHECK_OK(mp_respond(port, &m, rid));
	}
}

static int wb_call(mp_port_t port, uint32_t type, int32_t *err)
{
	mp_msg_t m;
	int r;

	h_msg_init(&m);
	m.type = type;
	m.o.err = -1;
	/* far beyond the waits here, within the harness's limit: a call the
	 * wake-up or the hang-up never ends fails with -ETIMEDOUT */
	r = mp_send(port, &m, (int64_t)h_test_timeout_ms() * 1000000 / 2);
	*err = m.o.err;
	return r;
}

/* The child uses the port on a connection of its own; the inherited one
 * (the parent's) is closed as the child's, then the child exits. */
static void wb_child(void *arg)
{
	struct wb_state *s = arg;
	int32_t err;

	CHECK_OK(wb_call(s->port, WB_T_LATE, &err));
	CHECK_EQ(err, 7);
}

static void *wb_killer(void *arg)
{
	struct wb_state *s = arg;

	if (h_wait_ge(&s->held, 1, 10000))
		h_sleep_ms(100);	/* let the caller fall asleep (it passes either way) */
	kill(s->srv, SIGKILL);
	return NULL;
}

TEST(wait_blocked_caller_after_fork_child_is_woken_and_sees_death)
{
	struct wb_state *s = h_shared(sizeof(*s));
	mp_oid_t oid;
	pthread_t killer;
	pid_t child;
	int32_t err;

	s->srv = h_fork(wb_server, s);
	CHECK_OK(h_wait_lookup(WB_PATH, &oid, 10000));
	s->port = oid.port;
	/* this thread's connection: set up, WELCOME taken, a blocked wait done */
	for (int k = 0; k < 3; k++) {
		CHECK_OK(wb_call(s->port, k ? WB_T_LATE : WB_T_NOW, &err));
		CHECK_EQ(err, 7);
	}
	child = h_fork(wb_child, s);
	CHECK_EQ(h_reap(child, 10000), 0);
	/* woken by a late answer on the connection the child closed its copy of */
	for (int k = 0; k < 3; k++) {
		CHECK_OK(wb_call(s->port, WB_T_LATE, &err));
		CHECK_EQ(err, 7);
	}
	/* and the server's death ends a call it holds */
	CHECK_OK(pthread_create(&killer, NULL, wb_killer, s));
	CHECK_ERR(wb_call(s->port, WB_T_HOLD, &err), -EPIPE);
	pthread_join(killer, NULL);
	CHECK_EQ(h_reap(s->srv, 10000), 128 + SIGKILL);
}
