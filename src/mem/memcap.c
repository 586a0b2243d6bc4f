/* SPDX-License-Identifier: MIT */
#include "mem/memcap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "msgport.h"

/* The limit, and the process that read it: a fork child (a server forked
 * by its test, say) reads the environment again, at its first connection. */
static _Atomic size_t limit_val;
static _Atomic pid_t limit_pid;

static size_t limit_read(void)
{
	const char *s = getenv("MSGPORT_CONN_MEM_MAX");
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return MP_CONN_MEM_MAX;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v == 0 || v > SIZE_MAX)
		return MP_CONN_MEM_MAX;	/* not a number of bytes: the default */
	return (size_t)v;
}

size_t mp_memcap_limit(void)
{
	pid_t me = getpid();

	/* relaxed: two threads that race read the same value */
	if (atomic_load_explicit(&limit_pid, memory_order_relaxed) != me) {
		atomic_store_explicit(&limit_val, limit_read(), memory_order_relaxed);
		atomic_store_explicit(&limit_pid, me, memory_order_relaxed);
	}
	return atomic_load_explicit(&limit_val, memory_order_relaxed);
}

struct mp_memcap *mp_memcap_new(size_t max)
{
	struct mp_memcap *cap = malloc(sizeof(*cap));

	if (!cap)
		return NULL;
	atomic_init(&cap->held, 0);
	atomic_init(&cap->refs, 1);
	cap->max = max;
	return cap;
}

int mp_memcap_charge_spare(struct mp_memcap *cap, size_t n, size_t spare)
{
	size_t held;

	if (!cap)
		return 0;
	held = atomic_load_explicit(&cap->held, memory_order_relaxed);
	do {
		if (n > cap->max - held || spare > cap->max - held - n)
			return -ENOBUFS;
	} while (!atomic_compare_exchange_weak_explicit(&cap->held, &held, held + n,
							 memory_order_relaxed, memory_order_relaxed));
	return 0;
}

int mp_memcap_charge(struct mp_memcap *cap, size_t n)
{
	return mp_memcap_charge_spare(cap, n, 0);
}

void mp_memcap_uncharge(struct mp_memcap *cap, size_t n)
{
	if (cap && n)
		atomic_fetch_sub_explicit(&cap->held, n, memory_order_relaxed);
}

struct mp_memcap *mp_memcap_ref(struct mp_memcap *cap)
{
	if (cap)
		atomic_fetch_add_explicit(&cap->refs, 1, memory_order_relaxed);
	return cap;
}

void mp_memcap_unref(struct mp_memcap *cap)
{
	/* acq_rel: the last one sees every other holder's uncharge done */
	if (cap && atomic_fetch_sub_explicit(&cap->refs, 1, memory_order_acq_rel) == 1)
		free(cap);
}
