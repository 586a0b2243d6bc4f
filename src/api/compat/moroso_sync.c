/* SPDX-License-Identifier: MIT */
/*
 * Moroso synchronization (include/msgport/moroso.h): deschedule(),
 * make_runnable(), moroso_yield(), moroso_sleep().
 *
 * A thread that deschedules gets a sched record: one page of a memfd named
 * "moroso-sched:TID", sealed against shrinking and growing, kept open (one
 * descriptor) and mapped shared.  Its state word is a futex:
 *   RUNNING | seq << 2   not inside deschedule()
 *   DESCHED | seq << 2   inside deschedule(), not woken yet
 *   WOKEN   | seq << 2   a make_runnable() took this deschedule()
 *   GONE                 the thread has exited
 * deschedule() stores DESCHED, then (a full fence) reads *reject;
 * make_runnable() comes after its caller's store to *reject and moves
 * DESCHED to WOKEN with one compare-and-swap.  So either deschedule() sees
 * the store and returns, or make_runnable() sees DESCHED (Dekker): a
 * wake-up that races a deschedule() is never lost, and it succeeds exactly
 * when it took one.
 *
 * Messages cannot do this: a waker must learn "not descheduled" while the
 * target is not receiving, and the target must be findable in the instant
 * between its check of *reject and its sleep.  So a waker reads the word.
 * In this process it finds the record in own_list; in another process it
 * opens the memfd through /proc/TID/fd (the kernel allows only the owner's
 * user), checks seals, size and header, maps it and caches the mapping.
 * Such a peer can write the whole page.  The owner reads only the state
 * word, and every value but its own DESCHED ends its wait (rechecked each
 * second, so that a write without a futex wake does too): a peer can wake
 * the thread or make a third party's make_runnable() fail, nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/compat/moroso_priv.h"

#define SCHED_MAGIC 0x4843534du	/* "MSCH" */
#define SCHED_VERSION 1u
#define SCHED_SIZE 4096u
#define SCHED_RECHECK_S 1	/* a descheduled thread looks at its word this often */
#define PEER_CACHE 8		/* other processes' records a process keeps mapped */

enum { ST_RUNNING = 0, ST_DESCHED = 1, ST_WOKEN = 2, ST_GONE = 3, ST_MASK = 3 };

/* The head of a record's page.  Written by its owner; wakers write state. */
struct sched_rec {
	uint32_t magic;
	uint32_t version;
	int32_t tid;
	int32_t pid;
	_Atomic uint32_t state;
};

/* A thread of this process and its record. */
struct sched_own {
	struct sched_own *next;
	struct sched_rec *rec;
	int fd;
	pid_t tid;
	uint32_t seq;
};

/* A record of a thread of another process, mapped here. */
struct sched_peer {
	pid_t tid;
	struct sched_rec *rec;
};

/* own_lock guards own_list and peers; a waker holds it while it touches a
 * record, so that the owner's exit does not unmap it underneath. */
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sched_own *own_list;
static struct sched_peer peers[PEER_CACHE];
static unsigned peers_next;
static pthread_once_t sync_once = PTHREAD_ONCE_INIT;
static pthread_key_t sync_key;
static __thread struct sched_own *own_cur;
/* Threads whose record went with their exit, lately: the kernel task
 * outlives pthread_join() for a moment (the tid is cleared before the
 * task is gone), so tgkill() alone would still call it alive. */
#define GONE_RING 16
#define GONE_NS 1000000000	/* a tid is not reused that fast */
static struct { pid_t tid; int64_t at_ns; } gone[GONE_RING];
static unsigned gone_next;

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

/* ------------------------------------------------- this process's records */

static void own_free(struct sched_own *o)
{
	if (o->rec)
		munmap(o->rec, SCHED_SIZE);
	if (o->fd >= 0)
		close(o->fd);
	free(o);
}

/* Thread exit: wakers from now on get -ESRCH. */
static void own_exit(void *arg)
{
	struct sched_own *o = arg, **pp;

	pthread_mutex_lock(&own_lock);
	for (pp = &own_list; *pp && *pp != o; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = o->next;
	gone[gone_next].tid = o->tid;
	gone[gone_next].at_ns = mono_ns();
	gone_next = (gone_next + 1) % GONE_RING;
	atomic_store(&o->rec->state, ST_GONE);
	pthread_mutex_unlock(&own_lock);
	own_cur = NULL;
	own_free(o);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&own_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&own_lock);
}

/* The child's threads are new: the parent's records are not theirs.  The
 * peers' mappings stay valid (the parent's own records are now peers). */
static void fork_child(void)
{
	while (own_list) {
		struct sched_own *o = own_list;

		own_list = o->next;
		own_free(o);
	}
	own_cur = NULL;
	pthread_setspecific(sync_key, NULL);
	pthread_mutex_unlock(&own_lock);
}

