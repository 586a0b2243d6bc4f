/* SPDX-License-Identifier: MIT */
/*
 * Long data: pages (mp_pages_alloc), moved and shared, in and out; the
 * Phoenix in/out buffers at every alignment; ordinary buffers through
 * process_vm_readv/writev and without it; bounded memory; receivers that
 * die holding pages; bad sizes, frees and flags.
 */
#include "harness.h"

#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PG 4096u
#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* ------------------------------------------------------------ helpers */

static uint32_t fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	for (size_t k = 0; k < n; k++)
		h = (h ^ c[k]) * 16777619u;
	return h;
}

/* The inode of the file mapped at addr in this process (0: none or anonymous). */
static uint64_t map_inode(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t ino = 0;

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		unsigned long long inode;
		char perms[8], dev[16];

		if (sscanf(line, "%lx-%lx %7s %lx %15s %llu", &lo, &hi, perms, &off, dev, &inode) != 6)
			continue;
		if ((uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			ino = inode;
			break;
		}
	}
	fclose(f);
	return ino;
}

/* Descriptors of pid that are msgport pages memfds (self: pid 0). */
static int count_pages_fds(pid_t pid)
{
	char dir[64], path[600], link[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), pid ? "/proc/%d/fd" : "/proc/self/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (strstr(link, "memfd:msgport-pages"))
			n++;
	}
	closedir(d);
	return n;
}

/*
 * Our msgport pages memfds that hold pages or seals: every one but the
 * region the library makes ready for the next mp_pages_alloc() after a
 * move (ring transports: an empty memfd, never sealed).  That one is
 * closed when the last connection goes, which the harness's descriptor
 * count checks after every test.
 */
static int count_pages_fds_used(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		char path[600], link[256];
		struct stat st;
		int fd = atoi(e->d_name);
		ssize_t len;

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (!strstr(link, "memfd:msgport-pages") || fstat(fd, &st) != 0)
			continue;
		if (st.st_blocks == 0 && fcntl(fd, F_GET_SEALS) == 0)
			continue;	/* ready: empty and unsealed */
		n++;
	}
	closedir(d);
	return n;
}

/* The seals of the memfd with this inode among our descriptors, -1: none. */
static int seals_of_inode(uint64_t ino)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int seals = -1;

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		struct stat st;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (fstat(fd, &st) == 0 && st.st_ino == ino) {
			seals = fcntl(fd, F_GET_SEALS);
			break;
		}
	}
	closedir(d);
	return seals;
}

/* Whether any process still maps or holds the file with this inode. */
static bool inode_alive(uint64_t ino)
{
	DIR *procs = opendir("/proc");
	struct dirent *p;
	bool alive = false;

	CHECK(procs != NULL);
	while (!alive && (p = readdir(procs))) {
		char path[600], line[512];
		FILE *f;

		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", p->d_name);
		f = fopen(path, "r");
		while (f && !alive && fgets(line, sizeof(line), f))
			if (strstr(line, "msgport-pages")) {
				unsigned long long inode = 0;

				sscanf(line, "%*s %*s %*s %*s %llu", &inode);
				alive = inode == ino;
			}
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		DIR *fds = opendir(path);
		struct dirent *e;

		while (fds && !alive && (e = readdir(fds))) {
			char fp[900];
			struct stat st;

			snprintf(fp, sizeof(fp), "%s/%s", path, e->d_name);
			if (e->d_name[0] != '.' && stat(fp, &st) == 0 && st.st_ino == ino &&
			    S_ISREG(st.st_mode))
				alive = true;
		}
		if (fds)
			closedir(fds);
	}
	closedir(procs);
	return alive;
}

/* Resident memory of this process in bytes. */
static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	CHECK(f != NULL);
	CHECK_EQ(fscanf(f, "%lu %lu", &size, &res), 2);
	fclose(f);
	return res * (size_t)sysconf(_SC_PAGESIZE);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	CHECK(p != NULL);
	return p;
}

static void *pages(size_t n)
{
	void *p = mp_pages_alloc(n);

	if (!p)
		FAIL("mp_pages_alloc(%zu): %s", n, strerror(errno));
	return p;
}

/* ------------------------------------------------------------ the server */

enum {
	T_INFO = 1,	/* report on i.data; o.data = i.data ^ 0x5a (min of sizes) */
	T_WRITE_IN,	/* write h_fill(raw.seed) over i.data, then T_INFO */
	T_KEEP,		/* mp_pages_keep(i.data), remember it; T_INFO */
	T_KEPT,		/* report on the kept pages (fnv), free them if raw.arg */
	T_REPLY_PAGES,	/* answer with new pages of raw.arg bytes, h_fill(raw.seed) */
	T_OUT_WRITE,	/* write h_fill(raw.seed) for raw.arg bytes at o.data, report its inode */
	T_FORWARD,	/* send i.data on to port raw.arg (write its first byte if raw.seed) */
	T_SLOW,		/* sleep raw.arg ms, then answer o.size bytes of 0xee */
	T_PROBE,	/* process_vm_readv 8 bytes at raw.arg in the caller: seen.seals = -errno */
	T_LIGHT,	/* read the first and last input byte, answer o.size bytes (first, last set) */
	T_QUIT,
};

/* What the test asks, in i.raw. */
struct ask {
	uint32_t seed;
	uint32_t flags;		/* msg flags for T_REPLY_PAGES and T_FORWARD */
	uint64_t arg;
};

/* What the server saw, in o.raw. */
struct seen {
	uint32_t flags;		/* msg->flags from mp_recv */
	uint32_t csum;		/* fnv of i.data (after T_WRITE_IN's write) */
	uint64_t size;		/* i.size */
	uint64_t ino;		/* inode mapped at i.data (T_OUT_WRITE: at o.data) */
	int32_t seals;		/* seals of that memfd, -1 none */
	uint32_t aligned;	/* i.data page-aligned */
	uint64_t ocap;		/* o.size given to the server */
};
_Static_assert(sizeof(struct seen) <= MP_RAW_SIZE, "fits o.raw");

static void *kept;
static size_t kept_len;
/* Set in a server that several threads serve: no scan of /proc/self/fd
 * (other threads open and close descriptors meanwhile). */
static bool serve_threads;

static void seen_fill(struct seen *s, const mp_msg_t *m, const void *at)
{
	memset(s, 0, sizeof(*s));
	s->flags = m->flags;
	s->csum = fnv(m->i.data, m->i.size);
	s->size = m->i.size;
	s->ino = at ? map_inode(at) : 0;
	s->seals = s->ino && !serve_threads ? seals_of_inode(s->ino) : -1;
	s->aligned = ((uintptr_t)m->i.data & (PG - 1)) == 0;
	s->ocap = m->o.size;
}

static void do_forward(mp_msg_t *m, const struct ask *a)
{
	mp_msg_t f;

	h_msg_init(&f);
	f.flags = a->flags;
	f.i.data = m->i.data;
	f.i.size = m->i.size;
	f.type = T_INFO;
	if (a->seed)
		((unsigned char *)m->i.data)[0] ^= 0xff;
	CHECK_OK(mp_send((mp_port_t)a->arg, &f, MP_FOREVER));
	memcpy(m->o.raw, f.o.raw, MP_RAW_SIZE);	/* what the next server saw */
	m->o.size = 0;
}

