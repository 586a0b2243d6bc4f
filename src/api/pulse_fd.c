/* SPDX-License-Identifier: MIT */
/*
 * mp_pulse_on_fd(), mp_pulse_on_fd_cancel(): a descriptor that pulses a
 * port.  A port of this process watches it in its own epoll set
 * (conn/pulse_fd.c); a port of another process gets it in a call of a
 * library-reserved type that its mp_recv() serves and answers itself, so
 * the caller learns the server's verdict.
 */
#include "api/pulse_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conn/port.h"
#include "os/sockio.h"

/* The request: the code in i.raw[0..3], the rest zero. */
static void req_put(mp_msg_t *m, uint32_t type, uint32_t code)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	memcpy(m->i.raw, &code, sizeof(code));
}

static int req_code(const mp_msg_t *m, uint32_t *code)
{
	static const uint8_t zero[MP_RAW_SIZE];

	memcpy(code, m->i.raw, sizeof(*code));
	if (memcmp(m->i.raw + sizeof(*code), zero, MP_RAW_SIZE - sizeof(*code)) ||
	    m->i.size || *code >= MP_PULSE_DISCONNECT)
		return -EINVAL;
	return 0;
}

/* Ask the server of port (another process's): its answer. */
static int remote_call(mp_port_t port, uint32_t type, uint32_t code, int fd)
{
	mp_msg_t m;
	int err;

	req_put(&m, type, code);
	if (fd >= 0) {
		m.i.fds[0] = fd;
		m.i.nfds = 1;
	}
	err = mp_send(port, &m, MP_FOREVER);
	if (m.o.nfds)
		mp_fds_close(m.o.fds, m.o.nfds);	/* none expected */
	return err ? err : m.o.err > 0 ? -EPROTO : m.o.err;
}

int mp_pulse_on_fd(mp_port_t port, int fd, uint32_t code)
{
	struct mp_port_obj *p;
	int err;

	if (port == 0 || code >= MP_PULSE_DISCONNECT)
		return -EINVAL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	p = mp_port_get(port);
	if (!p)
		return remote_call(port, MP_MT_PULSE_FD_ADD, code, fd);
	err = mp_pulse_fd_add(p, fd, code, getpid(), getuid(), getgid());
	mp_port_put(p);
	return err;
}

int mp_pulse_on_fd_cancel(mp_port_t port, uint32_t code)
{
	struct mp_port_obj *p;
	int err;

	if (port == 0 || code >= MP_PULSE_DISCONNECT)
		return -EINVAL;
	p = mp_port_get(port);
	if (!p)
		return remote_call(port, MP_MT_PULSE_FD_CANCEL, code, -1);
	err = mp_pulse_fd_cancel(p, code, getpid());
	mp_port_put(p);
	return err;
}

/* The client's request, checked: what to answer. */
static int serve_one(struct mp_port_obj *p, const mp_msg_t *msg)
{
	uint32_t code;
	int err = req_code(msg, &code);

	if (err)
		return err;
	if (msg->type == MP_MT_PULSE_FD_CANCEL)
		return msg->i.nfds ? -EINVAL : mp_pulse_fd_cancel(p, code, msg->pid);
	if (msg->i.nfds != 1)
		return -EINVAL;
	return mp_pulse_fd_add(p, msg->i.fds[0], code, msg->pid, msg->uid, msg->gid);
}

void mp_pulse_fd_serve(mp_port_t port, struct mp_port_obj *p, mp_msg_t *msg, mp_rid_t rid,
		       int kind)
{
	int err = serve_one(p, msg);

	mp_fds_close(msg->i.fds, msg->i.nfds);	/* the source has a dup of its own */
	msg->i.nfds = 0;
	if (kind == 0) {	/* a call: answer it (a one-way: nobody to tell) */
		msg->flags = 0;
		msg->o.size = 0;
		msg->o.nfds = 0;
		memset(msg->o.raw, 0, sizeof(msg->o.raw));
		msg->o.err = err;
		mp_respond(port, msg, rid);	/* -EPIPE: the caller is gone, nothing to do */
	}
	memset(msg, 0, sizeof(*msg));
}
