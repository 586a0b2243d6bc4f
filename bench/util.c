/* util.c - small system helpers shared by the harness and the backends. */
#include "pingpong.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

uint64_t pp_now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is system-wide, so stamps from both children compare. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *pp_shm_alloc(size_t len)
{
	/* Anonymous shared memory: fork hands it to both children, and it
	 * disappears with the last of them, so a crash leaves nothing behind. */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void pp_shm_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

int pp_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pp_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;	/* the peer is gone */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pp_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

void pp_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
