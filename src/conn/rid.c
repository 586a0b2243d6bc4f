/* SPDX-License-Identifier: MIT */
#include "conn/rid.h"

#include <stdlib.h>
#include <string.h>

#include "mem/data.h"
#include "mem/memcap.h"
#include "mem/pages.h"
#include "os/compiler.h"

#define RID_NONE UINT32_MAX

static int table_grow(struct mp_rid_table *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 16;
	struct mp_rid_slot *s;

	if (t->cap == 0)
		t->free_head = RID_NONE;
	if (ncap > (1u << 24))
		return -1;
	s = realloc(t->slots, sizeof(*s) * ncap);
	if (!s)
		return -1;
	memset(s + t->cap, 0, sizeof(*s) * (ncap - t->cap));
	for (uint32_t k = ncap; k-- > t->cap;) {
		s[k].next_free = t->free_head;
		t->free_head = k;
	}
	t->slots = s;
	t->cap = ncap;
	return 0;
}

/* rid = generation << 32 | index; generations are odd so rid is never 0. */
mp_rid_t mp_rid_alloc(struct mp_rid_table *t, const struct mp_call *call)
{
	struct mp_rid_slot *s;
	uint32_t idx;

	if ((t->cap == 0 || t->free_head == RID_NONE) && table_grow(t))
		return 0;
	idx = t->free_head;
	s = &t->slots[idx];
	t->free_head = s->next_free;
	s->gen += 1;	/* even (free) to odd (used) */
	s->call = *call;
	return (mp_rid_t)s->gen << 32 | idx;
}

struct mp_call *mp_rid_find(struct mp_rid_table *t, mp_rid_t rid)
{
	uint32_t idx = (uint32_t)rid, gen = (uint32_t)(rid >> 32);

	if (idx >= t->cap || !(gen & 1) || t->slots[idx].gen != gen)
		return NULL;
	return &t->slots[idx].call;
}

void mp_rid_free(struct mp_rid_table *t, mp_rid_t rid)
{
	uint32_t idx = (uint32_t)rid;
	struct mp_rid_slot *s = &t->slots[idx];

	s->gen += 1;	/* odd to even: every copy of the rid goes stale; the call
			 * left is never read (only odd slots are) */
	s->next_free = t->free_head;
	t->free_head = idx;
}

void mp_rid_table_fini(struct mp_rid_table *t, void (*fn)(struct mp_call *, void *), void *arg)
{
	for (uint32_t k = 0; k < t->cap; k++)
		if (t->slots[k].gen & 1)
			fn(&t->slots[k].call, arg);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static void call_forget(struct mp_call *call, void *arg)
{
	(void)arg;
	mp_call_free_buffers(call);
}

void mp_rid_table_forget(struct mp_rid_table *t)
{
	mp_rid_table_fini(t, call_forget, NULL);
}

void mp_buf_release(void *p, size_t size, int kind, uint64_t id)
{
	switch (kind) {
	case MP_BUF_MAPPED:
		mp_data_unmap(p, size);
		break;
	case MP_BUF_PAGES:
		mp_pages_auto_release(p, id);
		break;
	case MP_BUF_CACHE:
		mp_buf_put(p, size);
		break;
	case MP_BUF_LENT:
		mp_pages_lend_unmap(p, size);
		break;
	case MP_BUF_SHARED:
	case MP_BUF_SCRATCH:
		break;
	default:
		free(p);
		break;
	}
}

void mp_call_free_buffers(struct mp_call *call)
{
	mp_buf_release(call->in, call->in_size, call->in_kind, call->in_id);
	mp_buf_release(call->out, call->out_cap, call->out_kind, call->out_id);
	call->in = NULL;
	call->out = NULL;
	if (unlikely(call->cap)) {	/* copies held for the connection (api/recv.c) */
		mp_memcap_uncharge(call->cap, call->charged);
		mp_memcap_unref(call->cap);
		call->cap = NULL;
	}
}
