/* SPDX-License-Identifier: MIT */
/*
 * Pages: the region table, allocation and release (see pages.h).  Sending
 * is in pages_tx.c, receiving in pages_rx.c.
 */
#include "mem/pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/data.h"
#include "mem/memcap.h"
#include "mem/pages_priv.h"
#include "os/compiler.h"
#include "os/shm.h"

pthread_mutex_t mp_pg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pg_once = PTHREAD_ONCE_INIT;
static struct pg_region *pg_tab;	/* sorted by addr */
static size_t pg_n, pg_cap;
static uint64_t pg_next_id;
static _Atomic size_t pg_size;
_Atomic unsigned mp_pages_count;
_Atomic unsigned mp_pages_drops;

size_t mp_page_size(void)
{
	size_t s = load_relaxed(&pg_size);

	if (unlikely(!s)) {
		long v = sysconf(_SC_PAGESIZE);

		s = v > 0 ? (size_t)v : 4096;
		store_relaxed(&pg_size, s);
	}
	return s;
}

size_t mp_pg_round(size_t len)
{
	size_t pg = mp_page_size();

	return (len + pg - 1) & ~(pg - 1);
}

/* ------------------------------------------------------------ setup */

static void pg_prepare(void)
{
	pthread_mutex_lock(&mp_pg_lock);
}

static void pg_parent(void)
{
	pthread_mutex_unlock(&mp_pg_lock);
}

/* The child keeps the table: it inherited the memfds and the mappings,
 * but not the connections that kept shared pages mapped, the deliveries
 * in progress, nor the threads that were sharing pages: there they are
 * plain pages. */
static void pg_child(void)
{
	for (size_t k = 0; k < pg_n; k++) {
		pg_tab[k].kept = 0;
		pg_tab[k].uses = 0;
		pg_tab[k].busy = 0;
	}
	mp_pg_pool_child();
	pthread_mutex_unlock(&mp_pg_lock);
}

static void pg_init(void)
{
	pthread_atfork(pg_prepare, pg_parent, pg_child);
}

void mp_pg_setup(void)
{
	pthread_once(&pg_once, pg_init);
}

/* ------------------------------------------------------------ table */

