/* SPDX-License-Identifier: MIT */
/*
 * Adaptive waiting must not burn the CPU when nothing happens: a server
 * idle in mp_recv() and a client blocked in mp_send() on a call the server
 * holds each use under 1% of a core over 5 s (issue 3, item 4).  CPU time
 * is read from /proc/PID/stat (utime + stime, in clock ticks).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define IDLE_MS 5000
#define IDLE_MAX_PERCENT 1.0

struct idle_state {
	atomic_int held;	/* the server holds the client's call */
	int release[2];		/* a pipe: the test is done measuring */
};

/* utime + stime of a process, in clock ticks; -1 when unreadable. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;	/* the name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static void *idle_receiver(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	mp_msg_t m;
	mp_rid_t rid;

	/* nothing arrives until the port is destroyed */
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), -EPIPE);
	return NULL;
}

/* One thread holds a call for the whole measurement, another sits idle
 * in mp_recv(). */
static void idle_server(void *arg)
{
	struct idle_state *s = arg;
	pthread_t th;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/idle", 0666));
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_OK(pthread_create(&th, NULL, idle_receiver, &port));
	atomic_store(&s->held, 1);
	/* blocking, not polling: the holder must not count as busy either */
	CHECK_EQ(read(s->release[0], &(char){ 0 }, 1), 1);
	m.o.size = 0;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK_OK(mp_port_destroy(port));
	pthread_join(th, NULL);
}

static void idle_client(void *arg)
{
	mp_oid_t oid;
	mp_msg_t m;

	(void)arg;
	CHECK_OK(h_wait_lookup("/idle", &oid, 10000));
	h_msg_init(&m);
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
}

static double percent(long ticks, int64_t ms)
{
	return 100.0 * ((double)ticks / (double)sysconf(_SC_CLK_TCK)) / ((double)ms / 1000.0);
}

TEST(idle_server_and_blocked_client_use_no_cpu)
{
	struct idle_state *s = h_shared(sizeof(*s));
	long s0, c0, s1, c1;
	int64_t t0, ms;
	pid_t srv, cli;

	CHECK_OK(pipe(s->release));
	srv = h_fork(idle_server, s);
	cli = h_fork(idle_client, NULL);

	CHECK(h_wait_ge(&s->held, 1, 10000));
	h_sleep_ms(200);	/* past every spin and yield budget */
	s0 = cpu_ticks(srv);
	c0 = cpu_ticks(cli);
	t0 = h_now_ms();
	h_sleep_ms(IDLE_MS);
	s1 = cpu_ticks(srv);
	c1 = cpu_ticks(cli);
	ms = h_now_ms() - t0;
	CHECK(s0 >= 0 && c0 >= 0 && s1 >= 0 && c1 >= 0);
	printf("idle over %lld ms: server %.2f%%, client %.2f%% of a core\n", (long long)ms,
	       percent(s1 - s0, ms), percent(c1 - c0, ms));
	CHECK_LT(percent(s1 - s0, ms), IDLE_MAX_PERCENT);
	CHECK_LT(percent(c1 - c0, ms), IDLE_MAX_PERCENT);
	CHECK_EQ(write(s->release[1], "x", 1), 1);
	CHECK_EQ(h_reap(cli, 10000), 0);
	CHECK_EQ(h_reap(srv, 10000), 0);
	close(s->release[0]);
	close(s->release[1]);
}
