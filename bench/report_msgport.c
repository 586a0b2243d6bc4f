/* report_msgport.c - the tables about the cases under test (PP_SUBJECT):
 * each 64-byte figure against its raw limit and every peer, round trip by
 * message size, and several clients of one server. */
#include "harness.h"

#define MAX_PEERS 16

/* A case's row whatever its status, so that a failure shows where the
 * figure would have been. */
static const struct pp_result *find_any(const struct pp_run *run, const struct pp_backend *be,
					enum pp_metric m, enum pp_placement pl, size_t size,
					unsigned nclients)
{
	for (size_t i = 0; i < run->nrows; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->be == be && r->metric == m && r->placement == pl && r->size == size &&
		    r->nclients == nclients)
			return r;
	}
	return NULL;
}

/* The peers that have a 64-byte result for metric m. */
static size_t peers_with(const struct pp_run *run, enum pp_metric m,
			 const struct pp_backend **out)
{
	const struct pp_backend *all[MAX_PEERS];
	size_t n = pp_peers(run, all, MAX_PEERS), k = 0;

	for (size_t i = 0; i < n; i++)
		if (pp_find(run, all[i], m, PP_CROSS, PP_MSG_SIZE, 1) ||
		    pp_find(run, all[i], m, PP_SAME, PP_MSG_SIZE, 1))
			out[k++] = all[i];
	return k;
}

static bool is_subject_row(const struct pp_result *r, enum pp_metric m, enum pp_placement pl)
{
	return (r->be->flags & PP_SUBJECT) && r->metric == m && r->placement == pl &&
	       r->size == PP_MSG_SIZE && r->nclients == 1;
}

/* ---- against the peers ---- */

static void peers_header(FILE *f, enum pp_metric m, const struct pp_backend **peer, size_t n)
{
	fprintf(f, "| case | placement | %s | ÷ raw limit |", m == PP_TPUT ? "messages/s" : "p50");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " ÷ %s |", peer[i]->name);
	fprintf(f, "\n|---|---|--:|--:|");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "--:|");
	fprintf(f, "\n");
}

static void peers_row(FILE *f, const struct pp_run *run, const struct pp_result *r,
		      const struct pp_backend **peer, size_t n)
{
	const struct pp_result *b = pp_primary_base(run, r);
	char v[32], x[32];

	fprintf(f, "| %s | %s | ", r->be->name, pp_place_name(r->placement));
	if (r->status != PP_OK) {
		fprintf(f, "failed: %s | |", r->why);
		for (size_t i = 0; i < n; i++)
			fprintf(f, " |");
		fprintf(f, "\n");
		return;
	}
	if (r->metric == PP_TPUT)
		pp_fmt_rate(v, sizeof(v), r->rate);
	else
		pp_fmt_time(v, sizeof(v), r->lat.p50);
	fprintf(f, "%s | %s (%s) |", v, pp_fmt_ratio(x, sizeof(x), pp_value(r), b ? pp_value(b) : 0),
		pp_primary_base_name(r));
	for (size_t i = 0; i < n; i++) {
		const struct pp_result *p = pp_peer_row(run, peer[i], r);

		fprintf(f, " %s |", pp_fmt_ratio(x, sizeof(x), pp_value(r), p ? pp_value(p) : 0));
	}
	fprintf(f, "\n");
}

static void peers_table(FILE *f, const struct pp_run *run, enum pp_metric m)
{
	const struct pp_backend *peer[MAX_PEERS];
	size_t n = peers_with(run, m, peer);

	if (m == PP_TPUT)
		fprintf(f, "### msgport against its peers: one-way %d-byte throughput\n\n"
			   "Above 1 is faster than the peer.\n\n", PP_MSG_SIZE);
	else
		fprintf(f, "### msgport against its peers: %d-byte call, p50\n\n"
			   "Below 1 is faster than the peer. The raw limit is spin cross-core, "
			   "yield on one core, futex for the blocking rows.\n\n", PP_MSG_SIZE);
	peers_header(f, m, peer, n);
	for (int pl = 0; pl < PP_NPLACE; pl++)
		for (size_t i = 0; i < run->nrows; i++)
			if (is_subject_row(&run->rows[i], m, pl))
				peers_row(f, run, &run->rows[i], peer, n);
	fprintf(f, "\n");
}

void pp_report_peers(FILE *f, const struct pp_run *run)
{
	if (pp_has_subject(run, PP_RTT))
		peers_table(f, run, PP_RTT);
	if (pp_has_subject(run, PP_TPUT))
		peers_table(f, run, PP_TPUT);
}

/* ---- by size ---- */

