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
 */
#ifndef MP_NS_H
#define MP_NS_H

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

/* Remove path if it still names our port incarnation (port destroy). */
void mp_ns_remove_owned(const char *root, const char *path, uint64_t token);

/* Resolve rest (relative, no leading '/') through the mount point server
 * srv and its hops (mount.c); the oids of the final answer. */
int mp_mount_resolve(mp_oid_t srv, const char *rest, mp_oid_t *file, mp_oid_t *dev);

#endif
