/* SPDX-License-Identifier: MIT */
/*
 * Conformance of the Phoenix-mode namespace (docs/phoenix-namespace.md)
 * to the Phoenix-RTOS kernel's rules (proc/name.c, proc/msg.c), as issue
 * 11 lists them: one test per rule, named after it, quoting it.  Then the
 * mode's limits: native callers keep their rules, the records are read
 * as a hostile peer's, pulses do not exist yet.
 */
#include "harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msgport/phoenix.h"

#define NS_QUIT 0x7175		/* ends the test server */
#define REST_MAX 2048

/* The test lookup server and what it saw, shared with the test. */
struct ns_srv {
	atomic_int ready;
	atomic_int asked;	/* lookups answered */
	u32 port;
	char rest[REST_MAX];	/* the last rest it was asked */
	size_t rest_size;	/* its i.size (NUL included) */
	id_t asked_id;		/* the oid.id it was asked at */
};

/*
 * Serves every name it was registered at: a lookup of REST at oid.id N
 * answers o.err = strlen(REST) (all resolved) and file = dev =
 * {port, N * 100000 + strlen(REST)}, so the test sees who answered and
 * what it was given.
 */
static void ns_serve(struct ns_srv *s)
{
	for (;;) {
		msg_t msg;
		msg_rid_t rid;
		int quit;

		CHECK_OK(msgRecv(s->port, &msg, &rid));
		quit = msg.type == NS_QUIT;
		if (msg.type == mtLookup) {
			size_t n = msg.i.size;

			CHECK(n >= 1 && n <= REST_MAX);
			memcpy(s->rest, msg.i.data, n);
			CHECK_EQ(s->rest[n - 1], '\0');
			s->rest_size = n;
			s->asked_id = msg.oid.id;
			msg.o.lookup.fil.port = s->port;
			msg.o.lookup.fil.id = msg.oid.id * 100000 + (n - 1);
			msg.o.lookup.dev = msg.o.lookup.fil;
			msg.o.err = (int)(n - 1);
			atomic_fetch_add(&s->asked, 1);
		}
		CHECK_OK(msgRespond(s->port, &msg, rid));
		if (quit)
			break;
	}
	portDestroy(s->port);
}

/* The server process: registers each of its names (NULL-ended) at id 1, 2, ... */
struct ns_srv_arg {
	struct ns_srv *s;
	const char *names[4];
};

static void ns_server_main(void *arg)
{
	struct ns_srv_arg *a = arg;

	CHECK_OK(portCreate(&a->s->port));
	for (int k = 0; k < 4 && a->names[k]; k++) {
		oid_t oid = { .port = a->s->port, .id = (id_t)(k + 1) };

		CHECK_OK(portRegister(a->s->port, a->names[k], &oid));
	}
	atomic_store(&a->s->ready, 1);
	ns_serve(a->s);
}

static pid_t ns_server_start(struct ns_srv_arg *a)
{
	pid_t pid;

	a->s = h_shared(sizeof(*a->s));
	pid = h_fork(ns_server_main, a);
	CHECK(h_wait_ge(&a->s->ready, 1, 10000));
	return pid;
}

static void ns_server_stop(struct ns_srv *s, pid_t pid)
{
	msg_t msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NS_QUIT;
	CHECK_OK(msgSend(s->port, &msg));
	CHECK_EQ(h_reap(pid, 10000), 0);
}

/* lookup(name) must be answered by the server at id, given rest. */
static void ns_expect(struct ns_srv *s, const char *name, id_t id, const char *rest)
{
	oid_t file, dev;
	int before = atomic_load(&s->asked);

	CHECK_OK(lookup(name, &file, &dev));
	CHECK_EQ(atomic_load(&s->asked), before + 1);
	CHECK_EQ(s->asked_id, id);
	CHECK_EQ(s->rest_size, strlen(rest) + 1);
	CHECK_MEM(s->rest, rest, strlen(rest) + 1);
	CHECK_EQ(file.port, s->port);
	CHECK_EQ(file.id, id * 100000 + strlen(rest));
	CHECK_EQ(dev.id, file.id);
}

