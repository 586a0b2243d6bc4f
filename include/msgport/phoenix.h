/* SPDX-License-Identifier: MIT */
/*
 * msgport/phoenix.h - the Phoenix-RTOS message passing interface on msgport.
 *
 * Code written to Phoenix-RTOS's proc_send / proc_recv / proc_respond,
 * portCreate / portRegister / lookup and msg_t builds and runs unchanged:
 *
 *   u32 port;  msg_t msg;  unsigned int rid;  oid_t oid;
 *
 *   portCreate(&port);                     // server
 *   oid.port = port; oid.id = 0;
 *   portRegister(port, "/fs", &oid);       // a mount point: see below
 *   for (;;) {
 *       if (proc_recv(port, &msg, &rid) < 0) continue;
 *       ... read msg.i.data / msg.i.raw, write msg.o.data, set msg.o.err ...
 *       proc_respond(port, &msg, rid);
 *   }
 *
 *   lookup("/fs/file", &file, &dev);       // client
 *   msg.type = mtRead; msg.oid = dev; msg.o.data = buf; msg.o.size = len;
 *   proc_send(dev.port, &msg);             // blocks until the respond
 *
 * Every function returns 0 (or what Phoenix returns) on success and a
 * negative errno on failure, as Phoenix does; the errors are msgport's
 * (msgport.h): -ENOENT no such port or rid, -EPIPE the server died or
 * destroyed the port, -EINVAL bad arguments, -EMSGSIZE data over
 * MP_DATA_MAX or an answer longer than the caller's buffer.
 *
 * Semantics, where Phoenix leaves a choice to the implementation:
 *
 *  - proc_send(port, msg) sends type, oid, i.raw and i.data/i.size and
 *    blocks until the server responds (no timeout, as on Phoenix; a dead
 *    server gives -EPIPE).  It gives back o.raw and o.err, and o.data
 *    holds the answer.  o.size is left as the caller set it: Phoenix
 *    keeps o.size as the size of the output buffer, and servers report
 *    lengths in o.err or o.raw (mtRead answers the byte count in o.err).
 *    Bytes of the buffer beyond what the server sent back are unchanged
 *    (see proc_respond).  msg->pid and msg->priority are ignored.  After
 *    a failed proc_send the buffer's contents are unspecified.
 *
 *  - proc_recv(port, msg, &rid) fills every field: i.data points to the
 *    caller's input (owned by the library, valid until proc_respond),
 *    o.data to a zeroed buffer of the caller's o.size bytes (NULL when
 *    0), o.err 0, o.raw zero, pid the sender's process id, priority 0.
 *    One-way messages (mp_send_async from native msgport code) are
 *    received too, with a rid whose proc_respond does nothing.
 *
 *  - proc_respond(port, msg, rid) sends o.raw, o.err and the first o.size
 *    bytes of o.data.  Phoenix maps the caller's buffer, so what the
 *    server wrote is all the caller gets; msgport copies, so a server may
 *    lower o.size to the length it wrote (then only those bytes are
 *    copied and the rest of the caller's buffer is untouched) or leave it
 *    (the whole buffer is copied; bytes it did not write come back zero).
 *    o.data may point to a buffer of the server's own.  -EMSGSIZE: o.size
 *    over the caller's buffer (nothing is sent; the rid stays valid).
 *
 *  - rids.  Phoenix's rid is an unsigned int; msgport's mp_rid_t is 64
 *    bits.  The compat layer keeps a process-wide table that maps each
 *    32-bit rid it hands out (a counter, never 0, skipping values in use)
 *    to its (port, mp_rid_t) pair; proc_respond takes the entry out, so a
 *    rid answers at most once and a stale rid gives -ENOENT (for 2^32
 *    further receives).  Entries of a port go with portDestroy.  Any
 *    thread may respond, in any order, as on Phoenix.
 *
 *  - Names.  portRegister(port, name, oid) registers name for the oid
 *    {port, oid ? oid->id : 0} as a mount point (mp_mount_register, mode
 *    0666): as in Phoenix's kernel every registered name is a place
 *    where lookups of longer paths ask its server with mtLookup.  A
 *    device driver registers its special names bound to its own oids
 *    this way.  "/" registers a root file server.  lookup(name, &file,
 *    &dev) is mp_lookup_dev(): an exact match gives the registered oid in
 *    both; below a mount point the servers answer mtLookup (msg.i.data =
 *    the rest of the path, NUL included; the server sets o.lookup.fil,
 *    o.lookup.dev and o.err = the number of bytes it resolved, fewer to
 *    make the lookup continue at o.lookup.dev; see msgport.h).
 *
 *  - Message types are those of the current Phoenix-RTOS kernel
 *    (include/msg.h, which added mtGetAttrAll before mtLookup; releases
 *    before that numbered mtLookup 10).  mtLookup equals MP_MT_LOOKUP.
 *
 *  - id_t.  Phoenix's id_t is 64 bits; glibc's <sys/types.h> has a 32-bit
 *    id_t.  This header includes the glibc headers that use id_t first,
 *    then defines id_t as a macro for the 64-bit phoenix_id_t, so that
 *    Phoenix code that says id_t gets 64 bits.  Include it after other
 *    system headers that use id_t (<sys/wait.h>, <sys/resource.h> are
 *    already included here).
 */
