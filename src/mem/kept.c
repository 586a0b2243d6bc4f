/* SPDX-License-Identifier: MIT */
/* Shared pages kept mapped across messages (see kept.h). */
#include "mem/kept.h"

#include <errno.h>
#include <pthread.h>

#include "mem/pages_priv.h"
#include "os/shm.h"

int mp_kept_tx_find(const struct mp_kept_tx *k, const void *addr, uint64_t id)
{
	for (unsigned h = 0; h < MP_SLOT_PAGES_SLOTS; h++)
		if (k->id[h] == id && k->addr[h] == addr)
			return (int)h;
	return -1;
}

unsigned mp_kept_tx_pick(struct mp_kept_tx *k)
{
	unsigned h;

	for (h = 0; h < MP_SLOT_PAGES_SLOTS; h++)
		if (!k->id[h])
			return h;
	h = k->next;
	k->next = (h + 1) % MP_SLOT_PAGES_SLOTS;
	return h;
}

void mp_kept_tx_set(struct mp_kept_tx *k, unsigned h, const void *addr, uint64_t id)
{
	k->addr[h] = addr;
	k->id[h] = id;
	k->forget &= ~(1u << h);	/* the install replaces what was there */
}

void mp_kept_tx_clear(struct mp_kept_tx *k, unsigned h)
{
	k->addr[h] = NULL;
	k->id[h] = 0;
	k->forget |= 1u << h;
}

uint32_t mp_kept_tx_stale(struct mp_kept_tx *k, const struct mp_pages_tx *tx)
{
	/* pairs with the store_release of mp_pages_drops in mp_pg_drop() */
	unsigned drops = load_acquire(&mp_pages_drops);
	int h;

	/* Moved pages must not stay mapped writable in the server: it could
	 * not freeze them (pages_rx.c) and would take a copy. */
	if (tx && tx->fd >= 0 && !tx->share && (h = mp_kept_tx_find(k, tx->addr, tx->id)) >= 0)
		mp_kept_tx_clear(k, (unsigned)h);
	if (drops != k->drops_seen) {
		k->drops_seen = drops;
		for (unsigned i = 0; i < MP_SLOT_PAGES_SLOTS; i++)
			if (k->id[i] && !mp_pages_alive(k->addr[i], k->id[i]))
				mp_kept_tx_clear(k, i);
	}
	return k->forget;
}

/* mp_stat()'s count of kept pages: relaxed, a statistic orders nothing. */
static void count_pages(struct mp_kept_rx *k, uint64_t n)
{
	if (k->count)
		fetch_add_relaxed(k->count, n);
}

/* The whole region's pages (a delivery may name fewer than it maps). */
static uint64_t region_pages(const void *addr)
{
	struct pg_region *r;
	size_t len;

	pthread_mutex_lock(&mp_pg_lock);
	r = mp_pg_find(addr);
	len = r ? r->len : 0;
	pthread_mutex_unlock(&mp_pg_lock);
	return len / mp_page_size();
}

void mp_kept_rx_install(struct mp_kept_rx *k, unsigned h, void *addr, uint64_t id)
{
	mp_kept_rx_drop(k, 1u << h);
	k->addr[h] = addr;
	k->id[h] = id;
	k->npages[h] = k->count ? region_pages(addr) : 0;
	count_pages(k, k->npages[h]);
}

int mp_kept_rx_use(struct mp_kept_rx *k, unsigned h, size_t size, void **addr, uint64_t *id)
{
	if (h >= MP_SLOT_PAGES_SLOTS || !k->id[h] || mp_pages_kept_use(k->addr[h], k->id[h], size))
		return -EPROTO;
	*addr = k->addr[h];
	*id = k->id[h];
	return 0;
}

void mp_kept_rx_drop(struct mp_kept_rx *k, uint32_t mask)
{
	for (unsigned h = 0; h < MP_SLOT_PAGES_SLOTS; h++) {
		if (!(mask & (1u << h)) || !k->id[h])
			continue;
		mp_pages_kept_forget(k->addr[h], k->id[h]);
		count_pages(k, -k->npages[h]);
		k->addr[h] = NULL;
		k->id[h] = 0;
		k->npages[h] = 0;
	}
}
