/* SPDX-License-Identifier: MIT */
/*
 * The ring transport (Barrelfish's UMP): one SPSC ring per direction in a
 * memfd region that the client creates and hands to the server in its
 * HELLO frame, exactly as a UMP channel is set up over LMP.  The socket
 * stays the lifeline and carries what a ring cannot: fds and long data
 * (as a frame, with an MP_SLOT_SIDE marker in the ring to keep order).
 *
 * Doorbells never let one side block the other:
 *  - client to server: an eventfd of the client's, registered edge-
 *    triggered in the port's epoll set; the server never reads or writes
 *    it, so whatever the client does to it only wakes the server;
 *  - server to client: an eventfd of the server's inside an epoll fd of
 *    the server's; the client gets only the epoll fd, so it can wait for
 *    the wake-up but cannot touch the eventfd the server writes.
 */
#include "transport/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem/bulk.h"
#include "mem/kept.h"
#include "mem/data.h"
#include "conn/port.h"
#include "mem/portpage.h"
#include "os/sockio.h"
#include "transport/sock.h"
#include "conn/tls.h"
#include "os/wait.h"

#define REGION_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
/* In a call's bulk offset: the caller sent with MP_SHARE, so the server may
 * read the input in place (offsets are far below this bit). */
#define MP_BULK_OFF_SHARE ((uint64_t)1 << 63)
#define MSG_BUF (MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE)
/* A connection idle this long (mp_ticks(): ~100 us at 2.5 GHz) is checked
 * for a hang-up before use. */
#define MP_RING_IDLE_TICKS 250000u

struct ring_cli {
	struct mp_ring_region *r;
	struct mp_ring_view tx;		/* c2s, we produce */
	struct mp_ring_view rx;		/* s2c, we consume */
	int db_efd;			/* our doorbell to the server */
	int wake_epfd;			/* the server's wake-up for us; -1 before WELCOME */
	const struct mp_port_page *page;	/* NULL before WELCOME */
	unsigned probe;			/* sends since we last looked for WELCOME */
	uint64_t sent_at;		/* ring position of our last message */
	uint64_t last_use;		/* mp_ticks() when we last sent */
	bool hybrid;			/* FLMP: long data through the bulk areas */
	struct mp_bulk bulk;
	struct mp_kept_tx kept;		/* shared pages the server keeps mapped */
	uint32_t forget;		/* kept slots the message being built drops */
	uint8_t buf[MSG_BUF];
};

struct ring_srv {
	struct mp_ring_region *r;
	struct mp_ring_view rx;		/* c2s, we consume (under the port lock) */
	struct mp_ring_view tx;		/* s2c, we produce (under txlock) */
	pthread_mutex_t txlock;
	int db_efd;			/* the client's doorbell, only registered */
	int wake_efd;			/* we write it to wake the client */
	int wake_epfd;			/* holds wake_efd; the client's copy waits on it */
	int epfd;			/* the port's epoll set, to deregister db_efd */
	_Atomic int hup;		/* the client hung up: drain, then drop */
	bool hybrid;
	struct mp_bulk bulk;		/* the client's areas, every size it sent */
	struct mp_kept_rx kept;		/* the client's shared pages we keep mapped */
	uint8_t buf[MSG_BUF];
};

/* ------------------------------------------------------------ region */

static void views_init(struct mp_ring_region *r, struct mp_ring_view *c2s,
		       struct mp_ring_view *s2c, int client)
{
	(void)client;	/* the same indices, seen from either end */
	*c2s = (struct mp_ring_view){ .slots = r->c2s, .head = &r->c2s_head.pos };
	*s2c = (struct mp_ring_view){ .slots = r->s2c, .head = &r->s2c_head.pos };
}

/* A fresh region: the client writes its header before anyone sees it. */
static int region_create(struct mp_ring_region **out)
{
	void *p;
	int fd = mp_memfd_new("msgport-ring", sizeof(struct mp_ring_region), F_SEAL_SEAL, &p);
	struct mp_ring_region *r = p;

	if (fd < 0)
		return fd;
	r->magic = MP_RING_MAGIC;
	r->nslots = MP_RING_SLOTS;
	atomic_store(&r->client.cpu, -1);
	atomic_store(&r->server.cpu, -1);
	*out = r;
	return fd;
}

/* The client's region, once checked: sealed, of the exact size, our layout. */
static struct mp_ring_region *region_map_peer(int fd)
{
	struct mp_ring_region *r;

	if (mp_memfd_peer(fd, REGION_SEALS, sizeof(*r), sizeof(*r), NULL) < 0)
		return NULL;
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED)
		return NULL;
	if (r->magic != MP_RING_MAGIC || r->nslots != MP_RING_SLOTS) {
		munmap(r, sizeof(*r));
		return NULL;
	}
	return r;
}

/* Copy one whole message out of a ring into buf: its slot count, 0 when
 * empty, -EPROTO when the producer broke the protocol. */
static int ring_take(struct mp_ring_view *v, uint8_t *buf)
{
	struct mp_slot_hdr h;

	if (!ring_ready(v))
		return 0;
	ring_copy_out(v, v->pos, buf, MP_SLOT_SIZE);
	memcpy(&h, buf, sizeof(h));
	if (h.nslots == 0 || h.nslots > MP_SLOT_MSG_SLOTS)
		return -EPROTO;
	if (h.nslots > 1)
		ring_copy_out(v, v->pos + 1, buf + MP_SLOT_SIZE, (h.nslots - 1u) * MP_SLOT_SIZE);
	return h.nslots;
}

/* Encode and publish a message; the caller made sure of the space.  The
 * stamp word is left to ring_publish(): the consumer polls it. */
