/* SPDX-License-Identifier: MIT */
/*
 * A call's deadline on the server's side (MP_PORT_DEADLINES): the
 * caller's time left travels relative (MP_FRAME_DEADLINE, proto/wire.h)
 * and becomes an absolute CLOCK_MONOTONIC deadline of ours at receipt
 * (struct mp_call's deadline_at), which mp_recv_deadline() reads.
 */
#ifndef MP_API_DEADLINE_H
#define MP_API_DEADLINE_H

#include <stdint.h>

#include "conn/port.h"
#include "os/compiler.h"
#include "proto/wire.h"

int64_t mp_call_deadline_from(const struct mp_port_obj *p, const struct mp_frame *f);

/* The deadline_at of a call whose validated header is f, received now on
 * port p: 0 (none) unless the frame has one and p asked for them. */
static inline int64_t mp_call_deadline_at(const struct mp_port_obj *p, const struct mp_frame *f)
{
	if (likely(!(f->flags & MP_FRAME_DEADLINE)))
		return 0;
	return mp_call_deadline_from(p, f);
}

#endif
