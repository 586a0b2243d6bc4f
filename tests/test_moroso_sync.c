/* SPDX-License-Identifier: MIT */
/*
 * Moroso synchronization (include/msgport/moroso.h): deschedule(),
 * make_runnable(), moroso_yield(), moroso_sleep(), with the Pebbles
 * semantics the Moroso specification asks for ("IPC should make it
 * possible for these primitives to make guarantees about atomicity and
 * synchronization between threads").  Tests of choices the header makes
 * say "decision".
 *
 * A thread that deschedules holds one descriptor until it exits, so the
 * tests deschedule in threads they join, or in forked children.
 */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "msgport/moroso.h"

#define RACE_ROUNDS 100000

/* State shared by a test, its threads and the processes it forks. */
struct ms {
	atomic_int round;	/* the waiter's announcements */
	atomic_int step;
	atomic_int reject;	/* deschedule()'s *reject (an int, as Pebbles has it) */
	atomic_int woken;	/* make_runnable() successes */
	atomic_int refused;	/* make_runnable() -EAGAIN */
	atomic_int tid;
	atomic_int waked;
	atomic_int back;	/* desched_once() returned from deschedule() */
	atomic_int go;		/* desched_once() may exit */	/* the waker's make_runnable() of that round returned */
	int r[8];
};

static struct ms *ms_new(void)
{
	return h_shared(sizeof(struct ms));
}

static int ms_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

static void nothing(void *arg)
{
	(void)arg;
}

static int *ms_reject(struct ms *s)
{
	return (int *)&s->reject;	/* deschedule() takes a plain int * */
}

/* Spin (yielding) until *p >= v, up to the harness's timeout: false if not. */
static bool ms_wait_ge(atomic_int *p, int v)
{
	int64_t end = h_now_ms() + h_test_timeout_ms();
	unsigned k = 0;

	while (atomic_load(p) < v) {
		if ((++k & 1023) == 0 && h_now_ms() > end)
			return false;
		sched_yield();
	}
	return true;
}

/* Wait until thread tid is descheduled (moroso_yield says -EAGAIN). */
static void ms_wait_descheduled(int tid)
{
	int64_t end = h_now_ms() + h_test_timeout_ms();
	int r;

	while ((r = moroso_yield(tid)) == 0 && h_now_ms() < end)
		;
	CHECK_ERR(r, -EAGAIN);
}

/* A thread that deschedules once with *reject 0, then records. */
static void *desched_once(void *arg)
{
	struct ms *s = arg;

	atomic_store(&s->tid, ms_gettid());
	s->r[0] = deschedule(ms_reject(s));
	atomic_store(&s->back, 1);
	CHECK(ms_wait_ge(&s->go, 1));	/* alive (runnable) until told */
	return NULL;
}

/* ------------------------------------------------------- deschedule */

/* Pebbles: "If the integer pointed to by reject is non-zero, the call
 * returns immediately with return value zero." */
TEST(moroso_deschedule_returns_at_once_when_reject_set)
{
	int reject = 1, minus = -7;

	CHECK_OK(deschedule(&reject));
	CHECK_OK(deschedule(&minus));
	CHECK_EQ(reject, 1);	/* and leaves it alone */
	/* a thread with a record already (it was woken once) too */
	struct ms *s = ms_new();
	pthread_t th;

	CHECK_OK(pthread_create(&th, NULL, desched_once, s));
	CHECK(ms_wait_ge(&s->tid, 1));
	ms_wait_descheduled(atomic_load(&s->tid));
	CHECK_OK(make_runnable(atomic_load(&s->tid)));
	atomic_store(&s->go, 1);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_OK(s->r[0]);
}

/* Pebbles: "An integer error code less than zero will be returned if
 * reject is not a valid pointer." */
TEST(moroso_deschedule_invalid_reject_is_efault)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	CHECK_ERR(deschedule(NULL), -EFAULT);
	CHECK_ERR(deschedule(p), -EFAULT);
	CHECK_OK(munmap(p, 4096));
}

/* Pebbles: deschedule() returns "at which point" a make_runnable()
 * specifies the thread; until then it does not return. */
TEST(moroso_deschedule_blocks_until_make_runnable)
{
	struct ms *s = ms_new();
	pthread_t th;

	CHECK_OK(pthread_create(&th, NULL, desched_once, s));
	CHECK(ms_wait_ge(&s->tid, 1));
	ms_wait_descheduled(atomic_load(&s->tid));
	h_sleep_ms(50);
	CHECK_EQ(atomic_load(&s->back), 0);	/* still asleep */
	CHECK_OK(make_runnable(atomic_load(&s->tid)));
	CHECK(ms_wait_ge(&s->back, 1));
	atomic_store(&s->go, 1);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_OK(s->r[0]);
}

