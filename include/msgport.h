/* SPDX-License-Identifier: MIT */
/*
 * msgport - microkernel-style message passing between Linux processes.
 *
 * Servers create numbered ports and publish them under paths in a
 * namespace; clients look a path up and get an oid {port, id}.  A client
 * calls a port with mp_send() and blocks until a receiving thread of the
 * server answers with mp_respond(); mp_send_async() sends one-way.
 *
 * Conventions (every function):
 *   - returns 0 (or a documented positive value) on success and a negative
 *     errno value on failure; on failure nothing was changed or sent;
 *   - timeouts are in nanoseconds: 0 polls, MP_FOREVER waits without limit,
 *     any other negative value is -EINVAL;
 *   - the namespace root is $MSGPORT_ROOT, else $XDG_RUNTIME_DIR/msgport,
 *     else /tmp/msgport-$UID (created with mode 0700 on first use).
 *
 * Errors common to every function and not repeated below: -ENOMEM (out of
 * memory) and -EMFILE/-ENFILE (out of file descriptors).
 */
#ifndef MSGPORT_H
#define MSGPORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MP_API __attribute__((visibility("default")))
#else
#define MP_API
#endif

#define MP_VERSION_MAJOR 0
#define MP_VERSION_MINOR 1

/* Wait without limit. */
#define MP_FOREVER ((int64_t)-1)
/* Bytes of the inline application header of each message part. */
#define MP_RAW_SIZE 64
/* File descriptors carried by each message part at most. */
#define MP_FDS_MAX 16
/* Bytes of data carried by each message part at most (1 GiB). */
#define MP_DATA_MAX ((size_t)1 << 30)
/* Messages queued on one ring connection at most (its slots; a long
 * message takes more than one): beyond, mp_send_async() waits or
 * returns -EAGAIN. */
#define MP_RING_QUEUE_MAX 256
/* Connections one client uid holds to one port at most (each thread of
 * each of its processes has one per port, and one more for pulses):
 * beyond, the server refuses a new one at accept and the call that
 * opened it fails with -EUSERS.  Root and the server's own uid are not
 * counted. */
#define MP_PORT_CONN_PER_UID_MAX 64
/* Bytes a server holds for one client connection at most: its ring and
 * bulk areas, received pages mapped in (moved, shared or kept), long
 * input copied and answer buffers of its calls in progress.  A call that
 * would go over is refused at once: the caller's mp_send() returns
 * -ENOBUFS, the connection goes on and later calls work once the server
 * released memory; a one-way over it is dropped.  8 x MP_DATA_MAX on
 * 64-bit, so that no legal use is refused for its size alone: a hybrid
 * connection's bulk areas, grown by doubling up to 1 GiB each way with
 * every step kept mapped, are about 4 GiB, beside a 1 GiB call's input
 * and answer (1 GiB on 32-bit); a server may set less with the
 * environment variable MSGPORT_CONN_MEM_MAX (bytes, read once at its
 * first connection). */
#define MP_CONN_MEM_MAX (sizeof(size_t) >= 8 ? (size_t)8 << 30 : (size_t)1 << 30)
/* mp_msg_t.flags: what sending pages (mp_pages_alloc) does to the sender's
 * copy; see "Long data".  Neither: MP_MOVE.  Both: -EINVAL. */
#define MP_MOVE 0x1u		/* the pages go to the receiver; the sender loses them */
#define MP_SHARE 0x2u		/* both sides keep the same pages mapped */
/*
 * mp_msg_t.flags, mp_send(): the output buffer is in/out (Phoenix's
 * mapped buffers).  The server's o.data starts with the output buffer's
 * current o.size bytes, and what it does not write comes back unchanged:
 * it answers o.size bytes (leaving o.size as mp_recv() set it gives the
 * whole buffer back), and bytes past a lower o.size stay as they were at
 * the caller, as always.  Without it (the default, cheaper: nothing
 * travels to the server but the input) the server's buffer holds no
 * caller bytes (its contents are unspecified; the Phoenix front-end
 * zeroes it).
 * The output's bytes travel after the input as one copy, however the
 * call's data goes (inline, bulk areas, memfd, process_vm_readv):
 * i.size + o.size is at most MP_DATA_MAX (-EMSGSIZE), and input pages
 * travel as ordinary data (they stay with the caller, whatever MP_MOVE
 * says).  Lent output pages (MP_SHARE) get the same bytes copied onto
 * themselves.  With o.size 0, and for mp_send_async(), it does nothing.
 * mp_recv() sets it in flags when the server's o.data holds the caller's
 * bytes; mp_respond() ignores it.
 */
#define MP_OUT_INOUT 0x4u
/* Highest mp_msg_t.priority (Phoenix's scale: 0 highest .. 7 lowest). */
#define MP_PRIO_MAX 7u
/* A SCHED_OTHER thread at nice 0 (see "Priorities" at mp_msg_t). */
#define MP_PRIO_DEFAULT 4u
/* Longest namespace path, terminating NUL included. */
#define MP_PATH_MAX 256

typedef uint32_t mp_port_t;	/* a port number, unique within a root; 0 is never a port */
typedef uint64_t mp_rid_t;	/* a received call, to be answered with mp_respond() */

/* An object inside a server: a file, a device.  Phoenix's oid_t. */
typedef struct mp_oid {
	mp_port_t port;
	uint32_t reserved;	/* zero */
	uint64_t id;
} mp_oid_t;

/* Input part (caller to server) of a message. */
struct mp_msg_in {
	void *data;			/* input data, size bytes */
	size_t size;			/* at most MP_DATA_MAX */
	int fds[MP_FDS_MAX];		/* descriptors passed to the server */
	uint32_t nfds;			/* at most MP_FDS_MAX */
	uint8_t raw[MP_RAW_SIZE];	/* inline application header */
};

/* Output part (server to caller) of a message. */
struct mp_msg_out {
	void *data;			/* output buffer */
	size_t size;			/* capacity before the call, reply length after */
	int fds[MP_FDS_MAX];		/* descriptors passed back to the caller */
	uint32_t nfds;			/* at most MP_FDS_MAX */
	int32_t err;			/* the server's status, for the caller */
	uint8_t raw[MP_RAW_SIZE];	/* inline application header */
};

