/* SPDX-License-Identifier: MIT */
/*
 * Socket frames: every message on a connection socket (SOCK_SEQPACKET, so
 * one frame per datagram) is a fixed header, then inline data:
 *
 *   +------------------+-------------------------+
 *   | struct mp_frame  | data_size bytes inline   |   SCM_RIGHTS: nfds user fds
 *   +------------------+-------------------------+
 *
 * or, when MP_FRAME_DATA_MEMFD is set, the header alone and the data in a
 * sealed memfd passed as one more descriptor after the user's.
 *
 * Long data (see pages.h) has more ways to travel, each with the header
 * alone (no inline bytes):
 *   MP_FRAME_DATA_PAGES  the data is the start of a pages memfd, passed as
 *                        one more descriptor after the user's (moved, or
 *                        shared with MP_FRAME_PAGES_SHARE);
 *   MP_FRAME_DATA_VM     (call) the data stays in the caller at in_addr;
 *                        the server reads it with process_vm_readv();
 *   MP_FRAME_OUT_VM      (call) the server may write its answer at
 *                        out_addr in the caller (out_capacity bytes);
 *   MP_FRAME_OUT_PAGES   (call) the caller lends its output pages: their
 *                        memfd is the last descriptor;
 *   MP_FRAME_DATA_PLACED (reply) the answer's data_size bytes are already
 *                        in the caller's output buffer (OUT_VM, OUT_PAGES);
 *   MP_FRAME_VM_REFUSED  (reply) the server may not read the caller's
 *                        memory: the call is to be sent again with its data;
 *   MP_FRAME_PAGES_KEEP  (ring transports, with DATA_PAGES | PAGES_SHARE) the
 *                        server keeps the shared pages mapped as pages_slot
 *                        of this connection: later messages name them by
 *                        that number in a ring slot (MP_SLOT_F_PAGES);
 *   MP_FRAME_OUT_KEEP    (ring transports, call, with OUT_PAGES) the same for
 *                        the lent output pages, as out_slot;
 *   MP_FRAME_INOUT       (call, MP_OUT_INOUT) the data is the input followed by
 *                        the caller's output buffer, out_capacity bytes (so
 *                        data_size >= out_capacity): the server's answer
 *                        buffer starts with them;
 *   MP_FRAME_PRIO        (call, one-way) priority is set: 1 .. MP_PRIO_MAX
 *                        (without the flag it is 0).
 *   MP_FRAME_REFUSED     (reply) the server's library refused the call before
 *                        its user saw it (err < 0, e.g. -EMFILE: its
 *                        descriptors could not be received); nothing else
 *                        travels, the caller's call fails with err.
 *                        seq 0 (no call has it): the server refused the
 *                        connection at accept (-EACCES, -EUSERS, -ENOBUFS)
 *                        and closes it (transport/refuse.h).  A reply of
 *                        seq 0 with no flags and err 0 is the opposite
 *                        verdict, ACCEPTED: the answer to a HELLO of
 *                        MP_HELLO_VERDICT (a stale reply to readers).  api/respond_error.c
 *                        sends it too: the server's user failed the call
 *                        (mp_respond_error(), one of its documented errors).
 *   MP_FRAME_DEADLINE    (call) deadline_ns is set: the caller's time left at
 *                        send, in ns, > 0 (relative: the peers' monotonic
 *                        clocks may differ); sent to ports that ask for it
 *                        (MP_PORT_DEADLINES), whose server makes it its own
 *                        absolute deadline at receipt (api/deadline.c, which
 *                        clamps a value too large for its clock).  Without
 *                        the flag deadline_ns is 0: no deadline.
 * Descriptors: the user's nfds, then the data memfd (DATA_MEMFD or
 * DATA_PAGES), then the lent output memfd (OUT_PAGES).
 * The frame comes from a peer: mp_frame_decode() reads it once into
 * private memory and validates every field before anything uses it.
 */
#ifndef MP_WIRE_H
#define MP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "msgport.h"

#define MP_FRAME_MAGIC 0x4d504631u	/* "MPF1" */

/* Data up to this size travels inside the datagram; larger in a memfd. */
#define MP_FRAME_INLINE_MAX (32u * 1024)

enum mp_frame_kind {
	MP_FRAME_CALL = 1,	/* client to server, expects a reply */
	MP_FRAME_ONEWAY = 2,	/* client to server, no reply */
	MP_FRAME_REPLY = 3,	/* server to client */
	MP_FRAME_HELLO = 4,	/* client to server: a ring region and doorbell (type: transport),
				 * or MP_HELLO_VERDICT alone */
	MP_FRAME_WELCOME = 5,	/* server to client: the port page and wake-up fd */
	MP_FRAME_BULK = 6,	/* client to server: new bulk areas (hybrid) */
};

