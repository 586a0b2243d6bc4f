/* SPDX-License-Identifier: MIT */
/*
 * Pages: a region made ready while the caller waits for an answer
 * (mp_pages_idle(), see pages.h).
 *
 * A moved memfd is sealed for good, so the next region of a program that
 * moves pages needs a new one: memfd_create, ftruncate and mmap, about
 * 8 us on the 2-core VM, in mp_pages_alloc().  After a move,
 * mp_pages_idle() makes one region of the moved length ready while the
 * thread would only wait, and the next mp_pages_alloc() of that length
 * takes it without a system call.  A ready region is a fresh memfd, not
 * sealed, with no page in it, mapped shared at a new address: moved
 * addresses stay reservations that fault.  When every spare reservation
 * (pages.c) is taken, the same call unmaps the oldest, which the next
 * delivery would otherwise do.
 *
 * The tables are under mp_pg_lock; the system calls run outside it.
 * Measured (pages-bench -c zc-move,revoke -s 1M -m 1M, docs/long-data.md):
 * 30 us -> 25 us a move.  Closing the delivered memfd there too was slower:
 * the close then frees the pages in the waiting client, not the server.
 */
#include "mem/pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include "mem/pages_priv.h"

/* The ready region; len 0: none. */
static struct {
	uintptr_t addr;
	size_t len;
	int fd;
} pp_ready;
static size_t pp_want;		/* length of the last region moved away */
_Atomic unsigned mp_pages_work;	/* mp_pages_idle() has something to do */

int mp_pg_ready_take(size_t len, uintptr_t *addr)
{
	if (!pp_ready.len || pp_ready.len != len)
		return -1;
	pp_ready.len = 0;
	*addr = pp_ready.addr;
	store_relaxed(&mp_pages_work, 1);	/* make the next one */
	return pp_ready.fd;
}

/* Take the ready region out into addr, len, fd (under mp_pg_lock): whether
 * there was one. */
static bool ready_clear(uintptr_t *addr, size_t *len, int *fd)
{
	if (!pp_ready.len)
		return false;
	*addr = pp_ready.addr;
	*len = pp_ready.len;
	*fd = pp_ready.fd;
	pp_ready.len = 0;
	return true;
}

static void region_close(uintptr_t addr, size_t len, int fd)
{
	munmap((void *)addr, len);
	close(fd);
}

void mp_pg_ready_put(uintptr_t addr, size_t len, int fd)
{
	uintptr_t oaddr;
	size_t olen;
	int ofd;

	if (ready_clear(&oaddr, &olen, &ofd))
		region_close(oaddr, olen, ofd);	/* only when threads raced: rare */
	pp_ready.addr = addr;
	pp_ready.len = len;
	pp_ready.fd = fd;
}

void mp_pg_moved(size_t len)
{
	pp_want = len;
	store_relaxed(&mp_pages_work, 1);
}

/* A fresh region of len bytes made ready; nothing when the system
 * refuses (mp_pages_alloc() will then say why). */
static void ready_make(size_t len)
{
	int fd = mp_pg_memfd_fresh(len);
	void *p;

	if (fd < 0)
		return;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&mp_pg_lock);
	mp_pg_ready_put((uintptr_t)p, len, fd);
	pthread_mutex_unlock(&mp_pg_lock);
}

void mp_pages_idle_work(void)
{
	uintptr_t spare, oaddr = 0;
	size_t len, spare_len, olen = 0;
	bool evict, stale = false;
	int ofd = -1;

	pthread_mutex_lock(&mp_pg_lock);
	store_relaxed(&mp_pages_work, 0);
	len = pp_ready.len == pp_want ? 0 : pp_want;
	if (len)	/* one of another length: the program moves others now */
		stale = ready_clear(&oaddr, &olen, &ofd);
	evict = mp_pg_spare_evict(&spare, &spare_len);
	pthread_mutex_unlock(&mp_pg_lock);
	if (stale)
		region_close(oaddr, olen, ofd);
	if (evict)
		munmap((void *)spare, spare_len);
	if (len)
		ready_make(len);
}

/* Forget what was moved and drop the ready region (under mp_pg_lock). */
static void pool_empty(void)
{
	uintptr_t addr;
	size_t len;
	int fd;

	if (ready_clear(&addr, &len, &fd))
		region_close(addr, len, fd);
	pp_want = 0;
	store_relaxed(&mp_pages_work, 0);
}

void mp_pages_trim(void)
{
	pthread_mutex_lock(&mp_pg_lock);
	pool_empty();
	pthread_mutex_unlock(&mp_pg_lock);
}

void mp_pg_pool_child(void)
{
	/* A ready region must not be handed out in both processes: the child
	 * lets go of its copies (the lock is held by the fork handler). */
	pool_empty();
}
