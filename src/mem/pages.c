/* SPDX-License-Identifier: MIT */
/* Pages: the region table, allocation, moving and sharing (see pages.h). */
#include "mem/pages.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/compiler.h"
#include "mem/data.h"
#include "proto/wire.h"

#define PG_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
/* Replies shorter than this are copied rather than mapped in place. */
#define PG_SWAP_MIN MP_FRAME_INLINE_MAX

enum pg_kind {
	PG_SHARED,	/* MAP_SHARED read-write */
	PG_PRIVATE,	/* write-sealed memfd, MAP_PRIVATE read-write */
};

struct pg_region {
	uintptr_t addr;
	size_t len;		/* whole pages */
	int fd;
	uint8_t kind;		/* enum pg_kind */
	uint8_t moving;		/* a move is in flight: addr holds the reservation */
	uint8_t autofree;	/* received, left to the library */
	uint8_t doomed;		/* released while in flight: drop when the send ends */
	uint8_t kept;		/* received shared, kept mapped by a connection */
	uint8_t shared_out;	/* sent with MP_SHARE: a server may keep it mapped */
	uint32_t busy;		/* shares (and lends) in flight */
	uint32_t uses;		/* kept: deliveries not yet released */
	uint64_t id;
};

static pthread_mutex_t pg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pg_once = PTHREAD_ONCE_INIT;
static struct pg_region *pg_tab;	/* sorted by addr */
static size_t pg_n, pg_cap;
static uint64_t pg_next_id;
static _Atomic size_t pg_size;
_Atomic unsigned mp_pages_count;
_Atomic unsigned mp_pages_drops;

/* This thread's last one-way pages; the key's destructor releases them. */
static pthread_key_t hold_key;
static __thread void *hold_addr;
static __thread uint64_t hold_id;

size_t mp_page_size(void)
{
	size_t s = atomic_load_explicit(&pg_size, memory_order_relaxed);

	if (unlikely(!s)) {
		long v = sysconf(_SC_PAGESIZE);

		s = v > 0 ? (size_t)v : 4096;
		atomic_store_explicit(&pg_size, s, memory_order_relaxed);
	}
	return s;
}

static size_t round_pages(size_t len)
{
	size_t pg = mp_page_size();

	return (len + pg - 1) & ~(pg - 1);
}

/* ------------------------------------------------------------ setup */

static void pg_prepare(void)
{
	pthread_mutex_lock(&pg_lock);
}

static void pg_parent(void)
{
	pthread_mutex_unlock(&pg_lock);
}

static void hold_destroy(void *unused)
{
	(void)unused;
	mp_pages_oneway_hold(NULL, 0);
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
	pthread_mutex_unlock(&pg_lock);
}

static void pg_init(void)
{
	pthread_atfork(pg_prepare, pg_parent, pg_child);
	pthread_key_create(&hold_key, hold_destroy);
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

static struct pg_region *tab_find(const void *p)
{
	size_t k = tab_lower((uintptr_t)p);

	return k < pg_n && pg_tab[k].addr == (uintptr_t)p ? &pg_tab[k] : NULL;
}

static int tab_insert(struct pg_region *r)
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
	atomic_fetch_add_explicit(&mp_pages_count, 1, memory_order_relaxed);
	return 0;
}

/* Unmap, close and forget a region (under pg_lock). */
static void region_drop(struct pg_region *r)
{
	size_t k = (size_t)(r - pg_tab);

	munmap((void *)r->addr, r->len);
	close(r->fd);
	memmove(&pg_tab[k], &pg_tab[k + 1], sizeof(*pg_tab) * (pg_n - k - 1));
	pg_n--;
	atomic_fetch_sub_explicit(&mp_pages_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&mp_pages_drops, 1, memory_order_release);
}

/* ------------------------------------------------------------ memfds */

static int memfd_new(size_t len)
{
	/* no F_SEAL_SEAL: a receiver of moved pages adds F_SEAL_WRITE */
	return mp_memfd_new("msgport-pages", len, 0, NULL);
}

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

/* Map fd at a new address, then move the mapping over dst in one step:
 * dst keeps its old mapping if anything fails. */
static int map_over(void *dst, size_t len, int prot, int flags, int fd)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
		int err = -errno;

		munmap(p, len);
		return err;
	}
	return 0;
}

/* ------------------------------------------------------------ API */

