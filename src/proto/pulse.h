/* SPDX-License-Identifier: MIT */
/*
 * The pulse board: the shared memory through which a client process
 * pulses one port (api/pulse.c writes it, conn/pulse_board.c drains it).
 * One memfd per (client process, port), made by the client, sealed
 * against shrinking and growing, handed to the server in a HELLO of type
 * MP_PULSE_HELLO on a connection of its own, with the wake-up: the read end
 * of a pipe whose write end only the client has (api/pulse.c pboard_ring:
 * a server that clears O_NONBLOCK on what it shares never blocks a pulse).
 * Labels [B1]-[B3]; accessors os/shm.h; modelled in model/pulse.pml.
 *
 * Written: the slots and shm_gen by the client; shm_seen by the server.  Each slot holds one code: its latest value and the
 * number of pulses of it ever sent (total, free-running); the server
 * keeps, privately, the total it has seen of each slot, so it never
 * writes a slot and the difference is how many pulses one delivery
 * stands for.
 *
 * [B1] slot write (client, one writer: its board lock): a seqlock
 *      store_relaxed(seq, odd); full_fence(); code, value, total relaxed;
 *      store_release(seq, even)  ->  [B2] slot read (server, mp_pulse_slot_read):
 *      s1 = load_acquire(seq); odd: busy; code, value, total relaxed;
 *      full_fence(); s2 = load_relaxed(seq); s1 == s2: a consistent copy.
 *      A client that never finishes a write only hides its own slot.
 * [B3] wake-up, a Dekker handshake on gen (client) and seen (server):
 *
 *    client (mp_pulse, after [B1])             server (board drain)
 *    fetch_add_fence(shm_gen, 1) -> g          g = load_acquire(shm_gen)
 *    full_fence()             <-- Dekker -->   read every slot [B2]
 *    load_relaxed(shm_seen) == g - 1 ?         store_relaxed(shm_seen, g); full_fence()
 *       write(wake-up pipe)                    load_relaxed(shm_gen) != g ? again
 *
 *    Either the server's re-check sees the new gen (and reads the slots
 *    again), or the client sees that the server had caught up with every
 *    pulse before its own and wakes it.  A client that sees the server
 *    behind (seen < g - 1) does not wake it: the pulse that left it
 *    behind did, or its re-check will see this one.  The server re-checks
 *    a bounded number of times, then wakes itself (the eventfd is its too).
 *
 * The client may be hostile: every field is read once per decision; a
 * slot's code >= MP_PULSE_DISCONNECT is ignored (no forged library
 * notices), a total that went back counts as one pulse; whatever it
 * writes, it can only garble its own pulses.
 */
#ifndef MP_PROTO_PULSE_H
#define MP_PROTO_PULSE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "msgport.h"
#include "os/compiler.h"

#define MP_PULSE_BOARD_MAGIC 0x4d50504cu	/* "MPPL" */
#define MP_PULSE_BOARD_SIZE 4096u
/* The type of the HELLO frame that hands a board over. */
#define MP_PULSE_HELLO 0x504c5345u		/* "PLSE" */

struct mp_pulse_slot {
	_Atomic uint32_t shm_seq;	/* [B1] odd while the client writes */
	_Atomic uint32_t shm_code;	/* 0 in a free slot is a code like any */
	_Atomic uint64_t shm_value;
	_Atomic uint64_t shm_total;	/* pulses of this code ever sent; 0: unused */
	uint8_t pad[MP_CACHELINE - 24];
} __attribute__((aligned(MP_CACHELINE)));

struct mp_pulse_board {
	_Atomic uint32_t shm_magic;	/* [I1] set before the HELLO */
	uint8_t pad0[MP_CACHELINE - 4];
	_Atomic uint64_t shm_gen;	/* client: pulses ever written [B3] */
	uint8_t pad1[MP_CACHELINE - 8];
	_Atomic uint64_t shm_seen;	/* server: the gen it drained up to [B3] */
	uint8_t pad2[MP_CACHELINE - 8];
	struct mp_pulse_slot slot[MP_PULSE_CODES];
};
_Static_assert(sizeof(struct mp_pulse_board) <= MP_PULSE_BOARD_SIZE, "board fits its page");

/* One slot as the server read it. */
struct mp_pulse_read {
	uint32_t code;
	uint64_t value;
	uint64_t total;
};

/*
 * Read slot s once [B2], against the total seen so far: 1 it holds news
 * (*out: its code, value, and total), 0 nothing new, a write in progress,
 * or a code that is not the application's.  Fuzzed (fuzz/fuzz_pulse.c).
 */
int mp_pulse_slot_read(const struct mp_pulse_slot *s, uint64_t seen, struct mp_pulse_read *out);

/* Pulses one delivery of news stands for: total - seen, at least 1
 * (a total that went back), saturated to 32 bits. */
uint32_t mp_pulse_merged(uint64_t total, uint64_t seen);

#endif
