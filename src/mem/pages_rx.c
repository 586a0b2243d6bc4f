/* SPDX-License-Identifier: MIT */
/*
 * Pages: receiving a peer's pages (mapped shared, or sealed and mapped
 * privately, or copied), the pages a connection keeps mapped, and the
 * release of received pages left to the library (see pages.h, kept.h).
 */
#include "mem/pages.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/data.h"
#include "mem/memcap.h"
#include "mem/pages_priv.h"
#include "proto/wire.h"

#define PG_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
/* Replies shorter than this are copied rather than mapped in place. */
#define PG_SWAP_MIN MP_FRAME_INLINE_MAX

/* This thread's last one-way pages; the key's destructor releases them. */
static pthread_once_t hold_once = PTHREAD_ONCE_INIT;
static pthread_key_t hold_key;
static __thread void *hold_addr;
static __thread uint64_t hold_id;

/* A peer's memfd: sealed against size changes, at least len bytes.
 * Returns its seals, or -EPROTO. */
static int memfd_fits(int fd, size_t len)
{
	return mp_memfd_peer(fd, PG_SEALS, len, SIZE_MAX, NULL);
}

/* Seal fd against every write: 0 when no one can change it any more. */
static int memfd_freeze(int fd, int seals)
{
	if (seals & F_SEAL_WRITE)
		return 0;
	return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 ? 0 : -errno;
}

/* ------------------------------------------------------------ mapping */

/* Moved pages that cannot be frozen (still writable somewhere): copied
 * into pages of our own, whose memfd replaces *fd. */
static int copy_moved(int *fd, size_t size, size_t len, uint8_t *kind, void **out)
{
	int nfd = mp_pg_memfd_new(len), err;
	void *p;

	if (nfd < 0)
		return nfd;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, nfd, 0);
	if (p == MAP_FAILED) {
		err = -ENOMEM;
		goto err_fd;
	}
	err = mp_data_read(*fd, p, size);
	if (err)
		goto err_map;
	close(*fd);
	*fd = nfd;
	*kind = PG_SHARED;
	*out = p;
	return 0;
err_map:
	munmap(p, len);
err_fd:
	close(nfd);
	return err;
}

/* Moved pages: frozen and mapped privately, or copied. */
static int map_moved(int *fd, int seals, size_t size, size_t len, uint8_t *kind, void **out)
{
	void *p;

	if (memfd_freeze(*fd, seals) != 0)
		return copy_moved(fd, size, len, kind, out);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, *fd, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	*kind = PG_PRIVATE;
	*out = p;
	return 0;
}

/* Shared pages: mapped as they are.  0, -ENOMEM or -EPROTO. */
static int map_shared(int fd, size_t len, uint8_t *kind, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	*kind = PG_SHARED;
	if (p == MAP_FAILED)
		return errno == ENOMEM ? -ENOMEM : -EPROTO;
	*out = p;
	return 0;
}

/* Kept pages are mapped whole: later messages may send more of them. */
static int kept_len(int fd, size_t *len)
{
	size_t flen;

	if (mp_memfd_peer(fd, PG_SEALS, *len, mp_pg_round(MP_DATA_MAX), &flen) < 0)
		return -EPROTO;
	*len = mp_pg_round(flen);
	return 0;
}

int mp_pages_rx_map(int fd, size_t size, bool share, unsigned rxflags, struct mp_memcap *cap,
		    void **addr, uint64_t *id)
{
	bool kept = share && (rxflags & MP_PAGES_RX_KEPT);
	struct pg_region r = { 0 };
	void *p = NULL;
	int seals, err;

	mp_pg_setup();
	r.len = mp_pg_round(size);
	seals = memfd_fits(fd, r.len);
	if (seals < 0) {
		err = seals;
		goto err_fd;
	}
	err = kept ? kept_len(fd, &r.len) : 0;
	if (!err)
		err = mp_memcap_charge(cap, r.len);	/* before any memory is ours */
	if (err)
		goto err_fd;
	if (share)
		err = map_shared(fd, r.len, &r.kind, &p);
	else
		err = map_moved(&fd, seals, size, r.len, &r.kind, &p);
	if (err)
		goto err_cap;
	r.cap = mp_memcap_ref(cap);	/* the region's own: it may outlive the connection */
	r.addr = (uintptr_t)p;
	r.fd = fd;
	r.autofree = (rxflags & MP_PAGES_RX_AUTO) != 0;
	r.kept = kept;
	r.uses = kept;
	pthread_mutex_lock(&mp_pg_lock);
	err = mp_pg_insert(&r);
	pthread_mutex_unlock(&mp_pg_lock);
	if (err)
		goto err_map;
	*id = r.id;
	*addr = p;
	return 0;
err_map:
	mp_memcap_unref(r.cap);
	munmap(p, r.len);
err_cap:
	mp_memcap_uncharge(cap, r.len);
err_fd:
	close(fd);
	return err;
}

