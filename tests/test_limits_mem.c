/* SPDX-License-Identifier: MIT */
/*
 * Memory held per client connection (issue 13, item 5): a server run
 * with MSGPORT_CONN_MEM_MAX of 8 MiB holds pages a client moves or
 * shares to it (it keeps them, mp_pages_keep) until the next one would
 * go over: that call fails for its caller alone with -ENOBUFS, the
 * server never sees it and leaks nothing, the connection survives,
 * another client is served meanwhile, and once the server let go the
 * same call works.  The same for long input copied into the server, and
 * for a one-way (dropped).  And for what the server maps or holds for a
 * client besides: a sealed memfd of input, output pages lent to it, the
 * ring's input grant, hybrid bulk areas past the first pair.  Regions are
 * sparse: no real memory is used.
 */
#include "harness.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define M_LIMIT "8388608"		/* the server's MSGPORT_CONN_MEM_MAX: 8 MiB */
#define M_REGION ((size_t)3 << 20)	/* two fit, the third does not */
#define M_LONG ((size_t)12 << 20)	/* copied input over the limit */

#define T_COUNT 1u	/* answer: o.raw[0..3] open fds, [4..7] held, [8..11] seen, [12..15] one-ways, [16..19] maps */
#define T_KEEP 2u	/* keep i.data (pages) until T_RELEASE; as T_COUNT */
#define T_RELEASE 3u	/* free what T_KEEP kept; as T_COUNT */
#define T_DATA 4u	/* plain input, looked at and dropped; as T_COUNT */
#define T_QUIT 5u

#define M_HELD_MAX 64

struct m_srv {
	void *held[M_HELD_MAX];
	size_t len[M_HELD_MAX];
	uint32_t nheld, seen, oneways;
};

/* Mappings of memfds (pages, rings, bulk areas): the library's, where a
 * leak would show; the allocator's own (a sanitizer's) come and go. */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

static void answer_count(mp_msg_t *m, const struct m_srv *s)
{
	uint32_t v[5] = { (uint32_t)h_count_fds(), s->nheld, s->seen, s->oneways,
			  (uint32_t)count_maps() };

	memcpy(m->o.raw, v, sizeof(v));
}

static void m_keep(struct m_srv *s, mp_msg_t *m)
{
	CHECK(m->flags & (MP_MOVE | MP_SHARE));	/* pages */
	CHECK_LT(s->nheld, M_HELD_MAX);
	CHECK_OK(mp_pages_keep(m->i.data, m->i.size));
	s->held[s->nheld] = m->i.data;
	s->len[s->nheld++] = m->i.size;
}

static void m_release(struct m_srv *s)
{
	for (uint32_t k = 0; k < s->nheld; k++)
		CHECK_OK(mp_pages_free(s->held[k], s->len[k]));
	s->nheld = 0;
}

static void m_server(void *path)
{
	struct m_srv s = { 0 };
	mp_port_t port;

	/* before the first connection: the limit is read once */
	CHECK_OK(setenv("MSGPORT_CONN_MEM_MAX", M_LIMIT, 1));
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		s.seen++;
		if (r == 1) {
			s.oneways++;
			if (m.type == T_KEEP)
				m_keep(&s, &m);
			continue;
		}
		if (m.type == T_KEEP)
			m_keep(&s, &m);
		if (m.type == T_RELEASE)
			m_release(&s);
		m.o.size = 0;
		m.o.nfds = 0;
		answer_count(&m, &s);
		CHECK_OK(mp_respond(port, &m, rid));
		if (m.type == T_QUIT)
			break;
	}
	m_release(&s);
	CHECK_OK(mp_port_destroy(port));
}

/* A call of type with data (len bytes at p), an output buffer (olen
 * bytes at out), flags, waiting up to timeout: mp_send's result; the
 * server's counters in v. */
static int m_call_io(mp_port_t port, uint32_t type, void *p, size_t len, void *out, size_t olen,
		     uint32_t flags, int64_t timeout, uint32_t v[5])
{
	mp_msg_t m;
	int r;

	h_msg_init(&m);
	m.type = type;
	m.flags = flags;
	m.i.data = p;
	m.i.size = len;
	m.o.data = out;
	m.o.size = olen;
	r = mp_send(port, &m, timeout);
	if (r == 0)
		memcpy(v, m.o.raw, 5 * sizeof(uint32_t));
	return r;
}

