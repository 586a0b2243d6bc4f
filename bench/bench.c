/* bench.c - msgport-bench: measures every backend of backends.c in every
 * placement it supports, in one run, and reports each figure against the
 * raw baselines measured in that same run. Progress goes to stderr, the
 * markdown table to stdout, CSV and PNG to the output directory. Run as
 * `msgport-bench --instr-child ...` it is instead the program the instr
 * part runs under callgrind (instr_child.c). */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct daemon_state {
	const struct pp_daemon *d;
	bool running, failed;
	char why[160];
};

const size_t pp_sweep_sizes[] = { 64, 256, 1024, 4096, 16384, 65536 };
const size_t pp_nsweep_sizes = sizeof(pp_sweep_sizes) / sizeof(pp_sweep_sizes[0]);
const unsigned pp_conc_clients[] = { 1, 2, 8, 32 };
const size_t pp_nconc_clients = sizeof(pp_conc_clients) / sizeof(pp_conc_clients[0]);

static struct daemon_state g_daemons[8];
static size_t g_ndaemons;
static struct pp_run g_run;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: msgport-bench [-q] [-c case,...] [-p part,...] [-o dir] [-t sec] [-n max] [-m min] [-T sec] [-i calls] [-l]\n"
		"  -c LIST  run only these cases (see -l)\n"
		"  -p LIST  run only these parts: lat (64-byte round trips), tput (one-way),\n"
		"           size (round trip by size), conc (1..32 clients),\n"
		"           instr (instructions per call under callgrind); default all\n"
		"  -o DIR   where results.csv and the PNGs go (default: out/ next to the program)\n"
		"  -t SEC   time to aim for per 64-byte case (default 1.0); sets the round-trip count\n"
		"  -s SEC   time to aim for per size or concurrency case (default 0.5)\n"
		"  -n MAX   most timed round trips per case (default 200000)\n"
		"  -m MIN   fewest timed round trips per case (default 20000)\n"
		"  -T SEC   give up on a case after SEC seconds (default 60)\n"
		"  -i N     calls of the instr part's long run (default 10000; the short run makes N/10)\n"
		"  -q       quick smoke run: short cases, rough numbers\n"
		"  -l       list the cases and exit\n");
}

static void list_backends(FILE *f)
{
	for (size_t i = 0; i < pp_nbackends; i++)
		fprintf(f, "%-16s %s\n", pp_backends[i]->name, pp_backends[i]->what);
}

static void set_quick(struct pp_opts *o)
{
	o->budget_s = 0.05;
	o->min_iters = 2000;
	o->max_iters = 20000;
	o->warmup = 200;
	o->bounded_iters = 20;
	o->tput_min = 20000;
	o->tput_max = 500000;
	o->sweep_budget_s = 0.03;
	o->sweep_min_iters = 500;
	o->slow_min_iters = 500;
	o->instr_calls = 2000;
}

static const char *const part_names[] = { "lat", "tput", "size", "conc", "instr" };

static int parse_parts(const char *list, unsigned *parts)
{
	*parts = 0;
	for (const char *p = list; *p; ) {
		size_t n = strcspn(p, ","), k;

		for (k = 0; k < sizeof(part_names) / sizeof(part_names[0]); k++)
			if (strlen(part_names[k]) == n && !strncmp(p, part_names[k], n))
				break;
		if (k == sizeof(part_names) / sizeof(part_names[0])) {
			fprintf(stderr, "unknown part '%.*s': lat, tput, size, conc, instr\n", (int)n, p);
			return -EINVAL;
		}
		*parts |= 1u << k;
		p += n + (p[n] == ',');
	}
	return *parts ? 0 : -EINVAL;
}

