/* SPDX-License-Identifier: MIT */
/* Interrupt forwarding: descriptors that become pulses (mp_pulse_on_fd),
 * on a port of this process and of another, the sources' end, cancel,
 * bad input and the bounds. */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

/* The library's registration type (MP_MT_PULSE_FD_ADD, src/conn/pulse_fd.h),
 * as a hostile client would send it by hand. */
#define T_LIB_ADD 0xfffffe01u
#define T_QUIT 0x51u
#define T_PING 0x52u

/* The next pulse on port (waits without limit: the harness times out). */
static mp_pulse_info_t pulse_get(mp_port_t port, uint32_t code, mp_msg_t *m)
{
	mp_rid_t rid = 1;

	CHECK_ERR(mp_recv(port, m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(rid, 0);
	CHECK_EQ(m->type, code);
	CHECK_EQ(m->i.nfds, 0);
	CHECK_EQ(m->i.size, 0);
	return mp_msg_pulse(m);
}

static void nothing_pending(mp_port_t port)
{
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
}

static void efd_write(int fd, uint64_t v)
{
	CHECK_EQ(write(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
}

TEST(pulse_fd_eventfd_count)
{
	mp_port_t port;
	mp_msg_t m;
	int efd = eventfd(0, EFD_CLOEXEC);

	CHECK_GE(efd, 0);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_pulse_on_fd(port, efd, 7));
	nothing_pending(port);
	efd_write(efd, 5);
	CHECK_EQ(pulse_get(port, 7, &m).value, 5);
	CHECK_EQ(m.pid, getpid());
	CHECK_EQ(m.uid, getuid());
	/* two writes before the receiver looks: the counter holds their sum */
	efd_write(efd, 3);
	efd_write(efd, 4);
	CHECK_EQ(pulse_get(port, 7, &m).value, 7);
	nothing_pending(port);
	CHECK_OK(mp_port_destroy(port));	/* frees the source: no fd leaked */
	CHECK_OK(close(efd));
}

TEST(pulse_fd_timerfd)
{
	struct itimerspec its = { .it_interval = { 0, 1000000 }, .it_value = { 0, 1000000 } };
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	mp_port_t port;
	mp_msg_t m;

	CHECK_GE(tfd, 0);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_pulse_on_fd(port, tfd, 3));
	CHECK_OK(timerfd_settime(tfd, 0, &its, NULL));
	for (int k = 0; k < 5; k++)
		CHECK_GE(pulse_get(port, 3, &m).value, 1);	/* expirations since the last */
	CHECK_OK(mp_pulse_on_fd_cancel(port, 3));
	CHECK_OK(mp_port_destroy(port));
	CHECK_OK(close(tfd));
}

/* The library keeps a descriptor of its own: the caller's may go. */
TEST(pulse_fd_caller_closes)
{
	mp_port_t port;
	mp_msg_t m;
	int p[2];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_pulse_on_fd(port, p[0], 11));
	CHECK_OK(close(p[0]));
	CHECK_EQ(write(p[1], "abc", 3), 3);
	CHECK_EQ(pulse_get(port, 11, &m).value, 3);	/* bytes read */
	/* the writer goes: end of file ends the source, without a pulse */
	CHECK_OK(close(p[1]));
	nothing_pending(port);
	nothing_pending(port);
	/* gone: its code is free again */
	CHECK_ERR(mp_pulse_on_fd_cancel(port, 11), -ENOENT);
	CHECK_OK(mp_port_destroy(port));
}

TEST(pulse_fd_cancel)
{
	mp_port_t port;
	mp_msg_t m;
	int efd = eventfd(0, EFD_CLOEXEC);

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_pulse_on_fd(port, efd, 1));
	CHECK_OK(mp_pulse_on_fd(port, efd, 2));	/* the same file, another code */
	CHECK_OK(mp_pulse_on_fd_cancel(port, 1));
	CHECK_ERR(mp_pulse_on_fd_cancel(port, 1), -ENOENT);
	efd_write(efd, 9);
	CHECK_EQ(pulse_get(port, 2, &m).value, 9);	/* only code 2 reads it */
	CHECK_OK(mp_pulse_on_fd_cancel(port, 2));
	efd_write(efd, 1);
	nothing_pending(port);
	CHECK_OK(mp_pulse_on_fd(port, efd, 1));	/* a code is free after cancel */
	CHECK_EQ(pulse_get(port, 1, &m).value, 1);
	CHECK_OK(mp_port_destroy(port));
	CHECK_OK(close(efd));
}

