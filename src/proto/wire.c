/* SPDX-License-Identifier: MIT */
#include "proto/wire.h"

#include <errno.h>
#include <string.h>

#include "os/compiler.h"

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
	if (nfds != f->nfds + mp_frame_extra_fds(f) || body != mp_frame_inline_len(f))
		return 0;
	if (f->flags & MP_FRAME_DATA_MEMFD)
		return f->data_size > MP_FRAME_INLINE_MAX;
	if (f->flags & (MP_FRAME_DATA_PAGES | MP_FRAME_DATA_VM))
		return f->data_size > 0;
	return (f->flags & MP_FRAME_DATA_PLACED) || f->data_size <= MP_FRAME_INLINE_MAX;
}

/* [addr, addr + len) is a real range exactly when flag is set. */
static int addr_ok(uint64_t addr, uint64_t len, int flag)
{
	if (!flag)
		return addr == 0;
	return addr != 0 && len > 0 && addr + len > addr;
}

/* A priority travels with a call or one-way, flagged exactly when set. */
static int prio_ok(const struct mp_frame *f)
{
	if (!(f->flags & MP_FRAME_PRIO))
		return f->priority == 0;
	return (f->kind == MP_FRAME_CALL || f->kind == MP_FRAME_ONEWAY) && f->priority >= 1 &&
	       f->priority <= MP_PRIO_MAX;
}

/* A deadline travels with a call, flagged exactly when set, and > 0. */
static int deadline_ok(const struct mp_frame *f)
{
	if (!(f->flags & MP_FRAME_DEADLINE))
		return f->deadline_ns == 0;
	return f->kind == MP_FRAME_CALL && f->deadline_ns > 0;
}

/* At most one place for the data, and each flag on the kinds it belongs to. */
static int flags_ok(const struct mp_frame *f)
{
	unsigned fl = f->flags, where = fl & MP_FRAME_DATA_WHERE;
	unsigned call_only = MP_FRAME_DATA_VM | MP_FRAME_OUT_VM | MP_FRAME_OUT_PAGES | MP_FRAME_OUT_KEEP |
			     MP_FRAME_INOUT;
	unsigned reply_only = MP_FRAME_DATA_PLACED | MP_FRAME_VM_REFUSED | MP_FRAME_REFUSED;

	if (fl & ~MP_FRAME_FLAGS_KNOWN)
		return 0;
	if (where & (where - 1))
		return 0;
	if ((fl & MP_FRAME_PAGES_SHARE) && !(fl & MP_FRAME_DATA_PAGES))
		return 0;
	if (fl & MP_FRAME_PAGES_KEEP) {
		if (!(fl & MP_FRAME_PAGES_SHARE) || f->kind == MP_FRAME_REPLY ||
		    f->pages_slot >= MP_FRAME_PAGES_SLOTS)
			return 0;
	} else if (f->pages_slot) {
		return 0;
	}
	if (fl & MP_FRAME_OUT_KEEP) {
		if (!(fl & MP_FRAME_OUT_PAGES) || f->out_slot >= MP_FRAME_PAGES_SLOTS)
			return 0;
	} else if (f->out_slot) {
		return 0;
	}
	if ((fl & call_only) && f->kind != MP_FRAME_CALL)
		return 0;
	if ((fl & reply_only) && f->kind != MP_FRAME_REPLY)
		return 0;
	if ((fl & MP_FRAME_OUT_VM) && (fl & MP_FRAME_OUT_PAGES))
		return 0;
	if ((fl & MP_FRAME_OUT_PAGES) && f->out_capacity == 0)
		return 0;
	if ((fl & MP_FRAME_VM_REFUSED) && (where || f->data_size || f->nfds || f->err))
		return 0;
	if ((fl & MP_FRAME_REFUSED) && (fl != MP_FRAME_REFUSED || f->data_size || f->nfds ||
					f->err >= 0 || f->err <= -4096))
		return 0;	/* an errno, and nothing else */
	if ((fl & MP_FRAME_INOUT) && ((fl & MP_FRAME_DATA_PAGES) || f->data_size < f->out_capacity))
		return 0;	/* the output's bytes are in ordinary data */
	if (!prio_ok(f) || !deadline_ok(f))
		return 0;
	return addr_ok(f->in_addr, f->data_size, fl & MP_FRAME_DATA_VM) &&
	       addr_ok(f->out_addr, f->out_capacity, fl & MP_FRAME_OUT_VM);
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
	if (unlikely(!flags_ok(&f)))
		return -EPROTO;
	if (unlikely(!sizes_ok(&f, len, nfds)))
		return -EPROTO;
	if (f.kind != MP_FRAME_CALL && f.out_capacity)
		return -EPROTO;
	if (f.out_capacity > MP_DATA_MAX || (f.kind != MP_FRAME_REPLY && f.err))
		return -EPROTO;
	if ((f.kind == MP_FRAME_HELLO || f.kind == MP_FRAME_WELCOME || f.kind == MP_FRAME_BULK) &&
	    (f.data_size || f.flags))
		return -EPROTO;
	*out = f;
	return 0;
}