/* lookup(name) must give {port, id} itself, asking nobody. */
static void ns_expect_exact(const char *name, u32 port, id_t id)
{
	oid_t file, dev;

	CHECK_OK(lookup(name, &file, &dev));
	CHECK_EQ(file.port, port);
	CHECK_EQ(file.id, id);
	CHECK_EQ(dev.port, port);
	CHECK_EQ(dev.id, id);
}

/* ------------------------------------------------------ the rules */

/* "Any string is a name: relative names such as "devfs" register and
 * look up (libphoenix's create_dev and phoenix-rtos-tests
 * port/test_register use them)." */
TEST(phoenix_ns_any_string_is_a_name)
{
	static const char *const names[] = {
		"devfs", "aa", "zz", "a/b", "/x//y", "/x/..", "/x/.", "/x/", "//", "with space", "",
	};
	char longname[3000];
	u32 port;

	CHECK_OK(portCreate(&port));
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		oid_t oid = { .port = port, .id = 10 + k };

		CHECK_OK(portRegister(port, names[k], &oid));
	}
	memset(longname, 'n', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	CHECK_OK(portRegister(port, longname, &(oid_t){ .port = port, .id = 99 }));
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		ns_expect_exact(names[k], port, 10 + k);
	ns_expect_exact(longname, port, 99);
	CHECK_ERR(portRegister(port, "devfs", NULL), -EEXIST);
	CHECK_ERR(lookup("devf", &(oid_t){ 0 }, NULL), -ENOENT);	/* names, not prefixes */
	CHECK_ERR(lookup("/x", &(oid_t){ 0 }, NULL), -ENOENT);
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		CHECK_OK(portUnregister(names[k]));
	CHECK_OK(portUnregister(longname));
	CHECK_ERR(lookup("devfs", &(oid_t){ 0 }, NULL), -ENOENT);
	portDestroy(port);
}

/* "Any string is a name" (continued): below a relative name its server
 * answers, as below an absolute one. */
TEST(phoenix_ns_relative_name_mounts_like_any)
{
	struct ns_srv_arg a = { .names = { "devfs" } };
	pid_t pid = ns_server_start(&a);

	ns_expect(a.s, "devfs/simple", 1, "simple");
	ns_expect(a.s, "devfs/a/b/c/simple", 1, "a/b/c/simple");
	CHECK_ERR(lookup("other/simple", &(oid_t){ 0 }, NULL), -ENOENT);
	ns_server_stop(a.s, pid);
}

/* "`.`, `..`, `//` and trailing slashes in a looked-up path go to the
 * servers, which resolve them (dummyfs's `-m` mount does
 * `lookup("/mnt/..")`); paths below a mount point are not limited to 256
 * bytes." */
TEST(phoenix_ns_dots_slashes_and_long_paths_go_to_the_servers)
{
	struct ns_srv_arg a = { .names = { "/mnt", "/" } };
	pid_t pid = ns_server_start(&a);
	char path[1500], rest[1500];

	ns_expect(a.s, "/mnt/..", 1, "..");
	ns_expect(a.s, "/mnt/.", 1, ".");
	ns_expect(a.s, "/mnt/./a/../b", 1, "./a/../b");
	ns_expect(a.s, "/mnt//b", 1, "/b");
	ns_expect(a.s, "/mnt/c/", 1, "c/");
	ns_expect(a.s, "/mnt/", 1, "");
	ns_expect(a.s, "/other/../mnt", 2, "other/../mnt");	/* the root's */
	ns_expect(a.s, "//x", 2, "x");	/* as the kernel: the root after "/" */
	ns_expect(a.s, "//", 2, "");
	memset(rest, 'r', sizeof(rest) - 1);
	rest[sizeof(rest) - 1] = '\0';
	for (size_t k = 100; k < sizeof(rest) - 1; k += 100)
		rest[k] = '/';
	snprintf(path, sizeof(path), "/mnt/%.*s", (int)(sizeof(path) - 6), rest);
	ns_expect(a.s, path, 1, path + 5);
	CHECK_GT(strlen(path), MP_PATH_MAX);
	ns_server_stop(a.s, pid);
}

