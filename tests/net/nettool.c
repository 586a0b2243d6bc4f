/* SPDX-License-Identifier: MIT */
/*
 * Test server and client for tests/net/run.sh (msgport-net).
 *   nettool serve PATH NAME [THREADS [US]]  serve PATH (each one-way taking
 *                              US microseconds): type 1 echo; 2 answer raw[0..3]
 *                              bytes of a pattern; 3 sleep raw[0..3] ms then
 *                              echo; 4 die mid-call; 5 one-way order check;
 *                              6 last pulse value; 7 NAME and caller uid
 *                              Each call logs "deadline=NS" (mp_recv_deadline:
 *                              the caller's time left, -1 none) on stdout.
 *   nettool call PATH TYPE ARG [DATA]   print "err=E size=N ok=1|0 ms=T"
 *                              ("send=E ms=T" when mp_send() fails); the
 *                              timeout is $NETTOOL_TIMEOUT_MS, else none
 *   nettool fds PATH           a call carrying an fd: print "err=E"
 *   nettool oneway PATH N [once|pause]  N numbered one-way sends, then
 *                              type 5 until all came (once: a single type 5;
 *                              pause: as once, after printing "looked-up"
 *                              and sleeping 2 s between lookup and sends)
 *   nettool pulse PATH V       pulse code 1 value V, then wait to see it
 *   nettool late PATH          look up, print "looked-up", at SIGUSR1 send a
 *                              one-way and a call: print "send=E ms=T"
 *   nettool lookup PATH        print "lookup=E"
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgport.h>

static uint64_t next_seq, bad_order, last_pulse;
static unsigned oneway_us;	/* serve: time each one-way message takes */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t arg_of(const uint8_t *raw)
{
	uint32_t v;

	memcpy(&v, raw, 4);
	return v;
}

static void answer(mp_port_t port, mp_msg_t *m, mp_rid_t rid, const char *name)
{
	uint32_t a = arg_of(m->i.raw);
	int64_t left = -2;
	size_t n = 0;

	mp_recv_deadline(port, rid, &left);
	printf("deadline=%lld\n", (long long)left);
	fflush(stdout);

	m->o.err = 0;
	if (m->type == 2 && a <= m->o.size) {
		for (n = 0; n < a; n++)
			((uint8_t *)m->o.data)[n] = (uint8_t)(n * 7 + 1);
	} else if (m->type == 1 || m->type == 3) {
		if (m->type == 3)
			usleep(a * 1000u);
		n = m->i.size < m->o.size ? m->i.size : m->o.size;
		memcpy(m->o.data, m->i.data, n);
	} else if (m->type == 4) {
		_exit(3);
	} else if (m->type == 5) {
		m->o.err = (int32_t)(bad_order ? -1 : (int32_t)next_seq);
	} else if (m->type == 6) {
		memcpy(m->o.raw, &last_pulse, 8);
	} else if (m->type == 7) {
		n = (size_t)snprintf(m->o.data, m->o.size, "%s uid=%u pid=%d", name, m->uid, m->pid);
	} else {
		m->o.err = -ENOSYS;
	}
	m->o.size = n;
	mp_respond(port, m, rid);
}

struct server {
	mp_port_t port;
	const char *name;
};

static void *serve_loop(void *arg)
{
	const struct server *sv = arg;
	mp_port_t port = sv->port;
	const char *name = sv->name;

	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);
		uint64_t seq;

		if (r == 0) {
			answer(port, &m, rid, name);
		} else if (r == 1 && m.i.size == 8) {
			memcpy(&seq, m.i.data, 8);
			bad_order |= seq != next_seq++;
			if (oneway_us)
				usleep(oneway_us);
		} else if (r == MP_RECV_PULSE && m.type == 1) {
			last_pulse = mp_msg_pulse(&m).value;
		}
	}
	return NULL;
}

/* threads > 1: calls served side by side (one-way order is then not kept). */
static int serve(const char *path, const char *name, int threads)
{
	static struct server sv;
	pthread_t t;
	mp_port_opts_t o = { .sz = sizeof(o), .flags = MP_PORT_DEADLINES };
	int err = mp_port_create_opts(&sv.port, &o);

	sv.name = name;
	if (!err)
		err = mp_port_register(sv.port, path, 0666);
	if (err) {
		fprintf(stderr, "nettool serve %s: %s\n", path, mp_strerror(err));
		return 1;
	}
	printf("ready %s\n", path);
	fflush(stdout);
	for (int k = 1; k < threads; k++)
		pthread_create(&t, NULL, serve_loop, &sv);
	serve_loop(&sv);
	return 0;
}

