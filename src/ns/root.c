/* SPDX-License-Identifier: MIT */
#include "ns/root.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/compiler.h"

/* A root someone else made is usable only when root made it and nobody
 * else can change it: another user's directory could be a trap. */
static bool root_trusted(const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return false;
	return st->st_uid == geteuid() || (st->st_uid == 0 && !(st->st_mode & 022));
}

/* The shared default: made by `msgport root init`, so it has ns/. */
static bool shared_default(void)
{
	struct stat st;

	return lstat(MP_ROOT_SHARED, &st) == 0 && root_trusted(&st) &&
	       lstat(MP_ROOT_SHARED "/ns", &st) == 0 && S_ISDIR(st.st_mode);
}

static int root_choose(char *buf, size_t len)
{
	const char *env = getenv("MSGPORT_ROOT");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (shared_default())
		n = snprintf(buf, len, "%s", MP_ROOT_SHARED);
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

/* The root must be ours, or root's and closed to others. */
static int root_check_owner(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return root_trusted(&st) ? 0 : -EACCES;
}

/* A directory of the root: ours or root's, and sticky when others may
 * write it, so that nobody removes or renames what another user made. */
static int subdir_check(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return -EACCES;
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
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
		if (!err)
			err = subdir_check(sub);
		if (err)
			return err;
	}
	return 0;
}

/* mkdir, then the mode and group whatever the umask and the parent. */
static int dir_make(const char *path, mode_t mode, gid_t gid)
{
	int err = dir_ensure(path, mode & 0777);

	if (err)
		return err;
	if (chown(path, (uid_t)-1, gid) != 0 || chmod(path, mode) != 0)
		return -errno;
	return 0;
}

int mp_root_init(const char *dir, gid_t gid)
{
	static const char *const shared[] = { "ports", "ns", "tmp", "phx" };
	bool grouped = gid != (gid_t)-1;
	/* With a group: members only, and what they make is the group's. */
	mode_t top = grouped ? 0750 : 0755;
	mode_t sub = grouped ? (S_ISVTX | S_ISGID | 0770) : (S_ISVTX | 0777);
	char path[MP_ROOT_PATH_MAX];
	int err, fd;

	if (!dir || dir[0] != '/')
		return -EINVAL;
	err = dir_make(dir, top, gid);
	if (err)
		return err;
	for (size_t k = 0; k < MP_ARRAY_SIZE(shared); k++) {
		err = mp_root_join(path, sizeof(path), dir, shared[k]);
		if (!err)
			err = dir_make(path, sub, gid);
		if (err)
			return err;
	}
	err = mp_root_join(path, sizeof(path), dir, "ns.lock");
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	err = fchown(fd, (uid_t)-1, gid) != 0 || fchmod(fd, 0644) != 0 ? -errno : 0;
	close(fd);
	return err;
}
