/* SPDX-License-Identifier: MIT */
/* mp_stat(): a port's live statistics, by path (conn/stats.h). */
#include <errno.h>

#include "conn/stats.h"
#include "msgport.h"
#include "ns/root.h"

int mp_stat(const char *path, mp_stat_t *st)
{
	char root[MP_ROOT_MAX];
	mp_oid_t oid;
	int err;

	if (!path || !st)
		return -EINVAL;
	err = mp_lookup(path, &oid);	/* the entry's access rules decide who looks */
	if (err)
		return err;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	return mp_stats_read(root, oid.port, st);
}
