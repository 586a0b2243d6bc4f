/* SPDX-License-Identifier: MIT */
/*
 * pingpong - two processes talking Moroso IPC (msgport/moroso.h): a
 * ping-pong of short synchronous messages, then a long message whose
 * pages move from the sender to the receiver, then the ponger
 * deschedule()s itself again and again and the pinger wakes it each time
 * with make_runnable() from its own process.
 *
 * The parent forks the ponger; the ponger's main thread id is its pid, so
 * that is the id the pinger sends to.  The pinger's first synchronous send
 * waits (within its timeout) until the ponger has created its mailbox.
 *
 * Usage: pingpong [ROUNDS]   (default 10000)
 * Prints the round-trip times and "pingpong: all checks passed".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgport/moroso.h>

#define PAGE 4096u
#define LONG_PAGES 64u
#define LONG_LEN (LONG_PAGES * PAGE)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t checksum(const unsigned char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t k = 0; k < len; k++)
		h = (h ^ p[k]) * 1099511628211ull;
	return h;
}

/* An unmapped, page-aligned range for long messages to land in. */
static void *landing_zone(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

/* Deschedule as often as the message says; the pinger wakes each one. */
static int deschedules(const char *count)
{
	int n, reject = 0;

	memcpy(&n, count, sizeof(n));
	for (int k = 0; k < n; k++) {
		int err = deschedule(&reject);

		if (err < 0)
			return err;
	}
	return 0;
}

/* Answer the request, then deschedule as it asks. */
static int desch_request(const char *count)
{
	int err = ipc_reply(NULL, 0);

	if (err < 0)
		return err;
	return deschedules(count);
}

static int ponger(void)
{
	char msg[64];
	void *dest;
	int err = ipc_mailbox_init();

	if (err < 0 || !(dest = landing_zone(LONG_LEN))) {
		fprintf(stderr, "ponger: setup: %d\n", err);
		return 1;
	}
	for (;;) {
		uint32_t len_long = LONG_LEN, len_short = sizeof(msg);
		int r = ipc_recv(dest, msg, &len_long, &len_short, -1);

		if (r == -EEXIST && (dest = landing_zone(LONG_LEN)))
			continue;	/* something was mapped there meanwhile */
		if (r < 0) {
			fprintf(stderr, "ponger: ipc_recv: %d\n", r);
			return 1;
		}
		if (len_long) {	/* the moved pages are ours now */
			uint64_t sum = checksum(dest, len_long);

			printf("ponger: received a long message of %u bytes at %p\n", len_long, dest);
			err = ipc_reply(&sum, sizeof(sum));
			munmap(dest, len_long);
		} else if (len_short == 4 && memcmp(msg, "quit", 4) == 0) {
			return ipc_reply("bye", 3) == 0 ? 0 : 1;
		} else if (len_short == sizeof(int) + 6 && memcmp(msg, "desch ", 6) == 0) {
			err = desch_request(msg + 6);
		} else {
			msg[1] = 'o';	/* ping -> pong */
			err = ipc_reply(msg, len_short);
		}
		if (err < 0) {
			fprintf(stderr, "ponger: ipc_reply: %d\n", err);
			return 1;
		}
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int pings(pid_t peer, int rounds)
{
	int64_t *rtt = calloc((size_t)rounds, sizeof(*rtt));

	if (!rtt)
		return 1;
	for (int k = 0; k < rounds; k++) {
		char msg[16];
		uint32_t len = (uint32_t)snprintf(msg, sizeof(msg), "ping %d", k) + 1;
		int64_t t0 = now_ns();
		int r = ipc_send(peer, NULL, msg, 0, &len, 5000, 0, 1);

		rtt[k] = now_ns() - t0;
		if (r != 0 || strncmp(msg, "pong", 4) != 0) {
			printf("pingpong: round %d: ipc_send %d, reply \"%.*s\"\n", k, r, (int)len, msg);
			free(rtt);
			return 1;
		}
	}
	qsort(rtt, (size_t)rounds, sizeof(*rtt), cmp64);
	printf("pingpong: %d short round trips: p50 %.1f us, p99 %.1f us\n", rounds,
	       rtt[rounds / 2] / 1e3, rtt[rounds * 99 / 100] / 1e3);
	free(rtt);
	return 0;
}

static int move_long(pid_t peer)
{
	unsigned char *pages = mmap(NULL, LONG_LEN, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t sum, want;
	uint32_t len = sizeof(sum);
	unsigned char vec;
	int r;

	if (pages == MAP_FAILED)
		return 1;
	for (size_t k = 0; k < LONG_LEN; k++)
		pages[k] = (unsigned char)(k * 131 + k / PAGE);
	want = checksum(pages, LONG_LEN);
	r = ipc_send(peer, pages, &sum, LONG_LEN, &len, 5000, 0, 1);	/* shared = 0: moved */
	if (r != 0 || len != sizeof(sum) || sum != want) {
		printf("pingpong: long message: ipc_send %d, checksum %llx, expected %llx\n", r,
		       (unsigned long long)sum, (unsigned long long)want);
		return 1;
	}
	if (mincore(pages, PAGE, &vec) == 0 || errno != ENOMEM) {
		printf("pingpong: the moved pages are still mapped in the sender\n");
		return 1;
	}
	printf("pingpong: moved %u pages (%u bytes); the receiver's checksum matches; "
	       "they are gone from the sender\n", LONG_PAGES, LONG_LEN);
	return 0;
}

/* Have the ponger deschedule n times; wake it each time (make_runnable()
 * says -EAGAIN until it is descheduled: then yield and try again). */
static int wakes(pid_t peer, int n)
{
	char msg[6 + sizeof(int)] = "desch ";
	uint32_t len = sizeof(msg);
	int64_t t0;
	int r;

	memcpy(msg + 6, &n, sizeof(n));
	r = ipc_send(peer, NULL, msg, 0, &len, 5000, 0, 1);
	if (r != 0) {
		printf("pingpong: desch: ipc_send %d\n", r);
		return 1;
	}
	t0 = now_ns();
	for (int k = 0; k < n; k++) {
		while ((r = make_runnable(peer)) == -EAGAIN)
			moroso_yield(-1);
		if (r != 0) {
			printf("pingpong: make_runnable %d after %d wake-ups\n", r, k);
			return 1;
		}
	}
	printf("pingpong: woke the ponger from deschedule() %d times, %.1f us each\n", n,
	       (double)(now_ns() - t0) / n / 1000.0);
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10000;
	char bye[8] = "quit";
	uint32_t len = 4;
	pid_t peer;
	int st, fail;

	if (rounds < 1)
		rounds = 1;
	fflush(stdout);
	peer = fork();
	if (peer < 0)
		return 1;
	if (peer == 0) {
		int r = ponger();

		fflush(stdout);
		_exit(r);
	}
	fail = pings(peer, rounds) || move_long(peer) || wakes(peer, rounds);
	if (ipc_send(peer, NULL, bye, 0, &len, 5000, 0, 1) != 0 || memcmp(bye, "bye", 3) != 0)
		fail = 1;
	if (waitpid(peer, &st, 0) != peer || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail = 1;
	printf(fail ? "pingpong: FAILED\n" : "pingpong: all checks passed\n");
	return fail;
}
