/* base_iceoryx.c - Eclipse iceoryx request/response through its C binding:
 * a 64-byte request loaned from shared memory, a 64-byte response loaned
 * against it, both handed over without copying by iceoryx itself.
 *
 *  iceoryx-poll     both sides poll take_request / take_response
 *                   (spinning cross-core, sched_yield same-core);
 *  iceoryx-waitset  both sides block in a WaitSet until a request or a
 *                   response is there (iceoryx's blocking path).
 *
 * The RouDi daemon is started by the harness (roudi_daemon) and stopped
 * after the last iceoryx case. Built without iceoryx (no PP_HAVE_ICEORYX),
 * the backends only explain how to get it.
 */
#include "pingpong.h"

#include <errno.h>
#include <stdio.h>

#define IOX_HINT "apt-get install iceoryx libiceoryx-binding-c-dev, then make bench"

#ifndef PP_HAVE_ICEORYX

static int iox_probe(char *why, size_t len)
{
	snprintf(why, len, "built without iceoryx headers; to add it: %s", IOX_HINT);
	return -ENOSYS;
}

const struct pp_backend pp_backend_iceoryx_poll = {
	.name = "iceoryx-poll",
	.what = "iceoryx request/response, polling (not built in)",
	.flags = PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_PEER,	/* as when built in */
	.probe = iox_probe,
};

const struct pp_backend pp_backend_iceoryx_waitset = {
	.name = "iceoryx-waitset",
	.what = "iceoryx request/response, WaitSet (not built in)",
	.flags = PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_PEER,	/* as when built in */
	.probe = iox_probe,
};

#else /* PP_HAVE_ICEORYX */

#include <dirent.h>
#include <fcntl.h>
#include <iceoryx_binding_c/client.h>
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/server.h>
#include <iceoryx_binding_c/wait_set.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IOX_SERVICE "msgport-bench"
#define IOX_EVENT "rtt"
#define ROUDI_READY "RouDi is ready for clients"

/* ---- the RouDi daemon ---- */

static pid_t roudi_pid = -1;
static bool roudi_ready;		/* it got the lock, so what it leaves is ours */
static char roudi_log[PATH_MAX];

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Removes the terminal colour codes RouDi writes even into a file. */
static void strip_ansi(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '\033') {
			s += strcspn(s, "m");
			if (!*s)
				break;
			continue;
		}
		*out++ = *s;
	}
	*out = '\0';
}

/* True if RouDi's log says it is ready; else puts the line that best says
 * why not (its first fatal one, or its last) into why. */
static bool roudi_log_check(char *why, size_t len)
{
	char line[512];
	bool ready = false, fatal = false;
	FILE *f = fopen(roudi_log, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f) && !ready) {
		ready = strstr(line, ROUDI_READY) != NULL;
		line[strcspn(line, "\n")] = '\0';
		strip_ansi(line);
		if (line[0] && !fatal)
			snprintf(why, len, "iox-roudi: %s", line);
		fatal |= strstr(line, "Fatal") != NULL;
	}
	fclose(f);
	return ready;
}

static _Noreturn void roudi_exec(int logfd)
{
	pp_child_init(SIGTERM);		/* RouDi stops if the harness dies */
	setpgid(0, 0);			/* and a Ctrl-C reaches the harness, which stops it */
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	execlp("iox-roudi", "iox-roudi", "--log-level", "warning", (char *)NULL);
	_exit(127);
}

/* Waits until RouDi says it is ready, or exits, for at most 10 s. */
static int roudi_wait_ready(char *why, size_t len)
{
	for (int ms = 0; ms < 10000; ms += 10) {
		int st;

		if ((roudi_ready = roudi_log_check(why, len)))
			return 0;
		if (waitpid(roudi_pid, &st, WNOHANG) == roudi_pid) {
			roudi_pid = -1;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
				snprintf(why, len, "iox-roudi not found; %s", IOX_HINT);
			return -ECHILD;
		}
		nap_ms(10);
	}
	snprintf(why, len, "iox-roudi did not get ready within 10 s");
	return -ETIMEDOUT;
}

static void roudi_stop(void);