/* The backends with a size-sweep result beyond 64 bytes, in run order. */
static size_t sized_backends(const struct pp_run *run, const struct pp_backend **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < run->nrows && n < max; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->metric == PP_RTT && r->size != PP_MSG_SIZE && (!n || out[n - 1] != r->be))
			out[n++] = r->be;
	}
	return n;
}

static void sizes_header(FILE *f, const char *first)
{
	char s[32];

	fprintf(f, "| %s |", first);
	for (size_t i = 0; i < pp_nsweep_sizes; i++)
		fprintf(f, " %s |", pp_fmt_size(s, sizeof(s), pp_sweep_sizes[i]));
	fprintf(f, "\n|---|");
	for (size_t i = 0; i < pp_nsweep_sizes; i++)
		fprintf(f, "--:|");
	fprintf(f, "\n");
}

/* One cell: p50 (and p99), or the peer ratio when peer is given. */
static void size_cell(FILE *f, const struct pp_run *run, const struct pp_backend *be,
		      size_t size, const struct pp_backend *peer)
{
	const struct pp_result *r = find_any(run, be, PP_RTT, PP_CROSS, size, 1), *p;
	char a[32], b[32];

	if (!r)
		fprintf(f, " – |");
	else if (r->status != PP_OK)
		fprintf(f, " failed |");
	else if (!peer)
		fprintf(f, " %s / %s |", pp_fmt_time(a, sizeof(a), r->lat.p50),
			pp_fmt_time(b, sizeof(b), r->lat.p99));
	else {
		p = pp_find(run, peer, PP_RTT, PP_CROSS, size, 1);
		fprintf(f, " %s |", pp_fmt_ratio(a, sizeof(a), r->lat.p50, p ? p->lat.p50 : 0));
	}
}

static void sizes_ratio_table(FILE *f, const struct pp_run *run, const struct pp_backend **be,
			      size_t n, const struct pp_backend *peer)
{
	fprintf(f, "p50 ÷ %s at the same size (below 1 is faster):\n\n", peer->name);
	sizes_header(f, "case");
	for (size_t i = 0; i < n; i++) {
		if (!(be[i]->flags & PP_SUBJECT))
			continue;
		fprintf(f, "| %s |", be[i]->name);
		for (size_t k = 0; k < pp_nsweep_sizes; k++)
			size_cell(f, run, be[i], pp_sweep_sizes[k], peer);
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
}

void pp_report_sizes(FILE *f, const struct pp_run *run)
{
	const struct pp_backend *be[64];
	size_t n = sized_backends(run, be, 64);

	if (!n)
		return;
	fprintf(f, "### Round trip by message size, cross-core, p50 / p99\n\n");
	fprintf(f, "The request and the reply both carry the size given.\n\n");
	sizes_header(f, "case");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "| %s |", be[i]->name);
		for (size_t k = 0; k < pp_nsweep_sizes; k++)
			size_cell(f, run, be[i], pp_sweep_sizes[k], NULL);
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
	for (size_t i = 0; i < n; i++)
		if (be[i]->flags & PP_PEER)
			sizes_ratio_table(f, run, be, n, be[i]);
}

/* ---- several clients ---- */

static void conc_row(FILE *f, const struct pp_result *r, const struct pp_result *one)
{
	char rate[32], x[32], p50[32], p99[32];

	if (r->status != PP_OK) {
		fprintf(f, "| %s | %u | failed | | | | | %s |\n", r->be->name, r->nclients, r->why);
		return;
	}
	fprintf(f, "| %s | %u | %s | %s | %s | %s | %llu | |\n", r->be->name, r->nclients,
		pp_fmt_rate(rate, sizeof(rate), r->rate),
		pp_fmt_ratio(x, sizeof(x), r->rate, one ? one->rate : 0),
		pp_fmt_time(p50, sizeof(p50), r->lat.p50), pp_fmt_time(p99, sizeof(p99), r->lat.p99),
		(unsigned long long)r->n);
}

void pp_report_conc(FILE *f, const struct pp_run *run)
{
	if (!pp_has_subject(run, PP_CONC))
		return;
	fprintf(f, "### Several clients, one server (server alone on one CPU, the clients "
		   "sharing the other), %d-byte calls\n\n", PP_MSG_SIZE);
	fprintf(f, "calls/s counts every client's calls, from the first timed call to the "
		   "last; p50 and p99 are over all of them.\n\n");
	fprintf(f, "| case | clients | calls/s | ÷ 1 client | p50 | p99 | calls | failure |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < run->nrows; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->metric == PP_CONC)
			conc_row(f, r, pp_find(run, r->be, PP_CONC, r->placement, r->size, 1));
	}
	fprintf(f, "\n");
}
