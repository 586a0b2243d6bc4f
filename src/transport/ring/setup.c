/* SPDX-License-Identifier: MIT */
/*
 * Setting up a ring connection (Barrelfish's UMP over LMP): the client
 * creates the region (one SPSC ring per direction in a memfd) and hands it
 * to the server in its HELLO frame with its doorbell; the server checks
 * and maps it, registers the doorbell in the port's epoll set and answers
 * WELCOME with the port page and its wake-up fd.  The socket stays the
 * lifeline and carries what a ring cannot: fds and long data (as a frame,
 * with an MP_SLOT_SIDE marker in the ring to keep order).
 *
 * Doorbells never let one side block the other:
 *  - client to server: an eventfd of the client's, registered edge-
 *    triggered in the port's epoll set; the server never reads or writes
 *    it, so whatever the client does to it only wakes the server;
 *  - server to client: an eventfd of the server's inside an epoll fd of
 *    the server's; the client gets only the epoll fd, so it can wait for
 *    the wake-up but cannot touch the eventfd the server writes.
 *
 * Also here: closing and releasing both ends, and the two vtables.
 */
#include "transport/ring/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "mem/data.h"
#include "os/sockio.h"
#include "transport/all.h"
#include "transport/refuse.h"

#define REGION_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

/* ------------------------------------------------------------ region */

/* The same indices, seen from either end. */
static void views_init(struct mp_ring_region *r, struct mp_ring_view *c2s,
		       struct mp_ring_view *s2c)
{
	*c2s = (struct mp_ring_view){ .slots = r->c2s, .head = &r->c2s_head.shm_pos };
	*s2c = (struct mp_ring_view){ .slots = r->s2c, .head = &r->s2c_head.shm_pos };
}

/* A fresh region: the client writes its header before anyone sees it. */
static int region_create(struct mp_ring_region **out)
{
	struct mp_ring_region *r;
	void *p;
	int fd = mp_memfd_new("msgport-ring", sizeof(struct mp_ring_region), F_SEAL_SEAL, &p);

	if (fd < 0)
		return fd;
	r = p;
	/* [I1] relaxed: the region is ours alone until the HELLO's sendmsg()
	 * hands it over, which publishes these stores. */
	store_relaxed(&r->shm_magic, MP_RING_MAGIC);
	store_relaxed(&r->shm_nslots, MP_RING_SLOTS);
	store_relaxed(&r->client.shm_cpu, -1);
	store_relaxed(&r->server.shm_cpu, -1);
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
	/* [I2] each read once; the recvmsg() that brought fd ordered them */
	if (load_relaxed(&r->shm_magic) != MP_RING_MAGIC ||
	    load_relaxed(&r->shm_nslots) != MP_RING_SLOTS)
		goto err;
	return r;
err:
	munmap(r, sizeof(*r));
	return NULL;
}

int mp_ring_frame_send_fds(int fd, unsigned kind, uint32_t type, uint64_t seq, const int *fds,
			   unsigned nfds)
{
	struct mp_frame f = { .magic = MP_FRAME_MAGIC, .kind = (uint8_t)kind,
			      .nfds = (uint8_t)nfds, .type = type, .seq = seq };
	struct iovec iov = { &f, sizeof(f) };

	return mp_sock_send(fd, &iov, 1, fds, nfds, mp_deadline_in(0));
}

/* ------------------------------------------------------------ client */

