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
	MP_FRAME_HELLO = 4,	/* client to server: a ring region and doorbell (type: transport) */
	MP_FRAME_WELCOME = 5,	/* server to client: the port page and wake-up fd */
	MP_FRAME_BULK = 6,	/* client to server: new bulk areas (hybrid) */
};

enum mp_frame_flags {
	MP_FRAME_DATA_MEMFD = 1u << 0,	/* data is in the last passed fd */
};
#define MP_FRAME_FLAGS_KNOWN (MP_FRAME_DATA_MEMFD)

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
	uint32_t reserved;	/* zero */
	uint64_t data_size;	/* bytes of data, inline or in the memfd */
	uint64_t out_capacity;	/* call: the caller's output buffer size */
	uint8_t raw[MP_RAW_SIZE];
};
_Static_assert(sizeof(struct mp_frame) == 120, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, seq) == 16, "frame layout is wire ABI");
_Static_assert(offsetof(struct mp_frame, raw) == 56, "frame layout is wire ABI");

/*
 * Validate a received datagram of len bytes (header and inline data) that
 * came with nfds descriptors.  On success *out is a private copy of the
 * header and 0 is returned; -EPROTO otherwise.  expect_kind 0 accepts a
 * call, a one-way or a HELLO frame.
 */
int mp_frame_decode(const void *buf, size_t len, unsigned nfds, unsigned expect_kind,
		    struct mp_frame *out);

#endif
