/* SPDX-License-Identifier: MIT */
/*
 * The pulse state of a port, below the port (conn/pulseq.c: the table,
 * conn/pulse_board.c: clients' boards, conn/pulse_watch.c: watches): what
 * conn/port.c calls, knowing no port object.  conn/pulse.h is the port's
 * view.  Everything in struct mp_pulse_port is under pp->lock (a leaf:
 * taken alone or under p->lock).
 */
#ifndef MP_CONN_PULSEQ_H
#define MP_CONN_PULSEQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"
#include "os/lock.h"
#include "proto/pulse.h"
#include "transport/transport.h"

/* Sources (the coalescing key's first half): a client's board is its
 * connection's epoll key (< 2^63); the library's own have the top bit. */
#define MP_PULSE_SRC_LIB (1ull << 63)
#define MP_PULSE_SRC_DISCONNECT (MP_PULSE_SRC_LIB | 1ull << 62)	/* | pid */
#define MP_PULSE_SRC_WATCH (MP_PULSE_SRC_LIB | 1ull << 61)		/* | watched port */
#define MP_PULSE_SRC_FD (MP_PULSE_SRC_LIB | 1ull << 60)		/* | FD source id */
/* What mp_port_next() returns when a pulse waits. */
#define MP_NEXT_PULSE 5	/* not 1, 2, MP_NEXT_FAST (3), DELIVER_SKIP (4) */

/* epoll keys of ours: generation 0, which no connection has. */
#define MP_KEY_PULSE 0xfffffffcull		/* the pending eventfd */
#define MP_KEY_BOARD 0x40000000ull		/* | board index */
#define MP_KEY_WATCH 0x20000000ull		/* | watch index */
#define MP_KEY_FD 0x10000000ull			/* reserved: fd sources (mp_pulse_on_fd):
						 * add it to mp_pulse_key() and the event */
#define MP_KEY_INDEX 0x0fffffffull

struct mp_pulse_pending {
	uint64_t source;
	uint32_t code, count;
	uint64_t value;
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* A client's board, as the server holds it. */
struct mp_pulse_bd {
	uint64_t conn_key;		/* its connection (mp_sconn_key): the source */
	struct mp_pulse_board *map;	/* the client's memory: read once per use */
	int efd;			/* the client's eventfd (its wake-up), edge-triggered */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t seen[MP_PULSE_CODES];	/* each slot's total delivered (private) */
};

struct mp_pulse_watch {
	mp_port_t watched;		/* 0: free */
	uint32_t code;
	int fd;				/* our connection to watched: the lifeline */
};

struct mp_pid_count {
	pid_t pid;
	uint32_t n;
};

struct mp_pulse_port {
	mp_lock_t lock;
	_Atomic uint32_t npending;	/* n, for unlocked hints */
	_Atomic uint32_t turn;		/* alternates pulses with calls */
	int efd;			/* readable while n > 0: makes the port fd readable */
	int epfd;			/* the port's epoll set */
	bool disconnect;		/* MP_PORT_DISCONNECT_PULSES */
	bool retry;			/* boards to drain again: the table was full, or a
					 * client kept pulsing through every round */
	struct mp_pulse_pending *q;	/* oldest first */
	uint32_t n, cap;
	struct mp_pulse_bd **boards;
	uint32_t nboards;		/* slots in boards (some NULL) */
	struct mp_pid_count *pids;
	uint32_t npids, cappids;
	struct mp_pulse_watch *watches;	/* MP_WATCH_MAX, allocated at the first */
};

/* A new port's pulse state, its pending fd in epfd: 0 or -errno (*out
 * is set either way: free it with mp_pulse_port_free). */
int mp_pulse_port_init(struct mp_pulse_port **out, int epfd, bool disconnect);
/* epoll_too false: a fork child, whose copy of the epoll set is closed. */
void mp_pulse_port_free(struct mp_pulse_port *pp, bool epoll_too);
/* A connection joined / left (under the port lock): disconnect counts,
 * its board; dead: the port is being destroyed (no notice). */
void mp_pulse_conn_added(struct mp_pulse_port *pp, pid_t pid);
void mp_pulse_conn_gone(struct mp_pulse_port *pp, uint64_t key, pid_t pid, uid_t uid, gid_t gid,
			bool dead);
/* Whether an epoll key is one of ours (the pending fd, a board, a watch). */
static inline bool mp_pulse_key(uint64_t key)
{
	return key == MP_KEY_PULSE ||
	       (!(key >> 32) && ((key & ~MP_KEY_INDEX) == MP_KEY_BOARD ||
				 (key & ~MP_KEY_INDEX) == MP_KEY_WATCH));
}
/* Handle an event of ours: MP_NEXT_PULSE when a pulse is pending, else 2. */
int mp_pulseq_event(struct mp_pulse_port *pp, uint64_t key);
/* Take the oldest pending pulse into msg: MP_RECV_PULSE, or 0 when none. */
int mp_pulseq_take(struct mp_pulse_port *pp, mp_msg_t *msg);
/* Take over the board a HELLO brought (connection key, its creds): 0 or
 * -EPROTO / -errno (then the caller drops the connection). */
int mp_pulse_board_attach(struct mp_pulse_port *pp, uint64_t key, pid_t pid, uid_t uid, gid_t gid,
			  struct mp_rx *rx);

/* Queue into the table (coalescing): 0 or -ENOSPC / -ENOMEM. */
int mp_pulse_queue_locked(struct mp_pulse_port *pp, uint64_t source, uint32_t code,
			  uint64_t value, uint32_t count, pid_t pid, uid_t uid, gid_t gid);
/* Drain every board again soon: at the next take, or, when nothing is
 * pending, at the pending fd's next event (written for it). */
void mp_pulse_retry_locked(struct mp_pulse_port *pp);
/* Boards (conn/pulse_board.c). */
void mp_pulse_board_drain_locked(struct mp_pulse_port *pp, struct mp_pulse_bd *b);
void mp_pulse_board_free(struct mp_pulse_port *pp, struct mp_pulse_bd *b, bool epoll_too);
/* A watch's socket fired (conn/pulse_watch.c). */
void mp_pulse_watch_event_locked(struct mp_pulse_port *pp, uint32_t idx);
void mp_pulse_watches_free(struct mp_pulse_port *pp, bool epoll_too);

#endif
