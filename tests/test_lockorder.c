/* SPDX-License-Identifier: MIT */
/*
 * Lock order: mp_port_destroy() racing mp_port_unregister() and
 * mp_port_register() of the same port's paths, from several threads, for
 * a couple of thousand rounds.  Destroy used to hold the port's lock while
 * it took ROOT/ns.lock, and unregister held ns.lock while it took the
 * port's lock: the two could hang each other.  A watchdog fails the test,
 * naming what each thread was doing, when a call has not returned for a
 * while.
 *
 * One thread keeps the port's lock busy in short spells, as a receiver
 * scanning its rings does (white-box: it takes p->lock itself).  Others
 * then often wait for the lock, which is what made the old hang likely
 * within a few dozen rounds rather than a few thousand.
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "conn/port.h"

#define RACE_PATHS 3
#define RACE_UNREG 2		/* threads unregistering the paths */
#define RACE_REG 1		/* threads registering them again */
#define RACE_BUSY 1		/* threads keeping the port lock busy meanwhile */
#define RACE_WORKERS (1 + RACE_UNREG + RACE_REG + RACE_BUSY)
#define RACE_ROUNDS 2000
#define RACE_BUDGET_MS 3500	/* per transport: stop early on a slow machine */
#define RACE_HANG_MS 5000	/* one call that long: a hang */
#define RACE_DELAY_US 200	/* destroy within that much of the round's start */
#define RACE_HOLD_NS 10000	/* the port lock's busy spells */

enum race_op { OP_IDLE, OP_DESTROY, OP_UNREGISTER, OP_REGISTER, OP_BUSY, OP_SETUP };

struct race {
	pthread_barrier_t start, done;
	mp_port_t port;			/* this round's port */
	char paths[RACE_PATHS][32];
	atomic_int round;
	atomic_bool stop;
	atomic_bool destroyed;		/* this round's destroy returned */
	/* What each worker (and, last, the main thread) is inside, on which
	 * path, since when (ms). */
	atomic_int op[RACE_WORKERS + 1];
	atomic_int path[RACE_WORKERS + 1];
	atomic_llong since[RACE_WORKERS + 1];
};

struct worker {
	struct race *r;
	int id;
};

static const char *const op_names[] = { "idle", "mp_port_destroy", "mp_port_unregister",
					"mp_port_register", "port lock", "setup" };