static int roudi_start(const char *outdir, char *why, size_t len)
{
	int fd, err;

	snprintf(roudi_log, sizeof(roudi_log), "%s/roudi.log", outdir);
	fd = open(roudi_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "%s: %s", roudi_log, strerror(-err));
		return err;
	}
	fflush(NULL);
	roudi_pid = fork();
	if (roudi_pid == 0)
		roudi_exec(fd);
	err = roudi_pid < 0 ? -errno : 0;
	close(fd);
	if (err) {
		snprintf(why, len, "fork: %s", strerror(-err));
		return err;
	}
	err = roudi_wait_ready(why, len);
	if (err)
		roudi_stop();
	return err;
}

/* What a RouDi that died on the way out leaves behind (iceoryx 2.0 aborts
 * at shutdown if an app it still lists is already gone, e.g. one that the
 * harness killed): two shared-memory segments of some 200 MB, and its
 * socket. Only called when our RouDi had got ready (so it held the lock):
 * then they are ours. */
static void roudi_cleanup(void)
{
	char path[PATH_MAX];
	struct passwd *pw = getpwuid(geteuid());

	unlink("/dev/shm/iceoryx_mgmt");
	if (pw) {
		snprintf(path, sizeof(path), "/dev/shm/%s", pw->pw_name);
		unlink(path);
	}
	unlink("/tmp/roudi");
	unlink("/tmp/roudi.lock");
	unlink("/tmp/iox-unique-roudi.lock");
	fprintf(stderr, "iox-roudi did not exit cleanly (see %s); removed what it left\n",
		roudi_log);
}

/* An app that the harness had to kill leaves its socket and lock file,
 * /tmp/<runtime name>[.lock] (names from iox_attach); remove those whose
 * process is gone. */
static void remove_dead_app_files(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		const char *name = e->d_name;
		char *rest;
		long pid;

		if (strncmp(name, "mpb-srv-", 8) && strncmp(name, "mpb-cli-", 8))
			continue;
		pid = strtol(name + 8, &rest, 10);
		if (pid <= 0 || (*rest && strcmp(rest, ".lock")))
			continue;
		if (kill((pid_t)pid, 0) && errno == ESRCH)
			unlinkat(dirfd(d), name, 0);
	}
	if (d)
		closedir(d);
}

/* SIGTERM lets RouDi release its shared memory; that takes about 2 s. */
static void roudi_stop(void)
{
	bool gone = false;
	int st = 0;

	if (roudi_pid <= 0)
		return;
	kill(roudi_pid, SIGTERM);
	for (int ms = 0; ms < 10000 && !gone; ms += 10) {
		gone = waitpid(roudi_pid, &st, WNOHANG) == roudi_pid;
		if (!gone)
			nap_ms(10);
	}
	if (!gone) {
		kill(roudi_pid, SIGKILL);
		waitpid(roudi_pid, &st, 0);
	}
	roudi_pid = -1;
	if (st != 0 && roudi_ready)
		roudi_cleanup();
	roudi_ready = false;
	remove_dead_app_files();
}

static const struct pp_daemon roudi_daemon = {
	.name = "iox-roudi",
	.start = roudi_start,
	.stop = roudi_stop,
};

/* ---- the two peers ---- */

struct iox_local {
	iox_server_storage_t server_storage;
	iox_client_storage_t client_storage;
	iox_ws_storage_t ws_storage;
	iox_server_t server;
	iox_client_t client;
	iox_ws_t ws;		/* NULL when polling */
};

static int client_connect(struct iox_local *l, const char *instance)
{
	iox_client_options_t opts;

	iox_client_options_init(&opts);
	l->client = iox_client_init(&l->client_storage, IOX_SERVICE, instance, IOX_EVENT, &opts);
	for (int ms = 0; ms < 10000; ms++) {	/* RouDi matches us with the server */
		if (iox_client_get_connection_state(l->client) == ConnectionState_CONNECTED)
			return 0;
		nap_ms(1);
	}
	return -ETIMEDOUT;
}

static int attach_waitset(struct pp_ctx *c, struct iox_local *l)
{
	enum iox_WaitSetResult r;

	l->ws = iox_ws_init(&l->ws_storage);
	if (c->role == PP_SERVER)
		r = iox_ws_attach_server_state(l->ws, l->server, ServerState_HAS_REQUEST, 0, NULL);
	else
		r = iox_ws_attach_client_state(l->ws, l->client, ClientState_HAS_RESPONSE, 0, NULL);
	return r == WaitSetResult_SUCCESS ? 0 : -EPROTO;
}

