/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mp_frame_decode() (src/wire.c): the decoder of
 * socket frames, written by a possibly hostile peer.
 *
 * Input: byte 0 holds the number of descriptors that "arrived" with the
 * datagram (low 5 bits: 0..31, so impossible counts are tried too) and a
 * padding code (high 3 bits: 0..7 times 8 KiB of zeros appended to the
 * datagram, so that lengths beyond the 32 KiB inline limit are reached
 * without 32 KiB inputs); the rest is the datagram.  It is copied into a
 * heap buffer of exactly its size so that AddressSanitizer catches any
 * read past it.  Every expect_kind (0, each
 * known kind, and unknown ones) is tried.  On success the decoded header
 * must satisfy every rule the decoder promises (wire.h, DESIGN.md "The
 * peer is hostile"); the results for different expect_kinds must agree;
 * and decoding in place (out aliasing buf, as cli_take_welcome() does)
 * must give the same answer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

#define CHECK(c)                                                                       \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "fuzz_frame: invariant failed: %s (%s:%d)\n", #c, \
				__FILE__, __LINE__);                                   \
			abort();                                                       \
		}                                                                      \
	} while (0)

/*
 * The frame kinds, as wire.h lists them: keep in step when a kind is added.
 * expect_kinds[k] == k for every known kind k (the agreement check relies
 * on it); unknown values follow.
 */
#define KIND_LAST MP_FRAME_BULK
static const unsigned expect_kinds[] = { 0, MP_FRAME_CALL, MP_FRAME_ONEWAY, MP_FRAME_REPLY,
					 MP_FRAME_HELLO, MP_FRAME_WELCOME, MP_FRAME_BULK,
					 KIND_LAST + 1, 255, 256 + MP_FRAME_CALL };
#define NEXPECT (sizeof(expect_kinds) / sizeof(expect_kinds[0]))
#define PAD_UNIT 8192u
_Static_assert(MP_FRAME_CALL == 1 && KIND_LAST == 6, "update the kind table above");

static int kind_known(unsigned k)
{
	return k >= MP_FRAME_CALL && k <= KIND_LAST;
}

/* Kinds a server accepts unasked (expect_kind 0): client to server. */
static int kind_to_server(unsigned k)
{
	return k == MP_FRAME_CALL || k == MP_FRAME_ONEWAY || k == MP_FRAME_HELLO ||
	       k == MP_FRAME_BULK;
}

/* Kinds that carry no data: descriptors only. */
static int kind_fds_only(unsigned k)
{
	return k == MP_FRAME_HELLO || k == MP_FRAME_WELCOME || k == MP_FRAME_BULK;
}

#ifdef MP_FRAME_DATA_WHERE
/*
 * Where the data is and what accounts for the bytes and descriptors that
 * arrived (wire.h: long data by memfd, pages, the caller's memory, placed
 * answers), computed here independently of the decoder's helpers.
 */
static int no_wrap(uint64_t addr, uint64_t len)
{
	return addr != 0 && len > 0 && addr + len > addr;
}

static void check_data(size_t len, unsigned nfds, const struct mp_frame *f)
{
	unsigned fl = f->flags, where = fl & MP_FRAME_DATA_WHERE;
	unsigned extra = 0;
	int nwhere = 0;

	for (unsigned b = where; b; b &= b - 1)
		nwhere++;
	CHECK(nwhere <= 1);	/* one place for the data at most */
	if (fl & MP_FRAME_PAGES_SHARE)
		CHECK(fl & MP_FRAME_DATA_PAGES);
	if (fl & (MP_FRAME_DATA_VM | MP_FRAME_OUT_VM | MP_FRAME_OUT_PAGES))
		CHECK(f->kind == MP_FRAME_CALL);
	if (fl & (MP_FRAME_DATA_PLACED | MP_FRAME_VM_REFUSED))
		CHECK(f->kind == MP_FRAME_REPLY);
	CHECK(!((fl & MP_FRAME_OUT_VM) && (fl & MP_FRAME_OUT_PAGES)));
	if (fl & MP_FRAME_OUT_PAGES)
		CHECK(f->out_capacity > 0);
	if (fl & MP_FRAME_VM_REFUSED)
		CHECK(!where && f->data_size == 0 && f->nfds == 0 && f->err == 0);
	if (fl & MP_FRAME_DATA_VM)
		CHECK(no_wrap(f->in_addr, f->data_size));
	else
		CHECK(f->in_addr == 0);
	if (fl & MP_FRAME_OUT_VM)
		CHECK(no_wrap(f->out_addr, f->out_capacity));
	else
		CHECK(f->out_addr == 0);

	extra += (fl & (MP_FRAME_DATA_MEMFD | MP_FRAME_DATA_PAGES)) ? 1 : 0;
	extra += (fl & MP_FRAME_OUT_PAGES) ? 1 : 0;
	CHECK(nfds == f->nfds + extra);
	CHECK(len - sizeof(*f) == (where ? 0 : f->data_size));
	if (fl & MP_FRAME_DATA_MEMFD)
		CHECK(f->data_size > MP_FRAME_INLINE_MAX);
	if (fl & (MP_FRAME_DATA_PAGES | MP_FRAME_DATA_VM))
		CHECK(f->data_size > 0);
	if (!where)
		CHECK(f->data_size <= MP_FRAME_INLINE_MAX);
}
#else
/* The frame format with inline data or one data memfd. */
static void check_data(size_t len, unsigned nfds, const struct mp_frame *f)
{
	if (f->flags & MP_FRAME_DATA_MEMFD) {
		CHECK(len == sizeof(*f));
		CHECK(nfds == f->nfds + 1u);
		CHECK(f->data_size > MP_FRAME_INLINE_MAX);
	} else {
		CHECK(len - sizeof(*f) == f->data_size);
		CHECK(nfds == f->nfds);
		CHECK(f->data_size <= MP_FRAME_INLINE_MAX);
	}
}
#endif