/*
 * A message, Phoenix's msg_t: a type, an oid, an input and an output part.
 *
 * Caller (mp_send): sets type, oid, i.* and o.data/o.size (the output
 * buffer and its capacity; o.data may be NULL when o.size is 0).  On
 * return o.size is the reply's length, o.raw and o.err are the server's,
 * and o.fds[0 .. o.nfds) are new descriptors that the caller owns.
 * The caller's own i.fds are not consumed: it still owns and closes them.
 *
 * Server (mp_recv): every field is filled in.  i.fds[0 .. i.nfds) are new
 * descriptors that the server owns.  i.data points to the input (owned by
 * the library; flags is MP_MOVE or MP_SHARE when it is pages, else 0),
 * o.data to a buffer of o.size bytes (the caller's capacity) in which the
 * server writes its answer (with MP_OUT_INOUT in flags it holds the
 * caller's bytes, else its contents are unspecified); priority is the
 * message's (see "Priorities" below).  The server may
 * instead point o.data at a buffer of its own (pages from mp_pages_alloc travel without a copy; flags then
 * says MP_MOVE or MP_SHARE for them).  Before mp_respond() the server sets
 * o.size to the answer's length (at most the capacity), and may set o.raw,
 * o.err and o.fds/o.nfds (not consumed: the server still owns and closes
 * them).
 */
/*
 * Priorities.  One scale, Phoenix's: 0 (highest) .. MP_PRIO_MAX (7).  A
 * thread's priority on it:
 *   SCHED_FIFO/SCHED_RR  rt priority 75-99 -> 0, 50-74 -> 1, 25-49 -> 2,
 *                        1-24 -> 3;
 *   SCHED_OTHER/BATCH    nice <= 0 -> 4 (MP_PRIO_DEFAULT), 1-6 -> 5,
 *                        7-13 -> 6, 14-19 -> 7;  SCHED_IDLE -> 7.
 * The library reads it once per thread and caches it: read again at the
 * thread's first send, at every send that leaves the fast path (a
 * priority asked for, fds, long data, a first call), and on the fast path
 * when about 2^26 TSC ticks (tens of milliseconds) have passed since the
 * last read; a thread that changes its own scheduling is seen by its
 * next such send.
 *
 * mp_send()/mp_send_async(): msg->priority is a request.  The message goes
 * at the lower of it and the thread's (numerically the larger): 0, a
 * zeroed message, gets the thread's own; a call may ask for less, never
 * more.  The caller's msg->priority is left as it was.
 *
 * The server does not trust the claim: each connection's messages are
 * clamped to the best priority the peer's process could give its own
 * threads, worked out once at accept from the peer's pid
 * (/proc/PID/status: CAP_SYS_NICE in CapEff gives 0; else the hard
 * "Max realtime priority" of /proc/PID/limits, mapped as above; else 4).
 * mp_recv() gives the result in msg->priority.
 *
 * Order of receipt: calls and one-way messages waiting on a port are
 * received highest priority first; each sender's (each thread's
 * connection's) stay in the order sent, whatever their priorities: among
 * connections, the one whose next message is best goes first, and among
 * equals the port's round-robin order stands (it is fair, not a global
 * arrival order).  On every transport, and across the transports of one
 * port's clients: a port with both ring (ring, hybrid) and sock clients
 * looks at its socket connections (one poll() over them, and one
 * MSG_PEEK of each readable one) before it takes a ring's message of a
 * priority other than 0; a port whose clients use one transport pays
 * nothing for it.
 * Pulses are not ordered by priority (calls and pulses take turns) and
 * read msg->priority MP_PRIO_DEFAULT: they coalesce across the sender's
 * threads, so no one thread's priority is theirs.
 * A port created with MP_PORT_PRIO_INHERIT runs its handlers at their
 * calls' priority (below).
 */
typedef struct mp_msg {
	uint32_t type;		/* application-defined (Phoenix mtRead, ...) */
	uint32_t flags;		/* MP_MOVE, MP_SHARE or 0, for pages (see "Long data"); MP_OUT_INOUT */
	mp_oid_t oid;		/* the object the message is about */
	int32_t pid;		/* sender's process id, filled by mp_recv() */
	uint32_t uid;		/* sender's user id, filled by mp_recv() */
	uint32_t gid;		/* sender's group id, filled by mp_recv() */
	uint32_t priority;	/* 0 .. MP_PRIO_MAX, see "Priorities": asked for by mp_send(), given by mp_recv() */
	struct mp_msg_in i;
	struct mp_msg_out o;
} mp_msg_t;

/* ---------------------------------------------------------------- ports */

/* Transports (see README): kernel sockets, shared-memory rings, rings
 * with a bulk area for long data.  DEFAULT lets each client choose:
 * $MSGPORT_TRANSPORT, else the fastest (hybrid). */
enum mp_transport_id {
	MP_TRANSPORT_DEFAULT = 0,
	MP_TRANSPORT_SOCK = 1,
	MP_TRANSPORT_RING = 2,
	MP_TRANSPORT_HYBRID = 3,
};

/* Options of mp_port_create_opts(); zero-initialise, set sz. */
typedef struct mp_port_opts {
	size_t sz;		/* sizeof(mp_port_opts_t): lets the struct grow */
	uint32_t transport;	/* enum mp_transport_id every client must use */
	uint32_t flags;		/* MP_PORT_* */
} mp_port_opts_t;

/*
 * The server reads long input in place, as if every caller had sent it
 * with MP_SHARE: on the hybrid transport, a call's ordinary input is read
 * where the caller copied it, in the bulk area (one copy instead of two),
 * and msg->flags says MP_SHARE.  The caller can still change those bytes
 * while the server reads them: for a server that copies or validates
 * what it uses once, or trusts its clients.
 */
#define MP_PORT_INPUT_IN_PLACE 0x1u

/*
 * Create a port owned by this process, with the lowest free number.
 * Errors: -EINVAL port is NULL; -EACCES/-ENOTDIR the root is not usable
 * (not a directory, or neither this user's nor root's and closed to
 * others, or a shared directory in it not sticky); -ENOSPC no free number
 * (in a shared root, numbers whose files are another user's are skipped).
 */
MP_API int mp_port_create(mp_port_t *port);

/*
 * mp_port_create() with options (opts NULL: the defaults).
 * Errors: those of mp_port_create(); -EINVAL opts->sz too small, unknown
 * transport, unknown flags.
 */
MP_API int mp_port_create_opts(mp_port_t *port, const mp_port_opts_t *opts);

/*
 * Destroy a port: unregister its paths, fail its blocked senders with
 * -EPIPE, its blocked receivers with -EPIPE, and forget its pending rids.
 * Errors: -EINVAL port is 0; -ENOENT this process owns no such port.
 */
MP_API int mp_port_destroy(mp_port_t port);

