/* SPDX-License-Identifier: MIT */
/*
 * <phoenix/types.h> on msgport: the Phoenix-RTOS kernel types that user
 * code sees (oid_t, handle_t, addr_t, id_t) over glibc's <sys/types.h>.
 *
 * Installed under $(includedir)/msgport-phoenix (pkg-config
 * msgport-phoenix); docs/compat.md lists what differs from Phoenix.
 *
 *  - id_t.  Phoenix's id_t is 64 bits; glibc's is a 32-bit unsigned int
 *    used by waitid() and get/setpriority().  This header includes the
 *    glibc headers that use id_t first, then makes id_t a macro for the
 *    64-bit phoenix_id_t, so that Phoenix code saying id_t gets 64 bits
 *    (object ids do not fit 32).  Include other glibc headers that name
 *    id_t before this one.
 *  - addr_t is the width of a pointer (Phoenix: 32 bits on ia32 and the
 *    32-bit ARMs, 64 on aarch64 and riscv64), as on each Phoenix target.
 *  - off_t and time_t are glibc's (64 bits on 64-bit Linux, as Phoenix).
 *  - EOK (0, libphoenix <errno.h>) is defined here: glibc's <errno.h>
 *    cannot be replaced, and every header of this set includes this one.
 */
#ifndef MSGPORT_PHOENIX_TYPES_H
#define MSGPORT_PHOENIX_TYPES_H

#include <stdint.h>
#include <sys/resource.h>	/* these name glibc's id_t: before the macro */
#include <sys/types.h>
#include <sys/wait.h>

typedef uint64_t phoenix_id_t;
#define id_t phoenix_id_t

typedef uintptr_t addr_t;

/* A kernel resource (mutex, condition variable) of this process. */
typedef int handle_t;

/* An object: the port of its server and the server's id for it. */
typedef struct _oid_t {
	uint32_t port;
	id_t id;
} oid_t;

#ifndef EOK
#define EOK 0
#endif

#endif /* MSGPORT_PHOENIX_TYPES_H */
