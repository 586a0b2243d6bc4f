/* SPDX-License-Identifier: MIT */
#include "os/sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "os/compiler.h"

union mp_cmsg_buf {
	char buf[CMSG_SPACE(sizeof(int) * MP_SOCK_FDS_MAX)];
	struct cmsghdr align;
};

void mp_fds_close(const int *fds, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		if (fds[k] >= 0)
			close(fds[k]);
}

int mp_fds_check(const int *fds, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		if (fds[k] < 0 || fcntl(fds[k], F_GETFD) < 0)
			return -EBADF;
	return 0;
}

static void cmsg_put_fds(struct msghdr *mh, union mp_cmsg_buf *cb, const int *fds, unsigned nfds)
{
	struct cmsghdr *cm;

	if (!nfds)
		return;
	mh->msg_control = cb->buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

static int wait_writable(int fd, struct mp_deadline d)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int n;

	do
		n = poll(&p, 1, mp_deadline_ms(d));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return (p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLOUT) ? -EPIPE : 0;
}

int mp_sock_send(int fd, const struct iovec *iov, int iovcnt, const int *fds, unsigned nfds,
		 struct mp_deadline d)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	union mp_cmsg_buf cb;
	bool polling = d.at_ns >= 0 && d.at_ns <= mp_now_ns();
	bool waited = false;

	cmsg_put_fds(&mh, &cb, fds, nfds);
	for (;;) {
		int err;

		if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			return waited ? -EPIPE : -ECONNRESET;
		if (errno == ENOBUFS)
			return -ENOMEM;	/* no buffer for the message: msgport.h's word for it */
		if (errno != EAGAIN)
			return -errno;
		if (polling)
			return -EAGAIN;
		err = wait_writable(fd, d);
		if (err)
			return err;
		waited = true;
	}
}

/* Collect the passed descriptors of a received message into fds. */
static unsigned cmsg_take_fds(struct msghdr *mh, int *fds)
{
	unsigned n = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t cnt;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t k = 0; k < cnt; k++) {
			int v;

			memcpy(&v, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (n < MP_SOCK_FDS_MAX)
				fds[n++] = v;
			else
				close(v);
		}
	}
	return n;
}

ssize_t mp_sock_recv_ex(int fd, struct iovec *iov, int iovcnt, int *fds, unsigned *nfds,
			bool *lost)
{
	union mp_cmsg_buf cb;
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = (size_t)iovcnt,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	ssize_t n;

	*lost = false;
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	*nfds = 0;
	if (n < 0)
		return (errno == ECONNRESET) ? 0 : -errno;
	*nfds = cmsg_take_fds(&mh, fds);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		mp_fds_close(fds, *nfds);
		*nfds = 0;
		if (mh.msg_flags & MSG_TRUNC)
			return -EPROTO;
		/* The data came whole, some descriptors did not (our table is
		 * full, or more were sent than a frame may carry): the kernel
		 * dropped the rest, those that came are closed. */
		*lost = true;
	}
	return n;
}

ssize_t mp_sock_recv(int fd, struct iovec *iov, int iovcnt, int *fds, unsigned *nfds)
{
	bool lost;
	ssize_t n = mp_sock_recv_ex(fd, iov, iovcnt, fds, nfds, &lost);

	return lost ? -EPROTO : n;
}

int mp_sock_wait_readable(int fd, struct mp_deadline d)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, mp_deadline_ms(d));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n > 0;
}


typedef int (*mp_sockaddr_op)(int fd, const struct sockaddr *sa, socklen_t len);

static int sock_path_op(int fd, const char *path, mp_sockaddr_op op)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[4096], base[256];
	int dfd = -1, err = 0;
	const char *slash = strrchr(path, '/');

	if (strlen(path) < sizeof(sa.sun_path)) {
		memcpy(sa.sun_path, path, strlen(path) + 1);
	} else {
		if (!slash || (size_t)(slash - path) >= sizeof(dir) || strlen(slash + 1) >= sizeof(base))
			return -ENAMETOOLONG;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		snprintf(base, sizeof(base), "%s", slash + 1);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
		if (snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, base) >=
		    (int)sizeof(sa.sun_path)) {
			close(dfd);
			return -ENAMETOOLONG;
		}
	}
	if (op(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err = -errno;
	if (dfd >= 0)
		close(dfd);
	return err;
}

int mp_sock_bind_path(int fd, const char *path)
{
	return sock_path_op(fd, path, bind);
}

static int connect_retry(int fd, const struct sockaddr *sa, socklen_t len)
{
	int r;

	do
		r = connect(fd, sa, len);
	while (r != 0 && errno == EINTR);
	return r;
}

int mp_sock_connect_path(int fd, const char *path)
{
	return sock_path_op(fd, path, connect_retry);
}
