/* SPDX-License-Identifier: MIT */
/*
 * Inside the Moroso front-end (moroso.c): what its three files share.
 *   moroso.c      thread state, deadlines, mailboxes (a port per thread)
 *   moroso_mem.c  checks of the caller's buffers that never fault
 *   moroso_send.c ipc_send()
 *   moroso_recv.c ipc_recv(), ipc_reply()
 */
#ifndef MP_MOROSO_PRIV_H
#define MP_MOROSO_PRIV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "msgport/moroso.h"

/* ------------------------------------------------ the message */

#define MORO_TYPE 0x4d4f524fu	/* "MORO": the msgport type of every Moroso message */
#define MORO_MAGIC 0x6f726f6du
#define MORO_VERSION 1

enum { MORO_ASYNC = 0, MORO_SYNC = 1, MORO_SYNC_NOREPLY = 2 };

#define MORO_F_LONG 1u		/* i.fds[0] is a memfd of len_long bytes */
#define MORO_F_SHARED 2u	/* the long message is shared, not moved */

/* In i.raw of every Moroso message. */
struct moro_hdr {
	uint32_t magic;
	uint16_t version;
	uint8_t kind;		/* MORO_ASYNC, MORO_SYNC, MORO_SYNC_NOREPLY */
	uint8_t flags;		/* MORO_F_* */
	int32_t dst_tid;	/* the mailbox it is meant for */
	int32_t src_tid;
	uint32_t len_long;
	uint32_t reserved;	/* zero */
	int64_t deadline_ns;	/* CLOCK_MONOTONIC; -1: never expires */
};
_Static_assert(sizeof(struct moro_hdr) == 32, "moro_hdr layout");
_Static_assert(sizeof(struct moro_hdr) <= MP_RAW_SIZE, "moro_hdr fits in raw");

/* ------------------------------------------------ thread state */

#define MORO_CACHE 8		/* mailbox ports a thread remembers */

struct moro_box {
	pid_t tid;
	mp_port_t port;
};

/* Per-thread state. */
struct moro_tls {
	unsigned gen;		/* moro_gen when it was last valid: forks reset it */
	pid_t tid;
	mp_port_t box;		/* this thread's mailbox, 0 none */
	bool pending;		/* a synchronous sender waits for ipc_reply() */
	mp_rid_t rid;
	size_t reply_cap;	/* that sender's capacity for the reply */
	struct moro_box cache[MORO_CACHE];
	unsigned cache_next;
	char reply[MOROSO_SHORT_MAX];	/* a synchronous send's reply, until it succeeded */
};

/* When to give up waiting: at_ns -1 never; poll: now only. */
struct moro_deadline {
	int64_t at_ns;
	bool poll;
};

static inline int64_t moro_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline struct moro_deadline moro_deadline_in(int timeout)
{
	struct moro_deadline d = { .at_ns = -1, .poll = timeout == 0 };

	if (timeout > 0)
		d.at_ns = moro_now_ns() + (int64_t)timeout * MOROSO_TICK_NS;
	return d;
}

/* Nanoseconds left for msgport (0 polls, MP_FOREVER); -ETIMEDOUT when past. */
static inline int64_t moro_deadline_left(struct moro_deadline d)
{
	int64_t left;

	if (d.poll)
		return 0;
	if (d.at_ns < 0)
		return MP_FOREVER;
	left = d.at_ns - moro_now_ns();
	return left > 0 ? left : -ETIMEDOUT;
}

/* ------------------------------------------------ moroso.c */

/* The calling thread's state, made on first use; NULL: out of memory. */
struct moro_tls *mp_moro_tls(void);

/* Open the thread's mailbox if it has none: 0 or -errno. */
int mp_moro_box_open(struct moro_tls *t);

/*
 * The mailbox port of thread tid.  A live thread without a mailbox yet is
 * waited for (polling each tick) when may_wait, until the deadline.
 * Returns 0, -ESRCH (no such thread), -EAGAIN, -ETIMEDOUT or a lookup error.
 */
int mp_moro_box_find(struct moro_tls *t, pid_t tid, bool may_wait, struct moro_deadline d,
		     mp_port_t *port);

/* Forget the cached mailbox of tid (it was stale). */
void mp_moro_cache_drop(struct moro_tls *t, pid_t tid);

/* ------------------------------------------------ moroso_mem.c */

/* Once per process: its pid and the main program's segments. */
void mp_moro_mem_init(void);
/* In a fork child: the new pid. */
void mp_moro_mem_forked(void);
/* Learn the calling thread's stack (buffers there need no check). */
void mp_moro_mem_thread(void);

/* Copy the remote buffers into the local ones: 0 or -EFAULT. */
int mp_moro_mem_read_iov(const struct iovec *local, const struct iovec *remote, int n);
int mp_moro_mem_read(void *dst, const void *src, size_t len);
/* Whether the buffers are readable and writable: 0 or -EFAULT. */
int mp_moro_mem_rw_iov(const struct iovec *v, int n);
/* Whether len bytes at p (at most MOROSO_SHORT_MAX checked) are readable. */
int mp_moro_mem_readable(const void *p, size_t len);

#endif
