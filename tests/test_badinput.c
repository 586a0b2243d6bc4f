/* SPDX-License-Identifier: MIT */
/* Bad input: every public call with NULL pointers, port 0, unknown ports,
 * bad flags, reserved fields, too many or bad descriptors, bad timeouts,
 * sizes without data: the exact negative errno of the header, and nothing
 * changed or sent. */
#include "harness.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define UNKNOWN_PORT 4000u
/* The timeout of the validation checks: a call that is not rejected
 * blocks (no receiver) and fails with -ETIMEDOUT instead of hanging. */
#define BI_T 1000000000

static const int64_t bad_timeouts[] = { -2, -1000000000, INT64_MIN };

/* Nothing reached the port. */
static void bi_nothing_queued(mp_port_t port)
{
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
}

TEST(badinput_port_calls)
{
	mp_port_t port;

	CHECK_ERR(mp_port_create(NULL), -EINVAL);
	CHECK_ERR(mp_port_destroy(0), -EINVAL);
	CHECK_ERR(mp_port_destroy(UNKNOWN_PORT), -ENOENT);
	CHECK_ERR(mp_port_destroy(UINT32_MAX), -ENOENT);
	CHECK_ERR(mp_port_fd(0), -EINVAL);
	CHECK_ERR(mp_port_fd(UNKNOWN_PORT), -ENOENT);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_port_destroy(port), -ENOENT);
}

TEST(badinput_port_options)
{
	mp_port_opts_t o = { .sz = sizeof(o) };
	mp_port_t port;

	CHECK_ERR(mp_port_create_opts(NULL, &o), -EINVAL);
	o.sz = sizeof(o) - 1;
	CHECK_ERR(mp_port_create_opts(&port, &o), -EINVAL);
	o.sz = sizeof(o);
	o.transport = MP_TRANSPORT_HYBRID + 1;
	CHECK_ERR(mp_port_create_opts(&port, &o), -EINVAL);
	o.transport = 0;
	o.flags = MP_PORT_DEADLINES << 1;	/* the first unknown bit */
	CHECK_ERR(mp_port_create_opts(&port, &o), -EINVAL);
	o.flags = 0x80000000u;
	CHECK_ERR(mp_port_create_opts(&port, &o), -EINVAL);
	o.flags = MP_PORT_INPUT_IN_PLACE;
	CHECK_OK(mp_port_create_opts(&port, &o));
	CHECK_OK(mp_port_destroy(port));
	o.flags = MP_PORT_INPUT_IN_PLACE | MP_PORT_DISCONNECT_PULSES;
	CHECK_OK(mp_port_create_opts(&port, &o));
	CHECK_OK(mp_port_destroy(port));
	CHECK_OK(mp_port_create_opts(&port, NULL));	/* the defaults */
	CHECK_OK(mp_port_destroy(port));
}

static int bi_list_cb(const mp_ns_entry_t *e, void *arg)
{
	(void)e;
	(void)arg;
	return 0;
}

TEST(badinput_namespace_calls)
{
	mp_port_t port;
	mp_oid_t oid = { 0 };

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_port_register(0, "/x", 0666), -EINVAL);
	CHECK_ERR(mp_port_register(port, NULL, 0666), -EINVAL);
	CHECK_ERR(mp_port_register(port, "x", 0666), -EINVAL);
	CHECK_ERR(mp_port_register(port, "/x", 01777), -EINVAL);
	CHECK_ERR(mp_port_register(UNKNOWN_PORT, "/x", 0666), -ENOENT);

	CHECK_ERR(mp_oid_register(NULL, "/x", 0666), -EINVAL);
	oid.port = port;
	oid.reserved = 1;
	CHECK_ERR(mp_oid_register(&oid, "/x", 0666), -EINVAL);
	oid.reserved = 0;
	CHECK_ERR(mp_oid_register(&oid, NULL, 0666), -EINVAL);
	CHECK_ERR(mp_oid_register(&oid, "/x/../y", 0666), -EINVAL);
	CHECK_ERR(mp_oid_register(&oid, "/x", 02000), -EINVAL);
	oid.port = 0;
	CHECK_ERR(mp_oid_register(&oid, "/x", 0666), -EINVAL);
	oid.port = UNKNOWN_PORT;
	CHECK_ERR(mp_oid_register(&oid, "/x", 0666), -ENOENT);

	CHECK_ERR(mp_port_unregister(NULL), -EINVAL);
	CHECK_ERR(mp_port_unregister(""), -EINVAL);
	CHECK_ERR(mp_port_unregister("/x"), -ENOENT);
	CHECK_ERR(mp_lookup(NULL, &oid), -EINVAL);
	CHECK_ERR(mp_lookup("/x", NULL), -EINVAL);
	CHECK_ERR(mp_lookup("", &oid), -EINVAL);
	CHECK_ERR(mp_lookup("/x", &oid), -ENOENT);
	CHECK_ERR(mp_ns_list("/", NULL, NULL), -EINVAL);
	CHECK_ERR(mp_ns_list("", bi_list_cb, NULL), -EINVAL);
	CHECK_ERR(mp_ns_list("nope", bi_list_cb, NULL), -EINVAL);
	CHECK_ERR(mp_ns_list("/nope", bi_list_cb, NULL), -ENOENT);

	/* none of it registered anything */
	CHECK_ERR(mp_lookup("/x", &oid), -ENOENT);
	CHECK_OK(mp_port_register(port, "/x", 0666));
	CHECK_OK(mp_port_destroy(port));
}

