/* SPDX-License-Identifier: MIT */
#include "conn/peer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem/bulk.h"
#include "mem/memcap.h"
#include "ns/owner.h"
#include "os/prio.h"
#include "proto/ring.h"
#include "transport/transport.h"

#define PEER_GROUPS_FIRST 64	/* first guess; ERANGE tells the real need */
#define PEER_LABEL_MAX 4096

struct peer {
	struct peer *next;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	unsigned refs;		/* live connections with these credentials */
	gid_t *groups;
	size_t ngroups;
	char *label;		/* NULL: none known */
};

/* Charged to a connection's memory account (mem/memcap.h) from accept to
 * close, whatever its transport: the ring (both directions), the call
 * buffers and the first pair of bulk areas of a hybrid connection. */
#define CONN_SETUP_BYTES (sizeof(struct mp_ring_region) + sizeof(struct mp_sconn_call) + \
			  2 * MP_BULK_MIN)

static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t peer_once = PTHREAD_ONCE_INIT;
static struct peer *peers;	/* under peer_lock */

/* ------------------------------------------------------------- fork */

static void peer_free(struct peer *e)
{
	free(e->groups);
	free(e->label);
	free(e);
}

static void peer_prepare(void)
{
	pthread_mutex_lock(&peer_lock);
}

static void peer_parent(void)
{
	pthread_mutex_unlock(&peer_lock);
}

/* The child has none of the parent's connections. */
static void peer_child(void)
{
	while (peers) {
		struct peer *e = peers;

		peers = e->next;
		peer_free(e);
	}
	pthread_mutex_unlock(&peer_lock);	/* taken by peer_prepare() in this thread */
}

static void peer_init(void)
{
	pthread_atfork(peer_prepare, peer_parent, peer_child);
}

/* ------------------------------------------------------- the kernel's */

/* The peer's supplementary groups (*n 0 and NULL when the kernel has no
 * SO_PEERGROUPS: the group bits then match the primary group only). */
static gid_t *groups_get(int fd, size_t *n)
{
	socklen_t len = PEER_GROUPS_FIRST * sizeof(gid_t);
	gid_t *g = NULL;

	*n = 0;
	for (int tries = 0; tries < 2; tries++) {
		gid_t *v = realloc(g, len ? len : sizeof(gid_t));

		if (!v)
			break;
		g = v;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			*n = len / sizeof(gid_t);
			return g;
		}
		if (errno != ERANGE)
			break;
	}
	free(g);
	return NULL;
}

/* The peer's security label (LSM), NULL when there is none. */
static char *label_get(int fd)
{
	char buf[PEER_LABEL_MAX];
	socklen_t len = sizeof(buf) - 1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERSEC, buf, &len) != 0 || len == 0)
		return NULL;
	buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = '\0';
	return strdup(buf);
}

/* ------------------------------------------------------------ table */

static struct peer **peer_find(pid_t pid, uid_t uid, gid_t gid)
{
	struct peer **pp = &peers;

	while (*pp && ((*pp)->pid != pid || (*pp)->uid != uid || (*pp)->gid != gid))
		pp = &(*pp)->next;
	return pp;
}

/* Keep only the groups both lists have: a process that dropped groups
 * between two connections is not credited with the dropped ones. */
static void groups_meet(struct peer *e, const gid_t *g, size_t n)
{
	size_t out = 0;

	for (size_t k = 0; k < e->ngroups; k++) {
		for (size_t j = 0; j < n; j++) {
			if (e->groups[k] == g[j]) {
				e->groups[out++] = e->groups[k];
				break;
			}
		}
	}
	e->ngroups = out;
}

/* Note a new connection of the peer; takes groups and label. */
static int peer_note(const struct ucred *cred, gid_t *groups, size_t ngroups, char *label)
{
	struct peer *e, *fresh = calloc(1, sizeof(*fresh));

	if (!fresh) {
		free(groups);
		free(label);
		return -ENOMEM;
	}
	pthread_once(&peer_once, peer_init);
	pthread_mutex_lock(&peer_lock);
	e = *peer_find(cred->pid, cred->uid, cred->gid);
	if (e) {
		groups_meet(e, groups, ngroups);
		if (e->label && (!label || strcmp(e->label, label) != 0)) {
			free(e->label);	/* two labels: neither is sure */
			e->label = NULL;
		}
		e->refs++;
	} else {
		*fresh = (struct peer){ .next = peers, .pid = cred->pid, .uid = cred->uid,
					.gid = cred->gid, .refs = 1, .groups = groups,
					.ngroups = ngroups, .label = label };
		peers = fresh;
		fresh = NULL;
		groups = NULL;
		label = NULL;
	}
	pthread_mutex_unlock(&peer_lock);
	free(fresh);
	free(groups);
	free(label);
	return 0;
}

