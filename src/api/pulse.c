/* SPDX-License-Identifier: MIT */
/*
 * mp_pulse(): the client side of the pulse board (proto/pulse.h), one per
 * port this process pulses; mp_port_watch() and mp_port_unwatch().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn/port.h"
#include "conn/pulse.h"
#include "conn/pulse_watch.h"
#include "mem/data.h"
#include "ns/portfile.h"
#include "ns/root.h"
#include "os/shm.h"
#include "os/sockio.h"
#include "proto/pulse.h"
#include "proto/wire.h"
#include "transport/refuse.h"

/* This process's board for one port.  What we wrote is kept privately:
 * the server maps the board too, so nothing is read back from it but the
 * server's shm_seen. */
struct pboard {
	struct pboard *next;
	mp_port_t port;
	int fd;				/* the connection: the HELLO, then the lifeline */
	int efd;			/* the server's wake-up [B3]: a pipe's read end (its copy) */
	int wfd;			/* the pipe's write end: ours alone */
	struct mp_pulse_board *map;
	uint32_t ncodes;
	uint32_t code[MP_PULSE_CODES];	/* slot k holds code[k] */
	uint32_t seq[MP_PULSE_CODES];
	uint64_t total[MP_PULSE_CODES];
	uint64_t gen;
};

static pthread_mutex_t pulse_lock = PTHREAD_MUTEX_INITIALIZER;	/* 8b in conn/port.h */
static pthread_once_t pulse_fork_once = PTHREAD_ONCE_INIT;
static struct pboard *boards;

static void pboard_free(struct pboard *b)
{
	if (!b)
		return;
	if (b->map)
		munmap(b->map, MP_PULSE_BOARD_SIZE);
	if (b->fd >= 0)
		close(b->fd);
	if (b->efd >= 0)
		close(b->efd);
	if (b->wfd >= 0)
		close(b->wfd);
	free(b);
}

/* ---------------------------------------------------------------- fork */

static void pulse_atfork_prepare(void)
{
	pthread_mutex_lock(&pulse_lock);
}

static void pulse_atfork_parent(void)
{
	pthread_mutex_unlock(&pulse_lock);
}

/* The boards are the parent's: the child's copies go (closing them tells
 * the server nothing: the parent still holds the connection), and its
 * own pulses get boards of their own. */
static void pulse_atfork_child(void)
{
	struct pboard *b = boards, *next;

	boards = NULL;
	for (; b; b = next) {
		next = b->next;
		pboard_free(b);
	}
	pthread_mutex_unlock(&pulse_lock);
}

static void pulse_fork_register(void)
{
	pthread_atfork(pulse_atfork_prepare, pulse_atfork_parent, pulse_atfork_child);
}

/* ----------------------------------------------------------- connecting */

/* A connection to port's socket: the fd, or -EPIPE (no live server),
 * -EACCES, -errno. */
static int port_connect(mp_port_t port)
{
	char root[MP_ROOT_MAX], path[MP_ROOT_PATH_MAX];
	int fd, err;

	err = mp_root_get(root, sizeof(root));
	if (!err)
		err = mp_portfile_path(path, sizeof(path), root, port, ".sock");
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = mp_sock_connect_path(fd, path);
	if (err) {
		close(fd);
		return err == -ECONNREFUSED || err == -ENOENT || err == -ENOTDIR ? -EPIPE : err;
	}
	return fd;
}

/* Hand the board and its wake-up (the pipe's read end) to the server. */
static int pboard_hello(struct pboard *b, int memfd)
{
	struct mp_frame f = { .magic = MP_FRAME_MAGIC, .kind = MP_FRAME_HELLO, .nfds = 2,
			      .type = MP_PULSE_HELLO };
	struct iovec iov = { &f, sizeof(f) };
	int fds[2] = { memfd, b->efd };

	/* a new socket has room: this never waits */
	return mp_sock_send(b->fd, &iov, 1, fds, 2, mp_deadline_in(0));
}

static int pboard_open(mp_port_t port, struct pboard **out)
{
	struct pboard *b = calloc(1, sizeof(*b));
	void *map = NULL;
	int memfd = -1, pfd[2], err;

	if (!b)
		return -ENOMEM;
	b->port = port;
	b->efd = b->wfd = -1;
	b->fd = port_connect(port);
	if (b->fd < 0) {
		err = b->fd;
		goto err;
	}
	/* A pipe, not an eventfd: the server shares whatever we send it, and
	 * could clear its O_NONBLOCK and fill it; the write end it never has. */
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK)) {
		err = -errno;
		goto err;
	}
	b->efd = pfd[0];
	b->wfd = pfd[1];
	memfd = mp_memfd_new("msgport-pulse", MP_PULSE_BOARD_SIZE, F_SEAL_SEAL, &map);
	if (memfd < 0) {
		err = memfd;
		goto err;
	}
	b->map = map;
	/* [I1] relaxed: ours alone until the HELLO's sendmsg() */
	store_relaxed(&b->map->shm_magic, MP_PULSE_BOARD_MAGIC);
	err = pboard_hello(b, memfd);
	close(memfd);
	if (err == -EPIPE || err == -ECONNRESET) {
		int refused = mp_refusal_take(b->fd);	/* refused at accept already? */

		err = refused ? refused : err;
	}
	if (err)
		goto err;
	*out = b;
	return 0;
err:
	pboard_free(b);
	return err == -ECONNRESET || err == -EPIPE ? -EPIPE : err;
}

