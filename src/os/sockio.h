/* SPDX-License-Identifier: MIT */
/*
 * Datagram I/O on connection sockets with descriptor passing.  Receiving
 * is where descriptors can leak: every fd that arrives is either handed
 * back to the caller or closed here (truncated control data included).
 */
#ifndef MP_SOCKIO_H
#define MP_SOCKIO_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "os/deadline.h"
#include "msgport.h"

/* User fds plus a data memfd and a lent output memfd. */
#define MP_SOCK_FDS_MAX (MP_FDS_MAX + 2)

/*
 * Send one datagram with nfds descriptors, waiting for room until d.
 * Returns 0, or -EAGAIN (polling and full), -ETIMEDOUT, -ECONNRESET (the
 * peer was already gone: nothing sent), -EPIPE (it went while we waited
 * for room), -EBADF (a descriptor is not open).
 */
int mp_sock_send(int fd, const struct iovec *iov, int iovcnt, const int *fds, unsigned nfds,
		 struct mp_deadline d);

/*
 * Receive one datagram without blocking.  Returns its length, 0 when the
 * peer hung up, -EAGAIN when none is queued, -EPROTO when it was
 * truncated (its descriptors are closed).  *nfds gets the count received.
 */
ssize_t mp_sock_recv(int fd, struct iovec *iov, int iovcnt, int *fds, unsigned *nfds);

/*
 * As mp_sock_recv(), but a datagram whose data came whole while some of
 * its descriptors could not be received (MSG_CTRUNC: the receiver's
 * table is full, RLIMIT_NOFILE) is returned with its length, *lost set
 * and *nfds 0: every descriptor that did arrive is closed already, and
 * the stream of datagrams stays in step.  fds has room for
 * MP_SOCK_FDS_MAX.
 */
ssize_t mp_sock_recv_ex(int fd, struct iovec *iov, int iovcnt, int *fds, unsigned *nfds,
			bool *lost);

/* Wait until fd is readable (or hung up) before d: 1 ready, 0 timed out. */
int mp_sock_wait_readable(int fd, struct mp_deadline d);

void mp_fds_close(const int *fds, unsigned n);

/* 0 when every descriptor is open, else -EBADF. */
int mp_fds_check(const int *fds, unsigned n);

#endif

struct sockaddr_un;
/*
 * Bind or connect a Unix socket to path.  Paths longer than sun_path go
 * through /proc/self/fd/DIRFD/NAME, so deep roots still work.
 */
int mp_sock_bind_path(int fd, const char *path);
int mp_sock_connect_path(int fd, const char *path);
