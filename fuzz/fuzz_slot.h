/* SPDX-License-Identifier: MIT */
/*
 * What fuzz_slot.c (the codec: checks 1 and 2) and fuzz_slot_inplace.c
 * (the in-place encoder and readers of proto/slot.h: checks 3 to 5)
 * share.  See fuzz_slot.c for what each check asserts.
 */
#ifndef FUZZ_SLOT_H
#define FUZZ_SLOT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "proto/slot.h"

#define CHECK(c)                                                                      \
	do {                                                                          \
		if (!(c)) {                                                           \
			fprintf(stderr, "fuzz_slot: invariant failed: %s (%s:%d)\n", #c, \
				__FILE__, __LINE__);                                  \
			abort();                                                      \
		}                                                                     \
	} while (0)

#define POISON 0xa5
#define ENC_MAX (MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE)
_Static_assert(ENC_MAX >= MP_SLOT_MSG_MAX, "encode buffer");

/* fuzz_slot.c: the flags and encoded size the encoder must give m. */
unsigned expect_flags(const struct mp_slot_msg *m);
size_t expect_size(const struct mp_slot_msg *m, unsigned f);

/* fuzz_slot_inplace.c */
void check_put_inline(const struct mp_slot_msg *m, uint64_t seed);
void check_reply_read(const uint8_t *in, size_t len, uint8_t ctl);
void check_call_read(const uint8_t *in, size_t len, uint8_t ctl);

#endif
