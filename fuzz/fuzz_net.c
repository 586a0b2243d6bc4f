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
 * meaning per encoding).  The input is never written.
 */
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
	}
	INVARIANT(memcmp(buf, copy, size) == 0);
	free(buf);
	free(copy);
	return 0;
}
