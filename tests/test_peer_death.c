/* SPDX-License-Identifier: MIT */
/* Peer death: kill -9 of a server with blocked callers, port destruction,
 * responds to dead or departed callers, receivers on a destroyed port. */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EPIPE_BOUND_NS 100000000	/* the 100 ms */

/* ------------------------------------------------------------ kill -9 */

#define K9_THREADS 4
#define K9_PROCS 2
#define K9_CLIENTS (K9_THREADS + K9_PROCS)
#define K9_HELD 3		/* calls the server receives and holds */

struct k9_state {
	atomic_int held;
	atomic_int started;
	mp_port_t port;
	_Atomic int64_t t_ret[K9_CLIENTS];
	atomic_int result[K9_CLIENTS];
	atomic_int returned;
};

static void k9_server(void *arg)
{
	struct k9_state *s = arg;
	mp_port_t port;
	mp_msg_t m[K9_HELD];
	mp_rid_t rid[K9_HELD];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/k9", 0666));
	for (int k = 0; k < K9_HELD; k++) {
		CHECK_ERR(mp_recv(port, &m[k], &rid[k], MP_FOREVER), 0);
		atomic_fetch_add(&s->held, 1);
	}
	for (;;)
		pause();
}

struct k9_client {
	struct k9_state *s;
	int idx;
};

static void k9_call(struct k9_state *s, int idx)
{
	unsigned char in[100], out[100];
	mp_msg_t m;
	int r;

	h_msg_init(&m);
	m.oid.port = s->port;
	memset(in, idx, sizeof(in));
	m.i.data = in;
	m.i.size = sizeof(in);
	m.o.data = out;
	m.o.size = sizeof(out);
	atomic_fetch_add(&s->started, 1);
	r = mp_send(s->port, &m, MP_FOREVER);
	atomic_store(&s->t_ret[idx], h_now_ns());
	atomic_store(&s->result[idx], r);
	atomic_fetch_add(&s->returned, 1);
}

static void *k9_thread(void *arg)
{
	struct k9_client *c = arg;

	k9_call(c->s, c->idx);
	return NULL;
}

static void k9_proc(void *arg)
{
	struct k9_client *c = arg;

	k9_call(c->s, c->idx);
}

TEST(death_kill9_callers_get_epipe_within_100ms)
{
	struct k9_state *s = h_shared(sizeof(*s));
	struct k9_client c[K9_CLIENTS];
	pthread_t th[K9_THREADS];
	pid_t procs[K9_PROCS];
	pid_t srv, srv2;
	mp_oid_t oid;
	int64_t t0;

	srv = h_fork(k9_server, s);
	CHECK_OK(h_wait_lookup("/k9", &oid, 10000));
	s->port = oid.port;
	for (int k = 0; k < K9_CLIENTS; k++) {
		c[k].s = s;
		c[k].idx = k;
		atomic_store(&s->result[k], 1000);
	}
	/* processes first: no fork while our threads run */
	for (int k = 0; k < K9_PROCS; k++)
		procs[k] = h_fork(k9_proc, &c[K9_THREADS + k]);
	for (int k = 0; k < K9_THREADS; k++)
		CHECK_OK(pthread_create(&th[k], NULL, k9_thread, &c[k]));
	CHECK(h_wait_ge(&s->held, K9_HELD, 10000));
	CHECK(h_wait_ge(&s->started, K9_CLIENTS, 10000));
	h_sleep_ms(300);	/* every caller is blocked by now */
	CHECK_EQ(atomic_load(&s->returned), 0);

	t0 = h_now_ns();
	kill(srv, SIGKILL);
	for (int k = 0; k < K9_THREADS; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < K9_PROCS; k++)
		CHECK_EQ(h_reap(procs[k], 10000), 0);
	CHECK_EQ(h_reap(srv, 10000), 128 + SIGKILL);
	for (int k = 0; k < K9_CLIENTS; k++) {
		int r = atomic_load(&s->result[k]);
		int64_t dt = atomic_load(&s->t_ret[k]) - t0;

		if (r != -EPIPE)
			FAIL("client %d (%s) returned %s, expected -EPIPE", k,
			     k < K9_THREADS ? "thread" : "process",
			     h_errname(r));
		if (dt > EPIPE_BOUND_NS)
			FAIL("client %d (%s) returned -EPIPE %.1f ms after "
			     "the kill (bound 100 ms)", k,
			     k < K9_THREADS ? "thread" : "process", dt / 1e6);
	}

	/* a new server registers the same path at once and serves */
	srv2 = h_fork(h_echo_server, "/k9");
	CHECK_OK(h_wait_lookup("/k9", &oid, 10000));
	CHECK_OK(h_echo_call(oid.port, 1, 64, 10000000000));
	CHECK_OK(h_echo_call(oid.port, 2, 5000, 10000000000));
	h_echo_quit(oid.port, srv2);
}

