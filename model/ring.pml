/*
 * SPDX-License-Identifier: MIT
 *
 * Model of one msgport SPSC ring (src/proto/ring.h, src/transport/ring/)
 * with the sleep / wake-up handshake on both sides, for the spin model
 * checker.  [Xn]: the label of the step in the protocol description at the
 * top of src/proto/ring.h (model/README.md has the table).
 *
 *   producer (client, c2s)                    consumer (server)
 *   ----------------------                    -----------------
 *   room?  load head (acquire) [R4]           ready?  load stamp[pos] (acquire) == pos+1 [R2]
 *   write continuation slots, header          copy the slots out
 *   store stamp = pos+1 (release) [R1]        store head = pos+n (release) [R3]
 *   FENCE; if consumer.sleeping: wake it      FENCE; if producer.sleeping: wake it
 *     [D1] (cli_doorbell)                       [S2] (srv_consumed)
 *
 *   sleeping side, on its own flag: store sleeping = 1; FENCE; re-check;
 *   block on the eventfd unless ready; store sleeping = 0.  The producer's
 *   is cli_sleep [S1] ... [S3]; the consumer's stands for the server's
 *   port_sleep [D2] ... [D3], whose flag is a count in the port page (one
 *   receiver here: the count is this flag; model/port.pml has several).
 *
 * Memory model: x86-TSO, modelled explicitly.  Every store to shared
 * memory goes into its process's FIFO store buffer; a flusher process per
 * buffer makes the oldest entry visible at a time of its choosing; loads
 * read memory (every shared location has one writer, which keeps its own
 * private copy, so store forwarding needs no modelling).  FENCE waits
 * until the process's buffer is empty (mfence / a seq_cst fence).  TSO
 * keeps store->store and load->store order, which is all that the
 * release/acquire pairs of the ring need; what it relaxes is store->load,
 * exactly what the Dekker fences are there for.
 * The eventfd doorbells are kernel objects behind locks: sequentially
 * consistent, a write sets a pending wake-up that one block consumes.
 *
 * Checked:
 *  - no lost wake-up: whenever the whole system is stuck (spin's timeout),
 *    every message has been delivered; no process blocks forever while a
 *    message sits in the ring or room is free (assertion in monitor);
 *    and (ltl "delivered", with weak fairness) every run delivers them all;
 *  - ring safety: the consumer reads each slot of each message exactly as
 *    the producer wrote it for that message (no stale or torn slot), and
 *    no store of the producer becomes visible in a slot while the consumer
 *    is copying it out (ghost flags reading[]), across several wraps.
 *
 * Parameters (spin -DNAME=value):
 *   NSLOTS  ring slots (2)           NMSG    messages sent (4)
 *   MAXLEN  longest message, slots (2)
 *   NOFENCE drop both Dekker fences: must give a counterexample (lost wake-up)
 *   PHANTOM a continuation slot's first word (user data in the real
 *           encoding) may hold any value, including the stamp the consumer
 *           will expect there one lap later
 *   SC      no store buffers (plain sequential consistency)
 *   BADROOM a mutant of the room check (one slot too many): must fail,
 *           showing that the ring-safety assertions have teeth
 */

#ifndef NSLOTS
#define NSLOTS 2
#endif
#ifndef NMSG
#define NMSG 4
#endif
#ifndef MAXLEN
#define MAXLEN 2
#endif
#define SBSIZE 3

/* Shared memory: one writer per location. */
byte stamp[NSLOTS];	/* producer: word 0 of the slot: (pos+1) in a header slot */
byte word[NSLOTS];	/* producer: the rest of the slot: the id of its message */
byte mlen[NSLOTS];	/* producer: header slot: nslots of the message */
byte head;		/* consumer: consumed up to here (free-running) */
bit c_sleeping;		/* consumer's waiter flag */
bit p_sleeping;		/* producer's waiter flag */

/* Kernel: the eventfd doorbells (pending wake-up). */
bit c_wake;
bit p_wake;

/* Ghosts. */
bit reading[NSLOTS];	/* consumer is copying this slot out */
byte delivered;		/* messages the consumer took */
bit producer_done;

/* Store buffers: { location, index, value }. */
#define A_STAMP 1
#define A_WORD 2
#define A_MLEN 3
#define A_HEAD 4
#define A_CSLEEP 5
#define A_PSLEEP 6
chan sb_p = [SBSIZE] of { byte, byte, byte };
chan sb_c = [SBSIZE] of { byte, byte, byte };

inline mem_write(a, i, v)
{
	if
	:: a == A_STAMP -> assert(!reading[i]); stamp[i] = v
	:: a == A_WORD -> assert(!reading[i]); word[i] = v
	:: a == A_MLEN -> assert(!reading[i]); mlen[i] = v
	:: a == A_HEAD -> head = v
	:: a == A_CSLEEP -> c_sleeping = v
	:: a == A_PSLEEP -> p_sleeping = v
	fi
}

#ifdef SC
#define STORE(sb, a, i, v) d_step { mem_write(a, i, v) }
#else
#define STORE(sb, a, i, v) sb!a, i, v
#endif

