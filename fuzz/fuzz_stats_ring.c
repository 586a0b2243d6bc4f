/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: mp_stats_ring_count (src/conn/stats_depth.c), the
 * reader's count of the messages waiting in a client's ring, which the
 * client writes (conn/stats.h [S5]).
 *
 * Input: 8 bytes of the server's head (c2s_head), then the c2s slots'
 * bytes (zero-padded to the whole ring).  Checked: the count is at most
 * the slots it says they take, which are at most the ring; a count above
 * 0 means a message stamped for the head's position is there; the region
 * is never written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn/stats.h"

#define INVARIANT(c)								\
	do {									\
		if (!(c)) {							\
			fprintf(stderr, "invariant failed: %s\n", #c);		\
			abort();						\
		}								\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mp_ring_region r, copy;
	uint64_t head = 0, slots = ~0ull;
	uint32_t stamp;
	int64_t n;

	memset(&r, 0, sizeof(r));
	if (size >= 8) {
		memcpy(&head, data, 8);
		data += 8;
		size -= 8;
	}
	if (size > sizeof(r.c2s))
		size = sizeof(r.c2s);
	memcpy(r.c2s, data, size);
	store_relaxed(&r.c2s_head.shm_pos, head);
	memcpy(&copy, &r, sizeof(r));
	n = mp_stats_ring_count(&r, &slots);
	INVARIANT(n >= 0);
	INVARIANT(slots <= MP_RING_SLOTS);
	INVARIANT((uint64_t)n <= slots);
	memcpy(&stamp, &r.c2s[head & (MP_RING_SLOTS - 1)], sizeof(stamp));
	INVARIANT(slots == 0 || stamp == ring_stamp_for(head));
	INVARIANT(memcmp(&copy, &r, sizeof(r)) == 0);
	return 0;
}
