/* SPDX-License-Identifier: MIT */
/*
 * A small mutex on a futex, for the locks of the call path (a port's
 * lock): taking and dropping a free one is one atomic instruction each,
 * where a pthread mutex costs some fifty instructions per pair through
 * its type dispatch.  Not recursive, no owner, no robustness: the locks
 * that use it are leaves or nearly, held for short stretches.
 *
 * The word: 0 free, 1 held, 2 held and someone may sleep on it.  Whoever
 * finds it held marks it 2 before sleeping, so the holder's unlock knows
 * to wake one sleeper; a woken thread takes it as 2 again (it cannot know
 * whether others sleep), which costs at most one needless wake-up.
 * Across fork: the child re-initialises or frees the locks without taking
 * them (conn/port.h), as with the pthread mutexes before.
 */
#ifndef MP_OS_LOCK_H
#define MP_OS_LOCK_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/compiler.h"
#include "os/shm.h"

typedef struct {
	_Atomic uint32_t v;
} mp_lock_t;

#define MP_LOCK_INIT { 0 }

static inline void mp_lock_init(mp_lock_t *l)
{
	atomic_init(&l->v, 0);
}

/* Sleep while the word is 2, wake one: private futexes (one process). */
static inline void mp_lock_futex(mp_lock_t *l, int op, uint32_t val)
{
	syscall(SYS_futex, &l->v, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static inline bool mp_trylock(mp_lock_t *l)
{
	uint32_t free_v = 0;

	return atomic_compare_exchange_strong_explicit(&l->v, &free_v, 1, memory_order_acquire,
						       memory_order_relaxed);
}

/* Contended: spin a little (the holder is usually running), then sleep. */
static __attribute__((noinline, cold, unused)) void mp_lock_slow(mp_lock_t *l)
{
	for (int k = 0; k < 100; k++) {
		if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 && mp_trylock(l))
			return;
		cpu_relax();
	}
	while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
		mp_lock_futex(l, FUTEX_WAIT, 2);
}

static inline void mp_lock(mp_lock_t *l)
{
	if (likely(mp_trylock(l)))
		return;
	mp_lock_slow(l);
}

static inline void mp_unlock(mp_lock_t *l)
{
	if (unlikely(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2))
		mp_lock_futex(l, FUTEX_WAKE, 1);
}

#endif
