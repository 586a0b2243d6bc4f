/* SPDX-License-Identifier: MIT */
/*
 * Calls on imports, to the remote gateway (docs/net.md, "Calls"): each
 * call is published with a reply subject of our inbox and its own
 * sequence number, and waits in the pending list, never blocking the
 * receive loop.  Its answer comes back in NET_REPLY chunks; while the
 * remote server works, NET_PROGRESS beats.  A call that hears nothing
 * for NET_SILENCE_NS (its remote gateway, host or network is gone) is
 * answered -EHOSTDOWN; no responders at all, at once.  Such failures of
 * the remote hop fail the caller's mp_send() itself (mp_respond_error()),
 * while the remote server's own o.err comes back in o.err.  Each call
 * carries its caller's time left (our import ports ask for it,
 * MP_PORT_DEADLINES), at most --call-timeout.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

struct pending {
	struct pending *next;
	uint64_t seq;
	mp_port_t port;
	mp_rid_t rid;
	mp_msg_t msg;		/* as received: o.data/o.size the caller's buffer */
	int64_t heard_ns;	/* last word from the remote gateway */
	int64_t deadline_ns;	/* absolute; 0 none */
	size_t got;		/* reply bytes so far */
	uint64_t total;		/* the reply's length, from its first chunk */
};

void net_respond_err(struct gw *g, mp_port_t port, mp_msg_t *msg, mp_rid_t rid, int err)
{
	msg->o.size = 0;
	msg->o.nfds = 0;
	msg->o.err = err;
	msg->flags = 0;
	memset(msg->o.raw, 0, MP_RAW_SIZE);
	mp_respond(port, msg, rid);	/* -EPIPE: the caller gave up; nothing to do */
	(void)g;
}

/* A failure of the remote hop: the caller's mp_send() returns it, as a
 * local one would; errors of no such meaning (-EPROTO, -ENOMEM) in o.err. */
static void fail_call(struct gw *g, mp_port_t port, mp_msg_t *msg, mp_rid_t rid, int err)
{
	if (mp_respond_error(port, rid, err) == -EINVAL)
		net_respond_err(g, port, msg, rid, err);
}

/* The call's deadline, relative: its caller's time left, at most
 * --call-timeout; 0 none; -ETIMEDOUT it has passed. */
static int64_t call_deadline(const struct gw *g, mp_port_t port, mp_rid_t rid)
{
	int64_t left = MP_FOREVER, cap = g->o.call_timeout_ns;

	if (mp_recv_deadline(port, rid, &left) != 0 || left == MP_FOREVER)
		return cap;
	if (left == 0)
		return -ETIMEDOUT;
	return cap && cap < left ? cap : left;
}

/* Fill the call's frame; -EOPNOTSUPP for what cannot cross hosts. */
static int frame_call(struct gw *g, const struct import *im, const mp_msg_t *msg, struct net_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->type = msg->type;
	f->priority = msg->priority;
	f->port = im->rport;
	f->id = im->rid;
	f->uid = msg->uid;
	f->total = msg->o.size > NET_REPLY_MAX ? NET_REPLY_MAX : msg->o.size;
	memcpy(f->raw, msg->i.raw, MP_RAW_SIZE);
	snprintf(f->from, sizeof(f->from), "%s", g->o.host);
	if (im->group)
		snprintf(f->path, sizeof(f->path), "%s", im->path);
	return msg->i.nfds || (msg->flags & MP_OUT_INOUT) ? -EOPNOTSUPP : 0;
}

static void close_fds(mp_msg_t *msg)
{
	for (uint32_t k = 0; k < msg->i.nfds && k < MP_FDS_MAX; k++)
		close(msg->i.fds[k]);
}

/*
 * One-ways and pulses go out in batches (docs/net.md, "One-way
 * throughput"): the receive loop packs every one it finds pending into
 * one NATS message of up to max_payload bytes, published when its port
 * is drained, before a call (net_call_conn() must see it sent), when the
 * next one goes elsewhere or would not fit.  A lone one goes as its
 * plain frame.  Only the receive loop touches g->batch.
 */
void net_forward_flush(struct gw *g)
{
	struct net_frame b = { .kind = NET_BATCH, .total = g->batch.n };
	uint8_t *rec = g->batch.buf + NET_HDR_SIZE;
	int err;

	if (!g->batch.n)
		return;
	if (g->batch.n == 1) {
		err = net_publish_bytes(g, g->bulk, g->batch.subj, rec + NET_REC_HDR,
					g->batch.len - NET_REC_HDR);
	} else {
		net_log(g, "batch of %u one-ways to %s", g->batch.n, g->batch.subj);
		snprintf(b.from, sizeof(b.from), "%s", g->o.host);
		net_frame_encode(&b, NULL, 0, g->batch.buf);
		err = net_publish_bytes(g, g->bulk, g->batch.subj, g->batch.buf,
					NET_HDR_SIZE + g->batch.len);
	}
	if (!err)
		atomic_fetch_add(&g->bulk_sent, 1);
	else
		net_log(g, "%u one-ways to %s dropped: %d", g->batch.n, g->batch.subj, err);
	g->batch.n = 0;
	g->batch.len = 0;
}

