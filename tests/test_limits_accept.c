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
#include <pthread.h>
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
	pid_t pid;
	struct mu_srv *s = mu_srv_start_sock_open(g_root, &pid);

	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, lib_refused, s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, raw_told, s);
	CHECK_EQ(atomic_load(&s->calls), 0);
	mu_as(MU_A, MU_A, NULL, 0, call_ok, s);	/* its owner is still served */
	CHECK_EQ(atomic_load(&s->calls), 1);
	mu_srv_stop(s, pid);
}

/* ---------------------------------------------- connections per uid */

/* A raw refusal: the frame, with err, then the hang-up (within 10 s). */
static void raw_refusal_is(int fd, int err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct mp_frame f;

	CHECK_EQ(poll(&p, 1, 10000), 1);
	memset(&f, 0, sizeof(f));
	CHECK_EQ(recv(fd, &f, sizeof(f), 0), (ssize_t)sizeof(f));
	CHECK_EQ(f.kind, MP_FRAME_REPLY);
	CHECK_EQ(f.flags, MP_FRAME_REFUSED);
	CHECK_EQ(f.seq, 0);
	CHECK_EQ(f.err, err);
}

/* A hostile uid holds MP_PORT_CONN_PER_UID_MAX raw connections: the next
 * (raw or the library's) is refused with -EUSERS, the ones it holds stay
 * open.  It tells the test (go[1]) and waits (hold[0]) before letting
 * them go; then it is served again: the server counted them down. */
struct hog {
	const struct mu_srv *s;
	int go[2], hold[2];
};

static void hog(void *arg)
{
	struct hog *h = arg;
	struct pollfd held[MP_PORT_CONN_PER_UID_MAX];
	char b = 1;
	int fd;

	for (int k = 0; k < MP_PORT_CONN_PER_UID_MAX; k++) {
		CHECK_OK(mu_raw_connect(g_root, h->s->port, &fd));
		held[k] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	CHECK_OK(mu_raw_connect(g_root, h->s->port, &fd));
	raw_refusal_is(fd, -EUSERS);	/* accepted in order: after the 64 */
	close(fd);
	CHECK_ERR(mu_call(h->s->port), -EUSERS);
	CHECK_EQ(poll(held, MP_PORT_CONN_PER_UID_MAX, 200), 0);	/* still open */
	CHECK_EQ(write(h->go[1], &b, 1), 1);
	CHECK_EQ(read(h->hold[0], &b, 1), 1);
	for (int k = 0; k < MP_PORT_CONN_PER_UID_MAX; k++)
		close(held[k].fd);
	/* The server sees the hang-ups in its own time: wait for the slots. */
	for (int tries = 0; mu_call(h->s->port) != 0; tries++) {
		CHECK_LT(tries, 100);
		usleep(100 * 1000);
	}
}

static void *hog_thread(void *arg)
{
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, hog, arg);
	return NULL;
}

TEST(limits_accept_conns_per_uid)
{
	struct hog h = { 0 };
	struct mu_srv *s;
	pthread_t t;
	char b = 1;
	pid_t pid;

	int base;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	base = h_count_fds_of(pid);
	CHECK_GE(base, 0);
	h.s = s;
	CHECK_OK(pipe(h.go));
	CHECK_OK(pipe(h.hold));
	CHECK_OK(pthread_create(&t, NULL, hog_thread, &h));
	CHECK_EQ(read(h.go[0], &b, 1), 1);	/* the hog is at its limit */
	mu_as(MU_C, MU_C, NULL, 0, call_ok, s);	/* another uid is served */
	CHECK_EQ(atomic_load(&s->calls), 1);
	CHECK_EQ(write(h.hold[1], &b, 1), 1);
	CHECK_OK(pthread_join(t, NULL));
	CHECK_EQ(atomic_load(&s->calls), 2);	/* and the hog once more */
	/* Every connection is gone (the server reaps hang-ups in its time):
	 * the server holds what it held before. */
	for (int tries = 0; h_count_fds_of(pid) != base; tries++) {
		CHECK_LT(tries, 100);
		usleep(100 * 1000);
	}
	close(h.go[0]);
	close(h.go[1]);
	close(h.hold[0]);
	close(h.hold[1]);
	mu_srv_stop(s, pid);
}
