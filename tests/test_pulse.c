/* SPDX-License-Identifier: MIT */
/* Pulses (mp_pulse, MP_RECV_PULSE), disconnect notices and watches. */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Answer a call as h_echo_server does. */
static void echo_respond(mp_port_t port, mp_msg_t *m, mp_rid_t rid)
{
	memcpy(m->o.raw, m->i.raw, MP_RAW_SIZE);
	if (m->i.size < m->o.size)
		m->o.size = m->i.size;
	if (m->o.size)
		memcpy(m->o.data, m->i.data, m->o.size);
	m->o.err = 0;
	CHECK_OK(mp_respond(port, m, rid));
}

/* Receive until a pulse comes (calls are echoed, one-ways dropped). */
static int recv_pulse(mp_port_t port, mp_msg_t *m, int64_t timeout_ns)
{
	for (;;) {
		mp_rid_t rid = 1;
		int r = mp_recv(port, m, &rid, timeout_ns);

		if (r == 0) {
			echo_respond(port, m, rid);
			continue;
		}
		if (r == 1)
			continue;
		if (r == MP_RECV_PULSE)
			CHECK_EQ(rid, 0);
		return r;
	}
}

static long rss_pages(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	CHECK(f != NULL);
	CHECK_EQ(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

struct shared {
	mp_port_t port;
	atomic_int step;
	atomic_int child_pid;
};

/* ------------------------------------------------ latest value, merges */

#define MERGE_N 1000

static void merge_client(void *arg)
{
	struct shared *s = arg;

	for (int k = 1; k <= MERGE_N; k++)
		CHECK_OK(mp_pulse(s->port, 7, (uint64_t)k));
	CHECK_OK(mp_pulse(s->port, 8, 42));
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
}

TEST(pulse_latest_value_and_merge_count)
{
	struct shared *s = h_shared(sizeof(*s));
	uint64_t seen7 = 0, last7 = 0;
	int got8 = 0;
	pid_t pid;
	mp_msg_t m;

	CHECK_OK(mp_port_create(&s->port));
	pid = h_fork(merge_client, s);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
	/* All sent before we receive any: they wait, coalesced. */
	while (seen7 < MERGE_N || !got8) {
		mp_pulse_info_t info;

		CHECK_ERR(recv_pulse(s->port, &m, MP_FOREVER), MP_RECV_PULSE);
		info = mp_msg_pulse(&m);
		CHECK_EQ(m.pid, pid);
		CHECK_EQ(m.uid, getuid());
		CHECK_EQ(m.gid, getgid());
		CHECK_EQ(m.i.size, 0);
		CHECK_EQ(m.i.nfds, 0);
		CHECK_EQ(info.reserved, 0);
		CHECK_GE(info.count, 1);
		if (m.type == 7) {
			seen7 += info.count;
			CHECK_GT(info.value, last7);	/* the latest, never an older one */
			last7 = info.value;
		} else {
			CHECK_EQ(m.type, 8);
			CHECK_EQ(info.value, 42);
			CHECK_EQ(info.count, 1);
			got8++;
		}
	}
	CHECK_EQ(seen7, MERGE_N);
	CHECK_EQ(last7, MERGE_N);
	CHECK_EQ(got8, 1);
	CHECK_LE(seen7, MERGE_N);
	/* coalesced: far fewer deliveries than pulses */
	atomic_store(&s->step, 2);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
}

/* ----------------------------------- never blocks, memory stays flat */

#define FLOOD_N 1100000
#define FLOOD_WARMUP 100000	/* of FLOOD_N, before the client measures */

static void flood_client(void *arg)
{
	struct shared *s = arg;
	long rss0, rss1;
	int fds0, fds1, r, n = 0;
	mp_msg_t m;

	/* First fill the ring (or the socket) with one-ways nobody takes. */
	do {
		h_msg_init(&m);
		m.type = 99;
		r = mp_send_async(s->port, &m, 0);
	} while (r >= 0 && ++n < 1000000);
	CHECK_ERR(r, -EAGAIN);
	CHECK_OK(mp_pulse(s->port, 1, 0));	/* the board exists from now on */
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
	/* warm up first (one-time pages: the sanitizers' shadow of what the
	 * path touches), then measure a million pulses */
	for (int k = 1; k <= FLOOD_WARMUP; k++)
		CHECK_OK(mp_pulse(s->port, 1, (uint64_t)k));
	rss0 = rss_pages();
	fds0 = h_count_fds();
	for (int k = FLOOD_WARMUP + 1; k <= FLOOD_N; k++)
		CHECK_OK(mp_pulse(s->port, 1, (uint64_t)k));
	rss1 = rss_pages();
	fds1 = h_count_fds();
	CHECK_EQ(fds1, fds0);
	CHECK_LT(rss1 - rss0, 64);	/* pages: no per-pulse memory */
	atomic_store(&s->step, 3);
	CHECK(h_wait_ge(&s->step, 4, h_test_timeout_ms()));
}

TEST(pulse_never_blocks_memory_flat)
{
	struct shared *s = h_shared(sizeof(*s));
	uint64_t total = 0, last = 0;
	long rss0, rss1;
	int fds0, fds1;
	pid_t pid;
	mp_msg_t m;

	CHECK_OK(mp_port_create(&s->port));
	pid = h_fork(flood_client, s);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
	/* take the first pulse: the board is attached */
	CHECK_ERR(recv_pulse(s->port, &m, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 1);
	total = mp_msg_pulse(&m).count;
	rss0 = rss_pages();
	fds0 = h_count_fds();
	atomic_store(&s->step, 2);
	CHECK(h_wait_ge(&s->step, 3, h_test_timeout_ms()));
	rss1 = rss_pages();
	fds1 = h_count_fds();
	CHECK_EQ(fds1, fds0);
	CHECK_LT(rss1 - rss0, 64);
	while (total < FLOOD_N + 1) {
		mp_pulse_info_t info;

		CHECK_ERR(recv_pulse(s->port, &m, MP_FOREVER), MP_RECV_PULSE);
		info = mp_msg_pulse(&m);
		CHECK_EQ(m.type, 1);
		total += info.count;
		last = info.value;
	}
	CHECK_EQ(total, FLOOD_N + 1);
	CHECK_EQ(last, FLOOD_N);
	CHECK_LT(rss_pages() - rss0, 64);
	atomic_store(&s->step, 4);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
}

/* ------------------------------------------------------------ bad input */

TEST(pulse_bad_input_and_dead_port)
{
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_pulse(0, 1, 1), -EINVAL);
	CHECK_ERR(mp_pulse(port, MP_PULSE_DISCONNECT, 1), -EINVAL);
	CHECK_ERR(mp_pulse(port, 0xffffffffu, 1), -EINVAL);
	CHECK_ERR(mp_port_watch(port, port, MP_PULSE_DISCONNECT), -EINVAL);
	CHECK_ERR(mp_port_watch(0, port, 1), -EINVAL);
	CHECK_ERR(mp_port_unwatch(port, port), -ENOENT);
	/* a live board, then the port dies: -EPIPE, and the board is gone */
	CHECK_OK(mp_pulse(port, 1, 1));
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_pulse(port, 1, 2), -EPIPE);
	CHECK_ERR(mp_pulse(port, 1, 3), -EPIPE);	/* no server to connect to */
	CHECK_ERR(mp_port_watch(port, port, 1), -ENOENT);
}

/* A port destroyed and its number taken by a new port: the next pulse
 * reaches the new one (the stale board is replaced, as mp_send() replaces
 * a stale connection), not -EPIPE. */
TEST(pulse_port_number_reused)
{
	mp_port_t port, again;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_pulse(port, 1, 1));
	CHECK_OK(mp_port_destroy(port));
	CHECK_OK(mp_port_create(&again));
	if (again != port) {	/* numbers are reused, but not promised */
		fprintf(stderr, "pulse_port_number_reused: port %u not reused\n", port);
		CHECK_OK(mp_port_destroy(again));
		return;
	}
	CHECK_OK(mp_pulse(again, 7, 77));
	CHECK_EQ(mp_recv(again, &m, &rid, 5000000000), MP_RECV_PULSE);
	CHECK_EQ(m.type, 7u);
	CHECK_EQ(mp_msg_pulse(&m).value, 77u);
	CHECK_OK(mp_port_destroy(again));
	CHECK_ERR(mp_pulse(again, 7, 78), -EPIPE);	/* and the board is let go */
}

