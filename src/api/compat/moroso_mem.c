/* SPDX-License-Identifier: MIT */
/*
 * Moroso: the caller's buffers, checked without faulting.
 *
 * "Invalid memory" is found without faulting.  Buffers on the calling
 * thread's stack (above the current frame) are valid for reading and
 * writing, and the main program's loaded segments for reading: these
 * common cases cost nothing.  Anything else goes through the kernel:
 * process_vm_readv/writev on this very process copy and fail with EFAULT
 * (a buffer is checked for reading and writing by writing it onto itself;
 * several buffers go in one call, ~2 us).  Where the kernel refuses these
 * calls (seccomp, ENOSYS), the checks are skipped and the buffers trusted.
 */
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "api/compat/moroso_priv.h"

#define EXE_SEGS 8
static struct {
	uintptr_t lo, hi;
} exe_seg[EXE_SEGS];	/* the main program's PT_LOAD segments */
static int exe_nseg;
static pid_t moro_pid;		/* this process, refreshed after fork */
/* The calling thread's stack, once it has a Moroso state (none if unknown). */
static __thread uintptr_t stack_lo, stack_hi;

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

void mp_moro_mem_init(void)
{
	moro_pid = getpid();
	dl_iterate_phdr(exe_phdr, NULL);
}

void mp_moro_mem_forked(void)
{
	moro_pid = getpid();
}

void mp_moro_mem_thread(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		stack_lo = (uintptr_t)addr;
		stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

/* Between this frame and the top of the calling thread's stack. */
static bool on_stack(const void *p, size_t len)
{
	volatile char here;
	uintptr_t sp = (uintptr_t)&here, a = (uintptr_t)p;

	return sp >= stack_lo && sp < stack_hi && a >= sp && a < stack_hi && len <= stack_hi - a;
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

int mp_moro_mem_read_iov(const struct iovec *local, const struct iovec *remote, int n)
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

int mp_moro_mem_read(void *dst, const void *src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)src, len };

	return mp_moro_mem_read_iov(&l, &r, 1);
}

int mp_moro_mem_rw_iov(const struct iovec *v, int n)
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

int mp_moro_mem_readable(const void *p, size_t len)
{
	char buf[MOROSO_SHORT_MAX];

	if (len > sizeof(buf))
		len = sizeof(buf);
	return readable_fast(p, len) ? 0 : mp_moro_mem_read(buf, p, len);
}