static int m_call(mp_port_t port, uint32_t type, void *p, size_t len, uint32_t flags, uint32_t v[5])
{
	return m_call_io(port, type, p, len, NULL, 0, flags, MP_FOREVER, v);
}

static void m_count(mp_port_t port, uint32_t v[5])
{
	CHECK_OK(m_call(port, T_COUNT, NULL, 0, 0, v));
}

static void *region(uint32_t seed)
{
	uint8_t *p = mp_pages_alloc(M_REGION);

	CHECK(p != NULL);
	p[0] = (uint8_t)seed;	/* one page touched: the rest stays sparse */
	return p;
}

/* Another client: keeps a region past what the first one may, calls on. */
/* Wait until the server holds no more descriptors and memfd mappings
 * than fds0 and maps0 (it learns of a client's end at its pace). */
static void m_settle(mp_port_t port, uint32_t fds0, uint32_t maps0)
{
	uint32_t v[5];

	for (int k = 0; k < 2000; k++) {
		m_count(port, v);
		if (v[0] == fds0 && v[4] == maps0)
			break;
		h_sleep_ms(5);
	}
	CHECK_EQ(v[0], fds0);
	CHECK_EQ(v[4], maps0);
}

struct m_other {
	atomic_int done;
	mp_port_t port;
	uint32_t flags;
};

static void m_other_client(void *arg)
{
	struct m_other *o = arg;
	uint32_t v[5];
	void *a = region(7), *b = region(8);

	CHECK_OK(m_call(o->port, T_KEEP, a, M_REGION, o->flags, v));
	CHECK_OK(m_call(o->port, T_KEEP, b, M_REGION, o->flags, v));
	m_count(o->port, v);
	atomic_store(&o->done, 1);
	if (o->flags & MP_SHARE) {
		CHECK_OK(mp_pages_free(a, M_REGION));
		CHECK_OK(mp_pages_free(b, M_REGION));
	}
}

/* Pages (moved or shared) kept by the server up to the limit: the next
 * call is refused for that caller alone until the server let go. */
static void pages_over_limit(uint32_t flags)
{
	struct m_other *o = h_shared(sizeof(*o));
	pid_t pid, other;
	mp_port_t port = h_server_start(m_server, "/limits-mem", &pid);
	void *r[4];
	uint32_t v[5], fds0, maps0, seen;

	m_count(port, v);
	fds0 = v[0];
	maps0 = v[4];
	for (int k = 0; k < 4; k++)
		r[k] = region((uint32_t)k);
	CHECK_OK(m_call(port, T_KEEP, r[0], M_REGION, flags, v));
	CHECK_OK(m_call(port, T_KEEP, r[1], M_REGION, flags, v));
	seen = v[2];
	/* the third would hold 9 MiB and more for this connection; a client
	 * that loops harms only itself, and keeps its pages (not taken) */
	for (int k = 0; k < 20; k++) {
		CHECK_ERR(m_call(port, T_KEEP, r[2 + k % 2], M_REGION, flags, v), -ENOBUFS);
		((volatile uint8_t *)r[2 + k % 2])[0] = (uint8_t)k;	/* still ours, writable */
	}
	/* another connection has its own account */
	o->port = port;
	o->flags = flags;
	other = h_fork(m_other_client, o);
	CHECK_EQ(h_reap(other, 60000), 0);
	CHECK_EQ(atomic_load(&o->done), 1);
	/* the same connection goes on; the server saw none of the refused */
	m_count(port, v);
	CHECK_EQ(v[1], 4);
	CHECK_EQ(v[2], seen + 4);	/* other's three, this count */
	CHECK_OK(m_call(port, T_RELEASE, NULL, 0, 0, v));
	CHECK_EQ(v[1], 0);
	if (flags & MP_SHARE) {	/* a server keeps shared pages until we let go */
		CHECK_OK(mp_pages_free(r[0], M_REGION));
		CHECK_OK(mp_pages_free(r[1], M_REGION));
	}
	/* memory given back: the refused call goes through now */
	CHECK_OK(m_call(port, T_KEEP, r[3], M_REGION, flags, v));
	CHECK_EQ(v[1], 1);
	CHECK_OK(m_call(port, T_RELEASE, NULL, 0, 0, v));
	if (flags & MP_SHARE)
		CHECK_OK(mp_pages_free(r[3], M_REGION));
	CHECK_OK(mp_pages_free(r[2], M_REGION));
	/* no descriptor or mapping left behind (the server learns of the
	 * other client's end and of our frees at its pace) */
	m_settle(port, fds0, maps0);
	h_server_quit(port, pid, T_QUIT);
}

