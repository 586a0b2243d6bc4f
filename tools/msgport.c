/* SPDX-License-Identifier: MIT */
/*
 * msgport - command-line tool: list and look up the namespace, call a
 * port, run an echo server, unregister an entry, make a shared root.
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "msgport.h"
#include "stat.h"
#include "../net/ls.h"

#define EXIT_USAGE 2
#define CALL_REPLY_CAP (64 * 1024)	/* default reply capacity of `call` */

/* ----------------------------------------------------------- reporting */

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One line on stderr, exit 2: usage errors only. */
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("msgport: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try --help)\n", stderr);
	exit(EXIT_USAGE);
}

/* One line on stderr for a library error; returns the exit status. */
static int fail(const char *what, const char *path, int err)
{
	fprintf(stderr, "msgport: %s %s: %s\n", what, path, mp_strerror(err));
	return 1;
}

/* ----------------------------------------------------------- parsing */

/* Parse an unsigned number in [0, max], in any base strtoull accepts. */
static int parse_num(const char *s, unsigned long long max, int base, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* No stray positional arguments beyond what a subcommand takes. */
static const char *one_path(int argc, char **argv, const char *cmd, int optional)
{
	int left = argc - optind;

	if (left > 1)
		die_usage("%s: unexpected argument '%s'", cmd, argv[optind + 1]);
	if (left == 0 && !optional)
		die_usage("%s: missing PATH", cmd);
	return left ? argv[optind] : NULL;
}

/*
 * getopt_long with our own one-line messages: opterr is off, and the
 * leading ':' of shortopts tells a missing argument from an unknown option.
 */
static int next_opt(int argc, char **argv, const char *cmd, const char *shortopts,
		    const struct option *lo)
{
	int c = getopt_long(argc, argv, shortopts, lo, NULL);

	if (c == '?' && optopt)
		die_usage("%s: unknown option '-%c'", cmd, optopt);
	if (c == '?')
		die_usage("%s: unknown option '%s'", cmd, argv[optind - 1]);
	if (c == ':')
		die_usage("%s: option '%s' needs an argument", cmd, argv[optind - 1]);
	return c;
}

/* The long name of option c, for messages. */
static const char *opt_name(const struct option *lo, int c)
{
	for (; lo->name; lo++) {
		if (lo->val == c)
			return lo->name;
	}
	return "?";
}

/* ------------------------------------------------------------------ ls */

struct ls_table {
	mp_ns_entry_t *v;
	size_t n, cap;
};

static int ls_collect(const mp_ns_entry_t *e, void *arg)
{
	struct ls_table *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		mp_ns_entry_t *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *e;
	return 0;
}

static void ls_print(const struct ls_table *t)
{
	int w = 4;	/* strlen("PATH") */

	for (size_t k = 0; k < t->n; k++) {
		int len = (int)strlen(t->v[k].path);

		w = len > w ? len : w;
	}
	printf("%-*s %6s %6s %8s %5s %s\n", w, "PATH", "PORT", "ID", "PID", "MODE", "STATE");
	for (size_t k = 0; k < t->n; k++) {
		const mp_ns_entry_t *e = &t->v[k];

		printf("%-*s %6" PRIu32 " %6" PRIu64 " %8" PRId32 " %5.4" PRIo32 " %s%s\n", w,
		       e->path, e->oid.port, e->oid.id, e->owner_pid, e->mode,
		       e->live ? "live" : "stale", (e->flags & MP_NS_ENTRY_MOUNT) ? " mount" : "");
	}
}

static const char ls_help[] =
	"usage: msgport ls [PATH]\n"
	"List the namespace entries at or below PATH (default: all):\n"
	"path, port, id, owner pid, mode (octal), live/stale, and \"mount\" for\n"
	"a mount point (lookups below it are answered by its server).\n"
	"msgport ls /net: the hosts msgport-net reaches, one line each (HOST), and\n"
	"their exports (HOST PREFIX; * PREFIX: a queue group), see docs/net.md.\n";

/* Ask the /net gateway (net/ls.h) for every reachable host's exports. */
static int ls_net(void)
{
	static char buf[1 << 16];
	mp_msg_t msg = { .type = MP_NET_MT_LIST };
	int err = mp_lookup("/net", &msg.oid);

	msg.o.data = buf;
	msg.o.size = sizeof(buf);
	if (!err)
		err = mp_send(msg.oid.port, &msg, (int64_t)5000000000);
	if (!err && msg.o.err)
		err = msg.o.err < 0 ? msg.o.err : -EPROTO;
	if (err)
		return fail("ls", "/net", err);
	fwrite(buf, 1, msg.o.size, stdout);
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	struct ls_table t = { 0 };
	const char *path;
	int c, err;

	/* The only option is --help. */
	if ((c = next_opt(argc, argv, "ls", ":h", lo)) != -1) {
		fputs(ls_help, stdout);
		return 0;
	}
	path = one_path(argc, argv, "ls", 1);
	if (path && strcmp(path, "/net") == 0)
		return ls_net();
	err = mp_ns_list(path, ls_collect, &t);
	/* An empty root has no namespace directory yet: list nothing. */
	if (err == -ENOENT && !path)
		err = 0;
	if (!err)
		ls_print(&t);
	free(t.v);
	return err ? fail("ls", path ? path : "/", err) : 0;
}

/* -------------------------------------------------------------- lookup */

static const char lookup_help[] =
	"usage: msgport lookup PATH\n"
	"Look PATH up and print 'PATH port=N id=M'.\n";

static int cmd_lookup(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *path;
	mp_oid_t oid;
	int c, err;

	/* The only option is --help. */
	if ((c = next_opt(argc, argv, "lookup", ":h", lo)) != -1) {
		fputs(lookup_help, stdout);
		return 0;
	}
	path = one_path(argc, argv, "lookup", 0);
	err = mp_lookup(path, &oid);
	if (err)
		return fail("lookup", path, err);
	printf("%s port=%" PRIu32 " id=%" PRIu64 "\n", path, oid.port, oid.id);
	return 0;
}

/* ---------------------------------------------------------------- call */

struct call_opts {
	uint32_t type;
	const char *data;	/* NULL: none; "-": stdin */
	size_t reply_cap;
	int64_t timeout_ns;
};

/* Read all of stdin (at most MP_DATA_MAX bytes) into a malloc'd buffer. */
static int read_stdin(void **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p = NULL, *q;

	for (;;) {
		q = realloc(p, cap);
		if (!q) {
			free(p);
			return -ENOMEM;
		}
		p = q;
		n += fread(p + n, 1, cap - n, stdin);
		if (n < cap || n > MP_DATA_MAX)
			break;	/* end of input, an error, or too much */
		/* One byte past the limit tells "too much" from "exactly". */
		cap = cap * 2 > MP_DATA_MAX ? MP_DATA_MAX + 1 : cap * 2;
	}
	if (ferror(stdin) || n > MP_DATA_MAX) {
		free(p);
		return n > MP_DATA_MAX ? -EMSGSIZE : -EIO;
	}
	*buf = p;
	*len = n;
	return 0;
}

/* Write the reply, close any fds it brought, report the server's status. */
static int call_finish(const char *path, mp_msg_t *msg)
{
	int ret = 0;

	if (msg->o.size && fwrite(msg->o.data, 1, msg->o.size, stdout) != msg->o.size)
		ret = fail("call", path, -EIO);
	if (fflush(stdout) != 0 && !ret)
		ret = fail("call", path, -errno);
	for (uint32_t k = 0; k < msg->o.nfds; k++)
		close(msg->o.fds[k]);	/* nothing to do with them from a shell */
	if (msg->o.err) {
		fprintf(stderr, "msgport: call %s: server error %" PRId32 " (%s)\n", path,
			msg->o.err, mp_strerror(msg->o.err < 0 ? msg->o.err : -msg->o.err));
		ret = 1;
	}
	return ret;
}

static int call_run(const char *path, const struct call_opts *co)
{
	mp_msg_t msg = { .type = co->type };
	void *in = NULL, *out = NULL;
	int err, ret;

	err = mp_lookup(path, &msg.oid);
	if (err)
		return fail("lookup", path, err);
	if (co->data && strcmp(co->data, "-") == 0) {
		err = read_stdin(&in, &msg.i.size);
		if (err)
			return fail("call", "(stdin)", err);
		msg.i.data = in;
	} else if (co->data) {
		msg.i.data = (void *)co->data;
		msg.i.size = strlen(co->data);
	}
	msg.o.size = co->reply_cap;
	msg.o.data = out = malloc(co->reply_cap ? co->reply_cap : 1);
	err = out ? mp_send(msg.oid.port, &msg, co->timeout_ns) : -ENOMEM;
	ret = err ? fail("call", path, err) : call_finish(path, &msg);
	free(in);
	free(out);
	return ret;
}

static const char call_help[] =
	"usage: msgport call PATH [--type N] [--data TEXT | --data - | -] [--timeout MS]\n"
	"                         [--reply-size BYTES]\n"
	"Call the port registered at PATH and write the reply's data to stdout.\n"
	"  -t, --type N          message type (default 0)\n"
	"  -d, --data TEXT       input data; '-' (or a lone '-' argument) reads stdin\n"
	"  -T, --timeout MS      give up after MS milliseconds (default: wait forever)\n"
	"  -r, --reply-size N    reply capacity in bytes (default 65536)\n"
	"A non-zero status from the server is reported on stderr (exit 1).\n";

/* Largest value each numeric option of `call` takes. */
static unsigned long long call_opt_max(int opt)
{
	if (opt == 't')
		return UINT32_MAX;
	if (opt == 'r')
		return MP_DATA_MAX;
	return INT64_MAX / 1000000;	/* --timeout in ms, kept as ns */
}

static void call_parse(int argc, char **argv, struct call_opts *co)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "type", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "reply-size", required_argument, NULL, 'r' },
		{ 0 }
	};
	unsigned long long v;
	int c;

	while ((c = next_opt(argc, argv, "call", ":ht:d:T:r:", lo)) != -1) {
		if (c == 'h') {
			fputs(call_help, stdout);
			exit(0);
		}
		if (c == 'd') {
			co->data = optarg;
			continue;
		}
		/* Types may be hex (0x...); milliseconds and sizes are decimal. */
		if (parse_num(optarg, call_opt_max(c), c == 't' ? 0 : 10, &v))
			die_usage("call: bad value '%s' for --%s", optarg, opt_name(lo, c));
		if (c == 't')
			co->type = (uint32_t)v;
		else if (c == 'T')
			co->timeout_ns = (int64_t)v * 1000000;
		else
			co->reply_cap = (size_t)v;
	}
}

