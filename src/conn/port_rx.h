/* SPDX-License-Identifier: MIT */
/*
 * The receive loop of a port (conn/port_rx.c): mp_recv() brackets its wait
 * with mp_port_enter()/mp_port_leave(), which keep the waiting counts and
 * the doorbell that clients read, and takes messages with mp_port_next().
 */
#ifndef MP_PORT_RX_H
#define MP_PORT_RX_H

#include <stdbool.h>

#include "conn/port.h"
#include "os/deadline.h"

/* A receiver arrives (polling: timeout 0, it counts for nobody). */
void mp_port_enter(struct mp_port_obj *p, bool polling);
/* Wait for the next message: 1 got one (from *from, referenced),
 * MP_NEXT_PULSE a pulse waits (conn/pulse.h: mp_pulse_take), or
 * -EAGAIN / -ETIMEDOUT / -EPIPE / -ENOMEM. */
int mp_port_next(struct mp_port_obj *p, struct mp_rx *rx, struct mp_sconn **from,
		 struct mp_deadline d, bool polling);
/* The receiver leaves: an event loop's fd is made readable for what came. */
void mp_port_leave(struct mp_port_obj *p, bool polling);

#endif
