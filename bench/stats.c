/* stats.c - percentiles of round-trip samples, and the cost of the clock. */
#include "harness.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples: the smallest sample that at
 * least permille/1000 of all samples do not exceed. */
static double percentile(const uint64_t *sorted, uint64_t n, unsigned permille)
{
	uint64_t rank = (permille * n + 999) / 1000;	/* ceil, in integers */

	return (double)sorted[rank ? rank - 1 : 0];
}

void pp_stats(uint64_t *samples, uint64_t n, struct pp_lat *out)
{
	double sum = 0;

	*out = (struct pp_lat){ 0 };
	if (n == 0)
		return;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		sum += (double)samples[i];
	out->min = (double)samples[0];
	out->max = (double)samples[n - 1];
	out->mean = sum / (double)n;
	out->p50 = percentile(samples, n, 500);
	out->p99 = percentile(samples, n, 990);
}

/* Every sample includes one pair of clock reads; report what a pair costs
 * here so that the fastest rows can be read with that in mind. */
double pp_timer_overhead_ns(void)
{
	enum { N = 20001 };
	static uint64_t d[N];

	for (int i = 0; i < N; i++) {
		uint64_t a = pp_now_ns();

		d[i] = pp_now_ns() - a;
	}
	qsort(d, N, sizeof(d[0]), cmp_u64);
	return (double)d[N / 2];
}
