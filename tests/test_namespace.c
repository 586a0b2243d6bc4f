/* SPDX-License-Identifier: MIT */
/* Namespace: ports, register / lookup / unregister, stale entries, modes,
 * malformed paths, listing. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A server child: creates a port, registers path, publishes the port
 * number and its pid, then sleeps until killed or told to quit. */
struct ns_srv {
	const char *path;
	unsigned mode;
	atomic_int ready;	/* 1 registered, -1 failed */
	atomic_int port;
	atomic_int quit;
	atomic_int reg_result;
};

static void ns_holder(void *arg)
{
	struct ns_srv *s = arg;
	mp_port_t port;
	int r;

	CHECK_OK(mp_port_create(&port));
	r = mp_port_register(port, s->path, s->mode);
	atomic_store(&s->reg_result, r);
	atomic_store(&s->port, (int)port);
	atomic_store(&s->ready, 1);
	while (!atomic_load(&s->quit))
		h_sleep_ms(5);
	mp_port_destroy(port);
}

static struct ns_srv *ns_start(const char *path, unsigned mode, pid_t *pid)
{
	struct ns_srv *s = h_shared(sizeof(*s));

	s->path = path;
	s->mode = mode;
	*pid = h_fork(ns_holder, s);
	CHECK(h_wait_ge(&s->ready, 1, 10000));
	CHECK_OK(atomic_load(&s->reg_result));
	return s;
}

TEST(ns_port_numbers)
{
	mp_port_t a, b, c, d;

	CHECK_OK(mp_port_create(&a));
	CHECK_OK(mp_port_create(&b));
	CHECK_OK(mp_port_create(&c));
	CHECK_NE(a, 0);
	CHECK_NE(b, 0);
	CHECK_NE(c, 0);
	CHECK(a != b && b != c && a != c);
	/* "the lowest free number": 0 is never a port, so a fresh root
	 * starts at 1, and a destroyed number is handed out again. */
	CHECK_EQ(a, 1);
	CHECK_EQ(b, 2);
	CHECK_EQ(c, 3);
	CHECK_OK(mp_port_destroy(b));
	CHECK_OK(mp_port_create(&d));
	CHECK_EQ(d, b);
	CHECK_OK(mp_port_destroy(a));
	CHECK_OK(mp_port_destroy(c));
	CHECK_OK(mp_port_destroy(d));
}

