/* SPDX-License-Identifier: MIT */
/*
 * msgport/phoenix.h - the Phoenix-RTOS message passing interface on msgport.
 *
 * Real Phoenix-RTOS code includes libphoenix's <sys/msg.h>, found with
 * pkg-config msgport-phoenix, and links libmsgport-phoenix; this header is
 * for code that also uses msgport's own API (and for the library):
 *
 *   uint32_t port;  msg_t msg;  msg_rid_t rid;  oid_t oid;
 *
 *   portCreate(&port);                     // server
 *   oid.port = port; oid.id = 0;
 *   portRegister(port, "/fs", &oid);       // a mount point: see below
 *   for (;;) {
 *       if (msgRecv(port, &msg, &rid) < 0) continue;
 *       ... read msg.i.data / msg.i.raw, write msg.o.data, set msg.o.err ...
 *       msgRespond(port, &msg, rid);
 *   }
 *
 *   lookup("/fs/file", &file, &dev);       // client
 *   msg.type = mtRead; msg.oid = dev; msg.o.data = buf; msg.o.size = len;
 *   msgSend(dev.port, &msg);               // blocks until the respond
 *
 * proc_send, proc_recv and proc_respond are the same calls as msgSend,
 * msgRecv and msgRespond (the names of msgport's first Phoenix layer).
 *
 * Every function returns 0 (or what Phoenix returns) on success and a
 * negative errno on failure, as Phoenix does; the errors are msgport's
 * (msgport.h), mapped as the Phoenix kernel answers: -EINVAL bad
 * arguments, and a port that does not exist, was destroyed, or whose
 * server died during the call; -ENOENT no such name or rid; -EMSGSIZE
 * data over MP_DATA_MAX or an answer longer than the caller's buffer.
 *
 * Semantics, where Phoenix leaves a choice to the implementation:
 *
 *  - proc_send(port, msg) sends type, oid, i.raw and i.data/i.size and
 *    blocks until the server responds (no timeout, as on Phoenix; a dead
 *    server gives -EINVAL).  It gives back o.raw and o.err, and o.data
 *    holds the answer.  o.size is left as the caller set it: Phoenix
 *    keeps o.size as the size of the output buffer, and servers report
 *    lengths in o.err or o.raw (mtRead answers the byte count in o.err).
 *    The output buffer is in/out, as if mapped into the server (it is
 *    sent along, MP_OUT_INOUT): the server sees its contents, and bytes
 *    the server does not write come back unchanged (see proc_respond).
 *    msg.priority is set by the call: the sending thread's priority
 *    (priority(), beginthreadex(); 0 highest .. 7, 4 by default), as on
 *    Phoenix, but never above the thread's Linux priority on msgport's
 *    scale (msgport.h, "Priorities"); msg->pid is ignored.  After a failed proc_send the buffer's
 *    contents are unspecified.
 *
 *  - proc_recv(port, msg, &rid) fills every field: i.data points to the
 *    caller's input (owned by the library, valid until proc_respond),
 *    o.data to a buffer of the caller's o.size bytes (NULL when 0) that
 *    holds the caller's output buffer as it was (zeroed when the caller
 *    is native msgport code that did not send it, MP_OUT_INOUT), o.err 0,
 *    o.raw zero, pid the sender's process id, priority the sending
 *    thread's (0 .. 7; native callers that leave msg.priority 0 send
 *    their thread's, 4 by default).
 *    One-way messages (mp_send_async from native msgport code) are
 *    received too, with a rid whose proc_respond does nothing.
 *
 *  - proc_respond(port, msg, rid) sends o.raw, o.err and the first o.size
 *    bytes of o.data.  Phoenix maps the caller's buffer, so what the
 *    server writes in place; msgport copies the buffer in and back, so a
 *    server may leave o.size (the whole buffer is copied back: bytes it
 *    did not write come back as the caller had them) or lower it to the
 *    length it wrote (only those bytes are copied; the rest of the
 *    caller's buffer is untouched).
 *    o.data may point to a buffer of the server's own.  -EMSGSIZE: o.size
 *    over the caller's buffer (nothing is sent; the rid stays valid).
 *
 *  - rids.  Phoenix's rid is an int (msg_rid_t); msgport's mp_rid_t is 64
 *    bits.  The compat layer keeps a process-wide table that maps each
 *    32-bit rid it hands out (a counter, never 0, skipping values in use)
 *    to its (port, mp_rid_t) pair; proc_respond takes the entry out, so a
 *    rid answers at most once and a stale rid gives -ENOENT (for 2^32
 *    further receives).  Entries of a port go with portDestroy.  Any
 *    thread may respond, in any order, as on Phoenix.
 *
 *  - Names follow the Phoenix kernel's rules (docs/phoenix-namespace.md):
 *    any string is a name, registrations nest (the longest registered
 *    prefix answers, its server asked with mtLookup for the rest: the
 *    server sets o.lookup.fil, o.lookup.dev and o.err = the bytes it
 *    resolved, fewer to continue at o.lookup.dev), ".", ".." and "//" go
 *    to the servers, a name stays until portUnregister even after its
 *    port is gone, and any process of the user may unregister any name.
 *    lookup(name, &file, &dev) finds native entries too.

 *  - Message types are those of the current Phoenix-RTOS kernel
 *    (include/msg.h, which added mtGetAttrAll before mtLookup; releases
 *    before that numbered mtLookup 10).  mtLookup equals MP_MT_LOOKUP.
 *
 *  - The Phoenix types, constants and calls are those of libphoenix's
 *    headers, which this one includes by a path relative to itself (so it
 *    works in the source tree and installed): <sys/msg.h>, <sys/file.h>
 *    and the <phoenix/> headers of include/msgport-phoenix/ (installed under
 *    $(includedir)/msgport-phoenix, found by pkg-config msgport-phoenix).
 *    Their functions are in libmsgport-phoenix: link -lmsgport-phoenix
 *    -lmsgport.  This header adds u8..u64 and the mp_phx_* calls of
 *    libmsgport that the Phoenix names call.  id_t is a macro for 64 bits
 *    (phoenix/types.h says why).
 */
