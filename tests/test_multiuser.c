/* SPDX-License-Identifier: MIT */
/*
 * A namespace shared by several users (docs/security.md): lookups by the
 * entries' read bits, registering by the directories' write bits, nobody
 * removing or taking over another user's entries.  Each rule once through
 * the library and once by a raw client that does the file operations
 * itself.  The tests run as root and fork children that become test ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_multiuser.h"

static char g_root[PATH_MAX];
static const gid_t c_groups[] = { MU_G };

/* ------------------------------------------------------------- lookup */

static void lookup_denied(void *arg)
{
	char epath[PATH_MAX];
	mp_oid_t oid;
	(void)arg;

	CHECK_ERR(mp_lookup("/svc", &oid), -EACCES);
	mu_path(epath, g_root, "ns/svc");
	CHECK_ERR(open(epath, O_RDONLY), -1);	/* the kernel says no too */
	CHECK_EQ(errno, EACCES);
}

static void lookup_allowed(void *arg)
{
	char epath[PATH_MAX];
	mp_oid_t oid;
	int fd;

	CHECK_OK(mp_lookup("/svc", &oid));
	CHECK_EQ(oid.port, *(mp_port_t *)arg);
	mu_path(epath, g_root, "ns/svc");
	fd = open(epath, O_RDONLY);
	CHECK_GE(fd, 0);
	close(fd);
}

/* 0640 in group MU_G: C (a member) may look up, nobody may not. */
TEST(multiuser_lookup_by_read_bits)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0640);
	pid = mu_srv_start(s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, lookup_denied, NULL);
	mu_as(MU_C, MU_C, c_groups, 1, lookup_allowed, &s->port);
	mu_as(MU_C, MU_C, NULL, 0, lookup_denied, NULL);	/* not a member now */
	mu_srv_stop(s, pid);
}

/* 0604: the others' read bit, not the group's. */
TEST(multiuser_lookup_other_bit)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0604);
	pid = mu_srv_start(s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, lookup_allowed, &s->port);
	mu_as(MU_C, MU_C, c_groups, 1, lookup_denied, NULL);
	mu_srv_stop(s, pid);
}

/* ------------------------------------------------------ registering */

static void register_in(void *arg)
{
	const char *path = arg;
	char epath[PATH_MAX], rel[PATH_MAX];
	mp_port_t port;

	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_port_register(port, path, 0644), -EACCES);
	CHECK_OK(mp_port_destroy(port));
	snprintf(rel, sizeof(rel), "ns%s.raw", path);
	mu_path(epath, g_root, rel);
	CHECK_ERR(open(epath, O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
	CHECK_EQ(errno, EACCES);
}

/* A directory root made 0755: nobody else may register under it. */
TEST(multiuser_register_needs_dir_write)
{
	char dir[PATH_MAX];

	mu_shared_root(g_root);
	mu_path(dir, g_root, "ns/sys");
	CHECK_OK(mkdir(dir, 0755));
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, register_in, "/sys/x");
}

static void squat_dir(void *arg)
{
	char dir[PATH_MAX], to[PATH_MAX];

	(void)arg;
	register_in("/a/y");	/* A's directory: not ours to register in */
	mu_path(dir, g_root, "ns/a");
	mu_path(to, g_root, "ns/mine");
	CHECK_ERR(rename(dir, to), -1);	/* nor to move or remove it */
	CHECK_EQ(errno, EPERM);
	CHECK_ERR(rmdir(dir), -1);
}

/* The directories a user's registration makes are that user's. */
TEST(multiuser_dirs_not_squattable)
{
	char dir[PATH_MAX];
	struct mu_srv *s;
	struct stat st;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/a/x", 0666);
	pid = mu_srv_start(s);
	mu_path(dir, g_root, "ns/a");
	CHECK_OK(lstat(dir, &st));
	CHECK_EQ(st.st_uid, MU_A);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, squat_dir, NULL);
	mu_srv_stop(s, pid);
}

/* ------------------------------------------------------- takeover */

