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
 *   ROOT/phx.UID/       user UID's Phoenix-mode names (ns/phx.h)
 */
#ifndef MP_ROOT_H
#define MP_ROOT_H

#include <limits.h>
#include <stddef.h>

#define MP_ROOT_MAX 3072
/* Any path below the root. */
#define MP_ROOT_PATH_MAX (MP_ROOT_MAX + 512)

/* Resolve the root and create its layout; buf gets its path. */
int mp_root_get(char *buf, size_t len);

/* buf = root "/" rel; -ENAMETOOLONG when it does not fit. */
int mp_root_join(char *buf, size_t len, const char *root, const char *rel);

#endif