/* Answer one call; false after T_QUIT. */
static bool serve_one(mp_port_t port, mp_msg_t *m, mp_rid_t rid)
{
	struct ask a;
	struct seen s;
	void *own = NULL;

	memcpy(&a, m->i.raw, sizeof(a));
	m->o.err = 0;
	switch (m->type) {
	case T_WRITE_IN:
		h_fill(m->i.data, m->i.size, a.seed);
		/* fall through */
	case T_INFO:
	case T_KEEP:
		if (m->type == T_KEEP) {
			CHECK_OK(mp_pages_keep(m->i.data, m->i.size));
			kept = m->i.data;
			kept_len = m->i.size;
		}
		seen_fill(&s, m, m->i.data);
		{
			size_t n = m->i.size < m->o.size ? m->i.size : m->o.size;
			const unsigned char *in = m->i.data;
			unsigned char *out = m->o.data;

			for (size_t k = 0; k < n; k++)
				out[k] = in[k] ^ 0x5a;
			m->o.size = n;
		}
		memcpy(m->o.raw, &s, sizeof(s));
		break;
	case T_KEPT:
		memset(&s, 0, sizeof(s));
		s.csum = fnv(kept, kept_len);
		s.size = kept_len;
		if (a.arg) {
			CHECK_OK(mp_pages_free(kept, kept_len));
			kept = NULL;
		}
		memcpy(m->o.raw, &s, sizeof(s));
		m->o.size = 0;
		break;
	case T_REPLY_PAGES:
		own = pages(a.arg);
		h_fill(own, a.arg, a.seed);
		memset(&s, 0, sizeof(s));
		s.ino = map_inode(own);
		memcpy(m->o.raw, &s, sizeof(s));
		m->o.data = own;
		m->o.size = a.arg;
		m->flags = a.flags;
		break;
	case T_OUT_WRITE:
		seen_fill(&s, m, m->o.data);
		h_fill(m->o.data, a.arg, a.seed);
		m->o.size = a.arg;
		memcpy(m->o.raw, &s, sizeof(s));
		break;
	case T_FORWARD:
		do_forward(m, &a);
		break;
	case T_PROBE: {
		uint64_t v;
		struct iovec l = { &v, 8 }, r = { (void *)(uintptr_t)a.arg, 8 };

		memset(&s, 0, sizeof(s));
		s.seals = process_vm_readv(m->pid, &l, 1, &r, 1, 0) == 8 ? 0 : -errno;
		memcpy(m->o.raw, &s, sizeof(s));
		m->o.size = 0;
		break;
	}
	case T_LIGHT: {
		const unsigned char *in = m->i.data;

		memset(&s, 0, sizeof(s));
		if (m->i.size)
			s.csum = (uint32_t)in[0] << 8 | in[m->i.size - 1];
		if (m->o.size) {
			((unsigned char *)m->o.data)[0] = 1;
			((unsigned char *)m->o.data)[m->o.size - 1] = 2;
		}
		memcpy(m->o.raw, &s, sizeof(s));
		break;
	}
	case T_SLOW:
		h_sleep_ms((int)a.arg);
		memset(m->o.data, 0xee, m->o.size);
		break;
	default:
		m->o.size = 0;
		break;
	}
	{
		int r = mp_respond(port, m, rid);

		if (m->type != T_SLOW)
			CHECK_OK(r);
	}
	if (own && !(a.flags & MP_SHARE))
		CHECK_ERR(mp_pages_free(own, a.arg), -EINVAL);	/* moved away */
	else if (own)
		CHECK_OK(mp_pages_free(own, a.arg));
	return m->type != T_QUIT;
}

/* Port flags for the next pg_server forked (MP_PORT_*). */
static uint32_t pg_port_flags;

static void pg_server(void *arg)
{
	const char *path = arg;
	mp_port_opts_t opts = { .sz = sizeof(opts), .flags = pg_port_flags };
	mp_port_t port;

	CHECK_OK(mp_port_create_opts(&port, &opts));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid = 0;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_GE(r, 0);
		if (r == 1) {
			if (m.type == T_KEEP) {
				CHECK_EQ(m.flags, MP_MOVE);
				CHECK_OK(mp_pages_keep(m.i.data, m.i.size));
				kept = m.i.data;
				kept_len = m.i.size;
			}
			continue;
		}
		if (!serve_one(port, &m, rid))
			break;
	}
	CHECK_OK(mp_port_destroy(port));
}

static mp_port_t srv_start(const char *path, pid_t *pid)
{
	return h_server_start(pg_server, path, pid);
}

static void srv_stop(mp_port_t port, pid_t pid)
{
	h_server_quit(port, pid, T_QUIT);
}

/* A call of type with input (in, ilen), output (out, ocap) and ask a. */
static int call(mp_port_t port, uint32_t type, uint32_t flags, void *in, size_t ilen, void *out,
		size_t ocap, struct ask a, mp_msg_t *m)
{
	h_msg_init(m);
	m->type = type;
	m->flags = flags;
	m->i.data = in;
	m->i.size = ilen;
	m->o.data = out;
	m->o.size = ocap;
	memcpy(m->i.raw, &a, sizeof(a));
	return mp_send(port, m, MP_FOREVER);
}

static struct seen seen_of(const mp_msg_t *m)
{
	struct seen s;

	memcpy(&s, m->o.raw, sizeof(s));
	return s;
}

/* ------------------------------------------------------------ allocation */

TEST(pages_alloc_sizes)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *p;

	errno = 0;
	CHECK(mp_pages_alloc(0) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK(mp_pages_alloc(SIZE_MAX) == NULL);
	CHECK_EQ(errno, EOVERFLOW);
	CHECK(mp_pages_alloc(SIZE_MAX - pg + 2) == NULL);
	CHECK_EQ(errno, EOVERFLOW);
	CHECK(mp_pages_alloc(MP_DATA_MAX + 1) == NULL);
	CHECK_EQ(errno, EMSGSIZE);
	CHECK(mp_pages_alloc((size_t)1 << 40) == NULL);
	CHECK_EQ(errno, EMSGSIZE);

	p = pages(1);
	CHECK_EQ((uintptr_t)p % pg, 0);
	for (size_t k = 0; k < pg; k++)
		CHECK_EQ(p[k], 0);
	p[pg - 1] = 7;
	CHECK_OK(mp_pages_free(p, 1));

	/* 1 GiB, the most one message carries: first and last byte usable. */
	p = pages(MP_DATA_MAX);
	p[0] = 1;
	p[MP_DATA_MAX - 1] = 2;
	CHECK_EQ(count_pages_fds(0), 1);
	CHECK_OK(mp_pages_free(p, MP_DATA_MAX));
	CHECK_EQ(count_pages_fds(0), 0);
}

TEST(pages_bad_free)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *p = pages(3 * pg);
	void *m = xmalloc(64);

	CHECK_ERR(mp_pages_free(NULL, pg), -EINVAL);
	CHECK_ERR(mp_pages_free(p, 0), -EINVAL);
	CHECK_ERR(mp_pages_free(m, 64), -EINVAL);		/* not pages */
	CHECK_ERR(mp_pages_free(p + pg, pg), -EINVAL);		/* inside */
	CHECK_ERR(mp_pages_free(p, pg), -EINVAL);		/* other whole pages */
	CHECK_ERR(mp_pages_free(p, 4 * pg), -EINVAL);
	CHECK_ERR(mp_pages_free(p, SIZE_MAX), -EINVAL);
	CHECK_ERR(mp_pages_keep(m, 64), -EINVAL);
	CHECK_OK(mp_pages_free(p, 2 * pg + 1));			/* same whole pages */
	CHECK_ERR(mp_pages_free(p, 3 * pg), -EINVAL);		/* twice */
	CHECK_ERR(mp_pages_keep(p, 3 * pg), -EINVAL);
	free(m);
}

TEST(pages_bad_flags)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/flags", &pid);
	unsigned char *p = pages(PG);
	mp_msg_t m;
	struct ask a = { 0 };

	CHECK_ERR(call(port, T_INFO, MP_MOVE | MP_SHARE, p, PG, NULL, 0, a, &m), -EINVAL);
	CHECK_ERR(call(port, T_INFO, 0x8, p, PG, NULL, 0, a, &m), -EINVAL);
	m.flags = MP_MOVE | MP_SHARE;
	CHECK_ERR(mp_send_async(port, &m, MP_FOREVER), -EINVAL);
	/* Nothing was sent: the pages are still ours. */
	p[0] = 1;
	/* Moved pages cannot also be the output. */
	CHECK_ERR(call(port, T_INFO, MP_MOVE, p, PG, p + 8, 8, a, &m), -EINVAL);
	CHECK_ERR(call(port, T_INFO, 0, p, PG, p, PG, a, &m), -EINVAL);
	CHECK_EQ(p[0], 1);
	CHECK_OK(mp_pages_free(p, PG));
	srv_stop(port, pid);
}

/* A server that answers with bad flags first: -EINVAL, and the rid is not used up. */
static void bad_flags_server(void *arg)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	(void)arg;
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/pg/badrespond", 0666));
	CHECK_EQ(mp_recv(port, &m, &rid, MP_FOREVER), 0);
	m.o.size = 0;
	m.flags = MP_MOVE | MP_SHARE;
	CHECK_ERR(mp_respond(port, &m, rid), -EINVAL);
	m.flags = 0x100;
	CHECK_ERR(mp_respond(port, &m, rid), -EINVAL);
	m.flags = 0;
	CHECK_OK(mp_respond(port, &m, rid));
	CHECK_OK(mp_port_destroy(port));
}

