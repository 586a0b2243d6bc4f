/* SPDX-License-Identifier: MIT */
/*
 * <sys/file.h> of libphoenix on msgport: object types of mtCreate and the
 * file server messages of mounting, over glibc's <sys/file.h> (flock()
 * and LOCK_*, which libphoenix's declares too).
 */
#ifndef MSGPORT_PHOENIX_SYS_FILE_H
#define MSGPORT_PHOENIX_SYS_FILE_H

#include_next <sys/file.h>	/* glibc's: flock(), LOCK_SH ... */
#include <sys/types.h>

#include "../phoenix/file.h"
#include "../phoenix/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* i.create.type of mtCreate */
enum { otDir = 0, otFile, otDev, otSymlink, otUnknown };

/* file server messages (mtStat, 0xf53, is the kernel's: phoenix/msg.h) */
enum { mtMount = 0xf50, mtUmount, mtSync, mtMountPoint = 0xf54 };

/* mtMount's input (i.raw) and answer (o.raw) */
typedef struct {
	oid_t mnt;
	unsigned long mode;
	char fstype[16];
} mount_i_msg_t;

typedef struct {
	oid_t oid;
} mount_o_msg_t;

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_PHOENIX_SYS_FILE_H */
