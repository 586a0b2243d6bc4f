/* SPDX-License-Identifier: MIT */
/*
 * This process's ports as the namespace knows them: each incarnation
 * (port number and token) and the paths registered to it.  It answers
 * "is this entry ours" and "what does a destroyed port leave behind"
 * without the port objects of the connection layer above.
 *
 * One mutex guards the table; nothing else is taken while it is held
 * (the lock order is in conn/port.h).  It is held across fork; the child
 * forgets every entry, as it forgets the ports themselves.
 */
#ifndef MP_NS_OWNER_H
#define MP_NS_OWNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"

struct mp_ns_acc {
	unsigned mode;
	gid_t gid;
};

struct mp_ns_owner {
	struct mp_ns_owner *next;
	mp_port_t port;
	uint64_t token;		/* the port incarnation */
	char **paths;		/* registered to it */
	struct mp_ns_acc *acc;	/* each path's mode and group */
	uint32_t npaths;
};

/* A new port of this process (at create, before anyone can find it). */
int mp_ns_owner_add(mp_port_t port, uint64_t token);

/* Take the incarnation out of the table (port destroy): NULL when it is
 * not there; the caller removes its entries, then frees it. */
struct mp_ns_owner *mp_ns_owner_take(uint64_t token);
void mp_ns_owner_free(struct mp_ns_owner *o);

/* true when (port, token) is a port of this process. */
bool mp_ns_owner_has(mp_port_t port, uint64_t token);

/* Remember path as registered to token, with the entry's mode and group:
 * -ENOENT when token is no port of ours (any more), -ENOMEM. */
int mp_ns_owner_path_add(uint64_t token, const char *path, unsigned mode, gid_t gid);

/* The union of the modes of token's entries (0: none). */
unsigned mp_ns_owner_modes(uint64_t token);

struct mp_ids;
/* true when who may call the port token: it is this process's user, or
 * one of the port's entries grants it write access (ns/access.h). */
bool mp_ns_owner_admits(uint64_t token, const struct mp_ids *who);

/* Forget path of token, if it is there. */
void mp_ns_owner_path_forget(uint64_t token, const char *path);

#endif
