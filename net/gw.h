/* SPDX-License-Identifier: MIT */
/*
 * msgport-net's state, shared by its parts (docs/net.md, "Design"):
 *   conn.c     the NATS connection and the subjects;
 *   imports.c  remote objects looked up here, each a local port of ours;
 *   lookup.c   our /net mount point's lookups and `msgport ls /net`;
 *   forward.c  calls, one-way sends and pulses on imports, to NATS;
 *   export.c   lookups and listings other hosts ask of us;
 *   serve.c    calls other hosts make on our exports;
 *   oneway.c   one-way sends and pulses other hosts make on them;
 *   wire.c     the frames.
 */
#ifndef MSGPORT_NET_GW_H
#define MSGPORT_NET_GW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <nats/nats.h>
#include <msgport.h>

#include "opts.h"
#include "wire.h"

/* Type of the call `msgport ls /net` makes on /net (net/ls.h). */
#include "ls.h"

#define NET_IMPORTS_MAX 1024	/* remote objects one gateway maps */
#define NET_HANDED_MAX 4096	/* exported objects other hosts may call */
#define NET_SERVE_MAX 256	/* calls from other hosts taken at once (running or queued) */
#define NET_LOOKUPS_MAX 64	/* lookups asked of other hosts at once */
/* Silence after which a call's remote gateway is taken for dead. */
#define NET_SILENCE_NS (1500 * 1000000ll)
/* How often a serving gateway says a call is still running. */
#define NET_BEAT_NS (400 * 1000000ll)
/* How long a lookup waits for the remote gateway's answer. */
#define NET_LOOKUP_WAIT_MS 1500
/* How long `msgport ls /net` collects the gateways' answers. */
#define NET_LIST_WAIT_MS 500

struct import {
	mp_port_t port;		/* ours, the caller's oid {port, 0} */
	int group;		/* 1: /net/ * /path, any member resolves path */
	char host[NET_HOST_MAX];
	uint32_t rport;		/* the remote oid (not for a group) */
	uint64_t rid;
	char path[MP_PATH_MAX];	/* the remote path */
	char subj[MP_PATH_MAX + 64];	/* where its calls go */
	char send_subj[MP_PATH_MAX + 64];	/* where its one-way sends and pulses go */
};

struct gw {
	struct net_opts o;
	natsConnection *nc;		/* SendAsap: calls, answers, lookups; our subscriptions */
	natsConnection *bulk;		/* buffered: one-way sends and pulses */
	atomic_uint_fast64_t bulk_sent, bulk_confirmed;	/* one-ways on bulk; of them, known at the server */
	size_t max_payload;
	char inbox[64];			/* our replies come to inbox.SEQ */
	char binbox[72];		/* those of calls made on bulk: binbox.SEQ */
	mp_port_t netport;		/* /net */
	int epfd;
	pthread_mutex_t lock;		/* imports, pending, handed, serving */
	struct import *imports;
	size_t nimports;
	struct pending *pending;
	uint64_t seq;
	struct handed { uint32_t port; uint64_t id; } *handed;
	size_t nhanded;
	struct serving *serving;	/* calls we make for others */
	atomic_int nserving, nlookups;
	struct {			/* serve.c's workers and their queue */
		pthread_mutex_t lock;
		pthread_cond_t cond;
		struct serving *head, *tail;
		int n, idle, queued;
	} pool;
	struct {			/* forward.c's one-ways not yet published */
		uint8_t *buf;		/* NET_HDR_SIZE for the NET_BATCH header, then records */
		size_t len, cap;	/* bytes of records; their room */
		uint32_t n;		/* records */
		char subj[MP_PATH_MAX + 64];	/* where they all go */
	} batch;
	struct {			/* oneway.c's queue and its sender */
		pthread_mutex_t lock;
		pthread_cond_t more, done;
		struct oneway *head, *tail;
		uint64_t queued, sent;
	} ow;
};

int64_t net_now_ns(void);
void net_log(struct gw *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* conn.c */
int net_conn_open(struct gw *g);
int net_conn_subscribe(struct gw *g);
void net_conn_close(struct gw *g);
int net_publish(struct gw *g, const char *subj, const char *reply, const struct net_frame *f,
		const void *data, size_t len);
int net_publish_on(struct gw *g, natsConnection *nc, const char *subj, const char *reply,
		   const struct net_frame *f, const void *data, size_t len);
int net_publish_bytes(struct gw *g, natsConnection *nc, const char *subj, const uint8_t *buf,
		      size_t n);
natsConnection *net_call_conn(struct gw *g);
void net_bulk_confirm(struct gw *g);
int net_status_errno(natsStatus s);
/* The subject of kind ("lookup", "call", "send") for host or group prefix. */
void net_subject(char *buf, size_t n, const char *host, const char *group, const char *kind);

/* imports.c */
int net_imports_init(struct gw *g);
int net_import_add(struct gw *g, const struct import *im, mp_port_t *port);
const struct import *net_import_find(struct gw *g, mp_port_t port);
void net_imports_fini(struct gw *g);

/* lookup.c */
void net_lookup_start(struct gw *g, const mp_msg_t *msg, mp_rid_t rid);
void net_list_start(struct gw *g, const mp_msg_t *msg, mp_rid_t rid);

/* forward.c */
void net_forward_call(struct gw *g, const struct import *im, mp_msg_t *msg, mp_rid_t rid);
void net_forward_send(struct gw *g, const struct import *im, mp_msg_t *msg);
void net_forward_pulse(struct gw *g, const struct import *im, const mp_msg_t *msg);
void net_forward_flush(struct gw *g);
void net_reply_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg);
void net_reap(struct gw *g);
void net_respond_err(struct gw *g, mp_port_t port, mp_msg_t *msg, mp_rid_t rid, int err);

/* export.c */
int net_exported(const struct gw *g, const char *path);
int net_group_of(const struct gw *g, const char *path);
int net_handed_add(struct gw *g, const mp_oid_t *oid);
int net_handed_has(struct gw *g, uint32_t port, uint64_t id);
void net_lookup_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg);
void net_glookup_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg);
void net_list_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg);

/* serve.c */
void net_call_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg);
void net_beat(struct gw *g);
int net_resolve(struct gw *g, const struct net_frame *f, mp_oid_t *oid);

/* oneway.c */
int net_oneway_init(struct gw *g);
void net_send_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg);
uint64_t net_oneway_ticket(struct gw *g);
int net_oneway_wait(struct gw *g, uint64_t ticket, int64_t timeout_ns);

#endif
