/* peer.c - what the forked children of one case do: the server serves,
 * each client calls (or sends) and times, and every reply is checked.
 *
 * Latency with several clients (PP_MULTI): all clients attach, then warm up
 * together, then start their timed calls together, each timing its own.
 * Client 0 chooses the timed count from its warm-up and publishes it before
 * its last warm-up call; the server reads it once it has served every
 * warm-up call, so it knows exactly how many calls are still to come. */
#include "job.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- checking messages ---- */

static int op_fail(struct job *j, unsigned proc, const char *op, int err)
{
	if (err >= 0)
		err = -EPROTO;	/* a backend returned a positive value */
	j->ctl->err[proc] = err;
	snprintf(j->ctl->op[proc], sizeof(j->ctl->op[0]), "%s", op);
	return err;
}

static unsigned proc_of(const struct job *j)
{
	return j->ctx.role == PP_SERVER ? 0 : 1 + j->ctx.client;
}

static int fail(struct job *j, const char *op, int err)
{
	return op_fail(j, proc_of(j), op, err);
}

/* Word 0 and three bytes spread over the message (its first body byte, its
 * middle and its last byte) change with every message, so a backend that
 * drops, truncates, reorders or mixes up messages is caught without a full
 * compare. The receiver poisons those bytes first, so that a stale buffer
 * cannot pass for a fresh one. */
enum { STAMPS = 3 };

static size_t stamp_at(size_t size, int k)
{
	return k == 0 ? sizeof(uint64_t) : k == 1 ? size / 2 : size - 1;
}

static unsigned char stamp_val(uint64_t seq, int k)
{
	return (unsigned char)(seq + 0x55u * (unsigned)k);
}

static void msg_stamp(struct pp_msg *m, size_t size, uint64_t seq)
{
	m->seq = seq;
	for (int k = 0; k < STAMPS; k++)
		((unsigned char *)m)[stamp_at(size, k)] = stamp_val(seq, k);
}

static void msg_poison(struct pp_msg *m, size_t size, uint64_t seq)
{
	m->seq = ~seq;
	for (int k = 0; k < STAMPS; k++)
		((unsigned char *)m)[stamp_at(size, k)] = (unsigned char)~stamp_val(seq, k);
}

static bool msg_match(const struct pp_msg *m, size_t size, uint64_t seq)
{
	if (m->seq != seq)
		return false;
	for (int k = 0; k < STAMPS; k++)
		if (((const unsigned char *)m)[stamp_at(size, k)] != stamp_val(seq, k))
			return false;
	return true;
}

/* ---- pacing ---- */

static uint64_t pick_count(double budget_s, double per_ns, uint64_t lo, uint64_t hi)
{
	double n = per_ns > 0 ? budget_s * 1e9 / per_ns : (double)hi;

	if (n < (double)lo)
		return lo;
	return n > (double)hi ? hi : (uint64_t)n;
}

/* Waits until *word reaches want. Used before any timing starts; the case
 * time limit in the parent ends a wait that never does. */
static void wait_for(_Atomic uint32_t *word, uint32_t want)
{
	const struct timespec nap = { 0, 20000 };

	while (pp_load_acquire32(word) < want)	/* pairs with the release in arrive */
		nanosleep(&nap, NULL);
}

static void arrive(_Atomic uint32_t *word)
{
	atomic_fetch_add_explicit(word, 1, memory_order_acq_rel);
}

/* ---- round trips ---- */

struct bufs {
	struct pp_msg *req, *rsp;
};

static int roundtrip(struct job *j, struct bufs *b, uint64_t seq)
{
	size_t size = j->ctx.size;
	int err;

	msg_stamp(b->req, size, seq);
	msg_poison(b->rsp, size, seq);
	err = j->be->roundtrip(&j->ctx, b->req, b->rsp);
	if (err)
		return fail(j, "roundtrip", err);
	if (!msg_match(b->rsp, size, seq))
		return fail(j, "roundtrip: wrong reply", -EBADMSG);
	return 0;
}

/* Client 0 times the warm-up to choose the count, and publishes it before
 * its last warm-up call (the server reads it after serving that call). */
static int client_warmup(struct job *j, struct bufs *b, uint64_t *seq)
{
	uint64_t t0 = pp_now_ns(), i, n;
	int err = 0;

	for (i = 0; i + 1 < j->plan.warm && !err; i++)
		err = roundtrip(j, b, ++*seq);
	if (err)
		return err;
	if (j->ctx.client == 0) {
		double per = (double)(pp_now_ns() - t0) / (double)(j->plan.warm - 1);

		n = j->plan.bounded ? j->plan.lo :
			pick_count(j->plan.budget_s, per, j->plan.lo, j->plan.hi);
		pp_store_release64(&j->ctl->iters, n);	/* pairs with acquire in server_rtt */
	}
	return roundtrip(j, b, ++*seq);
}

/* Every round trip is timed on its own. */
static int client_rtt(struct job *j, struct bufs *b)
{
	unsigned k = j->ctx.client;
	uint64_t *samples = j->ctl->samples + k * j->cap;
	uint64_t seq = (uint64_t)k << 40, n, i;	/* replies of other clients do not match */
	int err;

	memset(b->req, 0xa5, j->ctx.size);
	memset(samples, 0, j->cap * sizeof(uint64_t));	/* fault pages in now */
	if ((err = client_warmup(j, b, &seq)))
		return err;
	arrive(&j->ctl->warmed);
	wait_for(&j->ctl->warmed, j->ctx.nclients);
	n = pp_load_acquire64(&j->ctl->iters);	/* client 0 stored it before arriving */
	j->ctl->t0[k] = pp_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t a = pp_now_ns();

		if ((err = roundtrip(j, b, ++seq)))
			return err;
		samples[i] = pp_now_ns() - a;
	}
	j->ctl->t1[k] = pp_now_ns();
	return 0;
}

