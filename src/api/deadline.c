/* SPDX-License-Identifier: MIT */
/* mp_recv_deadline(): the time left of a call's caller (api/deadline.h). */
#include "api/deadline.h"

#include <errno.h>

#include "conn/fastslot.h"
#include "conn/tls.h"
#include "ns/portfile.h"
#include "os/deadline.h"
#include "os/shm.h"

/*
 * The frame's deadline_ns is > 0 (proto/wire.c checked it).  A value past
 * what our clock can hold is clamped: no deadline (the peer asked for
 * more than INT64_MAX ns from now, about 292 years).  A port without
 * MP_PORT_DEADLINES ignores it: its clients were not asked for one.
 */
int64_t mp_call_deadline_from(const struct mp_port_obj *p, const struct mp_frame *f)
{
	int64_t now = mp_now_ns();

	if (!(load_relaxed(&p->pf.page->shm_flags) & MP_PORTFILE_F_DEADLINES))
		return 0;	/* written by us, before the port listened */
	if (f->deadline_ns > INT64_MAX - now)
		return 0;
	return now + f->deadline_ns;
}

/* A fast rid names a call in flight (never one with a deadline: those
 * are frames, which the fast take does not take). */
static int fast_rid_live(const struct mp_port_obj *p, mp_rid_t rid)
{
	uint32_t idx = (uint32_t)rid & MP_FAST_IDX_MASK;
	uint64_t w, want = MP_FAST_TOKEN(rid) | MP_FAST_INFLIGHT;

	if (idx >= MP_FAST_SLOTS)
		return 0;
	w = load_acquire(&p->fast[idx].word);	/* pairs with the taker's release */
	return (w & ~(uint64_t)(MP_FAST_ORPHAN | MP_FAST_CAP_MASK << MP_FAST_CAP_SHIFT)) == want;
}

/* The call's deadline_at under p->lock: 0 none, -ENOENT no such rid. */
static int64_t call_deadline_locked(struct mp_port_obj *p, mp_rid_t rid)
{
	struct mp_call *call = mp_rid_find(&p->rids, rid);

	return call ? call->deadline_at : -ENOENT;
}

int mp_recv_deadline(mp_port_t port, mp_rid_t rid, int64_t *remaining_ns)
{
	struct mp_port_obj *p;
	struct mp_tls *tls;
	int64_t at, left;
	bool held;

	if (port == 0 || !remaining_ns)
		return -EINVAL;
	if (mp_port_find_mine(port, &tls, &p, &held))
		return tls ? -ENOENT : -ENOMEM;
	if (mp_rid_is_fast(rid)) {
		at = fast_rid_live(p, rid) ? 0 : -ENOENT;
	} else {
		mp_lock(&p->lock);
		at = call_deadline_locked(p, rid);
		mp_unlock(&p->lock);
	}
	mp_port_done(p, tls, held);
	if (at < 0)
		return (int)at;
	if (at == 0) {
		*remaining_ns = MP_FOREVER;
		return 0;
	}
	left = at - mp_now_ns();
	*remaining_ns = left > 0 ? left : 0;
	return 0;
}
