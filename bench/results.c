/* results.c - finding rows of a run: a case's result, the baseline a row
 * is divided by, and the peers a msgport row is compared with. Only rows
 * that succeeded are ever returned. */
#include "harness.h"

#include <string.h>

static const char *const place_name[PP_NPLACE] = { "cross-core", "same-core" };

const char *pp_place_name(enum pp_placement pl)
{
	return place_name[pl];
}

static bool row_is(const struct pp_result *r, enum pp_metric m, enum pp_placement pl,
		   size_t size, unsigned nclients)
{
	return r->status == PP_OK && r->metric == m && r->placement == pl && r->size == size &&
	       r->nclients == nclients;
}

const struct pp_result *pp_find(const struct pp_run *run, const struct pp_backend *be,
				enum pp_metric m, enum pp_placement pl, size_t size,
				unsigned nclients)
{
	for (size_t i = 0; i < run->nrows; i++)
		if (run->rows[i].be == be && row_is(&run->rows[i], m, pl, size, nclients))
			return &run->rows[i];
	return NULL;
}

/* The 64-byte, one-client row of the case called name. */
const struct pp_result *pp_find_named(const struct pp_run *run, const char *name,
				      enum pp_metric m, enum pp_placement pl)
{
	for (size_t i = 0; i < run->nrows; i++)
		if (!strcmp(run->rows[i].be->name, name) &&
		    row_is(&run->rows[i], m, pl, PP_MSG_SIZE, 1))
			return &run->rows[i];
	return NULL;
}

static const struct pp_result *find_base(const struct pp_run *run, unsigned flag,
					 enum pp_metric m, enum pp_placement pl)
{
	for (size_t i = 0; i < run->nrows; i++)
		if ((run->rows[i].be->flags & flag) && row_is(&run->rows[i], m, pl, PP_MSG_SIZE, 1))
			return &run->rows[i];
	return NULL;
}

/* The raw limit a row is held to: the SPSC ring for throughput and for
 * instructions; for round trips futex when the row blocks, else spin
 * cross-core and yield on one core. Only for 64-byte one-client rows:
 * there is no raw limit otherwise. */
static unsigned primary_flag(const struct pp_result *r)
{
	if (r->metric == PP_TPUT || r->metric == PP_INSTR)
		return PP_BASE_RING;
	if (r->be->flags & PP_BLOCKING)
		return PP_BASE_FUTEX;
	return r->placement == PP_CROSS ? PP_BASE_SPIN : PP_BASE_YIELD;
}

const struct pp_result *pp_primary_base(const struct pp_run *run, const struct pp_result *r)
{
	if (r->metric == PP_CONC || r->size != PP_MSG_SIZE)
		return NULL;
	return find_base(run, primary_flag(r), r->metric, r->placement);
}

const char *pp_primary_base_name(const struct pp_result *r)
{
	switch (primary_flag(r)) {
	case PP_BASE_RING: return "spsc-ring";
	case PP_BASE_FUTEX: return "futex";
	case PP_BASE_SPIN: return "spin";
	default: return "yield";
	}
}

const struct pp_result *pp_futex_base(const struct pp_run *run, enum pp_placement pl)
{
	return find_base(run, PP_BASE_FUTEX, PP_RTT, pl);
}

/* The same case (metric, placement, size, clients) measured on a peer. */
const struct pp_result *pp_peer_row(const struct pp_run *run, const struct pp_backend *peer,
				    const struct pp_result *r)
{
	return pp_find(run, peer, r->metric, r->placement, r->size, r->nclients);
}

/* The peers with at least one result, in run order. */
size_t pp_peers(const struct pp_run *run, const struct pp_backend **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < run->nrows && n < max; i++) {
		const struct pp_backend *be = run->rows[i].be;

		if (!(be->flags & PP_PEER) || run->rows[i].status != PP_OK ||
		    (n && out[n - 1] == be))
			continue;	/* a backend's rows are adjacent */
		out[n++] = be;
	}
	return n;
}

bool pp_has_subject(const struct pp_run *run, enum pp_metric m)
{
	for (size_t i = 0; i < run->nrows; i++)
		if ((run->rows[i].be->flags & PP_SUBJECT) && run->rows[i].metric == m)
			return true;
	return false;
}

double pp_value(const struct pp_result *r)
{
	return r->metric == PP_TPUT ? r->rate : r->lat.p50;
}
