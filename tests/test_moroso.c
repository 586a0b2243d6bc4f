/* SPDX-License-Identifier: MIT */
/*
 * Conformance of the Moroso IPC front-end (include/msgport/moroso.h) to
 * the Moroso IPC specification (seeds/002): one test per rule, named after
 * it, quoting the sentence it checks.  Tests of the choices the header
 * documents where the text is open are marked "decision".
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "msgport/moroso.h"

#define PG 4096u
#define TICKS_MS 1	/* one tick is 1 ms (MOROSO_TICK_NS) */

/* State shared by a test and the processes it forks. */
struct mo {
	atomic_int step;	/* handshakes */
	atomic_int done;
	atomic_int in_recv;
	int r[8];		/* results recorded by a child */
	uint32_t len[8];
	int64_t t_ms[4];
	pid_t tid[4];
	char buf[2 * PG];
};

static struct mo *mo_new(void)
{
	return h_shared(sizeof(struct mo));
}

static pid_t mo_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Wait until thread tid has a mailbox. */
static void mo_wait_box(pid_t tid)
{
	char path[32];
	mp_oid_t oid;

	snprintf(path, sizeof(path), "/moroso/%d", (int)tid);
	CHECK_OK(h_wait_lookup(path, &oid, 10000));
}

/* Fork a receiver that has its mailbox before it runs fn; its tid is its pid. */
static pid_t mo_fork(void (*fn)(void *), struct mo *s)
{
	pid_t pid = h_fork(fn, s);

	mo_wait_box(pid);
	return pid;
}

/* Page-aligned anonymous pages, filled with a pattern of seed. */
static void *mo_pages(size_t len, uint32_t seed)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	h_fill(p, len, seed);
	return p;
}

/* An address range of len bytes that is free (reserved, then released).
 * Far below where mmap places things, so that nothing else lands there. */
static void *mo_hole(size_t len)
{
	static uintptr_t next = 0x200000000000ull;
	void *p = mmap((void *)next, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	CHECK(p == (void *)next);
	CHECK_OK(munmap(p, len));
	next += len + (1u << 20);
	return p;
}

/* 1 when every page of [p, p + len) is mapped, 0 when none is. */
static int mo_mapped(void *p, size_t len)
{
	unsigned char vec[64];
	int any = 0, all = 1;

	CHECK_LE(len / PG, sizeof(vec));
	for (size_t off = 0; off < len; off += PG) {
		int r = mincore((char *)p + off, PG, vec);

		if (r == 0)
			any = 1;
		else
			all = 0;
	}
	CHECK(any == all);
	return all;
}

/* Receive one short message in a child, record it, reply with reply. */
static int mo_recv_short(struct mo *s, char *buf, uint32_t cap, int timeout)
{
	uint32_t ll = 0, ls = cap;
	int r = ipc_recv(NULL, buf, &ll, &ls, timeout);

	if (r >= 0)
		s->len[0] = ls;
	return r;
}

/* -------------------------------------------------- 1.1 blocking */

static void sync_reply_late(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_EQ(s->len[0], 4);
	CHECK_MEM(buf, "ping", 4);
	h_sleep_ms(100);
	CHECK_OK(ipc_reply("pong!", 5));
}

/* "When a message is sent synchronously, the sender blocks until a
 * receiver either sends a reply or dies." (the reply) */
TEST(moroso_sync_send_blocks_until_reply)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(sync_reply_late, s);
	char msg[8] = "ping";
	uint32_t len = 4;
	int64_t t0 = h_now_ms();

	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	CHECK_GE(h_now_ms() - t0, 90);
	CHECK_EQ(len, 4);		/* the reply, cut to the request's length */
	CHECK_MEM(msg, "pong", 4);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void sync_die(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	h_sleep_ms(50);
	_exit(0);	/* no reply */
}

/* "When a message is sent synchronously, the sender blocks until a
 * receiver either sends a reply or dies." (process death) */
TEST(moroso_sync_send_returns_when_receiver_dies)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(sync_die, s);
	char msg[8] = "ping";
	uint32_t len = 4;

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1), -EPIPE);
	CHECK_MEM(msg, "ping", 4);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void *thread_recv_then_exit(void *arg)
{
	struct mo *s = arg;
	char buf[16];
	uint32_t ll = 0, ls = sizeof(buf);

	s->tid[0] = mo_gettid();
	CHECK_OK(ipc_mailbox_init());
	atomic_store(&s->step, 1);
	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, -1), 0);
	return NULL;	/* exits without replying: its mailbox goes */
}

/* "When a message is sent synchronously, the sender blocks until a
 * receiver either sends a reply or dies." (the receiving thread exits) */
TEST(moroso_sync_send_returns_when_receiver_thread_exits)
{
	struct mo *s = mo_new();
	pthread_t th;
	char msg[8] = "ping";
	uint32_t len = 4;

	CHECK_OK(pthread_create(&th, NULL, thread_recv_then_exit, s));
	CHECK(h_wait_ge(&s->step, 1, 10000));
	CHECK_ERR(ipc_send(s->tid[0], NULL, msg, 0, &len, -1, 0, 1), -EPIPE);
	CHECK_OK(pthread_join(th, NULL));
}

static void recv_timed(void *arg)
{
	struct mo *s = arg;
	char buf[16];
	int64_t t0;

	CHECK_OK(ipc_mailbox_init());
	t0 = h_now_ms();
	atomic_store(&s->in_recv, 1);
	s->r[0] = mo_recv_short(s, buf, sizeof(buf), -1);
	s->t_ms[0] = h_now_ms() - t0;
}

/* "A synchronous receive (note: all receives are synchronous in Moroso
 * IPC) blocks until a sender completes a message transfer." */