#ifndef MSGPORT_PHOENIX_H
#define MSGPORT_PHOENIX_H

#include <errno.h>	/* the calls return negative errno values */
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <msgport.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

typedef uint64_t phoenix_id_t;
#define id_t phoenix_id_t

/* A received message's handle, as Phoenix (kernel include/msg.h). */
typedef int msg_rid_t;

/* An object in a server, as Phoenix: same layout as mp_oid_t. */
typedef struct _oid_t {
	u32 port;
	id_t id;
} oid_t;

/* Message types (Phoenix-RTOS kernel include/msg.h). */
enum {
	/* File operations */
	mtOpen = 0, mtClose, mtRead, mtWrite, mtTruncate, mtDevCtl,

	/* Object operations */
	mtCreate, mtDestroy, mtSetAttr, mtGetAttr, mtGetAttrAll,

	/* Directory operations */
	mtLookup, mtLink, mtUnlink, mtReaddir,

	mtCount,

	mtStat = 0xf53
};

/* Object types of mtCreate (libphoenix sys/file.h). */
enum { otDir = 0, otFile, otDev, otSymlink, otUnknown };

/* A message, as Phoenix's msg_t. */
typedef struct _msg_t {
	int type;
	unsigned int pid;
	unsigned int priority;
	oid_t oid;

	struct {
		union {
			/* OPEN/CLOSE */
			struct {
				int flags;
			} openclose;

			/* READ/WRITE/TRUNCATE */
			struct {
				off_t offs;
				size_t len;
				unsigned mode;
			} io;

			/* CREATE */
			struct {
				int type;
				unsigned mode;
				oid_t dev;
			} create;

			/* SETATTR/GETATTR */
			struct {
				oid_t oid;
				long long val;
				int type;
			} attr;

			/* LINK/UNLINK */
			struct {
				oid_t oid;
			} ln;

			/* READDIR */
			struct {
				off_t offs;
			} readdir;

			unsigned char raw[64];
		};

		size_t size;
		const void *data;
	} i;

	struct {
		union {
			/* ATTR */
			struct {
				long long val;
			} attr;

			/* CREATE */
			struct {
				oid_t oid;
			} create;

			/* LOOKUP */
			struct {
				oid_t fil;
				oid_t dev;
			} lookup;

			unsigned char raw[64];
		};

		int err;
		size_t size;
		void *data;
	} o;
} msg_t;

