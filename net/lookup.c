/* SPDX-License-Identifier: MIT */
/*
 * Our /net mount point (docs/net.md, "Lookup"): MP_MT_LOOKUP of
 * "HOST/PATH" asks HOST's gateway whether PATH is exported, and answers
 * the oid of an import (imports.c); "* /PATH" asks the queue group of the
 * longest group prefix of PATH that has members.  MP_NET_MT_LIST
 * gathers every gateway's exports for `msgport ls /net`.  Each runs on
 * a thread of its own, so lookups never wait behind calls nor the
 * receive loop behind a lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

struct job {
	struct gw *g;
	mp_msg_t msg;
	mp_rid_t rid;
	char rest[MP_PATH_MAX];
};

/* Ask subj about path: 0 with the remote oid, or a negative errno. */
static int ask(struct gw *g, const char *subj, const char *path, mp_msg_t *caller, struct net_frame *rep)
{
	struct net_frame f = { .kind = NET_LOOKUP, .uid = caller->uid };
	size_t n;
	uint8_t *buf;
	natsMsg *m = NULL;
	natsStatus s;
	int err;

	memset(rep, 0, sizeof(*rep));
	snprintf(f.from, sizeof(f.from), "%s", g->o.host);
	snprintf(f.path, sizeof(f.path), "%s", path);
	n = net_frame_size(&f, 0);
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	net_frame_encode(&f, NULL, 0, buf);
	s = natsConnection_Request(&m, g->nc, subj, buf, (int)n, NET_LOOKUP_WAIT_MS);
	free(buf);
	if (s != NATS_OK)
		return net_status_errno(s);
	err = net_frame_decode((const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), rep);
	if (!err && rep->kind != NET_LOOKUP_REP)
		err = -EPROTO;
	if (!err)
		err = rep->status;
	natsMsg_Destroy(m);
	return err;
}

/* "*" / path: the longest group prefix of path that answers. */
static int ask_group(struct gw *g, struct import *im, mp_msg_t *caller)
{
	char prefix[MP_PATH_MAX], subj[MP_PATH_MAX + 64];
	struct net_frame rep;
	int err = -ENOENT;

	snprintf(prefix, sizeof(prefix), "%s", im->path);
	while (strlen(prefix) > 1 && !strpbrk(prefix, ".*> \t\r\n")) {
		net_subject(subj, sizeof(subj), NULL, prefix, "lookup");
		err = ask(g, subj, im->path, caller, &rep);
		if (err != -ENOENT || rep.kind)	/* an answer; no responders: try shorter */
			break;
		*strrchr(prefix, '/') = 0;
	}
	if (err)
		return err;
	net_subject(im->subj, sizeof(im->subj), NULL, prefix, "call");
	net_subject(im->send_subj, sizeof(im->send_subj), NULL, prefix, "send");
	return 0;
}

static int resolve(struct gw *g, struct job *j, mp_port_t *port)
{
	struct import im = { 0 };
	char *slash = strchr(j->rest, '/');
	char subj[MP_PATH_MAX + 64];
	struct net_frame rep;
	int err;

	if (!slash || !slash[1] || (size_t)(slash - j->rest) >= sizeof(im.host))
		return -ENOENT;	/* a host alone is no object; no host has so long a name */
	*slash = 0;
	snprintf(im.path, sizeof(im.path), "/%s", slash + 1);
	memcpy(im.host, j->rest, (size_t)(slash - j->rest));
	if (strcmp(j->rest, "*") == 0) {
		im.group = 1;
		err = ask_group(g, &im, &j->msg);
	} else if (!net_host_valid(j->rest)) {
		return -ENOENT;
	} else {
		net_subject(subj, sizeof(subj), im.host, NULL, "lookup");
		err = ask(g, subj, im.path, &j->msg, &rep);
		im.rport = rep.port;
		im.rid = rep.id;
		net_subject(im.subj, sizeof(im.subj), im.host, NULL, "call");
		net_subject(im.send_subj, sizeof(im.send_subj), im.host, NULL, "send");
	}
	return err ? err : net_import_add(g, &im, port);
}

