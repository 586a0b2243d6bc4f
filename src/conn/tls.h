/* SPDX-License-Identifier: MIT */
/*
 * Per-thread state: the receive buffer, the data of the last one-way
 * message received, and the thread's client connections.  Freed when the
 * thread exits.
 */
#ifndef MP_TLS_H
#define MP_TLS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/transport.h"

#define MP_TLS_RXBUF (sizeof(struct mp_frame) + MP_FRAME_INLINE_MAX)

struct mp_tls {
	struct mp_tls *next;		/* in the list of every thread's state */
	/* The port this thread is using inside mp_recv()/mp_respond(), 0
	 * when none: a hazard pointer that conn/port.c sets and a destroy
	 * waits on ([P1] [P2], conn/port.h). */
	_Atomic uintptr_t port_inuse;
	/* The last port looked up: number, object, and the table's generation
	 * then (valid while it has not changed; conn/port.c). */
	uint32_t pc_port;
	uint32_t pc_gen;
	void *pc_obj;
	char *rxbuf;			/* MP_TLS_RXBUF bytes */
	void *ow_data;			/* last one-way message's data */
	size_t ow_size;
	int ow_mapped;
	bool ow_pages;			/* api/recv.c holds a one-way's pages (mp_pages_oneway_hold) */
	struct mp_cconn **conns;	/* this thread's connections */
	unsigned nconns;
};

/* fn(tls) runs when a thread that has state exits, before it is freed
 * (the connection cache closes the thread's connections). */
void mp_tls_on_thread_exit(void (*fn)(struct mp_tls *));

/* This thread's state once created (initial-exec: no __tls_get_addr). */
extern __thread struct mp_tls *mp_tls_cur __attribute__((tls_model("initial-exec")));

/* Create this thread's state: NULL when out of memory. */
struct mp_tls *mp_tls_create(void);

/* This thread's state, created on first use; NULL when out of memory. */
static inline struct mp_tls *mp_tls_get(void)
{
	struct mp_tls *tls = mp_tls_cur;

	return tls ? tls : mp_tls_create();
}
/* This thread's state if it has any, else NULL (nothing is created). */
struct mp_tls *mp_tls_peek(void);

/* fn(tls, arg) for every thread's state, under the list's lock (a leaf:
 * fn takes no lock). */
void mp_tls_foreach(void (*fn)(struct mp_tls *, void *), void *arg);

void mp_tls_oneway_set(struct mp_tls *tls, void *data, size_t size, int mapped);
void mp_tls_oneway_release(struct mp_tls *tls);

/* Bumped in every fork child: connections of an older generation are the parent's. */
extern unsigned mp_fork_gen;

#endif
