/* SPDX-License-Identifier: MIT */
#include "mem/data.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "os/compiler.h"
#include "os/shm.h"

#define MP_SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;

	while (off < len) {
		ssize_t n = pwrite(fd, p + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

/*
 * Seal a memfd of ours that nobody has mapped or received yet.  The
 * kernel refuses that only for reasons that cannot hold here (-EBUSY: a
 * writable mapping or a pin; -EPERM: already sealed): report it as the
 * resource shortage it would have to be, as mp_pg_size_seal() does.
 */
static int seal_fresh(int fd, int seals)
{
	return fcntl(fd, F_ADD_SEALS, seals) == 0 ? 0 : -ENOMEM;
}

int mp_memfd_new(const char *name, size_t len, int seals, void **addr)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) != 0) {
		err = -errno;
		goto err;
	}
	err = seal_fresh(fd, seals | F_SEAL_SHRINK | F_SEAL_GROW);
	if (err)
		goto err;
	if (addr) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			err = -errno;
			goto err;
		}
		*addr = p;
	}
	return fd;
err:
	close(fd);	/* (may change errno: err has it) */
	return err;
}

int mp_data_memfd(const void *data, size_t len)
{
	int fd, err;

	fd = memfd_create("msgport-data", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) != 0) {
		err = -errno;
		goto err;
	}
	err = write_all(fd, data, len);
	if (err)
		goto err;
	err = seal_fresh(fd, MP_SEALS_REQUIRED | F_SEAL_SEAL);
	if (err)
		goto err;
	return fd;
err:
	close(fd);
	return err;
}

/* The peer's memfd must be sealed and at least len bytes long. */
int mp_memfd_peer(int fd, int need, size_t min, size_t max, size_t *len)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;

	if (seals < 0 || (seals & need) != need)
		return -EPROTO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size < min || (uint64_t)st.st_size > max)
		return -EPROTO;
	if (len)
		*len = (size_t)st.st_size;
	return seals;
}

static int memfd_check(int fd, size_t len)
{
	int seals = mp_memfd_peer(fd, MP_SEALS_REQUIRED, len, SIZE_MAX, NULL);

	return seals < 0 ? seals : 0;
}

int mp_data_map(int fd, size_t len, void **out)
{
	void *p;
	int err;

	*out = NULL;
	if (len == 0)
		return 0;
	err = memfd_check(fd, len);
	if (err)
		return err;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	*out = p;
	return 0;
}

void mp_data_unmap(void *addr, size_t len)
{
	if (addr && len)
		munmap(addr, len);
}

