/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: mp_pulse_slot_read and mp_pulse_merged
 * (src/proto/pulse.c), the reader of the pulse boards clients write
 * (proto/pulse.h [B2]).
 *
 * Input: byte 0 picks how the server's private "seen" totals start (all
 * zero, equal to the slots' totals, one below, or from the input), then
 * the board's bytes (zero-padded to a whole board).  Checked for every
 * slot: news only when its seq is even and its total differs from seen;
 * never a library code (>= MP_PULSE_DISCONNECT: no forged notices); what
 * was read equals the slot's bytes; the merge count is at least 1, at
 * most 2^32 - 1, and exactly total - seen when that fits; the board is
 * never written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pulse.h"

#define INVARIANT(c)								\
	do {									\
		if (!(c)) {							\
			fprintf(stderr, "invariant failed: %s\n", #c);		\
			abort();						\
		}								\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t seen_for(unsigned mode, uint64_t total, const uint8_t *data, size_t size, unsigned k)
{
	uint64_t v = 0;

	switch (mode & 3) {
	case 0:
		return 0;
	case 1:
		return total;
	case 2:
		return total - 1;
	default:
		if (size >= 8 * (k + 1))
			memcpy(&v, data + 8 * k, 8);
		return v;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_pulse_board *b = calloc(1, sizeof(*b));	/* exactly a board */
	struct mp_pulse_board *copy = malloc(sizeof(*b));
	unsigned mode;

	if (!b || !copy)
		abort();
	if (size == 0)
		goto out;
	mode = data[0];
	memcpy(b, data + 1, size - 1 < sizeof(*b) ? size - 1 : sizeof(*b));
	memcpy(copy, b, sizeof(*b));
	for (unsigned k = 0; k < MP_PULSE_CODES; k++) {
		struct mp_pulse_slot raw;
		struct mp_pulse_read r;
		uint64_t seen, total;
		uint32_t seq, code;
		int got;

		memcpy(&raw, &copy->slot[k], sizeof(raw));
		memcpy(&seq, (uint8_t *)&raw + offsetof(struct mp_pulse_slot, shm_seq), 4);
		memcpy(&code, (uint8_t *)&raw + offsetof(struct mp_pulse_slot, shm_code), 4);
		memcpy(&total, (uint8_t *)&raw + offsetof(struct mp_pulse_slot, shm_total), 8);
		seen = seen_for(mode, total, data + 1, size - 1, k);
		got = mp_pulse_slot_read(&b->slot[k], seen, &r);
		INVARIANT(got == 0 || got == 1);
		INVARIANT(got == (!(seq & 1) && total != seen && code < MP_PULSE_DISCONNECT));
		if (got) {
			uint64_t value;
			uint32_t n = mp_pulse_merged(r.total, seen);

			memcpy(&value, (uint8_t *)&raw + offsetof(struct mp_pulse_slot, shm_value), 8);
			INVARIANT(r.code == code && r.value == value && r.total == total);
			INVARIANT(n >= 1);
			if (total > seen && total - seen <= UINT32_MAX)
				INVARIANT(n == total - seen);
			if (total > seen && total - seen > UINT32_MAX)
				INVARIANT(n == UINT32_MAX);
		}
	}
	INVARIANT(memcmp(b, copy, sizeof(*b)) == 0);
out:
	free(b);
	free(copy);
	return 0;
}
