/* SPDX-License-Identifier: MIT */
/*
 * Port lifecycle and connections: mp_port_create/destroy/fd, the table of
 * this process's ports, accepting clients and dropping them.
 */
#include "conn/port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/compiler.h"
#include "ns/ns.h"
#include "os/sockio.h"
#include "conn/tls.h"

static pthread_mutex_t mp_ports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_port_obj *mp_ports;

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

static void port_free(struct mp_port_obj *p)
{
	if (!p)
		return;
	if (p->epfd >= 0)
		close(p->epfd);
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
	for (uint32_t k = 0; k < p->npaths; k++)
		free(p->paths[k]);
	free(p->paths);
	free(p->conns);
	pthread_mutex_destroy(&p->lock);
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
	if (!err && chmod(p->sock_path, 0600) != 0)
		err = -errno;
	if (!err && listen(p->listen_fd, SOMAXCONN) != 0)
		err = -errno;
	return err;
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
	if (!err)
		err = epoll_add(p->epfd, p->shut_efd, MP_KEY_SHUTDOWN);
	if (!err)
		err = epoll_add(p->epfd, p->kick_efd, MP_KEY_KICK);
	return err;
}

static struct mp_port_obj *port_alloc(void)
{
	struct mp_port_obj *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->refs = 1;
	p->pf.fd = p->listen_fd = p->epfd = p->shut_efd = p->page_fd = p->kick_efd = -1;
	p->peer_cpu = -1;
	p->unattended = true;	/* the page starts with doorbell = 1 */
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

int mp_port_create(mp_port_t *port)
{
	return mp_port_create_opts(port, NULL);
}

static int opts_check(const mp_port_opts_t *opts)
{
	if (!opts)
		return 0;
	if (opts->sz < sizeof(*opts) || (opts->flags & ~MP_PORT_INPUT_IN_PLACE) ||
	    opts->transport > MP_TRANSPORT_HYBRID)
		return -EINVAL;
	return 0;
}

int mp_port_create_opts(mp_port_t *port, const mp_port_opts_t *opts)
{
	struct mp_port_obj *p;
	int err;

	if (!port || opts_check(opts))
		return -EINVAL;
	mp_lib_init();
	p = port_alloc();
	if (!p)
		return -ENOMEM;
	err = mp_root_get(p->root, sizeof(p->root));
	if (!err)
		err = mp_portfile_claim(p->root, &p->pf);
	if (!err)
		err = port_listen(p);
	if (!err)
		err = port_events_init(p);
	if (!err && (p->page_fd = mp_portpage_create(&p->page)) < 0)
		err = p->page_fd;
	if (!err && opts) {
		p->pf.page->transport = opts->transport;
		p->input_in_place = opts->flags & MP_PORT_INPUT_IN_PLACE;
	}
	if (!err)
		err = mp_portfile_ready(&p->pf);	/* last: now it looks live */
	if (err)
		goto err;
	pthread_mutex_lock(&mp_ports_lock);
	p->next = mp_ports;
	mp_ports = p;
	pthread_mutex_unlock(&mp_ports_lock);
	*port = p->pf.port;
	return 0;
err:
	if (p->listen_fd >= 0 && p->sock_path[0])
		unlink(p->sock_path);
	port_free(p);
	return err;
}

static struct mp_port_obj *port_unlink_from_table(mp_port_t port)
{
	struct mp_port_obj **pp, *p = NULL;

