/* SPDX-License-Identifier: MIT */
/*
 * The Phoenix-mode names (docs/phoenix-namespace.md): the namespace of
 * the Phoenix-RTOS kernel, kept beside msgport's own.  Any string is a
 * name; a name names an oid until it is unregistered, whatever becomes
 * of its port; every name is a mount point; names nest.
 *
 * ROOT/phx.UID/ holds one record file per name (ns/phxrec.h), named by
 * a hash of the name, written whole in a temporary file and linked into
 * place.  The directory is the user's own (0700, checked): names are
 * per-user, as one user is one trust domain, and any process of the
 * user may register or unregister any name.  Register and unregister
 * hold an flock on the directory, taken with no other lock held and
 * holding none below it.
 */
#ifndef MP_NS_PHX_H
#define MP_NS_PHX_H

#include <stddef.h>
#include <stdint.h>

#include "ns/phxrec.h"

/* The user's Phoenix directory under root, opened (O_DIRECTORY) and
 * checked (a directory of ours, writable by us only): its fd, -ENOENT
 * when there is none and !create, -EACCES when it is not ours. */
int mp_ns_phx_dir(const char *root, int create);

/* Buffer for one record file: the largest record and one byte more. */
struct mp_phx_buf {
	unsigned char b[MP_PHX_REC_MAX + 1];
};

/* The record of name (len bytes) in the directory dirfd: 0 (*r points
 * into *buf), -ENOENT none (or a record of another name at its hash),
 * -EPROTO a broken file. */
int mp_ns_phx_get(int dirfd, const char *name, size_t len, struct mp_phx_buf *buf,
		  struct mp_phx_rec *r);

/* Register name for {port, id}: 0, -EEXIST (it is registered), or the
 * file system's error.  The port is not checked. */
int mp_ns_phx_register(const char *root, const char *name, uint32_t port, uint64_t id);

/* Unregister name: 0 or -ENOENT. */
int mp_ns_phx_unregister(const char *root, const char *name);

/* Call fn for each well-formed record of the user (in no set order)
 * until it returns non-zero (that value is returned). */
typedef int (*mp_ns_phx_fn)(const struct mp_phx_rec *r, void *arg);
int mp_ns_phx_each(const char *root, mp_ns_phx_fn fn, void *arg);

#endif
