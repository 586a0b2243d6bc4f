/* SPDX-License-Identifier: MIT */
/* Capabilities: file descriptors passed both ways, limits, and no
 * descriptor leaked on any path. */
#include "harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_PIPES 1u	/* write 'A'+k to i.fds[k]; answer with o.nfds read ends */
#define T_QUIT 2u
#define T_FILE 3u	/* i.fds[0] is a file: append "server" to it */

static void fd_server(void *arg)
{
	const char *path = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int q[MP_FDS_MAX][2];
		uint32_t want = 0;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		for (uint32_t k = 0; k < m.i.nfds; k++) {
			CHECK_GE(m.i.fds[k], 0);
			CHECK(h_fd_is_open(m.i.fds[k]));
		}
		if (m.type == T_PIPES) {
			for (uint32_t k = 0; k < m.i.nfds; k++) {
				char c = (char)('A' + k);

				CHECK_EQ(write(m.i.fds[k], &c, 1), 1);
			}
			memcpy(&want, m.i.raw, 4);
		} else if (m.type == T_FILE) {
			CHECK_EQ(m.i.nfds, 1);
			CHECK_EQ(write(m.i.fds[0], "server", 6), 6);
		}
		for (uint32_t k = 0; k < m.i.nfds; k++)
			CHECK_OK(close(m.i.fds[k]));
		if (r == 1)
			continue;
		CHECK_LE(want, MP_FDS_MAX);
		for (uint32_t k = 0; k < want; k++) {
			char c = (char)('a' + k);

			CHECK_OK(pipe(q[k]));
			CHECK_EQ(write(q[k][1], &c, 1), 1);
			m.o.fds[k] = q[k][0];
		}
		m.o.nfds = want;
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
		/* not consumed: the server still owns its descriptors */
		for (uint32_t k = 0; k < want; k++) {
			CHECK(h_fd_is_open(q[k][0]));
			CHECK_OK(close(q[k][0]));
			CHECK_OK(close(q[k][1]));
		}
		if (m.type == T_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

static mp_port_t fd_start(const char *path, pid_t *pid)
{
	return h_server_start(fd_server, path, pid);
}

static void fd_stop(mp_port_t port, pid_t pid)
{
	h_server_quit(port, pid, T_QUIT);
}

/* n fds each way: the server writes through ours, we read from its. */
static void fd_exchange(mp_port_t port, uint32_t nin, uint32_t nout)
{
	int p[MP_FDS_MAX][2];
	mp_msg_t m;

	h_msg_init(&m);
	m.type = T_PIPES;
	memcpy(m.i.raw, &nout, 4);
	for (uint32_t k = 0; k < nin; k++) {
		CHECK_OK(pipe(p[k]));
		m.i.fds[k] = p[k][1];
	}
	m.i.nfds = nin;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.nfds, nout);
	for (uint32_t k = 0; k < nin; k++) {
		char c = 0;

		/* not consumed: still ours */
		CHECK(h_fd_is_open(p[k][1]));
		CHECK_EQ(m.i.fds[k], p[k][1]);
		CHECK_EQ(read(p[k][0], &c, 1), 1);
		CHECK_EQ(c, 'A' + (int)k);
		CHECK_OK(close(p[k][0]));
		CHECK_OK(close(p[k][1]));
	}
	for (uint32_t k = 0; k < nout; k++) {
		char c = 0;
		int fd = m.o.fds[k];

		CHECK_GE(fd, 0);
		for (uint32_t j = 0; j < k; j++)
			CHECK_NE(m.o.fds[j], fd);
		CHECK_EQ(read(fd, &c, 1), 1);
		CHECK_EQ(c, 'a' + (int)k);
		/* the server closed its write end: EOF after the byte */
		CHECK_EQ(read(fd, &c, 1), 0);
		CHECK_OK(close(fd));
	}
}

TEST(fds_16_each_way)
{
	pid_t pid;
	mp_port_t port = fd_start("/fds", &pid);

	fd_exchange(port, MP_FDS_MAX, MP_FDS_MAX);
	fd_exchange(port, 1, 0);
	fd_exchange(port, 0, 1);
	fd_exchange(port, 3, 7);
	for (int k = 0; k < 20; k++)
		fd_exchange(port, MP_FDS_MAX, MP_FDS_MAX);
	fd_stop(port, pid);
}

/* The receiver's descriptor is the same open file (shared offset). */
TEST(fds_same_open_file)
{
	pid_t pid;
	mp_port_t port = fd_start("/fds", &pid);
	char path[512], buf[32] = { 0 };
	struct stat a, b;
	mp_msg_t m;
	int fd;

	snprintf(path, sizeof(path), "%s/file", getenv("MSGPORT_ROOT"));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK_GE(fd, 0);
	CHECK_EQ(write(fd, "client", 6), 6);
	h_msg_init(&m);
	m.type = T_FILE;
	m.i.fds[0] = fd;
	m.i.nfds = 1;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	/* the server wrote at the shared offset, after our 6 bytes */
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12);
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 12);
	CHECK_MEM(buf, "clientserver", 12);
	CHECK_OK(fstat(fd, &a));
	CHECK_OK(stat(path, &b));
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_OK(close(fd));
	CHECK_OK(unlink(path));
	fd_stop(port, pid);
}

