/* SPDX-License-Identifier: MIT */
/*
 * Containers: a client in another PID namespace (and mount namespace),
 * which sees the shared root through a bind mount at another path, looks
 * up and calls as usual; the server sees its pid as the server's own PID
 * namespace sees it (SO_PEERCRED translates it), never the pid the
 * client has inside.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_multiuser.h"

struct ns_case {
	struct mu_srv *s;
	char mnt[PATH_MAX];
	int32_t inner_pid;	/* getpid() inside the new namespace */
	int32_t outer_pid;	/* the same process as we see it */
	atomic_int skipped;
};

static void inner_client(void *arg)
{
	struct ns_case *k = arg;
	mp_oid_t oid;

	k->inner_pid = getpid();
	mu_become(MU_NOBODY, MU_NOBODY, NULL, 0);
	CHECK_OK(mp_lookup("/svc", &oid));
	CHECK_EQ(oid.port, k->s->port);
	CHECK_OK(mu_call(oid.port));
}

static void container(void *arg)
{
	struct ns_case *k = arg;
	pid_t pid;

	if (unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) {
		atomic_store(&k->skipped, errno);	/* no privilege for namespaces here */
		return;
	}
	CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK_OK(mount(getenv("MSGPORT_ROOT"), k->mnt, NULL, MS_BIND, NULL));
	CHECK_OK(setenv("MSGPORT_ROOT", k->mnt, 1));
	pid = h_fork(inner_client, k);	/* the new namespace's first process */
	k->outer_pid = pid;
	CHECK_EQ(h_reap(pid, h_test_timeout_ms()), 0);
}

TEST(multiuser_client_in_pid_namespace)
{
	struct ns_case *k = h_shared(sizeof(*k));
	char root[PATH_MAX];
	pid_t pid;

	mu_shared_root(root);
	mu_path(k->mnt, getenv("MSGPORT_ROOT"), "../mnt");
	CHECK_OK(mkdir(k->mnt, 0755));
	k->s = mu_srv_new(MU_A, MU_G, "/svc", 0666);
	pid = mu_srv_start(k->s);
	CHECK_EQ(h_reap(h_fork(container, k), h_test_timeout_ms()), 0);
	mu_srv_stop(k->s, pid);
	if (atomic_load(&k->skipped)) {
		printf("  (skipped: unshare: %s)\n", h_errname(-atomic_load(&k->skipped)));
		return;
	}
	CHECK_EQ(k->inner_pid, 1);
	CHECK_EQ(atomic_load(&k->s->calls), 1);
	CHECK_EQ(k->s->last_pid, k->outer_pid);
	CHECK_EQ(k->s->last_uid, MU_NOBODY);
}
