/* plot.c - the charts, drawn by gnuplot from data files written next to them:
 *
 *   latency.png      64-byte round trip p50 of every case, cross-core next
 *                    to same-core, bars on a log scale (latency.dat);
 *   size.png         round trip p50 by message size, log-log (size.dat);
 *   concurrency.png  calls/s and p50 by number of clients (concurrency.dat).
 *
 * plots.gp is the script; gnuplot.log what gnuplot said. A chart with no
 * data in this run is not drawn, and one from an earlier run is removed. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SERIES 64

struct plot_files {
	const char *dir;
	const struct pp_run *run;
	FILE *gp;		/* the script being written */
};

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* The backends with a row matching keep(), in run order. */
static size_t series(const struct pp_run *run, bool (*keep)(const struct pp_result *),
		     const struct pp_backend **out)
{
	size_t n = 0;

	for (size_t i = 0; i < run->nrows && n < MAX_SERIES; i++) {
		const struct pp_result *r = &run->rows[i];

		if (r->status == PP_OK && keep(r) && (!n || out[n - 1] != r->be))
			out[n++] = r->be;
	}
	return n;
}

static void terminal(FILE *gp, const char *png, int w, int h)
{
	fprintf(gp, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		    "  set terminal pngcairo size %d,%d noenhanced\n"
		    "} else {\n"
		    "  set terminal png size %d,%d noenhanced\n"
		    "}\n", w, h, w, h);
	fprintf(gp, "reset\nset output '%s'\n", png);
}

/* ---- latency.png ---- */

static bool is_rtt64(const struct pp_result *r)
{
	return r->metric == PP_RTT && r->size == PP_MSG_SIZE;
}

static int latency_data(const char *path, const struct pp_run *run)
{
	const struct pp_backend *be[MAX_SERIES];
	size_t n = series(run, is_rtt64, be);
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "# case cross_core_p50_us same_core_p50_us\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s", be[i]->name);
		for (int pl = 0; pl < PP_NPLACE; pl++) {
			const struct pp_result *r = pp_find(run, be[i], PP_RTT, pl, PP_MSG_SIZE, 1);

			if (r)
				fprintf(f, " %.4f", r->lat.p50 / 1e3);
			else
				fprintf(f, " -");
		}
		fprintf(f, "\n");
	}
	return fclose(f) ? -errno : (int)n;
}

static int latency_plot(struct plot_files *p)
{
	char dat[4096], png[4096];
	int n;

	path_in(dat, sizeof(dat), p->dir, "latency.dat");
	path_in(png, sizeof(png), p->dir, "latency.png");
	if ((n = latency_data(dat, p->run)) <= 0)
		return n;
	terminal(p->gp, png, 1300, 650);
	fprintf(p->gp, "set title 'msgport-bench: 64-byte round trip, p50 (%s)'\n", p->run->date);
	fprintf(p->gp, "set datafile missing '-'\n"
		       "set style data histograms\n"
		       "set style histogram clustered gap 1\n"
		       "set style fill solid 0.8 border -1\n"
		       "set logscale y\n"
		       "set grid ytics\n"
		       "set ylabel 'round trip p50 (us, log scale)'\n"
		       "set xtics rotate by -35 nomirror\n"
		       "set bmargin 9\n"
		       "set rmargin 14\n"
		       "set key outside top center horizontal\n");
	fprintf(p->gp, "plot '%s' using 2:xtic(1) title 'cross-core', '' using 3 title 'same core'\n",
		dat);
	return 0;
}

/* ---- size.png ---- */

static bool is_sized(const struct pp_result *r)
{
	return r->metric == PP_RTT && r->placement == PP_CROSS && r->size != PP_MSG_SIZE;
}

/* A column per backend, a line per size; the first line names the columns. */
static int size_data(const char *path, const struct pp_run *run)
{
	const struct pp_backend *be[MAX_SERIES];
	size_t n = series(run, is_sized, be);
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "bytes");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s", be[i]->name);
	fprintf(f, "\n");
	for (size_t k = 0; k < pp_nsweep_sizes; k++) {
		fprintf(f, "%zu", pp_sweep_sizes[k]);
		for (size_t i = 0; i < n; i++) {
			const struct pp_result *r = pp_find(run, be[i], PP_RTT, PP_CROSS,
							    pp_sweep_sizes[k], 1);
			if (r)
				fprintf(f, " %.4f", r->lat.p50 / 1e3);
			else
				fprintf(f, " -");
		}
		fprintf(f, "\n");
	}
	return fclose(f) ? -errno : (int)n;
}