static void ring_put(struct mp_ring_view *v, uint8_t *buf, const struct mp_slot_msg *m)
{
	unsigned n = mp_slot_encode(buf, m);
	struct mp_slot *first = &v->slots[v->pos & (MP_RING_SLOTS - 1)];

	memcpy(first->b + sizeof(uint32_t), buf + sizeof(uint32_t), MP_SLOT_SIZE - sizeof(uint32_t));
	if (n > 1)
		ring_copy_in(v, v->pos + 1, buf + MP_SLOT_SIZE, (size_t)(n - 1) * MP_SLOT_SIZE);
	ring_publish(v, n);
}

/* Publish our CPU for the peer's same-CPU test; written only on change so
 * the line stays shared in both caches. */
static void cpu_publish(_Atomic int32_t *cpu)
{
	int32_t now = mp_cpu_now();

	if (atomic_load_explicit(cpu, memory_order_relaxed) != now)
		atomic_store_explicit(cpu, now, memory_order_relaxed);
}

static void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the peer is awake anyway. */
	}
}

/* Fits a ring: no fds and short data. */
static int fits_ring(uint32_t nfds, size_t size)
{
	return nfds == 0 && size <= MP_SLOT_DATA_MAX;
}

/* ------------------------------------------------------------ client */

static int frame_send_fds(int fd, unsigned kind, uint32_t type, uint64_t seq, const int *fds,
			  unsigned nfds)
{
	struct mp_frame f = { .magic = MP_FRAME_MAGIC, .kind = (uint8_t)kind,
			      .nfds = (uint8_t)nfds, .type = type, .seq = seq };
	struct iovec iov = { &f, sizeof(f) };

	return mp_sock_send(fd, &iov, 1, fds, nfds, mp_deadline_in(0));
}

static void cli_free(struct ring_cli *rc)
{
	if (!rc)
		return;
	if (rc->r) {
		/* A server still holding our call must learn its respond is void. */
		atomic_store_explicit(&rc->r->client.closed, 1, memory_order_release);
		munmap(rc->r, sizeof(*rc->r));
	}
	if (rc->db_efd >= 0)
		close(rc->db_efd);
	if (rc->wake_epfd >= 0)
		close(rc->wake_epfd);
	mp_portpage_unmap(rc->page);
	mp_bulk_fini(&rc->bulk);
	free(rc);
}

