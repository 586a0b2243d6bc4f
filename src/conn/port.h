/* SPDX-License-Identifier: MIT */
/*
 * Ports owned by this process: the table that maps numbers to port
 * objects, each port's listening socket, epoll set, client connections
 * and outstanding calls (rids).  A port object lives while referenced
 * (mp_port_get/mp_port_put) or held by a call (mp_port_hold, below): a
 * destroyed port stays allocated until its last blocked receiver has left.
 *
 * THE LOCK ORDER of the whole library.  A thread that holds a lock of
 * this list takes only locks further down it; the "leaf" locks take
 * nothing at all while held.
 *
 *  1. ROOT/ns.lock      flock(LOCK_EX) on a new open file description per
 *                       call (ns/ns.c ns_lock), so it excludes the other
 *                       threads of this process as well as other
 *                       processes.  Guards changes to the namespace entries
 *                       (ROOT/ns/..., ROOT/ns-root): taking over a stale
 *                       entry, unregistering, removing a destroyed port's
 *                       entries.  Taken with no mutex held: mp_port_destroy
 *                       takes the port out of the table, lets ns/ remove
 *                       its entries, and only then takes the port's lock.
 *  1b. ROOT/phx.UID    flock(LOCK_EX) on the Phoenix-mode name directory
 *                       (ns/phx.c), per register or unregister of a Phoenix
 *                       name: taken with no other lock held, nothing taken
 *                       under it.  Leaf.
 *  2. ns owner table    own_lock (ns/owner.c): this process's port
 *                       incarnations and the paths registered to each.
 *                       Taken alone, or under 1.  Leaf.
 *  3. mp_ports_lock     (conn/port.c) the port table and the ports'
 *                       reference counts.  Leaf.
 *  3b. pulse-fd lock   (conn/pulse_fd.c, one per port that has fd sources) the
 *                       sources: taken with no other lock held; the pulse
 *                       table's lock is taken under it (mp_port_pulse_local).
 *  4. p->lock           (conn/port.c, one per port, os/lock.h) its connection table
 *                       and the connections' reference counts, its rid
 *                       table, the ring scan position, listen_fd, inside.
 *                       Held while a ring is scanned (srv_recv) and while
 *                       a connection or call is dropped, hence over 6, 7.
 *                       A fast call (conn/fastslot.h) is taken under it
 *                       and answered without it (its slot's word, CAS).
 *                       The fast path only tries it (mp_trylock).
 *  4b. pulse lock     (conn/pulse.c, one per port) its pending pulses, its
 *                       clients' pulse boards, its watches.  Taken alone or
 *                       under 4 (a connection accepted or dropped).  Leaf.
 *  5. txlock            (transport/ring/, os/lock.h, one per ring connection, server
 *                       side) the reply ring's producer side and the bulk
 *                       area's s2c half.  Taken by mp_respond with no other
 *                       lock held, or, for the short answer to a short call
 *                       (api/respond.c reply_short_locked), under 4.  Leaf.
 *  6. pg_lock           (mem/pages.c, mp_pg_lock) the table of page regions.  Leaf:
 *                       the hook to the connections (mp_pages_on_shared_
 *                       freed) runs after it is dropped.
 *  7. buf_lock          (mem/data.c) the cache of mapped buffers.  Leaf.
 *  8. rids.lock         (api/compat/phoenix.c) the Phoenix rid keys.  Taken
 *                       alone.  Leaf.
 *  8b. pulse_lock     (api/pulse.c) this process's own pulse boards (one per
 *                       port it pulses).  Taken alone.  Leaf.
 *  9. tls_list_lock     (conn/tls.c) the list of every thread's state: taken
 *                       alone (a thread's first call, its exit, a destroy's
 *                       wait for the port's users: ports_wait_unused()).
 *                       Leaf; a fork child keeps only its own thread's.
 * 10. peer_lock         (conn/peer.c) the credentials of connected peers
 *                       (groups, labels): taken alone, or under 4 when a
 *                       connection is freed.  Leaf; held across fork, the
 *                       child forgets every peer.
 *     (api/compat/moroso.c has no lock: its state is per thread.)
 *
 * Not in the order, since nobody waits for them: the port files' OFD
 * locks (ns/portfile.c), byte 0 (the number is claimed) and byte 1 (the
 * port is live), taken with F_OFD_SETLK, which never blocks, and held by
 * the port file's descriptor for the port's life; others only probe them
 * (F_OFD_GETLK).
 *
 * Across fork: 2, 3, 6, 7, 8 and 9 are held by their atfork handlers, taken
 * one after another in whatever order the handlers were registered, which
 * is safe only because all six are leaves.  The child forgets every port
 * (3, 4, and the port files' descriptors, whose OFD locks would otherwise
 * live on in it), every owner entry (2) and every Phoenix rid (8), and
 * keeps the page table (6) and the kept buffers (7).  1 may be held by another thread at fork: it
 * is released with LOCK_UN, which releases the child's inherited copy
 * too.  4 and 5 are not held across fork: the child re-initialises or
 * frees them without taking them.
 */
