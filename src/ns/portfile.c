/* SPDX-License-Identifier: MIT */
#include "ns/portfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os/compiler.h"
#include "os/shm.h"

/* Ports above this are refused: a scan never runs away. */
#define MP_PORT_LIMIT 65535u

int mp_portfile_path(char *buf, size_t len, const char *root, mp_port_t port, const char *suffix)
{
	int n = snprintf(buf, len, "%s/ports/%u%s", root, port, suffix);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/*
 * Two one-byte OFD locks: the claim lock (byte 0) reserves the number; the
 * ready lock (byte 1) is taken once the port listens and its page names
 * the new incarnation.  Liveness is the ready lock, so a successor that
 * inherited the number never makes its predecessor's entries look live
 * while it sets up.
 */
enum { LOCK_CLAIM = 0, LOCK_READY = 1 };

static int lock_try(int fd, off_t which)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = which, .l_len = 1 };

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == ENOLCK)
		return -ENOMEM;	/* no memory for the lock record */
	return (errno == EAGAIN || errno == EACCES) ? -EBUSY : -errno;
}

/* 1 when some open file description holds the ready lock, else 0.  Asked
 * as a read lock, so only a write lock answers: one taken on a descriptor
 * open for writing, which only the file's owner has; another user's read
 * lock on a file anyone may read makes nothing look live. */
static int lock_held(int fd)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = LOCK_READY, .l_len = 1 };

	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

static uint64_t token_new(void)
{
	uint64_t t = 0;

	/* getrandom() only fails before the pool is seeded; mix time and pid then. */
	if (getrandom(&t, sizeof(t), GRND_NONBLOCK) != (ssize_t)sizeof(t))
		t = ((uint64_t)getpid() << 40) ^ (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&t;
	return t ? t : 1;
}

static int page_init(struct mp_portfile *pf)
{
	struct mp_portfile_page *pg;

	if (ftruncate(pf->fd, MP_PORTFILE_SIZE) != 0)
		return -errno;
	pg = mmap(NULL, MP_PORTFILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, pf->fd, 0);
	if (pg == MAP_FAILED)
		return -errno;
	pf->token = token_new();
	/* [I3] the fields relaxed, the magic last with release: readers check
	 * the magic, so a half-built page is not live. */
	store_relaxed(&pg->shm_version, 1);
	store_relaxed(&pg->shm_token, pf->token);
	store_relaxed(&pg->shm_pid, getpid());
	store_relaxed(&pg->shm_waiting, 0);
	store_release(&pg->shm_magic, MP_PORTFILE_MAGIC);
	pf->page = pg;
	return 0;
}

/*
 * In a shared root, a port file or socket left by another user is not
 * reused: a file its maker can still write (or a socket it could
 * replace) would let it forge the page of our port.  Ours and closed to
 * others, else -EBUSY (the next number is tried).
 */
static int file_ours(int fd, const char *root, mp_port_t port)
{
	char path[MP_ROOT_PATH_MAX];
	struct stat st;
	int err;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EBUSY;
	err = mp_portfile_path(path, sizeof(path), root, port, ".sock");
	if (err)
		return err;
	if (lstat(path, &st) == 0 && st.st_uid != geteuid())
		return -EBUSY;
	return 0;
}

static int claim_one(const char *root, mp_port_t port, struct mp_portfile *pf)
{
	char path[MP_ROOT_PATH_MAX];
	int err, fd;

	err = mp_portfile_path(path, sizeof(path), root, port, "");
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EACCES || errno == EPERM ? -EBUSY : -errno;	/* another user's */
	err = file_ours(fd, root, port);
	if (!err)
		err = lock_try(fd, LOCK_CLAIM);
	if (err) {
		close(fd);
		return err;
	}
	pf->port = port;
	pf->fd = fd;
	err = page_init(pf);
	if (err)
		mp_portfile_release(pf);
	return err;
}

int mp_portfile_claim(const char *root, struct mp_portfile *pf)
{
	for (mp_port_t port = 1; port <= MP_PORT_LIMIT; port++) {
		int err = claim_one(root, port, pf);

		if (err != -EBUSY)
			return err;
	}
	return -ENOSPC;
}

int mp_portfile_ready(struct mp_portfile *pf)
{
	return lock_try(pf->fd, LOCK_READY);
}

void mp_portfile_release(struct mp_portfile *pf)
{
	if (pf->page)
		munmap(pf->page, MP_PORTFILE_SIZE);
	if (pf->fd >= 0)
		close(pf->fd);
	pf->page = NULL;
	pf->fd = -1;
}

/* A private copy of the page: [I3] pread() is no acquire; the ready lock
 * (or, for a client, the connection to a port that listens after
 * page_init()) orders it against the owner's stores. */
static int page_read(int fd, struct mp_portfile_page *pg)
{
	ssize_t n = pread(fd, pg, sizeof(*pg), 0);

	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*pg) || load_relaxed(&pg->shm_magic) != MP_PORTFILE_MAGIC)
		return -ENOENT;
	return 0;
}

int mp_portfile_probe(const char *root, mp_port_t port, uint64_t *token, int32_t *pid)
{
	struct mp_portfile_page pg;
	char path[MP_ROOT_PATH_MAX];
	int err, fd, live;

	err = mp_portfile_path(path, sizeof(path), root, port, "");
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	live = lock_held(fd);
	if (live == 1 && page_read(fd, &pg) == 0) {
		if (token)
			*token = load_relaxed(&pg.shm_token);
		if (pid)
			*pid = load_relaxed(&pg.shm_pid);
	} else if (live == 1) {
		live = 0;	/* a page that is not ours: not live */
	}
	close(fd);
	return live;
}

int mp_portfile_waiting(int fd)
{
	struct mp_portfile_page pg;
	uint32_t waiting;
	int err = page_read(fd, &pg);

	if (err)
		return err;
	waiting = load_relaxed(&pg.shm_waiting);	/* [W2] of our copy: a hint */
	return waiting > 0 ? (int)(waiting > 1000000 ? 1000000 : waiting) : 0;
}

int mp_portfile_transport(int fd)
{
	struct mp_portfile_page pg;
	int err = page_read(fd, &pg);

	return err ? err : (int)load_relaxed(&pg.shm_transport);
}

void mp_portfile_set_opts(struct mp_portfile *pf, const mp_port_opts_t *opts)
{
	/* always: the file may hold an earlier incarnation's page */
	store_relaxed(&pf->page->shm_transport, opts ? opts->transport : 0);
	store_relaxed(&pf->page->shm_flags,
		      opts && (opts->flags & MP_PORT_DEADLINES) ? MP_PORTFILE_F_DEADLINES : 0);
}

int mp_portfile_flags(int fd)
{
	struct mp_portfile_page pg;
	int err = page_read(fd, &pg);

	return err ? err : (int)(load_relaxed(&pg.shm_flags) & MP_PORTFILE_F_DEADLINES);
}
