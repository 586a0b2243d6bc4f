/* SPDX-License-Identifier: MIT */
/*
 * The Moroso IPC front-end (include/msgport/moroso.h): per-thread mailboxes
 * on msgport ports, synchronous and asynchronous short messages, and long
 * messages whose pages travel as a sealed memfd.
 *
 * Every Moroso message is an mp_msg_t of type MORO_TYPE with a struct
 * moro_hdr in i.raw, the short message in i.data and, for a long message,
 * its memfd in i.fds[0].  Synchronous messages (option_sync 1 and 2, long
 * messages) are msgport calls; asynchronous ones are one-way sends.  The
 * header and the memfd come from another process: ipc_recv() reads the
 * header once, checks every field and the memfd's seals and size, and
 * drops what does not fit (answering a call with an error).
 *
 * Answers the library gives by itself carry a negative o.err:
 * -ETIMEDOUT the message had expired when it was taken, -ESRCH it reached
 * the wrong mailbox (a stale cached port number), -EPROTO it was malformed.
 * ipc_reply() answers with o.err 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "msgport/moroso.h"

#define MORO_TYPE 0x4d4f524fu	/* "MORO": the msgport type of every Moroso message */
#define MORO_MAGIC 0x6f726f6du
#define MORO_VERSION 1

enum { MORO_ASYNC = 0, MORO_SYNC = 1, MORO_SYNC_NOREPLY = 2 };

#define MORO_F_LONG 1u		/* i.fds[0] is a memfd of len_long bytes */
#define MORO_F_SHARED 2u	/* the long message is shared, not moved */

/* In i.raw of every Moroso message. */
struct moro_hdr {
	uint32_t magic;
	uint16_t version;
	uint8_t kind;		/* MORO_ASYNC, MORO_SYNC, MORO_SYNC_NOREPLY */
	uint8_t flags;		/* MORO_F_* */
	int32_t dst_tid;	/* the mailbox it is meant for */
	int32_t src_tid;
	uint32_t len_long;
	uint32_t reserved;	/* zero */
	int64_t deadline_ns;	/* CLOCK_MONOTONIC; -1: never expires */
};
_Static_assert(sizeof(struct moro_hdr) == 32, "moro_hdr layout");
_Static_assert(sizeof(struct moro_hdr) <= MP_RAW_SIZE, "moro_hdr fits in raw");

#define MORO_CACHE 8		/* mailbox ports a thread remembers */
#define MORO_SEND_TRIES 8	/* resolve again after a stale port at most */

struct moro_box {
	pid_t tid;
	mp_port_t port;
};

/* Per-thread state. */
struct moro_tls {
	unsigned gen;		/* moro_gen when it was last valid: forks reset it */
	pid_t tid;
	mp_port_t box;		/* this thread's mailbox, 0 none */
	bool pending;		/* a synchronous sender waits for ipc_reply() */
	mp_rid_t rid;
	size_t reply_cap;	/* that sender's capacity for the reply */
	struct moro_box cache[MORO_CACHE];
	unsigned cache_next;
	uintptr_t stack_lo, stack_hi;	/* this thread's stack (memory checks) */
	char reply[MOROSO_SHORT_MAX];	/* a synchronous send's reply, until it succeeded */
};

static pthread_key_t moro_key;
static pthread_once_t moro_once = PTHREAD_ONCE_INIT;
static unsigned moro_gen;
static pid_t moro_pid;		/* this process, refreshed after fork */
static __thread struct moro_tls *moro_cur;