static void sync_init_once(void)
{
	pthread_key_create(&sync_key, own_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* The head that lets wakers find the record, magic last.  Written again
 * by each deschedule(): a peer's scribbles on it last until then. */
static void own_head_write(struct sched_own *o)
{
	o->rec->version = SCHED_VERSION;
	o->rec->tid = o->tid;
	o->rec->pid = getpid();
	__atomic_store_n(&o->rec->magic, SCHED_MAGIC, __ATOMIC_RELEASE);
}

/* A new sealed, mapped record for the calling thread, published last. */
static int own_create(struct sched_own **out)
{
	struct sched_own *o = calloc(1, sizeof(*o));
	char name[32];
	void *p;
	int err;

	if (!o)
		return -ENOMEM;
	o->tid = (pid_t)syscall(SYS_gettid);
	snprintf(name, sizeof(name), "moroso-sched:%d", (int)o->tid);
	o->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (o->fd < 0 || ftruncate(o->fd, SCHED_SIZE) != 0 ||
	    fcntl(o->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		goto err_errno;
	p = mmap(NULL, SCHED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);
	if (p == MAP_FAILED)
		goto err_errno;
	o->rec = p;
	atomic_store(&o->rec->state, ST_RUNNING);
	own_head_write(o);
	err = pthread_setspecific(sync_key, o);
	if (err) {
		err = -err;
		goto err;
	}
	pthread_mutex_lock(&own_lock);
	o->next = own_list;
	own_list = o;
	pthread_mutex_unlock(&own_lock);
	own_cur = o;
	*out = o;
	return 0;
err_errno:
	err = -errno;
err:
	own_free(o);
	return err;
}

/* Under own_lock. */
static struct sched_rec *own_find(pid_t tid)
{
	for (struct sched_own *o = own_list; o; o = o->next)
		if (o->tid == tid)
			return o->rec;
	return NULL;
}

/* ------------------------------------------- other processes' records */

/* Whether r is still thread tid's: it has not exited, and tid is still a
 * thread of the record's process (a killed process's tid may be reused). */
static bool rec_current(struct sched_rec *r, pid_t tid)
{
	return (atomic_load(&r->state) & ST_MASK) != ST_GONE &&
	       syscall(SYS_tgkill, (pid_t)r->pid, tid, 0) == 0;
}

/* Map the record at path (a /proc/TID/fd entry) if it is one of tid's. */
static int peer_map(const char *path, pid_t tid, struct sched_rec **out)
{
	int need = F_SEAL_SHRINK | F_SEAL_GROW;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct sched_rec *r;
	struct stat st;
	int seals;
	void *p;

	if (fd < 0)
		return (errno == EACCES || errno == EPERM) ? -EPERM : -EAGAIN;
	seals = fcntl(fd, F_GET_SEALS);
	p = MAP_FAILED;
	if (seals >= 0 && (seals & need) == need && fstat(fd, &st) == 0 &&
	    st.st_size >= (off_t)SCHED_SIZE)
		p = mmap(NULL, SCHED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);	/* the mapping keeps the memfd */
	if (p == MAP_FAILED)
		return -EAGAIN;
	r = p;
	if (__atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) != SCHED_MAGIC ||
	    r->version != SCHED_VERSION || r->tid != tid || !rec_current(r, tid)) {
		munmap(p, SCHED_SIZE);
		return -EAGAIN;	/* not (yet) a record of tid */
	}
	*out = r;
	return 0;
}

/* Find tid's record among the descriptors of its process: 0, -EAGAIN
 * (it has none: it never descheduled), -ESRCH, -EPERM. */
static int peer_open(pid_t tid, struct sched_rec **out)
{
	char dir[32], path[32 + sizeof(((struct dirent *)0)->d_name)], want[64], link[64];
	struct dirent *e;
	int err = -EAGAIN;
	size_t wlen;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)tid);
	wlen = (size_t)snprintf(want, sizeof(want), "/memfd:moroso-sched:%d (deleted)", (int)tid);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? -ESRCH : -EPERM;
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link));
		if (n != (ssize_t)wlen || memcmp(link, want, wlen) != 0)
			continue;
		err = peer_map(path, tid, out);
		if (err != -EAGAIN)
			break;
	}
	closedir(d);
	return err;
}

/* Under own_lock: tid's record from the cache, else opened and cached.
 * A cached record that is no longer tid's is dropped and tid looked up. */
static int peer_find(pid_t tid, struct sched_rec **out)
{
	struct sched_peer *slot = NULL;
	int err;

	for (unsigned k = 0; k < PEER_CACHE; k++) {
		if (peers[k].tid != tid)
			continue;
		if (rec_current(peers[k].rec, tid)) {
			*out = peers[k].rec;
			return 0;
		}
		slot = &peers[k];
	}
	err = peer_open(tid, out);
	if (err)
		return err;
	if (!slot) {
		slot = &peers[peers_next];
		peers_next = (peers_next + 1) % PEER_CACHE;
	}
	if (slot->rec)
		munmap(slot->rec, SCHED_SIZE);
	slot->tid = tid;
	slot->rec = *out;
	return 0;
}

/* Under own_lock: whether thread tid of ours exited a moment ago. */
static bool just_gone(pid_t tid)
{
	int64_t now = mono_ns();

	for (unsigned k = 0; k < GONE_RING; k++)
		if (gone[k].tid == tid && now - gone[k].at_ns < GONE_NS)
			return true;
	return false;
}

