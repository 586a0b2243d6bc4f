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
 * Raw NATS twice: with libnats's default buffering (its flusher naps ~1 ms
 * before writing a publish) and with SendAsap; each ratio names the
 * like-for-like one, the gateways' own: SendAsap for calls, default for
 * one-ways (they travel on a buffered connection of their own).
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

/* One raw NATS pair of connections, its subjects under PREFIX. */
struct raw {
	natsConnection *srv, *cli;
	natsSubscription *echo, *big, *ow;
	uint64_t count;		/* PREFIX.ow messages seen (its callback's thread only) */
	char echo_subj[32], big_subj[32], ow_subj[32];
};

/* PREFIX.echo: answer at most SMALL bytes of the input. */
static void echo_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	int n = natsMsg_GetDataLength(m);

	(void)sub, (void)arg;
	natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m), n < SMALL ? n : SMALL);
	natsMsg_Destroy(m);
}

/* PREFIX.big: answer as many bytes as the u32 input says. */
static void big_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	uint32_t a = 0;

	(void)sub, (void)arg;
	if (natsMsg_GetDataLength(m) == 4)
		memcpy(&a, natsMsg_GetData(m), 4);
	natsConnection_Publish(nc, natsMsg_GetReply(m), big, a <= BIG_OUT ? (int)a : 0);
	natsMsg_Destroy(m);
}

/* PREFIX.ow: count; one subscription, so a request for the count (with a
 * reply subject) comes after every message published before it. */
static void ow_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct raw *r = arg;

	(void)sub;
	if (natsMsg_GetReply(m))
		natsConnection_Publish(nc, natsMsg_GetReply(m), &r->count, 8);
	else
		r->count++;
	natsMsg_Destroy(m);
}

/* Connect both ends, with libnats's default buffering or SendAsap (as
 * msgport-net's own connections: docs/net.md, "Latency"). */
static int raw_connect(natsConnection **nc, const char *url, int asap)
{
	natsOptions *o = NULL;
	int err = natsOptions_Create(&o) || natsOptions_SetURL(o, url) ||
		  (asap && natsOptions_SetSendAsap(o, true)) || natsConnection_Connect(nc, o);

	natsOptions_Destroy(o);
	return err ? -1 : 0;
}