#ifndef MSGPORT_PHOENIX_H
#define MSGPORT_PHOENIX_H

#include <errno.h>	/* the calls return negative errno values */
#include <stddef.h>
#include <stdint.h>

#include <msgport.h>

#include "../msgport-phoenix/sys/file.h"
#include "../msgport-phoenix/sys/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#ifndef __cplusplus
_Static_assert(sizeof(oid_t) == sizeof(mp_oid_t), "oid_t is mp_oid_t");
_Static_assert(sizeof(((msg_t *)0)->i.raw) == MP_RAW_SIZE, "raw size");
_Static_assert(sizeof(((msg_t *)0)->o.lookup) == sizeof(mp_lookup_reply_t), "lookup reply");
_Static_assert(mtLookup == MP_MT_LOOKUP, "mtLookup is msgport's lookup type");
#endif

/* The implementation (libmsgport), called by the Phoenix names of
 * libmsgport-phoenix (<sys/msg.h>); one each. */
MP_API int mp_phx_port_create(u32 *port);
MP_API int mp_phx_port_destroy(u32 port);
MP_API int mp_phx_port_register(u32 port, const char *name, oid_t *oid);
MP_API int mp_phx_port_unregister(const char *name);
MP_API int mp_phx_lookup(const char *name, oid_t *file, oid_t *dev);
MP_API int mp_phx_send(u32 port, msg_t *msg);
MP_API int mp_phx_pulse(u32 port, msg_t *msg);
MP_API int mp_phx_recv(u32 port, msg_t *msg, msg_rid_t *rid);
MP_API int mp_phx_respond(u32 port, msg_t *msg, msg_rid_t rid);

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_PHOENIX_H */
