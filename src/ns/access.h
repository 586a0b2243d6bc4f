/* SPDX-License-Identifier: MIT */
/*
 * File-mode access decisions, as the kernel makes them for files, but for
 * any set of credentials: the caller's own (a lookup's friendly error),
 * a connecting peer's (the accept check) or a message's (mp_cred_check).
 * One rule everywhere, root included: the owner's bits when the uid is
 * the owner, else the group's when the gid or a supplementary group is
 * the group, else the others'.
 */
#ifndef MP_NS_ACCESS_H
#define MP_NS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mp_ids {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;	/* supplementary groups, ngroups of them */
	size_t ngroups;
};

/* want: a mask of 4 (read), 2 (write), 1 (execute). */
bool mp_access_allows(uid_t owner, gid_t group, unsigned mode, const struct mp_ids *who,
		      unsigned want);

/* This process's effective ids (supplementary groups not filled). */
struct mp_ids mp_ids_self(void);

#endif