static int cmd_call(int argc, char **argv)
{
	struct call_opts co = { .reply_cap = CALL_REPLY_CAP, .timeout_ns = MP_FOREVER };
	const char *path;

	call_parse(argc, argv, &co);
	/* A lone "-" after PATH is the stdin form: msgport call PATH -. */
	if (argc - optind == 2 && strcmp(argv[optind + 1], "-") == 0) {
		if (co.data)
			die_usage("call: both --data and '-' given");
		co.data = "-";
		argc--;
	}
	path = one_path(argc, argv, "call", 0);
	return call_run(path, &co);
}

/* ---------------------------------------------------------------- echo */

struct echo_stats {
	uint64_t calls, oneway;
};

/* Answer a call with its own input; the fds go back, then we drop ours. */
static void echo_answer(mp_port_t port, mp_msg_t *msg, mp_rid_t rid)
{
	size_t n = msg->i.size < msg->o.size ? msg->i.size : msg->o.size;
	int err;

	if (n)
		memcpy(msg->o.data, msg->i.data, n);
	msg->o.size = n;
	memcpy(msg->o.raw, msg->i.raw, MP_RAW_SIZE);
	memcpy(msg->o.fds, msg->i.fds, sizeof(int) * msg->i.nfds);
	msg->o.nfds = msg->i.nfds;
	msg->o.err = 0;
	err = mp_respond(port, msg, rid);
	/* A caller that gave up or died costs only its own answer. */
	if (err && err != -EPIPE)
		fprintf(stderr, "msgport: echo: respond: %s\n", mp_strerror(err));
}

