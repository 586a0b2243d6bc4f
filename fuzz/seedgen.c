/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz targets: a few valid encodings made
 * with the library's own layouts and encoder, in the targets' input format.
 *
 *   seedgen FRAME_DIR SLOT_DIR [PULSE_FD_DIR]
 *
 * fuzz_frame input: [nfds] [datagram: struct mp_frame + inline data]
 * fuzz_slot input:  [slot count] [slots...]
 * fuzz_pulse_fd input: [flags] [fd kind] [type] [pid: 2] [forcing] [i.size]
 *                   [i.raw] [bytes the client writes] (fuzz/fuzz_pulse_fd.c)
 * Output is deterministic, so regenerating leaves committed seeds unchanged.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgport.h"
#include "proto/slot.h"
#include "proto/wire.h"

static void put_file(const char *dir, const char *name, const void *a, size_t alen,
		     const void *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void frame_seed(const char *dir, const char *name, uint8_t nfds, const struct mp_frame *f,
		       size_t inline_len)
{
	uint8_t buf[1 + sizeof(*f) + 256];

	buf[0] = nfds;
	memcpy(buf + 1, f, sizeof(*f));
	for (size_t k = 0; k < inline_len; k++)
		buf[1 + sizeof(*f) + k] = (uint8_t)('a' + k % 26);
	put_file(dir, name, buf, 1 + sizeof(*f) + inline_len, NULL, 0);
}

static void frames(const char *dir)
{
	struct mp_frame f;

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_CALL;
	f.type = 7;
	f.seq = 1;
	f.oid_port = 3;
	f.oid_id = 42;
	f.data_size = 11;
	f.out_capacity = 64;
	memcpy(f.raw, "raw header", 10);
	frame_seed(dir, "seed-call-inline", 0, &f, 11);

	f.nfds = 2;
	f.data_size = 0;
	frame_seed(dir, "seed-call-fds", 2, &f, 0);

	f.nfds = 1;
	f.flags = MP_FRAME_DATA_MEMFD;
	f.data_size = 100000;
	frame_seed(dir, "seed-call-memfd", 2, &f, 0);

	f.data_size = 100;	/* invalid on purpose: short data never goes in a memfd */
	frame_seed(dir, "seed-bad-memfd-short", 2, &f, 0);

#ifdef MP_FRAME_DATA_WHERE
	/* Long data by pages, in the caller's memory, answers placed. */
	f.nfds = 0;
	f.flags = MP_FRAME_DATA_PAGES | MP_FRAME_PAGES_SHARE;
	f.data_size = 1u << 20;
	frame_seed(dir, "seed-call-pages", 1, &f, 0);

	f.flags = MP_FRAME_DATA_VM | MP_FRAME_OUT_VM;
	f.in_addr = 0x7f0000001000ull;
	f.out_addr = 0x7f0000200000ull;
	frame_seed(dir, "seed-call-vm", 0, &f, 0);

	f.flags = MP_FRAME_OUT_PAGES;
	f.in_addr = f.out_addr = 0;
	f.data_size = 5;
	frame_seed(dir, "seed-call-outpages", 1, &f, 5);

	f.flags = MP_FRAME_DEADLINE;	/* the caller's time left: 5 s */
	f.deadline_ns = 5000000000ll;
	frame_seed(dir, "seed-call-deadline", 0, &f, 5);
	f.deadline_ns = 0;
	f.flags = 0;
	f.data_size = 0;
#endif

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_ONEWAY;
	f.type = 9;
	f.seq = 2;
	f.data_size = 4;
	frame_seed(dir, "seed-oneway", 0, &f, 4);

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_REPLY;
	f.err = -2;
	f.seq = 1;
	f.data_size = 5;
	frame_seed(dir, "seed-reply", 0, &f, 5);

#ifdef MP_FRAME_DATA_WHERE
	f.flags = MP_FRAME_DATA_PLACED;
	f.data_size = 100000;
	frame_seed(dir, "seed-reply-placed", 0, &f, 0);

	f.flags = MP_FRAME_VM_REFUSED;
	f.data_size = 0;
	f.err = 0;
	frame_seed(dir, "seed-reply-vm-refused", 0, &f, 0);
#endif

	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_HELLO;
	f.nfds = 2;
	f.type = 1;
	frame_seed(dir, "seed-hello", 2, &f, 0);

	f.kind = MP_FRAME_WELCOME;
	f.type = 0;
	frame_seed(dir, "seed-welcome", 2, &f, 0);

	f.kind = MP_FRAME_BULK;
	frame_seed(dir, "seed-bulk", 2, &f, 0);

	/* Invalid on purpose: inline data past the 32 KiB limit, the datagram
	 * padded by the fuzzer (byte 0's high bits: 5 x 8 KiB of zeros). */
	memset(&f, 0, sizeof(f));
	f.magic = MP_FRAME_MAGIC;
	f.kind = MP_FRAME_ONEWAY;
	f.data_size = 5 * 8192;
	frame_seed(dir, "seed-bad-inline-too-long", 5u << 5, &f, 0);
}

static void slot_seed(const char *dir, const char *name, const struct mp_slot_msg *m)
{
	static uint8_t enc[MP_SLOT_MSG_SLOTS * MP_SLOT_SIZE];
	uint8_t n;

	memset(enc, 0, sizeof(enc));	/* deterministic padding */
	n = (uint8_t)mp_slot_encode(enc, m);
	put_file(dir, name, &n, 1, enc, (size_t)n * MP_SLOT_SIZE);
}

static void slots(const char *dir)
{
	static uint8_t data[MP_SLOT_DATA_MAX];
	uint8_t raw[MP_RAW_SIZE];
	struct mp_slot_msg m;

	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7 + 1);
	for (size_t k = 0; k < sizeof(raw); k++)
		raw[k] = (uint8_t)(k + 1);

	memset(&m, 0, sizeof(m));
	m.kind = MP_SLOT_CALL;
	m.type = 1;
	m.seq = 1;
	m.out_capacity = 64;
	m.data = data;
	m.data_size = 40;
	slot_seed(dir, "seed-call-small", &m);

	m.oid.port = 5;
	m.oid.id = 77;
	m.raw = raw;
	m.data_size = 300;
	slot_seed(dir, "seed-call-oid-raw", &m);

	m.data_size = MP_SLOT_DATA_MAX;
	slot_seed(dir, "seed-call-max", &m);

	/* Invalid on purpose: one slot more than the longest message. */
	{
		static uint8_t big[1 + (MP_SLOT_MSG_SLOTS + 1) * MP_SLOT_SIZE];
		uint16_t n = MP_SLOT_MSG_SLOTS + 1;

		memset(big, 0, sizeof(big));
		big[0] = (uint8_t)n;
		mp_slot_encode(big + 1, &m);
		memcpy(big + 1 + offsetof(struct mp_slot_hdr, nslots), &n, sizeof(n));
		put_file(dir, "seed-bad-too-long", big, sizeof(big), NULL, 0);
	}

	memset(&m, 0, sizeof(m));
	m.kind = MP_SLOT_ONEWAY;
	m.type = 3;
	m.seq = 9;
	slot_seed(dir, "seed-oneway-empty", &m);

	m.flags = MP_SLOT_F_BULK;
	m.bulk_off = 8192;
	m.data_size = 1u << 20;
	slot_seed(dir, "seed-oneway-bulk", &m);

	memset(&m, 0, sizeof(m));
	m.kind = MP_SLOT_REPLY;
	m.seq = 1;
	m.err = -22;
	m.data = data;
	m.data_size = 17;
	slot_seed(dir, "seed-reply", &m);

	memset(&m, 0, sizeof(m));
	m.kind = MP_SLOT_SIDE;
	m.seq = 4;
	slot_seed(dir, "seed-side", &m);
}