int mp_ring_client_open(struct mp_cconn *c, const struct mp_transport *tp)
{
	struct ring_cli *rc = calloc(1, sizeof(*rc));
	int fds[2] = { -1, -1 }, err;

	if (!rc)
		return -ENOMEM;
	rc->db_efd = rc->wake_epfd = -1;
	fds[0] = region_create(&rc->r);
	err = fds[0] < 0 ? fds[0] : 0;
	if (!err && (rc->db_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		err = -errno;
	fds[1] = rc->db_efd;
	if (!err)
		err = frame_send_fds(c->fd, MP_FRAME_HELLO, tp == &mp_transport_hybrid ? 2 : 1, 0, fds, 2);
	if (fds[0] >= 0)
		close(fds[0]);	/* the mapping stays */
	if (err) {
		cli_free(rc);
		return err == -EPIPE ? -ENOENT : err;
	}
	views_init(rc->r, &rc->tx, &rc->rx, 1);
	rc->hybrid = tp == &mp_transport_hybrid;
	c->tp = tp;
	c->tp_priv = rc;
	return 0;
}

static void ring_close(struct mp_cconn *c)
{
	struct ring_cli *rc = c->tp_priv;

	/* A fork child drops its copy of the parent's connection: the parent
	 * still uses it, so say nothing to the server. */
	if (c->fork_gen != mp_fork_gen && rc && rc->r) {
		munmap(rc->r, sizeof(*rc->r));
		rc->r = NULL;
	}
	cli_free(rc);
	c->tp_priv = NULL;
}

/* Take the server's WELCOME if it is there: 1 taken, 0 not yet, <0 error. */
static int cli_take_welcome(struct mp_cconn *c, struct ring_cli *rc)
{
	struct mp_frame f;
	int fds[MP_SOCK_FDS_MAX];
	struct iovec iov = { &f, sizeof(f) };
	unsigned nfds;
	ssize_t n;

	n = mp_sock_recv(c->fd, &iov, 1, fds, &nfds);
	if (n <= 0)
		return n == 0 ? -EPIPE : (n == -EAGAIN ? 0 : (int)n);
	if (mp_frame_decode(&f, (size_t)n, nfds, MP_FRAME_WELCOME, &f) || nfds != 2) {
		mp_fds_close(fds, nfds);
		return -EPROTO;
	}
	rc->page = mp_portpage_map(fds[0]);
	close(fds[0]);
	rc->wake_epfd = fds[1];
	return rc->page ? 1 : -EPROTO;
}

/* The server hung up: only a system call tells, so it is asked only on
 * the slow path, next to a doorbell. */
static bool cli_peer_gone(struct mp_cconn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* A server killed while polling leaves no doorbell request behind, so a
 * connection unused for a while is asked for a hang-up before use; back-
 * to-back sends never pay for it. */
static bool cli_idle_check(struct mp_cconn *c, struct ring_cli *rc)
{
	uint64_t now = mp_ticks();	/* on every send: no clock system call */
	bool idle = now - rc->last_use > MP_RING_IDLE_TICKS;

	rc->last_use = now;
	return idle && cli_peer_gone(c);
}

/* Ring the server unless one of its threads is polling the rings.
 * Returns -EPIPE when the server is found gone. */
static int cli_doorbell(struct mp_cconn *c, struct ring_cli *rc)
{
	full_fence();	/* pairs with the fence in the server's port_sleep() */
	if (rc->page && !atomic_load_explicit(&rc->page->doorbell, memory_order_relaxed))
		return 0;
	if (!rc->page && (rc->probe++ & 15) == 0)
		cli_take_welcome(c, rc);
	wake(rc->db_efd);
	return cli_peer_gone(c) ? -EPIPE : 0;
}

/* Whether the server took the message that starts at pos: after its death,
 * one it never took may go again on a new connection. */
static bool cli_taken(struct ring_cli *rc, uint64_t pos)
{
	return load_acquire(rc->tx.head) > pos;	/* pairs with the server's ring_consume() */
}

/* Block until woken, the deadline, or the server's death. */
static int cli_block(struct mp_cconn *c, struct ring_cli *rc, struct mp_deadline d)
{
	struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = rc->wake_epfd, .events = POLLIN } };
	int n = poll(p, rc->wake_epfd >= 0 ? 2 : 1, mp_deadline_ms(d));

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return mp_deadline_forever(d) ? 0 : -ETIME;
	if (p[1].revents) {
		struct epoll_event ev;

		epoll_wait(rc->wake_epfd, &ev, 1, 0);	/* consume the edge */
	}
	if ((p[0].revents & POLLIN) && !rc->page) {
		int r = cli_take_welcome(c, rc);

		if (r < 0)
			return r;
	}
	/* A reply or side frame sent before the hang-up is still found: the
	 * caller looks at the ring once more. */
	return (p[0].revents & (POLLHUP | POLLERR)) ? -EPIPE : 0;
}

typedef int (*cli_ready_fn)(struct ring_cli *rc, unsigned need);

static int cli_reply_ready(struct ring_cli *rc, unsigned need)
{
	(void)need;
	return ring_ready(&rc->rx);
}

static int cli_space_ready(struct ring_cli *rc, unsigned need)
{
	return ring_has_space(&rc->tx, need);
}

/* Sleep once, with the Dekker handshake on client.sleeping: 0 woken (look
 * again), 1 ready, <0 error or deadline. */
static int cli_sleep(struct mp_cconn *c, struct ring_cli *rc, cli_ready_fn ready, unsigned need,
		     struct mp_deadline d)
{
	int r;

	atomic_store(&rc->r->client.sleeping, 1);
	full_fence();	/* pairs with the server's fence before it reads sleeping */
	r = ready(rc, need);
	if (r == 0)
		r = cli_block(c, rc, d);
	else
		r = r < 0 ? -EPROTO : 1;
	atomic_store(&rc->r->client.sleeping, 0);
	if (r < 0 && r != -EPROTO && ready(rc, need) > 0)
		return 1;	/* it came with the hang-up or the deadline */
	return r;
}

static int cli_wait(struct mp_cconn *c, struct ring_cli *rc, cli_ready_fn ready, unsigned need,
		    struct mp_deadline d)
{
	struct mp_spin sp;
	int r;

	mp_spin_init(&sp, atomic_load_explicit(&rc->r->server.cpu, memory_order_relaxed));
	cpu_publish(&rc->r->client.cpu);
	for (;;) {
		if ((r = ready(rc, need)) != 0)
			return r < 0 ? -EPROTO : 0;
		if (d.at_ns >= 0 && d.at_ns <= mp_now_ns())
			return -ETIME;
		if (mp_spin_step(&sp))
			continue;
		r = cli_sleep(c, rc, ready, need, d);
		if (r != 0)
			return r > 0 ? 0 : r;
	}
}

/* Room for n slots, waiting until d: 0, -EAGAIN (polling), -ETIMEDOUT. */
static int cli_reserve(struct mp_cconn *c, struct ring_cli *rc, unsigned n, struct mp_deadline d)
{
	int r = ring_has_space(&rc->tx, n);

	if (r != 0)
		return r < 0 ? -EPROTO : 0;
	if (d.at_ns >= 0 && d.at_ns <= mp_now_ns())
		return -EAGAIN;
	r = cli_wait(c, rc, cli_space_ready, n, d);
	return r == -ETIME ? -ETIMEDOUT : r;
}

static void slot_msg_from(struct mp_slot_msg *m, unsigned kind, uint16_t seq, const mp_msg_t *msg)
{
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->seq = seq;
	m->type = msg->type;
	m->oid = msg->oid;
	m->out_capacity = kind == MP_SLOT_CALL ? msg->o.size : 0;
	m->raw = msg->i.raw;
	m->data = msg->i.data;
	m->data_size = msg->i.size;
}

/* A call whose data (either way) is long goes through the bulk areas. */
static bool use_bulk(const struct ring_cli *rc, unsigned kind, const mp_msg_t *msg)
{
	return rc->hybrid && kind == MP_SLOT_CALL && msg->i.nfds == 0 &&
	       msg->i.size <= MP_BULK_MAX && msg->o.size <= MP_BULK_MAX &&
	       (msg->i.size > MP_SLOT_DATA_MAX || msg->o.size > MP_SLOT_DATA_MAX);
}

/* Areas of at least need bytes; new ones go to the server in a BULK side
 * frame, in order, before the message that uses them. */
static int cli_bulk_ready(struct mp_cconn *c, struct ring_cli *rc, size_t need, struct mp_deadline d)
{
	struct mp_slot_msg mark = { .kind = MP_SLOT_SIDE, .seq = (uint16_t)c->seq };
	int fds[2], r;

	if (rc->bulk.c2s && rc->bulk.len >= need)
		return 0;
	r = cli_reserve(c, rc, 1, d);
	if (r)
		return r;
	r = mp_bulk_reserve(&rc->bulk, need, fds);
	if (r < 0)
		return r;
	r = frame_send_fds(c->fd, MP_FRAME_BULK, 0, c->seq, fds, 2);
	close(fds[0]);
	close(fds[1]);
	if (r)
		return -ECONNRESET;	/* our areas and the server's now differ */
	ring_put(&rc->tx, rc->buf, &mark);
	return 0;
}

/* The message for a bulk call: long input copied once into the area. */
static int cli_bulk_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind,
			const mp_msg_t *msg, struct mp_slot_msg *m, struct mp_deadline d)
{
	size_t need = msg->i.size > msg->o.size ? msg->i.size : msg->o.size;
	int err = cli_bulk_ready(c, rc, need, d);

	if (err)
		return err;
	slot_msg_from(m, kind, (uint16_t)c->seq, msg);
	if (msg->i.size > MP_SLOT_DATA_MAX) {
		memcpy(rc->bulk.c2s, msg->i.data, msg->i.size);
		m->flags = MP_SLOT_F_BULK;
		m->bulk_off = (msg->flags & MP_SHARE) ? MP_BULK_OFF_SHARE : 0;
	}
	m->forget = rc->forget;
	return cli_reserve(c, rc, mp_slot_count(m), d);
}