/* Take one message if there is one: 0 handled or none, <0 fatal. */
static int echo_one(mp_port_t port, struct echo_stats *st)
{
	mp_msg_t msg;
	mp_rid_t rid;
	int r = mp_recv(port, &msg, &rid, 0);

	/* Readable with nothing to take: a client connected or hung up. */
	if (r == -EAGAIN || r == -ETIMEDOUT)
		return 0;
	if (r < 0)
		return r;
	if (r == 0) {
		echo_answer(port, &msg, rid);
		st->calls++;
	} else {
		st->oneway++;
	}
	for (uint32_t k = 0; k < msg.i.nfds; k++)
		close(msg.i.fds[k]);
	return 0;
}

/* Serve until a signal arrives on sigfd: 0, or a negative error. */
static int echo_loop(mp_port_t port, int sigfd, struct echo_stats *st)
{
	struct pollfd pf[2] = {
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = mp_port_fd(port), .events = POLLIN },
	};

	if (pf[1].fd < 0)
		return pf[1].fd;
	for (;;) {
		int err;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[0].revents)
			return 0;
		if (pf[1].revents & POLLIN) {
			err = echo_one(port, st);
			if (err)
				return err;
		}
	}
}

/* SIGINT/SIGTERM become readable on a signalfd, so poll() sees them. */
static int stop_signals_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int echo_run(const char *path, unsigned mode)
{
	struct echo_stats st = { 0 };
	mp_port_t port;
	int sigfd, err;

	/* Before the library makes any descriptors or threads. */
	sigfd = stop_signals_fd();
	if (sigfd < 0)
		return fail("echo", path, sigfd);
	err = mp_port_create(&port);
	if (err) {
		close(sigfd);
		return fail("echo: create port for", path, err);
	}
	err = mp_port_register(port, path, mode);
	if (err) {
		mp_port_destroy(port);
		close(sigfd);
		return fail("echo: register", path, err);
	}
	printf("ready %s port=%" PRIu32 "\n", path, port);
	fflush(stdout);
	err = echo_loop(port, sigfd, &st);
	mp_port_destroy(port);	/* unregisters path, fails blocked callers */
	close(sigfd);
	if (err)
		return fail("echo", path, err);
	printf("stopped %s: %" PRIu64 " calls, %" PRIu64 " one-way\n", path, st.calls, st.oneway);
	return 0;
}

