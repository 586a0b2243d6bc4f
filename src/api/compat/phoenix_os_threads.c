/* SPDX-License-Identifier: MIT */
/*
 * libmsgport-phoenix: Phoenix threads on POSIX threads (<sys/threads.h>
 * says what each call does).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include "api/compat/phoenix_os.h"
#include "msgport-phoenix/sys/threads.h"

/* What the new thread needs; on the creator's stack until `started`. */
struct thread_start {
	void (*start)(void *);
	void *arg;
	int prio;
	handle_t tid;
	sem_t started;
};

static void *thread_main(void *p)
{
	struct thread_start *ts = p;
	void (*start)(void *) = ts->start;
	void *arg = ts->arg;

	(void)mp_phx_thread_priority_set(ts->prio);
	ts->tid = (handle_t)gettid();
	sem_post(&ts->started);	/* ts is gone after this */
	start(arg);
	return NULL;
}

int beginthreadex(void (*start)(void *), unsigned int priority, void *stack,
		  unsigned int stacksz, void *arg, handle_t *id)
{
	struct thread_start ts = { .start = start, .arg = arg, .prio = (int)priority };
	pthread_attr_t attr;
	pthread_t t;
	int err;

	(void)stack;	/* glibc keeps its TLS on a given stack: ours instead */
	(void)stacksz;
	if (!start || priority > MP_PHX_PRIO_MAX)
		return -EINVAL;
	if (sem_init(&ts.started, 0, 0))
		return -errno;
	err = pthread_attr_init(&attr);
	if (err)
		goto out_sem;
	err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (err)
		goto out_attr;
	err = pthread_create(&t, &attr, thread_main, &ts);
	if (err)
		goto out_attr;
	while (sem_wait(&ts.started) && errno == EINTR)
		;
	if (id)
		*id = ts.tid;
out_attr:
	pthread_attr_destroy(&attr);
out_sem:
	sem_destroy(&ts.started);
	return -err;
}

void endthread(void)
{
	pthread_exit(NULL);
}

int priority(int prio)
{
	if (prio == -1)
		return mp_phx_thread_priority();
	if (mp_phx_thread_priority_set(prio))
		return -EINVAL;
	return prio;
}
