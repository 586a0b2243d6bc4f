/* SPDX-License-Identifier: MIT */
/*
 * Peers' credentials, as the kernel gives them for a connected socket:
 * SO_PEERCRED (pid, uid, gid), SO_PEERGROUPS (supplementary groups) and
 * SO_PEERSEC (the security label), where the kernel has them.
 *
 * The accept check: a connecting peer against the port's namespace
 * entries, so that a client that skips the library gets no further than
 * the library's own checks would let it (docs/security.md).
 *
 * The credentials table: what a message cannot carry inline (groups, the
 * label) is kept per peer (pid, uid, gid) while a connection of it lives,
 * for mp_cred_check() and its kin.  Its mutex is a leaf: nothing is taken
 * under it, and it may be taken under a port's lock.
 */
#ifndef MP_CONN_PEER_H
#define MP_CONN_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ns/access.h"

struct mp_sconn;

/* 0 and c's pid, uid, gid filled when the peer of fd may call the port of
 * incarnation token, its credentials noted in the table (mp_peer_drop()
 * undoes it); -EACCES when not; -ENOMEM; or the error of getsockopt(). */
int mp_peer_admit(int fd, uint64_t token, struct mp_sconn *c);

/* True when uid already holds MP_PORT_CONN_PER_UID_MAX of the n slots
 * conns (a port's, NULL: free); never for root or the server's own user. */
bool mp_peer_uid_full(struct mp_sconn *const *conns, uint32_t n, uid_t uid);

/* The admitted connection c (NULL: nothing) is gone. */
void mp_peer_drop(const struct mp_sconn *c);

/* Free c, forgotten without its peer entry (a fork child's copy, a port
 * destroyed): its call buffers and its reference on its memory account. */
void mp_peer_forget(struct mp_sconn *c);

/* Decide with the peer's whole credentials: ids->groups are filled from
 * the table (while a connection of the peer lives) for the call to fn. */
typedef int (*mp_peer_fn)(const struct mp_ids *ids, void *arg);
int mp_peer_with(const struct ucred *cred, mp_peer_fn fn, void *arg);

/* The peer's security label into buf (NUL-terminated): its length, or
 * -ENODATA (none known), -ERANGE (buf too small). */
int mp_peer_label(const struct ucred *cred, char *buf, size_t len);

#endif