TEST(moroso_recv_blocks_until_sender)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(recv_timed, s);
	uint32_t len = 2;

	CHECK(h_wait_ge(&s->in_recv, 1, 10000));
	h_sleep_ms(100);
	CHECK_GE(ipc_send(pid, NULL, "hi", 0, &len, 0, 0, 0), 0);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], 1);
	CHECK_GE(s->t_ms[0], 90);
}

static void async_two(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	atomic_store(&s->in_recv, 1);
	s->r[0] = mo_recv_short(s, buf, sizeof(buf), -1);	/* waiting: the first */
	CHECK_MEM(buf, "one", 3);
	atomic_store(&s->done, 1);	/* busy now, not receiving */
	CHECK(h_wait_ge(&s->step, 1, 10000));
	s->r[1] = mo_recv_short(s, buf, sizeof(buf), 0);	/* queued: the second */
	CHECK_MEM(buf, "two", 3);
}

/* "Asynchronous ... if no receiver is waiting, it returns as soon as the
 * message is made available to the receiver: otherwise, it performs the
 * transfer directly, but returns without a reply."  and "if the receiver
 * was already waiting, ipc_send returns 0 ... If the send was
 * asynchronous and no receiver was waiting, returns 1." */
TEST(moroso_async_returns_0_when_receiver_waiting_1_when_queued)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(async_two, s);
	uint32_t len = 3;

	CHECK(h_wait_ge(&s->in_recv, 1, 10000));
	h_sleep_ms(200);	/* blocked in ipc_recv by now */
	CHECK_ERR(ipc_send(pid, NULL, "one", 0, &len, -1, 0, 0), 0);
	CHECK(h_wait_ge(&s->done, 1, 10000));
	len = 3;
	CHECK_ERR(ipc_send(pid, NULL, "two", 0, &len, -1, 0, 0), 1);
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], 1);
	CHECK_EQ(s->r[1], 1);
}

static void sleepy_receiver(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK(h_wait_ge(&s->step, 1, 10000));
	s->r[0] = mo_recv_short(s, buf, sizeof(buf), 0);
	CHECK_MEM(buf, "later", 5);
}

/* "Asynchronous messages do not wait for a reply and instead return as
 * soon as a) a waiting receiver receives message_short, or, in the case
 * that no receiver is waiting b) that message_short is accessible to the
 * receiver." */
TEST(moroso_async_returns_once_message_is_accessible)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(sleepy_receiver, s);
	char msg[8] = "later";
	uint32_t len = 5;
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, 5, 0, 0), 1);
	CHECK_LT(h_now_ms() - t0, 1000);
	memset(msg, 'x', sizeof(msg));	/* it was copied: the buffer is free again */
	CHECK_EQ(len, 5);		/* no reply: *len_short unchanged */
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], 1);
}

/* -------------------------------------------- 1.2 types of messages */

static void long_sleepy(void *arg)
{
	void *dst = mo_hole(4 * PG);
	uint32_t ll = 4 * PG, ls = 0;

	(void)arg;
	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(ipc_recv(dst, NULL, &ll, &ls, -1), 0);	/* 0: synchronous */
	CHECK_EQ(ll, 2 * PG);
	h_sleep_ms(100);
	CHECK_OK(ipc_reply(NULL, 0));
}

/* "long messages are specified by the page and transferred directly
 * between virtual memory spaces: as such, all long messages are
 * transferred synchronously."  and option_sync: "If len_long is
 * non-zero, this field is ignored." */
TEST(moroso_long_messages_are_synchronous)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(long_sleepy, s);
	void *p = mo_pages(2 * PG, 1);
	uint32_t len = 0;
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_send(pid, p, NULL, 2 * PG, &len, -1, 1, 0), 0);	/* not 1 */
	CHECK_GE(h_now_ms() - t0, 90);
	CHECK_EQ(h_reap(pid, 10000), 0);
	munmap(p, 2 * PG);
}

static void short_4k(void *arg)
{
	struct mo *s = arg;
	char buf[PG];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_EQ(s->len[0], PG);
	for (unsigned k = 0; k < PG; k++)
		buf[k] = (char)~buf[k];
	CHECK_OK(ipc_reply(buf, PG));
}

/* "a short IPC message is a message smaller than a page in size" and
 * len_short: "Function returns with error if ... *len_short is larger
 * than a 4KB page." (4 KiB itself is accepted) */
TEST(moroso_short_message_at_most_4k)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(short_4k, s);
	static char msg[PG + 1], want[PG];
	uint32_t len = PG + 1;

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1), -EMSGSIZE);
	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 0), -EMSGSIZE);
	h_fill(msg, PG, 7);
	for (unsigned k = 0; k < PG; k++)
		want[k] = (char)~msg[k];
	len = PG;
	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	CHECK_EQ(len, PG);
	CHECK_MEM(msg, want, PG);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void echo_n(void *arg)
{
	struct mo *s = arg;
	char buf[64];

	CHECK_OK(ipc_mailbox_init());
	for (int k = 0; k < s->r[7]; k++) {
		uint32_t ll = 0, ls = sizeof(buf);

		CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, -1), 0);
		CHECK_OK(ipc_reply(buf, ls));
	}
}

/* "synchronous messages small enough to fit in the gpr's can be sent
 * through the "fast path" without being buffered in the kernel": small
 * synchronous messages take msgport's inline fast path; 2000 round trips
 * complete and each is answered correctly. */
