/* SPDX-License-Identifier: MIT */
/*
 * The sock transport (Barrelfish's LMP): every message is one datagram on
 * the connection's SOCK_SEQPACKET socket, descriptors ride along with
 * SCM_RIGHTS, data over MP_FRAME_INLINE_MAX goes in a sealed memfd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/compiler.h"
#include "mem/data.h"
#include "os/sockio.h"
#include "transport/refuse.h"
#include "transport/sock.h"
#include "transport/all.h"

_Static_assert(sizeof(((struct mp_rx *)0)->fds) == sizeof(int) * MP_SOCK_FDS_MAX,
	       "a frame's descriptors fit an rx");

/* A frame whose descriptors did not all come (closed already): its
 * header checked against the count it claims, as if they had. */
static int frame_decode_lost(const void *buf, size_t len, unsigned expect_kind,
			     struct mp_frame *out)
{
	struct mp_frame f;

	if (len < sizeof(f))
		return -EPROTO;
	memcpy(&f, buf, sizeof(f));	/* only to count: decoded again below */
	if (f.nfds > MP_FDS_MAX)
		return -EPROTO;
	return mp_frame_decode(buf, len, f.nfds + mp_frame_extra_fds(&f), expect_kind, out);
}

void mp_rx_release(struct mp_rx *rx)
{
	switch (rx->data_kind) {
	case MP_BUF_MAPPED:
		mp_data_unmap(rx->data, rx->hdr.data_size);
		break;
	case MP_BUF_PAGES:
		mp_pages_auto_release(rx->data, rx->pages_id);
		break;
	case MP_BUF_CACHE:
		mp_buf_put(rx->data, rx->hdr.data_size);
		break;
	case MP_BUF_SHARED:
		/* the transport's shared memory (a ring client's bulk area, a
		 * connection's call buffers): never ours to free */
	case MP_BUF_SCRATCH:	/* the thread's buffer: likewise */
		break;
	default:
		free(rx->data);
		break;
	}
	rx->data = NULL;
	rx->data_kind = MP_BUF_HEAP;
	if ((rx->hdr.flags & MP_FRAME_DATA_PAGES) && rx->pages_fd >= 0)
		close(rx->pages_fd);
	if ((rx->hdr.flags & MP_FRAME_OUT_PAGES) && rx->out_fd >= 0)
		close(rx->out_fd);
	rx->pages_fd = rx->out_fd = -1;
	if (rx->out_data)
		mp_pages_auto_release(rx->out_data, rx->out_id);
	rx->out_data = NULL;
	mp_fds_close(rx->fds, rx->nfds);
	rx->nfds = 0;
}

/*
 * Send a frame with its data and the user's fds.  The data goes inline,
 * in a sealed data memfd, or as x says (pages memfd, left in the caller
 * for process_vm_readv, already placed); extra memfds follow the user's
 * descriptors: the data's, then the lent output pages'.
 */
static int frame_send(int fd, struct mp_frame *f, const void *data, const int *fds,
		      unsigned nfds, struct mp_deadline d, struct mp_xfer *x)
{
	int all[MP_SOCK_FDS_MAX];
	struct iovec iov[2] = { { f, sizeof(*f) }, { (void *)data, 0 } };
	unsigned xf = x ? x->fflags : 0;
	int iovcnt = 1, memfd = -1, err;

	memcpy(all, fds, sizeof(int) * nfds);
	f->flags |= (uint16_t)xf;
	if (xf & MP_FRAME_DATA_PAGES) {
		all[nfds++] = x->in.fd;
	} else if (xf & (MP_FRAME_DATA_VM | MP_FRAME_DATA_PLACED | MP_FRAME_VM_REFUSED)) {
		/* nothing travels with the frame */
	} else if (f->data_size > MP_FRAME_INLINE_MAX) {
		memfd = mp_data_memfd(data, f->data_size);
		if (memfd < 0)
			return memfd;
		f->flags |= MP_FRAME_DATA_MEMFD;
		all[nfds++] = memfd;
	} else if (f->data_size) {
		iov[1].iov_len = f->data_size;
		iovcnt = 2;
	}
	if (xf & MP_FRAME_OUT_PAGES)
		all[nfds++] = x->out.fd;
	err = mp_sock_send(fd, iov, iovcnt, all, nfds, d);
	if (memfd >= 0)
		close(memfd);
	if (err)
		return err;
	if (x)
		x->sent = true;
	return 0;
}

