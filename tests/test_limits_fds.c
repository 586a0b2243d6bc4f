/* SPDX-License-Identifier: MIT */
/*
 * Descriptor exhaustion (issue 13, item 5): a server whose descriptor
 * table is nearly full (RLIMIT_NOFILE 40, 16 fds held) receives calls
 * carrying 16 fds.  Each such call fails for its caller alone with
 * -EMFILE, the server never sees it and leaks nothing, the connection
 * survives, and another client is served meanwhile.  The same for a
 * one-way (dropped) and for a reply whose fds the caller cannot take.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#define L_LIMIT 40	/* the server's RLIMIT_NOFILE */
#define L_HELD 16	/* descriptors it holds */
#define L_FREE 8	/* free slots left at most: fewer than MP_FDS_MAX */

#define T_COUNT 1u	/* answer: o.raw[0..3] open fds, [4..7] fds seen, [8..11] one-ways */
#define T_SQUEEZE 2u	/* lower the limit, fill the table; answer as T_COUNT */
#define T_PIPES 3u	/* write 'A' into each i.fds[k]; answer with raw[0..3] read ends */
#define T_QUIT 4u

struct l_srv {
	uint32_t fds_seen, oneways;
};

/* Hold descriptors until at most L_FREE numbers below the limit are free. */
static void squeeze(void)
{
	struct rlimit rl = { L_LIMIT, L_LIMIT };
	int free_n = 0;

	CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
	for (int k = 0; k < L_HELD; k++)
		CHECK_GE(open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	for (int fd = 0; fd < L_LIMIT; fd++)
		free_n += !h_fd_is_open(fd);
	for (; free_n > L_FREE; free_n--)
		CHECK_GE(open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
}

static void answer_count(mp_msg_t *m, const struct l_srv *s)
{
	uint32_t v[3] = { (uint32_t)h_count_fds(), s->fds_seen, s->oneways };

	memcpy(m->o.raw, v, sizeof(v));
}

/* Write-ends of pipes, answered with want read ends. */
static void serve_pipes(mp_msg_t *m, int q[][2])
{
	uint32_t want = 0;

	memcpy(&want, m->i.raw, 4);
	CHECK_LE(want, MP_FDS_MAX);
	for (uint32_t k = 0; k < want; k++) {
		CHECK_OK(pipe(q[k]));
		m->o.fds[k] = q[k][0];
	}
	m->o.nfds = want;
}

static void l_server(void *path)
{
	struct l_srv s = { 0 };
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		int q[MP_FDS_MAX][2];
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		s.fds_seen += m.i.nfds;
		for (uint32_t k = 0; k < m.i.nfds; k++) {
			CHECK_EQ(write(m.i.fds[k], "A", 1), 1);
			CHECK_OK(close(m.i.fds[k]));
		}
		if (r == 1) {
			s.oneways++;
			continue;
		}
		m.o.size = 0;
		m.o.nfds = 0;
		if (m.type == T_SQUEEZE)
			squeeze();
		if (m.type == T_PIPES)
			serve_pipes(&m, q);
		answer_count(&m, &s);
		CHECK_OK(mp_respond(port, &m, rid));
		for (uint32_t k = 0; k < m.o.nfds; k++) {
			CHECK_OK(close(q[k][0]));
			CHECK_OK(close(q[k][1]));
		}
		if (m.type == T_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

/* A call of type with nin pipe write-ends, want read ends back: mp_send's
 * result; the server's counters in v. */
static int l_call(mp_port_t port, uint32_t type, uint32_t nin, uint32_t want, uint32_t v[3],
		  int *written)
{
	int p[MP_FDS_MAX][2];
	mp_msg_t m;
	int r;

	h_msg_init(&m);
	m.type = type;
	memcpy(m.i.raw, &want, 4);
	for (uint32_t k = 0; k < nin; k++) {
		CHECK_OK(pipe2(p[k], O_NONBLOCK));
		m.i.fds[k] = p[k][1];
	}
	m.i.nfds = nin;
	r = mp_send(port, &m, MP_FOREVER);
	*written = 0;
	for (uint32_t k = 0; k < nin; k++) {
		char c;

		CHECK(h_fd_is_open(p[k][1]));	/* not consumed: still ours */
		*written += read(p[k][0], &c, 1) == 1;
		CHECK_OK(close(p[k][0]));
		CHECK_OK(close(p[k][1]));
	}
	if (r == 0) {
		memcpy(v, m.o.raw, 3 * sizeof(uint32_t));
		CHECK_EQ(m.o.nfds, want);
		for (uint32_t k = 0; k < m.o.nfds; k++)
			CHECK_OK(close(m.o.fds[k]));
	}
	return r;
}

static uint32_t l_count(mp_port_t port, uint32_t v[3])
{
	int w;

	CHECK_OK(l_call(port, T_COUNT, 0, 0, v, &w));
	return v[0];
}

/* Another client: plain calls until told to stop, counting answers. */
struct l_other {
	atomic_int stop, served;
	mp_port_t port;
};

static void l_other_client(void *arg)
{
	struct l_other *o = arg;

	while (!atomic_load(&o->stop)) {
		uint32_t v[3];
		int w;

		CHECK_OK(l_call(o->port, T_COUNT, 0, 0, v, &w));
		atomic_fetch_add(&o->served, 1);
		h_sleep_ms(1);
	}
}

TEST(limits_fds_server_table_full)
{
	struct l_other *o = h_shared(sizeof(*o));
	uint32_t v[3], open0;
	pid_t pid, other;
	mp_port_t port = h_server_start(l_server, "/limits-fds", &pid);
	int w, served;

	o->port = port;
	l_count(port, v);	/* connected before the squeeze */
	other = h_fork(l_other_client, o);
	CHECK(h_wait_ge(&o->served, 1, 20000));
	CHECK_OK(l_call(port, T_SQUEEZE, 0, 0, v, &w));
	open0 = v[0];
	/* the caller alone gets -EMFILE; the server never saw the call */
	CHECK_ERR(l_call(port, T_PIPES, MP_FDS_MAX, 0, v, &w), -EMFILE);
	CHECK_EQ(w, 0);
	served = atomic_load(&o->served);
	/* a hostile client that loops: harms only itself */
	for (int k = 0; k < 50; k++) {
		CHECK_ERR(l_call(port, T_PIPES, MP_FDS_MAX, 0, v, &w), -EMFILE);
		CHECK_EQ(w, 0);
	}
	CHECK(h_wait_ge(&o->served, served + 5, 20000));
	/* the same connection goes on, nothing leaked, nothing seen */
	CHECK_EQ(l_count(port, v), open0);
	CHECK_EQ(v[1], 0);
	CHECK_OK(l_call(port, T_PIPES, 1, 0, v, &w));
	CHECK_EQ(w, 1);
	CHECK_EQ(l_count(port, v), open0);
	CHECK_EQ(v[1], 1);
	atomic_store(&o->stop, 1);
	CHECK_EQ(h_reap(other, 20000), 0);
	h_server_quit(port, pid, T_QUIT);
}

/* A one-way whose fds the server cannot take is dropped; the next one
 * arrives. */
TEST(limits_fds_oneway_dropped)
{
	pid_t pid;
	mp_port_t port = h_server_start(l_server, "/limits-fds", &pid);
	int p[MP_FDS_MAX][2];
	uint32_t v[3], open0;
	mp_msg_t m;
	int w, r;
	char c;

	CHECK_OK(l_call(port, T_SQUEEZE, 0, 0, v, &w));
	open0 = v[0];
	for (int round = 0; round < 20; round++) {
		h_msg_init(&m);
		for (int k = 0; k < MP_FDS_MAX; k++) {
			CHECK_OK(pipe2(p[k], O_NONBLOCK));
			m.i.fds[k] = p[k][1];
		}
		m.i.nfds = MP_FDS_MAX;
		r = mp_send_async(port, &m, MP_FOREVER);
		CHECK(r == 0 || r == 1);
		/* in order on one connection: the one-way was taken before */
		CHECK_EQ(l_count(port, v), open0);
		for (int k = 0; k < MP_FDS_MAX; k++) {
			CHECK_OK(close(p[k][1]));
			CHECK_EQ(read(p[k][0], &c, 1), 0);	/* EOF: no copy of it left */
			CHECK_OK(close(p[k][0]));
		}
	}
	h_msg_init(&m);
	r = mp_send_async(port, &m, MP_FOREVER);
	CHECK(r == 0 || r == 1);
	/* in order on one connection: the plain one-way was taken before */
	CHECK_EQ(l_count(port, v), open0);
	CHECK_EQ(v[1], 0);
	CHECK_EQ(v[2], 1);
	h_server_quit(port, pid, T_QUIT);
}

/* The caller's table is full: a reply with 16 fds fails with -EMFILE,
 * none leaks, the connection goes on. */
static void l_full_caller(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	uint32_t v[3];
	int w, open0;

	l_count(port, v);	/* connected first */
	/* an answer with a descriptor: a ring client takes the server's
	 * WELCOME (and keeps one of its fds) no later than this */
	CHECK_OK(l_call(port, T_PIPES, 0, 1, v, &w));
	squeeze();
	open0 = h_count_fds();
	for (int k = 0; k < 20; k++)
		CHECK_ERR(l_call(port, T_PIPES, 0, MP_FDS_MAX, v, &w), -EMFILE);
	CHECK_EQ(h_count_fds(), open0);
	CHECK_OK(l_call(port, T_PIPES, 0, 1, v, &w));
	CHECK_EQ(h_count_fds(), open0);
}

TEST(limits_fds_caller_table_full)
{
	pid_t pid, cl;
	mp_port_t port = h_server_start(l_server, "/limits-fds", &pid);
	uint32_t v[3];

	cl = h_fork(l_full_caller, &port);
	CHECK_EQ(h_reap(cl, 60000), 0);
	l_count(port, v);
	h_server_quit(port, pid, T_QUIT);
}
