/* report_instr.c - the instr part's table: user-space instructions per
 * 64-byte call on each side, msgport's blocking rows next to the raw SPSC
 * ring's instructions per one-way message. */
#include "harness.h"

static void instr_row(FILE *f, const struct pp_result *r, const struct pp_result *ring)
{
	bool is_ring = r->be->flags & PP_BASE_RING;
	char xs[32], xc[32];

	char ls[32] = "–", lc[32] = "–";

	if (r->status != PP_OK) {
		fprintf(f, "| %s | %s | | | | | | | |\n", r->be->name,
			r->status == PP_SKIPPED ? r->why : "failed");
		return;
	}
	if (r->instr_lib[PP_SERVER] >= 0) {
		snprintf(ls, sizeof(ls), "%.0f", r->instr_lib[PP_SERVER]);
		snprintf(lc, sizeof(lc), "%.0f", r->instr_lib[PP_CLIENT]);
	}
	fprintf(f, "| %s | %.0f | %.0f | %s | %s | %s | %s | %llu | %s |\n", r->be->name,
		r->instr[PP_SERVER], r->instr[PP_CLIENT], ls, lc,
		pp_fmt_ratio(xs, sizeof(xs), r->instr[PP_SERVER], ring ? ring->instr[PP_SERVER] : 0),
		pp_fmt_ratio(xc, sizeof(xc), r->instr[PP_CLIENT], ring ? ring->instr[PP_CLIENT] : 0),
		(unsigned long long)r->n,
		is_ring ? "one-way messages: server = receiver, client = sender" : "MSGPORT_WAIT=block");
}

void pp_report_instr(FILE *f, const struct pp_run *run)
{
	const struct pp_result *ring = NULL;
	bool any = false;

	for (size_t i = 0; i < run->nrows; i++) {
		const struct pp_result *r = &run->rows[i];

		any |= r->metric == PP_INSTR;
		if (r->metric == PP_INSTR && r->status == PP_OK && (r->be->flags & PP_BASE_RING))
			ring = r;
	}
	if (!any)
		return;
	fprintf(f, "### Instructions per %d-byte call (callgrind)\n\n", PP_MSG_SIZE);
	fprintf(f, "User-space instructions of the server and of the client per call: callgrind's "
		   "total of a long run minus that of a run with a tenth of the calls, divided by "
		   "the difference in calls, so start-up and tear-down cancel out. msgport waits "
		   "with MSGPORT_WAIT=block, so no spinning is counted; the SPSC ring moves one-way "
		   "messages in batches it always has room for. \"In msgport\" counts only what runs "
		   "inside mp_send, mp_recv and mp_respond (callgrind --toggle-collect, callees "
		   "included): the same calls without the bench's own loop and message set-up. The "
		   "targets are judged on the whole program's figure.\n\n");
	fprintf(f, "| case | server instr/call | client instr/call | server in msgport | "
		   "client in msgport | server ÷ spsc-ring | client ÷ spsc-ring | calls counted | mode |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < run->nrows; i++)
		if (run->rows[i].metric == PP_INSTR)
			instr_row(f, &run->rows[i], ring);
	fprintf(f, "\n");
}
