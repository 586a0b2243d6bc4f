/* SPDX-License-Identifier: MIT */
/*
 * The client's call path on a ring connection: publish the request on
 * the c2s ring, ring the server's doorbell unless one of its threads is
 * polling [D1], wait for the reply on the s2c ring (spin, then sleep with
 * the flag handshake [S1]), copy it out.  Messages that do not go inline
 * are built in client_long.c.
 */
#include "transport/ring/ring.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>

#include "ns/portfile.h"
#include "os/sockio.h"
#include "transport/sock.h"

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
static inline __attribute__((always_inline)) bool cli_idle_check(struct mp_cconn *c,
								 struct ring_cli *rc)
{
	uint64_t now = mp_ticks();	/* on every send: no clock system call */
	bool idle = now - rc->last_use > MP_RING_IDLE_TICKS;

	rc->last_use = now;
	return idle && cli_peer_gone(c);
}

/* The doorbell's slow half: no WELCOME yet, or a receiver sleeps. */
static MP_COLD int cli_ring(struct mp_cconn *c, struct ring_cli *rc, bool ask)
{
	if (!rc->page && (rc->probe++ & 15) == 0)
		mp_ring_take_welcome(c, rc);
	wake(rc->db_efd);
	return ask && cli_peer_gone(c) ? -EPIPE : 0;
}

/* Ring the server unless one of its threads is polling the rings.
 * Returns -EPIPE when the server is found gone (asked only when ask: a
 * call need not, its wait for the reply sees the hang-up). */
static inline int cli_doorbell(struct mp_cconn *c, struct ring_cli *rc, bool ask)
{
	/* [D1] the message's [R1] before the count: pairs with the
	 * receiver's [D2] in port_sleep() and the kick check [D5]. */
	full_fence();
	if (likely(rc->page)) {
		if (!load_relaxed(&rc->page->shm_doorbell))
			return 0;
		if (!ask) {
			wake(rc->db_efd);	/* a call: its wait sees a hang-up */
			return 0;
		}
	}
	return cli_ring(c, rc, ask);
}

/* Whether the server took the message that starts at pos: after its death,
 * one it never took may go again on a new connection. */
static bool cli_taken(struct ring_cli *rc, uint64_t pos)
{
	return load_acquire(rc->tx.head) > pos;	/* [R4] pairs with the server's [R3] */
}

/* Block until woken, the deadline, or the server's death: one
 * epoll_wait() on the server's wake-up set, which holds our socket too
 * (cli_wake_sock_add() in setup.c), waits for both and takes the edge. */
static inline __attribute__((always_inline)) int cli_block_ep(struct ring_cli *rc,
								struct mp_deadline d)
{
	struct epoll_event ev[2];
	int n = epoll_wait(rc->wake_epfd, ev, 2, mp_deadline_ms(d));

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return mp_deadline_forever(d) ? 0 : -ETIME;
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 == MP_RING_WAKE_SOCK && (ev[i].events & (EPOLLHUP | EPOLLERR)))
			return -EPIPE;	/* as below: the caller looks at the ring once more */
	return 0;
}

/* Block with poll(): before WELCOME (which it may bring), or when our
 * socket could not join the wake-up set. */
static int cli_block_poll(struct mp_cconn *c, struct ring_cli *rc, struct mp_deadline d)
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
		int r = mp_ring_take_welcome(c, rc);

		if (r < 0)
			return r;
	}
	/* A reply or side frame sent before the hang-up is still found: the
	 * caller looks at the ring once more. */
	return (p[0].revents & (POLLHUP | POLLERR)) ? -EPIPE : 0;
}

/* Block until woken, the deadline, or the server's death. */
static inline int cli_block(struct mp_cconn *c, struct ring_cli *rc, struct mp_deadline d)
{
	if (likely(rc->wake_sock))
		return cli_block_ep(rc, d);
	return cli_block_poll(c, rc, d);
}

typedef int (*cli_ready_fn)(struct ring_cli *rc, unsigned need);

static int cli_reply_ready(struct ring_cli *rc, unsigned need)
{
	(void)need;
	return ring_ready(&rc->rx);	/* [R2] */
}

static int cli_space_ready(struct ring_cli *rc, unsigned need)
{
	return ring_has_space(&rc->tx, need);	/* [R4] */
}

/* Sleep once, with the Dekker handshake on client.shm_sleeping: 1 ready
 * (looked at after the flag, or after the wake-up), 0 woken but not
 * ready (sleep again), <0 error or deadline. */