static unsigned rnd_next(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Wait until the monotonic time at (ns), letting the others run. */
static void wait_until(int64_t at)
{
	while (h_now_ns() < at)
		sched_yield();
}

static void op_enter(struct race *r, int id, enum race_op op, int k)
{
	atomic_store(&r->path[id], k);
	atomic_store(&r->since[id], h_now_ms());
	atomic_store(&r->op[id], op);
}

static void op_leave(struct race *r, int id)
{
	atomic_store(&r->op[id], OP_IDLE);
}

/* Destroy the port at a random moment of the round (the others keep
 * going until it is gone), to vary the interleaving. */
static void race_destroy(struct race *r, int id, unsigned *seed)
{
	int64_t at = h_now_ns() + (int64_t)(rnd_next(seed) % RACE_DELAY_US) * 1000;

	while (h_now_ns() < at)
		;	/* not sched_yield(): the others would run for whole slices */
	op_enter(r, id, OP_DESTROY, -1);
	CHECK_OK(mp_port_destroy(r->port));
	op_leave(r, id);
	atomic_store(&r->destroyed, true);
}

/* Unregister the paths, over and over until the port is gone. */
static void race_unregister(struct race *r, int id)
{
	for (int k = 0; k < RACE_PATHS || !atomic_load(&r->destroyed); k++) {
		int n = (k + id) % RACE_PATHS, err;

		op_enter(r, id, OP_UNREGISTER, n);
		err = mp_port_unregister(r->paths[n]);
		/* -EPERM: the port is being destroyed (no longer ours, still live) */
		if (err != 0 && err != -ENOENT && err != -EPERM)
			FAIL("mp_port_unregister(%s): %s", r->paths[n], h_errname(err));
		op_leave(r, id);
	}
}

/* Register them again, likewise: -ENOENT once the port is gone. */
static void race_register(struct race *r, int id)
{
	for (int k = 0; k < RACE_PATHS || !atomic_load(&r->destroyed); k++) {
		int n = (k + id) % RACE_PATHS, err;

		op_enter(r, id, OP_REGISTER, n);
		err = mp_port_register(r->port, r->paths[n], 0600);
		if (err != 0 && err != -ENOENT && err != -EEXIST)
			FAIL("mp_port_register(%s): %s", r->paths[n], h_errname(err));
		op_leave(r, id);
	}
}

/* Keep the port's lock busy until the port is gone, in spells, so that the
 * others often wait for it: that widens every window between taking one
 * lock and the next. */
static void race_busy(struct race *r, int id, unsigned *seed)
{
	struct mp_port_obj *p = mp_port_get(r->port);

	op_enter(r, id, OP_BUSY, -1);
	while (p && !atomic_load(&r->destroyed)) {
		int64_t hold = h_now_ns() + RACE_HOLD_NS;

		mp_lock(&p->lock);
		while (h_now_ns() < hold)
			;
		mp_unlock(&p->lock);
		wait_until(h_now_ns() + (int64_t)(rnd_next(seed) % RACE_HOLD_NS));
	}
	if (p)
		mp_port_put(p);
	op_leave(r, id);
}

static void *race_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	unsigned seed = 0x9e3779b9u * (unsigned)(w->id + 1);

	for (;;) {
		pthread_barrier_wait(&r->start);
		if (atomic_load(&r->stop))
			return NULL;
		if (w->id == 0)
			race_destroy(r, w->id, &seed);
		else if (w->id <= RACE_UNREG)
			race_unregister(r, w->id);
		else if (w->id <= RACE_UNREG + RACE_REG)
			race_register(r, w->id);
		else
			race_busy(r, w->id, &seed);
		pthread_barrier_wait(&r->done);
	}
}

/* The thread inside one call for RACE_HANG_MS, or -1. */
static int race_stuck(struct race *r)
{
	int64_t now = h_now_ms();

	for (int k = 0; k <= RACE_WORKERS; k++)
		if (atomic_load(&r->op[k]) != OP_IDLE && now - atomic_load(&r->since[k]) > RACE_HANG_MS)
			return k;
	return -1;
}

/* Fail, naming every thread's call, when one of them hangs. */
static void *race_watchdog(void *arg)
{
	struct race *r = arg;
	char what[512];
	size_t off = 0;
	int stuck = -1;

	while (!atomic_load(&r->stop) && (stuck = race_stuck(r)) < 0)
		h_sleep_ms(20);
	if (stuck < 0)
		return NULL;
	for (int k = 0; k <= RACE_WORKERS && off < sizeof(what); k++) {
		int op = atomic_load(&r->op[k]), p = atomic_load(&r->path[k]);

		off += (size_t)snprintf(what + off, sizeof(what) - off, " [%d] %s(%s)", k, op_names[op],
					op != OP_IDLE && p >= 0 ? r->paths[p] : "");
	}
	FAIL("hang: thread %d inside one call for %d ms in round %d (a lock-order deadlock?):%s",
	     stuck, RACE_HANG_MS, atomic_load(&r->round), what);
}

/* One round: a fresh port with every path registered, then the race. */
static void race_round(struct race *r)
{
	mp_oid_t oid;

	op_enter(r, RACE_WORKERS, OP_SETUP, -1);
	CHECK_OK(mp_port_create(&r->port));
	for (int k = 0; k < RACE_PATHS; k++)
		CHECK_OK(mp_port_register(r->port, r->paths[k], 0600));
	atomic_store(&r->destroyed, false);
	op_leave(r, RACE_WORKERS);
	pthread_barrier_wait(&r->start);
	pthread_barrier_wait(&r->done);
	/* The port is gone: whatever was left registered is stale. */
	for (int k = 0; k < RACE_PATHS; k++)
		CHECK_ERR(mp_lookup(r->paths[k], &oid), -ENOENT);
}

