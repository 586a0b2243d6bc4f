/* SPDX-License-Identifier: MIT */
/*
 * What the event-loop examples share: a server that serves a port next to
 * a 1 kHz timerfd in one loop (epoll-server.c, uv-server.c) answers each
 * TICK_MT_COUNT call with the number of timer expirations it has handled
 * so far, in o.raw, and leaves on TICK_MT_QUIT.  tick-client.c checks that
 * the count grows while calls are served: both sources are handled by one
 * thread, without either starving the other.
 */
#ifndef EXAMPLES_EVENTLOOP_TICK_H
#define EXAMPLES_EVENTLOOP_TICK_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "msgport.h"

#define TICK_MT_COUNT 1u
#define TICK_MT_QUIT 2u
#define TICK_PERIOD_NS 1000000L	/* 1 kHz */

/* Answer every message waiting on port: one-way ones are ignored, calls get
 * *ticks; returns 1 when a TICK_MT_QUIT arrived, 0 when none is left, or a
 * negative msgport error. */
static inline int tick_serve_pending(mp_port_t port, uint64_t ticks)
{
	for (;;) {
		mp_msg_t msg;
		mp_rid_t rid;
		int r = mp_recv(port, &msg, &rid, 0);

		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		if (r != 0)
			continue;	/* one-way or pulse: nothing to answer */
		msg.o.size = 0;
		msg.o.err = msg.type == TICK_MT_COUNT || msg.type == TICK_MT_QUIT ? 0 : -ENOSYS;
		memcpy(msg.o.raw, &ticks, sizeof(ticks));
		r = mp_respond(port, &msg, rid);
		if (r < 0 && r != -EPIPE)	/* a caller that gave up is not our error */
			return r;
		if (msg.type == TICK_MT_QUIT)
			return 1;
	}
}

#endif
