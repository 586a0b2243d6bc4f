/* SPDX-License-Identifier: MIT */
/* Reading a client's pulse board (proto/pulse.h): once, validated. */
#include "proto/pulse.h"

#include "os/shm.h"

int mp_pulse_slot_read(const struct mp_pulse_slot *s, uint64_t seen, struct mp_pulse_read *out)
{
	struct mp_pulse_slot *w = (struct mp_pulse_slot *)s;	/* loads only */
	uint32_t s1, s2;
	struct mp_pulse_read r;

	s1 = load_acquire(&w->shm_seq);	/* [B2] pairs with the client's [B1] release */
	if (s1 & 1)
		return 0;
	r.code = load_relaxed(&w->shm_code);
	r.value = load_relaxed(&w->shm_value);
	r.total = load_relaxed(&w->shm_total);
	full_fence();	/* [B2] the fields before the second look at seq */
	s2 = load_relaxed(&w->shm_seq);
	if (s1 != s2 || r.total == seen || r.code >= MP_PULSE_DISCONNECT)
		return 0;
	*out = r;
	return 1;
}

uint32_t mp_pulse_merged(uint64_t total, uint64_t seen)
{
	uint64_t d = total - seen;

	if (total < seen || d == 0)
		return 1;
	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}
