/* SPDX-License-Identifier: MIT */
/*
 * The lookup both namespaces share (api/lookup.c): native callers
 * (mp_lookup_dev) and the Phoenix front-end (compat/phoenix.c) walk the
 * same records with different rules; docs/phoenix-namespace.md.
 */
#ifndef MP_API_LOOKUP_H
#define MP_API_LOOKUP_H

#include <stdbool.h>

#include "msgport.h"

/* Longest path a Phoenix-mode lookup takes (the kernel has no limit; a
 * lookup sends its rest as call data). */
#define MP_PHX_LOOKUP_MAX 65535u

/* Look name up: phoenix ? the Phoenix kernel's rules (any string, the
 * user's Phoenix names first) : msgport's (native paths, native entries
 * first).  Either finds both kinds of record.  file or dev may be NULL,
 * not both (checked by the caller). */
int mp_lookup_walk(const char *name, bool phoenix, mp_oid_t *file, mp_oid_t *dev);

#endif