/*
 * A descriptor that is readable when mp_recv() on the port would not
 * block (for poll/epoll).  It belongs to the port: do not close it.  While
 * a client connects or hangs up it may be readable with no message, and
 * mp_recv() with timeout 0 then returns -EAGAIN.
 * Errors: -EINVAL port is 0; -ENOENT this process owns no such port.
 */
MP_API int mp_port_fd(mp_port_t port);

/* ------------------------------------------------------------ namespace */

/*
 * The namespace root: $MSGPORT_ROOT, else /run/msgport when it is a
 * shared root (made by root with mp_ns_root_init(), `msgport root init`),
 * else $XDG_RUNTIME_DIR/msgport, else /tmp/msgport-$UID.  A root is the
 * user's own, or root's and not writable by others (anything else is
 * -EACCES).  In a shared root every user's servers register and every
 * user's clients look up and call, by the entries' modes, as for files:
 * the owner's bits for the entry's user, the group's for its group
 * (primary or supplementary), else the others'; read bits allow lookup,
 * write bits allow calls, one-way sends and pulses.  The kernel enforces
 * them (file modes, and the server checks each connecting peer's
 * credentials against its entries): docs/security.md.
 */

/*
 * Make dir a namespace root shared by all users (gid (gid_t)-1), or by
 * the members of group gid only: for root to run (once; again is
 * harmless).  Its ports/, ns/, tmp/ and phx/ are writable by all (or the
 * group, set-group-ID) and sticky: what one user makes there, no other
 * user (but root) can remove, rename or rewrite.
 * Errors: -EINVAL dir NULL or relative; that of the file system (-EPERM
 * when not run by root).
 */
MP_API int mp_ns_root_init(const char *dir, gid_t gid);

/*
 * Publish path (absolute, e.g. "/dev/echo") for port, i.e. oid {port, 0},
 * with access mode bits (0666 style: read bits allow lookup, write bits
 * allow sending).  An entry left by a dead owner is taken over, when it
 * is this user's (root: anyone's).  The directories above path are made
 * (mode 0755, this user's) where missing: registering under a directory
 * needs write access to it.
 * Errors: -EINVAL port 0, bad path (NULL, empty, relative, "." or ".."
 * component, empty component, longer than MP_PATH_MAX - 1) or mode bits
 * beyond 0777; -ENOENT this process owns no such port; -EEXIST a live
 * registration holds the path (or one this user cannot read, or a
 * directory); -EPERM a stale entry of another user holds it; -EACCES no
 * write access to the directory.
 */
MP_API int mp_port_register(mp_port_t port, const char *path, unsigned mode);

/*
 * Publish path for a given oid of one of this process's ports (a device
 * driver's special names).  Same errors as mp_port_register(); oid NULL
 * or oid->reserved not zero gives -EINVAL.
 */
MP_API int mp_oid_register(const mp_oid_t *oid, const char *path, unsigned mode);

/*
 * Remove path from the namespace.  Allowed to the process that owns the
 * port it names, and to any process of the entry's user (or root) when
 * the entry is stale.
 * Errors: -EINVAL bad path; -ENOENT no such entry; -EPERM the entry
 * belongs to a live port of another process, or to another user.
 */
MP_API int mp_port_unregister(const char *path);

/*
 * Find path.  Never blocks on a dead owner: a stale entry is -ENOENT.
 * Errors: -EINVAL bad path or oid NULL; -ENOENT no live entry;
 * -EACCES the entry's mode denies this user read access.
 */
MP_API int mp_lookup(const char *path, mp_oid_t *oid);

/* One namespace entry, as listed by mp_ns_list(). */
typedef struct mp_ns_entry {
	char path[MP_PATH_MAX];
	mp_oid_t oid;
	int32_t owner_pid;	/* the pid that registered it */
	uint32_t mode;		/* access mode bits */
	uint32_t live;		/* 1 live, 0 stale (owner gone) */
	uint32_t flags;		/* MP_NS_ENTRY_MOUNT: a mount point */
} mp_ns_entry_t;

#define MP_NS_ENTRY_MOUNT 0x1u	/* lookups below it go to its server */

typedef int (*mp_ns_list_fn)(const mp_ns_entry_t *entry, void *arg);

/*
 * Call fn for every entry at or below prefix (NULL or "/" for all), in
 * path order.  A non-zero return from fn stops the walk and is returned.
 * Errors: -EINVAL bad prefix or fn NULL; -ENOENT prefix does not exist.
 */
MP_API int mp_ns_list(const char *prefix, mp_ns_list_fn fn, void *arg);

/* ---------------------------------------------------------- introspection */

#define MP_STAT_CLIENTS_MAX 128

/* A connected client of a port, as mp_stat() lists it. */
typedef struct mp_stat_client {
	int32_t pid;
	uint32_t uid;
	uint32_t transport;	/* MP_TRANSPORT_SOCK, _RING or _HYBRID */
} mp_stat_client_t;

/* A running port's counters (since it was made) and clients (now). */
typedef struct mp_stat {
	mp_port_t port;
	int32_t pid;		/* the port's owner */
	uint32_t uid;
	uint32_t transport;	/* what the owner asks of clients, 0 any */
	uint64_t calls;		/* calls received */
	uint64_t oneways;	/* one-way messages received */
	uint64_t pulses;	/* pulses and notices received */
	uint64_t bytes_in;	/* data bytes received */
	uint64_t bytes_out;	/* answer bytes sent */
	uint64_t held;		/* calls received and not answered yet */
	uint32_t nclients;	/* connected clients */
	uint32_t nlisted;	/* of them, in clients[] */
	mp_stat_client_t clients[MP_STAT_CLIENTS_MAX];
	/* appended (the fields above keep their offsets) */
	uint64_t queued;	/* pulses pending in the port as its last receive
				 * left them (calls and one-ways: waiting, below) */
	uint64_t kept_pages;	/* clients' shared pages the server keeps mapped */
	/* appended (the fields above keep their offsets) */
	int64_t waiting;	/* calls and one-ways sent and not taken yet: the sum
				 * of depth[], -1 when one of them is not known */
	int64_t waiting_bytes;	/* the sum of depth_bytes[], -1 likewise */
	int64_t depth[MP_STAT_CLIENTS_MAX];	/* clients[k]'s calls and one-ways
						 * waiting in its ring or socket;
						 * -1 not known (mp_stat(3)) */
	int64_t depth_bytes[MP_STAT_CLIENTS_MAX];	/* the bytes they take there, -1
							 * not known */
} mp_stat_t;

