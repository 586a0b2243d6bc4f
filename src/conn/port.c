/* SPDX-License-Identifier: MIT */
/*
 * Port objects and connections: building and shutting down a port, the
 * table of this process's ports, accepting clients and dropping them.
 * The public calls that also touch the namespace are in api/port.c.
 */
#include "conn/port.h"
#include "conn/peer.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn/pulseq.h"
#include "conn/tls.h"
#include "os/compiler.h"
#include "os/shm.h"
#include "os/sockio.h"
#include "transport/refuse.h"

static pthread_mutex_t mp_ports_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ports_fork_once = PTHREAD_ONCE_INIT;
static struct mp_port_obj *mp_ports;
/* Bumped under mp_ports_lock each time a port leaves the table: a
 * thread's cached lookup is good while it has not changed. */
static _Atomic uint32_t mp_ports_gen;

/* ------------------------------------------------------ held by a call */

/* The slow way: under the table's lock, where an unpublish cannot race
 * us (its hazard scan comes after it, under the same lock's order). */
static struct mp_port_obj *port_hold_slow(mp_port_t port, struct mp_tls *tls)
{
	struct mp_port_obj *p;

	pthread_mutex_lock(&mp_ports_lock);
	for (p = mp_ports; p && p->pf.port != port; p = p->next)
		;
	if (p) {
		store_relaxed(&tls->port_inuse, (uintptr_t)p);	/* ordered by the lock */
		tls->pc_port = port;
		tls->pc_obj = p;
		tls->pc_gen = load_relaxed(&mp_ports_gen);	/* written under this lock */
	}
	pthread_mutex_unlock(&mp_ports_lock);
	return p;
}

struct mp_port_obj *mp_port_hold(mp_port_t port, struct mp_tls *tls)
{
	struct mp_port_obj *p = tls->pc_obj;

	if (likely(p && tls->pc_port == port)) {
		store_relaxed(&tls->port_inuse, (uintptr_t)p);
		/* [P1] the hazard before the generation: pairs with the full
		 * fence of ports_wait_unused() (gen bumped, then hazards read) */
		full_fence();
		if (likely(load_relaxed(&mp_ports_gen) == tls->pc_gen))
			return p;
		store_relaxed(&tls->port_inuse, 0);
	}
	tls->pc_obj = NULL;
	return port_hold_slow(port, tls);
}

void mp_port_unhold(struct mp_tls *tls)
{
	/* [P2] release: our uses of the port come before the destroyer,
	 * which reads it with acquire, may free it */
	store_release(&tls->port_inuse, 0);
}

static void port_inuse_check(struct mp_tls *tls, void *arg)
{
	struct mp_port_obj **p = arg;

	if (*p && load_acquire(&tls->port_inuse) == (uintptr_t)*p)	/* [P2] */
		*p = NULL;
}

/* A port out of the table may still be held by calls that found it
 * before: wait until they have left (they see it dead and go). */
static void ports_wait_unused(struct mp_port_obj *p)
{
	full_fence();	/* [P1] the generation (bumped) before the hazards */
	for (;;) {
		struct mp_port_obj *q = p;

		mp_tls_foreach(port_inuse_check, &q);
		if (q)
			return;
		sched_yield();
	}
}

struct mp_port_obj *mp_port_get(mp_port_t port)
{
	struct mp_port_obj *p;

	pthread_mutex_lock(&mp_ports_lock);
	for (p = mp_ports; p && p->pf.port != port; p = p->next)
		;
	if (p)
		p->refs++;
	pthread_mutex_unlock(&mp_ports_lock);
	return p;
}

void (*mp_port_pulse_fds_free)(struct mp_pulse_fds *t);

static void port_free(struct mp_port_obj *p)
{
	if (!p)
		return;
	mp_pulse_port_free(p->pulse, p->epfd >= 0);	/* first: its fds leave the epoll set */
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->pulse_fds)
		mp_port_pulse_fds_free(p->pulse_fds);	/* (after the epoll set: no DEL needed) */
	if (p->shut_efd >= 0)
		close(p->shut_efd);
	if (p->kick_efd >= 0)
		close(p->kick_efd);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (p->page_fd >= 0)
		close(p->page_fd);
	if (p->page)
		munmap(p->page, MP_PORTPAGE_SIZE);
	mp_portfile_release(&p->pf);
	mp_stats_close(p->stats);
	free(p->conns);
	free(p->polled);
	mp_fastslots_free(p->fast);
	free(p);
}

void mp_port_put(struct mp_port_obj *p)
{
	unsigned left;

	pthread_mutex_lock(&mp_ports_lock);
	left = --p->refs;
	pthread_mutex_unlock(&mp_ports_lock);
	if (left == 0)
		port_free(p);
}