void mp_peer_drop(const struct mp_sconn *c)
{
	struct peer **pp, *e = NULL;

	if (!c)
		return;
	if (c->cap) {	/* the connection's setup; regions may hold it longer */
		mp_memcap_uncharge(c->cap, CONN_SETUP_BYTES);
		mp_memcap_unref(c->cap);
	}
	pthread_mutex_lock(&peer_lock);
	pp = peer_find(c->pid, c->uid, c->gid);
	if (*pp && --(*pp)->refs == 0) {
		e = *pp;
		*pp = e->next;
	}
	pthread_mutex_unlock(&peer_lock);
	if (e)
		peer_free(e);
}

void mp_peer_forget(struct mp_sconn *c)
{
	mp_memcap_unref(c->cap);	/* its regions may still hold the account */
	free(c->inl);
	free(c);
}

int mp_peer_with(const struct ucred *cred, mp_peer_fn fn, void *arg)
{
	struct mp_ids ids = { .uid = cred->uid, .gid = cred->gid };
	struct peer *e;
	int ret;

	pthread_mutex_lock(&peer_lock);
	e = *peer_find(cred->pid, cred->uid, cred->gid);
	if (e) {
		ids.groups = e->groups;
		ids.ngroups = e->ngroups;
	}
	ret = fn(&ids, arg);
	pthread_mutex_unlock(&peer_lock);
	return ret;
}

int mp_peer_label(const struct ucred *cred, char *buf, size_t len)
{
	struct peer *e;
	int ret = -ENODATA;

	pthread_mutex_lock(&peer_lock);
	e = *peer_find(cred->pid, cred->uid, cred->gid);
	if (e && e->label) {
		size_t n = strlen(e->label);

		ret = n < len ? (int)n : -ERANGE;
		if (n < len)
			memcpy(buf, e->label, n + 1);
	}
	pthread_mutex_unlock(&peer_lock);
	return ret;
}

/* ----------------------------------------------------------- accept */

/* c's memory account, its setup charged: 0, -ENOMEM, or -ENOBUFS when
 * the limit is below even that. */
static int conn_cap_new(struct mp_sconn *c)
{
	int err;

	c->cap = mp_memcap_new(mp_memcap_limit());
	if (!c->cap)
		return -ENOMEM;
	err = mp_memcap_charge(c->cap, CONN_SETUP_BYTES);
	if (err) {
		mp_memcap_unref(c->cap);
		c->cap = NULL;
	}
	return err;
}

int mp_peer_admit(int fd, uint64_t token, struct mp_sconn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct mp_ids who;
	gid_t *groups;
	size_t ngroups;
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -errno;
	groups = groups_get(fd, &ngroups);
	who = (struct mp_ids){ .uid = cred.uid, .gid = cred.gid, .groups = groups,
			       .ngroups = ngroups };
	if (!mp_ns_owner_admits(token, &who)) {
		free(groups);
		return -EACCES;
	}
	err = conn_cap_new(c);
	if (err) {
		free(groups);
		return err;
	}
	err = peer_note(&cred, groups, ngroups, label_get(fd));
	if (err) {
		mp_memcap_unref(c->cap);
		c->cap = NULL;
		return err;
	}
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->prio_floor = mp_prio_peer_best(cred.pid);	/* the clamp of its claims */
	return 0;
}

bool mp_peer_uid_full(struct mp_sconn *const *conns, uint32_t n, uid_t uid)
{
	unsigned held = 0;

	if (uid == 0 || uid == geteuid())
		return false;	/* root, and the server's own user, are trusted */
	for (uint32_t k = 0; k < n; k++) {
		if (conns[k] && conns[k]->uid == uid && ++held >= MP_PORT_CONN_PER_UID_MAX)
			return true;
	}
	return false;
}