/* Descriptors with a one-way message. */
TEST(fds_oneway)
{
	pid_t pid;
	mp_port_t port = fd_start("/fds", &pid);
	int p[MP_FDS_MAX][2];
	mp_msg_t m;
	int r;

	h_msg_init(&m);
	m.type = T_PIPES;
	for (int k = 0; k < MP_FDS_MAX; k++) {
		CHECK_OK(pipe(p[k]));
		m.i.fds[k] = p[k][1];
	}
	m.i.nfds = MP_FDS_MAX;
	r = mp_send_async(port, &m, MP_FOREVER);
	CHECK(r == 0 || r == 1);
	for (int k = 0; k < MP_FDS_MAX; k++) {
		char c = 0;

		CHECK_EQ(read(p[k][0], &c, 1), 1);
		CHECK_EQ(c, 'A' + k);
		close(p[k][0]);
		close(p[k][1]);
	}
	fd_stop(port, pid);
}

/* The server receives descriptors for each message: 200 messages of 16
 * descriptors must not pile up on either side. */
TEST(fds_no_accumulation)
{
	pid_t pid;
	mp_port_t port = fd_start("/fds", &pid);
	int n0;

	fd_exchange(port, MP_FDS_MAX, MP_FDS_MAX);	/* connects */
	n0 = h_count_fds();
	for (int k = 0; k < 200; k++)
		fd_exchange(port, MP_FDS_MAX, MP_FDS_MAX);
	CHECK_EQ(h_count_fds(), n0);
	fd_stop(port, pid);
}

TEST(fds_17_einval)
{
	mp_port_t port;
	int p[2];
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(pipe(p));
	h_msg_init(&m);
	m.oid.port = port;
	for (int k = 0; k < MP_FDS_MAX; k++)
		m.i.fds[k] = p[1];
	m.i.nfds = MP_FDS_MAX + 1;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EINVAL);
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), -EINVAL);
	m.i.nfds = UINT32_MAX;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EINVAL);
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), -EINVAL);
	m.i.nfds = 0;
	m.o.nfds = MP_FDS_MAX + 1;
	/* (a finite timeout: if it is not rejected it blocks, no receiver) */
	CHECK_ERR(mp_send(port, &m, 1000000000), -EINVAL);
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	CHECK_OK(mp_port_destroy(port));
}

/* A respond with 17 descriptors, with a closed one or a negative one,
 * changes nothing: the rid is still good. */
static void *fd_resp_server(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	mp_msg_t m;
	mp_rid_t rid;
	int p[2];
	int r;

	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_OK(pipe(p));
	m.o.size = 0;
	for (int k = 0; k < MP_FDS_MAX; k++)
		m.o.fds[k] = p[0];
	m.o.nfds = MP_FDS_MAX + 1;
	CHECK_ERR(mp_respond(port, &m, rid), -EINVAL);
	m.o.nfds = 2;
	m.o.fds[1] = h_closed_fd();
	CHECK_ERR(mp_respond(port, &m, rid), -EBADF);
	m.o.fds[1] = -1;
	r = mp_respond(port, &m, rid);
	if (r != -EINVAL && r != -EBADF)
		FAIL("respond with fd -1: %s, expected -EINVAL or -EBADF",
		     h_errname(r));
	m.o.fds[1] = p[1];
	m.o.err = 8;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	return NULL;
}

TEST(fds_respond_bad_fds_keep_rid)
{
	mp_port_t port;
	pthread_t th;
	mp_msg_t m;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(pthread_create(&th, NULL, fd_resp_server, &port));
	h_msg_init(&m);
	m.oid.port = port;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, 8);
	CHECK_EQ(m.o.nfds, 2);
	/* a pipe's two ends, passed through */
	CHECK_EQ(write(m.o.fds[1], "x", 1), 1);
	{
		char c = 0;

		CHECK_EQ(read(m.o.fds[0], &c, 1), 1);
		CHECK_EQ(c, 'x');
	}
	CHECK_OK(close(m.o.fds[0]));
	CHECK_OK(close(m.o.fds[1]));
	pthread_join(th, NULL);
	CHECK_OK(mp_port_destroy(port));
}

