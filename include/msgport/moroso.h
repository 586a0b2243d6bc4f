/* SPDX-License-Identifier: MIT */
/*
 * msgport/moroso.h - the Moroso IPC interface (Watson, CMU, 2014) on msgport.
 *
 *   int ipc_send(int id, void *message_long, void *message_short,
 *                uint32_t len_long, uint32_t *len_short, int timeout,
 *                int shared, int option_sync);
 *   int ipc_recv(void *long_dest, void *short_dest, uint32_t *len_long,
 *                uint32_t *len_short, int timeout);
 *   int ipc_reply(const void *message, uint32_t message_len);
 *
 * with the specification's parameters, return values and error rules.
 * Every error is a negative errno; the codes are listed per function.
 *
 * Mailboxes.  Each thread has one mailbox, named by its thread id (gettid),
 * and any thread of any process of the host (sharing the msgport root, see
 * msgport.h) sends to it by that id.  A mailbox is a msgport port
 * registered at "/moroso/TID" (mode 0666).  Linux gives no hook at thread
 * creation, so a thread's mailbox is created by its first ipc_recv(), or
 * earlier by ipc_mailbox_init(); it is destroyed when the thread exits
 * (a thread-specific-data destructor: threads that end by returning or by
 * pthread_exit), by ipc_mailbox_destroy(), or with the process.  Until it
 * exists, a synchronous send to that live thread waits for it within its
 * timeout (as for a receiver that is not yet blocked), and an asynchronous
 * send returns -EAGAIN.  A forked child starts without mailboxes.
 *
 * Ticks.  Timeouts count ticks of 1 ms (MOROSO_TICK_NS): 0 polls, -1
 * waits without limit, N > 0 waits N ms; other negative values are
 * -EINVAL where the timeout is used.
 *
 * Choices where the specification leaves one open:
 *
 *  - Reply capacity.  A synchronous sender's message_short is replaced
 *    with the reply, but the only size known to be valid there is the
 *    request's own *len_short.  So that is the capacity for the reply:
 *    a longer reply is truncated to it, and *len_short becomes the number
 *    of bytes written.  A sender that expects a longer reply passes a
 *    larger buffer and *len_short (its request is then that long).
 *    A synchronous sender's message_short must be writable (-EFAULT); it
 *    and *len_short change only when ipc_send returns 0.
 *  - Truncation on receive.  A short message longer than the receiver's
 *    *len_short is cut to it.  A long message longer than *len_long is
 *    mapped up to *len_long bytes and the rest is dropped; with *len_long
 *    0 no long part is taken (a moved one is lost).  *len_short and
 *    *len_long are set to the bytes delivered.
 *  - option_sync 2 ("no reply expected").  The receiver's ipc_recv()
 *    acknowledges the message as it takes it, which unblocks the sender
 *    (ipc_send returns 0); ipc_recv() returns 0 (a synchronous sender),
 *    and a later ipc_reply() returns -EALREADY.
 *  - Long messages are always synchronous with a reply (option_sync is
 *    ignored; the spec: "all long messages are transferred
 *    synchronously"), and use the timeout.
 *  - Moving and sharing pages.  The sender's pages are copied once into a
 *    sealed memfd that travels with the message (on every transport) and
 *    is mapped at long_dest (MAP_FIXED over a reservation taken with
 *    MAP_FIXED_NOREPLACE, so nothing else can be there).  Moved
 *    (shared == 0): the memfd is sealed against writes and the receiver
 *    maps it MAP_PRIVATE (read without a copy, copy-on-write); the
 *    sender's range is unmapped when ipc_send returns 0, -ETIMEDOUT or
 *    -EPIPE, i.e. once the message may have reached the receiver; after
 *    any other error it stays mapped and unchanged.  Shared (shared != 0):
 *    before sending, the sender's range is replaced by a MAP_SHARED
 *    read-write mapping of the same memfd, and the receiver maps it
 *    MAP_SHARED read-write: both see each other's writes from then on
 *    (the sender keeps the shared mapping whatever the outcome).  The
 *    sender's other threads must not write the range during the send.
 *    Received pages are mapped read-write.  While ipc_recv() waits with
 *    *len_long > 0, the range long_dest .. + *len_long is held by an
 *    inaccessible mapping (released if no long message comes).
 *  - Expiry.  "When the timeout is reached, the message expires": a
 *    synchronous message whose sender's timeout has passed before the
 *    receiver takes it is discarded by ipc_recv(), never delivered.  One
 *    that expires after it was taken makes ipc_reply() fail (-ETIMEDOUT).
 *  - Asynchronous sends ignore the timeout (as the spec says); they block
 *    only while the receiver's queue is full (msgport's flow control) and
 *    fail with -EPIPE if the receiver dies meanwhile.
 *  - Receiver death.  A synchronous sender blocked on a thread that exits,
 *    or whose process dies, returns -EPIPE.
 *  - Memory checks.  "Invalid memory" is detected without faulting.
 *    Buffers on the calling thread's own stack (readable and writable) and
 *    in the main program's loaded segments (readable) pass at no cost;
 *    others are checked with process_vm_readv/writev on the calling
 *    process (a system call, ~2 us; where the kernel refuses those calls,
 *    the checks are skipped).  Writability is checked by writing a
 *    buffer's own bytes back onto it.
 *  - Order.  Messages from one sending thread to one mailbox arrive in the
 *    order sent, synchronous and asynchronous alike.
 *
 * Synchronization (the specification's "yield(), sleep, and some
 * approximation of Pebbles' deschedule()/make_runnable()"), with the
 * Pebbles semantics:
 *
 *   int deschedule(int *reject);
 *   int make_runnable(int tid);
 *   int moroso_yield(int tid);     Pebbles' yield(), renamed: POSIX has none
 *   int moroso_sleep(int ticks);   Pebbles' sleep(), renamed: POSIX sleep()
 *
 * A tid is the same thread id as a mailbox's (gettid), and these work
 * between threads of any processes of the host run by the same user.
 * deschedule() examines *reject and suspends the thread atomically with
 * respect to make_runnable(): a make_runnable() called after its caller
 * stored a non-zero *reject either finds the thread descheduled and wakes
 * it, or that deschedule() sees the store and returns at once; a wake-up
 * is never lost.  How: each thread that deschedules owns one page of a
 * sealed memfd ("moroso-sched:TID", one descriptor held until the thread
 * exits) whose word is a futex; make_runnable() turns its "descheduled"
 * into "woken" with one compare-and-swap.  Another process finds the page
 * through /proc/TID/fd (which the kernel opens only to the same user) and
 * keeps it mapped.  A peer that writes the page can wake the thread, or
 * make another waker's make_runnable() fail until the thread's next
 * deschedule() (which rewrites the page's head): nothing else; the
 * descheduled thread reads only that word, at least once a second.
 * Signals do not end a deschedule() (a handler runs and it sleeps again).
 */
