/* SPDX-License-Identifier: MIT */
/*
 * Imports: each remote object looked up through /net is a port of this
 * gateway, so that calls, one-way sends and pulses on it (a pulse names
 * a port, not an oid) say which remote object they are for.  The same
 * remote object looked up again gives the same port.  They live as long
 * as the gateway (at most NET_IMPORTS_MAX: -ENOSPC beyond).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "gw.h"

int net_imports_init(struct gw *g)
{
	g->imports = calloc(NET_IMPORTS_MAX, sizeof(*g->imports));
	return g->imports ? 0 : -ENOMEM;
}

static int same(const struct import *a, const struct import *b)
{
	if (a->group != b->group || strcmp(a->host, b->host) != 0)
		return 0;
	if (a->group)
		return strcmp(a->path, b->path) == 0;
	return a->rport == b->rport && a->rid == b->rid;
}

/* A new port for im, watched by the receive loop.  Under g->lock. */
static int import_new(struct gw *g, struct import *im)
{
	/* its callers send their time left: NET_CALL passes it on */
	mp_port_opts_t o = { .sz = sizeof(o), .flags = MP_PORT_DEADLINES };
	struct epoll_event ev = { .events = EPOLLIN };
	int err = mp_port_create_opts(&im->port, &o), fd;

	if (err)
		return err;
	fd = mp_port_fd(im->port);
	ev.data.u32 = im->port;
	if (fd < 0 || epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		err = fd < 0 ? fd : -errno;
		mp_port_destroy(im->port);
		return err;
	}
	return 0;
}

int net_import_add(struct gw *g, const struct import *im, mp_port_t *port)
{
	int err = 0;

	pthread_mutex_lock(&g->lock);
	for (size_t k = 0; k < g->nimports; k++) {
		if (same(&g->imports[k], im)) {
			*port = g->imports[k].port;
			goto out;
		}
	}
	if (g->nimports == NET_IMPORTS_MAX) {
		err = -ENOSPC;
		goto out;
	}
	g->imports[g->nimports] = *im;
	err = import_new(g, &g->imports[g->nimports]);
	if (!err)
		*port = g->imports[g->nimports++].port;
out:
	pthread_mutex_unlock(&g->lock);
	return err;
}

/* Imports are never removed, so the pointer stays valid. */
const struct import *net_import_find(struct gw *g, mp_port_t port)
{
	const struct import *im = NULL;

	pthread_mutex_lock(&g->lock);
	for (size_t k = 0; k < g->nimports && !im; k++)
		if (g->imports[k].port == port)
			im = &g->imports[k];
	pthread_mutex_unlock(&g->lock);
	return im;
}

void net_imports_fini(struct gw *g)
{
	for (size_t k = 0; k < g->nimports; k++)
		mp_port_destroy(g->imports[k].port);
	free(g->imports);
	g->imports = NULL;
	g->nimports = 0;
}
