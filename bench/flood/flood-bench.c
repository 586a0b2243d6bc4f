/* SPDX-License-Identifier: MIT */
/*
 * flood-bench: a 64-byte call's latency while another client floods the
 * same port with pulses (issue 12), beside the same call's latency
 * without the flood, measured in the same run; and the server's memory
 * (VmRSS) before and after the flood.
 *
 * Processes: a server (one thread in mp_recv: answers calls with 64
 * bytes, takes pulses), the caller (this process: 64-byte calls, one at
 * a time, each timed with CLOCK_MONOTONIC), and a flooder (mp_pulse() as
 * fast as it goes, codes cycling over 16).
 *   quiet   the caller's calls, no flood (-c calls)
 *   flood   the caller's calls for as long as the flood runs (-n pulses)
 * p50 and p99 of each, and flood / quiet; the server's RSS before the
 * flood and after it (pulses coalesce: it must not grow with -n).
 * Output: a markdown table on stdout, OUT/flood.csv.
 * Usage: flood-bench [-n pulses] [-c calls] [-o dir]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"

#define T_CALL 1u
#define T_QUIT 2u
#define LAT_MAX 2000000L	/* calls kept per phase */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The server: answer calls (64 bytes), count pulses, until T_QUIT. */
static void server(int wfd)
{
	char out[64] = { 0 };
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	long pulses = 0;
	int r;

	if (mp_port_create(&port) || write(wfd, &port, sizeof(port)) != sizeof(port))
		_exit(1);
	for (;;) {
		r = mp_recv(port, &m, &rid, MP_FOREVER);
		if (r == MP_RECV_PULSE) {
			pulses += mp_msg_pulse(&m).count;
			continue;
		}
		if (r < 0)
			_exit(1);
		if (r != 0)
			continue;	/* a one-way: none expected */
		memcpy(m.o.data, out, m.o.size < 64 ? m.o.size : 64);
		m.o.size = m.o.size < 64 ? m.o.size : 64;
		m.o.nfds = 0;
		mp_respond(port, &m, rid);
		if (m.type == T_QUIT)
			break;
	}
	fprintf(stderr, "flood-bench: the server received %ld pulses (merged counts; a sender's pulses still pending when it exits are dropped with it)\n", pulses);
	mp_port_destroy(port);
	_exit(0);
}

static int call(mp_port_t port, uint32_t type)
{
	char in[64] = { 1 }, out[64];
	mp_msg_t m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.i.data = in;
	m.i.size = sizeof(in);
	m.o.data = out;
	m.o.size = sizeof(out);
	return mp_send(port, &m, MP_FOREVER);
}

/* The flooder: n pulses, then exit (status 1 on an error). */
static void flooder(mp_port_t port, long n)
{
	for (long k = 0; k < n; k++)
		if (mp_pulse(port, (uint32_t)(k & 15), (uint64_t)k))
			_exit(1);
	_exit(0);
}

/* The server's resident set, KiB (/proc/PID/status VmRSS), -1 unknown. */
static long rss_kib(pid_t pid)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stats {
	long n;
	double p50, p99;
};

static struct stats pct(double *v, long n)
{
	struct stats s = { .n = n };