/* The restarted server's registration succeeds on its first try. */
static void restart_server(void *arg)
{
	atomic_int *reg = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	atomic_store(reg, mp_port_register(port, "/again", 0666) + 1000);
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;

		if (mp_recv(port, &m, &rid, MP_FOREVER) != 0)
			break;
		m.o.size = 0;
		m.o.err = (int32_t)getpid();
		mp_respond(port, &m, rid);
	}
}

TEST(death_idle_client_reaches_restarted_server)
{
	atomic_int *reg = h_shared(sizeof(*reg) * 2);
	mp_oid_t oid;
	mp_msg_t m;
	pid_t a, b;

	a = h_fork(restart_server, &reg[0]);
	CHECK(h_wait_ge(&reg[0], 1, 10000));
	CHECK_EQ(atomic_load(&reg[0]) - 1000, 0);
	CHECK_OK(mp_lookup("/again", &oid));
	h_msg_init(&m);
	CHECK_OK(mp_send(oid.port, &m, 10000000000));
	CHECK_EQ(m.o.err, a);
	/* the client holds a connection to a; a dies while it is idle */
	h_kill(a);
	b = h_fork(restart_server, &reg[1]);
	CHECK(h_wait_ge(&reg[1], 1, 10000));
	CHECK_EQ(atomic_load(&reg[1]) - 1000, 0);
	CHECK_OK(mp_lookup("/again", &oid));
	h_msg_init(&m);
	CHECK_OK(mp_send(oid.port, &m, 10000000000));
	CHECK_EQ(m.o.err, b);
	h_kill(b);
}

/* A call to a server that is already dead fails at once, even with
 * MP_FOREVER. */
TEST(death_call_to_dead_server_fails_fast)
{
	pid_t srv = h_fork(h_echo_server, "/gone");
	mp_oid_t oid;
	mp_msg_t m;
	int64_t t0;
	int r;

	CHECK_OK(h_wait_lookup("/gone", &oid, 10000));
	CHECK_OK(h_echo_call(oid.port, 1, 10, MP_FOREVER));
	h_kill(srv);
	for (int k = 0; k < 2; k++) {
		h_msg_init(&m);
		t0 = h_now_ms();
		r = mp_send(oid.port, &m, MP_FOREVER);
		if (r != -EPIPE && r != -ENOENT)
			FAIL("call to a dead server: %s, expected -EPIPE or "
			     "-ENOENT", h_errname(r));
		CHECK_LT(h_now_ms() - t0, 1000);
		h_msg_init(&m);
		r = mp_send_async(oid.port, &m, MP_FOREVER);
		if (r != -EPIPE && r != -ENOENT)
			FAIL("one-way to a dead server: %s, expected -EPIPE or "
			     "-ENOENT", h_errname(r));
	}
}

/* ---------------------------------------------------------- destroy */

#define DS_HELD 2
#define DS_QUEUED 2
#define DS_CLIENTS (DS_HELD + DS_QUEUED)