/* Long data or fds: a side frame on the socket, a marker on the ring. */
static int cli_side_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind,
			const mp_msg_t *msg, struct mp_slot_msg *m, struct mp_deadline d,
			struct mp_xfer *x)
{
	/* Reserve the marker first: a frame must never wait for it. */
	int err = cli_reserve(c, rc, 1, d);

	*m = (struct mp_slot_msg){ .kind = MP_SLOT_SIDE, .seq = (uint16_t)c->seq,
				   .forget = rc->forget };
	if (!err)
		err = mp_sockt_send(c->fd, kind == MP_SLOT_CALL ? MP_FRAME_CALL : MP_FRAME_ONEWAY,
				    c->seq, msg, d, x);
	return err;
}

/* Shared pages in, lent pages out, or both, and nothing else (no fds,
 * nothing left in our memory) may stay mapped in the server (kept.h). */
static bool pages_keepable(const mp_msg_t *msg, const struct mp_xfer *x)
{
	const unsigned in = MP_FRAME_DATA_PAGES | MP_FRAME_PAGES_SHARE;
	unsigned f = x->fflags;

	if (msg->i.nfds || (f & ~(in | MP_FRAME_OUT_PAGES)))
		return false;
	if ((f & in) == in)
		return true;
	return (f & MP_FRAME_OUT_PAGES) && fits_ring(0, msg->i.size);	/* short input inline */
}

/* The slot the server keeps tx's region in; -1 when none (or no region). */
static int kept_slot(const struct ring_cli *rc, const struct mp_pages_tx *tx)
{
	return tx->fd >= 0 ? mp_kept_tx_find(&rc->kept, tx->addr, tx->id) : -1;
}

/* A slot for tx's region (its own, or a new one), noted as taken. */
static unsigned kept_claim(struct ring_cli *rc, const struct mp_pages_tx *tx)
{
	int h = kept_slot(rc, tx);

	if (h < 0) {
		h = (int)mp_kept_tx_pick(&rc->kept);
		mp_kept_tx_set(&rc->kept, (unsigned)h, tx->addr, tx->id);
	}
	return (unsigned)h;
}

/* Every region of the message the server keeps: one ring slot names them. */
static int cli_kept_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind,
			const mp_msg_t *msg, struct mp_slot_msg *m, struct mp_deadline d,
			struct mp_xfer *x, int hin, int hout)
{
	int err;

	slot_msg_from(m, kind, (uint16_t)c->seq, msg);
	if (hin >= 0) {
		m->flags |= MP_SLOT_F_PAGES;
		m->pages_slot = (uint32_t)hin;
		m->data = NULL;
	}
	if (hout >= 0) {
		m->flags |= MP_SLOT_F_OUTPAGES;
		m->out_slot = (uint32_t)hout;
	}
	m->forget = rc->forget;
	err = cli_reserve(c, rc, mp_slot_count(m), d);
	x->sent = !err;
	return err;
}

/* Shared pages: named by their slots when the server keeps them all,
 * else sent as a side frame that asks it to keep them (in slots we note
 * as taken; after a failed send, forgotten). */
static int cli_pages_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind,
			 const mp_msg_t *msg, struct mp_slot_msg *m, struct mp_deadline d,
			 struct mp_xfer *x)
{
	int hin = kept_slot(rc, &x->in), hout = kept_slot(rc, &x->out), err;

	if ((x->in.fd < 0 || hin >= 0) && (x->out.fd < 0 || hout >= 0))
		return cli_kept_msg(c, rc, kind, msg, m, d, x, hin, hout);
	if (x->in.fd >= 0) {
		x->fflags |= MP_FRAME_PAGES_KEEP;
		x->pages_slot = kept_claim(rc, &x->in);
	}
	if (x->out.fd >= 0) {
		x->fflags |= MP_FRAME_OUT_KEEP;
		x->out_slot = kept_claim(rc, &x->out);
	}
	err = cli_side_msg(c, rc, kind, msg, m, d, x);
	if (err) {	/* not installed: whatever the server has there goes */
		if (x->fflags & MP_FRAME_PAGES_KEEP)
			mp_kept_tx_clear(&rc->kept, x->pages_slot);
		if (x->fflags & MP_FRAME_OUT_KEEP)
			mp_kept_tx_clear(&rc->kept, x->out_slot);
	}
	return err;
}

/* Send a request: inline on the ring, through the bulk areas, or as a
 * side frame with a marker (always when x has pages or VM data). */
