/* SPDX-License-Identifier: MIT */
/*
 * The namespace: ROOT/ns/PATH is a small record file naming an oid and
 * the port incarnation (token) that registered it.  The file's mode is
 * the entry's access mode; an entry whose port is no longer alive with
 * the same token is stale and may be taken over.
 *
 * Mount points are records with MP_NS_REC_MOUNT in flags.  Being files,
 * nothing can be registered below them, and lookups that cross one (open
 * fails with ENOTDIR) walk back up to it.  The root mount point "/" lives
 * in ROOT/ns-root, outside ROOT/ns, since ROOT/ns is the directory of
 * every entry.
 *
 * Changes to entries are made under ROOT/ns.lock (an flock), so that a
 * stale entry is taken over, or an entry removed, by one process at a
 * time.  The layer knows nothing of the port objects above it: which
 * ports are this process's is ns/owner.c's table, and the callers pass
 * what else is needed (root, token, socket path) in.
 */
#ifndef MP_NS_H
#define MP_NS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msgport.h"

#define MP_NS_MAGIC 0x4d504e53u	/* "MPNS" */

struct mp_ns_record {
	uint32_t magic;
	uint32_t version;
	uint32_t port;
	uint32_t flags;		/* MP_NS_REC_* */
	uint64_t id;
	uint64_t token;		/* the port incarnation */
	int32_t pid;
	uint32_t mode;
};
_Static_assert(sizeof(struct mp_ns_record) == 40, "record layout is on disk");

#define MP_NS_REC_MOUNT 1u	/* a mount point: lookups below it ask its server */

/* 0 when path is a well-formed absolute namespace path, else -EINVAL. */
int mp_ns_path_check(const char *path);
/* The same for a mount point, which may also be "/" (the root one). */
int mp_ns_mount_path_check(const char *path);

static inline bool mp_ns_path_is_root(const char *path)
{
	return path && path[0] == '/' && path[1] == '\0';
}

/* One registration: what the namespace needs of the port behind it. */
struct mp_ns_reg {
	const char *root;	/* the port's namespace root */
	const char *sock_path;	/* its socket: the entry's mode says who may connect */
	uint64_t token;		/* its incarnation, one of mp_ns_owner_add() */
	mp_oid_t oid;		/* what the entry names (oid.port is the port) */
	const char *path;	/* checked by the caller */
	unsigned mode;
	uint32_t flags;		/* MP_NS_REC_* */
};

/* Register reg->path: 0, -EEXIST (a live entry is there), -ENOENT (the
 * port was destroyed meanwhile), or the error of the file system. */
int mp_ns_register(const struct mp_ns_reg *reg);

/* Unregister path (checked by the caller): -ENOENT, -EPERM (a live entry
 * of another process's port), or the error of the file system. */
int mp_ns_unregister(const char *root, const char *path);

/* A port of ours is destroyed: forget it, and remove the entries that
 * still name this incarnation.  Call it holding no lock. */
void mp_ns_owner_remove(const char *root, uint64_t token);

/* The live entry at path, for lookup: 0, -EACCES, or -ENOENT (none, or a
 * dead one), -ENOTDIR (the path crosses an entry), -EISDIR (a directory
 * of entries), -EPROTO (a broken one), or a resource error
 * (mp_err_resource(), os/lack.h: the entry or its port file could not be opened). */
int mp_ns_entry_get(const char *root, const char *path, struct mp_ns_record *r);

/* The mount point that answers for path, whose exact lookup failed with
 * crossed ? -ENOTDIR : something else: 0 with *plen the length of its
 * path (0 for the root mount point), or -ENOENT / -EACCES. */
int mp_ns_prefix_find(const char *root, const char *path, bool crossed,
		      struct mp_ns_record *r, size_t *plen);

#endif
