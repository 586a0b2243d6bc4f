/* fmt.c - numbers as the markdown table shows them: times with a unit,
 * ratios with two or three significant digits, rates, sizes. */
#include "harness.h"

const char *pp_fmt_time(char *buf, size_t len, double ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.*f µs", ns < 1e4 ? 2 : 1, ns / 1e3);
	else
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	return buf;
}

/* "–" when there is nothing to divide by. */
const char *pp_fmt_ratio(char *buf, size_t len, double v, double base)
{
	double x = v / base;

	if (!(base > 0))
		snprintf(buf, len, "–");
	else
		snprintf(buf, len, "%.*f", x < 0.1 ? 3 : x < 10 ? 2 : x < 100 ? 1 : 0, x);
	return buf;
}

const char *pp_fmt_rate(char *buf, size_t len, double r)
{
	if (r >= 1e6)
		snprintf(buf, len, "%.2f M/s", r / 1e6);
	else
		snprintf(buf, len, "%.0f k/s", r / 1e3);
	return buf;
}

const char *pp_fmt_size(char *buf, size_t len, size_t bytes)
{
	if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(buf, len, "%zu KiB", bytes / 1024);
	else
		snprintf(buf, len, "%zu B", bytes);
	return buf;
}
