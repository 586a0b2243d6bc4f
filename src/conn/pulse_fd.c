/* SPDX-License-Identifier: MIT */
/*
 * Descriptors that turn into pulses: the table of a port's fd sources,
 * made at its first registration, and the read that turns a readable
 * source into a pulse.  See conn/pulse_fd.h.
 *
 * What a read gives (the pulse's value):
 *   eventfd, timerfd   8 bytes: the counter, the expirations (reset by the read)
 *   UIO (/dev/uioN)    4 bytes: the device's interrupt count (cumulative)
 *   anything else      up to 4096 bytes read and thrown away: the value is
 *                      how many; end of file (a pipe's writer gone) ends
 *                      the source, as does a read error other than EAGAIN.
 */
#include "conn/pulse_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn/port.h"
#include "conn/pulse.h"
#include "os/shm.h"

enum pfd_how {
	PFD_NOWAIT = 1,	/* our dup, read with preadv2(RWF_NOWAIT) */
	PFD_OWN,	/* a description of our own, O_NONBLOCK */
	PFD_SOCK,	/* our dup of a socket, recv(MSG_DONTWAIT) */
};

struct pfd_src {
	int fd;			/* ours; -1: the slot is free */
	uint8_t how;		/* enum pfd_how */
	uint8_t width;		/* 8, 4, or 0: bytes (see the top) */
	uint32_t code;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t id;		/* the coalescing source: MP_PULSE_SRC_FD | id */
};

struct mp_pulse_fds {
	pthread_mutex_t lock;
	uint32_t n;
	uint64_t next_id;
	struct pfd_src src[MP_PULSE_FD_MAX];
};

