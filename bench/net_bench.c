/* SPDX-License-Identifier: MIT */
/*
 * net-bench: a remote 64-byte call through two msgport-net gateways
 * against a raw NATS request/reply of 64 bytes, in the same run, on the
 * same NATS server (bench/net-bench.sh starts everything).
 *   net-bench NATS_URL PATH N
 * Prints the mean and median round trip of each and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>
#include <msgport.h>

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

static void echo_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	(void)sub, (void)arg;
	natsConnection_Publish(nc, natsMsg_GetReply(m), natsMsg_GetData(m), natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
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

static int raw_nats(const char *url, int n, int64_t *t)
{
	natsConnection *srv = NULL, *cli = NULL;
	natsSubscription *sub = NULL;
	char payload[64] = { 0 };

	if (natsConnection_ConnectTo(&srv, url) || natsConnection_ConnectTo(&cli, url) ||
	    natsConnection_Subscribe(&sub, srv, "bench.echo", echo_cb, NULL) ||
	    natsConnection_Flush(srv))
		return -1;
	for (int k = 0; k < n; k++) {
		natsMsg *r = NULL;
		int64_t t0 = now_ns();

		if (natsConnection_Request(&r, cli, "bench.echo", payload, 64, 5000))
			return -1;
		t[k] = now_ns() - t0;
		natsMsg_Destroy(r);
	}
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(cli);
	natsConnection_Destroy(srv);
	return 0;
}

static int remote_calls(const char *path, int n, int64_t *t)
{
	char in[64] = { 0 }, out[64];
	mp_oid_t oid;

	if (mp_lookup(path, &oid))
		return -1;
	for (int k = 0; k < n; k++) {
		mp_msg_t m = { .type = 1, .oid = oid };
		int64_t t0 = now_ns();

		m.i.data = in;
		m.i.size = 64;
		m.o.data = out;
		m.o.size = 64;
		if (mp_send(oid.port, &m, MP_FOREVER) || m.o.err || m.o.size != 64)
			return -1;
		t[k] = now_ns() - t0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 0;
	int64_t *t = n > 0 ? malloc(sizeof(*t) * (size_t)n) : NULL;
	double raw, net;

	if (argc != 4 || !t) {
		fprintf(stderr, "usage: net-bench NATS_URL PATH N\n");
		return 2;
	}
	if (raw_nats(argv[1], n, t)) {
		fprintf(stderr, "net-bench: raw NATS request failed\n");
		return 1;
	}
	report("raw NATS request/reply 64 B", t, n, &raw);
	if (remote_calls(argv[2], n, t)) {
		fprintf(stderr, "net-bench: remote call on %s failed\n", argv[2]);
		return 1;
	}
	report("msgport-net call 64 B", t, n, &net);
	printf("ratio (median): %.2fx of raw NATS\n", net / raw);
	free(t);
	return 0;
}
