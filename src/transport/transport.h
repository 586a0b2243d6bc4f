/* SPDX-License-Identifier: MIT */
/*
 * The transport interface: one vtable per way of moving a message between
 * a client connection and a server connection.  The API and connection
 * layers see only this: they name no transport and compare no transport
 * pointers, they look at its capability flags (MP_TP_*).  Each transport
 * lives in its own files: sock.c; ring/ (ring and hybrid).
 *
 * Every connection starts as a bootstrap socket (SOCK_SEQPACKET) to the
 * port's listening socket, on mp_transport_bootstrap().  The client's
 * choice (mp_transport_for()) upgrades it with open(); its HELLO makes the
 * server pick the same transport (mp_transport_attach()), whose attach()
 * takes it over.  The socket stays open as the lifeline: its hang-up is
 * how each side learns of the other's death.
 */
#ifndef MP_TRANSPORT_H
#define MP_TRANSPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "os/deadline.h"
#include "msgport.h"
#include "mem/memcap.h"
#include "mem/pages.h"
#include "proto/wire.h"

enum mp_reply_flags {
	MP_REPLY_ASK_PEER = 1u << 0,
};

/*
 * How a message's long data travels when it is not copied the usual way
 * (decided by api/send.c and api/respond.c, see pages.h and data.h).  A message
 * with fflags set always goes as a socket frame (a side frame on the
 * ring transports).
 */
struct mp_xfer {
	unsigned fflags;	/* MP_FRAME_DATA_PAGES, _PAGES_SHARE, _DATA_VM, _OUT_VM,
				 * _OUT_PAGES, _DATA_PLACED, _VM_REFUSED */
	struct mp_pages_tx in;	/* DATA_PAGES: the region sent */
	struct mp_pages_tx out;	/* OUT_PAGES: the caller's output pages, lent */
	unsigned pages_slot;	/* PAGES_KEEP: where the server keeps them */
	unsigned out_slot;	/* OUT_KEEP: where it keeps the lent output pages */
	bool sent;		/* set once a frame carrying them left */
};

static inline void mp_xfer_init(struct mp_xfer *x)
{
	x->fflags = 0;
	x->pages_slot = x->out_slot = 0;
	x->sent = false;
	mp_pages_tx_init(&x->in);
	mp_pages_tx_init(&x->out);
}

/* The sending side of a port: one per (thread, port), see conn/cconn.c. */
struct mp_cconn {
	mp_port_t port;
	int fd;			/* bootstrap socket and lifeline */
	int portfd;		/* the port file, read for waiting receivers */
	uint64_t seq;		/* last call number */
	unsigned fork_gen;	/* process generation that opened it */
	bool vm_denied;		/* the server may not read our memory */
	bool deadlines;		/* MP_PORT_DEADLINES: calls carry their time left */
	bool call_refused;	/* the last call was answered MP_FRAME_REFUSED */
	int refused;		/* <0: the server refused us at accept, why */
	bool confirmed;		/* the server's verdict is known: taken (conn/verdict.h) */
	bool verdict_asked;	/* socket transport: its verdict HELLO went */
	bool verdict_waited;	/* the one bounded wait for the verdict is spent */
	bool broken;		/* a reply not read whole (short of memory or
				 * descriptors here): out of step, api/send.c
				 * drops it after this call */
	/* Data up to this many bytes either way is always copied, never left
	 * in our memory for the server (no MP_FRAME_DATA_VM / OUT_VM): the
	 * fast path's size limit (api/send.c), set when it opens. */
	size_t copy_max;
	const struct mp_transport *tp;
	void *tp_priv;
};

/* Short input and output of a connection's call, up to this many bytes
 * each way, live in the connection (struct mp_sconn_call). */
#define MP_SCONN_INLINE 4096u

