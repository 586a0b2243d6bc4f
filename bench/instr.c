/* instr.c - the instr part: user-space instructions per 64-byte call,
 * counted by callgrind, which gives the same count on a busy machine as on
 * a quiet one (times do not).
 *
 * For each PP_CALLGRIND case, valgrind --tool=callgrind runs this program
 * in instr_child.c's mode twice, N calls and N/10 calls (the SPSC ring: one-way
 * messages), and each side's figure is
 *
 *     (Ir of the long run - Ir of the short run) / (N - N/10)
 *
 * so start-up, set-up and tear-down, the same in both runs, cancel out.
 * For msgport's cases two more runs count only what executes inside the
 * library's calls (callgrind's --toggle-collect on mp_send, mp_send_async,
 * mp_recv and mp_respond, callees included): the same figure without the
 * bench's own loop, message set-up and checks.
 * Callgrind's files, its log and the program's stderr go to a temporary
 * directory, removed after the case. Without valgrind the rows say so and
 * the run goes on.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct instr_run {
	char dir[PATH_MAX];	/* this run's files */
	uint64_t n;		/* calls */
	bool lib;		/* count only inside msgport's calls (--toggle-collect) */
	uint64_t ir[2];		/* total instructions, [PP_SERVER] and [PP_CLIENT] */
};

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p; ) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (n && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* ---- one run under callgrind ---- */

/* The child: its stderr into the run's directory, pinned where the client
 * runs, then valgrind with this program in instr_child.c's mode. TMPDIR is
 * the run's directory too, so that the case's msgport root (and valgrind's
 * own files) go with it even when the run is killed. */
_Noreturn static void exec_valgrind(const struct pp_opts *o, const struct pp_result *r,
				    const struct instr_run *run, const char *exe)
{
	char out[PATH_MAX + 32], log[PATH_MAX + 32], err[PATH_MAX + 32], n[32], c0[16], c1[16];
	int fd;

	pp_child_init(SIGKILL);
	snprintf(out, sizeof(out), "--callgrind-out-file=%s/cg.%%p", run->dir);
	snprintf(log, sizeof(log), "--log-file=%s/vg.%%p.log", run->dir);
	snprintf(err, sizeof(err), "%s/stderr", run->dir);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)run->n);
	snprintf(c0, sizeof(c0), "%d", o->cpu[0]);
	snprintf(c1, sizeof(c1), "%d", o->cpu[1] >= 0 ? o->cpu[1] : o->cpu[0]);
	fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || pp_pin_cpu(o->cpu[0]) ||
	    setenv("TMPDIR", run->dir, 1))
		_exit(126);
	if (run->lib)
		execlp("valgrind", "valgrind", "--tool=callgrind", out, log,
		       "--toggle-collect=mp_send", "--toggle-collect=mp_send_async",
		       "--toggle-collect=mp_recv", "--toggle-collect=mp_respond", exe,
		       PP_INSTR_CHILD, r->be->name, n, c0, c1, (char *)NULL);
	else
		execlp("valgrind", "valgrind", "--tool=callgrind", out, log, exe, PP_INSTR_CHILD,
		       r->be->name, n, c0, c1, (char *)NULL);
	_exit(127);
}

/* The last line the program wrote to stderr: why it failed. */
static void last_words(const char *dir, char *buf, size_t len)
{
	char path[PATH_MAX + 16], line[256];
	FILE *f;

	snprintf(buf, len, "no message");
	snprintf(path, sizeof(path), "%s/stderr", dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%.120s", line);
		}
	fclose(f);
}

/* The "summary:" line of a callgrind file (the total of its one event, Ir),
 * else its "totals:" line. */
static int read_total(const char *path, uint64_t *ir)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "summary:", 8)) {
			*ir = strtoull(line + 8, NULL, 10);
			found = true;
			break;
		}
		if (!strncmp(line, "totals:", 7)) {
			*ir = strtoull(line + 7, NULL, 10);
			found = true;
		}
	}
	fclose(f);
	return found ? 0 : -ENODATA;
}

/* A line of valgrind's logs that says it did not handle something the
 * program did (a system call, an ioctl, an fcntl): the program may then
 * have taken another path than it takes outside valgrind. */