/* When to give up waiting: at_ns -1 never; poll: now only. */
struct moro_deadline {
	int64_t at_ns;
	bool poll;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct moro_deadline deadline_in(int timeout)
{
	struct moro_deadline d = { .at_ns = -1, .poll = timeout == 0 };

	if (timeout > 0)
		d.at_ns = now_ns() + (int64_t)timeout * MOROSO_TICK_NS;
	return d;
}

/* Nanoseconds left for msgport (0 polls, MP_FOREVER); -ETIMEDOUT when past. */
static int64_t deadline_left(struct moro_deadline d)
{
	int64_t left;

	if (d.poll)
		return 0;
	if (d.at_ns < 0)
		return MP_FOREVER;
	left = d.at_ns - now_ns();
	return left > 0 ? left : -ETIMEDOUT;
}

static void sleep_tick(void)
{
	struct timespec ts = { 0, MOROSO_TICK_NS };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------ thread state */

static void tls_free(void *arg)
{
	struct moro_tls *t = arg;

	if (t->box && t->gen == moro_gen)
		mp_port_destroy(t->box);	/* the thread's death: senders get -EPIPE */
	free(t);
	moro_cur = NULL;
}

static void fork_child(void)
{
	moro_gen++;
	moro_pid = getpid();
}

static int exe_phdr(struct dl_phdr_info *info, size_t size, void *arg);

static void moro_init_once(void)
{
	moro_pid = getpid();
	dl_iterate_phdr(exe_phdr, NULL);
	pthread_key_create(&moro_key, tls_free);
	pthread_atfork(NULL, NULL, fork_child);
}

/* The calling thread's stack, for the memory checks (none if unknown). */
static void stack_bounds(struct moro_tls *t)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		t->stack_lo = (uintptr_t)addr;
		t->stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

static struct moro_tls *tls_get(void)
{
	struct moro_tls *t = moro_cur;

	if (t && t->gen == moro_gen)
		return t;
	if (t) {	/* a fork child: the mailbox was the parent's */
		t->gen = moro_gen;
		t->tid = (pid_t)syscall(SYS_gettid);
		t->box = 0;
		t->pending = false;
		return t;
	}
	pthread_once(&moro_once, moro_init_once);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->gen = moro_gen;
	t->tid = (pid_t)syscall(SYS_gettid);
	stack_bounds(t);
	if (pthread_setspecific(moro_key, t) != 0) {
		free(t);
		return NULL;
	}
	moro_cur = t;
	return t;
}

/* ---------------------------------------------------- memory checks */

/*
 * "Invalid memory" is found without faulting.  Buffers on the calling
 * thread's stack (above the current frame) are valid for reading and
 * writing, and the main program's loaded segments for reading: these
 * common cases cost nothing.  Anything else goes through the kernel:
 * process_vm_readv/writev on this very process copy and fail with EFAULT
 * (a buffer is checked for reading and writing by writing it onto itself;
 * several buffers go in one call, ~2 us).  Where the kernel refuses these
 * calls (seccomp, ENOSYS), the checks are skipped and the buffers trusted.
 */
#define EXE_SEGS 8
static struct {
	uintptr_t lo, hi;
} exe_seg[EXE_SEGS];	/* the main program's PT_LOAD segments */
static int exe_nseg;

static int exe_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (int k = 0; k < info->dlpi_phnum && exe_nseg < EXE_SEGS; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R)) {
			exe_seg[exe_nseg].lo = info->dlpi_addr + ph->p_vaddr;
			exe_seg[exe_nseg].hi = exe_seg[exe_nseg].lo + ph->p_memsz;
			exe_nseg++;
		}
	}
	return 1;	/* the first object is the program itself */
}

/* Between this frame and the top of the calling thread's stack. */
static bool on_stack(const void *p, size_t len)
{
	const struct moro_tls *t = moro_cur;
	volatile char here;
	uintptr_t sp = (uintptr_t)&here, a = (uintptr_t)p;

	return t && sp >= t->stack_lo && sp < t->stack_hi && a >= sp && a < t->stack_hi &&
	       len <= t->stack_hi - a;
}

static bool readable_fast(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	if (len == 0 || on_stack(p, len))
		return true;
	for (int k = 0; k < exe_nseg; k++)
		if (a >= exe_seg[k].lo && a < exe_seg[k].hi && len <= exe_seg[k].hi - a)
			return true;
	return false;
}

static bool vm_unavailable(void)
{
	return errno == ENOSYS || errno == EPERM;
}

static int vm_result(ssize_t got, size_t want)
{
	if (got == (ssize_t)want || (got < 0 && vm_unavailable()))
		return 0;
	return -EFAULT;
}

