/* SPDX-License-Identifier: MIT */
/*
 * Moroso: ipc_recv() and ipc_reply() (see moroso.c for how messages map
 * onto msgport).  The header of a received message is read once and
 * checked; a long message is mapped over the reservation the caller's
 * buffer was given first; a synchronous sender waits for ipc_reply().
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/compat/moroso_priv.h"

/* ----------------------------------------------------- long messages */

/* Reserve [addr, addr + len) with an inaccessible mapping, failing if
 * anything is mapped there: -EEXIST, or -EFAULT for no user address. */
static int range_reserve(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return errno == EEXIST ? -EEXIST : -EFAULT;
	if (p != addr) {	/* a kernel that treats the flag as a hint */
		munmap(p, len);
		return -EEXIST;
	}
	return 0;
}

/* Whether the memfd of a long message is one we can map safely: unsealed,
 * a sender could shrink it (SIGBUS here) or, when moved, still change
 * what we received. */
static int long_check(int fd, const struct moro_hdr *h)
{
	int need = F_SEAL_SHRINK | (h->flags & MORO_F_SHARED ? 0 : F_SEAL_WRITE);
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;

	if (seals < 0 || (seals & need) != need || fstat(fd, &st) != 0 ||
	    st.st_size < (off_t)h->len_long)
		return -EPROTO;
	return 0;
}

/* Map the memfd of a long message over the reservation at dest (cap
 * bytes); the part of the reservation it does not cover is released. */
static int long_map(int fd, const struct moro_hdr *h, void *dest, uint32_t cap, uint32_t *got)
{
	bool shared = h->flags & MORO_F_SHARED;
	uint32_t n = h->len_long < cap ? h->len_long : cap;

	if (mmap(dest, n, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
		 fd, 0) == MAP_FAILED)
		return -errno;
	if (n < cap)
		munmap((char *)dest + n, cap - n);
	*got = n;
	return 0;
}

/* ------------------------------------------------------------ receive */

struct moro_recv {
	void *long_dest, *short_dest;
	uint32_t cap_long, cap_short;
	uint32_t got_long, got_short;
};

static int recv_check(void *long_dest, void *short_dest, uint32_t *len_long, uint32_t *len_short,
		      int timeout, struct moro_recv *a)
{
	struct iovec l[2] = { { &a->cap_long, sizeof(a->cap_long) },
			      { &a->cap_short, sizeof(a->cap_short) } };
	struct iovec v[3] = { { len_long, sizeof(*len_long) }, { len_short, sizeof(*len_short) },
			      { short_dest, 0 } };
	int err;

	err = mp_moro_mem_read_iov(l, v, 2);
	if (err)
		return err;
	if (a->cap_long && (((uintptr_t)long_dest & (MOROSO_PAGE_SIZE - 1)) ||
			    (a->cap_long & (MOROSO_PAGE_SIZE - 1))))
		return -EINVAL;
	/* the lengths are written back, short_dest receives */
	v[2].iov_len = a->cap_short < MOROSO_SHORT_MAX ? a->cap_short : MOROSO_SHORT_MAX;
	err = mp_moro_mem_rw_iov(v, 3);
	if (err)
		return err;
	if (timeout < -1)
		return -EINVAL;
	a->long_dest = long_dest;
	a->short_dest = short_dest;
	a->got_long = a->got_short = 0;
	return 0;
}

static void fds_close(mp_msg_t *m)
{
	for (uint32_t k = 0; k < m->i.nfds; k++)
		close(m->i.fds[k]);
	m->i.nfds = 0;
}

/* Drop a message that is not delivered, answering its sender with err. */
static void msg_drop(struct moro_tls *t, mp_msg_t *m, mp_rid_t rid, bool call, int err)
{
	fds_close(m);
	if (call) {
		memset(&m->o, 0, sizeof(m->o));
		m->o.err = err;
		mp_respond(t->box, m, rid);
	}
}

/* 0 when the header is well-formed for a message of this shape. */
static int hdr_check(const mp_msg_t *m, const struct moro_hdr *h, bool call)
{
	bool is_long = h->flags & MORO_F_LONG;

	if (m->type != MORO_TYPE || h->magic != MORO_MAGIC || h->version != MORO_VERSION ||
	    h->kind > MORO_SYNC_NOREPLY || (h->flags & ~(MORO_F_LONG | MORO_F_SHARED)) ||
	    h->reserved || m->i.size > MOROSO_SHORT_MAX || call != (h->kind != MORO_ASYNC))
		return -EPROTO;
	if (is_long && (h->kind != MORO_SYNC || m->i.nfds != 1 || h->len_long == 0 ||
			(h->len_long & (MOROSO_PAGE_SIZE - 1))))
		return -EPROTO;
	if (!is_long && (m->i.nfds != 0 || h->len_long != 0 || (h->flags & MORO_F_SHARED)))
		return -EPROTO;
	return 0;
}

/* 0 when the message is for this mailbox and may still be taken. */
static int msg_verdict(const struct moro_tls *t, const mp_msg_t *m, const struct moro_hdr *h,
		       bool call)
{
	int err = hdr_check(m, h, call);

	if (err)
		return err;
	if (h->dst_tid != t->tid)
		return -ESRCH;
	if (call && h->deadline_ns >= 0 && moro_now_ns() > h->deadline_ns)
		return -ETIMEDOUT;	/* expired before it was taken */
	return 0;
}