int mp_data_read(int fd, void *dst, size_t len)
{
	char *p = dst;
	size_t off = 0;

	while (off < len) {
		ssize_t n = pread(fd, p + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPROTO;
		off += (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ buffers */

struct buf_slot {
	void *p;
	size_t cap;
	int64_t used_ns;
};

static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t buf_fork_once = PTHREAD_ONCE_INIT;
static struct buf_slot buf_kept[MP_BUF_KEEP];
static size_t buf_kept_bytes;	/* under buf_lock */
_Static_assert(MP_BUF_KEEP_MAX <= MP_BUF_KEEP_BYTES, "a buffer kept alone fits");
static _Atomic unsigned buf_nkept;

/* Held across fork, so that a child forked while another thread fills
 * or empties the cache finds it consistent and the lock free (the kept
 * buffers are the child's own copies). */
static void buf_lock_take(void)
{
	pthread_mutex_lock(&buf_lock);
}

static void buf_lock_drop(void)
{
	pthread_mutex_unlock(&buf_lock);
}

static void buf_fork_register(void)
{
	pthread_atfork(buf_lock_take, buf_lock_drop, buf_lock_drop);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Mapped buffers come in powers of two, so that one fits the next call. */
static size_t buf_cap(size_t len)
{
	size_t cap = MP_BUF_MMAP_MIN;

	while (cap < len && cap <= SIZE_MAX / 2)
		cap <<= 1;
	return cap < len ? len : cap;
}

size_t mp_buf_cap(size_t len)
{
	return len < MP_BUF_MMAP_MIN ? len : buf_cap(len);
}

/* Take a kept buffer out of its slot (under buf_lock). */
static void *buf_slot_take(struct buf_slot *s)
{
	void *p = s->p;

	s->p = NULL;
	buf_kept_bytes -= s->cap;
	fetch_add_relaxed(&buf_nkept, -1u);	/* unsigned: adding -1u takes one away */
	return p;
}

static void buf_slot_drop(struct buf_slot *s)
{
	size_t cap = s->cap;

	munmap(buf_slot_take(s), cap);
}

/* The least recently used kept buffer, or NULL (under buf_lock). */
static struct buf_slot *buf_lru(void)
{
	struct buf_slot *victim = NULL;

	for (unsigned k = 0; k < MP_BUF_KEEP; k++)
		if (buf_kept[k].p && (!victim || buf_kept[k].used_ns < victim->used_ns))
			victim = &buf_kept[k];
	return victim;
}

/* Whether transparent huge pages may back our buffers (not "never"):
 * then handing a kept buffer's pages back with MADV_FREE costs next to
 * nothing (measured, 1 GiB: 0.3 ms in huge pages, 46 ms in small ones). */
static _Atomic int buf_thp;	/* 0 not read yet, 1 yes, 2 no */

static bool buf_thp_on(void)
{
	int v = load_relaxed(&buf_thp);

	if (unlikely(!v)) {
		char line[128] = "";
		int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, line, sizeof(line) - 1) : -1;

		if (fd >= 0)
			close(fd);
		line[n > 0 ? n : 0] = '\0';
		v = n > 0 && !strstr(line, "[never]") ? 1 : 2;
		store_relaxed(&buf_thp, v);
	}
	return v == 1;
}

/* A new buffer of cap bytes, or NULL. */
static void *buf_map(size_t cap)
{
	void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (cap >= MP_BUF_HUGE_MIN)
		madvise(p, cap, MADV_HUGEPAGE);	/* a hint: refused, the pages are small */
	return p;
}

/* One short buffer per thread stays between calls (a server takes one
 * for every answer): no malloc and free per call.  Every buffer of at
 * most MP_BUF_SHORT bytes is MP_BUF_SHORT long, so any fits any call.
 * The thread's exit frees it. */
static __thread void *buf_short;
static __thread bool buf_short_reg;
static pthread_once_t buf_short_once = PTHREAD_ONCE_INIT;
static pthread_key_t buf_short_key;

static void buf_short_destroy(void *unused)
{
	(void)unused;
	free(buf_short);
	buf_short = NULL;
	buf_short_reg = false;	/* a later destructor's put registers again */
}

static void buf_short_init(void)
{
	pthread_key_create(&buf_short_key, buf_short_destroy);
}

static void *buf_short_get(void)
{
	void *p = buf_short;

	if (likely(p)) {
		buf_short = NULL;
		return p;
	}
	return malloc(MP_BUF_SHORT);
}

static void buf_short_put(void *p)
{
	if (buf_short) {
		free(p);
		return;
	}
	if (unlikely(!buf_short_reg)) {
		pthread_once(&buf_short_once, buf_short_init);
		if (pthread_setspecific(buf_short_key, &buf_short) != 0) {
			free(p);	/* it would never be freed */
			return;
		}
		buf_short_reg = true;
	}
	buf_short = p;
}

void *mp_buf_get(size_t len)
{
	size_t cap;
	void *p = NULL;

	if (len <= MP_BUF_SHORT)
		return buf_short_get();
	if (len < MP_BUF_MMAP_MIN)
		return malloc(len);
	cap = buf_cap(len);
	if (load_relaxed(&buf_nkept)) {
		pthread_mutex_lock(&buf_lock);
		for (unsigned k = 0; k < MP_BUF_KEEP && !p; k++)
			if (buf_kept[k].p && buf_kept[k].cap == cap)
				p = buf_slot_take(&buf_kept[k]);
		pthread_mutex_unlock(&buf_lock);
	}
	return p ? p : buf_map(cap);
}

void mp_buf_put(void *buf, size_t len)
{
	struct buf_slot *victim = NULL;
	size_t cap;

	if (!buf)
		return;
	if (len <= MP_BUF_SHORT) {
		buf_short_put(buf);
		return;
	}
	if (len < MP_BUF_MMAP_MIN) {
		free(buf);
		return;
	}
	cap = buf_cap(len);
	if (cap > MP_BUF_KEEP_MAX) {
		munmap(buf, cap);
		return;
	}
	/* Kept, its pages stay ours until the kernel needs them (then a
	 * later use faults them in again): an idle server that once took a
	 * long message does not pin that memory. */
	if (cap >= MP_BUF_HUGE_MIN && buf_thp_on())
		madvise(buf, cap, MADV_FREE);
	pthread_once(&buf_fork_once, buf_fork_register);	/* before the cache fills */
	pthread_mutex_lock(&buf_lock);
	/* Room for it: the least recently used go while it does not fit. */
	while (buf_kept_bytes > MP_BUF_KEEP_BYTES - cap)
		buf_slot_drop(buf_lru());
	for (unsigned k = 0; k < MP_BUF_KEEP && !victim; k++)
		if (!buf_kept[k].p)
			victim = &buf_kept[k];
	if (!victim) {
		victim = buf_lru();
		buf_slot_drop(victim);
	}
	*victim = (struct buf_slot){ buf, cap, now_ns() };
	buf_kept_bytes += cap;
	fetch_add_relaxed(&buf_nkept, 1);
	pthread_mutex_unlock(&buf_lock);
}

void mp_buf_trim(void)
{
	int64_t now;

	if (!load_relaxed(&buf_nkept))
		return;
	now = now_ns();
	pthread_mutex_lock(&buf_lock);
	for (unsigned k = 0; k < MP_BUF_KEEP; k++)
		if (buf_kept[k].p && now - buf_kept[k].used_ns > MP_BUF_KEEP_NS)
			buf_slot_drop(&buf_kept[k]);
	pthread_mutex_unlock(&buf_lock);
}

/* ------------------------------------------------------------ process_vm */

static _Atomic size_t vm_min = SIZE_MAX;	/* SIZE_MAX: not read yet */

size_t mp_vm_min(void)
{
	size_t v = load_relaxed(&vm_min);

	if (v == SIZE_MAX) {
		const char *on = getenv("MSGPORT_VM"), *min = getenv("MSGPORT_VM_MIN");

		v = MP_VM_MIN_DEFAULT;
		if (min && *min) {
			char *end;
			unsigned long long n = strtoull(min, &end, 0);

			if (*end == '\0' && n > 0 && n < SIZE_MAX)
				v = (size_t)n;
		}
		if (on && strcmp(on, "0") == 0)
			v = 0;
		store_relaxed(&vm_min, v);
	}
	return v;
}

static int vm_copy(pid_t pid, uint64_t remote, void *local, size_t len, bool write)
{
	size_t done = 0;

	if (pid <= 0)
		return -EPERM;	/* not visible in our pid namespace */
	while (done < len) {
		struct iovec l = { (char *)local + done, len - done };
		struct iovec r = { (void *)(uintptr_t)(remote + done), len - done };
		ssize_t n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0)
				  : process_vm_readv(pid, &l, 1, &r, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPERM || errno == EACCES || errno == ENOSYS ? -EPERM
			       : errno == ESRCH ? -ESRCH : errno == ENOMEM ? -ENOMEM : -EFAULT;
		if (n == 0)
			return -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

int mp_vm_read(pid_t pid, uint64_t remote, void *local, size_t len)
{
	return vm_copy(pid, remote, local, len, false);
}

int mp_vm_write(pid_t pid, uint64_t remote, const void *local, size_t len)
{
	return vm_copy(pid, remote, (void *)local, len, true);
}
