/* SPDX-License-Identifier: MIT */
/*
 * Data too large for a datagram travels in a sealed memfd: the sender
 * writes it once, seals it against every change, and passes the fd.
 * Because it is sealed, the receiver may map it without a copy and
 * without fearing SIGBUS (F_SEAL_SHRINK) or later writes (F_SEAL_WRITE).
 */
#ifndef MP_DATA_H
#define MP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Every shared memory of the library is a memfd made here: len bytes,
 * never named (a crash leaves nothing behind), sealed with seals (always
 * against shrinking and growing, so a peer that maps it can never fault on
 * a truncation), and mapped shared read-write at *addr when addr is not
 * NULL.  Returns the fd or -errno.
 */
int mp_memfd_new(const char *name, size_t len, int seals, void **addr);

/*
 * A peer's memfd, checked before it is mapped: a regular file carrying at
 * least the seals in need, between min and max bytes long (a sealed size
 * cannot change afterwards).  Returns its seals, its size in *len when len
 * is not NULL, or -EPROTO.
 */
int mp_memfd_peer(int fd, int need, size_t min, size_t max, size_t *len);

/* A sealed memfd holding len bytes of data; returns the fd or -errno. */
int mp_data_memfd(const void *data, size_t len);

/*
 * Map a peer's data memfd privately (writable copy-on-write) after
 * checking its seals and size.  *out is NULL when len is 0.
 * Returns 0 or -EPROTO (bad memfd), -ENOMEM.
 */
int mp_data_map(int fd, size_t len, void **out);
void mp_data_unmap(void *addr, size_t len);

/* Copy len bytes of a peer's data memfd into dst (-EPROTO if short). */
int mp_data_read(int fd, void *dst, size_t len);

/* Where a received message's data (or a call's output buffer) lives, so
 * that it is released the right way. */
enum mp_buf_kind {
	MP_BUF_HEAP = 0,	/* malloc: free() */
	MP_BUF_MAPPED = 1,	/* a data memfd mapping: mp_data_unmap() */
	MP_BUF_PAGES = 2,	/* received pages: mp_pages_auto_release() */
	MP_BUF_CACHE = 3,	/* mp_buf_get(): mp_buf_put() */
	MP_BUF_SHARED = 4,	/* the transport's shared memory: nothing */
	MP_BUF_LENT = 5,	/* the caller's lent pages: mp_pages_lend_unmap() */
	MP_BUF_SCRATCH = 6,	/* the receiving thread's buffer (a one-way's data,
				 * good until its next mp_recv()): nothing */
};

/*
 * Private buffers (received input, a server's output buffer): short ones
 * come from malloc (one of up to MP_BUF_SHORT bytes per thread is kept for
 * the next call), long ones are anonymous mappings of which a few
 * are kept for reuse, so that copying into them does not fault on fresh
 * pages every time (measured, 1 GiB: a fresh buffer took 262,144 page
 * faults per call, 850 ms against 90 ms for the copy itself).  Up to
 * MP_BUF_KEEP buffers are kept, MP_BUF_KEEP_BYTES in all (the least
 * recently used go first), each for at most MP_BUF_KEEP_NS unused (looked
 * at by mp_buf_trim(), at every mp_recv()).  Buffers of MP_BUF_HUGE_MIN
 * bytes or more ask for transparent huge pages (MADV_HUGEPAGE): a fresh
 * one then faults once per 2 MiB, not once per 4 KiB; when they are kept
 * their pages are left to the kernel to take back under memory pressure
 * (MADV_FREE: free of cost in huge pages; not done when the system has
 * transparent huge pages off), so kept memory is never pinned while a
 * server sits idle.
 */
#define MP_BUF_SHORT ((size_t)4 << 10)	/* one per thread kept, see data.c */
#define MP_BUF_MMAP_MIN ((size_t)64 << 10)
#define MP_BUF_KEEP 2
#define MP_BUF_KEEP_MAX ((size_t)1 << 30)	/* MP_DATA_MAX: every size */
#define MP_BUF_KEEP_BYTES ((size_t)1 << 30)
#define MP_BUF_KEEP_NS 1000000000LL
#define MP_BUF_HUGE_MIN ((size_t)2 << 20)
/* The bytes a buffer of len takes (a mapped one: a power of two); a
 * buffer of mp_buf_cap(len) bytes may hold any length up to it. */
size_t mp_buf_cap(size_t len);
void *mp_buf_get(size_t len);
void mp_buf_put(void *buf, size_t len);
/* Release kept buffers unused for too long. */
void mp_buf_trim(void);

/*
 * Ordinary buffers of a blocked caller, read or written in one copy by the
 * server with process_vm_readv()/process_vm_writev() where the kernel lets
 * it ($MSGPORT_VM=0 turns it off; $MSGPORT_VM_MIN sets the threshold).
 */
/* Data over this goes that way by default: what does not fit in a frame
 * (measured: much faster than a data memfd from there on). */
#define MP_VM_MIN_DEFAULT ((size_t)32 << 10)
/* Data over this many bytes goes this way; 0 when it is off. */
size_t mp_vm_min(void);
/* Copy len bytes between local and remote in pid: 0, -EPERM (the kernel
 * refuses), -ESRCH (no such process), -EFAULT (a bad or short range). */
int mp_vm_read(pid_t pid, uint64_t remote, void *local, size_t len);
int mp_vm_write(pid_t pid, uint64_t remote, const void *local, size_t len);

#endif
