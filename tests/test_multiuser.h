/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the multi-user tests: a shared root made in the test's own
 * root, children that become other users (the tests run as root), and a
 * server that runs as one of them.
 */
#ifndef MSGPORT_TEST_MULTIUSER_H
#define MSGPORT_TEST_MULTIUSER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

/* Test identities: nobody, and made-up ones. */
#define MU_A 4242u		/* user A, primary group MU_A */
#define MU_G 4243u		/* a group: A's entries are in it */
#define MU_C 4244u		/* user C, primary group MU_C, member of MU_G */
#define MU_NOBODY 65534u	/* user B */

/* Make a shared root below the test's root and point MSGPORT_ROOT at it;
 * its path into root (PATH_MAX). */
void mu_shared_root(char *root);
/* ROOT/rel into buf (PATH_MAX). */
void mu_path(char *buf, const char *root, const char *rel);

/* Become uid with primary gid and supplementary groups (n of them). */
void mu_become(uid_t uid, gid_t gid, const gid_t *groups, int n);

/* A server run as uid:gid, path registered with mode; entries in MU_G
 * (chgrp after register, as a shared root with --group would make it). */
struct mu_srv {
	uid_t uid;
	gid_t gid;
	const char *path;
	unsigned mode;
	mp_port_t port;
	atomic_int ready;	/* 1 registered, -1 failed */
	atomic_int stop;
	atomic_int calls;	/* messages received */
	int32_t last_pid;
	uint32_t last_uid, last_gid;
	/* mp_cred_check(msg, A, MU_G, 0640, R_OK / W_OK) of the last message */
	int check_r, check_w;
	int ngroups;		/* mp_cred_groups() of the last message */
	gid_t groups[8];
};

/* Start srv (shared memory from mu_srv_new) and wait until it is ready. */
struct mu_srv *mu_srv_new(uid_t uid, gid_t gid, const char *path, unsigned mode);
pid_t mu_srv_start(struct mu_srv *s);
/* In the shared root root: a server of MU_A:MU_G serving /svc with mode
 * 0644, started, its socket then opened wide (0666) behind its back, so
 * that only the server's check at accept stands in an outsider's way. */
struct mu_srv *mu_srv_start_sock_open(char *root, pid_t *pid);
/* Stop it and reap it. */
void mu_srv_stop(struct mu_srv *s, pid_t pid);

/* Run fn(arg) in a child as uid:gid (+groups) and reap it (status 0). */
void mu_as(uid_t uid, gid_t gid, const gid_t *groups, int n, void (*fn)(void *), void *arg);

/* A raw client: connect() to ROOT/ports/N.sock, no library.  0 or -errno. */
int mu_raw_connect(const char *root, mp_port_t port, int *fd);
/* After a raw connect: 1 when the server closed the connection (within
 * the test's time; frames it sent first, a refusal, are read past), 0
 * when it is still open after ms. */
int mu_raw_closed(int fd, int ms);

/* A one-byte call through the library; mp_send()'s result. */
int mu_call(mp_port_t port);

#endif
