/* SPDX-License-Identifier: MIT */
/*
 * Pages: sending a region, shared or moved (see pages.h).  A moved region
 * is hidden behind a reservation and sealed before its memfd leaves; a
 * PRIVATE region is first made SHARED again when it cannot go as it is.
 */
#include "mem/pages.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/pages_priv.h"

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
 * same address (one copy).  Under mp_pg_lock. */
static int region_unseal(struct pg_region *r)
{
	int fd = mp_pg_memfd_new(r->len), err;
	void *tmp;

	if (fd < 0)
		return fd;
	tmp = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (tmp == MAP_FAILED) {
		err = -ENOMEM;
		goto err;
	}
	memcpy(tmp, (void *)r->addr, r->len);
	munmap(tmp, r->len);
	err = mp_pg_map_over((void *)r->addr, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	if (err)
		goto err;
	close(r->fd);
	r->fd = fd;
	r->kind = PG_SHARED;
	r->unsized = 0;
	return 0;
err:
	close(fd);
	return err;
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
 * across cores).  A fresh region is sealed against resizing in the same
 * call.  Refused (someone still maps it writable: shared earlier, or a
 * child forked since) the receiver copies it, as before; then only the
 * resizing seals go on.  0, or -ENOMEM when those cannot.
 */
static int region_freeze(struct pg_region *r)
{
	int size = r->unsized ? F_SEAL_SHRINK | F_SEAL_GROW : 0;

	if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_WRITE | size) == 0) {
		r->kind = PG_PRIVATE;	/* if it comes back, it is sealed */
		r->unsized = 0;
		return 0;
	}
	return mp_pg_size_seal(r);
}

/* Put a hidden region's mapping back; false when that is impossible. */
static bool region_show(struct pg_region *r)
{
	int flags = (r->kind == PG_SHARED ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
	void *p = mmap((void *)r->addr, r->len, PROT_READ | PROT_WRITE, flags, r->fd, 0);

	return p != MAP_FAILED;
}

/* Make region r ready to leave: 0, or -ENOMEM/-EMFILE (under mp_pg_lock). */
static int region_send(struct pg_region *r, bool share)
{
	int err;

	/* Sealed pages cannot be shared writable, nor moved with our writes. */
	if (r->kind == PG_PRIVATE && (share || private_dirty(r))) {
		err = region_unseal(r);
		if (err)
			return err;
	}
	if (share) {
		err = mp_pg_size_seal(r);
		if (err)
			return err;
		r->busy++;
		r->shared_out = 1;
		return 0;
	}
	err = region_hide(r);
	if (err)
		return err;
	err = region_freeze(r);
	if (err)
		goto err;
	r->moving = 1;
	return 0;
err:
	if (!region_show(r))
		mp_pg_drop(r);	/* cannot happen: the reservation is ours */
	return err;
}

/* mp_pages_tx_begin() past its early exit: some region may start at data. */
int mp_pages_tx_lookup(struct mp_pages_tx *tx, const void *data, size_t size, unsigned mode)
{
	bool share = mode == MP_SHARE;
	struct pg_region *r;
	int err = 0;

	pthread_mutex_lock(&mp_pg_lock);
	r = mp_pg_find(data);
	/* Not pages, or pages a connection keeps mapped (they cannot leave
	 * this address): copied like any memory. */
	if (!r || size > r->len || (r->kept && !share))
		goto out;
	if (r->moving || (!share && r->busy)) {
		err = -EBUSY;
		goto out;
	}
	err = region_send(r, share);
	if (err)
		goto out;
	*tx = (struct mp_pages_tx){ .fd = r->fd, .share = share, .addr = (void *)r->addr,
				    .len = r->len, .id = r->id };
	err = 1;
out:
	pthread_mutex_unlock(&mp_pg_lock);
	return err;
}

/* mp_pages_tx_end() of a send that holds a region. */
void mp_pages_tx_finish(struct mp_pages_tx *tx, bool delivered)
{
	struct pg_region *r;

	pthread_mutex_lock(&mp_pg_lock);
	r = mp_pg_find(tx->addr);
	if (r && r->id == tx->id) {
		if (tx->share) {
			if (--r->busy == 0 && r->doomed)
				mp_pg_drop(r);
		} else {
			r->moving = 0;
			/* Not sent: the peer never saw the memfd, put it back. */
			if (delivered || r->doomed)
				mp_pg_retire(r);	/* the address: a reservation */
			else if (!region_show(r))
				mp_pg_drop(r);
		}
	}
	pthread_mutex_unlock(&mp_pg_lock);
	tx->fd = -1;
}
