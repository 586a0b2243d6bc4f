/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the batch frames (net/wire.c, NET_BATCH) that tests/net/run.sh
 * builds with net/wire.c alone: a batch of sends and a pulse decodes record by
 * record, in order; every truncation of it, and every batch whose count, a
 * record's length, an inner frame's kind or host is wrong, is refused
 * (-EPROTO) by net_batch_check(), whatever net_batch_next() gave before.
 *   wire_test            run; print "wire ok N" (N refused cases), or fail
 *   wire_test FILE       also write the batch to FILE (fuzz/corpus-net seed)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../net/wire.h"

static int refused;

#define CHECK(c)								\
	do {									\
		if (!(c)) {							\
			fprintf(stderr, "wire_test:%d: %s\n", __LINE__, #c);	\
			exit(1);						\
		}								\
	} while (0)

static uint8_t buf[4096];

/* A batch from host "a": sends of "one", "two", "three", then a pulse. */
static size_t make_batch(uint64_t total, const char *inner_from, int inner_kind)
{
	static const char *const words[] = { "one", "two", "three" };
	struct net_frame b = { .kind = NET_BATCH, .total = total, .from = "a" };
	size_t len = NET_HDR_SIZE;

	for (int k = 0; k < 4; k++) {
		struct net_frame f = { .kind = k < 3 ? NET_SEND : NET_PULSE, .type = (uint32_t)k,
				       .value = 42, .port = 7 };
		const char *w = k < 3 ? words[k] : "";

		if (k == 1)
			f.kind = (uint8_t)inner_kind;
		snprintf(f.from, sizeof(f.from), "%s", k == 2 ? inner_from : "a");
		len += net_batch_put(&f, w, strlen(w), buf + len, sizeof(buf) - len);
	}
	net_frame_encode(&b, NULL, 0, buf);
	return len;
}

/* The batch of len bytes: decoded, every record as made; or refused. */
static int walk(size_t len)
{
	struct net_frame b, f;
	struct net_batch_it it;
	int r, k = 0;

	if (net_frame_decode(buf, len, &b) || b.kind != NET_BATCH)
		return -EPROTO;
	r = net_batch_check(&b);
	net_batch_begin(&it, &b);
	while (net_batch_next(&it, &f) == 1) {
		CHECK(f.type == (uint32_t)k && !strcmp(f.from, "a"));
		CHECK(k < 3 ? f.kind == NET_SEND && f.len == strlen(k == 0 ? "one" : k == 1 ? "two" : "three")
			    : f.kind == NET_PULSE && f.value == 42 && f.len == 0);
		k++;
	}
	CHECK(r != 0 || k == 4);
	return r;
}

static void refuse(size_t len)
{
	CHECK(walk(len) == -EPROTO);
	refused++;
}

int main(int argc, char **argv)
{
	size_t len = make_batch(4, "a", NET_SEND), full;
	struct net_frame f = { .kind = NET_SEND };

	CHECK(walk(len) == 0);
	if (argc > 1) {
		FILE *o = fopen(argv[1], "wb");

		CHECK(o && fwrite(buf, 1, len, o) == len && fclose(o) == 0);
	}
	full = len;
	for (size_t n = 0; n < full; n++)	/* every truncation */
		refuse(n);
	buf[full] = 0;
	refuse(full + 1);			/* a byte past the last record */
	for (uint64_t t = 0; t < 8; t++)	/* a count other than 4 */
		if (t != 4 && make_batch(t, "a", NET_SEND))
			refuse(full);
	make_batch((uint64_t)1 << 40, "a", NET_SEND);	/* more than could fit */
	refuse(full);
	make_batch(4, "b", NET_SEND);		/* a record of another host */
	refuse(full);
	make_batch(4, "a", NET_CALL);		/* a call inside a batch */
	refuse(full);
	make_batch(4, "a", NET_BATCH);		/* a batch inside a batch */
	refuse(full);
	make_batch(4, "a", NET_SEND);
	buf[NET_HDR_SIZE + 2] = 0xff;		/* the first record's length past the end */
	refuse(full);
	make_batch(4, "a", NET_SEND);
	buf[NET_HDR_SIZE] = 0;			/* ... and short of its frame's header */
	refuse(full);
	/* One long record: room for a count of 2, yet only 1 record. */
	for (uint64_t t = 1; t <= 2; t++) {
		static const uint8_t big[400];
		struct net_frame b = { .kind = NET_BATCH, .total = t, .from = "a" }, d;
		size_t n = NET_HDR_SIZE + net_batch_put(&(struct net_frame){ .kind = NET_SEND, .from = "a" },
							big, sizeof(big), buf + NET_HDR_SIZE,
							sizeof(buf) - NET_HDR_SIZE);

		net_frame_encode(&b, NULL, 0, buf);
		CHECK(net_frame_decode(buf, n, &d) == 0);
		CHECK(net_batch_check(&d) == (t == 1 ? 0 : -EPROTO));
		refused += t == 2;
	}
	/* A record that does not fit its room is not written. */
	CHECK(net_batch_put(&f, "xy", 2, buf, NET_REC_MIN + 1) == 0);
	CHECK(net_batch_put(&f, "xy", 2, buf, NET_REC_MIN + 2) == NET_REC_MIN + 2);
	printf("wire ok %d\n", refused);
	return 0;
}
