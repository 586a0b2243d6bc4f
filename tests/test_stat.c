/* SPDX-License-Identifier: MIT */
/* Live introspection: mp_stat()'s counters and clients, msgport stat/top. */
#include "harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_CALLS 5
#define M_ONEWAYS 3
#define P_PULSES 2
#define CALL_LEN 100
#define ONEWAY_LEN 10

struct shared {
	mp_port_t port;
	atomic_int step;
};

static void one_call(mp_port_t port, size_t len)
{
	CHECK_OK(h_echo_call(port, 1, len, MP_FOREVER));
}

static void traffic_client(void *arg)
{
	struct shared *s = arg;
	char buf[ONEWAY_LEN] = "oneway";
	mp_msg_t m;

	for (int k = 0; k < N_CALLS; k++)
		one_call(s->port, CALL_LEN);
	for (int k = 0; k < M_ONEWAYS; k++) {
		h_msg_init(&m);
		m.type = H_T_ECHO;
		m.oid.port = s->port;
		m.i.data = buf;
		m.i.size = sizeof(buf);
		CHECK(mp_send_async(s->port, &m, MP_FOREVER) >= 0);
	}
	for (int k = 0; k < P_PULSES; k++)
		CHECK_OK(mp_pulse(s->port, 10 + (uint32_t)k, 1));	/* codes differ: none merge */
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
}

/* Serve until want calls, one-ways and pulses came (echoing calls). */
static void serve(mp_port_t port, int calls, int oneways, int pulses)
{
	int64_t end = h_now_ms() + h_test_timeout_ms();

	while (calls || oneways || pulses) {
		mp_msg_t m;
		mp_rid_t rid = 0;
		unsigned char out[CALL_LEN];
		int r = mp_recv(port, &m, &rid, 100 * 1000000ll);

		CHECK_LT(h_now_ms(), end);
		if (r == -ETIMEDOUT)
			continue;
		CHECK_GE(r, 0);
		if (r == 0) {
			CHECK_LE(m.i.size, sizeof(out));
			memcpy(out, m.i.data, m.i.size);
			memcpy(m.o.raw, m.i.raw, MP_RAW_SIZE);
			m.o.data = out;
			m.o.size = m.i.size;
			m.o.err = 0;
			CHECK_OK(mp_respond(port, &m, rid));
			calls--;
		} else if (r == 1) {
			oneways--;
		} else {
			pulses--;
		}
	}
}

static const mp_stat_client_t *find_client(const mp_stat_t *st, pid_t pid)
{
	for (uint32_t k = 0; k < st->nlisted; k++)
		if (st->clients[k].pid == pid)
			return &st->clients[k];
	return NULL;
}

/* The transport MSGPORT_TRANSPORT asks for, when it names one. */
static uint32_t env_transport(void)
{
	const char *t = getenv("MSGPORT_TRANSPORT");

	if (!t)
		return 0;
	return !strcmp(t, "sock") ? MP_TRANSPORT_SOCK : !strcmp(t, "ring") ? MP_TRANSPORT_RING
	       : !strcmp(t, "hybrid") ? MP_TRANSPORT_HYBRID : 0;
}

/* Receive (with short timeouts, so hang-ups are seen) until pid's entry
 * is gone; true when it went. */
static bool wait_client_gone(mp_port_t port, const char *path, pid_t pid, mp_stat_t *st)
{
	int64_t end = h_now_ms() + h_test_timeout_ms();

	while (h_now_ms() < end) {
		mp_msg_t m;
		mp_rid_t rid;

		CHECK_OK(mp_stat(path, st));
		if (!find_client(st, pid))
			return true;
		CHECK_ERR(mp_recv(port, &m, &rid, 50 * 1000000ll), -ETIMEDOUT);
	}
	return false;
}

