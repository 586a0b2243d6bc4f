/* SPDX-License-Identifier: MIT */
/*
 * A port's pending pulses (conn/pulseq.h): the coalescing table, the
 * eventfd that keeps the port fd readable while it is not empty, and
 * disconnect notices.
 */
#include "conn/pulseq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "os/compiler.h"
#include "os/shm.h"

static uint32_t sat_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static void pending_signal(struct mp_pulse_port *pp, bool on)
{
	uint64_t v = 1;

	if (on) {
		if (write(pp->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: cannot be, it is written on 0 -> 1 only */
		}
	} else if (read(pp->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: it was not signalled */
	}
}

static int table_room_locked(struct mp_pulse_port *pp)
{
	uint32_t cap = pp->cap ? pp->cap * 2 : 16;
	struct mp_pulse_pending *q;

	if (pp->n < pp->cap)
		return 0;
	if (pp->n >= MP_PULSE_PENDING_MAX)
		return -ENOSPC;
	if (cap > MP_PULSE_PENDING_MAX)
		cap = MP_PULSE_PENDING_MAX;
	q = realloc(pp->q, sizeof(*q) * cap);
	if (!q)
		return -ENOMEM;
	pp->q = q;
	pp->cap = cap;
	return 0;
}

int mp_pulse_queue_locked(struct mp_pulse_port *pp, uint64_t source, uint32_t code,
			  uint64_t value, uint32_t count, pid_t pid, uid_t uid, gid_t gid)
{
	int err;

	for (uint32_t k = 0; k < pp->n; k++) {
		struct mp_pulse_pending *e = &pp->q[k];

		if (e->source == source && e->code == code) {
			e->value = value;
			e->count = sat_add(e->count, count);
			e->pid = pid;
			return 0;
		}
	}
	err = table_room_locked(pp);
	if (err)
		return err;
	pp->q[pp->n] = (struct mp_pulse_pending){ .source = source, .code = code, .count = count,
						  .value = value, .pid = pid, .uid = uid, .gid = gid };
	if (pp->n++ == 0)
		pending_signal(pp, true);
	store_relaxed(&pp->npending, pp->n);	/* a hint, read unlocked */
	return 0;
}

/* ------------------------------------------------------- receive loop */

/* Boards held back (a full table, a client that kept pulsing) are drained
 * again: once each, and they may ask for another turn. */
static void boards_retry_locked(struct mp_pulse_port *pp)
{
	pp->retry = false;
	for (uint32_t k = 0; k < pp->nboards; k++)
		if (pp->boards[k])
			mp_pulse_board_drain_locked(pp, pp->boards[k]);
}

void mp_pulse_retry_locked(struct mp_pulse_port *pp)
{
	if (pp->retry)
		return;
	pp->retry = true;
	if (!pp->n)
		pending_signal(pp, true);	/* a receiver comes back for it */
}

int mp_pulseq_event(struct mp_pulse_port *pp, uint64_t key)
{
	uint32_t idx = (uint32_t)(key & MP_KEY_INDEX);

	mp_lock(&pp->lock);
	if (key == MP_KEY_PULSE) {
		/* level: readable while pulses wait, or boards to drain again
		 * (cleared first: the retry may ask for another turn) */
		if (!pp->n)
			pending_signal(pp, false);
		if (pp->retry)
			boards_retry_locked(pp);
	} else if ((key & ~MP_KEY_INDEX) == MP_KEY_BOARD) {
		if (idx < pp->nboards && pp->boards[idx])
			mp_pulse_board_drain_locked(pp, pp->boards[idx]);
	} else {
		mp_pulse_watch_event_locked(pp, idx);
	}
	mp_unlock(&pp->lock);
	return load_relaxed(&pp->npending) ? MP_NEXT_PULSE : 2;
}


int mp_pulseq_take(struct mp_pulse_port *pp, mp_msg_t *msg)
{
	struct mp_pulse_pending e;
	mp_pulse_info_t info;

	mp_lock(&pp->lock);
	if (!pp->n) {
		mp_unlock(&pp->lock);
		return 0;
	}
	e = pp->q[0];
	memmove(pp->q, pp->q + 1, sizeof(*pp->q) * --pp->n);
	if (!pp->n)
		pending_signal(pp, false);
	store_relaxed(&pp->npending, pp->n);
	if (pp->retry)
		boards_retry_locked(pp);
	mp_unlock(&pp->lock);
	memset(msg, 0, sizeof(*msg));
	msg->type = e.code;
	msg->pid = e.pid;
	msg->uid = e.uid;
	msg->gid = e.gid;
	info = (mp_pulse_info_t){ .value = e.value, .count = e.count };
	memcpy(msg->i.raw, &info, sizeof(info));
	return MP_RECV_PULSE;
}

/* -------------------------------------------------- port and connections */

int mp_pulse_port_init(struct mp_pulse_port **out, int epfd, bool disconnect)
{
	struct mp_pulse_port *pp = calloc(1, sizeof(*pp));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MP_KEY_PULSE };

	*out = pp;
	if (!pp)
		return -ENOMEM;
	mp_lock_init(&pp->lock);
	pp->disconnect = disconnect;
	pp->epfd = epfd;
	pp->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pp->efd < 0)
		return -errno;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, pp->efd, &ev) ? -errno : 0;
}

