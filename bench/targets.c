/* targets.c - issue 10's targets, judged on this run, then those of issue
 * 3 that issue 10 left in place. Each is a ratio of medians (or of rates)
 * measured side by side, held to a limit, or for instructions per call the
 * count itself, with the raw SPSC ring's beside it for scale. Issue 10's
 * long-data rows (1 MiB move ÷ the revoke floor, ordinary buffers ÷
 * memcpy) are judged by bench/pages/pages-bench, which measures them. */
#include "harness.h"

#include <string.h>

#define DEFAULT_TRANSPORT "msgport-hybrid"	/* what a client gets unless told */

struct target {
	const char *what;
	const char *subject;		/* the msgport case */
	enum pp_metric metric;
	enum pp_placement placement;
	unsigned clients;		/* the subject's clients (PP_CONC), else 1 */
	int side;			/* PP_INSTR: PP_SERVER or PP_CLIENT */
	const char *base[2];		/* divided by the stricter of these; none: the
					 * subject with one client */
	double limit;
	bool at_least;			/* figure >= limit (rates), else <= limit */
	bool count;			/* the figure is the subject's own, not a ratio */
};

static const struct target issue10[] = {
	{ "instructions per 64-byte call, server side (default transport, blocking)",
	  DEFAULT_TRANSPORT "-block", PP_INSTR, PP_CROSS, 1, PP_SERVER, { "spsc-ring" },
	  500, false, true },
	{ "instructions per 64-byte call, client side (default transport, blocking)",
	  DEFAULT_TRANSPORT "-block", PP_INSTR, PP_CROSS, 1, PP_CLIENT, { "spsc-ring" },
	  350, false, true },
	{ "64-byte call, cross-core, p50 ÷ raw spin", DEFAULT_TRANSPORT,
	  PP_RTT, PP_CROSS, 1, 0, { "spin" }, 1.5, false, false },
	{ "one-way 64-byte throughput, cross-core ÷ raw SPSC ring", DEFAULT_TRANSPORT,
	  PP_TPUT, PP_CROSS, 1, 0, { "spsc-ring" }, 0.5, true, false },
	{ "32 clients' calls/s ÷ 1 client's", DEFAULT_TRANSPORT,
	  PP_CONC, PP_CROSS, 32, 0, { NULL }, 0.9, true, false },
	{ "64-byte call, same CPU, p50 ÷ raw yield hand-off", DEFAULT_TRANSPORT,
	  PP_RTT, PP_SAME, 1, 0, { "yield" }, 1.2, false, false },
};

/* Issue 3's rows that issue 10 neither replaced nor made moot. */
static const struct target issue3[] = {
	{ "64-byte call, cross-core ÷ iceoryx request/response", DEFAULT_TRANSPORT,
	  PP_RTT, PP_CROSS, 1, 0, { "iceoryx-poll" }, 0.25, false, false },
	{ "64-byte call, same CPU ÷ Unix socket", DEFAULT_TRANSPORT,
	  PP_RTT, PP_SAME, 1, 0, { "unix-stream", "unix-seqpacket" }, 0.5, false, false },
	{ "blocking mode, cross-core ÷ raw futex", DEFAULT_TRANSPORT "-block",
	  PP_RTT, PP_CROSS, 1, 0, { "futex" }, 1.1, false, false },
	{ "sock transport, 64-byte call, cross-core ÷ raw seqpacket", "msgport-sock",
	  PP_RTT, PP_CROSS, 1, 0, { "unix-seqpacket" }, 1.3, false, false },
};

/* The 64-byte row of the case called name with that many clients. */
static const struct pp_result *find_row(const struct pp_run *run, const char *name,
					enum pp_metric m, enum pp_placement pl, unsigned clients)
{
	for (size_t i = 0; i < run->nrows; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->status == PP_OK && r->metric == m && r->placement == pl &&
		    r->size == PP_MSG_SIZE && r->nclients == clients && !strcmp(r->be->name, name))
			return r;
	}
	return NULL;
}

/* Why a case has no figure: its row, failed or left out, or none. */
static const char *why_missing(const struct pp_run *run, const struct target *t)
{
	for (size_t i = 0; i < run->nrows; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->status == PP_SKIPPED && r->metric == t->metric && !strcmp(r->be->name, t->subject))
			return r->why;
		if (r->status == PP_FAILED && r->metric == t->metric && !strcmp(r->be->name, t->subject))
			return "failed";
	}
	return "not measured";
}

