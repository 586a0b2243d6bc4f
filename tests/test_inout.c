/* SPDX-License-Identifier: MIT */
/* In/out output buffers (MP_OUT_INOUT) and msg.priority, on every
 * transport and every way a call's data travels (ring slots, bulk areas,
 * side frames, memfds, process_vm_readv). */
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

#define T_SEE 1u	/* report what was seen, write a range, maybe lower o.size */
#define T_LAST_OW 2u	/* o.err = the last one-way's priority */
#define T_QUIT 3u

/* The caller's instructions, in i.raw. */
struct want {
	uint64_t w_off, w_len;	/* the range the server writes */
	uint64_t lower;		/* nonzero: the server's o.size (it writes the whole buffer) */
	uint32_t seed;		/* of the pattern it writes */
};

/* What the server saw, in o.raw. */
struct seen {
	uint64_t isize, ocap;
	uint32_t in_sum, out_sum;	/* FNV-1a of i.data and of o.data as it came */
	uint32_t flags, priority;
};
_Static_assert(sizeof(struct want) <= MP_RAW_SIZE && sizeof(struct seen) <= MP_RAW_SIZE, "raw");

static uint32_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	for (size_t k = 0; k < n; k++)
		h = (h ^ c[k]) * 16777619u;
	return h;
}

static void see_answer(mp_msg_t *m)
{
	struct want w;
	struct seen s = { .isize = m->i.size, .ocap = m->o.size, .flags = m->flags,
			  .priority = m->priority };

	memcpy(&w, m->i.raw, sizeof(w));
	s.in_sum = fnv(m->i.data, m->i.size);
	s.out_sum = fnv(m->o.data, m->o.size);
	if (w.lower) {
		h_fill(m->o.data, m->o.size, w.seed);	/* all of it: only lower goes back */
		m->o.size = w.lower;
	} else if (w.w_len) {
		h_fill((char *)m->o.data + w.w_off, w.w_len, w.seed);
	}
	memset(m->o.raw, 0, MP_RAW_SIZE);
	memcpy(m->o.raw, &s, sizeof(s));
	m->o.err = 0;
}

static void inout_server(void *path)
{
	mp_port_t port;
	uint32_t last_ow = 99;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);
		uint32_t type = m.type;

		if (r < 0)
			break;
		if (r == 1) {
			last_ow = m.priority;
			continue;
		}
		if (type == T_SEE) {
			see_answer(&m);
		} else {
			m.o.err = (int32_t)last_ow;
			m.o.size = 0;
		}
		m.o.nfds = 0;
		CHECK_OK(mp_respond(port, &m, rid));
		if (type == T_QUIT)
			break;
	}
	mp_port_destroy(port);
}

/* What the server sees for a requested priority: never higher than the
 * thread's, and the test's threads run SCHED_OTHER at nice 0, which is
 * MP_PRIO_DEFAULT (msgport.h, "Priorities"). */
static uint32_t prio_seen(uint32_t asked)
{
	return asked > MP_PRIO_DEFAULT ? asked : MP_PRIO_DEFAULT;
}

/* One in/out call: input isize bytes, output buffer osize bytes of a
 * pattern; the server must see both and change only what it wrote. */
static void inout_call(mp_port_t port, size_t isize, size_t osize, struct want w, uint32_t prio)
{
	char *in = malloc(isize + 1), *out = malloc(osize + 1), *expect = malloc(osize + 1);
	struct seen s;
	mp_msg_t m;

	CHECK(in && out && expect);
	h_fill(in, isize, (uint32_t)isize + 7);
	h_fill(out, osize, (uint32_t)osize + 11);
	memcpy(expect, out, osize);
	if (w.lower)
		h_fill(expect, w.lower, w.seed);	/* its first bytes of the pattern */
	else if (w.w_len)
		h_fill(expect + w.w_off, w.w_len, w.seed);
	h_msg_init(&m);
	m.type = T_SEE;
	m.flags = MP_OUT_INOUT;
	m.priority = prio;
	memcpy(m.i.raw, &w, sizeof(w));
	m.i.data = isize ? in : NULL;
	m.i.size = isize;
	m.o.data = out;
	m.o.size = osize;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	memcpy(&s, m.o.raw, sizeof(s));
	CHECK_EQ(s.isize, isize);	/* the input alone, the output's bytes split off */
	CHECK_EQ(s.ocap, osize);
	CHECK_EQ(s.in_sum, fnv(in, isize));
	CHECK(s.flags & MP_OUT_INOUT);
	CHECK_EQ(s.priority, prio_seen(prio));
	CHECK_EQ(m.o.size, w.lower ? w.lower : osize);
	CHECK_MEM(out, expect, osize);	/* unwritten bytes unchanged */
	/* the server saw the buffer as it was before the call */
	h_fill(expect, osize, (uint32_t)osize + 11);
	CHECK_EQ(s.out_sum, fnv(expect, osize));
	free(in);
	free(out);
	free(expect);
}

/* "input and output buffers are transparently mapped into the receiver
 * address space": the server sees the output buffer's current contents,
 * and bytes it does not write come back unchanged; sizes that go inline
 * on a ring, through the bulk areas, in a side frame, a memfd and
 * process_vm_readv. */