/*
 * Read the live statistics of the port that path names, without
 * stopping its server: counters are read one by one, so two of them may
 * be a message apart.  Any user who may look path up may read them.
 * Errors: -EINVAL bad path or st NULL; -ENOENT no live entry or port;
 * -EACCES lookup denied; -EPROTO the port's statistics are not valid.
 */
MP_API int mp_stat(const char *path, mp_stat_t *st);

/* ---------------------------------------------------------- credentials */

/*
 * A received message's m->pid, m->uid and m->gid are the sender's, as the
 * kernel gave them when it connected (SO_PEERCRED): not anything the
 * sender wrote.  The pid is as this process's PID namespace sees it (0
 * when the sender's is not visible from here, e.g. an outer namespace).
 * Supplementary groups (SO_PEERGROUPS) and the security label
 * (SO_PEERSEC), where the kernel gives them, are kept while a connection
 * of that sender lives; later, only uid and gid count.
 */

/*
 * May the sender of m (from mp_recv()) have want (a mask of R_OK, W_OK,
 * X_OK) on an object of owner, group and mode (0777 bits), by the rules
 * of files: the owner's bits when m->uid is owner, else the group's when
 * m->gid or one of the sender's supplementary groups is group, else the
 * others'.  No exception for uid 0: a server decides that for itself.
 * Returns 0 allowed, -EACCES denied, -EINVAL m NULL or want beyond 7.
 */
MP_API int mp_cred_check(const mp_msg_t *m, uid_t owner, gid_t group, mode_t mode, int want);

/*
 * The sender's supplementary groups into groups[0 .. n): returns how many
 * it has (more than n: only n were written), 0 when none are known.
 * Errors: -EINVAL m NULL, or groups NULL with n > 0.
 */
MP_API int mp_cred_groups(const mp_msg_t *m, gid_t *groups, size_t n);

/*
 * The sender's security label (SELinux context, AppArmor profile) into
 * buf, NUL-terminated: returns its length.  Errors: -EINVAL m or buf
 * NULL; -ENODATA none known; -ERANGE len too small.
 */
MP_API int mp_cred_label(const mp_msg_t *m, char *buf, size_t len);

/* ------------------------------------------------------------ messaging */

/*
 * Call the port: deliver msg and block until the server responds.
 * Returns 0 when the answer is in msg->o (the server's own status in
 * msg->o.err).  Timeout 0: sent only when a receiver is waiting, then the
 * reply is awaited without limit (a dead server still gives -EPIPE).
 * Errors: -EINVAL msg NULL, port 0, bad flags (unknown bits, MP_MOVE with
 * MP_SHARE), priority over MP_PRIO_MAX, reserved fields not zero, size without data, i.nfds or
 * o.nfds over MP_FDS_MAX, a negative fd, a bad timeout, o.data inside
 * pages that i.data moves; -EMSGSIZE i.size or o.size over MP_DATA_MAX
 * (with MP_OUT_INOUT: their sum);
 * -ENOENT no server listens on port; -EACCES not allowed to send to it
 * (also when the server's own check refused the connection at accept);
 * -EUSERS this uid holds MP_PORT_CONN_PER_UID_MAX connections to the port;
 * -EAGAIN timeout 0 and no receiver waiting; -ETIMEDOUT no answer in time
 * (the server's later respond fails); -EPIPE the server died or destroyed
 * the port before answering; -EPROTO the server sent a malformed answer
 * (the connection is dropped); -EBADF an fd in i.fds is not open; -EBUSY
 * i.data or o.data is pages that another thread is moving; -EMFILE also
 * when the server could not receive the call's descriptors (its
 * descriptor table is full: the call never reached the server's user,
 * the descriptors it did get are closed), or when this process could not
 * receive the answer's (the server did answer: the answer's descriptors
 * and any data of it that travelled in a memfd are lost).  Either way the
 * connection goes on and the next call works (docs/security.md, "Limits").
 * -ENOBUFS the call would make the memory the server holds for this
 * connection exceed its limit (MP_CONN_MEM_MAX, or the server's
 * $MSGPORT_CONN_MEM_MAX): refused before the server's user saw it, the
 * connection goes on, moved pages stay the caller's; -ENOMEM, -EMFILE,
 * -ENFILE also when the server lacked memory or descriptors to take the
 * call (it refused it; the connection goes on), or this process to take
 * the answer (the connection is dropped).  -EHOSTDOWN and the errors of
 * mp_respond_error() when the server failed the call with it.
 * Moved pages (see "Long data") are gone from the caller after every
 * return except the errors above that come before sending (-EINVAL,
 * -EMSGSIZE, -ENOENT, -EACCES, -EAGAIN, -EBADF, -EBUSY), -EPIPE when the
 * server was gone before the call reached it, and -ETIMEDOUT when the
 * call could not be sent in time: then they are back, unchanged.  After a
 * failed call the output buffer's contents are unspecified.
 */
MP_API int mp_send(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns);

/*
 * Send msg one-way: msg->o is ignored.  Blocks only while the port's
 * queue is full, up to timeout_ns.  Returns 0 when a receiver was waiting
 * for it (a thread inside mp_recv() with a timeout other than 0), 1 when
 * it was queued.  Errors: as mp_send(), -EAGAIN/-ETIMEDOUT
 * the queue stayed full.  Each connection (each thread's, to each port)
 * queues at most MP_RING_QUEUE_MAX messages on the ring transports, and
 * what its socket's buffer holds on the sock transport.  A one-way whose
 * descriptors the server cannot receive (its table is full) is dropped
 * there, its descriptors closed, and not reported to the sender.
 */
MP_API int mp_send_async(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns);

/*
 * Started calls: a call sent without waiting for its answer, which an
 * event loop learns of on a descriptor (several may be in flight from one
 * thread, to one port or many).  Each has a connection of its own, taken
 * from a small per-process free list of the port's.
 *
 * mp_call_start() checks msg and sends it as mp_send() does, returns
 * without waiting for the answer and sets *call.  msg, its buffers and
 * its descriptors must stay valid, and unchanged, until mp_call_finish()
 * returned anything but -EAGAIN, or mp_call_cancel().  The answer goes to
 * msg->o (o.size, o.raw, o.err, o.fds, o.nfds, as mp_send()) when
 * mp_call_finish() returns 0; msg->o is untouched otherwise.  Long data
 * (up to MP_DATA_MAX) and descriptors go either way, copied: the server
 * never reads or writes this process's memory for a started call.
 * Errors: mp_send()'s that come before sending (-EINVAL msg, call NULL,
 * port 0, bad flags or fields; -EMSGSIZE, -ENOENT, -EACCES, -EUSERS,
 * -EBADF), -EPIPE the server was gone before the call reached it,
 * -ENOMEM, -EOPNOTSUPP i.data (or o.data with MP_SHARE) is pages of
 * mp_pages_alloc() (MP_MOVE and MP_SHARE regions are not offered: use
 * mp_send()).  On error *call is NULL.
 */
