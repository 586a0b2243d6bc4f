/* SPDX-License-Identifier: MIT */
/*
 * echo-client - a small client of `msgport echo`.
 *
 *   echo-client PATH [N]    N 64-byte calls (default 20000), each reply
 *                           checked against its request; prints p50/p99
 *   echo-client --fd PATH   passes a pipe's write end to the server, which
 *                           returns it; a line written through the returned
 *                           descriptor must come out of the pipe
 *   echo-client --pages PATH
 *                           64 MiB calls three ways: the same shared pages
 *                           (MP_SHARE), new pages moved each time (MP_MOVE),
 *                           an ordinary buffer (copied); the server echoes
 *                           the first 64 bytes, checked; prints p50 of each
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"

#define MSG_BYTES 64
#define WARMUP_CALLS 200	/* connect and fault everything in before timing */

static int usage(void)
{
	fputs("usage: echo-client PATH [N] | echo-client --fd PATH | echo-client --pages PATH\n",
	      stderr);
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "echo-client: %s: %s\n", what, mp_strerror(err));
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* One 64-byte call whose payload depends on seq; 0 if echoed exactly. */
static int echo_call(const mp_oid_t *oid, uint64_t seq)
{
	uint8_t in[MSG_BYTES], out[MSG_BYTES];
	mp_msg_t msg = { .oid = *oid };
	int err;

	for (int k = 0; k < MSG_BYTES; k++)
		in[k] = (uint8_t)(seq * 131 + (uint64_t)k);
	msg.i.data = in;
	msg.i.size = sizeof(in);
	msg.o.data = out;
	msg.o.size = sizeof(out);
	err = mp_send(oid->port, &msg, MP_FOREVER);
	if (err)
		return fail("call", err);
	if (msg.o.err || msg.o.size != sizeof(in) || memcmp(in, out, sizeof(in)) != 0) {
		fprintf(stderr, "echo-client: call %" PRIu64 ": reply differs from request\n", seq);
		return 1;
	}
	return 0;
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double pct_us(const uint64_t *v, size_t n, unsigned pct)
{
	return (double)v[(n - 1) * pct / 100] / 1000.0;
}

static int run_latency(const char *path, size_t n)
{
	uint64_t *lat = malloc(n * sizeof(*lat));
	mp_oid_t oid;
	int err = mp_lookup(path, &oid), ret = 0;

	if (err || !lat) {
		free(lat);
		return fail(path, err ? err : -ENOMEM);
	}
	for (uint64_t k = 0; k < WARMUP_CALLS && !ret; k++)
		ret = echo_call(&oid, k);
	for (size_t k = 0; k < n && !ret; k++) {
		uint64_t t0 = now_ns();

		ret = echo_call(&oid, WARMUP_CALLS + k);
		lat[k] = now_ns() - t0;
	}
	if (!ret) {
		qsort(lat, n, sizeof(*lat), cmp_u64);
		printf("64-byte call round trip: p50 %.1f us, p99 %.1f us (%zu calls)\n",
		       pct_us(lat, n, 50), pct_us(lat, n, 99), n);
	}
	free(lat);
	return ret;
}

/* ---------------------------------------------------------- long data */

#define PAGES_BYTES ((size_t)64 << 20)

enum pages_way { WAY_SHARE, WAY_MOVE, WAY_COPY };

/* One 64 MiB call with data (pages or not) stamped with seq; the echoed
 * first 64 bytes must carry the stamp.  Moved pages are gone afterwards. */
static int pages_call(const mp_oid_t *oid, void *data, unsigned flags, uint64_t seq)
{
	uint8_t out[MSG_BYTES];
	mp_msg_t msg = { .oid = *oid, .flags = flags };
	int err;

	memcpy(data, &seq, sizeof(seq));
	memcpy((char *)data + PAGES_BYTES - sizeof(seq), &seq, sizeof(seq));
	msg.i.data = data;
	msg.i.size = PAGES_BYTES;
	msg.o.data = out;
	msg.o.size = sizeof(out);
	err = mp_send(oid->port, &msg, MP_FOREVER);
	if (err)
		return fail("64 MiB call", err);
	if (msg.o.err || msg.o.size != sizeof(out) || memcmp(out, &seq, sizeof(seq)) != 0) {
		fprintf(stderr, "echo-client: 64 MiB call %" PRIu64 ": wrong echo\n", seq);
		return 1;
	}
	return 0;
}

/* p50 in microseconds of n calls made the given way. */
static int pages_way_p50(const mp_oid_t *oid, enum pages_way way, size_t n, double *p50)
{
	uint64_t *lat = calloc(n, sizeof(*lat));
	void *buf = NULL;
	int ret = 0;

	if (!lat)
		return fail("calloc", -ENOMEM);
	if (way == WAY_SHARE)
		buf = mp_pages_alloc(PAGES_BYTES);
	else if (way == WAY_COPY && (buf = malloc(PAGES_BYTES)))
		memset(buf, 0x5a, PAGES_BYTES);	/* in use, as a real buffer is */
	if (way != WAY_MOVE && !buf)
		ret = fail("allocate 64 MiB", -ENOMEM);
	for (size_t k = 0; k < n + 2 && !ret; k++) {	/* 2 warm-up calls */
		uint64_t t0 = now_ns();
		void *p = way == WAY_MOVE ? mp_pages_alloc(PAGES_BYTES) : buf;

		if (!p)
			ret = fail("mp_pages_alloc", -errno);
		else
			ret = pages_call(oid, p, way == WAY_SHARE ? MP_SHARE : 0, k + 1);
		if (k >= 2)
			lat[k - 2] = now_ns() - t0;
	}
	if (!ret) {
		qsort(lat, n, sizeof(*lat), cmp_u64);
		*p50 = pct_us(lat, n, 50);
	}
	if (way == WAY_SHARE && buf)
		mp_pages_free(buf, PAGES_BYTES);
	else if (way == WAY_COPY)
		free(buf);
	free(lat);
	return ret;
}

static int run_pages(const char *path)
{
	double share = 0, move = 0, copy = 0;
	mp_oid_t oid;
	int err = mp_lookup(path, &oid);

	if (err)
		return fail(path, err);
	if (pages_way_p50(&oid, WAY_SHARE, 200, &share) || pages_way_p50(&oid, WAY_MOVE, 100, &move) ||
	    pages_way_p50(&oid, WAY_COPY, 10, &copy))
		return 1;
	printf("64 MiB calls, p50: shared pages %.1f us, moved pages %.1f us (new pages each call), "
	       "ordinary buffer %.0f us (copied)\n", share, move, copy);
	return 0;
}

/* ---------------------------------------------------------- fd passing */

/* Do a and b refer to the same open file's inode? */
static int same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Send wfd through the server and get the returned copy in *back. */
static int fd_roundtrip(const mp_oid_t *oid, int wfd, int *back)
{
	static const char note[] = "here is a pipe";
	char out[sizeof(note)];
	mp_msg_t msg = { .oid = *oid };
	int err;

	msg.i.data = (void *)note;
	msg.i.size = sizeof(note);
	msg.i.fds[0] = wfd;
	msg.i.nfds = 1;
	msg.o.data = out;
	msg.o.size = sizeof(out);
	err = mp_send(oid->port, &msg, 5 * 1000000000LL);
	if (err)
		return fail("fd call", err);
	if (msg.o.nfds != 1) {
		fprintf(stderr, "echo-client: fd call: %" PRIu32 " fds came back, want 1\n", msg.o.nfds);
		for (uint32_t k = 0; k < msg.o.nfds; k++)
			close(msg.o.fds[k]);
		return 1;
	}
	*back = msg.o.fds[0];
	return 0;
}

/* Write a line through the returned fd, read it out of the pipe. */
static int fd_check(int rfd, int wfd, int back)
{
	static const char line[] = "written through a passed descriptor\n";
	char buf[sizeof(line)];
	size_t got = 0;

	if (!same_file(wfd, back)) {
		fputs("echo-client: returned fd is not our pipe\n", stderr);
		return 1;
	}
	if (write(back, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1))
		return fail("write through returned fd", -errno);
	while (got < sizeof(line) - 1) {
		ssize_t r = read(rfd, buf + got, sizeof(line) - 1 - got);

		if (r <= 0)
			return fail("read pipe", r < 0 ? -errno : -EPIPE);
		got += (size_t)r;
	}
	if (memcmp(buf, line, got) != 0) {
		fputs("echo-client: fd passed: MISMATCH\n", stderr);
		return 1;
	}
	return 0;
}

static int run_fd(const char *path)
{
	mp_oid_t oid;
	int p[2], back = -1, ret;
	int err = mp_lookup(path, &oid);

	if (err)
		return fail(path, err);
	if (pipe(p) != 0)
		return fail("pipe", -errno);
	ret = fd_roundtrip(&oid, p[1], &back);
	if (!ret)
		ret = fd_check(p[0], p[1], back);
	if (!ret)
		puts("fd passed: ok");
	if (back >= 0)
		close(back);
	close(p[0]);
	close(p[1]);
	return ret;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long n = 20000;

	if (argc == 3 && strcmp(argv[1], "--fd") == 0)
		return run_fd(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--pages") == 0)
		return run_pages(argv[2]);
	if (argc < 2 || argc > 3 || argv[1][0] == '-')
		return usage();
	if (argc == 3) {
		errno = 0;
		n = strtoul(argv[2], &end, 10);
		if (errno || *end || argv[2][0] == '-' || n == 0 || n > 100000000)
			return usage();
	}
	return run_latency(argv[1], n);
}