static int raw_open(struct raw *r, const char *url, const char *prefix, int asap)
{
	snprintf(r->echo_subj, sizeof(r->echo_subj), "%s.echo", prefix);
	snprintf(r->big_subj, sizeof(r->big_subj), "%s.big", prefix);
	snprintf(r->ow_subj, sizeof(r->ow_subj), "%s.ow", prefix);
	return raw_connect(&r->srv, url, asap) || raw_connect(&r->cli, url, asap) ||
	       natsConnection_Subscribe(&r->echo, r->srv, r->echo_subj, echo_cb, r) ||
	       natsConnection_Subscribe(&r->big, r->srv, r->big_subj, big_cb, r) ||
	       natsConnection_Subscribe(&r->ow, r->srv, r->ow_subj, ow_cb, r) ||
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

	if (natsConnection_Request(&m, r->cli, r->ow_subj, NULL, 0, 10000))
		return -1;
	memcpy(&before, natsMsg_GetData(m), 8);
	natsMsg_Destroy(m);
	t0 = now_ns();
	for (int k = 0; k < n; k++)
		if (natsConnection_Publish(r->cli, r->ow_subj, payload, SMALL))
			return -1;
	if (natsConnection_Flush(r->cli) || natsConnection_Request(&m, r->cli, r->ow_subj, NULL, 0, 30000))
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

/* The ratio the target is judged on: against raw NATS in the gateways'
 * own configuration (calls: SendAsap; one-ways: libnats's default
 * buffering, docs/net.md "Latency"); the other for reference. */
static void ratios(const char *what, double net, double asap, double def)
{
	printf("ratio (%s): %.2fx of raw NATS SendAsap (like-for-like); %.2fx of raw NATS default\n",
	       what, net / asap, net / def);
}

static void ratios_oneway(double net, double asap, double def)
{
	printf("ratio (throughput): %.2fx of raw NATS default (like-for-like); %.2fx of raw NATS SendAsap\n",
	       net / def, net / asap);
}

/* N 64-byte round trips each way. */
static int small_calls(struct raw *rd, struct raw *ra, mp_oid_t oid, int n, int64_t *t)
{
	char small[SMALL] = { 0 }, out[SMALL];
	double def, asap, net;

	if (raw_calls(rd, rd->echo_subj, small, SMALL, SMALL, n, t))
		return fail("raw NATS request");
	report("raw NATS default req/rep 64 B", t, n, &def);
	if (raw_calls(ra, ra->echo_subj, small, SMALL, SMALL, n, t))
		return fail("raw NATS SendAsap request");
	report("raw NATS SendAsap req/rep 64 B", t, n, &asap);
	if (remote_calls(oid, 1, 0, small, SMALL, out, SMALL, SMALL, n, t))
		return fail("remote call");
	report("msgport-net call 64 B", t, n, &net);
	ratios("median", net, asap, def);
	return 0;
}

static int oneways(struct raw *rd, struct raw *ra, mp_oid_t oid, int n)
{
	double def, asap, net;
	int64_t ns;

	if (raw_oneway(rd, n, &ns))
		return fail("raw NATS publish");
	report_rate("raw NATS default publish 64 B", n, ns, &def);
	if (raw_oneway(ra, n, &ns))
		return fail("raw NATS SendAsap publish");
	report_rate("raw NATS SendAsap publish 64 B", n, ns, &asap);
	if (remote_oneway(oid, n, &ns))
		return fail("remote one-way");
	report_rate("msgport-net one-way 64 B", n, ns, &net);
	ratios_oneway(net, asap, def);
	return 0;
}

/* The largest input a call carries, a 64-byte answer. */
static int big_inputs(struct raw *rd, struct raw *ra, mp_oid_t oid, int n, int64_t *t)
{
	size_t in_max = (size_t)natsConnection_GetMaxPayload(ra->cli) - HDR_SIZE;
	char out[SMALL], label[64];
	double def, asap, net;

	in_max = in_max < BIG_OUT ? in_max : BIG_OUT;
	printf("input %zu B: max_payload %lld less the %d-byte frame header (a call's input "
	       "travels in one message)\n", in_max, (long long)natsConnection_GetMaxPayload(ra->cli), HDR_SIZE);
	if (raw_calls(rd, rd->echo_subj, big, in_max, SMALL, n, t))
		return fail("raw NATS large request");
	snprintf(label, sizeof(label), "raw NATS default req %zu B", in_max);
	report(label, t, n, &def);
	if (raw_calls(ra, ra->echo_subj, big, in_max, SMALL, n, t))
		return fail("raw NATS SendAsap large request");
	snprintf(label, sizeof(label), "raw NATS SendAsap req %zu B", in_max);
	report(label, t, n, &asap);
	if (remote_calls(oid, 1, 0, big, in_max, out, SMALL, SMALL, n, t))
		return fail("remote large-input call");
	snprintf(label, sizeof(label), "msgport-net call %zu B", in_max);
	report(label, t, n, &net);
	ratios("median", net, asap, def);
	return 0;
}

/* A 1 MiB answer (the gateway sends it in max_payload chunks). */
static int big_answers(struct raw *rd, struct raw *ra, mp_oid_t oid, int n, int64_t *t)
{
	uint32_t want = (uint32_t)BIG_OUT;
	char *dst = malloc(BIG_OUT);
	double def, asap, net;
	int err = -1;

	if (!dst || raw_calls(rd, rd->big_subj, &want, 4, BIG_OUT, n, t))
		goto out;
	report("raw NATS default reply 1 MiB", t, n, &def);
	if (raw_calls(ra, ra->big_subj, &want, 4, BIG_OUT, n, t))
		goto out;
	report("raw NATS SendAsap reply 1 MiB", t, n, &asap);
	if (remote_calls(oid, 2, want, NULL, 0, dst, BIG_OUT, BIG_OUT, n, t))
		goto out;
	report("msgport-net answer 1 MiB", t, n, &net);
	ratios("median", net, asap, def);
	err = 0;
out:
	free(dst);
	return err ? fail("1 MiB answers") : 0;
}

int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 0, nbig = argc > 4 ? atoi(argv[4]) : n / 20;
	struct raw rd = { 0 }, ra = { 0 };
	int64_t *t = NULL;
	mp_oid_t oid;
	int err;

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
	if (raw_open(&rd, argv[1], "bench.def", 0) || raw_open(&ra, argv[1], "bench.asap", 1))
		return fail("connecting to NATS");
	if (mp_lookup(argv[2], &oid))
		return fail("lookup");
	err = small_calls(&rd, &ra, oid, n, t) || oneways(&rd, &ra, oid, n) ||
	      big_inputs(&rd, &ra, oid, nbig, t) || big_answers(&rd, &ra, oid, nbig, t);
	raw_close(&rd);
	raw_close(&ra);
	free(big);
	free(t);
	return err;
}
