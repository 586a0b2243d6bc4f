/* SPDX-License-Identifier: MIT */
/*
 * Priorities (msgport.h, "Priorities"): received best first, in order
 * per sender; a request never raises the thread's; the server clamps what
 * a peer claims to what its process could give its threads; a port with
 * MP_PORT_PRIO_INHERIT runs its handler at the caller's priority.
 */
#include "harness.h"
#include "test_multiuser.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/wire.h"

#define T_WARM 1u	/* a call that sets up the thread's connection */
#define T_WORK 2u	/* the call or one-way whose order is checked */
#define NSEND 32

struct sender {
	mp_port_t port;
	uint32_t tag, prio;	/* requested priority */
	int oneways;		/* 0: one call; else this many one-ways, seq in raw */
	pid_t tid;
	atomic_int *warm, *go, *sent;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	mp_msg_t m;

	s->tid = (pid_t)gettid();
	h_msg_init(&m);
	m.type = T_WARM;
	CHECK_OK(mp_send(s->port, &m, MP_FOREVER));
	atomic_fetch_add(s->warm, 1);
	while (!atomic_load(s->go))
		h_sleep_ms(1);
	for (int k = 0; k < (s->oneways ? s->oneways : 1); k++) {
		h_msg_init(&m);
		m.type = T_WORK;
		m.priority = s->oneways ? s->prio + (uint32_t)(k % 2) * (MP_PRIO_MAX - s->prio) : s->prio;
		memcpy(m.i.raw, &s->tag, sizeof(s->tag));
		memcpy(m.i.raw + 4, &k, sizeof(k));
		if (s->oneways) {
			CHECK_GE(mp_send_async(s->port, &m, MP_FOREVER), 0);
			atomic_fetch_add(s->sent, 1);
		} else {
			atomic_fetch_add(s->sent, 1);
			CHECK_OK(mp_send(s->port, &m, MP_FOREVER));
		}
	}
	return NULL;
}

/* The scale's default (4) is nice 0, which these tests assume: they run
 * at it whatever nice the suite was started with (nice -n 10 make test),
 * as root may; the threads and children they start inherit it. */
static void at_nice_zero(void)
{
	CHECK_OK(setpriority(PRIO_PROCESS, 0, 0));
}

/* Answer n warm-up calls. */
static void warm_serve(mp_port_t port, int n)
{
	for (int k = 0; k < n; k++) {
		mp_msg_t m;
		mp_rid_t rid;

		CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), 0);
		CHECK_EQ(m.type, T_WARM);
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
	}
}

/* Whether thread tid sleeps (a caller that published its call and waits). */
static bool thread_sleeps(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool r = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);	/* any process's thread */
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		r = p[1] == ' ' && p[2] == 'S';
	fclose(f);
	return r;
}

/* Every caller in its call: asleep in it (generous: a loaded machine). */
static void callers_wait(struct sender *s, int n)
{
	for (int64_t end = h_now_ms() + 20000; h_now_ms() < end;) {
		int asleep = 0;

		for (int k = 0; k < n; k++)
			asleep += thread_sleeps(s[k].tid);
		if (asleep == n)
			break;
		h_sleep_ms(10);
	}
	h_sleep_ms(50);
}

/* A high-priority caller queued behind 31 low-priority callers (of
 * different priorities too) is received first; then best first. */
