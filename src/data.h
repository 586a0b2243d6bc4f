/* SPDX-License-Identifier: MIT */
/*
 * Data too large for a datagram travels in a sealed memfd: the sender
 * writes it once, seals it against every change, and passes the fd.
 * Because it is sealed, the receiver may map it without a copy and
 * without fearing SIGBUS (F_SEAL_SHRINK) or later writes (F_SEAL_WRITE).
 */
#ifndef MP_DATA_H
#define MP_DATA_H

#include <stddef.h>

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

#endif