static bool vg_trouble(const char *dir, char *buf, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 300], line[256];
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		FILE *f;

		if (strncmp(e->d_name, "vg.", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (!found && fgets(line, sizeof(line), f))
			if (strstr(line, "nhandled") || strstr(line, "nsupported") ||
			    strstr(line, "WARNING")) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(buf, len, "valgrind: %.110s", line);
				found = true;
			}
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* Two callgrind files: the client's, named after the process started, and
 * the server's, which it forked. */
static int read_totals(struct instr_run *run, pid_t client, char *why, size_t len)
{
	DIR *d = opendir(run->dir);
	struct dirent *e;
	char path[PATH_MAX + 300], mine[32];
	unsigned nfiles = 0;
	int err = 0;

	if (!d)
		return -errno;
	snprintf(mine, sizeof(mine), "cg.%ld", (long)client);
	while (!err && (e = readdir(d))) {
		bool is_client = !strcmp(e->d_name, mine);

		if (strncmp(e->d_name, "cg.", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", run->dir, e->d_name);
		nfiles++;
		err = read_total(path, &run->ir[is_client ? PP_CLIENT : PP_SERVER]);
		if (err)
			snprintf(why, len, "%.60s: no total in it", e->d_name);
	}
	closedir(d);
	if (!err && nfiles != 2) {
		snprintf(why, len, "%u callgrind files, not 2 (server and client)", nfiles);
		err = -EPROTO;
	}
	return err;
}

/* Runs the program once under callgrind and reads both totals; or says
 * in why what went wrong. */
static int run_once(const struct pp_opts *o, const struct pp_result *r, struct instr_run *run,
		    const char *exe, char *why, size_t len)
{
	char msg[128];
	pid_t pid;
	int st, err;

	if (mkdir(run->dir, 0700)) {
		err = -errno;
		snprintf(why, len, "mkdir: %s", strerror(-err));
		return err;
	}
	fflush(NULL);		/* or the child would inherit and repeat buffered output */
	if ((pid = fork()) < 0) {
		err = -errno;
		snprintf(why, len, "fork: %s", strerror(-err));
		return err;
	}
	if (pid == 0)
		exec_valgrind(o, r, run, exe);
	if ((err = pp_reap_one(pid, &st, o->case_timeout_s))) {
		snprintf(why, len, "valgrind %s", err == -EINTR ? "interrupted" : "timed out");
		return err;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 126) {
		snprintf(why, len, "valgrind could not be started");
		return -ENOEXEC;
	}
	if (st) {
		last_words(run->dir, msg, sizeof(msg));
		snprintf(why, len, "under valgrind: %s", msg);
		return -ECHILD;
	}
	if (vg_trouble(run->dir, msg, sizeof(msg))) {
		snprintf(why, len, "%s", msg);
		return -ENOSYS;
	}
	if (read_totals(run, pid, msg, sizeof(msg))) {
		snprintf(why, len, "callgrind: %s", msg);
		return -EPROTO;
	}
	return 0;
}

/* ---- the case ---- */

static void per_call(double out[2], const struct instr_run *lng, const struct instr_run *shrt)
{
	double calls = (double)(lng->n - shrt->n);

	for (int side = PP_SERVER; side <= PP_CLIENT; side++)
		out[side] = ((double)lng->ir[side] - (double)shrt->ir[side]) / calls;
}

/* A pair of runs (long, short), whole programs or only the library. */
static int run_pair(const struct pp_opts *o, struct pp_result *r, const char *dir, bool lib,
		    double out[2], const char *exe)
{
	struct instr_run lng = { .n = o->instr_calls, .lib = lib },
			 shrt = { .n = o->instr_calls / 10, .lib = lib };
	int err;

	snprintf(lng.dir, sizeof(lng.dir), "%s/long%s", dir, lib ? "-lib" : "");
	snprintf(shrt.dir, sizeof(shrt.dir), "%s/short%s", dir, lib ? "-lib" : "");
	if ((err = run_once(o, r, &shrt, exe, r->why, sizeof(r->why))) ||
	    (err = run_once(o, r, &lng, exe, r->why, sizeof(r->why))))
		return err;
	per_call(out, &lng, &shrt);
	r->n = lng.n - shrt.n;
	return 0;
}

/* Where the callgrind files go, and which program valgrind runs. */
static int prepare(char *dir, size_t dlen, char *exe, size_t elen, char *why, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", exe, elen - 1);
	char tag[48];
	int err;

	if (n <= 0) {
		snprintf(why, len, "/proc/self/exe: %s", strerror(errno));
		return -ENOENT;
	}
	exe[n] = '\0';
	snprintf(tag, sizeof(tag), "mpb-instr-%ld", (long)getpid());
	if ((err = pp_tmpdir_make(dir, dlen, tag)))
		snprintf(why, len, "mkdtemp: %s", strerror(-err));
	return err;
}

void pp_instr_case(const struct pp_opts *o, struct pp_result *r)
{
	char exe[PATH_MAX], dir[PATH_MAX - 16];	/* room for /long-lib in a run's dir */

	r->size = PP_MSG_SIZE;
	r->nclients = 1;
	r->status = PP_FAILED;
	if (!on_path("valgrind")) {
		r->status = PP_SKIPPED;
		snprintf(r->why, sizeof(r->why), "not measured: valgrind missing");
		return;
	}
	if (o->instr_calls / 10 < 1) {
		snprintf(r->why, sizeof(r->why), "the long run must make at least 10 calls");
		return;
	}
	if (prepare(dir, sizeof(dir), exe, sizeof(exe), r->why, sizeof(r->why)))
		return;
	r->instr_lib[PP_SERVER] = r->instr_lib[PP_CLIENT] = -1;	/* none: the raw ring */
	if (run_pair(o, r, dir, false, r->instr, exe))
		goto out;
	if (!(r->be->flags & PP_BASE_RING) && run_pair(o, r, dir, true, r->instr_lib, exe))
		goto out;
	r->status = PP_OK;
out:
	pp_tmpdir_remove(dir);
}
