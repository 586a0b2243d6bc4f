/* SPDX-License-Identifier: MIT */
#include "mem/bulk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/data.h"
#include "mem/memcap.h"

#define BULK_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

static size_t bulk_size_for(size_t need)
{
	size_t len = MP_BULK_MIN;

	while (len < need && len < MP_BULK_OUT_MAX)
		len <<= 1;
	return len;
}

static int area_create(size_t len, void **addr)
{
	return mp_memfd_new("msgport-bulk", len, F_SEAL_SEAL, addr);
}

static void areas_unmap(void *c2s, void *s2c, size_t len)
{
	if (c2s)
		munmap(c2s, len);
	if (s2c)
		munmap(s2c, len);
}

int mp_bulk_reserve(struct mp_bulk *b, size_t need, int fds[2])
{
	size_t len = bulk_size_for(need);
	void *c2s = NULL, *s2c = NULL;
	int err;

	if (need > MP_BULK_OUT_MAX)
		return -EMSGSIZE;
	if (b->c2s && b->len >= need)
		return 0;
	fds[0] = area_create(len, &c2s);
	if (fds[0] < 0) {
		fds[1] = -1;
		return fds[0];
	}
	fds[1] = area_create(len, &s2c);
	if (fds[1] < 0) {
		err = fds[1];
		goto err;
	}
	areas_unmap(b->c2s, b->s2c, b->len);	/* the server keeps its own */
	b->c2s = c2s;
	b->s2c = s2c;
	b->len = len;
	return 1;
err:
	close(fds[0]);
	areas_unmap(c2s, NULL, len);
	return err;
}

void mp_bulk_forget(struct mp_bulk *b)
{
	areas_unmap(b->c2s, b->s2c, b->len);
	b->c2s = b->s2c = NULL;
	b->len = 0;
}

/* A peer's area: sealed, exactly *len bytes (its size). */
static int area_check(int fd, size_t *len)
{
	return mp_memfd_peer(fd, BULK_SEALS, MP_BULK_MIN, MP_BULK_OUT_MAX, len) < 0 ? -EPROTO : 0;
}

static void *area_map(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* What a new pair of len bytes each costs: the first 2 x MP_BULK_MIN of
 * the first pair were paid at accept (conn/peer.c). */
static size_t pair_cost(const struct mp_bulk *b, size_t len)
{
	return 2 * len - (b->ngens ? 0 : 2 * MP_BULK_MIN);
}

/* Refused: nothing mapped, and no areas current, so that the messages
 * that name the client's new ones are refused, not read in the old. */
static int attach_refused(struct mp_bulk *b)
{
	b->c2s = b->s2c = NULL;
	b->len = 0;
	b->lost = true;
	return -ENOBUFS;
}

int mp_bulk_attach(struct mp_bulk *b, const int fds[2], struct mp_memcap *cap)
{
	size_t l0 = 0, l1 = 0, cost;
	void *c2s, *s2c;

	if (area_check(fds[0], &l0) || area_check(fds[1], &l1) || l0 != l1 || l0 <= b->len)
		return -EPROTO;	/* only ever larger than the current ones (none when lost) */
	if (b->ngens >= MP_BULK_GENS)
		return attach_refused(b);	/* after refusals: larger again, many times */
	cost = pair_cost(b, l0);
	if (mp_memcap_charge(cap, cost))	/* at map time, not per message */
		return attach_refused(b);
	c2s = area_map(fds[0], l0);
	s2c = area_map(fds[1], l1);
	if (!c2s || !s2c) {
		areas_unmap(c2s, s2c, l0);
		mp_memcap_uncharge(cap, cost);
		return -EPROTO;
	}
	if (!b->cap)
		b->cap = mp_memcap_ref(cap);	/* uncharged at mp_bulk_fini() */
	b->charged += cost;
	b->old[b->ngens].c2s = c2s;
	b->old[b->ngens].s2c = s2c;
	b->old[b->ngens].len = l0;
	b->ngens++;
	b->c2s = c2s;
	b->s2c = s2c;
	b->len = l0;
	b->lost = false;
	return 0;
}

void mp_bulk_fini(struct mp_bulk *b)
{
	if (b->ngens) {
		for (unsigned k = 0; k < b->ngens; k++)
			areas_unmap(b->old[k].c2s, b->old[k].s2c, b->old[k].len);
	} else {
		areas_unmap(b->c2s, b->s2c, b->len);
	}
	mp_memcap_uncharge(b->cap, b->charged);
	mp_memcap_unref(b->cap);
	memset(b, 0, sizeof(*b));
}
