/* SPDX-License-Identifier: MIT */
/*
 * Port files: ROOT/ports/N exists once port N was ever used; its owner
 * holds an OFD write lock on it for the port's life.  The kernel drops
 * the lock when the owner dies, so liveness needs no cleanup and no
 * daemon.  The file's first page is the port's public state (below): a
 * random token that tells this incarnation of port N from earlier ones,
 * and the number of threads waiting in mp_recv().
 */
#ifndef MP_PORTFILE_H
#define MP_PORTFILE_H

#include <stdatomic.h>
#include <stdint.h>

#include "msgport.h"
#include "ns/root.h"

#define MP_PORTFILE_MAGIC 0x4d50504fu	/* "MPPO" */
#define MP_PORTFILE_SIZE 4096

/* The shared page of a port file; written only by the owner, read by
 * anyone through the file (protocol: [I3] [W1] [W2] in proto/ring.h). */
struct mp_portfile_page {
	_Atomic uint32_t shm_magic;	/* stored last, with release [I3] */
	_Atomic uint32_t shm_version;
	_Atomic uint64_t shm_token;
	_Atomic int32_t shm_pid;
	_Atomic uint32_t shm_transport;	/* MP_TRANSPORT_* clients must use, 0 any */
	_Atomic uint32_t shm_waiting;	/* receivers blocked in mp_recv() [W1] */
	_Atomic uint32_t shm_flags;	/* MP_PORTFILE_F_*: what clients are asked, before [I3] */
};
/* Clients send each call's time left (MP_PORT_DEADLINES, proto/wire.h). */
#define MP_PORTFILE_F_DEADLINES 0x1u
_Static_assert(sizeof(struct mp_portfile_page) == 32, "portfile page layout");
_Static_assert(__builtin_offsetof(struct mp_portfile_page, shm_token) == 8, "token offset");
_Static_assert(__builtin_offsetof(struct mp_portfile_page, shm_waiting) == 24, "waiting offset");

struct mp_portfile {
	mp_port_t port;
	int fd;
	uint64_t token;
	struct mp_portfile_page *page;	/* our writable mapping */
};

/* Claim the lowest free port number under root; fills *pf. */
int mp_portfile_claim(const char *root, struct mp_portfile *pf);
/* Mark a claimed port live: it listens and its page is written. */
int mp_portfile_ready(struct mp_portfile *pf);
/* Release a claimed port file: the locks go with the descriptor. */
void mp_portfile_release(struct mp_portfile *pf);

/* Port liveness: 1 live (token and pid filled when non-NULL), 0 dead. */
int mp_portfile_probe(const char *root, mp_port_t port, uint64_t *token, int32_t *pid);

/* The transport the port's owner asks for (0 any), read through its file. */
int mp_portfile_transport(int fd);

/* Before the port listens: the transport and flags its clients read at
 * connect (MP_PORT_DEADLINES); opts may be NULL. */
void mp_portfile_set_opts(struct mp_portfile *pf, const mp_port_opts_t *opts);
/* The port's MP_PORTFILE_F_* flags, read through its file (>= 0). */
int mp_portfile_flags(int fd);

/* Receivers waiting, read through a descriptor of the port file (>= 0). */
int mp_portfile_waiting(int fd);

/* Path of port N's file, with suffix ("" or ".sock"). */
int mp_portfile_path(char *buf, size_t len, const char *root, mp_port_t port, const char *suffix);

#endif