static inline __attribute__((always_inline)) int cli_sleep(struct mp_cconn *c, struct ring_cli *rc, cli_ready_fn ready, unsigned need,
		     struct mp_deadline d)
{
	int r, b = 0;

	/* [S1] the flag, then the fence, then the re-check: pairs with the
	 * server's [S2] (publish or consume, fence, read the flag).  The store
	 * is relaxed: the fence orders it (as in model/ring.pml); a seq_cst
	 * store would only add a second barrier. */
	store_relaxed(&rc->r->client.shm_sleeping, 1);
	full_fence();
	r = ready(rc, need);
	if (r == 0) {
		b = cli_block(c, rc, d);
		/* woken: this look is the caller's too; after an error, the
		 * message may have come with the hang-up or the deadline */
		r = ready(rc, need);
	}
	/* [S3] relaxed: a 1 seen late costs the server one spurious wake-up */
	store_relaxed(&rc->r->client.shm_sleeping, 0);
	if (r > 0)
		return 1;
	if (b < 0)
		return b;
	return r < 0 ? -EPROTO : 0;
}

/* [H1] Our CPU, for the peer's same-CPU test and our own spin's: one
 * look at it.  A client that only blocks looks every 16th wait (a hint;
 * threads seldom change CPU). */
static inline void cli_cpu(struct ring_cli *rc, struct mp_spin *sp, bool spin)
{
	int32_t me, srv;

	if (!spin && (rc->waits++ & 15) != 0)
		return;
	me = mp_cpu_now();
	if (load_relaxed(&rc->r->client.shm_cpu) != me)
		store_relaxed(&rc->r->client.shm_cpu, me);	/* [H1] written only on change */
	if (!spin)
		return;
	srv = load_relaxed(&rc->r->server.shm_cpu);	/* [H1] */
	mp_spin_init(sp, -1);
	sp->same_cpu = srv >= 0 && srv == me;
}

/* The deadline passed: what came in time still counts. */
static inline int cli_wait_late(struct ring_cli *rc, cli_ready_fn ready, unsigned need)
{
	int r = ready(rc, need);

	return r > 0 ? 0 : r < 0 ? -EPROTO : -ETIME;
}

/* MSGPORT_WAIT=block: straight to cli_sleep(), whose look after the flag
 * [S1] is the first. */
static inline __attribute__((always_inline)) int cli_wait_block(struct mp_cconn *c,
								 struct ring_cli *rc,
								 cli_ready_fn ready, unsigned need,
								 struct mp_deadline d)
{
	int r;

	cli_cpu(rc, NULL, false);
	for (;;) {
		if (unlikely(d.at_ns >= 0) && d.at_ns <= mp_now_ns())
			return cli_wait_late(rc, ready, need);
		r = cli_sleep(c, rc, ready, need, d);
		if (r != 0)
			return r > 0 ? 0 : r;
	}
}

/* Spin, then sleep (and spin again after a wake-up that brought nothing). */
static inline __attribute__((always_inline)) int cli_wait_spin(struct mp_cconn *c,
								struct ring_cli *rc,
								cli_ready_fn ready, unsigned need,
								struct mp_deadline d)
{
	struct mp_spin sp;
	uint64_t asked = mp_ticks();
	int r;

	cli_cpu(rc, &sp, true);
	for (;;) {
		if ((r = ready(rc, need)) != 0)
			return r < 0 ? -EPROTO : 0;
		if (unlikely(d.at_ns >= 0) && d.at_ns <= mp_now_ns())
			return cli_wait_late(rc, ready, need);
		if (mp_spin_step(&sp)) {
			/* MSGPORT_WAIT=spin never sleeps, so never sees the socket's
			 * hang-up there: ask for it every idle period (~0.1 ms;
			 * what came before the hang-up still counts) */
			if (unlikely(rc->pol->mode == MP_WAIT_SPIN) &&
			    mp_ticks() - asked > MP_RING_IDLE_TICKS) {
				asked = mp_ticks();
				if (cli_peer_gone(c))
					return ready(rc, need) > 0 ? 0 : -EPIPE;
			}
			continue;
		}
		r = cli_sleep(c, rc, ready, need, d);
		if (r != 0)
			return r > 0 ? 0 : r;
	}
}

/* Wait until ready (0), the deadline (-ETIME) or an error: spin (unless
 * MSGPORT_WAIT=block), then sleep. */
