/* SPDX-License-Identifier: MIT */
/*
 * <sys/threads.h> of libphoenix on msgport: threads, mutexes and condition
 * variables of Phoenix-RTOS, on POSIX threads (libmsgport-phoenix).
 *
 * Every call returns EOK (0) or a negative errno, as on Phoenix.
 *
 *  - beginthreadex(start, prio, stack, stacksz, arg, &id) starts
 *    start(arg) in a new thread of priority prio (0 highest .. 7) and
 *    stores its thread id in *id (when id is not NULL).  The stack is the
 *    library's own: glibc keeps its thread descriptor and TLS on a stack
 *    it is given, which Phoenix-sized stacks (often a few KiB) cannot
 *    hold; stack and stacksz are accepted and left unused.  -EINVAL:
 *    prio over 7 or start NULL; -ENOMEM, -EAGAIN: no thread.
 *    The thread is detached: it ends by returning or by endthread().
 *  - priority(p): p = -1 gives the calling thread's priority, 0..7 sets it
 *    and gives it back, anything else -EINVAL.  Every thread starts at
 *    4 unless beginthreadex says otherwise.  The number is kept per
 *    thread for the messages it sends; Linux scheduling is not changed
 *    (real-time priorities need privileges ordinary processes lack).
 *  - handles: mutexCreate and condCreate give a handle_t > 0 of this
 *    process; resourceDestroy(h) frees it (-EINVAL for a handle that is
 *    not one).  Using a handle another thread is destroying is a bug, as
 *    on Phoenix.  A forked child has copies in the state they had.
 *  - mutexLock on a mutex the caller holds gives -EDEADLK; mutexUnlock of
 *    a mutex the caller does not hold gives -EPERM; mutexTry gives -EBUSY
 *    when held.  A handle of the wrong kind gives -EINVAL.
 *  - condWait(c, m, timeout): wait on c with m held, timeout in
 *    microseconds from now, 0 without limit; -ETIME when it passes
 *    (m is held again in every case).  condSignal wakes one waiter,
 *    condBroadcast all.
 */
#ifndef MSGPORT_PHOENIX_SYS_THREADS_H
#define MSGPORT_PHOENIX_SYS_THREADS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "../phoenix/types.h"

#ifdef __cplusplus
extern "C" {
#endif

extern int beginthreadex(void (*start)(void *), unsigned int priority, void *stack,
			 unsigned int stacksz, void *arg, handle_t *id);

__attribute__((noreturn)) extern void endthread(void);

/* beginthreadex without the id, as libphoenix. */
static inline int beginthread(void (*start)(void *), unsigned int priority, void *stack,
			      unsigned int stacksz, void *arg)
{
	return beginthreadex(start, priority, stack, stacksz, arg, NULL);
}

extern int priority(int priority);

extern int mutexCreate(handle_t *h);
extern int mutexLock(handle_t h);
extern int mutexTry(handle_t h);
extern int mutexUnlock(handle_t h);

extern int condCreate(handle_t *h);
extern int condWait(handle_t h, handle_t m, time_t timeout);
extern int condSignal(handle_t h);
extern int condBroadcast(handle_t h);

extern int resourceDestroy(handle_t h);

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_PHOENIX_SYS_THREADS_H */
