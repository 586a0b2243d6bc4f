/* SPDX-License-Identifier: MIT */
/*
 * Calls across users: the entries' write bits allow calls and one-way
 * sends, enforced by the kernel on the port's socket and by the server's
 * check of each connecting peer (SO_PEERCRED); every message carries the
 * sender's kernel-given credentials (mp_cred_check and kin).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_multiuser.h"

static char g_root[PATH_MAX];
static const gid_t c_groups[] = { MU_G };

static void call_allowed(void *arg)
{
	const struct mu_srv *s = arg;
	mp_msg_t m;
	mp_oid_t oid;
	int fd;

	CHECK_OK(mp_lookup(s->path, &oid));
	CHECK_OK(mu_call(oid.port));
	h_msg_init(&m);
	m.type = 2;
	CHECK_GE(mp_send_async(oid.port, &m, 5 * 1000000000LL), 0);
	CHECK_OK(mp_pulse(oid.port, 1, 42));
	CHECK_OK(mu_raw_connect(g_root, oid.port, &fd));
	close(fd);
}

static void call_denied(void *arg)
{
	const struct mu_srv *s = arg;
	mp_msg_t m;
	int fd;

	CHECK_ERR(mu_call(s->port), -EACCES);
	h_msg_init(&m);
	CHECK_ERR(mp_send_async(s->port, &m, 5 * 1000000000LL), -EACCES);
	CHECK_ERR(mp_pulse(s->port, 1, 42), -EACCES);
	CHECK_ERR(mu_raw_connect(g_root, s->port, &fd), -EACCES);
}

/* Write bits (calls, one-way sends, pulses): 0602 lets the others, not
 * the group; 0664 the group, not the others. */
TEST(multiuser_call_by_write_bits)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0602);
	pid = mu_srv_start(s);
	mu_as(MU_C, MU_C, c_groups, 1, call_denied, s);	/* the group: no bits */
	CHECK_EQ(atomic_load(&s->calls), 0);
	mu_srv_stop(s, pid);

	s = mu_srv_new(MU_A, MU_G, "/svc", 0664);
	pid = mu_srv_start(s);
	mu_as(MU_C, MU_C, c_groups, 1, call_allowed, s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, call_denied, s);
	/* the call, the one-way, the pulse */
	CHECK(h_wait_ge(&s->calls, 3, h_test_timeout_ms() / 2));
	mu_srv_stop(s, pid);
	CHECK_EQ(atomic_load(&s->calls), 3);
}

static void raw_refused(void *arg)
{
	const struct mu_srv *s = arg;
	int fd;

	CHECK_OK(mu_raw_connect(g_root, s->port, &fd));
	CHECK_EQ(mu_raw_closed(fd, h_test_timeout_ms() / 2), 1);
	close(fd);
	CHECK(mu_call(s->port) < 0);
}

/* The kernel's file mode is one barrier; the server's check of each
 * connecting peer is the other: with the socket opened wide behind the
 * server's back, an outsider connects but is dropped at accept. */
TEST(multiuser_accept_checks_peer)
{
	pid_t pid;
	struct mu_srv *s = mu_srv_start_sock_open(g_root, &pid);

	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, raw_refused, s);
	mu_as(MU_C, MU_C, c_groups, 1, raw_refused, s);
	raw_refused(s);	/* root too: the modes bind it like anyone (no DAC override) */
	CHECK_EQ(atomic_load(&s->calls), 0);
	mu_srv_stop(s, pid);
}

/* -------------------------------------------------------- credentials */

static void call_once(void *arg)
{
	const struct mu_srv *s = arg;

	CHECK_OK(mu_call(s->port));
}

/* What the server sees is the kernel's: uid, gid, supplementary groups,
 * and mp_cred_check() applies the file rules with them. */
TEST(multiuser_credentials_of_messages)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);

	mu_as(MU_C, MU_C, c_groups, 1, call_once, s);
	CHECK_EQ(atomic_load(&s->calls), 1);
	CHECK_EQ(s->last_uid, MU_C);
	CHECK_EQ(s->last_gid, MU_C);
	CHECK_GT(s->last_pid, 0);
	CHECK_EQ(s->ngroups, 1);
	CHECK_EQ(s->groups[0], MU_G);
	CHECK_EQ(s->check_r, 0);	/* 0640 in MU_G: read by the group */
	CHECK_EQ(s->check_w, -EACCES);

	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, call_once, s);
	CHECK_EQ(s->last_uid, MU_NOBODY);
	CHECK_EQ(s->last_gid, MU_NOBODY);
	CHECK_EQ(s->ngroups, 0);
	CHECK_EQ(s->check_r, -EACCES);

	mu_as(MU_A, MU_A, NULL, 0, call_once, s);
	CHECK_EQ(s->last_uid, MU_A);
	CHECK_EQ(s->check_r, 0);	/* the owner's bits */
	CHECK_EQ(s->check_w, 0);
	mu_srv_stop(s, pid);
}