static void k9_pulser(void *arg)
{
	struct shared *s = arg;

	CHECK_OK(mp_pulse(s->port, 3, 3));
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
	CHECK_ERR(mp_pulse(s->port, 3, 4), -EPIPE);
}

static void idle_server(void *arg)
{
	struct shared *s = arg;

	CHECK_OK(mp_port_create(&s->port));
	atomic_store(&s->child_pid, 1);
	for (;;)
		pause();
}

TEST(pulse_dead_server_epipe)
{
	struct shared *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(idle_server, s), cli;

	CHECK(h_wait_ge(&s->child_pid, 1, h_test_timeout_ms()));
	cli = h_fork(k9_pulser, s);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
	h_kill(srv);
	atomic_store(&s->step, 2);
	CHECK_EQ(h_reap(cli, h_test_timeout_ms()), 0);
}

/* ------------------------------------------------------------- port fd */

static void one_pulse(void *arg)
{
	struct shared *s = arg;

	CHECK_OK(mp_pulse(s->port, 5, 55));
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
}

TEST(pulse_port_fd_readable)
{
	struct shared *s = h_shared(sizeof(*s));
	struct pollfd pfd;
	mp_msg_t m;
	mp_rid_t rid;
	pid_t pid;
	int r;

	CHECK_OK(mp_port_create(&s->port));
	pfd = (struct pollfd){ .fd = mp_port_fd(s->port), .events = POLLIN };
	CHECK_GE(pfd.fd, 0);
	pid = h_fork(one_pulse, s);
	do {
		CHECK_EQ(poll(&pfd, 1, h_test_timeout_ms()), 1);
		r = mp_recv(s->port, &m, &rid, 0);
	} while (r == -EAGAIN);
	CHECK_ERR(r, MP_RECV_PULSE);
	CHECK_EQ(m.type, 5);
	CHECK_EQ(mp_msg_pulse(&m).value, 55);
	CHECK_EQ(rid, 0);
	/* taken: nothing left to read */
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	CHECK_ERR(mp_recv(s->port, &m, &rid, 0), -EAGAIN);
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
}

