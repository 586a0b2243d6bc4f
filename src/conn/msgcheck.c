/* SPDX-License-Identifier: MIT */
#include "conn/msgcheck.h"

#include <errno.h>

#include "mem/pages.h"
#include "os/sockio.h"

static int fds_check(const int *fds, uint32_t nfds)
{
	if (nfds > MP_FDS_MAX)
		return -EINVAL;
	for (uint32_t k = 0; k < nfds; k++)
		if (fds[k] < 0)
			return -EINVAL;
	return mp_fds_check(fds, nfds);
}

static int data_check(const void *data, size_t size)
{
	if (size > MP_DATA_MAX)
		return -EMSGSIZE;
	return (size && !data) ? -EINVAL : 0;
}

int mp_msg_check_flags(uint32_t flags)
{
	if (flags & ~(uint32_t)(MP_MOVE | MP_SHARE))
		return -EINVAL;
	return flags == (MP_MOVE | MP_SHARE) ? -EINVAL : 0;
}

int mp_msg_check_send(const mp_msg_t *msg, int with_reply)
{
	int err;

	if (!msg || mp_msg_check_flags(msg->flags & ~MP_OUT_INOUT) || msg->priority > MP_PRIO_MAX ||
	    msg->oid.reserved)
		return -EINVAL;
	if (msg->i.nfds > MP_FDS_MAX || (with_reply && msg->o.nfds > MP_FDS_MAX))
		return -EINVAL;
	err = data_check(msg->i.data, msg->i.size);
	if (err)
		return err;
	if (with_reply && (err = data_check(msg->o.data, msg->o.size)))
		return err;
	if (with_reply && (msg->flags & MP_OUT_INOUT) && msg->i.size + msg->o.size > MP_DATA_MAX)
		return -EMSGSIZE;	/* the output's bytes travel after the input */
	return fds_check(msg->i.fds, msg->i.nfds);
}

int mp_msg_check_out(const struct mp_msg_out *o)
{
	int err;

	if (o->nfds > MP_FDS_MAX)
		return -EINVAL;
	err = data_check(o->data, o->size);
	if (err)
		return err;
	return fds_check(o->fds, o->nfds);
}

int mp_msg_check_answer(mp_port_t port, const mp_msg_t *msg)
{
	if (!msg || port == 0 || mp_msg_check_flags(msg->flags & ~MP_OUT_INOUT))
		return -EINVAL;
	return mp_msg_check_out(&msg->o);
}

int mp_answer_pages_begin(const mp_msg_t *msg, struct mp_xfer *x)
{
	int err;

	mp_xfer_init(x);
	err = mp_pages_tx_begin(&x->in, msg->o.data, msg->o.size,
				msg->flags & MP_SHARE ? MP_SHARE : MP_MOVE);
	if (err < 0)
		return err;
	if (err == 1)
		x->fflags = MP_FRAME_DATA_PAGES | (x->in.share ? MP_FRAME_PAGES_SHARE : 0);
	return 0;
}