TEST(pages_bad_flags_respond)
{
	pid_t pid = h_fork(bad_flags_server, NULL);
	mp_oid_t oid;
	mp_msg_t m;

	CHECK_OK(h_wait_lookup("/pg/badrespond", &oid, 10000));
	h_msg_init(&m);
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ------------------------------------------------------------ move */

TEST(pages_move_call)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/move", &pid);
	size_t len = 5 * MIB + 123;
	unsigned char *p = pages(len);
	unsigned char out[64];
	uint64_t ino;
	uint32_t sum;
	mp_msg_t m;
	struct seen s;
	struct ask a = { 0 };

	h_fill(p, len, 11);
	sum = fnv(p, len);
	ino = map_inode(p);
	CHECK_NE(ino, 0);
	CHECK_OK(call(port, T_INFO, 0, p, len, out, sizeof(out), a, &m));
	s = seen_of(&m);
	CHECK_EQ(s.flags, MP_MOVE);
	CHECK_EQ(s.size, len);
	CHECK_EQ(s.csum, sum);
	CHECK_EQ(s.aligned, 1);
	CHECK_EQ(s.ino, ino);	/* the very same pages: nothing was copied */
	CHECK(s.seals >= 0 && (s.seals & F_SEAL_WRITE));	/* frozen for the receiver */
	CHECK_EQ(m.o.size, sizeof(out));
	/* Gone from the sender: forgotten, unmapped, its memfd closed. */
	CHECK_ERR(mp_pages_free(p, len), -EINVAL);
	CHECK_EQ(map_inode(p), 0);
	CHECK_EQ(count_pages_fds(0), 0);
	srv_stop(port, pid);
}

TEST(pages_move_oneway)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/oneway", &pid);
	size_t len = 3 * PG + 1;
	unsigned char *p = pages(len);
	uint32_t sum;
	mp_msg_t m;

	h_fill(p, len, 5);
	sum = fnv(p, len);
	h_msg_init(&m);
	m.type = T_KEEP;
	m.i.data = p;
	m.i.size = len;
	CHECK_GE(mp_send_async(port, &m, MP_FOREVER), 0);
	CHECK_ERR(mp_pages_free(p, len), -EINVAL);	/* moved */
	CHECK_OK(call(port, T_KEPT, 0, NULL, 0, NULL, 0, (struct ask){ .arg = 1 }, &m));
	CHECK_EQ(seen_of(&m).csum, sum);
	CHECK_EQ(seen_of(&m).size, len);
	srv_stop(port, pid);
}

static void touch_moved(void *arg)
{
	mp_port_t port = (mp_port_t)(uintptr_t)arg;
	volatile unsigned char *p = pages(PG);
	mp_msg_t m;

	p[0] = 1;
	h_msg_init(&m);
	m.type = T_INFO;
	m.i.data = (void *)p;
	m.i.size = PG;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	signal(SIGSEGV, SIG_DFL);	/* not a sanitizer's report */
	p[0] = 2;	/* the pages are gone: SIGSEGV */
	_exit(3);
}

TEST(pages_move_touch_faults)
{
	pid_t pid, child;
	mp_port_t port = srv_start("/pg/segv", &pid);

	child = h_fork(touch_moved, (void *)(uintptr_t)port);
	CHECK_EQ(h_reap(child, 10000), 128 + SIGSEGV);
	srv_stop(port, pid);
}

/* A move that cannot be delivered (the server died) leaves the pages
 * with us, as they were and still writable; they can then be moved. */
