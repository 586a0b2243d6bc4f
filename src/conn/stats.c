/* SPDX-License-Identifier: MIT */
/*
 * A port's statistics file (conn/stats.h): made by the server, read by
 * anyone through mp_stat().  The reader only copies fixed-size fields
 * and range-checks them (no lengths, offsets or strings are taken from
 * the file), so it has no fuzz target: nothing in it is decoded.
 */
#include "conn/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ns/portfile.h"

/* Tries of a reader at an entry that keeps changing [S2]. */
#define SEQ_TRIES 8

static void header_init(struct mp_stats_page *s, mp_port_t port, uint64_t token,
			uint32_t transport)
{
	store_relaxed(&s->shm_version, MP_STATS_VERSION);
	store_relaxed(&s->shm_token, token);
	store_relaxed(&s->shm_pid, getpid());
	store_relaxed(&s->shm_uid, geteuid());
	store_relaxed(&s->shm_port, port);
	store_relaxed(&s->shm_transport, transport);
	/* [S3] last, with release: pairs with the reader's load_acquire */
	store_release(&s->shm_magic, MP_STATS_MAGIC);
}

/* A fresh file under a temporary name, then renamed into place: a reader
 * that mapped an earlier port's file keeps that one whole (no truncation
 * under its feet). */
static struct mp_stats_page *file_make(const char *root, mp_port_t port)
{
	char path[MP_ROOT_PATH_MAX], tmp[MP_ROOT_PATH_MAX + 32];
	struct mp_stats_page *s = MAP_FAILED;
	int fd, n;

	if (mp_portfile_path(path, sizeof(path), root, port, ".stat"))
		return NULL;
	n = snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return NULL;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)	/* left by a dead pid's like */
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return NULL;
	if (fchmod(fd, 0644) == 0 && ftruncate(fd, MP_STATS_SIZE) == 0)
		s = mmap(NULL, MP_STATS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (s != MAP_FAILED && rename(tmp, path) == 0)
		return s;
	if (s != MAP_FAILED)
		munmap(s, MP_STATS_SIZE);
	unlink(tmp);
	return NULL;
}

