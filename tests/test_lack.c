/* SPDX-License-Identifier: MIT */
/*
 * A lookup short of descriptors (issue 13, item 6): with the process's
 * descriptor table full, opening the entry fails with EMFILE, and
 * mp_lookup() says so (-EMFILE), never "no such entry" (-ENOENT).  Once
 * descriptors are free again the same lookup finds the entry.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#define L_LIMIT 64	/* RLIMIT_NOFILE while the table is full */

/* Fill every free number below L_LIMIT; the held ones go to held[]. */
static int table_fill(int *held, int cap, const struct rlimit *old)
{
	struct rlimit rl = { L_LIMIT, old->rlim_max };	/* soft: it goes back */
	int n = 0, fd;

	CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
	while (n < cap && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		held[n++] = fd;
	CHECK_EQ(errno, EMFILE);
	return n;
}

static void table_free(const int *held, int n)
{
	for (int k = 0; k < n; k++)
		close(held[k]);
}

TEST(lack_lookup_says_emfile_not_enoent)
{
	struct rlimit old;
	mp_port_t port;
	mp_oid_t oid;
	int held[L_LIMIT], n;

	CHECK_OK(getrlimit(RLIMIT_NOFILE, &old));
	CHECK_OK(mp_port_create(&port));
	CHECK_OK(mp_port_register(port, "/lack", 0666));
	CHECK_OK(mp_lookup("/lack", &oid));
	n = table_fill(held, L_LIMIT, &old);
	CHECK_ERR(mp_lookup("/lack", &oid), -EMFILE);
	CHECK_ERR(mp_lookup("/missing/too", &oid), -EMFILE);	/* unknown: not "none" */
	table_free(held, n);
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &old));
	CHECK_OK(mp_lookup("/lack", &oid));
	CHECK_EQ(oid.port, port);
	CHECK_OK(mp_port_destroy(port));
}
