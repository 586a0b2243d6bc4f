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
 * the library), o.data to a buffer of o.size bytes (the caller's capacity)
 * in which the server writes its answer; it may instead point o.data at a
 * buffer of its own.  Before mp_respond() the server sets o.size to the
 * answer's length (at most the capacity), and may set o.raw, o.err and
 * o.fds/o.nfds (not consumed: the server still owns and closes them).
 */
typedef struct mp_msg {
	uint32_t type;		/* application-defined (Phoenix mtRead, ...) */
	uint32_t flags;		/* zero: reserved for data ownership flags */
	mp_oid_t oid;		/* the object the message is about */
	int32_t pid;		/* sender's process id, filled by mp_recv() */
	uint32_t uid;		/* sender's user id, filled by mp_recv() */
	uint32_t gid;		/* sender's group id, filled by mp_recv() */
	uint32_t priority;	/* reserved, zero */
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
	uint32_t flags;		/* zero */
} mp_port_opts_t;

/*
 * Create a port owned by this process, with the lowest free number.
 * Errors: -EINVAL port is NULL; -EACCES/-ENOTDIR the root is not usable
 * (not a directory, or not owned by this user); -ENOSPC no free number.
 */
MP_API int mp_port_create(mp_port_t *port);

/*
 * mp_port_create() with options (opts NULL: the defaults).
 * Errors: those of mp_port_create(); -EINVAL opts->sz too small, unknown
 * transport, flags not zero.
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
 * Publish path (absolute, e.g. "/dev/echo") for port, i.e. oid {port, 0},
 * with access mode bits (0666 style: read bits allow lookup, write bits
 * allow sending).  An entry left by a dead owner is taken over.
 * Errors: -EINVAL port 0, bad path (NULL, empty, relative, "." or ".."
 * component, empty component, longer than MP_PATH_MAX - 1) or mode bits
 * beyond 0777; -ENOENT this process owns no such port; -EEXIST a live
 * registration holds the path.
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
 * port it names, and to anyone when the entry is stale.
 * Errors: -EINVAL bad path; -ENOENT no such entry; -EPERM the entry
 * belongs to a live port of another process.
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
	uint32_t reserved;
} mp_ns_entry_t;

typedef int (*mp_ns_list_fn)(const mp_ns_entry_t *entry, void *arg);

/*
 * Call fn for every entry at or below prefix (NULL or "/" for all), in
 * path order.  A non-zero return from fn stops the walk and is returned.
 * Errors: -EINVAL bad prefix or fn NULL; -ENOENT prefix does not exist.
 */
MP_API int mp_ns_list(const char *prefix, mp_ns_list_fn fn, void *arg);

/* ------------------------------------------------------------ messaging */

/*
 * Call the port: deliver msg and block until the server responds.
 * Returns 0 when the answer is in msg->o (the server's own status in
 * msg->o.err).  Timeout 0: sent only when a receiver is waiting, then the
 * reply is awaited without limit (a dead server still gives -EPIPE).
 * Errors: -EINVAL msg NULL, port 0, bad flags, reserved fields not zero,
 * size without data, i.nfds or o.nfds over MP_FDS_MAX, a negative fd, a
 * bad timeout; -EMSGSIZE i.size or o.size over MP_DATA_MAX; -ENOENT no
 * server listens on port; -EACCES not allowed to send to it; -EAGAIN
 * timeout 0 and no receiver waiting; -ETIMEDOUT no answer in time (the
 * server's later respond fails); -EPIPE the server died or destroyed the
 * port before answering; -EPROTO the server sent a malformed answer
 * (the connection is dropped); -EBADF an fd in i.fds is not open.
 */
MP_API int mp_send(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns);

/*
 * Send msg one-way: msg->o is ignored.  Blocks only while the port's
 * queue is full, up to timeout_ns.  Returns 0 when a receiver was waiting
 * for it (a thread inside mp_recv() with a timeout other than 0), 1 when
 * it was queued.  Errors: as mp_send(), -EAGAIN/-ETIMEDOUT
 * the queue stayed full.
 */
MP_API int mp_send_async(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns);

/*
 * Receive the next message on a port of this process into msg (see
 * mp_msg_t).  Returns 0 for a call (answer it with mp_respond(rid)) and 1
 * for a one-way message (*rid is set to 0).  The input data of a call
 * stays valid until its mp_respond(); that of a one-way message until
 * this thread's next mp_recv() or its exit.  Any number of threads may
 * receive on one port.
 * Errors: -EINVAL msg or rid NULL, port 0, bad timeout; -ENOENT this
 * process owns no such port; -EAGAIN timeout 0 and nothing queued;
 * -ETIMEDOUT nothing arrived in time; -EPIPE the port was destroyed.
 */
MP_API int mp_recv(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns);

/*
 * Answer the call rid with msg->o (o.data/o.size, o.raw, o.err, o.fds).
 * Any thread may respond, in any order.  The rid is used up by every
 * return except -EINVAL, -EMSGSIZE and -EBADF, which change nothing.
 * Errors: -EINVAL msg NULL, port 0, o.nfds over MP_FDS_MAX, size without
 * data; -EMSGSIZE o.size over the caller's capacity; -ENOENT no such port
 * or rid (already answered, or never issued); -EPIPE the caller died or
 * gave up (timed out) before the answer; -EBADF an fd in o.fds is not open.
 */
MP_API int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid);

/* Text for a negative msgport error code (never NULL). */
MP_API const char *mp_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_H */