/*
 * The call in flight on a connection: a client thread has one at a time,
 * so its short input and its output buffer live here, not in buffers of
 * their own.  busy (under the port lock) from the take (srv_recv) until
 * the answer went out or the call was dropped; a call that finds it busy
 * (a client that lied about waiting) gets ordinary buffers.  A call taken
 * by the fast path (srv_take_fast) holds them until its answer is out:
 * the answering thread clears busy without the lock, store_release after
 * its last read of out; takers read it, under the lock, with acquire.
 */
struct mp_sconn_call {
	_Atomic bool busy;	/* cleared unlocked by a fast answer (conn/fastpath.c) */
	uint8_t in[MP_SCONN_INLINE];
	uint8_t out[MP_SCONN_INLINE];
};

/* The receiving side of one client connection, see conn/port.c. */
struct mp_sconn {
	int fd;
	uint32_t idx, gen;	/* slot in the port's table; epoll key */
	uint32_t poll_idx;	/* polled transports: its place in the port's polled[] */
	unsigned refs;		/* under the port's lock */
	int dead;		/* hung up or dropped; no longer polled */
	bool reading;		/* a thread reads its socket (socket transport), under the port lock */
	bool board;		/* a pulse board's: carries no calls (not in the port's nlive) */
	int32_t pid;		/* peer credentials from SO_PEERCRED */
	uint32_t uid, gid;
	int32_t peer_cpu;	/* CPU the client last waited on, -1 unknown */
	uint32_t prio_floor;	/* the best priority its process may claim (os/prio.h), set at accept */
	_Atomic bool vm_denied;	/* process_vm_writev() to the client was refused */
	const struct mp_transport *tp;
	void *tp_priv;
	struct mp_sconn_call *inl;	/* allocated by the first call that uses it */
	uint32_t refused;	/* messages refused by transport/refuse.c (their
				 * fds could not be received), under the reader */
	struct mp_memcap *cap;	/* memory held for it (mem/memcap.h), set at accept */
};

/*
 * The priority a message from c is given: the wire's value (the sender's
 * priority ^ 4, so 0 is the default 4; api/send.c) taken as a claim and
 * clamped to the best c's process could give its own threads.
 */
static inline uint32_t mp_sconn_prio(const struct mp_sconn *c, uint32_t wire)
{
	uint32_t claim = (wire & 7u) ^ 4u;

	return claim < c->prio_floor ? c->prio_floor : claim;
}

/* A received message, owned by the library until given to the user.
 * Long data that is not in memory yet (hdr.flags DATA_PAGES, DATA_VM,
 * OUT_PAGES) is fetched by api/recv.c outside the port lock. */
struct mp_rx {
	struct mp_frame hdr;	/* validated header */
	void *data;		/* data_size bytes, see data_kind */
	int data_kind;		/* enum mp_buf_kind */
	uint64_t pages_id;	/* MP_BUF_PAGES: the region */
	int pages_fd;		/* DATA_PAGES: the memfd, -1 once taken */
	int out_fd;		/* OUT_PAGES: the memfd, -1 once taken */
	void *out_data;		/* OUT_PAGES kept by the connection: where they are */
	uint64_t out_id;	/* and their region (released with mp_pages_auto_release) */
	int in_bulk;		/* data is in the client's bulk area (MP_BUF_SHARED):
				 * MP_RX_BULK_COPY copy it, MP_RX_BULK_SHARE use it there */
	int fds[MP_FDS_MAX + 2];	/* room for what a frame may bring: the
					 * user's, the data and output memfds
					 * (MP_SOCK_FDS_MAX, os/sockio.h) */
	unsigned nfds;
	bool inl;		/* a call that holds its connection's inl (busy): data,
				 * when any, is inl->in (data_kind MP_BUF_SHARED) */
	uint64_t rid;		/* set by the receive loop: the call's rid, taken
				 * already (it holds inl and the reference) */
	mp_msg_t *fast;		/* set by mp_recv(): the scan may take a short
				 * message straight into it (conn/fastpath.c) */
};

/* What srv_take_fast() took besides what it wrote into the message. */
struct mp_fast_took {
	uint64_t seq;		/* the call's number */
	uint32_t out_cap;	/* the answer's room, in the connection's inl->out */
};

