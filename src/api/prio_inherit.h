/* SPDX-License-Identifier: MIT */
/*
 * MP_PORT_PRIO_INHERIT (msgport.h): the thread that received a call runs
 * at the caller's priority until it answers that call (mp_respond) or
 * calls mp_recv() again, whichever comes first; then its own is put back
 * exactly (policy, rt priority, nice).  Without such a port in the
 * process, a receive or an answer costs one load of a counter (and no
 * access to thread-local storage).
 */
#ifndef MP_API_PRIO_INHERIT_H
#define MP_API_PRIO_INHERIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "msgport.h"
#include "os/compiler.h"
#include "os/shm.h"

/* Ports created with MP_PORT_PRIO_INHERIT in this process, ever: a hint
 * that a received call may need looking at. */
extern _Atomic uint32_t mp_inherit_ports;
/* The call this thread runs at its caller's priority for, 0 none. */
extern _Thread_local mp_rid_t mp_inherit_rid;

/* A call (rid) of priority prio was received on port: when port inherits,
 * run at prio (best effort: a priority the process may not set leaves
 * the thread as it was). */
void mp_inherit_begin(mp_port_t port, mp_rid_t rid, uint32_t prio);
/* Put the thread's own priority back. */
void mp_inherit_end(void);

#endif
