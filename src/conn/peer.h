/* SPDX-License-Identifier: MIT */
/*
 * The accept check: a connecting peer, by the credentials the kernel
 * gives for its socket (SO_PEERCRED, SO_PEERGROUPS), against the port's
 * namespace entries.  A client that skips the library gets no further
 * than the library's own checks would let it (docs/security.md).
 */
#ifndef MP_CONN_PEER_H
#define MP_CONN_PEER_H

#include <stdint.h>
#include <sys/socket.h>

/* 0 and *cred filled when the peer of fd may call the port of incarnation
 * token; -EACCES when not; or the error of getsockopt(). */
int mp_peer_admit(int fd, uint64_t token, struct ucred *cred);

#endif
