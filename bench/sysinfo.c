/* sysinfo.c - what the run was measured on, and how much else the machine
 * was doing meanwhile: other processes and hypervisor steal move every
 * absolute figure, so the report says how much of both there was. */
#include "harness.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon + 2);
		break;
	}
	if (f)
		fclose(f);
}

/* All CPUs together, in clock ticks, from the first line of /proc/stat. */
static int read_cpu_ticks(unsigned long long *busy, unsigned long long *steal,
			  unsigned long long *total)
{
	unsigned long long v[8] = { 0 };	/* user nice system idle iowait irq softirq steal */
	FILE *f = fopen("/proc/stat", "r");
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;

	if (f)
		fclose(f);
	if (n != 8)
		return -1;
	*busy = v[0] + v[1] + v[2] + v[5] + v[6];
	*steal = v[7];
	*total = *busy + v[3] + v[4] + v[7];
	return 0;
}

/* CPU ticks used by the harness and every child it has reaped. */
static double our_ticks(void)
{
	struct rusage self, kids;
	double s;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	s = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
		     kids.ru_stime.tv_sec) +
	    (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
		     kids.ru_stime.tv_usec) / 1e6;
	return s * (double)sysconf(_SC_CLK_TCK);
}

void pp_sysinfo_begin(struct pp_run *run)
{
	struct utsname u;
	time_t now = time(NULL);
	char model[96];

	strftime(run->date, sizeof(run->date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	cpu_model(model, sizeof(model));
	uname(&u);
	snprintf(run->host, sizeof(run->host), "%s (%s, %ld CPUs online, Linux %s)",
		 u.nodename, model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
	run->others_pct = run->steal_pct = -1;
	if (read_cpu_ticks(&run->busy0, &run->steal0, &run->total0) == 0)
		run->ours0 = our_ticks();
	else
		run->total0 = 0;
}

void pp_sysinfo_end(struct pp_run *run)
{
	unsigned long long busy, steal, total;
	double others;

	if (!run->total0 || read_cpu_ticks(&busy, &steal, &total) || total <= run->total0)
		return;
	others = (double)(busy - run->busy0) - (our_ticks() - run->ours0);
	run->others_pct = others > 0 ? 100 * others / (double)(total - run->total0) : 0;
	run->steal_pct = 100 * (double)(steal - run->steal0) / (double)(total - run->total0);
}