TEST(pages_move_undelivered_stays)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/undelivered", &pid), port2;
	size_t len = 64 * KIB + 1;
	unsigned char *p = pages(len), *want = xmalloc(len);
	mp_msg_t m;
	int err;

	CHECK_OK(call(port, T_INFO, 0, NULL, 0, NULL, 0, (struct ask){ 0 }, &m));	/* connected */
	h_kill(pid);
	h_fill(p, len, 41);
	h_fill(want, len, 41);
	err = call(port, T_INFO, MP_MOVE, p, len, NULL, 0, (struct ask){ 0 }, &m);
	CHECK(err == -EPIPE || err == -ENOENT || err == -ECONNREFUSED);
	CHECK_MEM(p, want, len);
	p[len - 1] ^= 1;	/* still ours to write */
	want[len - 1] ^= 1;
	port2 = srv_start("/pg/undelivered2", &pid);
	CHECK_OK(call(port2, T_INFO, MP_MOVE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	CHECK_EQ(seen_of(&m).csum, fnv(want, len));
	CHECK_ERR(mp_pages_free(p, len), -EINVAL);
	free(want);
	srv_stop(port2, pid);
}

/* Moved pages the receiver never wrote go on as they are; written ones
 * go on as a copy with the writes. */
TEST(pages_move_forward)
{
	pid_t p1, p2;
	mp_port_t a1 = srv_start("/pg/fwd1", &p1);
	mp_port_t a2 = srv_start("/pg/fwd2", &p2);
	size_t len = 64 * KIB;
	unsigned char *p = pages(len);
	uint64_t ino = map_inode(p);
	uint32_t sum;
	mp_msg_t m;
	struct seen s;

	h_fill(p, len, 21);
	sum = fnv(p, len);
	CHECK_OK(call(a1, T_FORWARD, 0, p, len, NULL, 0,
		      (struct ask){ .flags = MP_MOVE, .arg = a2 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.flags, MP_MOVE);
	CHECK_EQ(s.csum, sum);
	CHECK_EQ(s.ino, ino);	/* zero-copy twice */

	p = pages(len);
	h_fill(p, len, 22);
	p[0] ^= 0xff;	/* what the first server's write gives */
	sum = fnv(p, len);
	p[0] ^= 0xff;
	ino = map_inode(p);
	CHECK_OK(call(a1, T_FORWARD, 0, p, len, NULL, 0,
		      (struct ask){ .seed = 1, .flags = MP_MOVE, .arg = a2 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.csum, sum);
	CHECK_NE(s.ino, ino);	/* copied once, with the write */
	srv_stop(a1, p1);
	srv_stop(a2, p2);
}

/* A fresh region's memfd is sealed against resizing when it first leaves
 * (moved: in the same call as the write seal); a move's address is kept
 * for the next region of that length, and the pages there are new ones,
 * moved and refused like any other. */
TEST(pages_move_seals_and_reused_address)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/reuse", &pid);
	size_t len = 256 * KIB;
	const int size_seals = F_SEAL_SHRINK | F_SEAL_GROW;
	unsigned char *p = pages(len), *q, *want = xmalloc(len);
	mp_msg_t m;
	struct seen s;
	uint64_t ino;

	h_fill(p, len, 51);
	CHECK_OK(call(port, T_INFO, MP_SHARE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	s = seen_of(&m);
	CHECK((s.seals & size_seals) == size_seals);	/* shared: sized, still writable */
	CHECK(!(s.seals & F_SEAL_WRITE));
	CHECK_OK(mp_pages_free(p, len));

	for (int k = 0; k < 6; k++) {
		q = pages(len);
		ino = map_inode(q);
		CHECK_NE(ino, 0);
		CHECK_EQ(q[0], 0);	/* new pages, whatever the address */
		CHECK_EQ(q[len - 1], 0);
		h_fill(q, len, 60 + (uint32_t)k);
		CHECK_OK(call(port, T_INFO, MP_MOVE, q, len, NULL, 0, (struct ask){ 0 }, &m));
		s = seen_of(&m);
		CHECK_EQ(s.ino, ino);
		CHECK((s.seals & (size_seals | F_SEAL_WRITE)) == (size_seals | F_SEAL_WRITE));
		h_fill(want, len, 60 + (uint32_t)k);
		CHECK_EQ(s.csum, fnv(want, len));
		CHECK_ERR(mp_pages_free(q, len), -EINVAL);	/* moved */
		CHECK_EQ(map_inode(q), 0);
		CHECK_EQ(seals_of_inode(ino), -1);	/* its memfd closed */
	}
	CHECK_EQ(count_pages_fds_used(), 0);

	/* A move that is not delivered still leaves the pages with us. */
	q = pages(len);
	h_fill(q, len, 70);
	h_fill(want, len, 70);
	h_kill(pid);
	CHECK(call(port, T_INFO, MP_MOVE, q, len, NULL, 0, (struct ask){ 0 }, &m) < 0);
	CHECK_MEM(q, want, len);
	q[0] ^= 1;
	CHECK_OK(mp_pages_free(q, len));
	free(want);
}

/* Held for pages_move_fresh_forked: keeps the inherited mapping. */
static void hold_mapping(void *arg)
{
	(void)arg;
	for (;;)
		pause();
}

/* A fresh region that a forked child still maps writable cannot be write
 * sealed: it leaves sealed against resizing only and the receiver copies. */
TEST(pages_move_fresh_forked)
{
	pid_t pid, child;
	mp_port_t port = srv_start("/pg/forked", &pid);
	size_t len = 64 * KIB;
	unsigned char *p = pages(len);
	uint32_t sum;
	uint64_t ino;
	mp_msg_t m;
	struct seen s;

	h_fill(p, len, 81);
	sum = fnv(p, len);
	ino = map_inode(p);
	child = h_fork(hold_mapping, NULL);
	CHECK_OK(call(port, T_INFO, MP_MOVE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.csum, sum);
	CHECK_NE(s.ino, ino);	/* copied: the child could still write them */
	CHECK_ERR(mp_pages_free(p, len), -EINVAL);
	h_kill(child);
	srv_stop(port, pid);
}

/* For pages_ready_not_inherited: writes a region of the length moved. */
static void write_fresh(void *arg)
{
	size_t len = (size_t)(uintptr_t)arg;
	unsigned char *q = mp_pages_alloc(len);

	CHECK(q != NULL);
	memset(q, 0x77, len);
	_exit(0);
}

/* After moves the library may make a region of that length ready for the
 * next mp_pages_alloc() (ring transports).  A child forked then must not
 * be handed the same memfd: the parent's next region stays its own. */
TEST(pages_ready_not_inherited)
{
	pid_t pid, child;
	mp_port_t port = srv_start("/pg/ready", &pid);
	size_t len = 256 * KIB;
	unsigned char *q;
	mp_msg_t m;

	for (int k = 0; k < 3; k++) {
		q = pages(len);
		h_fill(q, len, 90 + (uint32_t)k);
		CHECK_OK(call(port, T_INFO, MP_MOVE, q, len, NULL, 0, (struct ask){ 0 }, &m));
	}
	child = h_fork(write_fresh, (void *)(uintptr_t)len);
	CHECK_EQ(h_reap(child, 10000), 0);
	q = pages(len);
	CHECK_EQ(q[0], 0);
	CHECK_EQ(q[len - 1], 0);
	CHECK_OK(mp_pages_free(q, len));
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ share */

TEST(pages_share_both_ways)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/share", &pid);
	size_t len = 2 * MIB;
	unsigned char *p = pages(len), *want = xmalloc(len);
	mp_msg_t m;
	struct seen s;

	h_fill(p, len, 1);
	/* The server writes into the shared pages: we see it. */
	CHECK_OK(call(port, T_WRITE_IN, MP_SHARE, p, len, NULL, 0, (struct ask){ .seed = 2 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.flags, MP_SHARE);
	CHECK_EQ(s.ino, map_inode(p));
	CHECK(s.seals >= 0 && !(s.seals & F_SEAL_WRITE));
	h_fill(want, len, 2);
	CHECK_MEM(p, want, len);
	/* It keeps them; we write; it sees our write. */
	CHECK_OK(call(port, T_KEEP, MP_SHARE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	h_fill(p, len, 3);
	h_fill(want, len, 3);
	CHECK_OK(call(port, T_KEPT, 0, NULL, 0, NULL, 0, (struct ask){ .arg = 1 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.csum, fnv(want, len));
	/* Still ours. */
	CHECK_OK(mp_pages_free(p, len));
	free(want);
	srv_stop(port, pid);
}

/* More shared regions than a ring connection keeps mapped (16), each
 * shared again after we changed it: the server sees every region's
 * current bytes, and its writes reach the right region. */
TEST(pages_share_many_regions)
{
	enum { NREG = 21 };
	pid_t pid;
	mp_port_t port = srv_start("/pg/sharemany", &pid);
	size_t len = 3 * PG + 5;
	unsigned char *r[NREG], *want = xmalloc(len);
	mp_msg_t m;

	for (int k = 0; k < NREG; k++) {
		r[k] = pages(len);
		h_fill(r[k], len, (uint32_t)k);
	}
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < NREG; k++) {
			uint32_t seed = (uint32_t)(round * 100 + k);

			h_fill(r[k], len, seed);
			CHECK_OK(call(port, T_INFO, MP_SHARE, r[k], len, NULL, 0, (struct ask){ 0 }, &m));
			CHECK_EQ(seen_of(&m).csum, fnv(r[k], len));
			CHECK_EQ(seen_of(&m).size, len);
			CHECK_EQ(seen_of(&m).flags, MP_SHARE);
		}
		/* the server writes into one of them */
		CHECK_OK(call(port, T_WRITE_IN, MP_SHARE, r[round], len, NULL, 0,
			      (struct ask){ .seed = 77u + (uint32_t)round }, &m));
		h_fill(want, len, 77u + (uint32_t)round);
		CHECK_MEM(r[round], want, len);
	}
	for (int k = 0; k < NREG; k++)
		CHECK_OK(mp_pages_free(r[k], len));
	free(want);
	srv_stop(port, pid);
}

/* A server that asked for long input in place: on hybrid it reads an
 * ordinary buffer where the caller copied it (msg->flags MP_SHARE, one
 * copy); elsewhere the input comes as before (private).  The bytes are
 * right either way, at every size across the ring's inline limit. */
TEST(pages_server_reads_input_in_place)
{
	static const size_t lens[] = { 100, 4096, 4097, 64 * KIB, 3 * MIB + 1 };
	bool hybrid = getenv("MSGPORT_TRANSPORT") && !strcmp(getenv("MSGPORT_TRANSPORT"), "hybrid");
	unsigned char *buf = xmalloc(3 * MIB + 1);
	mp_port_t port;
	pid_t pid;
	mp_msg_t m;

	pg_port_flags = MP_PORT_INPUT_IN_PLACE;
	port = srv_start("/pg/inplace", &pid);
	pg_port_flags = 0;
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		h_fill(buf, lens[k], (uint32_t)k + 90);
		CHECK_OK(call(port, T_INFO, 0, buf, lens[k], NULL, 0, (struct ask){ 0 }, &m));
		CHECK_EQ(seen_of(&m).csum, fnv(buf, lens[k]));
		CHECK_EQ(seen_of(&m).size, lens[k]);
		/* in the bulk area: what the ring cannot carry inline */
		CHECK_EQ(seen_of(&m).flags, hybrid && lens[k] > 4096 ? MP_SHARE : 0);
	}
	free(buf);
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ threads */

/* A pages server whose port three threads serve at once. */
static void *mt_serve(void *arg)
{
	mp_port_t port = (mp_port_t)(uintptr_t)arg;

	for (;;) {
		mp_msg_t m;
		mp_rid_t rid = 0;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		if (r < 0)
			return NULL;	/* the port is gone: T_QUIT came */
		if (r == 0 && !serve_one(port, &m, rid)) {
			CHECK_OK(mp_port_destroy(port));
			return NULL;
		}
	}
}

static void mt_server(void *arg)
{
	const char *path = arg;
	mp_port_t port;
	pthread_t th[2];

	serve_threads = true;
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (int k = 0; k < 2; k++)
		CHECK_OK(pthread_create(&th[k], NULL, mt_serve, (void *)(uintptr_t)port));
	mt_serve((void *)(uintptr_t)port);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
}

struct mt_client {
	mp_port_t port;
	unsigned t;
};

/* Shares 20 regions in turn (more than a connection keeps), as input or
 * lent for the answer, and checks every byte that comes back. */
static void *mt_client_run(void *arg)
{
	enum { NREG = 20 };
	const struct mt_client *c = arg;
	size_t len = 2 * PG + 100;
	unsigned char *r[NREG], *want = xmalloc(len);
	mp_msg_t m;

	for (int k = 0; k < NREG; k++)
		r[k] = pages(len);
	for (unsigned i = 0; i < 400; i++) {
		unsigned k = (i * 7 + c->t) % NREG;
		uint32_t seed = c->t * 100000u + i;

		if (i % 3 == 0) {
			size_t n = 1 + (i * 37) % len;
			unsigned char in[8] = { 0 };

			CHECK_OK(call(c->port, T_OUT_WRITE, MP_SHARE, in, sizeof(in), r[k], len,
				      (struct ask){ .seed = seed, .arg = n }, &m));
			CHECK_EQ(m.o.size, n);
			h_fill(want, n, seed);
			CHECK_MEM(r[k], want, n);
		} else {
			h_fill(r[k], len, seed);
			CHECK_OK(call(c->port, T_INFO, MP_SHARE, r[k], len, NULL, 0, (struct ask){ 0 },
				      &m));
			CHECK_EQ(seen_of(&m).csum, fnv(r[k], len));
		}
		if (i % 50 == 49) {	/* freed and made anew: forgotten, kept again */
			CHECK_OK(mp_pages_free(r[k], len));
			r[k] = pages(len);
		}
	}
	for (int k = 0; k < NREG; k++)
		CHECK_OK(mp_pages_free(r[k], len));
	free(want);
	return NULL;
}

/* Three client threads share pages with a server that three threads
 * serve: kept mappings are taken, replaced and forgotten concurrently. */
TEST(pages_share_threads)
{
	pid_t pid;
	mp_port_t port = h_server_start(mt_server, "/pg/mt", &pid);
	struct mt_client c[3];
	pthread_t th[3];

	for (unsigned t = 0; t < 3; t++) {
		c[t] = (struct mt_client){ port, t };
		CHECK_OK(pthread_create(&th[t], NULL, mt_client_run, &c[t]));
	}
	for (unsigned t = 0; t < 3; t++)
		pthread_join(th[t], NULL);
	srv_stop(port, pid);
}

/* Pages shared (and released by the server) and then moved are still
 * moved without a copy, frozen: a ring server that kept them mapped
 * lets go of them first. */
TEST(pages_move_after_released_share_zero_copy)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/sharethenmove", &pid);
	size_t len = 128 * KIB;
	unsigned char *p = pages(len);
	uint64_t ino = map_inode(p);
	uint32_t sum;
	mp_msg_t m;
	struct seen s;

	h_fill(p, len, 31);
	CHECK_OK(call(port, T_INFO, MP_SHARE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	CHECK_OK(call(port, T_INFO, MP_SHARE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	sum = fnv(p, len);
	CHECK_OK(call(port, T_INFO, MP_MOVE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.flags, MP_MOVE);
	CHECK_EQ(s.csum, sum);
	CHECK_EQ(s.ino, ino);	/* the same pages */
	CHECK(s.seals >= 0 && (s.seals & F_SEAL_WRITE));
	CHECK_ERR(mp_pages_free(p, len), -EINVAL);
	srv_stop(port, pid);
}

/* Pages shared before and then moved cannot be frozen: the receiver gets
 * a copy, and the sharer's later writes do not reach it. */
TEST(pages_move_after_share_copies)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/sharemove", &pid);
	size_t len = 256 * KIB;
	unsigned char *p = pages(len);
	uint64_t ino = map_inode(p);
	uint32_t sum;
	mp_msg_t m;
	struct seen s;

	h_fill(p, len, 9);
	sum = fnv(p, len);
	CHECK_OK(call(port, T_KEEP, MP_SHARE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	/* Now move them to the same server, which still maps them shared. */
	CHECK_OK(call(port, T_INFO, MP_MOVE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.flags, MP_MOVE);
	CHECK_NE(s.ino, ino);		/* a copy */
	CHECK_EQ(s.csum, sum);
	CHECK_ERR(mp_pages_free(p, len), -EINVAL);
	CHECK_OK(call(port, T_KEPT, 0, NULL, 0, NULL, 0, (struct ask){ .arg = 1 }, &m));
	CHECK_EQ(seen_of(&m).csum, sum);
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ output */

TEST(pages_lent_output)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/lend", &pid);
	size_t cap = 4 * MIB, n = 3 * MIB + 5;
	unsigned char *out = pages(cap), *want = xmalloc(n);
	unsigned char in[16] = "hello";
	mp_msg_t m;
	struct seen s;

	memset(out, 0x11, cap);
	CHECK_OK(call(port, T_OUT_WRITE, MP_SHARE, in, sizeof(in), out, cap,
		      (struct ask){ .seed = 4, .arg = n }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.ino, map_inode(out));	/* the server wrote our own pages */
	CHECK_EQ(s.ocap, cap);
	CHECK_EQ(m.o.size, n);
	h_fill(want, n, 4);
	CHECK_MEM(out, want, n);
	CHECK_EQ(out[n], 0x11);
	CHECK_OK(mp_pages_free(out, cap));
	free(want);
	srv_stop(port, pid);
}

/* Output pages lent again and again (kept mapped by a ring server), more
 * regions than it keeps, answers of every length (none, inline, long):
 * each answer lands in the right pages, o.size exact, nothing beyond it
 * written. */
TEST(pages_lent_output_again)
{
	enum { NREG = 19 };
	static const size_t lens[] = { 0, 1, 100, 4096, 5000, 40000, 3 * MIB + 7 };
	pid_t pid;
	mp_port_t port = srv_start("/pg/lendagain", &pid);
	size_t cap = 4 * MIB;
	unsigned char *out[NREG], *want = xmalloc(cap);
	unsigned char in[16] = "again";
	mp_msg_t m;

	for (int k = 0; k < NREG; k++)
		out[k] = pages(cap);
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < NREG; k++) {
			size_t n = lens[(size_t)(k + round) % (sizeof(lens) / sizeof(lens[0]))];
			uint32_t seed = (uint32_t)(round * 50 + k);

			memset(out[k], 0x11, n + 1);
			CHECK_OK(call(port, T_OUT_WRITE, MP_SHARE, in, sizeof(in), out[k], cap,
				      (struct ask){ .seed = seed, .arg = n }, &m));
			CHECK_EQ(m.o.size, n);
			CHECK_EQ(seen_of(&m).ocap, cap);
			h_fill(want, n, seed);
			CHECK_MEM(out[k], want, n);
			CHECK_EQ(out[k][n], 0x11);
		}
	}
	for (int k = 0; k < NREG; k++)
		CHECK_OK(mp_pages_free(out[k], cap));
	free(want);
	srv_stop(port, pid);
}

/* The same pages lent for the answer and shared as the input: the server
 * reads the request and answers over it. */
TEST(pages_lent_output_same_as_input)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/lendsame", &pid);
	size_t cap = 256 * KIB, n = 100 * KIB + 3;
	unsigned char *p = pages(cap), *want = xmalloc(cap);
	mp_msg_t m;

	for (int round = 0; round < 3; round++) {
		h_fill(p, cap, 60u + (uint32_t)round);
		CHECK_OK(call(port, T_OUT_WRITE, MP_SHARE, p, cap, p, cap,
			      (struct ask){ .seed = 70u + (uint32_t)round, .arg = n }, &m));
		CHECK_EQ(m.o.size, n);
		h_fill(want, cap, 60u + (uint32_t)round);
		CHECK_EQ(seen_of(&m).csum, fnv(want, cap));	/* it read the request first */
		h_fill(want, n, 70u + (uint32_t)round);
		CHECK_MEM(p, want, n);
	}
	CHECK_OK(mp_pages_free(p, cap));
	free(want);
	srv_stop(port, pid);
}

TEST(pages_reply_pages)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/reply", &pid);
	size_t len = 8 * MIB;
	unsigned char *want = xmalloc(len), *buf = xmalloc(len), *out;
	mp_msg_t m;
	struct seen s;

	h_fill(want, len, 31);
	/* Into an ordinary buffer: copied. */
	CHECK_OK(call(port, T_REPLY_PAGES, 0, NULL, 0, buf, len,
		      (struct ask){ .seed = 31, .arg = len }, &m));
	CHECK_EQ(m.o.size, len);
	CHECK_MEM(buf, want, len);
	/* Into pages of ours that it covers: mapped in place. */
	out = pages(len);
	memset(out, 1, len);
	CHECK_OK(call(port, T_REPLY_PAGES, 0, NULL, 0, out, len,
		      (struct ask){ .seed = 31, .arg = len, .flags = MP_MOVE }, &m));
	s = seen_of(&m);
	CHECK_EQ(m.o.size, len);
	CHECK_MEM(out, want, len);
	CHECK_EQ(map_inode(out), s.ino);
	CHECK(seals_of_inode(s.ino) & F_SEAL_WRITE);
	out[0] = 9;	/* ours to write */
	/* A shorter answer into the same pages: copied, the rest untouched. */
	CHECK_OK(call(port, T_REPLY_PAGES, 0, NULL, 0, out, len,
		      (struct ask){ .seed = 32, .arg = 100 * KIB }, &m));
	h_fill(buf, 100 * KIB, 32);
	CHECK_MEM(out, buf, 100 * KIB);
	CHECK_MEM(out + 100 * KIB, want + 100 * KIB, len - 100 * KIB);
	CHECK_OK(mp_pages_free(out, len));
	CHECK_EQ(count_pages_fds(0), 0);
	free(want);
	free(buf);
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ alignment */

/* One echo call: input at in (ilen), output at out (ocap); both checked,
 * and nothing outside [out, out + ocap) written. */
static void xor_call(mp_port_t port, unsigned char *in, size_t ilen, unsigned char *out,
		     size_t ocap, unsigned char *oguard_lo, unsigned char *oguard_hi, uint32_t flags)
{
	size_t n = ilen < ocap ? ilen : ocap;
	uint32_t seed = (uint32_t)(ilen * 31 + ocap);
	unsigned char *want = xmalloc(ilen);
	mp_msg_t m;
	struct seen s;

	h_fill(in, ilen, seed);
	memcpy(want, in, ilen);
	memset(oguard_lo, 0xc3, (size_t)(oguard_hi - oguard_lo));
	CHECK_OK(call(port, T_INFO, flags, in, ilen, out, ocap, (struct ask){ 0 }, &m));
	s = seen_of(&m);
	CHECK_EQ(s.size, ilen);
	CHECK_EQ(s.csum, fnv(want, ilen));
	CHECK_EQ(m.o.size, n);
	for (size_t k = 0; k < n; k++)
		if (out[k] != (want[k] ^ 0x5a))
			FAIL("in %zu out %zu: byte %zu wrong", ilen, ocap, k);
	for (unsigned char *g = oguard_lo; g < out; g++)
		CHECK_EQ(*g, 0xc3);
	for (unsigned char *g = out + n; g < oguard_hi; g++)
		if (*g != 0xc3)
			FAIL("in %zu out %zu: byte %td past the answer written", ilen, ocap,
			     g - out);
	free(want);
}

/* Input length for a buffer at head offset h that spans k pages and ends
 * at a page boundary (t 0), one byte before (-1) or after (+1) it. */
static size_t span_len(size_t h, size_t k, int t)
{
	return k * PG - h + (size_t)(long)t;
}

/* Every head offset (0, 1, 4095 within a page) and tail (ending on, just
 * before and just after a page boundary) of both buffers, short and past
 * the 64 KiB threshold of process_vm_readv/writev, output longer and
 * shorter than the input: in ordinary memory, inside pages (not at their
 * start: ordinary too), and at the start of pages (shared, lent). */
TEST(pages_unaligned_every_head_tail)
{
	static const size_t heads[] = { 0, 1, PG - 1 };
	static const size_t spans[] = { 1, 3, 20, 75 };
	pid_t pid;
	mp_port_t port = srv_start("/pg/align", &pid);
	size_t area = 80 * PG;
	unsigned char *ibuf, *obuf, *ipg = pages(area), *opg = pages(area);
	long calls = 0;

	CHECK_OK(posix_memalign((void **)&ibuf, PG, area));
	CHECK_OK(posix_memalign((void **)&obuf, PG, area));
	for (int where = 0; where < 3; where++) {
		unsigned char *ib = where == 0 ? ibuf : where == 1 ? ipg + PG : ipg;
		unsigned char *ob = where == 0 ? obuf : where == 1 ? opg + PG : opg;
		uint32_t flags = where == 2 ? MP_SHARE : 0;
		unsigned char *ohi = ob + (where == 1 ? area - PG : area);

		for (size_t hi = 0; hi < 3; hi++)
			for (size_t oh = 0; oh < 3; oh++)
				for (size_t si = 0; si < 4; si++)
					for (int t = -1; t <= 1; t++) {
						size_t h = where == 2 ? 0 : heads[hi];
						size_t o = where == 2 ? 0 : heads[oh];
						size_t il = span_len(h, spans[si], t);
						size_t ol = span_len(o, spans[(si + oh) % 4], -t);

						if (il == 0 || ol == 0 || h + il > area - PG ||
						    o + ol > area - PG)
							continue;
						xor_call(port, ib + h, il, ob + o, ol, ob, ohi, flags);
						calls++;
					}
	}
	CHECK_GT(calls, 200);
	CHECK_OK(mp_pages_free(ipg, area));
	CHECK_OK(mp_pages_free(opg, area));
	free(ibuf);
	free(obuf);
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ ordinary buffers */

/* A caller with a finite timeout gives up; the server's late answer
 * (long: it would go by process_vm_writev) must not touch its buffer. */
TEST(pages_vm_no_write_after_timeout)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/late", &pid);
	size_t len = 1 * MIB;
	unsigned char *in = xmalloc(len), *out = xmalloc(len);
	mp_msg_t m;

	memset(in, 1, len);
	memset(out, 0x77, len);
	h_msg_init(&m);
	m.type = T_SLOW;
	m.i.data = in;
	m.i.size = len;
	m.o.data = out;
	m.o.size = len;
	memcpy(m.i.raw, &(struct ask){ .arg = 300 }, sizeof(struct ask));
	CHECK_ERR(mp_send(port, &m, 50 * 1000000LL), -ETIMEDOUT);
	h_sleep_ms(600);
	for (size_t k = 0; k < len; k++)
		if (out[k] != 0x77)
			FAIL("byte %zu written after the call gave up", k);
	free(in);
	free(out);
	srv_stop(port, pid);
}

/* Drop CAP_SYS_PTRACE (as root it would allow everything). */
static void drop_ptrace_cap(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	CHECK_OK(syscall(SYS_capget, &hdr, data));
	data[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
	data[CAP_SYS_PTRACE / 32].permitted &= ~(1u << (CAP_SYS_PTRACE % 32));
	CHECK_OK(syscall(SYS_capset, &hdr, data));
}

static void denied_server(void *arg)
{
	drop_ptrace_cap();
	pg_server(arg);
}

/* The kernel refuses process_vm_readv/writev (the caller is not dumpable
 * and the server may not ptrace it): the data goes the other way, and
 * every byte still arrives, both ways. */
TEST(pages_vm_denied_falls_back)
{
	pid_t pid = h_fork(denied_server, "/pg/denied");
	mp_oid_t oid;
	size_t len = 3 * MIB + 7;
	unsigned char *in = xmalloc(len), *out = xmalloc(len + PG);
	mp_msg_t m;

	CHECK_OK(h_wait_lookup("/pg/denied", &oid, 10000));
	CHECK_OK(prctl(PR_SET_DUMPABLE, 0));
	/* Denied indeed: the server cannot read us. */
	CHECK_OK(call(oid.port, T_PROBE, 0, NULL, 0, NULL, 0,
		      (struct ask){ .arg = (uintptr_t)in }, &m));
	CHECK_ERR(seen_of(&m).seals, -EPERM);
	for (int k = 0; k < 3; k++)
		xor_call(oid.port, in, len, out, len, out, out + len + PG, 0);
	CHECK_OK(prctl(PR_SET_DUMPABLE, 1));
	free(in);
	free(out);
	srv_stop(oid.port, pid);
}

/* ------------------------------------------------------------ bounded */

/* Seconds of transfers per transport ($MSGPORT_PAGES_BOUND_S, default 12;
 * the harness's timeout must leave room for it). */
static int64_t bound_ns(void)
{
	const char *e = getenv("MSGPORT_PAGES_BOUND_S");
	double s = e ? atof(e) : 12.0;

	return (int64_t)((s > 0 ? s : 12.0) * 1e9);
}

struct bound_stats {
	long calls;
	size_t rss0, rss1;
	int fds0, fds1;
};

/* One round of the mix: 100 pages moved (one in four one-way), then
 * shared pages in, an ordinary buffer both ways, pages out. */
static void bound_round(mp_port_t port, unsigned char *shared, unsigned char *in,
			unsigned char *out, size_t big, struct bound_stats *b)
{
	struct ask a = { 0 };
	mp_msg_t m;

	for (int k = 0; k < 100; k++) {
		unsigned char *p = pages(PG);

		p[0] = (unsigned char)k;
		h_msg_init(&m);
		m.type = T_LIGHT;
		m.i.data = p;
		m.i.size = PG;
		if (k % 4 == 0)
			CHECK_GE(mp_send_async(port, &m, MP_FOREVER), 0);
		else
			CHECK_OK(call(port, T_LIGHT, 0, p, PG, NULL, 0, a, &m));
	}
	CHECK_OK(call(port, T_LIGHT, MP_SHARE, shared, big, NULL, 0, a, &m));
	CHECK_OK(call(port, T_LIGHT, 0, in, big, out, big, a, &m));
	CHECK_OK(call(port, T_REPLY_PAGES, 0, NULL, 0, out, big, (struct ask){ .arg = 2 * PG }, &m));
	b->calls += 103;
}

/* Many transfers of every kind: moved and shared pages in, pages out,
 * ordinary buffers both ways, one-way moves.  RSS and descriptors
 * (memfds included) end where they started, on both sides; the count is
 * printed (as many as fit in the time given). */
TEST(pages_many_transfers_bounded)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/bound", &pid);
	size_t big = 256 * KIB;
	unsigned char *shared = pages(big), *in = xmalloc(big), *out = xmalloc(big);
	struct bound_stats b = { 0 };
	int64_t t0, end;

	memset(in, 1, big);
	memset(out, 2, big);
	memset(shared, 3, big);
	for (int k = 0; k < 20; k++)	/* lazily made state exists after this */
		bound_round(port, shared, in, out, big, &b);
	b.calls = 0;
	b.rss0 = rss_bytes();
	b.fds0 = h_count_fds();
	t0 = h_now_ns();
	end = t0 + bound_ns();
	while (h_now_ns() < end)
		bound_round(port, shared, in, out, big, &b);
	b.rss1 = rss_bytes();
	b.fds1 = h_count_fds();
	fprintf(stderr, "  %ld transfers in %.1f s: RSS %zu -> %zu KiB, fds %d -> %d\n", b.calls,
		(double)(h_now_ns() - t0) / 1e9, b.rss0 >> 10, b.rss1 >> 10, b.fds0, b.fds1);
	CHECK_EQ(b.fds1, b.fds0);
	CHECK_LE(b.rss1, b.rss0 + 2 * MIB);
	CHECK_EQ(count_pages_fds_used(), 1);	/* the shared pages */
	/* On the ring transports the server keeps the shared pages mapped
	 * while we have them; freeing them tells it to let go at once. */
	CHECK_OK(mp_pages_free(shared, big));
	CHECK_EQ(count_pages_fds_used(), 0);
	/* The server let go of everything (it releases the input after
	 * sending the answer, and kept pages when told: give it a moment). */
	for (int k = 0; k < 1000 && count_pages_fds(pid) != 0; k++)
		h_sleep_ms(1);
	CHECK_EQ(count_pages_fds(pid), 0);
	free(in);
	free(out);
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ death */

static atomic_int *kept_flag;

/* Receives pages, keeps them, and waits to be killed. */
static void keeper(void *arg)
{
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	(void)arg;
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/pg/keeper", 0666));
	for (;;) {
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		CHECK_EQ(r, 0);
		CHECK_OK(mp_pages_keep(m.i.data, m.i.size));
		memset(m.i.data, 0x42, m.i.size);	/* private copies of every page */
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
		atomic_fetch_add(kept_flag, 1);
	}
}

TEST(pages_receiver_killed)
{
	size_t len = 64 * MIB;
	mp_oid_t oid;
	pid_t pid;
	unsigned char *p;
	uint64_t ino_moved, ino_shared;
	size_t rss0;
	int fds0 = count_pages_fds_used();
	mp_msg_t m;

	kept_flag = h_shared(sizeof(*kept_flag));
	pid = h_fork(keeper, NULL);
	CHECK_OK(h_wait_lookup("/pg/keeper", &oid, 10000));
	rss0 = rss_bytes();
	/* Moved: the receiver is the only holder. */
	p = pages(len);
	memset(p, 1, len);
	ino_moved = map_inode(p);
	CHECK_OK(call(oid.port, 0, MP_MOVE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	/* Shared: we hold them too. */
	p = pages(len);
	memset(p, 2, len);
	ino_shared = map_inode(p);
	CHECK_OK(call(oid.port, 0, MP_SHARE, p, len, NULL, 0, (struct ask){ 0 }, &m));
	CHECK(h_wait_ge(kept_flag, 2, 5000));
	CHECK_EQ(count_pages_fds(pid), 2);
	CHECK(inode_alive(ino_moved));
	h_kill(pid);
	/* Nothing of the moved pages is left anywhere. */
	CHECK(!inode_alive(ino_moved));
	CHECK_EQ(count_pages_fds_used(), fds0 + 1);
	/* The shared ones are ours still, with the receiver's writes. */
	CHECK(inode_alive(ino_shared));
	CHECK_EQ(p[0], 0x42);
	CHECK_EQ(p[len - 1], 0x42);
	CHECK_OK(mp_pages_free(p, len));
	CHECK(!inode_alive(ino_shared));
	CHECK_EQ(count_pages_fds_used(), fds0);
	CHECK_LE(rss_bytes(), rss0 + 16 * MIB);	/* 128 MiB went through (sanitizers use some) */
}

/* A client that shares pages (kept mapped by a ring server) and lends
 * output pages, then dies: the server lets go of all of them, and they
 * are gone from the system. */
static atomic_uint_fast64_t *dead_inos;

static void sharer(void *arg)
{
	mp_port_t port = (mp_port_t)(uintptr_t)arg;
	unsigned char *in = pages(3 * PG), *out = pages(5 * PG);
	mp_msg_t m;

	memset(in, 3, 3 * PG);
	for (int k = 0; k < 3; k++) {
		CHECK_OK(call(port, T_INFO, MP_SHARE, in, 3 * PG, NULL, 0, (struct ask){ 0 }, &m));
		CHECK_OK(call(port, T_OUT_WRITE, MP_SHARE, in, 8, out, 5 * PG,
			      (struct ask){ .seed = 1, .arg = 100 }, &m));
	}
	dead_inos[0] = map_inode(in);
	dead_inos[1] = map_inode(out);
	for (;;)
		pause();	/* killed here, pages still shared */
}

TEST(pages_sharer_killed)
{
	pid_t pid, child;
	mp_port_t port = srv_start("/pg/sharerdies", &pid);
	mp_msg_t m;

	dead_inos = h_shared(2 * sizeof(*dead_inos));
	child = h_fork(sharer, (void *)(uintptr_t)port);
	for (int k = 0; k < 5000 && !dead_inos[1]; k++)
		h_sleep_ms(1);
	CHECK(dead_inos[0] && dead_inos[1]);
	h_kill(child);
	/* The server notices the hang-up when it next looks at the port. */
	CHECK_OK(call(port, T_INFO, 0, NULL, 0, NULL, 0, (struct ask){ 0 }, &m));
	for (int k = 0; k < 1000 && count_pages_fds(pid) != 0; k++)
		h_sleep_ms(1);
	CHECK_EQ(count_pages_fds(pid), 0);
	CHECK(!inode_alive(dead_inos[0]));
	CHECK(!inode_alive(dead_inos[1]));
	srv_stop(port, pid);
}

/* ------------------------------------------------------------ hostile peers */

#include <sys/socket.h>
#include <sys/un.h>

#include "transport/sock.h"
#include "transport/transport.h"
#include "proto/wire.h"

static void frame_init(struct mp_frame *f, unsigned kind, uint64_t size)
{
	memset(f, 0, sizeof(*f));
	f->magic = MP_FRAME_MAGIC;
	f->kind = (uint8_t)kind;
	f->seq = 1;
	f->data_size = size;
}

static int send_frame(int s, const struct mp_frame *f, const int *fds, unsigned nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { (void *)f, sizeof(*f) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cb.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* A raw connection to port, as a hostile client would open it. */
static int raw_connect(mp_port_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	CHECK_GE(s, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ports/%u.sock", getenv("MSGPORT_ROOT"),
		 port);
	CHECK_OK(connect(s, (struct sockaddr *)&sa, sizeof(sa)));
	return s;
}

/* The server dropped the connection (recv sees the hang-up) in time. */
static bool dropped(int s)
{
	struct timeval tv = { 5, 0 };
	char b[256];

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(s, b, sizeof(b), 0) == 0;
}

static int memfd_sized(size_t len, unsigned seals)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK_GE(fd, 0);
	CHECK_OK(ftruncate(fd, (off_t)len));
	if (seals)
		CHECK_OK(fcntl(fd, F_ADD_SEALS, seals));
	return fd;
}

#define SEALS_OK (F_SEAL_SHRINK | F_SEAL_GROW)

/* One bad frame costs its sender the connection, nothing else. */
TEST(pages_hostile_client_frames)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/hostile", &pid);
	struct mp_frame f;
	int pipefd[2];
	unsigned char buf[8];
	mp_msg_t m;

	CHECK_OK(pipe(pipefd));
	for (int k = 0; k < 13; k++) {
		int s = raw_connect(port), fds[2] = { -1, -1 };
		unsigned nfds = 0;

		frame_init(&f, MP_FRAME_CALL, 100);
		switch (k) {
		case 0:	/* pages without the size seals */
			f.flags = MP_FRAME_DATA_PAGES;
			fds[nfds++] = memfd_sized(PG, 0);
			break;
		case 1:	/* pages shorter than the data */
			f.flags = MP_FRAME_DATA_PAGES;
			f.data_size = 3 * PG;
			fds[nfds++] = memfd_sized(PG, SEALS_OK);
			break;
		case 2:	/* pages that are a pipe */
			f.flags = MP_FRAME_DATA_PAGES;
			fds[nfds++] = pipefd[0];
			break;
		case 3:	/* shared pages we sealed against writes */
			f.flags = MP_FRAME_DATA_PAGES | MP_FRAME_PAGES_SHARE;
			fds[nfds++] = memfd_sized(PG, SEALS_OK | F_SEAL_WRITE);
			break;
		case 4:	/* lent output pages without seals */
			f.data_size = 0;
			f.out_capacity = PG;
			f.flags = MP_FRAME_OUT_PAGES;
			fds[nfds++] = memfd_sized(PG, 0);
			break;
		case 5:	/* our "memory" is not mapped */
			f.flags = MP_FRAME_DATA_VM;
			f.in_addr = 0x1000;
			break;
		case 6:	/* shared, but no pages */
			f.flags = MP_FRAME_PAGES_SHARE;
			break;
		case 7:	/* placed data on a call */
			f.flags = MP_FRAME_DATA_PLACED;
			break;
		case 8:	/* two places at once */
			f.flags = MP_FRAME_DATA_PAGES | MP_FRAME_DATA_MEMFD;
			fds[nfds++] = memfd_sized(PG, SEALS_OK);
			break;
		case 9:	/* left in our memory, but one-way: we do not wait */
			f.kind = MP_FRAME_ONEWAY;
			f.flags = MP_FRAME_DATA_VM;
			f.in_addr = (uintptr_t)buf;
			break;
		case 10: /* pages of no data */
			f.data_size = 0;
			f.flags = MP_FRAME_DATA_PAGES;
			fds[nfds++] = memfd_sized(PG, SEALS_OK);
			break;
		case 11: /* an address without its flag */
			f.in_addr = (uintptr_t)buf;
			f.data_size = 0;
			break;
		case 12: /* a range that wraps */
			f.flags = MP_FRAME_DATA_VM;
			f.in_addr = UINT64_MAX - 10;
			break;
		}
		CHECK_OK(send_frame(s, &f, fds, nfds));
		for (unsigned j = 0; j < nfds; j++)
			if (fds[j] != pipefd[0])
				close(fds[j]);
		if (!dropped(s))
			FAIL("bad frame %d: the connection was not dropped", k);
		close(s);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	/* The server still serves everyone else. */
	CHECK_OK(call(port, T_INFO, 0, buf, sizeof(buf), NULL, 0, (struct ask){ 0 }, &m));
	CHECK_EQ(count_pages_fds(pid), 0);
	srv_stop(port, pid);
}

/* A sender that keeps writing moved pages through a mapping it kept: the
 * receiver cannot seal them, so it gets a copy that no write reaches. */
TEST(pages_hostile_sender_keeps_mapping)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/keepmap", &pid);
	int s = raw_connect(port), fd = memfd_sized(4 * PG, SEALS_OK);
	unsigned char *w = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char want[4 * PG];
	struct mp_frame f;
	mp_msg_t m;

	CHECK(w != MAP_FAILED);
	h_fill(w, 4 * PG, 77);
	memcpy(want, w, sizeof(want));
	frame_init(&f, MP_FRAME_ONEWAY, 4 * PG);
	f.type = T_KEEP;
	f.flags = MP_FRAME_DATA_PAGES;	/* moved, says the frame */
	CHECK_OK(send_frame(s, &f, &fd, 1));
	close(fd);
	/* Once it has them (the one-way came on another connection): */
	for (int k = 0; k < 5000; k++) {
		CHECK_OK(call(port, T_KEPT, 0, NULL, 0, NULL, 0, (struct ask){ 0 }, &m));
		if (seen_of(&m).size == 4 * PG)
			break;
		h_sleep_ms(1);
	}
	CHECK_EQ(seen_of(&m).size, 4 * PG);
	CHECK_EQ(seen_of(&m).csum, fnv(want, sizeof(want)));
	memset(w, 0xff, 4 * PG);	/* the attack */
	CHECK_OK(call(port, T_KEPT, 0, NULL, 0, NULL, 0, (struct ask){ .arg = 1 }, &m));
	CHECK_EQ(seen_of(&m).csum, fnv(want, sizeof(want)));
	munmap(w, 4 * PG);
	close(s);
	srv_stop(port, pid);
}

/* Replies a hostile server could send: each is -EPROTO, no descriptor
 * is left behind, nothing is written where it was not offered. */
TEST(pages_hostile_server_replies)
{
	unsigned char out[2 * PG];
	struct mp_xfer offer;
	mp_msg_t m;

	for (int k = 0; k < 6; k++) {
		int sv[2], fd = -1, r;
		struct mp_frame f;

		CHECK_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
		mp_xfer_init(&offer);
		h_msg_init(&m);
		m.o.data = out;
		m.o.size = sizeof(out);
		memset(out, 0xab, sizeof(out));
		frame_init(&f, MP_FRAME_REPLY, PG);
		switch (k) {
		case 0:	/* "placed" though we offered nothing */
			f.flags = MP_FRAME_DATA_PLACED;
			break;
		case 1:	/* "refused" though we asked for nothing */
			f.data_size = 0;
			f.flags = MP_FRAME_VM_REFUSED;
			break;
		case 2:	/* pages without seals */
			f.flags = MP_FRAME_DATA_PAGES;
			fd = memfd_sized(PG, 0);
			break;
		case 3:	/* pages longer than our buffer */
			f.flags = MP_FRAME_DATA_PAGES;
			f.data_size = 3 * PG;
			fd = memfd_sized(3 * PG, SEALS_OK);
			break;
		case 4:	/* pages shorter than they say */
			f.flags = MP_FRAME_DATA_PAGES;
			f.data_size = 2 * PG;
			fd = memfd_sized(PG, SEALS_OK);
			break;
		case 5:	/* a good one, for contrast */
			f.flags = MP_FRAME_DATA_PAGES;
			fd = memfd_sized(PG, SEALS_OK);
			CHECK_EQ(pwrite(fd, "abc", 3, 0), 3);
			break;
		}
		CHECK_OK(send_frame(sv[1], &f, &fd, fd >= 0 ? 1 : 0));
		if (fd >= 0)
			close(fd);
		r = mp_sockt_recv_reply(sv[0], 1, &m, &offer);
		if (k < 5) {
			CHECK_ERR(r, -EPROTO);
			for (size_t j = 0; j < sizeof(out); j++)
				CHECK_EQ(out[j], 0xab);
		} else {
			CHECK_EQ(r, 1);
			CHECK_EQ(m.o.size, PG);
			CHECK_MEM(out, "abc", 3);
		}
		close(sv[0]);
		close(sv[1]);
	}
}

/* MP_SHARE on an ordinary buffer lets the hybrid transport's server read
 * the input where the caller wrote it (its bulk area): it is told so by
 * msg->flags.  Elsewhere the input is the server's own copy (flags 0). */
TEST(pages_ordinary_share_in_place)
{
	pid_t pid;
	mp_port_t port = srv_start("/pg/inplace", &pid);
	const char *tp = getenv("MSGPORT_TRANSPORT");
	bool hybrid = !tp || !strcmp(tp, "hybrid");
	size_t len = 1 * MIB + 3;
	unsigned char *in = xmalloc(len), *out = xmalloc(len);
	mp_msg_t m;

	for (uint32_t flags = 0; flags <= MP_SHARE; flags += MP_SHARE) {
		h_fill(in, len, flags + 1);
		CHECK_OK(call(port, T_INFO, flags, in, len, out, len, (struct ask){ 0 }, &m));
		CHECK_EQ(seen_of(&m).csum, fnv(in, len));
		CHECK_EQ(seen_of(&m).flags, flags && hybrid ? MP_SHARE : 0);
		CHECK_EQ(m.o.size, len);
		for (size_t k = 0; k < len; k++)
			if (out[k] != (in[k] ^ 0x5a))
				FAIL("byte %zu", k);
	}
	free(in);
	free(out);
	srv_stop(port, pid);
}
