/* SPDX-License-Identifier: MIT */
/*
 * msgport stat PATH [--json] and msgport top [-n N] [--json]: a port's
 * counters and clients, read through mp_stat() from the file its server
 * keeps (the server is never stopped or asked).  top shows rates from
 * two snapshots a second apart.
 */
#include "stat.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"

static const char stat_help[] =
	"usage: msgport stat PATH [--json]\n"
	"Print the live statistics of the port PATH names: owner pid and uid,\n"
	"transport, calls, one-way messages and pulses received, bytes in and\n"
	"out, held rids (calls received, not answered yet), queued (pulses\n"
	"pending), waiting (calls and one-ways sent and not taken yet, and the\n"
	"bytes they take), kept shared pages and the connected clients (pid,\n"
	"uid, transport, depth: what waits in each one's ring or socket; one per\n"
	"process).  A depth not known (another user's server; a socket, whose\n"
	"kernel counts bytes only) shows as ?, -1 in JSON.  Counters count since\n"
	"the port was made.\n";

static const char top_help[] =
	"usage: msgport top [-n N] [--json]\n"
	"Every second, for each live port in the namespace: calls/s, one-ways/s,\n"
	"pulses/s (from two snapshots a second apart), held rids, queued,\n"
	"waiting (calls and one-ways not taken yet; ? not known), kept pages,\n"
	"clients, bytes.\n"
	"-n N stops after N refreshes; --json prints one JSON object a refresh.\n";

static const char *tp_name(uint32_t t)
{
	static const char *const names[] = { "any", "sock", "ring", "hybrid" };

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_stat(const char *path, const mp_stat_t *st)
{
	printf("{\"path\": ");
	json_str(path);
	printf(", \"port\": %" PRIu32 ", \"pid\": %" PRId32 ", \"uid\": %" PRIu32
	       ", \"transport\": \"%s\", \"calls\": %" PRIu64 ", \"oneways\": %" PRIu64
	       ", \"pulses\": %" PRIu64 ", \"bytes_in\": %" PRIu64 ", \"bytes_out\": %" PRIu64
	       ", \"held\": %" PRIu64 ", \"queued\": %" PRIu64 ", \"waiting\": %" PRId64
	       ", \"waiting_bytes\": %" PRId64 ", \"kept_pages\": %" PRIu64
	       ", \"nclients\": %" PRIu32 ", \"clients\": [",
	       st->port, st->pid, st->uid, tp_name(st->transport), st->calls, st->oneways,
	       st->pulses, st->bytes_in, st->bytes_out, st->held, st->queued, st->waiting,
	       st->waiting_bytes, st->kept_pages, st->nclients);
	for (uint32_t k = 0; k < st->nlisted; k++)
		printf("%s{\"pid\": %" PRId32 ", \"uid\": %" PRIu32 ", \"transport\": \"%s\""
		       ", \"depth\": %" PRId64 ", \"depth_bytes\": %" PRId64 "}",
		       k ? ", " : "", st->clients[k].pid, st->clients[k].uid,
		       tp_name(st->clients[k].transport), st->depth[k], st->depth_bytes[k]);
	printf("]");	/* the object stays open: top adds its rates */
}

/* A depth as text: "5 (320 bytes)", "? (120 bytes)" (a socket's count is
 * not known, its bytes are), "?". */
static const char *depth_str(char *buf, size_t len, int64_t n, int64_t bytes)
{
	char c[24] = "?";

	if (n >= 0)
		snprintf(c, sizeof(c), "%" PRId64, n);
	if (bytes >= 0)
		snprintf(buf, len, "%s (%" PRId64 " bytes)", c, bytes);
	else
		snprintf(buf, len, "%s", c);
	return buf;
}

static void text_stat(const char *path, const mp_stat_t *st)
{
	char d[64];

	printf("path       %s\nport       %" PRIu32 "\nowner      pid %" PRId32 " uid %" PRIu32
	       "\ntransport  %s\ncalls      %" PRIu64 "\none-ways   %" PRIu64 "\npulses     %" PRIu64
	       "\nbytes in   %" PRIu64 "\nbytes out  %" PRIu64 "\nheld rids  %" PRIu64
	       "\nqueued     %" PRIu64 "\nwaiting    %s\nkept pages %" PRIu64 "\nclients    %" PRIu32
	       "\n", path, st->port, st->pid, st->uid, tp_name(st->transport), st->calls,
	       st->oneways, st->pulses, st->bytes_in, st->bytes_out, st->held, st->queued,
	       depth_str(d, sizeof(d), st->waiting, st->waiting_bytes), st->kept_pages,
	       st->nclients);
	for (uint32_t k = 0; k < st->nlisted; k++)
		printf("  pid %-8" PRId32 " uid %-6" PRIu32 " %-6s depth %s\n", st->clients[k].pid,
		       st->clients[k].uid, tp_name(st->clients[k].transport),
		       depth_str(d, sizeof(d), st->depth[k], st->depth_bytes[k]));
}

/* Options: --json and --help anywhere, -n N (top), one PATH (stat). */
struct opts {
	int json;
	long iters;	/* top: refreshes, 0 forever */
	const char *path;
};

static int parse(int argc, char **argv, int want_path, const char *help, struct opts *o)
{
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json")) {
			o->json = 1;
		} else if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			fputs(help, stdout);
			exit(0);
		} else if (!want_path && !strcmp(argv[k], "-n") && k + 1 < argc) {
			char *end;

			o->iters = strtol(argv[++k], &end, 10);
			if (*end || o->iters <= 0)
				return -EINVAL;
		} else if (want_path && !o->path && argv[k][0] == '/') {
			o->path = argv[k];
		} else {
			return -EINVAL;
		}
	}
	return want_path && !o->path ? -EINVAL : 0;
}