TEST(prio_high_caller_first_behind_31_low)
{
	mp_port_t port;
	struct sender s[NSEND];
	pthread_t th[NSEND];
	atomic_int warm = 0, go = 0, sent = 0;
	uint32_t last = 0;

	at_nice_zero();
	CHECK_OK(mp_port_create(&port));
	for (int k = 0; k < NSEND; k++) {
		/* the last one sends at the thread's own (4); the others ask
		 * for less: 5, 6, 7 */
		s[k] = (struct sender){ .port = port, .tag = (uint32_t)k,
					.prio = k == NSEND - 1 ? 0 : 5 + (uint32_t)k % 3,
					.warm = &warm, .go = &go, .sent = &sent };
		CHECK_OK(pthread_create(&th[k], NULL, sender_main, &s[k]));
	}
	warm_serve(port, NSEND);
	CHECK(h_wait_ge(&warm, NSEND, 30000));
	atomic_store(&go, 1);
	CHECK(h_wait_ge(&sent, NSEND, 30000));
	callers_wait(s, NSEND);
	for (int k = 0; k < NSEND; k++) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t tag;

		CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), 0);
		memcpy(&tag, m.i.raw, sizeof(tag));
		CHECK_LT(tag, NSEND);
		if (k == 0)
			CHECK_EQ(tag, NSEND - 1);	/* the high one first */
		CHECK_EQ(m.priority, tag == NSEND - 1 ? MP_PRIO_DEFAULT : 5 + tag % 3);
		CHECK_GE(m.priority, last);	/* best first */
		last = m.priority;
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
	}
	for (int k = 0; k < NSEND; k++)
		pthread_join(th[k], NULL);
	CHECK_OK(mp_port_destroy(port));
}

/* One-ways of several senders: each sender's in the order sent, whatever
 * their priorities; among heads, the best first. */
TEST(prio_oneways_per_sender_order_kept)
{
	enum { SENDERS = 4, EACH = 8 };
	mp_port_t port;
	struct sender s[SENDERS];
	pthread_t th[SENDERS];
	atomic_int warm = 0, go = 0, sent = 0;
	int next[SENDERS] = { 0 };

	at_nice_zero();
	CHECK_OK(mp_port_create(&port));
	for (int k = 0; k < SENDERS; k++) {
		/* sender k: priorities alternate 4+k/2.., 7 (sender_main) */
		s[k] = (struct sender){ .port = port, .tag = (uint32_t)k, .prio = 4 + (uint32_t)k % 3,
					.oneways = EACH, .warm = &warm, .go = &go, .sent = &sent };
		CHECK_OK(pthread_create(&th[k], NULL, sender_main, &s[k]));
	}
	warm_serve(port, SENDERS);
	CHECK(h_wait_ge(&warm, SENDERS, 30000));
	atomic_store(&go, 1);
	CHECK(h_wait_ge(&sent, SENDERS * EACH, 30000));
	for (int k = 0; k < SENDERS; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < SENDERS * EACH; k++) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t tag;
		int seq;

		CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), 1);
		memcpy(&tag, m.i.raw, sizeof(tag));
		memcpy(&seq, m.i.raw + 4, sizeof(seq));
		CHECK_LT(tag, SENDERS);
		CHECK_EQ(seq, next[tag]);	/* per-sender order */
		next[tag]++;
		CHECK_EQ(m.priority, seq % 2 ? MP_PRIO_MAX : s[tag].prio);
		/* no other sender's head was better */
		for (uint32_t o = 0; o < SENDERS; o++)
			if (next[o] < EACH && o != tag)
				CHECK_GE(next[o] % 2 ? MP_PRIO_MAX : s[o].prio,
					 seq % 2 ? MP_PRIO_MAX : s[tag].prio);
	}
	CHECK_OK(mp_port_destroy(port));
}

/* ------------------------------------------------- across transports */

/* A port whose clients use different transports (msgport.h: in every
 * case): nlow low-priority senders (nlow threads of one child on lo_tp,
 * one call each, or one thread queueing nlow one-ways), then one sender
 * on hi_tp (another child) at the thread's own priority, queued after
 * them.  The high one is received first, each sender's in order. */
struct mixed {
	mp_port_t port;
	char tp[2][16];		/* MSGPORT_TRANSPORT of the low and high child */
	int from[2], to[2];	/* their senders: s[from .. to) */
	atomic_int warm, go[2], sent;
	struct sender s[NSEND];
};

struct mixed_arg {
	struct mixed *mx;
	int g;			/* 0 the low child, 1 the high */
};

static void mixed_child(void *arg)
{
	struct mixed *mx = ((struct mixed_arg *)arg)->mx;
	int g = ((struct mixed_arg *)arg)->g;
	pthread_t th[NSEND];

	/* before this process's first connection: each connection picks it */
	CHECK_OK(setenv("MSGPORT_TRANSPORT", mx->tp[g], 1));
	for (int k = mx->from[g]; k < mx->to[g]; k++)
		CHECK_OK(pthread_create(&th[k], NULL, sender_main, &mx->s[k]));
	for (int k = mx->from[g]; k < mx->to[g]; k++)
		pthread_join(th[k], NULL);
}

