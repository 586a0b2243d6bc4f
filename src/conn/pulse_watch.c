/* SPDX-License-Identifier: MIT */
/*
 * Death notices: a watch is a connection of ours to the watched port,
 * in the notify port's epoll set; its hang-up (port destroyed, owner
 * dead) queues the pulse.  No thread, no timer: the kernel tells us.
 */
#include "conn/pulse_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn/pulseq.h"

static void watch_drop_locked(struct mp_pulse_port *pp, struct mp_pulse_watch *w, bool epoll_too)
{
	if (epoll_too)
		epoll_ctl(pp->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	w->fd = -1;
	w->watched = 0;
}

static struct mp_pulse_watch *watch_find_locked(struct mp_pulse_port *pp, mp_port_t watched)
{
	for (unsigned k = 0; pp->watches && k < MP_WATCH_MAX; k++)
		if (pp->watches[k].watched == watched)
			return &pp->watches[k];
	return NULL;
}

static int watch_slot_locked(struct mp_pulse_port *pp, uint32_t *idx)
{
	if (!pp->watches) {
		pp->watches = calloc(MP_WATCH_MAX, sizeof(*pp->watches));
		if (!pp->watches)
			return -ENOMEM;
	}
	for (uint32_t k = 0; k < MP_WATCH_MAX; k++) {
		if (!pp->watches[k].watched) {
			*idx = k;
			return 0;
		}
	}
	return -ENOSPC;
}

int mp_pulse_watch_add(struct mp_pulse_port *pp, mp_port_t watched, uint32_t code, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct mp_pulse_watch *w;
	uint32_t idx;
	int err = 0;

	mp_lock(&pp->lock);
	w = watch_find_locked(pp, watched);
	if (w) {
		w->code = code;	/* watched already: the new code, the old lifeline */
		close(fd);
		goto out;
	}
	err = watch_slot_locked(pp, &idx);
	if (err)
		goto out;
	ev.data.u64 = MP_KEY_WATCH | idx;
	if (epoll_ctl(pp->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		err = -errno;
		goto out;
	}
	pp->watches[idx] = (struct mp_pulse_watch){ .watched = watched, .code = code, .fd = fd };
out:
	mp_unlock(&pp->lock);
	if (err)
		close(fd);
	return err;
}

int mp_pulse_watch_remove(struct mp_pulse_port *pp, mp_port_t watched)
{
	struct mp_pulse_watch *w;

	mp_lock(&pp->lock);
	w = watch_find_locked(pp, watched);
	if (w)
		watch_drop_locked(pp, w, true);
	mp_unlock(&pp->lock);
	return w ? 0 : -ENOENT;
}

void mp_pulse_watch_event_locked(struct mp_pulse_port *pp, uint32_t idx)
{
	struct mp_pulse_watch *w;
	char buf[256];
	ssize_t n;

	if (!pp->watches || idx >= MP_WATCH_MAX || !pp->watches[idx].watched)
		return;	/* cancelled meanwhile */
	w = &pp->watches[idx];
	/* The watched server never writes to us; anything it sends is dropped. */
	do
		n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (n > 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;	/* still alive */
	/* Hung up (0) or reset: the port is gone.  Full table: dropped.  */
	mp_pulse_queue_locked(pp, MP_PULSE_SRC_WATCH | w->watched, w->code, w->watched, 1,
			      getpid(), getuid(), getgid());
	watch_drop_locked(pp, w, true);
}

void mp_pulse_watches_free(struct mp_pulse_port *pp, bool epoll_too)
{
	for (unsigned k = 0; pp->watches && k < MP_WATCH_MAX; k++)
		if (pp->watches[k].watched)
			watch_drop_locked(pp, &pp->watches[k], epoll_too);
	free(pp->watches);
	pp->watches = NULL;
}
