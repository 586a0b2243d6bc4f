/* base_futex.c - raw blocking hand-offs through a shared mailbox:
 *
 *  futex  the waiter sleeps in FUTEX_WAIT at once and the poster always
 *         calls FUTEX_WAKE: the cost of a kernel sleep and wake-up, with
 *         no spinning to hide it (the "blocking" baseline);
 *  yield  the waiter calls sched_yield until the word changes: on one CPU
 *         that hands the CPU straight to the peer (the same-core baseline).
 *
 * One mailbox per direction: a 32-bit sequence word (the futex word) and
 * the 64-byte message on the next line. The poster writes the message,
 * then publishes the word with a release store; the waiter reads the word
 * with an acquire load before it reads the message.
 */
#include "pingpong.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct mailbox {
	_Alignas(PP_CACHELINE) _Atomic uint32_t seq;
	_Alignas(PP_CACHELINE) struct pp_msg msg;
};

struct mbox_shared {
	struct mailbox req;	/* written by the client */
	struct mailbox rsp;	/* written by the server */
};

/* Shared between processes, so no FUTEX_PRIVATE_FLAG. */
static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static int mbox_setup(struct pp_ctx *c)
{
	c->shared = pp_shm_alloc(sizeof(struct mbox_shared));
	return c->shared ? 0 : -ENOMEM;
}

static void mbox_teardown(struct pp_ctx *c)
{
	pp_shm_free(c->shared, sizeof(struct mbox_shared));
}

static void post(struct mailbox *b, const struct pp_msg *m)
{
	b->msg = *m;
	pp_store_release32(&b->seq, (uint32_t)m->seq);	/* pairs with acquire in the waits */
}

static void take(struct mailbox *b, struct pp_msg *m)
{
	*m = b->msg;
}

static int futex_wait_for(struct mailbox *b, uint32_t want)
{
	uint32_t v;

	while ((v = pp_load_acquire32(&b->seq)) != want)	/* pairs with release in post */
		if (futex(&b->seq, FUTEX_WAIT, v) < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
	return 0;
}

/* The server does not know the next number: it waits for any change. */
static int futex_wait_change(struct mailbox *b, uint32_t old)
{
	while (pp_load_acquire32(&b->seq) == old)	/* pairs with release in post */
		if (futex(&b->seq, FUTEX_WAIT, old) < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
	return 0;
}

static int futex_post(struct mailbox *b, const struct pp_msg *m)
{
	post(b, m);
	return futex(&b->seq, FUTEX_WAKE, 1) < 0 ? -errno : 0;
}

static int futex_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	struct mbox_shared *s = c->shared;
	int err = futex_post(&s->req, req);

	if (!err)
		err = futex_wait_for(&s->rsp, (uint32_t)req->seq);
	if (!err)
		take(&s->rsp, rsp);
	return err;
}

static int futex_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	struct mbox_shared *s = c->shared;
	int err = futex_wait_change(&s->req, pp_load_acquire32(&s->rsp.seq));

	if (err)
		return err;
	take(&s->req, scratch);
	return futex_post(&s->rsp, scratch);
}

static void yield_until(struct mailbox *b, uint32_t want)
{
	while (pp_load_acquire32(&b->seq) != want)	/* pairs with release in post */
		sched_yield();
}

static int yield_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	struct mbox_shared *s = c->shared;

	post(&s->req, req);
	yield_until(&s->rsp, (uint32_t)req->seq);
	take(&s->rsp, rsp);
	return 0;
}

static int yield_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	struct mbox_shared *s = c->shared;
	uint32_t old = pp_load_acquire32(&s->rsp.seq);	/* the last request served */

	while (pp_load_acquire32(&s->req.seq) == old)	/* pairs with release in post */
		sched_yield();
	take(&s->req, scratch);
	post(&s->rsp, scratch);
	return 0;
}

const struct pp_backend pp_backend_futex = {
	.name = "futex",
	.what = "raw futex ping-pong: FUTEX_WAIT at once, FUTEX_WAKE always",
	.note = { "sleep + wake every hop", "sleep + wake every hop" },
	.flags = PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_BASE_FUTEX,
	.setup = mbox_setup,
	.serve_one = futex_serve_one,
	.roundtrip = futex_roundtrip,
	.teardown = mbox_teardown,
};

const struct pp_backend pp_backend_yield = {
	.name = "yield",
	.what = "raw sched_yield hand-off between two processes on one CPU",
	.note = { NULL, "sched_yield until the word changes" },
	.flags = PP_LATENCY | PP_SAME_OK | PP_BASE_YIELD,
	.setup = mbox_setup,
	.serve_one = yield_serve_one,
	.roundtrip = yield_roundtrip,
	.teardown = mbox_teardown,
};
