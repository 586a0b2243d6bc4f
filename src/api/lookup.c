/* SPDX-License-Identifier: MIT */
/*
 * Lookups below a mount point: ask its server (an MP_MT_LOOKUP call with
 * the rest of the path) and follow its answer from server to server, as
 * Phoenix-RTOS's proc_portLookup() does.  The protocol is described in
 * msgport.h next to mp_mount_register().
 *
 * The answers come from other processes: each is read once into private
 * memory and checked (the resolved length against the rest of the path,
 * a hop only at a '/' and to a real port) before it is used.
 */
#include <errno.h>
#include <string.h>

#include "ns/ns.h"

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

int mp_mount_resolve(mp_oid_t srv, const char *rest, mp_oid_t *file, mp_oid_t *dev)
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