struct mp_stats_page *mp_stats_open(const char *root, mp_port_t port, uint64_t token,
				    uint32_t transport)
{
	struct mp_stats_page *s = file_make(root, port);

	if (!s) {	/* counted where nobody looks: the hooks need no test */
		s = mmap(NULL, MP_STATS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (s == MAP_FAILED)
			return NULL;
	}
	header_init(s, port, token, transport);
	return s;
}

/* Close the memfd an entry keeps (a fork child: its copy). */
static void entry_close_fd(struct mp_stats_client *e)
{
	int32_t fd1 = load_relaxed(&e->shm_fd1);

	if (fd1 > 0)
		close(fd1 - 1);
}

void mp_stats_detach(struct mp_stats_page *s)
{
	if (!s)
		return;
	for (unsigned k = 0; k < MP_STATS_CLIENTS; k++)
		entry_close_fd(&s->clients[k]);	/* our copies of the parent's */
	/* private zeroes in place: pointers into it (a kept-pages count) stay valid */
	mmap(s, MP_STATS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

void mp_stats_close(struct mp_stats_page *s)
{
	if (!s)
		return;
	for (unsigned k = 0; k < MP_STATS_CLIENTS; k++)
		entry_close_fd(&s->clients[k]);	/* clients not gone (none: all were killed) */
	munmap(s, MP_STATS_SIZE);	/* the file stays, like the port file: its token is stale */
}

/* ------------------------------------------------------------ clients */

static uint32_t tp_code(const char *name)
{
	if (!strcmp(name, "ring"))
		return MP_TRANSPORT_RING;
	if (!strcmp(name, "hybrid"))
		return MP_TRANSPORT_HYBRID;
	return MP_TRANSPORT_SOCK;
}

/* An entry's fields, in private memory. */
struct entry_val {
	int32_t pid;
	uint32_t uid, transport;
	int32_t fd1;
	uint32_t size;
	uint64_t ino;
};

/* [S2] the writer's half: one writer (the port's lock). */
static void entry_write(struct mp_stats_client *e, const struct entry_val *v)
{
	uint32_t seq = load_relaxed(&e->shm_seq);

	store_relaxed(&e->shm_seq, seq + 1);
	atomic_thread_fence(memory_order_release);	/* [S2] odd before the fields */
	store_relaxed(&e->shm_pid, v->pid);
	store_relaxed(&e->shm_uid, v->uid);
	store_relaxed(&e->shm_transport, v->transport);
	store_relaxed(&e->shm_fd1, v->fd1);	/* [S5] */
	store_relaxed(&e->shm_size, v->size);
	store_relaxed(&e->shm_ino, v->ino);
	store_release(&e->shm_seq, seq + 2);	/* [S2] pairs with the reader's fence */
}

/* The entry's fields as they are (ours: only we write them). */
static void entry_get(const struct mp_stats_client *e, struct entry_val *v)
{
	v->pid = load_relaxed(&e->shm_pid);
	v->uid = load_relaxed(&e->shm_uid);
	v->transport = load_relaxed(&e->shm_transport);
	v->fd1 = load_relaxed(&e->shm_fd1);
	v->size = load_relaxed(&e->shm_size);
	v->ino = load_relaxed(&e->shm_ino);
}

void mp_stats_client_add(struct mp_stats_page *s, uint32_t slot, int32_t pid, uint32_t uid,
			 int sock_fd)
{
	struct entry_val v = { .pid = pid, .uid = uid, .transport = MP_TRANSPORT_SOCK };
	struct stat sb;

	if (slot >= MP_STATS_CLIENTS) {
		store_relaxed(&s->shm_over, load_relaxed(&s->shm_over) + 1);
		return;
	}
	if (fstat(sock_fd, &sb) == 0 && S_ISSOCK(sb.st_mode))
		v.ino = sb.st_ino;
	entry_close_fd(&s->clients[slot]);	/* none: gone closed it */
	entry_write(&s->clients[slot], &v);
}

void mp_stats_client_transport(struct mp_stats_page *s, uint32_t slot, const char *tp_name)
{
	struct entry_val v;

	if (slot >= MP_STATS_CLIENTS)
		return;
	entry_get(&s->clients[slot], &v);
	v.transport = tp_code(tp_name);
	entry_write(&s->clients[slot], &v);
}

void mp_stats_client_ring(struct mp_stats_page *s, uint32_t slot, int memfd)
{
	struct entry_val v;
	struct stat sb;

	if (memfd < 0)
		return;
	if (slot >= MP_STATS_CLIENTS || fstat(memfd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size <= 0 || sb.st_size > UINT32_MAX || memfd == INT32_MAX) {
		close(memfd);	/* no entry to say where it is */
		return;
	}
	entry_close_fd(&s->clients[slot]);	/* a second HELLO is refused; in case */
	entry_get(&s->clients[slot], &v);
	v.fd1 = memfd + 1;
	v.size = (uint32_t)sb.st_size;
	v.ino = sb.st_ino;
	entry_write(&s->clients[slot], &v);
}

void mp_stats_client_gone(struct mp_stats_page *s, uint32_t slot)
{
	static const struct entry_val none;

	if (slot >= MP_STATS_CLIENTS) {
		store_relaxed(&s->shm_over, load_relaxed(&s->shm_over) - 1);
		return;
	}
	entry_close_fd(&s->clients[slot]);
	entry_write(&s->clients[slot], &none);
}

/* ------------------------------------------------------------- reader */

/* [S2] the reader's half: 1 a stable, used entry copied, else 0. */
static int entry_read(const struct mp_stats_client *e, mp_stat_client_t *out,
		      struct mp_stats_where *w)
{
	for (int t = 0; t < SEQ_TRIES; t++) {
		uint32_t s1 = load_acquire(&e->shm_seq);	/* pairs with the final release */

		out->pid = load_relaxed(&e->shm_pid);
		out->uid = load_relaxed(&e->shm_uid);
		out->transport = load_relaxed(&e->shm_transport);
		w->fd = load_relaxed(&e->shm_fd1) - 1;	/* [S5] */
		w->size = load_relaxed(&e->shm_size);
		w->ino = load_relaxed(&e->shm_ino);
		atomic_thread_fence(memory_order_acquire);	/* the fields before the re-check */
		if (!(s1 & 1) && load_relaxed(&e->shm_seq) == s1) {
			w->transport = out->transport;
			return out->pid > 0 && out->transport >= MP_TRANSPORT_SOCK &&
			       out->transport <= MP_TRANSPORT_HYBRID;
		}
	}
	return 0;
}

/* Depths add up, each -1 (not known) making the sum so. */
static void depth_add(int64_t *sum, int64_t v)
{
	*sum = *sum < 0 || v < 0 ? -1 : *sum + v;
}

/* One entry per client process: a client that pulses has a second
 * connection (its pulse board, a socket), so entries are merged by pid;
 * the merged one names the calls' transport (a board's is the socket)
 * and the sum of the depths.  1 when e was merged into an entry listed
 * already. */
static int client_merge(mp_stat_t *st, const mp_stat_client_t *e, int64_t depth, int64_t bytes)
{
	for (uint32_t k = 0; k < st->nlisted; k++) {
		mp_stat_client_t *o = &st->clients[k];

		if (o->pid != e->pid)
			continue;
		if (e->transport != MP_TRANSPORT_SOCK)
			o->transport = e->transport;
		depth_add(&st->depth[k], depth);
		depth_add(&st->depth_bytes[k], bytes);
		return 1;
	}
	return 0;
}

static void clients_read(const struct mp_stats_page *s, mp_stat_t *st)
{
	uint32_t over = load_relaxed(&s->shm_over);
	struct mp_stats_depth_ctx x;
	struct mp_stats_where w;
	mp_stat_client_t e;

	mp_stats_depth_begin(&x, st->pid, st->uid);
	for (unsigned k = 0; k < MP_STATS_CLIENTS; k++) {
		int64_t depth, bytes;

		if (!entry_read(&s->clients[k], &e, &w))
			continue;
		depth = mp_stats_depth(&x, &w, &bytes);
		if (client_merge(st, &e, depth, bytes))
			continue;
		st->depth[st->nlisted] = depth;
		st->depth_bytes[st->nlisted] = bytes;
		st->clients[st->nlisted++] = e;
	}
	mp_stats_depth_end(&x);
	/* connections beyond the table cannot be merged: each counts */
	st->nclients = st->nlisted + over;
	for (uint32_t k = 0; k < st->nlisted; k++) {
		depth_add(&st->waiting, st->depth[k]);
		depth_add(&st->waiting_bytes, st->depth_bytes[k]);
	}
	if (over)	/* their queues are not known */
		st->waiting = st->waiting_bytes = -1;
}

static void counters_read(const struct mp_stats_page *s, mp_stat_t *st)
{
	uint64_t answered;

	st->calls = load_relaxed(&s->shm_count[MP_STATS_CALL]);	/* [S1] */
	st->oneways = load_relaxed(&s->shm_count[MP_STATS_ONEWAY]);
	st->pulses = load_relaxed(&s->shm_count[MP_STATS_PULSE]);
	st->bytes_in = load_relaxed(&s->shm_bytes_in);
	answered = load_relaxed(&s->shm_answered);
	st->bytes_out = load_relaxed(&s->shm_bytes_out);
	st->held = st->calls > answered ? st->calls - answered : 0;	/* torn: clamp */
	st->queued = load_relaxed(&s->shm_queued);
	st->kept_pages = load_relaxed(&s->shm_kept_pages);
	clients_read(s, st);
}

static int page_check(const struct mp_stats_page *s, mp_port_t port, uint64_t token, int32_t pid)
{
	if (load_acquire(&s->shm_magic) != MP_STATS_MAGIC)	/* [S3] pairs with header_init */
		return -EPROTO;
	if (load_relaxed(&s->shm_version) != MP_STATS_VERSION ||
	    load_relaxed(&s->shm_port) != port)
		return -EPROTO;
	if (load_relaxed(&s->shm_token) != token || load_relaxed(&s->shm_pid) != pid)
		return -ENOENT;	/* an earlier incarnation's */
	return 0;
}

/* Open port's file: ours to read only if it is a regular file of the
 * right size that nobody but the port file's owner may write (in a
 * shared root another user could leave one there). */
static int file_open(const char *root, mp_port_t port)
{
	char path[MP_ROOT_PATH_MAX];
	struct stat sb;
	uid_t owner;
	int fd, err;

	err = mp_portfile_path(path, sizeof(path), root, port, "");
	if (err)
		return err;
	if (lstat(path, &sb) != 0)
		return -errno;
	owner = sb.st_uid;
	err = mp_portfile_path(path, sizeof(path), root, port, ".stat");
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EPROTO : -errno;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != MP_STATS_SIZE ||
	    (sb.st_mode & 022) || sb.st_uid != owner) {
		close(fd);
		return -EPROTO;
	}
	return fd;
}

int mp_stats_read(const char *root, mp_port_t port, mp_stat_t *st)
{
	const struct mp_stats_page *s;
	uint64_t token = 0;
	int32_t pid = 0;
	int fd, err;

	err = mp_portfile_probe(root, port, &token, &pid);
	if (err <= 0)
		return err ? err : -ENOENT;
	fd = file_open(root, port);
	if (fd < 0)
		return fd;
	s = mmap(NULL, MP_STATS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return -errno;
	memset(st, 0, sizeof(*st));
	err = page_check(s, port, token, pid);
	if (!err) {
		st->port = port;
		st->pid = pid;
		st->uid = load_relaxed(&s->shm_uid);
		st->transport = load_relaxed(&s->shm_transport);
		if (st->transport > MP_TRANSPORT_HYBRID)
			err = -EPROTO;
		counters_read(s, st);
	}
	munmap((void *)s, MP_STATS_SIZE);
	return err;
}
