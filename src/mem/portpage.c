/* SPDX-License-Identifier: MIT */
#include "mem/portpage.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/data.h"
#include "os/shm.h"

#define MP_PAGE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

int mp_portpage_create(struct mp_port_page **page)
{
	void *p;
	int fd = mp_memfd_new("msgport-port", MP_PORTPAGE_SIZE, F_SEAL_SEAL, &p);

	if (fd < 0)
		return fd;
	*page = p;
	/* No receiver yet.  [I1] relaxed: the page is ours alone until a
	 * WELCOME's sendmsg() hands it over. */
	store_relaxed(&(*page)->shm_doorbell, 1);
	return fd;
}

const struct mp_port_page *mp_portpage_map(int fd)
{
	void *p;

	if (mp_memfd_peer(fd, MP_PAGE_SEALS, MP_PORTPAGE_SIZE, MP_PORTPAGE_SIZE, NULL) < 0)
		return NULL;
	p = mmap(NULL, MP_PORTPAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void mp_portpage_unmap(const void *page)
{
	if (page)
		munmap((void *)page, MP_PORTPAGE_SIZE);
}
