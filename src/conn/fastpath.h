/* SPDX-License-Identifier: MIT */
/*
 * The server's fast path: a short plain call or one-way taken straight
 * into the user's message (mp_recv_fast(), conn/port_rx.h), a call named
 * by a fast rid and answered through its connection's fast slot
 * (conn/fastslot.h) without the rid table and without the port lock.
 */
#ifndef MP_FASTPATH_H
#define MP_FASTPATH_H

#include <stddef.h>

#include "conn/fastslot.h"
#include "msgport.h"

struct mp_port_obj;

/* mp_recv_fast() (conn/port_rx.h): nothing done, take the general path. */
#define MP_FAST_SLOW 3

/*
 * Under p->lock, c polled: take c's next message if the fast path can
 * (a short plain call or one-way; a call only when c's slot is free)
 * into msg: 1 a call (*rid its fast rid), 2 a one-way (*rid 0; its data
 * in buf, buflen bytes), -EAGAIN c's ring is empty, 0 anything else:
 * nothing taken.
 */
int mp_fast_take_locked(struct mp_port_obj *p, struct mp_sconn *c, mp_msg_t *msg, mp_rid_t *rid,
			void *buf, size_t buflen);

/* Answer the fast rid with msg as x says (p held; api/respond_error.c:
 * a REFUSED reply): 0, -ENOENT no such call, -EPIPE not sent. */
struct mp_xfer;
int mp_fast_answer(struct mp_port_obj *p, mp_rid_t rid, mp_msg_t *msg, struct mp_xfer *x);

/* mp_respond() for a fast rid, whatever the answer. */
int mp_respond_fast(mp_port_t port, mp_msg_t *msg, mp_rid_t rid);

#endif