TEST(moroso_fast_path_small_sync_messages)
{
	struct mo *s = mo_new();
	pid_t pid;

	s->r[7] = 2000;
	pid = mo_fork(echo_n, s);
	for (uint32_t k = 0; k < 2000; k++) {
		uint32_t v = k * 7919, len = sizeof(v);

		CHECK_OK(ipc_send(pid, NULL, &v, 0, &len, -1, 0, 1));
		CHECK_EQ(len, sizeof(v));
		CHECK_EQ(v, k * 7919);
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ---------------------------------------------------- 1.3 mailboxes */

static void *box_thread(void *arg)
{
	struct mo *s = arg;
	int me = atomic_fetch_add(&s->step, 1);
	char buf[16];
	uint32_t ll = 0, ls = sizeof(buf);

	s->tid[me] = mo_gettid();
	CHECK_OK(ipc_mailbox_init());
	atomic_fetch_add(&s->in_recv, 1);
	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, -1), 0);
	CHECK_EQ(ls, 1);
	s->r[me] = buf[0];
	CHECK_OK(ipc_reply(NULL, 0));
	return NULL;
}

static void two_threads(void *arg)
{
	struct mo *s = arg;
	pthread_t th[2];

	for (int k = 0; k < 2; k++)
		CHECK_OK(pthread_create(&th[k], NULL, box_thread, s));
	for (int k = 0; k < 2; k++)
		CHECK_OK(pthread_join(th[k], NULL));
}

/* "there is a 1-to-1 mapping between threads and "mailboxes", where
 * messages are received. mailboxes are initialize when on thread
 * creation, and are identified by the user tid." */
TEST(moroso_mailbox_per_thread_by_tid)
{
	struct mo *s = mo_new();
	pid_t pid = h_fork(two_threads, s);

	CHECK(h_wait_ge(&s->in_recv, 2, 10000));
	for (int k = 0; k < 2; k++) {
		char c = (char)('A' + k);
		uint32_t len = 1;

		CHECK_NE(s->tid[k], pid);	/* not the process: the thread */
		CHECK_OK(ipc_send(s->tid[k], NULL, &c, 0, &len, -1, 0, 1));
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], 'A');
	CHECK_EQ(s->r[1], 'B');
}

static void count_senders(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	for (int k = 0; k < 3; k++) {
		CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
		s->r[(int)buf[0]] = 1;
		CHECK_OK(ipc_reply(NULL, 0));
	}
}

static void send_from_child(void *arg)
{
	struct mo *s = arg;
	char c = (char)atomic_fetch_add(&s->step, 1);
	uint32_t len = 1;

	CHECK_OK(ipc_send(s->tid[0], NULL, &c, 0, &len, -1, 0, 1));
}

/* "Mailboxes ... identified by the user tid": any process of the host
 * reaches a thread by its id. */
TEST(moroso_mailbox_reachable_from_any_process)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(count_senders, s), kids[3];

	s->tid[0] = pid;
	for (int k = 0; k < 3; k++)
		kids[k] = h_fork(send_from_child, s);
	for (int k = 0; k < 3; k++)
		CHECK_EQ(h_reap(kids[k], 10000), 0);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK(s->r[0] && s->r[1] && s->r[2]);
}

static void *late_thread(void *arg)
{
	struct mo *s = arg;
	char buf[16];
	uint32_t ll = 0, ls = sizeof(buf);

	s->tid[0] = mo_gettid();
	atomic_store(&s->step, 1);
	h_sleep_ms(300);	/* no mailbox yet */
	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, -1), 0);
	CHECK_OK(ipc_reply("ok", 2));
	return NULL;
}

/* decision: a thread's mailbox exists from its first ipc_recv (or
 * ipc_mailbox_init); a synchronous send to a live thread without one
 * waits for it within its timeout, an asynchronous one fails -EAGAIN. */
TEST(moroso_send_to_thread_before_its_mailbox)
{
	struct mo *s = mo_new();
	pthread_t th;
	char msg[4] = "hi";
	uint32_t len = 2;

	CHECK_OK(pthread_create(&th, NULL, late_thread, s));
	CHECK(h_wait_ge(&s->step, 1, 10000));
	CHECK_ERR(ipc_send(s->tid[0], NULL, msg, 0, &len, -1, 0, 0), -EAGAIN);
	CHECK_ERR(ipc_send(s->tid[0], NULL, msg, 0, &len, 0, 0, 1), -EAGAIN);
	CHECK_OK(ipc_send(s->tid[0], NULL, msg, 0, &len, -1, 0, 1));
	CHECK_MEM(msg, "ok", 2);
	CHECK_OK(pthread_join(th, NULL));
}

/* ---------------------------------------------------------- timeouts */

static void recv_after_step(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK(h_wait_ge(&s->step, 1, 10000));
	atomic_store(&s->in_recv, 1);
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_OK(ipc_reply("ok", 2));
}

/* timeout: "if timeout is set to 0, send returns immediately if the
 * receiver is not currently blocked" */
TEST(moroso_send_timeout_0_returns_if_receiver_not_blocked)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(recv_after_step, s);
	char msg[4] = "hi";
	uint32_t len = 2;
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, 0, 0, 1), -EAGAIN);
	CHECK_LT(h_now_ms() - t0, 500);
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->in_recv, 1, 10000));
	h_sleep_ms(200);
	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, 0, 0, 1));	/* blocked now */
	CHECK_MEM(msg, "ok", 2);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void recv_late_poll(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK(h_wait_ge(&s->step, 1, 10000));
	/* the expired message is not delivered; the next one is */
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 1);
	CHECK_MEM(buf, "after", 5);
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), 0), -EAGAIN);
}

/* "When the timeout is reached, the message expires, and the invoking
 * thread returns failure."  and timeout: "The number of ticks a
 * synchronous send should wait for the receiver to reply before
 * returning failure." */
TEST(moroso_send_timeout_expires_message)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(recv_late_poll, s);
	char msg[8] = "expired";
	uint32_t len = 7;
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, 50, 0, 1), -ETIMEDOUT);
	CHECK_GE(h_now_ms() - t0, 50 * TICKS_MS - 1);
	CHECK_LT(h_now_ms() - t0, 2000);
	CHECK_MEM(msg, "expired", 7);
	len = 5;
	CHECK_GE(ipc_send(pid, NULL, "after", 0, &len, -1, 0, 0), 0);
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void reply_after_300(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	h_sleep_ms(300);
	CHECK_OK(ipc_reply("late", 4));
}

