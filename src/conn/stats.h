/* SPDX-License-Identifier: MIT */
/*
 * Live introspection: each port's counters and client table, in a
 * server-owned file ROOT/ports/N.stat beside the port file (mode 0644 like
 * it: readable by whoever may look the port up, writable by its owner
 * alone).  The server writes it; `msgport stat` / mp_stat() map it
 * read-only and never stop the server.
 *
 * Protocol [S1]: counters are separate relaxed atomics, each a monotonic
 * count; a reader may see them torn against each other (held = calls -
 * answered is clamped at 0).  [S2]: a client entry is a seqlock written
 * under the port's lock (one writer): seq odd while it changes; the reader
 * retries a few times and drops an entry it never sees stable.  [S3]: the
 * header is written before the file is renamed into place, the magic last
 * with release; the reader checks magic, version and that the token is
 * the live port's.  [S4]: the queue depth is a plain store by a receiver
 * (the receive side's line, already touched): a hint, last writer wins.
 *
 * Queue depth.  The transports do not read ahead (a ring has no producer
 * index, the consumer polls the next slot's stamp; a socket's backlog is
 * the kernel's), and nothing on the fast path counts: calls and one-way
 * messages not yet taken are counted by the reader, not the server.  At
 * connect (a rare path) the server records in the client's entry where
 * to look: the socket's inode, and once the client is on a ring, the
 * number of the server's own descriptor of the ring memfd (kept open for
 * this, one per ring connection) with its inode and size.  The reader
 * (stats_depth.c) opens /proc/PID/fd/N read-only, checks it is that
 * memfd, maps it and counts the messages published and not consumed; for
 * a socket it asks the kernel (NETLINK_SOCK_DIAG, UDIAG_SHOW_RQLEN), which
 * gives the bytes waiting, not the messages, for SEQPACKET.  [S5] those
 * fields are written under the entry's seqlock [S2] like the others.
 * What the port itself holds waiting is its table of pending pulses
 * (client boards drained, notices, watches): its length as a receive
 * left it is shm_queued.
 */
#ifndef MP_CONN_STATS_H
#define MP_CONN_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "msgport.h"
#include "os/shm.h"
#include "proto/ring.h"

#define MP_STATS_MAGIC 0x4d505354u	/* "MPST" */
#define MP_STATS_VERSION 3u	/* 3: where the reader finds a client's queue (32-byte entries) */
#define MP_STATS_SIZE 8192
#define MP_STATS_CLIENTS 128	/* entries in the table (by connection slot) */

_Static_assert(MP_STATS_CLIENTS == MP_STAT_CLIENTS_MAX, "one table size");

enum { MP_STATS_CALL = 0, MP_STATS_ONEWAY = 1, MP_STATS_PULSE = 2 };

struct mp_stats_client {
	_Atomic uint32_t shm_seq;	/* [S2] odd while written */
	_Atomic int32_t shm_pid;	/* 0: free */
	_Atomic uint32_t shm_uid;
	_Atomic uint32_t shm_transport;	/* MP_TRANSPORT_* */
	_Atomic int32_t shm_fd1;	/* ring: the server's fd of the region memfd + 1, 0 none [S5] */
	_Atomic uint32_t shm_size;	/* ring: the memfd's size */
	_Atomic uint64_t shm_ino;	/* ring: the memfd's inode; sock: the socket's; 0 none */
};
_Static_assert(sizeof(struct mp_stats_client) == 32, "stats entry layout");

/* One cache line per group: the header, the receive side's counters, the
 * answer side's, the table's count.  Only the port's owner writes. */
struct mp_stats_page {
	_Atomic uint32_t shm_magic;	/* [S3] stored last, release */
	_Atomic uint32_t shm_version;
	_Atomic uint64_t shm_token;	/* the port file's token */
	_Atomic int32_t shm_pid;
	_Atomic uint32_t shm_uid;
	_Atomic uint32_t shm_port;
	_Atomic uint32_t shm_transport;
	uint8_t pad0[32];
	_Atomic uint64_t shm_count[3];	/* by MP_STATS_CALL/ONEWAY/PULSE [S1] */
	_Atomic uint64_t shm_bytes_in;
	_Atomic uint32_t shm_queued;	/* pulses pending at the last receive [S4] */
	uint8_t pad1[28];
	_Atomic uint64_t shm_answered;	/* calls whose rid was released */
	_Atomic uint64_t shm_bytes_out;
	_Atomic uint64_t shm_kept_pages;	/* shared pages kept mapped (mem/kept.h) */
	uint8_t pad2[40];
	_Atomic uint32_t shm_over;	/* connections without a table entry */
	uint8_t pad3[60];
	struct mp_stats_client clients[MP_STATS_CLIENTS];
};
_Static_assert(sizeof(struct mp_stats_page) == 256 + 32 * MP_STATS_CLIENTS, "stats layout");
_Static_assert(sizeof(struct mp_stats_page) <= MP_STATS_SIZE, "stats fit the file");
_Static_assert(__builtin_offsetof(struct mp_stats_page, shm_count) == 64, "recv line");
_Static_assert(__builtin_offsetof(struct mp_stats_page, shm_answered) == 128, "answer line");
_Static_assert(__builtin_offsetof(struct mp_stats_page, shm_over) == 192, "table line");