int cmd_stat(int argc, char **argv)
{
	struct opts o = { 0 };
	mp_stat_t *st;
	int err;

	if (parse(argc, argv, 1, stat_help, &o)) {
		fputs(stat_help, stderr);
		return 2;
	}
	st = malloc(sizeof(*st));
	if (!st)
		return 1;
	err = mp_stat(o.path, st);
	if (!err && o.json) {
		json_stat(o.path, st);
		puts("}");
	} else if (!err) {
		text_stat(o.path, st);
	} else {
		fprintf(stderr, "msgport stat: %s: %s\n", o.path, strerror(-err));
	}
	free(st);
	return err ? 1 : 0;
}

/* ---------------------------------------------------------------- top */

struct top_port {
	char path[MP_PATH_MAX];
	mp_stat_t st;
};

struct top_snap {
	struct top_port *v;
	size_t n, cap;
	double t;	/* CLOCK_MONOTONIC, seconds */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One entry per live port (its first path); a port whose stats cannot
 * be read (gone meanwhile, another user's) is left out. */
static int top_collect(const mp_ns_entry_t *e, void *arg)
{
	struct top_snap *s = arg;

	if (!e->live)
		return 0;
	for (size_t k = 0; k < s->n; k++)
		if (s->v[k].st.port == e->oid.port)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct top_port *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	snprintf(s->v[s->n].path, sizeof(s->v[s->n].path), "%s", e->path);
	if (mp_stat(e->path, &s->v[s->n].st) == 0)
		s->n++;
	return 0;
}

static int top_take(struct top_snap *s)
{
	int err;

	s->n = 0;
	s->t = now_s();
	err = mp_ns_list(NULL, top_collect, s);
	return err == -ENOENT ? 0 : err;	/* no namespace yet: no ports */
}

static const mp_stat_t *top_find(const struct top_snap *s, const mp_stat_t *st)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->v[k].st.port == st->port && s->v[k].st.pid == st->pid)
			return &s->v[k].st;
	return NULL;
}

/* Per second since the earlier snapshot (0 for a port new since). */
static double rate(uint64_t now, const mp_stat_t *was, size_t off, double dt)
{
	uint64_t before;

	if (!was || dt <= 0)
		return 0;
	memcpy(&before, (const char *)was + off, sizeof(before));
	return now >= before ? (double)(now - before) / dt : 0;
}

static void top_print(const struct top_snap *a, const struct top_snap *b, int json)
{
	double dt = b->t - a->t;

	if (json)
		printf("{\"interval_s\": %.3f, \"ports\": [", dt);
	else
		printf("%6s %-24s %8s %7s %10s %10s %10s %6s %6s %7s %6s %12s %12s\n", "PORT",
		       "PATH", "PID", "CLIENTS", "CALLS/S", "ONEWAYS/S", "PULSES/S", "HELD", "QUEUED",
		       "WAITING", "KEPT", "BYTES_IN", "BYTES_OUT");
	for (size_t k = 0; k < b->n; k++) {
		const mp_stat_t *st = &b->v[k].st, *was = top_find(a, st);
		double c = rate(st->calls, was, offsetof(mp_stat_t, calls), dt);
		double o = rate(st->oneways, was, offsetof(mp_stat_t, oneways), dt);
		double p = rate(st->pulses, was, offsetof(mp_stat_t, pulses), dt);

		if (json) {
			printf("%s", k ? ", " : "");
			json_stat(b->v[k].path, st);
			printf(", \"calls_per_s\": %.1f, \"oneways_per_s\": %.1f, \"pulses_per_s\": %.1f}",
			       c, o, p);
		} else {
			char w[24] = "?";

			if (st->waiting >= 0)
				snprintf(w, sizeof(w), "%" PRId64, st->waiting);
			printf("%6" PRIu32 " %-24s %8" PRId32 " %7" PRIu32 " %10.1f %10.1f %10.1f %6" PRIu64
			       " %6" PRIu64 " %7s %6" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n", st->port,
			       b->v[k].path, st->pid, st->nclients, c, o, p, st->held, st->queued, w,
			       st->kept_pages, st->bytes_in, st->bytes_out);
		}
	}
	if (json)
		printf("]}");
	putchar('\n');
	fflush(stdout);
}

int cmd_top(int argc, char **argv)
{
	struct top_snap s[2] = { { 0 } };
	struct opts o = { 0 };
	int cur = 0, err, tty = isatty(1);

	if (parse(argc, argv, 0, top_help, &o)) {
		fputs(top_help, stderr);
		return 2;
	}
	err = top_take(&s[cur]);
	for (long i = 0; !err && (o.iters == 0 || i < o.iters); i++) {
		sleep(1);
		err = top_take(&s[!cur]);
		if (err)
			break;
		if (tty && !o.json)
			fputs("\033[H\033[J", stdout);	/* a screen that refreshes in place */
		top_print(&s[cur], &s[!cur], o.json);
		cur = !cur;
	}
	free(s[0].v);
	free(s[1].v);
	if (err)
		fprintf(stderr, "msgport top: %s\n", strerror(-err));
	return err ? 1 : 0;
}
