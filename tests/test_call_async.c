/* SPDX-License-Identifier: MIT */
/*
 * Started calls (mp_call_start, mp_call_fd, mp_call_finish,
 * mp_call_cancel): several in flight from one thread, answered out of
 * order; finish before the answer; timeouts; cancel; a server killed
 * mid-call; long data and descriptors both ways; descriptors not leaked.
 */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn/callpool.h"

#define T_ECHO 1u	/* answer i.data ^ 0x5a, o.err = tag; fds as below */
#define T_HOLD 2u	/* count in held, answer once go is set */
#define T_PAIR 3u	/* two calls, one per thread: the higher tag first */
#define T_QUIT 9u

#define WAIT_MS 10000

struct ac_state {
	atomic_int held;
	atomic_int go;
	atomic_int collected;	/* answers the client took (T_PAIR) */
};

static struct ac_state *st;

/* ------------------------------------------------------------ the server */

static mp_port_t srv_port;
static pthread_barrier_t srv_bar;
static uint32_t srv_tags[2];
static __thread int srv_me;
/* Calls being handled: T_QUIT destroys the port only once it is the last,
 * since the destroy frees the library's buffers of every rid (i.data). */
static atomic_int srv_busy;

static uint32_t tag_of(const mp_msg_t *m)
{
	uint32_t t;

	memcpy(&t, m->i.raw, 4);
	return t;
}

/* i.fds get 'A' + k written; the answer brings want pipes' read ends,
 * each holding 'a' + k (closed here after the respond). */
static void srv_answer(mp_msg_t *m, mp_rid_t rid)
{
	static uint8_t out[2][1u << 20];
	uint8_t *o = out[srv_me];
	int q[MP_FDS_MAX][2];
	uint32_t want;
	int r;

	memcpy(&want, m->i.raw + 4, 4);
	CHECK_LE(want, MP_FDS_MAX);
	for (uint32_t k = 0; k < m->i.nfds; k++) {
		char c = (char)('A' + k);

		CHECK_EQ(write(m->i.fds[k], &c, 1), 1);
		CHECK_OK(close(m->i.fds[k]));
	}
	CHECK_LE(m->i.size, sizeof(out[0]));
	for (size_t k = 0; k < m->i.size; k++)
		o[k] = ((const uint8_t *)m->i.data)[k] ^ 0x5a;
	for (uint32_t k = 0; k < want; k++) {
		char c = (char)('a' + k);

		CHECK_OK(pipe(q[k]));
		CHECK_EQ(write(q[k][1], &c, 1), 1);
		m->o.fds[k] = q[k][0];
	}
	m->o.nfds = want;
	if (!(m->flags & MP_OUT_INOUT)) {
		m->o.data = o;
		m->o.size = m->i.size;
	}
	m->o.err = (int32_t)tag_of(m);
	memcpy(m->o.raw, m->i.raw, MP_RAW_SIZE);
	if (m->flags & MP_OUT_INOUT) {	/* the caller's bytes, answered changed */
		for (size_t k = 0; k < m->o.size; k++)
			((uint8_t *)m->o.data)[k] ^= 0x5a;
		m->o.nfds = 0;
	}
	r = mp_respond(srv_port, m, rid);
	if (r != -EPIPE && r != -ENOENT)	/* its caller gave up (cancel, timeout) */
		CHECK_OK(r);
	for (uint32_t k = 0; k < want; k++) {
		CHECK_OK(close(q[k][0]));
		CHECK_OK(close(q[k][1]));
	}
}

static void srv_pair(mp_msg_t *m, mp_rid_t rid)
{
	uint32_t mine = tag_of(m), other;
	int seen = atomic_load(&st->collected);

	srv_tags[srv_me] = mine;
	pthread_barrier_wait(&srv_bar);
	other = srv_tags[1 - srv_me];
	pthread_barrier_wait(&srv_bar);
	CHECK_NE(mine, other);
	if (mine < other)	/* the other goes first; answer once it is taken */
		CHECK(h_wait_ge(&st->collected, seen + 1, WAIT_MS));
	srv_answer(m, rid);
}

