/* SPDX-License-Identifier: MIT */
/*
 * tick-client PATH [CALLS] - calls an event-loop example server (tick.h)
 * CALLS times (default 200), 2 ms apart, checks that the server's timer
 * count never goes back and grows over the run (its loop serves both the
 * port and the timer), then asks it to quit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tick.h"

#define CALL_TIMEOUT_NS 5000000000LL	/* generous: a loaded machine */

static int tick_call(const mp_oid_t *oid, uint32_t type, uint64_t *ticks)
{
	mp_msg_t msg = { .type = type, .oid = *oid };
	int r = mp_send(oid->port, &msg, CALL_TIMEOUT_NS);

	if (r == 0 && msg.o.err)
		r = msg.o.err;
	memcpy(ticks, msg.o.raw, sizeof(*ticks));
	return r;
}

/* The server may still be starting: look up for up to 10 s. */
static int lookup_waiting(const char *path, mp_oid_t *oid)
{
	const struct timespec pause = { .tv_nsec = 10000000 };
	int r = mp_lookup(path, oid);

	for (int k = 0; r == -ENOENT && k < 1000; k++) {
		nanosleep(&pause, NULL);
		r = mp_lookup(path, oid);
	}
	return r;
}

int main(int argc, char **argv)
{
	const struct timespec gap = { .tv_nsec = 2000000 };
	uint64_t first = 0, last = 0, now;
	long calls = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	mp_oid_t oid;
	int r;

	if (argc < 2 || calls < 2)
		return fputs("usage: tick-client PATH [CALLS >= 2]\n", stderr), 2;
	r = lookup_waiting(argv[1], &oid);
	for (long k = 0; !r && k < calls; k++) {
		r = tick_call(&oid, TICK_MT_COUNT, &now);
		if (r)
			break;
		if (now < last)
			return fprintf(stderr, "tick-client: count went back %" PRIu64 " -> %" PRIu64 "\n",
				       last, now), 1;
		if (k == 0)
			first = now;
		last = now;
		nanosleep(&gap, NULL);
	}
	if (!r)
		r = tick_call(&oid, TICK_MT_QUIT, &now);
	if (r)
		return fprintf(stderr, "tick-client: %s: %s\n", argv[1], mp_strerror(r)), 1;
	/* 200 calls 2 ms apart take >= 400 ms: a live 1 kHz timer ticks far
	 * more than calls / 4 times in that, even on a loaded machine. */
	if (last - first < (uint64_t)calls / 4)
		return fprintf(stderr, "tick-client: the timer ticked %" PRIu64 " times in %ld calls\n",
			       last - first, calls), 1;
	printf("tick-client: %ld calls answered; the server's timer ticked %" PRIu64 " times meanwhile\n",
	       calls, last - first);
	return 0;
}
