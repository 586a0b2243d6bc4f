/* SPDX-License-Identifier: MIT */
/*
 * Pulses on a port of this process (conn/pulse.c): a bounded table of
 * pending pulses, coalesced per (source, code), that the receive loop
 * hands out as MP_RECV_PULSE; the pulse boards of clients (proto/pulse.h)
 * drained into it; disconnect notices and watches of other ports.
 *
 * Lock: the table's own lock (pulse lock) is a leaf, taken alone or under
 * p->lock (a connection accepted or dropped), never the other way round.
 */
#ifndef MP_CONN_PULSE_H
#define MP_CONN_PULSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"

struct mp_port_obj;
struct mp_sconn;
struct mp_rx;

/* Pending pulses a port holds at most (every source together): about 48
 * bytes each.  A full table holds client pulses back on their boards and
 * refuses local ones with -ENOSPC. */
#define MP_PULSE_PENDING_MAX 4096u

/* Sources (the coalescing key's first half): a client's board is its
 * connection's epoll key (< 2^63); the library's own have the top bit. */
#define MP_PULSE_SRC_LIB (1ull << 63)
#define MP_PULSE_SRC_DISCONNECT (MP_PULSE_SRC_LIB | 1ull << 62)	/* | pid */
#define MP_PULSE_SRC_WATCH (MP_PULSE_SRC_LIB | 1ull << 61)		/* | watched port */
#define MP_PULSE_SRC_FD (MP_PULSE_SRC_LIB | 1ull << 60)		/* | FD source id */

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

/* --- hooks of the port and its receive loop (conn/port.c, port_rx.c) --- */

/* A new port's pulse state (opts may be NULL): 0 or -errno. */
int mp_pulse_port_init(struct mp_port_obj *p, const mp_port_opts_t *opts);
/* Free it (the port is being freed; a fork child: epfd may be gone). */
void mp_pulse_port_free(struct mp_port_obj *p);
/* A connection joined / left the port (under p->lock): disconnect counts,
 * the connection's board. */
void mp_pulse_conn_added(struct mp_port_obj *p, struct mp_sconn *c);
void mp_pulse_conn_gone(struct mp_port_obj *p, struct mp_sconn *c);

/* Whether an epoll key is one of ours (the pending fd, a board, a watch). */
bool mp_pulse_key(uint64_t key);
/* Handle an event of ours: MP_NEXT_PULSE when a pulse is pending, else 2. */
int mp_pulse_event(struct mp_port_obj *p, uint64_t key);
/* What mp_port_next() returns when a pulse waits. */
#define MP_NEXT_PULSE 3
/* Whether a pulse is pending (a relaxed hint, no lock). */
bool mp_pulse_pending(struct mp_port_obj *p);

/* A HELLO that hands over a pulse board: true when rx is one. */
bool mp_pulse_is_hello(const struct mp_rx *rx);
/* Take the board over (under p->lock): 0 or -EPROTO / -errno (then the
 * caller drops the connection). */
int mp_pulse_board_attach_locked(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx);

/* Take the oldest pending pulse into msg: MP_RECV_PULSE, or 0 when none. */
int mp_pulse_take(struct mp_port_obj *p, mp_msg_t *msg);

#endif
