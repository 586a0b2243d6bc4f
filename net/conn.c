/* SPDX-License-Identifier: MIT */
/*
 * The NATS side: one connection per gateway, its options (servers,
 * credentials, TLS), its subscriptions and the subjects (docs/net.md,
 * "Subjects").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

int net_status_errno(natsStatus s)
{
	switch (s) {
	case NATS_OK: return 0;
	case NATS_NO_MEMORY: return -ENOMEM;
	case NATS_TIMEOUT: return -EHOSTDOWN;
	case NATS_NO_RESPONDERS: return -ENOENT;
	case NATS_MAX_PAYLOAD: return -EMSGSIZE;
	case NATS_NOT_PERMITTED: return -EACCES;
	case NATS_CONNECTION_AUTH_FAILED: return -EACCES;
	default: return -EHOSTDOWN;	/* closed, reconnecting, I/O: the network */
	}
}

void net_subject(char *buf, size_t n, const char *host, const char *group, const char *kind)
{
	if (!group) {
		snprintf(buf, n, "msgport.%s.%s", host, kind);
		return;
	}
	/* /dev/echo -> msgport.group.KIND.dev.echo (opts.c allows no '.'). */
	int w = snprintf(buf, n, "msgport.group.%s", kind);

	for (const char *p = group; *p && w > 0 && (size_t)w < n - 1; p++)
		buf[w++] = *p == '/' ? '.' : *p;
	buf[w < 0 ? 0 : ((size_t)w < n ? (size_t)w : n - 1)] = 0;
}

/* Split "a,b,c" into at most max server URLs (in buf, modified). */
static int split_urls(char *buf, const char **v, int max)
{
	int n = 0;

	for (char *s = strtok(buf, ","); s && n < max; s = strtok(NULL, ","))
		v[n++] = s;
	return n;
}

static natsStatus set_auth(struct gw *g, natsOptions *no)
{
	natsStatus s = NATS_OK;

	if (g->o.creds)
		s = natsOptions_SetUserCredentialsFromFiles(no, g->o.creds, NULL);
	if (s == NATS_OK && g->o.user)
		s = natsOptions_SetUserInfo(no, g->o.user, g->o.password);
	if (s == NATS_OK && g->o.tls_ca) {
		s = natsOptions_SetSecure(no, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(no, g->o.tls_ca);
	}
	return s;
}

static natsStatus set_options(struct gw *g, natsOptions *no, char *urls, int asap)
{
	const char *v[16];
	int n = split_urls(urls, v, 16);
	char name[64], inbox[64];
	natsStatus s;

	snprintf(name, sizeof(name), "msgport-net %s%s", g->o.host, asap ? "" : " one-way");
	/* Every answer to us under _INBOX.mpnet.HOST: one subscribe permission. */
	snprintf(inbox, sizeof(inbox), "_INBOX.mpnet.%s", g->o.host);
	s = n ? natsOptions_SetServers(no, v, n) : NATS_INVALID_ARG;
	if (s == NATS_OK)
		s = natsOptions_SetName(no, name);
	if (s == NATS_OK)
		s = natsOptions_SetCustomInboxPrefix(no, inbox);
	/* Keep trying servers for ever; calls meanwhile fail by their silence. */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(no, 250);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, 2000);
	/* A caller waits on every call, answer and beat we publish: written
	 * at once, not after libnats's flusher's ~1 ms nap (docs/net.md,
	 * "Latency").  One-ways are buffered, on a connection of their own. */
	if (s == NATS_OK && asap)
		s = natsOptions_SetSendAsap(no, true);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(no, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(no, 2);
	return s == NATS_OK ? set_auth(g, no) : s;
}

static int open_one(struct gw *g, natsConnection **nc, int asap)
{
	natsOptions *no = NULL;
	char *urls = strdup(g->o.nats);
	natsStatus s = urls ? natsOptions_Create(&no) : NATS_NO_MEMORY;

	if (s == NATS_OK)
		s = set_options(g, no, urls, asap);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, no);
	natsOptions_Destroy(no);
	free(urls);
	if (s != NATS_OK) {
		fprintf(stderr, "msgport-net: NATS %s: %s (%s)\n", g->o.nats, natsStatus_GetText(s),
			nats_GetLastError(NULL));
		return net_status_errno(s);
	}
	return 0;
}

/* g->nc (SendAsap) for everything someone waits on, g->bulk for one-ways. */
int net_conn_open(struct gw *g)
{
	int err = open_one(g, &g->nc, 1);

	if (!err)
		err = open_one(g, &g->bulk, 0);
	if (err)
		return err;
	g->max_payload = (size_t)natsConnection_GetMaxPayload(g->nc);
	snprintf(g->inbox, sizeof(g->inbox), "_INBOX.mpnet.%s.%ld.%lx", g->o.host, (long)getpid(),
		 (unsigned long)net_now_ns());
	snprintf(g->binbox, sizeof(g->binbox), "%sB", g->inbox);
	return 0;
}

/*
 * The connection for a call: g->nc, unless one-ways went out on g->bulk
 * that its server has not confirmed yet (net_bulk_confirm()): then
 * g->bulk, behind them, so that a sender's one-ways reach the remote
 * gateway before its next call.  Only the receive loop publishes
 * one-ways and calls, so bulk_sent is its own.
 */
natsConnection *net_call_conn(struct gw *g)
{
	return atomic_load(&g->bulk_sent) == atomic_load(&g->bulk_confirmed) ? g->nc : g->bulk;
}

/* The ticker's: a PING behind the one-ways sent so far; its PONG says the
 * NATS server has them all, ahead of anything we publish after.  Waits
 * 100 ms at most: the ticker also reaps silent calls (until a PONG, calls
 * just keep taking g->bulk). */
