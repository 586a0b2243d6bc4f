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
#include "msgport-phoenix/phoenix/attribute.h"

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

/* <phoenix/attribute.h> */
void _phoenix_initAttrsStruct(struct _attrAll *attrs, int err)
{
	struct _attr *each[] = {
		&attrs->mode, &attrs->uid, &attrs->gid, &attrs->size, &attrs->blocks,
		&attrs->ioblock, &attrs->type, &attrs->port, &attrs->pollStatus,
		&attrs->eventMask, &attrs->cTime, &attrs->mTime, &attrs->aTime,
		&attrs->links, &attrs->dev,
	};

	for (size_t k = 0; k < sizeof(each) / sizeof(each[0]); k++)
		each[k]->err = err;
}
