/* SPDX-License-Identifier: MIT */
/*
 * Which transport a new connection uses: the port's own choice (set by its
 * owner with mp_port_create_opts()), else $MSGPORT_TRANSPORT, else the
 * fastest, hybrid.
 */
#include <stdlib.h>
#include <string.h>

#include "ns/portfile.h"
#include "transport/transport.h"

static const struct mp_transport *const transports[] = {
	[MP_TRANSPORT_SOCK] = &mp_transport_sock,
	[MP_TRANSPORT_RING] = &mp_transport_ring,
	[MP_TRANSPORT_HYBRID] = &mp_transport_hybrid,
};

int mp_transport_parse(const char *name)
{
	for (unsigned k = 1; k < sizeof(transports) / sizeof(transports[0]); k++)
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
