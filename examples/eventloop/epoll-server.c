/* SPDX-License-Identifier: MIT */
/*
 * epoll-server PATH - serves PATH and a 1 kHz timerfd from one epoll set
 * (see tick.h).  mp_port_fd() is readable exactly when mp_recv() would not
 * block, so the port is one more descriptor in the set.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "tick.h"

static int timer_open(void)
{
	struct itimerspec it = {
		.it_interval = { .tv_nsec = TICK_PERIOD_NS },
		.it_value = { .tv_nsec = TICK_PERIOD_NS },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &it, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The loop: returns 0 after TICK_MT_QUIT, else 1. */
static int serve(mp_port_t port, int ep, int tfd)
{
	uint64_t ticks = 0;

	for (;;) {
		struct epoll_event ev[2];
		int n = epoll_wait(ep, ev, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return perror("epoll-server: epoll_wait"), 1;
		for (int k = 0; k < n; k++) {
			uint64_t expired;

			if (ev[k].data.fd == tfd) {
				if (read(tfd, &expired, sizeof(expired)) == sizeof(expired))
					ticks += expired;
				continue;
			}
			int r = tick_serve_pending(port, ticks);

			if (r < 0)
				return fprintf(stderr, "epoll-server: %s\n", mp_strerror(r)), 1;
			if (r == 1) {
				printf("epoll-server: %" PRIu64 " timer ticks, quit\n", ticks);
				return 0;
			}
		}
	}
}

int main(int argc, char **argv)
{
	mp_port_t port;
	int err, ep, tfd, rc = 1;

	if (argc != 2)
		return fputs("usage: epoll-server PATH\n", stderr), 2;
	err = mp_port_create(&port);
	if (!err)
		err = mp_port_register(port, argv[1], 0600);
	if (err)
		return fprintf(stderr, "epoll-server: %s: %s\n", argv[1], mp_strerror(err)), 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timer_open();
	if (ep < 0 || tfd < 0 || watch(ep, tfd) < 0 || watch(ep, mp_port_fd(port)) < 0)
		perror("epoll-server: set-up");
	else
		rc = serve(port, ep, tfd);
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	mp_port_destroy(port);
	return rc;
}
