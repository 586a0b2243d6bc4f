/* SPDX-License-Identifier: MIT */
/*
 * The frames msgport-net gateways exchange over NATS (docs/net.md,
 * "Encoding").  Every frame is a fixed little-endian header of
 * NET_HDR_SIZE bytes, then pathlen bytes of path, then data.  The
 * decoder takes bytes another host wrote: it validates every field
 * before anything uses it.  No libnats here (fuzz/fuzz_net.c).
 */
#ifndef MSGPORT_NET_WIRE_H
#define MSGPORT_NET_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <msgport.h>

#define NET_VERSION 1u
#define NET_HDR_SIZE 168u
#define NET_HOST_MAX 32u		/* host name bytes, NUL included */
/* A reply's data at most (chunked over NATS's max_payload). */
#define NET_REPLY_MAX ((uint64_t)16 << 20)

enum net_kind {
	NET_LOOKUP = 1,		/* path: "is it exported, what is its oid" */
	NET_LOOKUP_REP,		/* status, port, id */
	NET_CALL,		/* type, priority, oid or path, raw, data; total: capacity */
	NET_SEND,		/* one-way: as NET_CALL without an answer */
	NET_PULSE,		/* priority: the code, value: the value */
	NET_REPLY,		/* status, o_err, raw, total, one chunk at offset */
	NET_PROGRESS,		/* the call is still running (a heartbeat) */
	NET_LIST,		/* who are you and what do you export */
	NET_LIST_REP,		/* data: the exports, one per line */
	NET_BATCH,		/* total: n; data: n records, each a u32 length and a
				 * NET_SEND or NET_PULSE frame of the same host */
	NET_KIND_END
};

struct net_frame {
	uint8_t kind;
	int32_t status;		/* 0, or the remote side's negative errno */
	int32_t o_err;		/* the remote server's o.err */
	uint32_t type;
	uint32_t priority;	/* NET_PULSE: the code */
	uint32_t port;		/* the remote oid */
	uint64_t id;
	uint64_t value;		/* NET_PULSE: the value */
	uint64_t deadline_ns;	/* relative; 0 none */
	uint64_t total;		/* NET_CALL: output capacity; NET_REPLY: reply length */
	uint64_t offset;	/* NET_REPLY: this chunk's place in the reply */
	uint32_t uid;		/* the caller's uid on its host */
	char from[NET_HOST_MAX];	/* the calling host, NUL-terminated */
	uint8_t raw[MP_RAW_SIZE];
	char path[MP_PATH_MAX];	/* "" or an absolute path */
	const uint8_t *data;	/* into the decoded buffer */
	size_t len;
};

/* Bytes net_frame_encode() writes for f with datalen bytes of data. */
size_t net_frame_size(const struct net_frame *f, size_t datalen);

/* Write f (f->data/f->len ignored) and data into buf of net_frame_size() bytes. */
void net_frame_encode(const struct net_frame *f, const void *data, size_t datalen, uint8_t *buf);

/*
 * Decode and validate len bytes from a peer into f (f->data points into
 * buf).  Returns 0, or -EPROTO for any malformed field (bad version,
 * kind, reserved bits, path, host name, status, chunk bounds).
 */
int net_frame_decode(const uint8_t *buf, size_t len, struct net_frame *f);

/* A batch record's length prefix; the least bytes a record takes. */
#define NET_REC_HDR 4u
#define NET_REC_MIN (NET_REC_HDR + NET_HDR_SIZE)

/* Append f and data to a batch's records at buf (room bytes free): the
 * bytes written, or 0 when the record does not fit. */
size_t net_batch_put(const struct net_frame *f, const void *data, size_t datalen, uint8_t *buf,
		     size_t room);

/* The records of a decoded NET_BATCH frame b, one by one. */
struct net_batch_it {
	const struct net_frame *b;
	const uint8_t *p;	/* the next record */
	size_t left;		/* bytes from p to the end of b's data */
	uint64_t seen;		/* records so far */
};

void net_batch_begin(struct net_batch_it *it, const struct net_frame *b);

/*
 * The next record into f: 1, 0 after the last one (exactly b->total of
 * them), -EPROTO for a malformed one (a length past the end, an inner
 * frame that does not decode, is no NET_SEND or NET_PULSE, or is from
 * another host than b) or for a count other than b->total.
 */
int net_batch_next(struct net_batch_it *it, struct net_frame *f);

/* 0 when every record of b decodes (net_batch_next()), else -EPROTO. */
int net_batch_check(const struct net_frame *b);

/* 1 when s is a usable host name: 1..NET_HOST_MAX-1 of [A-Za-z0-9_-]. */
int net_host_valid(const char *s);

#endif