static void cli_free(struct ring_cli *rc)
{
	if (!rc)
		return;
	if (rc->r) {
		/* [C1] release, pairs with [C2] in srv_client_gone(): a server
		 * still holding our call must learn its respond is void. */
		store_release(&rc->r->client.shm_closed, 1);
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

/* Turn the connected socket into a connection of tp: our region and our
 * doorbell go to the server in a HELLO that names tp. */
static int cli_open(struct mp_cconn *c, const struct mp_transport *tp)
{
	struct ring_cli *rc = calloc(1, sizeof(*rc));
	int fds[2] = { -1, -1 }, err;

	if (!rc)
		return -ENOMEM;
	rc->db_efd = rc->wake_epfd = -1;
	fds[0] = region_create(&rc->r);
	if (fds[0] < 0) {
		err = fds[0];
		goto err;
	}
	fds[1] = rc->db_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rc->db_efd < 0) {
		err = -errno;
		goto err;
	}
	err = mp_ring_frame_send_fds(c->fd, MP_FRAME_HELLO, tp->hello, 0, fds, 2);
	if (err)
		goto err;
	close(fds[0]);	/* the mapping stays */
	views_init(rc->r, &rc->tx, &rc->rx);
	rc->hybrid = (tp->flags & MP_TP_BULK) != 0;
	rc->pol = mp_wait_policy();
	c->tp = tp;
	c->tp_priv = rc;
	return 0;
err:
	if (fds[0] >= 0)
		close(fds[0]);
	cli_free(rc);
	return err == -EPIPE ? -ENOENT : err;
}

static int ring_open(struct mp_cconn *c)
{
	return cli_open(c, &mp_transport_ring);
}

static int hybrid_open(struct mp_cconn *c)
{
	return cli_open(c, &mp_transport_hybrid);
}

static void ring_close(struct mp_cconn *c, unsigned flags)
{
	struct ring_cli *rc = c->tp_priv;

	/* Inherited across fork: the parent still uses the region, so its
	 * closed flag is not ours to set ([C1] is skipped). */
	if ((flags & MP_CLOSE_INHERITED) && rc && rc->r) {
		munmap(rc->r, sizeof(*rc->r));
		rc->r = NULL;
	}
	cli_free(rc);
	c->tp_priv = NULL;
}

/* Our socket joins the server's wake-up set (WELCOME's epoll fd, which
 * only its eventfd is in: key 0), so that a blocked client waits for the
 * wake-up and the server's hang-up in one epoll_wait(), which also takes
 * the edge.  Never removed by hand: the entry goes when the socket is
 * closed for good (a fork child's EPOLL_CTL_DEL would remove the
 * parent's).  When it fails (not an epoll fd, no room) the client polls
 * both, as before. */
static bool cli_wake_sock_add(struct mp_cconn *c, struct ring_cli *rc)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MP_RING_WAKE_SOCK };

	return epoll_ctl(rc->wake_epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0;
}

int mp_ring_take_welcome(struct mp_cconn *c, struct ring_cli *rc)
{
	struct mp_frame f;
	int fds[MP_SOCK_FDS_MAX];
	struct iovec iov = { &f, sizeof(f) };
	unsigned nfds;
	ssize_t n;

	n = mp_sock_recv(c->fd, &iov, 1, fds, &nfds);
	if (n < 0 && n != -EAGAIN && n != -EPROTO)
		c->broken = true;	/* our own lack (recvmsg): this call says it */
	if (n <= 0)
		return n == 0 ? -EPIPE : (n == -EAGAIN ? 0 : (int)n);
	if (mp_frame_decode(&f, (size_t)n, nfds, MP_FRAME_WELCOME, &f) || nfds != 2) {
		c->refused = mp_refusal_of(&f, (size_t)n, nfds);	/* at accept? */
		mp_fds_close(fds, nfds);
		return c->refused ? -EPIPE : -EPROTO;
	}
	rc->page = mp_portpage_map(fds[0]);
	close(fds[0]);
	rc->wake_epfd = fds[1];
	if (!rc->page) {
		c->broken = true;	/* our mmap failed: the WELCOME is gone */
		return -ENOMEM;
	}
	rc->wake_sock = cli_wake_sock_add(c, rc);
	return 1;
}

