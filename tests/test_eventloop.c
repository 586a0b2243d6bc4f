/* SPDX-License-Identifier: MIT */
/* Event loops: mp_port_fd is readable exactly when mp_recv would not
 * block.  The header allows one relaxation: while a client connects or
 * hangs up the descriptor may be readable with no message, and mp_recv
 * with timeout 0 then returns -EAGAIN.  These tests allow that only
 * around a connect or a hang-up; on an established connection they are
 * exact. */
#include "harness.h"

#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define SPURIOUS_MAX 4

static bool ev_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);

	CHECK_GE(r, 0);
	CHECK_EQ(p.revents & (POLLERR | POLLNVAL), 0);
	return r == 1 && (p.revents & POLLIN);
}

/* Not readable, allowing a few connect/hang-up wake-ups that mp_recv(0)
 * consumes with -EAGAIN. */
static void ev_settle_not_readable(mp_port_t port, int fd)
{
	for (int k = 0; k <= SPURIOUS_MAX; k++) {
		mp_msg_t m;
		mp_rid_t rid;

		if (!ev_readable(fd, 0))
			return;
		CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	}
	FAIL("port fd still readable after %d empty receives", SPURIOUS_MAX);
}

/* Readable, then mp_recv(0) returns a message, allowing a few
 * connect wake-ups first. */
static int ev_recv_first(mp_port_t port, int fd, mp_msg_t *m, mp_rid_t *rid)
{
	for (int k = 0; k <= SPURIOUS_MAX; k++) {
		int r;

		CHECK(ev_readable(fd, 0));
		r = mp_recv(port, m, rid, 0);
		if (r != -EAGAIN)
			return r;
	}
	FAIL("port fd readable but mp_recv(0) kept returning -EAGAIN");
}

/* While the client does its first step (which may include connecting),
 * serve the port as an event loop would: connect wake-ups are consumed
 * with mp_recv(0) = -EAGAIN; the first message, if any, is returned in
 * *m (result of mp_recv) and the pump stops receiving. */
static int ev_pump_until(mp_port_t port, int fd, atomic_int *done, int v,
			 mp_msg_t *m, mp_rid_t *rid)
{
	int64_t end = h_now_ms() + 10000;
	int got = -EAGAIN;

	while (atomic_load(done) < v) {
		if (h_now_ms() > end)
			FAIL("the client did not finish its step");
		if (got == -EAGAIN && ev_readable(fd, 10))
			got = mp_recv(port, m, rid, 0);
		else
			h_sleep_ms(1);
	}
	return got;
}

struct ev_state {
	atomic_int step;	/* the client does step k when it sees k */
	atomic_int done;	/* the client finished step k */
	atomic_int result[8];
	mp_port_t port;
};

static void ev_send_oneway(struct ev_state *s, int tag)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = (uint32_t)tag;
	m.oid.port = s->port;
	atomic_store(&s->result[tag],
		     mp_send_async(s->port, &m, 10000000000) + 1000);
}

/* Step 1: one one-way.  Step 2: one one-way.  Step 3: three one-ways.
 * Step 4: a call (returns when answered).  Step 5: exit. */
static void ev_client(void *arg)
{
	struct ev_state *s = arg;

	for (int step = 1; step <= 5; step++) {
		CHECK(h_wait_ge(&s->step, step, 10000));
		if (step == 1 || step == 2) {
			ev_send_oneway(s, step);
		} else if (step == 3) {
			for (int k = 0; k < 3; k++)
				ev_send_oneway(s, 3 + k);
		} else if (step == 4) {
			mp_msg_t m;

			h_msg_init(&m);
			m.type = 7;
			atomic_fetch_add(&s->done, 1);	/* about to call */
			CHECK_OK(mp_send(s->port, &m, 10000000000));
			CHECK_EQ(m.o.err, 7);
			continue;
		}
		atomic_fetch_add(&s->done, 1);
	}
}

