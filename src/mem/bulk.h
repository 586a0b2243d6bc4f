/* SPDX-License-Identifier: MIT */
/*
 * The bulk areas of a hybrid (FLMP) connection: one shared memfd per
 * direction for data too long for the ring.  The client creates both,
 * sized for the longest message so far, and hands them over in a BULK
 * frame; ring messages then carry only an offset and a length.  Areas only
 * grow, and a server keeps every mapping it was given until the connection
 * goes, so a client cannot pull memory from under a call in progress.
 *
 * The server charges them to the connection's account (mem/memcap.h; the
 * first 2 x MP_BULK_MIN are paid at accept).  Areas it cannot charge are
 * not mapped and no areas are current: a message that names the client's
 * is refused with MP_BULK_REFUSED, on which the client forgets its areas
 * (its caller gets -ENOBUFS) and sends new ones, of any size, next time.
 */
#ifndef MP_BULK_H
#define MP_BULK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_BULK_MIN ((size_t)256 << 10)
/* Input goes through the c2s area up to MP_BULK_MAX (longer input is
 * written into the server's grant, or left for process_vm_readv: a copy
 * into shared memory is a second copy for input); an answer goes through
 * the s2c area up to MP_BULK_OUT_MAX, written there by the server in
 * place and copied out once (measured, 1 GiB: process_vm_writev into the
 * caller's small pages ran at 0.48-0.63x memcpy). */
#define MP_BULK_MAX ((size_t)256 << 20)
#define MP_BULK_OUT_MAX ((size_t)1 << 30)	/* MP_DATA_MAX */
#define MP_BULK_GENS 13		/* 256 KiB doubling up to 1 GiB */
/* A refusal's error on the wire: the server holds none of the areas the
 * message named (never an error of its own: mp_respond_error() allows
 * none like it). */
#define MP_BULK_REFUSED (-ENOSR)

struct mp_memcap;

struct mp_bulk {
	uint8_t *c2s, *s2c;	/* current areas; NULL before the first */
	size_t len;		/* bytes in each */
	unsigned ngens;		/* mappings kept (server) */
	bool lost;		/* server: areas refused, none current since */
	struct mp_memcap *cap;	/* server: a reference, the account charged */
	size_t charged;		/* server: bytes charged to cap for old[] */
	struct { void *c2s, *s2c; size_t len; } old[MP_BULK_GENS];
};

/*
 * Client: make both areas at least need bytes.  Returns 0 when they are
 * big enough, 1 when new areas were made (fds[0], fds[1] are their memfds,
 * to be sent and closed by the caller), or -errno.
 */
int mp_bulk_reserve(struct mp_bulk *b, size_t need, int fds[2]);

/* Client: forget the areas (a refusal said MP_BULK_REFUSED); the next
 * mp_bulk_reserve() makes new ones. */
void mp_bulk_forget(struct mp_bulk *b);

/* Server: map a client's areas after checking seals and sizes; they must
 * be larger than the current ones.  Charged to cap (what passes the first
 * pair; NULL: not accounted).  Returns 0, -EPROTO, or -ENOBUFS over cap's
 * limit (nothing mapped, no areas current: b->lost). */
int mp_bulk_attach(struct mp_bulk *b, const int fds[2], struct mp_memcap *cap);

void mp_bulk_fini(struct mp_bulk *b);

/* [off, off + len) lies inside an area. */
static inline bool mp_bulk_fits(const struct mp_bulk *b, uint64_t off, uint64_t len)
{
	return b->c2s && off <= b->len && len <= b->len - off;
}

#endif
