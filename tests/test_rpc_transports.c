/* SPDX-License-Identifier: MIT */
/*
 * One RPC interface over three transports (seeds/000, Barrelfish):
 * "All these different messaging implementations offered the same
 * interface, of course. Thus, all RPC could be used independently of the
 * actual messaging type. ... also a workaround for sending capabilities
 * via UMP was hidden behind the interface to keep all this transparent to
 * higher level APIs."
 *
 * The same RPC exchanges, capability (fd) transfer included, run against a
 * server whose port forces each transport (mp_port_create_opts with
 * .transport): sock (LMP), ring (UMP: fds travel on the side, hidden) and
 * hybrid (FLMP).  The client code is identical for all three; since the
 * port forces the transport, every run of the suite (whatever
 * MSGPORT_TRANSPORT says) covers all three.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

/* The RPC interface. */
enum {
	RPC_ADD = 1,	/* raw: int a, b -> raw: int a + b; data echoed reversed */
	RPC_PIPES,	/* i.fds: write ends; writes "k" into the k-th */
	RPC_MEMFDS,	/* raw: int n -> o.fds: n memfds, the k-th holds "memfd k" */
	RPC_SWAP,	/* i.fds[0]: a file; i.data: bulk -> o.fds[0]: a pipe with
			 * the file's contents; o.data: i.data with each byte + 1 */
	RPC_NOTE,	/* one-way: i.fds[0]: an eventfd, incremented by i.raw[0] */
	RPC_HANG,	/* never answered: the server exits */
	RPC_QUIT,
};

#define RPC_PATH "/rpc"
#define BULK (1u << 20)

static const char *const tp_names[] = { "default", "sock", "ring", "hybrid" };

static void rpc_handle(mp_port_t port, mp_msg_t *m, mp_rid_t rid)
{
	int a, b, n, q[2] = { -1, -1 }, out[MP_FDS_MAX];
	uint32_t nout = 0;
	char buf[256];

	switch (m->type) {
	case RPC_ADD:
		memcpy(&a, m->i.raw, sizeof(a));
		memcpy(&b, m->i.raw + sizeof(a), sizeof(b));
		a += b;
		memcpy(m->o.raw, &a, sizeof(a));
		CHECK_LE(m->i.size, m->o.size);
		for (size_t k = 0; k < m->i.size; k++)
			((char *)m->o.data)[k] = ((char *)m->i.data)[m->i.size - 1 - k];
		m->o.size = m->i.size;
		break;
	case RPC_PIPES:
		for (uint32_t k = 0; k < m->i.nfds; k++) {
			char c = (char)('0' + k);

			CHECK_EQ(write(m->i.fds[k], &c, 1), 1);
		}
		m->o.size = 0;
		break;
	case RPC_MEMFDS:
		memcpy(&n, m->i.raw, sizeof(n));
		CHECK_LE(n, MP_FDS_MAX);
		for (int k = 0; k < n; k++) {
			int len = snprintf(buf, sizeof(buf), "memfd %d", k);

			out[k] = memfd_create("rpc", MFD_CLOEXEC);
			CHECK_GE(out[k], 0);
			CHECK_EQ(pwrite(out[k], buf, (size_t)len, 0), len);
		}
		nout = (uint32_t)n;
		m->o.size = 0;
		break;
	case RPC_SWAP:
		CHECK_EQ(m->i.nfds, 1);
		n = (int)pread(m->i.fds[0], buf, sizeof(buf), 0);
		CHECK_GT(n, 0);
		CHECK_OK(pipe(q));
		CHECK_EQ(write(q[1], buf, (size_t)n), n);
		out[0] = q[0];
		nout = 1;
		CHECK_EQ(m->i.size, m->o.size);
		for (size_t k = 0; k < m->i.size; k++)
			((unsigned char *)m->o.data)[k] = (unsigned char)(((unsigned char *)m->i.data)[k] + 1);
		break;
	case RPC_HANG:
		_exit(0);
	default:
		m->o.size = 0;
		break;
	}
	for (uint32_t k = 0; k < m->i.nfds; k++)
		CHECK_OK(close(m->i.fds[k]));
	memcpy(m->o.fds, out, sizeof(int) * nout);
	m->o.nfds = nout;
	m->o.err = 0;
	CHECK_OK(mp_respond(port, m, rid));
	for (uint32_t k = 0; k < nout; k++)	/* not consumed: still ours */
		CHECK_OK(close(out[k]));
	if (q[1] >= 0)
		CHECK_OK(close(q[1]));
}