static size_t tab_lower(uintptr_t addr)
{
	size_t lo = 0, hi = pg_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pg_tab[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pg_region *mp_pg_find(const void *p)
{
	size_t k = tab_lower((uintptr_t)p);

	return k < pg_n && pg_tab[k].addr == (uintptr_t)p ? &pg_tab[k] : NULL;
}

int mp_pg_insert(struct pg_region *r)
{
	size_t k;

	if (pg_n == pg_cap) {
		size_t ncap = pg_cap ? pg_cap * 2 : 16;
		struct pg_region *t = realloc(pg_tab, sizeof(*t) * ncap);

		if (!t)
			return -ENOMEM;
		pg_tab = t;
		pg_cap = ncap;
	}
	k = tab_lower(r->addr);
	memmove(&pg_tab[k + 1], &pg_tab[k], sizeof(*pg_tab) * (pg_n - k));
	r->id = ++pg_next_id;
	pg_tab[k] = *r;
	pg_n++;
	fetch_add_relaxed(&mp_pages_count, 1);
	return 0;
}

/* Forget a region whose mapping and memfd are already dealt with. */
static void tab_forget(struct pg_region *r)
{
	size_t k = (size_t)(r - pg_tab);

	memmove(&pg_tab[k], &pg_tab[k + 1], sizeof(*pg_tab) * (pg_n - k - 1));
	pg_n--;
	fetch_add_relaxed(&mp_pages_count, -1u);	/* unsigned: adding -1u takes one away */
	/* Every writer holds mp_pg_lock: a plain increment, published; pairs
	 * with the load_acquire in mp_kept_tx_stale(). */
	store_release(&mp_pages_drops, load_relaxed(&mp_pages_drops) + 1);
}

/* Close and forget a region whose mapping is already dealt with; the
 * memory it held for a connection is given back. */
static void tab_remove(struct pg_region *r)
{
	struct mp_memcap *cap = r->cap;
	size_t len = r->len;

	close(r->fd);
	tab_forget(r);
	mp_memcap_uncharge(cap, len);
	mp_memcap_unref(cap);
}

void mp_pg_drop(struct pg_region *r)
{
	munmap((void *)r->addr, r->len);
	tab_remove(r);
}

/* ------------------------------------------------------------ spare addresses */

/*
 * A delivered move leaves its address behind a PROT_NONE reservation
 * (pages_tx.c).  Rather than unmapping it, the table keeps the last few
 * for the next region of the same length: mp_pages_alloc() maps the new
 * memfd over one (MAP_FIXED), which costs what a new mapping costs, and a
 * move saves its munmap.  A reservation holds no memory (PROT_NONE,
 * MAP_NORESERVE, never written) and a touch of it still faults.
 */
#define PG_SPARE 4

static struct {
	uintptr_t addr;
	size_t len;	/* 0: empty */
} pg_spare[PG_SPARE];
static unsigned pg_spare_next;	/* the oldest, replaced when all are taken */

void mp_pg_retire(struct pg_region *r)
{
	unsigned k;

	for (k = 0; k < PG_SPARE && pg_spare[k].len; k++)
		;
	if (k == PG_SPARE) {
		k = pg_spare_next;
		pg_spare_next = (k + 1) % PG_SPARE;
		munmap((void *)pg_spare[k].addr, pg_spare[k].len);
	}
	pg_spare[k].addr = r->addr;
	pg_spare[k].len = r->len;
	mp_pg_moved(r->len);
	tab_remove(r);
}

bool mp_pg_spare_evict(uintptr_t *addr, size_t *len)
{
	unsigned k = pg_spare_next;

	for (unsigned j = 0; j < PG_SPARE; j++)
		if (!pg_spare[j].len)
			return false;
	pg_spare_next = (k + 1) % PG_SPARE;
	*addr = pg_spare[k].addr;
	*len = pg_spare[k].len;
	pg_spare[k].len = 0;
	return true;
}

/* A spare reservation of exactly len bytes, now the caller's; 0: none
 * (under mp_pg_lock). */
static uintptr_t spare_take(size_t len)
{
	for (unsigned k = 0; k < PG_SPARE; k++) {
		if (pg_spare[k].len == len) {
			pg_spare[k].len = 0;
			return pg_spare[k].addr;
		}
	}
	return 0;
}

/* The region that addr/len name exactly (len rounded up), or NULL. */
static struct pg_region *region_named(const void *addr, size_t len)
{
	struct pg_region *r;

	if (!addr || len == 0 || len > SIZE_MAX - (mp_page_size() - 1))
		return NULL;
	r = mp_pg_find(addr);
	return r && r->len == mp_pg_round(len) ? r : NULL;
}

/* ------------------------------------------------------------ memfds */

int mp_pg_memfd_new(size_t len)
{
	/* no F_SEAL_SEAL: a receiver of moved pages adds F_SEAL_WRITE */
	return mp_memfd_new("msgport-pages", len, 0, NULL);
}

int mp_pg_size_seal(struct pg_region *r)
{
	if (!r->unsized)
		return 0;
	if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0)
		return -ENOMEM;	/* our own memfd: not expected */
	r->unsized = 0;
	return 0;
}

int mp_pg_map_over(void *dst, size_t len, int prot, int flags, int fd)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);
	int err;

	if (p == MAP_FAILED)
		return -errno;
	if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
		err = -errno;
		goto err;
	}
	return 0;
err:
	munmap(p, len);
	return err;
}

/* ------------------------------------------------------------ API */

/* Fails with errno set to e. */
static void *alloc_refused(int e)
{
	errno = e;
	return NULL;
}

/* The memfd of a new region: sealed against resizing only when it first
 * leaves (pages_tx.c), in the same system call as a move's F_SEAL_WRITE. */