static int size_plot(struct plot_files *p)
{
	char dat[4096], png[4096];
	int n;

	path_in(dat, sizeof(dat), p->dir, "size.dat");
	path_in(png, sizeof(png), p->dir, "size.png");
	if ((n = size_data(dat, p->run)) <= 0)
		return n;
	terminal(p->gp, png, 1000, 650);
	fprintf(p->gp, "set title 'msgport-bench: round trip by message size, cross-core, p50 (%s)'\n",
		p->run->date);
	fprintf(p->gp, "set datafile missing '-'\n"
		       "set logscale xy 2\n"
		       "set xrange [48:90000]\n"
		       "set format y '%%g'\n"
		       "set xtics ('64 B' 64, '256 B' 256, '1 KiB' 1024, '4 KiB' 4096, "
		       "'16 KiB' 16384, '64 KiB' 65536)\n"
		       "set grid xtics ytics\n"
		       "set xlabel 'message size (request and reply, log scale)'\n"
		       "set ylabel 'round trip p50 (us, log scale)'\n"
		       "set key bottom right\n");
	fprintf(p->gp, "plot for [i=2:%d] '%s' using 1:i with linespoints lw 2 title columnheader(i)\n",
		n + 1, dat);
	return 0;
}

/* ---- concurrency.png ---- */

static bool is_conc(const struct pp_result *r)
{
	return r->metric == PP_CONC;
}

/* Per client count: calls/s (thousands) and p50 (us) of each backend; both
 * columns are headed by its name, for the key. */
static int conc_data(const char *path, const struct pp_run *run)
{
	const struct pp_backend *be[MAX_SERIES];
	size_t n = series(run, is_conc, be);
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "clients");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s %s", be[i]->name, be[i]->name);	/* kcalls/s, p50 us */
	fprintf(f, "\n");
	for (size_t k = 0; k < pp_nconc_clients; k++) {
		fprintf(f, "%u", pp_conc_clients[k]);
		for (size_t i = 0; i < n; i++) {
			const struct pp_result *r = pp_find(run, be[i], PP_CONC, PP_CROSS,
							    PP_MSG_SIZE, pp_conc_clients[k]);
			if (r)
				fprintf(f, " %.3f %.4f", r->rate / 1e3, r->lat.p50 / 1e3);
			else
				fprintf(f, " - -");
		}
		fprintf(f, "\n");
	}
	return fclose(f) ? -errno : (int)n;
}

static int conc_plot(struct plot_files *p)
{
	char dat[4096], png[4096];
	int n;

	path_in(dat, sizeof(dat), p->dir, "concurrency.dat");
	path_in(png, sizeof(png), p->dir, "concurrency.png");
	if ((n = conc_data(dat, p->run)) <= 0)
		return n;
	terminal(p->gp, png, 1300, 550);
	fprintf(p->gp, "set datafile missing '-'\n"
		       "set logscale x 2\n"
		       "set logscale y\n"
		       "set xrange [0.8:40]\n"
		       "set xtics (1, 2, 8, 32)\n"
		       "set format y '%%g'\n"
		       "set grid xtics ytics\n"
		       "set xlabel 'concurrent clients (one server)'\n"
		       "set key top left\n"
		       "set multiplot layout 1,2 title 'msgport-bench: several clients, 64-byte calls (%s)'\n",
		p->run->date);
	fprintf(p->gp, "set ylabel 'calls/s, all clients (thousands, log scale)'\n"
		       "plot for [i=0:%d] '%s' using 1:(column(2+2*i)) with linespoints lw 2 "
		       "title columnheader(2+2*i)\n", n - 1, dat);
	fprintf(p->gp, "set ylabel 'round trip p50 (us, log scale)'\n"
		       "plot for [i=0:%d] '%s' using 1:(column(3+2*i)) with linespoints lw 2 "
		       "title columnheader(3+2*i)\n"
		       "unset multiplot\n", n - 1, dat);
	return 0;
}

/* ---- running gnuplot ---- */

/* gnuplot's warnings (e.g. about a column with no data in a partial run)
 * go to a log next to the charts, not into the benchmark's output. */
static int run_gnuplot(const char *script, const char *log)
{
	int st, fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		st = -errno;
		if (fd >= 0)
			close(fd);
		return st;
	}
	if (pid == 0) {
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	if (fd >= 0)
		close(fd);
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return st == 0 ? 0 : -EIO;
}

static void remove_old(const char *dir)
{
	static const char *const png[] = { "latency.png", "size.png", "concurrency.png" };
	char path[4096];

	for (size_t i = 0; i < sizeof(png) / sizeof(png[0]); i++) {
		path_in(path, sizeof(path), dir, png[i]);
		unlink(path);	/* a chart from an earlier run must not pass for this one's */
	}
}

int pp_report_plot(const char *outdir, const struct pp_run *run)
{
	char gp[4096], log[4096];
	struct plot_files p = { .dir = outdir, .run = run };
	int err;

	path_in(gp, sizeof(gp), outdir, "plots.gp");
	path_in(log, sizeof(log), outdir, "gnuplot.log");
	remove_old(outdir);
	if (!(p.gp = fopen(gp, "w")))
		return -errno;
	err = latency_plot(&p);
	if (!err)
		err = size_plot(&p);
	if (!err)
		err = conc_plot(&p);
	if (fclose(p.gp) && !err)
		err = -errno;
	return err ? err : run_gnuplot(gp, log);
}