static int cli_send(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		    struct mp_deadline d, struct mp_xfer *x)
{
	struct mp_slot_msg m;
	uint64_t pos;
	int err;

	if (atomic_load_explicit(&rc->r->server.closed, memory_order_relaxed))
		return -ECONNRESET;	/* the server dropped us: nothing was sent */
	if (cli_idle_check(c, rc))
		return -ECONNRESET;	/* it died while we were idle */
	rc->forget = mp_kept_tx_stale(&rc->kept, &x->in);
	if (pages_keepable(msg, x)) {
		err = cli_pages_msg(c, rc, kind, msg, &m, d, x);
	} else if (x->fflags) {
		err = cli_side_msg(c, rc, kind, msg, &m, d, x);
	} else if (use_bulk(rc, kind, msg)) {
		err = cli_bulk_msg(c, rc, kind, msg, &m, d);
	} else if (fits_ring(msg->i.nfds, msg->i.size)) {
		slot_msg_from(&m, kind, (uint16_t)c->seq, msg);
		m.forget = rc->forget;
		err = cli_reserve(c, rc, mp_slot_count(&m), d);
	} else {
		err = cli_side_msg(c, rc, kind, msg, &m, d, x);
	}
	if (err)
		return err == -EPROTO ? -ECONNRESET : err;
	pos = rc->tx.pos;
	ring_put(&rc->tx, rc->buf, &m);
	mp_kept_tx_sent(&rc->kept, m.forget);
	rc->sent_at = pos;
	err = cli_doorbell(c, rc);
	return err && !cli_taken(rc, pos) ? -ECONNRESET : 0;
}

/* Copy a ring reply into the caller's output part.  An answer the server
 * says it placed must be one we let it place (lent pages, our memory). */
static int cli_reply_fill(const struct ring_cli *rc, const struct mp_slot_msg *m, mp_msg_t *msg,
			  const struct mp_xfer *x)
{
	const void *src = m->data;

	if (m->data_size > msg->o.size)
		return -EPROTO;
	if (m->flags & MP_SLOT_F_PAGES) {
		if (!(x->fflags & (MP_FRAME_OUT_PAGES | MP_FRAME_OUT_VM)))
			return -EPROTO;
		src = NULL;	/* already there */
	} else if (m->flags & MP_SLOT_F_BULK) {
		if (!mp_bulk_fits(&rc->bulk, m->bulk_off, m->data_size))
			return -EPROTO;
		src = rc->bulk.s2c + m->bulk_off;
	}
	if (m->data_size && src)
		memcpy(msg->o.data, src, m->data_size);
	msg->o.size = m->data_size;
	msg->o.err = m->err;
	if (m->raw)
		memcpy(msg->o.raw, m->raw, MP_RAW_SIZE);
	else
		memset(msg->o.raw, 0, MP_RAW_SIZE);
	msg->o.nfds = 0;
	return 0;
}

/* Read the reply to call seq: 1 done, 2 the server refused DATA_VM,
 * 0 keep waiting, <0 error. */
static int cli_reply_take(struct mp_cconn *c, struct ring_cli *rc, mp_msg_t *msg,
			  const struct mp_xfer *x)
{
	struct mp_slot_msg m;
	int n = ring_take(&rc->rx, rc->buf), r;

	if (n <= 0)
		return n;
	r = mp_slot_decode(rc->buf, (size_t)n * MP_SLOT_SIZE, &m);
	ring_consume(&rc->rx, (uint64_t)n);
	if (r || (m.kind != MP_SLOT_REPLY && m.kind != MP_SLOT_SIDE))
		return -EPROTO;
	if (m.seq != (uint16_t)c->seq)
		return -EPROTO;	/* one call in flight: any other reply is a lie */
	if (m.kind == MP_SLOT_REPLY)
		return cli_reply_fill(rc, &m, msg, x) ? -EPROTO : 1;
	if (!rc->page && (r = cli_take_welcome(c, rc)) <= 0)
		return -EPROTO;
	r = mp_sockt_recv_reply(c->fd, (uint16_t)c->seq, msg, x);	/* the ring carries 16 bits */
	return r == 1 || r == 2 ? r : -EPROTO;
}

static int ring_call(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x)
{
	struct ring_cli *rc = c->tp_priv;
	int r;

	c->seq++;
	r = cli_send(c, rc, MP_SLOT_CALL, msg, d, x);
	while (!r) {
		r = cli_reply_take(c, rc, msg, x);
		if (r == 2) {
			/* The server may not read our memory: again, with the data. */
			mp_xfer_vm_refused(c, x);
			c->seq++;
			r = cli_send(c, rc, MP_SLOT_CALL, msg, d, x);
			continue;
		}
		if (r)
			return r < 0 ? r : 0;
		r = cli_wait(c, rc, cli_reply_ready, 0, d);
	}
	if (r == -EPIPE && !cli_taken(rc, rc->sent_at))
		return -ECONNRESET;	/* died before taking it: try a new connection */
	return r;
}

static int ring_oneway(struct mp_cconn *c, const mp_msg_t *msg, struct mp_deadline d,
		       struct mp_xfer *x)
{
	struct ring_cli *rc = c->tp_priv;

	return cli_send(c, rc, MP_SLOT_ONEWAY, msg, d, x);
}

/* Regions were freed: a server that keeps any of them lets go now, not
 * only with our next message (which may never come).  Best effort: with
 * no room on the ring the next message says it. */
