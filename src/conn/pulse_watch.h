/* SPDX-License-Identifier: MIT */
/* Watches of other ports on a notify port of ours (conn/pulse_watch.c). */
#ifndef MP_CONN_PULSE_WATCH_H
#define MP_CONN_PULSE_WATCH_H

#include "msgport.h"

struct mp_pulse_port;

/* Watch watched with fd, a connection to it (taken: closed on failure
 * too): its hang-up queues (code, watched) on notify.  0, -ENOSPC. */
int mp_pulse_watch_add(struct mp_pulse_port *notify, mp_port_t watched, uint32_t code, int fd);
/* 0, or -ENOENT no such watch. */
int mp_pulse_watch_remove(struct mp_pulse_port *notify, mp_port_t watched);

#endif