/* timeout: "if timeout is set to -1, there is no timeout, and the send
 * will block infinitely until the receiver replies or dies." */
TEST(moroso_send_timeout_minus_1_waits_for_reply)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(reply_after_300, s);
	char msg[8] = "wait";
	uint32_t len = 4;

	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	CHECK_MEM(msg, "late", 4);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ipc_recv timeout: "If timeout is set to 0, receive returns immediately
 * if no sender is currently blocked" */
TEST(moroso_recv_timeout_0_polls)
{
	char buf[8];
	uint32_t ll = 0, ls = sizeof(buf);
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, 0), -EAGAIN);
	CHECK_LT(h_now_ms() - t0, 200);
	CHECK_OK(ipc_mailbox_destroy());
}

/* ipc_recv timeout: "the number of ticks before a receive expires, and
 * the receiver returns with failure." (a tick is 1 ms) */
TEST(moroso_recv_timeout_ticks)
{
	char buf[8];
	uint32_t ll = 0, ls = sizeof(buf);
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, 60), -ETIMEDOUT);
	CHECK_GE(h_now_ms() - t0, 60 * TICKS_MS - 1);
	CHECK_LT(h_now_ms() - t0, 2000);
	CHECK_OK(ipc_mailbox_destroy());
}

/* decision: timeouts below -1 are -EINVAL where the timeout is used;
 * "This field is ignored if option_sync is 0 and len_long is zero." */
TEST(moroso_bad_timeout_einval)
{
	char buf[8] = "x";
	uint32_t ll = 0, ls = 1;

	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, -2), -EINVAL);
	CHECK_ERR(ipc_send(getpid(), NULL, buf, 0, &ls, -2, 0, 1), -EINVAL);
	CHECK_ERR(ipc_send(getpid(), NULL, buf, 0, &ls, -2, 0, 2), -EINVAL);
	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(ipc_send(getpid(), NULL, buf, 0, &ls, -2, 0, 0), 1);	/* ignored */
	CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, 0), 1);
	CHECK_OK(ipc_mailbox_destroy());
}

/* -------------------------------------------------------------- order */

static void order_recv(void *arg)
{
	(void)arg;
	CHECK_OK(ipc_mailbox_init());
	h_sleep_ms(50);		/* let messages queue up */
	for (uint32_t k = 0; k < 200; k++) {
		uint32_t v = 0, ll = 0, ls = sizeof(v);
		int r = ipc_recv(NULL, &v, &ll, &ls, -1);

		CHECK_EQ(v, k);
		CHECK_ERR(r, k % 10 == 9 ? 0 : 1);
		if (r == 0)
			CHECK_OK(ipc_reply(NULL, 0));
	}
}

/* ipc_send: "Messages are received in the order in which they are sent."
 * (asynchronous ones queued behind each other and synchronous ones) */
TEST(moroso_messages_arrive_in_order)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(order_recv, s);

	for (uint32_t k = 0; k < 200; k++) {
		uint32_t v = k, len = sizeof(v);

		CHECK_GE(ipc_send(pid, NULL, &v, 0, &len, -1, 0, k % 10 == 9 ? 1 : 0), 0);
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* --------------------------------------------------- ipc_send errors */

static void just_exit(void *arg)
{
	(void)arg;
}

/* id: "The tid of the receiver thread. Function returns with error if
 * thread id does not exist" */
TEST(moroso_send_to_missing_thread_fails)
{
	pid_t gone = h_fork(just_exit, NULL);
	char msg[4] = "x";
	uint32_t len = 1;

	CHECK_EQ(h_reap(gone, 10000), 0);
	for (int sync = 0; sync <= 2; sync++)
		CHECK_ERR(ipc_send(gone, NULL, msg, 0, &len, -1, 0, sync), -ESRCH);
	CHECK_ERR(ipc_send(0, NULL, msg, 0, &len, -1, 0, 1), -ESRCH);
	CHECK_ERR(ipc_send(-5, NULL, msg, 0, &len, -1, 0, 0), -ESRCH);
}

/* message_long: "Function returns with error if message_long is not
 * page-aligned, or if it does not denote an existing user page (unless
 * the message length is 0...)" */
TEST(moroso_message_long_must_be_aligned_existing_pages)
{
	char *p = mo_pages(2 * PG, 3);
	void *hole = mo_hole(2 * PG);
	uint32_t len = 0;

	/* the target is a live thread (the test runner): the checks fail first */
	CHECK_ERR(ipc_send(getppid(), p + 8, NULL, PG, &len, -1, 0, 1), -EINVAL);
	CHECK_ERR(ipc_send(getppid(), hole, NULL, PG, &len, -1, 0, 1), -EFAULT);
	CHECK_ERR(ipc_send(getppid(), (void *)0x1000, NULL, PG, &len, -1, 0, 1), -EFAULT);
	CHECK(mo_mapped(p, 2 * PG));	/* a failed moved send leaves them */
	munmap(p, 2 * PG);
}

static void recv_short_any(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK(h_wait_ge(&s->step, 1, 10000));
	s->r[0] = mo_recv_short(s, buf, sizeof(buf), -1);
	CHECK_OK(ipc_reply(NULL, 0));
}

/* len_long: "When len_long is zero, the contents of message_long is
 * ignored." */
TEST(moroso_len_long_zero_ignores_message_long)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(recv_short_any, s);
	char msg[4] = "s";
	uint32_t len = 1;

	atomic_store(&s->step, 1);
	CHECK_OK(ipc_send(pid, (void *)0x123, msg, 0, &len, -1, 0, 1));
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], 0);
	CHECK_EQ(s->len[0], 1);
}