enum { MP_RX_BULK_COPY = 1, MP_RX_BULK_SHARE = 2 };

/* What a transport can do (struct mp_transport.flags). */
enum mp_tp_flags {
	/* Messages wait in shared memory: the server scans these connections. */
	MP_TP_POLLED = 1u << 0,
	/* A call's long data (up to MP_BULK_MAX either way, no fds) goes
	 * through shared bulk areas: faster than process_vm_readv/writev. */
	MP_TP_BULK = 1u << 1,
};

/* close() flags. */
enum mp_close_flags {
	/* A fork child drops its copy of the parent's connection: the parent
	 * still uses it, so nothing may be said to the peer. */
	MP_CLOSE_INHERITED = 1u << 0,
};

/* What attach() needs of the port, built by the connection layer. */
struct mp_attach {
	int epfd;		/* the port's epoll set: the doorbell goes there */
	int page_fd;		/* the port page (mem/portpage.h), handed to the client */
	uint64_t doorbell_key;	/* epoll key of this connection's doorbell */
	_Atomic uint64_t *kept_pages;	/* the port's count of kept pages (mem/kept.h), or NULL */
};

struct mp_transport {
	const char *name;
	unsigned flags;		/* enum mp_tp_flags */
	/* The HELLO type that names this transport (0: never upgraded to). */
	uint32_t hello;
	/* Client: upgrade the connected bootstrap socket c->fd to this
	 * transport (sets c->tp, c->tp_priv); NULL: the socket is the
	 * transport.  -ENOENT when the server is already gone. */
	int (*open)(struct mp_cconn *c);
	/* Client (optional; NULL: the socket transport's, transport/
	 * refuse.h): take the server's verdict on c if its socket holds it,
	 * never waiting: 1 taken (the ring's WELCOME), 0 not yet, <0 refused
	 * (c->refused says why) or gone. */
	int (*verdict)(struct mp_cconn *c);
	/* Server: a HELLO naming this transport arrived on c: take the
	 * connection over (sets c->tp, c->tp_priv; fds it keeps are set to -1
	 * in hello, the caller releases the rest).  -EPROTO for a bad HELLO,
	 * else -errno. */
	int (*attach)(struct mp_sconn *c, struct mp_rx *hello, const struct mp_attach *at);
	/* Client: send a call and wait for its reply into msg->o.
	 * -ECONNRESET: not delivered, the peer was gone; -ETIMEDOUT: not
	 * sent in time; -ETIME: sent, but no answer in time.  A server that
	 * refuses DATA_VM gets the call again without it (x updated). */
	int (*call)(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d, struct mp_xfer *x);
	/* Client, started calls (api/call_async.c; NULL: not offered): send
	 * a call as call() does, without waiting for its answer; results as
	 * call()'s before it waits. */
	int (*call_start)(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d,
			  struct mp_xfer *x);
	/* Client, started calls: the answer into msg->o if it is there,
	 * never waiting: results as call()'s, -EAGAIN not yet (then the
	 * answer, or the server's death, makes c->fd or call_wake_fd()
	 * readable). */
	int (*call_take)(struct mp_cconn *c, mp_msg_t *msg, struct mp_xfer *x);
	/* Client, started calls (optional): a descriptor besides c->fd that
	 * the answer makes readable, -1 none (yet). */
	int (*call_wake_fd)(struct mp_cconn *c);
	/* Client: send one-way. -ECONNRESET as for call. */
	int (*oneway)(struct mp_cconn *c, const mp_msg_t *msg, struct mp_deadline d,
		      struct mp_xfer *x);
	/* Client: release transport state (optional); flags: MP_CLOSE_*. */
	void (*close)(struct mp_cconn *c, unsigned flags);
	/* Client: pages regions were freed (optional): tell the server. */
	void (*pages_freed)(struct mp_cconn *c);
	/* Client: receivers waiting in mp_recv() (optional: else the port file). */
	int (*receiver_waiting)(struct mp_cconn *c);
	/* Server: take one message without blocking; -EAGAIN when none,
	 * 0 on hang-up (*got = 0), -EPROTO for a malformed message. */
	int (*srv_recv)(struct mp_sconn *c, struct mp_rx *rx, void *buf, size_t buflen);
	/* Server: send the reply to call seq; never blocks on the client.
	 * MP_REPLY_ASK_PEER: the call was held a while, ask the kernel
	 * whether the client still lives before answering.  x: pages,
	 * data already placed, or a refusal (see struct mp_xfer). */
	int (*srv_reply)(struct mp_sconn *c, uint64_t seq, const mp_msg_t *msg, unsigned flags,
			 struct mp_xfer *x);
	/* Server, polled transports (optional), under the port lock: take the
	 * next message if it is a short plain call or one-way, read once and
	 * checked, straight into msg (msg->i.data: a call's in c->inl->in,
	 * claimed (busy); a one-way's in buf, buflen bytes); 1 a call, 2 a
	 * one-way, -EAGAIN empty (and no hang-up), 0 anything else: nothing
	 * taken, srv_recv() deals with it. */
	int (*srv_take_fast)(struct mp_sconn *c, mp_msg_t *msg, struct mp_fast_took *t, void *buf,
			     size_t buflen);
	/* Server, polled transports: the socket fired (hang-up, side frame). */
	int (*srv_event)(struct mp_sconn *c);
	/* Server, polled transports: a message is waiting. */
	bool (*srv_pending)(struct mp_sconn *c);
	/* Server (optional): the wire priority (0 .. 7, see mp_sconn_prio())
	 * of the next message, without taking it, -1 when none: a hint that
	 * orders receives, read again and checked by the take. */
	int (*srv_head_prio)(struct mp_sconn *c);
	/* Server: the connection is being dropped (optional). */
	void (*srv_closing)(struct mp_sconn *c);
	/* Server: shared memory the answer to a call with this capacity may
	 * be written into directly (optional; NULL: a private buffer). */
	void *(*srv_out_buf)(struct mp_sconn *c, size_t cap);
	/* Server: release transport state when the connection is freed. */
	void (*srv_release)(struct mp_sconn *c);
};

