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
 *
 * Two kinds of record answer: msgport's entries (ns/ns.c) and the user's
 * Phoenix-mode names (ns/phx.c).  One walk looks at both, candidate by
 * candidate from the whole name down to the root, so the longest
 * registered prefix of either kind answers; the mode decides which
 * names are taken and which kind wins at one candidate
 * (docs/phoenix-namespace.md).
 */
#include "api/lookup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ns/ns.h"
#include "ns/phx.h"
#include "ns/root.h"
#include "os/lack.h"

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

/* What answers one candidate name. */
struct hit {
	mp_oid_t oid;
	bool mount;		/* lookups below it ask its server */
};

struct walk {
	const char *root;
	int phx;		/* the user's Phoenix directory, or -1: none */
	bool phoenix;		/* Phoenix mode: Phoenix names first */
	bool native;		/* native entries may still answer */
	bool crossed;		/* the exact native lookup crossed an entry */
	struct mp_phx_buf buf;
};

static void hit_native(struct hit *h, const struct mp_ns_record *r)
{
	h->oid = (mp_oid_t){ .port = r->port, .id = r->id };
	h->mount = r->flags & MP_NS_REC_MOUNT;
}

/* The native entry at path (NUL-terminated): 0, -ENOENT, -EACCES, or a
 * resource error (the entry could not be read: not "no entry"). */
static int native_at(struct walk *w, const char *path, bool exact, struct hit *h)
{
	struct mp_ns_record r;
	int err;

	if (!w->native || (!exact && !w->crossed && !w->phoenix))
		return -ENOENT;	/* no native entry can be there */
	err = mp_ns_entry_get(w->root, path, &r);
	if (exact && err == -ENOTDIR)
		w->crossed = true;
	if (err == -EISDIR && !exact)
		w->native = false;	/* a directory of entries: none above */
	if (err == 0)
		hit_native(h, &r);
	return err == 0 || err == -EACCES || mp_err_resource(err) ? err : -ENOENT;
}

/* The Phoenix name of len bytes at name: 0, -ENOENT or a resource error. */
static int phx_at(struct walk *w, const char *name, size_t len, struct hit *h)
{
	struct mp_phx_rec r;
	int err = w->phx < 0 ? -ENOENT : mp_ns_phx_get(w->phx, name, len, &w->buf, &r);

	if (err)
		return mp_err_resource(err) ? err : -ENOENT;
	h->oid = (mp_oid_t){ .port = r.port, .id = r.id };
	h->mount = true;	/* every Phoenix name is one */
	return 0;
}

/* The candidate name[0..len): 0 found, -ENOENT, -EACCES, a resource error. */
static int candidate(struct walk *w, const char *name, size_t len, bool exact, struct hit *h)
{
	char path[MP_PATH_MAX];
	int err = -ENOENT;

	if (w->phoenix && (err = phx_at(w, name, len, h)) != -ENOENT)
		return err;
	if (w->native && len < sizeof(path)) {
		memcpy(path, name, len);
		path[len] = '\0';
		if (!w->phoenix || mp_ns_path_check(path) == 0)
			err = native_at(w, path, exact, h);
		if (err != -ENOENT)
			return err;
	}
	return w->phoenix ? -ENOENT : phx_at(w, name, len, h);
}

/* The root mount point: 0, -ENOENT, -EACCES, a resource error. */
static int root_at(struct walk *w, struct hit *h)
{
	struct mp_ns_record r;
	int err;

	if (w->phoenix && (err = phx_at(w, "/", 1, h)) != -ENOENT)
		return err;
	err = mp_ns_entry_get(w->root, "/", &r);
	if (err == 0 && (r.flags & MP_NS_REC_MOUNT)) {
		hit_native(h, &r);
		return 0;
	}
	if (err == -EACCES || mp_err_resource(err))
		return err;
	return w->phoenix ? -ENOENT : phx_at(w, "/", 1, h);
}

static int answer(const struct hit *h, mp_oid_t *file, mp_oid_t *dev)
{
	if (file)
		*file = h->oid;
	if (dev)
		*dev = h->oid;
	return 0;
}

/* Exact match, then each proper prefix ending before a '/', longest
 * first (as the Phoenix kernel: from position 1 on), then the root. */
static int walk_run(struct walk *w, const char *name, size_t len, mp_oid_t *file, mp_oid_t *dev)
{
	struct hit h;
	int err;

	if (len == 1 && name[0] == '/') {
		err = root_at(w, &h);
		return err ? err : answer(&h, file, dev);
	}
	err = candidate(w, name, len, true, &h);
	if (err != -ENOENT)
		return err ? err : answer(&h, file, dev);
	for (size_t i = len; i-- > 1;) {
		if (name[i] != '/')
			continue;
		err = candidate(w, name, i, false, &h);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		return h.mount ? mount_resolve(h.oid, name + i + 1, file, dev) : -ENOENT;
	}
	if (name[0] != '/')
		return -ENOENT;	/* a relative name without a registered prefix */
	err = root_at(w, &h);
	return err ? err : mount_resolve(h.oid, name + 1, file, dev);
}

int mp_lookup_walk(const char *name, bool phoenix, mp_oid_t *file, mp_oid_t *dev)
{
	char root[MP_ROOT_MAX];
	struct walk *w;
	size_t len;
	int err;

	len = strnlen(name, MP_PHX_LOOKUP_MAX + 1);
	if (len > MP_PHX_LOOKUP_MAX)
		return -ENAMETOOLONG;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* Native callers' names are checked: every prefix is a native path. */
	*w = (struct walk){ .root = root, .phoenix = phoenix, .phx = mp_ns_phx_dir(root, 0),
		.native = true };
	/* No Phoenix directory is no Phoenix name; one we could not open
	 * might hold the answer. */
	err = mp_err_resource(w->phx) ? w->phx : walk_run(w, name, len, file, dev);
	if (w->phx >= 0)
		close(w->phx);
	free(w);
	return err;
}

int mp_lookup_dev(const char *path, mp_oid_t *file, mp_oid_t *dev)
{
	int err;

	if (!file && !dev)
		return -EINVAL;
	err = mp_ns_mount_path_check(path);	/* only the root mount point is "/" */
	if (err)
		return err;
	return mp_lookup_walk(path, false, file, dev);
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