enum mp_frame_flags {
	MP_FRAME_DATA_MEMFD = 1u << 0,	/* data is in a sealed data memfd */
	MP_FRAME_DATA_PAGES = 1u << 1,	/* data is a pages memfd (moved or shared) */
	MP_FRAME_PAGES_SHARE = 1u << 2,	/* DATA_PAGES: shared, not moved */
	MP_FRAME_DATA_VM = 1u << 3,	/* call: data at in_addr in the caller */
	MP_FRAME_OUT_VM = 1u << 4,	/* call: answer may go to out_addr */
	MP_FRAME_OUT_PAGES = 1u << 5,	/* call: the output pages are lent */
	MP_FRAME_DATA_PLACED = 1u << 6,	/* reply: data already in the output buffer */
	MP_FRAME_VM_REFUSED = 1u << 7,	/* reply: send the call again with its data */
	MP_FRAME_PAGES_KEEP = 1u << 8,	/* shared pages: keep them mapped as pages_slot */
	MP_FRAME_OUT_KEEP = 1u << 9,	/* lent output pages: keep them mapped as out_slot */
	MP_FRAME_INOUT = 1u << 10,	/* call: data = input, then the output buffer's bytes */
	MP_FRAME_PRIO = 1u << 11,	/* priority is not 0 */
	MP_FRAME_REFUSED = 1u << 12,	/* reply: the call was refused, err says why */
	MP_FRAME_DEADLINE = 1u << 13,	/* call: deadline_ns is the caller's time left */
};
#define MP_FRAME_FLAGS_KNOWN 0x3fffu
/* HELLO type of a socket-transport client that asks for the server's
 * verdict (no descriptors): answered with ACCEPTED (transport/refuse.h). */
#define MP_HELLO_VERDICT 0x56524454u	/* "VRDT" */
/* Kept shared pages per connection (MP_SLOT_PAGES_SLOTS on the ring). */
#define MP_FRAME_PAGES_SLOTS 16u
/* Flags that say where the data is; at most one is set (none: inline). */
#define MP_FRAME_DATA_WHERE                                                     \
	(MP_FRAME_DATA_MEMFD | MP_FRAME_DATA_PAGES | MP_FRAME_DATA_VM | MP_FRAME_DATA_PLACED)

struct mp_frame {
	uint32_t magic;
	uint8_t kind;		/* enum mp_frame_kind */
	uint8_t nfds;		/* user fds passed, memfd excluded */
	uint16_t flags;		/* enum mp_frame_flags */
	uint32_t type;		/* message type (call, one-way) */
	int32_t err;		/* server status (reply) */
	uint64_t seq;		/* call number on this connection */
	uint64_t oid_id;
	uint32_t oid_port;
	uint8_t pages_slot;	/* PAGES_KEEP: < MP_FRAME_PAGES_SLOTS, else zero */
	uint8_t priority;	/* PRIO: the sender's ^ 4 (api/send.c), 1 .. MP_PRIO_MAX, else zero */
	uint16_t out_slot;	/* OUT_KEEP: < MP_FRAME_PAGES_SLOTS, else zero */
	uint64_t data_size;	/* bytes of data, inline or in the memfd */
	uint64_t out_capacity;	/* call: the caller's output buffer size */
	uint8_t raw[MP_RAW_SIZE];
	uint64_t in_addr;	/* DATA_VM: the input's address in the caller, else 0 */
	uint64_t out_addr;	/* OUT_VM: the output buffer's address in the caller, else 0 */
	int64_t deadline_ns;	/* DEADLINE: the caller's time left at send, > 0, else 0 */
};
_Static_assert(sizeof(struct mp_frame) == 144, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, seq) == 16, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, raw) == 56, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, priority) == 37, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, in_addr) == 120, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, out_addr) == 128, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, deadline_ns) == 136, "frame layout is wire ABI");

/* Descriptors a frame carries beyond the user's: data memfd, lent output. */
static inline unsigned mp_frame_extra_fds(const struct mp_frame *f)
{
	return ((f->flags & (MP_FRAME_DATA_MEMFD | MP_FRAME_DATA_PAGES)) ? 1u : 0u) +
	       ((f->flags & MP_FRAME_OUT_PAGES) ? 1u : 0u);
}

/* Inline data bytes that follow the header. */
static inline uint64_t mp_frame_inline_len(const struct mp_frame *f)
{
	return (f->flags & MP_FRAME_DATA_WHERE) ? 0 : f->data_size;
}

/*
 * Validate a received datagram of len bytes (header and inline data) that
 * came with nfds descriptors.  On success *out is a private copy of the
 * header and 0 is returned; -EPROTO otherwise.  expect_kind 0 accepts a
 * call, a one-way or a HELLO frame.  Checked: the data flags fit the kind
 * (at most one place for the data; VM and OUT_* only on calls, PLACED and
 * VM_REFUSED only on replies), addresses are non-zero exactly when their
 * flag is set and [addr, addr + size) does not wrap, descriptors and
 * inline bytes account exactly for what arrived, INOUT data holds the
 * output buffer's bytes (data_size >= out_capacity), PRIO exactly when the
 * priority is 1 .. MP_PRIO_MAX, DEADLINE only on calls and exactly when
 * deadline_ns > 0 (zero or negative: refused).  What the addresses and
 * memfds contain is checked where they are used (pages.c).
 */
int mp_frame_decode(const void *buf, size_t len, unsigned nfds, unsigned expect_kind,
		    struct mp_frame *out);

#endif
