/* targets.c - issue 3's targets, judged on this run: each is a ratio of
 * medians (or of rates) measured side by side, held to a limit. */
#include "harness.h"


#define DEFAULT_TRANSPORT "msgport-hybrid"	/* what a client gets unless told */

struct target {
	const char *what;
	const char *subject;		/* the msgport case */
	enum pp_metric metric;
	enum pp_placement placement;
	const char *base[2];		/* what it is divided by: the stricter of these */
	double limit;
	bool at_least;			/* ratio >= limit (throughput), else <= limit */
};

static const struct target targets[] = {
	{ "64-byte call, cross-core, default transport vs raw spin", DEFAULT_TRANSPORT,
	  PP_RTT, PP_CROSS, { "spin" }, 2.0, false },
	{ "64-byte call, cross-core, default transport vs iceoryx request/response",
	  DEFAULT_TRANSPORT, PP_RTT, PP_CROSS, { "iceoryx-poll" }, 0.25, false },
	{ "64-byte call, same CPU vs raw yield hand-off", DEFAULT_TRANSPORT,
	  PP_RTT, PP_SAME, { "yield" }, 1.2, false },
	{ "64-byte call, same CPU vs Unix socket", DEFAULT_TRANSPORT,
	  PP_RTT, PP_SAME, { "unix-stream", "unix-seqpacket" }, 0.5, false },
	{ "blocking mode, cross-core vs raw futex", DEFAULT_TRANSPORT "-block",
	  PP_RTT, PP_CROSS, { "futex" }, 1.1, false },
	{ "one-way 64-byte throughput, cross-core vs raw SPSC ring", DEFAULT_TRANSPORT,
	  PP_TPUT, PP_CROSS, { "spsc-ring" }, 0.7, true },
	{ "one-way 64-byte throughput, cross-core vs Unix socket", DEFAULT_TRANSPORT,
	  PP_TPUT, PP_CROSS, { "unix-stream", "unix-seqpacket" }, 20, true },
	{ "sock transport, 64-byte call, cross-core vs raw seqpacket", "msgport-sock",
	  PP_RTT, PP_CROSS, { "unix-seqpacket" }, 1.3, false },
};

/* The stricter base: the faster of the candidates that were measured. */
static const struct pp_result *pick_base(const struct pp_run *run, const struct target *t)
{
	const struct pp_result *best = NULL;

	for (int i = 0; i < 2 && t->base[i]; i++) {
		const struct pp_result *b = pp_find_named(run, t->base[i], t->metric, t->placement);

		if (b && (!best || (t->metric == PP_TPUT ? b->rate > best->rate :
				    b->lat.p50 < best->lat.p50)))
			best = b;
	}
	return best;
}

static const char *fmt_value(char *buf, size_t len, const struct pp_result *r)
{
	return r->metric == PP_TPUT ? pp_fmt_rate(buf, len, r->rate) :
				      pp_fmt_time(buf, len, r->lat.p50);
}

static void target_row(FILE *f, const struct pp_run *run, const struct target *t)
{
	const struct pp_result *s = pp_find_named(run, t->subject, t->metric, t->placement);
	const struct pp_result *b = pick_base(run, t);
	char sv[32], bv[32], x[32];
	double ratio;
	bool met;

	fprintf(f, "| %s | %s %.2f× | ", t->what, t->at_least ? "≥" : "≤", t->limit);
	if (!s || !b) {
		fprintf(f, "%s %s | %s %s | – | not measured |\n", t->subject,
			s ? fmt_value(sv, sizeof(sv), s) : "–", b ? b->be->name : t->base[0],
			b ? fmt_value(bv, sizeof(bv), b) : "–");
		return;
	}
	ratio = pp_value(s) / pp_value(b);
	met = t->at_least ? ratio >= t->limit : ratio <= t->limit;
	snprintf(x, sizeof(x), "%.3g", ratio);	/* three digits: 0.248 is not 0.25 */
	fprintf(f, "%s %s | %s %s | %s | **%s** |\n", t->subject, fmt_value(sv, sizeof(sv), s),
		b->be->name, fmt_value(bv, sizeof(bv), b), x, met ? "met" : "missed");
}

void pp_report_targets(FILE *f, const struct pp_run *run)
{
	if (!pp_has_subject(run, PP_RTT) && !pp_has_subject(run, PP_TPUT))
		return;
	fprintf(f, "### Targets (issue 3), judged on this run\n\n");
	fprintf(f, "The default transport is hybrid. Where two peers are named, the faster of "
		   "the two in this run is used (the stricter test).\n\n");
	fprintf(f, "| target | limit | msgport | divided by | ratio | verdict |\n");
	fprintf(f, "|---|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		target_row(f, run, &targets[i]);
	fprintf(f, "\n");
}
