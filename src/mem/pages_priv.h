/* SPDX-License-Identifier: MIT */
/*
 * Inside pages (pages.h): the region table of pages.c, shared with the
 * sending side (pages_tx.c: moving and sharing) and the receiving side
 * (pages_rx.c: mapping received pages, kept and automatic release).
 * Functions said to run "under mp_pg_lock" must be called with it held.
 * (Not including pages.h keeps this header a leaf of the include graph.)
 */
#ifndef MP_PAGES_PRIV_H
#define MP_PAGES_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_memcap;

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
	uint8_t unsized;	/* fresh from mp_pages_alloc: the memfd is not sealed
				 * against resizing yet (done when it first leaves) */
	uint32_t busy;		/* shares (and lends) in flight */
	uint32_t uses;		/* kept: deliveries not yet released */
	uint64_t id;
	struct mp_memcap *cap;	/* received: the account its len is charged to,
				 * a reference (mem/memcap.h); uncharged when it
				 * leaves the table; NULL: none */
};

/* Guards the table and every region in it. */
extern pthread_mutex_t mp_pg_lock;

/* Once per process, before the first region: the fork handlers. */
void mp_pg_setup(void);

/* len rounded up to whole pages. */
size_t mp_pg_round(size_t len);

/* The region starting at p, or NULL (under mp_pg_lock). */
struct pg_region *mp_pg_find(const void *p);

/* Add a copy of *r under a new id (set in *r too): 0 or -ENOMEM (under
 * mp_pg_lock). */
int mp_pg_insert(struct pg_region *r);

/* Unmap, close and forget a region, uncharging its account (under
 * mp_pg_lock). */
void mp_pg_drop(struct pg_region *r);

/* The same for a region whose address holds the PROT_NONE reservation of
 * a move: the reservation is kept for a later mp_pages_alloc() of that
 * length instead of being unmapped (under mp_pg_lock). */
void mp_pg_retire(struct pg_region *r);

/* A memfd of len bytes for pages, sealed against resizing only (the
 * receiver of moved pages adds F_SEAL_WRITE): the fd or -errno. */
int mp_pg_memfd_new(size_t len);

/* Seal a region's memfd against resizing if it is not yet: 0 or -ENOMEM
 * (under mp_pg_lock). */
int mp_pg_size_seal(struct pg_region *r);

/* Map fd at a new address, then move the mapping over dst in one step:
 * dst keeps its old mapping if anything fails.  0 or -errno. */
int mp_pg_map_over(void *dst, size_t len, int prot, int flags, int fd);

/* When every spare reservation is taken, the oldest leaves the table and
 * is the caller's to unmap (addr, len): true (under mp_pg_lock).  Lets
 * mp_pages_idle() make room before a move's delivery needs it. */
bool mp_pg_spare_evict(uintptr_t *addr, size_t *len);

/* A memfd of len bytes for a new region (mp_pages_alloc), not sealed yet:
 * the fd or -errno. */
int mp_pg_memfd_fresh(size_t len);

/* pages_pool.c, under mp_pg_lock: */
/* A ready region of exactly len bytes, now the caller's: its fd, and its
 * address in *addr; -1: none. */
int mp_pg_ready_take(size_t len, uintptr_t *addr);
/* Give back a region taken and not used (or made ready): into the table,
 * else unmapped and closed. */
void mp_pg_ready_put(uintptr_t addr, size_t len, int fd);
/* A region of len bytes was moved away: the next mp_pages_idle() makes
 * one of that length ready. */
void mp_pg_moved(size_t len);
/* After fork, in the child: drop what the parent made ready. */
void mp_pg_pool_child(void);

#endif