static void rpc_server(void *arg)
{
	mp_port_opts_t opts = { .sz = sizeof(opts), .transport = (uint32_t)(uintptr_t)arg };
	mp_port_t port;

	CHECK_OK(mp_port_create_opts(&port, &opts));
	CHECK_OK(mp_port_register(port, RPC_PATH, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);
		uint64_t v;

		CHECK_GE(r, 0);
		if (r == 1) {	/* one-way */
			CHECK_EQ(m.type, RPC_NOTE);
			CHECK_EQ(m.i.nfds, 1);
			v = m.i.raw[0];
			CHECK_EQ(write(m.i.fds[0], &v, sizeof(v)), sizeof(v));
			CHECK_OK(close(m.i.fds[0]));
			continue;
		}
		rpc_handle(port, &m, rid);
		if (m.type == RPC_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

struct rpc {
	pid_t pid;
	mp_port_t port;
	unsigned tp;
};

static void rpc_start(struct rpc *r, unsigned tp)
{
	mp_oid_t oid;

	r->tp = tp;
	r->pid = h_fork(rpc_server, (void *)(uintptr_t)tp);
	CHECK_OK(h_wait_lookup(RPC_PATH, &oid, 10000));
	r->port = oid.port;
}

static void rpc_stop(struct rpc *r)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = RPC_QUIT;
	CHECK_OK(mp_send(r->port, &m, MP_FOREVER));
	CHECK_EQ(h_reap(r->pid, 10000), 0);
}

/* ------------------------------------------------ the client stubs */

static int rpc_add(mp_port_t port, int a, int b, const char *text, char *rev, int *sum)
{
	mp_msg_t m;
	int err;

	h_msg_init(&m);
	m.type = RPC_ADD;
	memcpy(m.i.raw, &a, sizeof(a));
	memcpy(m.i.raw + sizeof(a), &b, sizeof(b));
	m.i.data = (void *)text;
	m.i.size = strlen(text);
	m.o.data = rev;
	m.o.size = strlen(text);
	err = mp_send(port, &m, MP_FOREVER);
	if (!err) {
		memcpy(sum, m.o.raw, sizeof(*sum));
		CHECK_EQ(m.o.size, strlen(text));
		CHECK_EQ(m.o.nfds, 0);
	}
	return err;
}

static int rpc_pipes(mp_port_t port, const int *wfds, uint32_t n)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = RPC_PIPES;
	memcpy(m.i.fds, wfds, sizeof(int) * n);
	m.i.nfds = n;
	return mp_send(port, &m, MP_FOREVER);
}

static int rpc_memfds(mp_port_t port, int n, int *fds)
{
	mp_msg_t m;
	int err;

	h_msg_init(&m);
	m.type = RPC_MEMFDS;
	memcpy(m.i.raw, &n, sizeof(n));
	err = mp_send(port, &m, MP_FOREVER);
	if (!err) {
		CHECK_EQ(m.o.nfds, (uint32_t)n);
		memcpy(fds, m.o.fds, sizeof(int) * m.o.nfds);
	}
	return err;
}

static int rpc_swap(mp_port_t port, int file, const void *in, void *out, size_t len, int *pipe_rd)
{
	mp_msg_t m;
	int err;

	h_msg_init(&m);
	m.type = RPC_SWAP;
	m.i.fds[0] = file;
	m.i.nfds = 1;
	m.i.data = (void *)in;
	m.i.size = len;
	m.o.data = out;
	m.o.size = len;
	err = mp_send(port, &m, MP_FOREVER);
	if (!err) {
		CHECK_EQ(m.o.nfds, 1);
		CHECK_EQ(m.o.size, len);
		*pipe_rd = m.o.fds[0];
	}
	return err;
}

static int rpc_note(mp_port_t port, int efd, uint8_t add)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = RPC_NOTE;
	m.i.raw[0] = add;
	m.i.fds[0] = efd;
	m.i.nfds = 1;
	return mp_send_async(port, &m, MP_FOREVER);
}

/* ------------------------------------------------ the exchanges */

/* A plain call: request header and data in, answer header and data out. */
static void rpc_call_and_reply(unsigned tp)
{
	struct rpc r;
	char rev[32];
	int sum = 0;

	rpc_start(&r, tp);
	for (int k = 0; k < 100; k++) {
		CHECK_OK(rpc_add(r.port, k, 1000, "capability", rev, &sum));
		CHECK_EQ(sum, k + 1000);
		CHECK_MEM(rev, "ytilibapac", 10);
	}
	rpc_stop(&r);
}

/* Capabilities to the server: it writes through each of 16 pipes. */
static void rpc_fds_to_server(unsigned tp)
{
	struct rpc r;
	int p[MP_FDS_MAX][2], w[MP_FDS_MAX];

	rpc_start(&r, tp);
	for (int k = 0; k < MP_FDS_MAX; k++) {
		CHECK_OK(pipe(p[k]));
		w[k] = p[k][1];
	}
	CHECK_OK(rpc_pipes(r.port, w, MP_FDS_MAX));
	for (int k = 0; k < MP_FDS_MAX; k++) {
		char c = 0;

		CHECK(h_fd_is_open(w[k]));	/* ours still: not consumed */
		CHECK_EQ(read(p[k][0], &c, 1), 1);
		CHECK_EQ(c, '0' + k);
		close(p[k][0]);
		close(p[k][1]);
	}
	rpc_stop(&r);
}

