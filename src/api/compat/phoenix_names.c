/* SPDX-License-Identifier: MIT */
/*
 * libmsgport-phoenix: libphoenix's names (<sys/msg.h>) as real functions,
 * each calling its mp_phx_* of libmsgport (api/compat/phoenix.c).
 *
 * Real functions, not inline wrappers in the header: Phoenix code may
 * re-declare them (extern int msgSend(...)), take their address or be
 * linked against objects built elsewhere, as with libphoenix.  They live
 * in libmsgport-phoenix, not libmsgport, so that libmsgport keeps
 * exporting only mp_* names: a program linking msgport for its own API
 * never gets a lookup() or priority() it did not ask for.
 */
#include "msgport/phoenix.h"

int portCreate(uint32_t *port)
{
	return mp_phx_port_create(port);
}

void portDestroy(uint32_t port)
{
	(void)mp_phx_port_destroy(port);	/* void on Phoenix */
}

int portRegister(uint32_t port, const char *name, oid_t *oid)
{
	return mp_phx_port_register(port, name, oid);
}

int portUnregister(const char *name)
{
	return mp_phx_port_unregister(name);
}

int lookup(const char *name, oid_t *file, oid_t *dev)
{
	return mp_phx_lookup(name, file, dev);
}

int msgSend(uint32_t port, msg_t *m)
{
	return mp_phx_send(port, m);
}

int msgPulse(uint32_t port, msg_t *m)
{
	return mp_phx_pulse(port, m);
}

int msgRecv(uint32_t port, msg_t *m, msg_rid_t *rid)
{
	return mp_phx_recv(port, m, rid);
}

int msgRespond(uint32_t port, msg_t *m, msg_rid_t rid)
{
	return mp_phx_respond(port, m, rid);
}

int proc_send(uint32_t port, msg_t *m)
{
	return mp_phx_send(port, m);
}

int proc_recv(uint32_t port, msg_t *m, msg_rid_t *rid)
{
	return mp_phx_recv(port, m, rid);
}

int proc_respond(uint32_t port, msg_t *m, msg_rid_t rid)
{
	return mp_phx_respond(port, m, rid);
}