static void ring_pages_freed(struct mp_cconn *c)
{
	struct ring_cli *rc = c->tp_priv;
	struct mp_slot_msg m = { .kind = MP_SLOT_CTRL };

	m.forget = mp_kept_tx_stale(&rc->kept, NULL);
	if (!m.forget || atomic_load_explicit(&rc->r->server.closed, memory_order_relaxed) ||
	    ring_has_space(&rc->tx, 1) != 1)
		return;
	ring_put(&rc->tx, rc->buf, &m);
	mp_kept_tx_sent(&rc->kept, m.forget);
	cli_doorbell(c, rc);
}

static int ring_receiver_waiting(struct mp_cconn *c)
{
	struct ring_cli *rc = c->tp_priv;

	if (!rc->page && cli_take_welcome(c, rc) <= 0)
		return mp_portfile_waiting(c->portfd);
	return (int)atomic_load_explicit(&rc->page->waiting, memory_order_relaxed);
}

/* ------------------------------------------------------------ server */

static void srv_free(struct ring_srv *rs)
{
	if (!rs)
		return;
	if (rs->db_efd >= 0) {
		/* The client's copy keeps it alive: deregister explicitly. */
		epoll_ctl(rs->epfd, EPOLL_CTL_DEL, rs->db_efd, NULL);
		close(rs->db_efd);
	}
	if (rs->wake_efd >= 0)
		close(rs->wake_efd);
	if (rs->wake_epfd >= 0)
		close(rs->wake_epfd);
	if (rs->r)
		munmap(rs->r, sizeof(*rs->r));
	mp_kept_rx_drop(&rs->kept, ~0u);
	mp_bulk_fini(&rs->bulk);
	pthread_mutex_destroy(&rs->txlock);
	free(rs);
}

static int srv_wake_init(struct ring_srv *rs)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	rs->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rs->wake_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rs->wake_efd < 0 || rs->wake_epfd < 0)
		return -errno;
	return epoll_ctl(rs->wake_epfd, EPOLL_CTL_ADD, rs->wake_efd, &ev) ? -errno : 0;
}

static struct ring_srv *srv_alloc(struct mp_port_obj *p)
{
	struct ring_srv *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->db_efd = rs->wake_efd = rs->wake_epfd = -1;
	rs->epfd = p->epfd;
	pthread_mutex_init(&rs->txlock, NULL);
	return rs;
}

int mp_ring_srv_attach(struct mp_port_obj *p, struct mp_sconn *c, struct mp_rx *hello)
{
	const struct mp_transport *tp = hello->hdr.type == 2 ? &mp_transport_hybrid : &mp_transport_ring;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct ring_srv *rs;
	int fds[2], err;

	if (hello->nfds != 2 || hello->hdr.type < 1 || hello->hdr.type > 2 || c->tp_priv)
		return -EPROTO;
	rs = srv_alloc(p);
	if (!rs)
		return -ENOMEM;
	rs->r = region_map_peer(hello->fds[0]);
	err = rs->r ? srv_wake_init(rs) : -EPROTO;
	if (!err) {
		rs->db_efd = hello->fds[1];
		hello->fds[1] = -1;
		fds[0] = p->page_fd;
		fds[1] = rs->wake_epfd;
		err = frame_send_fds(c->fd, MP_FRAME_WELCOME, 0, 0, fds, 2);
		/* Gone already: what it queued is still delivered, then it is dropped. */
		if (err == -ECONNRESET || err == -EPIPE) {
			atomic_store(&rs->hup, 1);
			err = 0;
		}
	}
	ev.data.u64 = ((uint64_t)c->gen << 32 | c->idx) | MP_KEY_DOORBELL;
	if (!err && epoll_ctl(p->epfd, EPOLL_CTL_ADD, rs->db_efd, &ev) != 0)
		err = -errno;
	if (err) {
		srv_free(rs);
		return err;
	}
	views_init(rs->r, &rs->rx, &rs->tx, 0);
	rs->hybrid = tp == &mp_transport_hybrid;
	c->tp = tp;
	c->tp_priv = rs;
	return 0;
}

/* Tell the client we dropped it, so its next send reconnects. */
static void ring_srv_closing(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;

	atomic_store_explicit(&rs->r->server.closed, 1, memory_order_release);
}

static void ring_srv_release(struct mp_sconn *c)
{
	srv_free(c->tp_priv);
	c->tp_priv = NULL;
}

/* A frame or hang-up on the socket: note the hang-up, drain first. */
static int ring_srv_event(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		atomic_store(&rs->hup, 1);
	return 0;
}

static bool ring_srv_pending(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;

	return ring_ready(&rs->rx);
}

static void rx_from_slot(struct mp_rx *rx, const struct mp_slot_msg *m)
{
	struct mp_frame *f = &rx->hdr;

	f->kind = m->kind == MP_SLOT_CALL ? MP_FRAME_CALL : MP_FRAME_ONEWAY;
	f->type = m->type;
	f->seq = m->seq;
	f->oid_port = m->oid.port;
	f->oid_id = m->oid.id;
	f->data_size = m->data_size;
	f->out_capacity = m->out_capacity;
	if (m->raw)
		memcpy(f->raw, m->raw, MP_RAW_SIZE);
}

/* A one-way sender may be waiting for room: wake it once we made some.
 * (A caller waits for its reply instead, woken by the reply.) */
static void srv_consumed(struct ring_srv *rs, uint64_t n, int oneway)
{
	ring_consume(&rs->rx, n);
	if (!oneway)
		return;
	full_fence();	/* pairs with the client's fence after setting sleeping */
	if (atomic_load_explicit(&rs->r->client.sleeping, memory_order_relaxed))
		wake(rs->wake_efd);
}