TEST(ns_port_numbers_unique_across_processes)
{
	mp_port_t mine;
	pid_t pid;
	struct ns_srv *s;

	CHECK_OK(mp_port_create(&mine));
	s = ns_start("/other", 0666, &pid);
	CHECK_NE(atomic_load(&s->port), 0);
	CHECK_NE((mp_port_t)atomic_load(&s->port), mine);
	atomic_store(&s->quit, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(mp_port_destroy(mine));
}

TEST(ns_register_lookup_unregister)
{
	mp_port_t port;
	mp_oid_t oid;

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_lookup("/dev/echo", &oid), -ENOENT);
	CHECK_OK(mp_port_register(port, "/dev/echo", 0666));
	memset(&oid, 0xa5, sizeof(oid));
	CHECK_OK(mp_lookup("/dev/echo", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_EQ(oid.reserved, 0);
	CHECK_EQ(oid.id, 0);
	/* a second name for the same port */
	CHECK_OK(mp_port_register(port, "/echo2", 0644));
	CHECK_OK(mp_lookup("/echo2", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_port_unregister("/dev/echo"));
	CHECK_ERR(mp_lookup("/dev/echo", &oid), -ENOENT);
	CHECK_ERR(mp_port_unregister("/dev/echo"), -ENOENT);
	CHECK_OK(mp_lookup("/echo2", &oid));
	/* registering again after unregister works */
	CHECK_OK(mp_port_register(port, "/dev/echo", 0666));
	CHECK_OK(mp_lookup("/dev/echo", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_port_destroy(port));
}

TEST(ns_destroy_unregisters_paths)
{
	mp_port_t port;
	mp_oid_t oid;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/a", 0666));
	CHECK_OK(mp_port_register(port, "/x/y/z", 0666));
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_lookup("/a", &oid), -ENOENT);
	CHECK_ERR(mp_lookup("/x/y/z", &oid), -ENOENT);
	CHECK_ERR(mp_port_unregister("/a"), -ENOENT);
	/* the paths are free for someone else */
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/a", 0666));
	CHECK_OK(mp_port_register(port, "/x/y/z", 0666));
	CHECK_OK(mp_port_destroy(port));
}

TEST(ns_oid_register)
{
	mp_port_t port;
	mp_oid_t oid = { 0 }, got;

	CHECK_OK(mp_port_create(&port));
	oid.port = port;
	oid.id = 42;
	CHECK_OK(mp_oid_register(&oid, "/dev/tty42", 0666));
	CHECK_OK(mp_lookup("/dev/tty42", &got));
	CHECK_EQ(got.port, port);
	CHECK_EQ(got.reserved, 0);
	CHECK_EQ(got.id, 42);
	oid.id = UINT64_MAX;
	CHECK_OK(mp_oid_register(&oid, "/dev/ttymax", 0666));
	CHECK_OK(mp_lookup("/dev/ttymax", &got));
	CHECK(got.id == UINT64_MAX);
	CHECK_ERR(mp_oid_register(&oid, "/dev/tty42", 0666), -EEXIST);
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_lookup("/dev/tty42", &got), -ENOENT);
}

TEST(ns_eexist_live)
{
	mp_port_t a, b;
	mp_oid_t oid;
	pid_t pid;
	struct ns_srv *s;

	CHECK_OK(mp_port_create(&a));
	CHECK_OK(mp_port_create(&b));
	CHECK_OK(mp_port_register(a, "/svc", 0666));
	CHECK_ERR(mp_port_register(b, "/svc", 0666), -EEXIST);
	CHECK_ERR(mp_port_register(a, "/svc", 0666), -EEXIST);
	CHECK_OK(mp_lookup("/svc", &oid));
	CHECK_EQ(oid.port, a);

	/* held by another live process */
	s = ns_start("/remote", 0666, &pid);
	CHECK_ERR(mp_port_register(b, "/remote", 0666), -EEXIST);
	CHECK_OK(mp_lookup("/remote", &oid));
	CHECK_EQ(oid.port, (mp_port_t)atomic_load(&s->port));
	/* and it may not be removed by us */
	CHECK_ERR(mp_port_unregister("/remote"), -EPERM);
	CHECK_OK(mp_lookup("/remote", &oid));
	atomic_store(&s->quit, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_ERR(mp_lookup("/remote", &oid), -ENOENT);

	CHECK_OK(mp_port_destroy(a));
	CHECK_OK(mp_port_destroy(b));
}

TEST(ns_stale_entry_after_sigkill)
{
	pid_t pid;
	struct ns_srv *s;
	mp_oid_t oid;
	mp_port_t port;
	int64_t t0;

	s = ns_start("/dev/stale", 0666, &pid);
	CHECK_OK(mp_lookup("/dev/stale", &oid));
	(void)s;
	h_kill(pid);

	/* a lookup never blocks on a dead owner: -ENOENT, quickly */
	t0 = h_now_ms();
	CHECK_ERR(mp_lookup("/dev/stale", &oid), -ENOENT);
	CHECK_LT(h_now_ms() - t0, 1000);
	t0 = h_now_ms();
	CHECK_ERR(mp_lookup("/dev/stale", &oid), -ENOENT);
	CHECK_LT(h_now_ms() - t0, 1000);

	/* a restarted server takes the entry over at once */
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/dev/stale", 0666));
	CHECK_OK(mp_lookup("/dev/stale", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_port_destroy(port));
}

struct ns_list_rec {
	int n;
	char path[16][MP_PATH_MAX];
	mp_ns_entry_t e[16];
};

static int ns_list_cb(const mp_ns_entry_t *e, void *arg)
{
	struct ns_list_rec *r = arg;

	CHECK(e != NULL);
	if (r->n < 16) {
		r->e[r->n] = *e;
		snprintf(r->path[r->n], MP_PATH_MAX, "%s", e->path);
	}
	r->n++;
	return 0;
}

TEST(ns_stale_entry_listed_and_removable)
{
	pid_t pid;
	struct ns_srv *s;
	struct ns_list_rec rec = { 0 };
	mp_oid_t oid;

	s = ns_start("/stale2", 0640, &pid);
	h_kill(pid);
	CHECK_OK(mp_ns_list("/", ns_list_cb, &rec));
	CHECK_EQ(rec.n, 1);
	CHECK(strcmp(rec.e[0].path, "/stale2") == 0);
	CHECK_EQ(rec.e[0].live, 0);
	CHECK_EQ(rec.e[0].owner_pid, pid);
	CHECK_EQ(rec.e[0].oid.port, (mp_port_t)atomic_load(&s->port));
	CHECK_EQ(rec.e[0].mode, 0640);
	/* anyone may remove a stale entry */
	CHECK_OK(mp_port_unregister("/stale2"));
	CHECK_ERR(mp_lookup("/stale2", &oid), -ENOENT);
	CHECK_ERR(mp_port_unregister("/stale2"), -ENOENT);
	memset(&rec, 0, sizeof(rec));
	CHECK_OK(mp_ns_list(NULL, ns_list_cb, &rec));
	CHECK_EQ(rec.n, 0);
}

/* The owner is dead but not yet reaped (a zombie): its entry is stale. */
TEST(ns_stale_entry_zombie_owner)
{
	pid_t pid;
	siginfo_t si;
	mp_oid_t oid;
	mp_port_t port;
	int64_t t0;

	ns_start("/zombie", 0666, &pid);
	kill(pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	CHECK_OK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT));
	t0 = h_now_ms();
	CHECK_ERR(mp_lookup("/zombie", &oid), -ENOENT);
	CHECK_LT(h_now_ms() - t0, 1000);
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/zombie", 0666));
	CHECK_OK(mp_lookup("/zombie", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_port_destroy(port));
	CHECK_EQ(h_reap(pid, 5000), 128 + SIGKILL);
}

/* A takeover by a server in another process after the first was killed,
 * several times in a row. */
TEST(ns_restart_loop)
{
	for (int k = 0; k < 5; k++) {
		pid_t pid;
		struct ns_srv *s = ns_start("/restart", 0666, &pid);
		mp_oid_t oid;

		CHECK_OK(mp_lookup("/restart", &oid));
		CHECK_EQ(oid.port, (mp_port_t)atomic_load(&s->port));
		h_kill(pid);
		CHECK_ERR(mp_lookup("/restart", &oid), -ENOENT);
	}
}

TEST(ns_eacces_mode_bits)
{
	mp_port_t port;
	mp_oid_t oid;

	/* The library applies the mode bits itself, for root too: the
	 * owner's read bit allows lookup. */
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/m000", 0));
	CHECK_OK(mp_port_register(port, "/m200", 0200));
	CHECK_OK(mp_port_register(port, "/m400", 0400));
	CHECK_OK(mp_port_register(port, "/m044", 0044));
	CHECK_OK(mp_port_register(port, "/m777", 0777));
	CHECK_ERR(mp_lookup("/m000", &oid), -EACCES);
	CHECK_ERR(mp_lookup("/m200", &oid), -EACCES);
	CHECK_ERR(mp_lookup("/m044", &oid), -EACCES);
	CHECK_OK(mp_lookup("/m400", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_lookup("/m777", &oid));
	/* a denied entry still exists: not free for another registration */
	CHECK_ERR(mp_port_register(port, "/m000", 0666), -EEXIST);
	CHECK_OK(mp_port_unregister("/m000"));
	CHECK_ERR(mp_lookup("/m000", &oid), -ENOENT);
	CHECK_OK(mp_port_destroy(port));
}

/* Same, from another process of the same user. */
static void ns_eacces_child(void *arg)
{
	mp_oid_t oid;

	(void)arg;
	CHECK_ERR(mp_lookup("/private", &oid), -EACCES);
	CHECK_OK(mp_lookup("/public", &oid));
}

TEST(ns_eacces_other_process)
{
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/private", 0200));
	CHECK_OK(mp_port_register(port, "/public", 0444));
	CHECK_EQ(h_reap(h_fork(ns_eacces_child, NULL), 10000), 0);
	CHECK_OK(mp_port_destroy(port));
}

static const char *const ns_bad_paths[] = {
	"", "relative", "a/b", "/a/../b", "/a/./b", "//a", "/a//b", "/..",
	"/.", "/a/..", "/a/.", "/a/", "/", "./a", "../a",
};

static char *ns_long_path(size_t len)
{
	char *p = malloc(len + 1);

	CHECK(p != NULL);
	for (size_t k = 0; k < len; k++)
		p[k] = (k % 50 == 0) ? '/' : (char)('a' + k % 26);
	p[len] = 0;
	return p;
}

TEST(ns_malformed_paths_einval)
{
	mp_port_t port;
	mp_oid_t oid;
	char *too_long = ns_long_path(MP_PATH_MAX);	/* strlen 256 */
	char *longest = ns_long_path(MP_PATH_MAX - 1);	/* strlen 255 */
	char *huge = ns_long_path(8192);

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_port_register(port, NULL, 0666), -EINVAL);
	CHECK_ERR(mp_port_unregister(NULL), -EINVAL);
	CHECK_ERR(mp_lookup(NULL, &oid), -EINVAL);
	for (size_t k = 0; k < sizeof(ns_bad_paths) / sizeof(ns_bad_paths[0]);
	     k++) {
		const char *p = ns_bad_paths[k];
		int r;

		r = mp_port_register(port, p, 0666);
		if (r != -EINVAL)
			FAIL("mp_port_register(\"%s\") = %s, expected -EINVAL",
			     p, h_errname(r));
		r = mp_lookup(p, &oid);
		if (r != -EINVAL)
			FAIL("mp_lookup(\"%s\") = %s, expected -EINVAL", p,
			     h_errname(r));
		r = mp_port_unregister(p);
		if (r != -EINVAL)
			FAIL("mp_port_unregister(\"%s\") = %s, expected -EINVAL",
			     p, h_errname(r));
	}
	CHECK_ERR(mp_port_register(port, too_long, 0666), -EINVAL);
	CHECK_ERR(mp_lookup(too_long, &oid), -EINVAL);
	CHECK_ERR(mp_port_unregister(too_long), -EINVAL);
	CHECK_ERR(mp_port_register(port, huge, 0666), -EINVAL);
	CHECK_ERR(mp_lookup(huge, &oid), -EINVAL);
	/* MP_PATH_MAX - 1 characters is still a good path */
	CHECK_OK(mp_port_register(port, longest, 0666));
	CHECK_OK(mp_lookup(longest, &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_port_unregister(longest));
	/* nothing was registered by the failures */
	{
		struct ns_list_rec rec = { 0 };

		CHECK_OK(mp_ns_list("/", ns_list_cb, &rec));
		CHECK_EQ(rec.n, 0);
	}
	CHECK_OK(mp_port_destroy(port));
	free(too_long);
	free(longest);
	free(huge);
}

TEST(ns_register_bad_mode_and_port)
{
	mp_port_t port;
	mp_oid_t oid;

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_port_register(port, "/m", 01000), -EINVAL);
	CHECK_ERR(mp_port_register(port, "/m", 04755), -EINVAL);
	CHECK_ERR(mp_port_register(port, "/m", 0x80000000u), -EINVAL);
	CHECK_ERR(mp_port_register(0, "/m", 0666), -EINVAL);
	CHECK_ERR(mp_port_register(port + 1000, "/m", 0666), -ENOENT);
	CHECK_ERR(mp_lookup("/m", &oid), -ENOENT);
	CHECK_ERR(mp_lookup("/m", NULL), -EINVAL);
	CHECK_OK(mp_port_destroy(port));
	/* a destroyed port can no longer register */
	CHECK_ERR(mp_port_register(port, "/m", 0666), -ENOENT);
}

static int ns_stop_cb(const mp_ns_entry_t *e, void *arg)
{
	int *calls = arg;

	(void)e;
	(*calls)++;
	return 42;
}

TEST(ns_list)
{
	mp_port_t a, b;
	struct ns_list_rec rec = { 0 };
	int calls = 0;
	mp_oid_t oid = { 0 };

	CHECK_OK(mp_port_create(&a));
	CHECK_OK(mp_port_create(&b));
	CHECK_OK(mp_port_register(a, "/c", 0600));
	CHECK_OK(mp_port_register(b, "/b/y", 0644));
	CHECK_OK(mp_port_register(a, "/a", 0666));
	CHECK_OK(mp_port_register(b, "/b/x", 0640));
	CHECK_OK(mp_port_register(a, "/bb", 0666));
	oid.port = b;
	oid.id = 7;
	CHECK_OK(mp_oid_register(&oid, "/b/z/deep", 0444));

	CHECK_OK(mp_ns_list("/", ns_list_cb, &rec));
	CHECK_EQ(rec.n, 6);
	CHECK(strcmp(rec.path[0], "/a") == 0);
	CHECK(strcmp(rec.path[1], "/b/x") == 0);
	CHECK(strcmp(rec.path[2], "/b/y") == 0);
	CHECK(strcmp(rec.path[3], "/b/z/deep") == 0);
	CHECK(strcmp(rec.path[4], "/bb") == 0);
	CHECK(strcmp(rec.path[5], "/c") == 0);
	for (int k = 0; k < 6; k++) {
		CHECK_EQ(rec.e[k].live, 1);
		CHECK_EQ(rec.e[k].owner_pid, getpid());
		CHECK_EQ(rec.e[k].oid.reserved, 0);
	}
	CHECK_EQ(rec.e[0].oid.port, a);
	CHECK_EQ(rec.e[0].oid.id, 0);
	CHECK_EQ(rec.e[0].mode, 0666);
	CHECK_EQ(rec.e[1].oid.port, b);
	CHECK_EQ(rec.e[1].mode, 0640);
	CHECK_EQ(rec.e[3].oid.port, b);
	CHECK_EQ(rec.e[3].oid.id, 7);
	CHECK_EQ(rec.e[3].mode, 0444);
	CHECK_EQ(rec.e[5].mode, 0600);

	/* NULL is the whole namespace too */
	memset(&rec, 0, sizeof(rec));
	CHECK_OK(mp_ns_list(NULL, ns_list_cb, &rec));
	CHECK_EQ(rec.n, 6);

	/* at or below a prefix: "/b" holds /b/x, /b/y, /b/z/deep, not /bb */
	memset(&rec, 0, sizeof(rec));
	CHECK_OK(mp_ns_list("/b", ns_list_cb, &rec));
	CHECK_EQ(rec.n, 3);
	CHECK(strcmp(rec.path[0], "/b/x") == 0);
	CHECK(strcmp(rec.path[1], "/b/y") == 0);
	CHECK(strcmp(rec.path[2], "/b/z/deep") == 0);

	/* a prefix that is an entry itself */
	memset(&rec, 0, sizeof(rec));
	CHECK_OK(mp_ns_list("/a", ns_list_cb, &rec));
	CHECK_EQ(rec.n, 1);
	CHECK(strcmp(rec.path[0], "/a") == 0);

	/* a non-zero return stops the walk and is returned */
	CHECK_ERR(mp_ns_list("/", ns_stop_cb, &calls), 42);
	CHECK_EQ(calls, 1);

	CHECK_ERR(mp_ns_list("/nothing", ns_list_cb, &rec), -ENOENT);
	CHECK_ERR(mp_ns_list("/b/nothing", ns_list_cb, &rec), -ENOENT);
	CHECK_ERR(mp_ns_list("/", NULL, NULL), -EINVAL);
	for (size_t k = 0; k < sizeof(ns_bad_paths) / sizeof(ns_bad_paths[0]);
	     k++) {
		const char *p = ns_bad_paths[k];
		int r;

		if (strcmp(p, "/") == 0)
			continue;
		r = mp_ns_list(p, ns_list_cb, &rec);
		if (r != -EINVAL)
			FAIL("mp_ns_list(\"%s\") = %s, expected -EINVAL", p,
			     h_errname(r));
	}

	CHECK_OK(mp_port_destroy(a));
	CHECK_OK(mp_port_destroy(b));
	memset(&rec, 0, sizeof(rec));
	CHECK_OK(mp_ns_list("/", ns_list_cb, &rec));
	CHECK_EQ(rec.n, 0);
}

TEST(ns_list_empty_root)
{
	struct ns_list_rec rec = { 0 };

	CHECK_OK(mp_ns_list("/", ns_list_cb, &rec));
	CHECK_EQ(rec.n, 0);
}

/* The library closes a process's ports in a fork child; the parent's
 * ports and registrations are unaffected by the child's life and exit. */
struct ns_fork_arg {
	mp_port_t port;
};

static void ns_fork_child(void *arg)
{
	struct ns_fork_arg *a = arg;
	mp_msg_t m;
	mp_rid_t rid;
	mp_oid_t oid;

	h_msg_init(&m);
	CHECK_ERR(mp_recv(a->port, &m, &rid, 0), -ENOENT);
	CHECK_ERR(mp_port_fd(a->port), -ENOENT);
	CHECK_ERR(mp_port_destroy(a->port), -ENOENT);
	CHECK_ERR(mp_port_register(a->port, "/from-child", 0666), -ENOENT);
	CHECK_ERR(mp_port_unregister("/forked"), -EPERM);
	/* the parent's entry is live, and reachable from here */
	CHECK_OK(mp_lookup("/forked", &oid));
	CHECK_EQ(oid.port, a->port);
	h_msg_init(&m);
	m.oid = oid;
	m.type = 5;
	CHECK_ERR(mp_send_async(a->port, &m, MP_FOREVER), 1);
}

TEST(ns_port_not_inherited_by_fork)
{
	struct ns_fork_arg a;
	mp_oid_t oid;
	mp_msg_t m;
	mp_rid_t rid;

	CHECK_OK(mp_port_create(&a.port));
	CHECK_OK(mp_port_register(a.port, "/forked", 0666));
	CHECK_EQ(h_reap(h_fork(ns_fork_child, &a), 10000), 0);
	CHECK_OK(mp_lookup("/forked", &oid));
	CHECK_EQ(oid.port, a.port);
	h_msg_init(&m);
	CHECK_ERR(mp_recv(a.port, &m, &rid, 5000000000), 1);
	CHECK_EQ(m.type, 5);
	CHECK_OK(mp_port_destroy(a.port));
}

/* ---------------------------------------------------- namespace root */

TEST_FLAGS(ns_root_created_0700, H_NO_WARMUP)
{
	char root[512];
	struct stat st;
	mp_port_t port;

	snprintf(root, sizeof(root), "%s/sub", getenv("MSGPORT_ROOT"));
	CHECK_OK(setenv("MSGPORT_ROOT", root, 1));
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(stat(root, &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0700);
	CHECK_EQ(st.st_uid, getuid());
	CHECK_OK(mp_port_destroy(port));
}

TEST_FLAGS(ns_root_not_a_directory, H_NO_WARMUP)
{
	char root[512];
	mp_port_t port;
	FILE *f;

	snprintf(root, sizeof(root), "%s/file", getenv("MSGPORT_ROOT"));
	f = fopen(root, "w");
	CHECK(f != NULL);
	fclose(f);
	CHECK_OK(setenv("MSGPORT_ROOT", root, 1));
	CHECK_ERR(mp_port_create(&port), -ENOTDIR);
}

/* A root directory owned by another user is refused ("not owned by this
 * user"), whether it comes from $XDG_RUNTIME_DIR or from $MSGPORT_ROOT. */
static void ns_make_foreign_dir(const char *dir)
{
	CHECK_OK(mkdir(dir, 0700));
	CHECK_OK(chown(dir, 65534, 65534));
}

TEST_FLAGS(ns_root_not_owned_xdg, H_NO_WARMUP)
{
	char xdg[512], root[600];
	mp_port_t port;

	if (getuid() != 0)
		return;		/* cannot give a directory away */
	snprintf(xdg, sizeof(xdg), "%s/xdg", getenv("MSGPORT_ROOT"));
	snprintf(root, sizeof(root), "%s/msgport", xdg);
	CHECK_OK(mkdir(xdg, 0700));
	ns_make_foreign_dir(root);
	CHECK_OK(unsetenv("MSGPORT_ROOT"));
	CHECK_OK(setenv("XDG_RUNTIME_DIR", xdg, 1));
	CHECK_ERR(mp_port_create(&port), -EACCES);
}

TEST_FLAGS(ns_root_not_owned_explicit, H_NO_WARMUP)
{
	char root[512];
	mp_port_t port;

	if (getuid() != 0)
		return;
	snprintf(root, sizeof(root), "%s/theirs", getenv("MSGPORT_ROOT"));
	ns_make_foreign_dir(root);
	CHECK_OK(setenv("MSGPORT_ROOT", root, 1));
	CHECK_ERR(mp_port_create(&port), -EACCES);
}
