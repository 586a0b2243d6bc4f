/* report.c - the markdown report on stdout: the header, the 64-byte tables
 * of every case against the raw baselines, then msgport against its peers,
 * by size, by client count, and the targets. Every figure is also given as
 * a ratio to a baseline of the same run, because absolute times drift on
 * shared machines while side-by-side ratios hold. */
#include "harness.h"

static const char *note_of(const struct pp_result *r)
{
	const char *n = r->be->note[r->placement];

	return n ? n : "";
}

/* The 64-byte one-client rows of a metric and placement. */
static bool is_base_row(const struct pp_result *r, enum pp_metric m, enum pp_placement pl)
{
	return r->metric == m && r->placement == pl && r->size == PP_MSG_SIZE && r->nclients == 1;
}

static void md_header(FILE *f, const struct pp_run *run, const struct pp_opts *o)
{
	fprintf(f, "## msgport-bench\n\n");
	fprintf(f, "- run: %s on %s\n", run->date, run->host);
	if (run->others_pct >= 0)
		fprintf(f, "- machine during the run: other processes used %.0f%% of all CPU time, "
			   "hypervisor steal %.0f%%\n", run->others_pct, run->steal_pct);
	fprintf(f, "- message: %d bytes unless a table says otherwise; ", PP_MSG_SIZE);
	if (o->cpu[1] >= 0)
		fprintf(f, "cross-core: client(s) CPU %d, server CPU %d; ", o->cpu[0], o->cpu[1]);
	else
		fprintf(f, "cross-core: left out (one CPU); ");
	fprintf(f, "same-core: both on CPU %d\n", o->cpu[0]);
	fprintf(f, "- timer: clock_gettime(CLOCK_MONOTONIC); a pair of reads costs %.0f ns "
		   "and is included in every round trip\n", run->timer_ns);
	fprintf(f, "- ratios: figure ÷ baseline figure of this run (1.00 = the baseline)\n\n");
}

static void md_latency_row(FILE *f, const struct pp_run *run, const struct pp_result *r,
			   const struct pp_result *b)
{
	const struct pp_result *fx = pp_futex_base(run, r->placement);
	char p50[32], p99[32], r50[32], r99[32], rfx[32];

	if (r->status != PP_OK) {
		fprintf(f, "| %s | failed | | | | | | %s |\n", r->be->name, r->why);
		return;
	}
	fprintf(f, "| %s | %s | %s | %s | %s | %s | %llu | %s |\n", r->be->name,
		pp_fmt_time(p50, sizeof(p50), r->lat.p50), pp_fmt_time(p99, sizeof(p99), r->lat.p99),
		pp_fmt_ratio(r50, sizeof(r50), r->lat.p50, b ? b->lat.p50 : 0),
		pp_fmt_ratio(r99, sizeof(r99), r->lat.p99, b ? b->lat.p99 : 0),
		pp_fmt_ratio(rfx, sizeof(rfx), r->lat.p50, fx ? fx->lat.p50 : 0),
		(unsigned long long)r->n, note_of(r));
}

/* Every row divided by the same limit (spin cross-core, yield on one core)
 * and by futex, blocking rows included, so that the columns compare. */
static void md_latency(FILE *f, const struct pp_run *run, enum pp_placement pl,
		       const struct pp_opts *o)
{
	const char *base = pl == PP_CROSS ? "spin" : "yield";
	const struct pp_result *b = pp_find_named(run, base, PP_RTT, pl);

	if (pl == PP_CROSS)
		fprintf(f, "### Round trip, cross-core (CPU %d ↔ CPU %d)\n\n", o->cpu[0], o->cpu[1]);
	else
		fprintf(f, "### Round trip, same core (both on CPU %d)\n\n", o->cpu[0]);
	fprintf(f, "| case | p50 | p99 | p50 ÷ %s | p99 ÷ %s | p50 ÷ futex | round trips | mode |\n",
		base, base);
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < run->nrows; i++)
		if (is_base_row(&run->rows[i], PP_RTT, pl))
			md_latency_row(f, run, &run->rows[i], b);
	fprintf(f, "\n");
}

static void md_throughput_row(FILE *f, const struct pp_run *run, const struct pp_result *r)
{
	const struct pp_result *b = pp_primary_base(run, r);
	char rate[32], ratio[32];

	if (r->status != PP_OK) {
		fprintf(f, "| %s | %s | failed | | | %s |\n", r->be->name,
			pp_place_name(r->placement), r->why);
		return;
	}
	fprintf(f, "| %s | %s | %s | %s | %llu | %s |\n", r->be->name,
		pp_place_name(r->placement), pp_fmt_rate(rate, sizeof(rate), r->rate),
		pp_fmt_ratio(ratio, sizeof(ratio), r->rate, b ? b->rate : 0),
		(unsigned long long)r->n, note_of(r));
}

static void md_throughput(FILE *f, const struct pp_run *run)
{
	fprintf(f, "### One-way throughput, %d-byte messages\n\n", PP_MSG_SIZE);
	fprintf(f, "| case | placement | messages/s | ÷ spsc-ring | messages | mode |\n");
	fprintf(f, "|---|---|--:|--:|--:|---|\n");
	for (int pl = 0; pl < PP_NPLACE; pl++)
		for (size_t i = 0; i < run->nrows; i++)
			if (is_base_row(&run->rows[i], PP_TPUT, pl))
				md_throughput_row(f, run, &run->rows[i]);
	fprintf(f, "\n");
}

static bool any_row(const struct pp_run *run, enum pp_metric m, enum pp_placement pl)
{
	for (size_t i = 0; i < run->nrows; i++)
		if (is_base_row(&run->rows[i], m, pl))
			return true;
	return false;
}

/* Every failed case with its reason: the tables only say "failed". */
static void md_failures(FILE *f, const struct pp_run *run)
{
	bool any = false;
	char size[32];

	for (size_t i = 0; i < run->nrows; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->status != PP_FAILED)
			continue;
		if (!any)
			fprintf(f, "### Failed cases\n\n");
		any = true;
		pp_fmt_size(size, sizeof(size), r->size);
		if (r->metric == PP_CONC)
			fprintf(f, "- %s, %s, %u clients: %s\n", r->be->name,
				pp_place_name(r->placement), r->nclients, r->why);
		else if (r->metric == PP_INSTR)
			fprintf(f, "- %s, instructions per call: %s\n", r->be->name, r->why);
		else
			fprintf(f, "- %s, %s, %s %s: %s\n", r->be->name, pp_place_name(r->placement),
				r->metric == PP_TPUT ? "one-way" : "round trip", size, r->why);
	}
	if (any)
		fprintf(f, "\n");
}

void pp_report_markdown(FILE *f, const struct pp_run *run, const struct pp_opts *o)
{
	md_header(f, run, o);
	if (o->cpu[1] >= 0 && any_row(run, PP_RTT, PP_CROSS))
		md_latency(f, run, PP_CROSS, o);
	if (any_row(run, PP_RTT, PP_SAME))
		md_latency(f, run, PP_SAME, o);
	if (any_row(run, PP_TPUT, PP_CROSS) || any_row(run, PP_TPUT, PP_SAME))
		md_throughput(f, run);
	pp_report_peers(f, run);
	pp_report_sizes(f, run);
	pp_report_conc(f, run);
	pp_report_instr(f, run);
	pp_report_targets(f, run);
	md_failures(f, run);
	for (size_t i = 0; i < run->nskipped; i++)
		fprintf(f, "%s- left out: %s\n", i ? "" : "\n", run->skipped[i]);
	fflush(f);
}