TEST(inout_server_sees_caller_bytes_unwritten_unchanged)
{
	static const size_t in_sizes[] = { 0, 5, 2000 };
	static const size_t out_sizes[] = { 1, 64, 2000, 4000, 9000, 40000, 300000 };
	pid_t pid;
	mp_port_t port = h_server_start(inout_server, "/inout", &pid);

	for (size_t a = 0; a < sizeof(in_sizes) / sizeof(in_sizes[0]); a++)
		for (size_t b = 0; b < sizeof(out_sizes) / sizeof(out_sizes[0]); b++) {
			size_t o = out_sizes[b];
			struct want w = { .w_off = o / 3, .w_len = o / 3, .seed = (uint32_t)(a * 10 + b) };

			inout_call(port, in_sizes[a], o, w, 0);
		}
	h_server_quit(port, pid, T_QUIT);
}

/* A server that writes the whole buffer but lowers o.size sends only that
 * much back: the rest of the caller's buffer keeps its bytes. */
TEST(inout_server_lowers_size)
{
	static const size_t out_sizes[] = { 8, 3000, 50000 };
	pid_t pid;
	mp_port_t port = h_server_start(inout_server, "/inout", &pid);

	for (size_t b = 0; b < sizeof(out_sizes) / sizeof(out_sizes[0]); b++) {
		struct want w = { .lower = out_sizes[b] / 2, .seed = 5 };

		inout_call(port, 3, out_sizes[b], w, 2);
	}
	h_server_quit(port, pid, T_QUIT);
}

/* Without the flag (the native default) nothing but the input travels:
 * the server is not told the buffer holds the caller's bytes. */
TEST(inout_default_sends_input_only)
{
	pid_t pid;
	mp_port_t port = h_server_start(inout_server, "/inout", &pid);
	char out[100];
	struct want w = { 0 };
	struct seen s;
	mp_msg_t m;

	memset(out, 'x', sizeof(out));
	h_msg_init(&m);
	m.type = T_SEE;
	memcpy(m.i.raw, &w, sizeof(w));
	m.i.data = "abc";
	m.i.size = 3;
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	memcpy(&s, m.o.raw, sizeof(s));
	CHECK_EQ(s.isize, 3);
	CHECK_EQ(s.in_sum, fnv("abc", 3));
	CHECK_EQ(s.flags & MP_OUT_INOUT, 0);
	h_server_quit(port, pid, T_QUIT);
}

/* Input pages with MP_OUT_INOUT travel as ordinary data and stay with the
 * caller; lent output pages (MP_SHARE) keep their bytes too. */
TEST(inout_with_pages)
{
	pid_t pid;
	mp_port_t port = h_server_start(inout_server, "/inout", &pid);
	size_t len = 3 * 4096;
	char *in = mp_pages_alloc(len), *out = mp_pages_alloc(len), *expect = malloc(len);
	struct want w = { .w_off = 100, .w_len = 50, .seed = 9 };
	struct seen s;
	mp_msg_t m;

	CHECK(in && out && expect);
	h_fill(in, len, 1);
	h_fill(out, len, 2);
	memcpy(expect, out, len);
	h_fill(expect + 100, 50, 9);
	for (int share = 0; share <= 1; share++) {
		h_msg_init(&m);
		m.type = T_SEE;
		m.flags = MP_OUT_INOUT | (share ? MP_SHARE : MP_MOVE);
		memcpy(m.i.raw, &w, sizeof(w));
		m.i.data = in;
		m.i.size = len;
		m.o.data = out;
		m.o.size = len;
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		memcpy(&s, m.o.raw, sizeof(s));
		CHECK_EQ(s.isize, len);
		CHECK_EQ(s.in_sum, fnv(in, len));	/* still ours to read */
		CHECK_EQ(m.o.size, len);
		CHECK_MEM(out, expect, len);
	}
	CHECK_OK(mp_pages_free(in, len));
	CHECK_OK(mp_pages_free(out, len));
	free(expect);
	h_server_quit(port, pid, T_QUIT);
}

/* msg.priority goes from caller to server, on calls and one-way
 * messages, as a request that can lower the thread's, never raise it;
 * over MP_PRIO_MAX is refused. */
TEST(inout_priority_arrives)
{
	pid_t pid;
	mp_port_t port = h_server_start(inout_server, "/inout", &pid);
	char out[16];
	mp_msg_t m;

	for (uint32_t prio = 0; prio <= MP_PRIO_MAX; prio++) {
		struct want w = { .w_len = 4, .seed = prio };
		struct seen s;

		h_msg_init(&m);
		m.type = T_SEE;
		m.priority = prio;
		memcpy(m.i.raw, &w, sizeof(w));
		m.o.data = out;
		m.o.size = sizeof(out);
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		memcpy(&s, m.o.raw, sizeof(s));
		CHECK_EQ(s.priority, prio_seen(prio));

		h_msg_init(&m);
		m.type = 0;
		m.priority = prio;
		CHECK(mp_send_async(port, &m, MP_FOREVER) >= 0);
		h_msg_init(&m);
		m.type = T_LAST_OW;	/* after the one-way, on the same connection */
		CHECK_OK(mp_send(port, &m, MP_FOREVER));
		CHECK_EQ(m.o.err, (int32_t)prio_seen(prio));
	}
	h_msg_init(&m);
	m.type = T_SEE;
	m.priority = MP_PRIO_MAX + 1;
	CHECK_EQ(mp_send(port, &m, MP_FOREVER), -EINVAL);
	CHECK_EQ(mp_send_async(port, &m, MP_FOREVER), -EINVAL);
	h_msg_init(&m);
	m.flags = MP_OUT_INOUT;
	m.i.data = out;
	m.i.size = MP_DATA_MAX;
	m.o.data = out;
	m.o.size = 1;
	CHECK_EQ(mp_send(port, &m, MP_FOREVER), -EMSGSIZE);	/* the sum is over */
	h_server_quit(port, pid, T_QUIT);
}
