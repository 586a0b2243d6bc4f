/* SPDX-License-Identifier: MIT */
/*
 * The Phoenix thread priority (0 highest .. 7, 4 by default), kept per
 * thread in libmsgport so that the Phoenix front-end (phoenix.c) can put
 * the sender's priority into msg.priority, and set by libmsgport-phoenix's
 * priority() and beginthreadex() (phoenix_os_threads.c).
 */
#ifndef MSGPORT_API_COMPAT_PHOENIX_OS_H
#define MSGPORT_API_COMPAT_PHOENIX_OS_H

#include <msgport.h>

#define MP_PHX_PRIO_MAX 7	/* the lowest; the kernel has 8 ready queues */
#define MP_PHX_PRIO_DEFAULT 4

/* The calling thread's priority. */
MP_API int mp_phx_thread_priority(void);

/* Set it: 0, or -EINVAL when prio is not 0..MP_PHX_PRIO_MAX. */
MP_API int mp_phx_thread_priority_set(int prio);

#endif /* MSGPORT_API_COMPAT_PHOENIX_OS_H */