/* The pid is the sender's (as our PID namespace sees it). */
static void call_report_pid(void *arg)
{
	const struct mu_srv *s = arg;
	int32_t *out = (int32_t *)((char *)arg + sizeof(*s));

	*out = getpid();
	CHECK_OK(mu_call(s->port));
}

TEST(multiuser_credentials_pid)
{
	struct mu_srv *s;
	int32_t *sent;
	pid_t pid;

	mu_shared_root(g_root);
	s = h_shared(sizeof(*s) + sizeof(int32_t));
	*s = (struct mu_srv){ .uid = MU_A, .gid = MU_G, .path = "/svc", .mode = 0666 };
	sent = (int32_t *)((char *)s + sizeof(*s));
	pid = mu_srv_start(s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, call_report_pid, s);
	CHECK_EQ(s->last_pid, *sent);
	mu_srv_stop(s, pid);
}

TEST(multiuser_cred_check_args)
{
	mp_msg_t m;
	gid_t g[1];
	char label[16];

	h_msg_init(&m);
	m.uid = 7;
	m.gid = 8;
	CHECK_ERR(mp_cred_check(NULL, 7, 8, 0600, R_OK), -EINVAL);
	CHECK_ERR(mp_cred_check(&m, 7, 8, 0600, 8), -EINVAL);
	CHECK_OK(mp_cred_check(&m, 7, 8, 0600, R_OK | W_OK));
	CHECK_ERR(mp_cred_check(&m, 7, 8, 0600, X_OK), -EACCES);
	CHECK_OK(mp_cred_check(&m, 9, 8, 0050, R_OK | X_OK));
	CHECK_ERR(mp_cred_check(&m, 9, 8, 0007, R_OK), -EACCES);	/* group bits rule */
	CHECK_OK(mp_cred_check(&m, 9, 10, 0004, R_OK));
	CHECK_ERR(mp_cred_groups(&m, NULL, 1), -EINVAL);
	CHECK_EQ(mp_cred_groups(&m, g, 1), 0);	/* no such sender connected */
	CHECK_ERR(mp_cred_label(&m, label, sizeof(label)), -ENODATA);
}

/* --------------------------------------------------------------- tool */

static int tool(const char *args)
{
	const char *t = getenv("MSGPORT_TOOL");
	char cmd[PATH_MAX * 2];
	int st;

	if (!t)
		t = "build/msgport";
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", t, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void tool_unregister_denied(void *arg)
{
	char args[PATH_MAX];

	(void)arg;
	snprintf(args, sizeof(args), "unregister /svc");
	CHECK_EQ(tool(args), 1);
}

TEST(multiuser_tool_root_init_and_unregister)
{
	char dir[PATH_MAX], sub[PATH_MAX], args[PATH_MAX + 64];
	struct mu_srv *s;
	struct stat st;
	pid_t pid;

	const struct group *gr = getgrgid(MU_NOBODY);	/* nogroup or nobody */

	CHECK(gr != NULL);
	mu_shared_root(g_root);
	mu_path(dir, g_root, "grouped");
	snprintf(args, sizeof(args), "root init %s --group %s", dir, gr->gr_name);
	CHECK_EQ(tool(args), 0);
	mu_path(sub, dir, "ns");
	CHECK_OK(lstat(sub, &st));
	CHECK_EQ(st.st_mode & 07777, 03770);
	CHECK_EQ(st.st_uid, 0);
	CHECK_EQ(st.st_gid, MU_NOBODY);
	CHECK_OK(lstat(dir, &st));
	CHECK_EQ(st.st_mode & 07777, 0750);
	CHECK_EQ(tool("root init relative"), 1);
	CHECK_EQ(tool("root"), 2);

	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	h_kill(pid);	/* stale */
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, tool_unregister_denied, NULL);
	CHECK_EQ(tool("unregister /svc"), 0);	/* root may */
	CHECK_EQ(tool("unregister /svc"), 1);
}

/* ------------------------------------------------------------- forged */

static void forged_hello(void *arg)
{
	const struct mu_srv *s = arg;
	unsigned char junk[256];
	int fd;

	/* Whatever a raw client writes first (here: a HELLO-sized frame of
	 * lies, with a uid of 0 in every word), the server takes the sender's
	 * identity from the kernel only, and keeps serving. */
	memset(junk, 0, sizeof(junk));
	CHECK_OK(mu_raw_connect(g_root, s->port, &fd));
	CHECK_EQ(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	mu_raw_closed(fd, 200);
	close(fd);
	CHECK_OK(mu_call(s->port));
}

TEST(multiuser_forged_frames_do_not_change_credentials)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, forged_hello, s);
	CHECK_EQ(atomic_load(&s->calls), 1);
	CHECK_EQ(s->last_uid, MU_NOBODY);
	CHECK_EQ(s->last_gid, MU_NOBODY);
	mu_srv_stop(s, pid);
}
