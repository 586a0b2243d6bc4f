/* SPDX-License-Identifier: MIT */
/* One run of a scenario (scenario.c) and what it found, shared with the
 * driver (driver.c) through memory mapped before the run's fork. */
#ifndef MSGPORT_FAULTINJ_RUN_H
#define MSGPORT_FAULTINJ_RUN_H

#include <stdint.h>

#include "msgport.h"

enum fi_side { FI_CLIENT, FI_SERVER };

struct fi_result {
	uint64_t calls;		/* wrapped calls counted in the armed process */
	char failed[40];	/* the call that was failed, "" if none */
	char bad[600];		/* first check that failed, "" if none */
	char warn[300];		/* first documented but misleading error */
	int32_t errors;		/* public calls that returned an error */
};

struct fi_plan {
	const char *scenario;	/* "call", "oneway", "lookup", "port" */
	uint32_t transport;	/* enum mp_transport_id of the server's port */
	enum fi_side side;	/* which process the fault is injected in */
	uint64_t fail_at;	/* 0: count only */
};

/* Run plan in this (forked) process: fork the server, play the
 * scenario, check; the findings go to *res.  Returns the exit status. */
int fi_run(const struct fi_plan *plan, struct fi_result *res);

/* Record a failed check (the first one is kept) / a misleading error. */
void fi_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fi_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Check a public call's result r against its documented errors (a
 * 0-terminated list of positive errnos): records what is wrong. */
void fi_check(const char *call, long r, const int *documented);

/* Documented errors of each public call (include/msgport.h). */
extern const int FI_E_SEND[], FI_E_RECV[], FI_E_RESPOND[], FI_E_LOOKUP[],
	FI_E_LIST[], FI_E_CREATE[], FI_E_REGISTER[], FI_E_UNREGISTER[],
	FI_E_DESTROY[], FI_E_PORTFD[], FI_E_PAGES_ALLOC[];

/* The process's descriptors and library mappings, to compare. */
struct fi_snap {
	char text[4096];
};
void fi_snap_take(struct fi_snap *s, const char *root);
/* Records a leak (where: "client", "server") when after differs. */
void fi_snap_compare(const struct fi_snap *before, const struct fi_snap *after,
		     const char *where);

#endif