struct ds_state {
	atomic_int held;
	atomic_int started;
	atomic_int go;
	_Atomic int64_t t0;
	atomic_int after_respond;
	atomic_int after_recv;
	atomic_int after_fd;
	atomic_int after_destroy;
};

static void ds_server(void *arg)
{
	struct ds_state *s = arg;
	mp_port_t port;
	mp_msg_t m[DS_HELD];
	mp_rid_t rid[DS_HELD];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/ds", 0666));
	for (int k = 0; k < DS_HELD; k++) {
		CHECK_ERR(mp_recv(port, &m[k], &rid[k], MP_FOREVER), 0);
		atomic_fetch_add(&s->held, 1);
	}
	CHECK(h_wait_ge(&s->go, 1, 10000));
	atomic_store(&s->t0, h_now_ns());
	CHECK_OK(mp_port_destroy(port));
	/* the port and its rids are gone */
	m[0].o.size = 0;
	atomic_store(&s->after_respond, mp_respond(port, &m[0], rid[0]) + 1000);
	atomic_store(&s->after_recv, mp_recv(port, &m[1], &rid[1], 0) + 1000);
	atomic_store(&s->after_fd, mp_port_fd(port) + 1000);
	atomic_store(&s->after_destroy, mp_port_destroy(port) + 1000);
	h_sleep_ms(200);	/* stay alive: only the destroy may wake them */
}

struct ds_client {
	struct ds_state *s;
	mp_port_t port;
	int result;
	int64_t t_ret;
};

static void *ds_thread(void *arg)
{
	struct ds_client *c = arg;
	mp_msg_t m;

	h_msg_init(&m);
	atomic_fetch_add(&c->s->started, 1);
	c->result = mp_send(c->port, &m, MP_FOREVER);
	c->t_ret = h_now_ns();
	return NULL;
}

TEST(death_destroy_wakes_blocked_senders)
{
	struct ds_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(ds_server, s);
	struct ds_client c[DS_CLIENTS];
	pthread_t th[DS_CLIENTS];
	mp_oid_t oid;

	CHECK_OK(h_wait_lookup("/ds", &oid, 10000));
	for (int k = 0; k < DS_CLIENTS; k++) {
		c[k].s = s;
		c[k].port = oid.port;
		c[k].result = 1000;
		CHECK_OK(pthread_create(&th[k], NULL, ds_thread, &c[k]));
	}
	CHECK(h_wait_ge(&s->held, DS_HELD, 10000));
	CHECK(h_wait_ge(&s->started, DS_CLIENTS, 10000));
	h_sleep_ms(300);
	atomic_store(&s->go, 1);
	for (int k = 0; k < DS_CLIENTS; k++)
		pthread_join(th[k], NULL);
	CHECK_EQ(h_reap(srv, 10000), 0);
	for (int k = 0; k < DS_CLIENTS; k++) {
		int64_t dt = c[k].t_ret - atomic_load(&s->t0);

		if (c[k].result != -EPIPE)
			FAIL("client %d returned %s, expected -EPIPE", k,
			     h_errname(c[k].result));
		if (dt > EPIPE_BOUND_NS)
			FAIL("client %d returned %.1f ms after the destroy "
			     "(bound 100 ms)", k, dt / 1e6);
	}
	CHECK_EQ(atomic_load(&s->after_respond) - 1000, -ENOENT);
	/* a receive after the destroy: the header allows reading this as
	 * "no such port" (-ENOENT) or "the port was destroyed" (-EPIPE) */
	{
		int r = atomic_load(&s->after_recv) - 1000;

		if (r != -ENOENT && r != -EPIPE)
			FAIL("mp_recv on a destroyed port: %s", h_errname(r));
	}
	CHECK_EQ(atomic_load(&s->after_fd) - 1000, -ENOENT);
	CHECK_EQ(atomic_load(&s->after_destroy) - 1000, -ENOENT);
}

/* A thread blocked in mp_recv returns -EPIPE when another thread of its
 * process destroys the port. */