static size_t iov_total(const struct iovec *v, int n)
{
	size_t sum = 0;

	for (int k = 0; k < n; k++)
		sum += v[k].iov_len;
	return sum;
}

static void iov_copy(const struct iovec *local, const struct iovec *remote, int n)
{
	for (int k = 0; k < n; k++)
		if (remote[k].iov_len)
			memcpy(local[k].iov_base, remote[k].iov_base, remote[k].iov_len);
}

/* Copy the remote buffers into the local ones: 0 or -EFAULT. */
static int mem_read_iov(const struct iovec *local, const struct iovec *remote, int n)
{
	size_t want = iov_total(remote, n);
	bool fast = true;
	ssize_t got;

	for (int k = 0; k < n; k++)
		fast = fast && readable_fast(remote[k].iov_base, remote[k].iov_len);
	if (fast) {
		iov_copy(local, remote, n);
		return 0;
	}
	got = process_vm_readv(moro_pid, local, (unsigned long)n, remote, (unsigned long)n, 0);
	if (got < 0 && vm_unavailable()) {
		iov_copy(local, remote, n);
		return 0;
	}
	return vm_result(got, want);
}

static int mem_read(void *dst, const void *src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)src, len };

	return mem_read_iov(&l, &r, 1);
}

/* Whether the buffers are readable and writable: 0 or -EFAULT. */
static int mem_rw_iov(const struct iovec *v, int n)
{
	size_t want = iov_total(v, n);
	bool fast = true;

	for (int k = 0; k < n; k++)
		fast = fast && (v[k].iov_len == 0 || on_stack(v[k].iov_base, v[k].iov_len));
	if (fast)
		return 0;
	return vm_result(process_vm_writev(moro_pid, v, (unsigned long)n, v, (unsigned long)n, 0),
			 want);
}

static int mem_readable(const void *p, size_t len)
{
	char buf[MOROSO_SHORT_MAX];

	if (len > sizeof(buf))
		len = sizeof(buf);
	return readable_fast(p, len) ? 0 : mem_read(buf, p, len);
}

/* -------------------------------------------------------- mailboxes */

static void box_path(char *buf, size_t len, pid_t tid)
{
	snprintf(buf, len, "/moroso/%d", (int)tid);
}

static int box_open(struct moro_tls *t)
{
	char path[32];
	mp_port_t port;
	int err;

	if (t->box)
		return 0;
	err = mp_port_create(&port);
	if (err)
		return err;
	box_path(path, sizeof(path), t->tid);
	err = mp_port_register(port, path, 0666);
	if (err) {
		mp_port_destroy(port);
		return err;
	}
	t->box = port;
	return 0;
}

int mp_moroso_mailbox_init(void)
{
	struct moro_tls *t = tls_get();

	return t ? box_open(t) : -ENOMEM;
}

int mp_moroso_mailbox_destroy(void)
{
	struct moro_tls *t = tls_get();

	if (!t)
		return -ENOMEM;
	if (t->box)
		mp_port_destroy(t->box);
	t->box = 0;
	t->pending = false;
	return 0;
}

static bool thread_exists(pid_t tid)
{
	return kill(tid, 0) == 0 || errno == EPERM;
}

static void cache_drop(struct moro_tls *t, pid_t tid)
{
	for (unsigned k = 0; k < MORO_CACHE; k++)
		if (t->cache[k].tid == tid)
			t->cache[k].tid = 0;
}

/*
 * The mailbox port of thread tid.  A live thread without a mailbox yet is
 * waited for (polling each tick) when may_wait, until the deadline.
 */