/* A registration request of fuzz_pulse_fd: flags (bit 0 one-way, 1 the
 * client clears O_NONBLOCK, 2 cancel after), the fd's kind (its enum),
 * the type's byte (bit 0 cancel), code, then what the client writes. */
static void pfd_seed(const char *dir, const char *name, uint8_t flags, uint8_t kind,
		     uint8_t type, uint32_t code, const void *tail, size_t tlen)
{
	uint8_t in[6 + sizeof(size_t) + MP_RAW_SIZE] = { flags, kind, type, 1, 0, 0 };

	memcpy(in + 6 + sizeof(size_t), &code, sizeof(code));
	put_file(dir, name, in, sizeof(in), tail, tlen);
}

static void pulse_fds(const char *dir)
{
	static const uint64_t five = 5;
	static const char bytes[] = "interrupt";

	pfd_seed(dir, "seed-eventfd", 0, 1, 0, 7, &five, sizeof(five));
	pfd_seed(dir, "seed-eventfd-blocking-cancel", 6, 1, 0, 7, &five, sizeof(five));
	pfd_seed(dir, "seed-pipe", 2, 2, 0, 3, bytes, sizeof(bytes));
	pfd_seed(dir, "seed-pipe-write-end", 0, 3, 0, 3, NULL, 0);
	pfd_seed(dir, "seed-socket", 2, 4, 0, 9, bytes, sizeof(bytes));
	pfd_seed(dir, "seed-memfd", 0, 5, 0, 1, NULL, 0);
	pfd_seed(dir, "seed-timerfd", 0, 8, 0, 1, NULL, 0);
	pfd_seed(dir, "seed-two-fds", 0, 10, 0, 1, NULL, 0);
	pfd_seed(dir, "seed-library-code", 0, 1, 0, MP_PULSE_DISCONNECT, NULL, 0);
	pfd_seed(dir, "seed-cancel-none", 0, 0, 1, 7, NULL, 0);
	pfd_seed(dir, "seed-one-way", 1, 1, 0, 7, &five, sizeof(five));
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s FRAME_DIR SLOT_DIR [PULSE_FD_DIR]\n", argv[0]);
		return 2;
	}
	frames(argv[1]);
	slots(argv[2]);
	if (argc == 4)
		pulse_fds(argv[3]);
	return 0;
}
