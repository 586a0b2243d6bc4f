/* SPDX-License-Identifier: MIT */
/*
 * Pages: memory that travels between processes without being copied.
 *
 * Every allocation (mp_pages_alloc) is a memfd of its own, mapped
 * MAP_SHARED, and sealed against shrinking and growing when it first
 * leaves (a move adds those seals with F_SEAL_WRITE, in one call).  A table (one per process,
 * under a mutex) maps each region's address to {memfd, length, kind}.
 * Sending a region passes its memfd; the receiver maps it, so a send
 * costs the same whatever the size.  Nothing is named: when the last
 * process holding a region dies, the kernel frees it.
 *
 * Kinds of region:
 *   SHARED   the memfd mapped MAP_SHARED read-write: what mp_pages_alloc
 *            gives, and what a receiver gets for MP_SHARE;
 *   PRIVATE  a memfd sealed against writes (F_SEAL_WRITE), mapped
 *            MAP_PRIVATE read-write: what a receiver gets for MP_MOVE.  The
 *            seal proves that no one else can change the pages any more
 *            (it is refused while anyone has them mapped writable), and
 *            the receiver's own writes stay private (copy-on-write).
 *
 * Moving (MP_MOVE) a SHARED region: the sender first replaces its mapping
 * by an inaccessible reservation (PROT_NONE, so the address stays taken),
 * which drops its writable mapping before the peer can see the memfd,
 * and seals the memfd F_SEAL_WRITE itself (cheap on the CPU that wrote
 * the pages, see region_freeze()); then it sends.  Delivered: the memfd
 * is closed and the reservation kept for the next mp_pages_alloc() of the
 * same length, which maps its new memfd over it (a few are kept, the
 * oldest unmapped); a program must not unmap moved pages itself, they are
 * no longer its own.  Not sent: the mapping is
 * put back (privately, when sealed).  The receiver checks for the seal and
 * adds it if missing; if that is refused (the pages are still mapped
 * writable somewhere: they were shared before, or the sender is hostile),
 * it copies them into a region of its own instead.
 *
 * Shared pages on the ring transports stay mapped in the server across
 * messages (kept.h); such a "kept" region is released when the client
 * forgets it or the connection ends, and is copied rather than moved.
 * What a hostile sender can still do: read the pages it moved (they were
 * its own), race the receiver's copy when it kept a writable mapping (the
 * receiver then copies whatever is there at that moment, once, and nothing
 * reaches that copy afterwards), send a memfd longer than the data (only
 * the pages the data covers are mapped) or one that is not fit (not a
 * memfd, unsealed, too short, sealed against shared writing when it says
 * "shared": -EPROTO, and the connection is dropped).  It cannot shrink the
 * file under the receiver (F_SEAL_SHRINK, checked), nor change moved pages
 * once the receiver has sealed them.
 *
 * A PRIVATE region is moved on as it is when the receiver never wrote it
 * (/proc/self/pagemap shows no private page), else it is first copied into
 * a fresh SHARED region in place (the same address).  Sharing a PRIVATE
 * region also copies it first: sealed pages cannot be shared writable.
 */
#ifndef MP_PAGES_H
#define MP_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msgport.h"
#include "os/compiler.h"
#include "os/shm.h"

/*
 * Regions in the table (live ones: counted in mp_pg_insert(), under
 * mp_pg_lock, uncounted when dropped); 0 lets every send skip the lookup
 * and the lock.  A relaxed load is enough: a region is counted before the
 * function that made it (mp_pages_alloc, mp_pages_rx_map) returns its
 * address, so a thread holding that address either made it (its own
 * earlier store: coherence) or got it through something that synchronized
 * with that thread (the store happens before the load); either way the
 * load sees the count or a later value, and a later value without the
 * region means it was freed, when copying it like plain memory is right.
 */
extern _Atomic unsigned mp_pages_count;
/* Regions dropped so far: a change tells a connection to look again at
 * the pages its peer keeps mapped (mp_pages_alive()). */
extern _Atomic unsigned mp_pages_drops;

size_t mp_page_size(void);

/*
 * Work that moves leave behind (pages_pool.c): a region of the last moved
 * length made ready for the next mp_pages_alloc().  For the ring client while it waits for an answer to
 * a message that left through the slow path; a relaxed load when there is
 * nothing to do (the flag is only a hint: the work itself is under
 * mp_pg_lock).
 */
extern _Atomic unsigned mp_pages_work;
void mp_pages_idle_work(void);

static inline void mp_pages_idle(void)
{
	if (unlikely(load_relaxed(&mp_pages_work)))
		mp_pages_idle_work();
}

/* Let go of what mp_pages_idle() made or left ready (no connection is
 * left to wait on: nothing would use it). */
void mp_pages_trim(void);

/* Whether p may start a region: cheap enough for the fast path (the
 * count first: no region at all is the common case). */