/* ------------------------------------------------------------ release */

/* The region addr/id, or NULL when it is gone (under mp_pg_lock). */
static struct pg_region *region_of(const void *addr, uint64_t id)
{
	struct pg_region *r = mp_pg_find(addr);

	return r && r->id == id ? r : NULL;
}

/* Received pages left to the library go once no delivery uses them and no
 * connection keeps them (after the send in flight, if any). */
static void region_release_unused(struct pg_region *r)
{
	if (!r->autofree || r->kept || r->uses)
		return;
	if (r->busy || r->moving)
		r->doomed = 1;
	else
		mp_pg_drop(r);
}

void mp_pages_auto_release(void *addr, uint64_t id)
{
	struct pg_region *r;

	pthread_mutex_lock(&mp_pg_lock);
	r = region_of(addr, id);
	if (r) {
		if (r->uses)
			r->uses--;
		region_release_unused(r);
	}
	pthread_mutex_unlock(&mp_pg_lock);
}

int mp_pages_kept_use(void *addr, uint64_t id, size_t size)
{
	struct pg_region *r;
	int err = -EPROTO;

	pthread_mutex_lock(&mp_pg_lock);
	r = region_of(addr, id);
	if (r && r->kept && size <= r->len) {
		r->uses++;
		err = 0;
	}
	pthread_mutex_unlock(&mp_pg_lock);
	return err;
}

void mp_pages_kept_forget(void *addr, uint64_t id)
{
	struct pg_region *r;

	pthread_mutex_lock(&mp_pg_lock);
	r = region_of(addr, id);
	if (r && r->kept) {
		r->kept = 0;
		region_release_unused(r);
	}
	pthread_mutex_unlock(&mp_pg_lock);
}

bool mp_pages_alive(const void *addr, uint64_t id)
{
	struct pg_region *r;
	bool alive;

	pthread_mutex_lock(&mp_pg_lock);
	r = region_of(addr, id);
	alive = r && !r->moving;
	pthread_mutex_unlock(&mp_pg_lock);
	return alive;
}

static void hold_destroy(void *unused)
{
	(void)unused;
	mp_pages_oneway_hold(NULL, 0);
}

static void hold_init(void)
{
	pthread_key_create(&hold_key, hold_destroy);
}

void mp_pages_oneway_hold(void *addr, uint64_t id)
{
	if (hold_addr) {
		mp_pages_auto_release(hold_addr, hold_id);
		hold_addr = NULL;
	}
	if (!addr)
		return;
	mp_pg_setup();
	pthread_once(&hold_once, hold_init);
	hold_addr = addr;
	hold_id = id;
	pthread_setspecific(hold_key, &hold_addr);	/* any non-NULL value: the destructor runs */
}

/* ------------------------------------------------------------ replies, lent pages */

/* Map a reply's pages in place of the region at dst: 0 done, else not. */
static int swap_in(int fd, int seals, size_t size, bool share, void *dst)
{
	struct pg_region *r;
	int err = -EAGAIN;

	pthread_mutex_lock(&mp_pg_lock);
	r = mp_pg_find(dst);
	if (!r || r->busy || r->moving || size > r->len || memfd_fits(fd, r->len) < 0)
		goto out;
	err = share ? 0 : memfd_freeze(fd, seals);
	if (err)
		goto out;
	err = mp_pg_map_over(dst, r->len, PROT_READ | PROT_WRITE, share ? MAP_SHARED : MAP_PRIVATE, fd);
	if (err)
		goto out;
	close(r->fd);
	r->fd = fd;
	r->kind = share ? PG_SHARED : PG_PRIVATE;
	r->unsized = 0;	/* checked by memfd_fits() */
out:
	pthread_mutex_unlock(&mp_pg_lock);
	return err;
}

int mp_pages_rx_into(int fd, size_t size, bool share, void *dst, size_t cap)
{
	int seals = memfd_fits(fd, mp_pg_round(size)), err;

	if (seals < 0 || size > cap) {
		err = -EPROTO;
		goto out;
	}
	if (size > PG_SWAP_MIN && mp_pages_maybe(dst) && swap_in(fd, seals, size, share, dst) == 0)
		return 0;	/* fd is the region's now */
	err = mp_data_read(fd, dst, size);
out:
	close(fd);
	return err;
}

int mp_pages_lend_map(int fd, size_t cap, void **addr)
{
	size_t len = mp_pg_round(cap);
	void *p = MAP_FAILED;
	int err = -EPROTO;

	if (memfd_fits(fd, len) >= 0) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		err = errno == ENOMEM ? -ENOMEM : -EPROTO;	/* ours, or its pages' fault */
	}
	close(fd);
	if (p == MAP_FAILED)
		return err;
	*addr = p;
	return 0;
}

void mp_pages_lend_unmap(void *addr, size_t cap)
{
	if (addr && cap)
		munmap(addr, mp_pg_round(cap));
}
