/* SPDX-License-Identifier: MIT */
#include "conn/peer.h"

#include <errno.h>
#include <stdlib.h>

#include "ns/access.h"
#include "ns/owner.h"

/* The peer's supplementary groups; NULL (none known) when the kernel has
 * no SO_PEERGROUPS: the group bits then match its primary group only. */
static gid_t *peer_groups(int fd, size_t *n)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = NULL;

	for (int tries = 0; tries < 2; tries++) {
		gid_t *v = realloc(g, len ? len : sizeof(gid_t));

		if (!v)
			break;
		g = v;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			*n = len / sizeof(gid_t);
			return g;
		}
		if (errno != ERANGE)
			break;
	}
	free(g);
	*n = 0;
	return NULL;
}

int mp_peer_admit(int fd, uint64_t token, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);
	struct mp_ids who;
	bool ok;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) != 0)
		return -errno;
	who = (struct mp_ids){ .uid = cred->uid, .gid = cred->gid };
	if (mp_ns_owner_admits(token, &who))
		return 0;	/* the common case: no groups needed */
	who.groups = peer_groups(fd, &who.ngroups);
	ok = who.groups && mp_ns_owner_admits(token, &who);
	free((void *)who.groups);
	return ok ? 0 : -EACCES;
}