static inline __attribute__((always_inline)) int cli_wait(struct mp_cconn *c, struct ring_cli *rc,
							   cli_ready_fn ready, unsigned need,
							   struct mp_deadline d)
{
	if (rc->pol->mode == MP_WAIT_BLOCK)
		return cli_wait_block(c, rc, ready, need, d);
	return cli_wait_spin(c, rc, ready, need, d);
}

int mp_ring_reserve_wait(struct mp_cconn *c, struct ring_cli *rc, unsigned n, struct mp_deadline d)
{
	int r;

	if (d.at_ns >= 0 && d.at_ns <= mp_now_ns())
		return -EAGAIN;
	r = cli_wait(c, rc, cli_space_ready, n, d);
	return r == -ETIME ? -ETIMEDOUT : r;
}

/* A call whose data (either way) is long goes through the bulk areas. */
static bool use_bulk(const struct ring_cli *rc, unsigned kind, const mp_msg_t *msg)
{
	return rc->hybrid && kind == MP_SLOT_CALL && msg->i.nfds == 0 &&
	       msg->i.size <= MP_BULK_MAX && msg->o.size <= MP_BULK_OUT_MAX &&
	       (msg->i.size > MP_SLOT_DATA_MAX || msg->o.size > MP_SLOT_DATA_MAX);
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

/* Build the request: inline on the ring, through the bulk areas, or as a
 * side frame with a marker (always when x has pages or VM data). */
static int cli_build(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		     struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x)
{
	int r;

	if (pages_keepable(msg, x))
		return mp_ring_pages_msg(c, rc, kind, msg, m, d, x);
	/* the grant path carries neither INOUT nor a priority: exact flags */
	if (x->fflags == MP_FRAME_DATA_VM && msg->i.nfds == 0 && fits_ring(0, msg->o.size) &&
	    (r = mp_ring_grant_msg(c, rc, kind, msg, m, d, x)) != 1)
		return r;
	/* INOUT and PRIO only keep such calls off the fast path: the slot
	 * header carries both (slot_msg_from()) */
	if (x->fflags & ~(unsigned)(MP_FRAME_INOUT | MP_FRAME_PRIO))
		return mp_ring_side_msg(c, rc, kind, msg, m, d, x);
	if (use_bulk(rc, kind, msg))
		return mp_ring_bulk_msg(c, rc, kind, msg, m, d);
	if (!fits_ring(msg->i.nfds, msg->i.size))
		return mp_ring_side_msg(c, rc, kind, msg, m, d, x);
	slot_msg_from(m, kind, (uint16_t)c->seq, msg);
	m->forget = rc->forget;
	return cli_reserve(c, rc, mp_slot_count(m), d);
}

#define CLI_SLOW 1	/* cli_send_fast(): not for the fast path, nothing done */

/*
 * The fast path of a send (seL4's fastpath_call): a short call or
 * one-way with nothing but inline data, on a connection that is set up,
 * has room, and no kept pages to forget, is written straight into the
 * ring and published.  A guard that fails returns CLI_SLOW with nothing
 * done (cli_send() takes it from there); a server found gone while we
 * were idle, -ECONNRESET.  No lock, no allocation, no system call but the
 * idle check's.  The caller rings the doorbell.
 */
static inline __attribute__((always_inline)) int
cli_send_fast(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
	      const struct mp_xfer *x)
{
	unsigned flags, n;
	uint64_t pos;

	if (unlikely(x->fflags || msg->i.nfds || msg->i.size > MP_SLOT_DATA_MAX))
		return CLI_SLOW;	/* pages, our memory, fds, long data */
	/* the size first: a short answer costs hybrid no more than ring */
	if (unlikely(msg->o.size > MP_SLOT_DATA_MAX && kind == MP_SLOT_CALL && rc->hybrid))
		return CLI_SLOW;	/* the answer comes through the bulk areas */
	/* No WELCOME yet (the doorbell looks for it); kept pages to forget
	 * (mp_pages_drops relaxed: a change only sends us to mp_kept_tx_stale(),
	 * which takes it with acquire). */
	if (unlikely(!rc->page || rc->kept.forget ||
		     load_relaxed(&mp_pages_drops) != rc->kept.drops_seen))
		return CLI_SLOW;
	if (unlikely(load_relaxed(&rc->r->server.shm_closed)))	/* [C4] a hint, see [C3] */
		return CLI_SLOW;
	if (unlikely(cli_idle_check(c, rc)))
		return -ECONNRESET;	/* it died while we were idle */
	flags = mp_slot_inline_flags(kind, msg);
	n = mp_slot_inline_count(flags, msg->i.size);
	if (unlikely(ring_has_space(&rc->tx, n) != 1))	/* [R4] when the cached head says full */
		return CLI_SLOW;	/* full: cli_send() waits; broken: it says so */
	/* The point of no return: the message goes. */
	pos = rc->tx.pos;
	mp_slot_put_inline(&rc->tx, kind, flags, n, (uint16_t)c->seq, msg);
	ring_publish(&rc->tx, n);	/* [R1] */
	rc->sent_at = pos;
	return 0;
}

/* Send a request and ring the doorbell. */
static int cli_send(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		    struct mp_deadline d, struct mp_xfer *x)
{
	struct mp_slot_msg m;
	uint64_t pos;
	int err;

	if (load_relaxed(&rc->r->server.shm_closed))	/* [C4] a hint, see [C3] */
		return -ECONNRESET;	/* the server dropped us: nothing was sent */
	if (cli_idle_check(c, rc))
		return -ECONNRESET;	/* it died while we were idle */
	rc->forget = mp_kept_tx_stale(&rc->kept, &x->in);
	err = cli_build(c, rc, kind, msg, &m, d, x);
	if (err)
		return err == -EPROTO ? -ECONNRESET : err;
	pos = rc->tx.pos;
	ring_put(&rc->tx, rc->buf, &m);	/* [R1] */
	mp_kept_tx_sent(&rc->kept, m.forget);
	rc->sent_at = pos;
	err = cli_doorbell(c, rc, true);
	return err && !cli_taken(rc, pos) ? -ECONNRESET : 0;
}

/* Copy a ring reply into the caller's output part.  An answer the server
 * says it placed must be one we let it place (lent pages, our memory). */
static inline __attribute__((always_inline)) int
cli_reply_fill(const struct ring_cli *rc, const struct mp_slot_msg *m, mp_msg_t *msg,
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

/* A reply that is not plain inline data: copied out, decoded, checked.
 * Inlined into mp_ring_call() as when it was its only caller. */
static inline __attribute__((always_inline)) int
cli_reply_decode(struct mp_cconn *c, struct ring_cli *rc, mp_msg_t *msg, const struct mp_xfer *x)
{
	struct mp_slot_msg m;
	int n = ring_take(&rc->rx, rc->buf), r;	/* [R2] */

	if (n <= 0)
		return n;
	if (unlikely(c->broken))
		return -ENOMEM;	/* a WELCOME or side frame we could not take: out of step */
	r = mp_slot_decode(rc->buf, (size_t)n * MP_SLOT_SIZE, &m);
	ring_consume(&rc->rx, (uint64_t)n);	/* [R3] */
	if (r || (m.kind != MP_SLOT_REPLY && m.kind != MP_SLOT_SIDE))
		return -EPROTO;
	if (m.seq != (uint16_t)c->seq)
		return -EPROTO;	/* one call in flight: any other reply is a lie */
	if (m.kind == MP_SLOT_REPLY)
		return cli_reply_fill(rc, &m, msg, x) ? -EPROTO : 1;
	if (!rc->page && (r = mp_ring_take_welcome(c, rc)) <= 0) {
		if (r < 0 && r != -EPROTO && r != -EPIPE) {
			c->broken = true;	/* our own lack: say it */
			return r;
		}
		return -EPROTO;
	}
	r = mp_sockt_recv_reply(c->fd, (uint16_t)c->seq, msg, x);	/* the ring carries 16 bits */
	if (r < 0 && r != -EPROTO && r != -EPIPE) {
		c->broken = true;	/* our own lack (-ENOMEM, -EMFILE): say it */
		return r;
	}
	if (r == 3 && (x->fflags & MP_FRAME_PAGES_KEEP))	/* refused: it keeps none */
		mp_kept_tx_clear(&rc->kept, x->pages_slot);
	if (r == 3 && (x->fflags & MP_FRAME_OUT_KEEP))
		mp_kept_tx_clear(&rc->kept, x->out_slot);
	if (r == 3 && msg->o.err == MP_BULK_REFUSED) {	/* mem/bulk.h: it has none of ours */
		mp_bulk_forget(&rc->bulk);
		msg->o.err = -ENOBUFS;
	}
	return r >= 1 && r <= 3 ? r : -EPROTO;
}

/* Read the reply to call seq, whose stamp cli_wait() saw [R2]: 1 done,
 * 2 the server refused DATA_VM, 3 refused (the call fails with o.err:
 * the connection goes on), 0 keep waiting, <0 error.  A plain
 * inline reply is read once, straight into msg->o; any other is decoded. */
static inline __attribute__((always_inline)) int
cli_reply_take(struct mp_cconn *c, struct ring_cli *rc, mp_msg_t *msg, const struct mp_xfer *x)
{
	int n = mp_slot_reply_read(&rc->rx, (uint16_t)c->seq, &msg->o);

	if (likely(n > 0)) {
		ring_consume(&rc->rx, (uint64_t)n);	/* [R3] */
		return 1;
	}
	return cli_reply_decode(c, rc, msg, x);
}

int mp_ring_call(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x)
{
	struct ring_cli *rc = c->tp_priv;
	int r;

	c->seq++;
	r = cli_send_fast(c, rc, MP_SLOT_CALL, msg, x);
	if (likely(r == 0)) {
		cli_doorbell(c, rc, false);
	} else if (r == CLI_SLOW) {
		r = cli_send(c, rc, MP_SLOT_CALL, msg, d, x);
		mp_pages_idle();	/* what a move left, while the server works */
	}
	while (!r) {
		r = cli_wait(c, rc, cli_reply_ready, 0, d);	/* 0: a reply is there */
		if (r)
			break;
		r = cli_reply_take(c, rc, msg, x);
		if (r == 2) {
			/* The server may not read our memory: again, with the data. */
			mp_xfer_vm_refused(c, x);
			c->seq++;
			r = cli_send(c, rc, MP_SLOT_CALL, msg, d, x);
			continue;
		}
		if (r == 3) {
			c->call_refused = true;	/* api/send.c: keep the connection */
			return msg->o.err;	/* refused: the connection goes on */
		}
		if (r)
			return r < 0 ? r : 0;
	}
	if (r == -EPIPE && !cli_taken(rc, rc->sent_at))
		return -ECONNRESET;	/* died before taking it: try a new connection */
	return r == -EPROTO && c->broken ? -ENOMEM : r;	/* our lack put us out of step */
}

int mp_ring_oneway(struct mp_cconn *c, const mp_msg_t *msg, struct mp_deadline d,
		   struct mp_xfer *x)
{
	struct ring_cli *rc = c->tp_priv;
	int r = cli_send_fast(c, rc, MP_SLOT_ONEWAY, msg, x);

	if (unlikely(r == CLI_SLOW))
		return cli_send(c, rc, MP_SLOT_ONEWAY, msg, d, x);
	if (unlikely(r))
		return r;
	r = cli_doorbell(c, rc, true);	/* no system call while a receiver is awake [D1] */
	return r && !cli_taken(rc, rc->sent_at) ? -ECONNRESET : 0;
}

/* Regions were freed: a server that keeps any of them lets go now, not
 * only with our next message (which may never come).  Best effort: with
 * no room on the ring the next message says it. */
void mp_ring_pages_freed(struct mp_cconn *c)
{
	struct ring_cli *rc = c->tp_priv;
	struct mp_slot_msg m = { .kind = MP_SLOT_CTRL };

	m.forget = mp_kept_tx_stale(&rc->kept, NULL);
	if (!m.forget || load_relaxed(&rc->r->server.shm_closed) ||	/* [C4] */
	    ring_has_space(&rc->tx, 1) != 1)
		return;
	ring_put(&rc->tx, rc->buf, &m);	/* [R1] */
	mp_kept_tx_sent(&rc->kept, m.forget);
	cli_doorbell(c, rc, true);
}

int mp_ring_receiver_waiting(struct mp_cconn *c)
{
	struct ring_cli *rc = c->tp_priv;

	if (!rc->page && mp_ring_take_welcome(c, rc) <= 0)
		return mp_portfile_waiting(c->portfd);
	return (int)load_relaxed(&rc->page->shm_waiting);	/* [W2] a hint */
}

/* For started calls (client_async.c): the slow send of a call, and the
 * decode of a reply that is not plain inline data. */
int mp_ring_send_call(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x)
{
	c->seq++;
	return cli_send(c, c->tp_priv, MP_SLOT_CALL, msg, d, x);
}

int mp_ring_reply_decode(struct mp_cconn *c, mp_msg_t *msg, const struct mp_xfer *x)
{
	return cli_reply_decode(c, c->tp_priv, msg, x);
}
