/* SPDX-License-Identifier: MIT */
/*
 * net-bench: msgport calls through two msgport-net gateways against raw
 * NATS, in the same run, on the same NATS server (bench/net-bench.sh
 * starts everything).
 *   net-bench serve PATH          the remote server (under host b's root):
 *                                 type 1 echoes at most o.size bytes, type 2
 *                                 answers raw[0..3] bytes, type 3 answers the
 *                                 count of one-way messages in o.raw
 *   net-bench NATS_URL PATH N [M] the client (under host a's root)
 * Rows: N 64-byte calls against N raw NATS request/replies (mean, median,
 * ratio of the medians); N 64-byte one-way sends, all proven delivered by
 * the server's count, against N raw NATS publishes to a subscriber that
 * counts them (messages/s, ratio); M calls of the largest input a call
 * carries (max_payload less the frame header) with a 64-byte answer, and M
 * calls answered 1 MiB (in chunks), each against raw NATS of the same sizes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>
#include <msgport.h>

#include "../net/wire.h"	/* NET_HDR_SIZE: the frame header */

#define HDR_SIZE ((int)NET_HDR_SIZE)
#define BIG_OUT ((size_t)1 << 20)	/* the 1 MiB answer */
#define SMALL 64

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void report(const char *what, int64_t *t, int n, double *median)
{
	double sum = 0;

	for (int k = 0; k < n; k++)
		sum += (double)t[k];
	qsort(t, (size_t)n, sizeof(*t), cmp);
	*median = (double)t[n / 2] / 1000.0;
	printf("%-28s n=%d mean %.1f us, median %.1f us\n", what, n, sum / n / 1000.0, *median);
}

static void report_rate(const char *what, int n, int64_t ns, double *rate)
{
	*rate = (double)n * 1e9 / (double)(ns > 0 ? ns : 1);
	printf("%-28s n=%d %.0f msg/s (%.1f ms, all delivered)\n", what, n, *rate, (double)ns / 1e6);
}

/* ---------------------------------------------------------------- server */

static int serve(const char *path)
{
	uint64_t count = 0;
	mp_port_t port;
	int err = mp_port_create(&port);

	if (!err)
		err = mp_port_register(port, path, 0600);
	if (err) {
		fprintf(stderr, "net-bench serve %s: %s\n", path, mp_strerror(err));
		return 1;
	}
	printf("ready %s\n", path);
	fflush(stdout);
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		uint32_t a;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		if (r == 1)
			count++;
		if (r != 0)
			continue;
		m.o.err = 0;
		if (m.type == 1) {
			m.o.size = m.i.size < m.o.size ? m.i.size : m.o.size;
			memcpy(m.o.data, m.i.data, m.o.size);
		} else if (m.type == 2) {
			memcpy(&a, m.i.raw, 4);
			if (a <= m.o.size)
				m.o.size = a;	/* the bytes: whatever the buffer holds */
			else
				m.o.err = -EMSGSIZE;
		} else if (m.type == 3) {
			memcpy(m.o.raw, &count, 8);
			m.o.size = 0;
		} else {
			m.o.err = -ENOSYS;
			m.o.size = 0;
		}
		mp_respond(port, &m, rid);
	}
}

/* ---------------------------------------------------------------- raw NATS */

static char *big;		/* BIG_OUT bytes, the inputs and answers */
static uint64_t raw_count;	/* bench.ow messages seen (its callback's thread only) */

/* bench.echo: answer at most SMALL bytes of the input. */
static void echo_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	int n = natsMsg_GetDataLength(m);

	(void)sub, (void)arg;
	natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m), n < SMALL ? n : SMALL);
	natsMsg_Destroy(m);
}

/* bench.big: answer as many bytes as the u32 input says. */
static void big_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	uint32_t a = 0;

	(void)sub, (void)arg;
	if (natsMsg_GetDataLength(m) == 4)
		memcpy(&a, natsMsg_GetData(m), 4);
	natsConnection_Publish(nc, natsMsg_GetReply(m), big, a <= BIG_OUT ? (int)a : 0);
	natsMsg_Destroy(m);
}

/* bench.ow: count; one subscription, so a request for the count (with a
 * reply subject) comes after every message published before it. */
static void ow_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	(void)sub, (void)arg;
	if (natsMsg_GetReply(m))
		natsConnection_Publish(nc, natsMsg_GetReply(m), &raw_count, 8);
	else
		raw_count++;
	natsMsg_Destroy(m);
}

struct raw {
	natsConnection *srv, *cli;
	natsSubscription *echo, *big, *ow;
};

