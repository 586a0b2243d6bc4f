/* SPDX-License-Identifier: MIT */
/*
 * Deadlines: a relative timeout (ns; 0 polls, MP_FOREVER waits) turned
 * into an absolute CLOCK_MONOTONIC time once, so that loops which wait
 * several times never stretch the caller's limit.
 */
#ifndef MP_DEADLINE_H
#define MP_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct mp_deadline {
	int64_t at_ns;	/* absolute monotonic time; -1 = never */
};

static inline int64_t mp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * A cheap clock for "was this held a while": the TSC where there is one
 * (a few ns, no system call), else the monotonic clock in ns.
 * MP_TICKS_HELD is about 20 us at 2.5 GHz.
 */
static inline uint64_t mp_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return (uint64_t)mp_now_ns();
#endif
}

#define MP_TICKS_HELD 50000u

/* A timeout is valid when >= 0 or exactly MP_FOREVER (-1). */
static inline bool mp_timeout_valid(int64_t timeout_ns)
{
	return timeout_ns >= -1;
}

static inline struct mp_deadline mp_deadline_in(int64_t timeout_ns)
{
	struct mp_deadline d = { .at_ns = -1 };

	if (timeout_ns >= 0)
		d.at_ns = timeout_ns > INT64_MAX - mp_now_ns() ? INT64_MAX : mp_now_ns() + timeout_ns;
	return d;
}

static inline bool mp_deadline_forever(struct mp_deadline d)
{
	return d.at_ns < 0;
}

/* Milliseconds left for poll(2)/epoll_wait(2), rounded up; -1 = forever. */
static inline int mp_deadline_ms(struct mp_deadline d)
{
	int64_t left;

	if (d.at_ns < 0)
		return -1;
	left = d.at_ns - mp_now_ns();
	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > 1000000000 ? 1000000000 : (int)left;
}

#endif
