/* SPDX-License-Identifier: MIT */
/*
 * Calls other hosts make on our exports (docs/net.md, "Calls"): queued
 * (NET_SERVE_MAX at once, -EAGAIN beyond) for a bounded pool of worker
 * threads (--workers; made as needed, kept: each keeps its connections
 * to the servers it called), which mp_send() the real server with the
 * caller's deadline (at most our --call-timeout) less the time the call
 * waited in the queue, while net_beat() tells the caller's gateway every
 * NET_BEAT_NS that the call, running or queued, is alive.  The answer goes
 * back in chunks that fit NATS's max_payload.  One-way sends and pulses:
 * oneway.c; a call waits for the one-ways that came before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

struct serving {
	struct serving *next;
	struct serving *qnext;	/* the pool's queue */
	struct gw *g;
	char reply[256];	/* the caller gateway's reply subject */
	struct net_frame f;	/* f.data points into m's data */
	natsMsg *m;		/* the call as it came, kept until answered */
	int64_t beat_ns;
	int64_t got_ns;		/* when it came: its time in the queue counts */
	uint64_t after;		/* one-ways that came before it (net_oneway_ticket()) */
};

int net_resolve(struct gw *g, const struct net_frame *f, mp_oid_t *oid)
{
	memset(oid, 0, sizeof(*oid));
	if (f->path[0]) {	/* a group call: whichever member took it resolves */
		if (net_group_of(g, f->path) < 0)
			return -ENOENT;
		return mp_lookup(f->path, oid);
	}
	if (!net_handed_has(g, f->port, f->id))
		return -ENOENT;	/* never handed out by our lookups */
	oid->port = f->port;
	oid->id = f->id;
	return 0;
}

static void reply_err(struct gw *g, const char *reply, int err)
{
	struct net_frame r = { .kind = NET_REPLY, .status = err };

	net_publish(g, reply, NULL, &r, NULL, 0);
}

/* The answer in chunks of at most max_payload bytes each. */
static void reply_ok(struct gw *g, const char *reply, const mp_msg_t *msg)
{
	struct net_frame r = { .kind = NET_REPLY, .o_err = msg->o.err, .total = msg->o.size };
	size_t room = g->max_payload - NET_HDR_SIZE, off = 0;

	memcpy(r.raw, msg->o.raw, MP_RAW_SIZE);
	do {
		size_t n = msg->o.size - off < room ? msg->o.size - off : room;

		r.offset = off;
		if (net_publish(g, reply, NULL, &r, (const char *)msg->o.data + off, n))
			return;	/* the caller's gateway will hear nothing more: -EHOSTDOWN */
		off += n;
	} while (off < msg->o.size);
}

