/* SPDX-License-Identifier: MIT */
/* Command line of msgport-net: every value checked before use. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "wire.h"

static const char usage[] =
	"usage: msgport-net --nats URL[,URL...] --host NAME [--export PREFIX]...\n"
	"                   [--group PREFIX]... [--creds FILE | --user U --password P]\n"
	"                   [--tls-ca FILE] [--call-timeout MS] [--workers N] [--verbose]\n"
	"Mount /net in the local namespace: /net/HOST/PATH is PATH on HOST's gateway,\n"
	"/net/*/PATH any gateway serving PATH in a --group.  Nothing is exported\n"
	"unless named by --export.  See docs/net.md.\n";

static void die(const char *what, const char *val)
{
	fprintf(stderr, "msgport-net: %s%s%s\n%s", what, val ? ": " : "", val ? val : "", usage);
	exit(2);
}

int net_path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strcmp(prefix, "/") == 0)
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* An absolute path with no empty, "." or ".." component, not /net. */
static int prefix_valid(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n >= MP_PATH_MAX || strstr(p, "//") || strstr(p, "/./") ||
	    strstr(p, "/../") || (n > 1 && p[n - 1] == '/'))
		return 0;
	if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		return 0;
	/* Exporting /net would forward lookups back into the network. */
	return !net_path_under(p, "/net");
}

/* A group prefix's components become NATS subject tokens. */
static int group_valid(const char *p)
{
	if (!prefix_valid(p) || strcmp(p, "/") == 0)
		return 0;
	return strpbrk(p, ".*> \t\r\n") == NULL;
}

static void check(struct net_opts *o)
{
	if (!o->nats || !o->host)
		die("--nats and --host are needed", NULL);
	if (!net_host_valid(o->host))
		die("bad --host (1..31 of A-Z a-z 0-9 _ -)", o->host);
	for (int k = 0; k < o->nexports; k++)
		if (!prefix_valid(o->exports[k]))
			die("bad --export (an absolute path, not under /net)", o->exports[k]);
	for (int k = 0; k < o->ngroups; k++) {
		int covered = 0;

		if (!group_valid(o->groups[k]))
			die("bad --group (an absolute path, no . * > or blanks)", o->groups[k]);
		for (int e = 0; e < o->nexports; e++)
			covered |= net_path_under(o->groups[k], o->exports[e]);
		if (!covered)
			die("--group names a prefix that no --export covers", o->groups[k]);
	}
	if (!o->user != !o->password)
		die("--user and --password go together", NULL);
	if (o->creds && o->user)
		die("--creds or --user/--password, not both", NULL);
}

static void add(const char **v, int *n, int max, const char *s, const char *what)
{
	if (*n == max)
		die(what, "too many");
	v[(*n)++] = s;
}

void net_opts_parse(int argc, char **argv, struct net_opts *o)
{
	static const struct option lo[] = {
		{ "nats", required_argument, NULL, 'n' }, { "host", required_argument, NULL, 'H' },
		{ "export", required_argument, NULL, 'e' }, { "group", required_argument, NULL, 'g' },
		{ "creds", required_argument, NULL, 'c' }, { "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' }, { "tls-ca", required_argument, NULL, 't' },
		{ "call-timeout", required_argument, NULL, 'T' },
		{ "workers", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->workers = NET_WORKERS;
	while ((c = getopt_long(argc, argv, "n:H:e:g:c:u:p:t:T:W:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->nats = optarg; break;
		case 'H': o->host = optarg; break;
		case 'e': add(o->exports, &o->nexports, NET_EXPORTS_MAX, optarg, "--export"); break;
		case 'g': add(o->groups, &o->ngroups, NET_GROUPS_MAX, optarg, "--group"); break;
		case 'c': o->creds = optarg; break;
		case 'u': o->user = optarg; break;
		case 'p': o->password = optarg; break;
		case 't': o->tls_ca = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'T': {
			unsigned long long ms = strtoull(optarg, &end, 10);

			if (!*optarg || *end || optarg[0] == '-' || ms > 86400000ull)
				die("bad --call-timeout (milliseconds, at most a day)", optarg);
			o->call_timeout_ns = (int64_t)ms * 1000000;
			break;
		}
		case 'W': {
			unsigned long n = strtoul(optarg, &end, 10);

			if (!*optarg || *end || optarg[0] == '-' || n < 1 || n > NET_WORKERS_MAX)
				die("bad --workers (1 to 256)", optarg);
			o->workers = (int)n;
			break;
		}
		case 'h': fputs(usage, stdout); exit(0);
		default: die("bad option", NULL);
		}
	}
	if (optind != argc)
		die("unexpected argument", argv[optind]);
	check(o);
}