TEST(stat_counts_traffic_and_lists_clients)
{
	struct shared *s = h_shared(sizeof(*s));
	mp_stat_t *st = malloc(sizeof(*st));
	const mp_stat_client_t *cl;
	bool seen_tp = false;
	pid_t pid;

	CHECK(st != NULL);
	CHECK_OK(mp_port_create(&s->port));
	CHECK_OK(mp_port_register(s->port, "/stat/a", 0600));
	CHECK_OK(mp_stat("/stat/a", st));
	CHECK_EQ(st->calls + st->oneways + st->pulses + st->nclients, 0);
	pid = h_fork(traffic_client, s);
	serve(s->port, N_CALLS, M_ONEWAYS, P_PULSES);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
	CHECK_OK(mp_stat("/stat/a", st));
	CHECK_EQ(st->port, s->port);
	CHECK_EQ(st->pid, getpid());
	CHECK_EQ(st->uid, geteuid());
	CHECK_EQ(st->calls, N_CALLS);
	CHECK_EQ(st->oneways, M_ONEWAYS);
	CHECK_EQ(st->pulses, P_PULSES);
	CHECK_EQ(st->bytes_in, N_CALLS * CALL_LEN + M_ONEWAYS * ONEWAY_LEN);
	CHECK_EQ(st->bytes_out, N_CALLS * CALL_LEN);
	CHECK_EQ(st->held, 0);
	/* one entry for the client, though its pulses have a connection of
	 * their own */
	CHECK_EQ(st->nclients, 1);
	CHECK_EQ(st->nlisted, 1);
	CHECK(find_client(st, pid) != NULL);
	for (uint32_t k = 0; k < st->nlisted; k++) {
		cl = &st->clients[k];
		CHECK_EQ(cl->pid, pid);
		CHECK_EQ(cl->uid, geteuid());
		if (cl->transport == env_transport())
			seen_tp = true;
	}
	CHECK(seen_tp || !env_transport());	/* the calls' connection */
	atomic_store(&s->step, 2);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK(wait_client_gone(s->port, "/stat/a", pid, st));
	CHECK_EQ(st->nclients, 0);
	CHECK_EQ(st->calls, N_CALLS);	/* counts stay */
	CHECK_OK(mp_port_destroy(s->port));
	CHECK_ERR(mp_stat("/stat/a", st), -ENOENT);
	free(st);
}

#define Q_PULSES 3

static void pulse_client(void *arg)
{
	struct shared *s = arg;

	for (int k = 0; k < Q_PULSES; k++)
		CHECK_OK(mp_pulse(s->port, 20 + (uint32_t)k, 1));	/* codes differ: none merge */
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
}

/* Receive until a pulse comes (the client's connections come first). */
static void recv_pulse(mp_port_t port)
{
	mp_msg_t m;
	mp_rid_t rid;
	int r;

	do
		r = mp_recv(port, &m, &rid, h_test_timeout_ms() * 1000000ll);
	while (r == 1 || r == 0);
	CHECK_EQ(r, MP_RECV_PULSE);
}

TEST(stat_queue_depth_while_the_server_does_not_receive)
{
	struct shared *s = h_shared(sizeof(*s));
	mp_stat_t *st = malloc(sizeof(*st));
	pid_t pid;

	CHECK(st != NULL);
	CHECK_OK(mp_port_create(&s->port));
	CHECK_OK(mp_port_register(s->port, "/stat/q", 0600));
	pid = h_fork(pulse_client, s);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));	/* all pulsed */
	recv_pulse(s->port);	/* one taken: the board drained, the rest wait */
	CHECK_OK(mp_stat("/stat/q", st));
	CHECK_EQ(st->queued, Q_PULSES - 1);
	CHECK_EQ(st->nclients, 1);	/* the pulsing client, once */
	CHECK_EQ(st->nlisted, 1);
	CHECK_EQ(st->clients[0].pid, pid);
	for (int k = 1; k < Q_PULSES; k++)
		recv_pulse(s->port);
	CHECK_OK(mp_stat("/stat/q", st));
	CHECK_EQ(st->queued, 0);
	CHECK_EQ(st->pulses, Q_PULSES);
	atomic_store(&s->step, 2);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
	free(st);
}

#define K_PAGES 4