TEST(limits_mem_moved_pages)
{
	pages_over_limit(MP_MOVE);
}

TEST(limits_mem_shared_pages)
{
	pages_over_limit(MP_SHARE);
}

/* Long ordinary input, copied into the server's memory: over the limit
 * refused; shorter input and later calls go on. */
TEST(limits_mem_copied_input)
{
	pid_t pid;
	mp_port_t port = h_server_start(m_server, "/limits-mem", &pid);
	uint8_t *big = calloc(1, M_LONG);
	uint32_t v[5], fds0, seen;

	CHECK(big != NULL);
	m_count(port, v);
	fds0 = v[0];
	seen = v[2];
	for (int k = 0; k < 5; k++) {
		CHECK_ERR(m_call(port, T_DATA, big, M_LONG, 0, v), -ENOBUFS);
		CHECK_OK(m_call(port, T_DATA, big, (size_t)1 << 20, 0, v));
	}
	m_count(port, v);
	CHECK_EQ(v[2], seen + 6);	/* the five short ones and this */
	CHECK_EQ(v[0], fds0);
	free(big);
	h_server_quit(port, pid, T_QUIT);
}

/* A one-way T_KEEP moving a fresh region (seeded seed) to port. */
static void send_keep_oneway(mp_port_t port, uint32_t seed)
{
	mp_msg_t m;
	int r;

	h_msg_init(&m);
	m.type = T_KEEP;
	m.flags = MP_MOVE;
	m.i.data = region(seed);
	m.i.size = M_REGION;
	r = mp_send_async(port, &m, MP_FOREVER);
	CHECK(r == 0 || r == 1);
}

/* A one-way over the limit is dropped; after the server let go, the next
 * one arrives. */
TEST(limits_mem_oneway_dropped)
{
	pid_t pid;
	mp_port_t port = h_server_start(m_server, "/limits-mem", &pid);
	uint32_t v[5], fds0;
	void *a = region(1), *b = region(2);

	CHECK_OK(m_call(port, T_KEEP, a, M_REGION, MP_MOVE, v));
	CHECK_OK(m_call(port, T_KEEP, b, M_REGION, MP_MOVE, v));
	fds0 = v[0];
	for (int k = 0; k < 10; k++) {
		send_keep_oneway(port, 3);
		/* in order on one connection: the one-way was taken before */
		m_count(port, v);
		CHECK_EQ(v[1], 2);
		CHECK_EQ(v[3], 0);
		CHECK_EQ(v[0], fds0);
	}
	CHECK_OK(m_call(port, T_RELEASE, NULL, 0, 0, v));
	send_keep_oneway(port, 4);
	m_count(port, v);
	CHECK_EQ(v[1], 1);
	CHECK_EQ(v[3], 1);
	h_server_quit(port, pid, T_QUIT);
}

/* ------------------------------------------ what else the server holds */

#define M_ITEM ((size_t)3 << 20)	/* with two regions kept: over the limit */
#define M_SETUP_MAX ((size_t)1 << 20)	/* a connection's setup charge is below */

static const char *transport(void)
{
	const char *t = getenv("MSGPORT_TRANSPORT");

	return t && *t ? t : "hybrid";
}

/* M_ITEM of input, an ordinary buffer: with MSGPORT_VM=0 it comes in a
 * sealed memfd that the server maps (sock, ring). */
