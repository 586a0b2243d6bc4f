/* SPDX-License-Identifier: MIT */
/*
 * What other hosts may ask of us (docs/net.md, "Exports"): lookups of
 * paths under an --export prefix, and calls on the objects those lookups
 * handed out (no others: a peer cannot name an arbitrary oid of ours).
 * Every frame is decoded and validated before use (wire.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

int net_exported(const struct gw *g, const char *path)
{
	if (net_path_under(path, "/net"))
		return 0;	/* never back into the network */
	for (int k = 0; k < g->o.nexports; k++)
		if (net_path_under(path, g->o.exports[k]))
			return 1;
	return 0;
}

int net_group_of(const struct gw *g, const char *path)
{
	if (!net_exported(g, path))
		return -1;
	for (int k = 0; k < g->o.ngroups; k++)
		if (net_path_under(path, g->o.groups[k]))
			return k;
	return -1;
}

int net_handed_add(struct gw *g, const mp_oid_t *oid)
{
	int err = 0;
	size_t k;

	pthread_mutex_lock(&g->lock);
	for (k = 0; k < g->nhanded; k++)
		if (g->handed[k].port == oid->port && g->handed[k].id == oid->id)
			break;
	if (k == g->nhanded) {
		if (g->nhanded == NET_HANDED_MAX)
			err = -ENOSPC;
		else
			g->handed[g->nhanded++] = (struct handed){ oid->port, oid->id };
	}
	pthread_mutex_unlock(&g->lock);
	return err;
}

int net_handed_has(struct gw *g, uint32_t port, uint64_t id)
{
	int has = 0;

	pthread_mutex_lock(&g->lock);
	for (size_t k = 0; k < g->nhanded && !has; k++)
		has = g->handed[k].port == port && g->handed[k].id == id;
	pthread_mutex_unlock(&g->lock);
	return has;
}

/* Decode a request that wants an answer: 0, or -1 to drop it. */
static int request(natsMsg *m, struct net_frame *f, int kind)
{
	if (!natsMsg_GetReply(m))
		return -1;
	if (net_frame_decode((const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), f))
		return -1;
	return f->kind == kind ? 0 : -1;
}

static void lookup_answer(struct gw *g, natsMsg *m, int group)
{
	struct net_frame f, rep = { .kind = NET_LOOKUP_REP };
	mp_oid_t oid = { 0 };
	int err;

	if (request(m, &f, NET_LOOKUP))
		return;
	err = group ? (net_group_of(g, f.path) >= 0 ? 0 : -ENOENT)
		    : (net_exported(g, f.path) ? 0 : -ENOENT);
	if (!err)
		err = mp_lookup(f.path, &oid);
	if (!err && !group)
		err = net_handed_add(g, &oid);
	rep.status = err;
	rep.port = err ? 0 : oid.port;
	rep.id = err ? 0 : oid.id;
	net_log(g, "%s asks %s (uid %u): %d", f.from, f.path, f.uid, err);
	net_publish(g, natsMsg_GetReply(m), NULL, &rep, NULL, 0);
}

void net_lookup_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	(void)nc, (void)sub;
	lookup_answer(arg, m, 0);
	natsMsg_Destroy(m);
}

void net_glookup_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	(void)nc, (void)sub;
	lookup_answer(arg, m, 1);
	natsMsg_Destroy(m);
}

/* "HOST\n", then "HOST PREFIX\n" per export and "* PREFIX\n" per group. */
void net_list_cb(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct gw *g = arg;
	struct net_frame f, rep = { .kind = NET_LIST_REP };
	char *buf = malloc(4096 + (NET_EXPORTS_MAX + NET_GROUPS_MAX) * (MP_PATH_MAX + NET_HOST_MAX + 2));
	size_t n = 0;

	(void)nc, (void)sub;
	if (buf && !request(m, &f, NET_LIST)) {
		n += (size_t)sprintf(buf + n, "%s\n", g->o.host);
		for (int k = 0; k < g->o.nexports; k++)
			n += (size_t)sprintf(buf + n, "%s %s\n", g->o.host, g->o.exports[k]);
		for (int k = 0; k < g->o.ngroups; k++)
			n += (size_t)sprintf(buf + n, "* %s\n", g->o.groups[k]);
		net_publish(g, natsMsg_GetReply(m), NULL, &rep, buf, n);
	}
	free(buf);
	natsMsg_Destroy(m);
}
