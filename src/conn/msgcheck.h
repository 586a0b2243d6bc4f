/* SPDX-License-Identifier: MIT */
/* Validation of the caller's message before anything is sent. */
#ifndef MP_MSGCHECK_H
#define MP_MSGCHECK_H

#include <stdint.h>

#include "msgport.h"

/* msg->flags: MP_MOVE or MP_SHARE or neither; -EINVAL otherwise. */
int mp_msg_check_flags(uint32_t flags);
/* The input part and header fields of a message to send. */
int mp_msg_check_send(const mp_msg_t *msg, int with_reply);
/* The output part of an answer. */
int mp_msg_check_out(const struct mp_msg_out *o);

#endif