static void fds_free(struct mp_pulse_fds *t)
{
	/* The port's epoll set is closed (or the parent's, in a fork child):
	 * closing our descriptors is all that is left. */
	for (uint32_t k = 0; k < MP_PULSE_FD_MAX; k++)
		if (t->src[k].fd >= 0)
			close(t->src[k].fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The port's table, made at the first use (two racing threads: one wins). */
static struct mp_pulse_fds *fds_get(struct mp_port_obj *p)
{
	struct mp_pulse_fds *t = atomic_load_explicit(&p->pulse_fds, memory_order_acquire);
	struct mp_pulse_fds *none = NULL;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	for (uint32_t k = 0; k < MP_PULSE_FD_MAX; k++)
		t->src[k].fd = -1;
	mp_port_pulse_fds_free = fds_free;	/* (the same value every time) */
	/* release: the table's contents before the pointer; pairs with the
	 * acquire above and in mp_pulse_fd_event() */
	if (!atomic_compare_exchange_strong_explicit(&p->pulse_fds, &none, t, memory_order_acq_rel,
						     memory_order_acquire)) {
		fds_free(t);
		return none;
	}
	return t;
}

/* What the kernel calls the file behind fd ("anon_inode:[eventfd]", a path). */
static void fd_name(int fd, char *buf, size_t len)
{
	char path[40];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* Our own descriptor for fd, and how to read it without blocking. */
static int src_open(int fd, struct pfd_src *s)
{
	char name[64], path[40];
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if ((fl & O_ACCMODE) == O_WRONLY || (fl & O_PATH) || S_ISREG(st.st_mode) ||
	    S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
		return -EINVAL;	/* not readable, or always readable: epoll refuses them */
	fd_name(fd, name, sizeof(name));
	s->width = !strcmp(name, "anon_inode:[eventfd]") || !strcmp(name, "anon_inode:[timerfd]") ? 8
		 : S_ISCHR(st.st_mode) && !strncmp(name, "/dev/uio", 8) ? 4 : 0;
	if (S_ISCHR(st.st_mode)) {
		/* A device's read may not know RWF_NOWAIT: open it anew, our own
		 * description with our own O_NONBLOCK (a UIO listener of ours) */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		s->how = PFD_OWN;
		return s->fd < 0 ? -EOPNOTSUPP : 0;
	}
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	s->how = S_ISSOCK(st.st_mode) ? PFD_SOCK : PFD_NOWAIT;
	return s->fd < 0 ? -errno : 0;
}

/* One read that never blocks: bytes read, 0 end of file, or -errno. */
static ssize_t src_read(const struct pfd_src *s, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ssize_t n;

	if (s->how == PFD_SOCK)
		n = recv(s->fd, buf, len, MSG_DONTWAIT);
	else if (s->how == PFD_NOWAIT)
		n = preadv2(s->fd, &iov, 1, -1, RWF_NOWAIT);
	else
		n = read(s->fd, buf, len);
	return n < 0 ? -errno : n;
}

/*
 * Read a readable source and queue its pulse: 1 a pulse, 0 nothing to
 * read, <0 the source is done (end of file, an error, a short count).
 * Under the sources' lock.
 */
static int src_pulse(struct mp_port_obj *p, const struct pfd_src *s)
{
	uint8_t buf[4096];
	uint64_t v8 = 0;
	uint32_t v4 = 0;
	size_t want = s->width ? s->width : sizeof(buf);
	ssize_t n = src_read(s, buf, want);
	uint64_t value;

	if (n == -EAGAIN || n == -EINTR)
		return 0;
	if (n <= 0 || (s->width && (size_t)n != want))
		return n < 0 ? (int)n : -EPIPE;
	if (s->width == 8)
		value = (memcpy(&v8, buf, 8), v8);
	else if (s->width == 4)
		value = (memcpy(&v4, buf, 4), v4);
	else
		value = (uint64_t)n;
	/* -ENOSPC (the pending table is full): this one is lost, as a
	 * coalesced pulse would be; the source stays */
	mp_port_pulse_local(p, MP_PULSE_SRC_FD | s->id, s->code, value, s->pid, s->uid, s->gid);
	return 1;
}

static void src_close(struct mp_port_obj *p, struct mp_pulse_fds *t, struct pfd_src *s)
{
	/* Explicitly: the sender's copy of the description would keep it in
	 * the epoll set after our close. */
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	t->n--;
}

/* A free slot for pid's code: its index, or -EEXIST / -ENOSPC. */
static int slot_find_locked(const struct mp_pulse_fds *t, uint32_t code, pid_t pid)
{
	uint32_t mine = 0;
	int free_k = -ENOSPC;

	for (uint32_t k = 0; k < MP_PULSE_FD_MAX; k++) {
		const struct pfd_src *s = &t->src[k];

		if (s->fd < 0) {
			if (free_k < 0)
				free_k = (int)k;
		} else if (s->pid == pid) {
			if (s->code == code)
				return -EEXIST;
			mine++;
		}
	}
	return mine >= MP_PULSE_FD_PER_PID ? -ENOSPC : free_k;
}

int mp_pulse_fd_add(struct mp_port_obj *p, int fd, uint32_t code, pid_t pid, uid_t uid,
		    gid_t gid)
{
	struct mp_pulse_fds *t = fds_get(p);
	struct epoll_event ev = { .events = EPOLLIN };
	struct pfd_src s = { .fd = -1, .code = code, .pid = pid, .uid = uid, .gid = gid };
	int k, err;

	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	k = err = load_relaxed(&p->dead) ? -EPIPE : slot_find_locked(t, code, pid);
	if (err < 0)
		goto out;
	err = src_open(fd, &s);
	if (err)
		goto out;
	s.id = ++t->next_id;
	ev.data.u64 = MP_KEY_PULSE_FD + (uint64_t)k;
	/* level-triggered: a source read only in part stays ready */
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s.fd, &ev) < 0) {
		err = errno == EPERM ? -EINVAL : -errno;	/* EPERM: epoll cannot watch it */
		goto out;
	}
	/* A first read: a file whose read knows no RWF_NOWAIT (inotify) is
	 * refused now rather than dropped at its first event; what is there
	 * already becomes a pulse. */
	if (src_pulse(p, &s) == -EOPNOTSUPP) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, s.fd, NULL);
		err = -EOPNOTSUPP;
		goto out;
	}
	t->src[k] = s;
	t->n++;
	s.fd = -1;	/* the table's now */
	err = 0;
out:
	pthread_mutex_unlock(&t->lock);
	if (s.fd >= 0)
		close(s.fd);
	return err;
}

int mp_pulse_fd_cancel(struct mp_port_obj *p, uint32_t code, pid_t pid)
{
	struct mp_pulse_fds *t = atomic_load_explicit(&p->pulse_fds, memory_order_acquire);
	int err = -ENOENT;

	if (!t)
		return err;
	pthread_mutex_lock(&t->lock);
	for (uint32_t k = 0; k < MP_PULSE_FD_MAX; k++) {
		struct pfd_src *s = &t->src[k];

		if (s->fd >= 0 && s->pid == pid && s->code == code) {
			src_close(p, t, s);
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int mp_pulse_fd_event(struct mp_port_obj *p, uint64_t key, uint32_t events)
{
	struct mp_pulse_fds *t = atomic_load_explicit(&p->pulse_fds, memory_order_acquire);
	uint32_t k = (uint32_t)(key - MP_KEY_PULSE_FD);
	struct pfd_src *s;

	if (!t)
		return 2;
	pthread_mutex_lock(&t->lock);
	s = &t->src[k];
	/* A slot cancelled (or reused) since epoll reported it: the read
	 * below does not block either way. */
	if (s->fd >= 0) {
		int r = src_pulse(p, s);

		/* done, or hung up with nothing to read: it would be ready forever */
		if (r < 0 || (r == 0 && (events & (EPOLLERR | EPOLLHUP))))
			src_close(p, t, s);
	}
	pthread_mutex_unlock(&t->lock);
	return mp_pulse_pending(p) ? MP_NEXT_PULSE : 2;
}
