/* SPDX-License-Identifier: MIT */
/*
 * Thread priorities on msgport's scale, 0 (highest) .. MP_PRIO_MAX (7):
 *
 *   SCHED_FIFO/RR  rt priority 75-99 -> 0, 50-74 -> 1, 25-49 -> 2, 1-24 -> 3
 *   SCHED_OTHER/BATCH  nice <= 0 -> 4 (the default), 1-6 -> 5, 7-13 -> 6,
 *                      14-19 -> 7;  SCHED_IDLE -> 7
 *
 * The calling thread's is cached per thread (no system call on a send's
 * fast path): read again on the thread's first use, whenever the caller
 * asks (mp_prio_refresh(): every send of the general path), when about
 * 2^26 ticks of mp_ticks() (tens of ms) went by since the last read, and
 * when the library sets it (mp_prio_set()).  Linux-only (sched_getscheduler
 * and getpriority on the thread id).
 */
#ifndef MP_OS_PRIO_H
#define MP_OS_PRIO_H

#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"
#include "os/compiler.h"
#include "os/deadline.h"

#define MP_PRIO_STALE_TICKS (1ull << 26)

struct mp_prio_cache {
	uint64_t at;		/* mp_ticks() of the last read; 0: never read */
	uint32_t prio;		/* on the scale */
};
extern _Thread_local struct mp_prio_cache mp_prio_tls;

/* Read the thread's priority now (two system calls) and cache it. */
uint32_t mp_prio_refresh(void);

/* The calling thread's priority, cached (see above). */
static inline uint32_t mp_prio_thread(void)
{
	if (unlikely(mp_ticks() - mp_prio_tls.at > MP_PRIO_STALE_TICKS))
		return mp_prio_refresh();
	return mp_prio_tls.prio;
}

/* Map a policy and its rt priority or nice value onto the scale. */
uint32_t mp_prio_map(int policy, int rtprio, int nice);

/* Make the calling thread run at prio (on the scale: 0-3 SCHED_FIFO at
 * rt 87, 62, 37, 12; 4-7 SCHED_OTHER at nice 0, 3, 10, 19): 0 or -errno
 * (-EPERM without the right), the thread unchanged on failure. */
int mp_prio_set(uint32_t prio);

/* The calling thread's scheduling, saved exactly, and put back. */
struct mp_prio_saved {
	int policy, rtprio, nice;
};
int mp_prio_save(struct mp_prio_saved *s);
int mp_prio_restore(const struct mp_prio_saved *s);

/* Whether this process may put a thread back to any priority it had after
 * lowering it (CAP_SYS_NICE, or RLIMIT_NICE allowing nice 0 and RLIMIT_RTPRIO
 * allowing its rt priority). */
int mp_prio_can_restore(void);

/*
 * The best priority process pid could give one of its threads, from
 * /proc/PID/status (CapEff: CAP_SYS_NICE gives 0) and /proc/PID/limits
 * (the hard "Max realtime priority" mapped as above, else 4: any thread
 * may keep nice 0).  What the peer cannot read or we cannot parse: 4.
 */
uint32_t mp_prio_peer_best(pid_t pid);

#endif
