/* SPDX-License-Identifier: MIT */
/*
 * Calls other hosts make on our exports (docs/net.md, "Calls"): each on
 * a thread of its own (NET_SERVE_MAX at once, -EAGAIN beyond) that
 * mp_send()s the real server with the caller's deadline (at most our
 * --call-timeout), while net_beat()
 * tells the caller's gateway every NET_BEAT_NS that the call is alive.
 * The answer goes back in chunks that fit NATS's max_payload.  One-way
 * sends and pulses are made in their order, on NATS's delivery thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

struct serving {
	struct serving *next;
	struct gw *g;
	char reply[256];	/* the caller gateway's reply subject */
	struct net_frame f;	/* f.data points at in */
	uint8_t *in;
	int64_t beat_ns;
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
 * --call-timeout: the remote call never outlives its caller. */
static int64_t call_timeout(const struct gw *g, const struct net_frame *f)
{
	int64_t dl = f->deadline_ns > INT64_MAX ? INT64_MAX : (int64_t)f->deadline_ns;
	int64_t cap = g->o.call_timeout_ns;

	if (dl && cap)
		return dl < cap ? dl : cap;
	return dl ? dl : cap ? cap : MP_FOREVER;
}

static void *serve_main(void *arg)
{
	struct serving *s = arg;
	struct gw *g = s->g;
	mp_msg_t msg = { .type = s->f.type, .priority = s->f.priority };
	int64_t timeout = call_timeout(g, &s->f);
	int err = net_resolve(g, &s->f, &msg.oid);

	msg.i.data = s->in;
	msg.i.size = s->f.len;
	memcpy(msg.i.raw, s->f.raw, MP_RAW_SIZE);
	msg.o.size = (size_t)s->f.total;
	msg.o.data = malloc(msg.o.size ? msg.o.size : 1);
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
	free(msg.o.data);
	free(s->in);
	free(s);
	atomic_fetch_sub(&g->nserving, 1);
	return NULL;
}

static int serve_start(struct gw *g, struct serving *s)
{
	pthread_attr_t a;
	pthread_t t;
	int err;

	pthread_mutex_lock(&g->lock);
	s->next = g->serving;
	g->serving = s;
	pthread_mutex_unlock(&g->lock);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&t, &a, serve_main, s);
	pthread_attr_destroy(&a);
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
	s->in = err ? NULL : malloc(s->f.len ? s->f.len : 1);
	if (!err && !s->in)
		err = -ENOMEM;
	if (!err) {
		memcpy(s->in, s->f.data, s->f.len);
		s->f.data = s->in;
		s->g = g;
		snprintf(s->reply, sizeof(s->reply), "%s", reply);
		s->beat_ns = net_now_ns();
		err = serve_start(g, s);
	}
	if (!err)
		goto out;
	free(s->in);
	free(s);
fail:
	atomic_fetch_sub(&g->nserving, 1);
	reply_err(g, reply, err);
out:
	natsMsg_Destroy(m);
}

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

void net_send_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct net_frame f;

	(void)nc, (void)sub;
	if (!net_frame_decode((const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &f) &&
	    (f.kind == NET_SEND || f.kind == NET_PULSE))
		send_one(arg, &f);
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
