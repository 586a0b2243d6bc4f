/* base_spin.c - raw shared-memory spin ping-pong: the hardware limit.
 *
 * One cache line per direction holds the whole 64-byte message. Its first
 * word is the message's sequence number and doubles as the "full" flag:
 * the writer fills bytes 8..63, then publishes word 0 with a release
 * store; the reader spins on word 0 with acquire loads. A round trip
 * therefore moves exactly two cache lines between the cores, and makes
 * no system call.
 *
 *   client                          server
 *   req.body = ...
 *   store_release(req.seq, n) ---> spin until load_acquire(req.seq) != last
 *                                   rsp.body = req.body
 *   spin until                <--- store_release(rsp.seq, n)
 *   load_acquire(rsp.seq) == n
 */
#include "pingpong.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct spin_line {
	_Alignas(PP_CACHELINE) _Atomic uint64_t seq;
	unsigned char body[PP_MSG_SIZE - sizeof(uint64_t)];
};
_Static_assert(sizeof(struct spin_line) == PP_CACHELINE, "one line per message");

struct spin_shared {
	struct spin_line req;	/* written by the client */
	struct spin_line rsp;	/* written by the server */
};

static int spin_setup(struct pp_ctx *c)
{
	c->shared = pp_shm_alloc(sizeof(struct spin_shared));
	return c->shared ? 0 : -ENOMEM;
}

static void spin_teardown(struct pp_ctx *c)
{
	pp_shm_free(c->shared, sizeof(struct spin_shared));
}

static int spin_attach(struct pp_ctx *c)
{
	c->local = calloc(1, sizeof(uint64_t));	/* server: last sequence served */
	return c->local ? 0 : -ENOMEM;
}

static void spin_detach(struct pp_ctx *c)
{
	free(c->local);
}

/* Pure spinning, even when the peer shares the CPU: this is the baseline,
 * not a policy (same-core it only ends when the scheduler preempts us). */
static uint64_t spin_until_changed(_Atomic uint64_t *word, uint64_t old)
{
	uint64_t v;

	while ((v = pp_load_acquire64(word)) == old)
		pp_cpu_relax();
	return v;
}

static int spin_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	struct spin_shared *s = c->shared;

	memcpy(s->req.body, req->body, sizeof(s->req.body));
	pp_store_release64(&s->req.seq, req->seq);	/* pairs with acquire in spin_serve_one */
	while (pp_load_acquire64(&s->rsp.seq) != req->seq)	/* pairs with release below */
		pp_cpu_relax();
	memcpy(rsp->body, s->rsp.body, sizeof(rsp->body));
	rsp->seq = req->seq;
	return 0;
}

static int spin_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	struct spin_shared *s = c->shared;
	uint64_t *last = c->local;
	uint64_t seq = spin_until_changed(&s->req.seq, *last);	/* pairs with client release */

	memcpy(scratch->body, s->req.body, sizeof(scratch->body));
	memcpy(s->rsp.body, scratch->body, sizeof(s->rsp.body));
	pp_store_release64(&s->rsp.seq, seq);	/* pairs with acquire in spin_roundtrip */
	*last = seq;
	return 0;
}

const struct pp_backend pp_backend_spin = {
	.name = "spin",
	.what = "raw shared-memory spin ping-pong, one cache line per direction",
	.note = { "busy-poll (hardware limit)",
		  "busy-poll on one CPU: pathological, bounded run" },
	.flags = PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_SAME_BOUNDED | PP_BASE_SPIN,
	.setup = spin_setup,
	.attach = spin_attach,
	.serve_one = spin_serve_one,
	.roundtrip = spin_roundtrip,
	.detach = spin_detach,
	.teardown = spin_teardown,
};