static const char echo_help[] =
	"usage: msgport echo PATH [--mode OCTAL]\n"
	"Serve PATH: answer every call with its own input (data, raw and fds),\n"
	"count one-way messages.  Prints 'ready PATH port=N' once registered;\n"
	"SIGINT or SIGTERM unregisters PATH and exits 0.\n"
	"  -m, --mode OCTAL   access mode of the entry (default 0666)\n";

static int cmd_echo(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "mode", required_argument, NULL, 'm' },
		{ 0 }
	};
	unsigned long long mode = 0666;
	int c;

	while ((c = next_opt(argc, argv, "echo", ":hm:", lo)) != -1) {
		if (c == 'h') {
			fputs(echo_help, stdout);
			return 0;
		}
		if (parse_num(optarg, 0777, 8, &mode))
			die_usage("echo: bad mode '%s' (octal, at most 0777)", optarg);
	}
	return echo_run(one_path(argc, argv, "echo", 0), (unsigned)mode);
}

/* ---------------------------------------------------------- unregister */

static const char unregister_help[] =
	"usage: msgport unregister PATH\n"
	"Remove PATH from the namespace, by the rules of mp_port_unregister():\n"
	"a stale entry of this user (root: of anyone); a live one only by the\n"
	"process that serves it.\n";

static int cmd_unregister(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *path;
	int err;

	if (next_opt(argc, argv, "unregister", ":h", lo) != -1)
		return fputs(unregister_help, stdout) < 0;
	path = one_path(argc, argv, "unregister", 0);
	err = mp_port_unregister(path);
	return err ? fail("unregister", path, err) : 0;
}

/* ---------------------------------------------------------------- root */

static const char root_help[] =
	"usage: msgport root init DIR [--group NAME]\n"
	"Make DIR a namespace root that every user shares (as root, e.g. for\n"
	"/run/msgport, the default root when it exists), or with --group the\n"
	"members of group NAME only.  See docs/security.md.\n";

static int cmd_root(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "group", required_argument, NULL, 'g' },
		{ 0 }
	};
	const char *group = NULL, *dir;
	gid_t gid;
	int c, err;

	while ((c = next_opt(argc, argv, "root", ":hg:", lo)) != -1) {
		if (c == 'h')
			return fputs(root_help, stdout) < 0;
		group = optarg;
	}
	if (argc - optind < 1 || strcmp(argv[optind], "init") != 0)
		die_usage("root: expected 'init DIR'");
	optind++;
	dir = one_path(argc, argv, "root init", 0);
	if (group && !getgrnam(group))
		die_usage("root: no group '%s'", group);
	gid = group ? getgrnam(group)->gr_gid : (gid_t)-1;
	err = mp_ns_root_init(dir, gid);
	return err ? fail("root init", dir, err) : 0;
}

/* ---------------------------------------------------------------- main */

static const char main_help[] =
	"usage: msgport COMMAND [ARGS]\n"
	"  ls [PATH]                         list namespace entries\n"
	"  lookup PATH                       print PATH's port and id\n"
	"  call PATH [--type N] [--data TEXT | -] [--timeout MS]\n"
	"                                    call a port, print the reply\n"
	"  echo PATH [--mode OCTAL]          run an echo server\n"
	"  unregister PATH                   remove an entry\n"
	"  root init DIR [--group NAME]      make a root shared by users\n"
	"  stat PATH [--json]                a port's live counters and clients\n"
	"  top [-n N] [--json]               every port's rates, each second\n"
	"'msgport COMMAND --help' describes each.  The namespace root is\n"
	"$MSGPORT_ROOT, else /run/msgport if it is a shared root, else\n"
	"$XDG_RUNTIME_DIR/msgport, else /tmp/msgport-$UID.\n";

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
		{ "ls", cmd_ls }, { "lookup", cmd_lookup }, { "call", cmd_call }, { "echo", cmd_echo },
		{ "unregister", cmd_unregister }, { "root", cmd_root }, { "stat", cmd_stat },
		{ "top", cmd_top },
	};

	opterr = 0;
	if (argc < 2)
		die_usage("missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(main_help, stdout);
		return 0;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(argv[1], cmds[k].name) == 0)
			return cmds[k].fn(argc - 1, argv + 1);
	}
	die_usage("unknown command '%s'", argv[1]);
}