/* Every send-side error, for mp_send and mp_send_async, on a live port of
 * this process (so only the bad field can be the cause). */
typedef int (*bi_send_fn)(mp_port_t, mp_msg_t *, int64_t);

static void bi_send_errors(bi_send_fn send, const char *name, bool is_call)
{
	mp_port_t port;
	mp_msg_t m;
	char buf[16] = "data";
	int p[2];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(pipe(p));

#define EXPECT(call, err)						\
	do {								\
		int r_ = (call);					\
		if (r_ != (err))					\
			FAIL("%s: %s returned %s, expected %s", name,	\
			     #call, h_errname(r_), h_errname(err));	\
		bi_nothing_queued(port);				\
	} while (0)

	EXPECT(send(port, NULL, MP_FOREVER), -EINVAL);
	EXPECT(send(port, NULL, 0), -EINVAL);

	h_msg_init(&m);
	EXPECT(send(0, &m, BI_T), -EINVAL);

	h_msg_init(&m);
	m.flags = MP_MOVE | MP_SHARE;	/* both: contradictory */
	EXPECT(send(port, &m, BI_T), -EINVAL);
	m.flags = 0x8;			/* an unknown bit (0x4 is MP_OUT_INOUT) */
	EXPECT(send(port, &m, BI_T), -EINVAL);
	m.flags = 0x80000000u;
	EXPECT(send(port, &m, BI_T), -EINVAL);

	h_msg_init(&m);
	m.oid.reserved = 1;
	EXPECT(send(port, &m, BI_T), -EINVAL);

	h_msg_init(&m);
	m.priority = MP_PRIO_MAX + 1;	/* Phoenix's scale ends at 7 */
	EXPECT(send(port, &m, BI_T), -EINVAL);

	h_msg_init(&m);
	m.i.size = 4;		/* size without data */
	EXPECT(send(port, &m, BI_T), -EINVAL);

	if (is_call) {
		h_msg_init(&m);
		m.o.size = 4;	/* capacity without a buffer */
		EXPECT(send(port, &m, BI_T), -EINVAL);
	}

	h_msg_init(&m);
	m.i.nfds = MP_FDS_MAX + 1;
	for (int k = 0; k < MP_FDS_MAX; k++)
		m.i.fds[k] = p[0];
	EXPECT(send(port, &m, BI_T), -EINVAL);

	if (is_call) {
		h_msg_init(&m);
		m.o.nfds = MP_FDS_MAX + 1;
		EXPECT(send(port, &m, BI_T), -EINVAL);
	}

	h_msg_init(&m);
	m.i.nfds = 2;
	m.i.fds[0] = p[0];
	m.i.fds[1] = -1;
	EXPECT(send(port, &m, BI_T), -EINVAL);
	m.i.fds[1] = h_closed_fd();
	EXPECT(send(port, &m, BI_T), -EBADF);

	for (size_t k = 0; k < sizeof(bad_timeouts) / sizeof(bad_timeouts[0]);
	     k++) {
		h_msg_init(&m);
		EXPECT(send(port, &m, bad_timeouts[k]), -EINVAL);
	}

	h_msg_init(&m);
	m.i.data = buf;
	m.i.size = MP_DATA_MAX + 1;
	EXPECT(send(port, &m, BI_T), -EMSGSIZE);
	if (is_call) {
		h_msg_init(&m);
		m.o.data = buf;
		m.o.size = MP_DATA_MAX + 1;
		EXPECT(send(port, &m, BI_T), -EMSGSIZE);
	}

	h_msg_init(&m);
	EXPECT(send(UNKNOWN_PORT, &m, BI_T), -ENOENT);
	EXPECT(send(UNKNOWN_PORT, &m, 0), -ENOENT);

	/* timeout 0 and no receiver waiting: a call is not sent */
	if (is_call) {
		h_msg_init(&m);
		EXPECT(send(port, &m, 0), -EAGAIN);
	}

	/* the caller's descriptors are untouched by all this */
	CHECK(h_fd_is_open(p[0]));
	CHECK(h_fd_is_open(p[1]));
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	CHECK_OK(mp_port_destroy(port));
#undef EXPECT
}

TEST(badinput_send)
{
	bi_send_errors(mp_send, "mp_send", true);
}

TEST(badinput_send_async)
{
	bi_send_errors(mp_send_async, "mp_send_async", false);
}

TEST(badinput_recv)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_recv(port, NULL, &rid, 0), -EINVAL);
	CHECK_ERR(mp_recv(port, &m, NULL, 0), -EINVAL);
	CHECK_ERR(mp_recv(port, NULL, NULL, MP_FOREVER), -EINVAL);
	CHECK_ERR(mp_recv(0, &m, &rid, 0), -EINVAL);
	for (size_t k = 0; k < sizeof(bad_timeouts) / sizeof(bad_timeouts[0]);
	     k++)
		CHECK_ERR(mp_recv(port, &m, &rid, bad_timeouts[k]), -EINVAL);
	CHECK_ERR(mp_recv(UNKNOWN_PORT, &m, &rid, 0), -ENOENT);
	CHECK_ERR(mp_recv(UNKNOWN_PORT, &m, &rid, MP_FOREVER), -ENOENT);
	/* a queued message survives the bad calls */
	h_msg_init(&m);
	m.type = 9;
	CHECK_ERR(mp_send_async(port, &m, 0), 1);
	CHECK_ERR(mp_recv(port, NULL, &rid, 0), -EINVAL);
	CHECK_ERR(mp_recv(port, &m, NULL, 0), -EINVAL);
	CHECK_ERR(mp_recv(port, &m, &rid, -2), -EINVAL);
	h_msg_init(&m);
	CHECK_ERR(mp_recv(port, &m, &rid, 0), 1);
	CHECK_EQ(m.type, 9);
	CHECK_OK(mp_port_destroy(port));
}