static int server_rtt(struct job *j, struct bufs *b)
{
	uint64_t i, n, clients = j->ctx.nclients;
	int err;

	for (i = 0; i < clients * j->plan.warm; i++)
		if ((err = j->be->serve_one(&j->ctx, b->req)))
			return fail(j, "serve_one", err);
	n = pp_load_acquire64(&j->ctl->iters);	/* published before the last warm-up call */
	for (i = 0; i < clients * n; i++)
		if ((err = j->be->serve_one(&j->ctx, b->req)))
			return fail(j, "serve_one", err);
	return 0;
}

/* ---- one-way throughput (one client) ---- */

static int send_one(struct job *j, struct pp_msg *m, uint64_t seq)
{
	int err;

	msg_stamp(m, j->ctx.size, seq);
	err = j->be->send(&j->ctx, m);
	return err ? fail(j, "send", err) : 0;
}

/* Same protocol as client_warmup: the warm-up sets the message count. */
static int client_tput(struct job *j, struct bufs *b)
{
	uint64_t seq = 0, n, t0, i;
	int err = 0;

	memset(b->req, 0x5a, j->ctx.size);
	t0 = pp_now_ns();
	for (i = 0; i + 1 < j->plan.warm && !err; i++)
		err = send_one(j, b->req, ++seq);
	if (err)
		return err;
	n = pick_count(j->plan.budget_s, (double)(pp_now_ns() - t0) / (double)(j->plan.warm - 1),
		       j->plan.lo, j->plan.hi);
	pp_store_release64(&j->ctl->iters, n);	/* pairs with the acquire in server_tput */
	for (i = 0; i <= n && !err; i++)	/* the last warm-up message, then n */
		err = send_one(j, b->req, ++seq);
	return err;
}

static int recv_one(struct job *j, struct pp_msg *m, uint64_t seq)
{
	int err;

	msg_poison(m, j->ctx.size, seq);
	if ((err = j->be->recv(&j->ctx, m)))
		return fail(j, "recv", err);
	return msg_match(m, j->ctx.size, seq) ? 0 : fail(j, "recv: wrong message", -EBADMSG);
}

/* The receiver times from the first timed message to the last: its own
 * clock, and the rate at which it actually drains the transport. It gets
 * every message, in order: warm + n of them exactly. */
static int server_tput(struct job *j, struct bufs *b)
{
	uint64_t seq = 0, n, t0, i;
	int err = 0;

	for (i = 0; i < j->plan.warm && !err; i++)
		err = recv_one(j, b->req, ++seq);
	if (err)
		return err;
	n = pp_load_acquire64(&j->ctl->iters);	/* published before the last warm-up message */
	if ((err = recv_one(j, b->req, ++seq)))
		return err;
	t0 = pp_now_ns();
	for (i = 1; i < n && !err; i++)
		err = recv_one(j, b->req, ++seq);
	if (!err && n > 1)
		j->ctl->rate = (double)(n - 1) * 1e9 / (double)(pp_now_ns() - t0);
	return err;
}

/* ---- the child ---- */

static int run_role(struct job *j, struct bufs *b)
{
	bool server = j->ctx.role == PP_SERVER;

	if (j->metric == PP_TPUT)
		return server ? server_tput(j, b) : client_tput(j, b);
	return server ? server_rtt(j, b) : client_rtt(j, b);
}

/* The clients attach only after the server has, so that a backend can
 * connect in attach (iceoryx needs the server offered first), and start
 * only once all of them have. */
static int child_body(struct job *j, struct bufs *b)
{
	bool server = j->ctx.role == PP_SERVER;
	int err;

	if (!server)
		wait_for(&j->ctl->server_ready, 1);
	if (j->be->attach && (err = j->be->attach(&j->ctx))) {
		fail(j, "attach", err);
	} else {
		if (server) {
			pp_store_release32(&j->ctl->server_ready, 1);
		} else {
			arrive(&j->ctl->attached);
			wait_for(&j->ctl->attached, j->ctx.nclients);
		}
		err = run_role(j, b);
	}
	if (j->be->detach)	/* also after a failed attach: it undoes what was done */
		j->be->detach(&j->ctx);
	return err;
}

static int alloc_bufs(struct bufs *b, size_t size)
{
	size_t len = (size + PP_CACHELINE - 1) / PP_CACHELINE * PP_CACHELINE;

	b->req = aligned_alloc(PP_CACHELINE, len);
	b->rsp = aligned_alloc(PP_CACHELINE, len);
	if (!b->req || !b->rsp)
		return -ENOMEM;
	memset(b->rsp, 0, len);
	return 0;
}

_Noreturn void pp_child_main(struct job *j, unsigned proc, int cpu)
{
	struct bufs b = { NULL, NULL };
	int err;

	pp_child_init(SIGKILL);
	j->ctx.role = proc == 0 ? PP_SERVER : PP_CLIENT;
	j->ctx.client = proc == 0 ? 0 : proc - 1;
	if ((err = pp_pin_cpu(cpu)))
		fail(j, "sched_setaffinity", err);
	else if ((err = alloc_bufs(&b, j->ctx.size)))
		fail(j, "malloc", err);
	else
		err = child_body(j, &b);
	free(b.req);
	free(b.rsp);
	/* exit, not _exit: library destructors must run (iceoryx deregisters
	 * from RouDi in one). stdio was flushed before the fork, and the
	 * harness's atexit handlers act only in the harness (pp_is_harness). */
	exit(err ? 1 : 0);
}