/* The ring transport of this run (hybrid's when it is hybrid). */
static const char *ring_tp(void)
{
	const char *t = getenv("MSGPORT_TRANSPORT");

	return t && strcmp(t, "hybrid") == 0 ? "hybrid" : "ring";
}

static void mixed_fill(struct mixed *mx, const char *lo_tp, const char *hi_tp, int nlow, bool oneways)
{
	int nthr = oneways ? 1 : nlow;

	CHECK_OK(mp_port_create(&mx->port));
	snprintf(mx->tp[0], sizeof(mx->tp[0]), "%s", lo_tp);
	snprintf(mx->tp[1], sizeof(mx->tp[1]), "%s", hi_tp);
	mx->from[0] = 0;
	mx->to[0] = mx->from[1] = nthr;
	mx->to[1] = nthr + 1;
	for (int k = 0; k <= nthr; k++)
		/* lows ask for 5, 6, 7 (one-ways: 6 and 7 in turn, sender_main) */
		mx->s[k] = (struct sender){ .port = mx->port, .tag = (uint32_t)k,
					    .prio = k == nthr ? 0 : oneways ? 6 : 5 + (uint32_t)k % 3,
					    .oneways = oneways ? (k == nthr ? 1 : nlow) : 0,
					    .warm = &mx->warm, .go = &mx->go[k == nthr],
					    .sent = &mx->sent };
}

/* Receive the nlow + 1 messages: the high one (tag hi) first; each
 * sender's in order; calls of the low ones best first. */
static void mixed_recv(struct mixed *mx, int nlow, bool oneways)
{
	int next[NSEND] = { 0 };
	uint32_t hi = (uint32_t)mx->from[1], last = 0;

	for (int k = 0; k <= nlow; k++) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t tag;
		int seq;

		CHECK_EQ(mp_recv(mx->port, &m, &rid, 30 * 1000000000LL), oneways ? 1 : 0);
		CHECK_EQ(m.type, T_WORK);
		memcpy(&tag, m.i.raw, sizeof(tag));
		memcpy(&seq, m.i.raw + 4, sizeof(seq));
		CHECK_LE(tag, hi);
		if (k == 0)
			CHECK_EQ(tag, hi);	/* the high one first, whatever its transport */
		CHECK_EQ(seq, next[tag]);	/* per-sender order */
		next[tag]++;
		if (!oneways) {
			CHECK_GE(m.priority, last);	/* best first */
			last = m.priority;
			m.o.size = 0;
			CHECK_OK(mp_respond(mx->port, &m, rid));
		}
	}
}

