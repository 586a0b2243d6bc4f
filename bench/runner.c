/* runner.c - runs one case: forks the server and its clients, pins them,
 * waits, collects the samples, and always reaps every child. What the
 * children do is in peer.c. */
#include "job.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static sigset_t g_oldmask;		/* the mask children get back */
static sigset_t g_waitset;		/* what the parent waits for */
static pid_t g_parent;
static bool g_stop;

/* ---- signals: the parent never runs a handler; it waits for signals
 * where it can act on them (reaping, stopping), and nowhere else. ---- */

void pp_signals_block(void)
{
	sigemptyset(&g_waitset);
	sigaddset(&g_waitset, SIGCHLD);
	sigaddset(&g_waitset, SIGINT);
	sigaddset(&g_waitset, SIGTERM);
	sigaddset(&g_waitset, SIGHUP);
	sigprocmask(SIG_BLOCK, &g_waitset, &g_oldmask);
	g_parent = getpid();
}

static bool is_stop_signal(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
}

bool pp_interrupted(void)
{
	sigset_t pending;

	if (!g_stop && sigpending(&pending) == 0)
		g_stop = sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
			 sigismember(&pending, SIGHUP);
	return g_stop;
}

bool pp_is_harness(void)
{
	return getpid() == g_parent;
}

void pp_child_init(int deathsig)
{
	sigprocmask(SIG_SETMASK, &g_oldmask, NULL);
	prctl(PR_SET_PDEATHSIG, deathsig);
	if (getppid() != g_parent)
		_exit(1);	/* the harness died before the death signal was armed */
}

/* Returns the signal that arrived, or 0 after max_s seconds. */
static int wait_signal(double max_s)
{
	struct timespec ts;
	int sig;

	if (max_s < 0)
		max_s = 0;
	ts.tv_sec = (time_t)max_s;
	ts.tv_nsec = (long)((max_s - (double)ts.tv_sec) * 1e9);
	sig = sigtimedwait(&g_waitset, NULL, &ts);
	if (sig > 0 && is_stop_signal(sig))
		g_stop = true;
	return sig > 0 ? sig : 0;
}

/* ---- the parent ---- */

/* The children of one case: [0] the server, [1 + k] client k. */
struct procs {
	unsigned n;
	pid_t pid[PP_PROCS_MAX];
	int st[PP_PROCS_MAX];
	bool done[PP_PROCS_MAX];
	int first;		/* the child that failed first, or -1 */
};

static void kill_rest(struct procs *p)
{
	for (unsigned k = 0; k < p->n; k++)
		if (!p->done[k] && p->pid[k] > 0)
			kill(p->pid[k], SIGKILL);
}

static bool all_done(const struct procs *p)
{
	for (unsigned k = 0; k < p->n; k++)
		if (!p->done[k])
			return false;
	return true;
}

/* Reaps whatever has ended (all of them, blocking, once killed). A child
 * that fails gets the others killed. */
static void reap_some(struct procs *p, bool *killed)
{
	for (unsigned k = 0; k < p->n; k++) {
		if (p->done[k] || waitpid(p->pid[k], &p->st[k], *killed ? 0 : WNOHANG) != p->pid[k])
			continue;
		p->done[k] = true;
		if (p->st[k] != 0 && !*killed) {
			p->first = (int)k;
			kill_rest(p);
			*killed = true;
		}
	}
}

/* Waits for every child. Kills the survivors when one fails, and all of
 * them when the case runs out of time or the user interrupts the run.
 * Returns 0, -ETIMEDOUT or -EINTR. */
static int reap_children(struct procs *p, double timeout_s)
{
	uint64_t deadline = pp_now_ns() + (uint64_t)(timeout_s * 1e9);
	bool killed = false;
	int verdict = 0;

	p->first = -1;
	for (unsigned k = 0; k < p->n; k++)
		p->done[k] = p->pid[k] <= 0;
	while (!all_done(p)) {
		reap_some(p, &killed);
		if (all_done(p) || killed)
			continue;
		if (pp_now_ns() >= deadline || (wait_signal(0.5) && g_stop)) {
			verdict = g_stop ? -EINTR : -ETIMEDOUT;
			kill_rest(p);
			killed = true;
		}
	}
	return verdict;
}