#ifdef NOFENCE
#define FENCE(sb) skip
#else
#define FENCE(sb) (len(sb) == 0)
#endif

proctype flusher(chan sb)
{
	byte a, i, v;
end:
	do
	:: d_step { sb?a, i, v -> mem_write(a, i, v); a = 0; i = 0; v = 0 }
	od
}

#ifdef BADROOM	/* mutant: one slot too many counted free; must fail */
#define ROOM(p, h, n) (NSLOTS + 1 - ((p) - (h)) >= (n))
#else
#define ROOM(p, h, n) (NSLOTS - ((p) - (h)) >= (n))
#endif

active proctype producer()
{
	byte pos = 0, cached = 0, id = 1, n, k, h;

	do
	:: id > NMSG -> break
	:: else ->
		if
		:: n = 1
		:: MAXLEN >= 2 -> n = 2
		fi;
		/* cli_reserve: ring_has_space, else spin or cli_sleep */
		do
		:: ROOM(pos, cached, n) -> break
		:: else ->
			h = head;	/* [R4] load_acquire(head) */
			cached = h;
			h = 0;
			if
			:: ROOM(pos, cached, n) -> break
			:: else ->
				if
				:: skip	/* spin: look again */
				:: STORE(sb_p, A_PSLEEP, 0, 1);	/* [S1] cli_sleep */
					FENCE(sb_p);			/* [S1] full_fence() */
					cached = head;			/* [R4] re-check */
					if
					:: ROOM(pos, cached, n) -> skip
					:: else -> atomic { p_wake -> p_wake = 0 }	/* cli_block */
					fi;
					STORE(sb_p, A_PSLEEP, 0, 0)	/* [S3] */
				fi
			fi
		od;
		/* ring_put: continuation slots, the header slot, the stamp last */
		k = 1;
		do
		:: k < n ->
#ifdef PHANTOM
			if
			:: STORE(sb_p, A_STAMP, (pos + k) % NSLOTS, 0)
			:: STORE(sb_p, A_STAMP, (pos + k) % NSLOTS, pos + k + NSLOTS + 1)
			fi;
#else
			/* user data that is no valid stamp */
			STORE(sb_p, A_STAMP, (pos + k) % NSLOTS, 0);
#endif
			STORE(sb_p, A_WORD, (pos + k) % NSLOTS, id);
			k++
		:: else -> break
		od;
		k = 0;
		STORE(sb_p, A_WORD, pos % NSLOTS, id);
		STORE(sb_p, A_MLEN, pos % NSLOTS, n);
		STORE(sb_p, A_STAMP, pos % NSLOTS, pos + 1);	/* [R1] ring_publish: release */
		pos = pos + n;
		id++;
		/* [D1] cli_doorbell (and [S2] srv_put_reply, the same shape on
		 * the s2c ring): fence, then the flag */
		FENCE(sb_p);
		if
		:: c_sleeping -> c_wake = 1
		:: else -> skip
		fi
	od;
	producer_done = 1
}

active proctype consumer()
{
	byte pos = 0, expect = 1, n, k;

	do
	:: delivered == NMSG -> break
	:: else ->
		if
		:: stamp[pos % NSLOTS] == pos + 1 ->	/* [R2] ring_ready: acquire */
			/* ring_take: copy the header slot, then the rest */
			d_step {
				reading[pos % NSLOTS] = 1;
				n = mlen[pos % NSLOTS]
			}
			assert(n >= 1 && n <= MAXLEN);
			k = 0;
			do
			:: k < n ->
				d_step {
					reading[(pos + k) % NSLOTS] = 1;
					assert(word[(pos + k) % NSLOTS] == expect)
				}
				k++
			:: else -> break
			od;
			/* copied out: the slots are private now */
			atomic {
				k = 0;
				do
				:: k < NSLOTS -> reading[k] = 0; k++
				:: else -> k = 0; break
				od
			}
			pos = pos + n;
			n = 0;
			expect++;
			delivered++;
			STORE(sb_c, A_HEAD, 0, pos);	/* [R3] ring_consume: release */
			/* [S2] srv_consumed: fence, then the producer's flag */
			FENCE(sb_c);
			if
			:: p_sleeping -> p_wake = 1
			:: else -> skip
			fi
		:: else ->
			if
			:: skip	/* spin: look again */
			:: STORE(sb_c, A_CSLEEP, 0, 1);	/* [D2] port_sleep: doorbell + 1 */
				FENCE(sb_c);			/* [D2] full_fence() */
				if
				:: stamp[pos % NSLOTS] == pos + 1 -> skip	/* [R2] re-check */
				:: else -> atomic { c_wake -> c_wake = 0 }	/* block */
				fi;
				STORE(sb_c, A_CSLEEP, 0, 0)	/* [D3] doorbell - 1 */
			fi
		fi
	od
}

/* Stuck for good (no process can move): everything must be delivered. */
active proctype monitor()
{
end:
	timeout -> assert(delivered == NMSG && producer_done)
}

init
{
	atomic {
		run flusher(sb_p);
		run flusher(sb_c)
	}
}

ltl delivered { <> (delivered == NMSG) }
