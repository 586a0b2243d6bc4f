/* mp_backend.c - msgport itself, through its public API, once per transport
 * (sock, ring, hybrid) and waiting strategy (adaptive, block):
 *
 *   server  mp_port_create_opts(.transport) + mp_port_register("/bench"),
 *           then mp_recv(); a call's input is copied into its output buffer
 *           and answered with mp_respond()
 *   client  mp_lookup("/bench"), then mp_send() (calls) or mp_send_async()
 *           (one-way)
 *
 * Each case gets its own namespace root, a temporary directory made in the
 * parent and removed after the case. The children set MSGPORT_ROOT,
 * MSGPORT_TRANSPORT and MSGPORT_WAIT before their first msgport call (the
 * library reads them once per process; the harness itself never calls it),
 * and the server's port option forces the transport on every client too.
 */
#include "pingpong.h"

#include <errno.h>
#include <limits.h>
#include <msgport.h>
#include <stdlib.h>
#include <string.h>

#define MP_BENCH_PATH "/bench"

struct mp_shared {
	char root[PATH_MAX];		/* MSGPORT_ROOT of this case */
	uint32_t transport;		/* enum mp_transport_id */
	const char *wait;		/* MSGPORT_WAIT */
};

struct mp_local {
	mp_port_t port;			/* the server's own port, or the one it called */
};

static const char *transport_name(uint32_t t)
{
	return t == MP_TRANSPORT_SOCK ? "sock" : t == MP_TRANSPORT_RING ? "ring" : "hybrid";
}

/* ---- parent ---- */

static void mp_teardown(struct pp_ctx *c)
{
	struct mp_shared *s = c->shared;

	if (!s)
		return;
	pp_tmpdir_remove(s->root);
	free(s);
	c->shared = NULL;
}

static int mp_setup(struct pp_ctx *c, uint32_t transport, const char *wait)
{
	struct mp_shared *s = calloc(1, sizeof(*s));	/* fork copies it */
	int err;

	if (!s)
		return -ENOMEM;
	s->transport = transport;
	s->wait = wait;
	if ((err = pp_tmpdir_make(s->root, sizeof(s->root), c->tag))) {
		free(s);
		return err;
	}
	c->shared = s;
	return 0;
}

/* ---- children ---- */

static int set_env(const struct mp_shared *s)
{
	if (setenv("MSGPORT_ROOT", s->root, 1) ||
	    setenv("MSGPORT_TRANSPORT", transport_name(s->transport), 1) ||
	    setenv("MSGPORT_WAIT", s->wait, 1))
		return -errno;
	return 0;
}

static int server_attach(struct pp_ctx *c, struct mp_local *l)
{
	const struct mp_shared *s = c->shared;
	mp_port_opts_t opts = { .sz = sizeof(opts), .transport = s->transport };
	int err = mp_port_create_opts(&l->port, &opts);

	if (err)
		return err;
	return mp_port_register(l->port, MP_BENCH_PATH, 0600);
}

static int client_attach(struct mp_local *l)
{
	mp_oid_t oid;
	int err = mp_lookup(MP_BENCH_PATH, &oid);

	if (err)
		return err;
	l->port = oid.port;
	return 0;
}

static int mp_attach(struct pp_ctx *c)
{
	struct mp_local *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	c->local = l;
	if ((err = set_env(c->shared)))
		return err;
	return c->role == PP_SERVER ? server_attach(c, l) : client_attach(l);
}

static void mp_detach(struct pp_ctx *c)
{
	struct mp_local *l = c->local;

	if (l && l->port && c->role == PP_SERVER)
		mp_port_destroy(l->port);
	free(l);
	c->local = NULL;
}

/* ---- messages ---- */

/* Receives one message of the kind wanted (0 a call, 1 one-way) and of the
 * case's size. */
static int recv_kind(struct pp_ctx *c, mp_msg_t *m, mp_rid_t *rid, int kind)
{
	const struct mp_local *l = c->local;
	int r = mp_recv(l->port, m, rid, MP_FOREVER);

	if (r < 0)
		return r;
	if (r != kind)
		return -EPROTO;		/* a call where a one-way message was due, or back */
	return m->i.size == c->size ? 0 : -EMSGSIZE;
}

static int mp_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	const struct mp_local *l = c->local;
	mp_msg_t m;
	mp_rid_t rid;
	int err = recv_kind(c, &m, &rid, 0);

	(void)scratch;		/* the reply is written straight into the output buffer */
	if (err)
		return err;
	if (m.o.size < m.i.size)
		return -ENOBUFS;	/* the caller's capacity is the case's size */
	memcpy(m.o.data, m.i.data, m.i.size);
	m.o.size = m.i.size;
	return mp_respond(l->port, &m, rid);
}

/* The library does not write the input: the cast only fits its API. */
static mp_msg_t make_msg(const struct pp_ctx *c, const struct pp_msg *in, struct pp_msg *out)
{
	return (mp_msg_t){
		.i = { .data = (void *)in, .size = c->size },
		.o = { .data = out, .size = out ? c->size : 0 },
	};
}