struct rw_arg {
	mp_port_t port;
	int64_t timeout;
	int result;
	int64_t t_ret;
};

static void *rw_thread(void *arg)
{
	struct rw_arg *a = arg;
	mp_msg_t m;
	mp_rid_t rid;

	a->result = mp_recv(a->port, &m, &rid, a->timeout);
	a->t_ret = h_now_ns();
	return NULL;
}

TEST(death_destroy_wakes_blocked_receivers)
{
	mp_port_t port;
	struct rw_arg a[3];
	pthread_t th[3];
	int64_t t0;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/rw", 0666));
	for (int k = 0; k < 3; k++) {
		a[k].port = port;
		a[k].timeout = k == 2 ? 20000000000 : MP_FOREVER;
		a[k].result = 1000;
		CHECK_OK(pthread_create(&th[k], NULL, rw_thread, &a[k]));
	}
	h_sleep_ms(300);
	t0 = h_now_ns();
	CHECK_OK(mp_port_destroy(port));
	for (int k = 0; k < 3; k++) {
		pthread_join(th[k], NULL);
		CHECK_ERR(a[k].result, -EPIPE);
		CHECK_LT(a[k].t_ret - t0, 2000000000);
	}
}

/* ------------------------------------------------- dead or gone callers */

struct dc_state {
	atomic_int held;
	atomic_int killed;
	atomic_int result;
};

static void dc_caller(void *arg)
{
	mp_oid_t oid;
	mp_msg_t m;
	char big[5000];

	(void)arg;
	CHECK_OK(mp_lookup("/dc", &oid));
	memset(big, 1, sizeof(big));
	h_msg_init(&m);
	m.i.data = big;
	m.i.size = sizeof(big);
	m.o.data = big;
	m.o.size = sizeof(big);
	mp_send(oid.port, &m, MP_FOREVER);
	FAIL("the call returned although nobody answered");
}

/* The server (this process) holds a call whose caller is SIGKILLed:
 * respond gives -EPIPE, and the port keeps serving. */
TEST(death_respond_to_dead_caller)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	pid_t cli;
	static char reply[5000];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/dc", 0666));
	cli = h_fork(dc_caller, NULL);
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.pid, cli);
	h_kill(cli);
	m.o.data = reply;
	m.o.size = sizeof(reply);
	CHECK_ERR(mp_respond(port, &m, rid), -EPIPE);
	/* the rid is used up */
	CHECK_ERR(mp_respond(port, &m, rid), -ENOENT);
	/* the caller's hang-up is not a message */
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	CHECK_ERR(mp_recv(port, &m, &rid, 200000000), -ETIMEDOUT);
	/* and another caller is served */
	cli = h_fork(dc_caller, NULL);
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.pid, cli);
	h_kill(cli);
	CHECK_OK(mp_port_destroy(port));
}

/* A caller that timed out: the server's respond gives -EPIPE and the
 * caller's next call gets its own answer, not the stale one. */
struct to_state {
	atomic_int held;
	atomic_int gave_up;
	atomic_int result;
};

static void to_server(void *arg)
{
	struct to_state *s = arg;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	char out[16];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/to", 0666));
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.type, 1);
	atomic_store(&s->held, 1);
	CHECK(h_wait_ge(&s->gave_up, 1, 10000));
	memset(out, 'S', sizeof(out));
	m.o.data = out;
	m.o.size = m.o.size < 16 ? m.o.size : 16;
	m.o.err = 1;
	atomic_store(&s->result, mp_respond(port, &m, rid) + 1000);
	for (int k = 2; k <= 3; k++) {
		CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
		CHECK_EQ(m.type, k);
		memset(out, 'N', sizeof(out));
		m.o.data = out;
		m.o.size = 4;
		m.o.err = k;
		CHECK_OK(mp_respond(port, &m, rid));
	}
	CHECK_OK(mp_port_destroy(port));
}