/* What a target compares: instructions, a rate, or a p50. */
static double value(const struct target *t, const struct pp_result *r)
{
	if (t->metric == PP_INSTR)
		return r->instr[t->side];
	return t->metric == PP_TPUT || t->metric == PP_CONC ? r->rate : r->lat.p50;
}

/* The stricter base: the faster of the candidates that were measured. */
static const struct pp_result *pick_base(const struct pp_run *run, const struct target *t)
{
	const struct pp_result *best = NULL;
	bool rate = t->metric == PP_TPUT || t->metric == PP_CONC;

	if (!t->base[0])
		return find_row(run, t->subject, t->metric, t->placement, 1);
	for (int i = 0; i < 2 && t->base[i]; i++) {
		const struct pp_result *b = find_row(run, t->base[i], t->metric, t->placement, 1);

		if (b && (!best || (rate ? value(t, b) > value(t, best) : value(t, b) < value(t, best))))
			best = b;
	}
	return best;
}

static const char *fmt_value(char *buf, size_t len, const struct target *t,
			     const struct pp_result *r)
{
	if (!r)
		snprintf(buf, len, "–");
	else if (t->metric == PP_INSTR)
		snprintf(buf, len, "%.0f instr", value(t, r));
	else if (t->metric == PP_TPUT || t->metric == PP_CONC)
		pp_fmt_rate(buf, len, value(t, r));
	else
		pp_fmt_time(buf, len, value(t, r));
	return buf;
}

/* A case and its figure; several clients say how many. */
static void fmt_case(char *buf, size_t len, const struct target *t, const char *name,
		     const struct pp_result *r, unsigned clients)
{
	char v[32];

	fmt_value(v, sizeof(v), t, r);
	if (t->metric == PP_CONC)
		snprintf(buf, len, "%s, %u client%s, %s", name, clients, clients == 1 ? "" : "s", v);
	else
		snprintf(buf, len, "%s %s", name, v);
}

static void target_row(FILE *f, const struct pp_run *run, const struct target *t)
{
	const struct pp_result *s = find_row(run, t->subject, t->metric, t->placement, t->clients);
	const struct pp_result *b = pick_base(run, t);
	const char *bname = t->base[0] ? (b ? b->be->name : t->base[0]) : t->subject;
	char sv[96], bv[96], x[32];
	double fig;
	bool met;

	fmt_case(sv, sizeof(sv), t, t->subject, s, t->clients);
	fmt_case(bv, sizeof(bv), t, bname, b, 1);
	fprintf(f, "| %s | %s %g | %s | %s%s | ", t->what, t->at_least ? "≥" : "≤", t->limit, sv,
		bv, t->count ? " (beside it)" : "");
	if (!s || (!b && !t->count)) {
		fprintf(f, "– | %s |\n", s ? "not measured" : why_missing(run, t));
		return;
	}
	fig = t->count ? value(t, s) : value(t, s) / value(t, b);
	met = t->at_least ? fig >= t->limit : fig <= t->limit;
	snprintf(x, sizeof(x), t->count ? "%.0f" : "%.3g", fig);	/* 0.248 is not 0.25 */
	fprintf(f, "%s | **%s** |\n", x, met ? "met" : "missed");
}

static void targets_table(FILE *f, const struct pp_run *run, const struct target *t, size_t n)
{
	fprintf(f, "| target | limit | msgport | against | figure | verdict |\n");
	fprintf(f, "|---|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < n; i++)
		target_row(f, run, &t[i]);
	fprintf(f, "\n");
}

void pp_report_targets(FILE *f, const struct pp_run *run)
{
	if (!pp_has_subject(run, PP_RTT) && !pp_has_subject(run, PP_TPUT) &&
	    !pp_has_subject(run, PP_CONC) && !pp_has_subject(run, PP_INSTR))
		return;
	fprintf(f, "### Targets (issue 10), judged on this run\n\n");
	fprintf(f, "The default transport is hybrid. The figure is the msgport figure divided by "
		   "the one against it, except for instructions, where it is the count itself "
		   "(the SPSC ring's per message beside it). The long-data targets (1 MiB move ÷ "
		   "revoke floor, ordinary buffers ÷ memcpy) are in pages-bench's table.\n\n");
	targets_table(f, run, issue10, sizeof(issue10) / sizeof(issue10[0]));
	fprintf(f, "#### Earlier targets (issue 3) that issue 10 does not replace\n\n");
	fprintf(f, "Where two peers are named, the faster of the two in this run is used "
		   "(the stricter test).\n\n");
	targets_table(f, run, issue3, sizeof(issue3) / sizeof(issue3[0]));
}