/* Add f to the batch; one too large for any batch goes alone, at once. */
static int batch_add(struct gw *g, const char *subj, const struct net_frame *f, const void *data,
		     size_t len)
{
	size_t w = 0;
	int err;

	if (!g->batch.buf && g->max_payload > NET_HDR_SIZE + NET_REC_MIN) {
		g->batch.buf = malloc(g->max_payload);
		g->batch.cap = g->batch.buf ? g->max_payload - NET_HDR_SIZE : 0;
	}
	if (g->batch.n && strcmp(g->batch.subj, subj) != 0)
		net_forward_flush(g);
	for (int k = 0; k < 2 && !w && g->batch.cap; k++) {
		if (k)
			net_forward_flush(g);	/* full: make room */
		w = net_batch_put(f, data, len, g->batch.buf + NET_HDR_SIZE + g->batch.len,
				  g->batch.cap - g->batch.len);
	}
	if (w) {
		if (!g->batch.n)
			snprintf(g->batch.subj, sizeof(g->batch.subj), "%s", subj);
		g->batch.n++;
		g->batch.len += w;
		return 0;
	}
	err = net_publish_on(g, g->bulk, subj, NULL, f, data, len);
	if (!err)
		atomic_fetch_add(&g->bulk_sent, 1);
	return err;
}

void net_forward_call(struct gw *g, const struct import *im, mp_msg_t *msg, mp_rid_t rid)
{
	struct pending *p = calloc(1, sizeof(*p));
	int64_t dl = call_deadline(g, im->port, rid);
	char reply[112];
	natsConnection *nc;
	struct net_frame f;
	int err = frame_call(g, im, msg, &f);

	net_forward_flush(g);	/* the one-ways before it go first */
	close_fds(msg);	/* refused, not sent: they stay the caller's */
	if (!err && dl < 0)
		err = (int)dl;	/* its caller has given up already */
	if (!err && !p)
		err = -ENOMEM;
	if (err) {
		free(p);
		fail_call(g, im->port, msg, rid, err);
		return;
	}
	f.deadline_ns = (uint64_t)dl;
	f.kind = NET_CALL;
	p->port = im->port;
	p->rid = rid;
	p->msg = *msg;
	p->heard_ns = net_now_ns();
	p->deadline_ns = dl ? p->heard_ns + dl + NET_SILENCE_NS : 0;
	pthread_mutex_lock(&g->lock);
	p->seq = ++g->seq;
	p->next = g->pending;
	g->pending = p;
	pthread_mutex_unlock(&g->lock);
	nc = net_call_conn(g);
	snprintf(reply, sizeof(reply), "%s.%" PRIu64, nc == g->bulk ? g->binbox : g->inbox, p->seq);
	err = net_publish_on(g, nc, im->subj, reply, &f, msg->i.data, msg->i.size);
	if (err) {
		/* Unless a reply or the reaper took it meanwhile, answer here. */
		pthread_mutex_lock(&g->lock);
		for (struct pending **pp = &g->pending; *pp; pp = &(*pp)->next) {
			if (*pp == p) {
				*pp = p->next;
				pthread_mutex_unlock(&g->lock);
				fail_call(g, p->port, &p->msg, p->rid, err);
				free(p);
				return;
			}
		}
		pthread_mutex_unlock(&g->lock);
	}
}

void net_forward_send(struct gw *g, const struct import *im, mp_msg_t *msg)
{
	struct net_frame f;
	int err = frame_call(g, im, msg, &f);

	close_fds(msg);
	f.kind = NET_SEND;
	f.total = 0;
	if (!err)
		err = batch_add(g, im->send_subj, &f, msg->i.data, msg->i.size);
	/* One-way: nobody to tell but the log. */
	if (err)
		net_log(g, "one-way to %s%s dropped: %d", im->host, im->path, err);
}