#ifndef __cplusplus
_Static_assert(sizeof(oid_t) == sizeof(mp_oid_t), "oid_t is mp_oid_t");
_Static_assert(sizeof(((msg_t *)0)->i.raw) == MP_RAW_SIZE, "raw size");
_Static_assert(sizeof(((msg_t *)0)->o.lookup) == sizeof(mp_lookup_reply_t), "lookup reply");
_Static_assert(mtLookup == MP_MT_LOOKUP, "mtLookup is msgport's lookup type");
#endif

/* The implementation (libmsgport); use the Phoenix names below. */
MP_API int mp_phx_port_create(u32 *port);
MP_API int mp_phx_port_destroy(u32 port);
MP_API int mp_phx_port_register(u32 port, const char *name, oid_t *oid);
MP_API int mp_phx_lookup(const char *name, oid_t *file, oid_t *dev);
MP_API int mp_phx_send(u32 port, msg_t *msg);
MP_API int mp_phx_recv(u32 port, msg_t *msg, msg_rid_t *rid);
MP_API int mp_phx_respond(u32 port, msg_t *msg, msg_rid_t rid);
MP_API int mp_phx_port_unregister(const char *name);
MP_API int mp_phx_pulse(u32 port, msg_t *msg);

/* Create a port.  Errors: those of mp_port_create(). */
static inline int portCreate(u32 *port)
{
	return mp_phx_port_create(port);
}

/* Destroy a port of this process: its names go, blocked senders get
 * -EPIPE, its outstanding rids are forgotten.  void, as on Phoenix. */
static inline void portDestroy(u32 port)
{
	(void)mp_phx_port_destroy(port);
}

/* Register name for {port, oid ? oid->id : 0} as a mount point (above).
 * Errors: -EINVAL bad name; -ENOENT no such port of this process;
 * -EEXIST the name is taken. */
static inline int portRegister(u32 port, const char *name, oid_t *oid)
{
	return mp_phx_port_register(port, name, oid);
}

/* Unregister name (docs/phoenix-namespace.md): 0 or -ENOENT. */
static inline int portUnregister(const char *name)
{
	return mp_phx_port_unregister(name);
}

/* Resolve name through the namespace and mounted servers (above).
 * Errors: -EINVAL bad name, or file and dev both NULL; -ENOENT; -EACCES;
 * -ELOOP too many hops; -EPROTO a malformed mtLookup answer; a negative
 * o.err a server answered. */
static inline int lookup(const char *name, oid_t *file, oid_t *dev)
{
	return mp_phx_lookup(name, file, dev);
}

/* Send msg to port and wait for the respond (above). */
static inline int proc_send(u32 port, msg_t *msg)
{
	return mp_phx_send(port, msg);
}

/* Receive the next message on port (above); blocks without limit.
 * Errors: -EINVAL; -ENOENT no such port of this process; -EPIPE the
 * port was destroyed. */
static inline int proc_recv(u32 port, msg_t *msg, msg_rid_t *rid)
{
	return mp_phx_recv(port, msg, rid);
}

/* Answer the message rid (above).  Errors: -ENOENT unknown or used rid,
 * or a rid of another port; -EPIPE the caller died; -EMSGSIZE o.size over
 * the caller's buffer; -EINVAL. */
static inline int proc_respond(u32 port, msg_t *msg, msg_rid_t rid)
{
	return mp_phx_respond(port, msg, rid);
}

/* Pulses do not exist yet (issue 12): -ENOSYS. */
static inline int msgPulse(u32 port, msg_t *m)
{
	return mp_phx_pulse(port, m);
}

/* libphoenix's names for the same calls. */
static inline int msgSend(u32 port, msg_t *m)
{
	return mp_phx_send(port, m);
}

static inline int msgRecv(u32 port, msg_t *m, msg_rid_t *rid)
{
	return mp_phx_recv(port, m, rid);
}

static inline int msgRespond(u32 port, msg_t *m, msg_rid_t rid)
{
	return mp_phx_respond(port, m, rid);
}

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_PHOENIX_H */
