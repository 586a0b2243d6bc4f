/* csv.c - every figure of the run, one per line:
 *
 *   case,placement,metric,value,unit,n,baseline,ratio,ratio_futex,
 *   size,clients,ratio_<peer>...
 *
 * The metrics are rtt_p50/p99/min/mean/max (ns) for one client,
 * throughput (msg/s), conc_p50/p99/min/mean/max (ns) and conc_calls
 * (calls/s, all clients) for several clients of one server, and
 * instr_server and instr_client (instr/call, the instr part). `ratio`
 * divides by the same metric of `baseline`, the row's raw limit (64-byte
 * rows only); `ratio_futex` by the raw futex; `ratio_<peer>` by the same
 * metric of that peer at the same size and client count. The peer columns
 * are fixed (every PP_PEER backend), empty where there is no such figure. */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define MAX_PEERS 16

struct csv {
	FILE *f;
	const struct pp_run *run;
	const struct pp_backend *peer[MAX_PEERS];	/* the ratio_<peer> columns */
	size_t npeers;
};

/* Field k of a row: p50, p99, min, mean, max, rate, server and client
 * instructions, the same inside the library only. */
static double field(const struct pp_result *r, int k)
{
	const double v[10] = { r->lat.p50, r->lat.p99, r->lat.min, r->lat.mean, r->lat.max,
			       r->rate, r->instr[PP_SERVER], r->instr[PP_CLIENT],
			       r->instr_lib[PP_SERVER], r->instr_lib[PP_CLIENT] };

	return v[k];
}

static void ratio(FILE *f, double v, double base)
{
	fprintf(f, ",");
	if (base > 0)
		fprintf(f, "%.4f", v / base);
}

static void line(struct csv *c, const struct pp_result *r, const char *metric, int k,
		 const char *unit)
{
	const struct pp_result *b = pp_primary_base(c->run, r);
	const struct pp_result *fx = r->metric == PP_RTT && r->size == PP_MSG_SIZE ?
		pp_futex_base(c->run, r->placement) : NULL;
	double v = field(r, k);

	fprintf(c->f, "%s,%s,%s,%.1f,%s,%llu,%s", r->be->name, pp_place_name(r->placement),
		metric, v, unit, (unsigned long long)r->n, b ? b->be->name : "");
	ratio(c->f, v, b ? field(b, k) : 0);
	ratio(c->f, v, fx ? field(fx, k) : 0);
	fprintf(c->f, ",%zu,%u", r->size, r->nclients);
	for (size_t i = 0; i < c->npeers; i++) {
		const struct pp_result *p = pp_peer_row(c->run, c->peer[i], r);

		ratio(c->f, v, p && p != r ? field(p, k) : 0);
	}
	fprintf(c->f, "\n");
}

static void row(struct csv *c, const struct pp_result *r)
{
	static const char *const lat[5] = { "p50", "p99", "min", "mean", "max" };
	char metric[32];

	if (r->metric == PP_TPUT) {
		line(c, r, "throughput", 5, "msg/s");
		return;
	}
	if (r->metric == PP_INSTR) {
		line(c, r, "instr_server", 6, "instr/call");
		line(c, r, "instr_client", 7, "instr/call");
		if (r->instr_lib[PP_SERVER] >= 0) {	/* msgport's cases only */
			line(c, r, "instr_server_lib", 8, "instr/call");
			line(c, r, "instr_client_lib", 9, "instr/call");
		}
		return;
	}
	for (int k = 0; k < 5; k++) {
		snprintf(metric, sizeof(metric), "%s_%s", r->metric == PP_CONC ? "conc" : "rtt",
			 lat[k]);
		line(c, r, metric, k, "ns");
	}
	if (r->metric == PP_CONC)
		line(c, r, "conc_calls", 5, "calls/s");
}

static void header(struct csv *c)
{
	fprintf(c->f, "case,placement,metric,value,unit,n,baseline,ratio,ratio_futex,size,clients");
	for (size_t i = 0; i < c->npeers; i++) {
		fprintf(c->f, ",ratio_");
		for (const char *p = c->peer[i]->name; *p; p++)
			fputc(*p == '-' ? '_' : *p, c->f);
	}
	fprintf(c->f, "\n");
}

int pp_report_csv(const char *path, const struct pp_run *run)
{
	struct csv c = { .f = fopen(path, "w"), .run = run };

	if (!c.f)
		return -errno;
	for (size_t i = 0; i < pp_nbackends && c.npeers < MAX_PEERS; i++)
		if (pp_backends[i]->flags & PP_PEER)
			c.peer[c.npeers++] = pp_backends[i];
	header(&c);
	fprintf(c.f, "timer,-,clock_gettime_pair,%.1f,ns,,,,,,", run->timer_ns);
	for (size_t i = 0; i < c.npeers; i++)
		fprintf(c.f, ",");
	fprintf(c.f, "\n");
	for (size_t i = 0; i < run->nrows; i++)
		if (run->rows[i].status == PP_OK)
			row(&c, &run->rows[i]);
	return fclose(c.f) ? -errno : 0;
}