TEST(death_respond_to_timed_out_caller)
{
	struct to_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(to_server, s);
	mp_oid_t oid;
	mp_msg_t m;
	char out[16];

	CHECK_OK(h_wait_lookup("/to", &oid, 10000));
	h_msg_init(&m);
	m.type = 1;
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_ERR(mp_send(oid.port, &m, 200000000), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&s->held), 1);
	atomic_store(&s->gave_up, 1);
	for (int k = 2; k <= 3; k++) {
		memset(out, 0, sizeof(out));
		h_msg_init(&m);
		m.type = (uint32_t)k;
		m.o.data = out;
		m.o.size = sizeof(out);
		CHECK_OK(mp_send(oid.port, &m, 10000000000));
		CHECK_EQ(m.o.err, k);
		CHECK_EQ(m.o.size, 4);
		CHECK_MEM(out, "NNNN", 4);
	}
	CHECK_EQ(h_reap(srv, 10000), 0);
	CHECK_EQ(atomic_load(&s->result) - 1000, -EPIPE);
}

/* A server keeps serving other clients when one dies mid-call, and when
 * one dies with its call still queued. */
#define SV_ECHO 1u
#define SV_HOLD 2u
#define SV_QUIT 3u

struct sv_state {
	atomic_int held;
	atomic_int killed;
	atomic_int hold_result;
	atomic_int queued_calls;
	atomic_int queued_result;
	atomic_int started;
};