/* only: NULL for all, else a comma-separated list of case names. */
static bool selected(const char *name, const char *only)
{
	size_t len = strlen(name);

	if (!only)
		return true;
	for (const char *p = only; *p; ) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static bool is_case(const char *name, size_t len)
{
	for (size_t i = 0; i < pp_nbackends; i++)
		if (strlen(pp_backends[i]->name) == len && !strncmp(pp_backends[i]->name, name, len))
			return true;
	return false;
}

/* Every name given to -c must exist: a typo would silently measure nothing. */
static int check_only(const char *only)
{
	for (const char *p = only; p && *p; ) {
		size_t n = strcspn(p, ",");

		if (!is_case(p, n)) {
			fprintf(stderr, "unknown case '%.*s'; the cases are:\n", (int)n, p);
			list_backends(stderr);
			return -EINVAL;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct pp_opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "c:p:o:t:s:n:m:T:i:qlh")) != -1) {
		switch (c) {
		case 'c': o->only = optarg; break;
		case 'p': if (parse_parts(optarg, &o->parts)) return -EINVAL; break;
		case 's': o->sweep_budget_s = atof(optarg); break;
		case 'o': o->outdir = optarg; break;
		case 't': o->budget_s = atof(optarg); break;
		case 'n': o->max_iters = strtoull(optarg, NULL, 0); break;
		case 'm': o->min_iters = strtoull(optarg, NULL, 0); break;
		case 'T': o->case_timeout_s = atof(optarg); break;
		case 'i': o->instr_calls = strtoull(optarg, NULL, 0); break;
		case 'q': set_quick(o); break;
		case 'l': list_backends(stdout); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc || o->budget_s <= 0 || o->sweep_budget_s <= 0 ||
	    o->case_timeout_s <= 0 || o->max_iters < 1 ||
	    o->min_iters > o->max_iters || o->instr_calls < 10) {
		usage(stderr);
		return -EINVAL;
	}
	if (o->bounded_iters > o->max_iters)
		o->bounded_iters = o->max_iters;
	return check_only(o->only);
}

/* ---- environment ---- */

/* The first two CPUs we may run on (normally 0 and 1). */
static void pick_cpus(struct pp_opts *o)
{
	cpu_set_t set;
	int k = 0;

	o->cpu[0] = 0;
	o->cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE && k < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			o->cpu[k++] = cpu;
}

static void default_outdir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 5);
	char *slash;

	if (n <= 0 || !(slash = memrchr(buf, '/', (size_t)n))) {
		snprintf(buf, len, "bench/out");
		return;
	}
	strcpy(slash, "/out");
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) && errno != EEXIST ? -errno : 0;
}

/* ---- daemons ---- */

static struct daemon_state *daemon_state(const struct pp_daemon *d)
{
	for (size_t i = 0; i < g_ndaemons; i++)
		if (g_daemons[i].d == d)
			return &g_daemons[i];
	if (g_ndaemons == sizeof(g_daemons) / sizeof(g_daemons[0]))
		return NULL;
	g_daemons[g_ndaemons].d = d;
	return &g_daemons[g_ndaemons++];
}

/* Registered with atexit as well: no daemon outlives the harness. */
static void daemons_stop_all(void)
{
	if (!pp_is_harness())
		return;		/* a child exiting: the daemons are not its to stop */
	for (size_t i = 0; i < g_ndaemons; i++)
		if (g_daemons[i].running) {
			g_daemons[i].d->stop();
			g_daemons[i].running = false;
		}
}

static int daemon_need(const struct pp_daemon *d, const char *outdir, char *why, size_t len)
{
	struct daemon_state *s = daemon_state(d);

	if (!s)
		return -ENOSPC;
	if (!s->running && !s->failed) {
		fprintf(stderr, "starting %s\n", d->name);
		s->failed = d->start(outdir, s->why, sizeof(s->why)) != 0;
		s->running = !s->failed;
	}
	if (s->failed)
		snprintf(why, len, "%s", s->why);
	return s->failed ? -ECHILD : 0;
}

static void daemon_release(const struct pp_daemon *d, const struct pp_backend *const *sel,
			   size_t from, size_t n)
{
	struct daemon_state *s = daemon_state(d);

	for (size_t i = from; i < n; i++)
		if (sel[i]->daemon == d)
			return;		/* a later case still needs it */
	if (s && s->running) {
		fprintf(stderr, "stopping %s\n", d->name);
		d->stop();
		s->running = false;
	}
}

/* ---- running ---- */

static void skip(struct pp_run *run, const struct pp_backend *be, const char *why)
{
	fprintf(stderr, "%-16s left out: %s\n", be->name, why);
	if (run->nskipped < sizeof(run->skipped) / sizeof(run->skipped[0]))
		snprintf(run->skipped[run->nskipped++], sizeof(run->skipped[0]), "%s: %s",
			 be->name, why);
}