/* "Registrations nest: `/a` and `/a/b` can both be registered, the
 * longest registered prefix answers." */
TEST(phoenix_ns_registrations_nest_longest_prefix_answers)
{
	struct ns_srv_arg a = { .names = { "/a", "/a/b", "/a/b/c/d" } };
	pid_t pid = ns_server_start(&a);

	ns_expect_exact("/a", a.s->port, 1);
	ns_expect_exact("/a/b", a.s->port, 2);
	ns_expect_exact("/a/b/c/d", a.s->port, 3);
	ns_expect(a.s, "/a/x", 1, "x");
	ns_expect(a.s, "/a/bb", 1, "bb");
	ns_expect(a.s, "/a/b/x", 2, "x");
	ns_expect(a.s, "/a/b/c", 2, "c");
	ns_expect(a.s, "/a/b/c/x", 2, "c/x");
	ns_expect(a.s, "/a/b/c/d/e/f", 3, "e/f");
	CHECK_OK(portUnregister("/a/b"));	/* the next shorter one takes over */
	ns_expect(a.s, "/a/b/x", 1, "b/x");
	CHECK_ERR(lookup("/ab", &(oid_t){ 0 }, NULL), -ENOENT);	/* at a '/' only */
	ns_server_stop(a.s, pid);
}

static void unregister_child(void *arg)
{
	const char *const *names = arg;

	for (int k = 0; names[k]; k++)
		CHECK_OK(portUnregister(names[k]));
}

static void register_and_exit_child(void *arg)
{
	u32 port;

	(void)arg;
	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/left", &(oid_t){ .port = port, .id = 5 }));
	_exit(0);	/* neither destroy nor unregister */
}

/* "A name stays registered until `portUnregister`, even after its port is
 * destroyed; `portRegister` does not check that the port exists; within
 * one user's namespace any process may unregister a name, `"/"`
 * included." */
TEST(phoenix_ns_names_stay_until_unregister_any_process_may_unregister)
{
	static const char *const theirs[] = { "/mine", "/", "rel", NULL };
	oid_t file, dev;
	u32 port, gone;
	pid_t pid;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portCreate(&gone));
	CHECK_OK(portRegister(gone, "/gone", &(oid_t){ .port = gone, .id = 4 }));
	portDestroy(gone);
	ns_expect_exact("/gone", gone, 4);	/* after its port was destroyed */
	CHECK_OK(portRegister(4000000, "/never", &(oid_t){ .port = 4000000, .id = 6 }));
	ns_expect_exact("/never", 4000000, 6);	/* no such port, ever */
	CHECK_OK(portRegister(gone, "/dead-port", NULL));	/* a destroyed one */
	ns_expect_exact("/dead-port", gone, 0);
	pid = h_fork(register_and_exit_child, NULL);
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_OK(lookup("/left", &file, &dev));	/* its process exited */
	CHECK_EQ(file.id, 5);
	CHECK_OK(portRegister(port, "/mine", NULL));
	CHECK_OK(portRegister(port, "/", &(oid_t){ .port = port, .id = 1 }));
	CHECK_OK(portRegister(port, "rel", NULL));
	CHECK_ERR(portRegister(port, "/", NULL), -EEXIST);
	CHECK_EQ(h_reap(h_fork(unregister_child, (void *)theirs), 10000), 0);
	CHECK_ERR(lookup("/mine", &file, &dev), -ENOENT);
	CHECK_ERR(lookup("/", &file, &dev), -ENOENT);
	CHECK_ERR(lookup("rel", &file, &dev), -ENOENT);
	CHECK_ERR(portUnregister("/mine"), -ENOENT);
	CHECK_OK(portUnregister("/"));	/* "/" always, as the kernel */
	CHECK_OK(portUnregister("/gone"));
	CHECK_OK(portUnregister("/never"));
	CHECK_OK(portUnregister("/dead-port"));
	CHECK_OK(portUnregister("/left"));
	CHECK_ERR(lookup("/gone", &file, &dev), -ENOENT);
	portDestroy(port);
}

