/* SPDX-License-Identifier: MIT */
#include "ns/phx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/deadline.h"
#include "os/lack.h"
#include "ns/ns.h"
#include "ns/root.h"

/* ------------------------------------------------------ the directory */

/* ROOT/phx/UID in a shared root (it has phx/, sticky: nobody else's
 * directory can be removed), else ROOT/phx.UID. */
static int dir_path(char *buf, size_t len, const char *root)
{
	struct stat st;
	int n = snprintf(buf, len, "%s/phx", root);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (lstat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(buf, len, "%s/phx/%u", root, (unsigned)geteuid());
	else
		n = snprintf(buf, len, "%s/phx.%u", root, (unsigned)geteuid());

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* Ours, a real directory, and nobody else may add files to it. */
static int dir_trusted(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EACCES;
	return 0;
}

int mp_ns_phx_dir(const char *root, int create)
{
	char path[MP_ROOT_PATH_MAX];
	int fd, err = dir_path(path, sizeof(path), root);

	if (err)
		return err;
	if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : errno == ELOOP || errno == ENOTDIR ? -EACCES : -errno;
	err = dir_trusted(fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* An flock of the directory itself: a new open file description each
 * time, so that other threads of this process wait too. */
static int dir_lock(const char *root)
{
	int fd = mp_ns_phx_dir(root, 1);

	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
	return fd;
}

static void dir_unlock(int fd)
{
	flock(fd, LOCK_UN);	/* a forked child may hold a copy of fd */
	close(fd);
}

/* ----------------------------------------------------------- reading */

/* Read the file fname once, whole, into buf: its length or -errno. */
static ssize_t file_read(int dirfd, const char *fname, struct mp_phx_buf *buf)
{
	/* O_NONBLOCK: a fifo planted there must not block the open. */
	int fd = openat(dirfd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? -ENOENT : mp_err_resource(-errno) ? -errno : -EPROTO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		n = -EPROTO;
		goto out;
	}
	n = pread(fd, buf->b, sizeof(buf->b), 0);
	if (n < 0)
		n = -EPROTO;
out:
	close(fd);
	return n;
}

int mp_ns_phx_get(int dirfd, const char *name, size_t len, struct mp_phx_buf *buf,
		  struct mp_phx_rec *r)
{
	char fname[MP_PHX_FILE_NAME_LEN];
	ssize_t n;

	if (len > MP_PHX_NAME_MAX)
		return -ENOENT;	/* no record can hold it */
	mp_phx_rec_file_name(fname, name, len);
	n = file_read(dirfd, fname, buf);
	if (n < 0)
		return (int)n;
	if (mp_phx_rec_decode(buf->b, (size_t)n, r) != 0)
		return -EPROTO;
	if (r->name_len != len || memcmp(r->name, name, len) != 0)
		return -ENOENT;	/* another name with the same hash */
	return 0;
}

/* ---------------------------------------------------------- changing */

/* Write the record in a new temporary file of the directory. */
static int tmp_write(int dirfd, const void *rec, size_t len, char *tmp, size_t cap)
{
	uint64_t rnd = 0;
	int fd, n, err;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (uint64_t)mp_now_ns();
	n = snprintf(tmp, cap, ".tmp.%d.%016llx", (int)getpid(), (unsigned long long)rnd);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = EIO;	/* a short write sets none */
	err = write(fd, rec, len) == (ssize_t)len ? 0 : -errno;
	close(fd);
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

/* Under the lock: link the written record at fname unless name is
 * there; a broken file or another name's record in its place goes. */
static int link_locked(int dirfd, const char *tmp, const char *name, size_t len)
{
	char fname[MP_PHX_FILE_NAME_LEN];
	struct mp_phx_buf *buf;
	struct mp_phx_rec r;
	int err;

	mp_phx_rec_file_name(fname, name, len);
	if (linkat(dirfd, tmp, dirfd, fname, 0) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	buf = malloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	err = mp_ns_phx_get(dirfd, name, len, buf, &r);
	free(buf);
	if (err == 0)
		return -EEXIST;
	if (mp_err_resource(err))
		return err;	/* unread: never remove it */
	if (err == -ENOENT && faccessat(dirfd, fname, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;	/* a well-formed record of another name: keep it */
	unlinkat(dirfd, fname, 0);	/* broken */
	return linkat(dirfd, tmp, dirfd, fname, 0) == 0 ? 0 : -errno;
}

int mp_ns_phx_register(const char *root, const char *name, uint32_t port, uint64_t id)
{
	size_t len = strlen(name), rlen;
	char tmp[64];
	void *rec;
	int lock, err;

	if (len > MP_PHX_NAME_MAX)
		return -ENAMETOOLONG;
	rec = malloc(MP_PHX_REC_MAX);
	if (!rec)
		return -ENOMEM;
	rlen = mp_phx_rec_encode(rec, MP_PHX_REC_MAX, port, id, (int32_t)getpid(), name, len);
	lock = dir_lock(root);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	err = tmp_write(lock, rec, rlen, tmp, sizeof(tmp));
	if (!err) {
		err = link_locked(lock, tmp, name, len);
		unlinkat(lock, tmp, 0);
	}
	dir_unlock(lock);
out:
	free(rec);
	return err;
}

int mp_ns_phx_unregister(const char *root, const char *name)
{
	size_t len = strlen(name);
	char fname[MP_PHX_FILE_NAME_LEN];
	struct mp_phx_buf *buf;
	struct mp_phx_rec r;
	int lock, err;

	buf = malloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	lock = dir_lock(root);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	err = mp_ns_phx_get(lock, name, len, buf, &r);
	if (err == 0) {
		mp_phx_rec_file_name(fname, name, len);
		err = unlinkat(lock, fname, 0) == 0 ? 0 : -errno;
	} else if (!mp_err_resource(err)) {
		err = -ENOENT;
	}
	dir_unlock(lock);
out:
	free(buf);
	return err;
}

/* ----------------------------------------------------------- listing */

int mp_ns_phx_each(const char *root, mp_ns_phx_fn fn, void *arg)
{
	struct mp_phx_buf *buf;
	struct dirent *d;
	DIR *dir;
	int fd, ret = 0;

	fd = mp_ns_phx_dir(root, 0);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	buf = malloc(sizeof(*buf));
	dir = buf ? fdopendir(fd) : NULL;
	if (!dir) {
		close(fd);
		free(buf);
		return -ENOMEM;
	}
	while (!ret && (d = readdir(dir))) {
		struct mp_phx_rec r;
		char want[MP_PHX_FILE_NAME_LEN];
		ssize_t n;

		if (d->d_name[0] == '.' || strlen(d->d_name) != MP_PHX_FILE_NAME_LEN - 1)
			continue;
		n = file_read(fd, d->d_name, buf);
		if (n < 0 || mp_phx_rec_decode(buf->b, (size_t)n, &r) != 0)
			continue;
		mp_phx_rec_file_name(want, r.name, r.name_len);
		if (strcmp(want, d->d_name) == 0)	/* only where a lookup finds it */
			ret = fn(&r, arg);
	}
	closedir(dir);
	free(buf);
	return ret;
}
