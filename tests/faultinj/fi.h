/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: link-time wrappers (-Wl,--wrap=NAME, see wrap.c) of the
 * libc calls that libmsgport makes for memory, descriptors and messages.
 * While armed, every call of a wrapped function made by this process is
 * counted; the one numbered fi_fail_at (1-based) fails with a plausible
 * errno instead of reaching libc.  Counting is per process (a fork child
 * starts disarmed) and may be paused by the test's own code.
 */
#ifndef MSGPORT_FAULTINJ_FI_H
#define MSGPORT_FAULTINJ_FI_H

#include <stddef.h>
#include <stdint.h>

/* Start counting from 0; fail call number fail_at (0: fail none). */
void fi_arm(uint64_t fail_at);
/* Stop counting (what was counted stays readable). */
void fi_disarm(void);
/* Calls counted since fi_arm(). */
uint64_t fi_count(void);
/* The function whose call was failed, or NULL while none was. */
const char *fi_failed_name(void);
/* Also write the failed call's name into buf when it fails. */
void fi_report_to(char *buf, size_t cap);
/* The calling thread's own calls are not counted while paused. */
void fi_pause(void);
void fi_resume(void);

#endif
