/* SPDX-License-Identifier: MIT */
#include "ns/root.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/compiler.h"

static int root_choose(char *buf, size_t len)
{
	const char *env = getenv("MSGPORT_ROOT");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, len, "%s/msgport", env);
	else
		n = snprintf(buf, len, "/tmp/msgport-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (buf[0] != '/')
		return -EINVAL;
	return 0;
}

/* Create dir with mode unless it exists; it must be a real directory. */
static int dir_ensure(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* The root must be ours: another user's directory in /tmp could be a trap. */
static int root_check_owner(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid())
		return -EACCES;
	return 0;
}

int mp_root_join(char *buf, size_t len, const char *root, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", root, rel);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int mp_root_get(char *buf, size_t len)
{
	static const char *const subdirs[] = { "ports", "ns", "tmp" };
	char sub[MP_ROOT_MAX + 16];
	int err;

	err = root_choose(buf, len);
	if (err)
		return err;
	err = dir_ensure(buf, 0700);
	if (err)
		return err;
	err = root_check_owner(buf);
	if (err)
		return err;
	for (size_t k = 0; k < MP_ARRAY_SIZE(subdirs); k++) {
		err = mp_root_join(sub, sizeof(sub), buf, subdirs[k]);
		if (err)
			return err;
		err = dir_ensure(sub, 0755);
		if (err)
			return err;
	}
	return 0;
}