/* ---------------------------------------------------------------- fork */

static void fork_grandchild(void *arg)
{
	struct shared *s = arg;

	CHECK_OK(mp_pulse(s->port, 2, 22));
}

static void fork_child(void *arg)
{
	struct shared *s = arg;
	pid_t pid;

	CHECK_OK(mp_pulse(s->port, 2, 11));	/* a board of its own, before the fork */
	pid = h_fork(fork_grandchild, s);
	atomic_store(&s->child_pid, pid);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->step, 2, h_test_timeout_ms()));
}

TEST(pulse_across_fork)
{
	struct shared *s = h_shared(sizeof(*s));
	bool got_child = false, got_grand = false;
	pid_t pid;
	mp_msg_t m;

	CHECK_OK(mp_port_create(&s->port));
	pid = h_fork(fork_child, s);
	CHECK(h_wait_ge(&s->step, 1, h_test_timeout_ms()));
	while (!got_child || !got_grand) {
		CHECK_ERR(recv_pulse(s->port, &m, MP_FOREVER), MP_RECV_PULSE);
		CHECK_EQ(m.type, 2);
		CHECK_EQ(mp_msg_pulse(&m).count, 1);
		if (m.pid == pid) {
			CHECK(!got_child);
			CHECK_EQ(mp_msg_pulse(&m).value, 11);
			got_child = true;
		} else {
			CHECK_EQ(m.pid, atomic_load(&s->child_pid));
			CHECK(!got_grand);
			CHECK_EQ(mp_msg_pulse(&m).value, 22);
			got_grand = true;
		}
	}
	atomic_store(&s->step, 2);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_OK(mp_port_destroy(s->port));
}

/* --------------------------------------------------- disconnect notices */

struct dc_thread {
	struct shared *s;
	atomic_int *go;
};

static void *dc_caller(void *arg)
{
	struct dc_thread *t = arg;

	CHECK_OK(h_echo_call(t->s->port, 1, 8, MP_FOREVER));
	return NULL;
}

static void dc_client(void *arg)
{
	struct shared *s = arg;
	struct dc_thread t = { .s = s };
	pthread_t a, b;

	/* Two threads: two connections, both open before either closes. */
	CHECK_OK(h_echo_call(s->port, 1, 8, MP_FOREVER));	/* main thread: one */
	CHECK_OK(pthread_create(&a, NULL, dc_caller, &t));
	CHECK_OK(pthread_join(a, NULL));		/* its connection goes */
	CHECK_OK(pthread_create(&b, NULL, dc_caller, &t));
	CHECK_OK(pthread_join(b, NULL));
	CHECK_OK(h_echo_call(s->port, 1, 8, MP_FOREVER));	/* the main one still lives */
}