static void frame_from_msg(struct mp_frame *f, unsigned kind, uint64_t seq, const mp_msg_t *m,
			   const struct mp_xfer *x)
{
	unsigned xf = x ? x->fflags : 0;

	memset(f, 0, sizeof(*f));
	f->magic = MP_FRAME_MAGIC;
	f->kind = (uint8_t)kind;
	f->nfds = (uint8_t)m->i.nfds;
	f->type = m->type;
	f->seq = seq;
	f->oid_id = m->oid.id;
	f->oid_port = m->oid.port;
	f->data_size = m->i.size;
	f->out_capacity = kind == MP_FRAME_CALL ? m->o.size : 0;
	f->priority = (uint8_t)m->priority;	/* checked: at most MP_PRIO_MAX */
	if (m->priority)
		f->flags |= MP_FRAME_PRIO;
	if (kind == MP_FRAME_CALL && (m->flags & MP_OUT_INOUT) && m->o.size)
		f->flags |= MP_FRAME_INOUT;	/* send.c put the output's bytes last */
	memcpy(f->raw, m->i.raw, MP_RAW_SIZE);
	if (xf & MP_FRAME_DATA_VM)
		f->in_addr = (uintptr_t)m->i.data;
	if (xf & MP_FRAME_OUT_VM)
		f->out_addr = (uintptr_t)m->o.data;
	if (xf & MP_FRAME_PAGES_KEEP)
		f->pages_slot = (uint8_t)x->pages_slot;
	if (xf & MP_FRAME_OUT_KEEP)
		f->out_slot = (uint16_t)x->out_slot;
}

int mp_sockt_send(int fd, unsigned kind, uint64_t seq, const mp_msg_t *msg, struct mp_deadline d,
		  struct mp_xfer *x)
{
	struct mp_frame f;

	frame_from_msg(&f, kind, seq, msg, x);
	if (x && (x->fflags & MP_FRAME_DEADLINE)) {	/* the time left, now (never 0) */
		int64_t left = d.at_ns - mp_now_ns();

		f.deadline_ns = left > 0 ? left : 1;
	}
	return frame_send(fd, &f, msg->i.data, msg->i.fds, msg->i.nfds, d, x);
}

/* Data of a memfd or pages reply goes straight into the caller's buffer
 * (pages: mapped in place when it is a whole region of ours). */
static int reply_take_data(const struct mp_frame *f, int *fds, unsigned *nfds, mp_msg_t *msg)
{
	int err = 0;

	if (f->flags & MP_FRAME_DATA_MEMFD) {
		int memfd = fds[--*nfds];

		err = mp_data_read(memfd, msg->o.data, f->data_size);
		close(memfd);
	} else if (f->flags & MP_FRAME_DATA_PAGES) {
		err = mp_pages_rx_into(fds[--*nfds], f->data_size, f->flags & MP_FRAME_PAGES_SHARE,
				       msg->o.data, msg->o.size);
	}
	return err;
}

static void reply_fill(const struct mp_frame *f, const int *fds, unsigned nfds, mp_msg_t *msg)
{
	msg->o.size = f->data_size;
	msg->o.err = f->err;
	memcpy(msg->o.raw, f->raw, MP_RAW_SIZE);
	memcpy(msg->o.fds, fds, sizeof(int) * nfds);
	msg->o.nfds = nfds;
}

/* A reply may only say its data is placed, or refuse our memory, when the
 * call offered that: 0 fine, 2 refused, -EPROTO a lie. */
