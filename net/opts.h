/* SPDX-License-Identifier: MIT */
/* msgport-net's command line (docs/net.md, "Running a gateway"). */
#ifndef MSGPORT_NET_OPTS_H
#define MSGPORT_NET_OPTS_H

#include <stdint.h>

#define NET_EXPORTS_MAX 32
#define NET_GROUPS_MAX 16
#define NET_WORKERS 32		/* --workers by default: calls from other hosts running at once */
#define NET_WORKERS_MAX 256

struct net_opts {
	const char *nats;		/* URL[,URL...] */
	const char *host;		/* this host's name */
	const char *exports[NET_EXPORTS_MAX];
	int nexports;
	const char *groups[NET_GROUPS_MAX];	/* exported prefixes also served in a queue group */
	int ngroups;
	const char *creds, *user, *password, *tls_ca;
	int64_t call_timeout_ns;	/* 0: calls wait as long as the server takes */
	int workers;			/* calls from other hosts running at once */
	int verbose;
};

/* Parse argv into o; prints the problem and exits 2 on a bad command line. */
void net_opts_parse(int argc, char **argv, struct net_opts *o);

/* 1 when path is at or below prefix, component-wise ("/" covers all). */
int net_path_under(const char *path, const char *prefix);

#endif