typedef struct mp_call mp_call_t;
MP_API int mp_call_start(mp_port_t port, mp_msg_t *msg, mp_call_t **call);

/*
 * The call's wait descriptor: readable (POLLIN) once its answer is there,
 * or its server died; for poll(), epoll or an event loop's add_reader.
 * Owned by the call: never close it; it stays the same until the call is
 * finished or cancelled.  It may turn readable a moment before the answer
 * can be collected (mp_call_finish(call, 0) then gives -EAGAIN: wait on
 * it again).  -EINVAL call NULL.
 */
MP_API int mp_call_fd(const mp_call_t *call);

/*
 * Collect the answer into the msg given to mp_call_start(), waiting up to
 * timeout_ns (MP_FOREVER: without limit; 0 polls).  Returns 0 (the
 * server's status in msg->o.err) or mp_send()'s errors for a call sent:
 * -EPIPE the server died before answering, -EPROTO, -EMFILE, -EACCES; -ETIMEDOUT no
 * answer within timeout_ns > 0 (the call is dropped, as a timed-out
 * mp_send(): the server's later respond fails); -EAGAIN timeout 0 and no
 * answer yet: the call is still live, wait on mp_call_fd() and call
 * again.  Every result but -EAGAIN and -EINVAL (call NULL, a bad timeout)
 * frees the call.
 */
MP_API int mp_call_finish(mp_call_t *call, int64_t timeout_ns);

/*
 * Abandon a started call and free it (NULL: nothing): its connection is
 * dropped, as for a timed-out mp_send(), so the server's respond fails.
 * msg->o is left as it was; descriptors of an answer already received
 * are closed.
 */
MP_API void mp_call_cancel(mp_call_t *call);

/*
 * Receive the next message on a port of this process into msg (see
 * mp_msg_t).  Returns 0 for a call (answer it with mp_respond(rid)), 1
 * for a one-way message and MP_RECV_PULSE (2) for a pulse or a notice
 * (see "pulses"; *rid is set to 0 for both).  The input data of a call
 * stays valid until its mp_respond(); that of a one-way message until
 * this thread's next mp_recv() or its exit (received pages: until then
 * or until mp_pages_keep(), see "Long data").  Any number of threads may
 * receive on one port.
 * Errors: -EINVAL msg or rid NULL, port 0, bad timeout; -ENOENT this
 * process owns no such port; -EAGAIN timeout 0 and nothing queued;
 * -ETIMEDOUT nothing arrived in time; -EPIPE the port was destroyed.
 */
MP_API int mp_recv(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns);

/*
 * Answer the call rid with msg->o (o.data/o.size, o.raw, o.err, o.fds).
 * Pages as o.data travel as msg->flags says (MP_MOVE when 0; mp_recv()
 * left the input's mode there).  Any thread may respond, in any order.
 * The rid is used up by every return except -EINVAL, -EMSGSIZE, -EBADF
 * and -EBUSY, which change nothing.
 * Errors: -EINVAL msg NULL, port 0, bad flags, o.nfds over MP_FDS_MAX,
 * size without data; -EMSGSIZE o.size over the caller's capacity; -ENOENT
 * no such port or rid (already answered, or never issued); -EPIPE the
 * caller died or gave up (timed out) before the answer; -EBADF an fd in
 * o.fds is not open; -EBUSY o.data is pages that another thread is moving.
 */
MP_API int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid);

/*
 * Deadlines (MP_PORT_DEADLINES, below): the time left of call rid's
 * caller, in ns, into *remaining_ns: >= 0 (0 once it has passed: the
 * caller has given up or is about to), or MP_FOREVER when the caller gave
 * no timeout, or the port was created without MP_PORT_DEADLINES (its
 * clients do not send one).  The caller's timeout travels relative (the
 * time left when it sent, so clocks of other time namespaces do not
 * matter) and becomes this process's deadline when the call arrives: the
 * value shrinks as time passes; a peer's value too large for the clock
 * is clamped to MP_FOREVER's meaning (none).  Any thread, any number of
 * times, until the rid is answered.
 * Errors: -EINVAL port 0 or remaining_ns NULL; -ENOENT no such port of
 * this process, or no such rid (answered, or never issued).
 */
MP_API int mp_recv_deadline(mp_port_t port, mp_rid_t rid, int64_t *remaining_ns);

/*
 * Fail the call rid as the library would: its caller's mp_send() returns
 * err, with nothing else (its o.err says err too; no data, no fds); the
 * rid is used up and the connection goes on (the caller's next
 * call works), as for mp_respond().  For servers that stand in for
 * another (a gateway whose remote server died: -EPIPE).  err is one of
 * -EPIPE, -EHOSTDOWN, -ETIMEDOUT, -ENOENT, -ECONNREFUSED, -EOPNOTSUPP,
 * -EMSGSIZE, -EACCES, -EAGAIN.
 * Errors: -EINVAL port 0 or err not in that set (the rid unchanged);
 * -ENOENT no such port or rid; -EPIPE the caller died or gave up.
 */
MP_API int mp_respond_error(mp_port_t port, mp_rid_t rid, int err);

/* Text for a negative msgport error code (never NULL). */
MP_API const char *mp_strerror(int err);