static void *recv_until_destroyed(void *arg)
{
	u32 port = *(u32 *)arg;
	msg_t msg;
	msg_rid_t rid;

	return (void *)(intptr_t)msgRecv(port, &msg, &rid);
}

/* "`msgSend`/`msgRecv` on a port that does not exist or was destroyed
 * return `-EINVAL`." */
TEST(phoenix_ns_send_recv_on_missing_or_destroyed_port_einval)
{
	msg_t msg;
	msg_rid_t rid;
	pthread_t th;
	void *ret;
	u32 port;

	memset(&msg, 0, sizeof(msg));
	CHECK_ERR(msgSend(4000000, &msg), -EINVAL);	/* never existed */
	CHECK_ERR(msgRecv(4000000, &msg, &rid), -EINVAL);
	CHECK_ERR(msgSend(0, &msg), -EINVAL);
	CHECK_ERR(msgRecv(0, &msg, &rid), -EINVAL);
	CHECK_OK(portCreate(&port));
	portDestroy(port);
	CHECK_ERR(msgSend(port, &msg), -EINVAL);	/* destroyed */
	CHECK_ERR(msgRecv(port, &msg, &rid), -EINVAL);
	/* a receiver blocked (or about to block) when the port goes */
	CHECK_OK(portCreate(&port));
	CHECK_OK(pthread_create(&th, NULL, recv_until_destroyed, &port));
	portDestroy(port);
	CHECK_OK(pthread_join(th, &ret));
	CHECK_EQ((intptr_t)ret, -EINVAL);
}

/* The kernel's proc_respond: a port that does not exist gives -EINVAL
 * (before the rid is looked at), a rid that is not one of the port's
 * -ENOENT. */
TEST(phoenix_ns_respond_on_missing_port_einval_unknown_rid_enoent)
{
	msg_t msg;
	u32 port;

	memset(&msg, 0, sizeof(msg));
	CHECK_ERR(msgRespond(4000000, &msg, 1), -EINVAL);	/* never existed */
	CHECK_OK(portCreate(&port));
	CHECK_ERR(msgRespond(port, &msg, 12345), -ENOENT);	/* ours, no such rid */
	portDestroy(port);
	CHECK_ERR(msgRespond(port, &msg, 12345), -EINVAL);	/* destroyed */
}

/* --------------------------------------------------- the mode's limits */

/* decision (mode): native callers keep msgport's rules (absolute checked
 * paths, names go with their port); the two kinds of record see each
 * other: a Phoenix name is found by mp_lookup, a native entry by lookup(). */
TEST(phoenix_ns_native_rules_unchanged_and_both_kinds_found)
{
	struct ns_srv_arg a = { .names = { "/phx" } };
	pid_t pid = ns_server_start(&a);
	mp_oid_t oid, file, dev;
	oid_t pfile, pdev;
	mp_port_t port;

	CHECK_ERR(mp_lookup("devfs", &oid), -EINVAL);
	CHECK_ERR(mp_port_register(a.s->port, "relative", 0666), -EINVAL);
	CHECK_OK(mp_lookup("/phx", &oid));	/* a Phoenix name, natively */
	CHECK_EQ(oid.port, a.s->port);
	CHECK_EQ(oid.id, 1);
	CHECK_OK(mp_lookup_dev("/phx/below", &file, &dev));	/* its server answers */
	CHECK_EQ(file.id, 100000 + 5);
	CHECK_ERR(mp_lookup("/phx/..", &oid), -EINVAL);	/* no native path */
	CHECK_ERR(mp_port_unregister("/phx"), -ENOENT);	/* not a native entry */
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/native", 0666));
	CHECK_OK(lookup("/native", &pfile, &pdev));	/* a native entry, Phoenix side */
	CHECK_EQ(pfile.port, port);
	CHECK_ERR(lookup("/native/below", &pfile, &pdev), -ENOENT);	/* plain: nothing below */
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(lookup("/native", &pfile, &pdev), -ENOENT);	/* native: went with its port */
	CHECK_OK(portUnregister("/phx"));
	CHECK_ERR(mp_lookup("/phx", &oid), -ENOENT);
	ns_server_stop(a.s, pid);
}

