/* SPDX-License-Identifier: MIT */
/*
 * Moroso: ipc_send() (see moroso.c for how messages map onto msgport).
 * The arguments are checked in the order of the specification; a long
 * message is packed into a sealed memfd, then the message is a call or a
 * one-way send to the receiver's mailbox, resolved again when stale.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/compat/moroso_priv.h"

#define MORO_SEND_TRIES 8	/* resolve again after a stale port at most */

/* ----------------------------------------------------- long messages */

static int long_write(int fd, const void *addr, uint32_t len)
{
	for (uint32_t off = 0; off < len;) {
		ssize_t n = pwrite(fd, (const char *)addr + off, len - off, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (n == 0 || errno == EFAULT) ? -EFAULT : -errno;
		off += (uint32_t)n;
	}
	return 0;
}

/* Copy the pages at addr into a new sealed memfd (the one copy); when
 * shared, map the memfd over them so both sides see one set of pages. */
static int long_pack(void *addr, uint32_t len, bool shared)
{
	int fd = memfd_create("moroso-long", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | (shared ? 0 : F_SEAL_WRITE);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len) != 0) {
		err = -errno;
		goto err;
	}
	err = long_write(fd, addr, len);
	if (err)
		goto err;
	if (fcntl(fd, F_ADD_SEALS, seals) != 0) {
		err = -errno;
		goto err;
	}
	if (shared &&
	    mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		err = -errno;
		goto err;
	}
	return fd;
err:
	close(fd);
	return err;
}

/* --------------------------------------------------------------- send */

struct moro_send {
	int kind;
	uint32_t n_short;
	struct moro_deadline d;
	int memfd;
	bool arrived;		/* it may have reached the receiver */
};

/* Check the arguments in the order the specification lists them. */
static int send_check(struct moro_tls *t, int id, void *message_long, void *message_short,
		      uint32_t len_long, uint32_t *len_short, int timeout, int option_sync,
		      struct moro_send *s)
{
	int err;

	if (len_long && (((uintptr_t)message_long & (MOROSO_PAGE_SIZE - 1)) ||
			 (len_long & (MOROSO_PAGE_SIZE - 1))))
		return -EINVAL;
	if (!len_long && (option_sync < MORO_ASYNC || option_sync > MORO_SYNC_NOREPLY))
		return -EINVAL;
	s->kind = len_long ? MORO_SYNC : option_sync;
	if (s->kind != MORO_ASYNC && timeout < -1)
		return -EINVAL;
	err = mp_moro_mem_read(&s->n_short, len_short, sizeof(s->n_short));
	if (err)
		return err;
	if (s->n_short > MOROSO_SHORT_MAX)
		return -EMSGSIZE;
	if (s->kind == MORO_SYNC) {	/* both are written with the reply */
		struct iovec v[2] = { { len_short, sizeof(*len_short) },
				      { message_short, s->n_short } };

		err = mp_moro_mem_rw_iov(v, 2);
	} else {
		err = mp_moro_mem_readable(message_short, s->n_short);
	}
	if (err)
		return err;
	if (id <= 0)
		return -ESRCH;	/* a thread that is gone: mp_moro_box_find() says so */
	if (id == t->tid && s->kind != MORO_ASYNC)
		return -EDEADLK;	/* nobody could ever receive it */
	s->d = moro_deadline_in(s->kind == MORO_ASYNC ? -1 : timeout);
	return 0;
}

/* The reply lands in t->reply and replaces the request only on success. */
static void msg_build(mp_msg_t *m, struct moro_tls *t, int id, void *message_short,
		      uint32_t len_long, bool shared, const struct moro_send *s)
{
	struct moro_hdr h = {
		.magic = MORO_MAGIC, .version = MORO_VERSION, .kind = (uint8_t)s->kind,
		.flags = (uint8_t)((len_long ? MORO_F_LONG : 0) | (len_long && shared ? MORO_F_SHARED : 0)),
		.dst_tid = id, .src_tid = t->tid, .len_long = len_long,
		.deadline_ns = s->kind == MORO_ASYNC ? -1 : s->d.at_ns,
	};

	memset(m, 0, sizeof(*m));
	m->type = MORO_TYPE;
	memcpy(m->i.raw, &h, sizeof(h));
	m->i.data = s->n_short ? message_short : NULL;
	m->i.size = s->n_short;
	if (s->memfd >= 0) {
		m->i.fds[0] = s->memfd;
		m->i.nfds = 1;
	}
	if (s->kind == MORO_SYNC) {
		m->o.data = s->n_short ? t->reply : NULL;
		m->o.size = s->n_short;
	}
}

/* One attempt: 1 when the mailbox turned out stale (resolve again). */
static int send_once(struct moro_tls *t, int id, mp_msg_t *m, struct moro_send *s, int *ret)
{
	mp_port_t port;
	int64_t left;
	int err = mp_moro_box_find(t, id, s->kind != MORO_ASYNC, s->d, &port);

	if (err)
		return *ret = err, 0;
	left = moro_deadline_left(s->d);
	if (left < MP_FOREVER)
		return *ret = -ETIMEDOUT, 0;
	m->oid.port = port;
	m->o.size = s->kind == MORO_SYNC ? s->n_short : 0;
	err = s->kind == MORO_ASYNC ? mp_send_async(port, m, MP_FOREVER) : mp_send(port, m, left);
	if (err == -ENOENT || (err == 0 && s->kind != MORO_ASYNC && m->o.err == -ESRCH)) {
		mp_moro_cache_drop(t, id);	/* that port is not (or no longer) its mailbox */
		return 1;
	}
	if (err == 0 && s->kind != MORO_ASYNC && m->o.err < 0)
		err = m->o.err == -ETIMEDOUT ? -ETIMEDOUT : -EPROTO;
	s->arrived = err >= 0 || err == -ETIMEDOUT || err == -EPIPE;
	for (uint32_t k = 0; err >= 0 && s->kind != MORO_ASYNC && k < m->o.nfds; k++)
		close(m->o.fds[k]);	/* a reply carries none: a peer's mischief */
	*ret = err;
	return 0;
}

int mp_moroso_send(int id, void *message_long, void *message_short, uint32_t len_long,
		   uint32_t *len_short, int timeout, int shared, int option_sync)
{
	struct moro_tls *t = mp_moro_tls();
	struct moro_send s = { .memfd = -1 };
	mp_msg_t m;
	int err, ret = -ESRCH;

	if (!t)
		return -ENOMEM;
	err = send_check(t, id, message_long, message_short, len_long, len_short, timeout,
			 option_sync, &s);
	if (err)
		return err;
	if (len_long && (s.memfd = long_pack(message_long, len_long, shared)) < 0)
		return s.memfd;
	msg_build(&m, t, id, message_short, len_long, shared, &s);
	for (int tries = 0; tries < MORO_SEND_TRIES && send_once(t, id, &m, &s, &ret); tries++)
		ret = -ESRCH;
	if (s.memfd >= 0)
		close(s.memfd);
	if (len_long && !shared && s.arrived)
		munmap(message_long, len_long);	/* moved: the receiver has the pages */
	if (ret == 0 && s.kind == MORO_SYNC) {	/* the reply replaces the request */
		if (m.o.size)
			memcpy(message_short, t->reply, m.o.size);
		*len_short = (uint32_t)m.o.size;
	}
	if (ret >= 0 && s.kind != MORO_ASYNC)
		ret = 0;
	return ret;
}