/* ---------------------------------------------------- make_runnable */

static void *just_wait(void *arg)
{
	struct ms *s = arg;

	atomic_store(&s->tid, ms_gettid());
	CHECK(ms_wait_ge(&s->step, 1));
	return NULL;
}

/* Pebbles: "An integer error code less than zero will be returned unless
 * tid is the ID of a thread which exists but is currently non-runnable
 * due to a call to deschedule()."  (decision: -ESRCH no such thread,
 * -EAGAIN not descheduled) */
TEST(moroso_make_runnable_errs_unless_descheduled)
{
	struct ms *s = ms_new();
	pthread_t th;
	pid_t dead = h_fork(nothing, NULL);
	int tid;

	CHECK_OK(h_reap(dead, 10000));
	CHECK_ERR(make_runnable(ms_gettid()), -EAGAIN);	/* this thread runs */
	CHECK_ERR(make_runnable(0), -ESRCH);
	CHECK_ERR(make_runnable(-1), -ESRCH);
	CHECK_ERR(make_runnable(dead), -ESRCH);
	/* a live thread that never descheduled */
	CHECK_OK(pthread_create(&th, NULL, just_wait, s));
	CHECK(ms_wait_ge(&s->tid, 1));
	CHECK_ERR(make_runnable(atomic_load(&s->tid)), -EAGAIN);
	atomic_store(&s->step, 1);
	CHECK_OK(pthread_join(th, NULL));
	/* a thread that was descheduled and woken: the second wake errs */
	memset(s, 0, sizeof(*s));
	CHECK_OK(pthread_create(&th, NULL, desched_once, s));
	CHECK(ms_wait_ge(&s->tid, 1));
	tid = atomic_load(&s->tid);
	ms_wait_descheduled(tid);
	CHECK_OK(make_runnable(tid));
	CHECK_ERR(make_runnable(tid), -EAGAIN);
	atomic_store(&s->go, 1);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_ERR(make_runnable(tid), -ESRCH);	/* it exited */
}

/* ------------------------------------------------------------ races */

/*
 * The waiter of the race: each round it clears *reject, announces the
 * round and deschedules; the waker sets *reject and calls make_runnable()
 * as soon as it sees the announcement, so the two meet in every order.
 * deschedule() may return only once *reject is set (make_runnable() comes
 * after that): a return with *reject 0 is a wake-up from nowhere.  A round
 * starts when the last make_runnable() has returned: one still under way
 * may rightly wake the next deschedule().
 */
static void race_waiter(struct ms *s, int rounds)
{
	atomic_store(&s->tid, ms_gettid());
	for (int i = 1; i <= rounds; i++) {
		CHECK(ms_wait_ge(&s->waked, i - 1));
		atomic_store(&s->reject, 0);
		atomic_store(&s->round, i);
		CHECK_OK(deschedule(ms_reject(s)));
		if (atomic_load(&s->reject) != 1)
			FAIL("deschedule returned in round %d before make_runnable", i);
	}
}

static void *race_waiter_thread(void *arg)
{
	race_waiter(arg, RACE_ROUNDS);
	return NULL;
}

static void race_waiter_child(void *arg)
{
	race_waiter(arg, RACE_ROUNDS);
}

/* Each round: the waiter's return (its next announcement) must follow;
 * a lost wake-up leaves it asleep and fails here, by the watchdog. */
static void race_waker(struct ms *s, int rounds)
{
	int tid;

	CHECK(ms_wait_ge(&s->tid, 1));
	tid = atomic_load(&s->tid);
	for (int i = 1; i <= rounds; i++) {
		int r;

		if (!ms_wait_ge(&s->round, i))
			FAIL("lost wake-up: the waiter never came back from round %d", i - 1);
		atomic_store(&s->reject, 1);
		r = make_runnable(tid);
		if (r == 0)
			atomic_fetch_add(&s->woken, 1);
		else if (r == -EAGAIN)
			atomic_fetch_add(&s->refused, 1);
		else
			FAIL("make_runnable: %s in round %d", h_errname(r), i);
		atomic_store(&s->waked, i);
	}
}

/* The race of issue 12: "the deschedule/make_runnable race run 100,000
 * times without a lost wake-up", between two threads of a process. */