TEST(pulse_fd_bad_input)
{
	mp_port_t port;
	int efd = eventfd(0, EFD_CLOEXEC), p[2];
	char path[] = "/tmp/msgport-pfd-XXXXXX";
	int file = mkstemp(path);

	CHECK_GE(file, 0);
	unlink(path);
	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_pulse_on_fd(port, h_closed_fd(), 1), -EBADF);
	CHECK_ERR(mp_pulse_on_fd(port, -1, 1), -EBADF);
	CHECK_ERR(mp_pulse_on_fd(0, efd, 1), -EINVAL);
	CHECK_ERR(mp_pulse_on_fd(port, efd, MP_PULSE_DISCONNECT), -EINVAL);
	CHECK_ERR(mp_pulse_on_fd(port, efd, 0xffffffffu), -EINVAL);
	CHECK_ERR(mp_pulse_on_fd(port, file, 1), -EINVAL);	/* a regular file */
	CHECK_ERR(mp_pulse_on_fd(port, p[1], 1), -EINVAL);	/* write-only */
	CHECK_ERR(mp_pulse_on_fd_cancel(port, 1), -ENOENT);
	CHECK_ERR(mp_pulse_on_fd_cancel(0, 1), -EINVAL);
	CHECK_ERR(mp_pulse_on_fd_cancel(port, MP_PULSE_DISCONNECT), -EINVAL);
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_pulse_on_fd(port, efd, 1), -ENOENT);	/* no server listens */
	CHECK_OK(close(file));
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	CHECK_OK(close(efd));
}

TEST(pulse_fd_limits)
{
	int fds[MP_PULSE_FD_PER_PID + 1];
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	for (int k = 0; k <= (int)MP_PULSE_FD_PER_PID; k++)
		CHECK_GE(fds[k] = eventfd(0, EFD_CLOEXEC), 0);
	CHECK_OK(mp_pulse_on_fd(port, fds[0], 0));
	CHECK_ERR(mp_pulse_on_fd(port, fds[1], 0), -EEXIST);
	for (int k = 1; k < (int)MP_PULSE_FD_PER_PID; k++)
		CHECK_OK(mp_pulse_on_fd(port, fds[k], (uint32_t)k));
	CHECK_ERR(mp_pulse_on_fd(port, fds[MP_PULSE_FD_PER_PID], 99), -ENOSPC);
	CHECK_OK(mp_pulse_on_fd_cancel(port, 5));
	CHECK_OK(mp_pulse_on_fd(port, fds[MP_PULSE_FD_PER_PID], 99));
	CHECK_OK(mp_port_destroy(port));
	for (int k = 0; k <= (int)MP_PULSE_FD_PER_PID; k++)
		CHECK_OK(close(fds[k]));
}

/* ------------------------------------------------- another process's port */

struct remote_seen {
	atomic_int pulses;
	atomic_llong last_value;
	atomic_int last_pid;
};

static struct remote_seen *seen;