/* ------------------------------------------------------------ long data
 *
 * Pages.  mp_pages_alloc() gives page-aligned memory that travels without
 * being copied: each allocation is a memfd of its own (no name, so a crash
 * leaves nothing behind), mapped shared, holding one descriptor.  Data
 * whose address is the start of an allocation and whose size fits in it
 * (i.data of mp_send/mp_send_async, o.data of mp_respond) travels as the
 * allocation itself, on every transport: its memfd is passed, the
 * receiver maps it, and the cost does not depend on the size.  The whole
 * allocation travels, even when size is less; any other address is
 * ordinary memory (below), even inside an allocation.
 *
 *   MP_MOVE (or flags 0): once sent, the pages are gone from the sender:
 *     no longer accessible (a touch faults with SIGSEGV; the range stays
 *     reserved by the library, which may map a later mp_pages_alloc()
 *     there, so do not munmap it yourself) and forgotten (no
 *     mp_pages_free).  The receiver gets them sealed against every write
 *     (F_SEAL_WRITE: the kernel grants the seal only when no one has them
 *     mapped writable any more), mapped copy-on-write: what it reads can
 *     no longer be changed by anyone, the sender included, and what it
 *     writes is its own.  When the seal is refused (the pages were shared
 *     before, or a hostile sender kept a mapping) the receiver gets a copy
 *     instead.  Moving pages on that the receiver wrote copies them once.
 *     The sender seals them itself before they leave; a move that fails
 *     leaves them with the sender, unchanged and writable.
 *   MP_SHARE: both sides keep the same pages mapped read-write and see
 *     each other's writes at once.  The receiver cannot rely on their
 *     contents: a hostile sender may change them at any time, so it
 *     copies what it must validate.  On the ring and hybrid transports a
 *     server keeps a client's shared pages (input, or lent output) mapped
 *     between messages, up to 16 regions per connection, so sharing the
 *     same pages again costs one ring slot; it lets go when the client
 *     frees or moves them or the connection ends.  Such pages are copied,
 *     not moved, if the server sends them on with MP_MOVE.
 *
 * Received pages (msg->flags MP_MOVE or MP_SHARE in mp_recv) are the
 * receiver's: mp_pages_free() releases them, sending them gives them on.
 * What it leaves is released with the rest of the input, at mp_respond()
 * (a call) or the thread's next mp_recv() (one-way), unless
 * mp_pages_keep() made them its own until mp_pages_free().  A receiver
 * that dies frees what it held: the kernel does, nothing is named.
 *
 * Output, Phoenix in/out: the server writes its answer at o.data and the
 * caller finds it in its own output buffer, o.size bytes:
 *   - a caller that sends with MP_SHARE and whose o.data is the start of
 *     an allocation lends those pages to the server for the call: the
 *     server's o.data points at them, and what it writes there is the
 *     answer, in place, without a copy.  (The server can still write them
 *     later, as with any shared pages.)
 *   - a server that answers with pages of its own: when the caller's
 *     o.data is an allocation that they cover entirely (the server's is at
 *     least as long), they replace it at the same address, without a copy
 *     (bytes past o.size are then the server's); else they are copied.
 *   - any other answer is copied once (below).
 * Buffers of any address and length, page-aligned or not, work the same
 * byte for byte.
 *
 * Ordinary buffers (malloc, stack).  The hybrid transport carries call
 * data up to 256 MiB through its bulk areas: the input is copied into
 * them, then by the server into a buffer of its own, and the answer is
 * written by the server straight into them and copied out once.  With
 * MP_SHARE the server instead reads the input in place, where the caller
 * could still change it (msg->flags tells it MP_SHARE): one copy each way.
 * Other calls with over 32 KiB of data ($MSGPORT_VM_MIN) leave it
 * where it is: the server reads the input with process_vm_readv() and,
 * when the caller waits without limit (MP_FOREVER), writes the answer
 * with process_vm_writev() into [o.data, o.data + capacity) and nowhere
 * else; a caller that may give up gets its answer in the reply instead.
 * The kernel allows that only to a server that may ptrace the caller (same
 * user, caller dumpable, Yama permitting, or CAP_SYS_PTRACE): one that may
 * read and write all of the caller's memory anyway, so nothing is exposed
 * that was not.  Where it refuses, the call goes again with its data
 * (once per connection).  $MSGPORT_VM=0 turns this way off.  Other data
 * travels inline, or in a sealed memfd.
 */

/*
 * Page-aligned memory of at least len bytes (rounded up to whole pages),
 * zero-filled, that travels without a copy.  Returns NULL with errno set:
 * EINVAL len is 0; EOVERFLOW len cannot be rounded up to whole pages;
 * EMSGSIZE len over MP_DATA_MAX; ENOMEM, EMFILE, ENFILE out of memory or
 * descriptors.
 */
MP_API void *mp_pages_alloc(size_t len);

/*
 * Release pages from mp_pages_alloc(), or received ones (addr: i.data,
 * len: i.size or more, within the same whole pages).  Unmapped at once
 * (received shared pages that the connection keeps mapped stay mapped
 * until their client lets go of them); the memory goes back to the system
 * when no process maps it any more.  Servers that keep freed shared
 * pages mapped are told to let go: at once by this thread's connections,
 * with their next message by other threads' connections.
 * Errors: -EINVAL addr/len do not name pages of this process (never
 * allocated, freed already, moved away, or len of other whole pages);
 * -EBUSY another thread is sending them.
 */
MP_API int mp_pages_free(void *addr, size_t len);

/*
 * Keep received pages past mp_respond() / the next mp_recv(): they stay
 * until mp_pages_free() (or until sent on with MP_MOVE).
 * Errors: -EINVAL addr/len do not name pages of this process.
 */
MP_API int mp_pages_keep(void *addr, size_t len);


/* ============================================================== pulses
 *
 * Pulses (QNX's MsgSendPulse, seL4's notifications): a notification of a
 * code and a 64-bit value that never blocks its sender and never makes
 * anyone's memory grow.  Pulses a server has not received yet coalesce
 * per (sender, code): it receives the latest value and how many pulses
 * were merged into it.  mp_recv() returns MP_RECV_PULSE for a pulse, and
 * mp_port_fd() is readable while one is pending.
 *
 * A pulse received (mp_recv() returned MP_RECV_PULSE, *rid is 0):
 *   msg->type   the code;
 *   msg->i.raw  a mp_pulse_info_t (mp_msg_pulse() reads it): the value
 *               and the number of pulses it stands for (1: none merged);
 *   msg->pid, uid, gid  the sender's (for the library's own codes, those
 *               of the process the notice is about, or this process);
 *   msg->oid    {0, 0}; i.size 0, i.data NULL, no fds, flags 0, priority
 *               MP_PRIO_DEFAULT (a pulse carries none: "Priorities");
 *               nothing to answer.
 *
 * Sender: a process has one pulse board per port it pulses (a page of
 * shared memory with MP_PULSE_CODES slots, one per code, and a connection
 * to the port), made at its first pulse to that port, whatever thread
 * sends: every thread's pulses to one port coalesce together, a fork
 * child gets a board of its own.  A pulse writes the slot of its code
 * and wakes the server only when it had taken everything already: a
 * flood costs the sender no system call but a liveness check, and the
 * server one wake-up per time it catches up.  Bounds (memory stays flat):
 * MP_PULSE_CODES distinct codes per (process, port) (-ENOSPC beyond);
 * the server holds at most MP_PULSE_PENDING_MAX (4096) pending pulses
 * of all its senders together (about 200 KiB); when that is full, client
 * pulses wait on their boards (still coalescing) until the server
 * receives some.  Received in turn with calls: a pending pulse never
 * makes a call wait longer than one more pulse, and calls never starve
 * pulses.
 *
 * Codes below MP_PULSE_DISCONNECT are the application's; the library's
 * own, at or above it, are refused by mp_pulse() with -EINVAL.
 */
