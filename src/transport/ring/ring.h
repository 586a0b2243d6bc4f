/* SPDX-License-Identifier: MIT */
/*
 * The ring (UMP) and hybrid (FLMP) transports, inside: both ends' state
 * and the helpers their files share.  The protocol is described, with its
 * labels, in proto/ring.h.
 *
 *   setup.c        region, HELLO / WELCOME, open, attach, close, release,
 *                  the two vtables
 *   client.c       the client's call path: send, wait, reply
 *   client_long.c  the client's messages with long data: bulk areas,
 *                  side frames, kept pages
 *   server.c       the server's receive and reply path
 *
 * Ring and hybrid share every operation; a connection's hybrid flag (from
 * its transport's MP_TP_BULK) is the only difference.
 */
#ifndef MP_TRANSPORT_RING_RING_H
#define MP_TRANSPORT_RING_RING_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mem/bulk.h"
#include "mem/kept.h"
#include "mem/portpage.h"
#include "os/compiler.h"
#include "os/deadline.h"
#include "os/lock.h"
#include "os/shm.h"
#include "os/wait.h"
#include "proto/ring.h"
#include "proto/slot.h"
#include "transport/transport.h"

/* In a call's bulk offset: the caller sent with MP_SHARE, so the server may
 * read the input in place (offsets are far below this bit). */
#define MP_BULK_OFF_SHARE ((uint64_t)1 << 63)
#define MSG_BUF (MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE)
/* A connection idle this long (mp_ticks(): ~100 us at 2.5 GHz) is checked
 * for a hang-up before use. */
#define MP_RING_IDLE_TICKS 250000u

/* The type field of a HELLO: which transport the client chose. */
enum { MP_RING_HELLO_RING = 1, MP_RING_HELLO_HYBRID = 2 };

/* The epoll key of the client's socket in the server's wake-up set. */
#define MP_RING_WAKE_SOCK 1u

/* The input grant (proto/grant.h, grant.c): the server's buffer for a
 * connection's long input, the client's knowledge of whether it may write
 * there. */
struct mp_grant_srv {
	void *p;	/* mp_buf_get(cap), published; NULL: none */
	size_t cap;
	struct mp_memcap *acct;	/* a reference: the account cap is charged to */
};

struct mp_grant_cli {
	pid_t pid;	/* the socket's peer: 0 not asked yet, -1 unknown */
	bool denied;	/* the kernel refused a write: never again */
};

struct ring_cli {
	struct mp_ring_region *r;
	struct mp_ring_view tx;		/* c2s, we produce */
	struct mp_ring_view rx;		/* s2c, we consume */
	int db_efd;			/* our doorbell to the server */
	int wake_epfd;			/* the server's wake-up for us; -1 before WELCOME */
	bool wake_sock;			/* wake_epfd's set holds our socket too (cli_block) */
	const struct mp_port_page *page;	/* NULL before WELCOME */
	unsigned probe;			/* sends since we last looked for WELCOME */
	uint64_t sent_at;		/* ring position of our last message */
	uint64_t last_use;		/* mp_ticks() when we last sent */
	bool hybrid;			/* FLMP: long data through the bulk areas */
	struct mp_bulk bulk;
	struct mp_kept_tx kept;		/* shared pages the server keeps mapped */
	struct mp_grant_cli grant;	/* may we write into the server (grant.c) */
	uint32_t forget;		/* kept slots the message being built drops */
	const struct mp_wait_policy *pol;	/* how we wait (os/wait.h) */
	unsigned waits;			/* waits so far, blocking only: when to look at our CPU */
	uint8_t buf[MSG_BUF];
};