/* Call with K_PAGES shared pages (the server keeps them mapped), then
 * free them and call again (the server forgets them). */
static void kept_client(void *arg)
{
	struct shared *s = arg;
	size_t len = K_PAGES * 4096u;
	char *pg = mp_pages_alloc(len);
	char out[8];
	mp_msg_t m;

	CHECK(pg != NULL);
	memset(pg, 7, len);
	h_msg_init(&m);
	m.type = H_T_ECHO;
	m.oid.port = s->port;
	m.i.data = pg;
	m.i.size = 8;
	m.flags = MP_SHARE;
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(s->port, &m, MP_FOREVER));
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
	CHECK_OK(mp_pages_free(pg, len));
	one_call(s->port, 8);
	atomic_store(&s->step, 3);
	CHECK(h_wait_ge(&s->step, 4, h_test_timeout_ms()));
}

TEST(stat_kept_pages_count_up_and_down)
{
	struct shared *s = h_shared(sizeof(*s));
	mp_stat_t *st = malloc(sizeof(*st));
	bool keeps = env_transport() == MP_TRANSPORT_RING || env_transport() == MP_TRANSPORT_HYBRID;
	pid_t pid;

	CHECK(st != NULL);
	CHECK_OK(mp_port_create(&s->port));
	CHECK_OK(mp_port_register(s->port, "/stat/kept", 0600));
	CHECK_OK(mp_stat("/stat/kept", st));
	CHECK_EQ(st->kept_pages, 0);
	pid = h_fork(kept_client, s);
	serve(s->port, 1, 0, 0);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
	CHECK_OK(mp_stat("/stat/kept", st));
	CHECK_EQ(st->kept_pages, (keeps ? K_PAGES : 0));	/* sock maps them per message */
	atomic_store(&s->step, 2);
	serve(s->port, 1, 0, 0);	/* the call after the free says: forget them */
	CHECK(h_wait_ge(&s->step, 3, h_test_timeout_ms()));
	CHECK_OK(mp_stat("/stat/kept", st));
	CHECK_EQ(st->kept_pages, 0);
	atomic_store(&s->step, 4);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
	free(st);
}

static void held_client(void *arg)
{
	struct shared *s = arg;

	one_call(s->port, 8);
}

TEST(stat_held_rid_while_a_call_is_unanswered)
{
	struct shared *s = h_shared(sizeof(*s));
	mp_stat_t *st = malloc(sizeof(*st));
	unsigned char out[8];
	mp_msg_t m;
	mp_rid_t rid = 0;
	pid_t pid;
	int r;

	CHECK(st != NULL);
	CHECK_OK(mp_port_create(&s->port));
	CHECK_OK(mp_port_register(s->port, "/stat/held", 0600));
	pid = h_fork(held_client, s);
	do
		r = mp_recv(s->port, &m, &rid, h_test_timeout_ms() * 1000000ll);
	while (r == 1 || r == MP_RECV_PULSE);
	CHECK_EQ(r, 0);
	CHECK_OK(mp_stat("/stat/held", st));
	CHECK_EQ(st->calls, 1);
	CHECK_EQ(st->held, 1);
	memcpy(out, m.i.data, m.i.size);
	memcpy(m.o.raw, m.i.raw, MP_RAW_SIZE);
	m.o.data = out;
	m.o.size = m.i.size;
	m.o.err = 0;
	CHECK_OK(mp_respond(s->port, &m, rid));
	CHECK_OK(mp_stat("/stat/held", st));
	CHECK_EQ(st->held, 0);
	CHECK_EQ(st->bytes_out, 8);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
	free(st);
}

TEST(stat_bad_input)
{
	mp_stat_t *st = malloc(sizeof(*st));
	mp_port_t port;

	CHECK(st != NULL);
	CHECK_ERR(mp_stat(NULL, st), -EINVAL);
	CHECK_ERR(mp_stat("/stat/x", NULL), -EINVAL);
	CHECK_ERR(mp_stat("relative", st), -EINVAL);
	CHECK_ERR(mp_stat("/stat/none", st), -ENOENT);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/stat/x", 0600));
	CHECK_OK(mp_stat("/stat/x", st));
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_stat("/stat/x", st), -ENOENT);	/* gone with its port */
	free(st);
}

