/* SPDX-License-Identifier: MIT */
/* Running a call's handler at its caller's priority (api/prio_inherit.h). */
#include "api/prio_inherit.h"

#include <stdbool.h>

#include "conn/port.h"
#include "os/prio.h"

_Atomic uint32_t mp_inherit_ports;
_Thread_local mp_rid_t mp_inherit_rid;
static _Thread_local struct mp_prio_saved inherit_saved;

static bool port_inherits(mp_port_t port)
{
	struct mp_tls *tls = mp_tls_get();
	struct mp_port_obj *p;
	bool held, on;

	p = tls ? mp_port_find(port, tls, &held) : NULL;
	if (!p)
		return false;
	on = p->prio_inherit;
	mp_port_done(p, tls, held);
	return on;
}

void mp_inherit_begin(mp_port_t port, mp_rid_t rid, uint32_t prio)
{
	if (!rid || !port_inherits(port) || mp_prio_save(&inherit_saved) != 0)
		return;
	mp_inherit_rid = rid;
	(void)mp_prio_set(prio);	/* best effort (msgport.h); unchanged when refused */
}

void mp_inherit_end(void)
{
	mp_inherit_rid = 0;
	(void)mp_prio_restore(&inherit_saved);	/* the port's creation checked the right */
}