struct ring_srv {
	struct mp_ring_region *r;
	struct mp_ring_view rx;		/* c2s, we consume (under the port lock) */
	struct mp_ring_view tx;		/* s2c, we produce (under txlock) */
	mp_lock_t txlock;		/* os/lock.h */
	int db_efd;			/* the client's doorbell, only registered */
	int wake_efd;			/* we write it to wake the client */
	int wake_epfd;			/* holds wake_efd; the client's copy waits on it */
	int epfd;			/* the port's epoll set, to deregister db_efd */
	_Atomic int hup;		/* the client hung up: drain, then drop (private) */
	bool hybrid;
	struct mp_bulk bulk;		/* the client's areas, every size it sent */
	struct mp_kept_rx kept;		/* the client's shared pages we keep mapped */
	struct mp_grant_srv grant;	/* our buffer for its long input (grant.c) */
	uint64_t cpu_at;		/* mp_ticks() when we last published our CPU [H1] */
	uint8_t buf[MSG_BUF];
};

/* The reply ring's lock, set up and torn down by setup.c. */
static inline void ring_srv_txlock_init(struct ring_srv *rs)
{
	mp_lock_init(&rs->txlock);
}

static inline void ring_srv_txlock_fini(struct ring_srv *rs)
{
	(void)rs;	/* a futex word holds nothing */
}

/* Copy one whole message out of a ring into buf: its slot count, 0 when
 * empty, -EPROTO when the producer broke the protocol. */
static inline int ring_take(struct mp_ring_view *v, uint8_t *buf)
{
	struct mp_slot_hdr h;

	if (!ring_ready(v))	/* [R2] */
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
 * stamp word is left to ring_publish() [R1]: the consumer polls it. */
static inline void ring_put(struct mp_ring_view *v, uint8_t *buf, const struct mp_slot_msg *m)
{
	unsigned n = mp_slot_encode(buf, m);
	struct mp_slot *first = &v->slots[v->pos & (MP_RING_SLOTS - 1)];

	memcpy(first->b + sizeof(uint32_t), buf + sizeof(uint32_t), MP_SLOT_SIZE - sizeof(uint32_t));
	if (n > 1)
		ring_copy_in(v, v->pos + 1, buf + MP_SLOT_SIZE, (size_t)(n - 1) * MP_SLOT_SIZE);
	ring_publish(v, n);
}

/* [H1] Publish our CPU for the peer's same-CPU test; written only on
 * change so the line stays shared in both caches. */
static inline void cpu_publish(_Atomic int32_t *shm_cpu)
{
	int32_t now = mp_cpu_now();

	if (load_relaxed(shm_cpu) != now)
		store_relaxed(shm_cpu, now);
}

static inline void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the peer is awake anyway. */
	}
}

/* Fits a ring: no fds and short data. */
static inline int fits_ring(uint32_t nfds, size_t size)
{
	return nfds == 0 && size <= MP_SLOT_DATA_MAX;
}

/* The slot message of a call or one-way, data inline. */
static inline void slot_msg_from(struct mp_slot_msg *m, unsigned kind, uint16_t seq,
				 const mp_msg_t *msg)
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
	m->priority = (uint8_t)msg->priority;	/* checked: at most MP_PRIO_MAX */
	m->inout = kind == MP_SLOT_CALL && (msg->flags & MP_OUT_INOUT) && msg->o.size;
}

/* grant.c: long input written by the client into our memory (proto/grant.h) */

/* Server: a call of size bytes came in another way; publish a grant that
 * takes the next one (under the port lock). */
void mp_ring_grant_offer(struct ring_srv *rs, size_t size);
/* The same, its buffer charged to c's account (mem/memcap.h). */
void mp_ring_grant_offer_to(struct mp_sconn *c, struct ring_srv *rs, size_t size);
/* Server: the data of a call that names the grant; 0 or -EPROTO. */
int mp_ring_grant_take(struct ring_srv *rs, const struct mp_slot_msg *m, struct mp_rx *rx);
void mp_ring_grant_fini(struct ring_srv *rs);
/* Client: write the call's input into the server's grant: 1 written,
 * 0 not (no grant, too small, refused: send it another way). */
int mp_ring_grant_write(struct mp_cconn *c, struct ring_cli *rc, const mp_msg_t *msg);

/* setup.c */