/* Make the stats of port (token: its port file's): the file when it can
 * be made, else private memory (counting goes on, nobody sees it).
 * NULL only when out of memory. */
struct mp_stats_page *mp_stats_open(const char *root, mp_port_t port, uint64_t token,
				    uint32_t transport);
void mp_stats_close(struct mp_stats_page *s);
/* A fork child's copy: what it still counts (its copies of the parent's
 * connections released) must not reach the parent's file. */
void mp_stats_detach(struct mp_stats_page *s);

/* Hot hooks: one message received (kind MP_STATS_*, size its data bytes). */
static inline void mp_stats_recv(struct mp_stats_page *s, int kind, uint32_t size)
{
	fetch_add_relaxed(&s->shm_count[kind], 1);	/* [S1] */
	fetch_add_relaxed(&s->shm_bytes_in, size);
}

/* A pulse was taken and n are left pending [S4]: a plain store, only on
 * the pulse path. */
static inline void mp_stats_queued(struct mp_stats_page *s, uint32_t n)
{
	store_relaxed(&s->shm_queued, n);
}

/* A call's rid released by an answer of size bytes. */
static inline void mp_stats_answer(struct mp_stats_page *s, uint32_t size)
{
	fetch_add_relaxed(&s->shm_answered, 1);	/* [S1] */
	fetch_add_relaxed(&s->shm_bytes_out, size);
}

/* The client table, under the port's lock: slot is the connection's. A
 * client accepted (sock_fd: its socket, whose inode is recorded), its
 * transport chosen (tp_name, "sock" at first), its ring's memfd (from the
 * HELLO: stats takes it over and keeps it open until the client is gone,
 * so that a reader finds it in /proc; -1 none), gone (the memfd closed). */
void mp_stats_client_add(struct mp_stats_page *s, uint32_t slot, int32_t pid, uint32_t uid,
			 int sock_fd);
void mp_stats_client_transport(struct mp_stats_page *s, uint32_t slot, const char *tp_name);
void mp_stats_client_ring(struct mp_stats_page *s, uint32_t slot, int memfd);
void mp_stats_client_gone(struct mp_stats_page *s, uint32_t slot);

/* Read port's stats under root into *st (validated copy): 0, -ENOENT no
 * live port or no stats for it, -EPROTO a file that is not right. */
int mp_stats_read(const char *root, mp_port_t port, mp_stat_t *st);

/* stats_depth.c, the reader's half of the queue depth. */

/* Where one client's queue is, as its entry says [S5]. */
struct mp_stats_where {
	uint32_t transport;
	int32_t fd;		/* ring: the server's descriptor, -1 none */
	uint32_t size;
	uint64_t ino;
};

/* A reader's state across the entries of one port (a netlink socket). */
struct mp_stats_depth_ctx {
	int32_t pid;		/* the server */
	int may;		/* this reader may look (the server's uid, or root) */
	int nl;			/* NETLINK_SOCK_DIAG, -1 not opened yet, -2 failed */
};

void mp_stats_depth_begin(struct mp_stats_depth_ctx *x, int32_t pid, uint32_t uid);
void mp_stats_depth_end(struct mp_stats_depth_ctx *x);
/* Messages waiting in the queue w names (*bytes: their bytes), or -1
 * when not known (*bytes -1 too, or the bytes when only they are). */
int64_t mp_stats_depth(struct mp_stats_depth_ctx *x, const struct mp_stats_where *w,
		       int64_t *bytes);
/* Calls and one-ways ready in a c2s ring of a region (a copy or the live
 * mapping, either way written by a peer that may be hostile), from the
 * server's head on; *slots: the slots they take.  Bounded by the ring. */
int64_t mp_stats_ring_count(const struct mp_ring_region *r, uint64_t *slots);

#endif