static void phx_dir(char *buf, size_t len)
{
	const char *root = getenv("MSGPORT_ROOT");

	CHECK(root != NULL);
	snprintf(buf, len, "%s/phx.%u", root, (unsigned)geteuid());
}

/* Replace every record file of the directory with len random bytes. */
static int records_overwrite(const char *dir, size_t len)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "for f in '%s'/[0-9a-f]*; do head -c %zu /dev/urandom > \"$f\"; done",
		 dir, len);
	return system(cmd);
}

/* decision (hostile peer): records are written by other processes of the
 * user; a broken one names nothing and is replaced by a registration,
 * one that is not a regular file is refused, and a directory that is not
 * the user's own (or that others may write to) is not used. */
TEST(phoenix_ns_records_are_checked)
{
	char dir[1024], f[2048];
	oid_t file, dev;
	u32 port;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/victim", &(oid_t){ .port = port, .id = 1 }));
	phx_dir(dir, sizeof(dir));
	CHECK_EQ(records_overwrite(dir, 40), 0);	/* garbage */
	CHECK_ERR(lookup("/victim", &file, &dev), -ENOENT);
	CHECK_ERR(portUnregister("/victim"), -ENOENT);
	CHECK_OK(portRegister(port, "/victim", &(oid_t){ .port = port, .id = 2 }));
	ns_expect_exact("/victim", port, 2);
	CHECK_EQ(records_overwrite(dir, 5000), 0);	/* too long */
	CHECK_ERR(lookup("/victim", &file, &dev), -ENOENT);
	/* a fifo where a record should be: no blocking, no record */
	snprintf(f, sizeof(f), "for f in '%s'/[0-9a-f]*; do rm \"$f\"; mkfifo \"$f\"; done", dir);
	CHECK_EQ(system(f), 0);
	CHECK_ERR(lookup("/victim", &file, &dev), -ENOENT);
	CHECK_OK(portRegister(port, "/victim", &(oid_t){ .port = port, .id = 3 }));
	ns_expect_exact("/victim", port, 3);
	/* others may write the directory: it is not used */
	CHECK_EQ(chmod(dir, 0722), 0);
	CHECK_ERR(lookup("/victim", &file, &dev), -ENOENT);
	CHECK_ERR(portRegister(port, "/other", NULL), -EACCES);
	CHECK_EQ(chmod(dir, 0700), 0);
	ns_expect_exact("/victim", port, 3);
	CHECK_OK(portUnregister("/victim"));
	portDestroy(port);
}

/* msgPulse is mp_pulse: code msg->type, value i.raw[0..8); msgRecv gets
 * it as a one-way message (value and merge count in i.raw). */
static void phx_pulser(void *arg)
{
	u32 port = *(u32 *)arg;
	uint64_t value = 1234;
	msg_t msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = 9;
	memcpy(msg.i.raw, &value, sizeof(value));
	CHECK_OK(msgPulse(port, &msg));
	CHECK_ERR(msgPulse(port, NULL), -EINVAL);
	msg.type = MP_PULSE_DISCONNECT;
	CHECK_ERR(msgPulse(port, &msg), -EINVAL);
}

TEST(phoenix_ns_pulse)
{
	u32 *port = h_shared(sizeof(*port));
	mp_pulse_info_t info;
	msg_rid_t rid;
	msg_t msg;
	pid_t pid;

	CHECK_OK(portCreate(port));
	pid = h_fork(phx_pulser, port);
	CHECK_OK(msgRecv(*port, &msg, &rid));
	CHECK_EQ(msg.type, 9);
	memcpy(&info, msg.i.raw, sizeof(info));
	CHECK_EQ(info.value, 1234);
	CHECK_EQ(info.count, 1);
	CHECK_EQ(msg.pid, pid);
	CHECK_OK(msgRespond(*port, &msg, rid));
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
	portDestroy(*port);
	memset(&msg, 0, sizeof(msg));
	CHECK_ERR(msgPulse(*port, &msg), -EINVAL);	/* Phoenix's answer for no such port */
}
