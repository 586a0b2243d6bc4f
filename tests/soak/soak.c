/* SPDX-License-Identifier: MIT */
/*
 * Driver of make soak (see soak.h): for each transport, a fresh namespace
 * root, the files whose fds travel, the server, the clients; then the
 * figures.  Parameters (environment):
 *   SOAK_MESSAGES  messages in all, split over transports and senders
 *                  (default 300000; 0: no limit)
 *   SOAK_SECONDS   time in all, split over transports (default 0: no limit)
 *   SOAK_PROCS, SOAK_THREADS  client processes, threads each (3, 2)
 *   SOAK_PORTS     server ports, one receiving thread each (2)
 *   SOAK_TRANSPORTS  (default "sock ring hybrid")
 * Exit status 0 only when every message was checked and nothing leaked.
 */
#include "soak.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The watchdog: generous, a loaded machine is slow, but a hang is forever. */
#define SOAK_STALL_NS (120 * 1000000000ll)

static unsigned long long env_num(const char *name, unsigned long long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 10) : def;
}

static void make_files(const char *dir)
{
	char path[300];
	struct stat st;

	for (unsigned i = 0; i <= SOAK_FILES; i++) {
		snprintf(path, sizeof path, "%s/file%u", dir, i);
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

		SOAK_CHECK(fd >= 0 && fstat(fd, &st) == 0, "create %s", path);
		soak_sh->file_fd[i] = fd;
		soak_sh->file_ino[i] = st.st_ino;
		soak_sh->file_dev = st.st_dev;
		unlink(path);
	}
}

static pid_t spawn(void (*fn)(unsigned), unsigned arg)
{
	pid_t pid = fork();

	SOAK_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		fn(arg);
		exit(0);	/* not _exit: a sanitizer's report sets the status */
	}
	return pid;
}

static void server_main(unsigned unused)
{
	(void)unused;
	soak_server();
}

/* Messages the server has checked so far (the watchdog's progress). */
static uint64_t progress(void)
{
	uint64_t n = 0;

	for (unsigned s = 0; s < SOAK_MAX_SENDERS; s++)
		n += __atomic_load_n(&soak_sh->seen[s], __ATOMIC_RELAXED);
	return n;
}

/* Wait for every child; the first failure or the watchdog stops them all. */
static int wait_all(pid_t *pids, unsigned n)
{
	unsigned left = n;
	int bad = 0, st;
	uint64_t last = 0;
	int64_t last_ns = soak_now_ns();

	while (left) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p == 0) {
			uint64_t now = progress();

			if (now != last) {
				last = now;
				last_ns = soak_now_ns();
			} else if (!bad && soak_now_ns() - last_ns > SOAK_STALL_NS) {
				fprintf(stderr, "soak: FAIL: no message checked for %lld s: hung, "
					"stopping\n", (long long)(SOAK_STALL_NS / 1000000000));
				bad = 1;
				for (unsigned i = 0; i < n; i++)
					if (pids[i])
						kill(pids[i], SIGKILL);
			}
			usleep(20000);
			continue;
		}
		SOAK_CHECK(p > 0, "waitpid");
		for (unsigned i = 0; i < n; i++)
			if (pids[i] == p)
				pids[i] = 0;
		left--;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			if (!bad)
				fprintf(stderr, "soak: FAIL: process %d ended with status %#x\n", p, st);
			bad = 1;
			for (unsigned i = 0; i < n; i++)
				if (pids[i])
					kill(pids[i], SIGKILL);
		}
	}
	return bad;
}

