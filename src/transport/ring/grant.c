/* SPDX-License-Identifier: MIT */
/*
 * The input grant (proto/grant.h): a long call's input written by the
 * client, with process_vm_writev(), straight into a private buffer of the
 * server, in huge pages (measured 1.04-1.12x memcpy, against 0.36-0.48x
 * with the client's small pages as the remote side, and two copies
 * through the bulk area).
 *
 * Trust (docs/long-data.md, "Trust"): the kernel lets the client write
 * into the server only when it could ptrace it, so a client that may use
 * the grant can already change anything in the server; the server's
 * checks (a call, the grant published, the size within it) keep an honest
 * client's mistakes out, not a hostile one.  The client writes only its
 * own input bytes, only into the process the kernel names as its socket's
 * peer, and only when that is the pid the server published.
 */
#include "transport/ring/ring.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem/data.h"
#include "mem/memcap.h"
#include "proto/grant.h"

/* ------------------------------------------------------------ server */

static void grant_publish(struct ring_srv *rs, const void *p, size_t cap)
{
	struct mp_grant_line *g = mp_grant_line(rs->r);

	/* [G1] cap 0 first: a client never sees the new address with the old
	 * capacity (it reads them only after the reply, [R1] -> [R2]) */
	store_relaxed(&g->shm_cap, 0);
	store_relaxed(&g->shm_addr, (uint64_t)(uintptr_t)p);
	store_relaxed(&g->shm_pid, (int32_t)getpid());
	store_relaxed(&g->shm_cap, (uint64_t)cap);
}

/* A grant fits a call of size bytes exactly when its buffer is the one
 * mp_buf_get(size) would give: the call's owner releases it with
 * mp_buf_put(data, size), which must find the same capacity. */
static bool grant_fits(size_t cap, uint64_t size)
{
	return size >= MP_GRANT_MIN && size <= MP_DATA_MAX && mp_buf_cap((size_t)size) == cap;
}

void mp_ring_grant_offer(struct ring_srv *rs, size_t size)
{
	size_t cap;
	void *p;

	if (size < MP_GRANT_MIN || size > MP_DATA_MAX || !mp_vm_min() ||
	    (rs->grant.p && grant_fits(rs->grant.cap, size)))
		return;
	cap = mp_buf_cap(size);
	/* room left for this call's own copy (size): a hint, the usual way then */
	if (mp_memcap_charge_spare(rs->grant.acct, cap, size))
		return;
	p = mp_buf_get(cap);
	if (!p) {
		mp_memcap_uncharge(rs->grant.acct, cap);
		return;	/* a hint: the next call comes the usual way */
	}
	mp_buf_put(rs->grant.p, rs->grant.cap);	/* published only: no call has it */
	mp_memcap_uncharge(rs->grant.acct, rs->grant.cap);
	rs->grant.p = p;
	rs->grant.cap = cap;
	grant_publish(rs, p, cap);
}

void mp_ring_grant_offer_to(struct mp_sconn *c, struct ring_srv *rs, size_t size)
{
	if (!rs->grant.acct)
		rs->grant.acct = mp_memcap_ref(c->cap);	/* dropped by mp_ring_grant_fini() */
	mp_ring_grant_offer(rs, size);
}

/* The grant is one-shot: its buffer becomes the call's (released with
 * the call, mp_buf_put()), and a new one is published for the next, so
 * that a call never finds its input under a later call's write.  The
 * call keeps data_size of its charge (api/recv.c rx_fetch() takes it over). */
int mp_ring_grant_take(struct ring_srv *rs, const struct mp_slot_msg *m, struct mp_rx *rx)
{
	if (m->kind != MP_SLOT_CALL || m->bulk_off != MP_BULK_OFF_GRANT || !rs->grant.p ||
	    !grant_fits(rs->grant.cap, m->data_size))
		return -EPROTO;
	/* Private memory: the stable bytes of a private copy, without a copy. */
	rx->data = rs->grant.p;
	rx->data_kind = MP_BUF_CACHE;
	rx->in_bulk = 0;
	mp_memcap_uncharge(rs->grant.acct, rs->grant.cap - (size_t)m->data_size);
	rs->grant.p = NULL;
	rs->grant.cap = 0;
	grant_publish(rs, NULL, 0);
	mp_ring_grant_offer(rs, m->data_size);
	return 0;
}

void mp_ring_grant_fini(struct ring_srv *rs)
{
	mp_buf_put(rs->grant.p, rs->grant.cap);
	mp_memcap_uncharge(rs->grant.acct, rs->grant.cap);
	mp_memcap_unref(rs->grant.acct);
	rs->grant.acct = NULL;
	rs->grant.p = NULL;
	rs->grant.cap = 0;
}

/* ------------------------------------------------------------ client */

/* The server's pid as the kernel gave it at connect(): -1 when unknown
 * (another pid namespace). */
static pid_t grant_peer(struct mp_cconn *c, struct ring_cli *rc)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (rc->grant.pid == 0)
		rc->grant.pid = getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
					cr.pid > 0 ? cr.pid : -1;
	return rc->grant.pid;
}

/* The connection hung up: its pid may be another process's by now. */
static bool grant_peer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

int mp_ring_grant_write(struct mp_cconn *c, struct ring_cli *rc, const mp_msg_t *msg)
{
	struct mp_grant_line *g = mp_grant_line(rc->r);
	uint64_t addr, cap;
	pid_t pid;
	int err;

	if (rc->grant.denied || msg->i.size < MP_GRANT_MIN || msg->i.nfds || !mp_vm_min())
		return 0;
	/* [G2] read once each; ordered after [G1] by the reply we took */
	addr = load_relaxed(&g->shm_addr);
	cap = load_relaxed(&g->shm_cap);
	pid = load_relaxed(&g->shm_pid);
	if (!addr || !grant_fits((size_t)cap, msg->i.size) || pid <= 0 || pid != grant_peer(c, rc))
		return 0;
	if (grant_peer_gone(c->fd))
		return 0;	/* the usual path finds it gone */
	err = mp_vm_write(pid, addr, msg->i.data, msg->i.size);
	if (err == -EPERM)
		rc->grant.denied = true;
	return err == 0;
}
