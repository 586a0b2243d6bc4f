/* tmpdir.c - a private temporary directory per case (msgport's namespace
 * root), removed with everything in it once the case is over. */
#include "pingpong.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

int pp_tmpdir_make(char *path, size_t len, const char *tag)
{
	const char *base = getenv("TMPDIR");

	if (snprintf(path, len, "%s/%s-XXXXXX", base && *base ? base : "/tmp", tag) >= (int)len)
		return -ENAMETOOLONG;
	return mkdtemp(path) ? 0 : -errno;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) ? -errno : 0;
}

/* Depth first, without following links: only what is inside goes. */
int pp_tmpdir_remove(const char *path)
{
	if (!path || !*path)
		return 0;
	int err = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

	return err == -1 ? -errno : err;
}
