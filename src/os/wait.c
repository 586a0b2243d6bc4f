/* SPDX-License-Identifier: MIT */
#include "os/wait.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct mp_wait_policy policy = {
	.mode = MP_WAIT_ADAPTIVE,
	.spin_ns = 50000,	/* ~2.5x a cross-core wake-up on the target VM */
	.yield_ns = 20000,
};
static pthread_once_t policy_once = PTHREAD_ONCE_INIT;

static void policy_read_env(void)
{
	const char *mode = getenv("MSGPORT_WAIT");
	const char *spin = getenv("MSGPORT_SPIN_US");

	if (mode && strcmp(mode, "spin") == 0)
		policy.mode = MP_WAIT_SPIN;
	else if (mode && strcmp(mode, "block") == 0)
		policy.mode = MP_WAIT_BLOCK;
	if (spin && *spin) {
		long us = strtol(spin, NULL, 10);

		if (us >= 0 && us <= 10000000)
			policy.spin_ns = us * 1000;
	}
}

const struct mp_wait_policy *mp_wait_policy(void)
{
	pthread_once(&policy_once, policy_read_env);
	return &policy;
}
