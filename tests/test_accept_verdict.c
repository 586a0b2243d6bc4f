/* SPDX-License-Identifier: MIT */
/*
 * The server's verdict at accept reaches the first operation on a
 * connection (conn/verdict.h): a one-way, a call or a started call on a
 * connection the server refuses fails with the refusal's error (-ENOBUFS
 * for a memory limit below a connection's setup, -EUSERS for a uid at
 * its connection limit), never 0 (a one-way lost) nor -EPIPE; a pulse,
 * which never blocks, at the latest with the next one.  The server sees
 * none of them, nothing leaks on either side, and once the cause is gone
 * the same client's next one-way arrives.  A server that never accepts
 * costs only the first one-way the bounded wait.
 */
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_multiuser.h"

#define V_LOW_MEM "65536"	/* below the ~560 KiB a connection's setup is charged */

/* Wait (up to 10 s) until process pid holds n descriptors again. */
static void v_fds_settle(pid_t pid, int n)
{
	for (int tries = 0; h_count_fds_of(pid) != n; tries++) {
		CHECK_LT(tries, 1000);
		h_sleep_ms(10);
	}
}

static int v_oneway(mp_port_t port)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = 7;
	return mp_send_async(port, &m, MP_FOREVER);
}

static int v_call(mp_port_t port)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = 7;
	return mp_send(port, &m, MP_FOREVER);
}

static int v_started(mp_port_t port)
{
	mp_call_t *call;
	mp_msg_t m;
	int err;

	h_msg_init(&m);
	m.type = 7;
	err = mp_call_start(port, &m, &call);
	if (err)
		return err;
	return mp_call_finish(call, MP_FOREVER);
}

/* A pulse never blocks: the first one on a new board may be written
 * before the server's verdict; the refusal is said by the next, never
 * hidden for longer (within 10 s). */
static void v_pulse_refused(mp_port_t port, int err)
{
	int r = mp_pulse(port, 3, 9);

	CHECK(r == 0 || r == err);
	for (int tries = 0; r == 0; tries++) {
		CHECK_LT(tries, 1000);
		h_sleep_ms(10);
		r = mp_pulse(port, 3, 9);
	}
	CHECK_ERR(r, err);
}

/* Each first operation, each on a new connection, says err. */
static void v_all_refused(mp_port_t port, int err)
{
	CHECK_ERR(v_oneway(port), err);	/* first: nothing before it */
	CHECK_ERR(v_oneway(port), err);
	CHECK_ERR(v_call(port), err);
	CHECK_ERR(v_started(port), err);
	v_pulse_refused(port, err);
}

/* ------------------------------------------------ memory below setup */

static atomic_int *g_seen;

/* A server whose every connection's setup is over its memory limit. */
static void v_low_mem_server(void *path)
{
	mp_port_t port;

	CHECK_OK(setenv("MSGPORT_CONN_MEM_MAX", V_LOW_MEM, 1));	/* read at the first accept */
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		atomic_fetch_add(g_seen, 1);
		if (r == 0)
			CHECK_OK(mp_respond(port, &m, rid));
	}
}

TEST(accept_verdict_low_mem_enobufs)
{
	pid_t pid;
	mp_port_t port;
	int fds0, srv0;

	g_seen = h_shared(sizeof(*g_seen));
	port = h_server_start(v_low_mem_server, "/verdict-mem", &pid);
	fds0 = h_count_fds();
	srv0 = h_count_fds_of(pid);
	CHECK_GE(srv0, 0);
	v_all_refused(port, -ENOBUFS);
	CHECK_EQ(atomic_load(g_seen), 0);
	CHECK_EQ(h_count_fds(), fds0);	/* every refused connection closed */
	v_fds_settle(pid, srv0);
	h_kill(pid);
}

/* ------------------------------------ connections per uid, then freed */

struct v_hog {
	char root[PATH_MAX];
	struct mu_srv *s;
};

/* A uid at its connection limit: its one-way first is refused with
 * -EUSERS; once it let go of the connections it holds, its next one-way
 * (a new connection) arrives. */
static void v_hog(void *arg)
{
	struct v_hog *h = arg;
	int held[MP_PORT_CONN_PER_UID_MAX], fds0 = h_count_fds(), r;

	for (int k = 0; k < MP_PORT_CONN_PER_UID_MAX; k++)
		CHECK_OK(mu_raw_connect(h->root, h->s->port, &held[k]));
	for (int k = 0; k < MP_PORT_CONN_PER_UID_MAX; k++)
		CHECK_EQ(mu_raw_closed(held[k], 0), 0);
	v_all_refused(h->s->port, -EUSERS);
	CHECK_EQ(atomic_load(&h->s->calls), 0);
	for (int k = 0; k < MP_PORT_CONN_PER_UID_MAX; k++)
		close(held[k]);
	CHECK_EQ(h_count_fds(), fds0);
	/* the server reaps the hang-ups in its own time */
	for (int tries = 0; (r = v_oneway(h->s->port)) == -EUSERS; tries++) {
		CHECK_LT(tries, 1000);
		h_sleep_ms(10);
	}
	CHECK_GE(r, 0);
	for (int tries = 0; atomic_load(&h->s->calls) != 1; tries++) {
		CHECK_LT(tries, 1000);
		h_sleep_ms(10);
	}
	CHECK_OK(v_call(h->s->port));	/* the same connection goes on */
	CHECK_EQ(atomic_load(&h->s->calls), 2);
}

TEST(accept_verdict_uid_limit_then_freed)
{
	struct v_hog *h = h_shared(sizeof(*h));
	pid_t pid;
	int srv0;

	mu_shared_root(h->root);
	h->s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(h->s);
	srv0 = h_count_fds_of(pid);
	CHECK_GE(srv0, 0);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, v_hog, h);
	v_fds_settle(pid, srv0);
	mu_srv_stop(h->s, pid);
}

/* ------------------------------------------- a server that never accepts */

/* A port whose server never receives, so never accepts: the first
 * one-way waits for the verdict no longer than its bound (250 ms), then is
 * queued as before (1); the next ones do not wait; once the server is
 * gone the connection is too. */
static void v_idle_server(void *path)
{
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;)
		pause();
}

TEST(accept_verdict_never_accepted_bounded)
{
	pid_t pid;
	mp_port_t port = h_server_start(v_idle_server, "/verdict-idle", &pid);
	int fds0 = h_count_fds();
	mp_msg_t m;
	int64_t t0;

	h_msg_init(&m);
	t0 = h_now_ms();
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), 1);
	CHECK_GE(h_now_ms() - t0, 240);	/* it did wait for the verdict */
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), 1);
	CHECK_ERR(mp_send_async(port, &m, 0), 1);
	h_kill(pid);
	CHECK_ERR(mp_send_async(port, &m, 0), -EPIPE);	/* its hang-up, then no server */
	CHECK_EQ(h_count_fds(), fds0);
}