#ifndef MP_PORT_H
#define MP_PORT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "ns/portfile.h"
#include "mem/portpage.h"
#include "conn/fastslot.h"
#include "conn/rid.h"
#include "conn/stats.h"
#include "conn/tls.h"
#include "os/lock.h"
#include "os/shm.h"
#include "transport/transport.h"

struct mp_port_obj {
	struct mp_port_obj *next;	/* in the table */
	unsigned refs;			/* under mp_ports_lock */
	mp_lock_t lock;			/* os/lock.h */
	_Atomic bool dead;		/* destroyed: receivers leave (read unlocked) */
	bool input_in_place;		/* MP_PORT_INPUT_IN_PLACE */
	bool prio_inherit;		/* MP_PORT_PRIO_INHERIT (api/prio_inherit.h) */
	struct mp_portfile pf;
	char root[MP_ROOT_MAX];
	char sock_path[MP_ROOT_PATH_MAX];
	int listen_fd;
	int epfd;			/* what mp_port_fd() returns */
	int shut_efd;			/* written once at destroy */
	int page_fd;			/* the port page, handed to ring clients */
	struct mp_port_page *page;
	_Atomic uint32_t npolled;	/* connections on polled transports (read unlocked) */
	uint32_t scan_pos;		/* where the next ring scan starts, in polled[] */
	struct mp_sconn **polled;	/* the live connections on polled transports, dense:
					 * what a ring scan walks (under the lock) */
	uint32_t polled_n, polled_cap;
	int kick_efd;			/* makes the port fd readable (port_leave) */
	_Atomic bool fd_used;		/* mp_port_fd() was asked for */
	_Atomic bool unattended;	/* counted in page->doorbell: nobody scans */
	uint32_t inside;		/* receivers in mp_recv(), when fd_used */
	_Atomic int32_t peer_cpu;	/* CPU of the last ring client served: a hint */
	_Atomic uint32_t event_tick;	/* ring scans since the epoll set was looked at */
	uint32_t conn_gen;
	struct mp_sconn **conns;
	uint32_t nconns;		/* slots in conns */
	uint32_t nlive;			/* connections in conns but pulse boards': more
					 * than polled_n, a socket one is (conn/rxprio.h) */
	struct mp_rid_table rids;
	struct mp_fast_call *fast;	/* MP_FAST_SLOTS, by connection index (conn/fastslot.h) */
	struct mp_pulse_port *pulse;	/* pending pulses, boards, watches (conn/pulse.c) */
	struct mp_stats_page *stats;	/* counters and clients, for mp_stat() (conn/stats.h) */
	_Atomic(struct mp_pulse_fds *) pulse_fds;	/* conn/pulse_fd.c, made at first use */
};

/* Frees a port's pulse_fds (set by conn/pulse_fd.c when it makes one). */
struct mp_pulse_fds;
extern void (*mp_port_pulse_fds_free)(struct mp_pulse_fds *t);

/* epoll keys: a connection's is gen << 32 | slot (gen >= 1). */
#define MP_KEY_LISTEN 0xfffffffeull
#define MP_KEY_SHUTDOWN 0xffffffffull
#define MP_KEY_KICK 0xfffffffdull
/* Set in a connection's key for its doorbell (ring transports). */
#define MP_KEY_DOORBELL 0x80000000ull

struct mp_tls;