static int item_memfd(mp_port_t port)
{
	uint8_t *in = calloc(1, M_ITEM);
	uint32_t v[5];
	int r;

	CHECK(in != NULL);
	r = m_call(port, T_DATA, in, M_ITEM, 0, v);
	free(in);
	return r;
}

/* M_ITEM of output pages lent to the server for the call. */
static int item_lent(mp_port_t port)
{
	void *out = mp_pages_alloc(M_ITEM);
	uint32_t v[5];
	int r;

	CHECK(out != NULL);
	r = m_call_io(port, T_COUNT, NULL, 0, out, M_ITEM, MP_SHARE, MP_FOREVER, v);
	CHECK_OK(mp_pages_free(out, M_ITEM));
	return r;
}

struct m_item {
	atomic_int done;
	mp_port_t port;
	int (*item)(mp_port_t port);
};

static void m_item_other(void *arg)
{
	struct m_item *o = arg;

	CHECK_OK(o->item(o->port));	/* its own account */
	atomic_store(&o->done, 1);
}

/* This client holds two regions (6 MiB of its 8) so that item, 3 MiB
 * more, is refused for it alone: another client's works meanwhile, the
 * server never sees the refused ones, and once the server let go the
 * item works here too; nothing is left behind. */
static void item_over_limit(int (*item)(mp_port_t port))
{
	struct m_item *o = h_shared(sizeof(*o));
	pid_t pid, other;
	mp_port_t port = h_server_start(m_server, "/limits-mem", &pid);
	uint32_t v[5], fds0, maps0, seen;

	m_count(port, v);
	fds0 = v[0];
	maps0 = v[4];
	CHECK_OK(m_call(port, T_KEEP, region(1), M_REGION, MP_MOVE, v));
	CHECK_OK(m_call(port, T_KEEP, region(2), M_REGION, MP_MOVE, v));
	seen = v[2];
	for (int k = 0; k < 5; k++)
		CHECK_ERR(item(port), -ENOBUFS);
	o->port = port;
	o->item = item;
	other = h_fork(m_item_other, o);
	CHECK_EQ(h_reap(other, 60000), 0);
	CHECK_EQ(atomic_load(&o->done), 1);
	m_count(port, v);
	CHECK_EQ(v[2], seen + 2);	/* the other's item and this count */
	CHECK_OK(m_call(port, T_RELEASE, NULL, 0, 0, v));
	CHECK_OK(item(port));
	m_settle(port, fds0, maps0);
	h_server_quit(port, pid, T_QUIT);
}

/* Before the library reads MSGPORT_VM: no warm-up call. */
TEST_FLAGS(limits_mem_memfd_input, H_NO_WARMUP)
{
	if (!strcmp(transport(), "hybrid"))
		return;	/* long input goes through the bulk areas (below) */
	CHECK_OK(setenv("MSGPORT_VM", "0", 1));
	item_over_limit(item_memfd);
}

/* On the ring transports lent pages are kept mapped (charged as kept
 * shared pages); on sock mapped for the call. */
TEST(limits_mem_lent_output)
{
	item_over_limit(item_lent);
}

/* Regions of len moved to the server and kept: 0 or mp_send's error
 * (a refused region is freed here). */
static int keep_region(mp_port_t port, size_t len, uint32_t seed)
{
	uint8_t *p = mp_pages_alloc(len);
	uint32_t v[5];
	int r;

	CHECK(p != NULL);
	p[0] = (uint8_t)seed;
	r = m_call(port, T_KEEP, p, len, MP_MOVE, v);
	if (r)
		CHECK_OK(mp_pages_free(p, len));
	return r;
}

static void m_grant_other(void *arg)
{
	struct m_item *o = arg;

	CHECK_OK(keep_region(o->port, (size_t)7 << 20, 9));	/* no grant held for it */
	atomic_store(&o->done, 1);
}

/* The ring's input grant: a long call (1 MiB, through the bulk areas on
 * hybrid) makes the server publish a 1 MiB buffer for the next one, held
 * for this client: a region that fits beside the rest, not beside the
 * grant, is refused; the connection and another client go on. */
