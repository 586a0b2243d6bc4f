/* SPDX-License-Identifier: MIT */
/*
 * The Phoenix-RTOS front-end (include/msgport/phoenix.h): msg_t converted
 * to and from mp_msg_t, and the table that maps Phoenix's 32-bit rids to
 * msgport's 64-bit ones.
 *
 * The rid table is process-wide: an open-addressing hash table (linear
 * probing, backward-shift deletion) keyed by the rid (msg_rid_t, an int:
 * 1 .. INT_MAX), which comes from a counter that skips 0 and values in
 * use.  A key names one received message until proc_respond takes it out.
 *
 * Names are the Phoenix kernel's (ns/phx.c, api/lookup.c,
 * docs/phoenix-namespace.md), and so are the errors of a port that does
 * not exist or was destroyed: -EINVAL.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgport/phoenix.h"

#include "api/compat/phoenix_os.h"
#include "api/lookup.h"
#include "ns/phx.h"
#include "ns/root.h"

#undef id_t	/* the library's own code keeps glibc's meaning */

struct phx_rid {
	uint32_t key;		/* 0: free slot */
	mp_port_t port;
	mp_rid_t rid;		/* 0 for a one-way message */
};

static struct {
	pthread_mutex_t lock;
	struct phx_rid *slots;
	uint32_t cap;		/* power of two, or 0 */
	uint32_t count;
	uint32_t next;		/* next key to try */
	pthread_once_t once;
} rids = { .lock = PTHREAD_MUTEX_INITIALIZER, .next = 1, .once = PTHREAD_ONCE_INIT };

static uint32_t key_hash(uint32_t key)
{
	return key * 2654435761u;
}

static struct phx_rid *slot_find(uint32_t key)
{
	if (!rids.cap)
		return NULL;
	for (uint32_t k = key_hash(key) & (rids.cap - 1);; k = (k + 1) & (rids.cap - 1)) {
		if (rids.slots[k].key == key)
			return &rids.slots[k];
		if (rids.slots[k].key == 0)
			return NULL;
	}
}

static void slot_put(struct phx_rid *slots, uint32_t cap, const struct phx_rid *e)
{
	uint32_t k = key_hash(e->key) & (cap - 1);

	while (slots[k].key)
		k = (k + 1) & (cap - 1);
	slots[k] = *e;
}

/* Remove a slot, shifting back the entries of its probe run. */
static void slot_remove(struct phx_rid *s)
{
	uint32_t mask = rids.cap - 1, hole = (uint32_t)(s - rids.slots);

	for (uint32_t k = (hole + 1) & mask; rids.slots[k].key; k = (k + 1) & mask) {
		uint32_t home = key_hash(rids.slots[k].key) & mask;

		/* Move k into the hole unless its home lies in (hole, k]. */
		if (((k - home) & mask) >= ((k - hole) & mask)) {
			rids.slots[hole] = rids.slots[k];
			hole = k;
		}
	}
	rids.slots[hole].key = 0;
	rids.count--;
}

static int table_grow(void)
{
	uint32_t cap = rids.cap ? rids.cap * 2 : 64;
	struct phx_rid *v;

	if (cap == 0 || cap > (1u << 30))
		return -ENOMEM;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < rids.cap; k++)
		if (rids.slots[k].key)
			slot_put(v, cap, &rids.slots[k]);
	free(rids.slots);
	rids.slots = v;
	rids.cap = cap;
	return 0;
}

static void rids_init_once(void);

/* A new key for (port, rid), or 0 when out of memory. */
static uint32_t rid_add(mp_port_t port, mp_rid_t rid)
{
	struct phx_rid e = { .port = port, .rid = rid };
	uint32_t key = 0;

	pthread_once(&rids.once, rids_init_once);	/* the fork handlers */
	pthread_mutex_lock(&rids.lock);
	if (rids.count * 2 >= rids.cap && table_grow())
		goto out;
	do {
		e.key = rids.next;
		rids.next = rids.next >= INT_MAX ? 1 : rids.next + 1;	/* a msg_rid_t */
	} while (e.key == 0 || slot_find(e.key));
	slot_put(rids.slots, rids.cap, &e);
	rids.count++;
	key = e.key;
out:
	pthread_mutex_unlock(&rids.lock);
	return key;
}