static int run_transport(const char *t, const struct soak_cfg *cfg, uint64_t *msgs)
{
	char root[] = "/tmp/msgport-soak-XXXXXX", cmd[64];
	pid_t pids[1 + SOAK_MAX_SENDERS];
	int64_t t0, t1;
	uint64_t total = 0, sends = 0;
	int bad;

	memset(soak_sh, 0, sizeof *soak_sh);
	soak_sh->cfg = *cfg;
	SOAK_CHECK(mkdtemp(root), "mkdtemp");
	setenv("MSGPORT_ROOT", root, 1);
	setenv("MSGPORT_TRANSPORT", t, 1);
	make_files(root);
	t0 = soak_now_ns();
	if (soak_sh->cfg.deadline_ns)
		soak_sh->cfg.deadline_ns += t0;
	pids[0] = spawn(server_main, 0);
	while (!atomic_load(&soak_sh->ready) && !atomic_load(&soak_sh->failed) &&
	       waitpid(pids[0], NULL, WNOHANG) == 0)
		usleep(1000);
	for (unsigned p = 0; p < cfg->procs; p++)
		pids[1 + p] = spawn(soak_client, p);
	bad = wait_all(pids, 1 + cfg->procs);
	t1 = soak_now_ns();
	for (unsigned s = 0; s < cfg->procs * cfg->threads; s++) {
		sends += soak_sh->sent[s];
		total += soak_sh->seen[s] - 1;	/* not the FIN */
	}
	double sec = (double)(t1 - t0) / 1e9;
	printf("soak %-6s %s: %llu messages in %.1f s (%.0f/s): calls %llu, one-way %llu, "
	       "with fds %llu (%llu fds), pages %llu (%.1f MiB), long %llu (%.1f MiB)\n",
	       t, bad ? "FAILED" : "ok", (unsigned long long)total, sec, (double)total / sec,
	       (unsigned long long)(soak_sh->kinds[K_CALL] + soak_sh->kinds[K_CALL_FDS] +
				    soak_sh->kinds[K_CALL_MOVE] + soak_sh->kinds[K_CALL_SHARE] +
				    soak_sh->kinds[K_CALL_LONG]),
	       (unsigned long long)(soak_sh->kinds[K_ASYNC] + soak_sh->kinds[K_ASYNC_FDS] +
				    soak_sh->kinds[K_ASYNC_MOVE] + soak_sh->kinds[K_ASYNC_SHARE]),
	       (unsigned long long)(soak_sh->kinds[K_CALL_FDS] + soak_sh->kinds[K_ASYNC_FDS]),
	       (unsigned long long)soak_sh->fds,
	       (unsigned long long)(soak_sh->kinds[K_CALL_MOVE] + soak_sh->kinds[K_CALL_SHARE] +
				    soak_sh->kinds[K_ASYNC_MOVE] + soak_sh->kinds[K_ASYNC_SHARE]),
	       (double)soak_sh->pages_bytes / 1048576.0,
	       (unsigned long long)soak_sh->kinds[K_CALL_LONG],
	       (double)soak_sh->long_bytes / 1048576.0);
	if (!bad && total != sends) {
		fprintf(stderr, "soak: FAIL: %llu sent, %llu checked\n",
			(unsigned long long)sends, (unsigned long long)total);
		bad = 1;
	}
	fflush(stdout);
	for (unsigned i = 0; i <= SOAK_FILES; i++)
		close(soak_sh->file_fd[i]);
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "soak: could not remove %s\n", root);
	*msgs += total;
	return bad;
}

int main(void)
{
	unsigned long long messages = env_num("SOAK_MESSAGES", 300000);
	unsigned long long seconds = env_num("SOAK_SECONDS", 0);
	const char *list = getenv("SOAK_TRANSPORTS");
	char tbuf[128], *save, *t;
	struct soak_cfg cfg = {
		.procs = (unsigned)env_num("SOAK_PROCS", 3),
		.threads = (unsigned)env_num("SOAK_THREADS", 2),
		.ports = (unsigned)env_num("SOAK_PORTS", 2),
		.heavy = (unsigned)env_num("SOAK_HEAVY", 1),
	};
	unsigned ntrans = 0, senders;
	uint64_t msgs = 0;
	int bad = 0;
	int64_t t0 = soak_now_ns();

	snprintf(tbuf, sizeof tbuf, "%s", list && *list ? list : "sock ring hybrid");
	for (t = tbuf; *t; t++)
		ntrans += (*t != ' ') && (t == tbuf || t[-1] == ' ');
	senders = cfg.procs * cfg.threads;
	if (!ntrans || !cfg.procs || !cfg.threads || !cfg.ports || senders > SOAK_MAX_SENDERS ||
	    cfg.ports > SOAK_MAX_PORTS || cfg.ports > senders || (!messages && !seconds) ||
	    !cfg.heavy) {
		fprintf(stderr, "soak: bad parameters (see tests/soak/soak.c)\n");
		return 2;
	}
	cfg.quota = messages ? (messages + (uint64_t)ntrans * senders - 1) /
		((uint64_t)ntrans * senders) : 0;
	cfg.deadline_ns = seconds ? (int64_t)(seconds * 1000000000ull / ntrans) : 0;
	soak_sh = mmap(NULL, sizeof *soak_sh, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SOAK_CHECK(soak_sh != MAP_FAILED, "mmap");
	printf("soak: %u client processes x %u threads, %u server ports, 1 in %u messages "
	       "of the whole mix, %llu messages per "
	       "sender per transport%s, %llu s per transport%s\n", cfg.procs, cfg.threads,
	       cfg.ports, cfg.heavy, (unsigned long long)cfg.quota, cfg.quota ? "" : " (no limit)",
	       (unsigned long long)(cfg.deadline_ns / 1000000000), seconds ? "" : " (no limit)");
	fflush(stdout);
	for (t = strtok_r(tbuf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		bad |= run_transport(t, &cfg, &msgs);
	double sec = (double)(soak_now_ns() - t0) / 1e9;
	printf("soak %s: %llu messages in %.1f s (%.0f/s), errors %d\n", bad ? "FAILED" : "ok",
	       (unsigned long long)msgs, sec, (double)msgs / sec, bad);
	return bad;
}