/* len_long: "Function returns with error if len_long is not a multiple
 * of 4KB, or if the specified page range does not represent valid user
 * pages in memory." */
TEST(moroso_len_long_multiple_of_4k_valid_range)
{
	char *p = mo_pages(3 * PG, 4);
	uint32_t len = 0;

	CHECK_ERR(ipc_send(getppid(), p, NULL, PG + 1, &len, -1, 0, 1), -EINVAL);
	CHECK_ERR(ipc_send(getppid(), p, NULL, 100, &len, -1, 0, 1), -EINVAL);
	CHECK_OK(munmap(p + PG, PG));	/* a hole in the range */
	CHECK_ERR(ipc_send(getppid(), p, NULL, 3 * PG, &len, -1, 0, 1), -EFAULT);
	CHECK(mo_mapped(p, PG) && mo_mapped(p + 2 * PG, PG));
	munmap(p, 3 * PG);
}

/* message_short: "Function returns with error if message_short points to
 * invalid memory (unless the message length is 0. See below)." */
TEST(moroso_message_short_must_be_valid_memory)
{
	void *hole = mo_hole(PG);
	uint32_t len = 8;

	CHECK_ERR(ipc_send(getpid(), NULL, hole, 0, &len, -1, 0, 0), -EFAULT);
	CHECK_ERR(ipc_send(getpid(), NULL, NULL, 0, &len, -1, 0, 0), -EFAULT);
	/* decision: a synchronous sender's buffer receives the reply: writable */
	CHECK_ERR(ipc_send(getpid(), NULL, (void *)"const", 0, &len, -1, 0, 1), -EFAULT);
	len = 0;	/* "if *len_short is 0, the contents of message_short is ignored" */
	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(ipc_send(mo_gettid(), NULL, hole, 0, &len, -1, 0, 0), 1);
	{
		char buf[4];
		uint32_t ll = 0, ls = sizeof(buf);

		CHECK_ERR(ipc_recv(NULL, buf, &ll, &ls, 0), 1);
		CHECK_EQ(ls, 0);
	}
	CHECK_OK(ipc_mailbox_destroy());
}

/* len_short: "Function returns with error if len_short is an invalid
 * pointer" */
TEST(moroso_len_short_must_be_valid_pointer)
{
	void *hole = mo_hole(PG);
	char msg[4] = "x";

	for (int sync = 0; sync <= 2; sync++) {
		CHECK_ERR(ipc_send(getpid(), NULL, msg, 0, NULL, -1, 0, sync), -EFAULT);
		CHECK_ERR(ipc_send(getpid(), NULL, msg, 0, hole, -1, 0, sync), -EFAULT);
	}
}

/* option_sync: decision: values other than 0, 1, 2 are -EINVAL (unless
 * len_long is non-zero: "If len_long is non-zero, this field is ignored") */
TEST(moroso_option_sync_values)
{
	char msg[4] = "x";
	uint32_t len = 1;

	CHECK_ERR(ipc_send(getpid(), NULL, msg, 0, &len, -1, 0, 3), -EINVAL);
	CHECK_ERR(ipc_send(getpid(), NULL, msg, 0, &len, -1, 0, -1), -EINVAL);
	/* decision: a synchronous send to oneself could never be received */
	CHECK_ERR(ipc_send(mo_gettid(), NULL, msg, 0, &len, -1, 0, 1), -EDEADLK);
}

static void reply_longer(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_OK(ipc_reply("0123456789", 10));
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_OK(ipc_reply("ab", 2));
}

/* message_short: "On success on a synchronous send, message_short is
 * replaced with the receiver's reply."  len_short: "On success on a
 * synchronous send, *len_short is replaced with the length of the
 * receiver's reply."  decision: the reply's capacity is the request's
 * *len_short; a longer reply is cut to it. */
TEST(moroso_sync_reply_replaces_message_short)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(reply_longer, s);
	char msg[16] = "abcdef";
	uint32_t len = 6;

	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	CHECK_EQ(len, 6);
	CHECK_MEM(msg, "012345", 7);	/* cut to 6; msg[6] untouched (NUL) */
	memcpy(msg, "xxxxxxxx", 8);
	len = 8;
	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	CHECK_EQ(len, 2);
	CHECK_MEM(msg, "abxxxxxx", 8);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ---------------------------------------------------- shared / moved */

static void shared_rx(void *arg)
{
	struct mo *s = arg;
	char *dst = mo_hole(2 * PG);
	uint32_t ll = 2 * PG, ls = 0;

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(ipc_recv(dst, NULL, &ll, &ls, -1), 0);
	CHECK_EQ(ll, 2 * PG);
	CHECK_EQ(dst[0], 's');
	dst[PG] = 'R';			/* the sender sees this */
	CHECK_OK(ipc_reply(NULL, 0));
	CHECK(h_wait_ge(&s->step, 1, 10000));
	CHECK_EQ(dst[1], 'S');		/* and this thread sees the sender's */
	munmap(dst, 2 * PG);
}

/* shared: "when shared is set to true, the pages remain mapped into the
 * sender's virtual memory, and the pages are shared between sender and
 * receiver." */
TEST(moroso_shared_pages_stay_mapped_and_shared)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(shared_rx, s);
	char *p = mo_pages(2 * PG, 5);
	uint32_t len = 0;

	p[0] = 's';
	CHECK_OK(ipc_send(pid, p, NULL, 2 * PG, &len, -1, 1, 1));
	CHECK(mo_mapped(p, 2 * PG));
	CHECK_EQ(p[0], 's');
	CHECK_EQ(p[PG], 'R');
	p[1] = 'S';
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	munmap(p, 2 * PG);
}

