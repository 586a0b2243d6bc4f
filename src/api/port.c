/* SPDX-License-Identifier: MIT */
/*
 * The public port calls, where the two layers below meet: a port is a
 * port object of conn/ (its socket, connections, rids) and an incarnation
 * that ns/ knows, with the namespace entries registered to it.  No lock
 * of one layer is held while the other is called (the lock order is in
 * conn/port.h).
 */
#include <errno.h>

#include "api/prio_inherit.h"
#include "os/prio.h"
#include "conn/port.h"
#include "conn/port_rx.h"
#include "conn/tls.h"
#include "ns/ns.h"
#include "ns/owner.h"
#include "ns/root.h"
#include "os/shm.h"

/* ---------------------------------------------------------- lifecycle */

int mp_port_create(mp_port_t *port)
{
	return mp_port_create_opts(port, NULL);
}

static int opts_check(const mp_port_opts_t *opts)
{
	if (!opts)
		return 0;
	if (opts->sz < sizeof(*opts) || (opts->flags & ~(MP_PORT_INPUT_IN_PLACE | MP_PORT_DISCONNECT_PULSES | MP_PORT_PRIO_INHERIT |
								   MP_PORT_DEADLINES)) ||
	    opts->transport > MP_TRANSPORT_HYBRID)
		return -EINVAL;
	return 0;
}

int mp_port_create_opts(mp_port_t *port, const mp_port_opts_t *opts)
{
	struct mp_port_obj *p;
	int err;

	if (!port || opts_check(opts))
		return -EINVAL;
	/* inheriting needs the right to put the thread's priority back */
	if (opts && (opts->flags & MP_PORT_PRIO_INHERIT) && !mp_prio_can_restore())
		return -EPERM;
	err = mp_port_build(opts, &p);
	if (err)
		return err;
	/* Known to the namespace before anyone can find it to register. */
	err = mp_ns_owner_add(p->pf.port, p->pf.token);
	if (err)
		goto err;
	mp_port_publish(p);
	if (p->prio_inherit)
		fetch_add_relaxed(&mp_inherit_ports, 1);	/* a hint (api/prio_inherit.h) */
	*port = p->pf.port;
	return 0;
err:
	mp_port_discard(p);
	return err;
}

int mp_port_destroy(mp_port_t port)
{
	struct mp_port_obj *p;

	if (port == 0)
		return -EINVAL;
	p = mp_port_unpublish(port);
	if (!p)
		return -ENOENT;
	/* Its entries go before it dies, with no port lock held. */
	mp_ns_owner_remove(p->root, p->pf.token);
	mp_port_shutdown(p);
	return 0;
}

int mp_port_fd(mp_port_t port)
{
	struct mp_port_obj *p;
	int fd;

	if (port == 0)
		return -EINVAL;
	p = mp_port_get(port);
	if (!p)
		return -ENOENT;
	fd = p->epfd;
	/* Read unlocked by receivers: from their next mp_recv() on, they
	 * keep the fd readable for what is left waiting. */
	mp_port_fd_wanted(p);
	mp_port_put(p);
	return fd;
}

/* ---------------------------------------------------------- namespace */

static int oid_register(const mp_oid_t *oid, const char *path, unsigned mode, uint32_t flags)
{
	struct mp_port_obj *p;
	int err;

	if (!oid || oid->port == 0 || oid->reserved || (mode & ~0777u))
		return -EINVAL;
	err = flags & MP_NS_REC_MOUNT ? mp_ns_mount_path_check(path) : mp_ns_path_check(path);
	if (err)
		return err;
	p = mp_port_get(oid->port);
	if (!p)
		return -ENOENT;
	/* The reference keeps root and sock_path; no lock is held. */
	err = mp_ns_register(&(struct mp_ns_reg){
		.root = p->root, .sock_path = p->sock_path, .token = p->pf.token,
		.oid = *oid, .path = path, .mode = mode, .flags = flags,
	});
	mp_port_put(p);
	return err;
}

int mp_oid_register(const mp_oid_t *oid, const char *path, unsigned mode)
{
	return oid_register(oid, path, mode, 0);
}

int mp_mount_register(const mp_oid_t *oid, const char *path, unsigned mode)
{
	return oid_register(oid, path, mode, MP_NS_REC_MOUNT);
}

int mp_port_register(mp_port_t port, const char *path, unsigned mode)
{
	mp_oid_t oid = { .port = port };

	return mp_oid_register(&oid, path, mode);
}

int mp_port_unregister(const char *path)
{
	char root[MP_ROOT_MAX];
	int err = mp_ns_path_check(path);

	if (err)
		return err;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	return mp_ns_unregister(root, path);
}

int mp_ns_root_init(const char *dir, gid_t gid)
{
	return mp_root_init(dir, gid);
}