/*
 * A port held for the length of one call (mp_recv, mp_respond), without
 * the table's lock or a reference: the thread's last lookup is cached
 * (tls->pc_*), good while the table's generation has not changed, and the
 * port is marked as in use by the thread (tls->port_inuse, a hazard
 * pointer).  Taking a port out of the table bumps the generation; its
 * destroy waits, before dropping the table's reference, until no thread
 * marks it:
 *
 *    caller (mp_port_hold)                   destroy (unpublish, shutdown)
 *    store_relaxed(port_inuse, p)            gen++ (under mp_ports_lock)
 *    [P1] full_fence()   <-- Dekker -->      [P1] full_fence()
 *    gen unchanged ? use p : slow lookup     every thread's port_inuse == p ? wait
 *    ... use p ...
 *    [P2] store_release(port_inuse, 0) ----> [P2] load_acquire(port_inuse)
 *
 * Either the caller sees the new generation (and looks again, under the
 * lock, where the port is gone), or the destroy sees the mark and waits;
 * the port is dead by then, so its users leave.  NULL: no such port.
 * One port per thread at a time: when tls->port_inuse is set already
 * (nested), use mp_port_get() instead.
 */
struct mp_port_obj *mp_port_hold(mp_port_t port, struct mp_tls *tls);
void mp_port_unhold(struct mp_tls *tls);

/* Reference to a port of this process, or NULL. */
struct mp_port_obj *mp_port_get(mp_port_t port);
void mp_port_put(struct mp_port_obj *p);

/* The port for one call: held without a lock (mp_port_hold), or, when
 * this thread holds one already (a call inside a call), referenced.
 * mp_port_done() undoes whichever it was. */
static inline struct mp_port_obj *mp_port_find(mp_port_t port, struct mp_tls *tls, bool *held)
{
	*held = !load_relaxed(&tls->port_inuse);	/* our own field: no order */
	return *held ? mp_port_hold(port, tls) : mp_port_get(port);
}

/* This thread's state and the port for one call (mp_port_find): 0, or
 * -ENOMEM (no thread state) or -ENOENT (no such port of this process). */
static inline int mp_port_find_mine(mp_port_t port, struct mp_tls **tls, struct mp_port_obj **p,
				    bool *held)
{
	*tls = mp_tls_get();
	if (!*tls)
		return -ENOMEM;
	*p = mp_port_find(port, *tls, held);
	return *p ? 0 : -ENOENT;
}

static inline void mp_port_done(struct mp_port_obj *p, struct mp_tls *tls, bool held)
{
	if (held)
		mp_port_unhold(tls);
	else
		mp_port_put(p);
}

/* Build a port (opts checked by the caller, may be NULL), live but not
 * yet in the table: nobody finds it until mp_port_publish(). */
int mp_port_build(const mp_port_opts_t *opts, struct mp_port_obj **out);
/* Free a built port that was never published. */
void mp_port_discard(struct mp_port_obj *p);
/* Put a built port in the table: mp_port_get() finds it from now on. */
void mp_port_publish(struct mp_port_obj *p);
/* Take port out of the table: the table's reference, or NULL when it is
 * not one of ours.  Nobody finds it afterwards. */
struct mp_port_obj *mp_port_unpublish(mp_port_t port);
/* Hang up an unpublished port's clients (blocked senders get -EPIPE),
 * close its socket and drop the table's reference.  Takes p->lock: call
 * it holding no other lock. */
void mp_port_shutdown(struct mp_port_obj *p);

/* Accept one pending client (-EAGAIN when none). */
int mp_port_accept(struct mp_port_obj *p);
/* The connection behind an epoll key, referenced, or NULL when gone. */
struct mp_sconn *mp_port_conn_get(struct mp_port_obj *p, uint64_t key);
/* A connection's epoll key: gen << 32 | slot (its doorbell's adds
 * MP_KEY_DOORBELL). */
static inline uint64_t mp_sconn_key(const struct mp_sconn *c)
{
	return (uint64_t)c->gen << 32 | c->idx;
}

/* Room for one more polled connection (under p->lock): 0 or -ENOMEM. */
int mp_port_poll_reserve_locked(struct mp_port_obj *p);
/* c now uses a polled transport: the ring scan walks it (room reserved). */
void mp_port_poll_add_locked(struct mp_port_obj *p, struct mp_sconn *c);

/* Connection references, under p->lock. */
void mp_sconn_put_locked(struct mp_port_obj *p, struct mp_sconn *c);
/* Drop a connection whose peer misbehaved or hung up. */
void mp_sconn_kill(struct mp_port_obj *p, struct mp_sconn *c);
void mp_sconn_kill_locked(struct mp_port_obj *p, struct mp_sconn *c);
/* A fork child frees c, its peer untouched (the parent's still). */
void mp_sconn_forget(struct mp_sconn *c);


#endif
