/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory protocol of the ring transports, whole: the rings,
 * the client's sleep flag, the port's doorbell count, the closed flags
 * and the waiting counts.  Every ordering point has a label; each site in
 * the code that does an acquire, a release, a fence or a seq_cst RMW cites
 * its label and what it pairs with.  Accessors: os/shm.h.  Fields that live
 * in shared memory are named shm_*.  Modelled in model/ring.pml and
 * model/port.pml (model/README.md maps their steps to these labels).
 *
 * Shared memory:
 *   ring region (struct mp_ring_region, below): one memfd per connection,
 *     made by the client, handed over in HELLO, mapped by both.  The c2s
 *     slots, s2c_head and the client line are written by the client; the
 *     s2c slots, c2s_head and the server line by the server;
 *   port page (struct mp_port_page, mem/portpage.h): one per port, written
 *     by the server, mapped read-only by each ring client (WELCOME);
 *   port file page (struct mp_portfile_page, ns/portfile.h): written by the
 *     port's owner, read by anyone through the file.
 *
 * 1. Ring: stamp and head.  Single-producer single-consumer rings of
 * cache-line slots.  Positions are free-running 64-bit counters; slot =
 * pos & (nslots - 1).  A message is a run of slots whose first word is a
 * stamp (odd, one per lap: ring_stamp_for()), so the consumer polls the
 * message itself rather than a separate tail index, and a round trip
 * moves only the message's cache lines:
 *
 *    producer                                    consumer
 *    --------                                    --------
 *    write slots [pos, pos + n) but the stamp
 *    [R1] store_release(stamp[pos], stamp(pos)) -> [R2] load_acquire(stamp[pos]) == stamp(pos) ?
 *                                                     validate, copy slots out
 *    [R4] h = load_acquire(shm_pos of head) <---- [R3] store_release(shm_pos of head, pos + n)
 *    (reuse slots below h)
 *
 * [R1] -> [R2]: the whole message is visible before its stamp is.
 * [R3] -> [R4]: the consumer has copied the slots out before the producer
 * may overwrite them.  The producer keeps a cached copy of head and
 * reloads it only when the copy says full; the client also reads head
 * ([R4], cli_taken) to tell whether a dead server took its message.
 *
 * 2. The client's sleep flag (region client.shm_sleeping).  The client
 * waits for a reply (s2c) or for room (c2s); the server wakes it through
 * its wake eventfd.  A Dekker handshake: either the client's re-check sees
 * the reply (the room), or the server sees the flag and writes the fd.
 *
 *    client (cli_sleep)                           server
 *    [S1] store_relaxed(shm_sleeping, 1)          publish a reply [R1] (srv_put_reply)
 *         full_fence()          <-- Dekker -->    or consume a one-way [R3] (srv_consumed)
 *         re-check: ring_ready [R2] or       [S2] full_fence()
 *         ring_has_space [R4]; else block         load_relaxed(shm_sleeping) ? write(wake_efd)
 *    [S3] store_relaxed(shm_sleeping, 0)
 *
 * The client blocks in one epoll_wait() on the set WELCOME gave it, which
 * holds the wake eventfd and, added by the client, its own socket (the
 * server's hang-up); poll() on both before WELCOME.  The server never
 * waits on that set.
 *
 * [S3] needs no order: a 1 seen late costs one spurious wake-up.  The
 * server also reads the flag, relaxed, to decide whether asking the kernel
 * about the client's death is worth it (srv_client_gone).
 *
 * 3. The server's doorbell (port page shm_doorbell): how many reasons
 * clients have to ring the port: receivers asleep in port_sleep(), plus
 * one while the port is "unattended" (an event loop waits on
 * mp_port_fd() and no receiver is inside mp_recv()).  A Dekker handshake
 * again, with a count on the server side:
 *
 *    client (cli_doorbell, after [R1])            receiver (port_sleep, conn/port_rx.c)
 *    [D1] full_fence()          <-- Dekker -->    [D2] fetch_add_fence(shm_doorbell, +1);
 *         load_relaxed(shm_doorbell) != 0 ?            full_fence()
 *           write(db_efd): an epoll edge               scan the rings [R2] under the port lock;
 *                                                      nothing: epoll_wait()
 *                                                 [D3] fetch_add_fence(shm_doorbell, -1)
 *
 * [D4] unattended_set(): the "unattended" one is added or taken back with
 *      fetch_add_fence, under the port lock, when the port changes hands
 *      between receivers and an event loop (mp_port_enter/mp_port_leave).
 * [D5] mp_port_leave(): after [D4] sets it, full_fence(), then look at the
 *      rings: a message published before its client could see the count
 *      kicks the port fd (pairs with [D1] as [D2] does).
 * [D6] wake_pass_on_locked(): doorbells coalesce, so a receiver that took
 *      a message passes the wake-up on when another waits and the count is
 *      above its own share (mine + unattended).  load_relaxed under the
 *      port lock: every sleeper's [D2] precedes its locked scan, so the
 *      lock orders the two.
 *
 * 4. Closed flags (region client.shm_closed, server.shm_closed).
 *    [C1] cli_free(): store_release(client.shm_closed, 1) before unmapping
 *         (not by a fork child: MP_CLOSE_INHERITED, the parent still uses
 *         it) -> [C2] srv_client_gone(): load_acquire(client.shm_closed)
 *         before a reply is published: a client that left makes the
 *         respond fail.
 *    [C3] ring_srv_closing(): store_release(server.shm_closed, 1) when the
 *         server drops the connection -> [C4] cli_send(), mp_ring_pages_freed():
 *         load_relaxed: a hint to reconnect before sending; it orders
 *         nothing (the socket's hang-up is the authority).
 *
 * 5. Waiting counts (port page and port file page shm_waiting).
 *    [W1] waiting_add() (conn/port_rx.c): fetch_add_relaxed on both when a
 *         receiver enters or leaves mp_recv().
 *    [W2] mp_ring_receiver_waiting(): load_relaxed of the port page's;
 *         mp_portfile_waiting(): of a pread() copy of the port file page.
 *    Hints (mp_send_async()'s 0 or 1, whether a zero-timeout call goes):
 *    nothing is ordered with them.
 *
 * 6. Set-up and hints.
 *    [I1] region_create(), mp_portpage_create(): fields stored relaxed
 *         while the memory is still private; the sendmsg() that hands the
 *         memfd over (HELLO, WELCOME) publishes them to the recvmsg() side.
 *    [I2] region_map_peer(): shm_magic and shm_nslots loaded once, relaxed,
 *         after mapping the memfd that came with the HELLO.
 *    [I3] port file page_init(): its fields stored relaxed, shm_magic last
 *         with store_release; readers copy the page with pread(), which is
 *         no acquire: mp_portfile_probe() after F_OFD_GETLK saw the ready
 *         lock (taken after page_init()), a client after connecting to the
 *         port's socket (which listens after page_init()), so the lock or
 *         the connection orders it; page_read() checks the copy's magic.
 *    [H1] shm_cpu: the CPU a side last ran on, relaxed both ways: a hint
 *         for spinning (os/wait.h); written only when it changes.
 *
 * 7. The input grant (proto/grant.h): the server's grant line, a cache
 * line of the header page (offset 5 * 64) written by the server only.
 *    [G1] grant_publish(): store_relaxed of shm_cap = 0, shm_addr, shm_pid,
 *         shm_cap, while the client waits for the answer to the call that
 *         made it; the reply's [R1] publishes it.
 *    [G2] mp_ring_grant_write(): load_relaxed of each once, at the next
 *         call, after the client took that reply [R2].  A hint: the client
 *         writes only its input, only into its socket's peer, and falls
 *         back when the write fails; the server checks a call that names
 *         the grant against its private copy.
 *
 * The other side may be hostile: a head it writes is validated on every
 * load, a stamp that is not exactly stamp(pos) is no message, slots are
 * copied to private memory before they are decoded, and every flag it
 * writes is read once per decision.
 */
#ifndef MP_RING_H
#define MP_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "os/compiler.h"
#include "os/shm.h"
#include "msgport.h"

#define MP_SLOT_SIZE 64u
#define MP_RING_SLOTS 256u	/* per direction: 16 KiB */
_Static_assert(MP_RING_SLOTS == MP_RING_QUEUE_MAX, "msgport.h says how many a ring queues");
#define MP_RING_MAGIC 0x4d50524eu	/* "MPRN" */

struct mp_slot {
	uint8_t b[MP_SLOT_SIZE];
} __attribute__((aligned(MP_CACHELINE)));

/* One shared index alone on its cache line. */
struct mp_ring_index {
	_Atomic uint64_t shm_pos;
	uint8_t pad[MP_CACHELINE - sizeof(uint64_t)];
} __attribute__((aligned(MP_CACHELINE)));

/* A side's state, written by that side only. */
struct mp_ring_waiter {
	_Atomic uint32_t shm_sleeping;	/* 1 while blocked or about to block [S1] */
	_Atomic int32_t shm_cpu;	/* CPU it last ran on, -1 unknown [H1] */
	_Atomic uint32_t shm_closed;	/* 1: this side dropped the connection [C1] [C3] */
	uint8_t pad[MP_CACHELINE - 12];
} __attribute__((aligned(MP_CACHELINE)));

/*
 * The shared region of one connection: a header page, then the slots of
 * the client-to-server ring, then those of the server-to-client ring.
 * Written: the c2s slots, s2c_head and client by the client; the s2c
 * slots, c2s_head and server by the server.
 */
struct mp_ring_region {
	_Atomic uint32_t shm_magic;	/* set by the client before handing it over [I1] */
	_Atomic uint32_t shm_nslots;
	uint8_t pad0[MP_CACHELINE - 8];
	struct mp_ring_index c2s_head;	/* server consumed up to here */
	struct mp_ring_index s2c_head;	/* client consumed up to here */
	struct mp_ring_waiter client;	/* waiting for a reply or for room */
	struct mp_ring_waiter server;	/* server's CPU and closed flag (sleeping unused) */
	uint8_t pad1[4096 - 5 * MP_CACHELINE];
	struct mp_slot c2s[MP_RING_SLOTS];
	struct mp_slot s2c[MP_RING_SLOTS];
};
_Static_assert(offsetof(struct mp_ring_region, c2s_head) == 64, "region layout");
_Static_assert(offsetof(struct mp_ring_region, c2s) == 4096, "region layout");
_Static_assert(sizeof(struct mp_ring_region) == 4096 + 2 * MP_RING_SLOTS * MP_SLOT_SIZE,
	       "region layout");

/* One side's private view of a ring. */
struct mp_ring_view {
	struct mp_slot *slots;
	_Atomic uint64_t *head;		/* shm_pos of the consumer's index: its own, or theirs */
	uint64_t pos;			/* our position (private copy) */
	uint64_t cached;		/* producer: last valid head it read */
};

static inline _Atomic uint32_t *ring_stamp(const struct mp_ring_view *v, uint64_t pos)
{
	return (_Atomic uint32_t *)&v->slots[pos & (MP_RING_SLOTS - 1)];
}

/* The stamp of a message starting at pos: odd, and different for every
 * lap, so neither a stale header, nor a continuation slot (whose word 0
 * is always zero), nor zeroed memory can look like a new message. */
static inline uint32_t ring_stamp_for(uint64_t pos)
{
	return (uint32_t)(pos / MP_RING_SLOTS) << 1 | 1u;
}

/* Consumer: whether a message starts at our position. */
static inline bool ring_ready(const struct mp_ring_view *v)
{
	/* [R2] acquire, pairs with the producer's [R1] in ring_publish() */
	return load_acquire(ring_stamp(v, v->pos)) == ring_stamp_for(v->pos);
}

/* Producer: 1 when need slots are free, 0 when not yet, -1 when the
 * consumer wrote an impossible head. */
static inline int ring_has_space(struct mp_ring_view *v, uint64_t need)
{
	uint64_t h;

	if (MP_RING_SLOTS - (v->pos - v->cached) >= need)
		return 1;
	h = load_acquire(v->head);	/* [R4] acquire, pairs with [R3] in ring_consume() */
	if (unlikely(v->pos - h > MP_RING_SLOTS))
		return -1;
	v->cached = h;
	return MP_RING_SLOTS - (v->pos - h) >= need;
}

/* Copy len bytes between private memory and the ring at slot position
 * pos, wrapping at the end of the slot array. */
static inline void ring_copy_out(const struct mp_ring_view *v, uint64_t pos, void *dst, size_t len)
{
	size_t off = (size_t)(pos & (MP_RING_SLOTS - 1)) * MP_SLOT_SIZE;
	size_t first = MP_RING_SLOTS * MP_SLOT_SIZE - off;

	if (first > len)
		first = len;
	memcpy(dst, (const uint8_t *)v->slots + off, first);
	memcpy((uint8_t *)dst + first, v->slots, len - first);
}

static inline void ring_copy_in(struct mp_ring_view *v, uint64_t pos, const void *src, size_t len)
{
	size_t off = (size_t)(pos & (MP_RING_SLOTS - 1)) * MP_SLOT_SIZE;
	size_t first = MP_RING_SLOTS * MP_SLOT_SIZE - off;

	if (first > len)
		first = len;
	memcpy((uint8_t *)v->slots + off, src, first);
	memcpy(v->slots, (const uint8_t *)src + first, len - first);
}

/* Producer: make the n-slot message at pos visible: its stamp last.
 * The stamp word of the first slot is written here, not by the caller. */
static inline void ring_publish(struct mp_ring_view *v, uint64_t n)
{
	/* [R1] release, pairs with the consumer's [R2] in ring_ready() */
	store_release(ring_stamp(v, v->pos), ring_stamp_for(v->pos));
	v->pos += n;
}

/* Consumer: give slots [pos, pos + n) back. */
static inline void ring_consume(struct mp_ring_view *v, uint64_t n)
{
	v->pos += n;
	store_release(v->head, v->pos);	/* [R3] release, pairs with the producer's [R4] */
}
#endif
