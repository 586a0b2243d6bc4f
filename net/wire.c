/* SPDX-License-Identifier: MIT */
/* Encoding and validating decoding of gateway frames (wire.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* strnlen */
#endif
#include <errno.h>
#include <string.h>

#include "wire.h"

enum {
	OFF_VERSION = 0, OFF_KIND = 1, OFF_PATHLEN = 2, OFF_STATUS = 4, OFF_OERR = 8,
	OFF_TYPE = 12, OFF_PRIO = 16, OFF_PORT = 20, OFF_ID = 24, OFF_VALUE = 32,
	OFF_DEADLINE = 40, OFF_TOTAL = 48, OFF_OFFSET = 56, OFF_UID = 64, OFF_RESV = 68,
	OFF_FROM = 72, OFF_RAW = 72 + NET_HOST_MAX,
};
_Static_assert(OFF_RAW + MP_RAW_SIZE == NET_HDR_SIZE, "header layout");

static void put32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

size_t net_frame_size(const struct net_frame *f, size_t datalen)
{
	return NET_HDR_SIZE + strlen(f->path) + datalen;
}

void net_frame_encode(const struct net_frame *f, const void *data, size_t datalen, uint8_t *buf)
{
	size_t pl = strlen(f->path);

	memset(buf, 0, NET_HDR_SIZE);
	buf[OFF_VERSION] = NET_VERSION;
	buf[OFF_KIND] = f->kind;
	buf[OFF_PATHLEN] = (uint8_t)pl;
	buf[OFF_PATHLEN + 1] = (uint8_t)(pl >> 8);
	put32(buf + OFF_STATUS, (uint32_t)f->status);
	put32(buf + OFF_OERR, (uint32_t)f->o_err);
	put32(buf + OFF_TYPE, f->type);
	put32(buf + OFF_PRIO, f->priority);
	put32(buf + OFF_PORT, f->port);
	put64(buf + OFF_ID, f->id);
	put64(buf + OFF_VALUE, f->value);
	put64(buf + OFF_DEADLINE, f->deadline_ns);
	put64(buf + OFF_TOTAL, f->total);
	put64(buf + OFF_OFFSET, f->offset);
	put32(buf + OFF_UID, f->uid);
	memcpy(buf + OFF_FROM, f->from, strnlen(f->from, NET_HOST_MAX - 1));
	memcpy(buf + OFF_RAW, f->raw, MP_RAW_SIZE);
	memcpy(buf + NET_HDR_SIZE, f->path, pl);
	if (datalen)
		memcpy(buf + NET_HDR_SIZE + pl, data, datalen);
}