static void progress(const struct pp_result *r)
{
	static const char *const metric[PP_NMETRIC] = { "rtt", "tput", "conc", "instr" };
	char what[32];

	if (r->metric == PP_CONC)
		snprintf(what, sizeof(what), "conc %2u", r->nclients);
	else
		snprintf(what, sizeof(what), "%s %zu", metric[r->metric], r->size);
	fprintf(stderr, "%-20s %-10s %-11s ", r->be->name, pp_place_name(r->placement), what);
	if (r->status == PP_SKIPPED)
		fprintf(stderr, "%s\n", r->why);
	else if (r->status != PP_OK)
		fprintf(stderr, "FAILED: %s\n", r->why);
	else if (r->metric == PP_INSTR)
		fprintf(stderr, "server %.0f  client %.0f instructions per %s  (over %llu: long run minus short)\n",
			r->instr[PP_SERVER], r->instr[PP_CLIENT],
			r->be->flags & PP_BASE_RING ? "message" : "call", (unsigned long long)r->n);
	else if (r->metric == PP_TPUT)
		fprintf(stderr, "%.0f msg/s  (%llu messages)\n", r->rate, (unsigned long long)r->n);
	else if (r->metric == PP_RTT)
		fprintf(stderr, "p50 %.0f ns  p99 %.0f ns  (%llu round trips)\n", r->lat.p50,
			r->lat.p99, (unsigned long long)r->n);
	else
		fprintf(stderr, "%.0f calls/s  p50 %.0f ns  p99 %.0f ns  (%llu calls)\n", r->rate,
			r->lat.p50, r->lat.p99, (unsigned long long)r->n);
}

static bool wants(const struct pp_backend *be, enum pp_metric m, enum pp_placement pl,
		  const struct pp_opts *o)
{
	unsigned need = (m == PP_TPUT ? PP_THROUGHPUT : PP_LATENCY) |
			(pl == PP_CROSS ? PP_CROSS_OK : PP_SAME_OK);

	return (be->flags & need) == need && (pl == PP_SAME || o->cpu[1] >= 0);
}

/* Runs one case into the next free row. */
static void run_one(struct pp_run *run, const struct pp_opts *o, const struct pp_result *want)
{
	struct pp_result *r;

	if (pp_interrupted() || run->nrows == sizeof(run->rows) / sizeof(run->rows[0]))
		return;
	r = &run->rows[run->nrows++];
	*r = *want;
	if (r->metric == PP_INSTR)
		pp_instr_case(o, r);
	else
		pp_run_case(o, r);
	progress(r);
}

/* The 64-byte cases: latency, then throughput, each in both placements. */
static void run_base_parts(struct pp_run *run, const struct pp_backend *be, const struct pp_opts *o)
{
	static const unsigned part[2] = { PP_PART_LAT, PP_PART_TPUT };

	for (int m = PP_RTT; m <= PP_TPUT; m++)
		for (int pl = 0; pl < PP_NPLACE; pl++)
			if ((o->parts & part[m]) && wants(be, m, pl, o))
				run_one(run, o, &(struct pp_result){ .be = be, .metric = m,
					.placement = pl, .size = PP_MSG_SIZE, .nclients = 1 });
}

/* Round trip by size, cross-core; 64 bytes is in the latency part. */
static void run_sizes(struct pp_run *run, const struct pp_backend *be, const struct pp_opts *o)
{
	if (!(o->parts & PP_PART_SIZE) || !(be->flags & PP_SIZES) || !wants(be, PP_RTT, PP_CROSS, o))
		return;
	for (size_t i = 0; i < pp_nsweep_sizes; i++)
		if (pp_sweep_sizes[i] != PP_MSG_SIZE || !(o->parts & PP_PART_LAT))
			run_one(run, o, &(struct pp_result){ .be = be, .metric = PP_RTT,
				.placement = PP_CROSS, .size = pp_sweep_sizes[i], .nclients = 1 });
}

/* Several clients of one server: it on the second CPU, they on the first. */
static void run_conc(struct pp_run *run, const struct pp_backend *be, const struct pp_opts *o)
{
	if (!(o->parts & PP_PART_CONC) || !(be->flags & PP_MULTI) || !wants(be, PP_CONC, PP_CROSS, o))
		return;
	for (size_t i = 0; i < pp_nconc_clients; i++)
		run_one(run, o, &(struct pp_result){ .be = be, .metric = PP_CONC,
			.placement = PP_CROSS, .size = PP_MSG_SIZE, .nclients = pp_conc_clients[i] });
}

/* Instructions per call under callgrind: server and client both counted. */
static void run_instr(struct pp_run *run, const struct pp_backend *be, const struct pp_opts *o)
{
	if ((o->parts & PP_PART_INSTR) && (be->flags & PP_CALLGRIND))
		run_one(run, o, &(struct pp_result){ .be = be, .metric = PP_INSTR,
			.placement = o->cpu[1] >= 0 ? PP_CROSS : PP_SAME, .size = PP_MSG_SIZE,
			.nclients = 1 });
}