TEST(eventloop_port_fd_poll)
{
	struct ev_state *s = h_shared(sizeof(*s));
	mp_msg_t m;
	mp_rid_t rid;
	pid_t pid;
	int fd, r;

	CHECK_OK(mp_port_create(&s->port));
	fd = mp_port_fd(s->port);
	CHECK_GE(fd, 0);
	CHECK(h_fd_is_open(fd));
	CHECK_EQ(mp_port_fd(s->port), fd);
	/* nothing queued, nobody connected: not readable */
	CHECK(!ev_readable(fd, 0));
	CHECK(!ev_readable(fd, 50));

	pid = h_fork(ev_client, s);

	/* step 1: the first one-way, over a fresh connection */
	atomic_store(&s->step, 1);
	r = ev_pump_until(s->port, fd, &s->done, 1, &m, &rid);
	CHECK_EQ(atomic_load(&s->result[1]) - 1000, 1);
	if (r == -EAGAIN)
		r = ev_recv_first(s->port, fd, &m, &rid);
	CHECK_ERR(r, 1);
	CHECK_EQ(m.type, 1);
	ev_settle_not_readable(s->port, fd);

	/* step 2: the connection is established now: exact */
	atomic_store(&s->step, 2);
	CHECK(h_wait_ge(&s->done, 2, 10000));
	CHECK_EQ(atomic_load(&s->result[2]) - 1000, 1);
	CHECK(ev_readable(fd, 0));
	CHECK_ERR(mp_recv(s->port, &m, &rid, 0), 1);
	CHECK_EQ(m.type, 2);
	CHECK(!ev_readable(fd, 0));
	CHECK_ERR(mp_recv(s->port, &m, &rid, 0), -EAGAIN);

	/* step 3: three queued; readable until the last is received */
	atomic_store(&s->step, 3);
	CHECK(h_wait_ge(&s->done, 3, 10000));
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(atomic_load(&s->result[3 + k]) - 1000, 1);
		CHECK(ev_readable(fd, 0));
		CHECK_ERR(mp_recv(s->port, &m, &rid, 0), 1);
		CHECK_EQ(m.type, 3 + k);
	}
	CHECK(!ev_readable(fd, 0));

	/* step 4: a call makes it readable too */
	atomic_store(&s->step, 4);
	CHECK(h_wait_ge(&s->done, 4, 10000));
	CHECK(ev_readable(fd, 5000));
	CHECK_ERR(mp_recv(s->port, &m, &rid, 0), 0);
	CHECK_EQ(m.type, 7);
	CHECK(!ev_readable(fd, 0));
	m.o.size = 0;
	m.o.err = 7;
	CHECK_OK(mp_respond(s->port, &m, rid));
	CHECK(!ev_readable(fd, 100));

	/* step 5: the client exits; its hang-up may wake us once */
	atomic_store(&s->step, 5);
	CHECK_EQ(h_reap(pid, 10000), 0);
	h_sleep_ms(50);
	ev_settle_not_readable(s->port, fd);
	CHECK(!ev_readable(fd, 50));
	CHECK_OK(mp_port_destroy(s->port));
}

/* The same descriptor works with epoll. */
TEST(eventloop_port_fd_epoll)
{
	struct ev_state *s = h_shared(sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	mp_msg_t m;
	mp_rid_t rid;
	pid_t pid;
	int fd, ep, r;

	CHECK_OK(mp_port_create(&s->port));
	fd = mp_port_fd(s->port);
	CHECK_GE(fd, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK_GE(ep, 0);
	ev.data.u32 = 77;
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0);

	pid = h_fork(ev_client, s);
	atomic_store(&s->step, 1);
	r = ev_pump_until(s->port, fd, &s->done, 1, &m, &rid);
	if (r == -EAGAIN) {
		CHECK_EQ(epoll_wait(ep, out, 4, 5000), 1);
		CHECK_EQ(out[0].data.u32, 77);
		CHECK(out[0].events & EPOLLIN);
		r = ev_recv_first(s->port, fd, &m, &rid);
	}
	CHECK_ERR(r, 1);
	ev_settle_not_readable(s->port, fd);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0);

	atomic_store(&s->step, 2);
	CHECK(h_wait_ge(&s->done, 2, 10000));
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 1);
	CHECK_ERR(mp_recv(s->port, &m, &rid, 0), 1);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0);

	atomic_store(&s->step, 3);
	CHECK(h_wait_ge(&s->done, 3, 10000));
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(epoll_wait(ep, out, 4, 0), 1);
		CHECK_ERR(mp_recv(s->port, &m, &rid, 0), 1);
	}
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0);

	atomic_store(&s->step, 4);
	CHECK(h_wait_ge(&s->done, 4, 10000));
	CHECK_EQ(epoll_wait(ep, out, 4, 5000), 1);
	CHECK_ERR(mp_recv(s->port, &m, &rid, 0), 0);
	m.o.size = 0;
	m.o.err = 7;
	CHECK_OK(mp_respond(s->port, &m, rid));
	atomic_store(&s->step, 5);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(close(ep));
	CHECK_OK(mp_port_destroy(s->port));
}