/* Capabilities from the server: 16 new memfds, each its own file. */
static void rpc_fds_from_server(unsigned tp)
{
	struct rpc r;
	int fds[MP_FDS_MAX];

	rpc_start(&r, tp);
	for (int round = 0; round < 3; round++) {
		CHECK_OK(rpc_memfds(r.port, MP_FDS_MAX, fds));
		for (int k = 0; k < MP_FDS_MAX; k++) {
			char buf[32], want[32];
			int n = snprintf(want, sizeof(want), "memfd %d", k);

			CHECK_EQ(pread(fds[k], buf, sizeof(buf), 0), n);
			CHECK_MEM(buf, want, (size_t)n);
			CHECK_OK(close(fds[k]));
		}
	}
	rpc_stop(&r);
}

/* Both ways in one call, with a megabyte of data each way. */
static void rpc_fd_exchange_with_bulk(unsigned tp)
{
	struct rpc r;
	unsigned char *in = malloc(BULK), *out = malloc(BULK);
	int file = memfd_create("rpc-file", MFD_CLOEXEC), rd = -1;
	char buf[32];

	CHECK(in && out && file >= 0);
	CHECK_EQ(write(file, "file contents", 13), 13);
	h_fill(in, BULK, tp);
	rpc_start(&r, tp);
	CHECK_OK(rpc_swap(r.port, file, in, out, BULK, &rd));
	CHECK_EQ(read(rd, buf, sizeof(buf)), 13);
	CHECK_MEM(buf, "file contents", 13);
	for (size_t k = 0; k < BULK; k++)
		if (out[k] != (unsigned char)(in[k] + 1))
			FAIL("byte %zu: %u, expected %u", k, out[k], (unsigned char)(in[k] + 1));
	CHECK_OK(close(rd));
	CHECK_OK(close(file));
	rpc_stop(&r);
	free(in);
	free(out);
}

/* A one-way message carries a capability too. */
static void rpc_oneway_with_fd(unsigned tp)
{
	struct rpc r;
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t total = 0;

	CHECK_GE(efd, 0);
	rpc_start(&r, tp);
	for (int k = 1; k <= 10; k++)
		CHECK_GE(rpc_note(r.port, efd, (uint8_t)k), 0);
	rpc_stop(&r);	/* a call after them: they were all handled */
	CHECK_EQ(read(efd, &total, sizeof(total)), sizeof(total));
	CHECK_EQ(total, 55);
	CHECK_OK(close(efd));
}

/* The server dies in the call: -EPIPE, and the capability sent is still
 * the caller's (the harness checks that no descriptor leaked). */
static void rpc_server_death(unsigned tp)
{
	struct rpc r;
	int p[2];
	mp_msg_t m;

	rpc_start(&r, tp);
	CHECK_OK(pipe(p));
	h_msg_init(&m);
	m.type = RPC_HANG;
	m.i.fds[0] = p[1];
	m.i.nfds = 1;
	CHECK_ERR(mp_send(r.port, &m, MP_FOREVER), -EPIPE);
	CHECK(h_fd_is_open(p[1]));
	CHECK_EQ(h_reap(r.pid, 10000), 0);
	close(p[0]);
	close(p[1]);
}

/* Mappings of memfds named "msgport-*" in this process: the shared
 * memory of the ring transports (the sock transport has none). */
static int shm_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:msgport-"))
			n++;
	fclose(f);
	return n;
}

/* The transport the port forces is the one the connection uses: shared
 * memory for ring and hybrid, none for sock. */
static void rpc_transport_in_use(unsigned tp)
{
	struct rpc r;
	char rev[8];
	int sum, before = shm_maps();

	rpc_start(&r, tp);
	CHECK_OK(rpc_add(r.port, 1, 2, "x", rev, &sum));
	if (tp == MP_TRANSPORT_SOCK)
		CHECK_EQ(shm_maps(), before);
	else
		CHECK_GT(shm_maps(), before);
	rpc_stop(&r);
	(void)tp_names;
}

#define RPC_TESTS(name, tp)						\
	TEST(rpc_##name##_call_and_reply) { rpc_call_and_reply(tp); }	\
	TEST(rpc_##name##_fds_to_server) { rpc_fds_to_server(tp); }	\
	TEST(rpc_##name##_fds_from_server) { rpc_fds_from_server(tp); }	\
	TEST(rpc_##name##_fd_exchange_with_bulk_data)			\
	{ rpc_fd_exchange_with_bulk(tp); }				\
	TEST(rpc_##name##_oneway_with_fd) { rpc_oneway_with_fd(tp); }	\
	TEST(rpc_##name##_server_death_epipe) { rpc_server_death(tp); }	\
	TEST(rpc_##name##_transport_in_use) { rpc_transport_in_use(tp); }

RPC_TESTS(sock, MP_TRANSPORT_SOCK)
RPC_TESTS(ring, MP_TRANSPORT_RING)
RPC_TESTS(hybrid, MP_TRANSPORT_HYBRID)
