/* SPDX-License-Identifier: MIT */
/*
 * The input grant of a ring connection (both ring transports): long input
 * written by the client straight into the server's private memory with
 * process_vm_writev(), one copy, the remote side in the server's huge
 * pages (docs/long-data.md, "Ordinary buffers: where the time goes").
 *
 * The server owns one private buffer per connection (mp_buf_get(): huge
 * pages) and publishes it in its grant line, a cache line of the ring
 * region's header page that only the server writes:
 *
 *    server (srv_take_*, a long input came   client (its next call, after it
 *    another way)                            took the reply [R2])
 *    [G1] store_relaxed shm_cap = 0,         [G2] load_relaxed shm_pid, shm_addr,
 *         shm_addr, shm_pid, shm_cap              shm_cap, once each
 *    ... reply published [R1]  -------->          pid == the socket's peer (SO_PEERCRED)
 *                                                 and size <= cap: process_vm_writev
 *                                                 into (pid, addr), then the call names it
 *
 * [G1] -> [G2] is ordered by the reply ([R1] -> [R2]): the line changes
 * only while the client waits for the answer to the call that made it.
 * A call that used it carries MP_SLOT_F_BULK with bulk_off
 * MP_BULK_OFF_GRANT, exactly; the server accepts it only on a call, with
 * a grant published, and data_size within the capacity it keeps in
 * private memory (it never reads the line back).  The client treats the
 * line as a hint: whatever it says, the client writes only its own input
 * bytes, only into the process the kernel names as its peer, and falls
 * back to the other paths when the write fails.
 */
#ifndef MP_PROTO_GRANT_H
#define MP_PROTO_GRANT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/ring.h"

/* Long input of at least this many bytes goes through the grant. */
#define MP_GRANT_MIN ((size_t)1 << 20)

/* bulk_off of a call whose data the client wrote into the grant. */
#define MP_BULK_OFF_GRANT ((uint64_t)1 << 62)

/* The server's grant line, in the region's header page (written by the
 * server only). */
struct mp_grant_line {
	_Atomic uint64_t shm_addr;	/* the buffer in the server, 0: none */
	_Atomic uint64_t shm_cap;	/* its bytes */
	_Atomic int32_t shm_pid;	/* the server's pid, as it sees itself */
	uint8_t pad[MP_CACHELINE - 20];
} __attribute__((aligned(MP_CACHELINE)));

#define MP_GRANT_LINE_OFF ((size_t)5 * MP_CACHELINE)
_Static_assert(MP_GRANT_LINE_OFF == offsetof(struct mp_ring_region, pad1),
	       "the grant line is the first free line of the header page");
_Static_assert(MP_GRANT_LINE_OFF + sizeof(struct mp_grant_line) <= offsetof(struct mp_ring_region, c2s),
	       "the grant line fits the header page");

static inline struct mp_grant_line *mp_grant_line(struct mp_ring_region *r)
{
	return (struct mp_grant_line *)((uint8_t *)r + MP_GRANT_LINE_OFF);
}

#endif