static int reply_check_offer(const struct mp_frame *f, const struct mp_xfer *x)
{
	unsigned offered = x ? x->fflags : 0;

	if ((f->flags & MP_FRAME_VM_REFUSED))
		return (offered & MP_FRAME_DATA_VM) ? 2 : -EPROTO;
	if ((f->flags & MP_FRAME_DATA_PLACED) && !(offered & (MP_FRAME_OUT_VM | MP_FRAME_OUT_PAGES)))
		return -EPROTO;
	return 0;
}

/* The server's library refused the call (wire.c checked err is an errno):
 * the call fails with it, the connection goes on. */
static int reply_refused(const struct mp_frame *f, uint64_t seq, mp_msg_t *msg)
{
	if (f->seq != 0 && f->seq != seq)
		return 0;	/* stale */
	msg->o.err = f->err;
	msg->o.nfds = 0;
	return f->seq == 0 ? 4 : 3;	/* seq 0: at accept (transport/refuse.h), no connection */
}

/* A reply whose descriptors we could not receive (our table is full):
 * the call fails with -EMFILE; the frame came whole, the connection goes
 * on.  Its fds are closed already; any data it had in memfds is lost. */
static int reply_lost(const void *raw, size_t n, uint64_t seq, mp_msg_t *msg)
{
	struct mp_frame f;

	if (frame_decode_lost(raw, n, MP_FRAME_REPLY, &f) || f.data_size > msg->o.size)
		return -EPROTO;
	f.err = -EMFILE;
	return reply_refused(&f, seq, msg);
}

int mp_sockt_recv_reply(int fd, uint64_t seq, mp_msg_t *msg, const struct mp_xfer *x)
{
	int fds[MP_SOCK_FDS_MAX];
	struct mp_frame raw, f;
	struct iovec iov[2] = { { &raw, sizeof(raw) }, { msg->o.data, msg->o.size } };
	unsigned nfds;
	bool lost;
	ssize_t n;
	int err;

	n = mp_sock_recv_ex(fd, iov, msg->o.size ? 2 : 1, fds, &nfds, &lost);
	if (n <= 0)
		return n == 0 ? -EPIPE : (int)n;
	if (lost)
		return reply_lost(&raw, (size_t)n, seq, msg);
	err = mp_frame_decode(&raw, (size_t)n, nfds, MP_FRAME_REPLY, &f);
	if (err)
		goto err;
	if (f.flags & MP_FRAME_REFUSED)
		return reply_refused(&f, seq, msg);
	if (f.data_size > msg->o.size) {
		err = -EPROTO;
		goto err;
	}
	if (f.seq != seq) {
		mp_fds_close(fds, nfds);
		return 0;	/* stale */
	}
	err = reply_check_offer(&f, x);
	if (err == 2)
		return 2;	/* carries nothing */
	if (err)
		goto err;
	err = reply_take_data(&f, fds, &nfds, msg);
	if (err)
		goto err;
	reply_fill(&f, fds, nfds, msg);
	return 1;
err:
	mp_fds_close(fds, nfds);
	return err;
}

/* The call's result for mp_sockt_recv_reply()'s 1 (answered), 3 (refused:
 * the connection goes on, api/send.c keeps it) or 4 (refused at accept:
 * api/send.c says why). */
static int reply_result(struct mp_cconn *c, int r, const mp_msg_t *msg)
{
	if (r == 1)
		return 0;
	if (r == 3) {
		c->call_refused = true;
		return msg->o.err;
	}
	c->refused = msg->o.err;
	return -EPIPE;
}

