/* SPDX-License-Identifier: MIT */
/*
 * The queue depth of a port's clients, counted by the reader (mp_stat(),
 * msgport stat/top), never by the server: nothing on the fast path
 * changes (conn/stats.h, [S5]).
 *
 *   ring, hybrid: the server keeps its descriptor of each client's ring
 *     memfd open and records its number, inode and size.  The reader opens
 *     /proc/PID/fd/N read-only (the kernel allows it to the server's user
 *     and to root: the /proc rules for another process's descriptors),
 *     checks it is that memfd, sealed against shrinking, maps it and
 *     counts the messages published in the client-to-server ring from the
 *     server's head on.  The client writes that memory and may be hostile:
 *     the walk is bounded by the ring, every header is range-checked, a
 *     stamp that is not exactly the one of its position ends it.
 *   sock: the kernel's receive queue of the server's socket, by the inode
 *     recorded at connect (NETLINK_SOCK_DIAG, UDIAG_SHOW_RQLEN).  For
 *     SOCK_SEQPACKET the kernel gives bytes, not messages: a socket with
 *     bytes waiting has a depth of -1 (not known), one without has 0.
 *
 * A reader that is neither the server's user nor root does not look: -1.
 */
#include "conn/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "proto/slot.h"

/* Replies of other requests (none: one at a time) skipped at most. */
#define NL_TRIES 4

void mp_stats_depth_begin(struct mp_stats_depth_ctx *x, int32_t pid, uint32_t uid)
{
	uid_t me = geteuid();

	x->pid = pid;
	x->may = pid > 0 && (me == 0 || me == uid);
	x->nl = -1;
}

void mp_stats_depth_end(struct mp_stats_depth_ctx *x)
{
	if (x->nl >= 0)
		close(x->nl);
	x->nl = -1;
}

/* ------------------------------------------------------------ ring */

int64_t mp_stats_ring_count(const struct mp_ring_region *r, uint64_t *slots)
{
	/* [S5] acquire, pairs with the server's [R3] in ring_consume(): the
	 * slots below head were taken.  A head the client overwrote only
	 * moves where the walk starts; it is bounded all the same. */
	struct mp_ring_view v = { .slots = (struct mp_slot *)r->c2s,
				  .pos = load_acquire(&r->c2s_head.shm_pos) };
	uint64_t used = 0;
	int64_t n = 0;

	for (unsigned t = 0; t < MP_RING_SLOTS && used < MP_RING_SLOTS; t++) {
		struct mp_slot_hdr h;
		unsigned kind;

		if (!ring_ready(&v))	/* [R2] pairs with the client's [R1] */
			break;
		ring_copy_out(&v, v.pos, &h, sizeof(h));
		if (h.nslots == 0 || h.nslots > MP_SLOT_MSG_SLOTS ||
		    used + h.nslots > MP_RING_SLOTS)
			break;	/* not a message: what came before it counts */
		kind = h.kind & MP_SLOT_KIND_MASK;
		if (kind == MP_SLOT_CALL || kind == MP_SLOT_ONEWAY || kind == MP_SLOT_SIDE)
			n++;	/* a side marker stands for its socket frame */
		used += h.nslots;
		v.pos += h.nslots;
	}
	*slots = used;
	return n;
}

/* Whether sb is the memfd the entry names. */
static int memfd_is(const struct stat *sb, const struct mp_stats_where *w)
{
	return S_ISREG(sb->st_mode) && sb->st_ino == w->ino && sb->st_size == (off_t)w->size;
}

/* The server's descriptor w->fd, opened read-only when it is the memfd
 * w names; -1 when not.  stat() first: nothing else is opened (a FIFO
 * or a device the server put there instead). */
static int ring_open(const struct mp_stats_depth_ctx *x, const struct mp_stats_where *w)
{
	char path[64];
	struct stat sb;
	int fd, seals;

	if (w->fd < 0 || w->size < sizeof(struct mp_ring_region))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)x->pid, (int)w->fd);
	if (stat(path, &sb) != 0 || !memfd_is(&sb, w))
		return -1;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &sb) != 0 || !memfd_is(&sb, w) || seals < 0 || !(seals & F_SEAL_SHRINK)) {
		close(fd);	/* not it, or it could shrink under the mapping */
		return -1;
	}
	return fd;
}

static int64_t ring_depth(const struct mp_stats_depth_ctx *x, const struct mp_stats_where *w,
			  int64_t *bytes)
{
	const struct mp_ring_region *r;
	uint64_t slots;
	int64_t n;
	int fd = ring_open(x, w);

	if (fd < 0)
		return -1;
	r = mmap(NULL, sizeof(*r), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (r == MAP_FAILED)
		return -1;
	n = mp_stats_ring_count(r, &slots);
	munmap((void *)r, sizeof(*r));
	*bytes = (int64_t)(slots * MP_SLOT_SIZE);
	return n;
}

/* ------------------------------------------------------------ sock */

static int nl_open(struct mp_stats_depth_ctx *x)
{
	struct timeval tv = { .tv_sec = 1 };	/* the kernel answers at once; never hang */

	if (x->nl == -1) {
		x->nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		if (x->nl < 0 || setsockopt(x->nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
			if (x->nl >= 0)
				close(x->nl);
			x->nl = -2;
		}
	}
	return x->nl;
}

/* The receive queue's bytes in a reply about ino: >= 0, or -1. */
static int64_t rqlen_parse(const void *buf, size_t len, uint32_t seq, uint64_t ino)
{
	const struct nlmsghdr *h = buf;
	const struct unix_diag_msg *m;
	const struct rtattr *a;
	int alen;

	if (len < sizeof(*h) || h->nlmsg_len > len || h->nlmsg_seq != seq ||
	    h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -1;
	m = NLMSG_DATA(h);
	if (m->udiag_ino != ino)
		return -1;
	a = (const struct rtattr *)(m + 1);
	alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		const struct unix_diag_rqlen *q = RTA_DATA(a);

		if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof(*q))
			return q->udiag_rqueue;
	}
	return -1;
}

static int64_t sock_bytes(struct mp_stats_depth_ctx *x, uint64_t ino)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST },
		  .r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = (uint32_t)ino,
			 .udiag_show = UDIAG_SHOW_RQLEN, .udiag_cookie = { ~0u, ~0u } } };
	uint32_t buf[2048];	/* aligned for nlmsghdr */
	int fd = nl_open(x);

	if (fd < 0 || ino > UINT32_MAX)	/* the request has 32 bits of inode */
		return -1;
	req.h.nlmsg_seq = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -1;
	for (int t = 0; t < NL_TRIES; t++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *h = (const void *)buf;

		if (n < (ssize_t)sizeof(*h))
			return -1;
		if (h->nlmsg_seq != req.h.nlmsg_seq)
			continue;	/* an earlier request's, timed out */
		return rqlen_parse(buf, (size_t)n, req.h.nlmsg_seq, ino);
	}
	return -1;
}

int64_t mp_stats_depth(struct mp_stats_depth_ctx *x, const struct mp_stats_where *w,
		       int64_t *bytes)
{
	*bytes = -1;
	if (!x->may)
		return -1;
	if (w->transport == MP_TRANSPORT_RING || w->transport == MP_TRANSPORT_HYBRID)
		return ring_depth(x, w, bytes);
	if (w->transport != MP_TRANSPORT_SOCK || !w->ino)
		return -1;
	*bytes = sock_bytes(x, w->ino);
	return *bytes == 0 ? 0 : -1;	/* bytes, not messages: see above */
}