static void unlist(struct gw *g, struct serving *s)
{
	pthread_mutex_lock(&g->lock);
	for (struct serving **pp = &g->serving; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

/* The caller's deadline (NET_CALL's, relative; 0 none), at most our own
 * --call-timeout, less the time the call waited for a worker: the remote
 * call never outlives its caller.  0: it has run out already. */
static int64_t call_timeout(const struct gw *g, const struct serving *s)
{
	int64_t dl = s->f.deadline_ns > INT64_MAX ? INT64_MAX : (int64_t)s->f.deadline_ns;
	int64_t cap = g->o.call_timeout_ns, waited = net_now_ns() - s->got_ns;

	if (dl && cap)
		dl = dl < cap ? dl : cap;
	else if (!dl)
		dl = cap;
	if (!dl)
		return MP_FOREVER;
	return dl > waited ? dl - waited : 0;
}

/* A worker's answer buffer, kept between calls up to NET_OBUF_KEEP bytes
 * (a fresh megabyte per call costs more than its copy). */
#define NET_OBUF_KEEP ((size_t)1 << 20)
struct obuf {
	void *p;
	size_t cap;
};

static void *obuf_get(struct obuf *b, size_t n)
{
	n = n ? n : 1;
	if (n > NET_OBUF_KEEP)
		return malloc(n);
	if (n > b->cap) {
		free(b->p);
		b->p = malloc(n);
		b->cap = b->p ? n : 0;
	}
	return b->p;
}

static void obuf_put(struct obuf *b, void *p)
{
	if (p != b->p)
		free(p);
}

static void serve_one(struct gw *g, struct serving *s, struct obuf *ob)
{
	mp_msg_t msg = { .type = s->f.type, .priority = s->f.priority };
	int64_t timeout = call_timeout(g, s);
	int err = net_resolve(g, &s->f, &msg.oid);

	msg.i.data = (void *)s->f.data;
	msg.i.size = s->f.len;
	memcpy(msg.i.raw, s->f.raw, MP_RAW_SIZE);
	msg.o.size = (size_t)s->f.total;
	msg.o.data = obuf_get(ob, msg.o.size);
	if (!err && timeout && (err = net_oneway_wait(g, s->after, timeout)) == 0)
		timeout = call_timeout(g, s);	/* less the wait for those one-ways */
	if (!err && !timeout)
		err = -ETIMEDOUT;	/* ran out while every worker was busy */
	if (!err)
		err = msg.o.data ? mp_send(msg.oid.port, &msg, timeout) : -ENOMEM;
	for (uint32_t k = 0; !err && k < msg.o.nfds && k < MP_FDS_MAX; k++)
		close(msg.o.fds[k]);	/* descriptors do not cross hosts */
	unlist(g, s);
	net_log(g, "call from %s uid %u on %s %u:%llu: %d", s->f.from, s->f.uid, s->f.path,
		msg.oid.port, (unsigned long long)msg.oid.id, err);
	if (err)
		reply_err(g, s->reply, err);
	else
		reply_ok(g, s->reply, &msg);
	obuf_put(ob, msg.o.data);
	natsMsg_Destroy(s->m);
	free(s);
	atomic_fetch_sub(&g->nserving, 1);
}

/* A worker: the queue's calls, oldest first, for ever. */
static void *worker(void *arg)
{
	struct gw *g = arg;
	struct obuf ob = { 0 };

	pthread_mutex_lock(&g->pool.lock);
	for (;;) {
		struct serving *s;

		while (!g->pool.head) {
			g->pool.idle++;
			pthread_cond_wait(&g->pool.cond, &g->pool.lock);
			g->pool.idle--;
		}
		s = g->pool.head;
		g->pool.head = s->qnext;
		if (!g->pool.head)
			g->pool.tail = NULL;
		g->pool.queued--;
		pthread_mutex_unlock(&g->pool.lock);
		serve_one(g, s, &ob);
		pthread_mutex_lock(&g->pool.lock);
	}
	return NULL;
}

/* Queue s; a new worker when none is idle and the pool may grow.  Fails
 * only when there is no worker at all to take it. */
static int serve_start(struct gw *g, struct serving *s)
{
	int err = 0;

	pthread_mutex_lock(&g->lock);
	s->next = g->serving;
	g->serving = s;
	pthread_mutex_unlock(&g->lock);
	pthread_mutex_lock(&g->pool.lock);
	/* Every idle worker has a queued call to take already: one more. */
	if (g->pool.queued >= g->pool.idle && g->pool.n < g->o.workers) {
		pthread_attr_t a;
		pthread_t t;

		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, worker, g) == 0)
			g->pool.n++;
		pthread_attr_destroy(&a);
	}
	if (g->pool.n == 0) {
		err = -EAGAIN;
	} else {
		s->qnext = NULL;
		if (g->pool.tail)
			g->pool.tail->qnext = s;
		else
			g->pool.head = s;
		g->pool.tail = s;
		g->pool.queued++;
		pthread_cond_signal(&g->pool.cond);
	}
	pthread_mutex_unlock(&g->pool.lock);
	if (err)
		unlist(g, s);
	return err;
}

void net_call_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct gw *g = arg;
	const char *reply = natsMsg_GetReply(m);
	struct serving *s = NULL;
	int err = -EPROTO;

	(void)nc, (void)sub;
	if (!reply || strlen(reply) >= sizeof(s->reply))
		goto out;	/* nowhere to answer */
	if (atomic_fetch_add(&g->nserving, 1) >= NET_SERVE_MAX) {
		err = -EAGAIN;
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	err = -ENOMEM;
	if (!s)
		goto fail;
	err = net_frame_decode((const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &s->f);
	if (!err && s->f.kind != NET_CALL)
		err = -EPROTO;
	if (!err) {
		s->m = m;	/* the input stays in it, not copied */
		s->after = net_oneway_ticket(g);
		s->g = g;
		snprintf(s->reply, sizeof(s->reply), "%s", reply);
		s->beat_ns = s->got_ns = net_now_ns();
		err = serve_start(g, s);
	}
	if (!err)
		return;	/* m is the worker's now */
	free(s);
fail:
	atomic_fetch_sub(&g->nserving, 1);
	reply_err(g, reply, err);
out:
	natsMsg_Destroy(m);
}

void net_beat(struct gw *g)
{
	struct net_frame beat = { .kind = NET_PROGRESS };
	int64_t now = net_now_ns();

	pthread_mutex_lock(&g->lock);
	for (struct serving *s = g->serving; s; s = s->next) {
		if (now - s->beat_ns >= NET_BEAT_NS) {
			s->beat_ns = now;
			net_publish(g, s->reply, NULL, &beat, NULL, 0);
		}
	}
	pthread_mutex_unlock(&g->lock);
}