static int sock_call(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x)
{
	int err = mp_sockt_send(c->fd, MP_FRAME_CALL, ++c->seq, msg, d, x);

	while (!err) {
		int r = mp_sock_wait_readable(c->fd, d);

		if (r <= 0)
			return r == 0 ? -ETIME : r;	/* sent, no answer in time */
		r = mp_sockt_recv_reply(c->fd, c->seq, msg, x);
		if (r == 1 || r == 3 || r == 4)
			return reply_result(c, r, msg);
		if (r == 2) {
			mp_xfer_vm_refused(c, x);
			err = mp_sockt_send(c->fd, MP_FRAME_CALL, ++c->seq, msg, d, x);
			continue;
		}
		if (r == -EPIPE)
			return r;	/* hung up: what it sent before (a refusal) stays readable */
		if (r < 0 && r != -EAGAIN) {
			/* Its answer may still come, and a stale reply's data
			 * lands in the next call's buffer before its seq is
			 * seen: no next call on this connection. */
			shutdown(c->fd, SHUT_RDWR);
			c->broken = true;
			return r;
		}
	}
	return err;
}

/* A started call (api/call_async.c): sent, its answer taken later. */
static int sock_call_start(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d,
			   struct mp_xfer *x)
{
	return mp_sockt_send(c->fd, MP_FRAME_CALL, ++c->seq, msg, d, x);
}

/* Its answer, if the socket holds it (stale replies skipped); the answer
 * itself, or the hang-up, makes the socket readable. */
static int sock_call_take(struct mp_cconn *c, mp_msg_t *msg, struct mp_xfer *x)
{
	for (;;) {
		int r = mp_sockt_recv_reply(c->fd, c->seq, msg, x);

		if (r == 1 || r == 3 || r == 4)
			return reply_result(c, r, msg);
		if (r == -EAGAIN)
			return r;
		if (r < 0 || r == 2) {
			/* never offered our memory (2: a lie); no next call */
			shutdown(c->fd, SHUT_RDWR);
			return r < 0 ? r : -EPROTO;
		}
	}
}

static int sock_oneway(struct mp_cconn *c, const mp_msg_t *msg, struct mp_deadline d,
		       struct mp_xfer *x)
{
	return mp_sockt_send(c->fd, MP_FRAME_ONEWAY, 0, msg, d, x);
}

/* Move received data into a buffer that outlives the receive buffer.
 * Pages, lent output pages and data left in the caller are only noted
 * here: api/recv.c maps or reads them outside the port lock. */
static int rx_take_data(struct mp_rx *rx, const void *inline_data)
{
	size_t len = rx->hdr.data_size;
	unsigned fl = rx->hdr.flags;
	int err;

	if (fl & MP_FRAME_OUT_PAGES)
		rx->out_fd = rx->fds[--rx->nfds];
	if (fl & MP_FRAME_DATA_PAGES) {
		rx->pages_fd = rx->fds[--rx->nfds];
		return 0;
	}
	if (fl & MP_FRAME_DATA_VM)
		return 0;
	if (fl & MP_FRAME_DATA_MEMFD) {
		int memfd = rx->fds[--rx->nfds];

		err = mp_data_map(memfd, len, &rx->data);
		close(memfd);
		rx->data_kind = err ? MP_BUF_HEAP : MP_BUF_MAPPED;
		return err;
	}
	if (len == 0)
		return 0;
	rx->data = malloc(len);
	if (!rx->data)
		return -ENOMEM;
	memcpy(rx->data, inline_data, len);
	return 0;
}

/* The frame's descriptors are closed (or never came): only its header,
 * checked against the count it claims, is left to refuse it with err. */
static int rx_lost(struct mp_rx *rx, const void *buf, size_t n, int err)
{
	if (frame_decode_lost(buf, n, 0, &rx->hdr))
		return -EPROTO;
	rx->hdr.err = err;	/* (a call's own err is 0: the field is free) */
	return MP_RX_FDS_LOST;
}

/* recvmsg() failed for our own lack (err): the frame is still queued.
 * Take it without its descriptors (the kernel closes them: no control
 * buffer), so that it can be refused and the connection stays in step. */
static int rx_discard(int fd, struct mp_rx *rx, void *buf, size_t buflen, int err)
{
	ssize_t n = recv(fd, buf, buflen, MSG_DONTWAIT);

	if (n <= 0)
		return err;
	return rx_lost(rx, buf, (size_t)n, err);
}

