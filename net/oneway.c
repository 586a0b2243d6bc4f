/* SPDX-License-Identifier: MIT */
/*
 * One-way sends and pulses other hosts make on our exports (docs/net.md,
 * "Calls"): NATS's delivery thread, which takes a host's calls and
 * one-ways in the order they were published, queues each one-way here
 * and goes on; one sender thread hands them to the servers in that order.
 * A batch (NET_BATCH, forward.c) is one queue entry of many one-ways.
 * A call that came after n one-ways waits (net_oneway_wait()) until the
 * sender has handed on all n before its mp_send(): a sender's one-ways
 * reach the server before its next call, while that call, registered at
 * once, beats as it waits (a backlog of one-ways is not a silent host).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"

struct oneway {
	struct oneway *next;
	natsMsg *m;		/* f.data points into its data */
	struct net_frame f;	/* one NET_SEND or NET_PULSE, or a checked NET_BATCH of them */
	uint64_t n;		/* one-ways in it */
};

static void send_one(struct gw *g, const struct net_frame *f)
{
	mp_msg_t msg = { .type = f->type, .priority = f->priority };
	int err = net_resolve(g, f, &msg.oid);

	if (!err && f->kind == NET_PULSE) {
		err = mp_pulse(msg.oid.port, f->priority, f->value);
	} else if (!err && f->kind == NET_SEND) {
		msg.i.data = (void *)f->data;
		msg.i.size = f->len;
		memcpy(msg.i.raw, f->raw, MP_RAW_SIZE);
		err = mp_send_async(msg.oid.port, &msg, 1000000000ll);
		err = err > 0 ? 0 : err;
	}
	if (err)
		net_log(g, "one-way from %s uid %u dropped: %d", f->from, f->uid, err);
}

/* Each of o's one-ways in turn: a batch's records, in their order. */
static void send_all(struct gw *g, const struct oneway *o)
{
	struct net_batch_it it;
	struct net_frame f;

	if (o->f.kind != NET_BATCH) {
		send_one(g, &o->f);
		return;
	}
	net_batch_begin(&it, &o->f);
	while (net_batch_next(&it, &f) == 1)	/* checked whole by net_send_cb() */
		send_one(g, &f);
}

static void *sender(void *arg)
{
	struct gw *g = arg;

	pthread_mutex_lock(&g->ow.lock);
	for (;;) {
		struct oneway *o;

		while (!g->ow.head)
			pthread_cond_wait(&g->ow.more, &g->ow.lock);
		o = g->ow.head;
		g->ow.head = o->next;
		if (!g->ow.head)
			g->ow.tail = NULL;
		pthread_mutex_unlock(&g->ow.lock);
		send_all(g, o);
		natsMsg_Destroy(o->m);
		pthread_mutex_lock(&g->ow.lock);
		g->ow.sent += o->n;
		free(o);
		pthread_cond_broadcast(&g->ow.done);
	}
	return NULL;
}

int net_oneway_init(struct gw *g)
{
	pthread_condattr_t ca;
	pthread_t t;
	int err;

	pthread_mutex_init(&g->ow.lock, NULL);
	pthread_cond_init(&g->ow.more, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->ow.done, &ca);
	pthread_condattr_destroy(&ca);
	err = -pthread_create(&t, NULL, sender, g);
	if (!err)
		pthread_detach(t);
	return err;
}

uint64_t net_oneway_ticket(struct gw *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->ow.lock);
	n = g->ow.queued;
	pthread_mutex_unlock(&g->ow.lock);
	return n;
}

/* 0 once the first ticket one-ways are handed on; -ETIMEDOUT after
 * timeout_ns (MP_FOREVER: none). */
int net_oneway_wait(struct gw *g, uint64_t ticket, int64_t timeout_ns)
{
	struct timespec ts;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (timeout_ns != MP_FOREVER) {
		int64_t ns = ts.tv_nsec + timeout_ns % 1000000000ll;

		ts.tv_sec += (time_t)(timeout_ns / 1000000000ll + ns / 1000000000ll);
		ts.tv_nsec = (long)(ns % 1000000000ll);
	}
	pthread_mutex_lock(&g->ow.lock);
	while (g->ow.sent < ticket && !err)
		err = timeout_ns == MP_FOREVER ? -pthread_cond_wait(&g->ow.done, &g->ow.lock)
					       : -pthread_cond_timedwait(&g->ow.done, &g->ow.lock, &ts);
	pthread_mutex_unlock(&g->ow.lock);
	return err ? -ETIMEDOUT : 0;
}

void net_send_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct gw *g = arg;
	struct oneway *o = malloc(sizeof(*o));

	(void)nc, (void)sub;
	/* A batch is taken whole or not at all: checked before it is queued. */
	if (!o || net_frame_decode((const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &o->f) ||
	    (o->f.kind != NET_SEND && o->f.kind != NET_PULSE && net_batch_check(&o->f))) {
		if (!o)
			net_log(g, "one-way dropped: no memory");
		free(o);
		natsMsg_Destroy(m);
		return;
	}
	o->m = m;
	o->next = NULL;
	o->n = o->f.kind == NET_BATCH ? o->f.total : 1;
	pthread_mutex_lock(&g->ow.lock);
	if (g->ow.tail)
		g->ow.tail->next = o;
	else
		g->ow.head = o;
	g->ow.tail = o;
	g->ow.queued += o->n;
	pthread_cond_signal(&g->ow.more);
	pthread_mutex_unlock(&g->ow.lock);
}