#ifndef MSGPORT_MOROSO_H
#define MSGPORT_MOROSO_H

#include <errno.h>	/* the calls return negative errno values */
#include <stdint.h>

#include <msgport.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of one tick, the unit of Moroso timeouts (1 ms). */
#define MOROSO_TICK_NS 1000000LL
/* Page size of long messages, and the largest short message. */
#define MOROSO_PAGE_SIZE 4096u
#define MOROSO_SHORT_MAX 4096u

/* The implementation (libmsgport); use the Moroso names below. */
MP_API int mp_moroso_send(int id, void *message_long, void *message_short, uint32_t len_long,
			  uint32_t *len_short, int timeout, int shared, int option_sync);
MP_API int mp_moroso_recv(void *long_dest, void *short_dest, uint32_t *len_long,
			  uint32_t *len_short, int timeout);
MP_API int mp_moroso_reply(const void *message, uint32_t message_len);
MP_API int mp_moroso_mailbox_init(void);
MP_API int mp_moroso_mailbox_destroy(void);

/*
 * Send a long and/or short message to the thread id.  Returns 0 when a
 * synchronous send completed (option_sync 1 or a long message: replied;
 * option_sync 2: received) or an asynchronous message went to a receiver
 * already waiting in ipc_recv(); 1 when an asynchronous message was queued.
 * Errors:
 *   -EFAULT   len_short invalid; message_short invalid (*len_short > 0;
 *             for option_sync 1 or a long message it must be writable);
 *             the long range is not valid user pages (len_long > 0)
 *   -EMSGSIZE *len_short > 4096
 *   -EINVAL   message_long not page-aligned or len_long not a multiple of
 *             4096 (len_long > 0); option_sync not 0, 1 or 2 (len_long 0);
 *             timeout below -1 (when it is used)
 *   -ESRCH    no thread has that id
 *   -EDEADLK  a synchronous send to the calling thread itself
 *   -EAGAIN   timeout 0 and the receiver is not blocked in ipc_recv();
 *             an asynchronous send to a thread that has no mailbox yet
 *   -ETIMEDOUT no reply (option_sync 2: not received) within timeout ticks
 *   -EPIPE    the receiver died (or destroyed its mailbox) first
 *   -EACCES   the receiver's mailbox is not open to this user
 */
static inline int ipc_send(int id, void *message_long, void *message_short, uint32_t len_long,
			   uint32_t *len_short, int timeout, int shared, int option_sync)
{
	return mp_moroso_send(id, message_long, message_short, len_long, len_short, timeout,
			      shared, option_sync);
}

