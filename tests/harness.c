/* SPDX-License-Identifier: MIT */
/* Test harness: registration, per-test child, fd accounting, helpers. */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_TESTS 1024
#define H_MSG_LEN 2048
#define H_MAX_FDS 256

struct h_test {
	const char *name;
	h_test_fn fn;
	const char *file;
	int line;
	unsigned flags;
};

struct h_state {			/* shared by every process of a test */
	atomic_int failed;
	char msg[H_MSG_LEN];
};

static struct h_test h_tests[H_MAX_TESTS];
static int h_ntests;
static struct h_state *h_st;
static int h_timeout_s = 20;

void h_register(const char *name, h_test_fn fn, const char *file, int line,
		unsigned flags)
{
	if (h_ntests == H_MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		abort();
	}
	h_tests[h_ntests++] = (struct h_test){ name, fn, file, line, flags };
}

/* ---------------------------------------------------------- assertions */

_Noreturn void h_fail(const char *file, int line, const char *fmt, ...)
{
	if (h_st && atomic_exchange(&h_st->failed, 1) == 0) {
		int n = snprintf(h_st->msg, H_MSG_LEN, "%s:%d: ", file, line);
		va_list ap;

		va_start(ap, fmt);
		if (n > 0 && n < H_MSG_LEN)
			vsnprintf(h_st->msg + n, H_MSG_LEN - n, fmt, ap);
		va_end(ap);
		for (char *c = h_st->msg; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
	} else {
		va_list ap;

		fprintf(stderr, "  [pid %d] also failed: %s:%d: ",
			(int)getpid(), file, line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	_exit(1);
}

const char *h_errname(long long err)
{
	static const struct { int e; const char *n; } tab[] = {
#define E(x) { x, #x }
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
		E(E2BIG), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM),
		E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST), E(ENODEV),
		E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE),
		E(ENOTTY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS),
		E(EPIPE), E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOSYS),
		E(ENOTEMPTY), E(ELOOP), E(ENOMSG), E(EPROTO), E(EBADMSG),
		E(EOVERFLOW), E(ENOTSOCK), E(EMSGSIZE), E(EPROTOTYPE),
		E(EOPNOTSUPP), E(EADDRINUSE), E(ENETDOWN), E(ECONNABORTED),
		E(ECONNRESET), E(ENOBUFS), E(EISCONN), E(ENOTCONN),
		E(ESHUTDOWN), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTUNREACH),
		E(EALREADY), E(EINPROGRESS), E(ESTALE), E(ECANCELED),
		E(EOWNERDEAD),
#undef E
	};
	static _Thread_local char bufs[4][32];
	static _Thread_local unsigned next;
	char *buf = bufs[next++ % 4];	/* several per printf */
	long long e = err < 0 ? -err : err;

	if (err >= 0 && err < 2)
		return err == 0 ? "0" : "1";
	for (size_t k = 0; k < sizeof(tab) / sizeof(tab[0]); k++)
		if (tab[k].e == e) {
			snprintf(buf, sizeof(bufs[0]), "%s%s", err < 0 ? "-" : "",
				 tab[k].n);
			return buf;
		}
	snprintf(buf, sizeof(bufs[0]), "%lld", err);
	return buf;
}

void h_check_mem(const char *file, int line, const char *an, const char *bn,
		 const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	if (n == 0)
		return;
	if (!x || !y)
		h_fail(file, line, "CHECK_MEM(%s, %s, %zu): NULL pointer",
		       an, bn, n);
	for (size_t k = 0; k < n; k++)
		if (x[k] != y[k])
			h_fail(file, line,
			       "CHECK_MEM(%s, %s, %zu): differ at offset %zu "
			       "(0x%02x != 0x%02x)", an, bn, n, k, x[k], y[k]);
}

/* ------------------------------------------------------------- helpers */

int64_t h_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t h_now_ms(void)
{
	return h_now_ns() / 1000000;
}

void h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int h_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;			/* the directory's own descriptor */
}

int h_count_fds_of(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

bool h_fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

int h_closed_fd(void)
{
	for (int fd = 900; fd < 1000; fd++)
		if (!h_fd_is_open(fd))
			return fd;
	FAIL("no closed descriptor number in 900..999");
}

void *h_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		FAIL("mmap shared %zu bytes: %s", len, strerror(errno));
	return p;
}

bool h_wait_ge(atomic_int *p, int v, int timeout_ms)
{
	int64_t end = h_now_ms() + timeout_ms;

	while (atomic_load(p) < v) {
		if (h_now_ms() > end)
			return false;
		h_sleep_ms(1);
	}
	return true;
}

