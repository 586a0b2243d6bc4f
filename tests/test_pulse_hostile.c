/* SPDX-License-Identifier: MIT */
/* A client that writes its pulse board by hand (skipping the library):
 * what the server takes from it is validated, a bad HELLO costs only the
 * connection. */
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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