#define MP_RECV_PULSE 2			/* mp_recv()'s return for a pulse */
#define MP_PULSE_DISCONNECT 0x80000000u	/* first library code: a client left */
#define MP_PULSE_CODES 32		/* distinct codes per (process, port) */
#define MP_PULSE_PENDING_MAX 4096	/* pending pulses a port holds at most */

/* What a received pulse carries, in msg->i.raw. */
typedef struct mp_pulse_info {
	uint64_t value;		/* the latest value sent */
	uint32_t count;		/* pulses it stands for: 1 + those merged (saturates) */
	uint32_t reserved;	/* zero */
} mp_pulse_info_t;

/* The pulse in a message mp_recv() returned MP_RECV_PULSE for. */
static inline mp_pulse_info_t mp_msg_pulse(const mp_msg_t *msg)
{
	mp_pulse_info_t info;

	memcpy(&info, msg->i.raw, sizeof(info));
	return info;
}

/*
 * Send a pulse (code, value) to port.  Never blocks (not on a full ring,
 * not on a server that does not receive) and never grows memory: a pulse
 * of a code still pending replaces its value and counts one more merge.
 * Errors: -EINVAL port 0 or code >= MP_PULSE_DISCONNECT; -EPIPE the port
 * is dead (no server listens on it, destroyed, or its owner died);
 * -EACCES not allowed to connect to it; -ENOSPC MP_PULSE_CODES other
 * codes are in use on this process's board for the port.
 */
MP_API int mp_pulse(mp_port_t port, uint32_t code, uint64_t value);

/*
 * Disconnect notices (QNX's _NTO_CHF_DISCONNECT): a port created with
 * this flag (mp_port_opts_t.flags) gets a pulse of code
 * MP_PULSE_DISCONNECT, value the client's pid, when a client process's
 * last connection to it goes away (every thread of it that called, its
 * pulse board, its watches: counted per pid), so that the server can drop
 * that client's state.  Pending ones coalesce per pid.
 */
#define MP_PORT_DISCONNECT_PULSES 0x2u

/*
 * MP_PORT_PRIO_INHERIT (mp_port_opts_t.flags): the thread that receives a
 * call on this port runs at the call's priority (mp_msg_t.priority, on
 * the scale of "Priorities") while it handles it: from mp_recv() until
 * its mp_respond() of that rid, or its next mp_recv(), whichever comes
 * first; then the thread's own scheduling (policy, rt priority, nice) is
 * put back.  Priorities 0-3 are SCHED_FIFO at rt priority 87, 62, 37, 12;
 * 4-7 SCHED_OTHER at nice 0, 3, 10, 19.  Linux lets a process lower a
 * thread's priority freely but raise it again only with CAP_SYS_NICE, or
 * within RLIMIT_NICE / RLIMIT_RTPRIO: so mp_port_create_opts() refuses the
 * flag with -EPERM unless the process has CAP_SYS_NICE or RLIMIT_NICE >= 20
 * and RLIMIT_RTPRIO >= 87 (it could not undo what it inherits).  Raising
 * the thread above what the system allows (an rt priority refused, say by
 * a cgroup without rt time) is best effort: the thread stays as it was.
 * A thread that leaves a call unanswered keeps the call's priority until
 * its next mp_recv(); answered from another thread, the receiving thread
 * is put back at its own next mp_recv().
 */
#define MP_PORT_PRIO_INHERIT 0x4u

/*
 * MP_PORT_DEADLINES (mp_port_opts_t.flags): the port's clients send each
 * call's remaining timeout with it, which the server reads with
 * mp_recv_deadline() (a gateway passes it on, a server gives up work its
 * caller no longer waits for).  Clients learn it at connect; their calls
 * to such a port take the library's general path (a few microseconds
 * more than the fast path of other ports, which is unchanged).
 */
#define MP_PORT_DEADLINES 0x8u

/* Watches on one notify port at most. */
#define MP_WATCH_MAX 256

/*
 * Death notices (Binder's linkToDeath): notify (a port of this process)
 * gets a pulse (code, value = watched, creds: this process's) when the
 * port watched is destroyed or its owner dies, at once (the watch is a
 * connection to watched: its hang-up is the notice; no thread, no timer).
 * A watch fires once and is gone.  Watching the same port again on the
 * same notify port replaces the code.  At most MP_WATCH_MAX watches per
 * notify port; a fork child does not inherit them.
 * Errors: -EINVAL a port 0 or code >= MP_PULSE_DISCONNECT; -ENOENT notify
 * is not a port of this process, or watched has no live server; -EACCES
 * not allowed to connect to watched; -ENOSPC MP_WATCH_MAX watches.
 */
MP_API int mp_port_watch(mp_port_t watched, mp_port_t notify, uint32_t code);

/*
 * Cancel the watch of watched on notify; a pulse it queued already stays.
 * Errors: -EINVAL a port 0; -ENOENT no such watch (or it fired).
 */
MP_API int mp_port_unwatch(mp_port_t watched, mp_port_t notify);