static int call(const char *path, uint32_t type, uint32_t a, const char *data)
{
	static uint8_t out[1 << 21];
	mp_msg_t m = { .type = type };
	int64_t t0 = now_ms();
	int err = mp_lookup(path, &m.oid), ok = 1;

	if (err) {
		printf("lookup=%d\n", err);
		return 1;
	}
	memcpy(m.i.raw, &a, 4);
	m.i.data = (void *)data;
	m.i.size = data ? strlen(data) : 0;
	m.o.data = out;
	m.o.size = sizeof(out);
	err = mp_send(m.oid.port, &m, getenv("NETTOOL_TIMEOUT_MS") ?
				      atoll(getenv("NETTOOL_TIMEOUT_MS")) * 1000000 : MP_FOREVER);
	if (err) {
		printf("send=%d ms=%lld\n", err, (long long)(now_ms() - t0));
		return 1;
	}
	if (type == 2)
		for (size_t k = 0; k < m.o.size; k++)
			ok &= out[k] == (uint8_t)(k * 7 + 1);
	if (type == 1 || type == 3)
		ok = m.o.size == m.i.size && memcmp(out, data, m.o.size) == 0;
	printf("err=%d size=%zu ok=%d ms=%lld", m.o.err, m.o.size, ok, (long long)(now_ms() - t0));
	if (type == 7)
		printf(" who=%.*s", (int)m.o.size, out);
	printf("\n");
	return 0;
}

static int fds(const char *path)
{
	mp_msg_t m = { .type = 1 };
	int err = mp_lookup(path, &m.oid);

	m.i.fds[0] = 0;
	m.i.nfds = 1;
	if (!err)
		err = mp_send(m.oid.port, &m, MP_FOREVER);
	printf("send=%d err=%d\n", err, m.o.err);
	return 0;
}

static int oneway(const char *path, uint64_t n, int once, int pause)
{
	mp_msg_t m = { 0 };
	int err = mp_lookup(path, &m.oid);

	if (pause) {	/* time for run.sh to stop the gateway: the sends pile up */
		printf("looked-up\n");
		fflush(stdout);
		sleep(2);
	}

	for (uint64_t k = 0; k < n && !err; k++) {
		m.i.data = &k;
		m.i.size = 8;
		err = mp_send_async(m.oid.port, &m, MP_FOREVER);
		err = err > 0 ? 0 : err;
	}
	if (err) {
		printf("oneway=%d\n", err);
		return 1;
	}
	/* One-way messages may still be on their way: ask until all came
	 * (once: the first call must find them all, as locally). */
	for (int tries = 0; tries < (once ? 1 : 100); tries++) {
		mp_msg_t q = { .type = 5, .oid = m.oid };

		err = mp_send(m.oid.port, &q, MP_FOREVER);
		if (err || q.o.err < 0 || (uint64_t)q.o.err >= n || once) {
			printf("send=%d count=%d\n", err, q.o.err);
			return 0;
		}
		usleep(50000);
	}
	printf("count=short\n");
	return 0;
}

static int pulse(const char *path, uint64_t v)
{
	mp_oid_t oid;
	int err = mp_lookup(path, &oid);

	if (!err)
		err = mp_pulse(oid.port, 1, v);
	for (int tries = 0; !err && tries < 100; tries++) {
		mp_msg_t q = { .type = 6, .oid = oid };
		uint64_t got;

		err = mp_send(oid.port, &q, MP_FOREVER);
		memcpy(&got, q.o.raw, 8);
		if (!err && got == v) {
			printf("pulse=ok\n");
			return 0;
		}
		usleep(50000);
	}
	printf("pulse=%d\n", err);
	return 0;
}

/* Look up, wait until told (SIGUSR1), then one one-way and a call: print
 * "send=E ms=T", the call's time counted from the one-way. */
static int late(const char *path)
{
	mp_msg_t m = { .type = 1 };
	sigset_t set;
	int sig, err = mp_lookup(path, &m.oid);
	int64_t t0;

	if (err) {
		printf("lookup=%d\n", err);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	printf("looked-up\n");
	fflush(stdout);
	sigwait(&set, &sig);
	t0 = now_ms();
	err = mp_send_async(m.oid.port, &m, MP_FOREVER);
	if (err >= 0)
		err = mp_send(m.oid.port, &m, MP_FOREVER);
	printf("send=%d ms=%lld\n", err, (long long)(now_ms() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "serve") == 0) {
		oneway_us = argc > 5 ? (unsigned)atoi(argv[5]) : 0;
		return serve(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 1);
	}
	if (argc >= 5 && strcmp(argv[1], "call") == 0)
		return call(argv[2], (uint32_t)atoi(argv[3]), (uint32_t)atoi(argv[4]),
			    argc > 5 ? argv[5] : NULL);
	if (argc == 3 && strcmp(argv[1], "late") == 0)
		return late(argv[2]);
	if (argc == 3 && strcmp(argv[1], "fds") == 0)
		return fds(argv[2]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "oneway") == 0)
		return oneway(argv[2], strtoull(argv[3], NULL, 10),
			      argc == 5 && (!strcmp(argv[4], "once") || !strcmp(argv[4], "pause")),
			      argc == 5 && !strcmp(argv[4], "pause"));
	if (argc == 4 && strcmp(argv[1], "pulse") == 0)
		return pulse(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "lookup") == 0) {
		mp_oid_t oid;

		printf("lookup=%d\n", mp_lookup(argv[2], &oid));
		return 0;
	}
	fprintf(stderr, "usage: see tests/net/nettool.c\n");
	return 2;
}
