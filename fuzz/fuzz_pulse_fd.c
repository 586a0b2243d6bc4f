/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the server side of mp_pulse_on_fd() for a client of
 * another process, the real code of src/api/pulse_fd.c (the request
 * decoded: type, i.raw, i.size, i.nfds) and src/conn/pulse_fd.c (the
 * client's descriptor classified and watched, then what the client wrote
 * into it read and turned into a pulse), with the rest of the port
 * stubbed below.
 *
 * Input: [0] flags: bit 0 a one-way (else a call), bit 1 the client clears
 * O_NONBLOCK on the shared description before writing, bit 2 a cancel
 * after; [1] the descriptor's kind (none, eventfd, pipe's read or write
 * end, socket, memfd, directory, /dev/null, timerfd, O_PATH, two fds);
 * [2..5] the type's low byte and the pid; then struct mp_msg_in's size and
 * raw as the client's message put them (zero-padded); the rest is what the
 * client writes into its descriptor once it is registered.
 *
 * Checked: a source is registered only for a well-formed request (the
 * add type, one fd, i.size 0, a code below MP_PULSE_DISCONNECT, the rest of
 * raw zero); a call is answered exactly once, a one-way never; the
 * answer's err is one the header documents; the message is zeroed and its
 * fds closed; the source's read never blocks (libFuzzer's -timeout), even
 * with O_NONBLOCK cleared by the client, and its pulse says what was
 * written; a cancel removes it; nothing leaks (LeakSanitizer, fd count).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "api/pulse_fd.h"
#include "conn/port.h"
#include "conn/pulse.h"
#include "conn/pulseq.h"
#include "os/sockio.h"

#define INVARIANT(c)								\
	do {									\
		if (!(c)) {							\
			fprintf(stderr, "invariant failed: %s\n", #c);		\
			abort();						\
		}								\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------- the port, stubbed */

static struct {
	int responds, err, pulses;
	uint32_t code;
	uint64_t value, source;
	pid_t pid;
} seen;

void (*mp_port_pulse_fds_free)(struct mp_pulse_fds *t);

int mp_port_pulse_local(struct mp_port_obj *p, uint64_t source, uint32_t code, uint64_t value,
			pid_t pid, uid_t uid, gid_t gid)
{
	(void)p, (void)uid, (void)gid;
	seen.pulses++;
	seen.source = source;
	seen.code = code;
	seen.value = value;
	seen.pid = pid;
	return 0;
}

bool mp_pulse_pending(struct mp_port_obj *p)
{
	(void)p;
	return seen.pulses > 0;
}

int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	(void)port, (void)rid;
	seen.responds++;
	seen.err = msg->o.err;
	INVARIANT(msg->o.size == 0 && msg->o.nfds == 0 && msg->flags == 0);
	return 0;
}

void mp_fds_close(const int *fds, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		close(fds[k]);
}

/* The client side of api/pulse_fd.c is not under test. */
struct mp_port_obj *mp_port_get(mp_port_t port)
{
	(void)port;
	return NULL;
}

void mp_port_put(struct mp_port_obj *p)
{
	(void)p;
}

int mp_send(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns)
{
	(void)port, (void)msg, (void)timeout_ns;
	return -EPIPE;
}

/* ------------------------------------------------------------ inputs */

enum { K_NONE, K_EVENTFD, K_PIPE_R, K_PIPE_W, K_SOCK, K_MEMFD, K_DIR, K_NULL, K_TIMERFD,
       K_PATH, K_TWO, K_KINDS };

/* The client's descriptor of that kind (what the server receives is a
 * dup of it: fds[]), and the end it writes into (*wr, or -1). */
static unsigned make_fds(unsigned kind, int fds[2], int *wr)
{
	int pp[2];

	*wr = -1;
	switch (kind) {
	case K_EVENTFD:
		fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		*wr = dup(fds[0]);
		return 1;
	case K_PIPE_R:
	case K_PIPE_W:
	case K_TWO:
		if (pipe2(pp, O_CLOEXEC | O_NONBLOCK))
			abort();
		fds[0] = pp[kind == K_PIPE_W];
		*wr = pp[1];
		if (kind == K_PIPE_W)
			*wr = dup(pp[1]);
		if (kind == K_PIPE_R)
			return 1;
		if (kind == K_PIPE_W) {
			close(pp[0]);
			return 1;
		}
		fds[1] = dup(pp[0]);
		return 2;
	case K_SOCK:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pp))
			abort();
		fds[0] = pp[0];
		*wr = pp[1];
		return 1;
	case K_MEMFD:
		fds[0] = memfd_create("fuzz", MFD_CLOEXEC);
		return 1;
	case K_DIR:
		fds[0] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return 1;
	case K_NULL:
		fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
		return 1;
	case K_TIMERFD:
		fds[0] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		return 1;
	case K_PATH:
		fds[0] = open("/", O_PATH | O_CLOEXEC);
		return 1;
	default:
		return 0;
	}
}

static int nfds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool err_documented(int err)
{
	return err == 0 || err == -EINVAL || err == -EBADF || err == -EEXIST || err == -ENOSPC ||
	       err == -EOPNOTSUPP || err == -EPIPE || err == -ENOMEM || err == -ENOENT;
}

/* What the server would accept, read from the request by the spec. */
static bool well_formed(const mp_msg_t *m, uint32_t type)
{
	static const uint8_t zero[MP_RAW_SIZE];
	uint32_t code;

	memcpy(&code, m->i.raw, 4);
	return m->i.size == 0 && code < MP_PULSE_DISCONNECT && !memcmp(m->i.raw + 4, zero, MP_RAW_SIZE - 4) &&
	       (type == MP_MT_PULSE_FD_ADD ? m->i.nfds == 1 : m->i.nfds == 0);
}