static int iox_attach(struct pp_ctx *c, bool waitset)
{
	struct iox_local *l = calloc(1, sizeof(*l));
	char name[64];
	int err = 0;

	if (!l)
		return -ENOMEM;
	c->local = l;
	snprintf(name, sizeof(name), "mpb-%s-%ld", c->role == PP_SERVER ? "srv" : "cli",
		 (long)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
	if (c->role == PP_SERVER) {
		iox_server_options_t opts;

		iox_server_options_init(&opts);
		l->server = iox_server_init(&l->server_storage, IOX_SERVICE, c->tag, IOX_EVENT, &opts);
	} else {
		err = client_connect(l, c->tag);
	}
	if (!err && waitset)
		err = attach_waitset(c, l);
	return err;
}

static int iox_attach_poll(struct pp_ctx *c)
{
	return iox_attach(c, false);
}

static int iox_attach_waitset(struct pp_ctx *c)
{
	return iox_attach(c, true);
}

static void iox_detach(struct pp_ctx *c)
{
	struct iox_local *l = c->local;

	if (!l)
		return;
	if (l->ws)
		iox_ws_deinit(l->ws);
	if (l->client)
		iox_client_deinit(l->client);
	if (l->server)
		iox_server_deinit(l->server);
	iox_runtime_shutdown();
	free(l);
	c->local = NULL;
}

/* Blocks in the WaitSet when there is one, else relaxes once. */
static void iox_wait(const struct pp_ctx *c, struct iox_local *l)
{
	iox_notification_info_t info[1];
	uint64_t missed;

	if (l->ws)
		iox_ws_wait(l->ws, info, 1, &missed);
	else
		pp_poll_relax(c);
}

static int iox_serve_one(struct pp_ctx *c, struct pp_msg *scratch)
{
	struct iox_local *l = c->local;
	const void *req;
	void *rsp;
	enum iox_ServerRequestResult r;

	while ((r = iox_server_take_request(l->server, &req)) == ServerRequestResult_NO_PENDING_REQUESTS)
		iox_wait(c, l);
	if (r != ServerRequestResult_SUCCESS)
		return -EPROTO;
	memcpy(scratch, req, sizeof(*scratch));
	if (iox_server_loan_response(l->server, req, &rsp, sizeof(*scratch)) != AllocationResult_SUCCESS) {
		iox_server_release_request(l->server, req);
		return -ENOBUFS;
	}
	memcpy(rsp, scratch, sizeof(*scratch));
	iox_server_release_request(l->server, req);
	return iox_server_send(l->server, rsp) == ServerSendResult_SUCCESS ? 0 : -EPIPE;
}

static int iox_roundtrip(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp)
{
	struct iox_local *l = c->local;
	const void *in;
	void *out;
	enum iox_ChunkReceiveResult r;

	if (iox_client_loan_request(l->client, &out, sizeof(*req)) != AllocationResult_SUCCESS)
		return -ENOBUFS;
	memcpy(out, req, sizeof(*req));
	if (iox_client_send(l->client, out) != ClientSendResult_SUCCESS)
		return -EPIPE;
	while ((r = iox_client_take_response(l->client, &in)) == ChunkReceiveResult_NO_CHUNK_AVAILABLE)
		iox_wait(c, l);
	if (r != ChunkReceiveResult_SUCCESS)
		return -EPROTO;
	memcpy(rsp, in, sizeof(*rsp));
	iox_client_release_response(l->client, in);
	return 0;
}

const struct pp_backend pp_backend_iceoryx_poll = {
	.name = "iceoryx-poll",
	.what = "Eclipse iceoryx request/response (C binding), polling",
	.note = { "busy-poll", "poll + sched_yield" },
	.flags = PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_PEER,
	.daemon = &roudi_daemon,
	.attach = iox_attach_poll,
	.serve_one = iox_serve_one,
	.roundtrip = iox_roundtrip,
	.detach = iox_detach,
};

const struct pp_backend pp_backend_iceoryx_waitset = {
	.name = "iceoryx-waitset",
	.what = "Eclipse iceoryx request/response (C binding), blocking in a WaitSet",
	.note = { "blocking (WaitSet)", "blocking (WaitSet)" },
	.flags = PP_LATENCY | PP_CROSS_OK | PP_SAME_OK | PP_PEER,
	.daemon = &roudi_daemon,
	.attach = iox_attach_waitset,
	.serve_one = iox_serve_one,
	.roundtrip = iox_roundtrip,
	.detach = iox_detach,
};

#endif /* PP_HAVE_ICEORYX */