static int epoll_add(int epfd, int fd, uint64_t key)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = key };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int port_listen(struct mp_port_obj *p)
{
	int err;

	err = mp_portfile_path(p->sock_path, sizeof(p->sock_path), p->root, p->pf.port, ".sock");
	if (err)
		return err;
	p->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->listen_fd < 0)
		return -errno;
	unlink(p->sock_path);	/* left by a dead owner: we hold the port lock */
	err = mp_sock_bind_path(p->listen_fd, p->sock_path);
	if (err)
		return err;
	if (chmod(p->sock_path, 0600) != 0)
		return -errno;
	if (listen(p->listen_fd, SOMAXCONN) != 0)
		return -errno;
	return 0;
}

static int port_events_init(struct mp_port_obj *p)
{
	int err;

	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -errno;
	p->shut_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->kick_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->shut_efd < 0 || p->kick_efd < 0)
		return -errno;
	err = epoll_add(p->epfd, p->listen_fd, MP_KEY_LISTEN);
	if (err)
		return err;
	err = epoll_add(p->epfd, p->shut_efd, MP_KEY_SHUTDOWN);
	if (err)
		return err;
	return epoll_add(p->epfd, p->kick_efd, MP_KEY_KICK);
}

static struct mp_port_obj *port_alloc(void)
{
	struct mp_port_obj *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->refs = 1;
	p->pf.fd = p->listen_fd = p->epfd = p->shut_efd = p->page_fd = p->kick_efd = -1;
	/* Not yet published: the table's mutex orders these. */
	store_relaxed(&p->peer_cpu, -1);
	store_relaxed(&p->unattended, true);	/* the page starts with doorbell = 1 */
	mp_lock_init(&p->lock);
	return p;
}

/* The port page, what opts ask of it, and the port's statistics. */
static int port_page_init(struct mp_port_obj *p, const mp_port_opts_t *opts)
{
	p->page_fd = mp_portpage_create(&p->page);
	if (p->page_fd < 0)
		return p->page_fd;
	if (opts)
		p->input_in_place = opts->flags & MP_PORT_INPUT_IN_PLACE;
	p->prio_inherit = opts && (opts->flags & MP_PORT_PRIO_INHERIT);
	p->stats = mp_stats_open(p->root, p->pf.port, p->pf.token, opts ? opts->transport : 0);
	return p->stats ? 0 : -ENOMEM;
}

static void ports_fork_register(void);

int mp_port_build(const mp_port_opts_t *opts, struct mp_port_obj **out)
{
	struct mp_port_obj *p;
	int err;

	/* Before the first port exists: a fork child must forget it. */
	pthread_once(&ports_fork_once, ports_fork_register);
	p = port_alloc();

	if (!p)
		return -ENOMEM;
	p->fast = mp_fastslots_new();
	if (!p->fast) {
		err = -ENOMEM;
		goto err;
	}
	err = mp_root_get(p->root, sizeof(p->root));
	if (err)
		goto err;
	err = mp_portfile_claim(p->root, &p->pf);
	if (err)
		goto err;
	/* Before the socket listens: a client that connects reads it [I3]. */
	mp_portfile_set_opts(&p->pf, opts);
	err = port_listen(p);
	if (err)
		goto err;
	err = port_events_init(p);
	if (err)
		goto err;
	err = port_page_init(p, opts);
	if (err)
		goto err;
	err = mp_pulse_port_init(&p->pulse, p->epfd,
				 opts && (opts->flags & MP_PORT_DISCONNECT_PULSES));
	if (err)
		goto err;
	err = mp_portfile_ready(&p->pf);	/* last: now it looks live */
	if (err)
		goto err;
	*out = p;
	return 0;
err:
	mp_port_discard(p);
	return err;
}

void mp_port_discard(struct mp_port_obj *p)
{
	if (!p)
		return;
	if (p->listen_fd >= 0 && p->sock_path[0])
		unlink(p->sock_path);
	port_free(p);
}

void mp_port_publish(struct mp_port_obj *p)
{
	pthread_mutex_lock(&mp_ports_lock);
	p->next = mp_ports;
	mp_ports = p;
	pthread_mutex_unlock(&mp_ports_lock);
}

struct mp_port_obj *mp_port_unpublish(mp_port_t port)
{
	struct mp_port_obj **pp, *p = NULL;

	pthread_mutex_lock(&mp_ports_lock);
	for (pp = &mp_ports; *pp; pp = &(*pp)->next) {
		if ((*pp)->pf.port == port) {
			p = *pp;
			*pp = p->next;
			/* under the lock; read relaxed after [P1] by mp_port_hold() */
			store_relaxed(&mp_ports_gen, load_relaxed(&mp_ports_gen) + 1);
			break;
		}
	}
	pthread_mutex_unlock(&mp_ports_lock);
	return p;
}

