/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: net_frame_decode (net/wire.c), the decoder of the
 * frames msgport-net gateways get over NATS from other hosts.
 *
 * Input: the payload's bytes.  Checked whenever it accepts: the kind is
 * known; the status is 0 or an errno; the path is "" or absolute with no
 * NUL, empty, "." or ".." component; the host name is "" or valid; data
 * lies inside the buffer, after the header and path; a reply chunk lies
 * within its total, which is at most NET_REPLY_MAX; a call's priority is
 * at most MP_PRIO_MAX; a pulse has no library code and no data; and
 * encoding the decoded frame gives the input back byte for byte (one
 * meaning per encoding).  A batch (NET_BATCH) is walked record by record
 * (net_batch_next()): each record lies inside the batch's data, decodes as
 * a NET_SEND or NET_PULSE frame of the batch's host, satisfies the checks
 * above, re-encodes to its own bytes (net_batch_put()), and there are
 * exactly total of them when net_batch_check() accepts.  The input is
 * never written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/wire.h"

#define INVARIANT(c)								\
	do {									\
		if (!(c)) {							\
			fprintf(stderr, "invariant failed: %s\n", #c);		\
			abort();						\
		}								\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fields(const struct net_frame *f, const uint8_t *buf, size_t size)
{
	size_t pl = strlen(f->path);

	INVARIANT(f->kind >= NET_LOOKUP && f->kind < NET_KIND_END);
	INVARIANT(f->status <= 0 && f->status >= -4095);
	INVARIANT(pl == 0 || (f->path[0] == '/' && pl < MP_PATH_MAX));
	INVARIANT(!strstr(f->path, "//") && !strstr(f->path, "/./") && !strstr(f->path, "/../"));
	INVARIANT(f->from[0] == 0 || net_host_valid(f->from));
	INVARIANT(f->data == buf + NET_HDR_SIZE + pl);
	INVARIANT(NET_HDR_SIZE + pl + f->len == size);
	if (f->kind == NET_REPLY)
		INVARIANT(f->total <= NET_REPLY_MAX && f->offset + f->len <= f->total);
	if (f->kind == NET_CALL || f->kind == NET_SEND)
		INVARIANT(f->priority <= MP_PRIO_MAX && f->total <= NET_REPLY_MAX);
	if (f->kind == NET_PULSE)
		INVARIANT(f->priority < MP_PULSE_DISCONNECT && f->len == 0);
	if (f->kind == NET_LOOKUP)
		INVARIANT(pl > 0 && f->len == 0);
}

/* A batch's records: each inside its data, each a checked frame. */
static void check_batch(const struct net_frame *b)
{
	const uint8_t *end = b->data + b->len;
	struct net_batch_it it;
	struct net_frame f;
	uint64_t n = 0;
	int r;

	INVARIANT(b->total >= 1 && b->total <= b->len / NET_REC_MIN && b->from[0]);
	net_batch_begin(&it, b);
	while ((r = net_batch_next(&it, &f)) == 1) {
		const uint8_t *rec = f.data - strlen(f.path) - NET_HDR_SIZE;
		size_t fl = NET_HDR_SIZE + strlen(f.path) + f.len;
		uint8_t *again = malloc(NET_REC_HDR + fl);

		INVARIANT(rec >= b->data + NET_REC_HDR && rec + fl <= end && rec + fl == it.p);
		INVARIANT(f.kind == NET_SEND || f.kind == NET_PULSE);
		INVARIANT(strcmp(f.from, b->from) == 0);
		check_fields(&f, rec, fl);
		if (!again)
			abort();
		INVARIANT(net_batch_put(&f, f.data, f.len, again, NET_REC_HDR + fl) == NET_REC_HDR + fl);
		INVARIANT(memcmp(again, rec - NET_REC_HDR, NET_REC_HDR + fl) == 0);
		INVARIANT(net_batch_put(&f, f.data, f.len, again, NET_REC_HDR + fl - 1) == 0);
		free(again);
		n++;
	}
	INVARIANT(r == 0 || r == -EPROTO);
	INVARIANT(n <= b->total);
	if (r == 0)
		INVARIANT(n == b->total && it.left == 0);
	INVARIANT((net_batch_check(b) == 0) == (r == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), *copy = malloc(size ? size : 1), *again;
	struct net_frame f;

	if (!buf || !copy)
		abort();
	memcpy(buf, data, size);	/* exactly size bytes: a read past is an ASan report */
	memcpy(copy, data, size);
	if (net_frame_decode(buf, size, &f) == 0) {
		check_fields(&f, buf, size);
		INVARIANT(net_frame_size(&f, f.len) == size);
		again = malloc(size);
		if (!again)
			abort();
		net_frame_encode(&f, f.data, f.len, again);
		INVARIANT(memcmp(again, buf, size) == 0);
		free(again);
		if (f.kind == NET_BATCH)
			check_batch(&f);
	}
	INVARIANT(memcmp(buf, copy, size) == 0);
	free(buf);
	free(copy);
	return 0;
}
