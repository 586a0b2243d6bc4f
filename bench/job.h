/* job.h - one measured case as runner.c (the parent) and peer.c (the
 * children) share it. Process 0 is the server; process 1 + k is client k. */
#ifndef MSGPORT_BENCH_JOB_H
#define MSGPORT_BENCH_JOB_H

#include "harness.h"

#define PP_PROCS_MAX (1 + PP_CLIENTS_MAX)

/* Shared between the parent and every child of one case (anonymous shared
 * memory). The counters are barriers: each child adds one and waits for
 * all of them, so that several clients warm up and then time together. */
struct pp_ctl {
	_Atomic uint32_t server_ready;	/* set by the server once attached */
	_Atomic uint32_t attached;	/* clients attached */
	_Atomic uint32_t warmed;	/* clients done with their warm-up */
	_Atomic uint64_t iters;		/* timed count per client, chosen by client 0 */
	double rate;			/* throughput seen by the receiver */
	uint64_t t0[PP_CLIENTS_MAX];	/* each client's first and last timed stamp */
	uint64_t t1[PP_CLIENTS_MAX];
	int err[PP_PROCS_MAX];		/* -errno of the op that failed, per process */
	char op[PP_PROCS_MAX][48];	/* and its name */
	uint64_t samples[];		/* round trips in ns: client k's from k * cap */
};

/* How many iterations a case runs; set by the parent before the fork. */
struct pp_plan {
	double budget_s;		/* wanted timed duration */
	uint64_t lo, hi;		/* bounds on timed iterations per client */
	uint64_t warm;			/* untimed iterations per client first */
	bool bounded;			/* run exactly the parent's bounded count */
};

struct job {
	const struct pp_opts *o;
	const struct pp_backend *be;
	enum pp_metric metric;
	struct pp_ctx ctx;
	struct pp_ctl *ctl;
	struct pp_plan plan;
	uint64_t cap;			/* room per client in ctl->samples */
};

/* peer.c: the body of a forked child; process index proc, pinned to cpu. */
_Noreturn void pp_child_main(struct job *j, unsigned proc, int cpu);

#endif
