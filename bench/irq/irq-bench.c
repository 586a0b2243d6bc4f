/* SPDX-License-Identifier: MIT */
/*
 * irq-bench: event-to-mp_recv latency of interrupt forwarding
 * (mp_pulse_on_fd), beside a raw baseline measured in the same run: a
 * thread blocked in read() on the same kind of descriptor.
 *
 * Cases, each in one process (CLOCK_MONOTONIC on both sides):
 *   eventfd   the main thread notes t and writes the eventfd; the
 *             receiver notes t' when it has the event (read() returned,
 *             or mp_recv() returned the pulse); then the next event.
 *   timerfd   a 1 kHz periodic timerfd (the "interrupt" of examples/irq/):
 *             t is the expiry time of the latest expiration, known from
 *             the start time and the expiration count.
 * For each, raw (read() in a thread) and msgport (mp_recv() on a port
 * that watches the descriptor).  p50 and p99 of t' - t, and the ratio to
 * raw.  Output: a markdown table on stdout, OUT/irq.csv.
 * Usage: irq-bench [-n events] [-o dir]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"

#define TICK_NS 1000000LL	/* the timerfd's period: 1 kHz */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct job {
	int fd;			/* the eventfd or timerfd */
	bool timer;
	mp_port_t port;		/* 0: raw read() */
	long n;
	int64_t start;		/* timerfd: the first expiry */
	_Atomic int64_t sent;	/* eventfd: t of the event in flight, 0 none */
	double *lat;
};

/* The receiver's view of one event: its count (0: failed). */
static uint64_t wait_event(struct job *j)
{
	uint64_t v = 0;

	if (!j->port)
		return read(j->fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(j->port, &m, &rid, MP_FOREVER);

		if (r == MP_RECV_PULSE)
			return mp_msg_pulse(&m).value;
		if (r < 0)
			return 0;
	}
}

static void *receiver(void *arg)
{
	struct job *j = arg;
	uint64_t expirations = 0;

	for (long k = 0; k < j->n; k++) {
		uint64_t v = wait_event(j);
		int64_t t1 = now_ns(), t0;

		if (!v) {
			fprintf(stderr, "irq-bench: the receiver failed\n");
			exit(1);
		}
		if (j->timer) {
			expirations += v;
			t0 = j->start + (int64_t)(expirations - 1) * TICK_NS;
		} else {
			t0 = atomic_load(&j->sent);
			atomic_store(&j->sent, 0);	/* the sender's go-ahead */
		}
		j->lat[k] = (double)(t1 - t0);
	}
	return NULL;
}

static void eventfd_drive(struct job *j)
{
	uint64_t one = 1;

	for (long k = 0; k < j->n; k++) {
		int64_t t = now_ns();

		atomic_store(&j->sent, t);
		if (write(j->fd, &one, sizeof(one)) != sizeof(one))
			exit(1);
		while (atomic_load(&j->sent))
			sched_yield();
		usleep(50);	/* let the receiver go to sleep again */
	}
}

static void timerfd_arm(struct job *j)
{
	struct itimerspec its = { .it_interval = { 0, TICK_NS } };
	int64_t first = now_ns() + 10 * TICK_NS;

	its.it_value.tv_sec = first / 1000000000LL;
	its.it_value.tv_nsec = first % 1000000000LL;
	j->start = first;
	if (timerfd_settime(j->fd, TFD_TIMER_ABSTIME, &its, NULL))
		exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct result {
	double p50, p99;
};

static struct result run_case(bool timer, bool via_port, long n)
{
	struct job j = { .timer = timer, .n = n };
	pthread_t th;
	struct result r;

	j.lat = calloc((size_t)n, sizeof(double));
	j.fd = timer ? timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC) : eventfd(0, EFD_CLOEXEC);
	if (!j.lat || j.fd < 0)
		exit(1);
	if (via_port && (mp_port_create(&j.port) || mp_pulse_on_fd(j.port, j.fd, 1))) {
		fprintf(stderr, "irq-bench: cannot set up the port\n");
		exit(1);
	}
	pthread_create(&th, NULL, receiver, &j);
	if (timer)
		timerfd_arm(&j);
	else
		eventfd_drive(&j);
	pthread_join(th, NULL);
	if (j.port)
		mp_port_destroy(j.port);
	close(j.fd);
	qsort(j.lat, (size_t)n, sizeof(double), cmp_double);
	r.p50 = j.lat[n / 2];
	r.p99 = j.lat[(n * 99) / 100];
	free(j.lat);
	return r;
}

int main(int argc, char **argv)
{
	const char *out = "bench/out";
	long n = 2000;
	char path[512];
	FILE *csv;
	int opt;

	while ((opt = getopt(argc, argv, "n:o:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'o')
			out = optarg;
		else
			return fprintf(stderr, "usage: irq-bench [-n events] [-o dir]\n"), 2;
	}
	if (n < 100)
		n = 100;
	if (!getenv("MSGPORT_ROOT")) {
		static char root[] = "/tmp/msgport-irq-bench.XXXXXX";

		if (!mkdtemp(root))
			return 1;
		setenv("MSGPORT_ROOT", root, 1);
	}
	mkdir(out, 0755);
	snprintf(path, sizeof(path), "%s/irq.csv", out);
	csv = fopen(path, "w");
	if (!csv)
		return perror(path), 1;
	fprintf(csv, "case,source,metric,value,unit,n,baseline,ratio\n");
	printf("\n### Interrupt forwarding: event to receiver (%ld events per row)\n\n", n);
	printf("| source | receiver | p50 ns | p99 ns | p50 / raw | p99 / raw |\n");
	printf("|---|---|---:|---:|---:|---:|\n");
	for (int timer = 0; timer < 2; timer++) {
		const char *src = timer ? "timerfd-1kHz" : "eventfd";
		struct result raw, mp;

		fprintf(stderr, "irq-bench: %s ...\n", src);
		raw = run_case(timer, false, n);
		mp = run_case(timer, true, n);
		printf("| %s | raw read() | %.0f | %.0f | 1.00 | 1.00 |\n", src, raw.p50, raw.p99);
		printf("| %s | mp_recv (mp_pulse_on_fd) | %.0f | %.0f | %.2f | %.2f |\n", src, mp.p50,
		       mp.p99, mp.p50 / raw.p50, mp.p99 / raw.p99);
		fprintf(csv, "raw-read,%s,irq_p50,%.0f,ns,%ld,raw-read,1.00\n", src, raw.p50, n);
		fprintf(csv, "raw-read,%s,irq_p99,%.0f,ns,%ld,raw-read,1.00\n", src, raw.p99, n);
		fprintf(csv, "msgport-pulse-fd,%s,irq_p50,%.0f,ns,%ld,raw-read,%.2f\n", src, mp.p50, n,
			mp.p50 / raw.p50);
		fprintf(csv, "msgport-pulse-fd,%s,irq_p99,%.0f,ns,%ld,raw-read,%.2f\n", src, mp.p99, n,
			mp.p99 / raw.p99);
	}
	fclose(csv);
	return 0;
}