static bool in_this_process(pid_t tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) == 0;
}

/* Under own_lock: the record of thread tid, or -ESRCH (no such thread),
 * -EAGAIN (it never descheduled), -EPERM (another user's). */
static int rec_find(pid_t tid, struct sched_rec **out)
{
	if (tid <= 0 || (kill(tid, 0) != 0 && errno != EPERM))
		return -ESRCH;
	*out = own_find(tid);
	if (*out)
		return 0;
	if (just_gone(tid))
		return -ESRCH;	/* exited, its task not quite gone */
	if (in_this_process(tid))
		return -EAGAIN;
	return peer_find(tid, out);
}

/* ------------------------------------------------------------ the calls */

/* Sleep while the word still holds this deschedule()'s DESCHED. */
static void sched_wait(_Atomic uint32_t *w, uint32_t v)
{
	const struct timespec recheck = { SCHED_RECHECK_S, 0 };

	while (atomic_load(w) == v)
		futex(w, FUTEX_WAIT, v, &recheck);	/* shared: wakers may be elsewhere */
}

int mp_moroso_deschedule(int *reject)
{
	struct moro_tls *t = mp_moro_tls();
	struct sched_own *o;
	uint32_t v;
	int err;

	if (!t)
		return -ENOMEM;
	err = mp_moro_mem_readable(reject, sizeof(*reject));
	if (err)
		return err;
	pthread_once(&sync_once, sync_init_once);
	o = own_cur;
	if (!o) {
		/* Nobody can find a thread without a record: not descheduled. */
		if (__atomic_load_n(reject, __ATOMIC_SEQ_CST))
			return 0;
		err = own_create(&o);
		if (err)
			return err;
	}
	own_head_write(o);
	o->seq++;
	v = (o->seq << 2) | ST_DESCHED;
	atomic_store(&o->rec->state, v);
	atomic_thread_fence(memory_order_seq_cst);	/* pairs with make_runnable's CAS */
	if (!__atomic_load_n(reject, __ATOMIC_RELAXED))
		sched_wait(&o->rec->state, v);
	/* Back to RUNNING: a WOKEN that raced a non-zero *reject is absorbed. */
	atomic_store(&o->rec->state, (o->seq << 2) | ST_RUNNING);
	return 0;
}

/* DESCHED to WOKEN, then the futex wake: 0, -EAGAIN, -ESRCH. */
static int sched_wake(struct sched_rec *r)
{
	uint32_t s;

	atomic_thread_fence(memory_order_seq_cst);	/* the caller's *reject store first */
	s = atomic_load(&r->state);
	do {
		if ((s & ST_MASK) == ST_GONE)
			return -ESRCH;
		if ((s & ST_MASK) != ST_DESCHED)
			return -EAGAIN;
	} while (!atomic_compare_exchange_weak(&r->state, &s, (s & ~(uint32_t)ST_MASK) | ST_WOKEN));
	futex(&r->state, FUTEX_WAKE, INT_MAX, NULL);
	return 0;
}

int mp_moroso_make_runnable(int tid)
{
	struct sched_rec *r;
	int err;

	if (!mp_moro_tls())
		return -ENOMEM;
	pthread_once(&sync_once, sync_init_once);
	/* The caller's store to *reject before any look at the record, even
	 * at one not yet published: pairs with deschedule()'s fence. */
	atomic_thread_fence(memory_order_seq_cst);
	pthread_mutex_lock(&own_lock);
	err = rec_find(tid, &r);
	if (err)
		goto out;
	err = sched_wake(r);
out:
	pthread_mutex_unlock(&own_lock);
	return err;
}

/* Whether thread tid could run now: 0, -ESRCH, -EAGAIN (descheduled).
 * A thread never descheduled, or of another user, counts as runnable. */
static int runnable_check(pid_t tid)
{
	struct sched_rec *r;
	int err;

	if (!mp_moro_tls())
		return -ENOMEM;
	pthread_once(&sync_once, sync_init_once);
	pthread_mutex_lock(&own_lock);
	err = rec_find(tid, &r);
	if (err == 0 && (atomic_load(&r->state) & ST_MASK) == ST_DESCHED)
		err = -EAGAIN;
	else if (err != -ESRCH)
		err = 0;
	pthread_mutex_unlock(&own_lock);
	return err;
}

int mp_moroso_yield(int tid)
{
	int err = tid == -1 ? 0 : runnable_check(tid);

	if (err)
		return err;
	sched_yield();
	return 0;
}

int mp_moroso_sleep(int ticks)
{
	struct timespec at;
	int64_t ns;
	int err;

	if (ticks < 0)
		return -EINVAL;
	if (ticks == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &at);
	ns = at.tv_nsec + (int64_t)ticks * MOROSO_TICK_NS;
	at.tv_sec += ns / 1000000000;
	at.tv_nsec = ns % 1000000000;
	while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL)) == EINTR)
		;
	return -err;
}