static void mixed_run(const char *lo_tp, const char *hi_tp, int nlow, bool oneways)
{
	struct mixed *mx = h_shared(sizeof(*mx));
	struct mixed_arg arg[2] = { { mx, 0 }, { mx, 1 } };
	pid_t pid[2];
	int nthr = oneways ? 1 : nlow;

	at_nice_zero();
	mixed_fill(mx, lo_tp, hi_tp, nlow, oneways);
	for (int g = 0; g < 2; g++)
		pid[g] = h_fork(mixed_child, &arg[g]);
	warm_serve(mx->port, nthr + 1);
	CHECK(h_wait_ge(&mx->warm, nthr + 1, 30000));
	atomic_store(&mx->go[0], 1);	/* the lows queue first */
	CHECK(h_wait_ge(&mx->sent, nlow, 30000));
	if (!oneways)
		callers_wait(mx->s, nthr);
	atomic_store(&mx->go[1], 1);	/* then the high one */
	CHECK(h_wait_ge(&mx->sent, nlow + 1, 30000));
	if (!oneways)
		callers_wait(&mx->s[nthr], 1);
	h_sleep_ms(50);	/* (a one-way sent is queued: this is only slack) */
	mixed_recv(mx, nlow, oneways);
	for (int g = 0; g < 2; g++)
		CHECK_EQ(h_reap(pid[g], h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(mx->port));
}

/* A sock client's call queued behind 31 ring clients' low ones: first. */
TEST(prio_mixed_sock_high_call_before_ring_lows)
{
	mixed_run(ring_tp(), "sock", NSEND - 1, false);
}

/* A ring client's call queued behind 31 sock clients' low ones: first. */
TEST(prio_mixed_ring_high_call_before_sock_lows)
{
	mixed_run("sock", ring_tp(), NSEND - 1, false);
}

/* A sock client's one-way after a ring client's 31 low ones: first, and
 * the ring client's in the order sent. */
TEST(prio_mixed_sock_high_oneway_before_ring_lows)
{
	mixed_run(ring_tp(), "sock", NSEND - 1, true);
}

/* A ring client's one-way after a sock client's 31 low ones: first. */
TEST(prio_mixed_ring_high_oneway_before_sock_lows)
{
	mixed_run("sock", ring_tp(), NSEND - 1, true);
}

/* A request above the thread's priority gets the thread's; below it, what
 * was asked; 0 (a zeroed message) the thread's. */
TEST(prio_request_never_raises)
{
	mp_port_t port;
	pthread_t th;
	atomic_int warm = 0, go = 1, sent = 0;
	struct sender s = { .tag = 9, .prio = 1, .warm = &warm, .go = &go, .sent = &sent };
	mp_msg_t m;
	mp_rid_t rid;

	at_nice_zero();
	CHECK_OK(mp_port_create(&port));
	s.port = port;
	for (uint32_t ask = 0; ask <= MP_PRIO_MAX; ask++) {
		s.prio = ask;
		CHECK_OK(pthread_create(&th, NULL, sender_main, &s));
		warm_serve(port, 1);
		CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), 0);
		CHECK_EQ(m.type, T_WORK);
		CHECK_EQ(m.priority, ask > MP_PRIO_DEFAULT ? ask : MP_PRIO_DEFAULT);
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
		pthread_join(th, NULL);
	}
	CHECK_OK(mp_port_destroy(port));
}

/* A one-way frame that claims priority 0, written by a client that skips
 * the library (the wire carries priority ^ 4: 4 is a claim of 0). */
static void forge_oneway(const char *root, mp_port_t port, uint32_t tag)
{
	struct mp_frame f;
	int fd;

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_ONEWAY;
	f.flags = MP_FRAME_PRIO;
	f.priority = 0 ^ MP_PRIO_DEFAULT;
	f.type = T_WORK;
	memcpy(f.raw, &tag, sizeof(tag));
	CHECK_OK(mu_raw_connect(root, port, &fd));
	CHECK_EQ(send(fd, &f, sizeof(f), 0), (ssize_t)sizeof(f));
	h_sleep_ms(200);	/* the server reads it before the hang-up */
	close(fd);
}

struct forge {
	char root[4096];
	mp_port_t port;
};

static void forge_as_nobody(void *arg)
{
	struct forge *fg = arg;

	forge_oneway(fg->root, fg->port, MU_NOBODY);
}

static uint32_t recv_forged(mp_port_t port, uint32_t *uid)
{
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), 1);
	CHECK_EQ(m.type, T_WORK);
	*uid = m.uid;
	return m.priority;
}

/* The server clamps a claim to what the peer's process could give its own
 * threads: an ordinary user 4 (its claim of 0 refused), root with
 * CAP_SYS_NICE 0. */
TEST(prio_forged_claim_clamped)
{
	struct forge *fg = h_shared(sizeof(*fg));
	uint32_t uid;

	mu_shared_root(fg->root);
	CHECK_OK(mp_port_create(&fg->port));
	CHECK_OK(mp_port_register(fg->port, "/forged", 0666));	/* nobody may send */
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, forge_as_nobody, fg);
	CHECK_EQ(recv_forged(fg->port, &uid), MP_PRIO_DEFAULT);
	CHECK_EQ(uid, MU_NOBODY);
	forge_oneway(fg->root, fg->port, 0);	/* this process: root, CAP_SYS_NICE */
	CHECK_EQ(recv_forged(fg->port, &uid), 0);
	CHECK_EQ(uid, 0);
	CHECK_OK(mp_port_destroy(fg->port));
}