/* A send with a closed or negative descriptor fails and sends nothing. */
TEST(fds_send_bad_fd)
{
	pid_t pid;
	mp_port_t port = fd_start("/fds", &pid);
	int p[2];
	mp_msg_t m;

	CHECK_OK(pipe(p));
	h_msg_init(&m);
	m.type = T_PIPES;
	m.i.fds[0] = p[1];
	m.i.fds[1] = h_closed_fd();
	m.i.nfds = 2;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EBADF);
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), -EBADF);
	m.i.fds[1] = -1;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EINVAL);
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), -EINVAL);
	m.i.fds[1] = INT32_MIN;
	CHECK_ERR(mp_send(port, &m, MP_FOREVER), -EINVAL);
	CHECK(h_fd_is_open(p[1]));
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	/* nothing reached the server: the next call is answered normally */
	fd_exchange(port, 2, 2);
	fd_stop(port, pid);
}

/* A respond with descriptors to a client that died: -EPIPE and the
 * server leaks nothing. */
struct dead_state {
	atomic_int held;
	atomic_int killed;
	atomic_int result;
	atomic_int fds_before;
	atomic_int fds_after;
};

static void dead_client_server(void *arg)
{
	struct dead_state *s = arg;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	int q[MP_FDS_MAX][2];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/deadc", 0666));
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_EQ(m.i.nfds, MP_FDS_MAX);
	for (int k = 0; k < MP_FDS_MAX; k++)
		CHECK_OK(close(m.i.fds[k]));
	atomic_store(&s->held, 1);
	CHECK(h_wait_ge(&s->killed, 1, 10000));
	h_sleep_ms(50);
	atomic_store(&s->fds_before, h_count_fds());
	for (int k = 0; k < MP_FDS_MAX; k++) {
		CHECK_OK(pipe(q[k]));
		m.o.fds[k] = q[k][k % 2];
	}
	m.o.nfds = MP_FDS_MAX;
	m.o.size = 0;
	atomic_store(&s->result, mp_respond(port, &m, rid) + 1000);
	for (int k = 0; k < MP_FDS_MAX; k++) {
		CHECK_OK(close(q[k][0]));
		CHECK_OK(close(q[k][1]));
	}
	atomic_store(&s->fds_after, h_count_fds());
	CHECK_OK(mp_port_destroy(port));
}

static void dead_client(void *arg)
{
	mp_oid_t oid;
	mp_msg_t m;
	int p[2];

	(void)arg;
	CHECK_OK(mp_lookup("/deadc", &oid));
	CHECK_OK(pipe(p));
	h_msg_init(&m);
	for (int k = 0; k < MP_FDS_MAX; k++)
		m.i.fds[k] = p[k % 2];
	m.i.nfds = MP_FDS_MAX;
	mp_send(oid.port, &m, MP_FOREVER);
	FAIL("the call returned although the server never answered");
}

TEST(fds_respond_to_dead_client_no_leak)
{
	struct dead_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(dead_client_server, s);
	pid_t cli;
	mp_oid_t oid;

	CHECK_OK(h_wait_lookup("/deadc", &oid, 10000));
	cli = h_fork(dead_client, NULL);
	CHECK(h_wait_ge(&s->held, 1, 10000));
	h_kill(cli);
	atomic_store(&s->killed, 1);
	CHECK_EQ(h_reap(srv, 10000), 0);
	CHECK_EQ(atomic_load(&s->result) - 1000, -EPIPE);
	CHECK_EQ(atomic_load(&s->fds_after), atomic_load(&s->fds_before));
}

/* One-way messages with descriptors, still queued when the port is
 * destroyed: dropped, and their descriptors closed in the server. */
struct drop_state {
	atomic_int ready;
	atomic_int sent;
	atomic_int fds_before;
	atomic_int fds_after;
	atomic_int done;
};

/* Count a child's descriptors after one port's life, so that state the
 * library sets up once per process is not counted. */
static int fd_count_warm(void)
{
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_destroy(port));
	return h_count_fds();
}

