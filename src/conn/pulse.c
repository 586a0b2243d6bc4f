/* SPDX-License-Identifier: MIT */
/* Pulses as the port and its receive loop see them (conn/pulse.h): thin
 * joins of the port object and its pulse state (conn/pulseq.h). */
#include "conn/pulse.h"

#include <errno.h>

#include "conn/port.h"
#include "os/compiler.h"
#include "os/shm.h"

int mp_port_pulse_local(struct mp_port_obj *p, uint64_t source, uint32_t code, uint64_t value,
			pid_t pid, uid_t uid, gid_t gid)
{
	struct mp_pulse_port *pp = p->pulse;
	int err;

	if (load_relaxed(&p->dead))
		return -EPIPE;
	mp_lock(&pp->lock);
	err = mp_pulse_queue_locked(pp, source, code, value, 1, pid, uid, gid);
	mp_unlock(&pp->lock);
	return err;
}

bool mp_pulse_pending(struct mp_port_obj *p)
{
	return load_relaxed(&p->pulse->npending) != 0;
}

int mp_pulse_event(struct mp_port_obj *p, uint64_t key)
{
	return mp_pulseq_event(p->pulse, key);
}

bool mp_pulse_is_hello(const struct mp_rx *rx)
{
	return rx->hdr.kind == MP_FRAME_HELLO && rx->hdr.type == MP_PULSE_HELLO;
}

int mp_pulse_board_attach_locked(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *rx)
{
	return mp_pulse_board_attach(p->pulse, mp_sconn_key(c), c->pid, c->uid, c->gid, rx);
}

int mp_pulse_take(struct mp_port_obj *p, mp_msg_t *msg)
{
	return mp_pulseq_take(p->pulse, msg);
}
