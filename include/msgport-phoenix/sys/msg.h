/* SPDX-License-Identifier: MIT */
/*
 * <sys/msg.h> of libphoenix on msgport: ports, names and messages.
 *
 * Found through pkg-config msgport-phoenix (-I.../msgport-phoenix): it
 * hides glibc's SysV <sys/msg.h>, which only code built for Phoenix sees.
 * The functions are in libmsgport-phoenix; they return EOK (0) or a
 * negative errno.  What each does, and where it differs from the Phoenix
 * kernel: docs/compat.md and <msgport/phoenix.h>.
 */
#ifndef MSGPORT_PHOENIX_SYS_MSG_H
#define MSGPORT_PHOENIX_SYS_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../phoenix/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ports and names */
extern int portCreate(uint32_t *port);
extern void portDestroy(uint32_t port);
extern int portRegister(uint32_t port, const char *name, oid_t *oid);
extern int portUnregister(const char *name);
extern int lookup(const char *name, oid_t *file, oid_t *dev);

/* messages */
extern int msgSend(uint32_t port, msg_t *m);
extern int msgPulse(uint32_t port, msg_t *m);
extern int msgRecv(uint32_t port, msg_t *m, msg_rid_t *rid);
extern int msgRespond(uint32_t port, msg_t *m, msg_rid_t rid);

/* the names of msgport's first Phoenix front-end: msgSend, msgRecv and
 * msgRespond under another name */
extern int proc_send(uint32_t port, msg_t *m);
extern int proc_recv(uint32_t port, msg_t *m, msg_rid_t *rid);
extern int proc_respond(uint32_t port, msg_t *m, msg_rid_t rid);

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_PHOENIX_SYS_MSG_H */