/* ---------------------------------------------------------- inheritance */

static int thread_nice(void)
{
	errno = 0;
	return getpriority(PRIO_PROCESS, (id_t)gettid());
}

static void *ask_low(void *arg)
{
	struct sender *s = arg;
	mp_msg_t m;

	h_msg_init(&m);
	m.type = T_WORK;
	m.priority = s->prio;
	CHECK_OK(mp_send(s->port, &m, MP_FOREVER));
	return NULL;
}

static void inherit_call(mp_port_t port, uint32_t ask, int nice_in, bool answer)
{
	struct sender s = { .port = port, .prio = ask };
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(pthread_create(&th, NULL, ask_low, &s));
	CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), 0);
	CHECK_EQ(m.priority, ask);
	CHECK_EQ(thread_nice(), nice_in);	/* inside the handler: the caller's */
	CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
	m.o.size = 0;
	if (answer) {
		CHECK_OK(mp_respond(port, &m, rid));
		CHECK_EQ(thread_nice(), 0);	/* restored by mp_respond */
	} else {
		mp_msg_t n;
		mp_rid_t r2;

		CHECK_EQ(mp_recv(port, &n, &r2, 0), -EAGAIN);
		CHECK_EQ(thread_nice(), 0);	/* restored by the next mp_recv */
		CHECK_OK(mp_respond(port, &m, rid));
		CHECK_EQ(thread_nice(), 0);
	}
	pthread_join(th, NULL);
}

/* As root: the handler runs at the caller's priority (nice 10 for 6, 19
 * for 7) and is put back at mp_respond(), or at its next mp_recv(). */
TEST(prio_inherit_observed_in_handler_and_restored)
{
	mp_port_opts_t o = { .sz = sizeof(o), .flags = MP_PORT_PRIO_INHERIT };
	mp_port_t port, plain;

	at_nice_zero();
	CHECK_EQ(thread_nice(), 0);
	CHECK_OK(mp_port_create_opts(&port, &o));
	inherit_call(port, 6, 10, true);
	inherit_call(port, 7, 19, true);
	inherit_call(port, 6, 10, false);
	inherit_call(port, MP_PRIO_DEFAULT, 0, true);
	/* a port without the flag leaves the receiver alone */
	CHECK_OK(mp_port_create(&plain));
	inherit_call(plain, 7, 0, true);
	CHECK_OK(mp_port_destroy(plain));
	CHECK_OK(mp_port_destroy(port));
}

static void inherit_refused(void *arg)
{
	mp_port_opts_t o = { .sz = sizeof(o), .flags = MP_PORT_PRIO_INHERIT };
	mp_port_t port;

	struct rlimit rl = { 0, 0 };

	(void)arg;
	CHECK_OK(setrlimit(RLIMIT_NICE, &rl));	/* the usual limit of a user */
	/* nobody, RLIMIT_NICE 0: it could lower itself, never come back */
	CHECK_EQ(mp_port_create_opts(&port, &o), -EPERM);
	o.flags = 0;
	CHECK_OK(mp_port_create_opts(&port, &o));
	CHECK_OK(mp_port_destroy(port));
}

/* Without the right to put its priority back, the flag is refused. */
TEST(prio_inherit_refused_without_right)
{
	char root[4096];

	mu_shared_root(root);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, inherit_refused, NULL);
}

static void pulse_once(void *arg)
{
	CHECK_OK(mp_pulse(*(mp_port_t *)arg, 7, 99));
}

/* A pulse carries no priority: it reads MP_PRIO_DEFAULT (msgport.h). */
TEST(prio_pulse_reads_default)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_EQ(h_reap(h_fork(pulse_once, &port), h_test_timeout_ms()), 0);	/* its board goes with it */
	CHECK_EQ(mp_recv(port, &m, &rid, 30 * 1000000000LL), MP_RECV_PULSE);
	CHECK_EQ(m.type, 7);
	CHECK_EQ(m.priority, MP_PRIO_DEFAULT);
	CHECK_OK(mp_port_destroy(port));
}
