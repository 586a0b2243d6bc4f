/* SPDX-License-Identifier: MIT */
/*
 * One run: a server process and a client (this process), each using the
 * library as an application would, on a fresh root.  The client plays
 * the scenario twice: once to warm both sides up (state the library keeps
 * for the life of a process is not a leak), then again with the fault
 * armed on one side.  Each process compares its descriptors and library
 * mappings before the armed part and after it (the client after its
 * thread's exit closed its connections, the server after its port's
 * destroy), and the client checks that a plain call works afterwards.
 */
#include "fi.h"
#include "fi_run.h"

#include <errno.h>
#include <stdbool.h>
#include <execinfo.h>
#include <signal.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LONG_LEN (100u * 1024)	/* over $MSGPORT_VM_MIN and a ring's inline data */
#define PAGES_IN 8192u
#define PAGES_OUT 4096u
#define T_TICK_NS 20000000LL

struct fi_result *fi_res;
static const struct fi_plan *plan;
static char root[64];
static int ctl_fd, ready_fd;	/* client -> server: 'N' next session, EOF end */
static int fd_a, fd_b;		/* descriptors the client sends */
static uint8_t long_in[LONG_LEN], long_out[LONG_LEN];

enum { T_FDS_PAGES = 1, T_MOVE, T_LONG, T_SMALL, O_FD, O_PAGES, O_LONG };

/* --------------------------------------------------------------- server */

static int input_ok(const mp_msg_t *m, size_t size, int c)
{
	if (m->i.size != size)
		return 0;
	for (size_t k = 0; k < size; k++)
		if (((const uint8_t *)m->i.data)[k] != c)
			return 0;
	return 1;
}