static void sv_server(void *arg)
{
	struct sv_state *s = arg;
	mp_port_t port;

	atomic_store(&s->queued_result, 1000);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/sv", 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		if (r == 1)
			continue;
		m.o.size = 0;
		m.o.err = (int32_t)m.type;
		if (m.type == SV_HOLD && atomic_load(&s->held) == 0) {
			atomic_store(&s->held, 1);
			CHECK(h_wait_ge(&s->killed, 1, 10000));
			atomic_store(&s->hold_result,
				     mp_respond(port, &m, rid) + 1000);
			continue;
		}
		if (m.type == SV_HOLD) {
			/* the second doomed caller, queued while we held
			 * the first: it is dead too */
			atomic_fetch_add(&s->queued_calls, 1);
			atomic_store(&s->queued_result,
				     mp_respond(port, &m, rid) + 1000);
			continue;
		}
		CHECK_OK(mp_respond(port, &m, rid));
		if (m.type == SV_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

static void sv_doomed(void *arg)
{
	struct sv_state *s = arg;
	mp_oid_t oid;
	mp_msg_t m;

	CHECK_OK(mp_lookup("/sv", &oid));
	h_msg_init(&m);
	m.type = SV_HOLD;
	atomic_fetch_add(&s->started, 1);
	mp_send(oid.port, &m, MP_FOREVER);
	pause();
}

static void sv_good(void *arg)
{
	mp_oid_t oid;
	mp_msg_t m;

	(void)arg;
	CHECK_OK(mp_lookup("/sv", &oid));
	for (int k = 0; k < 10; k++) {
		h_msg_init(&m);
		m.type = SV_ECHO;
		CHECK_OK(mp_send(oid.port, &m, 10000000000));
		CHECK_EQ(m.o.err, SV_ECHO);
	}
}

TEST(death_server_survives_client_death)
{
	struct sv_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(sv_server, s);
	pid_t a, b;
	mp_oid_t oid;
	mp_msg_t m;

	CHECK_OK(h_wait_lookup("/sv", &oid, 10000));
	a = h_fork(sv_doomed, s);
	CHECK(h_wait_ge(&s->held, 1, 10000));
	b = h_fork(sv_doomed, s);
	CHECK(h_wait_ge(&s->started, 2, 10000));
	h_sleep_ms(200);	/* b's call is queued by now */
	h_kill(a);
	h_kill(b);
	atomic_store(&s->killed, 1);
	/* other clients are served: this process, and another one */
	for (int k = 0; k < 10; k++) {
		h_msg_init(&m);
		m.type = SV_ECHO;
		CHECK_OK(mp_send(oid.port, &m, 10000000000));
		CHECK_EQ(m.o.err, SV_ECHO);
	}
	CHECK_EQ(h_reap(h_fork(sv_good, NULL), 10000), 0);
	CHECK_EQ(atomic_load(&s->hold_result) - 1000, -EPIPE);
	/* b's queued call was either dropped or answered with -EPIPE */
	if (atomic_load(&s->queued_calls))
		CHECK_EQ(atomic_load(&s->queued_result) - 1000, -EPIPE);
	h_msg_init(&m);
	m.type = SV_QUIT;
	CHECK_OK(mp_send(oid.port, &m, 10000000000));
	CHECK_EQ(h_reap(srv, 10000), 0);
}

/* A one-way sender blocked on a full queue gets -EPIPE when the server
 * dies (nothing blocks forever on a dead peer). */
struct full_state {
	atomic_int ready;
	atomic_int blocked;
	atomic_int result;
	_Atomic int64_t t_ret;
};

static void full_server(void *arg)
{
	struct full_state *s = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/full", 0666));
	atomic_store(&s->ready, 1);
	for (;;)
		pause();
}

TEST(death_blocked_oneway_sender_gets_epipe)
{
	struct full_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(full_server, s);
	mp_oid_t oid;
	mp_msg_t m;
	int r = 1, n = 0;
	int64_t t0;

	CHECK(h_wait_ge(&s->ready, 1, 10000));
	CHECK_OK(mp_lookup("/full", &oid));
	h_msg_init(&m);
	while (n < 200000 && (r = mp_send_async(oid.port, &m, 0)) == 1) {
		h_msg_init(&m);
		n++;
	}
	CHECK_ERR(r, -EAGAIN);
	/* the queue is full: a send with a limit of 20 s blocks until the
	 * server's death */
	{
		pid_t killer;

		fflush(NULL);
		killer = fork();
		CHECK_GE(killer, 0);
		if (killer == 0) {
			h_sleep_ms(300);
			kill(srv, SIGKILL);
			_exit(0);
		}
		h_msg_init(&m);
		t0 = h_now_ns();
		r = mp_send_async(oid.port, &m, 20000000000);
		CHECK_ERR(r, -EPIPE);
		CHECK_LT(h_now_ns() - t0, 300000000 + 1000000000);
		CHECK_EQ(h_reap(killer, 10000), 0);
	}
	CHECK_EQ(h_reap(srv, 10000), 128 + SIGKILL);
}

/* Restart race: a client spins on mp_lookup while a killed server's
 * successor starts up on the same path.  Whenever the lookup succeeds,
 * the entry must be the successor's and it must be callable: a stale
 * entry must not look live, not even for a moment, while the successor
 * sets up the port number it inherited. */
static int race_owner_cb(const mp_ns_entry_t *e, void *arg)
{
	int32_t *owner = arg;

	if (strcmp(e->path, "/race") == 0 && e->live)
		*owner = e->owner_pid;
	return 0;
}

TEST(death_restart_lookup_is_never_premature)
{
	for (int round = 0; round < 40; round++) {
		pid_t srv = h_fork(h_echo_server, "/race");
		mp_oid_t oid;
		int64_t end = h_now_ms() + 10000;
		int32_t owner = 0;
		int r;

		while ((r = mp_lookup("/race", &oid)) != 0) {
			if (r != -ENOENT)
				FAIL("round %d: lookup %s", round, h_errname(r));
			if (h_now_ms() > end)
				FAIL("round %d: the server never registered",
				     round);
		}
		mp_ns_list("/race", race_owner_cb, &owner);
		r = h_echo_call(oid.port, (uint32_t)round, 16, 10000000000);
		if (r != 0)
			FAIL("round %d: lookup found port %u but a call to it "
			     "returned %s (a moment later the entry's live owner pid was %d, 0: none; "
			     "the new server is pid %d)", round, oid.port,
			     h_errname(r), (int)owner, (int)srv);
		h_kill(srv);
	}
}
