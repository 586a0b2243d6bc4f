/* SPDX-License-Identifier: MIT */
#include "transport/refuse.h"

#include <errno.h>
#include <string.h>

/* Frames that set up state of the connection (a ring, bulk areas, a kept
 * pages slot the client will name again) cannot be refused and go on:
 * the client would believe in state the server does not have. */
static bool frame_refusable(const struct mp_frame *f)
{
	if (f->kind != MP_FRAME_CALL && f->kind != MP_FRAME_ONEWAY)
		return false;
	return !(f->flags & (MP_FRAME_PAGES_KEEP | MP_FRAME_OUT_KEEP));
}

int mp_refuse_frame(struct mp_sconn *c, const struct mp_frame *f, int err)
{
	struct mp_xfer x;
	mp_msg_t m;

	if (!frame_refusable(f))
		return -EPROTO;
	c->refused++;
	if (f->kind == MP_FRAME_ONEWAY)
		return 0;	/* dropped: a one-way has no one to tell */
	memset(&m, 0, sizeof(m));
	m.o.err = err;
	mp_xfer_init(&x);
	x.fflags = MP_FRAME_REFUSED;	/* ring transports: a frame, not a slot */
	return c->tp->srv_reply(c, f->seq, &m, 0, &x);
}
