/* SPDX-License-Identifier: MIT */
/*
 * os/lock.h, the futex mutex of the port lock and the reply lock: it
 * excludes (a plain counter under it loses no increment with several
 * threads, some of whom sleep on the futex), trylock fails while it is
 * held, and a thread asleep on it is woken by the unlock.  Also
 * os/wait.h mp_cpu_now() (rdtscp's TSC_AUX when it was found to match):
 * the CPU sched_getcpu() names, on a thread pinned there.
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "os/lock.h"
#include "os/wait.h"

#define LOCK_THREADS 4
#define LOCK_ROUNDS 200000

struct counted {
	mp_lock_t lock;
	unsigned long n;	/* only under lock */
};

static void *count_up(void *arg)
{
	struct counted *c = arg;

	for (int k = 0; k < LOCK_ROUNDS; k++) {
		mp_lock(&c->lock);
		c->n++;
		if ((k & 1023) == 0)
			sched_yield();	/* held across a yield: the others sleep on it */
		mp_unlock(&c->lock);
	}
	return NULL;
}

TEST(oslock_excludes)
{
	static struct counted c = { .lock = MP_LOCK_INIT };
	pthread_t t[LOCK_THREADS];

	for (int k = 0; k < LOCK_THREADS; k++)
		CHECK_EQ(pthread_create(&t[k], NULL, count_up, &c), 0);
	for (int k = 0; k < LOCK_THREADS; k++)
		CHECK_EQ(pthread_join(t[k], NULL), 0);
	CHECK_EQ(c.n, (unsigned long)LOCK_THREADS * LOCK_ROUNDS);
}

TEST(oslock_trylock_fails_while_held)
{
	mp_lock_t l;

	mp_lock_init(&l);
	CHECK(mp_trylock(&l));
	CHECK(!mp_trylock(&l));
	mp_unlock(&l);
	CHECK(mp_trylock(&l));
	mp_unlock(&l);
	mp_lock(&l);
	CHECK(!mp_trylock(&l));
	mp_unlock(&l);
}

struct sleeper {
	mp_lock_t lock;
	atomic_int state;	/* 1 waiting to lock, 2 got it */
};

static void *take_once(void *arg)
{
	struct sleeper *s = arg;

	atomic_store(&s->state, 1);
	mp_lock(&s->lock);
	atomic_store(&s->state, 2);
	mp_unlock(&s->lock);
	return NULL;
}

TEST(oslock_unlock_wakes_a_sleeper)
{
	static struct sleeper s = { .lock = MP_LOCK_INIT };
	pthread_t t;

	mp_lock(&s.lock);
	CHECK_EQ(pthread_create(&t, NULL, take_once, &s), 0);
	while (atomic_load(&s.state) != 1)
		sched_yield();
	/* it spins, then marks the word 2 and sleeps: wait for the mark */
	while (atomic_load_explicit(&s.lock.v, memory_order_relaxed) != 2)
		sched_yield();
	CHECK_EQ(atomic_load(&s.state), 1);
	mp_unlock(&s.lock);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(atomic_load(&s.state), 2);
	CHECK(mp_trylock(&s.lock));
	mp_unlock(&s.lock);
}

TEST(oslock_cpu_now_names_our_cpu)
{
	cpu_set_t set, one;
	int cpu;

	mp_wait_policy();	/* probes rdtscp once */
	CHECK_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	cpu = sched_getcpu();
	CHECK(cpu >= 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	CHECK_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	cpu = sched_getcpu();	/* where the pinning left us */
	CHECK_EQ(mp_cpu_now(), cpu);
	CHECK_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}