/* Send the request: serve it as mp_recv() would, check the answer. */
static int serve(struct mp_port_obj *p, mp_msg_t *m, int kind)
{
	static const mp_msg_t zero;
	int before = seen.responds;
	int fds[MP_FDS_MAX];
	unsigned n = m->i.nfds;

	memcpy(fds, m->i.fds, sizeof(fds));
	mp_pulse_fd_serve(1, p, m, kind ? 0 : 42, kind);
	INVARIANT(!memcmp(m, &zero, sizeof(*m)));
	for (unsigned k = 0; k < n; k++)
		INVARIANT(fcntl(fds[k], F_GETFD) < 0 && errno == EBADF);	/* closed */
	INVARIANT(seen.responds == before + (kind == 0));
	INVARIANT(err_documented(seen.err));
	return kind == 0 ? seen.err : 0;
}

/* The client writes its bytes; the server's event reads them. */
static void fire(struct mp_port_obj *p, int wr, unsigned kind, bool block, const uint8_t *d,
		 size_t n, pid_t pid, uint32_t code)
{
	uint64_t v = 0;
	ssize_t w = 0;

	if (wr < 0)
		return;
	if (block)
		fcntl(wr, F_SETFL, fcntl(wr, F_GETFL) & ~O_NONBLOCK);	/* hostile: shared */
	if (kind == K_EVENTFD) {
		memcpy(&v, d, n < 8 ? n : 8);
		if (v == 0 || v == UINT64_MAX)
			v = 1;	/* a write of 0 adds nothing; of ~0 is refused */
		fcntl(wr, F_SETFL, O_NONBLOCK);	/* the client itself must not block here */
		w = write(wr, &v, 8);
		if (block)
			fcntl(wr, F_SETFL, 0);
	} else if (n) {
		w = write(wr, d, n > 4096 ? 4096 : n);
	}
	seen.pulses = 0;
	for (uint32_t k = 0; k < MP_PULSE_FD_MAX; k++)
		mp_pulse_fd_event(p, MP_KEY_PULSE_FD + k, EPOLLIN);
	mp_pulse_fd_event(p, MP_KEY_PULSE_FD + 0, EPOLLIN);	/* again: nothing to read */
	if (w > 0) {
		INVARIANT(seen.pulses == 1);
		INVARIANT(seen.code == code && seen.pid == pid);
		INVARIANT((seen.source & MP_PULSE_SRC_FD) == MP_PULSE_SRC_FD);
		INVARIANT(kind == K_EVENTFD ? seen.value == v : seen.value == (uint64_t)w);
	} else {
		INVARIANT(seen.pulses == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t in[6 + sizeof(size_t) + MP_RAW_SIZE] = { 0 };
	struct mp_port_obj *p = calloc(1, sizeof(*p));
	int open0 = nfds_open();
	int fds[2] = { -1, -1 }, wr, kind, err;
	uint32_t type, code;
	unsigned kd;
	mp_msg_t m;

	if (!p)
		abort();
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	kind = in[0] & 1;
	kd = in[1] % K_KINDS;
	type = in[2] & 1 ? MP_MT_PULSE_FD_CANCEL : MP_MT_PULSE_FD_ADD;
	if (in[2] & 2)
		type = 0xfffffe00u | in[2];	/* a neighbour: not ours */
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.pid = (pid_t)(in[3] | in[4] << 8) % 4;
	memcpy(&m.i.size, in + 6, sizeof(size_t));
	memcpy(m.i.raw, in + 6 + sizeof(size_t), MP_RAW_SIZE);
	if (in[5] & 1)
		memset(m.i.raw + 4, 0, MP_RAW_SIZE - 4);	/* make well-formed ones likely */
	if (in[5] & 2)
		m.i.size = 0;
	m.i.nfds = make_fds(kd, fds, &wr);
	memcpy(m.i.fds, fds, sizeof(fds));
	memcpy(&code, m.i.raw, 4);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	seen.responds = seen.err = 0;

	if (mp_pulse_fd_msg(&m)) {
		bool good = well_formed(&m, type);

		err = serve(p, &m, kind);
		if (!good)
			INVARIANT(kind || err == -EINVAL);
		if (kind == 0 && err == 0 && type == MP_MT_PULSE_FD_ADD) {
			size_t off = sizeof(in) < size ? sizeof(in) : size;
			pid_t pid = (pid_t)(in[3] | in[4] << 8) % 4;

			fire(p, wr, kd, in[0] & 2, data + off, size - off, pid, code);
			if (in[0] & 4) {	/* the client cancels */
				m.type = MP_MT_PULSE_FD_CANCEL;
				m.pid = pid;
				memcpy(m.i.raw, &code, 4);
				INVARIANT(serve(p, &m, 0) == 0);
				m.type = MP_MT_PULSE_FD_CANCEL;
				m.pid = pid;
				memcpy(m.i.raw, &code, 4);
				INVARIANT(serve(p, &m, 0) == -ENOENT);
			}
		}
	} else {
		mp_fds_close(m.i.fds, m.i.nfds);	/* mp_recv() would deliver it */
	}
	if (p->pulse_fds)
		mp_port_pulse_fds_free(p->pulse_fds);
	close(p->epfd);
	if (wr >= 0)
		close(wr);
	free(p);
	INVARIANT(nfds_open() == open0);	/* no descriptor left behind */
	return 0;
}
