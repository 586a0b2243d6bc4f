/* SPDX-License-Identifier: MIT */
#include "ns/owner.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ns/access.h"

static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t own_once = PTHREAD_ONCE_INIT;
static struct mp_ns_owner *own_list;	/* under own_lock */

/* ------------------------------------------------------------- fork */

static void own_prepare(void)
{
	pthread_mutex_lock(&own_lock);
}

static void own_parent(void)
{
	pthread_mutex_unlock(&own_lock);
}

/* The child owns none of the parent's ports (conn/port.c forgets them). */
static void own_child(void)
{
	struct mp_ns_owner *o = own_list, *next;

	own_list = NULL;
	for (; o; o = next) {
		next = o->next;
		mp_ns_owner_free(o);
	}
	pthread_mutex_unlock(&own_lock);
}

static void own_init(void)
{
	pthread_atfork(own_prepare, own_parent, own_child);
}

/* ------------------------------------------------------------ table */

/* The link that points at token's entry, or at the NULL at the end. */
static struct mp_ns_owner **own_find(uint64_t token)
{
	struct mp_ns_owner **pp = &own_list;

	while (*pp && (*pp)->token != token)
		pp = &(*pp)->next;
	return pp;
}

int mp_ns_owner_add(mp_port_t port, uint64_t token)
{
	struct mp_ns_owner *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	pthread_once(&own_once, own_init);	/* the fork handlers */
	o->port = port;
	o->token = token;
	pthread_mutex_lock(&own_lock);
	o->next = own_list;
	own_list = o;
	pthread_mutex_unlock(&own_lock);
	return 0;
}

struct mp_ns_owner *mp_ns_owner_take(uint64_t token)
{
	struct mp_ns_owner **pp, *o;

	pthread_mutex_lock(&own_lock);
	pp = own_find(token);
	o = *pp;
	if (o)
		*pp = o->next;
	pthread_mutex_unlock(&own_lock);
	return o;
}

void mp_ns_owner_free(struct mp_ns_owner *o)
{
	if (!o)
		return;
	for (uint32_t k = 0; k < o->npaths; k++)
		free(o->paths[k]);
	free(o->paths);
	free(o->acc);
	free(o);
}

bool mp_ns_owner_has(mp_port_t port, uint64_t token)
{
	struct mp_ns_owner *o;
	bool ours;

	pthread_mutex_lock(&own_lock);
	o = *own_find(token);
	ours = o && o->port == port;
	pthread_mutex_unlock(&own_lock);
	return ours;
}

/* ------------------------------------------------------------ paths */

/* Room for one more path and its access. */
static int paths_grow(struct mp_ns_owner *o)
{
	char **v = realloc(o->paths, sizeof(*v) * (o->npaths + 1));
	struct mp_ns_acc *a;

	if (!v)
		return -ENOMEM;
	o->paths = v;
	a = realloc(o->acc, sizeof(*a) * (o->npaths + 1));
	if (!a)
		return -ENOMEM;
	o->acc = a;
	return 0;
}

int mp_ns_owner_path_add(uint64_t token, const char *path, unsigned mode, gid_t gid)
{
	struct mp_ns_owner *o;
	char *dup = strdup(path);
	int err = 0;

	if (!dup)
		return -ENOMEM;
	pthread_mutex_lock(&own_lock);
	o = *own_find(token);
	if (!o) {
		err = -ENOENT;	/* destroyed meanwhile */
		goto out;
	}
	err = paths_grow(o);
	if (err)
		goto out;
	o->acc[o->npaths] = (struct mp_ns_acc){ .mode = mode, .gid = gid };
	o->paths[o->npaths++] = dup;
	dup = NULL;
out:
	pthread_mutex_unlock(&own_lock);
	free(dup);
	return err;
}

void mp_ns_owner_path_forget(uint64_t token, const char *path)
{
	struct mp_ns_owner *o;

	pthread_mutex_lock(&own_lock);
	o = *own_find(token);
	for (uint32_t k = 0; o && k < o->npaths; k++) {
		if (strcmp(o->paths[k], path) == 0) {
			free(o->paths[k]);
			o->paths[k] = o->paths[--o->npaths];
			o->acc[k] = o->acc[o->npaths];
			break;
		}
	}
	pthread_mutex_unlock(&own_lock);
}

/* ----------------------------------------------------------- access */

unsigned mp_ns_owner_modes(uint64_t token)
{
	struct mp_ns_owner *o;
	unsigned modes = 0;

	pthread_mutex_lock(&own_lock);
	o = *own_find(token);
	for (uint32_t k = 0; o && k < o->npaths; k++)
		modes |= o->acc[k].mode;
	pthread_mutex_unlock(&own_lock);
	return modes;
}

bool mp_ns_owner_admits(uint64_t token, const struct mp_ids *who)
{
	uid_t self = geteuid();
	struct mp_ns_owner *o;
	bool ok = who->uid == self;

	pthread_mutex_lock(&own_lock);
	o = *own_find(token);
	for (uint32_t k = 0; o && !ok && k < o->npaths; k++)
		ok = mp_access_allows(self, o->acc[k].gid, o->acc[k].mode, who, 2);
	pthread_mutex_unlock(&own_lock);
	return ok;
}
