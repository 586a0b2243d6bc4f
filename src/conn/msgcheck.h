/* SPDX-License-Identifier: MIT */
/* Validation of the caller's message before anything is sent. */
#ifndef MP_MSGCHECK_H
#define MP_MSGCHECK_H

#include <stdint.h>

#include "msgport.h"
#include "transport/transport.h"

/* msg->flags: MP_MOVE or MP_SHARE or neither; -EINVAL otherwise. */
int mp_msg_check_flags(uint32_t flags);
/* The input part and header fields of a message to send. */
int mp_msg_check_send(const mp_msg_t *msg, int with_reply);
/* The output part of an answer. */
int mp_msg_check_out(const struct mp_msg_out *o);
/* An answer as mp_respond() takes it: msg, port, flags (MP_OUT_INOUT, which
 * mp_recv() reported, allowed) and the output part; 0 or -EINVAL, ... */
int mp_msg_check_answer(mp_port_t port, const mp_msg_t *msg);
/* x initialised for an answer, its pages (if o.data is pages) begun with
 * mp_pages_tx_begin(): 0 or its error; the caller ends them. */
int mp_answer_pages_begin(const mp_msg_t *msg, struct mp_xfer *x);

#endif