/* Counts pulses of code 9, answers calls (T_PING, and T_QUIT: ends). */
static void pulse_server(void *path)
{
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		CHECK_NE(m.type, T_LIB_ADD);
		if (r == MP_RECV_PULSE) {
			atomic_store(&seen->last_value, (long long)mp_msg_pulse(&m).value);
			atomic_store(&seen->last_pid, m.pid);
			atomic_fetch_add(&seen->pulses, 1);
			continue;
		}
		if (r == 1)
			continue;
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
		if (m.type == T_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

static void ping(mp_port_t port)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = T_PING;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
}

TEST(pulse_fd_remote)
{
	int efd = eventfd(0, EFD_CLOEXEC);	/* blocking: the server must not care */
	mp_port_t port;
	pid_t pid;
	uint64_t v;

	seen = h_shared(sizeof(*seen));
	port = h_server_start(pulse_server, "/pfd", &pid);
	CHECK_OK(mp_pulse_on_fd(port, efd, 9));
	CHECK_ERR(mp_pulse_on_fd(port, efd, 9), -EEXIST);	/* the server's verdict */
	efd_write(efd, 42);
	CHECK(h_wait_ge(&seen->pulses, 1, h_test_timeout_ms()));
	CHECK_EQ(atomic_load(&seen->last_value), 42);
	CHECK_EQ(atomic_load(&seen->last_pid), getpid());
	/* the sender races the server for the count (its copy is blocking):
	 * when it wins, the server's read finds nothing and must not block
	 * (its calls still get answered) */
	for (int k = 0; k < 100; k++) {
		struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };

		efd_write(efd, 1);
		if (preadv2(efd, &iov, 1, -1, RWF_NOWAIT) < 0)
			CHECK_EQ(errno, EAGAIN);	/* the server was first */
	}
	ping(port);
	CHECK_OK(mp_pulse_on_fd_cancel(port, 9));
	CHECK_ERR(mp_pulse_on_fd_cancel(port, 9), -ENOENT);
	CHECK_OK(close(efd));
	h_server_quit(port, pid, T_QUIT);
}

/* A hostile client's registration of something unreadable, and a
 * library-typed message sent by hand: refused, never the server's. */
TEST(pulse_fd_remote_bad)
{
	int p[2];
	mp_port_t port;
	pid_t pid;
	mp_msg_t m;

	seen = h_shared(sizeof(*seen));
	CHECK_OK(pipe2(p, O_CLOEXEC));
	port = h_server_start(pulse_server, "/pfd-bad", &pid);
	CHECK_ERR(mp_pulse_on_fd(port, p[1], 4), -EINVAL);	/* write-only */
	h_msg_init(&m);
	m.type = T_LIB_ADD;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));	/* no fd */
	CHECK_EQ(m.o.err, -EINVAL);
	m.type = T_LIB_ADD;
	CHECK_GE(mp_send_async(port, &m, MP_FOREVER), 0);	/* one-way: dropped */
	ping(port);
	CHECK_EQ(atomic_load(&seen->pulses), 0);
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	h_server_quit(port, pid, T_QUIT);
}

/* Sources of several processes fill the port: MP_PULSE_FD_MAX. */
static void fill_child(void *arg)
{
	mp_port_t port = (mp_port_t)(uintptr_t)arg;

	for (uint32_t k = 0; k < MP_PULSE_FD_PER_PID; k++) {
		int efd = eventfd(0, EFD_CLOEXEC);

		CHECK_OK(mp_pulse_on_fd(port, efd, k));
		CHECK_OK(close(efd));	/* the server has its own */
	}
	int efd = eventfd(0, EFD_CLOEXEC);

	CHECK_ERR(mp_pulse_on_fd(port, efd, 99), -ENOSPC);
	CHECK_OK(close(efd));
}

TEST(pulse_fd_port_bound)
{
	mp_port_t port;
	pid_t pid;
	int efd = eventfd(0, EFD_CLOEXEC);

	seen = h_shared(sizeof(*seen));
	port = h_server_start(pulse_server, "/pfd-max", &pid);
	for (uint32_t k = 0; k < MP_PULSE_FD_MAX / MP_PULSE_FD_PER_PID; k++)
		CHECK_EQ(h_reap(h_fork(fill_child, (void *)(uintptr_t)port), 20000), 0);
	CHECK_ERR(mp_pulse_on_fd(port, efd, 1), -ENOSPC);
	CHECK_OK(close(efd));
	h_server_quit(port, pid, T_QUIT);
}
