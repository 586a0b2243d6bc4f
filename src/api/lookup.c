/* SPDX-License-Identifier: MIT */
/*
 * mp_lookup(): the entry at a path (ns/ns.c finds it), or, below a mount
 * point, the answer of the mount point's server: ask it (an MP_MT_LOOKUP
 * call with the rest of the path) and follow its answer from server to
 * server, as Phoenix-RTOS's proc_portLookup() does.  The protocol is
 * described in msgport.h next to mp_mount_register().
 *
 * The answers come from other processes: each is read once into private
 * memory and checked (the resolved length against the rest of the path,
 * a hop only at a '/' and to a real port) before it is used.
 */
#include <errno.h>
#include <string.h>

#include "ns/ns.h"
#include "ns/root.h"

static int lookup_call(mp_oid_t srv, const char *rest, size_t len, mp_lookup_reply_t *reply,
		       int32_t *resolved)
{
	mp_msg_t m;
	int err;

	memset(&m, 0, sizeof(m));
	m.type = MP_MT_LOOKUP;
	m.oid = srv;
	m.oid.reserved = 0;
	m.i.data = (void *)rest;
	m.i.size = len + 1;	/* the NUL too, as Phoenix sends it */
	err = mp_send(srv.port, &m, MP_FOREVER);
	if (err == -EPIPE || err == -ENOENT || err == -ECONNREFUSED)
		return -ENOENT;	/* the mount point's server is gone */
	if (err)
		return err;
	memcpy(reply, m.o.raw, sizeof(*reply));
	reply->file.reserved = 0;
	reply->dev.reserved = 0;
	*resolved = m.o.err;
	return 0;
}

/* Resolve rest (relative, no leading '/') through the mount point server
 * srv and its hops: the oids of the final answer. */
static int mount_resolve(mp_oid_t srv, const char *rest, mp_oid_t *file, mp_oid_t *dev)
{
	mp_lookup_reply_t reply;

	for (int hops = 0; hops < MP_LOOKUP_HOPS_MAX; hops++) {
		size_t len = strlen(rest);
		int32_t done;
		int err = lookup_call(srv, rest, len, &reply, &done);

		if (err)
			return err;
		if (done < 0)
			return done < -4095 ? -EPROTO : done;	/* the server's answer */
		if ((size_t)done > len)
			return -EPROTO;
		if ((size_t)done == len) {
			if (file)
				*file = reply.file;
			if (dev)
				*dev = reply.dev;
			return 0;
		}
		/* Mounted elsewhere: continue with what is left, at reply.dev. */
		if (rest[done] != '/' || reply.dev.port == 0)
			return -EPROTO;
		rest += done + 1;
		srv = reply.dev;
	}
	return -ELOOP;
}

static void oid_from_record(mp_oid_t *oid, const struct mp_ns_record *r)
{
	if (oid) {
		oid->port = r->port;
		oid->reserved = 0;
		oid->id = r->id;
	}
}

/* The answer of the entry at path itself (err: of mp_ns_entry_get()). */
static int entry_answer(int err, const struct mp_ns_record *r, mp_oid_t *file, mp_oid_t *dev)
{
	if (err == -EACCES)
		return err;
	if (err)
		return -ENOENT;
	oid_from_record(file, r);
	oid_from_record(dev, r);
	return 0;
}

int mp_lookup_dev(const char *path, mp_oid_t *file, mp_oid_t *dev)
{
	char root[MP_ROOT_MAX];
	struct mp_ns_record r;
	mp_oid_t srv;
	size_t plen;
	int err;

	if (!file && !dev)
		return -EINVAL;
	err = mp_ns_mount_path_check(path);	/* only the root mount point is "/" */
	if (err)
		return err;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	err = mp_ns_entry_get(root, path, &r);
	if (err == 0 || err == -EACCES || mp_ns_path_is_root(path))
		return entry_answer(err, &r, file, dev);
	err = mp_ns_prefix_find(root, path, err == -ENOTDIR, &r, &plen);
	if (err)
		return err;
	oid_from_record(&srv, &r);
	return mount_resolve(srv, path + plen + 1, file, dev);
}

int mp_lookup(const char *path, mp_oid_t *oid)
{
	mp_oid_t file, dev;
	int err;

	if (!oid || mp_ns_path_is_root(path))
		return -EINVAL;	/* "/" is no entry name: see mp_lookup_dev() */
	err = mp_lookup_dev(path, &file, &dev);
	if (err)
		return err;
	*oid = dev.port ? dev : file;
	return 0;
}