static void takeover_live(void *arg)
{
	char epath[PATH_MAX], tmp[PATH_MAX];
	mp_port_t port;
	int fd;

	(void)arg;
	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_port_register(port, "/svc", 0666), -EEXIST);
	CHECK_ERR(mp_port_unregister("/svc"), -EPERM);
	CHECK_OK(mp_port_destroy(port));
	mu_path(epath, g_root, "ns/svc");
	CHECK_ERR(unlink(epath), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_ERR(open(epath, O_WRONLY), -1);	/* a record is never writable */
	CHECK_EQ(errno, EACCES);
	mu_path(tmp, g_root, "tmp/forged");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK_GE(fd, 0);
	close(fd);
	CHECK_ERR(rename(tmp, epath), -1);	/* replacing it: sticky ns/ */
	CHECK_EQ(errno, EPERM);
	unlink(tmp);
}

TEST(multiuser_no_takeover_of_live_entry)
{
	struct mu_srv *s;
	mp_oid_t oid;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, takeover_live, NULL);
	CHECK_OK(mp_lookup("/svc", &oid));
	CHECK_EQ(oid.port, s->port);
	mu_srv_stop(s, pid);
}

static void takeover_stale(void *arg)
{
	char epath[PATH_MAX];
	mp_port_t port;

	(void)arg;
	CHECK_OK(mp_port_create(&port));
	CHECK_ERR(mp_port_register(port, "/svc", 0666), -EPERM);
	CHECK_ERR(mp_port_unregister("/svc"), -EPERM);
	CHECK_OK(mp_port_destroy(port));
	mu_path(epath, g_root, "ns/svc");
	CHECK_ERR(unlink(epath), -1);
	CHECK_EQ(errno, EPERM);
}

static void own_stale(void *arg)
{
	mp_port_t port;

	(void)arg;
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/svc", 0666));	/* its user takes it over */
	CHECK_OK(mp_port_destroy(port));
}

/* A dead server's entry: another user can neither take it nor remove
 * it; its own user can, and root can remove it. */
TEST(multiuser_no_takeover_of_stale_entry)
{
	char epath[PATH_MAX];
	struct mu_srv *s;
	struct stat st;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	h_kill(pid);	/* its entry stays, stale */
	mu_path(epath, g_root, "ns/svc");
	CHECK_OK(lstat(epath, &st));
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, takeover_stale, NULL);
	mu_as(MU_A, MU_G, NULL, 0, own_stale, NULL);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	h_kill(pid);
	CHECK_OK(mp_port_unregister("/svc"));	/* root may */
	CHECK_ERR(lstat(epath, &st), -1);
}

/* ----------------------------------------------------- port files */

static void forge_port_file(void *arg)
{
	const struct mu_srv *s = arg;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	char rel[64], pfile[PATH_MAX];
	mp_port_t port;
	mp_oid_t oid;
	int fd;

	snprintf(rel, sizeof(rel), "ports/%u", s->port);
	mu_path(pfile, g_root, rel);
	CHECK_ERR(open(pfile, O_RDWR), -1);	/* its page is not ours to write */
	CHECK_EQ(errno, EACCES);
	/* A read lock on the ready byte does not make the dead port live. */
	fd = open(pfile, O_RDONLY);
	CHECK_GE(fd, 0);
	CHECK_OK(fcntl(fd, F_OFD_SETLK, &fl));
	CHECK_ERR(mp_lookup("/svc", &oid), -ENOENT);
	/* Our own port gets another number: the dead one's files are A's. */
	CHECK_OK(mp_port_create(&port));
	CHECK_NE(port, s->port);
	CHECK_OK(mp_port_destroy(port));
	close(fd);
}

TEST(multiuser_port_files_not_forgeable)
{
	struct mu_srv *s;
	pid_t pid;

	mu_shared_root(g_root);
	s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(s);
	h_kill(pid);
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, forge_port_file, s);
}

/* ----------------------------------------------------------- roots */

static void root_refused(void *arg)
{
	mp_port_t port;

	(void)arg;
	CHECK_ERR(mp_port_create(&port), -EACCES);
}

/* A shared directory that is writable but not sticky is refused, and so
 * is another user's root. */
TEST(multiuser_root_checked)
{
	char ns[PATH_MAX];

	mu_shared_root(g_root);
	mu_path(ns, g_root, "ns");
	CHECK_OK(chmod(ns, 0777));
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, root_refused, NULL);
	CHECK_OK(chmod(ns, 01777));
	CHECK_OK(chown(g_root, MU_A, MU_A));
	mu_as(MU_NOBODY, MU_NOBODY, NULL, 0, root_refused, NULL);
}