int net_host_valid(const char *s)
{
	size_t n = strnlen(s, NET_HOST_MAX);

	if (n == 0 || n == NET_HOST_MAX)
		return 0;
	for (size_t k = 0; k < n; k++) {
		char c = s[k];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* An absolute path without NULs, empty, "." or ".." components. */
static int path_valid(const uint8_t *p, size_t n)
{
	size_t start = 1;

	if (n < 2 || p[0] != '/')
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if (k < n && p[k] == 0)
			return 0;
		if (k < n && p[k] != '/')
			continue;
		size_t cl = k - start;

		if (cl == 0 || (cl == 1 && p[start] == '.') ||
		    (cl == 2 && p[start] == '.' && p[start + 1] == '.'))
			return 0;
		start = k + 1;
	}
	return 1;
}

/* The fields whose bounds do not depend on the kind. */
static int decode_common(const uint8_t *buf, struct net_frame *f)
{
	f->kind = buf[OFF_KIND];
	f->status = (int32_t)get32(buf + OFF_STATUS);
	f->o_err = (int32_t)get32(buf + OFF_OERR);
	f->type = get32(buf + OFF_TYPE);
	f->priority = get32(buf + OFF_PRIO);
	f->port = get32(buf + OFF_PORT);
	f->id = get64(buf + OFF_ID);
	f->value = get64(buf + OFF_VALUE);
	f->deadline_ns = get64(buf + OFF_DEADLINE);
	f->total = get64(buf + OFF_TOTAL);
	f->offset = get64(buf + OFF_OFFSET);
	f->uid = get32(buf + OFF_UID);
	memcpy(f->raw, buf + OFF_RAW, MP_RAW_SIZE);
	if (buf[OFF_VERSION] != NET_VERSION || f->kind == 0 || f->kind >= NET_KIND_END ||
	    get32(buf + OFF_RESV) != 0)
		return -EPROTO;
	/* A status is 0 or an errno; never a positive "success" value. */
	if (f->status > 0 || f->status < -4095)
		return -EPROTO;
	return 0;
}

/* The bounds each kind adds. */
static int decode_kind(struct net_frame *f)
{
	switch (f->kind) {
	case NET_CALL:
	case NET_SEND:
		if (f->priority > MP_PRIO_MAX || f->total > NET_REPLY_MAX)
			return -EPROTO;
		break;
	case NET_PULSE:
		if (f->priority >= MP_PULSE_DISCONNECT || f->len)
			return -EPROTO;
		break;
	case NET_REPLY:
		if (f->total > NET_REPLY_MAX || f->offset > f->total || f->len > f->total - f->offset)
			return -EPROTO;
		break;
	case NET_LOOKUP:
		if (!f->path[0] || f->len)
			return -EPROTO;
		break;
	case NET_BATCH:	/* the records themselves: net_batch_next() */
		if (f->path[0] || !f->from[0] || f->total == 0 || f->total > f->len / NET_REC_MIN)
			return -EPROTO;
		break;
	default:
		break;
	}
	return 0;
}

int net_frame_decode(const uint8_t *buf, size_t len, struct net_frame *f)
{
	size_t pl;

	memset(f, 0, sizeof(*f));
	if (!buf || len < NET_HDR_SIZE || decode_common(buf, f))
		return -EPROTO;
	pl = (size_t)buf[OFF_PATHLEN] | (size_t)buf[OFF_PATHLEN + 1] << 8;
	if (pl > MP_PATH_MAX - 1 || pl > len - NET_HDR_SIZE)
		return -EPROTO;
	if (pl && !path_valid(buf + NET_HDR_SIZE, pl))
		return -EPROTO;
	memcpy(f->path, buf + NET_HDR_SIZE, pl);
	f->path[pl] = 0;
	/* The host name: empty (replies) or valid, NUL-padded to the end. */
	memcpy(f->from, buf + OFF_FROM, NET_HOST_MAX);
	if (f->from[NET_HOST_MAX - 1] != 0 || (f->from[0] && !net_host_valid(f->from)))
		return -EPROTO;
	for (size_t k = strlen(f->from); k < NET_HOST_MAX; k++)
		if (f->from[k])
			return -EPROTO;
	f->data = buf + NET_HDR_SIZE + pl;
	f->len = len - NET_HDR_SIZE - pl;
	return decode_kind(f);
}

size_t net_batch_put(const struct net_frame *f, const void *data, size_t datalen, uint8_t *buf,
		     size_t room)
{
	size_t n = net_frame_size(f, datalen);

	if (room < NET_REC_HDR || n > room - NET_REC_HDR || n > UINT32_MAX)
		return 0;
	put32(buf, (uint32_t)n);
	net_frame_encode(f, data, datalen, buf + NET_REC_HDR);
	return NET_REC_HDR + n;
}

void net_batch_begin(struct net_batch_it *it, const struct net_frame *b)
{
	it->b = b;
	it->p = b->data;
	it->left = b->len;
	it->seen = 0;
}

int net_batch_next(struct net_batch_it *it, struct net_frame *f)
{
	size_t n;

	if (it->left == 0)
		return it->seen == it->b->total ? 0 : -EPROTO;
	if (it->left < NET_REC_HDR || it->seen >= it->b->total)
		return -EPROTO;
	n = get32(it->p);
	if (n > it->left - NET_REC_HDR ||
	    net_frame_decode(it->p + NET_REC_HDR, n, f) ||
	    (f->kind != NET_SEND && f->kind != NET_PULSE) ||
	    strcmp(f->from, it->b->from) != 0)
		return -EPROTO;
	it->p += NET_REC_HDR + n;
	it->left -= NET_REC_HDR + n;
	it->seen++;
	return 1;
}

int net_batch_check(const struct net_frame *b)
{
	struct net_batch_it it;
	struct net_frame f;
	int r;

	if (b->kind != NET_BATCH)
		return -EPROTO;
	net_batch_begin(&it, b);
	while ((r = net_batch_next(&it, &f)) == 1)
		;
	return r;
}
