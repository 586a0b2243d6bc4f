/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include "compiler.h"

static int kind_ok(unsigned kind, unsigned expect)
{
	if (expect)
		return kind == expect;
	return kind == MP_FRAME_CALL || kind == MP_FRAME_ONEWAY || kind == MP_FRAME_HELLO ||
	       kind == MP_FRAME_BULK;
}

/* Data and descriptors must account exactly for what arrived. */
static int sizes_ok(const struct mp_frame *f, size_t len, unsigned nfds)
{
	size_t body = len - sizeof(*f);

	if (f->nfds > MP_FDS_MAX || f->data_size > MP_DATA_MAX)
		return 0;
	if (f->flags & MP_FRAME_DATA_MEMFD)
		return body == 0 && nfds == f->nfds + 1u && f->data_size > MP_FRAME_INLINE_MAX;
	return body == f->data_size && nfds == f->nfds && f->data_size <= MP_FRAME_INLINE_MAX;
}

int mp_frame_decode(const void *buf, size_t len, unsigned nfds, unsigned expect_kind,
		    struct mp_frame *out)
{
	struct mp_frame f;

	if (unlikely(len < sizeof(f)))
		return -EPROTO;
	memcpy(&f, buf, sizeof(f));	/* read once: the peer may still write */
	if (unlikely(f.magic != MP_FRAME_MAGIC || !kind_ok(f.kind, expect_kind)))
		return -EPROTO;
	if (unlikely((f.flags & ~MP_FRAME_FLAGS_KNOWN) || f.reserved))
		return -EPROTO;
	if (unlikely(!sizes_ok(&f, len, nfds)))
		return -EPROTO;
	if (f.kind != MP_FRAME_CALL && f.out_capacity)
		return -EPROTO;
	if (f.out_capacity > MP_DATA_MAX || (f.kind != MP_FRAME_REPLY && f.err))
		return -EPROTO;
	if ((f.kind == MP_FRAME_HELLO || f.kind == MP_FRAME_WELCOME || f.kind == MP_FRAME_BULK) &&
	    f.data_size)
		return -EPROTO;
	*out = f;
	return 0;
}