static void call_abandon(struct mp_call *call, void *arg)
{
	struct mp_port_obj *p = arg;

	mp_call_free_buffers(call);
	if (call->inl)
		call->conn->inl->busy = false;
	mp_sconn_put_locked(p, call->conn);
}

static void conn_put_locked_cb(struct mp_sconn *c, void *arg)
{
	mp_sconn_put_locked(arg, c);
}

/* Hang up every client: blocked senders see the hang-up and get -EPIPE. */
static void port_shutdown_locked(struct mp_port_obj *p)
{
	uint64_t one = 1;

	/* Receivers read it unlocked, once shut_efd (written below) wakes them. */
	store_release(&p->dead, true);
	for (uint32_t k = 0; k < p->nconns; k++) {
		struct mp_sconn *c = p->conns[k];

		if (c) {
			shutdown(c->fd, SHUT_RDWR);
			mp_sconn_kill_locked(p, c);
		}
	}
	mp_rid_table_fini(&p->rids, call_abandon, p);
	mp_fastslots_end_orphans(p->fast, conn_put_locked_cb, p);
	unlink(p->sock_path);
	shutdown(p->listen_fd, SHUT_RDWR);
	if (write(p->shut_efd, &one, sizeof(one)) < 0)
		abort();	/* eventfd write cannot fail here */
}

void mp_port_shutdown(struct mp_port_obj *p)
{
	mp_lock(&p->lock);
	port_shutdown_locked(p);
	/* Release the port number only now: a restarted owner may take it. */
	close(p->listen_fd);
	p->listen_fd = -1;
	mp_unlock(&p->lock);
	ports_wait_unused(p);
	mp_port_put(p);
}

/* ---------------------------------------------------------- connections */

void mp_sconn_put_locked(struct mp_port_obj *p, struct mp_sconn *c)
{
	(void)p;
	if (--c->refs)
		return;
	if (c->tp->srv_release)
		c->tp->srv_release(c);
	close(c->fd);
	mp_peer_drop(c);
	free(c->inl);
	free(c);
}

/* Stop polling c and drop the table's reference to it. */
void mp_sconn_kill_locked(struct mp_port_obj *p, struct mp_sconn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	mp_pulse_conn_gone(p->pulse, mp_sconn_key(c), c->pid, c->uid, c->gid, load_relaxed(&p->dead));
	if (c->tp->srv_closing)
		c->tp->srv_closing(c);
	if (c->tp->flags & MP_TP_POLLED) {
		struct mp_sconn *last = p->polled[--p->polled_n];

		p->polled[c->poll_idx] = last;	/* dense: the last one takes its place */
		last->poll_idx = c->poll_idx;
		fetch_add_relaxed(&p->npolled, (uint32_t)-1);	/* a hint when read unlocked */
	}
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	p->conns[c->idx] = NULL;
	mp_stats_client_gone(p->stats, c->idx);
	if (mp_fastslot_conn_gone(p->fast, c))
		c->refs--;	/* its fast slot's (the table's still holds it) */
	mp_sconn_put_locked(p, c);
}

int mp_port_poll_reserve_locked(struct mp_port_obj *p)
{
	uint32_t n = p->polled_cap ? p->polled_cap * 2 : 8;
	struct mp_sconn **v;

	if (p->polled_n < p->polled_cap)
		return 0;
	v = realloc(p->polled, sizeof(*v) * n);
	if (!v)
		return -ENOMEM;
	p->polled = v;
	p->polled_cap = n;
	return 0;
}

void mp_port_poll_add_locked(struct mp_port_obj *p, struct mp_sconn *c)
{
	c->poll_idx = p->polled_n;
	p->polled[p->polled_n++] = c;
	fetch_add_relaxed(&p->npolled, 1);	/* under the lock; read unlocked as a hint */
	mp_stats_client_transport(p->stats, c->idx, c->tp->name);
}

void mp_sconn_kill(struct mp_port_obj *p, struct mp_sconn *c)
{
	mp_lock(&p->lock);
	mp_sconn_kill_locked(p, c);
	mp_unlock(&p->lock);
}

static int conn_slot_locked(struct mp_port_obj *p, uint32_t *idx)
{
	struct mp_sconn **v;
	uint32_t n;

	for (uint32_t k = 0; k < p->nconns; k++) {
		if (!p->conns[k]) {
			*idx = k;
			return 0;
		}
	}
	n = p->nconns ? p->nconns * 2 : 8;
	if (n > MP_KEY_DOORBELL)
		return -ENOSPC;
	v = realloc(p->conns, sizeof(*v) * n);
	if (!v)
		return -ENOMEM;
	memset(v + p->nconns, 0, sizeof(*v) * (n - p->nconns));
	*idx = p->nconns;
	p->conns = v;
	p->nconns = n;
	return 0;
}