static void moved_rx(void *arg)
{
	char *dst = mo_hole(4 * PG);
	char want[4 * PG];
	uint32_t ll = 4 * PG, ls = 0;

	(void)arg;
	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(ipc_recv(dst, NULL, &ll, &ls, -1), 0);
	CHECK_EQ(ll, 4 * PG);
	h_fill(want, sizeof(want), 6);
	CHECK_MEM(dst, want, 4 * PG);
	dst[0] = 'w';			/* the receiver owns them: writable */
	CHECK_OK(ipc_reply(NULL, 0));
	munmap(dst, 4 * PG);
}

/* shared: "Otherwise, they are unmapped from the sender's virtual
 * memory, and the invoking thread will no longer have access to them." */
TEST(moroso_moved_pages_leave_the_sender)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(moved_rx, s);
	char *p = mo_pages(4 * PG, 6);
	uint32_t len = 0;

	CHECK_OK(ipc_send(pid, p, NULL, 4 * PG, &len, -1, 0, 1));
	CHECK_EQ(mo_mapped(p, 4 * PG), 0);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void long_and_short_rx(void *arg)
{
	char *dst = mo_hole(PG);
	char buf[16], want[PG];
	uint32_t ll = PG, ls = sizeof(buf);

	(void)arg;
	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(ipc_recv(dst, buf, &ll, &ls, -1), 0);
	CHECK_EQ(ll, PG);
	CHECK_EQ(ls, 5);
	CHECK_MEM(buf, "short", 5);
	h_fill(want, PG, 8);
	CHECK_MEM(dst, want, PG);
	CHECK_OK(ipc_reply("done", 4));
}

/* "Sends a long and/or short message to thread id." and ipc_recv: "Long
 * messages are received starting at address long_dest up to len_long
 * bytes, and short messages are written to short_dest up to len_short
 * bytes." */
TEST(moroso_long_and_short_in_one_message)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(long_and_short_rx, s);
	char *p = mo_pages(PG, 8);
	char msg[8] = "short";
	uint32_t len = 5;

	CHECK_OK(ipc_send(pid, p, msg, PG, &len, -1, 0, 1));
	CHECK_EQ(len, 4);
	CHECK_MEM(msg, "done", 4);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* --------------------------------------------------------- option_sync */

static void noreply_rx(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	h_sleep_ms(100);
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_MEM(buf, "note", 4);
	CHECK_ERR(ipc_reply("no", 2), -EALREADY);	/* no reply expected */
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), 0), -EAGAIN);	/* not -EBUSY */
}

/* option_sync: "when option_sync is 1, messages are sent synchronously,
 * blocking until they expire on timeout or the receiver sends a reply.
 * If option_sync is 2, the same occurs except no reply is expected." */
TEST(moroso_option_sync_2_blocks_until_received_without_reply)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(noreply_rx, s);
	char msg[8] = "note";
	uint32_t len = 4;
	int64_t t0 = h_now_ms();

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 2), 0);
	CHECK_GE(h_now_ms() - t0, 90);
	CHECK_EQ(len, 4);
	CHECK_MEM(msg, "note", 4);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void noreply_late(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK(h_wait_ge(&s->step, 1, 10000));
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), 0), -EAGAIN);	/* expired */
}

/* option_sync 2: "the same occurs" - it expires on timeout too. */
TEST(moroso_option_sync_2_expires_on_timeout)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(noreply_late, s);
	char msg[8] = "note";
	uint32_t len = 4;

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, 30, 0, 2), -ETIMEDOUT);
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* ------------------------------------------------------ ipc_recv rules */

static void async_then_sync_rx(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK(h_wait_ge(&s->step, 1, 10000));
	s->r[0] = mo_recv_short(s, buf, sizeof(buf), -1);
	s->r[1] = mo_recv_short(s, buf, sizeof(buf), -1);
	CHECK_OK(ipc_reply(NULL, 0));
}

/* ipc_recv: "Returns 0 if a synchronous sender is successfully received,
 * 1 for an asynchronous send" and "Only one sender is received per
 * invocation." */
TEST(moroso_recv_returns_0_sync_1_async_one_per_call)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(async_then_sync_rx, s);
	char msg[4] = "m";
	uint32_t len = 1;

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 0), 1);
	atomic_store(&s->step, 1);
	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], 1);
	CHECK_EQ(s->r[1], 0);
}

static void hold_then_reply(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	/* "Returns with failure if invoked before replying to the last
	 * synchronous sender." */
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), 0), -EBUSY);
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), -EBUSY);
	h_sleep_ms(100);
	/* "when ipc_recv returns from a synchronous send, the sender will
	 * still be blocked until ipc_reply is called." */
	CHECK_EQ(atomic_load(&s->done), 0);
	CHECK_OK(ipc_reply(NULL, 0));
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), 0), -EAGAIN);
}

/* ipc_recv: "Returns with failure if invoked before replying to the last
 * synchronous sender."  and "Note that, when ipc_recv returns from a
 * synchronous send, the sender will still be blocked until ipc_reply is
 * called." */
