/* SPDX-License-Identifier: MIT */
/*
 * Out of memory or descriptors: the process's own lack, which says
 * nothing of the peer or the object it was about.  It is reported as it
 * is: never as the peer's fault (-EPROTO), a closed connection (-EPIPE)
 * or a missing entry (-ENOENT).
 */
#ifndef MP_OS_LACK_H
#define MP_OS_LACK_H

#include <errno.h>
#include <stdbool.h>

static inline bool mp_err_resource(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

#endif
