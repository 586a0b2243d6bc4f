/* SPDX-License-Identifier: MIT */
/* A client that writes its pulse board by hand (skipping the library):
 * what the server takes from it is validated, a bad HELLO costs only the
 * connection.  A peer that clears O_NONBLOCK on a file description it
 * shares with us (a source of mp_pulse_on_fd, a pulse board's wake-up)
 * never makes us block. */
#include "harness.h"

#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn/port.h"
#include "conn/pulse_fd.h"
#include "os/shm.h"
#include "proto/pulse.h"
#include "proto/wire.h"

static int connect_port(mp_port_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	CHECK_GE(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ports/%u.sock", getenv("MSGPORT_ROOT"), port);
	CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_hello(int fd, const int *fds, unsigned nfds)
{
	struct mp_frame f = { .magic = MP_FRAME_MAGIC, .kind = MP_FRAME_HELLO,
			      .nfds = (uint8_t)nfds, .type = MP_PULSE_HELLO };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct iovec iov = { &f, sizeof(f) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	CHECK_EQ(sendmsg(fd, &mh, 0), (ssize_t)sizeof(f));
}

static int board_memfd(struct mp_pulse_board **map, bool seal)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK_GE(fd, 0);
	CHECK_EQ(ftruncate(fd, MP_PULSE_BOARD_SIZE), 0);
	if (seal)
		CHECK_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	*map = mmap(NULL, MP_PULSE_BOARD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(*map != MAP_FAILED);
	store_relaxed(&(*map)->shm_magic, MP_PULSE_BOARD_MAGIC);
	return fd;
}

static void slot_set(struct mp_pulse_slot *s, uint32_t seq, uint32_t code, uint64_t value,
		     uint64_t total)
{
	store_relaxed(&s->shm_seq, seq);
	store_relaxed(&s->shm_code, code);
	store_relaxed(&s->shm_value, value);
	store_relaxed(&s->shm_total, total);
}

/* Serve until the connection fd is hung up by the server. */
static void serve_until_hup(mp_port_t port, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	mp_msg_t m;
	mp_rid_t rid;

	for (;;) {
		CHECK_GE(poll(&pfd, 1, 0), 0);
		if (pfd.revents & (POLLHUP | POLLERR))
			return;
		CHECK_NE(mp_recv(port, &m, &rid, 1000000), MP_RECV_PULSE);
	}
}

TEST(pulse_hostile_board)
{
	struct mp_pulse_board *b;
	mp_port_t port;
	int fd, mfd, efd, fds[2];
	uint64_t one = 1;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&port));
	fd = connect_port(port);
	mfd = board_memfd(&b, true);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK_GE(efd, 0);
	slot_set(&b->slot[0], 2, MP_PULSE_DISCONNECT, 1, 5);	/* a forged notice */
	slot_set(&b->slot[1], 3, 9, 2, 5);			/* a write in progress */
	slot_set(&b->slot[2], 2, 10, 99, 7);			/* the one real pulse */
	store_relaxed(&b->shm_gen, 1);
	fds[0] = mfd;
	fds[1] = efd;
	send_hello(fd, fds, 2);
	CHECK_EQ(write(efd, &one, sizeof(one)), 8);
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 10);
	CHECK_EQ(mp_msg_pulse(&m).value, 99);
	CHECK_EQ(mp_msg_pulse(&m).count, 7);
	CHECK_EQ(m.pid, getpid());
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);	/* nothing else */
	/* The total goes back: counted as one pulse, no huge count. */
	slot_set(&b->slot[2], 4, 10, 100, 3);
	store_relaxed(&b->shm_gen, 2);
	CHECK_EQ(write(efd, &one, sizeof(one)), 8);
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(mp_msg_pulse(&m).value, 100);
	CHECK_EQ(mp_msg_pulse(&m).count, 1);
	/* A second board on the same connection: dropped. */
	send_hello(fd, fds, 2);
	serve_until_hup(port, fd);
	close(fd);
	munmap(b, MP_PULSE_BOARD_SIZE);
	close(mfd);

	/* An unsealed memfd (could shrink under us), one fd, no fd: dropped. */
	for (int k = 0; k < 3; k++) {
		fd = connect_port(port);
		mfd = board_memfd(&b, k != 0);
		fds[0] = mfd;
		send_hello(fd, fds, k == 0 ? 2 : k == 1 ? 1 : 0);
		serve_until_hup(port, fd);
		close(fd);
		munmap(b, MP_PULSE_BOARD_SIZE);
		close(mfd);
	}
	close(efd);
	CHECK_OK(mp_port_destroy(port));
}

/* ------------------------------------- descriptions shared with a peer */

static void clear_nonblock(int fd)
{
	CHECK_OK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK));
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
}

/* Every source's event as epoll would report it after a racing sender
 * took what was there: the read must find nothing, not wait. */
static void stale_events(mp_port_t port)
{
	struct mp_port_obj *p = mp_port_get(port);

	CHECK(p != NULL);
	for (uint32_t k = 0; k < MP_PULSE_FD_MAX; k++)
		mp_pulse_fd_event(p, MP_KEY_PULSE_FD + k, EPOLLIN);
	mp_port_put(p);
}

/* A hostile sender clears O_NONBLOCK on the description it shares with
 * the server's source (an eventfd, a pipe, a socket) and leaves nothing
 * to read: the server's read returns at once (RWF_NOWAIT, MSG_DONTWAIT:
 * never the description's flag), the source stays and still pulses. */
