/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: mp_phx_rec_decode (src/ns/phxrec.c), the decoder of
 * the Phoenix-mode name records other processes write (ns/phx.c).
 *
 * Input: the record file's bytes, as read.  On success the decoder must
 * have checked everything the reader relies on: the name lies inside
 * the buffer, right after the header, and fills it exactly; its length
 * is within MP_PHX_NAME_MAX; magic and version are known.  What was
 * decoded must encode back to the same bytes (the layout has no slack),
 * and the input is never written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/phxrec.h"

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
	uint8_t *buf = malloc(size ? size : 1);	/* exactly size: reads past it are reported */
	uint8_t *copy = malloc(size ? size : 1);
	uint8_t *again = malloc(MP_PHX_REC_MAX);
	struct mp_phx_rec r;
	char fname[MP_PHX_FILE_NAME_LEN];

	if (!buf || !copy || !again)
		abort();
	memcpy(buf, data, size);
	memcpy(copy, data, size);
	if (mp_phx_rec_decode(buf, size, &r) == 0) {
		struct mp_phx_rec_hdr h;
		size_t n;

		memcpy(&h, buf, sizeof(h));
		INVARIANT(size >= sizeof(struct mp_phx_rec_hdr));
		INVARIANT(h.magic == MP_PHX_REC_MAGIC && h.version == MP_PHX_REC_VERSION);
		INVARIANT(h.reserved == 0);
		INVARIANT(r.name_len <= MP_PHX_NAME_MAX);
		INVARIANT(r.name == (const char *)buf + sizeof(struct mp_phx_rec_hdr));
		INVARIANT(sizeof(struct mp_phx_rec_hdr) + r.name_len == size);
		INVARIANT(r.port == h.port && r.id == h.id && r.pid == h.pid);
		n = mp_phx_rec_encode(again, MP_PHX_REC_MAX, r.port, r.id, r.pid, r.name, r.name_len);
		INVARIANT(n == size && memcmp(again, buf, size) == 0);
		mp_phx_rec_file_name(fname, r.name, r.name_len);
		INVARIANT(strlen(fname) == MP_PHX_FILE_NAME_LEN - 1);
	}
	INVARIANT(size == 0 || memcmp(buf, copy, size) == 0);
	free(again);
	free(copy);
	free(buf);
	return 0;
}
