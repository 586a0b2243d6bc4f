/* SPDX-License-Identifier: MIT */
/*
 * The wrappers.  The harness is linked with -Wl,--wrap=NAME for each NAME
 * below, so every call of NAME from libmsgport.a (and from the harness
 * itself, which pauses counting around its own) lands here.  Calls libc
 * makes internally (pthread_create's mmap, stdio's malloc) are not seen:
 * the faults are those the library itself must handle.
 *
 * The errno of each is one the kernel or libc really gives for lack of a
 * resource: ENOMEM for memory, EMFILE for a new descriptor, ENOBUFS or
 * ENOMEM for socket buffers, EAGAIN where the call says "try again".
 */
#include "fi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static _Atomic int fi_armed;
static _Atomic uint64_t fi_calls;
static uint64_t fi_fail_at;
static const char *_Atomic fi_failed;
static _Thread_local int fi_paused;
static char *fi_report;		/* where the failed call's name goes at once */
static size_t fi_report_cap;

void fi_report_to(char *buf, size_t cap) { fi_report = buf, fi_report_cap = cap; }

void fi_arm(uint64_t fail_at)
{
	fi_fail_at = fail_at;
	atomic_store(&fi_failed, NULL);
	atomic_store(&fi_calls, 0);
	atomic_store(&fi_armed, 1);
}

void fi_disarm(void) { atomic_store(&fi_armed, 0); }
uint64_t fi_count(void) { return atomic_load(&fi_calls); }
const char *fi_failed_name(void) { return atomic_load(&fi_failed); }
void fi_pause(void) { fi_paused++; }
void fi_resume(void) { fi_paused--; }

/* True when this call is the one to fail: errno is then set. */
static int fi_hit(const char *name, int err)
{
	if (!atomic_load_explicit(&fi_armed, memory_order_relaxed) || fi_paused)
		return 0;
	if (atomic_fetch_add(&fi_calls, 1) + 1 != fi_fail_at)
		return 0;
	atomic_store(&fi_failed, name);
	if (fi_report)		/* a process that then hangs still tells */
		snprintf(fi_report, fi_report_cap, "%s", name);
	errno = err;
	return 1;
}

#define WRAP(ret, name, params, args, fail, err)		\
	ret __real_##name params;				\
	ret __wrap_##name params;				\
	ret __wrap_##name params				\
	{							\
		if (fi_hit(#name, err))				\
			return fail;				\
		return __real_##name args;			\
	}

WRAP(void *, malloc, (size_t n), (n), NULL, ENOMEM)
WRAP(void *, calloc, (size_t k, size_t n), (k, n), NULL, ENOMEM)
WRAP(void *, realloc, (void *p, size_t n), (p, n), NULL, ENOMEM)
WRAP(char *, strdup, (const char *s), (s), NULL, ENOMEM)
WRAP(void *, mmap, (void *a, size_t n, int prot, int fl, int fd, off_t off),
     (a, n, prot, fl, fd, off), MAP_FAILED, ENOMEM)
WRAP(int, memfd_create, (const char *name, unsigned fl), (name, fl), -1, EMFILE)
WRAP(int, ftruncate, (int fd, off_t len), (fd, len), -1, ENOMEM)
WRAP(int, socket, (int d, int t, int p), (d, t, p), -1, EMFILE)
WRAP(int, connect, (int fd, const struct sockaddr *a, socklen_t n), (fd, a, n), -1, EAGAIN)
WRAP(int, bind, (int fd, const struct sockaddr *a, socklen_t n), (fd, a, n), -1, ENOMEM)
WRAP(int, listen, (int fd, int n), (fd, n), -1, ENOMEM)
WRAP(int, accept4, (int fd, struct sockaddr *a, socklen_t *n, int fl), (fd, a, n, fl), -1, EMFILE)
WRAP(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl), -1, ENOBUFS)	/* an skb not allocated */
WRAP(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl), -1, ENOMEM)
WRAP(int, epoll_create1, (int fl), (fl), -1, EMFILE)
WRAP(int, epoll_ctl, (int ep, int op, int fd, struct epoll_event *e), (ep, op, fd, e), -1, ENOMEM)
WRAP(int, eventfd, (unsigned v, int fl), (v, fl), -1, EMFILE)
WRAP(int, flock, (int fd, int op), (fd, op), -1, ENOLCK)
WRAP(ssize_t, process_vm_readv, (pid_t p, const struct iovec *l, unsigned long ln,
				 const struct iovec *r, unsigned long rn, unsigned long fl),
     (p, l, ln, r, rn, fl), -1, ENOMEM)
WRAP(ssize_t, process_vm_writev, (pid_t p, const struct iovec *l, unsigned long ln,
				  const struct iovec *r, unsigned long rn, unsigned long fl),
     (p, l, ln, r, rn, fl), -1, ENOMEM)

/* open/openat/fcntl are variadic: the third argument is read only when
 * the command or flags say there is one (O_CREAT, O_TMPFILE: a mode;
 * fcntl: an int or a pointer, passed on as a pointer-sized value). */
int __real_open(const char *path, int fl, ...);
int __wrap_open(const char *path, int fl, ...);
int __wrap_open(const char *path, int fl, ...)
{
	mode_t mode = 0;
	if (fl & (O_CREAT | __O_TMPFILE)) {
		va_list ap;
		va_start(ap, fl);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fi_hit("open", EMFILE))
		return -1;
	return __real_open(path, fl, mode);
}

int __real_openat(int dir, const char *path, int fl, ...);
int __wrap_openat(int dir, const char *path, int fl, ...);
int __wrap_openat(int dir, const char *path, int fl, ...)
{
	mode_t mode = 0;
	if (fl & (O_CREAT | __O_TMPFILE)) {
		va_list ap;
		va_start(ap, fl);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fi_hit("openat", EMFILE))
		return -1;
	return __real_openat(dir, path, fl, mode);
}

/* Only the commands that need a resource fail: a new descriptor
 * (F_DUPFD*: EMFILE), seals (F_ADD_SEALS: the kernel's EBUSY when a
 * writable mapping remains, which the library must survive too) and
 * locks (F_OFD_SETLK: ENOLCK). */
int __real_fcntl(int fd, int cmd, ...);
int __wrap_fcntl(int fd, int cmd, ...);
int __wrap_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && fi_hit("fcntl(F_DUPFD)", EMFILE))
		return -1;
	if (cmd == F_ADD_SEALS && fi_hit("fcntl(F_ADD_SEALS)", EBUSY))
		return -1;
	if (cmd == F_OFD_SETLK && fi_hit("fcntl(F_OFD_SETLK)", ENOLCK))
		return -1;
	return __real_fcntl(fd, cmd, arg);
}