void net_bulk_confirm(struct gw *g)
{
	uint64_t sent = atomic_load(&g->bulk_sent);

	if (sent != atomic_load(&g->bulk_confirmed) &&
	    natsConnection_FlushTimeout(g->bulk, 100) == NATS_OK)
		atomic_store(&g->bulk_confirmed, sent);
}

static natsStatus sub_on(struct gw *g, natsConnection *nc, const char *subj, natsMsgHandler cb)
{
	natsSubscription *s = NULL;
	natsStatus st = natsConnection_Subscribe(&s, nc, subj, cb, g);

	if (st == NATS_OK)
		st = natsSubscription_SetPendingLimits(s, -1, -1);
	return st == NATS_OK ? natsConnection_FlushTimeout(nc, 2000) : st;
}

static natsStatus sub(struct gw *g, const char *subj, const char *queue, natsMsgHandler cb)
{
	natsSubscription *s = NULL;
	natsStatus st = queue ? natsConnection_QueueSubscribe(&s, g->nc, subj, queue, cb, g)
			      : natsConnection_Subscribe(&s, g->nc, subj, cb, g);

	/* Calls are bounded elsewhere; do not drop a burst of them. */
	if (st == NATS_OK)
		st = natsSubscription_SetPendingLimits(s, -1, -1);
	return st;	/* kept until the connection closes */
}

/* msgport.HOST.KIND: one subscription, so one delivery thread takes the
 * lookups, calls and one-way sends of each sender in the order it
 * published them (a one-way sent before a call reaches the server first). */
static void host_cb(natsConnection *nc, natsSubscription *sb, natsMsg *m, void *arg)
{
	const char *kind = strrchr(natsMsg_GetSubject(m), '.');

	if (kind && strcmp(kind, ".call") == 0)
		net_call_cb(nc, sb, m, arg);
	else if (kind && strcmp(kind, ".send") == 0)
		net_send_cb(nc, sb, m, arg);
	else if (kind && strcmp(kind, ".lookup") == 0)
		net_lookup_cb(nc, sb, m, arg);
	else
		natsMsg_Destroy(m);
}

static natsStatus sub_group(struct gw *g, const char *prefix)
{
	static const char *const kinds[] = { "lookup", "call", "send" };
	static natsMsgHandler const cbs[] = { net_glookup_cb, net_call_cb, net_send_cb };
	char subj[MP_PATH_MAX + 64];
	natsStatus s = NATS_OK;

	for (int k = 0; k < 3 && s == NATS_OK; k++) {
		net_subject(subj, sizeof(subj), NULL, prefix, kinds[k]);
		s = sub(g, subj, subj, cbs[k]);	/* the queue group is named as the subject */
	}
	return s;
}

int net_conn_subscribe(struct gw *g)
{
	char subj[MP_PATH_MAX + 64];
	natsStatus s;

	snprintf(subj, sizeof(subj), "%s.*", g->inbox);
	s = sub(g, subj, NULL, net_reply_cb);
	/* Answers to calls made on bulk come to bulk: so does NATS's "no
	 * responders", which goes to the publisher's own connection. */
	snprintf(subj, sizeof(subj), "%s.*", g->binbox);
	if (s == NATS_OK)
		s = sub_on(g, g->bulk, subj, net_reply_cb);
	net_subject(subj, sizeof(subj), g->o.host, NULL, "*");
	if (s == NATS_OK)
		s = sub(g, subj, NULL, host_cb);
	if (s == NATS_OK)
		s = sub(g, "msgport.list", NULL, net_list_cb);
	for (int k = 0; k < g->o.ngroups && s == NATS_OK; k++)
		s = sub_group(g, g->o.groups[k]);
	/* Subscribed at the server before we tell anyone we are up. */
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(g->nc, 2000);
	if (s != NATS_OK)
		fprintf(stderr, "msgport-net: subscribe: %s\n", natsStatus_GetText(s));
	return net_status_errno(s);
}

static void close_one(natsConnection **nc)
{
	if (*nc) {
		natsConnection_Close(*nc);
		natsConnection_Destroy(*nc);
		*nc = NULL;
	}
}

void net_conn_close(struct gw *g)
{
	close_one(&g->bulk);
	close_one(&g->nc);
}

int net_publish(struct gw *g, const char *subj, const char *reply, const struct net_frame *f,
		const void *data, size_t len)
{
	return net_publish_on(g, g->nc, subj, reply, f, data, len);
}

int net_publish_on(struct gw *g, natsConnection *nc, const char *subj, const char *reply,
		   const struct net_frame *f, const void *data, size_t len)
{
	/* Each thread's frame buffer, kept: up to max_payload, a fresh
	 * megabyte per chunk would cost more than its copy. */
	static _Thread_local uint8_t *buf;
	static _Thread_local size_t cap;
	size_t n = net_frame_size(f, len);
	natsStatus s;

	if (n > g->max_payload || n > INT32_MAX)
		return -EMSGSIZE;
	if (n > cap) {
		free(buf);
		buf = malloc(n);
		cap = buf ? n : 0;
		if (!buf)
			return -ENOMEM;
	}
	net_frame_encode(f, data, len, buf);
	s = reply ? natsConnection_PublishRequest(nc, subj, reply, buf, (int)n)
		  : natsConnection_Publish(nc, subj, buf, (int)n);
	return net_status_errno(s);
}

/* n bytes already encoded (forward.c's batches), no reply subject. */
int net_publish_bytes(struct gw *g, natsConnection *nc, const char *subj, const uint8_t *buf,
		      size_t n)
{
	if (n > g->max_payload || n > INT32_MAX)
		return -EMSGSIZE;
	return net_status_errno(natsConnection_Publish(nc, subj, buf, (int)n));
}