/*
 * Receive one message into this thread's mailbox (created if needed).
 * Returns 0 for a synchronous sender (answer option_sync 1 and long
 * messages with ipc_reply()), 1 for an asynchronous one.
 * Errors:
 *   -EFAULT   len_long or len_short invalid; short_dest invalid
 *             (*len_short > 0); long_dest not a valid user address
 *   -EINVAL   long_dest not page-aligned or *len_long not a multiple of
 *             4096 (*len_long > 0); timeout below -1
 *   -EEXIST   the range long_dest .. + *len_long holds mapped pages
 *   -EBUSY    the last synchronous sender has not been replied to (also
 *             when it has given up meanwhile: ipc_reply() then returns
 *             -ETIMEDOUT and the mailbox receives again)
 *   -EAGAIN   timeout 0 and no message waiting
 *   -ETIMEDOUT nothing arrived within timeout ticks
 *   errors of mp_port_create()/mp_port_register() creating the mailbox
 */
static inline int ipc_recv(void *long_dest, void *short_dest, uint32_t *len_long,
			   uint32_t *len_short, int timeout)
{
	return mp_moroso_recv(long_dest, short_dest, len_long, len_short, timeout);
}

/*
 * Reply to the last synchronous sender with message_len bytes (0: no
 * data, the sender is still unblocked).
 * Errors:
 *   -EFAULT   message invalid (message_len > 0)
 *   -EMSGSIZE message_len > 4096
 *   -EALREADY no sender waits for a reply: the last synchronous sender
 *             was already replied to (or sent with option_sync 2), or
 *             none was received
 *   -ETIMEDOUT the sender timed out (or died) before the reply
 * -EFAULT and -EMSGSIZE leave the sender waiting; the others end it.
 */
static inline int ipc_reply(const void *message, uint32_t message_len)
{
	return mp_moroso_reply(message, message_len);
}

/*
 * Create the calling thread's mailbox now (ipc_recv() does on first use),
 * so that senders find it before this thread first receives.
 * Errors: those of mp_port_create() and mp_port_register().
 */
static inline int ipc_mailbox_init(void)
{
	return mp_moroso_mailbox_init();
}

/*
 * Destroy the calling thread's mailbox (thread exit does it too): queued
 * messages are dropped, a sender waiting for a reply gets -EPIPE.
 * Returns 0, also when there was none.
 */
static inline int ipc_mailbox_destroy(void)
{
	return mp_moroso_mailbox_destroy();
}

/* ------------------------------------------------------ synchronization */

MP_API int mp_moroso_deschedule(int *reject);
MP_API int mp_moroso_make_runnable(int tid);
MP_API int mp_moroso_yield(int tid);
MP_API int mp_moroso_sleep(int ticks);

/*
 * If *reject is not zero, return 0 at once.  Otherwise suspend the calling
 * thread until a make_runnable() names it, then return 0.  The check of
 * *reject and the suspension are one step for make_runnable() (above).
 * The first deschedule() of a thread that must sleep creates its record
 * (a memfd, one descriptor, until the thread exits).
 * Errors: -EFAULT reject is not readable memory; errors of memfd_create
 * and mmap (-ENOMEM, -EMFILE) creating the record.
 */
static inline int deschedule(int *reject)
{
	return mp_moroso_deschedule(reject);
}

/*
 * Make the thread tid, suspended in deschedule(), runnable: 0 when this
 * call woke it (of several racing calls, exactly one succeeds).
 * Errors:
 *   -ESRCH  no thread has that id (tid <= 0; it exited)
 *   -EAGAIN the thread exists but is not descheduled: it is running,
 *           blocked elsewhere, already woken, or never descheduled
 *   -EPERM  the thread belongs to another user (its state cannot be seen)
 */
static inline int make_runnable(int tid)
{
	return mp_moroso_make_runnable(tid);
}

/*
 * Give up the processor in favour of thread tid, or of any thread with
 * tid -1: a sched_yield().  Linux cannot run a chosen thread next: the
 * kernel's scheduler picks, and tid only decides whether this succeeds.
 * A thread blocked in a system call other than deschedule() (ipc_recv,
 * moroso_sleep, read...) cannot be told apart cheaply and counts as
 * runnable.  Errors: -ESRCH no thread has that id (tid 0, below -1, or
 * exited); -EAGAIN thread tid is descheduled.
 */
static inline int moroso_yield(int tid)
{
	return mp_moroso_yield(tid);
}

/*
 * Sleep for at least ticks ticks (MOROSO_TICK_NS, 1 ms each) of
 * CLOCK_MONOTONIC; 0 returns at once.  Signals do not shorten it.
 * Errors: -EINVAL ticks < 0.
 */
static inline int moroso_sleep(int ticks)
{
	return mp_moroso_sleep(ticks);
}

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_MOROSO_H */