pid_t h_fork(void (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

int h_reap(pid_t pid, int timeout_ms)
{
	int64_t end = h_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			FAIL("waitpid(%d): %s", (int)pid, strerror(errno));
		if (h_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		h_sleep_ms(1);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

void h_kill(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int h_wait_lookup(const char *path, mp_oid_t *oid, int timeout_ms)
{
	int64_t end = h_now_ms() + timeout_ms;
	int r;

	while ((r = mp_lookup(path, oid)) != 0 && h_now_ms() < end)
		h_sleep_ms(2);
	return r;
}

void h_msg_init(mp_msg_t *m)
{
	memset(m, 0, sizeof(*m));
}

void h_fill(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[k] = (unsigned char)x;
	}
}

int h_test_timeout_ms(void)
{
	return h_timeout_s * 1000;
}

void h_echo_server(void *arg)
{
	const char *path = arg;
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, path, 0666));
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		if (r < 0)
			break;
		if (r == 1)
			continue;
		CHECK_EQ(r, 0);
		memcpy(m.o.raw, m.i.raw, MP_RAW_SIZE);
		if (m.i.size < m.o.size)
			m.o.size = m.i.size;
		if (m.o.size)
			memcpy(m.o.data, m.i.data, m.o.size);
		m.o.err = 0;
		m.o.nfds = 0;
		for (uint32_t k = 0; k < m.i.nfds; k++)
			close(m.i.fds[k]);
		r = mp_respond(port, &m, rid);
		if (m.type == H_T_QUIT) {
			CHECK_OK(r);
			break;
		}
	}
	CHECK_OK(mp_port_destroy(port));
}

int h_echo_call(mp_port_t port, uint32_t tag, size_t len, int64_t timeout_ns)
{
	mp_msg_t m;
	unsigned char *in = NULL, *out = NULL;
	int r;

	h_msg_init(&m);
	m.type = H_T_ECHO;
	m.oid.port = port;
	memcpy(m.i.raw, &tag, sizeof(tag));
	if (len) {
		in = malloc(len);
		out = malloc(len);
		CHECK(in && out);
		h_fill(in, len, tag);
		memset(out, 0, len);
	}
	m.i.data = in;
	m.i.size = len;
	m.o.data = out;
	m.o.size = len;
	r = mp_send(port, &m, timeout_ns);
	if (r == 0) {
		CHECK_EQ(m.o.err, 0);
		CHECK_EQ(m.o.size, len);
		CHECK_EQ(m.o.nfds, 0);
		CHECK_MEM(m.o.raw, m.i.raw, MP_RAW_SIZE);
		CHECK_MEM(out, in, len);
	}
	free(in);
	free(out);
	return r;
}

mp_port_t h_server_start(void (*fn)(void *path), const char *path, pid_t *pid)
{
	mp_oid_t oid;

	*pid = h_fork(fn, (void *)path);
	CHECK_OK(h_wait_lookup(path, &oid, 10000));
	return oid.port;
}

void h_server_quit(mp_port_t port, pid_t pid, uint32_t quit)
{
	mp_msg_t m;

	h_msg_init(&m);
	m.type = quit;
	m.oid.port = port;
	CHECK_OK(mp_send(port, &m, MP_FOREVER));
	CHECK_EQ(h_reap(pid, 10000), 0);
}

void h_echo_quit(mp_port_t port, pid_t pid)
{
	h_server_quit(port, pid, H_T_QUIT);
}

/* --------------------------------------------------- warm-up and settle */

static void *h_warm_server(void *arg)
{
	mp_port_t port = *(mp_port_t *)arg;
	mp_msg_t m;
	mp_rid_t rid;

	if (mp_recv(port, &m, &rid, 2000000000) == 0)
		mp_respond(port, &m, rid);
	return NULL;
}

static void h_warmup(void)
{
	mp_port_t port;
	mp_oid_t oid;
	pthread_t th;
	mp_msg_t m;

	if (mp_port_create(&port) != 0)
		return;
	mp_port_register(port, "/h-warmup", 0600);
	mp_lookup("/h-warmup", &oid);
	if (pthread_create(&th, NULL, h_warm_server, &port) == 0) {
		h_msg_init(&m);
		mp_send(port, &m, 2000000000);
		pthread_join(th, NULL);
	}
	mp_port_unregister("/h-warmup");
	mp_port_destroy(port);
	h_msg_init(&m);
	mp_send_async(port, &m, 0);
}

static void h_settle(void)
{
	mp_msg_t m;

	for (mp_port_t p = 1; p <= H_SETTLE_PORTS; p++) {
		h_msg_init(&m);
		mp_send_async(p, &m, 0);
	}
}

/* ------------------------------------------------------- fd accounting */

struct h_fdset {
	int n;
	int fd[H_MAX_FDS];
	char what[H_MAX_FDS][64];
};

static void h_fd_snapshot(struct h_fdset *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = d ? dirfd(d) : -1;

	s->n = 0;
	if (!d)
		return;
	while ((e = readdir(d)) && s->n < H_MAX_FDS) {
		char lnk[64];
		ssize_t len;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == self)
			continue;
		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", fd);
		len = readlink(lnk, s->what[s->n], sizeof(s->what[0]) - 1);
		s->what[s->n][len > 0 ? len : 0] = 0;
		s->fd[s->n++] = fd;
	}
	closedir(d);
}

static bool h_fd_in(const struct h_fdset *s, int fd, const char *what)
{
	for (int k = 0; k < s->n; k++)
		if (s->fd[k] == fd && strcmp(s->what[k], what) == 0)
			return true;
	return false;
}