/* Copy the entry of key if it belongs to port: 0 or -ENOENT. */
static int rid_get(uint32_t key, mp_port_t port, struct phx_rid *out)
{
	struct phx_rid *s;
	int err = -ENOENT;

	pthread_mutex_lock(&rids.lock);
	s = key ? slot_find(key) : NULL;
	if (s && s->port == port) {
		*out = *s;
		err = 0;
	}
	pthread_mutex_unlock(&rids.lock);
	return err;
}

/* Take key out, if it still names the same call. */
static void rid_drop(const struct phx_rid *e)
{
	struct phx_rid *s;

	pthread_mutex_lock(&rids.lock);
	s = slot_find(e->key);
	if (s && s->port == e->port && s->rid == e->rid)
		slot_remove(s);
	pthread_mutex_unlock(&rids.lock);
}

/* Forget every rid of port (portDestroy). */
static void rids_purge(mp_port_t port)
{
	pthread_mutex_lock(&rids.lock);
	for (uint32_t k = 0; k < rids.cap;) {
		if (rids.slots[k].key && rids.slots[k].port == port)
			slot_remove(&rids.slots[k]);	/* may shift another entry into k */
		else
			k++;
	}
	pthread_mutex_unlock(&rids.lock);
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&rids.lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&rids.lock);
}

/* The child owns none of the parent's ports: it has no rids. */
static void atfork_child(void)
{
	free(rids.slots);
	rids.slots = NULL;
	rids.cap = rids.count = 0;
	pthread_mutex_unlock(&rids.lock);
}

static void rids_init_once(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* ------------------------------------------------------------ ports */

int mp_phx_port_create(u32 *port)
{
	return mp_port_create(port);
}

int mp_phx_port_destroy(u32 port)
{
	int err = mp_port_destroy(port);

	if (!err)
		rids_purge(port);
	return err;
}

/* The kernel's rule: any string names {port, id}; the port is not
 * checked; the name stays until portUnregister. */
int mp_phx_port_register(u32 port, const char *name, oid_t *oid)
{
	char root[MP_ROOT_MAX];
	int err;

	if (!name)
		return -EINVAL;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	return mp_ns_phx_register(root, name, port, oid ? oid->id : 0);
}

/* Any process of the user may unregister any name; "/" always succeeds,
 * as in the kernel. */
int mp_phx_port_unregister(const char *name)
{
	char root[MP_ROOT_MAX];
	int err;

	if (!name)
		return -EINVAL;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	err = mp_ns_phx_unregister(root, name);
	return strcmp(name, "/") == 0 && err == -ENOENT ? 0 : err;
}

static void oid_out(oid_t *dst, const mp_oid_t *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->port = src->port;
	dst->id = src->id;
}

int mp_phx_lookup(const char *name, oid_t *file, oid_t *dev)
{
	mp_oid_t f, d;
	int err;

	if (!name || (!file && !dev))
		return -EINVAL;
	err = mp_lookup_walk(name, true, &f, &d);
	if (err)
		return err;
	if (file)
		oid_out(file, &f);
	if (dev)
		oid_out(dev, &d);
	return 0;
}

/* The kernel's answer for a port that does not exist (any more), where
 * msgport tells why: nobody listens, or the port went away. */
static int port_gone_einval(int err)
{
	return err == -ENOENT || err == -EPIPE || err == -ECONNREFUSED ? -EINVAL : err;
}

/* -------------------------------------------------------- messaging */

/* msgPulse: a pulse of code msg->type, its value the first 8 bytes of
 * i.raw; the receiver's msgRecv() finds it as a one-way message of that
 * type with the value there too (mp_pulse_info_t: value, then count). */
int mp_phx_pulse(u32 port, msg_t *msg)
{
	uint64_t value;

	if (!msg)
		return -EINVAL;
	memcpy(&value, msg->i.raw, sizeof(value));
	return port_gone_einval(mp_pulse(port, msg->type, value));
}

static void fds_close(const int *fds, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		close(fds[k]);
}

int mp_phx_send(u32 port, msg_t *msg)
{
	mp_msg_t m;
	int err;

	if (!msg)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	_Static_assert(MP_PHX_PRIO_MAX == MP_PRIO_MAX, "one scale");
	/* Phoenix maps the output buffer into the server: it sees and keeps
	 * what the server does not write */
	m.flags = MP_OUT_INOUT;
	m.priority = (uint32_t)mp_phx_thread_priority();
	m.type = (uint32_t)msg->type;
	m.oid.port = msg->oid.port;
	m.oid.id = msg->oid.id;
	m.i.data = (void *)msg->i.data;
	m.i.size = msg->i.size;
	memcpy(m.i.raw, msg->i.raw, MP_RAW_SIZE);
	m.o.data = msg->o.data;
	m.o.size = msg->o.size;
	err = mp_send(port, &m, MP_FOREVER);
	if (err)
		return port_gone_einval(err);
	fds_close(m.o.fds, m.o.nfds);	/* msg_t has no place for them */
	memcpy(msg->o.raw, m.o.raw, MP_RAW_SIZE);
	msg->o.err = m.o.err;
	return 0;	/* o.size stays the buffer's size, as on Phoenix */
}

static void msg_from_mp(msg_t *msg, const mp_msg_t *m)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = (int)m->type;
	msg->pid = m->pid;
	msg->priority = m->priority;
	msg->oid.port = m->oid.port;
	msg->oid.id = m->oid.id;
	memcpy(msg->i.raw, m->i.raw, MP_RAW_SIZE);
	msg->i.size = m->i.size;
	msg->i.data = m->i.size ? m->i.data : NULL;
	msg->o.size = m->o.size;
	msg->o.data = m->o.size ? m->o.data : NULL;
}