int mp_sockt_srv_recv(int fd, struct mp_rx *rx, void *buf, size_t buflen)
{
	struct iovec iov = { buf, buflen };
	struct mp_frame hdr;
	bool lost;
	ssize_t n;
	int err;

	memset(rx, 0, sizeof(*rx));
	rx->pages_fd = rx->out_fd = -1;
	n = mp_sock_recv_ex(fd, &iov, 1, rx->fds, &rx->nfds, &lost);
	if (n < 0 && mp_err_resource((int)n))
		return rx_discard(fd, rx, buf, buflen, (int)n);
	if (n <= 0)
		return (int)n;
	if (lost)	/* the descriptors are closed: only the header is left */
		return rx_lost(rx, buf, (size_t)n, -EMFILE);
	err = mp_frame_decode(buf, (size_t)n, rx->nfds, 0, &rx->hdr);
	if (err)
		goto err;
	err = rx_take_data(rx, (const char *)buf + sizeof(struct mp_frame));
	if (err)
		goto err;
	return 1;
err:
	hdr = rx->hdr;
	rx->hdr.data_size = 0;
	mp_rx_release(rx);
	if (!mp_err_resource(err))
		return err;
	rx->hdr = hdr;	/* refused for our lack, not the peer's fault */
	rx->hdr.err = err;
	rx->pages_fd = rx->out_fd = -1;
	return MP_RX_FDS_LOST;
}

static int sock_srv_recv(struct mp_sconn *c, struct mp_rx *rx, void *buf, size_t buflen)
{
	int r = mp_sockt_srv_recv(c->fd, rx, buf, buflen);

	if (r != MP_RX_FDS_LOST)
		return r;
	/* refused: nothing for the user now; the socket stays readable for
	 * the next frame */
	return mp_refuse_frame(c, &rx->hdr, rx->hdr.err) ? -EPROTO : -EAGAIN;
}

/* The next frame's header, peeked (a hint: the read checks it again). */
static int sock_srv_head_prio(struct mp_sconn *c)
{
	struct mp_frame f;
	ssize_t n = recv(c->fd, &f, sizeof(f), MSG_PEEK | MSG_DONTWAIT);

	if (n < (ssize_t)sizeof(f))
		return -1;	/* none, or not a frame: the read finds out */
	if (f.kind != MP_FRAME_CALL && f.kind != MP_FRAME_ONEWAY)
		return -1;	/* a HELLO, a pulse board's: not ordered */
	return (f.flags & MP_FRAME_PRIO) ? f.priority & MP_PRIO_MAX : 0;
}

int mp_sockt_srv_reply(int fd, uint64_t seq, const mp_msg_t *msg, struct mp_xfer *x)
{
	struct mp_frame f;

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_REPLY;
	f.nfds = (uint8_t)msg->o.nfds;
	f.err = msg->o.err;
	f.seq = seq;
	f.data_size = msg->o.size;
	memcpy(f.raw, msg->o.raw, MP_RAW_SIZE);
	/* Polling deadline: a client that does not read blocks only itself. */
	return frame_send(fd, &f, msg->o.data, msg->o.fds, msg->o.nfds, mp_deadline_in(0), x);
}

static int sock_srv_reply(struct mp_sconn *c, uint64_t seq, const mp_msg_t *msg, unsigned flags,
			  struct mp_xfer *x)
{
	(void)flags;	/* the send itself fails on a dead client */
	return mp_sockt_srv_reply(c->fd, seq, msg, x);
}

/* The bootstrap socket is the transport: nothing to open or attach. */
const struct mp_transport mp_transport_sock = {
	.name = "sock",
	.call = sock_call,
	.call_start = sock_call_start,
	.call_take = sock_call_take,
	.oneway = sock_oneway,
	.srv_recv = sock_srv_recv,
	.srv_head_prio = sock_srv_head_prio,
	.srv_reply = sock_srv_reply,
};
