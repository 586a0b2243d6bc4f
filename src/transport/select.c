/* SPDX-License-Identifier: MIT */
/*
 * Which transport a connection uses.  A client picks the port's own
 * choice (set by its owner with mp_port_create_opts()), else
 * $MSGPORT_TRANSPORT, else the fastest, hybrid; the server takes the one
 * its HELLO names.  Every connection starts on the bootstrap socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ns/portfile.h"
#include "os/compiler.h"
#include "transport/all.h"

static const struct mp_transport *const transports[] = {
	[MP_TRANSPORT_SOCK] = &mp_transport_sock,
	[MP_TRANSPORT_RING] = &mp_transport_ring,
	[MP_TRANSPORT_HYBRID] = &mp_transport_hybrid,
};

int mp_transport_parse(const char *name)
{
	for (unsigned k = 1; k < MP_ARRAY_SIZE(transports); k++)
		if (name && strcmp(name, transports[k]->name) == 0)
			return (int)k;
	return -1;
}

const struct mp_transport *mp_transport_for(int portfd)
{
	int forced = mp_portfile_transport(portfd);
	int env = mp_transport_parse(getenv("MSGPORT_TRANSPORT"));

	if (forced > 0 && forced <= MP_TRANSPORT_HYBRID)
		return transports[forced];
	if (env > 0)
		return transports[env];
	return transports[MP_TRANSPORT_HYBRID];
}

const struct mp_transport *mp_transport_bootstrap(void)
{
	return &mp_transport_sock;
}

int mp_transport_attach(struct mp_sconn *c, struct mp_rx *hello, const struct mp_attach *at)
{
	for (unsigned k = 1; k < MP_ARRAY_SIZE(transports); k++) {
		const struct mp_transport *tp = transports[k];

		if (tp->attach && tp->hello == hello->hdr.type)
			return tp->attach(c, hello, at);
	}
	return -EPROTO;	/* a HELLO of no transport that takes one */
}
