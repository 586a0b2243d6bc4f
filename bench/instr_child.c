/* instr_child.c - one run of the instr part, the program callgrind counts:
 *
 *   msgport-bench --instr-child CASE N CLIENT_CPU SERVER_CPU
 *
 * This process sets the case up and forks its server, then is its client:
 * N 64-byte calls through the backend's ops (roundtrip and serve_one), or
 * for the SPSC ring, which has no calls, N one-way messages. instr.c runs
 * it twice, with a long and a short N, and takes the difference of the
 * totals, so everything here but the count must be the same in both runs:
 * start-up, set-up and tear-down cancel out. Nothing may spin either, since
 * the instructions of a wait loop would count its waiting time: msgport
 * runs with MSGPORT_WAIT=block (the -block cases), the start is a blocking
 * read of a pipe, and the ring goes in batches it can always take (below).
 * Callgrind writes one file per process: the forked server's holds what
 * this process did before the fork too, the same in both runs.
 */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The ring's messages go in batches no larger than its 256 slots, each
 * side waiting for the other's token in a pipe between them: the producer
 * never finds the ring full nor the consumer empty, so neither spins, and
 * the tokens cost two system calls per side per batch. */
#define RING_BATCH 64

struct child {
	const struct pp_backend *be;
	struct pp_ctx ctx;
	uint64_t n;
	int ready[2];		/* server -> client: attached */
	int fill[2];		/* ring: producer -> consumer, a batch is in */
	int drain[2];		/* ring: consumer -> producer, it is taken */
};

static int complain(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err < 0 ? -err : EPROTO));
	return err < 0 ? err : -EPROTO;
}

static int token_put(int fd)
{
	return pp_write_full(fd, "x", 1);
}

static int token_get(int fd)
{
	char c;

	return pp_read_full(fd, &c, 1);
}

static const struct pp_backend *backend_named(const char *name)
{
	for (size_t i = 0; i < pp_nbackends; i++)
		if (!strcmp(pp_backends[i]->name, name) && (pp_backends[i]->flags & PP_CALLGRIND))
			return pp_backends[i];
	return NULL;
}

/* ---- the server (the consumer for the ring) ---- */

static int serve_calls(struct child *ch)
{
	struct pp_msg scratch;
	int err;

	for (uint64_t i = 0; i < ch->n; i++)
		if ((err = ch->be->serve_one(&ch->ctx, &scratch)))
			return complain("serve_one", err);
	return 0;
}

static int consume(struct child *ch)
{
	struct pp_msg m;
	uint64_t seq = 0;
	int err;

	while (seq < ch->n) {
		if ((err = token_get(ch->fill[0])))
			return complain("read fill token", err);
		for (unsigned k = 0; k < RING_BATCH && seq < ch->n; k++) {
			if ((err = ch->be->recv(&ch->ctx, &m)))
				return complain("recv", err);
			if (m.seq != ++seq)
				return complain("recv: wrong message", -EBADMSG);
		}
		if ((err = token_put(ch->drain[1])))
			return complain("write drain token", err);
	}
	return 0;
}

static int server_body(struct child *ch)
{
	int err = ch->be->attach ? ch->be->attach(&ch->ctx) : 0;

	if (err)
		complain("attach", err);
	else if ((err = token_put(ch->ready[1])))
		complain("write ready token", err);
	else
		err = ch->be->flags & PP_BASE_RING ? consume(ch) : serve_calls(ch);
	if (ch->be->detach)
		ch->be->detach(&ch->ctx);
	return err;
}

_Noreturn static void server_main(struct child *ch, int cpu)
{
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* the client is its parent */
	ch->ctx.role = PP_SERVER;
	if ((err = pp_pin_cpu(cpu)))
		complain("sched_setaffinity", err);
	else
		err = server_body(ch);
	exit(err ? 1 : 0);	/* exit: library destructors run, as in every run */
}

/* ---- the client (the producer for the ring) ---- */

static int make_calls(struct child *ch)
{
	struct pp_msg req, rsp;
	int err;

	memset(&req, 0xa5, sizeof(req));
	for (uint64_t i = 1; i <= ch->n; i++) {
		req.seq = i;
		rsp.seq = 0;
		if ((err = ch->be->roundtrip(&ch->ctx, &req, &rsp)))
			return complain("roundtrip", err);
		if (rsp.seq != i)
			return complain("roundtrip: wrong reply", -EBADMSG);
	}
	return 0;
}

static int produce(struct child *ch)
{
	struct pp_msg m;
	uint64_t seq = 0;
	int err;

	memset(&m, 0x5a, sizeof(m));
	while (seq < ch->n) {
		for (unsigned k = 0; k < RING_BATCH && seq < ch->n; k++) {
			m.seq = ++seq;
			if ((err = ch->be->send(&ch->ctx, &m)))
				return complain("send", err);
		}
		if ((err = token_put(ch->fill[1])))
			return complain("write fill token", err);
		if ((err = token_get(ch->drain[0])))
			return complain("read drain token", err);
	}
	return 0;
}

static int client_body(struct child *ch)
{
	int err;

	ch->ctx.role = PP_CLIENT;
	if ((err = token_get(ch->ready[0])))
		return complain("read ready token (the server did not attach)", err);
	if (ch->be->attach && (err = ch->be->attach(&ch->ctx)))
		complain("attach", err);
	else
		err = ch->be->flags & PP_BASE_RING ? produce(ch) : make_calls(ch);
	if (ch->be->detach)
		ch->be->detach(&ch->ctx);
	return err;
}

static int wait_server(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return complain("waitpid", -errno);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return complain("server", -ECHILD);	/* it said why on stderr */
	return 0;
}

/* ---- the run ---- */

static int open_pipes(struct child *ch)
{
	if (pipe(ch->ready) || pipe(ch->fill) || pipe(ch->drain))
		return complain("pipe", -errno);
	return 0;
}

static int run(struct child *ch, int client_cpu, int server_cpu)
{
	pid_t pid;
	int err, err2;

	if ((err = open_pipes(ch)))
		return err;
	if (ch->be->setup && (err = ch->be->setup(&ch->ctx)))
		return complain("setup", err);
	pid = fork();
	if (pid == 0)
		server_main(ch, server_cpu);
	if (pid < 0) {
		err = complain("fork", -errno);
	} else {
		if ((err = pp_pin_cpu(client_cpu)))
			complain("sched_setaffinity", err);
		else
			err = client_body(ch);
		if (err)
			kill(pid, SIGKILL);	/* it may be waiting for a call that never comes */
		err2 = wait_server(pid);
		err = err ? err : err2;
	}
	if (ch->be->teardown)
		ch->be->teardown(&ch->ctx);
	return err;
}

int pp_instr_child_main(int argc, char **argv)
{
	struct child ch = { .ctx = { .size = PP_MSG_SIZE, .nclients = 1 } };
	int client_cpu, server_cpu;

	if (argc != 6 || !(ch.be = backend_named(argv[2]))) {
		fprintf(stderr, "usage: msgport-bench %s CASE N CLIENT_CPU SERVER_CPU\n",
			PP_INSTR_CHILD);
		return 2;
	}
	ch.n = strtoull(argv[3], NULL, 10);
	client_cpu = atoi(argv[4]);
	server_cpu = atoi(argv[5]);
	ch.ctx.placement = client_cpu == server_cpu ? PP_SAME : PP_CROSS;
	snprintf(ch.ctx.tag, sizeof(ch.ctx.tag), "mpi-%ld", (long)getpid());
	return run(&ch, client_cpu, server_cpu) ? 1 : 0;
}
