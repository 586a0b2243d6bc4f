/* SPDX-License-Identifier: MIT */
/* The per-thread Phoenix priority (phoenix_os.h). */
#include <errno.h>

#include "api/compat/phoenix_os.h"

static _Thread_local unsigned char thread_prio = MP_PHX_PRIO_DEFAULT;

int mp_phx_thread_priority(void)
{
	return thread_prio;
}

int mp_phx_thread_priority_set(int prio)
{
	if (prio < 0 || prio > MP_PHX_PRIO_MAX)
		return -EINVAL;
	thread_prio = (unsigned char)prio;
	return 0;
}