static void echo_until_notice(mp_port_t port, pid_t pid, int *notices, uint32_t *count)
{
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		if (r == 0) {
			echo_respond(port, &m, rid);
			continue;
		}
		if (r != MP_RECV_PULSE)
			continue;
		CHECK_EQ(m.type, MP_PULSE_DISCONNECT);
		CHECK_EQ(mp_msg_pulse(&m).value, (uint64_t)pid);
		CHECK_EQ(m.pid, pid);
		CHECK_EQ(m.uid, getuid());
		(*notices)++;
		*count += mp_msg_pulse(&m).count;
		return;
	}
}

TEST(pulse_disconnect_notice)
{
	struct shared *s = h_shared(sizeof(*s));
	mp_port_opts_t o = { .sz = sizeof(o), .flags = MP_PORT_DISCONNECT_PULSES };
	int notices = 0;
	uint32_t count = 0;
	mp_msg_t m;
	mp_rid_t rid;
	pid_t pid;

	CHECK_OK(mp_port_create_opts(&s->port, &o));
	pid = h_fork(dc_client, s);
	echo_until_notice(s->port, pid, &notices, &count);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	/* no second notice for it (a wait that can only miss a bug) */
	CHECK_ERR(mp_recv(s->port, &m, &rid, 200000000), -ETIMEDOUT);
	CHECK_EQ(notices, 1);
	CHECK_EQ(count, 1);
	CHECK_OK(mp_port_destroy(s->port));
}

TEST(pulse_no_notice_without_flag)
{
	struct shared *s = h_shared(sizeof(*s));
	mp_msg_t m;
	mp_rid_t rid;
	pid_t pid;
	int r;

	CHECK_OK(mp_port_create(&s->port));
	pid = h_fork(dc_client, s);
	for (int calls = 0; calls < 4;) {
		r = mp_recv(s->port, &m, &rid, MP_FOREVER);
		CHECK_EQ(r, 0);
		echo_respond(s->port, &m, rid);
		calls++;
	}
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	CHECK_ERR(mp_recv(s->port, &m, &rid, 200000000), -ETIMEDOUT);
	CHECK_OK(mp_port_destroy(s->port));
}

/* -------------------------------------------------------------- watches */

TEST(pulse_watch_kill9)
{
	mp_port_t notify, watched;
	pid_t pid;
	mp_msg_t m;

	CHECK_OK(mp_port_create(&notify));
	watched = h_server_start(h_echo_server, "/watched", &pid);
	CHECK_OK(mp_port_watch(watched, notify, 77));
	CHECK_OK(h_echo_call(watched, 1, 8, MP_FOREVER));	/* it lives on, watched */
	h_kill(pid);
	CHECK_ERR(recv_pulse(notify, &m, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 77);
	CHECK_EQ(mp_msg_pulse(&m).value, watched);
	CHECK_EQ(mp_msg_pulse(&m).count, 1);
	CHECK_EQ(m.pid, getpid());
	CHECK_ERR(mp_port_unwatch(watched, notify), -ENOENT);	/* it fired: gone */
	CHECK_OK(mp_port_destroy(notify));
}

TEST(pulse_watch_destroy_and_unwatch)
{
	mp_port_t notify, a, b;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&notify));
	CHECK_OK(mp_port_create(&a));
	CHECK_OK(mp_port_create(&b));
	CHECK_ERR(mp_port_watch(a, 0x7ffffff0u, 1), -ENOENT);	/* not our port */
	CHECK_OK(mp_port_watch(a, notify, 10));
	CHECK_OK(mp_port_watch(b, notify, 11));
	CHECK_OK(mp_port_watch(b, notify, 12));	/* again: the new code */
	CHECK_OK(mp_port_unwatch(a, notify));
	CHECK_ERR(mp_port_unwatch(a, notify), -ENOENT);
	CHECK_OK(mp_port_destroy(a));
	CHECK_OK(mp_port_destroy(b));
	CHECK_ERR(recv_pulse(notify, &m, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 12);
	CHECK_EQ(mp_msg_pulse(&m).value, b);
	/* a's watch was cancelled: nothing more (a wait that can only miss a bug) */
	CHECK_ERR(mp_recv(notify, &m, &rid, 200000000), -ETIMEDOUT);
	CHECK_OK(mp_port_destroy(notify));
}