static void *srv_loop(void *arg)
{
	srv_me = (int)(intptr_t)arg;
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(srv_port, &m, &rid, MP_FOREVER);

		if (r < 0)
			break;
		if (r != 0)
			continue;
		atomic_fetch_add(&srv_busy, 1);
		if (m.type == T_HOLD) {
			atomic_fetch_add(&st->held, 1);
			CHECK(h_wait_ge(&st->go, 1, 3 * WAIT_MS));
		}
		if (m.type == T_PAIR) {
			srv_pair(&m, rid);
			atomic_fetch_sub(&srv_busy, 1);
			continue;
		}
		srv_answer(&m, rid);
		if (m.type == T_QUIT) {
			for (int k = 0; atomic_load(&srv_busy) > 1 && k < WAIT_MS; k++)
				usleep(1000);	/* the other thread's call first */
			CHECK_OK(mp_port_destroy(srv_port));
			break;
		}
		atomic_fetch_sub(&srv_busy, 1);
	}
	return NULL;
}

/* Two threads on one port. */
static void ac_server(void *path)
{
	pthread_t th;

	CHECK_OK(mp_port_create(&srv_port));
	CHECK_OK(mp_port_register(srv_port, path, 0666));
	pthread_barrier_init(&srv_bar, NULL, 2);
	CHECK_OK(pthread_create(&th, NULL, srv_loop, (void *)(intptr_t)1));
	srv_loop((void *)(intptr_t)0);
	pthread_join(th, NULL);
}

static mp_port_t ac_start(pid_t *pid)
{
	st = h_shared(sizeof(*st));
	return h_server_start(ac_server, "/acall", pid);
}

static void ac_stop(mp_port_t port, pid_t pid)
{
	mp_msg_t m;

	atomic_store(&st->go, 1);
	h_msg_init(&m);
	m.type = T_QUIT;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(h_reap(pid, WAIT_MS), 0);
	mp_callpool_flush();	/* idle connections are kept for reuse */
}

/* ------------------------------------------------------------ the client */

struct ac_call {
	mp_msg_t m;
	mp_call_t *call;
	uint32_t tag;
	uint8_t *in, *out;
	size_t len;
	int pin[MP_FDS_MAX][2];
	unsigned nin, nout;
};

static void ac_prep(struct ac_call *c, uint32_t type, uint32_t tag, size_t len, unsigned nin,
		    unsigned nout)
{
	memset(c, 0, sizeof(*c));
	h_msg_init(&c->m);
	c->m.type = type;
	c->tag = tag;
	c->len = len;
	c->nin = nin;
	c->nout = nout;
	memcpy(c->m.i.raw, &tag, 4);
	memcpy(c->m.i.raw + 4, &nout, 4);
	c->in = malloc(len + 1);
	c->out = malloc(len + 1);
	CHECK(c->in && c->out);
	h_fill(c->in, len, tag);
	c->m.i.data = len ? c->in : NULL;
	c->m.i.size = len;
	c->m.o.data = len ? c->out : NULL;
	c->m.o.size = len;
	for (unsigned k = 0; k < nin; k++) {
		CHECK_OK(pipe(c->pin[k]));
		c->m.i.fds[k] = c->pin[k][1];
	}
	c->m.i.nfds = nin;
}

static void ac_begin(mp_port_t port, struct ac_call *c)
{
	CHECK_OK(mp_call_start(port, &c->m, &c->call));
	CHECK(c->call != NULL);
	CHECK_GE(mp_call_fd(c->call), 0);
}

/* The answer (mp_call_finish() returned 0) is the server's to c. */
static void ac_check(struct ac_call *c)
{
	CHECK_EQ(c->m.o.err, (int32_t)c->tag);
	CHECK_EQ(c->m.o.size, c->len);
	for (size_t k = 0; k < c->len; k++)
		if ((c->out[k] ^ 0x5a) != c->in[k])
			FAIL("tag %u: byte %zu of %zu differs", c->tag, k, c->len);
	CHECK_EQ(c->m.o.nfds, c->nout);
	for (unsigned k = 0; k < c->nout; k++) {
		char b = 0;

		CHECK_EQ(read(c->m.o.fds[k], &b, 1), 1);
		CHECK_EQ(b, (char)('a' + k));
		CHECK_OK(close(c->m.o.fds[k]));
	}
	for (unsigned k = 0; k < c->nin; k++) {
		char b = 0;

		CHECK_EQ(read(c->pin[k][0], &b, 1), 1);
		CHECK_EQ(b, (char)('A' + k));
	}
}

