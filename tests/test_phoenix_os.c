/* SPDX-License-Identifier: MIT */
/*
 * The Phoenix OS layer of libmsgport-phoenix (<sys/threads.h> on pthreads):
 * threads and their priorities, mutexes, condition variables and handles,
 * with the results <sys/threads.h> documents.
 *
 * beginthreadex's threads are detached, as on Phoenix: a test waits until
 * /proc/self/task is back to its count before it returns.
 */
#include "harness.h"

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "api/compat/phoenix_os.h"
#include "msgport-phoenix/phoenix/attribute.h"
#include "msgport-phoenix/phoenix/file.h"
#include "msgport-phoenix/sys/threads.h"

static int task_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Wait (no limit but the harness's) until only n threads are left. */
static void wait_tasks(int n)
{
	while (task_count() > n)
		usleep(1000);
}

/* A flag a thread sets under a Phoenix mutex and signals. */
struct flag {
	handle_t lock, cond;
	int value;
	int seen_prio;
	handle_t seen_tid;
};

static void flag_init(struct flag *f)
{
	memset(f, 0, sizeof(*f));
	CHECK_OK(mutexCreate(&f->lock));
	CHECK_OK(condCreate(&f->cond));
	CHECK_GT(f->lock, 0);
	CHECK_GT(f->cond, 0);
	CHECK_NE(f->lock, f->cond);
}

static void flag_set(struct flag *f, int v)
{
	CHECK_OK(mutexLock(f->lock));
	f->value = v;
	CHECK_OK(condBroadcast(f->cond));
	CHECK_OK(mutexUnlock(f->lock));
}

static void flag_wait(struct flag *f, int v)
{
	CHECK_OK(mutexLock(f->lock));
	while (f->value < v)
		CHECK_OK(condWait(f->cond, f->lock, 0));
	CHECK_OK(mutexUnlock(f->lock));
}

static void flag_done(struct flag *f)
{
	CHECK_OK(resourceDestroy(f->cond));
	CHECK_OK(resourceDestroy(f->lock));
}

static void report_thread(void *arg)
{
	struct flag *f = arg;

	f->seen_prio = priority(-1);
	f->seen_tid = (handle_t)gettid();
	flag_set(f, 1);
}

TEST(phoenix_os_beginthreadex_runs_start_with_arg_and_gives_tid)
{
	static char stack[2048];	/* a Phoenix-sized stack: accepted, unused */
	int before = task_count();
	struct flag f;
	handle_t tid = 0;

	flag_init(&f);
	CHECK_OK(beginthreadex(report_thread, 3, stack, sizeof(stack), &f, &tid));
	flag_wait(&f, 1);
	CHECK_GT(tid, 0);
	CHECK_NE(tid, (handle_t)gettid());
	CHECK_EQ(f.seen_tid, tid);
	CHECK_EQ(f.seen_prio, 3);
	wait_tasks(before);
	flag_done(&f);
}

TEST(phoenix_os_beginthread_rejects_priority_over_7_and_null_start)
{
	int before = task_count();

	CHECK_ERR(beginthread(report_thread, 8, NULL, 0, NULL), -EINVAL);
	CHECK_ERR(beginthreadex(NULL, 4, NULL, 0, NULL, NULL), -EINVAL);
	CHECK_EQ(task_count(), before);
}

static void *plain_thread(void *arg)
{
	*(int *)arg = priority(-1);
	return NULL;
}

TEST(phoenix_os_priority_is_per_thread_default_4)
{
	int before = task_count(), plain = -1;
	struct flag f;
	pthread_t t;

	CHECK_EQ(priority(-1), 4);
	CHECK_EQ(mp_phx_thread_priority(), 4);
	CHECK_EQ(priority(1), 1);
	CHECK_EQ(priority(-1), 1);
	CHECK_EQ(mp_phx_thread_priority(), 1);	/* what the front-end reads */
	CHECK_EQ(priority(0), 0);
	CHECK_EQ(priority(7), 7);
	CHECK_ERR(priority(8), -EINVAL);
	CHECK_ERR(priority(-2), -EINVAL);
	CHECK_EQ(priority(-1), 7);	/* unchanged by the failures */

	/* a thread of beginthreadex starts at its priority, others at 4 */
	flag_init(&f);
	CHECK_OK(beginthread(report_thread, 2, NULL, 0, &f));
	flag_wait(&f, 1);
	CHECK_EQ(f.seen_prio, 2);
	CHECK_OK(pthread_create(&t, NULL, plain_thread, &plain));
	CHECK_OK(pthread_join(t, NULL));
	CHECK_EQ(plain, 4);
	CHECK_EQ(priority(-1), 7);	/* theirs did not change ours */
	wait_tasks(before);
	flag_done(&f);
}

static void end_early(void *arg)
{
	struct flag *f = arg;

	flag_set(f, 1);
	endthread();
	f->seen_prio = -100;	/* never: endthread does not return */
}

TEST(phoenix_os_endthread_ends_the_calling_thread_only)
{
	int before = task_count();
	struct flag f;

	flag_init(&f);
	f.seen_prio = 1;
	CHECK_OK(beginthread(end_early, 4, NULL, 0, &f));
	flag_wait(&f, 1);
	wait_tasks(before);
	CHECK_EQ(f.seen_prio, 1);
	flag_done(&f);
}

static void try_held(void *arg)
{
	struct flag *f = arg;

	f->seen_prio = mutexTry(f->lock);
	f->value = 1;
}

TEST(phoenix_os_mutex_lock_unlock_errors)
{
	int before = task_count();
	struct flag f;
	handle_t m;

	flag_init(&f);
	m = f.lock;
	CHECK_OK(mutexLock(m));
	CHECK_ERR(mutexLock(m), -EDEADLK);	/* relock by the holder */
	f.seen_prio = 1;
	CHECK_OK(beginthread(try_held, 4, NULL, 0, &f));
	wait_tasks(before);
	CHECK_EQ(f.value, 1);
	CHECK_ERR(f.seen_prio, -EBUSY);
	CHECK_ERR(resourceDestroy(m), -EBUSY);	/* held: it stays */
	CHECK_OK(mutexUnlock(m));
	CHECK_ERR(mutexUnlock(m), -EPERM);	/* not held */
	CHECK_OK(mutexTry(m));
	CHECK_OK(mutexUnlock(m));

	/* handles that are not mutexes */
	CHECK_ERR(mutexLock(0), -EINVAL);
	CHECK_ERR(mutexLock(-1), -EINVAL);
	CHECK_ERR(mutexLock(1 << 30), -EINVAL);
	CHECK_ERR(mutexLock(f.cond), -EINVAL);
	CHECK_ERR(condSignal(m), -EINVAL);
	CHECK_ERR(condWait(f.cond, f.cond, 0), -EINVAL);
	CHECK_ERR(mutexCreate(NULL), -EINVAL);
	CHECK_ERR(condCreate(NULL), -EINVAL);

	flag_done(&f);
	CHECK_ERR(mutexLock(m), -EINVAL);	/* destroyed */
	CHECK_ERR(resourceDestroy(m), -EINVAL);
	CHECK_ERR(resourceDestroy(0), -EINVAL);
}

TEST(phoenix_os_condwait_timeout_gives_etime_with_mutex_held)
{
	struct flag f;

	flag_init(&f);
	CHECK_OK(mutexLock(f.lock));
	CHECK_ERR(condWait(f.cond, f.lock, 1000), -ETIME);	/* nobody signals */
	CHECK_ERR(mutexLock(f.lock), -EDEADLK);	/* held again */
	CHECK_OK(mutexUnlock(f.lock));
	CHECK_ERR(condWait(f.cond, f.lock, -1), -EINVAL);
	flag_done(&f);
}

/* Waits until the flag reaches 1, then counts itself in. */
static void waiter(void *arg)
{
	struct flag *f = arg;

	CHECK_OK(mutexLock(f->lock));
	f->seen_tid++;	/* waiting */
	CHECK_OK(condBroadcast(f->cond));
	while (f->value < 1)
		CHECK_OK(condWait(f->cond, f->lock, 0));
	f->seen_prio++;	/* woken */
	CHECK_OK(condBroadcast(f->cond));
	CHECK_OK(mutexUnlock(f->lock));
}

TEST(phoenix_os_condsignal_and_broadcast_wake_waiters)
{
	int before = task_count();
	struct flag f;

	flag_init(&f);
	for (int k = 0; k < 4; k++)
		CHECK_OK(beginthread(waiter, 4, NULL, 0, &f));
	CHECK_OK(mutexLock(f.lock));
	while (f.seen_tid < 4)
		CHECK_OK(condWait(f.cond, f.lock, 0));
	f.value = 1;
	CHECK_OK(condSignal(f.cond));	/* one, and each woken one wakes on */
	while (f.seen_prio < 4)
		CHECK_OK(condWait(f.cond, f.lock, 0));
	CHECK_OK(mutexUnlock(f.lock));
	wait_tasks(before);
	flag_done(&f);
}

TEST(phoenix_os_handles_distinct_positive_and_reused)
{
	enum { N = 600 };	/* more than one chunk of the handle table */
	static handle_t h[N];
	handle_t again;

	for (int k = 0; k < N; k++) {
		CHECK_OK(k % 2 ? condCreate(&h[k]) : mutexCreate(&h[k]));
		CHECK_GT(h[k], 0);
		for (int j = 0; j < k; j++)
			CHECK_NE(h[j], h[k]);
	}
	CHECK_OK(resourceDestroy(h[10]));
	CHECK_OK(mutexCreate(&again));
	CHECK_EQ(again, h[10]);	/* the lowest free handle */
	h[10] = again;
	for (int k = 0; k < N; k++)
		CHECK_OK(resourceDestroy(h[k]));
}

TEST(phoenix_attribute_init_sets_the_err_of_every_attribute)
{
	struct _attrAll a;
	const struct _attr *each = (const struct _attr *)&a;
	size_t n = sizeof(a) / sizeof(struct _attr);

	memset(&a, 0x5a, sizeof(a));
	_phoenix_initAttrsStruct(&a, -ENOSYS);
	CHECK_EQ(n, 15);	/* atMode .. atDev */
	CHECK_EQ(atDev + 1, 15);
	for (size_t k = 0; k < n; k++) {
		CHECK_EQ(each[k].err, -ENOSYS);
		CHECK_EQ(each[k].val, 0x5a5a5a5a5a5a5a5aLL);	/* values untouched */
	}
}