/* One child that is not a case's server or client (the instr part's
 * valgrind), under the same time limit and interrupt handling. */
int pp_reap_one(pid_t pid, int *status, double timeout_s)
{
	struct procs p = { .n = 1, .pid = { pid } };
	int verdict = reap_children(&p, timeout_s);

	*status = p.st[0];
	return verdict;
}

static void proc_name(char *buf, size_t len, const struct procs *p, unsigned k)
{
	if (k == 0)
		snprintf(buf, len, "server");
	else if (p->n == 2)
		snprintf(buf, len, "client");
	else
		snprintf(buf, len, "client %u", k - 1);
}

static void describe_status(char *buf, size_t len, const char *who, int st)
{
	if (WIFSIGNALED(st))
		snprintf(buf, len, "%s killed by signal %d (%s)", who, WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "%s exited with status %d", who, WEXITSTATUS(st));
}

/* The op that reported an error, the first child to fail before the rest. */
static bool blame_op(const struct job *j, const struct procs *p, struct pp_result *r)
{
	char who[32];

	for (unsigned i = 0; i <= p->n; i++) {
		unsigned k = i == 0 ? (unsigned)(p->first >= 0 ? p->first : 0) : i - 1;

		if (!j->ctl->err[k])
			continue;
		proc_name(who, sizeof(who), p, k);
		snprintf(r->why, sizeof(r->why), "%s: %s: %s", who, j->ctl->op[k],
			 strerror(-j->ctl->err[k]));
		return true;
	}
	return false;
}

/* Every client's samples, one after the other, from the start of the array. */
static uint64_t gather_samples(struct job *j, uint64_t per_client)
{
	uint64_t *s = j->ctl->samples;

	for (unsigned k = 1; k < j->ctx.nclients; k++)
		memmove(s + k * per_client, s + k * j->cap, per_client * sizeof(*s));
	return per_client * j->ctx.nclients;
}

/* From the first client's first timed call to the last client's last. */
static double aggregate_rate(const struct job *j, uint64_t total)
{
	uint64_t t0 = UINT64_MAX, t1 = 0;

	for (unsigned k = 0; k < j->ctx.nclients; k++) {
		if (j->ctl->t0[k] < t0)
			t0 = j->ctl->t0[k];
		if (j->ctl->t1[k] > t1)
			t1 = j->ctl->t1[k];
	}
	return t1 > t0 ? (double)total * 1e9 / (double)(t1 - t0) : 0;
}

/* Blames, in this order: an op that reported an error, the time limit or
 * the user, a child's death. */
static void collect(struct job *j, int verdict, const struct procs *p, struct pp_result *r)
{
	uint64_t per_client = pp_load_acquire64(&j->ctl->iters);
	char who[32];

	r->status = PP_FAILED;
	if (blame_op(j, p, r))
		return;
	if (verdict) {
		snprintf(r->why, sizeof(r->why), "%s", verdict == -EINTR ? "interrupted" :
			 "timed out");
		return;
	}
	if (p->first >= 0) {
		proc_name(who, sizeof(who), p, (unsigned)p->first);
		describe_status(r->why, sizeof(r->why), who, p->st[p->first]);
		return;
	}
	r->status = PP_OK;
	if (j->metric == PP_TPUT) {
		r->n = per_client;
		r->rate = j->ctl->rate;
		return;
	}
	r->n = gather_samples(j, per_client);
	pp_stats(j->ctl->samples, r->n, &r->lat);
	if (j->metric == PP_CONC)
		r->rate = aggregate_rate(j, r->n);
}

static void fail(struct pp_result *r, const char *what, int err)
{
	r->status = PP_FAILED;
	snprintf(r->why, sizeof(r->why), "%s: %s", what, strerror(err < 0 ? -err : EPROTO));
}

/* Cross-core the server has the second CPU and the clients share the first;
 * same-core everything runs on the first. */
