/* SPDX-License-Identifier: MIT */
/* The fake ring connection of fake_ring.h. */
#include "fake_ring.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"

void fake_init(struct fake_conn *f)
{
	f->r = aligned_alloc(4096, sizeof(*f->r));
	CHECK(f->r != NULL);
	memset(f->r, 0, sizeof(*f->r));
	f->rs = calloc(1, sizeof(*f->rs));
	CHECK(f->rs != NULL);
	f->rs->r = f->r;
	f->rs->rx = (struct mp_ring_view){ .slots = f->r->c2s, .head = &f->r->c2s_head.shm_pos };
	f->rs->tx = (struct mp_ring_view){ .slots = f->r->s2c, .head = &f->r->s2c_head.shm_pos };
	f->rs->db_efd = f->rs->wake_efd = f->rs->wake_epfd = -1;
	memset(&f->c, 0, sizeof(f->c));
	f->c.fd = -1;
	f->c.tp_priv = f->rs;
	f->prod = (struct mp_ring_view){ .slots = f->r->c2s, .head = &f->r->c2s_head.shm_pos };
}

void fake_fini(struct fake_conn *f)
{
	free(f->c.inl);
	free(f->rs);
	free(f->r);
}