int mp_phx_recv(u32 port, msg_t *msg, msg_rid_t *rid)
{
	mp_msg_t m;
	mp_rid_t r;
	uint32_t key;
	int ret;

	if (!msg || !rid)
		return -EINVAL;
	ret = mp_recv(port, &m, &r, MP_FOREVER);
	if (ret < 0)
		return port_gone_einval(ret);
	fds_close(m.i.fds, m.i.nfds);	/* msg_t has no place for them */
	key = rid_add(port, ret == 1 ? 0 : r);
	if (!key)
		goto err;
	if (m.o.size && !(m.flags & MP_OUT_INOUT))
		memset(m.o.data, 0, m.o.size);	/* a native caller: never show it our heap */
	msg_from_mp(msg, &m);
	*rid = (msg_rid_t)key;
	return 0;
err:
	if (ret == 0) {	/* a call: its sender is told */
		memset(&m.o, 0, sizeof(m.o));
		m.o.err = -ENOMEM;
		mp_respond(port, &m, r);
	}
	return -ENOMEM;
}

int mp_phx_respond(u32 port, msg_t *msg, msg_rid_t rid)
{
	struct phx_rid e;
	mp_msg_t m;
	int err;

	if (!msg)
		return -EINVAL;
	if (mp_port_fd(port) < 0)
		return -EINVAL;	/* the kernel's answer for a port that is not there */
	err = rid < 0 ? -ENOENT : rid_get((uint32_t)rid, port, &e);
	if (err)
		return err;
	if (e.rid == 0) {	/* a one-way message: nobody waits */
		rid_drop(&e);
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.o.data = msg->o.data;
	m.o.size = msg->o.size;
	m.o.err = msg->o.err;
	memcpy(m.o.raw, msg->o.raw, MP_RAW_SIZE);
	err = mp_respond(port, &m, e.rid);
	if (err != -EINVAL && err != -EMSGSIZE && err != -EBADF)
		rid_drop(&e);	/* used up */
	return err;
}
