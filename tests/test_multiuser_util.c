/* SPDX-License-Identifier: MIT */
#include "test_multiuser.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void mu_path(char *buf, const char *root, const char *rel)
{
	CHECK_LT(snprintf(buf, PATH_MAX, "%s/%s", root, rel), PATH_MAX);
}

void mu_shared_root(char *root)
{
	const char *top = getenv("MSGPORT_ROOT");

	CHECK(top != NULL);
	CHECK_OK(chmod(top, 0755));	/* the harness made it 0700 */
	mu_path(root, top, "shared");
	CHECK_OK(mp_ns_root_init(root, (gid_t)-1));
	CHECK_OK(setenv("MSGPORT_ROOT", root, 1));
}

void mu_become(uid_t uid, gid_t gid, const gid_t *groups, int n)
{
	CHECK_OK(setgroups((size_t)n, groups));
	CHECK_OK(setresgid(gid, gid, gid));
	CHECK_OK(setresuid(uid, uid, uid));
	CHECK_EQ(geteuid(), uid);
}

struct as_arg {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n;
	void (*fn)(void *);
	void *arg;
};

static void as_main(void *p)
{
	struct as_arg *a = p;

	mu_become(a->uid, a->gid, a->groups, a->n);
	a->fn(a->arg);
}

void mu_as(uid_t uid, gid_t gid, const gid_t *groups, int n, void (*fn)(void *), void *arg)
{
	struct as_arg a = { uid, gid, groups, n, fn, arg };

	CHECK_EQ(h_reap(h_fork(as_main, &a), h_test_timeout_ms()), 0);
}

/* ------------------------------------------------------------ server */

struct mu_srv *mu_srv_new(uid_t uid, gid_t gid, const char *path, unsigned mode)
{
	struct mu_srv *s = h_shared(sizeof(*s));

	s->uid = uid;
	s->gid = gid;
	s->path = path;
	s->mode = mode;
	return s;
}

static void srv_note(struct mu_srv *s, const mp_msg_t *m)
{
	s->last_pid = m->pid;
	s->last_uid = m->uid;
	s->last_gid = m->gid;
	s->check_r = mp_cred_check(m, MU_A, MU_G, 0640, R_OK);
	s->check_w = mp_cred_check(m, MU_A, MU_G, 0640, W_OK);
	s->ngroups = mp_cred_groups(m, s->groups, 8);
	atomic_fetch_add(&s->calls, 1);
}

static void srv_main(void *p)
{
	struct mu_srv *s = p;
	mp_port_t port;

	mu_become(s->uid, s->gid, NULL, 0);
	CHECK_OK(mp_port_create(&port));
	if (mp_port_register(port, s->path, s->mode) != 0) {
		atomic_store(&s->ready, -1);
		mp_port_destroy(port);
		return;
	}
	s->port = port;
	atomic_store(&s->ready, 1);
	while (!atomic_load(&s->stop)) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, 20 * 1000000LL);

		if (r == -ETIMEDOUT || r == -EAGAIN)
			continue;
		CHECK_GE(r, 0);
		for (uint32_t k = 0; k < m.i.nfds; k++)
			close(m.i.fds[k]);
		srv_note(s, &m);
		if (r == 0) {
			m.o.size = 0;
			m.o.nfds = 0;
			CHECK_OK(mp_respond(port, &m, rid));
		}
	}
	CHECK_OK(mp_port_destroy(port));
}

pid_t mu_srv_start(struct mu_srv *s)
{
	pid_t pid = h_fork(srv_main, s);
	int64_t end = h_now_ms() + h_test_timeout_ms();

	while (atomic_load(&s->ready) == 0 && h_now_ms() < end)
		h_sleep_ms(1);
	CHECK_EQ(atomic_load(&s->ready), 1);
	return pid;
}

struct mu_srv *mu_srv_start_sock_open(char *root, pid_t *pid)
{
	char sock[PATH_MAX], rel[64];
	struct mu_srv *s;

	mu_shared_root(root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0644);
	*pid = mu_srv_start(s);
	snprintf(rel, sizeof(rel), "ports/%u.sock", s->port);
	mu_path(sock, root, rel);
	CHECK_OK(chmod(sock, 0666));
	return s;
}

void mu_srv_stop(struct mu_srv *s, pid_t pid)
{
	atomic_store(&s->stop, 1);
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
}

/* ------------------------------------------------------------ clients */

int mu_raw_connect(const char *root, mp_port_t port, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, err;

	CHECK_LT(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ports/%u.sock", root, port),
		 (int)sizeof(sa.sun_path));
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK_GE(s, 0);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

int mu_raw_closed(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char b[64];

	/* A refused peer is told why first (transport/refuse.h): read past
	 * the frames the server sent before it hung up. */
	for (int k = 0; k < 8; k++) {
		if (poll(&pfd, 1, ms) <= 0)
			return 0;
		if (recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0)
			return 1;
	}
	return 0;
}

int mu_call(mp_port_t port)
{
	mp_msg_t m;
	char in = 'x';

	h_msg_init(&m);
	m.type = 1;
	m.oid.port = port;
	m.i.data = &in;
	m.i.size = 1;
	return mp_send(port, &m, 5 * 1000000000LL);
}
