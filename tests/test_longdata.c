/* SPDX-License-Identifier: MIT */
/*
 * Long ordinary input through the input grant (proto/grant.h): on the
 * ring transports a call after the first long one is written by the
 * client straight into the server's buffer.  Every size, repeated and
 * changing (a grant fits a call only at its own capacity), with and
 * without a time limit (a limited call never uses the grant), must echo
 * back exactly.
 */
#include "harness.h"

#define MIB ((size_t)1 << 20)

TEST(longdata_grant_sizes_echo_exactly)
{
	static const size_t sizes[] = { 3 * MIB, 3 * MIB + 1, 5 * MIB / 2, 3 * MIB / 2,
					3 * MIB / 2, MIB, 9 * MIB, 9 * MIB, 64 * 1024 + 1, 3 * MIB };
	pid_t pid;
	mp_port_t port = h_server_start(h_echo_server, "/ld/echo", &pid);

	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		CHECK_OK(h_echo_call(port, 100 + k, sizes[k], MP_FOREVER));
		CHECK_OK(h_echo_call(port, 200 + k, sizes[k], 10 * 1000000000LL));
		CHECK_OK(h_echo_call(port, 300 + k, sizes[k], MP_FOREVER));
	}
	h_echo_quit(port, pid);
}
