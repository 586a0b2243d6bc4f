/* harness.h - internals of msgport-bench shared by the harness's files
 * (bench.c, runner.c, peer.c, stats.c, results.c and the report_*.c).
 * Backends need only pingpong.h. */
#ifndef MSGPORT_BENCH_HARNESS_H
#define MSGPORT_BENCH_HARNESS_H

#include "pingpong.h"

#include <stdbool.h>
#include <stdio.h>

/* PP_RTT: round trips of one client (at any size); PP_TPUT: one-way
 * messages; PP_CONC: round trips of several clients of one server at once;
 * PP_INSTR: instructions per 64-byte call (or message), counted by callgrind. */
enum pp_metric { PP_RTT, PP_TPUT, PP_CONC, PP_INSTR, PP_NMETRIC };

/* The parts of a run (-p): each is a set of cases per backend. */
enum pp_part {
	PP_PART_LAT	= 1u << 0,	/* 64-byte round trips, both placements */
	PP_PART_TPUT	= 1u << 1,	/* one-way throughput */
	PP_PART_SIZE	= 1u << 2,	/* round trip by size (PP_SIZES backends) */
	PP_PART_CONC	= 1u << 3,	/* 1..32 clients (PP_MULTI backends) */
	PP_PART_INSTR	= 1u << 4,	/* instructions per call under callgrind (PP_CALLGRIND) */
	PP_PART_ALL	= 0x1f,
};

/* The sizes of the size sweep and the client counts, in run order. */
extern const size_t pp_sweep_sizes[];
extern const size_t pp_nsweep_sizes;
extern const unsigned pp_conc_clients[];
extern const size_t pp_nconc_clients;

struct pp_opts {
	const char *outdir;
	const char *only;	/* comma-separated case names, or NULL for all */
	double budget_s;	/* wanted time per case; sets the iteration count */
	uint64_t min_iters;	/* bounds on timed round trips */
	uint64_t max_iters;
	uint64_t warmup;	/* untimed round trips first */
	uint64_t bounded_iters;	/* for PP_SAME_BOUNDED cases */
	uint64_t tput_min, tput_max;	/* bounds on messages for throughput */
	double case_timeout_s;
	double sweep_budget_s;	/* time per case of the size sweep and concurrency parts */
	uint64_t sweep_min_iters;	/* fewest timed round trips there (all clients) */
	uint64_t slow_min_iters;	/* fewest for PP_SLOW backends */
	uint64_t instr_calls;	/* calls of the instr part's long run; the short one makes a tenth */
	unsigned parts;		/* enum pp_part */
	int cpu[2];		/* [0] client / both, [1] server when cross-core */
};

struct pp_lat {
	double p50, p99, min, mean, max;	/* ns */
};

enum pp_status { PP_OK, PP_FAILED, PP_SKIPPED };

struct pp_result {
	const struct pp_backend *be;
	enum pp_metric metric;
	enum pp_placement placement;
	size_t size;		/* bytes per message */
	unsigned nclients;	/* clients of the one server */
	enum pp_status status;
	char why[160];
	uint64_t n;		/* timed round trips (all clients together) or messages */
	struct pp_lat lat;	/* PP_RTT, PP_CONC */
	double rate;		/* PP_TPUT messages per second; PP_CONC calls per second */
	double instr[2];	/* PP_INSTR per call, [PP_SERVER] and [PP_CLIENT] */
	double instr_lib[2];	/* the same inside msgport's calls only; < 0: not counted */
};

struct pp_run {
	struct pp_result rows[256];
	size_t nrows;
	char skipped[32][256];	/* backends left out, with the reason */
	size_t nskipped;
	double timer_ns;	/* cost of one timestamp pair, included in samples */
	char date[64];
	char host[512];
	double others_pct;	/* CPU time used by other processes during the run */
	double steal_pct;	/* CPU time the hypervisor took away */
	unsigned long long busy0, steal0, total0;	/* /proc/stat at the start */
	double ours0;		/* our own CPU ticks at the start */
};

/* runner.c */
void pp_signals_block(void);
bool pp_interrupted(void);
bool pp_is_harness(void);	/* false in a forked child */
void pp_run_case(const struct pp_opts *o, struct pp_result *r);
int pp_reap_one(pid_t pid, int *status, double timeout_s);

/* instr.c: one case of the instr part (the parent's side), and the
 * program a run under callgrind executes (instr_child.c) */
void pp_instr_case(const struct pp_opts *o, struct pp_result *r);
int pp_instr_child_main(int argc, char **argv);
#define PP_INSTR_CHILD "--instr-child"	/* argv[1] of that program */

/* sysinfo.c */
void pp_sysinfo_begin(struct pp_run *run);
void pp_sysinfo_end(struct pp_run *run);

/* stats.c */
void pp_stats(uint64_t *samples, uint64_t n, struct pp_lat *out);
double pp_timer_overhead_ns(void);

/* results.c: finding rows, baselines and peers in a run */
const char *pp_place_name(enum pp_placement pl);
const struct pp_result *pp_find(const struct pp_run *run, const struct pp_backend *be,
				enum pp_metric m, enum pp_placement pl, size_t size,
				unsigned nclients);
const struct pp_result *pp_find_named(const struct pp_run *run, const char *name,
				      enum pp_metric m, enum pp_placement pl);
const struct pp_result *pp_primary_base(const struct pp_run *run, const struct pp_result *r);
const struct pp_result *pp_futex_base(const struct pp_run *run, enum pp_placement pl);
const char *pp_primary_base_name(const struct pp_result *r);
const struct pp_result *pp_peer_row(const struct pp_run *run, const struct pp_backend *peer,
				    const struct pp_result *r);
size_t pp_peers(const struct pp_run *run, const struct pp_backend **out, size_t max);
bool pp_has_subject(const struct pp_run *run, enum pp_metric m);
double pp_value(const struct pp_result *r);	/* p50 or rate: what ratios divide */

/* fmt.c: numbers for the table */
const char *pp_fmt_time(char *buf, size_t len, double ns);
const char *pp_fmt_ratio(char *buf, size_t len, double v, double base);
const char *pp_fmt_rate(char *buf, size_t len, double r);
const char *pp_fmt_size(char *buf, size_t len, size_t bytes);

/* report.c: the markdown report (baseline tables, then the others) */
void pp_report_markdown(FILE *f, const struct pp_run *run, const struct pp_opts *o);
/* report_instr.c: instructions per call, msgport next to the SPSC ring */
void pp_report_instr(FILE *f, const struct pp_run *run);
/* report_msgport.c: msgport against its peers, by size, by client count */
void pp_report_peers(FILE *f, const struct pp_run *run);
void pp_report_sizes(FILE *f, const struct pp_run *run);
void pp_report_conc(FILE *f, const struct pp_run *run);
/* targets.c: issue 10's targets (and issue 3's it keeps), met or missed */
void pp_report_targets(FILE *f, const struct pp_run *run);
/* csv.c */
int pp_report_csv(const char *path, const struct pp_run *run);
/* plot.c: latency.png, size.png, concurrency.png */
int pp_report_plot(const char *outdir, const struct pp_run *run);

#endif
