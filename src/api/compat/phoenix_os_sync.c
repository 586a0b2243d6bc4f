/* SPDX-License-Identifier: MIT */
/*
 * libmsgport-phoenix: Phoenix mutexes and condition variables, named by
 * handles, on POSIX threads (<sys/threads.h> says what each call does).
 *
 * A handle h > 0 names slot h - 1 of a table of chunks of pointers.  The
 * chunks, once made, stay for the life of the process, so a lock or a
 * wait finds its object with two atomic loads and no lock; only creating
 * and destroying take `table.lock`.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "msgport-phoenix/sys/threads.h"

#define CHUNK_SLOTS 256
#define CHUNKS 1024	/* up to 262144 live mutexes and conds */

enum res_kind { RES_MUTEX = 1, RES_COND };

struct res {
	enum res_kind kind;
	union {
		pthread_mutex_t mutex;
		pthread_cond_t cond;
	};
};

typedef _Atomic(struct res *) res_slot;

static struct {
	pthread_mutex_t lock;	/* creating and destroying */
	_Atomic(res_slot *) chunks[CHUNKS];
	unsigned int lowest_free;	/* no free slot below it */
} table = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The slot of h, or NULL; make its chunk when `make` (table.lock held). */
static res_slot *slot_of(handle_t h, int make)
{
	unsigned int k = (unsigned int)h - 1;
	res_slot *chunk;

	if (h <= 0 || k / CHUNK_SLOTS >= CHUNKS)
		return NULL;
	chunk = atomic_load_explicit(&table.chunks[k / CHUNK_SLOTS], memory_order_acquire);
	if (!chunk && make) {
		chunk = calloc(CHUNK_SLOTS, sizeof(*chunk));
		if (!chunk)
			return NULL;
		atomic_store_explicit(&table.chunks[k / CHUNK_SLOTS], chunk, memory_order_release);
	}
	return chunk ? &chunk[k % CHUNK_SLOTS] : NULL;
}

static struct res *res_get(handle_t h, enum res_kind kind)
{
	res_slot *s = slot_of(h, 0);
	struct res *r = s ? atomic_load_explicit(s, memory_order_acquire) : NULL;

	return r && r->kind == kind ? r : NULL;
}

/* Publish r under a new handle: 0, -ENOMEM or -ENFILE (table full). */
static int res_add(struct res *r, handle_t *h)
{
	int err = -ENFILE;

	pthread_mutex_lock(&table.lock);
	for (unsigned int k = table.lowest_free; k < CHUNKS * CHUNK_SLOTS; k++) {
		res_slot *s = slot_of((handle_t)(k + 1), 1);

		if (!s) {
			err = -ENOMEM;
			break;
		}
		if (!atomic_load_explicit(s, memory_order_relaxed)) {
			atomic_store_explicit(s, r, memory_order_release);
			table.lowest_free = k + 1;
			*h = (handle_t)(k + 1);
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&table.lock);
	return err;
}

int mutexCreate(handle_t *h)
{
	pthread_mutexattr_t attr;
	struct res *r;
	int err;

	if (!h)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = RES_MUTEX;
	err = -pthread_mutexattr_init(&attr);
	if (err)
		goto err_free;
	/* errors rather than deadlocks and undefined behaviour */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	err = -pthread_mutex_init(&r->mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	if (err)
		goto err_free;
	err = res_add(r, h);
	if (err)
		goto err_mutex;
	return 0;
err_mutex:
	pthread_mutex_destroy(&r->mutex);
err_free:
	free(r);
	return err;
}

int mutexLock(handle_t h)
{
	struct res *r = res_get(h, RES_MUTEX);

	return r ? -pthread_mutex_lock(&r->mutex) : -EINVAL;
}

int mutexTry(handle_t h)
{
	struct res *r = res_get(h, RES_MUTEX);

	return r ? -pthread_mutex_trylock(&r->mutex) : -EINVAL;
}

int mutexUnlock(handle_t h)
{
	struct res *r = res_get(h, RES_MUTEX);

	return r ? -pthread_mutex_unlock(&r->mutex) : -EINVAL;
}

int condCreate(handle_t *h)
{
	pthread_condattr_t attr;
	struct res *r;
	int err;

	if (!h)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = RES_COND;
	err = -pthread_condattr_init(&attr);
	if (err)
		goto err_free;
	/* timeouts are relative: immune to changes of the wall clock */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = -pthread_cond_init(&r->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (err)
		goto err_free;
	err = res_add(r, h);
	if (err)
		goto err_cond;
	return 0;
err_cond:
	pthread_cond_destroy(&r->cond);
err_free:
	free(r);
	return err;
}

/* now + us on CLOCK_MONOTONIC */
static struct timespec deadline_after(time_t us)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += us / 1000000;
	t.tv_nsec += (long)(us % 1000000) * 1000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

int condWait(handle_t h, handle_t m, time_t timeout)
{
	struct res *c = res_get(h, RES_COND), *mx = res_get(m, RES_MUTEX);
	struct timespec until;
	int err;

	if (!c || !mx || timeout < 0)
		return -EINVAL;
	if (timeout == 0)
		return -pthread_cond_wait(&c->cond, &mx->mutex);
	until = deadline_after(timeout);
	err = pthread_cond_timedwait(&c->cond, &mx->mutex, &until);
	return err == ETIMEDOUT ? -ETIME : -err;
}

int condSignal(handle_t h)
{
	struct res *r = res_get(h, RES_COND);

	return r ? -pthread_cond_signal(&r->cond) : -EINVAL;
}

int condBroadcast(handle_t h)
{
	struct res *r = res_get(h, RES_COND);

	return r ? -pthread_cond_broadcast(&r->cond) : -EINVAL;
}

/* The object's own destroy first: a held mutex stays (-EBUSY). */
static int res_destroy(struct res *r)
{
	if (r->kind == RES_MUTEX)
		return -pthread_mutex_destroy(&r->mutex);
	return -pthread_cond_destroy(&r->cond);
}

int resourceDestroy(handle_t h)
{
	res_slot *s;
	struct res *r;
	int err = -EINVAL;

	pthread_mutex_lock(&table.lock);
	s = slot_of(h, 0);
	r = s ? atomic_load_explicit(s, memory_order_relaxed) : NULL;
	if (!r)
		goto out;
	err = res_destroy(r);
	if (err)
		goto out;
	atomic_store_explicit(s, NULL, memory_order_release);
	if ((unsigned int)h - 1 < table.lowest_free)
		table.lowest_free = (unsigned int)h - 1;
	free(r);
out:
	pthread_mutex_unlock(&table.lock);
	return err;
}
