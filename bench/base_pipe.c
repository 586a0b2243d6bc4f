/* base_pipe.c - ping-pong over two pipes (one per direction), and one-way
 * throughput over the request pipe: one write and read of c->size bytes
 * (64 B .. 64 KiB) per message. */
#include "pingpong.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

struct pipe_shared {
	int req[2];	/* client -> server */
	int rsp[2];	/* server -> client */
};

static void pipe_teardown(struct pp_ctx *c)
{
	struct pipe_shared *p = c->shared;

	if (!p)
		return;
	for (int i = 0; i < 2; i++) {
		pp_close(&p->req[i]);
		pp_close(&p->rsp[i]);
	}
	free(p);
	c->shared = NULL;
}

static int pipe_setup(struct pp_ctx *c)
{
	struct pipe_shared *p = malloc(sizeof(*p));	/* fork copies it: no need to share */

	if (!p)
		return -ENOMEM;
	*p = (struct pipe_shared){ { -1, -1 }, { -1, -1 } };
	c->shared = p;
	if (pipe2(p->req, O_CLOEXEC) || pipe2(p->rsp, O_CLOEXEC)) {
		int err = -errno;

		pipe_teardown(c);
		return err;
	}
	return 0;
}

/* Each side closes the ends it does not use, so that the death of its
 * peer shows up as end of file or EPIPE instead of a hang. */
static int pipe_attach(struct pp_ctx *c)
{
	struct pipe_shared *p = c->shared;

	if (c->role == PP_CLIENT) {
		pp_close(&p->req[0]);
		pp_close(&p->rsp[1]);
	} else {
		pp_close(&p->req[1]);
		pp_close(&p->rsp[0]);
	}
	return 0;
}

static int pipe_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	struct pipe_shared *p = c->shared;
	int err = pp_write_full(p->req[1], req, c->size);

	return err ? err : pp_read_full(p->rsp[0], rsp, c->size);
}

static int pipe_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	struct pipe_shared *p = c->shared;
	int err = pp_read_full(p->req[0], scratch, c->size);

	return err ? err : pp_write_full(p->rsp[1], scratch, c->size);
}

static int pipe_send(struct pp_ctx *c, const struct pp_msg *m)
{
	return pp_write_full(((struct pipe_shared *)c->shared)->req[1], m, c->size);
}

static int pipe_recv(struct pp_ctx *c, struct pp_msg *m)
{
	return pp_read_full(((struct pipe_shared *)c->shared)->req[0], m, c->size);
}

const struct pp_backend pp_backend_pipe = {
	.name = "pipe",
	.what = "two pipes, blocking read/write (64 B .. 64 KiB)",
	.note = { "blocking", "blocking" },
	.flags = PP_LATENCY | PP_THROUGHPUT | PP_CROSS_OK | PP_SAME_OK | PP_SIZES | PP_PEER,
	.setup = pipe_setup,
	.attach = pipe_attach,
	.serve_one = pipe_serve_one,
	.roundtrip = pipe_roundtrip,
	.send = pipe_send,
	.recv = pipe_recv,
	.teardown = pipe_teardown,
};