static int raw_open(struct raw *r, const char *url)
{
	return natsConnection_ConnectTo(&r->srv, url) || natsConnection_ConnectTo(&r->cli, url) ||
	       natsConnection_Subscribe(&r->echo, r->srv, "bench.echo", echo_cb, NULL) ||
	       natsConnection_Subscribe(&r->big, r->srv, "bench.big", big_cb, NULL) ||
	       natsConnection_Subscribe(&r->ow, r->srv, "bench.ow", ow_cb, NULL) ||
	       natsSubscription_SetPendingLimits(r->ow, -1, -1) ||
	       natsConnection_Flush(r->srv) ? -1 : 0;
}

static void raw_close(struct raw *r)
{
	natsSubscription_Destroy(r->echo);
	natsSubscription_Destroy(r->big);
	natsSubscription_Destroy(r->ow);
	natsConnection_Destroy(r->cli);
	natsConnection_Destroy(r->srv);
}

/* n requests on subj of len bytes, answered want bytes. */
static int raw_calls(struct raw *r, const char *subj, const void *in, size_t len, size_t want,
		     int n, int64_t *t)
{
	for (int k = 0; k < n; k++) {
		natsMsg *m = NULL;
		int64_t t0 = now_ns();

		if (natsConnection_Request(&m, r->cli, subj, in, (int)len, 10000))
			return -1;
		t[k] = now_ns() - t0;
		if ((size_t)natsMsg_GetDataLength(m) != want) {
			natsMsg_Destroy(m);
			return -1;
		}
		natsMsg_Destroy(m);
	}
	return 0;
}