/* Everything a successfully decoded frame must satisfy. */
static void check_ok(const uint8_t *buf, size_t len, unsigned nfds, unsigned expect,
		     const struct mp_frame *f)
{
	CHECK(len >= sizeof(*f));
	CHECK(memcmp(f, buf, sizeof(*f)) == 0);	/* a faithful private copy */
	CHECK(f->magic == MP_FRAME_MAGIC);
	/* An unknown expect_kind is the caller's bug (callers pass 0, REPLY or
	 * WELCOME): the decoder then only promises kind == expect_kind. */
	if (expect == 0 || kind_known(expect))
		CHECK(kind_known(f->kind));
	if (expect)
		CHECK(f->kind == expect);
	else
		CHECK(kind_to_server(f->kind));
	CHECK((f->flags & ~MP_FRAME_FLAGS_KNOWN) == 0);
	CHECK(f->pages_slot == 0 || (f->flags & MP_FRAME_PAGES_KEEP));
	CHECK(f->pages_slot < MP_FRAME_PAGES_SLOTS);
	CHECK(f->out_slot == 0 || ((f->flags & MP_FRAME_OUT_KEEP) && (f->flags & MP_FRAME_OUT_PAGES)));
	CHECK(f->out_slot < MP_FRAME_PAGES_SLOTS);
	CHECK(f->nfds <= MP_FDS_MAX);
	CHECK(f->data_size <= MP_DATA_MAX);
	CHECK(f->out_capacity <= MP_DATA_MAX);
	check_data(len, nfds, f);
	if (f->kind != MP_FRAME_CALL)
		CHECK(f->out_capacity == 0);
	if (f->kind != MP_FRAME_REPLY)
		CHECK(f->err == 0);
	if (kind_fds_only(f->kind))
		CHECK(f->data_size == 0 && f->flags == 0);
	/* INOUT: the output's bytes follow the input (a hostile peer may
	 * claim less); a priority on calls and one-ways, flagged */
	if (f->flags & MP_FRAME_INOUT)
		CHECK(f->kind == MP_FRAME_CALL && f->data_size >= f->out_capacity &&
		      !(f->flags & MP_FRAME_DATA_PAGES));
	if (f->flags & MP_FRAME_PRIO)
		CHECK((f->kind == MP_FRAME_CALL || f->kind == MP_FRAME_ONEWAY) && f->priority >= 1 &&
		      f->priority <= MP_PRIO_MAX);
	else
		CHECK(f->priority == 0);
	/* a deadline: on calls, flagged exactly when set, > 0 */
	if (f->flags & MP_FRAME_DEADLINE)
		CHECK(f->kind == MP_FRAME_CALL && f->deadline_ns > 0);
	else
		CHECK(f->deadline_ns == 0);
	/* a refusal: a reply with an errno and nothing else */
	if (f->flags & MP_FRAME_REFUSED)
		CHECK(f->kind == MP_FRAME_REPLY && f->flags == MP_FRAME_REFUSED && f->nfds == 0 &&
		      f->data_size == 0 && f->err < 0 && f->err > -4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nfds;
	size_t len;
	uint8_t *buf;
	int res[NEXPECT];
	struct mp_frame f;

	if (size < 1)
		return 0;
	nfds = data[0] & 31;
	len = size - 1 + (size_t)(data[0] >> 5) * PAD_UNIT;
	buf = calloc(1, len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);

	for (size_t k = 0; k < NEXPECT; k++) {
		memset(&f, 0xa5, sizeof(f));
		res[k] = mp_frame_decode(buf, len, nfds, expect_kinds[k], &f);
		CHECK(res[k] == 0 || res[k] == -EPROTO);
		if (res[k] == 0)
			check_ok(buf, len, nfds, expect_kinds[k], &f);
		CHECK(memcmp(buf, data + 1, size - 1) == 0);	/* the input is not written */
	}

	/* Agreement between expect_kinds: a frame of kind K is accepted by
	 * expect K exactly when it is valid, by no other expect, and by
	 * expect 0 exactly when K goes client to server. */
	{
		int nok = 0;
		unsigned kind = len >= sizeof(f) ? buf[offsetof(struct mp_frame, kind)] : 0;

		for (size_t k = 1; k < NEXPECT; k++)
			nok += res[k] == 0;
		CHECK(nok <= 1);
		for (size_t k = 1; k < NEXPECT; k++)
			if (res[k] == 0)
				CHECK(expect_kinds[k] == kind);
		if (kind_to_server(kind))
			CHECK(res[0] == res[kind]);	/* expect_kinds[kind] == kind */
		else
			CHECK(res[0] != 0);
	}

	/* In place: out aliases the input (cli_take_welcome() does this). */
	if (len >= sizeof(f)) {
		struct mp_frame *inplace = malloc(len);

		if (inplace) {
			int r;

			memcpy(inplace, buf, len);
			r = mp_frame_decode(inplace, len, nfds, 0, inplace);
			CHECK(r == res[0]);
			CHECK(memcmp(inplace, buf, len) == 0);
			free(inplace);
		}
	}
	free(buf);
	return 0;
}
