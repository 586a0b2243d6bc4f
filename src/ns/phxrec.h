/* SPDX-License-Identifier: MIT */
/*
 * The record of one Phoenix-mode name (docs/phoenix-namespace.md): the
 * oid it names and the name itself, byte for byte.  Records are files
 * that other processes of the same user write, so the decoder trusts
 * nothing: the whole file is read once into private memory, then every
 * field is checked here (fuzz/fuzz_phxrec.c feeds it arbitrary bytes).
 *
 * This file knows no file system: ns/phx.c reads and writes the files.
 */
#ifndef MP_NS_PHXREC_H
#define MP_NS_PHXREC_H

#include <stddef.h>
#include <stdint.h>

#define MP_PHX_REC_MAGIC 0x4d505058u	/* "MPPX" */
#define MP_PHX_REC_VERSION 1u
/* Longest registered name, in bytes (no NUL); lookups may be longer. */
#define MP_PHX_NAME_MAX 4095u

struct mp_phx_rec_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t port;
	uint32_t name_len;	/* the name's bytes follow the header */
	uint64_t id;
	int32_t pid;		/* who registered it (for listing only) */
	uint32_t reserved;	/* 0 */
};
_Static_assert(sizeof(struct mp_phx_rec_hdr) == 32, "record layout is on disk");

#define MP_PHX_REC_MAX (sizeof(struct mp_phx_rec_hdr) + MP_PHX_NAME_MAX)

/* A decoded record: name points into the buffer that was decoded. */
struct mp_phx_rec {
	uint32_t port;
	uint64_t id;
	int32_t pid;
	const char *name;	/* not NUL-terminated */
	size_t name_len;
};

/* Decode the len bytes of a record file: 0, or -EPROTO when anything is
 * off (short, long, magic, version, reserved bits, length mismatch). */
int mp_phx_rec_decode(const void *buf, size_t len, struct mp_phx_rec *out);

/* Lay out a record for name (len bytes, <= MP_PHX_NAME_MAX) in buf of
 * cap bytes: its length, or 0 when it does not fit. */
size_t mp_phx_rec_encode(void *buf, size_t cap, uint32_t port, uint64_t id, int32_t pid,
			 const char *name, size_t len);

/* The file name of name's record: 32 hex digits and a NUL (a 128-bit
 * hash; the record holds the name, so a collision is seen, not taken). */
#define MP_PHX_FILE_NAME_LEN 33
void mp_phx_rec_file_name(char out[MP_PHX_FILE_NAME_LEN], const char *name, size_t len);

#endif
