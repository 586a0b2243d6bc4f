/* SPDX-License-Identifier: MIT */
/*
 * uv-server PATH - serves PATH next to a 1 kHz timer in a libuv loop (see
 * tick.h): the port's descriptor is watched with uv_poll, the timer is a
 * uv_timer.  Built when libuv is installed (libuv1-dev).
 */
#include <inttypes.h>
#include <stdio.h>
#include <uv.h>

#include "tick.h"

struct server {
	mp_port_t port;
	uint64_t ticks;
	int rc;
	uv_poll_t poll;
	uv_timer_t timer;
};

static void on_tick(uv_timer_t *t)
{
	struct server *s = t->data;

	s->ticks++;	/* uv_timer does not report missed periods: a lower bound */
}

static void stop(struct server *s, int rc)
{
	s->rc = rc;
	uv_poll_stop(&s->poll);
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->poll, NULL);
	uv_close((uv_handle_t *)&s->timer, NULL);
}

static void on_port(uv_poll_t *p, int status, int events)
{
	struct server *s = p->data;
	int r;

	(void)events;
	if (status < 0) {
		fprintf(stderr, "uv-server: poll: %s\n", uv_strerror(status));
		stop(s, 1);
		return;
	}
	r = tick_serve_pending(s->port, s->ticks);
	if (r < 0) {
		fprintf(stderr, "uv-server: %s\n", mp_strerror(r));
		stop(s, 1);
	} else if (r == 1) {
		printf("uv-server: %" PRIu64 " timer ticks, quit\n", s->ticks);
		stop(s, 0);
	}
}

int main(int argc, char **argv)
{
	struct server s = { .rc = 1 };
	uv_loop_t *loop = uv_default_loop();
	int err;

	if (argc != 2)
		return fputs("usage: uv-server PATH\n", stderr), 2;
	err = mp_port_create(&s.port);
	if (!err)
		err = mp_port_register(s.port, argv[1], 0600);
	if (err)
		return fprintf(stderr, "uv-server: %s: %s\n", argv[1], mp_strerror(err)), 1;
	s.poll.data = s.timer.data = &s;
	if (uv_poll_init(loop, &s.poll, mp_port_fd(s.port)) || uv_timer_init(loop, &s.timer) ||
	    uv_poll_start(&s.poll, UV_READABLE, on_port) ||
	    uv_timer_start(&s.timer, on_tick, 1, 1)) {
		fputs("uv-server: libuv set-up failed\n", stderr);
	} else {
		uv_run(loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(loop);
	mp_port_destroy(s.port);
	return s.rc;
}