/* A frame of kind with fds and no data, sent without waiting. */
int mp_ring_frame_send_fds(int fd, unsigned kind, uint32_t type, uint64_t seq, const int *fds,
			   unsigned nfds);
/* Client: take the server's WELCOME if it is there: 1 taken, 0 not yet,
 * <0 error. */
int mp_ring_take_welcome(struct mp_cconn *c, struct ring_cli *rc);

/* client.c: the client's operations (struct mp_transport) */

int mp_ring_call(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x);
int mp_ring_oneway(struct mp_cconn *c, const mp_msg_t *msg, struct mp_deadline d,
		   struct mp_xfer *x);
void mp_ring_pages_freed(struct mp_cconn *c);
/* For client_async.c: a call sent the slow way (cli_send(), seq
 * advanced); a reply that is not plain inline data taken (as
 * cli_reply_take(): 1 done, 3 refused, 0 none, <0 error). */
int mp_ring_send_call(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x);
int mp_ring_reply_decode(struct mp_cconn *c, mp_msg_t *msg, const struct mp_xfer *x);

/* client_async.c: started calls (transport.h call_start, call_take,
 * call_wake_fd). */
int mp_ring_call_start(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d,
		       struct mp_xfer *x);
int mp_ring_call_take(struct mp_cconn *c, mp_msg_t *msg, struct mp_xfer *x);
int mp_ring_call_wake_fd(struct mp_cconn *c);
int mp_ring_receiver_waiting(struct mp_cconn *c);
/* Room for n slots, waiting until d when there is none: 0, -EAGAIN
 * (polling), -ETIMEDOUT, -EPROTO (the server wrote an impossible head). */
int mp_ring_reserve_wait(struct mp_cconn *c, struct ring_cli *rc, unsigned n, struct mp_deadline d);

/* Room for n slots: the test inline, the wait out of line. */
static inline int cli_reserve(struct mp_cconn *c, struct ring_cli *rc, unsigned n,
			      struct mp_deadline d)
{
	int r = ring_has_space(&rc->tx, n);	/* [R4] when the cached head says full */

	if (likely(r > 0))
		return 0;
	if (r < 0)
		return -EPROTO;
	return mp_ring_reserve_wait(c, rc, n, d);
}

/* client_long.c: messages that do not go inline; each fills *m (the ring
 * message, published by the caller) and reserves its slots. */

/* A call whose long input the kernel would let the server read (only
 * MP_FRAME_DATA_VM in x, the answer short): written into the server's
 * grant instead; 1 when it cannot be (nothing done). */
int mp_ring_grant_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		      struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x);
/* A call whose data (either way) is long, through the bulk areas. */
int mp_ring_bulk_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		     struct mp_slot_msg *m, struct mp_deadline d);
/* Long data or fds: a side frame on the socket, a marker on the ring. */
int mp_ring_side_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		     struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x);
/* Shared pages the server keeps mapped (or is asked to keep). */
int mp_ring_pages_msg(struct mp_cconn *c, struct ring_cli *rc, unsigned kind, const mp_msg_t *msg,
		      struct mp_slot_msg *m, struct mp_deadline d, struct mp_xfer *x);

/* server.c: the server's operations (struct mp_transport) */

int mp_ring_srv_recv(struct mp_sconn *c, struct mp_rx *rx, void *buf, size_t buflen);
int mp_ring_srv_reply(struct mp_sconn *c, uint64_t seq, const mp_msg_t *msg, unsigned flags,
		      struct mp_xfer *x);
int mp_ring_srv_take_fast(struct mp_sconn *c, mp_msg_t *msg, struct mp_fast_took *t, void *buf,
			  size_t buflen);
int mp_ring_srv_event(struct mp_sconn *c);
bool mp_ring_srv_pending(struct mp_sconn *c);
int mp_ring_srv_head_prio(struct mp_sconn *c);	/* srv_head_prio (transport.h) */
void *mp_ring_srv_out_buf(struct mp_sconn *c, size_t cap);

#endif
