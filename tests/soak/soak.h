/* SPDX-License-Identifier: MIT */
/*
 * make soak: a server process (one receiving thread per port) and client
 * processes of several threads each, on every transport, sending calls and
 * one-way messages mixed: small and long data, fds, pages moved and shared.
 *
 * Every message carries its sender (process, thread) and the sender's
 * sequence number.  The server checks each against the next one it
 * expects from that sender (no loss, no duplicate, per-sender order: the
 * library keeps the order of one thread's messages to one port), its data
 * pattern, pages and fds (fstat: the inode of the file sent).  Each reply
 * carries the server's count for that sender, and the client checks the
 * reply's sender, sequence, count, data pattern and fd, and that the byte
 * past the answer in its buffer is as it was.  A last call per
 * sender (FIN) proves that every one-way message before it arrived.  At
 * the end every process compares its descriptors and memfd mappings with
 * those it had before: anything more is a leak.
 *
 * Any failure ends the process that saw it with status 1 and a line on
 * stderr; the driver then stops the rest and exits 1.
 */
#ifndef MSGPORT_SOAK_H
#define MSGPORT_SOAK_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgport.h"

#define SOAK_MAGIC 0x50414f53u		/* "SOAP" */
#define SOAK_MAX_SENDERS 256
#define SOAK_MAX_PORTS 16
#define SOAK_FILES 3			/* client files whose fds travel */
#define SOAK_LONG_MAX ((size_t)1 << 20)
#define SOAK_PAGES_MAX ((size_t)16 << 12)

/* Message kinds. */
enum soak_kind {
	K_PING,		/* call, unsequenced: warms a connection up */
	K_CALL,		/* call, small data */
	K_ASYNC,	/* one-way, small data */
	K_CALL_FDS,	/* call with fds, an fd back */
	K_ASYNC_FDS,	/* one-way with fds */
	K_CALL_MOVE,	/* call, pages moved; pages back moved */
	K_CALL_SHARE,	/* call, the thread's shared pages (kept by the server),
			 * answered into pages the thread lends */
	K_ASYNC_MOVE,	/* one-way, pages moved */
	K_ASYNC_SHARE,	/* one-way, fresh pages shared then freed */
	K_CALL_LONG,	/* call, long ordinary data, long answer */
	K_FIN,		/* call, last of a sender */
	K_NKINDS
};

/* o.raw / i.raw: what travels with every message (64 bytes). */
struct soak_hdr {
	uint32_t magic;
	uint32_t sender;
	uint64_t seq;
	uint32_t kind;
	uint32_t nfds;
	uint64_t ino[SOAK_FILES];	/* client to server: the files sent */
	uint32_t len;			/* data bytes */
	uint32_t pad;
	uint64_t count;			/* server to client: messages seen from sender */
};
_Static_assert(sizeof(struct soak_hdr) <= MP_RAW_SIZE, "soak header fits raw");

struct soak_cfg {
	unsigned procs, threads, ports;	/* client processes, threads each, server ports */
	uint64_t quota;			/* messages per sender, 0: no limit */
	unsigned heavy;			/* 1 in heavy messages takes the whole mix,
					 * the others are small (SOAK_HEAVY, 1) */
	int64_t deadline_ns;		/* CLOCK_MONOTONIC end, 0: none */
};

/* Shared by every process of one transport's run (MAP_SHARED). */
struct soak_shared {
	struct soak_cfg cfg;
	ino_t file_ino[SOAK_FILES + 1];	/* [SOAK_FILES]: the server's file */
	dev_t file_dev;
	int file_fd[SOAK_FILES + 1];	/* open in the driver, inherited */
	atomic_int ready;		/* the server's ports are registered */
	atomic_int failed;
	/* per sender, written by its client thread */
	uint64_t sent[SOAK_MAX_SENDERS];
	/* per sender, written by the server thread of its port */
	uint64_t seen[SOAK_MAX_SENDERS];
	/* totals, by kind */
	atomic_ullong kinds[K_NKINDS];
	atomic_ullong fds, pages_bytes, long_bytes;
};

extern struct soak_shared *soak_sh;

_Noreturn void soak_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define SOAK_CHECK(c, ...) do { if (!(c)) soak_fail(__VA_ARGS__); } while (0)

int64_t soak_now_ns(void);
/* Pattern of (sender, seq, salt) over len bytes: fill and check. */
void soak_fill(void *buf, size_t len, uint32_t sender, uint64_t seq, uint32_t salt);
int soak_check(const void *buf, size_t len, uint32_t sender, uint64_t seq, uint32_t salt);
/* A deterministic 64-bit mix of sender and seq: what a message is. */
uint64_t soak_rand(uint32_t sender, uint64_t seq);
enum soak_kind soak_pick(uint32_t sender, uint64_t seq);
size_t soak_in_len(enum soak_kind k, uint64_t r);
size_t soak_out_len(enum soak_kind k, uint64_t r);
unsigned soak_nfds(enum soak_kind k, uint64_t r);
int soak_is_call(enum soak_kind k);

/* What a process holds that could leak: descriptors and memfd mappings,
 * apart from the one pages region the library keeps ready (pages_pool.c). */
struct soak_res { int fds, memfd_maps, ready_fds, ready_maps; };
void soak_res_take(struct soak_res *r);
void soak_res_compare(const char *who, const struct soak_res *before);

void soak_server(void);
void soak_client(unsigned proc);
const char *soak_port_path(unsigned port, char buf[64]);

#endif /* MSGPORT_SOAK_H */