int mp_pg_memfd_fresh(size_t len)
{
	int fd = memfd_create("msgport-pages", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) != 0) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

/* Map a new region's memfd shared, over a spare reservation of that
 * length when there is one: the address or MAP_FAILED. */
static void *alloc_map(int fd, size_t len)
{
	uintptr_t spare;
	void *p;

	pthread_mutex_lock(&mp_pg_lock);
	spare = spare_take(len);
	pthread_mutex_unlock(&mp_pg_lock);
	if (spare) {
		p = mmap((void *)spare, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
		if (p != MAP_FAILED)
			return p;
		munmap((void *)spare, len);	/* a failed MAP_FIXED may leave anything there */
	}
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

/* Register a region made ready ahead of time (pages_pool.c) as *r, if
 * there is one of that length: whether r is now in the table. */
static bool alloc_ready(struct pg_region *r)
{
	bool done = false;

	pthread_mutex_lock(&mp_pg_lock);
	r->fd = mp_pg_ready_take(r->len, &r->addr);
	if (r->fd >= 0) {
		r->kind = PG_SHARED;
		done = mp_pg_insert(r) == 0;
		if (!done)
			mp_pg_ready_put(r->addr, r->len, r->fd);
	}
	pthread_mutex_unlock(&mp_pg_lock);
	return done;
}

void *mp_pages_alloc(size_t len)
{
	struct pg_region r = { .unsized = 1 };
	void *p;
	int fd, err;

	mp_pg_setup();
	if (len == 0)
		return alloc_refused(EINVAL);
	if (len > SIZE_MAX - (mp_page_size() - 1))
		return alloc_refused(EOVERFLOW);
	if (len > MP_DATA_MAX)
		return alloc_refused(EMSGSIZE);
	r.len = mp_pg_round(len);
	if (alloc_ready(&r))
		return (void *)r.addr;
	fd = mp_pg_memfd_fresh(r.len);
	if (fd < 0)
		return alloc_refused(-fd);
	p = alloc_map(fd, r.len);
	if (p == MAP_FAILED) {
		err = -ENOMEM;
		goto err_fd;
	}
	r.addr = (uintptr_t)p;
	r.fd = fd;
	r.kind = PG_SHARED;
	pthread_mutex_lock(&mp_pg_lock);
	err = mp_pg_insert(&r);
	pthread_mutex_unlock(&mp_pg_lock);
	if (err)
		goto err_map;
	return p;
err_map:
	munmap(p, r.len);
err_fd:
	close(fd);
	return alloc_refused(-err);
}

/* Set by the connection layer (conn/cconn.c): an upward call, so a hook. */
static void (*_Atomic pg_freed_hook)(void);

void mp_pages_on_shared_freed(void (*fn)(void))
{
	store_relaxed(&pg_freed_hook, fn);
}

int mp_pages_free(void *addr, size_t len)
{
	void (*hook)(void);
	struct pg_region *r;
	bool shared = false;
	int err = 0;

	pthread_mutex_lock(&mp_pg_lock);
	r = region_named(addr, len);
	if (!r)
		err = -EINVAL;
	else if (r->busy || r->moving)
		err = -EBUSY;
	else if (r->kept)
		r->autofree = 1;	/* the connection still maps them: back to the library */
	else {
		shared = r->shared_out;
		mp_pg_drop(r);
	}
	pthread_mutex_unlock(&mp_pg_lock);
	hook = load_relaxed(&pg_freed_hook);
	if (shared && hook)
		hook();	/* a server may keep them mapped */
	return err;
}

int mp_pages_keep(void *addr, size_t len)
{
	struct pg_region *r;
	int err = 0;

	pthread_mutex_lock(&mp_pg_lock);
	r = region_named(addr, len);
	if (r)
		r->autofree = 0;
	else
		err = -EINVAL;
	pthread_mutex_unlock(&mp_pg_lock);
	return err;
}
