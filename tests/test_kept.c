/* SPDX-License-Identifier: MIT */
/*
 * The tables behind shared pages that a ring server keeps mapped (kept.h),
 * driven directly as a hostile client would drive them: slot numbers and
 * sizes that name nothing, too much, or something dropped are refused;
 * kept pages outlive their deliveries and go once forgotten and released.
 * And the long private buffers kept for reuse (data.h).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/data.h"
#include "mem/kept.h"

#define PG 4096u

/* A client's shared pages: a memfd sealed against resizing, len bytes. */
static int client_pages(size_t len)
{
	int fd = memfd_create("msgport-pages", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, (off_t)len));
	CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	return fd;
}

/* Map fd as a connection keeps it (the delivery counts as one use). */
static void keep(struct mp_kept_rx *k, unsigned h, int fd, size_t size, void **addr, uint64_t *id)
{
	CHECK_OK(mp_pages_rx_map(fd, size, true, MP_PAGES_RX_AUTO | MP_PAGES_RX_KEPT, NULL, addr, id));
	mp_kept_rx_install(k, h, *addr, *id);
}

TEST(kept_slots_refuse_what_names_nothing)
{
	struct mp_kept_rx k = { 0 };
	void *a, *got;
	uint64_t id, gid;
	int fd = client_pages(3 * PG);
	int before = h_count_fds();

	/* nothing kept yet: every slot is refused */
	for (unsigned h = 0; h < MP_SLOT_PAGES_SLOTS + 2; h++)
		CHECK_ERR(mp_kept_rx_use(&k, h, 1, &got, &gid), -EPROTO);
	keep(&k, 5, dup(fd), PG, &a, &id);
	mp_pages_auto_release(a, id);	/* the installing delivery is over */
	/* kept whole: all three pages may be named, not one byte more */
	CHECK_OK(mp_kept_rx_use(&k, 5, 3 * PG, &got, &gid));
	CHECK(got == a && gid == id);
	mp_pages_auto_release(got, gid);
	CHECK_ERR(mp_kept_rx_use(&k, 5, 3 * PG + 1, &got, &gid), -EPROTO);
	CHECK_ERR(mp_kept_rx_use(&k, 4, 1, &got, &gid), -EPROTO);
	CHECK_ERR(mp_kept_rx_use(&k, MP_SLOT_PAGES_SLOTS, 1, &got, &gid), -EPROTO);
	/* forgotten: refused, and the mapping and its descriptor are gone */
	mp_kept_rx_drop(&k, 1u << 5);
	CHECK_ERR(mp_kept_rx_use(&k, 5, 1, &got, &gid), -EPROTO);
	CHECK_EQ(h_count_fds(), before);
	/* forgetting what is not kept does nothing */
	mp_kept_rx_drop(&k, 0xffffu);
	close(fd);
}

TEST(kept_pages_live_until_forgotten_and_released)
{
	struct mp_kept_rx k = { 0 };
	void *a, *b, *got;
	uint64_t ida, idb, gid;
	int fa = client_pages(PG), fb = client_pages(2 * PG);
	int before = h_count_fds();
	unsigned char *w;

	keep(&k, 0, dup(fa), PG, &a, &ida);
	mp_pages_auto_release(a, ida);
	CHECK_OK(mp_kept_rx_use(&k, 0, PG, &got, &gid));	/* a delivery in progress */
	/* the client puts other pages in the same slot: the old ones stay
	 * mapped for the delivery that still uses them */
	keep(&k, 0, dup(fb), 2 * PG, &b, &idb);
	mp_pages_auto_release(b, idb);	/* its installing delivery is over */
	w = got;
	w[0] = 7;
	w[PG - 1] = 8;
	mp_pages_auto_release(got, gid);	/* now they go */
	CHECK_ERR(mp_pages_free(a, PG), -EINVAL);
	CHECK_OK(mp_kept_rx_use(&k, 0, 2 * PG, &got, &gid));
	CHECK(got == b);
	/* kept by the user beyond the message: forgetting leaves them */
	CHECK_OK(mp_pages_keep(b, 2 * PG));
	mp_pages_auto_release(got, gid);
	mp_kept_rx_drop(&k, 1u);
	w = b;
	w[2 * PG - 1] = 9;
	CHECK_OK(mp_pages_free(b, 2 * PG));
	CHECK_EQ(h_count_fds(), before);
	close(fa);
	close(fb);
}

/* ------------------------------------------------------------ kept buffers */

/* Whether [p, p + 4 KiB) is mapped in this process. */
static bool mapped(void *p)
{
	return msync(p, PG, MS_ASYNC) == 0 || errno != ENOMEM;
}

/* Long private buffers are kept for the next call of their size, every
 * size up to MP_DATA_MAX, within MP_BUF_KEEP_BYTES in all: the least
 * recently used go first. */
TEST(kept_buffers_every_size_within_budget)
{
	size_t half = MP_BUF_KEEP_BYTES / 2, all = MP_BUF_KEEP_MAX;
	void *a = mp_buf_get(half), *b = mp_buf_get(half), *c, *d;

	CHECK(a != NULL && b != NULL);
	mp_buf_put(a, half);
	mp_buf_put(b, half);	/* both fit */
	CHECK(mapped(a) && mapped(b));
	c = mp_buf_get(half);
	d = mp_buf_get(half);
	CHECK((c == a && d == b) || (c == b && d == a));	/* reused, no new pages */
	mp_buf_put(c, half);
	mp_buf_put(d, half);

	c = mp_buf_get(all);	/* a size of its own: a new mapping */
	CHECK(c != NULL && c != a && c != b);
	((char *)c)[all - 1] = 1;
	mp_buf_put(c, all);	/* both halves go to make room */
	CHECK(!mapped(a) && !mapped(b));
	d = mp_buf_get(all);
	CHECK(d == c);
	CHECK_EQ(((char *)d)[all - 1], 1);
	mp_buf_put(d, all);
	mp_buf_trim();	/* just used: stays */
	CHECK(mapped(d));
}

static void *short_buffer_thread(void *arg)
{
	void *p = mp_buf_get(64);

	(void)arg;
	CHECK(p != NULL);
	memset(p, 1, MP_BUF_SHORT);	/* every short buffer is that long */
	mp_buf_put(p, 64);	/* kept for this thread, freed at its exit */
	return NULL;
}

/* A short buffer is kept for the thread's next call of any short size. */
TEST(kept_buffers_short_per_thread)
{
	pthread_t t;
	void *a = mp_buf_get(64), *b = mp_buf_get(MP_BUF_SHORT), *c;

	CHECK(a != NULL && b != NULL && a != b);	/* two out at once */
	memset(b, 2, MP_BUF_SHORT);
	mp_buf_put(a, 64);
	mp_buf_put(b, MP_BUF_SHORT);	/* one is kept already: freed */
	c = mp_buf_get(1000);
	CHECK(c == a);
	mp_buf_put(c, 1000);
	c = mp_buf_get(0);
	CHECK(c == a);
	mp_buf_put(c, 0);
	CHECK_EQ(pthread_create(&t, NULL, short_buffer_thread, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
}