/* A BULK frame: the client's new areas (hybrid only); 2 = take the next. */
static int srv_take_bulk(struct ring_srv *rs, struct mp_rx *rx)
{
	int err = rs->hybrid && rx->nfds == 2 ? mp_bulk_attach(&rs->bulk, rx->fds) : -EPROTO;

	mp_rx_release(rx);
	return err ? -EPROTO : 2;
}

/* Map a client's shared pages (fd, consumed) to keep in slot h. */
static int srv_keep_one(struct ring_srv *rs, int fd, size_t size, unsigned h, void **addr,
			uint64_t *id)
{
	int err = mp_pages_rx_map(fd, size, true, MP_PAGES_RX_AUTO | MP_PAGES_RX_KEPT, addr, id);

	if (!err)
		mp_kept_rx_install(&rs->kept, h, *addr, *id);
	return err;
}

/* Shared pages (in, lent out) to keep mapped: mapped here, not by
 * server.c, so that the next message, which may name their slot, finds
 * them. */
static int srv_keep_pages(struct ring_srv *rs, struct mp_rx *rx)
{
	int err = 0;

	if (rx->hdr.flags & MP_FRAME_PAGES_KEEP) {
		err = srv_keep_one(rs, rx->pages_fd, rx->hdr.data_size, rx->hdr.pages_slot,
				   &rx->data, &rx->pages_id);
		rx->pages_fd = -1;
		if (!err)
			rx->data_kind = MP_BUF_PAGES;
	}
	if (!err && (rx->hdr.flags & MP_FRAME_OUT_KEEP)) {
		err = srv_keep_one(rs, rx->out_fd, rx->hdr.out_capacity, rx->hdr.out_slot,
				   &rx->out_data, &rx->out_id);
		rx->out_fd = -1;
	}
	if (err) {
		mp_rx_release(rx);
		return -EPROTO;
	}
	return 1;
}

static int srv_take_side(struct mp_sconn *c, struct mp_rx *rx, uint16_t seq, void *buf, size_t len)
{
	struct ring_srv *rs = c->tp_priv;
	int r = mp_sockt_srv_recv(c->fd, rx, buf, len);

	if (r != 1)
		return -EPROTO;	/* the frame is sent before its marker */
	if ((uint16_t)rx->hdr.seq != seq || rx->hdr.kind == MP_FRAME_HELLO) {
		mp_rx_release(rx);
		return -EPROTO;
	}
	if (rx->hdr.flags & (MP_FRAME_PAGES_KEEP | MP_FRAME_OUT_KEEP))
		return srv_keep_pages(rs, rx);
	return rx->hdr.kind == MP_FRAME_BULK ? srv_take_bulk(rs, rx) : 1;
}

/* Input data into private memory: the client can still write the ring
 * and its bulk area, so the server never reads them twice.  Bulk data is
 * only pointed at here: server.c copies it outside the port lock, or, when
 * the caller asked for MP_SHARE, leaves it in place (the server is then
 * told that the caller can still change it). */
static int srv_take_data(struct ring_srv *rs, const struct mp_slot_msg *m, struct mp_rx *rx)
{
	uint64_t off = m->bulk_off & ~MP_BULK_OFF_SHARE;

	rx->pages_fd = rx->out_fd = -1;
	if (m->flags & MP_SLOT_F_OUTPAGES) {
		if (mp_kept_rx_use(&rs->kept, m->out_slot, m->out_capacity, &rx->out_data, &rx->out_id))
			return -EPROTO;
		rx->hdr.flags |= MP_FRAME_OUT_PAGES;
	}
	if (m->flags & MP_SLOT_F_PAGES) {
		if (mp_kept_rx_use(&rs->kept, m->pages_slot, m->data_size, &rx->data, &rx->pages_id))
			return -EPROTO;
		rx->data_kind = MP_BUF_PAGES;
		rx->hdr.flags |= MP_FRAME_DATA_PAGES | MP_FRAME_PAGES_SHARE;
		return 0;
	}
	if (m->flags & MP_SLOT_F_BULK) {
		if (!mp_bulk_fits(&rs->bulk, off, m->data_size))
			return -EPROTO;
		rx->data = rs->bulk.c2s + off;
		rx->data_kind = MP_BUF_SHARED;
		rx->in_bulk = (m->bulk_off & MP_BULK_OFF_SHARE) ? MP_RX_BULK_SHARE : MP_RX_BULK_COPY;
		return 0;
	}
	if (m->data_size == 0)
		return 0;
	rx->data = malloc(m->data_size);
	if (!rx->data)
		return -ENOMEM;
	memcpy(rx->data, m->data, m->data_size);
	return 0;
}

/* One message from the ring: 1 taken, 2 control (take the next), else
 * as srv_recv. */
static int srv_take_one(struct mp_sconn *c, struct ring_srv *rs, struct mp_rx *rx, void *buf,
			size_t buflen)
{
	struct mp_slot_msg m;
	int oneway, err;
	int n = ring_take(&rs->rx, rs->buf);

	if (n <= 0)
		return n < 0 ? n : (atomic_load(&rs->hup) ? 0 : -EAGAIN);
	if (mp_slot_decode(rs->buf, (size_t)n * MP_SLOT_SIZE, &m) || m.kind == MP_SLOT_REPLY)
		return -EPROTO;
	oneway = m.kind != MP_SLOT_CALL;
	cpu_publish(&rs->r->server.cpu);
	c->peer_cpu = atomic_load_explicit(&rs->r->client.cpu, memory_order_relaxed);
	memset(rx, 0, sizeof(*rx));
	if (m.forget)
		mp_kept_rx_drop(&rs->kept, m.forget);
	if (m.kind == MP_SLOT_CTRL) {
		srv_consumed(rs, (uint64_t)n, 1);
		return 2;
	}
	if (m.kind == MP_SLOT_SIDE) {
		srv_consumed(rs, (uint64_t)n, oneway);
		return srv_take_side(c, rx, m.seq, buf, buflen);
	}
	rx_from_slot(rx, &m);
	err = srv_take_data(rs, &m, rx);
	if (err) {
		mp_rx_release(rx);
		return err;
	}
	srv_consumed(rs, (uint64_t)n, oneway);
	return 1;
}

