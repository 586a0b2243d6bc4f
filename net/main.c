/* SPDX-License-Identifier: MIT */
/*
 * msgport-net: this host's gateway to the others over NATS (docs/net.md).
 * Mounts /net, then one thread receives on /net and on every import
 * port (epoll) and hands each message on without waiting for anything
 * remote; a ticker answers silent calls and beats for the ones we serve.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"

#define SIG_TAG 0xffffffffu	/* the signalfd's epoll tag; never a port */

static atomic_int stopping;

int64_t net_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void net_log(struct gw *g, const char *fmt, ...)
{
	va_list ap;

	if (!g->o.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "msgport-net[%s]: ", g->o.host);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void *ticker(void *arg)
{
	struct gw *g = arg;
	struct timespec ts = { 0, 100 * 1000000l };

	while (!atomic_load(&stopping)) {
		nanosleep(&ts, NULL);
		net_reap(g);
		net_beat(g);
		net_bulk_confirm(g);
	}
	return NULL;
}

static void on_netport(struct gw *g, mp_msg_t *msg, mp_rid_t rid, int r)
{
	if (r != 0)
		return;	/* one-way messages and pulses to /net itself mean nothing */
	if (msg->type == MP_MT_LOOKUP)
		net_lookup_start(g, msg, rid);
	else if (msg->type == MP_NET_MT_LIST)
		net_list_start(g, msg, rid);
	else
		net_respond_err(g, g->netport, msg, rid, -ENOSYS);
}

/* Take everything queued on port: 0, or a fatal error. */
static int drain(struct gw *g, mp_port_t port)
{
	const struct import *im = port == g->netport ? NULL : net_import_find(g, port);

	for (;;) {
		mp_msg_t msg;
		mp_rid_t rid;
		int r = mp_recv(port, &msg, &rid, 0);

		if (r == -EAGAIN || r == -ETIMEDOUT || r < 0)
			net_forward_flush(g);	/* the one-ways taken so far */
		if (r == -EAGAIN || r == -ETIMEDOUT)
			return 0;
		if (r < 0)
			return r;
		if (!im)
			on_netport(g, &msg, rid, r);
		else if (r == 0)
			net_forward_call(g, im, &msg, rid);
		else if (r == 1)
			net_forward_send(g, im, &msg);
		else
			net_forward_pulse(g, im, &msg);
	}
}

static int loop(struct gw *g)
{
	struct epoll_event ev[32];

	for (;;) {
		int n = epoll_wait(g->epfd, ev, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int k = 0; k < n; k++) {
			int err;

			if (ev[k].data.u32 == SIG_TAG)
				return 0;
			err = drain(g, ev[k].data.u32);
			if (err) {
				fprintf(stderr, "msgport-net: receive: %s\n", mp_strerror(err));
				return err;
			}
		}
	}
}

static int watch(struct gw *g, int fd, uint32_t tag)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = tag };

	return fd < 0 ? fd : (epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0);
}

static int signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	int fd = signalfd(-1, &set, SFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* /net, a directory object {port, 0} of our first port. */
static int mount(struct gw *g)
{
	mp_oid_t oid = { 0 };
	int err = mp_port_create(&g->netport);

	if (err)
		return err;
	oid.port = g->netport;
	err = watch(g, mp_port_fd(g->netport), g->netport);
	return err ? err : mp_mount_register(&oid, "/net", 0666);
}

static int run(struct gw *g, int sigfd)
{
	pthread_t tick;
	int err;

	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	g->handed = calloc(NET_HANDED_MAX, sizeof(*g->handed));
	if (g->epfd < 0 || !g->handed)
		return -ENOMEM;
	err = watch(g, sigfd, SIG_TAG);
	if (!err)
		err = net_imports_init(g);
	if (!err)
		err = net_oneway_init(g);
	if (!err)
		err = net_conn_open(g);
	if (!err)
		err = net_conn_subscribe(g);
	if (!err && (err = mount(g)))
		fprintf(stderr, "msgport-net: mount /net: %s\n", mp_strerror(err));
	if (err || (err = -pthread_create(&tick, NULL, ticker, g)))
		return err;
	printf("ready %s\n", g->o.host);
	fflush(stdout);
	err = loop(g);
	atomic_store(&stopping, 1);
	pthread_join(tick, NULL);
	return err;
}

int main(int argc, char **argv)
{
	static struct gw g;
	int sigfd, err;

	net_opts_parse(argc, argv, &g.o);
	pthread_mutex_init(&g.lock, NULL);
	pthread_mutex_init(&g.pool.lock, NULL);
	pthread_cond_init(&g.pool.cond, NULL);
	/* Before libnats or the library make threads: they inherit the mask. */
	sigfd = signals();
	err = sigfd < 0 ? sigfd : run(&g, sigfd);
	if (err)
		fprintf(stderr, "msgport-net: %s\n", mp_strerror(err));
	/* Callers still waiting on us get -EPIPE from the library. */
	if (g.netport)
		mp_port_destroy(g.netport);
	net_imports_fini(&g);
	net_conn_close(&g);
	return err ? 1 : 0;
}