static int mp_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	const struct mp_local *l = c->local;
	mp_msg_t m = make_msg(c, req, rsp);
	int err = mp_send(l->port, &m, MP_FOREVER);

	if (err)
		return err;
	if (m.o.err || m.o.nfds)
		return -EPROTO;
	return m.o.size == c->size ? 0 : -EMSGSIZE;
}

static int mp_send_one(struct pp_ctx *c, const struct pp_msg *msg)
{
	const struct mp_local *l = c->local;
	mp_msg_t m = make_msg(c, msg, NULL);
	int r = mp_send_async(l->port, &m, MP_FOREVER);

	return r < 0 ? r : 0;	/* 0 taken at once, 1 queued */
}

static int mp_recv_one(struct pp_ctx *c, struct pp_msg *msg)
{
	mp_msg_t m;
	mp_rid_t rid;
	int err = recv_kind(c, &m, &rid, 1);

	if (err)
		return err;
	memcpy(msg, m.i.data, m.i.size);
	return 0;
}

/* ---- the cases ---- */

#define MP_OPS								\
	.attach = mp_attach,						\
	.serve_one = mp_serve_one,					\
	.roundtrip = mp_roundtrip,					\
	.send = mp_send_one,						\
	.recv = mp_recv_one,						\
	.detach = mp_detach,						\
	.teardown = mp_teardown

#define MP_ADAPTIVE_FLAGS (PP_LATENCY | PP_THROUGHPUT | PP_CROSS_OK | PP_SAME_OK | PP_SIZES | \
			   PP_MULTI | PP_SUBJECT)
/* Blocking rows are the ones the instr part counts: they never spin. */
#define MP_BLOCK_FLAGS (PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_SLOW | PP_BLOCKING | \
			PP_SUBJECT | PP_CALLGRIND)

static int sock_setup(struct pp_ctx *c) { return mp_setup(c, MP_TRANSPORT_SOCK, "adaptive"); }
static int ring_setup(struct pp_ctx *c) { return mp_setup(c, MP_TRANSPORT_RING, "adaptive"); }
static int hybrid_setup(struct pp_ctx *c) { return mp_setup(c, MP_TRANSPORT_HYBRID, "adaptive"); }
static int sock_block_setup(struct pp_ctx *c) { return mp_setup(c, MP_TRANSPORT_SOCK, "block"); }
static int ring_block_setup(struct pp_ctx *c) { return mp_setup(c, MP_TRANSPORT_RING, "block"); }
static int hybrid_block_setup(struct pp_ctx *c) { return mp_setup(c, MP_TRANSPORT_HYBRID, "block"); }

const struct pp_backend pp_backend_mp_sock = {
	.name = "msgport-sock",
	.what = "msgport, sock transport (SOCK_SEQPACKET), adaptive waiting",
	.note = { "adaptive wait", "adaptive wait" },
	.flags = MP_ADAPTIVE_FLAGS, .setup = sock_setup, MP_OPS,
};

const struct pp_backend pp_backend_mp_ring = {
	.name = "msgport-ring",
	.what = "msgport, ring transport (shared-memory SPSC rings), adaptive waiting",
	.note = { "adaptive wait", "adaptive wait" },
	.flags = MP_ADAPTIVE_FLAGS, .setup = ring_setup, MP_OPS,
};

const struct pp_backend pp_backend_mp_hybrid = {
	.name = "msgport-hybrid",
	.what = "msgport, hybrid transport (rings + bulk area; the default), adaptive waiting",
	.note = { "adaptive wait (default)", "adaptive wait (default)" },
	.flags = MP_ADAPTIVE_FLAGS, .setup = hybrid_setup, MP_OPS,
};

const struct pp_backend pp_backend_mp_sock_block = {
	.name = "msgport-sock-block",
	.what = "msgport, sock transport, MSGPORT_WAIT=block",
	.note = { "MSGPORT_WAIT=block", "MSGPORT_WAIT=block" },
	.flags = MP_BLOCK_FLAGS, .setup = sock_block_setup, MP_OPS,
};

const struct pp_backend pp_backend_mp_ring_block = {
	.name = "msgport-ring-block",
	.what = "msgport, ring transport, MSGPORT_WAIT=block",
	.note = { "MSGPORT_WAIT=block", "MSGPORT_WAIT=block" },
	.flags = MP_BLOCK_FLAGS, .setup = ring_block_setup, MP_OPS,
};

const struct pp_backend pp_backend_mp_hybrid_block = {
	.name = "msgport-hybrid-block",
	.what = "msgport, hybrid transport, MSGPORT_WAIT=block",
	.note = { "MSGPORT_WAIT=block", "MSGPORT_WAIT=block" },
	.flags = MP_BLOCK_FLAGS, .setup = hybrid_block_setup, MP_OPS,
};
