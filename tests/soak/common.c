/* SPDX-License-Identifier: MIT */
/* The soak's shared pieces: failure, patterns, the message mix, resources. */
#include "soak.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct soak_shared *soak_sh;

void soak_fail(const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "soak: FAIL (pid %d): %s\n", (int)getpid(), line);
	if (soak_sh)
		atomic_fetch_add(&soak_sh->failed, 1);
	_exit(1);
}

int64_t soak_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

uint64_t soak_rand(uint32_t sender, uint64_t seq)
{
	return mix(seq * 0x9e3779b97f4a7c15ull + sender + 1);
}

/* Word-wise, so that a megabyte costs little next to its transfer. */
static uint64_t word(uint64_t base, size_t k)
{
	return (base + k) * 0x9e3779b97f4a7c15ull ^ (base >> 7);
}

static uint64_t pattern_base(uint32_t sender, uint64_t seq, uint32_t salt)
{
	return mix(((uint64_t)sender << 40) ^ seq ^ ((uint64_t)salt << 56));
}

void soak_fill(void *buf, size_t len, uint32_t sender, uint64_t seq, uint32_t salt)
{
	uint64_t base = pattern_base(sender, seq, salt), w;
	unsigned char *p = buf;
	size_t k = 0;

	if (!len)
		return;
	for (; k + 8 <= len; k += 8) {
		w = word(base, k);
		memcpy(p + k, &w, 8);
	}
	w = word(base, k);
	memcpy(p + k, &w, len - k);
}

int soak_check(const void *buf, size_t len, uint32_t sender, uint64_t seq, uint32_t salt)
{
	uint64_t base = pattern_base(sender, seq, salt), w;
	const unsigned char *p = buf;
	size_t k = 0;

	if (!len)
		return 0;
	for (; k + 8 <= len; k += 8) {
		w = word(base, k);
		if (memcmp(p + k, &w, 8))
			return -1;
	}
	w = word(base, k);
	return memcmp(p + k, &w, len - k) ? -1 : 0;
}

/*
 * Of 128 messages: mostly small ones (the rate), the rest every path.
 * With cfg.heavy > 1, only 1 in heavy messages (drawn from other bits of
 * the same hash) takes that mix and the rest are small calls and one-ways
 * in its proportion (80:24): for long runs, whose rate the long data and
 * pages bound.
 */
enum soak_kind soak_pick(uint32_t sender, uint64_t seq)
{
	uint64_t h = soak_rand(sender, seq);
	unsigned r = (unsigned)(h >> 57);	/* 0..127 */
	unsigned heavy = soak_sh->cfg.heavy;

	if (heavy > 1 && (uint32_t)(h >> 24) % heavy != 0)
		r = r % 104;			/* K_CALL or K_ASYNC */
	if (r < 80)
		return K_CALL;
	if (r < 104)
		return K_ASYNC;
	if (r < 110)
		return K_CALL_FDS;
	if (r < 114)
		return K_ASYNC_FDS;
	if (r < 118)
		return K_CALL_MOVE;
	if (r < 121)
		return K_CALL_SHARE;
	if (r < 123)
		return K_ASYNC_MOVE;
	if (r < 125)
		return K_ASYNC_SHARE;
	return K_CALL_LONG;
}

int soak_is_call(enum soak_kind k)
{
	return k != K_ASYNC && k != K_ASYNC_FDS && k != K_ASYNC_MOVE && k != K_ASYNC_SHARE;
}

size_t soak_in_len(enum soak_kind k, uint64_t r)
{
	switch (k) {
	case K_CALL: case K_ASYNC: case K_CALL_FDS: case K_ASYNC_FDS:
		return (size_t)(r & 255);
	case K_CALL_MOVE: case K_CALL_SHARE: case K_ASYNC_MOVE: case K_ASYNC_SHARE:
		return 1 + (size_t)(r % SOAK_PAGES_MAX);
	case K_CALL_LONG:	/* 32 KiB .. 1 MiB, now and then beyond the bulk area's */
		return ((size_t)32 << 10) + (size_t)(r % (SOAK_LONG_MAX - (32 << 10)));
	default:
		return 0;
	}
}

size_t soak_out_len(enum soak_kind k, uint64_t r)
{
	switch (k) {
	case K_CALL: case K_CALL_FDS:
		return (size_t)((r >> 8) & 127);
	case K_CALL_MOVE: case K_CALL_SHARE:
		return 1 + (size_t)((r >> 20) % SOAK_PAGES_MAX);
	case K_CALL_LONG:
		return (size_t)((r >> 20) % SOAK_LONG_MAX);
	default:
		return 0;
	}
}

unsigned soak_nfds(enum soak_kind k, uint64_t r)
{
	return k == K_CALL_FDS || k == K_ASYNC_FDS ? 1 + (unsigned)((r >> 40) % SOAK_FILES) : 0;
}

const char *soak_port_path(unsigned port, char buf[64])
{
	snprintf(buf, 64, "/soak/%u", port);
	return buf;
}

static int is_ready_region(const char *what)
{
	return strstr(what, "memfd:msgport-pages") != NULL;
}

void soak_res_take(struct soak_res *r)
{
	char path[300], link[256], line[512];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	FILE *f;

	memset(r, 0, sizeof *r);
	SOAK_CHECK(d, "opendir /proc/self/fd");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof link - 1);
		link[n > 0 ? n : 0] = 0;
		r->fds++;
		r->ready_fds += is_ready_region(link);
	}
	closedir(d);
	r->fds--;	/* the directory's own */
	f = fopen("/proc/self/maps", "r");
	SOAK_CHECK(f, "fopen /proc/self/maps");
	while (fgets(line, sizeof line, f)) {
		if (!strstr(line, "memfd:"))
			continue;
		r->memfd_maps++;
		r->ready_maps += is_ready_region(line);
	}
	fclose(f);
}

/* The library may keep one region ready (pages_pool.c): one memfd, one
 * mapping, counted apart.  Everything else must be as before. */
void soak_res_compare(const char *who, const struct soak_res *b)
{
	struct soak_res a;

	soak_res_take(&a);
	SOAK_CHECK(a.fds - a.ready_fds == b->fds - b->ready_fds && a.ready_fds <= 1,
		   "%s: %d descriptors at the end (%d ready pages), %d before (%d): leaked",
		   who, a.fds, a.ready_fds, b->fds, b->ready_fds);
	SOAK_CHECK(a.memfd_maps - a.ready_maps == b->memfd_maps - b->ready_maps &&
		   a.ready_maps <= 1,
		   "%s: %d memfd mappings at the end (%d ready pages), %d before (%d): leaked",
		   who, a.memfd_maps, a.ready_maps, b->memfd_maps, b->ready_maps);
}