TEST(pulse_fd_hostile_clears_nonblock)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), pp[2], sp[2];
	uint64_t v = 3;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	char c = 'x';

	CHECK_GE(efd, 0);
	CHECK_OK(pipe2(pp, O_CLOEXEC | O_NONBLOCK));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp));
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_pulse_on_fd(port, efd, 1));
	CHECK_OK(mp_pulse_on_fd(port, pp[0], 2));
	CHECK_OK(mp_pulse_on_fd(port, sp[0], 3));
	clear_nonblock(efd);	/* the shared descriptions: the server's too */
	clear_nonblock(pp[0]);
	clear_nonblock(sp[0]);
	stale_events(port);	/* a hang here is the failure (the harness's timeout) */
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	/* each source still works */
	CHECK_EQ(write(efd, &v, sizeof(v)), 8);
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 1);
	CHECK_EQ(mp_msg_pulse(&m).value, 3);
	CHECK_EQ(write(pp[1], &c, 1), 1);
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 2);
	CHECK_EQ(write(sp[1], &c, 1), 1);
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(m.type, 3);
	stale_events(port);
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	CHECK_OK(mp_port_destroy(port));
	close(efd);
	close(pp[0]);
	close(pp[1]);
	close(sp[0]);
	close(sp[1]);
}

/* A file whose read cannot be told not to wait (RWF_NOWAIT: inotify's)
 * would have to trust the shared O_NONBLOCK: refused at registration. */
TEST(pulse_fd_refuses_unreadable_without_wait)
{
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_GE(ifd, 0);
	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_pulse_on_fd(port, ifd, 1), -EOPNOTSUPP);
	CHECK_ERR(mp_pulse_on_fd_cancel(port, 1), -ENOENT);	/* nothing kept */
	CHECK_ERR(mp_recv(port, &m, &rid, 0), -EAGAIN);
	CHECK_OK(mp_port_destroy(port));
	CHECK_OK(close(ifd));
}

/* What fd is, as the kernel names it ("pipe:[N]", "anon_inode:[eventfd]"). */
static void fd_name(int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* An eventfd's counter (/proc/self/fdinfo, in hex). */
static uint64_t efd_count(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "eventfd-count: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Which descriptors are open now: open[fd] (fd < n). */
static void fds_now(bool *open, int n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	CHECK(d != NULL);
	memset(open, 0, sizeof(*open) * (size_t)n);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd < n)
			open[fd] = true;
	}
	closedir(d);
}

/*
 * What a hostile server does with the wake-up a client shared with it:
 * fills it (an eventfd's counter to its maximum; a pipe through a write
 * description of its own, opened from /proc as it could) and clears
 * O_NONBLOCK on the shared description.  *wr: the write description
 * opened, or -1.  1 when fd was a wake-up it could attack.
 */
static int attack_wakeup(int fd, int *wr)
{
	const uint64_t full = UINT64_MAX - 1;
	char name[64], path[64], buf[4096] = { 0 };

	fd_name(fd, name, sizeof(name));
	if (!strcmp(name, "anon_inode:[eventfd]")) {
		uint64_t room = full - efd_count(fd);

		CHECK_EQ(write(fd, &room, sizeof(room)), (ssize_t)sizeof(room));
		clear_nonblock(fd);
		return 1;
	}
	if (strncmp(name, "pipe:", 5) || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
		return 0;	/* the write end is the client's own, never sent */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	*wr = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK_GE(*wr, 0);
	while (write(*wr, buf, sizeof(buf)) > 0)
		;
	CHECK_EQ(errno, EAGAIN);
	clear_nonblock(fd);
	clear_nonblock(*wr);
	return 1;
}

static atomic_int pulsed;

static void *pulse_twice(void *arg)
{
	mp_port_t port = (mp_port_t)(uintptr_t)arg;

	CHECK_OK(mp_pulse(port, 5, 2));	/* the server is caught up: it rings */
	CHECK_OK(mp_pulse(port, 5, 3));
	atomic_store(&pulsed, 1);
	return NULL;
}

/* A hostile server clears O_NONBLOCK on the wake-up of a client's pulse
 * board (whatever the client shares with it) and fills it: the client's
 * next mp_pulse() still returns at once, and still reaches it. */
TEST(pulse_hostile_server_blocks_wakeup)
{
	enum { N = 1024 };
	static bool before[N], after[N];
	int wr[N], hit = 0;
	mp_port_t port;
	mp_msg_t m;
	mp_rid_t rid;
	pthread_t t;

	CHECK_OK(mp_port_create(&port));
	fds_now(before, N);
	CHECK_OK(mp_pulse(port, 5, 1));
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(mp_msg_pulse(&m).value, 1);
	fds_now(after, N);
	/* the board's descriptors, the client's and the server's copies */
	for (int fd = 0; fd < N; fd++) {
		wr[fd] = -1;
		if (after[fd] && !before[fd])
			hit += attack_wakeup(fd, &wr[fd]);
	}
	CHECK_GE(hit, 1);
	/* in a thread: a pulse that blocks fails the wait, not the whole run */
	CHECK_OK(pthread_create(&t, NULL, pulse_twice, (void *)(uintptr_t)port));
	CHECK(h_wait_ge(&pulsed, 1, h_test_timeout_ms() / 2));
	CHECK_OK(pthread_join(t, NULL));
	CHECK_ERR(mp_recv(port, &m, &rid, MP_FOREVER), MP_RECV_PULSE);
	CHECK_EQ(mp_msg_pulse(&m).value, 3);
	CHECK_OK(mp_port_destroy(port));
	for (int fd = 0; fd < N; fd++)
		if (wr[fd] >= 0)
			close(wr[fd]);
	CHECK_ERR(mp_pulse(port, 5, 4), -EPIPE);	/* the board goes */
}