static void drop_server(void *arg)
{
	struct drop_state *s = arg;
	mp_port_t port;

	atomic_store(&s->fds_before, fd_count_warm());
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/drop", 0666));
	atomic_store(&s->ready, 1);
	CHECK(h_wait_ge(&s->sent, 1, 10000));
	h_sleep_ms(100);	/* let the library read ahead, if it does */
	CHECK_OK(mp_port_destroy(port));
	atomic_store(&s->fds_after, h_count_fds());
	atomic_store(&s->done, 1);
}

TEST(fds_dropped_message_no_leak)
{
	struct drop_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(drop_server, s);
	mp_oid_t oid;
	int p[MP_FDS_MAX][2];

	CHECK(h_wait_ge(&s->ready, 1, 10000));
	CHECK_OK(mp_lookup("/drop", &oid));
	for (int k = 0; k < MP_FDS_MAX; k++)
		CHECK_OK(pipe(p[k]));
	for (int n = 0; n < 4; n++) {
		mp_msg_t m;

		h_msg_init(&m);
		for (int k = 0; k < MP_FDS_MAX; k++)
			m.i.fds[k] = p[k][1];
		m.i.nfds = MP_FDS_MAX;
		CHECK_ERR(mp_send_async(oid.port, &m, MP_FOREVER), 1);
	}
	atomic_store(&s->sent, 1);
	CHECK(h_wait_ge(&s->done, 1, 10000));
	CHECK_EQ(h_reap(srv, 10000), 0);
	CHECK_EQ(atomic_load(&s->fds_after), atomic_load(&s->fds_before));
	/* every copy in flight is gone: the read ends see EOF once ours
	 * are closed */
	for (int k = 0; k < MP_FDS_MAX; k++) {
		char c;

		CHECK_OK(close(p[k][1]));
		CHECK_EQ(read(p[k][0], &c, 1), 0);
		CHECK_OK(close(p[k][0]));
	}
}

/* A call with descriptors blocked when the port is destroyed: -EPIPE for
 * the caller, nothing leaked by the server. */
struct dcall_state {
	atomic_int ready;
	atomic_int fds_before;
	atomic_int fds_after;
	atomic_int t_go;
};

static void dcall_server(void *arg)
{
	struct dcall_state *s = arg;
	mp_port_t port;

	atomic_store(&s->fds_before, fd_count_warm());
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/dcall", 0666));
	atomic_store(&s->ready, 1);
	CHECK(h_wait_ge(&s->t_go, 1, 10000));
	CHECK_OK(mp_port_destroy(port));
	atomic_store(&s->fds_after, h_count_fds());
}

struct dcall_client {
	mp_port_t port;
	int fds[2];
	int result;
	uint32_t onfds;
};

static void *dcall_thread(void *arg)
{
	struct dcall_client *c = arg;
	mp_msg_t m;

	h_msg_init(&m);
	for (int k = 0; k < MP_FDS_MAX; k++)
		m.i.fds[k] = c->fds[k % 2];
	m.i.nfds = MP_FDS_MAX;
	c->result = mp_send(c->port, &m, MP_FOREVER);
	c->onfds = m.o.nfds;
	return NULL;
}

TEST(fds_call_dropped_by_destroy_no_leak)
{
	struct dcall_state *s = h_shared(sizeof(*s));
	pid_t srv = h_fork(dcall_server, s);
	struct dcall_client c = { 0 };
	pthread_t th;
	mp_oid_t oid;
	mp_msg_t m;

	CHECK(h_wait_ge(&s->ready, 1, 10000));
	CHECK_OK(mp_lookup("/dcall", &oid));
	c.port = oid.port;
	CHECK_OK(pipe(c.fds));
	/* one call that gives up while queued, one blocked at the destroy */
	h_msg_init(&m);
	for (int k = 0; k < MP_FDS_MAX; k++)
		m.i.fds[k] = c.fds[k % 2];
	m.i.nfds = MP_FDS_MAX;
	CHECK_ERR(mp_send(oid.port, &m, 100000000), -ETIMEDOUT);
	CHECK_OK(pthread_create(&th, NULL, dcall_thread, &c));
	h_sleep_ms(300);
	atomic_store(&s->t_go, 1);
	pthread_join(th, NULL);
	CHECK_ERR(c.result, -EPIPE);
	CHECK_EQ(c.onfds, 0);
	CHECK_EQ(h_reap(srv, 10000), 0);
	CHECK_EQ(atomic_load(&s->fds_after), atomic_load(&s->fds_before));
	CHECK_OK(close(c.fds[0]));
	CHECK_OK(close(c.fds[1]));
}