static void run_backend(struct pp_run *run, const struct pp_backend *be, const struct pp_opts *o)
{
	run_base_parts(run, be, o);
	run_sizes(run, be, o);
	run_conc(run, be, o);
	run_instr(run, be, o);
}

/* Whether the parts chosen hold any case of this backend. */
static bool has_cases(const struct pp_backend *be, const struct pp_opts *o)
{
	return ((o->parts & PP_PART_LAT) && (be->flags & PP_LATENCY)) ||
	       ((o->parts & PP_PART_TPUT) && (be->flags & PP_THROUGHPUT)) ||
	       ((o->parts & PP_PART_SIZE) && (be->flags & PP_SIZES)) ||
	       ((o->parts & PP_PART_CONC) && (be->flags & PP_MULTI)) ||
	       ((o->parts & PP_PART_INSTR) && (be->flags & PP_CALLGRIND));
}

/* Runs the selected backends in table order, each with its daemon up. */
static void run_all(struct pp_run *run, const struct pp_opts *o)
{
	const struct pp_backend *sel[64];
	size_t n = 0;
	char why[200];

	for (size_t i = 0; i < pp_nbackends && n < 64; i++)
		if (selected(pp_backends[i]->name, o->only) && has_cases(pp_backends[i], o))
			sel[n++] = pp_backends[i];
	for (size_t i = 0; i < n && !pp_interrupted(); i++) {
		const struct pp_backend *be = sel[i];

		if (be->probe && be->probe(why, sizeof(why)))
			skip(run, be, why);
		else if (be->daemon && daemon_need(be->daemon, o->outdir, why, sizeof(why)))
			skip(run, be, why);
		else
			run_backend(run, be, o);
		if (be->daemon)
			daemon_release(be->daemon, sel, i + 1, n);
	}
	daemons_stop_all();
}

static int finish(struct pp_run *run, const struct pp_opts *o)
{
	char path[PATH_MAX];
	int err, failed = 0;

	pp_report_markdown(stdout, run, o);
	snprintf(path, sizeof(path), "%s/results.csv", o->outdir);
	if ((err = pp_report_csv(path, run)))
		fprintf(stderr, "%s: %s\n", path, strerror(-err));
	err = pp_report_plot(o->outdir, run);
	if (err == -ENOENT)
		fprintf(stderr, "gnuplot not found: no PNGs (apt-get install gnuplot-nox)\n");
	else if (err)
		fprintf(stderr, "plots: gnuplot failed: %s (see gnuplot.log)\n", strerror(-err));
	for (size_t i = 0; i < run->nrows; i++)
		failed |= run->rows[i].status == PP_FAILED;
	fprintf(stderr, "results: %s/results.csv%s\n", o->outdir,
		err ? "" : ", latency.png, size.png, concurrency.png");
	return pp_interrupted() ? 130 : failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static char outdir[PATH_MAX];
	struct pp_opts o = {
		.budget_s = 1.0, .min_iters = 20000, .max_iters = 200000, .warmup = 2000,
		.bounded_iters = 100, .tput_min = 100000, .tput_max = 20000000,
		.case_timeout_s = 60, .sweep_budget_s = 0.5, .sweep_min_iters = 2000,
		.slow_min_iters = 5000, .instr_calls = 10000, .parts = PP_PART_ALL,
	};
	int err;

	if (argc > 1 && !strcmp(argv[1], PP_INSTR_CHILD))
		return pp_instr_child_main(argc, argv);
	if (parse_opts(argc, argv, &o))
		return 2;
	if (!o.outdir) {
		default_outdir(outdir, sizeof(outdir));
		o.outdir = outdir;
	}
	if ((err = mkdir_p(o.outdir))) {
		fprintf(stderr, "%s: %s\n", o.outdir, strerror(-err));
		return 1;
	}
	pick_cpus(&o);
	if (o.cpu[1] < 0)
		fprintf(stderr, "only one CPU available: cross-core cases left out\n");
	pp_signals_block();
	atexit(daemons_stop_all);
	pp_sysinfo_begin(&g_run);
	g_run.timer_ns = pp_timer_overhead_ns();
	run_all(&g_run, &o);
	pp_sysinfo_end(&g_run);
	return finish(&g_run, &o);
}
