/* SPDX-License-Identifier: MIT */
/*
 * The server side of mp_pulse_on_fd() for a client of another process
 * (api/pulse_fd.c): mp_recv() hands it the calls of the library-reserved
 * types MP_MT_PULSE_FD_* (conn/pulse_fd.h), which it answers itself.
 */
#ifndef MP_API_PULSE_FD_H
#define MP_API_PULSE_FD_H

#include <stdbool.h>

#include "conn/pulse_fd.h"
#include "os/compiler.h"

struct mp_port_obj;

/* Whether a received message is a registration of ours (then call
 * mp_pulse_fd_serve()). */
static inline bool mp_pulse_fd_msg(const mp_msg_t *msg)
{
	return unlikely(msg->type - MP_MT_PULSE_FD_ADD < 2);
}

/* Serve the message mp_recv() just took (kind: 0 a call with rid, 1 a
 * one-way): registered or refused, answered, its fds closed; never the
 * user's.  Always leaves msg zeroed. */
void mp_pulse_fd_serve(mp_port_t port, struct mp_port_obj *p, mp_msg_t *msg, mp_rid_t rid,
		       int kind);

#endif