/* ============================================================ mounting
 *
 * Mount points (Phoenix-RTOS's mounted namespaces).  A server registers a
 * path as a mount point with mp_mount_register(); lookups of paths below
 * it are answered by the server itself:
 *
 *   mp_lookup("/fs/a/b") finds the longest registered prefix of the path.
 *   An exact match is returned at once (a mount point's own path gives
 *   its registered oid).  When the longest prefix is a mount point, say
 *   "/fs" registered for oid S, the library calls port S.port with
 *
 *     type = MP_MT_LOOKUP, oid = S,
 *     i.data = "a/b" (the rest of the path, NUL included), i.size = 4,
 *     no output buffer,
 *
 *   and the server answers (mp_respond) with an mp_lookup_reply_t in
 *   o.raw and, in o.err, the number of bytes of the rest it resolved
 *   (not counting the NUL), or a negative errno (-ENOENT: no such object).
 *     - o.err == strlen(rest): resolved; the reply's file is the object,
 *       its dev the object to talk to (a device node's driver; servers
 *       set dev = file for ordinary objects, or leave dev.port 0).
 *     - o.err < strlen(rest) and rest[o.err] == '/': the rest below that
 *       point is mounted elsewhere: the lookup continues at reply.dev
 *       (on any port) with the remaining path rest + o.err + 1, the same
 *       way.  At most MP_LOOKUP_HOPS_MAX calls are made (-ELOOP).
 *
 *   Plain entries (mp_port_register, mp_oid_register) have nothing below
 *   them: "/a/b" below a plain "/a" is -ENOENT, as before.  A mount point
 *   cannot have registered entries below it (-EEXIST), nor be registered
 *   over a directory of entries (-EEXIST).  "/" itself may be a mount
 *   point (a root file server): paths without a registered prefix are
 *   then asked of it.  "/" is still no entry name for mp_lookup() and
 *   mp_port_unregister() (-EINVAL): mp_lookup_dev("/") gives the root
 *   mount point's oid, and it goes away with its port (mp_port_destroy,
 *   or the owner's exit; a stale one is taken over).
 *
 *   The values are Phoenix-RTOS's: MP_MT_LOOKUP is its mtLookup, and
 *   mp_lookup_reply_t is laid out as its o.lookup { fil, dev }, so a
 *   Phoenix server (msgport/phoenix.h) answers lookups unchanged.
 *   A mount point's server must answer lookups without calling into the
 *   same lookup (a single-threaded server that looks up a path below its
 *   own mount point deadlocks, as on Phoenix).
 */

/* Type of the lookup calls sent to a mount point's server. */
#define MP_MT_LOOKUP 11u
/* Lookup calls one mp_lookup() makes at most (mount hops). */
#define MP_LOOKUP_HOPS_MAX 16

/* A mount point server's answer to MP_MT_LOOKUP, in o.raw. */
typedef struct mp_lookup_reply {
	mp_oid_t file;		/* the object found (reserved fields ignored) */
	mp_oid_t dev;		/* the object to talk to, or where to continue */
} mp_lookup_reply_t;

/*
 * Register path (absolute, or "/" for the root) as a mount point served
 * by oid (a directory object of one of this process's ports): lookups
 * below path become MP_MT_LOOKUP calls to oid->port with msg.oid = *oid.
 * mp_port_unregister() and mp_port_destroy() remove it like any entry.
 * Errors: those of mp_oid_register(); -EEXIST also when entries are
 * registered below path.
 */
MP_API int mp_mount_register(const mp_oid_t *oid, const char *path, unsigned mode);

/*
 * Look path up through mount points (as mp_lookup), giving both oids of
 * the final answer: *file the object, *dev the object to talk to (for an
 * exact match of a registered entry both are its oid).  Either pointer
 * may be NULL, not both.  mp_lookup() gives *dev, or *file when
 * dev.port is 0.
 * Errors: those of mp_lookup(); -ELOOP more than MP_LOOKUP_HOPS_MAX
 * calls; -EPROTO a server answered a lookup with a malformed reply;
 * the error a server answered (o.err < 0), e.g. -ENOENT; -ENOENT also
 * when a mount point's server died or does not listen.
 */
MP_API int mp_lookup_dev(const char *path, mp_oid_t *file, mp_oid_t *dev);

/* ------------------------------------------------ pulses from descriptors
 *
 * Interrupt forwarding: a readable descriptor (an eventfd, a timerfd, a
 * UIO device's fd, ...) becomes pulses to a port, with no thread per
 * source.  The library has no thread of its own: the port's owner watches
 * the descriptor in its receive loop (its epoll set; mp_port_fd() is
 * readable with it), and each time it is readable reads it once and
 * queues the pulse (code, value), coalesced per source like any pulse:
 *   eventfd, timerfd  value = the 8-byte count the read returns (and resets);
 *   /dev/uioN         value = the 4-byte interrupt count (cumulative);
 *   anything else     (a pipe, a socket, a tty) value = bytes read and
 *                     thrown away, up to 4096 per pulse.
 * The pulse's pid, uid, gid are those of the process that registered it.
 * The library keeps a descriptor of its own (a dup, or for a character
 * device a fresh open of it): the caller may close fd at once, and the
 * source lives until cancelled or its port destroyed, or until it ends
 * (end of file, a read error, a hang-up with nothing to read): then it is
 * dropped without a pulse.  It is read without ever blocking the
 * receiver, whatever the sender later does with its own copy (O_NONBLOCK
 * is shared by dups: the library reads with RWF_NOWAIT or MSG_DONTWAIT,
 * or from its own description); a file that cannot be read so is refused.
 * Don't read the file yourself after registering: reads race.
 * The server of another process's port shares fd's open file description:
 * one you do not trust can clear its O_NONBLOCK and fill an eventfd's
 * counter, and your own write() to it then blocks; give such a server the
 * read end of a pipe (your write end stays your own description).
 *
 * port may be another process's: fd then goes to it in a call of a
 * library-reserved message type (mp_recv() serves it and never returns
 * it), and mp_pulse_on_fd() blocks until the server has received it and
 * returns its verdict.
 * Bounds: MP_PULSE_FD_MAX sources per port, MP_PULSE_FD_PER_PID per
 * registering process; one source per (process, code).
 * Errors: -EINVAL port 0, code >= MP_PULSE_DISCONNECT, fd not readable
 * or not one epoll can watch (a regular file, a directory); -EBADF fd is
 * not open; -EEXIST this process has a source with that code on the port
 * already; -ENOSPC the bounds above; -EOPNOTSUPP no way to read fd
 * without blocking; -EPIPE the port is destroyed; and for another
 * process's port, mp_send()'s errors (-ENOENT, -EACCES, -EPIPE).
 */
#define MP_PULSE_FD_MAX 64		/* fd sources a port watches at most */
#define MP_PULSE_FD_PER_PID 16		/* ... of which one process registers at most */

MP_API int mp_pulse_on_fd(mp_port_t port, int fd, uint32_t code);

/*
 * Stop the source this process registered on port with code (its
 * descriptor is closed; a pulse it queued already may still be received).
 * Another process's port: asked as mp_pulse_on_fd() registers.  After
 * fork, the child cannot cancel its parent's sources.
 * Errors: -EINVAL port 0 or code >= MP_PULSE_DISCONNECT; -ENOENT no such
 * source; mp_send()'s errors for another process's port.
 */
MP_API int mp_pulse_on_fd_cancel(mp_port_t port, uint32_t code);

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_H */
