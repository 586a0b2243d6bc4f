/* SPDX-License-Identifier: MIT */
/*
 * Credentials of received messages, for servers that apply permissions
 * of their own (Phoenix oids, files): the message's kernel-given ids,
 * with what conn/peer.c keeps of the sender (groups, label).
 */
#include <errno.h>
#include <string.h>

#include "msgport.h"
#include "conn/peer.h"
#include "ns/access.h"

static struct ucred msg_cred(const mp_msg_t *m)
{
	return (struct ucred){ .pid = m->pid, .uid = m->uid, .gid = m->gid };
}

struct check_arg {
	uid_t owner;
	gid_t group;
	unsigned mode;
	unsigned want;
};

static int check_fn(const struct mp_ids *ids, void *arg)
{
	const struct check_arg *a = arg;

	return mp_access_allows(a->owner, a->group, a->mode, ids, a->want) ? 0 : -EACCES;
}

int mp_cred_check(const mp_msg_t *m, uid_t owner, gid_t group, mode_t mode, int want)
{
	struct check_arg a = { .owner = owner, .group = group, .mode = mode & 0777,
			       .want = (unsigned)want };
	struct ucred cred;

	if (!m || want < 0 || want > 7)
		return -EINVAL;
	cred = msg_cred(m);
	return mp_peer_with(&cred, check_fn, &a);
}

struct groups_arg {
	gid_t *out;
	size_t n;
};

static int groups_fn(const struct mp_ids *ids, void *arg)
{
	const struct groups_arg *a = arg;
	size_t k = ids->ngroups < a->n ? ids->ngroups : a->n;

	if (k)
		memcpy(a->out, ids->groups, k * sizeof(gid_t));
	return ids->ngroups > 0x7fffffff ? 0x7fffffff : (int)ids->ngroups;
}

int mp_cred_groups(const mp_msg_t *m, gid_t *groups, size_t n)
{
	struct groups_arg a = { .out = groups, .n = n };
	struct ucred cred;

	if (!m || (!groups && n))
		return -EINVAL;
	cred = msg_cred(m);
	return mp_peer_with(&cred, groups_fn, &a);
}

int mp_cred_label(const mp_msg_t *m, char *buf, size_t len)
{
	struct ucred cred;

	if (!m || !buf)
		return -EINVAL;
	cred = msg_cred(m);
	return mp_peer_label(&cred, buf, len);
}