/* Bad responds change nothing: the rid is still good afterwards. */
static void *bi_caller(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	mp_msg_t m;
	char out[8];

	h_msg_init(&m);
	m.o.data = out;
	m.o.size = sizeof(out);
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, 55);
	CHECK_EQ(m.o.size, 3);
	CHECK_MEM(out, "abc", 3);
	return NULL;
}

TEST(badinput_respond)
{
	mp_port_t port;
	pthread_t th;
	mp_msg_t m;
	mp_rid_t rid;
	int p[2];

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(pthread_create(&th, NULL, bi_caller, &port));
	CHECK_ERR(mp_recv(port, &m, &rid, 10000000000), 0);
	CHECK_OK(pipe(p));

	CHECK_ERR(mp_respond(port, NULL, rid), -EINVAL);
	CHECK_ERR(mp_respond(0, &m, rid), -EINVAL);
	m.o.nfds = MP_FDS_MAX + 1;
	CHECK_ERR(mp_respond(port, &m, rid), -EINVAL);
	m.o.nfds = 0;
	m.o.data = NULL;
	m.o.size = 3;		/* size without data */
	CHECK_ERR(mp_respond(port, &m, rid), -EINVAL);
	m.o.data = "abcdefghijk";
	m.o.size = 9;		/* over the capacity of 8 */
	CHECK_ERR(mp_respond(port, &m, rid), -EMSGSIZE);
	m.o.size = MP_DATA_MAX + 1;
	CHECK_ERR(mp_respond(port, &m, rid), -EMSGSIZE);
	m.o.size = 3;
	m.o.nfds = 1;
	m.o.fds[0] = h_closed_fd();
	CHECK_ERR(mp_respond(port, &m, rid), -EBADF);
	m.o.nfds = 0;
	CHECK_ERR(mp_respond(UNKNOWN_PORT, &m, rid), -ENOENT);
	CHECK_ERR(mp_respond(port, &m, rid + 12345), -ENOENT);
	CHECK_ERR(mp_respond(port, &m, 0), -ENOENT);

	m.o.err = 55;
	CHECK_OK(mp_respond(port, &m, rid));
	pthread_join(th, NULL);
	CHECK_ERR(mp_respond(port, &m, rid), -ENOENT);
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
	CHECK_OK(mp_port_destroy(port));
}

/* A port of another process is "no such port" for the owner-only calls. */
struct bi_foreign {
	atomic_int port;
	atomic_int quit;
};

static void bi_foreign_owner(void *arg)
{
	struct bi_foreign *f = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	atomic_store(&f->port, (int)port);
	CHECK(h_wait_ge(&f->quit, 1, 10000));
	CHECK_OK(mp_port_destroy(port));
}

TEST(badinput_foreign_port)
{
	struct bi_foreign *f = h_shared(sizeof(*f));
	pid_t pid = h_fork(bi_foreign_owner, f);
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK(h_wait_ge(&f->port, 1, 10000));
	port = (mp_port_t)atomic_load(&f->port);
	CHECK_ERR(mp_port_destroy(port), -ENOENT);
	CHECK_ERR(mp_port_fd(port), -ENOENT);
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -ENOENT);
	CHECK_ERR(mp_port_register(port, "/theirs", 0666), -ENOENT);
	h_msg_init(&m);
	CHECK_ERR(mp_respond(port, &m, 1), -ENOENT);
	atomic_store(&f->quit, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

TEST(badinput_strerror)
{
	static const int codes[] = { 0, -EPERM, -ENOENT, -EINVAL, -EPIPE,
				     -EMSGSIZE, -ETIMEDOUT, -EAGAIN, -EPROTO,
				     -EBADF, -EACCES, -EEXIST, -ENOSPC, 1,
				     -99999, INT_MIN, INT_MAX };

	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		const char *s = mp_strerror(codes[k]);

		if (!s)
			FAIL("mp_strerror(%d) is NULL", codes[k]);
		CHECK_GT(strlen(s), 0);
	}
}