static int conn_insert_locked(struct mp_port_obj *p, struct mp_sconn *c)
{
	int err;

	if (load_relaxed(&p->dead))	/* written under the lock too */
		return -EPIPE;
	if (mp_peer_uid_full(p->conns, p->nconns, c->uid))
		return -EUSERS;	/* MP_PORT_CONN_PER_UID_MAX */
	err = conn_slot_locked(p, &c->idx);
	if (err)
		return err;
	c->gen = ++p->conn_gen;
	err = epoll_add(p->epfd, c->fd, mp_sconn_key(c));
	if (err)
		return err;
	p->conns[c->idx] = c;
	mp_pulse_conn_added(p->pulse, c->pid);
	mp_stats_client_add(p->stats, c->idx, c->pid, c->uid, c->fd);
	return 0;
}

/* A connection for an accepted socket; its credentials come from the
 * kernel, and must let it call this port (conn/peer.h). */
static struct mp_sconn *sconn_new(const struct mp_port_obj *p, int fd, int *err)
{
	struct mp_sconn *c = calloc(1, sizeof(*c));

	*err = c ? mp_peer_admit(fd, p->pf.token, c) : -ENOMEM;	/* fills pid, uid, gid */
	if (*err) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->refs = 1;
	c->tp = mp_transport_bootstrap();
	c->peer_cpu = -1;
	return c;
}

void mp_sconn_forget(struct mp_sconn *c)
{
	if (c->tp->srv_release)
		c->tp->srv_release(c);
	close(c->fd);
	mp_peer_forget(c);	/* frees c */
}

int mp_port_accept(struct mp_port_obj *p)
{
	struct mp_sconn *c;
	int fd, err;

	/* Under the lock: mp_port_shutdown() closes the listening socket, and
	 * its number must not be used after that (it may name another file). */
	mp_lock(&p->lock);
	fd = p->listen_fd < 0 ? -1 : accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	err = fd < 0 ? (p->listen_fd < 0 ? -EPIPE : -errno) : 0;
	mp_unlock(&p->lock);
	if (fd < 0)
		return err;
	c = sconn_new(p, fd, &err);
	if (c) {
		mp_lock(&p->lock);
		err = conn_insert_locked(p, c);
		mp_unlock(&p->lock);
	}
	if (!err)
		return 0;
	mp_refuse_accept(fd, err);	/* its call says why (-EACCES, -EUSERS, -ENOMEM), not -EPIPE */
	close(fd);
	mp_peer_drop(c);
	free(c);
	return err;
}

struct mp_sconn *mp_port_conn_get(struct mp_port_obj *p, uint64_t key)
{
	uint32_t idx = (uint32_t)(key & ~MP_KEY_DOORBELL) , gen = (uint32_t)(key >> 32);
	struct mp_sconn *c = NULL;

	mp_lock(&p->lock);
	if (idx < p->nconns && p->conns[idx] && p->conns[idx]->gen == gen) {
		c = p->conns[idx];
		c->refs++;
	}
	mp_unlock(&p->lock);
	return c;
}

/* ---------------------------------------------------------------- fork */

static void ports_atfork_prepare(void)
{
	pthread_mutex_lock(&mp_ports_lock);
}

static void ports_atfork_parent(void)
{
	pthread_mutex_unlock(&mp_ports_lock);
}

/* The child's copies of the parent's descriptors are closed, never the
 * files or sockets themselves: the ports stay the parent's.  Closing the
 * port file copy matters: the OFD lock lives while any copy is open. */
static void port_forget(struct mp_port_obj *p)
{
	close(p->epfd);	/* first: releasing a connection must not touch */
	p->epfd = -1;	/* the parent's epoll set, */
	mp_stats_detach(p->stats);	/* nor its statistics (kept pages) */
	mp_fastslots_forget(p->fast, mp_sconn_forget);	/* orphans: in no table */
	for (uint32_t k = 0; k < p->nconns; k++)
		if (p->conns[k])
			mp_sconn_forget(p->conns[k]);
	mp_rid_table_forget(&p->rids);
	p->sock_path[0] = '\0';
	port_free(p);
}

/* A fork child: every port is the parent's. */
static void ports_atfork_child(void)
{
	struct mp_port_obj *p = mp_ports, *next;

	mp_ports = NULL;
	/* a thread's cached lookup names a parent's port no more */
	store_relaxed(&mp_ports_gen, load_relaxed(&mp_ports_gen) + 1);
	pthread_mutex_unlock(&mp_ports_lock);
	for (; p; p = next) {
		next = p->next;
		mp_lock_init(&p->lock);	/* another thread may have held it */
		port_forget(p);
	}
}

static void ports_fork_register(void)
{
	pthread_atfork(ports_atfork_prepare, ports_atfork_parent, ports_atfork_child);
}

