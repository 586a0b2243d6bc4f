/* SPDX-License-Identifier: MIT */
/*
 * Descriptors that turn into pulses (conn/pulse_fd.c): a port of this
 * process watches each one in its own epoll set, under a key of its own,
 * so the receive loop of the port's owner reads it when it is readable
 * and queues a pulse (mp_port_pulse_local) - no thread per source.
 *
 * Each source is a descriptor of ours (a dup, or a fresh open of a
 * character device), read without ever blocking the loop even though the
 * file description may be shared with a hostile sender who can flip its
 * O_NONBLOCK at will: preadv2(RWF_NOWAIT), recv(MSG_DONTWAIT) for a
 * socket, or a description of our own opened O_NONBLOCK.
 *
 * Lock: the sources' lock, taken with no other lock held (the receive
 * loop's event dispatch, registration, cancel); the pulse lock (and so
 * p->lock's leaves) is taken under it, by mp_port_pulse_local().
 */
#ifndef MP_CONN_PULSE_FD_H
#define MP_CONN_PULSE_FD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"

struct mp_port_obj;

/* Sources a port watches at most, and at most per registering process:
 * MP_PULSE_FD_MAX, MP_PULSE_FD_PER_PID (msgport.h). */

/* The sources' epoll keys: [MP_KEY_PULSE_FD, + MP_PULSE_FD_MAX).  Below
 * 2^32 (a connection's key has a generation >= 1 above it), clear of
 * MP_KEY_DOORBELL and the port's fixed keys (conn/port.h). */
#define MP_KEY_PULSE_FD 0xfff00000ull

/* Library-reserved message types: a client registers (a call, with the
 * fd in i.fds[0] and the code in i.raw[0..3]) or cancels (the code) a
 * source on a port of another process.  Never delivered to the user. */
#define MP_MT_PULSE_FD_ADD 0xfffffe01u
#define MP_MT_PULSE_FD_CANCEL 0xfffffe02u

static inline bool mp_pulse_fd_key(uint64_t key)
{
	return key - MP_KEY_PULSE_FD < MP_PULSE_FD_MAX;
}

/*
 * Watch fd (not consumed) on port p for the process pid (creds: the
 * pulses' sender).  0, or -EBADF fd not open; -EINVAL not readable, a
 * regular file, a directory; -EEXIST pid has a source with that code
 * already; -ENOSPC MP_PULSE_FD_MAX on the port or MP_PULSE_FD_PER_PID
 * for pid; -EOPNOTSUPP no way to read it without blocking; -EPIPE p is
 * destroyed; -ENOMEM.
 */
int mp_pulse_fd_add(struct mp_port_obj *p, int fd, uint32_t code, pid_t pid, uid_t uid,
		    gid_t gid);
/* Stop pid's source with that code: 0, or -ENOENT. */
int mp_pulse_fd_cancel(struct mp_port_obj *p, uint32_t code, pid_t pid);
/* A source's epoll event (the receive loop, no lock held): read it, queue
 * the pulse.  Returns what mp_pulse_event() would: MP_NEXT_PULSE when a
 * pulse is pending, else 2. */
int mp_pulse_fd_event(struct mp_port_obj *p, uint64_t key, uint32_t events);

#endif