TEST(limits_mem_grant)
{
	bool hybrid = !strcmp(transport(), "hybrid");
	/* setup (< 1 MiB) + bulk (1.5 MiB, hybrid) + r fits in 8 MiB; + 1 MiB not */
	size_t r = hybrid ? (size_t)11 << 19 : (size_t)7 << 20;
	struct m_item *o = h_shared(sizeof(*o));
	pid_t pid, other;
	mp_port_t port;
	uint8_t *in = calloc(1, (size_t)1 << 20);
	uint32_t v[5], fds0, maps0;

	if (!strcmp(transport(), "sock")) {
		free(in);
		return;	/* no grant */
	}
	port = h_server_start(m_server, "/limits-mem", &pid);
	CHECK(in != NULL);
	m_count(port, v);
	fds0 = v[0];
	maps0 = v[4];
	if (!hybrid) {	/* a grant is a hint: never the reason a call that fits is refused */
		uint8_t *mid = calloc(1, (size_t)7 << 19);

		CHECK(mid != NULL);	/* 3.5 MiB copied, beside a 4 MiB grant: over */
		CHECK_OK(m_call(port, T_DATA, mid, (size_t)7 << 19, 0, v));
		free(mid);
	}
	CHECK_OK(m_call(port, T_DATA, in, (size_t)1 << 20, 0, v));
	CHECK_OK(m_call(port, T_DATA, in, (size_t)1 << 20, 0, v));	/* through it: a new one */
	for (int k = 0; k < 5; k++)
		CHECK_ERR(keep_region(port, r, (uint32_t)k), -ENOBUFS);
	o->port = port;
	other = h_fork(m_grant_other, o);
	CHECK_EQ(h_reap(other, 60000), 0);
	CHECK_EQ(atomic_load(&o->done), 1);
	CHECK_OK(m_call(port, T_RELEASE, NULL, 0, 0, v));
	CHECK_OK(keep_region(port, r - ((size_t)3 << 20), 1));	/* the rest goes on */
	CHECK_OK(m_call(port, T_RELEASE, NULL, 0, 0, v));
	free(in);
	m_settle(port, fds0, maps0 + (hybrid ? 2 : 0));	/* (our bulk areas) */
	h_server_quit(port, pid, T_QUIT);
}

/* Ordinary input of len through the bulk areas (a timeout: no grant). */
static int bulk_call(mp_port_t port, size_t len)
{
	uint8_t *in = calloc(1, len);
	uint32_t v[5];
	int r;

	CHECK(in != NULL);
	r = m_call_io(port, T_DATA, in, len, NULL, 0, 0, 60 * 1000000000LL, v);
	free(in);
	return r;
}

static void m_bulk_other(void *arg)
{
	struct m_item *o = arg;

	CHECK_OK(bulk_call(o->port, (size_t)1 << 20));
	atomic_store(&o->done, 1);
}

/* Hybrid bulk areas grown past the first pair: 3 MiB of input needs two
 * 4 MiB areas, over the limit: refused, and the client forgets them; 1
 * MiB (new 1 MiB areas) goes through, again after another refusal;
 * another client is served meanwhile; nothing leaks. */
TEST(limits_mem_bulk_areas)
{
	struct m_item *o = h_shared(sizeof(*o));
	pid_t pid, other;
	mp_port_t port;
	uint32_t v[5], fds0, maps, seen;

	if (strcmp(transport(), "hybrid"))
		return;	/* bulk areas are the hybrid transport's */
	port = h_server_start(m_server, "/limits-mem", &pid);
	m_count(port, v);
	fds0 = v[0];
	seen = v[2];
	for (int k = 0; k < 2; k++) {
		CHECK_ERR(bulk_call(port, (size_t)3 << 20), -ENOBUFS);
		CHECK_OK(bulk_call(port, (size_t)1 << 20));
	}
	m_count(port, v);
	CHECK_EQ(v[2], seen + 3);	/* the two that went and this */
	maps = v[4];
	o->port = port;
	other = h_fork(m_bulk_other, o);
	CHECK_EQ(h_reap(other, 60000), 0);
	CHECK_EQ(atomic_load(&o->done), 1);
	m_settle(port, fds0, maps);	/* ours stay mapped while we are connected */
	h_server_quit(port, pid, T_QUIT);
}
