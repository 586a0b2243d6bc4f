/* SPDX-License-Identifier: MIT */
/*
 * Pulses across users: mp_pulse() and mp_pulse_on_fd() follow the entries'
 * write bits like calls do.  A client of another uid without a write bit
 * gets -EACCES from both: the kernel refuses the connect() on the port's
 * socket (its file mode), and when the socket is opened wide behind the
 * server's back, the server's check of the connecting peer (SO_PEERCRED)
 * drops it, so neither a pulse nor a registered source ever arrives.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_multiuser.h"

static char g_root[PATH_MAX];
static const gid_t c_groups[] = { MU_G };

static void efd_write(int fd, uint64_t v)
{
	CHECK_EQ(write(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
}

/* Allowed: a pulse, and a source registered then fired (two messages). */
static void pulse_allowed(void *arg)
{
	const struct mu_srv *s = arg;
	int efd = eventfd(0, EFD_CLOEXEC);

	CHECK_GE(efd, 0);
	CHECK_OK(mp_pulse(s->port, 1, 42));
	CHECK_OK(mp_pulse_on_fd(s->port, efd, 2));
	CHECK_ERR(mp_pulse_on_fd(s->port, efd, 2), -EEXIST);	/* the server's verdict */
	efd_write(efd, 7);
	CHECK_OK(close(efd));	/* the server keeps its own */
}

/* Denied by the socket's file mode: the kernel's connect() says no. */
static void pulse_denied(void *arg)
{
	const struct mu_srv *s = arg;
	int efd = eventfd(0, EFD_CLOEXEC);

	CHECK_GE(efd, 0);
	CHECK_ERR(mp_pulse(s->port, 1, 42), -EACCES);
	CHECK_ERR(mp_pulse_on_fd(s->port, efd, 2), -EACCES);
	CHECK_ERR(mp_pulse_on_fd_cancel(s->port, 2), -EACCES);
	efd_write(efd, 7);
	CHECK_ERR(mp_pulse(s->port, 1, 43), -EACCES);	/* still, not cached */
	CHECK_OK(close(efd));
}

/* Write bits: 0602 lets the others, not the group; 0664 the group, not
 * the others. */
TEST(multiuser_pulse_by_write_bits)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0602);
	pid = mu_srv_start(s);
	mu_as(MU_C, MU_C, c_groups, 1, pulse_denied, s);	/* the group: no bits */
	mu_srv_stop(s, pid);
	CHECK_EQ(atomic_load(&s->calls), 0);

	s = mu_srv_new(MU_A, MU_G, "/svc", 0664);
	pid = mu_srv_start(s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, pulse_denied, s);
	mu_as(MU_C, MU_C, c_groups, 1, pulse_allowed, s);
	/* the pulse and the source's pulse; the registration is the library's */
	CHECK(h_wait_ge(&s->calls, 2, h_test_timeout_ms() / 2));
	CHECK_EQ(s->last_uid, MU_C);	/* the registrant's credentials */
	mu_srv_stop(s, pid);
	CHECK_EQ(atomic_load(&s->calls), 2);
}

/* The socket opened wide: the kernel lets the connect() through, the
 * server's accept check drops the peer; nothing is delivered. */
static void pulse_dropped(void *arg)
{
	const struct mu_srv *s = arg;
	int efd = eventfd(0, EFD_CLOEXEC);
	int r;

	CHECK_GE(efd, 0);
	r = mp_pulse_on_fd(s->port, efd, 3);
	CHECK(r == -EACCES || r == -EPIPE || r == -ECONNRESET);
	efd_write(efd, 1);
	/* a pulse is never waited for: the first may look sent, none arrives */
	r = mp_pulse(s->port, 1, 1);
	CHECK(r == 0 || r == -EPIPE || r == -EACCES);
	CHECK_OK(close(efd));
}

TEST(multiuser_pulse_accept_checks_peer)
{
	pid_t pid;
	struct mu_srv *s = mu_srv_start_sock_open(g_root, &pid);

	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, pulse_dropped, s);
	mu_as(MU_C, MU_C, c_groups, 1, pulse_dropped, s);
	/* a round of the server's loop (20 ms) several times over */
	h_sleep_ms(200);
	mu_srv_stop(s, pid);
	CHECK_EQ(atomic_load(&s->calls), 0);
}

/* Pulses are never waited for, so the first ones into a connection the
 * server refuses at accept look sent; once the refusal has come, the next
 * pulse says why (-EACCES), as mp_send() would, not -EPIPE or 0. */
static void pulse_told(void *arg)
{
	const struct mu_srv *s = arg;
	int r;

	for (int k = 0; k < 800; k++) {	/* until the refusal came: at most 8 s */
		r = mp_pulse(s->port, 1, 1);
		if (r != 0)
			break;
		h_sleep_ms(10);
	}
	CHECK_ERR(r, -EACCES);
}

TEST(multiuser_pulse_refused_says_eacces)
{
	pid_t pid;
	struct mu_srv *s = mu_srv_start_sock_open(g_root, &pid);

	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, pulse_told, s);
	mu_srv_stop(s, pid);
	CHECK_EQ(atomic_load(&s->calls), 0);
}
