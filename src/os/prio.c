/* SPDX-License-Identifier: MIT */
/* Thread priorities on msgport's scale (os/prio.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "os/prio.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

_Thread_local struct mp_prio_cache mp_prio_tls;

#define CAP_SYS_NICE_BIT 23

uint32_t mp_prio_map(int policy, int rtprio, int nice)
{
	if (policy == SCHED_FIFO || policy == SCHED_RR) {
		if (rtprio >= 75)
			return 0;
		if (rtprio >= 50)
			return 1;
		return rtprio >= 25 ? 2 : 3;
	}
	if (policy == SCHED_IDLE || nice >= 14)
		return 7;
	if (nice <= 0)
		return MP_PRIO_DEFAULT;
	return nice <= 6 ? 5 : 6;
}

static pid_t thread_id(void)
{
	return (pid_t)gettid();
}

int mp_prio_save(struct mp_prio_saved *s)
{
	struct sched_param sp = { 0 };
	int pol = sched_getscheduler(0);	/* 0: this thread on Linux */

	if (pol < 0 || sched_getparam(0, &sp) != 0)
		return -errno;
	errno = 0;
	s->nice = getpriority(PRIO_PROCESS, (id_t)thread_id());
	if (errno)
		return -errno;
	s->policy = pol & ~SCHED_RESET_ON_FORK;
	s->rtprio = sp.sched_priority;
	return 0;
}

uint32_t mp_prio_refresh(void)
{
	struct mp_prio_saved s;
	uint64_t now = mp_ticks();

	mp_prio_tls.prio = mp_prio_save(&s) ? MP_PRIO_DEFAULT : mp_prio_map(s.policy, s.rtprio, s.nice);
	mp_prio_tls.at = now ? now : 1;
	return mp_prio_tls.prio;
}

int mp_prio_restore(const struct mp_prio_saved *s)
{
	struct sched_param sp = { .sched_priority = s->rtprio };
	int err = 0;

	if (sched_setscheduler(0, s->policy, &sp) != 0)
		err = -errno;
	if (s->policy != SCHED_FIFO && s->policy != SCHED_RR &&
	    setpriority(PRIO_PROCESS, (id_t)thread_id(), s->nice) != 0 && !err)
		err = -errno;
	mp_prio_refresh();
	return err;
}

int mp_prio_set(uint32_t prio)
{
	static const int rt[4] = { 87, 62, 37, 12 }, nice[4] = { 0, 3, 10, 19 };
	struct mp_prio_saved s = { .policy = SCHED_OTHER };
	struct mp_prio_saved old;
	int err;

	if (prio > 7)
		return -EINVAL;
	err = mp_prio_save(&old);
	if (err)
		return err;
	if (prio < 4) {
		s.policy = SCHED_FIFO;
		s.rtprio = rt[prio];
	} else {
		s.nice = nice[prio - 4];
	}
	err = mp_prio_restore(&s);
	if (err)
		(void)mp_prio_restore(&old);	/* unchanged on failure */
	return err;
}

/* CapEff of /proc/PID/status, bit CAP_SYS_NICE: 1, 0, or -1 unknown. */
static int cap_sys_nice(const char *status)
{
	char line[256];
	unsigned long long eff;
	FILE *f = fopen(status, "re");
	int r = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			r = (int)((eff >> CAP_SYS_NICE_BIT) & 1);
			break;
		}
	fclose(f);
	return r;
}

/* A hard limit from /proc/PID/limits: its value, RLIM_INFINITY as 99, -1 unknown. */
static long limit_hard(const char *limits, const char *name)
{
	char line[256], soft[32], hard[32];
	size_t n = strlen(name);
	FILE *f = fopen(limits, "re");
	long r = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && sscanf(line + n, " %31s %31s", soft, hard) == 2) {
			r = !strcmp(hard, "unlimited") ? 99 : strtol(hard, NULL, 10);
			break;
		}
	fclose(f);
	return r;
}

uint32_t mp_prio_peer_best(pid_t pid)
{
	char path[64];
	long rt;

	if (pid <= 0)
		return MP_PRIO_DEFAULT;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (cap_sys_nice(path) == 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	rt = limit_hard(path, "Max realtime priority");
	if (rt > 0)
		return mp_prio_map(SCHED_FIFO, (int)(rt > 99 ? 99 : rt), 0);
	return MP_PRIO_DEFAULT;
}

int mp_prio_can_restore(void)
{
	struct rlimit nl, rl;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)getpid());
	if (cap_sys_nice(path) == 1)
		return 1;
	if (getrlimit(RLIMIT_NICE, &nl) || getrlimit(RLIMIT_RTPRIO, &rl))
		return 0;
	/* nice 0 back needs RLIMIT_NICE >= 20; rt back to 87 (priority 0) needs 87 */
	return nl.rlim_cur >= 20 && rl.rlim_cur >= 87;
}