/* The board for port, made at the first pulse (under pulse_lock). */
static int pboard_get(mp_port_t port, struct pboard **out)
{
	struct pboard *b;
	int err;

	for (b = boards; b; b = b->next) {
		if (b->port == port) {
			*out = b;
			return 0;
		}
	}
	err = pboard_open(port, &b);
	if (err)
		return err;
	b->next = boards;
	boards = *out = b;
	return 0;
}

static void pboard_drop(struct pboard *b)
{
	struct pboard **pp;

	for (pp = &boards; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	pboard_free(b);
}

/* Whether the server still holds the other end (no system call blocks). */
static bool pboard_alive(const struct pboard *b)
{
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };

	if (poll(&pfd, 1, 0) < 0)
		return true;	/* cannot tell: the next pulse asks again */
	return !(pfd.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL));
}

/* ---------------------------------------------------------------- pulse */

/* The slot of code: its own, or a new one; -ENOSPC when all are taken. */
static int pboard_slot(struct pboard *b, uint32_t code)
{
	for (uint32_t k = 0; k < b->ncodes; k++)
		if (b->code[k] == code)
			return (int)k;
	if (b->ncodes == MP_PULSE_CODES)
		return -ENOSPC;
	b->code[b->ncodes] = code;
	return (int)b->ncodes++;
}

/*
 * [B3] ring: a byte into the pipe from our own write end (its O_NONBLOCK is
 * ours: the server has only the read end).  The server never reads it, so
 * the pipe is emptied first: every ring is then an empty-to-readable edge
 * for the server's edge-triggered epoll (on any kernel), and the pipe never
 * fills.  The read end is the server's too: read with RWF_NOWAIT, never
 * trusting its O_NONBLOCK.  Nothing here waits.
 */
static void pboard_ring(struct pboard *b)
{
	char buf[4096], one = 1;
	struct iovec iov = { buf, sizeof(buf) };

	/* a full read: more may be there (put by a hostile server) */
	for (int k = 0; k < 16; k++)
		if (preadv2(b->efd, &iov, 1, -1, RWF_NOWAIT) != (ssize_t)sizeof(buf))
			break;
	if (write(b->wfd, &one, 1) < 0) {
		/* EAGAIN: still full, a server that fills it itself is awake */
	}
}

/* [B1] then [B3]: write the slot, count the pulse, wake a caught-up server. */
static void pboard_write(struct pboard *b, unsigned k, uint32_t code, uint64_t value)
{
	struct mp_pulse_slot *s = &b->map->slot[k];
	uint64_t g;

	store_relaxed(&s->shm_seq, ++b->seq[k]);	/* odd: being written */
	full_fence();	/* [B1] odd seq before the fields (the reader's [B2] re-check) */
	store_relaxed(&s->shm_code, code);
	store_relaxed(&s->shm_value, value);
	store_relaxed(&s->shm_total, ++b->total[k]);
	store_release(&s->shm_seq, ++b->seq[k]);	/* [B1] release, pairs with [B2] */
	g = ++b->gen;
	fetch_add_fence(&b->map->shm_gen, 1);	/* [B3] publish, pairs with the drain's acquire */
	full_fence();	/* [B3] Dekker: gen before seen */
	if (load_relaxed(&b->map->shm_seen) == g - 1)
		pboard_ring(b);
}

int mp_pulse(mp_port_t port, uint32_t code, uint64_t value)
{
	struct pboard *b;
	int k, err;

	if (port == 0 || code >= MP_PULSE_DISCONNECT)
		return -EINVAL;
	pthread_once(&pulse_fork_once, pulse_fork_register);
	pthread_mutex_lock(&pulse_lock);
	err = pboard_get(port, &b);
	if (!err && !pboard_alive(b)) {
		/* its server refused the board at accept (transport/refuse.h):
		 * that error, as mp_send() says it; or it has gone since the
		 * last pulse: connect anew, as mp_send() does, for the port
		 * that may have the number now; none: -EPIPE from pboard_open() */
		int refused = mp_refusal_take(b->fd);

		pboard_drop(b);
		err = refused ? refused : pboard_get(port, &b);
	}
	if (err)
		goto out;
	k = pboard_slot(b, code);
	if (k < 0) {
		err = k;
		goto out;
	}
	pboard_write(b, (unsigned)k, code, value);
out:
	pthread_mutex_unlock(&pulse_lock);
	return err;
}

/* -------------------------------------------------------------- watches */

int mp_port_watch(mp_port_t watched, mp_port_t notify, uint32_t code)
{
	struct mp_port_obj *p;
	int fd, err;

	if (watched == 0 || notify == 0 || code >= MP_PULSE_DISCONNECT)
		return -EINVAL;
	p = mp_port_get(notify);
	if (!p)
		return -ENOENT;
	fd = port_connect(watched);
	if (fd < 0) {
		err = fd == -EPIPE ? -ENOENT : fd;
		goto out;
	}
	err = mp_pulse_watch_add(p->pulse, watched, code, fd);
out:
	mp_port_put(p);
	return err;
}

int mp_port_unwatch(mp_port_t watched, mp_port_t notify)
{
	struct mp_port_obj *p;
	int err;

	if (watched == 0 || notify == 0)
		return -EINVAL;
	p = mp_port_get(notify);
	if (!p)
		return -ENOENT;
	err = mp_pulse_watch_remove(p->pulse, watched);
	mp_port_put(p);
	return err;
}
