/* SPDX-License-Identifier: MIT */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MP_SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;

	while (off < len) {
		ssize_t n = pwrite(fd, p + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

int mp_data_memfd(const void *data, size_t len)
{
	int fd, err;

	fd = memfd_create("msgport-data", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	err = ftruncate(fd, (off_t)len) ? -errno : 0;
	if (!err)
		err = write_all(fd, data, len);
	if (!err && fcntl(fd, F_ADD_SEALS, MP_SEALS_REQUIRED | F_SEAL_SEAL) != 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The peer's memfd must be sealed and at least len bytes long. */
static int memfd_check(int fd, size_t len)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & MP_SEALS_REQUIRED) != MP_SEALS_REQUIRED)
		return -EPROTO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < len)
		return -EPROTO;
	return 0;
}

int mp_data_map(int fd, size_t len, void **out)
{
	void *p;
	int err;

	*out = NULL;
	if (len == 0)
		return 0;
	err = memfd_check(fd, len);
	if (err)
		return err;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	*out = p;
	return 0;
}

void mp_data_unmap(void *addr, size_t len)
{
	if (addr && len)
		munmap(addr, len);
}

int mp_data_read(int fd, void *dst, size_t len)
{
	char *p = dst;
	size_t off = 0;

	while (off < len) {
		ssize_t n = pread(fd, p + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPROTO;
		off += (size_t)n;
	}
	return 0;
}