/* The server may not read or write our memory: never offer it again. */
static inline void mp_xfer_vm_refused(struct mp_cconn *c, struct mp_xfer *x)
{
	c->vm_denied = true;
	x->fflags &= ~(unsigned)(MP_FRAME_DATA_VM | MP_FRAME_OUT_VM);
}

/* Transport numbers, as in the public MP_TRANSPORT_* (0: default). */
int mp_transport_parse(const char *name);
/* The transport for a new connection to the port whose file is portfd. */
const struct mp_transport *mp_transport_for(int portfd);
/* The transport of a connection before any upgrade: its bootstrap socket. */
const struct mp_transport *mp_transport_bootstrap(void);
/* Server: hand a HELLO to the transport it names (its attach()); -EPROTO
 * when it names none. */
int mp_transport_attach(struct mp_sconn *c, struct mp_rx *hello, const struct mp_attach *at);

/* msg all zero, padding included, in 16-byte stores (a few dozen
 * instructions fewer than the string store memset() becomes). */
static inline void mp_msg_zero(mp_msg_t *msg)
{
	typedef uint64_t v16 __attribute__((vector_size(16), aligned(8), may_alias));
	const v16 z = { 0, 0 };
	v16 *w = (v16 *)msg;

	_Static_assert(sizeof(*msg) % 8 == 0 && _Alignof(mp_msg_t) >= 8, "whole words");
#pragma GCC unroll 32
	for (size_t k = 0; k < sizeof(*msg) / 16; k++)
		w[k] = z;
	if (sizeof(*msg) % 16)
		__builtin_memset((uint8_t *)msg + sizeof(*msg) - 8, 0, 8);
}

/* Release what an mp_rx holds (data and fds). */
void mp_rx_release(struct mp_rx *rx);

#endif