	if (n == 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	s.p50 = v[n / 2];
	s.p99 = v[(long)((double)(n - 1) * 0.99)];
	return s;
}

/* Timed calls: ncalls of them, or (flood > 0) until the flooder exits. */
static int timed_calls(mp_port_t port, double *lat, long ncalls, pid_t flood, int *fstatus,
		       long *n)
{
	*n = 0;
	for (;;) {
		int64_t t0 = now_ns();

		if (call(port, T_CALL))
			return -1;
		if (*n < LAT_MAX)
			lat[(*n)++] = (double)(now_ns() - t0);
		if (flood > 0 ? waitpid(flood, fstatus, WNOHANG) == flood : *n >= ncalls)
			return 0;
	}
}

static void row(FILE *csv, const char *phase, struct stats s, const struct stats *base)
{
	double r50 = base->p50 > 0 ? s.p50 / base->p50 : 0, r99 = base->p99 > 0 ? s.p99 / base->p99 : 0;

	printf("| %s | %ld | %.0f | %.0f | %.2f | %.2f |\n", phase, s.n, s.p50, s.p99, r50, r99);
	fprintf(csv, "msgport-call,%s,call_p50,%.0f,ns,%ld,quiet,%.2f\n", phase, s.p50, s.n, r50);
	fprintf(csv, "msgport-call,%s,call_p99,%.0f,ns,%ld,quiet,%.2f\n", phase, s.p99, s.n, r99);
}

int main(int argc, char **argv)
{
	long pulses = 10000000L, ncalls = 20000;
	const char *out = "bench/out";
	char path[512];
	int pfd[2], opt, st = 0, fst = 0;
	long rss0, rss1, n = 0;
	struct stats quiet, flood;
	int64_t t0, t1;
	double *lat;
	mp_port_t port;
	pid_t srv, fl;
	FILE *csv;

	while ((opt = getopt(argc, argv, "n:c:o:")) != -1) {
		if (opt == 'n')
			pulses = atol(optarg);
		else if (opt == 'c')
			ncalls = atol(optarg);
		else if (opt == 'o')
			out = optarg;
		else
			return fprintf(stderr, "usage: flood-bench [-n pulses] [-c calls] [-o dir]\n"), 2;
	}
	if (pulses < 1 || ncalls < 100)
		return fprintf(stderr, "flood-bench: -n >= 1, -c >= 100\n"), 2;
	lat = malloc(sizeof(*lat) * LAT_MAX);
	if (!lat || pipe(pfd))
		return 1;
	srv = fork();
	if (srv == 0) {
		close(pfd[0]);
		server(pfd[1]);
	}
	close(pfd[1]);
	if (srv < 0 || read(pfd[0], &port, sizeof(port)) != sizeof(port))
		return fprintf(stderr, "flood-bench: cannot start the server\n"), 1;
	close(pfd[0]);

	fprintf(stderr, "flood-bench: %ld calls without a flood ...\n", ncalls);
	if (timed_calls(port, lat, ncalls / 10, 0, NULL, &n) ||	/* warm-up, not counted */
	    timed_calls(port, lat, ncalls, 0, NULL, &n))
		goto fail;
	quiet = pct(lat, n);
	/* the flooder's first pulse maps the server's pulse table: warm it too */
	fl = fork();
	if (fl == 0)
		flooder(port, 1000);
	waitpid(fl, &fst, 0);
	rss0 = rss_kib(srv);

	fprintf(stderr, "flood-bench: calls during a flood of %ld pulses ...\n", pulses);
	t0 = now_ns();
	fl = fork();
	if (fl == 0)
		flooder(port, pulses);
	if (fl < 0 || timed_calls(port, lat, 0, fl, &fst, &n))
		goto fail;
	t1 = now_ns();
	flood = pct(lat, n);
	rss1 = rss_kib(srv);
	if (!WIFEXITED(fst) || WEXITSTATUS(fst))
		fprintf(stderr, "flood-bench: the flooder failed\n");
	call(port, T_QUIT);
	waitpid(srv, &st, 0);

	mkdir(out, 0755);
	snprintf(path, sizeof(path), "%s/flood.csv", out);
	csv = fopen(path, "w");
	if (!csv)
		return perror(path), 1;
	fprintf(csv, "case,phase,metric,value,unit,n,baseline,ratio\n");
	printf("\n### Pulse flood: another client's 64-byte call (%ld pulses from one client, %.1f s, "
	       "%.1f M pulses/s)\n\n", pulses, (double)(t1 - t0) / 1e9,
	       (double)pulses / ((double)(t1 - t0) / 1e3));
	printf("| phase | calls | p50 ns | p99 ns | p50 / quiet | p99 / quiet |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	row(csv, "quiet", quiet, &quiet);
	row(csv, "flood", flood, &quiet);
	printf("\nServer RSS: %ld KiB before the flood, %ld KiB after (%+ld KiB for %ld pulses)\n",
	       rss0, rss1, rss1 - rss0, pulses);
	fprintf(csv, "msgport-server,flood,rss_before,%ld,KiB,%ld,,\n", rss0, pulses);
	fprintf(csv, "msgport-server,flood,rss_after,%ld,KiB,%ld,,\n", rss1, pulses);
	fclose(csv);
	free(lat);
	return 0;
fail:
	fprintf(stderr, "flood-bench: a call failed\n");
	kill(srv, SIGKILL);
	return 1;
}
