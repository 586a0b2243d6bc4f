/* SPDX-License-Identifier: MIT */
/*
 * Pulses on a port of this process (conn/pulse.c): a bounded table of
 * pending pulses, coalesced per (source, code), that the receive loop
 * hands out as MP_RECV_PULSE; the pulse boards of clients (proto/pulse.h)
 * drained into it; disconnect notices and watches of other ports.
 *
 * The state itself lives below the port, in conn/pulseq.h.
 */
#ifndef MP_CONN_PULSE_H
#define MP_CONN_PULSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"
#include "conn/port.h"
#include "conn/pulseq.h"
#include "os/compiler.h"
#include "os/shm.h"

struct mp_port_obj;
struct mp_sconn;
struct mp_rx;

/* Pending pulses a port holds at most: MP_PULSE_PENDING_MAX (msgport.h),
 * every source together, 48 bytes each.  A full table holds client pulses
 * back on their boards and refuses local ones with -ENOSPC. */

/*
 * Queue a pulse on a port of this process (coalesced per (source, code):
 * a pending one takes the new value and counts one more merge); never
 * blocks; the receive loop hands it out as MP_RECV_PULSE.  source
 * identifies the sender for coalescing (a connection, a watched port, an
 * fd source: MP_PULSE_SRC_*); creds are the sender's.
 * 0, or -EPIPE the port is destroyed, -ENOSPC the table is full.
 */
int mp_port_pulse_local(struct mp_port_obj *p, uint64_t source, uint32_t code, uint64_t value,
			pid_t pid, uid_t uid, gid_t gid);

/* --- the receive loop's hooks (conn/port_rx.c, api/recv.c) --- */

/* Whether a pulse is pending (a relaxed hint, no lock). */
bool mp_pulse_pending(struct mp_port_obj *p);
/* Whether the receive loop should hand out a pulse before looking at the
 * rings: when one is pending, every other time (calls and pulses take
 * turns: neither starves the other).  Inline: the receive loop asks at
 * every turn, and nearly always nothing is pending. */
static inline bool mp_pulse_turn(struct mp_port_obj *p)
{
	struct mp_pulse_port *pp = p->pulse;

	if (likely(!load_relaxed(&pp->npending)))	/* a hint */
		return false;
	/* relaxed: fairness between pulses and calls is a hint */
	return !(fetch_add_relaxed(&pp->turn, 1) & 1);
}

/* Handle an event of ours (mp_pulse_key): MP_NEXT_PULSE when a pulse is
 * pending, else 2. */
int mp_pulse_event(struct mp_port_obj *p, uint64_t key);

/* A HELLO that hands over a pulse board: true when rx is one. */
bool mp_pulse_is_hello(const struct mp_rx *rx);
/* Take the board over (under p->lock): 0 or -EPROTO / -errno (then the
 * caller drops the connection). */
int mp_pulse_board_attach_locked(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx);

/* Take the oldest pending pulse into msg: MP_RECV_PULSE, or 0 when none. */
int mp_pulse_take(struct mp_port_obj *p, mp_msg_t *msg);

#endif
