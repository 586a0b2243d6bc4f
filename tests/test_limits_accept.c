/* SPDX-License-Identifier: MIT */
/*
 * Refusals at accept (transport/refuse.h): a peer the server will not
 * serve is told why in one REFUSED frame of seq 0 before the server
 * closes its connection, so the library's caller gets that error
 * (-EACCES), not -EPIPE, on every transport; a raw client reads the same
 * frame.  The server never sees a message of it, and goes on serving.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/wire.h"
#include "test_multiuser.h"

static char g_root[PATH_MAX];

/* The library: every call, the first and the next, says -EACCES. */
static void lib_refused(void *arg)
{
	const struct mu_srv *s = arg;

	CHECK_ERR(mu_call(s->port), -EACCES);
	CHECK_ERR(mu_call(s->port), -EACCES);	/* a new connection, refused again */
}

/* A raw client: connect, and read the refusal the server sends. */
static void raw_told(void *arg)
{
	const struct mu_srv *s = arg;
	struct pollfd p;
	struct mp_frame f;
	ssize_t n;
	int fd;

	CHECK_OK(mu_raw_connect(g_root, s->port, &fd));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 10000), 1);
	memset(&f, 0, sizeof(f));
	n = recv(fd, &f, sizeof(f), 0);
	CHECK_EQ(n, (ssize_t)sizeof(f));
	CHECK_EQ(f.magic, MP_FRAME_MAGIC);
	CHECK_EQ(f.kind, MP_FRAME_REPLY);
	CHECK_EQ(f.flags, MP_FRAME_REFUSED);
	CHECK_EQ(f.seq, 0);
	CHECK_EQ(f.err, -EACCES);
	CHECK_EQ(recv(fd, &f, sizeof(f), 0), 0);	/* then it hangs up */
	close(fd);
}

static void call_ok(void *arg)
{
	const struct mu_srv *s = arg;

	CHECK_OK(mu_call(s->port));
}

/* The socket opened wide behind the server's back (0666), the entry 0644:
 * another uid connects, the server's SO_PEERCRED check refuses it. */
TEST(limits_accept_refused_says_eacces)
{
	char sock[PATH_MAX], rel[64];
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0644);
	pid = mu_srv_start(s);
	snprintf(rel, sizeof(rel), "ports/%u.sock", s->port);
	mu_path(sock, g_root, rel);
	CHECK_OK(chmod(sock, 0666));
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, lib_refused, s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, raw_told, s);
	CHECK_EQ(atomic_load(&s->calls), 0);
	mu_as(MU_A, MU_A, NULL, 0, call_ok, s);	/* its owner is still served */
	CHECK_EQ(atomic_load(&s->calls), 1);
	mu_srv_stop(s, pid);
}
