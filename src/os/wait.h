/* SPDX-License-Identifier: MIT */
/*
 * Adaptive waiting: spin, then yield, then block.
 *
 * On a 2-core VM a cache line crosses cores in ~60 ns while a blocking
 * wake-up costs ~20 us, so a waiter first spins for about the cost of a
 * wake-up (competitive spinning), yields a little, and only then sleeps.
 * When the peer last ran on our own CPU, spinning only burns the time
 * slice the peer needs: hand the CPU over with sched_yield() instead.
 *
 * MSGPORT_WAIT=adaptive (default) | spin (never block while the deadline
 * allows) | block (sleep at once); MSGPORT_SPIN_US sets the spin budget.
 */
#ifndef MP_WAIT_H
#define MP_WAIT_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "os/compiler.h"
#include "os/deadline.h"
#include "os/shm.h"

enum mp_wait_mode {
	MP_WAIT_ADAPTIVE = 0,
	MP_WAIT_SPIN = 1,
	MP_WAIT_BLOCK = 2,
};

struct mp_wait_policy {
	int mode;
	int64_t spin_ns;	/* pause-spinning budget */
	int64_t yield_ns;	/* sched_yield budget after it */
};

/* The process-wide policy, read from the environment once. */
const struct mp_wait_policy *mp_wait_policy(void);

struct mp_spin {
	const struct mp_wait_policy *pol;
	int64_t start;
	unsigned iter;
	bool same_cpu;
};

/* 1 when rdtscp's TSC_AUX holds the CPU number (Linux writes cpu |
 * node << 12 there), checked once against sched_getcpu() by
 * mp_wait_policy(); until then, or when it did not match, 0. */
extern _Atomic int mp_cpu_aux_ok;

/* The CPU this thread runs on, for the peer's same-CPU test (a hint:
 * [H1]): rdtscp costs one instruction where sched_getcpu() costs a call
 * and some thirty. */
static inline int32_t mp_cpu_now(void)
{
#if defined(__x86_64__)
	if (likely(load_relaxed(&mp_cpu_aux_ok))) {
		unsigned aux;

		(void)__builtin_ia32_rdtscp(&aux);
		return (int32_t)(aux & 0xfff);
	}
#endif
	return (int32_t)sched_getcpu();
}

static inline void mp_spin_init(struct mp_spin *s, int peer_cpu)
{
	s->pol = mp_wait_policy();
	s->start = 0;
	s->iter = 0;
	s->same_cpu = peer_cpu >= 0 && peer_cpu == mp_cpu_now();
}

/* The time since the first step, read every 64 steps (clock reads cost). */
static inline int64_t mp_spin_elapsed(struct mp_spin *s)
{
	int64_t now = mp_now_ns();

	if (!s->start)
		s->start = now;
	return now - s->start;
}

/* One step of waiting: true to poll again, false to block now. */
static inline bool mp_spin_step(struct mp_spin *s)
{
	const struct mp_wait_policy *pol = s->pol;
	int64_t el;

	if (pol->mode == MP_WAIT_BLOCK)
		return false;
	if (pol->mode == MP_WAIT_SPIN) {
		if (s->same_cpu)
			sched_yield();
		else
			cpu_relax();
		return true;
	}
	if (!s->same_cpu && (s->iter++ & 63) != 0) {
		cpu_relax();
		return true;
	}
	el = mp_spin_elapsed(s);
	if (!s->same_cpu && el < pol->spin_ns) {
		cpu_relax();
		return true;
	}
	if (el < pol->spin_ns + pol->yield_ns) {
		sched_yield();
		return true;
	}
	return false;
}

#endif
