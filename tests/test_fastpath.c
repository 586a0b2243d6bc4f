/* SPDX-License-Identifier: MIT */
/* The client's fast path (api/send.c send_fast, transport/ring/client.c
 * cli_send_fast): short calls and one-way messages written straight into
 * the ring and replies read straight out of it, of every inline size, at
 * every ring position (messages that wrap past the ring's end), with and
 * without raw, oid and err; one-way bursts that fill the ring; the
 * thread's cached connection when it alternates between ports. */
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

#define FP_T_XOR 1u	/* o.data = i.data ^ 0x5a (up to o.size), o.err = i.raw[4..7],
			 * o.raw = i.raw with byte 63 = 0x77, or all zero when i.raw[8] */
#define FP_T_COUNT 2u	/* answer: o.err = one-way messages seen, all in order */
#define FP_T_QUIT 3u

static void fp_server(void *arg)
{
	const char *path = arg;
	uint32_t next = 0;
	int bad = 0;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid = 0;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		if (r == 1) {
			/* one-way k: type 100 + k % 7, k in raw[0..3], k % 200 bytes of h_fill(k) */
			uint32_t k;
			unsigned char *want = malloc(200);

			CHECK(want);
			memcpy(&k, m.i.raw, 4);
			h_fill(want, k % 200, k);
			if (k != next || m.type != 100 + k % 7 || m.i.size != k % 200 ||
			    (m.i.size && memcmp(m.i.data, want, m.i.size)))
				bad = 1;
			free(want);
			next++;
			continue;
		}
		if (m.type == FP_T_XOR) {
			const unsigned char *in = m.i.data;
			unsigned char *out = m.o.data;
			size_t n = m.i.size < m.o.size ? m.i.size : m.o.size;

			for (size_t k = 0; k < n; k++)
				out[k] = in[k] ^ 0x5a;
			m.o.size = n;
			memcpy(&m.o.err, m.i.raw + 4, 4);
			if (m.i.raw[8]) {
				memset(m.o.raw, 0, MP_RAW_SIZE);
			} else {
				memcpy(m.o.raw, m.i.raw, MP_RAW_SIZE);
				m.o.raw[63] = 0x77;
			}
		} else {
			m.o.size = 0;
			m.o.err = bad ? -1 : (int32_t)next;
		}
		m.o.nfds = 0;
		CHECK_OK(mp_respond(port, &m, rid));
		if (m.type == FP_T_QUIT)
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

/* Call k: i.size and o.size from k, raw, oid and err on some calls. */
static void fp_call(mp_port_t port, uint32_t k)
{
	size_t isz = (k * 37u) % 4097u, cap = (k % 3 == 0) ? isz : (k * 53u) % 4097u;
	unsigned char *in = malloc(isz + 1), *out = malloc(cap + 1);
	size_t n = isz < cap ? isz : cap;
	int32_t err = (k % 5 == 0) ? -(int32_t)(k % 1000) - 1 : 0;
	mp_msg_t m;

	CHECK(in && out);
	h_fill(in, isz, k);
	memset(out, 0xee, cap + 1);
	h_msg_init(&m);
	m.type = FP_T_XOR;
	if (k % 4 == 1) {
		m.oid.port = port;
		m.oid.id = k;
	}
	memcpy(m.i.raw + 4, &err, 4);
	if (k % 2)
		memcpy(m.i.raw + 12, &k, 4);	/* a raw part on the wire */
	m.i.raw[8] = (k % 7 == 0);		/* the answer's raw all zero */
	m.i.data = isz ? in : NULL;
	m.i.size = isz;
	m.o.data = cap ? out : NULL;
	m.o.size = cap;
	memset(m.o.raw, 0xcc, MP_RAW_SIZE);	/* overwritten by the answer's */
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.size, n);
	CHECK_EQ(m.o.err, err);
	CHECK_EQ(m.o.nfds, 0);
	for (size_t b = 0; b < n; b++)
		if (out[b] != (in[b] ^ 0x5a))
			FAIL("call %u: reply byte %zu of %zu wrong", k, b, n);
	CHECK_EQ(out[cap], 0xee);	/* nothing past the capacity */
	if (k % 7 == 0) {
		for (unsigned b = 0; b < MP_RAW_SIZE; b++)
			CHECK_EQ(m.o.raw[b], 0);
	} else {
		unsigned char want[MP_RAW_SIZE];

		memcpy(want, m.i.raw, MP_RAW_SIZE);
		want[63] = 0x77;
		CHECK_MEM(m.o.raw, want, MP_RAW_SIZE);
	}
	free(in);
	free(out);
}

/* Every inline size each way, at positions all around the ring (sizes
 * are prime-stepped, so messages of 1 to 70 slots start everywhere). */
TEST(fast_call_sizes_and_wrap)
{
	pid_t pid;
	mp_port_t port = h_server_start(fp_server, "/fp", &pid);

	for (uint32_t k = 0; k < 1500; k++)
		fp_call(port, k);
	h_server_quit(port, pid, FP_T_QUIT);
}

/* A burst of one-way messages fills the ring again and again (the fast
 * path's room guard, then the wait for room); all arrive, in order. */
TEST(fast_oneway_burst_in_order)
{
	enum { N = 20000 };
	unsigned char buf[200];
	pid_t pid;
	mp_port_t port = h_server_start(fp_server, "/fp", &pid);
	mp_msg_t m;

	for (uint32_t k = 0; k < N; k++) {
		int r;

		h_msg_init(&m);
		m.type = 100 + k % 7;
		memcpy(m.i.raw, &k, 4);
		h_fill(buf, k % 200, k);
		m.i.data = buf;
		m.i.size = k % 200;
		r = mp_send_async(port, &m, MP_FOREVER);
		CHECK(r == 0 || r == 1);
	}
	h_msg_init(&m);
	m.type = FP_T_COUNT;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, N);
	h_server_quit(port, pid, FP_T_QUIT);
}

/* Two ports called in turn: the thread's last connection is the other
 * port's every time; a port that goes away fails alone. */
TEST(fast_two_ports_in_turn)
{
	pid_t pa, pb;
	mp_port_t a = h_server_start(h_echo_server, "/fa", &pa);
	mp_port_t b = h_server_start(h_echo_server, "/fb", &pb);

	for (uint32_t k = 0; k < 300; k++) {
		CHECK_OK(h_echo_call(a, k, k % 300, MP_FOREVER));
		CHECK_OK(h_echo_call(b, k + 1, (k * 7) % 300, MP_FOREVER));
	}
	h_echo_quit(a, pa);
	for (uint32_t k = 0; k < 20; k++)
		CHECK_OK(h_echo_call(b, k, 64, MP_FOREVER));
	{
		mp_msg_t m;
		int r;

		h_msg_init(&m);
		m.type = H_T_ECHO;
		r = mp_send(a, &m, MP_FOREVER);
		CHECK(r == -ENOENT || r == -EPIPE);
	}
	h_echo_quit(b, pb);
}