	pthread_mutex_lock(&mp_ports_lock);
	for (pp = &mp_ports; *pp; pp = &(*pp)->next) {
		if ((*pp)->pf.port == port) {
			p = *pp;
			*pp = p->next;
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
	mp_sconn_put_locked(p, call->conn);
}

/* Hang up every client: blocked senders see the hang-up and get -EPIPE. */
static void port_shutdown_locked(struct mp_port_obj *p)
{
	uint64_t one = 1;

	p->dead = true;
	for (uint32_t k = 0; k < p->nconns; k++) {
		struct mp_sconn *c = p->conns[k];

		if (c) {
			shutdown(c->fd, SHUT_RDWR);
			mp_sconn_kill_locked(p, c);
		}
	}
	mp_rid_table_fini(&p->rids, call_abandon, p);
	unlink(p->sock_path);
	shutdown(p->listen_fd, SHUT_RDWR);
	if (write(p->shut_efd, &one, sizeof(one)) < 0)
		abort();	/* eventfd write cannot fail here */
}

int mp_port_destroy(mp_port_t port)
{
	struct mp_port_obj *p;

	if (port == 0)
		return -EINVAL;
	p = port_unlink_from_table(port);
	if (!p)
		return -ENOENT;
	pthread_mutex_lock(&p->lock);
	for (uint32_t k = 0; k < p->npaths; k++)
		mp_ns_remove_owned(p->root, p->paths[k], p->pf.token);
	port_shutdown_locked(p);
	/* Release the port number only now: a restarted owner may take it. */
	close(p->listen_fd);
	p->listen_fd = -1;
	pthread_mutex_unlock(&p->lock);
	mp_port_put(p);
	return 0;
}

int mp_port_fd(mp_port_t port)
{
	struct mp_port_obj *p;
	int fd;

	if (port == 0)
		return -EINVAL;
	p = mp_port_get(port);
	if (!p)
		return -ENOENT;
	fd = p->epfd;
	p->fd_used = true;
	mp_port_put(p);
	return fd;
}

/* ------------------------------------------------------ paths of a port */

int mp_port_path_add(struct mp_port_obj *p, const char *path)
{
	char **v, *dup = strdup(path);

	if (!dup)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	v = realloc(p->paths, sizeof(*v) * (p->npaths + 1));
	if (v) {
		p->paths = v;
		p->paths[p->npaths++] = dup;
	}
	pthread_mutex_unlock(&p->lock);
	if (!v)
		free(dup);
	return v ? 0 : -ENOMEM;
}

void mp_port_path_forget(struct mp_port_obj *p, const char *path)
{
	pthread_mutex_lock(&p->lock);
	for (uint32_t k = 0; k < p->npaths; k++) {
		if (strcmp(p->paths[k], path) == 0) {
			free(p->paths[k]);
			p->paths[k] = p->paths[--p->npaths];
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
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
	free(c);
}

/* Stop polling c and drop the table's reference to it. */
void mp_sconn_kill_locked(struct mp_port_obj *p, struct mp_sconn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->tp->srv_closing)
		c->tp->srv_closing(c);
	if (c->tp->polled)
		p->npolled--;
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	p->conns[c->idx] = NULL;
	mp_sconn_put_locked(p, c);
}

void mp_sconn_kill(struct mp_port_obj *p, struct mp_sconn *c)
{
	pthread_mutex_lock(&p->lock);
	mp_sconn_kill_locked(p, c);
	pthread_mutex_unlock(&p->lock);
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

static uint64_t conn_key(const struct mp_sconn *c)
{
	return (uint64_t)c->gen << 32 | c->idx;
}

static int conn_insert_locked(struct mp_port_obj *p, struct mp_sconn *c)
{
	int err;

	if (p->dead)
		return -EPIPE;
	err = conn_slot_locked(p, &c->idx);
	if (err)
		return err;
	c->gen = ++p->conn_gen;
	err = epoll_add(p->epfd, c->fd, conn_key(c));
	if (err)
		return err;
	p->conns[c->idx] = c;
	return 0;
}

/* Accept one pending client, if any; its credentials come from the kernel. */
int mp_port_accept(struct mp_port_obj *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct mp_sconn *c;
	int fd, err;

	/* Under the lock: mp_port_destroy() closes the listening socket, and
	 * its number must not be used after that (it may name another file). */
	pthread_mutex_lock(&p->lock);
	fd = p->listen_fd < 0 ? -1 : accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	err = fd < 0 ? (p->listen_fd < 0 ? -EPIPE : -errno) : 0;
	pthread_mutex_unlock(&p->lock);
	if (fd < 0)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->refs = 1;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->tp = &mp_transport_sock;
	c->peer_cpu = -1;
	pthread_mutex_lock(&p->lock);
	err = conn_insert_locked(p, c);
	pthread_mutex_unlock(&p->lock);
	if (err) {
		close(fd);
		free(c);
	}
	return err;
}

/* The connection behind an epoll key, referenced, or NULL when gone. */
struct mp_sconn *mp_port_conn_get(struct mp_port_obj *p, uint64_t key)
{
	uint32_t idx = (uint32_t)(key & ~MP_KEY_DOORBELL) , gen = (uint32_t)(key >> 32);
	struct mp_sconn *c = NULL;

	pthread_mutex_lock(&p->lock);
	if (idx < p->nconns && p->conns[idx] && p->conns[idx]->gen == gen) {
		c = p->conns[idx];
		c->refs++;
	}
	pthread_mutex_unlock(&p->lock);
	return c;
}

/* ---------------------------------------------------------------- fork */

void mp_ports_atfork_prepare(void)
{
	pthread_mutex_lock(&mp_ports_lock);
}

void mp_ports_atfork_parent(void)
{
	pthread_mutex_unlock(&mp_ports_lock);
}

/* The child's copies of the parent's descriptors are closed, never the
 * files or sockets themselves: the ports stay the parent's.  Closing the
 * port file copy matters: the OFD lock lives while any copy is open. */
static void port_forget(struct mp_port_obj *p)
{
	/* First: releasing a connection must not touch the parent's epoll set. */
	close(p->epfd);
	p->epfd = -1;
	for (uint32_t k = 0; k < p->nconns; k++) {
		if (p->conns[k]) {
			if (p->conns[k]->tp->srv_release)
				p->conns[k]->tp->srv_release(p->conns[k]);
			close(p->conns[k]->fd);
			free(p->conns[k]);
		}
	}
	for (uint32_t k = 0; k < p->rids.cap; k++)
		if (p->rids.slots[k].gen & 1)
			mp_call_free_buffers(&p->rids.slots[k].call);
	free(p->rids.slots);
	p->sock_path[0] = '\0';
	port_free(p);
}

void mp_ports_forget_after_fork(void)
{
	struct mp_port_obj *p = mp_ports, *next;

	mp_ports = NULL;
	pthread_mutex_unlock(&mp_ports_lock);
	for (; p; p = next) {
		next = p->next;
		pthread_mutex_init(&p->lock, NULL);	/* another thread may have held it */
		port_forget(p);
	}
}