static void ac_free(struct ac_call *c)
{
	for (unsigned k = 0; k < c->nin; k++) {
		close(c->pin[k][0]);
		close(c->pin[k][1]);
	}
	free(c->in);
	free(c->out);
}

static bool ac_readable(const mp_call_t *call, int ms)
{
	struct pollfd p = { .fd = mp_call_fd(call), .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Wait on the descriptor and finish with timeout 0 until the answer is
 * there: a side frame may make it readable a moment before its marker
 * on the ring (then -EAGAIN, and it is readable again at once). */
static int ac_poll_finish(mp_call_t *call)
{
	int r;

	for (int k = 0; k < 100000; k++) {
		CHECK(ac_readable(call, WAIT_MS));
		r = mp_call_finish(call, 0);
		if (r != -EAGAIN)
			return r;
	}
	FAIL("readable, but never an answer");
}

/* ------------------------------------------------------------ the tests */

#define NPAIR 6

/* Six calls in flight from this thread, answered by a server with two
 * threads in pairs, the later-sent call of each pair first: poll() on
 * their descriptors, finish with timeout 0 whichever is readable. */
TEST(acall_out_of_order_from_one_thread)
{
	struct ac_call c[NPAIR];
	struct pollfd p[NPAIR];
	uint32_t order[NPAIR];
	bool live[NPAIR];
	int ndone = 0, spurious = 0;
	bool inverted = false;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	for (int k = 0; k < NPAIR; k++) {
		ac_prep(&c[k], T_PAIR, (uint32_t)k + 1, 100 + 3000 * (size_t)k, 0, 0);
		ac_begin(port, &c[k]);
		live[k] = true;
	}
	while (ndone < NPAIR) {
		int n = 0, idx[NPAIR];

		for (int k = 0; k < NPAIR; k++)
			if (live[k]) {
				p[n] = (struct pollfd){ .fd = mp_call_fd(c[k].call), .events = POLLIN };
				idx[n++] = k;
			}
		CHECK_GT(poll(p, (nfds_t)n, WAIT_MS), 0);
		for (int j = 0; j < n; j++) {
			struct ac_call *a = &c[idx[j]];
			int r;

			if (!(p[j].revents & POLLIN))
				continue;
			r = mp_call_finish(a->call, 0);
			if (r == -EAGAIN) {
				/* readable a moment early (a side frame before its marker) */
				CHECK_LT(++spurious, 100000);
				continue;
			}
			CHECK_OK(r);
			ac_check(a);
			live[idx[j]] = false;
			order[ndone++] = a->tag;
			atomic_fetch_add(&st->collected, 1);
		}
	}
	for (int k = 0; k + 1 < NPAIR; k++)
		inverted = inverted || order[k] > order[k + 1];
	CHECK(inverted);
	for (int k = 0; k < NPAIR; k++)
		ac_free(&c[k]);
	ac_stop(port, pid);
}

/* Finish before the answer: -EAGAIN, the call still live, its descriptor
 * not readable; readable once the server answers, then 0. */
TEST(acall_finish_before_answer_eagain_then_ok)
{
	struct ac_call c;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	ac_prep(&c, T_HOLD, 7, 5000, 1, 1);
	ac_begin(port, &c);
	CHECK(h_wait_ge(&st->held, 1, WAIT_MS));
	CHECK_ERR(mp_call_finish(c.call, 0), -EAGAIN);
	CHECK_ERR(mp_call_finish(c.call, 0), -EAGAIN);
	CHECK(!ac_readable(c.call, 100));
	CHECK_ERR(mp_call_finish(c.call, 0), -EAGAIN);
	atomic_store(&st->go, 1);
	CHECK_OK(ac_poll_finish(c.call));
	ac_check(&c);
	ac_free(&c);
	ac_stop(port, pid);
}

/* No answer in time: -ETIMEDOUT, the call freed; calls go on. */
TEST(acall_timeout)
{
	struct ac_call c, d;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	ac_prep(&c, T_HOLD, 3, 100, 0, 0);
	ac_begin(port, &c);
	CHECK(h_wait_ge(&st->held, 1, WAIT_MS));
	CHECK_ERR(mp_call_finish(c.call, 50000000), -ETIMEDOUT);
	ac_prep(&d, T_ECHO, 4, 100, 0, 0);
	CHECK_OK(mp_send(port, &d.m, MP_FOREVER));
	ac_check(&d);
	ac_free(&d);
	/* and a started one, waited for without limit */
	ac_prep(&d, T_ECHO, 5, 200, 0, 1);
	ac_begin(port, &d);
	CHECK_OK(mp_call_finish(d.call, MP_FOREVER));
	ac_check(&d);
	ac_free(&d);
	ac_free(&c);
	ac_stop(port, pid);
}

/* Cancel a call held by the server, and one whose answer (with
 * descriptors) may have come: then mp_send() still works. */
TEST(acall_cancel_then_send)
{
	struct ac_call c, d, e;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	ac_prep(&c, T_HOLD, 1, 100, 0, 0);
	ac_begin(port, &c);
	CHECK(h_wait_ge(&st->held, 1, WAIT_MS));
	mp_call_cancel(c.call);
	mp_call_cancel(NULL);
	ac_prep(&d, T_ECHO, 2, 70000, 2, 0);
	ac_begin(port, &d);
	CHECK(ac_readable(d.call, WAIT_MS));
	mp_call_cancel(d.call);	/* its answer's fds are closed (fd count) */
	ac_prep(&e, T_ECHO, 3, 3000, 1, 2);
	CHECK_OK(mp_send(port, &e.m, MP_FOREVER));
	ac_check(&e);
	ac_free(&e);
	ac_free(&d);
	ac_free(&c);
	ac_stop(port, pid);
}

/* The server dies with the call held: the descriptor turns readable and
 * the finish says -EPIPE. */
TEST(acall_server_killed_mid_call)
{
	struct ac_call c;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	ac_prep(&c, T_HOLD, 1, 100, 0, 0);
	ac_begin(port, &c);
	CHECK(h_wait_ge(&st->held, 1, WAIT_MS));
	CHECK_ERR(mp_call_finish(c.call, 0), -EAGAIN);
	h_kill(pid);
	CHECK_ERR(ac_poll_finish(c.call), -EPIPE);
	ac_free(&c);
	(void)port;
	mp_callpool_flush();
}

/* Long data and descriptors both ways, several calls in flight at once,
 * finished in reverse order without limit. */
TEST(acall_long_data_and_fds)
{
	static const size_t len[] = { 0, 100, 5000, 70000, 300000, 1u << 20 };
	enum { N = sizeof(len) / sizeof(len[0]) };
	struct ac_call c[N];
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < N; k++) {
			ac_prep(&c[k], T_ECHO, 10 + (uint32_t)k, len[k], (unsigned)(k + round) % 4,
				(unsigned)(k + 2 * round) % 5);
			ac_begin(port, &c[k]);
		}
		for (int k = N - 1; k >= 0; k--) {
			CHECK_OK(mp_call_finish(c[k].call, MP_FOREVER));
			ac_check(&c[k]);
			ac_free(&c[k]);
		}
	}
	ac_stop(port, pid);
}