void mp_pulse_port_free(struct mp_pulse_port *pp, bool epoll_too)
{
	if (!pp)
		return;
	for (uint32_t k = 0; k < pp->nboards; k++)
		if (pp->boards[k])
			mp_pulse_board_free(pp, pp->boards[k], epoll_too);
	mp_pulse_watches_free(pp, epoll_too);
	if (pp->efd >= 0)
		close(pp->efd);
	free(pp->boards);
	free(pp->pids);
	free(pp->q);
	free(pp);
}

static struct mp_pid_count *pid_find_locked(struct mp_pulse_port *pp, pid_t pid)
{
	for (uint32_t k = 0; k < pp->npids; k++)
		if (pp->pids[k].pid == pid)
			return &pp->pids[k];
	return NULL;
}

void mp_pulse_conn_added(struct mp_pulse_port *pp, pid_t pid)
{
	struct mp_pid_count *e;

	if (!pp->disconnect)
		return;
	mp_lock(&pp->lock);
	e = pid_find_locked(pp, pid);
	if (!e && pp->npids == pp->cappids) {
		uint32_t cap = pp->cappids ? pp->cappids * 2 : 8;
		struct mp_pid_count *v = realloc(pp->pids, sizeof(*v) * cap);

		if (v) {
			pp->pids = v;
			pp->cappids = cap;
		}
	}
	if (!e && pp->npids < pp->cappids) {
		e = &pp->pids[pp->npids++];
		*e = (struct mp_pid_count){ .pid = pid };
	}
	if (e)
		e->n++;	/* (out of memory: this one is not counted, see conn_gone) */
	mp_unlock(&pp->lock);
}

void mp_pulse_conn_gone(struct mp_pulse_port *pp, uint64_t key, pid_t pid, uid_t uid, gid_t gid,
			bool dead)
{
	struct mp_pid_count *e;

	mp_lock(&pp->lock);
	for (uint32_t k = 0; k < pp->nboards; k++) {
		struct mp_pulse_bd *b = pp->boards[k];

		if (b && b->conn_key == key) {
			mp_pulse_board_drain_locked(pp, b);	/* what it sent last still counts */
			mp_pulse_board_free(pp, b, true);
			pp->boards[k] = NULL;
		}
	}
	/* A connection that was not counted (out of memory at its accept)
	 * may make the notice come early: the cost of not failing accept. */
	if (pp->disconnect && (e = pid_find_locked(pp, pid)) && --e->n == 0) {
		*e = pp->pids[--pp->npids];
		if (!dead)	/* nobody would receive it */
			mp_pulse_queue_locked(pp, MP_PULSE_SRC_DISCONNECT | (uint32_t)pid,
					      MP_PULSE_DISCONNECT, (uint64_t)(uint32_t)pid, 1, pid,
					      uid, gid);
	}
	mp_unlock(&pp->lock);
}