/* The server's verdict: its WELCOME (or a refusal) taken, or taken now. */
static int ring_verdict(struct mp_cconn *c)
{
	struct ring_cli *rc = c->tp_priv;

	return rc->page ? 1 : mp_ring_take_welcome(c, rc);
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
	mp_ring_grant_fini(rs);
	ring_srv_txlock_fini(rs);
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

static struct ring_srv *srv_alloc(int epfd)
{
	struct ring_srv *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->db_efd = rs->wake_efd = rs->wake_epfd = -1;
	rs->epfd = epfd;
	ring_srv_txlock_init(rs);
	return rs;
}

/* Answer WELCOME: the port page and our wake-up epoll fd.  A client gone
 * already is no error: what it queued is still delivered, then it is
 * dropped. */
static int srv_welcome(struct mp_sconn *c, struct ring_srv *rs, int page_fd)
{
	int fds[2] = { page_fd, rs->wake_epfd };
	int err = mp_ring_frame_send_fds(c->fd, MP_FRAME_WELCOME, 0, 0, fds, 2);

	if (err == -ECONNRESET || err == -EPIPE) {
		store_relaxed(&rs->hup, 1);	/* private: read under the port lock */
		return 0;
	}
	return err;
}

/* A HELLO of tp arrived on c: map the client's region, answer WELCOME,
 * register its doorbell in the port's epoll set. */
static int srv_attach(struct mp_sconn *c, struct mp_rx *hello, const struct mp_attach *at,
		      const struct mp_transport *tp)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = at->doorbell_key };
	struct ring_srv *rs;
	int err;

	if (hello->nfds != 2 || c->tp_priv)
		return -EPROTO;
	rs = srv_alloc(at->epfd);
	if (!rs)
		return -ENOMEM;
	rs->kept.count = at->kept_pages;
	rs->r = region_map_peer(hello->fds[0]);
	if (!rs->r) {
		err = -EPROTO;
		goto err;
	}
	err = srv_wake_init(rs);
	if (err)
		goto err;
	rs->db_efd = hello->fds[1];
	hello->fds[1] = -1;
	err = srv_welcome(c, rs, at->page_fd);
	if (err)
		goto err;
	if (epoll_ctl(at->epfd, EPOLL_CTL_ADD, rs->db_efd, &ev) != 0) {
		err = -errno;
		goto err;
	}
	views_init(rs->r, &rs->rx, &rs->tx);
	rs->hybrid = (tp->flags & MP_TP_BULK) != 0;
	c->tp = tp;
	c->tp_priv = rs;
	return 0;
err:
	srv_free(rs);
	return err;
}

static int ring_attach(struct mp_sconn *c, struct mp_rx *hello, const struct mp_attach *at)
{
	return srv_attach(c, hello, at, &mp_transport_ring);
}

static int hybrid_attach(struct mp_sconn *c, struct mp_rx *hello, const struct mp_attach *at)
{
	return srv_attach(c, hello, at, &mp_transport_hybrid);
}

/* Tell the client we dropped it, so its next send reconnects. */
static void ring_srv_closing(struct mp_sconn *c)
{
	struct ring_srv *rs = c->tp_priv;

	/* [C3] release; the client reads it relaxed ([C4]): a hint that
	 * orders nothing, the release only keeps what we wrote before it. */
	store_release(&rs->r->server.shm_closed, 1);
}

static void ring_srv_release(struct mp_sconn *c)
{
	srv_free(c->tp_priv);
	c->tp_priv = NULL;
}

/* ------------------------------------------------------------ vtables */

#define RING_TRANSPORT_OPS					\
	.verdict = ring_verdict,				\
	.call = mp_ring_call,					\
	.call_start = mp_ring_call_start,			\
	.call_take = mp_ring_call_take,				\
	.call_wake_fd = mp_ring_call_wake_fd,			\
	.oneway = mp_ring_oneway,				\
	.close = ring_close,					\
	.receiver_waiting = mp_ring_receiver_waiting,		\
	.pages_freed = mp_ring_pages_freed,			\
	.srv_recv = mp_ring_srv_recv,				\
	.srv_take_fast = mp_ring_srv_take_fast,			\
	.srv_reply = mp_ring_srv_reply,				\
	.srv_event = mp_ring_srv_event,				\
	.srv_pending = mp_ring_srv_pending,			\
	.srv_head_prio = mp_ring_srv_head_prio,			\
	.srv_closing = ring_srv_closing,			\
	.srv_release = ring_srv_release,			\
	.srv_out_buf = mp_ring_srv_out_buf

const struct mp_transport mp_transport_ring = {
	.name = "ring",
	.flags = MP_TP_POLLED,
	.hello = MP_RING_HELLO_RING,
	.open = ring_open,
	.attach = ring_attach,
	RING_TRANSPORT_OPS,
};

/* FLMP: the ring for control and short messages, the bulk areas for the
 * long data of calls (one-way long data and fds take the side path). */
const struct mp_transport mp_transport_hybrid = {
	.name = "hybrid",
	.flags = MP_TP_POLLED | MP_TP_BULK,
	.hello = MP_RING_HELLO_HYBRID,
	.open = hybrid_open,
	.attach = hybrid_attach,
	RING_TRANSPORT_OPS,
};
