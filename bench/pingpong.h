/* pingpong.h - the benchmark's backend interface.
 *
 * A backend is one way of moving a message (64 bytes unless it has
 * PP_SIZES) between two processes. The harness forks a server and a
 * client (or several, PP_MULTI), pins them to CPUs, and drives
 * the backend through the ops in struct pp_backend. The harness owns all
 * timing, warm-up, statistics and output, so a backend only moves bytes.
 *
 * To add a transport (e.g. a msgport transport): write one file that
 * defines a `const struct pp_backend`, and list it in backends.c.
 *
 * Life of one measured case (one backend, one placement, one metric, one
 * size, one client count):
 *
 *   parent          setup()                                teardown()
 *                      | fork           fork                    ^
 *   server child       +-> pin, attach(), [ready], serve_one() * N, detach()
 *   client child(ren)             +-> pin, wait [ready], attach(),
 *                                     roundtrip() * N, detach()
 *
 * With PP_MULTI there may be up to PP_CLIENTS_MAX clients (c->client is
 * the index of each); the server then serves them all.
 *
 * For throughput the client calls send() and the server recv() instead.
 * Every op returns 0 or -errno; a failing op ends the case, not the run.
 */
#ifndef MSGPORT_BENCH_PINGPONG_H
#define MSGPORT_BENCH_PINGPONG_H

#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PP_MSG_SIZE 64
#define PP_MSG_MAX (64 * 1024)	/* largest message of the size sweep */
#define PP_CLIENTS_MAX 32	/* most clients of one server (PP_MULTI) */
#define PP_CACHELINE 64

/* The message the harness passes: its first 64 bytes. Word 0 is a sequence
 * number: nonzero, increasing by one per message in each direction, and a
 * reply carries its request's number. Backends may use it as their
 * publication token. A backend with PP_SIZES moves c->size bytes from and
 * to the struct pp_msg pointers it gets: the harness's buffers hold that
 * many. Every other backend always gets c->size == PP_MSG_SIZE. */
struct pp_msg {
	uint64_t seq;
	unsigned char body[PP_MSG_SIZE - sizeof(uint64_t)];
};
_Static_assert(sizeof(struct pp_msg) == PP_MSG_SIZE, "pp_msg is one 64-byte message");

enum pp_placement {
	PP_CROSS,	/* client on the first CPU, server on the second */
	PP_SAME,	/* both on the first CPU */
	PP_NPLACE
};

/* For throughput the client is the sender and the server the receiver. */
enum pp_role { PP_SERVER, PP_CLIENT };

struct pp_ctx {
	enum pp_placement placement;
	enum pp_role role;
	void *shared;		/* set by setup() in the parent, inherited by both children */
	void *local;		/* set by attach() in one child, private to it */
	char tag[48];		/* unique per case run: use it to name external objects */
	size_t size;		/* bytes per message (PP_MSG_SIZE unless PP_SIZES) */
	unsigned nclients;	/* clients of the server in this case (1 unless PP_MULTI) */
	unsigned client;	/* this client's index, 0 .. nclients - 1 */
};

enum pp_flags {
	PP_LATENCY	= 1u << 0,	/* implements serve_one + roundtrip */
	PP_THROUGHPUT	= 1u << 1,	/* implements send + recv */
	PP_CROSS_OK	= 1u << 2,	/* meaningful with the peers on two CPUs */
	PP_SAME_OK	= 1u << 3,	/* meaningful with the peers on one CPU */
	PP_SAME_BOUNDED	= 1u << 4,	/* same-core run is pathological: few iterations */
	PP_SIZES	= 1u << 5,	/* moves c->size bytes: measured at every sweep size */
	PP_MULTI	= 1u << 6,	/* one server serves up to PP_CLIENTS_MAX clients */
	PP_SLOW		= 1u << 7,	/* sleeps on every hop: fewer round trips */
	PP_BASE_SPIN	= 1u << 8,	/* baseline for cross-core latency */
	PP_BASE_YIELD	= 1u << 9,	/* baseline for same-core latency */
	PP_BASE_FUTEX	= 1u << 10,	/* baseline for blocking latency */
	PP_BASE_RING	= 1u << 11,	/* baseline for throughput */
	PP_PEER		= 1u << 12,	/* an alternative: msgport rows are divided by it */
	PP_SUBJECT	= 1u << 13,	/* under test (msgport): reported against every peer */
	PP_BLOCKING	= 1u << 14,	/* its raw limit is futex, not spin or yield */
	PP_CALLGRIND	= 1u << 15,	/* counted by the instr part (calls, or one-way if PP_BASE_RING) */
};