static void spawn_and_wait(struct job *j, struct pp_result *r)
{
	const struct pp_opts *o = j->o;
	int server_cpu = j->ctx.placement == PP_CROSS ? o->cpu[1] : o->cpu[0];
	struct procs p = { .n = 1 + j->ctx.nclients };
	unsigned k;
	int verdict;

	fflush(NULL);	/* or the children would inherit and repeat buffered output */
	for (k = 0; k < p.n; k++) {
		p.pid[k] = fork();
		if (p.pid[k] == 0)
			pp_child_main(j, k, k == 0 ? server_cpu : o->cpu[0]);
		if (p.pid[k] < 0) {
			fail(r, "fork", -errno);
			break;
		}
	}
	if (k < p.n) {
		p.n = k;	/* reap those that were forked */
		kill_rest(&p);
	}
	verdict = reap_children(&p, o->case_timeout_s);
	if (r->status != PP_FAILED)
		collect(j, verdict, &p, r);
}

static bool is_bounded(const struct pp_result *r)
{
	return r->metric == PP_RTT && r->placement == PP_SAME && (r->be->flags & PP_SAME_BOUNDED);
}

/* The 64-byte latency cases take the main budget; the sweeps a smaller
 * one; backends that sleep every hop need fewer round trips; several
 * clients share the counts, but each makes at least a quarter of the
 * sweep minimum: with only a few dozen calls each, 32 clients measure
 * little but their start and end. */
static struct pp_plan plan_case(const struct pp_opts *o, const struct pp_result *r)
{
	struct pp_plan p = { o->budget_s, o->min_iters, o->max_iters, o->warmup, false };
	uint64_t n = r->nclients;

	if (r->metric == PP_TPUT)
		return (struct pp_plan){ o->budget_s, o->tput_min, o->tput_max, o->warmup * 10, false };
	if (is_bounded(r))
		return (struct pp_plan){ 0, o->bounded_iters, o->bounded_iters, 4, true };
	if (r->size != PP_MSG_SIZE || r->metric == PP_CONC) {
		p.budget_s = o->sweep_budget_s;
		p.lo = o->sweep_min_iters;
		p.warm = o->warmup / 4;
	}
	if ((r->be->flags & PP_SLOW) && p.lo > o->slow_min_iters)
		p.lo = o->slow_min_iters;
	p.lo = (p.lo + n - 1) / n;
	p.hi = (p.hi + n - 1) / n;
	if (n > 1 && p.lo < o->sweep_min_iters / 4)
		p.lo = o->sweep_min_iters / 4;
	if (p.warm / n > 20)
		p.warm /= n;
	else if (p.warm > 20)
		p.warm = 20;
	return p;
}

static void init_job(struct job *j, const struct pp_opts *o, const struct pp_result *r)
{
	static unsigned serial;

	*j = (struct job){ .o = o, .be = r->be, .metric = r->metric, .plan = plan_case(o, r) };
	if (j->plan.lo > j->plan.hi)
		j->plan.hi = j->plan.lo;
	j->cap = r->metric == PP_TPUT ? 0 : j->plan.hi;
	j->ctx.placement = r->placement;
	j->ctx.size = r->size;
	j->ctx.nclients = r->nclients;
	snprintf(j->ctx.tag, sizeof(j->ctx.tag), "mpb-%ld-%u", (long)getpid(), ++serial);
}

void pp_run_case(const struct pp_opts *o, struct pp_result *r)
{
	struct job j;
	size_t len;
	int err;

	if (!r->size)
		r->size = PP_MSG_SIZE;
	if (!r->nclients)
		r->nclients = 1;
	if (r->nclients > PP_CLIENTS_MAX || r->size > PP_MSG_MAX || r->size < PP_MSG_SIZE) {
		fail(r, "case", -EINVAL);
		return;
	}
	init_job(&j, o, r);
	len = sizeof(*j.ctl) + j.cap * r->nclients * sizeof(uint64_t);
	j.ctl = pp_shm_alloc(len);
	if (!j.ctl) {
		fail(r, "mmap", -ENOMEM);
		return;
	}
	err = r->be->setup ? r->be->setup(&j.ctx) : 0;
	if (err) {
		fail(r, "setup", err);
	} else {
		spawn_and_wait(&j, r);
		if (r->be->teardown)
			r->be->teardown(&j.ctx);
	}
	pp_shm_free(j.ctl, len);
}
