/* SPDX-License-Identifier: MIT */
/*
 * <phoenix/msg.h> on msgport: the message of Phoenix-RTOS (msg_t), its
 * types and the rid type, with the layout of the kernel's include/msg.h.
 *
 * A message carries a type, the target object (oid), 64 raw bytes each
 * way for small arguments and answers, an input buffer (i.data, i.size)
 * and an output buffer (o.data, o.size).  The server fills o.err and the
 * output.  pid and priority are set by the receive.
 */
#ifndef MSGPORT_PHOENIX_MSG_H
#define MSGPORT_PHOENIX_MSG_H

#include <stddef.h>

#include "types.h"

/* A received message's handle: msgRecv gives it, msgRespond takes it. */
typedef int msg_rid_t;

enum {
	/* files */
	mtOpen = 0, mtClose, mtRead, mtWrite, mtTruncate, mtDevCtl,
	/* objects */
	mtCreate, mtDestroy, mtSetAttr, mtGetAttr, mtGetAttrAll,
	/* directories */
	mtLookup, mtLink, mtUnlink, mtReaddir,

	mtCount,

	mtStat = 0xf53
};

#pragma pack(push, 8)	/* as the kernel: natural alignment on 64-bit Linux */

/* One attribute of mtGetAttrAll: its value, or the error reading it. */
struct _attr {
	long long val;
	int err;
};

/* mtGetAttrAll's answer (o.data): every attribute of an object. */
struct _attrAll {
	struct _attr mode;
	struct _attr uid;
	struct _attr gid;
	struct _attr size;
	struct _attr blocks;
	struct _attr ioblock;
	struct _attr type;
	struct _attr port;
	struct _attr pollStatus;
	struct _attr eventMask;
	struct _attr cTime;
	struct _attr mTime;
	struct _attr aTime;
	struct _attr links;
	struct _attr dev;
};

typedef struct _msg_t {
	int type;
	int pid;		/* the sender's process id */
	unsigned int priority;
	oid_t oid;

	struct {
		union {
			struct {	/* mtOpen, mtClose */
				unsigned int flags;
			} openclose;

			struct {	/* mtRead, mtWrite, mtTruncate */
				off_t offs;
				size_t len;
				unsigned int mode;
			} io;

			struct {	/* mtCreate */
				int type;
				unsigned int mode;
				oid_t dev;
			} create;

			struct {	/* mtSetAttr, mtGetAttr */
				long long val;
				int type;
			} attr;

			struct {	/* mtLink, mtUnlink */
				oid_t oid;
			} ln;

			struct {	/* mtReaddir */
				off_t offs;
			} readdir;

			unsigned char raw[64];
		};

		size_t size;
		const void *data;
	} i;

	struct {
		union {
			struct {	/* mtGetAttr */
				long long val;
			} attr;

			struct {	/* mtCreate */
				oid_t oid;
			} create;

			struct {	/* mtLookup */
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

#pragma pack(pop)

#endif /* MSGPORT_PHOENIX_MSG_H */