static void *lookup_main(void *arg)
{
	struct job *j = arg;
	size_t len = strlen(j->rest);
	char asked[MP_PATH_MAX];
	mp_port_t port = 0;
	int err;

	memcpy(asked, j->rest, sizeof(asked));
	err = resolve(j->g, j, &port);

	memset(j->msg.o.raw, 0, MP_RAW_SIZE);
	j->msg.o.size = 0;
	if (!err) {
		mp_lookup_reply_t r = { .file = { .port = port }, .dev = { .port = port } };

		memcpy(j->msg.o.raw, &r, sizeof(r));
	}
	j->msg.o.err = err ? err : (int32_t)len;
	net_log(j->g, "lookup /net/%s: %d", asked, err);
	mp_respond(j->g->netport, &j->msg, j->rid);
	atomic_fetch_sub(&j->g->nlookups, 1);
	free(j);
	return NULL;
}

static void start(struct gw *g, const mp_msg_t *msg, mp_rid_t rid, void *(*fn)(void *))
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_attr_t a;
	pthread_t t;
	int err = j ? 0 : -ENOMEM;

	if (!err && atomic_fetch_add(&g->nlookups, 1) >= NET_LOOKUPS_MAX)
		err = -EAGAIN;
	if (!err) {
		j->g = g;
		j->msg = *msg;
		j->rid = rid;
		if (msg->i.size && msg->i.size <= sizeof(j->rest))
			memcpy(j->rest, msg->i.data, msg->i.size);
		j->rest[sizeof(j->rest) - 1] = 0;	/* the library sent it NUL-terminated */
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		err = -pthread_create(&t, &a, fn, j);
		pthread_attr_destroy(&a);
	}
	if (err) {
		if (err != -ENOMEM)
			atomic_fetch_sub(&g->nlookups, 1);
		net_respond_err(g, g->netport, (mp_msg_t *)msg, rid, err);
		free(j);
	}
}

void net_lookup_start(struct gw *g, const mp_msg_t *msg, mp_rid_t rid)
{
	start(g, msg, rid, lookup_main);
}

/* Append a gateway's listing, printable lines only, to the answer. */
static void list_add(mp_msg_t *msg, size_t *used, const struct net_frame *f)
{
	for (size_t k = 0; k < f->len; k++) {
		char c = (char)f->data[k];

		if ((c < 0x20 || c > 0x7e) && c != '\n')
			return;	/* a hostile listing adds nothing */
	}
	if (f->len > msg->o.size - *used) {
		msg->o.err = -EMSGSIZE;
		return;
	}
	memcpy((char *)msg->o.data + *used, f->data, f->len);
	*used += f->len;
}

static void list_collect(struct gw *g, natsSubscription *sub, mp_msg_t *msg)
{
	int64_t end = net_now_ns() + NET_LIST_WAIT_MS * 1000000ll;
	size_t used = 0;
	int64_t left;

	while ((left = (end - net_now_ns()) / 1000000) > 0) {
		natsMsg *m = NULL;
		struct net_frame f;

		if (natsSubscription_NextMsg(&m, sub, left) != NATS_OK)
			break;
		if (!net_frame_decode((const uint8_t *)natsMsg_GetData(m),
				      (size_t)natsMsg_GetDataLength(m), &f) && f.kind == NET_LIST_REP)
			list_add(msg, &used, &f);
		natsMsg_Destroy(m);
	}
	(void)g;
	msg->o.size = used;
}

static void *list_main(void *arg)
{
	struct job *j = arg;
	struct gw *g = j->g;
	struct net_frame f = { .kind = NET_LIST, .uid = j->msg.uid };
	natsSubscription *sub = NULL;
	char inbox[96];
	natsStatus s;

	snprintf(f.from, sizeof(f.from), "%s", g->o.host);
	pthread_mutex_lock(&g->lock);
	snprintf(inbox, sizeof(inbox), "%sL.%llu", g->inbox, (unsigned long long)++g->seq);
	pthread_mutex_unlock(&g->lock);
	j->msg.o.err = 0;
	s = natsConnection_SubscribeSync(&sub, g->nc, inbox);
	if (s == NATS_OK && !net_publish(g, "msgport.list", inbox, &f, NULL, 0))
		list_collect(g, sub, &j->msg);
	else
		j->msg.o.size = 0, j->msg.o.err = net_status_errno(s ? s : NATS_ERR);
	natsSubscription_Destroy(sub);
	mp_respond(g->netport, &j->msg, j->rid);
	atomic_fetch_sub(&g->nlookups, 1);
	free(j);
	return NULL;
}

void net_list_start(struct gw *g, const mp_msg_t *msg, mp_rid_t rid)
{
	start(g, msg, rid, list_main);
}