void net_forward_pulse(struct gw *g, const struct import *im, const mp_msg_t *msg)
{
	mp_pulse_info_t info = mp_msg_pulse(msg);
	struct net_frame f = { .kind = NET_PULSE, .priority = msg->type, .value = info.value,
			       .port = im->rport, .id = im->rid, .uid = msg->uid };
	int err;

	if (msg->type >= MP_PULSE_DISCONNECT)
		return;	/* the library's own notices are about this host */
	snprintf(f.from, sizeof(f.from), "%s", g->o.host);
	if (im->group)
		snprintf(f.path, sizeof(f.path), "%s", im->path);
	err = batch_add(g, im->send_subj, &f, NULL, 0);
	if (err)
		net_log(g, "pulse to %s%s dropped: %d", im->host, im->path, err);
}

/* Take the pending call seq out of the list, or NULL.  Under g->lock. */
static struct pending *take(struct gw *g, uint64_t seq)
{
	for (struct pending **pp = &g->pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->seq == seq) {
			struct pending *p = *pp;

			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

static struct pending *find(struct gw *g, uint64_t seq)
{
	for (struct pending *p = g->pending; p; p = p->next)
		if (p->seq == seq)
			return p;
	return NULL;
}

/* One chunk of a reply: 1 when the reply is complete, 0 more to come, <0 bad. */
static int chunk(struct pending *p, const struct net_frame *f)
{
	if (f->status)
		return f->status;
	if (p->got == 0 && f->offset == 0) {
		if (f->total > p->msg.o.size)
			return -EPROTO;	/* longer than the caller's capacity */
		p->total = f->total;
		p->msg.o.err = f->o_err;
		memcpy(p->msg.o.raw, f->raw, MP_RAW_SIZE);
	} else if (f->total != p->total) {
		return -EPROTO;
	}
	/* NATS keeps one publisher's order: chunks come in sequence. */
	if (f->offset != p->got)
		return -EPROTO;
	if (f->len)
		memcpy((char *)p->msg.o.data + p->got, f->data, f->len);
	p->got += f->len;
	return p->got == p->total;
}

static void finish(struct gw *g, struct pending *p, int err)
{
	if (err < 0) {
		fail_call(g, p->port, &p->msg, p->rid, err);
	} else {
		p->msg.o.size = p->got;
		p->msg.o.nfds = 0;
		p->msg.flags = 0;
		mp_respond(p->port, &p->msg, p->rid);
	}
	free(p);
}

static int parse_seq(const char *subj, const char *inbox, uint64_t *seq)
{
	size_t n = strlen(inbox);
	char *end;

	if (strncmp(subj, inbox, n) != 0 || subj[n] != '.' || !subj[n + 1])
		return -1;
	*seq = strtoull(subj + n + 1, &end, 10);
	return *end ? -1 : 0;
}

void net_reply_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct gw *g = arg;
	struct net_frame f;
	struct pending *p;
	uint64_t seq;
	int r;

	(void)nc, (void)sub;
	if (parse_seq(natsMsg_GetSubject(m), g->inbox, &seq) &&
	    parse_seq(natsMsg_GetSubject(m), g->binbox, &seq))
		goto out;
	if (natsMsg_IsNoResponders(m)) {
		r = -EHOSTDOWN;	/* the host's gateway left between lookup and call */
	} else if (net_frame_decode((const uint8_t *)natsMsg_GetData(m),
				    (size_t)natsMsg_GetDataLength(m), &f)) {
		r = -EPROTO;
	} else if (f.kind == NET_PROGRESS || f.kind == NET_REPLY) {
		r = 0;
	} else {
		r = -EPROTO;
	}
	pthread_mutex_lock(&g->lock);
	p = find(g, seq);
	if (p) {
		p->heard_ns = net_now_ns();
		if (!r && f.kind == NET_REPLY)
			r = chunk(p, &f);
	}
	if (p && r != 0)
		p = take(g, seq);
	else
		p = NULL;
	pthread_mutex_unlock(&g->lock);
	if (p)
		finish(g, p, r);
out:
	natsMsg_Destroy(m);
}

/* Answer the calls whose remote side fell silent or ran out of time. */
void net_reap(struct gw *g)
{
	int64_t now = net_now_ns();
	struct pending *dead = NULL;

	pthread_mutex_lock(&g->lock);
	for (struct pending **pp = &g->pending; *pp;) {
		struct pending *p = *pp;

		if (now - p->heard_ns > NET_SILENCE_NS || (p->deadline_ns && now > p->deadline_ns)) {
			*pp = p->next;
			p->next = dead;
			dead = p;
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&g->lock);
	while (dead) {
		struct pending *p = dead;
		int silent = now - p->heard_ns > NET_SILENCE_NS;

		dead = p->next;
		net_log(g, "call %" PRIu64 ": %s", p->seq, silent ? "remote silent" : "timed out");
		finish(g, p, silent ? -EHOSTDOWN : -ETIMEDOUT);
	}
}
