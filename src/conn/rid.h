/* SPDX-License-Identifier: MIT */
/*
 * Outstanding calls of a port.  A rid names a slot and its generation, so
 * a stale or forged rid is refused instead of answering someone else.
 */
#ifndef MP_RID_H
#define MP_RID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msgport.h"

struct mp_sconn;

struct mp_call {
	struct mp_sconn *conn;	/* holds a reference */
	uint64_t seq;		/* the caller's call number */
	void *in;		/* input data as given to the server */
	size_t in_size;
	int in_kind;		/* enum mp_buf_kind */
	uint64_t in_id;		/* MP_BUF_PAGES: the region */
	void *out;		/* output buffer given to the server, out_cap bytes */
	size_t out_cap;
	int out_kind;		/* enum mp_buf_kind */
	uint64_t out_id;	/* MP_BUF_PAGES: the region */
	uint64_t out_addr;	/* OUT_VM: the caller's output buffer; 0: not offered */
	uint64_t t_recv;	/* mp_ticks() when it was received */
	int64_t deadline_at;	/* the caller's (MP_FRAME_DEADLINE), CLOCK_MONOTONIC ns; 0 none */
	bool inl;		/* holds conn->inl: cleared under the port lock when done */
	struct mp_memcap *cap;	/* a reference: the account charged for its buffers */
	size_t charged;		/* bytes charged there, given back with them */
};

struct mp_rid_slot {
	uint32_t gen;		/* odd while in use */
	uint32_t next_free;
	struct mp_call call;
};

struct mp_rid_table {
	struct mp_rid_slot *slots;
	uint32_t cap;
	uint32_t free_head;	/* UINT32_MAX when empty */
};

/* Store call; returns its rid (never 0) or 0 when out of memory. */
mp_rid_t mp_rid_alloc(struct mp_rid_table *t, const struct mp_call *call);
/* The call of a live rid, or NULL. */
struct mp_call *mp_rid_find(struct mp_rid_table *t, mp_rid_t rid);
/* Release rid (its call must have been taken care of). */
void mp_rid_free(struct mp_rid_table *t, mp_rid_t rid);
/* Free the table; fn is called for each live call first. */
void mp_rid_table_fini(struct mp_rid_table *t, void (*fn)(struct mp_call *, void *), void *arg);
/* A fork child's table: every call's buffers freed, nobody answered (the
 * connections are the parent's). */
void mp_rid_table_forget(struct mp_rid_table *t);

/* Release a buffer the way its kind (enum mp_buf_kind) says. */
void mp_buf_release(void *p, size_t size, int kind, uint64_t id);

/* Release a call's buffers (not its connection). */
void mp_call_free_buffers(struct mp_call *call);

#endif