TEST(lockorder_destroy_vs_unregister)
{
	static struct race r;
	struct worker w[RACE_WORKERS];
	pthread_t th[RACE_WORKERS], dog;
	int64_t t0 = h_now_ms();
	int n = 0;

	memset(&r, 0, sizeof(r));
	for (int k = 0; k < RACE_PATHS; k++)
		snprintf(r.paths[k], sizeof(r.paths[k]), "/race/p%d", k);
	pthread_barrier_init(&r.start, NULL, RACE_WORKERS + 1);
	pthread_barrier_init(&r.done, NULL, RACE_WORKERS + 1);
	CHECK_OK(pthread_create(&dog, NULL, race_watchdog, &r));
	for (int k = 0; k < RACE_WORKERS; k++) {
		w[k] = (struct worker){ &r, k };
		CHECK_OK(pthread_create(&th[k], NULL, race_worker, &w[k]));
	}
	for (; n < RACE_ROUNDS && h_now_ms() - t0 < RACE_BUDGET_MS; n++) {
		atomic_store(&r.round, n);
		race_round(&r);
	}
	atomic_store(&r.stop, true);
	pthread_barrier_wait(&r.start);
	for (int k = 0; k < RACE_WORKERS; k++)
		pthread_join(th[k], NULL);
	pthread_join(dog, NULL);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.done);
	fprintf(stderr, "  lockorder: %d rounds in %lld ms\n", n, (long long)(h_now_ms() - t0));
	CHECK_GE(n, 100);
}

/* ------------------------------------------------- ns.lock across fork */

#define FORK_KIDS 20
#define FORK_LINGER_MS 1000	/* how long each child keeps its copies */

struct fork_churn {
	mp_port_t port;
	atomic_bool stop;
	atomic_llong worst_ms;	/* the longest register + unregister */
};

static void *fork_churn(void *arg)
{
	struct fork_churn *f = arg;

	while (!atomic_load(&f->stop)) {
		int64_t t = h_now_ms();

		CHECK_OK(mp_port_register(f->port, "/fork/x", 0600));
		CHECK_OK(mp_port_unregister("/fork/x"));
		t = h_now_ms() - t;
		if (t > atomic_load(&f->worst_ms))
			atomic_store(&f->worst_ms, t);
	}
	return NULL;
}

static void fork_linger(void *arg)
{
	(void)arg;
	h_sleep_ms(FORK_LINGER_MS);
}

/*
 * Children forked while another thread holds ROOT/ns.lock inherit a copy
 * of its descriptor.  The lock belongs to the open file description: had
 * the holder only closed its descriptor, the child's copy would keep the
 * namespace locked until the child exits.
 */
TEST(lockorder_ns_lock_not_kept_by_fork_child)
{
	static struct fork_churn f;
	pid_t kids[FORK_KIDS];
	pthread_t th;

	memset(&f, 0, sizeof(f));
	CHECK_OK(mp_port_create(&f.port));
	CHECK_OK(pthread_create(&th, NULL, fork_churn, &f));
	for (int k = 0; k < FORK_KIDS; k++) {
		kids[k] = h_fork(fork_linger, NULL);
		h_sleep_ms(2);
	}
	for (int k = 0; k < FORK_KIDS; k++)
		CHECK_EQ(h_reap(kids[k], 5000), 0);
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	CHECK_OK(mp_port_destroy(f.port));
	if (atomic_load(&f.worst_ms) >= FORK_LINGER_MS / 2)
		FAIL("one register + unregister took %lld ms: a fork child kept ROOT/ns.lock",
		     (long long)atomic_load(&f.worst_ms));
}