/* A helper process some backends need (iceoryx's RouDi). The harness starts
 * it before the first case that needs it and stops it after the last one,
 * and on every error and interrupt path. */
struct pp_daemon {
	const char *name;
	int (*start)(const char *outdir, char *why, size_t len);
	void (*stop)(void);
};

struct pp_backend {
	const char *name;		/* row label */
	const char *what;		/* one line for -l */
	const char *note[PP_NPLACE];	/* per placement, shown in the table; may be NULL */
	unsigned flags;			/* enum pp_flags */
	const struct pp_daemon *daemon;	/* may be NULL */

	/* Parent, once per run; optional. Nonzero means skip, reason in why. */
	int (*probe)(char *why, size_t len);
	/* Parent, before the fork: shared memory, descriptors. Optional; on
	 * failure it undoes itself (teardown is not called). */
	int (*setup)(struct pp_ctx *c);
	/* Each child, after pinning; optional. The client attaches after the
	 * server has, so it may connect here. */
	int (*attach)(struct pp_ctx *c);
	/* Server: receive one request (scratch may hold it) and send it back.
	 * With PP_MULTI it answers whichever client called. */
	int (*serve_one)(struct pp_ctx *c, struct pp_msg *scratch);
	/* Client: send req, wait for the reply, store it in rsp. */
	int (*roundtrip)(struct pp_ctx *c, const struct pp_msg *req, struct pp_msg *rsp);
	/* Throughput: one-way send (client) and receive (server). */
	int (*send)(struct pp_ctx *c, const struct pp_msg *m);
	int (*recv)(struct pp_ctx *c, struct pp_msg *m);
	/* Each child, before it exits, also after a failed attach (so it must
	 * accept a half-attached context). Optional. */
	void (*detach)(struct pp_ctx *c);
	/* Parent, after both children are reaped, whenever setup succeeded
	 * (also when the case failed). Optional. */
	void (*teardown)(struct pp_ctx *c);
};

/* The table of backends, in run order (backends.c). */
extern const struct pp_backend *const pp_backends[];
extern const size_t pp_nbackends;

/* ---- helpers shared by backends (util.c and inline) ---- */

static inline void pp_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();		/* frees the pipeline for the sibling thread */
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Named accessors so that every cross-process access is visible as such. */
static inline uint64_t pp_load_acquire64(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static inline void pp_store_release64(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

static inline uint32_t pp_load_acquire32(_Atomic uint32_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static inline void pp_store_release32(_Atomic uint32_t *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

/* How a polling backend waits for its peer: spinning on a CPU of its own,
 * but giving the CPU away when the peer needs the same one to make progress. */
static inline void pp_poll_relax(const struct pp_ctx *c)
{
	if (c->placement == PP_SAME)
		sched_yield();
	else
		pp_cpu_relax();
}

uint64_t pp_now_ns(void);
void *pp_shm_alloc(size_t len);		/* shared with children forked later; zeroed */
void pp_shm_free(void *p, size_t len);
int pp_write_full(int fd, const void *buf, size_t len);
int pp_read_full(int fd, void *buf, size_t len);	/* -EPIPE on end of file */
int pp_pin_cpu(int cpu);
void pp_close(int *fd);			/* closes and sets -1; ignores -1 */
/* tmpdir.c: mkdtemp under $TMPDIR or /tmp, named after tag; and removal
 * of such a directory with everything in it. */
int pp_tmpdir_make(char *path, size_t len, const char *tag);
int pp_tmpdir_remove(const char *path);
/* Call first in any process a backend forks (e.g. a daemon): restores the
 * signal mask the harness blocked and ties the child's life to the harness
 * with deathsig, so nothing outlives an aborted run. */
void pp_child_init(int deathsig);

#endif