#define D_ONEWAYS 5	/* the tool's check below says 5 */

static int tool(const char *args);

/* Connected (its first call answered), then, when told, D_ONEWAYS
 * one-ways that the server does not take yet. */
static void depth_oneway_client(void *arg)
{
	struct shared *s = arg;
	char buf[ONEWAY_LEN] = "depth";
	mp_msg_t m;

	one_call(s->port, 8);
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
	for (int k = 0; k < D_ONEWAYS; k++) {
		h_msg_init(&m);
		m.type = H_T_ECHO;
		m.oid.port = s->port;
		m.i.data = buf;
		m.i.size = sizeof(buf);
		CHECK(mp_send_async(s->port, &m, MP_FOREVER) >= 0);
	}
	atomic_store(&s->step, 3);
	CHECK(h_wait_ge(&s->step, 4, h_test_timeout_ms()));
}

/* Connected, then, when told, a call that blocks until the server takes it. */
static void depth_call_client(void *arg)
{
	struct shared *s = arg;

	one_call(s->port, 8);
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
	one_call(s->port, 8);
	CHECK(h_wait_ge(&s->step, 4, h_test_timeout_ms()));	/* still connected */
}

static int listed(const mp_stat_t *st, pid_t pid)
{
	for (uint32_t k = 0; k < st->nlisted; k++)
		if (st->clients[k].pid == pid)
			return (int)k;
	return -1;
}

/* Until pid's queue holds something (its call is sent). */
static int wait_depth(const char *path, pid_t pid, mp_stat_t *st)
{
	int64_t end = h_now_ms() + h_test_timeout_ms() / 2;	/* then fail, not time out */
	int k;

	for (;;) {
		CHECK_OK(mp_stat(path, st));
		k = listed(st, pid);
		CHECK_GE(k, 0);
		if (st->depth_bytes[k] > 0 || h_now_ms() > end)
			return k;
		h_sleep_ms(1);
	}
}

/* What a client's queue must show: n messages on a ring; on a socket the
 * kernel gives bytes only (at least the data's), the count not known. */
static void check_depth(const mp_stat_t *st, int k, int64_t n, int64_t data)
{
	if (st->clients[k].transport == MP_TRANSPORT_SOCK) {
		CHECK_EQ(st->depth[k], (n ? -1 : 0));
		CHECK_GE(st->depth_bytes[k], data);
		if (!n)
			CHECK_EQ(st->depth_bytes[k], 0);
	} else {
		CHECK_EQ(st->depth[k], n);
		CHECK_GE(st->depth_bytes[k], n * 64);	/* whole slots */
		if (!n)
			CHECK_EQ(st->depth_bytes[k], 0);
	}
}

