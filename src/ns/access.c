/* SPDX-License-Identifier: MIT */
#include "ns/access.h"

#include <unistd.h>

static bool in_group(gid_t group, const struct mp_ids *who)
{
	if (who->gid == group)
		return true;
	for (size_t k = 0; k < who->ngroups; k++) {
		if (who->groups[k] == group)
			return true;
	}
	return false;
}

bool mp_access_allows(uid_t owner, gid_t group, unsigned mode, const struct mp_ids *who,
		      unsigned want)
{
	unsigned bits = mode & 0777;

	want &= 7;
	if (who->uid == owner)
		bits >>= 6;
	else if (in_group(group, who))
		bits >>= 3;
	return (bits & want) == want;
}

struct mp_ids mp_ids_self(void)
{
	return (struct mp_ids){ .uid = geteuid(), .gid = getegid() };
}