TEST_FLAGS(moroso_deschedule_make_runnable_race_threads, H_LONG)
{
	struct ms *s = ms_new();
	pthread_t th;

	CHECK_OK(pthread_create(&th, NULL, race_waiter_thread, s));
	race_waker(s, RACE_ROUNDS);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_EQ(atomic_load(&s->woken) + atomic_load(&s->refused), RACE_ROUNDS);
	printf("    %d woken while descheduled, %d refused (reject seen first)\n",
	       atomic_load(&s->woken), atomic_load(&s->refused));
}

/* The same race between processes (decision: make_runnable() works on a
 * thread of any process of the same user). */
TEST_FLAGS(moroso_deschedule_make_runnable_race_processes, H_LONG)
{
	struct ms *s = ms_new();
	pid_t pid = h_fork(race_waiter_child, s);

	race_waker(s, RACE_ROUNDS);
	CHECK_OK(h_reap(pid, h_test_timeout_ms()));
	CHECK_EQ(atomic_load(&s->woken) + atomic_load(&s->refused), RACE_ROUNDS);
	printf("    %d woken while descheduled, %d refused (reject seen first)\n",
	       atomic_load(&s->woken), atomic_load(&s->refused));
}

/* Pebbles: of make_runnable() calls racing for one descheduled thread,
 * it is made runnable once: exactly one succeeds. */
static void *wake_racer(void *arg)
{
	struct ms *s = arg;
	int r;

	CHECK(ms_wait_ge(&s->step, 1));
	r = make_runnable(atomic_load(&s->tid));
	CHECK(r == 0 || r == -EAGAIN);
	if (r == 0)
		atomic_fetch_add(&s->woken, 1);
	return NULL;
}

static void *desched_loop(void *arg)
{
	struct ms *s = arg;

	atomic_store(&s->tid, ms_gettid());
	for (int i = 1; i <= 200; i++) {
		atomic_store(&s->round, i);
		CHECK_OK(deschedule(ms_reject(s)));
		CHECK(ms_wait_ge(&s->step, 2 * i + 1));	/* the racers are done */
	}
	return NULL;
}

TEST(moroso_make_runnable_racing_wakers_one_succeeds)
{
	struct ms *s = ms_new();
	pthread_t w, r[3];

	CHECK_OK(pthread_create(&w, NULL, desched_loop, s));
	for (int i = 1; i <= 200; i++) {
		CHECK(ms_wait_ge(&s->round, i));
		ms_wait_descheduled(atomic_load(&s->tid));
		atomic_store(&s->woken, 0);
		atomic_store(&s->step, 2 * i - 1);
		for (int k = 0; k < 3; k++)
			CHECK_OK(pthread_create(&r[k], NULL, wake_racer, s));
		for (int k = 0; k < 3; k++)
			CHECK_OK(pthread_join(r[k], NULL));
		CHECK_EQ(atomic_load(&s->woken), 1);
		atomic_store(&s->step, 2 * i + 1);
	}
	CHECK_OK(pthread_join(w, NULL));
}

/* ------------------------------------------------------------- fork */

/* The child: the parent's descheduled thread is a peer it can wake; its
 * own main thread (tid = pid) starts without a record and deschedules. */
static void fork_child_body(void *arg)
{
	struct ms *s = arg;
	int one = 1, zero = 0;

	CHECK_OK(make_runnable(s->r[1]));
	CHECK_ERR(make_runnable(s->r[1]), -EAGAIN);
	CHECK_OK(deschedule(&one));
	atomic_store(&s->round, 1);
	CHECK_OK(deschedule(&zero));	/* the parent wakes it */
	atomic_store(&s->round, 2);
}

/* decision: "Forks.  A forked child's thread starts without a mailbox"; so
 * with deschedule state: its threads are new, the parent's are peers. */
TEST(moroso_deschedule_across_fork)
{
	struct ms *s = ms_new();
	pthread_t th;
	pid_t pid;

	CHECK_OK(pthread_create(&th, NULL, desched_once, s));
	CHECK(ms_wait_ge(&s->tid, 1));
	s->r[1] = atomic_load(&s->tid);
	ms_wait_descheduled(s->r[1]);
	pid = h_fork(fork_child_body, s);
	CHECK(ms_wait_ge(&s->back, 1));	/* the child woke it */
	atomic_store(&s->go, 1);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_OK(s->r[0]);
	CHECK(ms_wait_ge(&s->round, 1));
	ms_wait_descheduled(pid);
	CHECK_EQ(atomic_load(&s->round), 1);
	CHECK_OK(make_runnable(pid));
	CHECK_OK(h_reap(pid, h_test_timeout_ms()));
	CHECK_EQ(atomic_load(&s->round), 2);
	CHECK_ERR(make_runnable(pid), -ESRCH);
}