/* An event loop serving with poll only (mp_recv always with timeout 0)
 * gets every message of a busy client. */
static void ev_busy_client(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;

	for (uint32_t k = 0; k < 300; k++) {
		mp_msg_t m;

		h_msg_init(&m);
		m.type = k;
		if (k % 3 == 0) {
			CHECK_OK(mp_send(port, &m, 10000000000));
			CHECK_EQ(m.o.err, (int32_t)k);
		} else {
			int r = mp_send_async(port, &m, 10000000000);

			CHECK(r == 0 || r == 1);
		}
	}
}

TEST(eventloop_poll_driven_server)
{
	mp_port_t port;
	pid_t pid;
	int fd;
	uint32_t next = 0;
	int64_t end;

	CHECK_OK(mp_port_create(&port));
	fd = mp_port_fd(port);
	CHECK_GE(fd, 0);
	pid = h_fork(ev_busy_client, &port);
	end = h_now_ms() + 15000;
	while (next < 300) {
		mp_msg_t m;
		mp_rid_t rid;
		int r;

		if (h_now_ms() > end)
			FAIL("only %u of 300 messages seen by the poll loop",
			     next);
		if (!ev_readable(fd, 1000))
			continue;
		r = mp_recv(port, &m, &rid, 0);
		if (r == -EAGAIN)
			continue;
		CHECK_GE(r, 0);
		CHECK_EQ(m.type, next);
		CHECK_EQ(r, next % 3 == 0 ? 0 : 1);
		if (r == 0) {
			m.o.size = 0;
			m.o.err = (int32_t)next;
			CHECK_OK(mp_respond(port, &m, rid));
		}
		next++;
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(mp_port_destroy(port));
}

TEST(eventloop_port_fd_errors)
{
	mp_port_t port;

	CHECK_ERR(mp_port_fd(0), -EINVAL);
	CHECK_ERR(mp_port_fd(12345), -ENOENT);
	CHECK_OK(mp_port_create(&port));
	CHECK_GE(mp_port_fd(port), 0);
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_port_fd(port), -ENOENT);
}

/* Calls 5 ms apart, each answered, then a one-way "done" (type 1000). */
static void ev_spaced_client(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	const struct timespec gap = { .tv_nsec = 5000000 };
	mp_msg_t m;

	for (uint32_t k = 0; k < 60; k++) {
		h_msg_init(&m);
		m.type = k;
		CHECK_OK(mp_send(port, &m, 20000000000));
		CHECK_EQ(m.o.err, (int32_t)k);
		nanosleep(&gap, NULL);
	}
	h_msg_init(&m);
	m.type = 1000;
	CHECK_GE(mp_send_async(port, &m, 20000000000), 0);
}

/* mp_port_fd() asked for after the port has received: the fd must still
 * become readable for every later call (it once stayed silent: the first
 * mp_recv() had counted itself inside before the fd was wanted, and its
 * leave never uncounted it, so clients stopped ringing). */
TEST(eventloop_port_fd_after_recv)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	pid_t pid;
	int fd;
	bool done = false;

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	fd = mp_port_fd(port);
	CHECK_GE(fd, 0);
	pid = h_fork(ev_spaced_client, &port);
	while (!done) {
		int r;

		/* 8 s: far beyond a call's 5 ms spacing, even on a loaded machine */
		if (!ev_readable(fd, 8000))
			FAIL("the port fd stayed unreadable for 8 s with a call pending");
		r = mp_recv(port, &m, &rid, 0);
		if (r == -EAGAIN)
			continue;
		CHECK_GE(r, 0);
		if (r == 1) {
			CHECK_EQ(m.type, 1000u);
			done = true;
			continue;
		}
		m.o.size = 0;
		m.o.err = (int32_t)m.type;
		CHECK_OK(mp_respond(port, &m, rid));
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(mp_port_destroy(port));
}
