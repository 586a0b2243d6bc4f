/* SPDX-License-Identifier: MIT */
/*
 * The namespace root: one directory that holds everything msgport shares
 * between processes, so no daemon is needed.
 *
 *   ROOT/ports/N        port N's file: held with an OFD lock while alive
 *   ROOT/ports/N.sock   port N's listening socket
 *   ROOT/ns/PATH        a namespace entry (its mode is its access control)
 *   ROOT/tmp/           entries being written, linked into ns/ atomically
 *   ROOT/ns.lock        serialises taking over stale entries
 *   ROOT/phx.UID/       user UID's Phoenix-mode names (ns/phx.h), or
 *   ROOT/phx/UID/       in a shared root
 *
 * A root is a user's own (the default: $XDG_RUNTIME_DIR/msgport), or
 * shared by several users (made by root with mp_root_init(), `msgport
 * root init`, /run/msgport by default): then ports/, ns/, tmp/ and phx/
 * are sticky and writable by all (or by one group), each file is its
 * maker's, and the kernel keeps users from removing or renaming each
 * other's (docs/security.md).
 */
#ifndef MP_ROOT_H
#define MP_ROOT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MP_ROOT_MAX 3072
/* The shared root used when $MSGPORT_ROOT is not set and it exists. */
#define MP_ROOT_SHARED "/run/msgport"
/* Any path below the root. */
#define MP_ROOT_PATH_MAX (MP_ROOT_MAX + 512)

/* Resolve the root and create its layout; buf gets its path. */
int mp_root_get(char *buf, size_t len);

/* buf = root "/" rel; -ENAMETOOLONG when it does not fit. */
int mp_root_join(char *buf, size_t len, const char *root, const char *rel);

/* Make dir a root shared by every user, or by group gid's members only
 * (gid (gid_t)-1: none): for root to run, once (idempotent). */
int mp_root_init(const char *dir, gid_t gid);

#endif