/* Map a long message over the reservation (none when cap_long is 0):
 * 0, or -EAGAIN when it was dropped as malformed. */
static int long_take(struct moro_tls *t, mp_msg_t *m, mp_rid_t rid, bool call,
		     const struct moro_hdr *h, struct moro_recv *a)
{
	int err = long_check(m->i.fds[0], h);

	if (err)
		goto err;
	if (a->cap_long) {
		err = long_map(m->i.fds[0], h, a->long_dest, a->cap_long, &a->got_long);
		if (err)
			goto err;
	}
	fds_close(m);	/* the mapping keeps the pages */
	return 0;
err:
	msg_drop(t, m, rid, call, -EPROTO);
	if (a->cap_long)	/* a failed MAP_FIXED may have taken it */
		range_reserve(a->long_dest, a->cap_long);
	return -EAGAIN;
}

/*
 * Deliver a received message into the caller's buffers: 0 a synchronous
 * sender, 1 an asynchronous one, -EAGAIN dropped (malformed, for another
 * mailbox, expired, or its option_sync 2 sender is gone).
 */
static int msg_take(struct moro_tls *t, mp_msg_t *m, mp_rid_t rid, bool call, struct moro_recv *a)
{
	struct moro_hdr h;
	int err;

	memcpy(&h, m->i.raw, sizeof(h));	/* read once, then checked */
	err = msg_verdict(t, m, &h, call);
	if (err)
		goto err;
	a->got_long = 0;
	if ((h.flags & MORO_F_LONG) && long_take(t, m, rid, call, &h, a))
		return -EAGAIN;
	/* i.data of a call lives until its respond: copy first. */
	a->got_short = m->i.size < a->cap_short ? (uint32_t)m->i.size : a->cap_short;
	if (a->got_short)
		memcpy(a->short_dest, m->i.data, a->got_short);
	if (h.kind == MORO_SYNC_NOREPLY) {
		memset(&m->o, 0, sizeof(m->o));
		if (mp_respond(t->box, m, rid) != 0)
			return -EAGAIN;	/* its sender gave up: expired */
	}
	if (h.kind == MORO_SYNC) {
		t->pending = true;
		t->rid = rid;
		t->reply_cap = m->o.size;
	}
	return h.kind == MORO_ASYNC ? 1 : 0;
err:
	msg_drop(t, m, rid, call, err);
	return -EAGAIN;
}

/* Receive until a message is taken or the timeout passes. */
static int recv_wait(struct moro_tls *t, struct moro_recv *a, int timeout)
{
	struct moro_deadline d = moro_deadline_in(timeout);
	int r;

	do {
		int64_t left = moro_deadline_left(d);
		mp_msg_t m;
		mp_rid_t rid;

		r = left < MP_FOREVER ? -ETIMEDOUT : mp_recv(t->box, &m, &rid, left);
		if (r >= 0)
			r = msg_take(t, &m, rid, r == 0, a);
		else if (r == -EAGAIN && !d.poll)
			r = -ETIMEDOUT;
		else if (r == -EAGAIN)
			break;
	} while (r == -EAGAIN);
	return r;
}

int mp_moroso_recv(void *long_dest, void *short_dest, uint32_t *len_long, uint32_t *len_short,
		   int timeout)
{
	struct moro_tls *t = mp_moro_tls();
	struct moro_recv a;
	int r;

	if (!t)
		return -ENOMEM;
	r = recv_check(long_dest, short_dest, len_long, len_short, timeout, &a);
	if (r)
		return r;
	if (t->pending)
		return -EBUSY;
	if (a.cap_long) {
		r = range_reserve(long_dest, a.cap_long);	/* first: nothing lands there */
		if (r)
			return r;
	}
	r = mp_moro_box_open(t);
	if (r)
		goto out;
	r = recv_wait(t, &a, timeout);
out:
	if (a.cap_long && (r < 0 || a.got_long == 0))
		munmap(long_dest, a.cap_long);	/* the reservation, or what is left of it */
	if (r >= 0) {
		*len_long = a.got_long;
		*len_short = a.got_short;
	}
	return r;
}

/* -------------------------------------------------------------- reply */

int mp_moroso_reply(const void *message, uint32_t message_len)
{
	struct moro_tls *t = mp_moro_tls();
	char buf[MOROSO_SHORT_MAX];
	mp_msg_t m;
	int err;

	if (!t)
		return -ENOMEM;
	if (message_len > MOROSO_SHORT_MAX)
		return -EMSGSIZE;
	err = mp_moro_mem_read(buf, message, message_len);
	if (err)
		return err;
	if (!t->pending || !t->box)
		return -EALREADY;
	memset(&m, 0, sizeof(m));
	m.o.data = buf;
	m.o.size = message_len < t->reply_cap ? message_len : t->reply_cap;
	t->pending = false;
	err = mp_respond(t->box, &m, t->rid);
	if (err == -EPIPE || err == -ENOENT)
		return -ETIMEDOUT;	/* the sender is no longer waiting */
	return err;
}