TEST(stat_depth_of_calls_and_oneways_not_taken)
{
	struct shared *a = h_shared(sizeof(*a)), *b = h_shared(sizeof(*b));
	mp_stat_t *st = malloc(sizeof(*st));
	pid_t pa, pb;
	int ka, kb;

	CHECK(st != NULL);
	CHECK_OK(mp_port_create(&a->port));
	b->port = a->port;
	CHECK_OK(mp_port_register(a->port, "/stat/depth", 0600));
	CHECK_OK(mp_stat("/stat/depth", st));
	CHECK_EQ(st->waiting, 0);
	CHECK_EQ(st->waiting_bytes, 0);
	pa = h_fork(depth_oneway_client, a);
	pb = h_fork(depth_call_client, b);
	serve(a->port, 2, 0, 0);	/* both connected, on their transport */
	CHECK(h_wait_ge(&a->step, 1, h_test_timeout_ms()));
	CHECK(h_wait_ge(&b->step, 1, h_test_timeout_ms()));
	atomic_store(&a->step, 2);	/* now the server stops receiving */
	CHECK(h_wait_ge(&a->step, 3, h_test_timeout_ms()));	/* all sent, none taken */
	atomic_store(&b->step, 2);
	kb = wait_depth("/stat/depth", pb, st);	/* its second call waits */
	ka = listed(st, pa);
	CHECK_GE(ka, 0);
	check_depth(st, ka, D_ONEWAYS, D_ONEWAYS * ONEWAY_LEN);
	check_depth(st, kb, 1, 8);
	if (st->clients[ka].transport != MP_TRANSPORT_SOCK &&
	    st->clients[kb].transport != MP_TRANSPORT_SOCK) {
		CHECK_EQ(st->waiting, D_ONEWAYS + 1);
		CHECK_EQ(st->waiting_bytes, st->depth_bytes[ka] + st->depth_bytes[kb]);
	} else {
		CHECK_EQ(st->waiting, -1);	/* a socket's count is not known */
	}
	CHECK_EQ(st->queued, 0);	/* pulses only */
	/* another process sees the same (the tool, not the server) */
	if (st->clients[ka].transport == MP_TRANSPORT_SOCK)
		CHECK_EQ(tool("stat /stat/depth --json | grep -q '\"depth\": -1, '"), 0);
	else
		CHECK_EQ(tool("stat /stat/depth --json | grep -q '\"depth\": 5, '"), 0);
	serve(a->port, 1, D_ONEWAYS, 0);
	CHECK_OK(mp_stat("/stat/depth", st));
	ka = listed(st, pa);
	kb = listed(st, pb);
	CHECK_GE(ka, 0);
	CHECK_GE(kb, 0);
	check_depth(st, ka, 0, 0);
	check_depth(st, kb, 0, 0);
	CHECK_EQ(st->waiting, 0);
	CHECK_EQ(st->waiting_bytes, 0);
	atomic_store(&a->step, 4);
	atomic_store(&b->step, 4);
	CHECK_EQ(h_reap(pa, h_test_timeout_ms()), 0);
	CHECK_EQ(h_reap(pb, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(a->port));
	free(st);
}

/* ------------------------------------------------------------- the tool */

static int tool(const char *args)
{
	const char *t = getenv("MSGPORT_TOOL");
	char cmd[PATH_MAX * 2];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s", t ? t : "build/msgport", args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Each line of the tool's output must be a JSON object (python3's json). */
#define JSON_LINES "| python3 -c 'import json,sys; ls=[json.loads(l) for l in sys.stdin]; " \
		   "sys.exit(0 if ls and all(isinstance(o, dict) for o in ls) else 1)'"

TEST(stat_tool_json)
{
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/stat/tool", 0600));
	CHECK_EQ(tool("stat /stat/tool --json | python3 -m json.tool >/dev/null"), 0);
	CHECK_EQ(tool("stat /stat/tool >/dev/null"), 0);
	CHECK_EQ(tool("stat /stat/tool | grep -q '^queued  *0$'"), 0);
	CHECK_EQ(tool("stat /stat/tool | grep -q '^kept pages 0$'"), 0);
	CHECK_EQ(tool("stat /stat/tool --json | python3 -c 'import json,sys; o=json.load(sys.stdin); "
		      "sys.exit(0 if o[\"queued\"] == 0 and o[\"kept_pages\"] == 0 and "
		      "o[\"waiting\"] == 0 and o[\"waiting_bytes\"] == 0 else 1)'"), 0);
	CHECK_EQ(tool("stat /stat/tool | grep -q '^waiting    0 (0 bytes)$'"), 0);
	CHECK_EQ(tool("top -n 2 --json " JSON_LINES), 0);
	CHECK_EQ(tool("top -n 2 --json | grep -c '\"path\": \"/stat/tool\"' | grep -qx 2"), 0);
	CHECK_EQ(tool("stat /stat/none 2>/dev/null"), 1);
	CHECK_EQ(tool("stat 2>/dev/null"), 2);
	CHECK_OK(mp_port_destroy(port));
}