/* What each message must hold on arrival: its size and its bytes. */
static void srv_check_input(const mp_msg_t *m)
{
	static const struct { uint32_t type; size_t size; int c; uint32_t nfds; } want[] = {
		{ T_FDS_PAGES, PAGES_IN, 'a', 2 }, { T_MOVE, PAGES_IN, 'b', 0 },
		{ T_LONG, LONG_LEN, 'c', 0 }, { T_SMALL, 32, 'd', 0 },
		{ O_FD, 8, 'e', 1 }, { O_PAGES, PAGES_IN, 'f', 0 }, { O_LONG, LONG_LEN, 'g', 0 },
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		if (want[k].type == m->type) {
			if (!input_ok(m, want[k].size, want[k].c) || m->i.nfds != want[k].nfds)
				fi_bad("server: message %u arrived wrong (size %zu, %u fds)",
				       m->type, m->i.size, m->i.nfds);
			return;
		}
	fi_bad("server: unknown message type %u", m->type);
}

static void srv_answer(mp_port_t port, mp_msg_t *m, mp_rid_t rid, int srv_fd)
{
	void *pages = NULL;
	size_t len = m->type == T_LONG ? LONG_LEN : m->type == T_FDS_PAGES ? PAGES_OUT : 64;
	if (m->o.size < len)
		fi_bad("server: call %u has capacity %zu", m->type, m->o.size);
	len = len < m->o.size ? len : m->o.size;
	memset(m->o.data, 'A' + (int)m->type - 1, len);
	if (m->type == T_FDS_PAGES) {
		m->o.fds[0] = srv_fd;
		m->o.nfds = 1;
		pages = mp_pages_alloc(PAGES_OUT);
		if (!pages)
			fi_check("server mp_pages_alloc", -errno, FI_E_PAGES_ALLOC);
		else {
			memset(pages, 'A', PAGES_OUT);
			m->o.data = pages;
			m->flags = MP_MOVE;
		}
	}
	m->o.size = len;
	m->o.err = 0;
	int r = mp_respond(port, m, rid);
	/* A client whose own fault broke its reply's receive drops the
	 * connection: -EPIPE ("the caller gave up") is then the truth. */
	fi_check("server mp_respond", r == -EPIPE && plan->side == FI_CLIENT ? 0 : r, FI_E_RESPOND);
	if (pages)
		mp_pages_free(pages, PAGES_OUT);	/* moved: -EINVAL */
	if (r < 0 && r != -ENOENT && r != -EPIPE) {
		/* The rid may still be ours: say why, without fds or pages.
		 * After a lack of memory or descriptors it may be used up
		 * instead (the answer was refused: its caller got r), and then
		 * -ENOENT is the right answer. */
		m->o.size = 0, m->o.nfds = 0, m->o.err = r, m->flags = 0;
		int again = mp_respond(port, m, rid);
		bool lack = r == -ENOMEM || r == -EMFILE || r == -ENFILE;
		fi_check("server mp_respond (again)", lack && again == -ENOENT ? 0 : again,
			 FI_E_RESPOND);
	}
}

static int ctl_says_stop(void)
{
	struct pollfd p = { .fd = ctl_fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return 0;
	char c;
	(void)read(ctl_fd, &c, 1);
	return 1;
}

/* One session: a port on the plan's transport at "/fi", served until
 * the client says so, then destroyed. */
static void *srv_session(void *arg)
{
	int srv_fd = *(int *)arg;
	mp_port_opts_t o = { .sz = sizeof(o), .transport = plan->transport };
	mp_port_t port;
	int r = mp_port_create_opts(&port, &o);
	fi_check("server mp_port_create_opts", r, FI_E_CREATE);
	if (r == 0) {
		r = mp_port_register(port, "/fi", 0666);
		fi_check("server mp_port_register", r, FI_E_REGISTER);
		if (r < 0)
			fi_check("server mp_port_destroy", mp_port_destroy(port), FI_E_DESTROY);
	}
	char c = r == 0 ? 'R' : 'F';
	(void)write(ready_fd, &c, 1);
	if (r < 0)
		return NULL;
	while (!ctl_says_stop()) {
		mp_msg_t m;
		mp_rid_t rid;
		r = mp_recv(port, &m, &rid, T_TICK_NS);
		if (r == -ETIMEDOUT)
			continue;
		fi_check("server mp_recv", r, FI_E_RECV);
		if (r < 0)
			continue;
		srv_check_input(&m);
		for (uint32_t k = 0; k < m.i.nfds; k++)
			close(m.i.fds[k]);
		if (r == 0)
			srv_answer(port, &m, rid, srv_fd);
	}
	fi_check("server mp_port_destroy", mp_port_destroy(port), FI_E_DESTROY);
	return NULL;
}

static void srv_run(int srv_fd)
{
	pthread_t t;
	struct fi_snap before, after;
	pthread_create(&t, NULL, srv_session, &srv_fd);
	pthread_join(t, NULL);
	fi_snap_take(&before, root);
	if (plan->side == FI_SERVER)
		fi_arm(plan->fail_at);
	pthread_create(&t, NULL, srv_session, &srv_fd);
	pthread_join(t, NULL);
	fi_disarm();
	fi_snap_take(&after, root);
	fi_snap_compare(&before, &after, "server");
}

/* --------------------------------------------------------------- client */

static void fill(mp_msg_t *m, uint32_t type, void *data, size_t size, int c)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->i.data = data;
	m->i.size = size;
	if (data)
		memset(data, c, size);
}

static int answer_ok(const mp_msg_t *m, size_t size, int c)
{
	if (m->o.err != 0 || m->o.size != size)
		return 0;
	for (size_t k = 0; k < size; k++)
		if (((const uint8_t *)m->o.data)[k] != c)
			return 0;
	return 1;
}

/* A call that succeeded must have the server's whole answer. */
static int call(mp_port_t port, mp_msg_t *m, const char *what, size_t want, int c)
{
	int r = mp_send(port, m, MP_FOREVER);
	fi_check(what, r, FI_E_SEND);
	if (r == 0 && m->o.err < 0 && plan->side == FI_SERVER)
		fi_check(what, m->o.err, FI_E_SEND);	/* the server's own answer: why */
	else if (r == 0 && !answer_ok(m, want, c))
		fi_bad("%s: succeeded with a wrong answer (err %d, size %zu) after a failed %s",
		       what, m->o.err, m->o.size, fi_failed_name() ? fi_failed_name() : "(none)");
	for (uint32_t k = 0; r == 0 && k < m->o.nfds; k++)
		close(m->o.fds[k]);
	return r;
}

static void *pages(size_t len)
{
	void *p = mp_pages_alloc(len);
	if (!p)
		fi_check("mp_pages_alloc", -errno, FI_E_PAGES_ALLOC);
	return p;
}

static int small_call(mp_port_t port, const char *what)
{
	mp_msg_t m;
	uint8_t in[32], out[64];
	fill(&m, T_SMALL, in, sizeof(in), 'd');
	m.o.data = out, m.o.size = sizeof(out);
	return call(port, &m, what, 64, 'D');
}

static void step_fds_pages(mp_port_t port)
{
	mp_msg_t m;
	uint8_t buf[PAGES_OUT];
	void *in = pages(PAGES_IN), *out = pages(PAGES_OUT);
	if (!in) {
		if (out)	/* the scenario's own, not the library's leak */
			mp_pages_free(out, PAGES_OUT);
		return;
	}
	fill(&m, T_FDS_PAGES, in, PAGES_IN, 'a');
	m.flags = MP_SHARE;
	m.i.fds[0] = fd_a, m.i.fds[1] = fd_b, m.i.nfds = 2;
	m.o.data = out ? out : buf, m.o.size = PAGES_OUT;
	/* (an error answer of the server's, o.err < 0, carries no fd) */
	if (call(port, &m, "mp_send (fds, pages)", PAGES_OUT, 'A') == 0 && m.o.err == 0 &&
	    m.o.nfds != 1)
		fi_bad("mp_send (fds, pages): %u fds back", m.o.nfds);
	mp_pages_free(in, PAGES_IN);
	if (out)
		mp_pages_free(out, PAGES_OUT);
}

static void step_move(mp_port_t port)
{
	mp_msg_t m;
	uint8_t out[256];
	void *in = pages(PAGES_IN);
	if (!in)
		return;
	fill(&m, T_MOVE, in, PAGES_IN, 'b');
	m.flags = MP_MOVE;
	m.o.data = out, m.o.size = sizeof(out);
	call(port, &m, "mp_send (moved pages)", 64, 'B');
	mp_pages_free(in, PAGES_IN);	/* gone unless the call failed early */
}

static void step_long(mp_port_t port)
{
	mp_msg_t m;
	fill(&m, T_LONG, long_in, LONG_LEN, 'c');
	m.o.data = long_out, m.o.size = LONG_LEN;
	call(port, &m, "mp_send (long data)", LONG_LEN, 'C');
}

static void oneway(mp_port_t port, mp_msg_t *m, const char *what)
{
	fi_check(what, mp_send_async(port, m, MP_FOREVER), FI_E_SEND);
}

static void step_oneways(mp_port_t port)
{
	mp_msg_t m;
	uint8_t small[8];
	fill(&m, O_FD, small, sizeof(small), 'e');
	m.i.fds[0] = fd_a, m.i.nfds = 1;
	oneway(port, &m, "mp_send_async (fd)");
	void *p = pages(PAGES_IN);
	if (p) {
		fill(&m, O_PAGES, p, PAGES_IN, 'f');
		oneway(port, &m, "mp_send_async (moved pages)");
		mp_pages_free(p, PAGES_IN);
	}
	fill(&m, O_LONG, long_in, LONG_LEN, 'g');
	oneway(port, &m, "mp_send_async (long data)");
}

static int list_one(const mp_ns_entry_t *e, void *arg)
{
	(void)e;
	++*(int *)arg;
	return 0;
}

static void step_lookups(void)
{
	mp_oid_t f, d;
	int n = 0, r = mp_lookup("/nothing", &f);
	if (r != -ENOENT)
		fi_check("mp_lookup (missing)", r == 0 ? -EEXIST : r, FI_E_LOOKUP);
	fi_check("mp_lookup_dev", mp_lookup_dev("/fi", &f, &d), FI_E_LOOKUP);
	r = mp_ns_list("/", list_one, &n);
	fi_check("mp_ns_list", r, FI_E_LIST);
	if (r == 0 && n != 1)
		fi_bad("mp_ns_list: %d entries, not 1", n);
}

/* This process's own port: create, publish, look up, withdraw, destroy. */
static void step_own_port(void)
{
	mp_port_opts_t o = { .sz = sizeof(o), .transport = plan->transport };
	mp_port_t port;
	mp_oid_t oid;
	int r = mp_port_create_opts(&port, &o);
	fi_check("mp_port_create_opts", r, FI_E_CREATE);
	if (r < 0)
		return;
	fi_check("mp_port_fd", mp_port_fd(port), FI_E_PORTFD);
	r = mp_port_register(port, "/mine", 0600);
	fi_check("mp_port_register", r, FI_E_REGISTER);
	if (r == 0) {
		fi_check("mp_lookup (own)", mp_lookup("/mine", &oid), FI_E_LOOKUP);
		fi_check("mp_port_unregister", mp_port_unregister("/mine"), FI_E_UNREGISTER);
	}
	fi_check("mp_port_destroy", mp_port_destroy(port), FI_E_DESTROY);
}

/* The scenario, in a thread of its own: its exit closes its connections. */
static void *cli_play(void *arg)
{
	int armed = *(int *)arg;
	const char *s = plan->scenario;
	mp_oid_t oid;
	if (armed)
		fi_arm(plan->fail_at);
	int r = mp_lookup("/fi", &oid);
	fi_check("mp_lookup", r, FI_E_LOOKUP);
	if (r == 0) {
		if (!strcmp(s, "call")) {
			step_fds_pages(oid.port);
			step_move(oid.port);
			step_long(oid.port);
			small_call(oid.port, "mp_send (small)");
		} else if (!strcmp(s, "oneway")) {
			step_oneways(oid.port);
		} else if (!strcmp(s, "lookup")) {
			step_lookups();
		}
	}
	if (!strcmp(s, "port"))
		step_own_port();
	fi_disarm();
	/* After the fault, the library works again, on the same thread.  A
	 * server fault still to come may hit this call itself: then it fails
	 * visibly, once (the fault fires once), and the next one must work. */
	int srv_pending = plan->side == FI_SERVER && !fi_res->failed[0];
	if ((r == 0 || mp_lookup("/fi", &oid) == 0) && small_call(oid.port, "recovery") != 0 &&
	    (!srv_pending || !fi_res->failed[0] || small_call(oid.port, "recovery") != 0))
		fi_bad("a plain call fails after a failed %s",
		       fi_failed_name() ? fi_failed_name() : "(none)");
	return NULL;
}

static void cli_run(void)
{
	pthread_t t;
	int armed = 0;
	char c = 0;
	struct fi_snap before, after;
	if (read(ready_fd, &c, 1) != 1 || c != 'R')
		return fi_bad("server: no first session");
	pthread_create(&t, NULL, cli_play, &armed);
	pthread_join(t, NULL);
	if (write(ctl_fd, "N", 1) != 1 || read(ready_fd, &c, 1) != 1)
		return fi_bad("server: gone after the first session");
	if (c != 'R')
		return;		/* its armed set-up failed, and said so */
	fi_snap_take(&before, root);
	armed = plan->side == FI_CLIENT;
	pthread_create(&t, NULL, cli_play, &armed);
	pthread_join(t, NULL);
	fi_snap_take(&after, root);
	fi_snap_compare(&before, &after, "client");
}

/* ------------------------------------------------------------------ run */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static int reap(pid_t pid, int seconds)
{
	int st;
	for (int k = 0; k < seconds * 1000; k++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* A crash says where, then dies of its signal (the driver counts it). */
static void on_crash(int sig)
{
	void *bt[32];
	int n = backtrace(bt, 32);
	dprintf(2, "faultinj: pid %d signal %d\n", getpid(), sig);
	backtrace_symbols_fd(bt, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

int fi_run(const struct fi_plan *p, struct fi_result *res)
{
	fi_report_to(res->failed, sizeof(res->failed));
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGABRT, on_crash);
	int ctl[2], ready[2];
	plan = p;
	fi_res = res;
	snprintf(root, sizeof(root), "/tmp/msgport-fi-XXXXXX");
	if (!mkdtemp(root) || pipe(ctl) || pipe(ready))
		return fi_bad("harness: set-up failed: %s", strerror(errno)), 2;
	setenv("MSGPORT_ROOT", root, 1);
	fd_a = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd_b = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	pid_t srv = fork();
	if (srv == 0) {
		close(ctl[1]), close(ready[0]);
		ctl_fd = ctl[0], ready_fd = ready[1];
		srv_run(fd_a);
		res->calls = p->side == FI_SERVER ? fi_count() : res->calls;
		if (p->side == FI_SERVER && fi_failed_name())
			snprintf(res->failed, sizeof(res->failed), "%s", fi_failed_name());
		_exit(0);
	}
	close(ctl[0]), close(ready[1]);
	ctl_fd = ctl[1], ready_fd = ready[0];
	cli_run();
	if (p->side == FI_CLIENT) {
		res->calls = fi_count();
		if (fi_failed_name())
			snprintf(res->failed, sizeof(res->failed), "%s", fi_failed_name());
	}
	close(ctl_fd);
	int st = reap(srv, 5);
	if (st == -1)
		fi_bad("server: hung (killed after 5 s)");
	else if (WIFSIGNALED(st))
		fi_bad("server: killed by signal %d", WTERMSIG(st));
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return res->bad[0] ? 1 : 0;
}