/* A round of three calls in flight, a cancelled one and a timed-out one
 * leaves the descriptor count where it was: connections are reused, or
 * closed when dropped. */
static void fd_round(mp_port_t port)
{
	struct ac_call c[3], x;

	for (int k = 0; k < 3; k++) {
		ac_prep(&c[k], T_ECHO, 20 + (uint32_t)k, 4000, 1, 1);
		ac_begin(port, &c[k]);
	}
	for (int k = 0; k < 3; k++) {
		CHECK_OK(mp_call_finish(c[k].call, MP_FOREVER));
		ac_check(&c[k]);
		ac_free(&c[k]);
	}
	ac_prep(&x, T_ECHO, 30, 100, 0, 2);
	ac_begin(port, &x);
	mp_call_cancel(x.call);
	ac_free(&x);
}

TEST(acall_no_fd_leak)
{
	pid_t pid;
	mp_port_t port = ac_start(&pid);
	int before;

	fd_round(port);
	fd_round(port);
	before = h_count_fds();
	for (int k = 0; k < 20; k++)
		fd_round(port);
	CHECK_EQ(h_count_fds(), before);
	mp_callpool_flush();
	CHECK_LT(h_count_fds(), before);	/* the idle ones were the pool's */
	ac_stop(port, pid);
}