void *mp_pages_alloc(size_t len)
{
	struct pg_region r = { 0 };
	void *p;
	int fd, err;

	pthread_once(&pg_once, pg_init);
	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (len > SIZE_MAX - (mp_page_size() - 1)) {
		errno = EOVERFLOW;
		return NULL;
	}
	if (len > MP_DATA_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	r.len = round_pages(len);
	fd = memfd_new(r.len);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	p = mmap(NULL, r.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	r.addr = (uintptr_t)p;
	r.fd = fd;
	r.kind = PG_SHARED;
	pthread_mutex_lock(&pg_lock);
	err = tab_insert(&r);
	pthread_mutex_unlock(&pg_lock);
	if (err) {
		munmap(p, r.len);
		close(fd);
		errno = -err;
		return NULL;
	}
	return p;
}

/* The region that addr/len name exactly (len rounded up), or NULL. */
static struct pg_region *region_named(const void *addr, size_t len)
{
	struct pg_region *r;

	if (!addr || len == 0 || len > SIZE_MAX - (mp_page_size() - 1))
		return NULL;
	r = tab_find(addr);
	return r && r->len == round_pages(len) ? r : NULL;
}

/* Set by the connection layer (conn/cconn.c): an upward call, so a hook. */
static void (*_Atomic pg_freed_hook)(void);

void mp_pages_on_shared_freed(void (*fn)(void))
{
	atomic_store_explicit(&pg_freed_hook, fn, memory_order_relaxed);
}

int mp_pages_free(void *addr, size_t len)
{
	void (*hook)(void);
	struct pg_region *r;
	bool shared = false;
	int err = 0;

	pthread_mutex_lock(&pg_lock);
	r = region_named(addr, len);
	if (!r)
		err = -EINVAL;
	else if (r->busy || r->moving)
		err = -EBUSY;
	else if (r->kept)
		r->autofree = 1;	/* the connection still maps them: back to the library */
	else {
		shared = r->shared_out;
		region_drop(r);
	}
	pthread_mutex_unlock(&pg_lock);
	hook = atomic_load_explicit(&pg_freed_hook, memory_order_relaxed);
	if (shared && hook)
		hook();	/* a server may keep them mapped */
	return err;
}

int mp_pages_keep(void *addr, size_t len)
{
	struct pg_region *r;
	int err = 0;

	pthread_mutex_lock(&pg_lock);
	r = region_named(addr, len);
	if (r)
		r->autofree = 0;
	else
		err = -EINVAL;
	pthread_mutex_unlock(&pg_lock);
	return err;
}

/* ------------------------------------------------------------ sending */

/* Whether this process wrote a PRIVATE region (it has private copies of
 * some of its pages).  Unknown counts as written. */
static bool private_dirty(const struct pg_region *r)
{
	size_t pg = mp_page_size(), pages = r->len / pg, k = 0;
	uint64_t e[512];
	bool dirty = false;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true;
	while (k < pages && !dirty) {
		size_t n = pages - k < 512 ? pages - k : 512;
		off_t off = (off_t)((r->addr / pg + k) * sizeof(uint64_t));

		if (pread(fd, e, n * sizeof(uint64_t), off) != (ssize_t)(n * sizeof(uint64_t))) {
			dirty = true;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			bool present = e[j] >> 63 & 1, swapped = e[j] >> 62 & 1, file = e[j] >> 61 & 1;

			if (swapped || (present && !file))
				dirty = true;
		}
		k += n;
	}
	close(fd);
	return dirty;
}

/* Turn a PRIVATE region into a SHARED one with the same contents at the
 * same address (one copy).  Under pg_lock. */
static int region_unseal(struct pg_region *r)
{
	int fd = memfd_new(r->len), err;
	void *tmp;

	if (fd < 0)
		return fd;
	tmp = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (tmp == MAP_FAILED) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(tmp, (void *)r->addr, r->len);
	munmap(tmp, r->len);
	err = map_over((void *)r->addr, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	if (err) {
		close(fd);
		return err;
	}
	close(r->fd);
	r->fd = fd;
	r->kind = PG_SHARED;
	return 0;
}

/* Take the sender's mapping away, keeping the address reserved. */
static int region_hide(struct pg_region *r)
{
	void *p = mmap((void *)r->addr, r->len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? -ENOMEM : 0;
}

/*
 * Seal a hidden region against writes before it leaves, so that the
 * receiver finds it frozen.  Here rather than there: sealing waits until
 * no page has references beyond its mappings, and freshly written pages
 * are still held by this CPU's LRU batch; from another CPU that wait
 * means draining every CPU's batch (measured: hundreds of microseconds
 * across cores).  Refused (someone still maps it writable: shared
 * earlier) the receiver copies it, as before.
 */
static void region_freeze(struct pg_region *r)
{
	if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_WRITE) == 0)
		r->kind = PG_PRIVATE;	/* if it comes back, it is sealed */
}

/* Put a hidden region's mapping back; false when that is impossible. */
static bool region_show(struct pg_region *r)
{
	int flags = (r->kind == PG_SHARED ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
	void *p = mmap((void *)r->addr, r->len, PROT_READ | PROT_WRITE, flags, r->fd, 0);

	return p != MAP_FAILED;
}

int mp_pages_tx_begin(struct mp_pages_tx *tx, const void *data, size_t size, unsigned mode)
{
	bool share = mode == MP_SHARE;
	struct pg_region *r;
	int err = 0;

	tx->fd = -1;
	if (!size || !mp_pages_maybe(data))
		return 0;
	pthread_mutex_lock(&pg_lock);
	r = tab_find(data);
	/* Not pages, or pages a connection keeps mapped (they cannot leave
	 * this address): copied like any memory. */
	if (!r || size > r->len || (r->kept && !share))
		goto out;
	if (r->moving || (!share && r->busy)) {
		err = -EBUSY;
		goto out;
	}
	/* Sealed pages cannot be shared writable, nor moved with our writes. */
	if (r->kind == PG_PRIVATE && (share || private_dirty(r)))
		err = region_unseal(r);
	if (!err && !share) {
		err = region_hide(r);
		if (!err)
			region_freeze(r);
	}
	if (err)
		goto out;
	if (share) {
		r->busy++;
		r->shared_out = 1;
	} else {
		r->moving = 1;
	}
	*tx = (struct mp_pages_tx){ .fd = r->fd, .share = share, .addr = (void *)r->addr,
				    .len = r->len, .id = r->id };
	err = 1;
out:
	pthread_mutex_unlock(&pg_lock);
	return err;
}

void mp_pages_tx_end(struct mp_pages_tx *tx, bool delivered)
{
	struct pg_region *r;

	if (tx->fd < 0)
		return;
	pthread_mutex_lock(&pg_lock);
	r = tab_find(tx->addr);
	if (r && r->id == tx->id) {
		if (tx->share) {
			if (--r->busy == 0 && r->doomed)
				region_drop(r);
		} else {
			r->moving = 0;
			/* Not sent: the peer never saw the memfd, put it back. */
			if (delivered || r->doomed || !region_show(r))
				region_drop(r);
		}
	}
	pthread_mutex_unlock(&pg_lock);
	tx->fd = -1;
}

/* ------------------------------------------------------------ receiving */

/* Moved pages: frozen and mapped privately, or, when they cannot be
 * frozen (still writable somewhere), copied into pages of our own. */
static int map_moved(int *fd, int seals, size_t size, size_t len, uint8_t *kind, void **out)
{
	void *p;
	int nfd, err;

	if (memfd_freeze(*fd, seals) == 0) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, *fd, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		*kind = PG_PRIVATE;
		*out = p;
		return 0;
	}
	nfd = memfd_new(len);
	if (nfd < 0)
		return nfd;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, nfd, 0);
	if (p == MAP_FAILED) {
		close(nfd);
		return -ENOMEM;
	}
	err = mp_data_read(*fd, p, size);
	if (err) {
		munmap(p, len);
		close(nfd);
		return err;
	}
	close(*fd);
	*fd = nfd;
	*kind = PG_SHARED;
	*out = p;
	return 0;
}

/* Kept pages are mapped whole: later messages may send more of them. */
static int kept_len(int fd, size_t *len)
{
	size_t flen;

	if (mp_memfd_peer(fd, PG_SEALS, *len, round_pages(MP_DATA_MAX), &flen) < 0)
		return -EPROTO;
	*len = round_pages(flen);
	return 0;
}

int mp_pages_rx_map(int fd, size_t size, bool share, unsigned rxflags, void **addr, uint64_t *id)
{
	struct pg_region r = { 0 };
	void *p = NULL;
	int seals, err;

	pthread_once(&pg_once, pg_init);
	r.len = round_pages(size);
	seals = memfd_fits(fd, r.len);
	err = seals < 0 ? seals : 0;
	if (!err && share && (rxflags & MP_PAGES_RX_KEPT))
		err = kept_len(fd, &r.len);
	if (!err && share) {
		p = mmap(NULL, r.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		err = p == MAP_FAILED ? (errno == ENOMEM ? -ENOMEM : -EPROTO) : 0;
		r.kind = PG_SHARED;
	} else if (!err) {
		err = map_moved(&fd, seals, size, r.len, &r.kind, &p);
	}
	if (err) {
		close(fd);
		return err;
	}
	r.addr = (uintptr_t)p;
	r.fd = fd;
	r.autofree = (rxflags & MP_PAGES_RX_AUTO) != 0;
	if (share && (rxflags & MP_PAGES_RX_KEPT)) {
		r.kept = 1;
		r.uses = 1;
	}
	pthread_mutex_lock(&pg_lock);
	err = tab_insert(&r);
	if (!err)
		*id = pg_tab[tab_lower(r.addr)].id;
	pthread_mutex_unlock(&pg_lock);
	if (err) {
		munmap(p, r.len);
		close(fd);
		return err;
	}
	*addr = p;
	return 0;
}

/* The region addr/id, or NULL when it is gone (under pg_lock). */
static struct pg_region *region_of(const void *addr, uint64_t id)
{
	struct pg_region *r = tab_find(addr);

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
		region_drop(r);
}

void mp_pages_auto_release(void *addr, uint64_t id)
{
	struct pg_region *r;

	pthread_mutex_lock(&pg_lock);
	r = region_of(addr, id);
	if (r) {
		if (r->uses)
			r->uses--;
		region_release_unused(r);
	}
	pthread_mutex_unlock(&pg_lock);
}

int mp_pages_kept_use(void *addr, uint64_t id, size_t size)
{
	struct pg_region *r;
	int err = -EPROTO;

	pthread_mutex_lock(&pg_lock);
	r = region_of(addr, id);
	if (r && r->kept && size <= r->len) {
		r->uses++;
		err = 0;
	}
	pthread_mutex_unlock(&pg_lock);
	return err;
}

void mp_pages_kept_forget(void *addr, uint64_t id)
{
	struct pg_region *r;

	pthread_mutex_lock(&pg_lock);
	r = region_of(addr, id);
	if (r && r->kept) {
		r->kept = 0;
		region_release_unused(r);
	}
	pthread_mutex_unlock(&pg_lock);
}

bool mp_pages_alive(const void *addr, uint64_t id)
{
	struct pg_region *r;
	bool alive;

	pthread_mutex_lock(&pg_lock);
	r = region_of(addr, id);
	alive = r && !r->moving;
	pthread_mutex_unlock(&pg_lock);
	return alive;
}

void mp_pages_oneway_hold(void *addr, uint64_t id)
{
	if (hold_addr) {
		mp_pages_auto_release(hold_addr, hold_id);
		hold_addr = NULL;
	}
	if (!addr)
		return;
	pthread_once(&pg_once, pg_init);
	hold_addr = addr;
	hold_id = id;
	pthread_setspecific(hold_key, &hold_addr);	/* any non-NULL value: the destructor runs */
}

/* Map a reply's pages in place of the region at dst: 0 done, else not. */
static int swap_in(int fd, int seals, size_t size, bool share, void *dst)
{
	struct pg_region *r;
	int err = -EAGAIN;

	pthread_mutex_lock(&pg_lock);
	r = tab_find(dst);
	if (r && !r->busy && !r->moving && size <= r->len && memfd_fits(fd, r->len) >= 0) {
		if (share)
			err = map_over(dst, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
		else if ((err = memfd_freeze(fd, seals)) == 0)
			err = map_over(dst, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
		if (!err) {
			close(r->fd);
			r->fd = fd;
			r->kind = share ? PG_SHARED : PG_PRIVATE;
		}
	}
	pthread_mutex_unlock(&pg_lock);
	return err;
}

int mp_pages_rx_into(int fd, size_t size, bool share, void *dst, size_t cap)
{
	int seals = memfd_fits(fd, round_pages(size)), err;

	if (seals < 0 || size > cap) {
		close(fd);
		return -EPROTO;
	}
	if (size > PG_SWAP_MIN && mp_pages_maybe(dst) && swap_in(fd, seals, size, share, dst) == 0)
		return 0;	/* fd is the region's now */
	err = mp_data_read(fd, dst, size);
	close(fd);
	return err;
}

int mp_pages_lend_map(int fd, size_t cap, void **addr)
{
	size_t len = round_pages(cap);
	void *p = MAP_FAILED;

	if (memfd_fits(fd, len) >= 0)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -EPROTO;
	*addr = p;
	return 0;
}

void mp_pages_lend_unmap(void *addr, size_t cap)
{
	if (addr && cap)
		munmap(addr, round_pages(cap));
}