static inline bool mp_pages_maybe(const void *p)
{
	return load_relaxed(&mp_pages_count) != 0 &&	/* why relaxed: above */
	       ((uintptr_t)p & (mp_page_size() - 1)) == 0;
}

/* A region being sent, from mp_pages_tx_begin() to mp_pages_tx_end(). */
struct mp_pages_tx {
	int fd;			/* the region's memfd; -1: no region */
	unsigned share;		/* 1: MP_SHARE, 0: MP_MOVE */
	void *addr;
	size_t len;		/* the region's length */
	uint64_t id;
};

/*
 * Whether data (size bytes, size > 0) travels as pages: it must be the
 * start of a region and fit in it.  Returns 1 (tx filled; the region is
 * held until mp_pages_tx_end()), 0 (not a region: copy it), -EBUSY (the
 * region is being moved by another thread), -ENOMEM/-EMFILE (a PRIVATE
 * region could not be copied for sharing).  mode is MP_MOVE or MP_SHARE;
 * moving takes the sender's mapping away at once.
 */
int mp_pages_tx_lookup(struct mp_pages_tx *tx, const void *data, size_t size, unsigned mode);

static inline int mp_pages_tx_begin(struct mp_pages_tx *tx, const void *data, size_t size,
				    unsigned mode)
{
	tx->fd = -1;
	if (likely(!size || !mp_pages_maybe(data)))
		return 0;	/* no lock, no call: every message without pages */
	return mp_pages_tx_lookup(tx, data, size, mode);
}

/* The send is over.  delivered: the peer may have the memfd (a move is
 * then complete); else a moved region is mapped back as it was. */
void mp_pages_tx_finish(struct mp_pages_tx *tx, bool delivered);

static inline void mp_pages_tx_end(struct mp_pages_tx *tx, bool delivered)
{
	if (likely(tx->fd < 0))
		return;
	mp_pages_tx_finish(tx, delivered);
}

static inline void mp_pages_tx_init(struct mp_pages_tx *tx)
{
	tx->fd = -1;
}

/* Received pages are left to the library (released at mp_respond or at
 * the next mp_recv) until mp_pages_keep() is called on them. */
#define MP_PAGES_RX_AUTO 1u
/* Shared pages a connection keeps mapped for the peer's later messages
 * (see transport/ring.c): they stay mapped after their release until
 * mp_pages_kept_forget(); the delivery counts as one use. */
#define MP_PAGES_RX_KEPT 2u

/*
 * Map a peer's pages memfd for size bytes (fd is consumed).  share:
 * MAP_SHARED read-write; else sealed and mapped privately (or copied).
 * The region is registered; *addr and *id name it.  Its length is charged
 * to cap (mem/memcap.h; NULL: none), which it references until it is
 * dropped.  Returns 0, -EPROTO (not a fitting memfd: the peer lied),
 * -ENOMEM, -ENOBUFS (over cap's limit: nothing mapped).
 */
struct mp_memcap;
int mp_pages_rx_map(int fd, size_t size, bool share, unsigned rxflags, struct mp_memcap *cap,
		    void **addr, uint64_t *id);

/* Release received pages that the library still holds (addr and id as
 * given by mp_pages_rx_map); pages kept, freed or sent on are left alone. */
void mp_pages_auto_release(void *addr, uint64_t id);

/* A kept region delivered once more (size bytes): 0, or -EPROTO when it
 * is not a kept region that long. */
int mp_pages_kept_use(void *addr, uint64_t id, size_t size);

/* The connection no longer keeps the region: dropped once released,
 * unless the user kept it (mp_pages_keep()). */
void mp_pages_kept_forget(void *addr, uint64_t id);

/* Whether the region addr/id is still ours and not being moved. */
bool mp_pages_alive(const void *addr, uint64_t id);

/* One-way pages of this thread, released at its next mp_recv() or exit
 * (addr NULL: just release the previous ones). */
void mp_pages_oneway_hold(void *addr, uint64_t id);

/*
 * Put a reply's pages (fd, consumed) into the caller's output buffer dst
 * of capacity cap: mapped in place of dst when dst is a whole region of
 * this process at least as long as the memfd allows, else copied.
 * Returns 0 or -EPROTO.
 */
int mp_pages_rx_into(int fd, size_t size, bool share, void *dst, size_t cap);

/*
 * Server: map a caller's lent output pages (fd, consumed) shared
 * read-write for cap bytes; unmap with mp_pages_lend_unmap().
 * Returns 0 or -EPROTO.
 */
int mp_pages_lend_map(int fd, size_t cap, void **addr);
void mp_pages_lend_unmap(void *addr, size_t cap);

/* fn is called (outside every lock) after this thread freed pages it had
 * shared: connections tell their servers to let go of them at once.  Set
 * by the connection layer, which lives above this one. */
void mp_pages_on_shared_freed(void (*fn)(void));

#endif
