/* SPDX-License-Identifier: MIT */
#include "ns/phxrec.h"

#include <errno.h>
#include <string.h>

int mp_phx_rec_decode(const void *buf, size_t len, struct mp_phx_rec *out)
{
	struct mp_phx_rec_hdr h;

	if (!buf || len < sizeof(h) || len > MP_PHX_REC_MAX)
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));	/* once: buf may be unaligned */
	if (h.magic != MP_PHX_REC_MAGIC || h.version != MP_PHX_REC_VERSION || h.reserved != 0 ||
	    h.name_len > MP_PHX_NAME_MAX || len - sizeof(h) != h.name_len)
		return -EPROTO;
	out->port = h.port;
	out->id = h.id;
	out->pid = h.pid;
	out->name = (const char *)buf + sizeof(h);
	out->name_len = h.name_len;
	return 0;
}

size_t mp_phx_rec_encode(void *buf, size_t cap, uint32_t port, uint64_t id, int32_t pid,
			 const char *name, size_t len)
{
	struct mp_phx_rec_hdr h = {
		.magic = MP_PHX_REC_MAGIC, .version = MP_PHX_REC_VERSION, .port = port,
		.name_len = (uint32_t)len, .id = id, .pid = pid,
	};

	if (len > MP_PHX_NAME_MAX || cap < sizeof(h) + len)
		return 0;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((char *)buf + sizeof(h), name, len);
	return sizeof(h) + len;
}

/* Two independent 64-bit FNV-1a style hashes (different bases and
 * primes, a final mix each): 128 bits, so that two names meet by
 * accident practically never.  Within one user's namespace every
 * process is trusted, so no keyed hash is needed against crafted names. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

void mp_phx_rec_file_name(char out[MP_PHX_FILE_NAME_LEN], const char *name, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull ^ len;
	uint64_t v[2];

	for (size_t k = 0; k < len; k++) {
		a = (a ^ (unsigned char)name[k]) * 0x100000001b3ull;
		b = (b ^ (unsigned char)name[k]) * 0x9e3779b97f4a7c15ull + 1;
	}
	v[0] = mix64(a ^ len);
	v[1] = mix64(b);
	for (int w = 0; w < 2; w++)
		for (int k = 0; k < 16; k++)
			out[w * 16 + k] = hex[(v[w] >> (60 - 4 * k)) & 15];
	out[32] = '\0';
}