/* n publishes of SMALL bytes, a flush, then the subscriber's count. */
static int raw_oneway(struct raw *r, int n, int64_t *ns)
{
	char payload[SMALL] = { 0 };
	natsMsg *m = NULL;
	uint64_t before = 0, after = 0;
	int64_t t0;

	if (natsConnection_Request(&m, r->cli, "bench.ow", NULL, 0, 10000))
		return -1;
	memcpy(&before, natsMsg_GetData(m), 8);
	natsMsg_Destroy(m);
	t0 = now_ns();
	for (int k = 0; k < n; k++)
		if (natsConnection_Publish(r->cli, "bench.ow", payload, SMALL))
			return -1;
	if (natsConnection_Flush(r->cli) || natsConnection_Request(&m, r->cli, "bench.ow", NULL, 0, 30000))
		return -1;
	*ns = now_ns() - t0;
	memcpy(&after, natsMsg_GetData(m), 8);
	natsMsg_Destroy(m);
	if (after - before != (uint64_t)n) {
		fprintf(stderr, "net-bench: raw NATS delivered %llu of %d\n",
			(unsigned long long)(after - before), n);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- msgport-net */

static int call(mp_oid_t oid, uint32_t type, uint32_t arg, const void *in, size_t len,
		void *out, size_t cap, size_t want)
{
	mp_msg_t m = { .type = type, .oid = oid };

	memcpy(m.i.raw, &arg, 4);
	m.i.data = (void *)in;
	m.i.size = len;
	m.o.data = out;
	m.o.size = cap;
	return mp_send(oid.port, &m, MP_FOREVER) || m.o.err || m.o.size != want ? -1 : 0;
}

static int remote_calls(mp_oid_t oid, uint32_t type, uint32_t arg, const void *in, size_t len,
			void *out, size_t cap, size_t want, int n, int64_t *t)
{
	for (int k = 0; k < n; k++) {
		int64_t t0 = now_ns();

		if (call(oid, type, arg, in, len, out, cap, want))
			return -1;
		t[k] = now_ns() - t0;
	}
	return 0;
}

static int remote_count(mp_oid_t oid, uint64_t *count)
{
	mp_msg_t m = { .type = 3, .oid = oid };

	if (mp_send(oid.port, &m, MP_FOREVER) || m.o.err)
		return -1;
	memcpy(count, m.o.raw, 8);
	return 0;
}

/* n one-way sends of SMALL bytes, then calls for the count until all came
 * (one-way sends and calls travel on subjects of their own, so the count
 * may lag; 10 s without progress is a loss). */
static int remote_oneway(mp_oid_t oid, int n, int64_t *ns)
{
	char payload[SMALL] = { 0 };
	uint64_t before, now, last;
	int64_t t0, progress;

	if (remote_count(oid, &before))
		return -1;
	t0 = now_ns();
	for (int k = 0; k < n; k++) {
		mp_msg_t m = { .type = 1, .oid = oid };

		m.i.data = payload;
		m.i.size = SMALL;
		if (mp_send_async(oid.port, &m, MP_FOREVER) < 0)
			return -1;
	}
	last = before;
	progress = now_ns();
	for (;;) {
		if (remote_count(oid, &now))
			return -1;
		if (now - before >= (uint64_t)n)
			break;
		if (now != last)
			last = now, progress = now_ns();
		else if (now_ns() - progress > 10000000000ll) {
			fprintf(stderr, "net-bench: msgport-net delivered %llu of %d one-way sends\n",
				(unsigned long long)(now - before), n);
			return -1;
		}
	}
	*ns = now_ns() - t0;
	return 0;
}

/* ---------------------------------------------------------------- main */

static int fail(const char *what)
{
	fprintf(stderr, "net-bench: %s failed\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 0, nbig = argc > 4 ? atoi(argv[4]) : n / 20;
	int64_t *t = NULL, ns;
	char small[SMALL] = { 0 }, out[SMALL], label[64];
	double raw, net;
	size_t in_max;
	struct raw r = { 0 };
	mp_oid_t oid;

	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	nbig = nbig < 10 ? 10 : nbig;
	if (n > 0)
		t = malloc(sizeof(*t) * (size_t)(n > nbig ? n : nbig));
	big = calloc(1, BIG_OUT);
	if ((argc != 4 && argc != 5) || !t || !big) {
		fprintf(stderr, "usage: net-bench NATS_URL PATH N [M]   |   net-bench serve PATH\n");
		return 2;
	}
	if (raw_open(&r, argv[1]))
		return fail("connecting to NATS");
	if (mp_lookup(argv[2], &oid))
		return fail("lookup");

	/* 64-byte calls. */
	if (raw_calls(&r, "bench.echo", small, SMALL, SMALL, n, t))
		return fail("raw NATS request");
	report("raw NATS request/reply 64 B", t, n, &raw);
	if (remote_calls(oid, 1, 0, small, SMALL, out, SMALL, SMALL, n, t))
		return fail("remote call");
	report("msgport-net call 64 B", t, n, &net);
	printf("ratio (median): %.2fx of raw NATS\n", net / raw);

	/* One-way throughput. */
	if (raw_oneway(&r, n, &ns))
		return fail("raw NATS publish");
	report_rate("raw NATS publish 64 B", n, ns, &raw);
	if (remote_oneway(oid, n, &ns))
		return fail("remote one-way");
	report_rate("msgport-net one-way 64 B", n, ns, &net);
	printf("ratio (throughput): %.2fx of raw NATS\n", net / raw);

	/* The largest input a call carries, a 64-byte answer. */
	in_max = (size_t)natsConnection_GetMaxPayload(r.cli) - HDR_SIZE;
	in_max = in_max < BIG_OUT ? in_max : BIG_OUT;
	printf("input %zu B: max_payload %lld less the %d-byte frame header (a call's input "
	       "travels in one message)\n", in_max, (long long)natsConnection_GetMaxPayload(r.cli), HDR_SIZE);
	if (raw_calls(&r, "bench.echo", big, in_max, SMALL, nbig, t))
		return fail("raw NATS large request");
	snprintf(label, sizeof(label), "raw NATS request %zu B", in_max);
	report(label, t, nbig, &raw);
	if (remote_calls(oid, 1, 0, big, in_max, out, SMALL, SMALL, nbig, t))
		return fail("remote large-input call");
	snprintf(label, sizeof(label), "msgport-net call %zu B", in_max);
	report(label, t, nbig, &net);
	printf("ratio (median): %.2fx of raw NATS\n", net / raw);

	/* A 1 MiB answer (the gateway sends it in max_payload chunks). */
	{
		uint32_t want = (uint32_t)BIG_OUT;
		char *dst = malloc(BIG_OUT);

		if (!dst || raw_calls(&r, "bench.big", &want, 4, BIG_OUT, nbig, t))
			return fail("raw NATS 1 MiB reply");
		report("raw NATS reply 1 MiB", t, nbig, &raw);
		if (remote_calls(oid, 2, want, NULL, 0, dst, BIG_OUT, BIG_OUT, nbig, t))
			return fail("remote 1 MiB-answer call");
		report("msgport-net answer 1 MiB", t, nbig, &net);
		printf("ratio (median): %.2fx of raw NATS\n", net / raw);
		free(dst);
	}
	raw_close(&r);
	free(big);
	free(t);
	return 0;
}