TEST(acall_bad_input)
{
	struct ac_call c;
	mp_call_t *call = (mp_call_t *)&c;
	void *pg;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	ac_prep(&c, T_ECHO, 1, 100, 0, 0);
	CHECK_ERR(mp_call_start(port, NULL, &call), -EINVAL);
	CHECK_ERR(mp_call_start(port, &c.m, NULL), -EINVAL);
	CHECK_ERR(mp_call_start(0, &c.m, &call), -EINVAL);
	CHECK(call == NULL);
	c.m.flags = 0x80;
	CHECK_ERR(mp_call_start(port, &c.m, &call), -EINVAL);
	c.m.flags = MP_MOVE | MP_SHARE;
	CHECK_ERR(mp_call_start(port, &c.m, &call), -EINVAL);
	c.m.flags = 0;
	c.m.i.nfds = MP_FDS_MAX + 1;
	CHECK_ERR(mp_call_start(port, &c.m, &call), -EINVAL);
	c.m.i.nfds = 0;
	c.m.i.size = MP_DATA_MAX + 1;
	CHECK_ERR(mp_call_start(port, &c.m, &call), -EMSGSIZE);
	c.m.i.size = 100;
	CHECK_ERR(mp_call_start(port + 1000, &c.m, &call), -ENOENT);
	CHECK_ERR(mp_call_fd(NULL), -EINVAL);
	CHECK_ERR(mp_call_finish(NULL, 0), -EINVAL);
	/* pages are not offered */
	pg = mp_pages_alloc(1u << 16);
	CHECK(pg != NULL);
	c.m.i.data = pg;
	c.m.i.size = 1u << 16;
	c.m.flags = MP_SHARE;
	CHECK_ERR(mp_call_start(port, &c.m, &call), -EOPNOTSUPP);
	c.m.flags = MP_MOVE;
	CHECK_ERR(mp_call_start(port, &c.m, &call), -EOPNOTSUPP);
	CHECK_OK(mp_pages_free(pg, 1u << 16));
	/* a bad timeout leaves the call live */
	c.m.flags = 0;
	c.m.i.data = c.in;
	c.m.i.size = 100;
	ac_begin(port, &c);
	CHECK_ERR(mp_call_finish(c.call, -5), -EINVAL);
	CHECK_OK(mp_call_finish(c.call, MP_FOREVER));
	ac_check(&c);
	ac_free(&c);
	ac_stop(port, pid);
}

/* MP_OUT_INOUT: the output buffer's bytes go with the input. */
TEST(acall_inout)
{
	struct ac_call c;
	pid_t pid;
	mp_port_t port = ac_start(&pid);

	ac_prep(&c, T_ECHO, 6, 64, 0, 0);
	c.m.flags = MP_OUT_INOUT;
	c.m.i.size = 0;
	c.m.i.data = NULL;
	memset(c.out, 0x11, 64);
	ac_begin(port, &c);
	CHECK_OK(mp_call_finish(c.call, MP_FOREVER));
	CHECK_EQ(c.m.o.size, 64);
	for (int k = 0; k < 64; k++)
		CHECK_EQ(c.out[k], 0x11 ^ 0x5a);
	ac_free(&c);
	ac_stop(port, pid);
}
