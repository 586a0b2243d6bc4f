/* SPDX-License-Identifier: MIT */
#include "os/wait.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static struct mp_wait_policy policy = {
	.mode = MP_WAIT_ADAPTIVE,
	.spin_ns = 50000,	/* ~2.5x a cross-core wake-up on the target VM */
	.yield_ns = 20000,
};
static pthread_once_t policy_once = PTHREAD_ONCE_INIT;
_Atomic int mp_cpu_aux_ok;

/* Whether TSC_AUX names our CPU: the CPU has rdtscp (CPUID 0x80000001,
 * EDX bit 27) and three reads agree with sched_getcpu() (a migration
 * between the two reads only costs the cheap way). */
static void cpu_aux_probe(void)
{
#if defined(__x86_64__)
	unsigned a = 0x80000001u, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (!(d & (1u << 27)))
		return;
	for (int k = 0; k < 3; k++) {
		unsigned aux;
		int cpu = sched_getcpu();

		(void)__builtin_ia32_rdtscp(&aux);
		if (cpu < 0 || (int)(aux & 0xfff) != cpu)
			return;
	}
	store_relaxed(&mp_cpu_aux_ok, 1);
#endif
}

static void policy_read_env(void)
{
	const char *mode = getenv("MSGPORT_WAIT");
	const char *spin = getenv("MSGPORT_SPIN_US");

	cpu_aux_probe();

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
