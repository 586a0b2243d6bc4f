/* SPDX-License-Identifier: MIT */
#include "transport/refuse.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "os/sockio.h"

/* Frames that set up state of the connection (a ring, bulk areas, a kept
 * pages slot the client will name again) cannot be refused and go on:
 * the client would believe in state the server does not have. */
static bool frame_refusable(const struct mp_frame *f)
{
	if (f->kind != MP_FRAME_CALL && f->kind != MP_FRAME_ONEWAY)
		return false;
	return !(f->flags & (MP_FRAME_PAGES_KEEP | MP_FRAME_OUT_KEEP));
}

int mp_refuse_call(struct mp_sconn *c, uint64_t seq, int err)
{
	struct mp_xfer x;
	mp_msg_t m;

	memset(&m, 0, sizeof(m));
	m.o.err = err;
	mp_xfer_init(&x);
	x.fflags = MP_FRAME_REFUSED;	/* ring transports: a frame, not a slot */
	return c->tp->srv_reply(c, seq, &m, 0, &x);
}

int mp_refuse_frame(struct mp_sconn *c, const struct mp_frame *f, int err)
{
	if (!frame_refusable(f))
		return -EPROTO;
	c->refused++;
	if (f->kind == MP_FRAME_ONEWAY)
		return 0;	/* dropped: a one-way has no one to tell */
	return mp_refuse_call(c, f->seq, err);
}

/* The verdict at accept: a reply of seq 0 (no call of the client's, the
 * connection), refused with err, or taken (err 0, no flags). */
static int verdict_send(int fd, int err)
{
	struct mp_frame f;

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_REPLY;
	f.flags = err ? MP_FRAME_REFUSED : 0;
	f.err = err;
	return send(fd, &f, sizeof(f), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int mp_refuse_accept(int fd, int err)
{
	return verdict_send(fd, err);
}

int mp_accept_send(int fd)
{
	return verdict_send(fd, 0);
}

bool mp_verdict_is_hello(const struct mp_rx *rx)
{
	return rx->hdr.kind == MP_FRAME_HELLO && rx->hdr.type == MP_HELLO_VERDICT && !rx->nfds;
}

int mp_verdict_ask(int fd)
{
	struct mp_frame f = { .magic = MP_FRAME_MAGIC, .kind = MP_FRAME_HELLO,
			      .type = MP_HELLO_VERDICT };
	struct iovec iov = { &f, sizeof(f) };

	return mp_sock_send(fd, &iov, 1, NULL, 0, mp_deadline_in(0));
}

bool mp_frame_accepted(const void *buf, size_t n, unsigned nfds)
{
	struct mp_frame f;

	if (mp_frame_decode(buf, n, nfds, MP_FRAME_REPLY, &f) != 0)
		return false;
	return f.seq == 0 && f.flags == 0 && f.err == 0 && f.data_size == 0 && nfds == 0;
}

int mp_refusal_of(const void *buf, size_t n, unsigned nfds)
{
	struct mp_frame f;

	if (mp_frame_decode(buf, n, nfds, MP_FRAME_REPLY, &f) != 0)
		return 0;
	if (!(f.flags & MP_FRAME_REFUSED) || f.seq != 0)
		return 0;
	return f.err;	/* decode checked: an errno, nothing else with it */
}

/* One datagram of fd, its descriptors closed: 1 ACCEPTED, else 0 and
 * *err the refusal's error (0: not one); *n what mp_sock_recv() said. */
static int verdict_read(int fd, ssize_t *n, int *err)
{
	int fds[MP_SOCK_FDS_MAX];
	struct mp_frame f;
	struct iovec iov = { &f, sizeof(f) };
	unsigned nfds = 0;
	int acc;

	*err = 0;
	*n = mp_sock_recv(fd, &iov, 1, fds, &nfds);
	if (*n <= 0)
		return 0;
	acc = mp_frame_accepted(&f, (size_t)*n, nfds);
	if (!acc)
		*err = mp_refusal_of(&f, (size_t)*n, nfds);
	mp_fds_close(fds, nfds);
	return acc;
}

int mp_verdict_take(int fd)
{
	ssize_t n;
	int err;

	if (verdict_read(fd, &n, &err))
		return 1;
	/* A server that closed with our messages unread leaves us its
	 * ECONNRESET (read as 0) before the frames it sent: look once more. */
	if (n == 0 && verdict_read(fd, &n, &err))
		return 1;
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return n == 0 ? -ECONNRESET : (int)n;
	return err ? err : -EPROTO;
}

int mp_refusal_take(int fd)
{
	ssize_t n;
	int err;

	/* past the ECONNRESET a server leaves us when it closed with our
	 * messages unread (read as 0), and past its ACCEPTED frame */
	for (int k = 0; k < 3; k++) {
		int acc = verdict_read(fd, &n, &err);

		if (n < 0 || (n > 0 && !acc))
			return err;
	}
	return 0;
}
