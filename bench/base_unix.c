/* base_unix.c - ping-pong and one-way throughput over a Unix socketpair,
 * SOCK_STREAM (a byte stream, like a pipe in both directions) and
 * SOCK_SEQPACKET (one record per message: what msgport's sock transport
 * uses, since it carries SCM_RIGHTS along with each message). Both move
 * c->size bytes per message; only seqpacket is in the size sweep. */
#include "pingpong.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct unix_shared {
	int type;
	int sv[2];	/* [0] the client's end, [1] the server's */
};

static int unix_fd(const struct pp_ctx *c)
{
	const struct unix_shared *u = c->shared;

	return u->sv[c->role == PP_CLIENT ? 0 : 1];
}

static void unix_teardown(struct pp_ctx *c)
{
	struct unix_shared *u = c->shared;

	if (!u)
		return;
	pp_close(&u->sv[0]);
	pp_close(&u->sv[1]);
	free(u);
	c->shared = NULL;
}

static int unix_setup(struct pp_ctx *c, int type)
{
	struct unix_shared *u = malloc(sizeof(*u));	/* fork copies it */

	if (!u)
		return -ENOMEM;
	*u = (struct unix_shared){ type, { -1, -1 } };
	c->shared = u;
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, u->sv)) {
		int err = -errno;

		unix_teardown(c);
		return err;
	}
	return 0;
}

static int stream_setup(struct pp_ctx *c)
{
	return unix_setup(c, SOCK_STREAM);
}

/* A record must fit the send buffer whole: the default (wmem_default,
 * 208 KiB) holds the sweep's largest, 64 KiB. */
static int seqpacket_setup(struct pp_ctx *c)
{
	return unix_setup(c, SOCK_SEQPACKET);
}

/* Keep only our own end, so the peer's death reads as end of file. */
static int unix_attach(struct pp_ctx *c)
{
	struct unix_shared *u = c->shared;

	pp_close(&u->sv[c->role == PP_CLIENT ? 1 : 0]);
	return 0;
}

/* MSG_NOSIGNAL: a dead peer is an EPIPE to report, not a SIGPIPE. */
static int unix_send(struct pp_ctx *c, const struct pp_msg *m)
{
	const char *p = (const char *)m;
	size_t left = c->size;

	while (left > 0) {	/* loops only on a stream: a record goes whole */
		ssize_t n = send(unix_fd(c), p, left, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

static int unix_recv(struct pp_ctx *c, struct pp_msg *m)
{
	const struct unix_shared *u = c->shared;
	ssize_t n;

	if (u->type == SOCK_STREAM)
		return pp_read_full(unix_fd(c), m, c->size);
	do	/* MSG_TRUNC: report a record's real length, so a wrong size shows */
		n = recv(unix_fd(c), m, c->size, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	return n == (ssize_t)c->size ? 0 : -EMSGSIZE;
}

static int unix_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	int err = unix_send(c, req);

	return err ? err : unix_recv(c, rsp);
}

static int unix_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	int err = unix_recv(c, scratch);

	return err ? err : unix_send(c, scratch);
}

const struct pp_backend pp_backend_unix_stream = {
	.name = "unix-stream",
	.what = "AF_UNIX SOCK_STREAM socketpair, blocking send/recv of 64 bytes",
	.note = { "blocking", "blocking" },
	.flags = PP_LATENCY | PP_THROUGHPUT | PP_CROSS_OK | PP_SAME_OK | PP_PEER,
	.setup = stream_setup,
	.attach = unix_attach,
	.serve_one = unix_serve_one,
	.roundtrip = unix_roundtrip,
	.send = unix_send,
	.recv = unix_recv,
	.teardown = unix_teardown,
};

const struct pp_backend pp_backend_unix_seqpacket = {
	.name = "unix-seqpacket",
	.what = "AF_UNIX SOCK_SEQPACKET socketpair, one record per message (64 B .. 64 KiB)",
	.note = { "blocking", "blocking" },
	.flags = PP_LATENCY | PP_THROUGHPUT | PP_CROSS_OK | PP_SAME_OK | PP_SIZES | PP_PEER,
	.setup = seqpacket_setup,
	.attach = unix_attach,
	.serve_one = unix_serve_one,
	.roundtrip = unix_roundtrip,
	.send = unix_send,
	.recv = unix_recv,
	.teardown = unix_teardown,
};
