/*
 * SPDX-License-Identifier: MIT
 *
 * Model of the pulse board's wake-up (src/proto/pulse.h [B1]-[B3]): one
 * client writing NP pulses of one code, one server draining them, for the
 * spin model checker.  [Xn]: the label in src/proto/pulse.h.
 *
 *   client (api/pulse.c pboard_write)        server (conn/pulse_board.c drain)
 *   store total = t (the slot) [B1]          wait for the eventfd (edge)
 *   store gen = g; FENCE  [B3]               g = gen [B3]; read total [B2]
 *   FENCE; seen == g - 1 ? write eventfd     store seen = g; FENCE [B3]
 *                                            gen == g ? wait : again (at most
 *                                            ROUNDS, then write the eventfd itself)
 *
 * Memory model: x86-TSO, as in model/ring.pml: each side's stores go
 * through a FIFO store buffer that a flusher empties at any time, FENCE
 * waits until it is empty; fetch_add_fence (a locked add) is a store and
 * a FENCE.  The eventfd is a kernel object: a pending bit that one wait
 * consumes (the server's epoll set has it edge-triggered: the same).
 *
 * Checked: no lost wake-up: whenever everything is stuck (timeout), the
 * server has delivered the latest total (NP), i.e. no pulse waits on the
 * board while the server sleeps.  NOFENCE (no Dekker fences) must fail.
 *
 * Parameters: NP pulses (3), ROUNDS drain rounds before the self-wake (2),
 * NOFENCE, SC (no store buffers).
 */

#ifndef NP
#define NP 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#define SBSIZE 3

byte total;	/* client: the slot's total */
byte gen;	/* client: shm_gen */
byte seen;	/* server: shm_seen */
bit wake;	/* kernel: the eventfd's pending edge */
byte delivered;	/* ghost: the latest total the server handed out */
bit client_done;

#define A_TOTAL 1
#define A_GEN 2
#define A_SEEN 3
chan sb_c = [SBSIZE] of { byte, byte };
chan sb_s = [SBSIZE] of { byte, byte };

inline mem_write(a, v)
{
	if
	:: a == A_TOTAL -> total = v
	:: a == A_GEN -> gen = v
	:: a == A_SEEN -> seen = v
	fi
}

#ifdef SC
#define STORE(sb, a, v) d_step { mem_write(a, v) }
#else
#define STORE(sb, a, v) sb!a, v
#endif

#ifdef NOFENCE
#define FENCE(sb) skip
#else
#define FENCE(sb) (len(sb) == 0)
#endif

proctype flusher(chan sb)
{
	byte a, v;
end:
	do
	:: d_step { sb?a, v -> mem_write(a, v); a = 0; v = 0 }
	od
}

active proctype client()
{
	byte g = 0;

	do
	:: g == NP -> break
	:: else ->
		g++;
		STORE(sb_c, A_TOTAL, g);	/* [B1] the slot (seqlock: one writer) */
		STORE(sb_c, A_GEN, g);		/* [B3] fetch_add_fence(shm_gen) ... */
		FENCE(sb_c);			/* ... and full_fence() */
		if
		:: seen == g - 1 -> wake = 1	/* the server had caught up: wake it */
		:: else -> skip
		fi
	od;
	client_done = 1
}

active proctype server()
{
	byte g, r;
end:
	do
	:: atomic { wake -> wake = 0 };
		r = 0;
		do
		:: r == ROUNDS -> wake = 1; break	/* keeps pulsing: come back later */
		:: else ->
			g = gen;		/* [B3] load_acquire(shm_gen) */
			if			/* [B2] the slot, read once */
			:: total > delivered -> delivered = total
			:: else -> skip
			fi;
			STORE(sb_s, A_SEEN, g);	/* [B3] store seen ... */
			FENCE(sb_s);		/* ... full_fence() */
			if
			:: gen == g -> break	/* caught up: wait */
			:: else -> r++
			fi
		od
	od
}

active proctype monitor()
{
	timeout -> assert(client_done && delivered == NP)
}

init
{
	run flusher(sb_c);
	run flusher(sb_s)
}