static int ring_srv_recv(struct mp_sconn *c, struct mp_rx *rx, void *buf, size_t buflen)
{
	struct ring_srv *rs = c->tp_priv;
	int r;

	do
		r = srv_take_one(c, rs, rx, buf, buflen);
	while (r == 2);
	return r;
}

/* Hybrid: a long answer is written straight into the bulk area. */
static void *ring_srv_out_buf(struct mp_sconn *c, size_t cap)
{
	struct ring_srv *rs = c->tp_priv;

	if (!rs->hybrid || cap <= MP_SLOT_DATA_MAX || !rs->bulk.s2c || cap > rs->bulk.len)
		return NULL;
	return rs->bulk.s2c;
}

/* The client dropped the connection, hung up, or (asked only when it
 * sleeps: waking it costs a system call anyway) died.  Asked before the
 * reply is published: afterwards the client may take it and leave. */
static bool srv_client_gone(struct mp_sconn *c, struct ring_srv *rs, unsigned flags)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (atomic_load(&rs->hup) || atomic_load_explicit(&rs->r->client.closed, memory_order_acquire))
		return true;
	if (!(flags & MP_REPLY_ASK_PEER) &&
	    !atomic_load_explicit(&rs->r->client.sleeping, memory_order_relaxed))
		return false;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static int srv_put_reply(struct mp_sconn *c, struct ring_srv *rs, const struct mp_slot_msg *m,
			 unsigned flags)
{
	uint8_t buf[MSG_BUF];
	int r = ring_has_space(&rs->tx, mp_slot_count(m));

	/* One call in flight per connection: a full ring means a lying client. */
	if (r <= 0)
		return -EAGAIN;
	if (srv_client_gone(c, rs, flags))
		return -EPIPE;
	ring_put(&rs->tx, buf, m);
	full_fence();	/* pairs with the client's fence after setting sleeping */
	if (atomic_load_explicit(&rs->r->client.sleeping, memory_order_relaxed))
		wake(rs->wake_efd);
	return 0;
}

/* The reply's data: inline, in the bulk area (copied there unless the
 * server wrote it there), or 0 = not on the ring. */
static bool srv_reply_data(struct ring_srv *rs, const mp_msg_t *msg, struct mp_slot_msg *m)
{
	if (fits_ring(msg->o.nfds, msg->o.size)) {
		m->data = msg->o.data;
	} else if (rs->hybrid && msg->o.nfds == 0 && rs->bulk.s2c && msg->o.size <= rs->bulk.len) {
		if (msg->o.data != rs->bulk.s2c)
			memcpy(rs->bulk.s2c, msg->o.data, msg->o.size);
		m->flags = MP_SLOT_F_BULK;
		m->bulk_off = 0;
	} else {
		return false;
	}
	m->err = msg->o.err;
	m->raw = msg->o.raw;
	m->data_size = msg->o.size;
	return true;
}

static int ring_srv_reply(struct mp_sconn *c, uint64_t seq, const mp_msg_t *msg, unsigned flags,
			  struct mp_xfer *x)
{
	struct ring_srv *rs = c->tp_priv;
	struct mp_slot_msg m = { .kind = MP_SLOT_REPLY, .seq = (uint16_t)seq };
	int err = 0;

	pthread_mutex_lock(&rs->txlock);
	if (x->fflags == MP_FRAME_DATA_PLACED && msg->o.nfds == 0) {
		/* in the caller's output buffer already: say so on the ring */
		m.flags = MP_SLOT_F_PAGES;
		m.data_size = msg->o.size;
		m.err = msg->o.err;
		m.raw = msg->o.raw;
	} else if (x->fflags || !srv_reply_data(rs, msg, &m)) {
		m = (struct mp_slot_msg){ .kind = MP_SLOT_SIDE, .seq = (uint16_t)seq };
		err = ring_has_space(&rs->tx, 1) == 1 ? mp_sockt_srv_reply(c->fd, (uint16_t)seq, msg, x)
						       : -EAGAIN;
	}
	if (!err)
		err = srv_put_reply(c, rs, &m, flags);
	pthread_mutex_unlock(&rs->txlock);
	return err;
}

/* Ring and hybrid share every operation; the connection's hybrid flag
 * (set from the transport at HELLO) is the only difference. */
#define RING_TRANSPORT_OPS				\
	.polled = 1,					\
	.call = ring_call,				\
	.oneway = ring_oneway,				\
	.close = ring_close,				\
	.receiver_waiting = ring_receiver_waiting,	\
	.pages_freed = ring_pages_freed,		\
	.srv_recv = ring_srv_recv,			\
	.srv_reply = ring_srv_reply,			\
	.srv_event = ring_srv_event,			\
	.srv_pending = ring_srv_pending,		\
	.srv_closing = ring_srv_closing,		\
	.srv_release = ring_srv_release,		\
	.srv_out_buf = ring_srv_out_buf

const struct mp_transport mp_transport_ring = {
	.name = "ring",
	RING_TRANSPORT_OPS,
};

/* FLMP: the ring for control and short messages, the bulk areas for the
 * long data of calls (one-way long data and fds take the side path). */
const struct mp_transport mp_transport_hybrid = {
	.name = "hybrid",
	RING_TRANSPORT_OPS,
};