TEST(moroso_recv_fails_until_last_sync_sender_replied)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(hold_then_reply, s);
	char msg[4] = "m";
	uint32_t len = 1;

	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	atomic_store(&s->done, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* long_dest: "Function returns failure if long_dest is not page-aligned,
 * or not a valid, unmapped userspace address (unless len_long is 0)" */
TEST(moroso_recv_long_dest_aligned_valid_unmapped)
{
	char *hole = mo_hole(2 * PG), *mapped = mo_pages(PG, 1);
	char buf[8];
	uint32_t ll = PG, ls = sizeof(buf);

	CHECK_ERR(ipc_recv(hole + 1, buf, &ll, &ls, 0), -EINVAL);
	CHECK_ERR(ipc_recv(mapped, buf, &ll, &ls, 0), -EEXIST);
	CHECK_ERR(ipc_recv((void *)0xffff800000000000ull, buf, &ll, &ls, 0), -EFAULT);
	ll = 0;
	CHECK_ERR(ipc_recv(hole + 1, buf, &ll, &ls, 0), -EAGAIN);	/* ignored */
	CHECK_ERR(ipc_recv(mapped, buf, &ll, &ls, 0), -EAGAIN);
	CHECK_EQ(mo_mapped(hole, 2 * PG), 0);	/* no reservation left behind */
	CHECK_OK(ipc_mailbox_destroy());
	munmap(mapped, PG);
}

/* len_long: "Returns with failure if len_long points to invalid memory,
 * the memory range contains existing pages, or if *len_long is not a
 * multiple of 4KB." */
TEST(moroso_recv_len_long_checks)
{
	char *hole = mo_hole(3 * PG), *p = mo_pages(PG, 1);
	char buf[8];
	uint32_t ll = PG, ls = sizeof(buf);

	CHECK_ERR(ipc_recv(hole, buf, NULL, &ls, 0), -EFAULT);
	CHECK_ERR(ipc_recv(hole, buf, (uint32_t *)hole, &ls, 0), -EFAULT);
	ll = 100;
	CHECK_ERR(ipc_recv(hole, buf, &ll, &ls, 0), -EINVAL);
	/* a range that only partly holds pages */
	CHECK(mmap(hole + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED);
	ll = 3 * PG;
	CHECK_ERR(ipc_recv(hole, buf, &ll, &ls, 0), -EEXIST);
	CHECK_EQ(mo_mapped(hole, PG), 0);
	munmap(hole + PG, PG);
	munmap(p, PG);
	CHECK_OK(ipc_mailbox_destroy());
}

static void truncating_rx(void *arg)
{
	char *dst = mo_hole(4 * PG);
	char buf[8], want[PG];
	uint32_t ll = PG, ls = 3;

	(void)arg;
	CHECK_OK(ipc_mailbox_init());
	memset(buf, '-', sizeof(buf));
	CHECK_ERR(ipc_recv(dst, buf, &ll, &ls, -1), 0);
	CHECK_EQ(ls, 3);		/* "the length of the transfer" */
	CHECK_MEM(buf, "abc-", 4);	/* "only ... up to len_short bytes" */
	CHECK_EQ(ll, PG);		/* decision: mapped up to *len_long */
	h_fill(want, PG, 9);
	CHECK_MEM(dst, want, PG);
	CHECK_EQ(mo_mapped(dst + PG, 3 * PG), 0);
	CHECK_OK(ipc_reply(NULL, 0));
	/* *len_long 0: "no long IPC transfer occurs" */
	ll = 0;
	ls = sizeof(buf);
	CHECK_ERR(ipc_recv(dst + PG, buf, &ll, &ls, -1), 0);
	CHECK_EQ(ll, 0);
	CHECK_EQ(ls, 2);
	CHECK_EQ(mo_mapped(dst + PG, 3 * PG), 0);
	CHECK_OK(ipc_reply(NULL, 0));
	munmap(dst, PG);
}

/* len_short: "A short message will only be copied into short_dest up to
 * len_short bytes ... On success, the length of the transfer is written
 * to *len_short."  len_long: "On success, the length of the transfer is
 * written to *len_long." */
TEST(moroso_recv_truncates_and_reports_lengths)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(truncating_rx, s);
	char *p = mo_pages(2 * PG, 9);
	char msg[8] = "abcdef";
	uint32_t len = 6;

	CHECK_OK(ipc_send(pid, p, msg, 2 * PG, &len, -1, 0, 1));
	CHECK_EQ(len, 0);	/* empty reply */
	p = mo_pages(PG, 10);
	len = 2;
	CHECK_OK(ipc_send(pid, p, msg, PG, &len, -1, 0, 1));
	CHECK_EQ(mo_mapped(p, PG), 0);	/* moved, though not taken */
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* short_dest: "Function returns failure if short_dest is not valid user
 * memory (unless len_short is 0: see below)"  and len_short: "Function
 * returns with failure if len_short points to invalid memory." */
TEST(moroso_recv_short_dest_and_len_short_valid)
{
	void *hole = mo_hole(PG);
	const char *ro = "read-only";
	uint32_t ll = 0, ls = 8;

	CHECK_ERR(ipc_recv(NULL, hole, &ll, &ls, 0), -EFAULT);
	CHECK_ERR(ipc_recv(NULL, (void *)ro, &ll, &ls, 0), -EFAULT);
	CHECK_ERR(ipc_recv(NULL, hole, &ll, NULL, 0), -EFAULT);
	CHECK_ERR(ipc_recv(NULL, hole, &ll, (uint32_t *)hole, 0), -EFAULT);
	ls = 0;
	CHECK_ERR(ipc_recv(NULL, hole, &ll, &ls, 0), -EAGAIN);	/* ignored */
	CHECK_OK(ipc_mailbox_destroy());
}

/* ----------------------------------------------------- ipc_reply rules */

static void reply_errors_rx(void *arg)
{
	struct mo *s = arg;
	static char big[PG + 1];
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	/* "An error is returned if the last synchronous sender has already
	 * been acknlowedged" - or none was ever received */
	CHECK_ERR(ipc_reply("x", 1), -EALREADY);
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	/* "Function returns with error is message points to invalid memory" */
	CHECK_ERR(ipc_reply(mo_hole(PG), 4), -EFAULT);
	CHECK_ERR(ipc_reply(NULL, 4), -EFAULT);
	/* "Function returns with error if message_len exceeds 4KB." */
	CHECK_ERR(ipc_reply(big, PG + 1), -EMSGSIZE);
	/* the sender still waits: these errors do not answer it */
	CHECK_EQ(atomic_load(&s->done), 0);
	/* "If message_len is 0, message is not copied to the sender, but the
	 * sender is still unblocked." */
	CHECK_OK(ipc_reply(mo_hole(PG), 0));
	CHECK_ERR(ipc_reply(NULL, 0), -EALREADY);
	CHECK_ERR(ipc_reply("y", 1), -EALREADY);
}

/* ipc_reply: "Function returns with error is message points to invalid
 * memory (unless message_len is 0 ...)", "If message_len is 0, message is
 * not copied to the sender, but the sender is still unblocked. Function
 * returns with error if message_len exceeds 4KB." and "An error is
 * returned if the last synchronous sender has already been acknlowedged" */
TEST(moroso_reply_errors_and_empty_reply)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(reply_errors_rx, s);
	char msg[8] = "keep";
	uint32_t len = 4;

	CHECK_OK(ipc_send(pid, NULL, msg, 0, &len, -1, 0, 1));
	atomic_store(&s->done, 1);
	CHECK_EQ(len, 0);
	CHECK_MEM(msg, "keep", 4);	/* nothing copied */
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void reply_too_late(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK(h_wait_ge(&s->step, 1, 10000));
	s->r[0] = ipc_reply("late", 4);
	s->r[1] = mo_recv_short(s, buf, sizeof(buf), 0);	/* free again */
}

/* timeout note: "If the timeout occurs between the time when the receiver
 * receives the message and the receiver replies, the receiver will not be
 * notified of fthe timeout immediately: rather, reply will return with
 * failure to indicate a timeout."  and ipc_reply: "or if the sender timed
 * out and returned before ipc_reply could be invoked." */
TEST(moroso_reply_fails_after_sender_timed_out)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(reply_too_late, s);
	char msg[8] = "asap";
	uint32_t len = 4;

	CHECK_ERR(ipc_send(pid, NULL, msg, 0, &len, 100, 0, 1), -ETIMEDOUT);
	CHECK_MEM(msg, "asap", 4);
	atomic_store(&s->step, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_EQ(s->r[0], -ETIMEDOUT);
	CHECK_EQ(s->r[1], -EAGAIN);
}

/* ------------------------------------------------------- hostile peers */

static void hostile_rx(void *arg)
{
	struct mo *s = arg;
	char buf[16];

	CHECK_OK(ipc_mailbox_init());
	/* the forged messages are dropped; the real one is delivered */
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 1);
	CHECK_MEM(buf, "real", 4);
}

/* "Every error case ... returns a negative error code": a message that
 * is not a well-formed Moroso message reaching a mailbox (the port of a
 * mailbox is reachable with plain msgport calls) is answered -EPROTO and
 * never delivered. */
TEST(moroso_malformed_messages_are_dropped)
{
	struct mo *s = mo_new();
	pid_t pid = mo_fork(hostile_rx, s);
	char path[32];
	mp_oid_t oid;
	mp_msg_t m;
	uint32_t len = 4;

	snprintf(path, sizeof(path), "/moroso/%d", (int)pid);
	CHECK_OK(mp_lookup(path, &oid));
	h_msg_init(&m);
	m.type = 1;
	m.i.data = "fake";
	m.i.size = 4;
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, -EPROTO);
	h_msg_init(&m);
	m.type = 0x4d4f524f;	/* the right type, a garbage header */
	memset(m.i.raw, 0xff, sizeof(m.i.raw));
	CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
	CHECK_EQ(m.o.err, -EPROTO);
	/* a well-formed long message whose memfd is not sealed: the sender
	 * could shrink it under the receiver (SIGBUS) or change moved pages */
	{
		struct {	/* struct moro_hdr of src/api/compat/moroso_priv.h */
			uint32_t magic;
			uint16_t version;
			uint8_t kind, flags;
			int32_t dst_tid, src_tid;
			uint32_t len_long, reserved;
			int64_t deadline_ns;
		} hdr = { 0x6f726f6d, 1, 1, 1, pid, mo_gettid(), PG, 0, -1 };
		int fd = memfd_create("forged", MFD_CLOEXEC);

		CHECK_GE(fd, 0);
		CHECK_OK(ftruncate(fd, PG));
		h_msg_init(&m);
		m.type = 0x4d4f524f;
		memcpy(m.i.raw, &hdr, sizeof(hdr));
		m.i.fds[0] = fd;
		m.i.nfds = 1;
		CHECK_OK(mp_send(oid.port, &m, MP_FOREVER));
		CHECK_EQ(m.o.err, -EPROTO);
		CHECK_OK(close(fd));
	}
	CHECK_GE(ipc_send(pid, NULL, "real", 0, &len, -1, 0, 0), 0);
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static void forked_sender(void *arg)
{
	struct mo *s = arg;
	char msg[8] = "child";
	uint32_t len = 5;

	/* the parent's mailbox is not the child's: it gets its own */
	CHECK_OK(ipc_mailbox_init());
	mo_wait_box(getpid());
	CHECK_OK(ipc_send(s->tid[0], NULL, msg, 0, &len, -1, 0, 1));
	CHECK_MEM(msg, "ok", 2);
	CHECK_OK(ipc_mailbox_destroy());
}

/* decision: mailboxes belong to threads, and a forked child's thread is
 * another thread: it starts without one, and the parent's stays the
 * parent's. */
TEST(moroso_fork_child_gets_its_own_mailbox)
{
	struct mo *s = mo_new();
	char buf[16];
	pid_t pid;

	CHECK_OK(ipc_mailbox_init());
	s->tid[0] = mo_gettid();
	pid = h_fork(forked_sender, s);
	CHECK_ERR(mo_recv_short(s, buf, sizeof(buf), -1), 0);
	CHECK_MEM(buf, "child", 5);
	CHECK_OK(ipc_reply("ok", 2));
	CHECK_EQ(h_reap(pid, 10000), 0);
	mo_wait_box(mo_gettid());	/* still there */
	CHECK_OK(ipc_mailbox_destroy());
}