static void h_fd_compare(const struct h_test *t, const struct h_fdset *a,
			 const struct h_fdset *b)
{
	char diff[1024];
	size_t off = 0;

	diff[0] = 0;
	for (int k = 0; k < b->n; k++)
		if (!h_fd_in(a, b->fd[k], b->what[k]) && off < sizeof(diff))
			off += snprintf(diff + off, sizeof(diff) - off,
					" +%d=%s", b->fd[k], b->what[k]);
	for (int k = 0; k < a->n; k++)
		if (!h_fd_in(b, a->fd[k], a->what[k]) && off < sizeof(diff))
			off += snprintf(diff + off, sizeof(diff) - off,
					" -%d=%s", a->fd[k], a->what[k]);
	if (a->n != b->n)
		h_fail(t->file, t->line,
		       "fd leak: %d descriptors open before the test, %d after:%s",
		       a->n, b->n, diff);
}

/* ------------------------------------------------------------- runner */

/* The test's time limit, s. */
static int h_limit_s(const struct h_test *t)
{
	return t->flags & H_LONG ? 4 * h_timeout_s : h_timeout_s;
}

static void h_run_child(const struct h_test *t, const char *root)
{
	struct h_fdset *before = malloc(sizeof(*before));
	struct h_fdset *after = malloc(sizeof(*after));
	int st;

	if (!before || !after)
		FAIL("out of memory");
	setpgid(0, 0);
	if (setenv("MSGPORT_ROOT", root, 1) != 0)
		FAIL("setenv: %s", strerror(errno));
	alarm((unsigned)h_limit_s(t));
	if (!(t->flags & H_NO_WARMUP))
		h_warmup();
	h_fd_snapshot(before);
	t->fn();
	if (waitpid(-1, &st, WNOHANG) >= 0)
		h_fail(t->file, t->line,
		       "the test left child processes behind");
	h_settle();
	h_fd_snapshot(after);
	h_fd_compare(t, before, after);
	free(before);
	free(after);
	exit(0);
}

static int h_rm(const char *path, const struct stat *sb, int flag,
		struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Arguments are name fragments: a test runs when it contains one of the
 * plain ones (or there are none) and none of those written "!fragment". */
static bool h_selected(const struct h_test *t, int argc, char **argv)
{
	bool any_plain = false, hit = false;

	for (int k = 1; k < argc; k++) {
		if (argv[k][0] == '!') {
			if (strstr(t->name, argv[k] + 1))
				return false;
			continue;
		}
		any_plain = true;
		hit = hit || strstr(t->name, argv[k]);
	}
	return !any_plain || hit;
}

static int h_cmp_tests(const void *a, const void *b)
{
	const struct h_test *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static bool h_run_one(const struct h_test *t, char *reason, size_t rlen)
{
	char root[] = "/tmp/msgport-test.XXXXXX";
	pid_t pid;
	int st;

	atomic_store(&h_st->failed, 0);
	h_st->msg[0] = 0;
	if (!mkdtemp(root)) {
		snprintf(reason, rlen, "mkdtemp: %s", strerror(errno));
		return false;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(reason, rlen, "fork: %s", strerror(errno));
		rmdir(root);
		return false;
	}
	if (pid == 0)
		h_run_child(t, root);
	setpgid(pid, pid);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* Whatever the test left running: kill it, then reap the orphans
	 * (they are re-parented to us: we are a child subreaper). */
	kill(-pid, SIGKILL);
	while (waitpid(-pid, NULL, 0) > 0 || errno == EINTR)
		;
	nftw(root, h_rm, 16, FTW_DEPTH | FTW_PHYS);

	if (atomic_load(&h_st->failed)) {
		snprintf(reason, rlen, "%s", h_st->msg);
		return false;
	}
	if (WIFSIGNALED(st)) {
		if (WTERMSIG(st) == SIGALRM)
			snprintf(reason, rlen, "timed out after %d s",
				 h_limit_s(t));
		else
			snprintf(reason, rlen, "killed by signal %d (%s)",
				 WTERMSIG(st), strsignal(WTERMSIG(st)));
		return false;
	}
	if (WEXITSTATUS(st) != 0) {
		snprintf(reason, rlen, "exit status %d without a failed check "
			 "(a sanitizer report? see stderr)", WEXITSTATUS(st));
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *env = getenv("MSGPORT_TEST_TIMEOUT");
	int passed = 0, failed = 0;
	char reason[H_MSG_LEN];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (env && atoi(env) > 0)
		h_timeout_s = atoi(env);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		perror("harness: PR_SET_CHILD_SUBREAPER");
	h_st = mmap(NULL, sizeof(*h_st), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h_st == MAP_FAILED) {
		perror("harness: mmap");
		return 2;
	}
	qsort(h_tests, (size_t)h_ntests, sizeof(h_tests[0]), h_cmp_tests);
	for (int k = 0; k < h_ntests; k++) {
		const struct h_test *t = &h_tests[k];

		if (!h_selected(t, argc, argv))
			continue;
		if (h_run_one(t, reason, sizeof(reason))) {
			printf("ok %s\n", t->name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", t->name, reason);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