static int box_find(struct moro_tls *t, pid_t tid, bool may_wait, struct moro_deadline d,
		    mp_port_t *port)
{
	char path[32];
	mp_oid_t oid;
	int err;

	for (unsigned k = 0; k < MORO_CACHE; k++) {
		if (t->cache[k].tid == tid) {
			*port = t->cache[k].port;
			return 0;
		}
	}
	box_path(path, sizeof(path), tid);
	while ((err = mp_lookup(path, &oid)) == -ENOENT) {
		if (!thread_exists(tid))
			return -ESRCH;
		if (!may_wait || d.poll)
			return -EAGAIN;
		if (deadline_left(d) < MP_FOREVER)
			return -ETIMEDOUT;
		sleep_tick();
	}
	if (err)
		return err;
	t->cache[t->cache_next].tid = tid;
	t->cache[t->cache_next].port = oid.port;
	t->cache_next = (t->cache_next + 1) % MORO_CACHE;
	*port = oid.port;
	return 0;
}

/* ----------------------------------------------------- long messages */

/* Copy the pages at addr into a new sealed memfd (the one copy); when
 * shared, map the memfd over them so both sides see one set of pages. */
static int long_pack(void *addr, uint32_t len, bool shared)
{
	int fd = memfd_create("moroso-long", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | (shared ? 0 : F_SEAL_WRITE);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len) != 0)
		err = -errno;
	for (uint32_t off = 0; !err && off < len;) {
		ssize_t n = pwrite(fd, (char *)addr + off, len - off, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = (n == 0 || errno == EFAULT) ? -EFAULT : -errno;
		else
			off += (uint32_t)n;
	}
	if (!err && fcntl(fd, F_ADD_SEALS, seals) != 0)
		err = -errno;
	if (!err && shared &&
	    mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Reserve [addr, addr + len) with an inaccessible mapping, failing if
 * anything is mapped there: -EEXIST, or -EFAULT for no user address. */
static int range_reserve(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return errno == EEXIST ? -EEXIST : -EFAULT;
	if (p != addr) {	/* a kernel that treats the flag as a hint */
		munmap(p, len);
		return -EEXIST;
	}
	return 0;
}

/* Whether the memfd of a long message is one we can map safely: unsealed,
 * a sender could shrink it (SIGBUS here) or, when moved, still change
 * what we received. */
static int long_check(int fd, const struct moro_hdr *h)
{
	int need = F_SEAL_SHRINK | (h->flags & MORO_F_SHARED ? 0 : F_SEAL_WRITE);
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;

	if (seals < 0 || (seals & need) != need || fstat(fd, &st) != 0 ||
	    st.st_size < (off_t)h->len_long)
		return -EPROTO;
	return 0;
}

/* Map the memfd of a long message over the reservation at dest (cap
 * bytes); the part of the reservation it does not cover is released. */
static int long_map(int fd, const struct moro_hdr *h, void *dest, uint32_t cap, uint32_t *got)
{
	bool shared = h->flags & MORO_F_SHARED;
	uint32_t n = h->len_long < cap ? h->len_long : cap;

	if (mmap(dest, n, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
		 fd, 0) == MAP_FAILED)
		return -errno;
	if (n < cap)
		munmap((char *)dest + n, cap - n);
	*got = n;
	return 0;
}

/* --------------------------------------------------------------- send */

struct moro_send {
	int kind;
	uint32_t n_short;
	struct moro_deadline d;
	int memfd;
	bool arrived;		/* it may have reached the receiver */
};

/* Check the arguments in the order the specification lists them. */
static int send_check(struct moro_tls *t, int id, void *message_long, void *message_short,
		      uint32_t len_long, uint32_t *len_short, int timeout, int option_sync,
		      struct moro_send *s)
{
	int err;

	if (len_long && (((uintptr_t)message_long & (MOROSO_PAGE_SIZE - 1)) ||
			 (len_long & (MOROSO_PAGE_SIZE - 1))))
		return -EINVAL;
	if (!len_long && (option_sync < MORO_ASYNC || option_sync > MORO_SYNC_NOREPLY))
		return -EINVAL;
	s->kind = len_long ? MORO_SYNC : option_sync;
	if (s->kind != MORO_ASYNC && timeout < -1)
		return -EINVAL;
	err = mem_read(&s->n_short, len_short, sizeof(s->n_short));
	if (err)
		return err;
	if (s->n_short > MOROSO_SHORT_MAX)
		return -EMSGSIZE;
	if (s->kind == MORO_SYNC) {	/* both are written with the reply */
		struct iovec v[2] = { { len_short, sizeof(*len_short) },
				      { message_short, s->n_short } };

		err = mem_rw_iov(v, 2);
	} else {
		err = mem_readable(message_short, s->n_short);
	}
	if (err)
		return err;
	if (id <= 0)
		return -ESRCH;	/* a thread that is gone: box_find() says so */
	if (id == t->tid && s->kind != MORO_ASYNC)
		return -EDEADLK;	/* nobody could ever receive it */
	s->d = deadline_in(s->kind == MORO_ASYNC ? -1 : timeout);
	return 0;
}

/* The reply lands in t->reply and replaces the request only on success. */
static void msg_build(mp_msg_t *m, struct moro_tls *t, int id, void *message_short,
		      uint32_t len_long, bool shared, const struct moro_send *s)
{
	struct moro_hdr h = {
		.magic = MORO_MAGIC, .version = MORO_VERSION, .kind = (uint8_t)s->kind,
		.flags = (uint8_t)((len_long ? MORO_F_LONG : 0) | (len_long && shared ? MORO_F_SHARED : 0)),
		.dst_tid = id, .src_tid = t->tid, .len_long = len_long,
		.deadline_ns = s->kind == MORO_ASYNC ? -1 : s->d.at_ns,
	};

	memset(m, 0, sizeof(*m));
	m->type = MORO_TYPE;
	memcpy(m->i.raw, &h, sizeof(h));
	m->i.data = s->n_short ? message_short : NULL;
	m->i.size = s->n_short;
	if (s->memfd >= 0) {
		m->i.fds[0] = s->memfd;
		m->i.nfds = 1;
	}
	if (s->kind == MORO_SYNC) {
		m->o.data = s->n_short ? t->reply : NULL;
		m->o.size = s->n_short;
	}
}

/* One attempt: 1 when the mailbox turned out stale (resolve again). */
static int send_once(struct moro_tls *t, int id, mp_msg_t *m, struct moro_send *s, int *ret)
{
	mp_port_t port;
	int64_t left;
	int err = box_find(t, id, s->kind != MORO_ASYNC, s->d, &port);

	if (err)
		return *ret = err, 0;
	left = deadline_left(s->d);
	if (left < MP_FOREVER)
		return *ret = -ETIMEDOUT, 0;
	m->oid.port = port;
	m->o.size = s->kind == MORO_SYNC ? s->n_short : 0;
	err = s->kind == MORO_ASYNC ? mp_send_async(port, m, MP_FOREVER) : mp_send(port, m, left);
	if (err == -ENOENT || (err == 0 && s->kind != MORO_ASYNC && m->o.err == -ESRCH)) {
		cache_drop(t, id);	/* that port is not (or no longer) its mailbox */
		return 1;
	}
	if (err == 0 && s->kind != MORO_ASYNC && m->o.err < 0)
		err = m->o.err == -ETIMEDOUT ? -ETIMEDOUT : -EPROTO;
	s->arrived = err >= 0 || err == -ETIMEDOUT || err == -EPIPE;
	for (uint32_t k = 0; err >= 0 && s->kind != MORO_ASYNC && k < m->o.nfds; k++)
		close(m->o.fds[k]);	/* a reply carries none: a peer's mischief */
	*ret = err;
	return 0;
}

int mp_moroso_send(int id, void *message_long, void *message_short, uint32_t len_long,
		   uint32_t *len_short, int timeout, int shared, int option_sync)
{
	struct moro_tls *t = tls_get();
	struct moro_send s = { .memfd = -1 };
	mp_msg_t m;
	int err, ret = -ESRCH;

	if (!t)
		return -ENOMEM;
	err = send_check(t, id, message_long, message_short, len_long, len_short, timeout,
			 option_sync, &s);
	if (err)
		return err;
	if (len_long && (s.memfd = long_pack(message_long, len_long, shared)) < 0)
		return s.memfd;
	msg_build(&m, t, id, message_short, len_long, shared, &s);
	for (int tries = 0; tries < MORO_SEND_TRIES && send_once(t, id, &m, &s, &ret); tries++)
		ret = -ESRCH;
	if (s.memfd >= 0)
		close(s.memfd);
	if (len_long && !shared && s.arrived)
		munmap(message_long, len_long);	/* moved: the receiver has the pages */
	if (ret == 0 && s.kind == MORO_SYNC) {	/* the reply replaces the request */
		if (m.o.size)
			memcpy(message_short, t->reply, m.o.size);
		*len_short = (uint32_t)m.o.size;
	}
	if (ret >= 0 && s.kind != MORO_ASYNC)
		ret = 0;
	return ret;
}

/* ------------------------------------------------------------ receive */

struct moro_recv {
	void *long_dest, *short_dest;
	uint32_t cap_long, cap_short;
	uint32_t got_long, got_short;
};

static int recv_check(void *long_dest, void *short_dest, uint32_t *len_long, uint32_t *len_short,
		      int timeout, struct moro_recv *a)
{
	struct iovec l[2] = { { &a->cap_long, sizeof(a->cap_long) },
			      { &a->cap_short, sizeof(a->cap_short) } };
	struct iovec v[3] = { { len_long, sizeof(*len_long) }, { len_short, sizeof(*len_short) },
			      { short_dest, 0 } };
	int err;

	err = mem_read_iov(l, v, 2);
	if (!err && a->cap_long && (((uintptr_t)long_dest & (MOROSO_PAGE_SIZE - 1)) ||
				    (a->cap_long & (MOROSO_PAGE_SIZE - 1))))
		err = -EINVAL;
	if (!err) {	/* the lengths are written back, short_dest receives */
		v[2].iov_len = a->cap_short < MOROSO_SHORT_MAX ? a->cap_short : MOROSO_SHORT_MAX;
		err = mem_rw_iov(v, 3);
	}
	if (!err && timeout < -1)
		err = -EINVAL;
	a->long_dest = long_dest;
	a->short_dest = short_dest;
	a->got_long = a->got_short = 0;
	return err;
}

static void fds_close(mp_msg_t *m)
{
	for (uint32_t k = 0; k < m->i.nfds; k++)
		close(m->i.fds[k]);
	m->i.nfds = 0;
}

/* Drop a message that is not delivered, answering its sender with err. */
static void msg_drop(struct moro_tls *t, mp_msg_t *m, mp_rid_t rid, bool call, int err)
{
	fds_close(m);
	if (call) {
		memset(&m->o, 0, sizeof(m->o));
		m->o.err = err;
		mp_respond(t->box, m, rid);
	}
}

/* 0 when the header is well-formed for a message of this shape. */
static int hdr_check(const mp_msg_t *m, const struct moro_hdr *h, bool call)
{
	bool is_long = h->flags & MORO_F_LONG;

	if (m->type != MORO_TYPE || h->magic != MORO_MAGIC || h->version != MORO_VERSION ||
	    h->kind > MORO_SYNC_NOREPLY || (h->flags & ~(MORO_F_LONG | MORO_F_SHARED)) ||
	    h->reserved || m->i.size > MOROSO_SHORT_MAX || call != (h->kind != MORO_ASYNC))
		return -EPROTO;
	if (is_long && (h->kind != MORO_SYNC || m->i.nfds != 1 || h->len_long == 0 ||
			(h->len_long & (MOROSO_PAGE_SIZE - 1))))
		return -EPROTO;
	if (!is_long && (m->i.nfds != 0 || h->len_long != 0 || (h->flags & MORO_F_SHARED)))
		return -EPROTO;
	return 0;
}

/*
 * Deliver a received message into the caller's buffers: 0 a synchronous
 * sender, 1 an asynchronous one, -EAGAIN dropped (malformed, for another
 * mailbox, expired, or its option_sync 2 sender is gone).
 */
static int msg_take(struct moro_tls *t, mp_msg_t *m, mp_rid_t rid, bool call, struct moro_recv *a)
{
	struct moro_hdr h;
	int err;

	memcpy(&h, m->i.raw, sizeof(h));	/* read once, then checked */
	err = hdr_check(m, &h, call);
	if (!err && h.dst_tid != t->tid)
		err = -ESRCH;
	if (!err && call && h.deadline_ns >= 0 && now_ns() > h.deadline_ns)
		err = -ETIMEDOUT;	/* expired before it was taken */
	if (err) {
		msg_drop(t, m, rid, call, err);
		return -EAGAIN;
	}
	a->got_long = 0;
	if (h.flags & MORO_F_LONG) {
		err = long_check(m->i.fds[0], &h);
		if (!err && a->cap_long)
			err = long_map(m->i.fds[0], &h, a->long_dest, a->cap_long, &a->got_long);
		if (err) {
			msg_drop(t, m, rid, call, -EPROTO);
			if (a->cap_long)	/* a failed MAP_FIXED may have taken it */
				range_reserve(a->long_dest, a->cap_long);
			return -EAGAIN;
		}
		fds_close(m);	/* the mapping keeps the pages */
	}
	/* i.data of a call lives until its respond: copy first. */
	a->got_short = m->i.size < a->cap_short ? (uint32_t)m->i.size : a->cap_short;
	if (a->got_short)
		memcpy(a->short_dest, m->i.data, a->got_short);
	if (h.kind == MORO_SYNC_NOREPLY) {
		memset(&m->o, 0, sizeof(m->o));
		if (mp_respond(t->box, m, rid) != 0)
			return -EAGAIN;	/* its sender gave up: expired */
	}
	if (h.kind == MORO_SYNC) {
		t->pending = true;
		t->rid = rid;
		t->reply_cap = m->o.size;
	}
	return h.kind == MORO_ASYNC ? 1 : 0;
}

int mp_moroso_recv(void *long_dest, void *short_dest, uint32_t *len_long, uint32_t *len_short,
		   int timeout)
{
	struct moro_tls *t = tls_get();
	struct moro_recv a;
	struct moro_deadline d;
	int r;

	if (!t)
		return -ENOMEM;
	r = recv_check(long_dest, short_dest, len_long, len_short, timeout, &a);
	if (!r && t->pending)
		r = -EBUSY;
	if (!r && a.cap_long)
		r = range_reserve(long_dest, a.cap_long);	/* first: nothing lands there */
	if (!r && (r = box_open(t)) && a.cap_long)
		munmap(long_dest, a.cap_long);
	if (r)
		return r;
	d = deadline_in(timeout);
	do {
		int64_t left = deadline_left(d);
		mp_msg_t m;
		mp_rid_t rid;

		r = left < MP_FOREVER ? -ETIMEDOUT : mp_recv(t->box, &m, &rid, left);
		if (r >= 0)
			r = msg_take(t, &m, rid, r == 0, &a);
		else if (r == -EAGAIN && !d.poll)
			r = -ETIMEDOUT;
		else if (r == -EAGAIN)
			break;
	} while (r == -EAGAIN);
	if (a.cap_long && (r < 0 || a.got_long == 0))
		munmap(long_dest, a.cap_long);	/* the reservation, or what is left of it */
	if (r >= 0) {
		*len_long = a.got_long;
		*len_short = a.got_short;
	}
	return r;
}

/* -------------------------------------------------------------- reply */

int mp_moroso_reply(const void *message, uint32_t message_len)
{
	struct moro_tls *t = tls_get();
	char buf[MOROSO_SHORT_MAX];
	mp_msg_t m;
	int err;

	if (!t)
		return -ENOMEM;
	if (message_len > MOROSO_SHORT_MAX)
		return -EMSGSIZE;
	err = mem_read(buf, message, message_len);
	if (err)
		return err;
	if (!t->pending || !t->box)
		return -EALREADY;
	memset(&m, 0, sizeof(m));
	m.o.data = buf;
	m.o.size = message_len < t->reply_cap ? message_len : t->reply_cap;
	t->pending = false;
	err = mp_respond(t->box, &m, t->rid);
	if (err == -EPIPE || err == -ENOENT)
		return -ETIMEDOUT;	/* the sender is no longer waiting */
	return err;
}