/* ----------------------------------------------------- hostile peer */

/* Map thread tid's record (the memfd its process holds) read-write. */
static _Atomic uint32_t *peer_word(int tid)
{
	char dir[32], path[300], link[64], want[64];
	_Atomic uint32_t *w = NULL;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", tid);
	snprintf(want, sizeof(want), "/memfd:moroso-sched:%d (deleted)", tid);
	d = opendir(dir);
	CHECK(d != NULL);
	while (!w && (e = readdir(d))) {
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		if (strcmp(link, want) != 0)
			continue;
		fd = open(path, O_RDWR);
		CHECK(fd >= 0);
		w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(w != MAP_FAILED);
		close(fd);
	}
	closedir(d);
	CHECK(w != NULL);
	return w;
}

static void hostile_child(void *arg)
{
	struct ms *s = arg;
	int zero = 0;

	for (int i = 1; i <= 2; i++) {
		atomic_store(&s->round, i);
		CHECK_OK(deschedule(&zero));
	}
	atomic_store(&s->round, 3);
}

/* decision: a peer that scribbles over a descheduled thread's record can
 * wake it (even without a futex wake), nothing else: the thread goes on,
 * deschedules (which rewrites the record's head) and is woken normally
 * afterwards.  The record has no pointers or lengths to corrupt and its
 * size is sealed. */
TEST(moroso_deschedule_hostile_peer_can_only_wake)
{
	struct ms *s = ms_new();
	pid_t pid = h_fork(hostile_child, s);
	_Atomic uint32_t *w;

	CHECK(ms_wait_ge(&s->round, 1));
	ms_wait_descheduled(pid);
	w = peer_word(pid);
	for (int k = 0; k < 5; k++)	/* the whole head: magic, ids, state */
		atomic_store(&w[k], 0xffffffffu);
	CHECK(ms_wait_ge(&s->round, 2));	/* it woke, by the periodic look */
	ms_wait_descheduled(pid);	/* and deschedules again */
	CHECK_OK(make_runnable(pid));
	CHECK_OK(h_reap(pid, h_test_timeout_ms()));
	CHECK_EQ(atomic_load(&s->round), 3);
	CHECK_OK(munmap((void *)w, 4096));
}

/* ------------------------------------------------------ yield, sleep */

/* Pebbles yield(): "If tid is -1, the scheduler may determine which
 * thread to run next ... If the thread with ID tid does not exist ... or
 * has been suspended via a system call, then an integer error code less
 * than zero is returned." */
TEST(moroso_yield_to_any_self_and_missing)
{
	struct ms *s = ms_new();
	pid_t dead = h_fork(nothing, NULL);
	pthread_t th;

	CHECK_OK(h_reap(dead, 10000));
	CHECK_OK(moroso_yield(-1));
	CHECK_OK(moroso_yield(ms_gettid()));
	CHECK_ERR(moroso_yield(0), -ESRCH);
	CHECK_ERR(moroso_yield(-2), -ESRCH);
	CHECK_ERR(moroso_yield(dead), -ESRCH);
	/* a descheduled thread is not runnable; once woken it is */
	CHECK_OK(pthread_create(&th, NULL, desched_once, s));
	CHECK(ms_wait_ge(&s->tid, 1));
	ms_wait_descheduled(atomic_load(&s->tid));
	CHECK_ERR(moroso_yield(atomic_load(&s->tid)), -EAGAIN);
	CHECK_OK(make_runnable(atomic_load(&s->tid)));
	CHECK(ms_wait_ge(&s->back, 1));
	CHECK_OK(moroso_yield(atomic_load(&s->tid)));
	atomic_store(&s->go, 1);
	CHECK_OK(pthread_join(th, NULL));
}

/* Pebbles sleep(): "If ticks is zero, this call should return
 * immediately.  If ticks is negative, an integer error code less than
 * zero should be returned.  Otherwise, the invoking thread should be
 * deschedule()d until at least ticks timer interrupts have occurred."
 * (decision: a tick is 1 ms; only the lower bound is checked) */
TEST(moroso_sleep_ticks)
{
	int64_t t0;

	CHECK_ERR(moroso_sleep(-1), -EINVAL);
	CHECK_OK(moroso_sleep(0));
	t0 = h_now_ns();
	CHECK_OK(moroso_sleep(20));
	CHECK_GE(h_now_ns() - t0, 20 * MOROSO_TICK_NS);
}
