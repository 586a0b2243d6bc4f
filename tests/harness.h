/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the msgport feature tests.
 *
 * Every TEST(name) runs in its own forked child, in its own process group,
 * with:
 *   - a fresh namespace root (mkdtemp under /tmp) exported as MSGPORT_ROOT
 *     before the body and removed recursively afterwards;
 *   - an alarm-based timeout (20 s, or $MSGPORT_TEST_TIMEOUT seconds);
 *   - a count of /proc/self/fd before and after the body: any difference
 *     fails the test and names the descriptors that differ.
 *
 * Before the "before" count the harness warms the library up (one port
 * created, registered, looked up, called from this thread and destroyed) so
 * that state the library keeps for the life of the process or of the main
 * thread is not mistaken for a leak; TEST_FLAGS(name, H_NO_WARMUP) skips
 * that.  Before the "after" count it touches ports 1..H_SETTLE_PORTS once
 * with a one-way send of timeout 0, so that a connection the library caches
 * to a peer that is gone by then is noticed and dropped; a descriptor that
 * survives that is a leak.
 *
 * A test must join its threads, reap its child processes (h_reap/h_kill)
 * and destroy its ports before it returns; children left behind fail it.
 *
 * CHECK* macros may be used in the test process, its threads and in forked
 * children (h_fork): the first failure anywhere is recorded in memory
 * shared by the whole test and ends the failing process with status 1.
 */
#ifndef MSGPORT_TEST_HARNESS_H
#define MSGPORT_TEST_HARNESS_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "msgport.h"

typedef void (*h_test_fn)(void);

/* Test flags. */
#define H_NO_WARMUP 1u		/* no library call before the "before" fd count */
#define H_LONG 2u		/* many rounds of wake-ups: 4x the time limit (a
				 * loaded machine slows them, not a bug) */

/* Ports probed by the settle step before the "after" fd count. */
#define H_SETTLE_PORTS 64

void h_register(const char *name, h_test_fn fn, const char *file, int line,
		unsigned flags);

#define TEST_FLAGS(name, flags)						\
	static void h_test_##name(void);				\
	__attribute__((constructor)) static void h_reg_##name(void)	\
	{								\
		h_register(#name, h_test_##name, __FILE__, __LINE__,	\
			   (flags));					\
	}								\
	static void h_test_##name(void)

#define TEST(name) TEST_FLAGS(name, 0)

/* ---------------------------------------------------------- assertions */

_Noreturn void h_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Name of a (negative or positive) errno value, e.g. "-EPIPE". */
const char *h_errname(long long err);

#define FAIL(...) h_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			h_fail(__FILE__, __LINE__, "CHECK(%s) failed",	\
			       #cond);					\
	} while (0)

/* an and bn are the operands' text, taken before macro expansion */
#define H_CMP(a, op, b, an, bn)						\
	do {								\
		long long h_a_ = (long long)(a);			\
		long long h_b_ = (long long)(b);			\
		if (!(h_a_ op h_b_))					\
			h_fail(__FILE__, __LINE__,			\
			       "CHECK(%s %s %s): %lld %s %lld is false",\
			       an, #op, bn, h_a_, #op, h_b_);		\
	} while (0)

#define CHECK_EQ(a, b) H_CMP(a, ==, b, #a, #b)
#define CHECK_NE(a, b) H_CMP(a, !=, b, #a, #b)
#define CHECK_LT(a, b) H_CMP(a, <, b, #a, #b)
#define CHECK_LE(a, b) H_CMP(a, <=, b, #a, #b)
#define CHECK_GT(a, b) H_CMP(a, >, b, #a, #b)
#define CHECK_GE(a, b) H_CMP(a, >=, b, #a, #b)

/* call must return exactly err (a negative errno, or a value >= 0). */
#define CHECK_ERR(call, err)						\
	do {								\
		long long h_r_ = (long long)(call);			\
		long long h_e_ = (long long)(err);			\
		if (h_r_ != h_e_)					\
			h_fail(__FILE__, __LINE__,			\
			       "%s returned %lld (%s), expected %lld (%s)",\
			       #call, h_r_, h_errname(h_r_), h_e_,	\
			       h_errname(h_e_));			\
	} while (0)

#define CHECK_OK(call) CHECK_ERR(call, 0)

/* Byte-wise equality of n bytes; reports the first differing offset. */
#define CHECK_MEM(a, b, n)						\
	h_check_mem(__FILE__, __LINE__, #a, #b, (a), (b), (n))
void h_check_mem(const char *file, int line, const char *an, const char *bn,
		 const void *a, const void *b, size_t n);

/* ------------------------------------------------------------- helpers */

int64_t h_now_ns(void);			/* CLOCK_MONOTONIC, system-wide */
int64_t h_now_ms(void);
void h_sleep_ms(int ms);

int h_count_fds(void);			/* entries of /proc/self/fd */
int h_count_fds_of(pid_t pid);		/* entries of /proc/PID/fd (another process: root), -1 unknown */
bool h_fd_is_open(int fd);
int h_closed_fd(void);			/* a descriptor number that is not open */

/* Zeroed MAP_SHARED anonymous memory (no descriptor), shared with every
 * process forked afterwards.  Never unmapped: the test process is short. */
void *h_shared(size_t len);

/* Wait (polling every ms) until *p >= v; false on timeout. */
bool h_wait_ge(atomic_int *p, int v, int timeout_ms);

/* Fork a child that runs fn(arg) and exits 0 (CHECK failures exit 1). */
pid_t h_fork(void (*fn)(void *arg), void *arg);

/* Wait up to timeout_ms for pid: its exit status, 128 + signal when it was
 * killed, or -1 on timeout (it is then killed with SIGKILL and reaped). */
int h_reap(pid_t pid, int timeout_ms);

/* SIGKILL pid and reap it. */
void h_kill(pid_t pid);

/* Retry mp_lookup(path) until it succeeds or timeout_ms passes; returns
 * the last result. */
int h_wait_lookup(const char *path, mp_oid_t *oid, int timeout_ms);

/* Zeroed message. */
void h_msg_init(mp_msg_t *m);

/* Deterministic byte pattern of a seed. */
void h_fill(void *buf, size_t len, uint32_t seed);

/* The harness's own timeout in ms (for tests that derive waits from it). */
int h_test_timeout_ms(void);

/*
 * A ready-made echo server, for h_fork(h_echo_server, "/path"): creates a
 * port, registers path with mode 0666, then answers every call with
 * o.raw = i.raw, o.data = i.data (truncated to the capacity), o.err = 0
 * and ignores one-way messages.  A call of type H_T_QUIT is answered and
 * ends the server (port destroyed, exit 0); a receive error ends it too.
 */
#define H_T_ECHO 1u
#define H_T_QUIT 0x7175u
void h_echo_server(void *path);

/* Call an echo server: send (type, raw[0..3] = tag, data len bytes of a
 * pattern) and check the echoed answer.  Returns mp_send()'s result. */
int h_echo_call(mp_port_t port, uint32_t tag, size_t len, int64_t timeout_ns);

/* Make an echo server started with h_echo_server on port exit and reap it
 * (checks that it exited with status 0). */
void h_echo_quit(mp_port_t port, pid_t pid);
/* Fork a server process running fn(path) and wait until path is
 * registered: its port, and *pid. */
mp_port_t h_server_start(void (*fn)(void *path), const char *path, pid_t *pid);
/* Send the server a call of type quit (it answers, then exits) and reap it. */
void h_server_quit(mp_port_t port, pid_t pid, uint32_t quit);

#endif /* MSGPORT_TEST_HARNESS_H */
