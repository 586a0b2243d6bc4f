/*
 * SPDX-License-Identifier: MIT
 *
 * Model of the server side of msgport's ring transport (src/conn/port_rx.c:
 * mp_port_next, port_sleep, rings_scan, doorbell_add, wake_pass_on_locked;
 * src/transport/ring/client.c: cli_doorbell) for the spin model checker.
 * [Xn]: the label of the step in the protocol description at the top of
 * src/proto/ring.h (model/README.md has the table).  NCLI clients, each with its own
 * ring and its own doorbell eventfd (registered edge-triggered in the
 * port's epoll set), one port-wide doorbell counter in the port page, and
 * NRECV receiving threads.
 *
 *   client (cli_send + cli_doorbell)          receiver (mp_port_next)
 *   --------------------------------          -----------------------
 *   write the slot, store stamp (release)     loop: scan the rings under trylock [R2];
 *     [R1]                                          now and then a 0-timeout epoll;
 *   FENCE [D1]                                      spin, or port_sleep:
 *   if page->shm_doorbell != 0: [D1]            doorbell += 1 (seq_cst RMW); FENCE [D2]
 *       write(db_efd)  (an epoll edge)          lock; scan [R2]; unlock
 *                                               if nothing: epoll_wait (one event)
 *                                               doorbell -= 1 [D3]
 *   (CHAIN: after taking a message, under the lock, the pass-on [D6].)
 *
 * Memory model as in ring.pml: x86-TSO with explicit FIFO store buffers
 * and flusher processes; FENCE drains the process's buffer.  The doorbell
 * counter's atomic add is applied to memory when its buffer entry drains
 * (on x86 the locked add drains at once; the FENCE after it makes the two
 * the same here).  epoll: one pending-edge bit per doorbell eventfd; a
 * write sets it (a second write before anyone collects it adds nothing:
 * edge-triggered); epoll_wait blocks until a bit is set, then clears one.
 *
 * One-way messages of one slot; rings large enough for all of them (wrap
 * and the room handshake are in ring.pml).
 *
 * Checked: whenever the whole system is stuck (spin's timeout), every
 * message has been delivered: no receiver sleeps for good while a message
 * waits in a ring.  Assertion in monitor.
 *
 * Parameters (spin -DNAME=value):
 *   NCLI   clients (1)       NMSG   messages per client (2)
 *   NRECV  receiving threads (2)
 *   NOFENCE  drop the Dekker fences (cli_doorbell, port_sleep): must fail
 *   BUSY     a receiver may, after taking a message, stay in its handler
 *            for good (an application that blocks there), all but one of
 *            them; the receivers left must still serve what is queued.  FAILS on the
 *            protocol as written: see model/README.md
 *   CHAIN    a proposed fix: a receiver that took a message, while still
 *            holding the port lock, looks whether any ring holds another
 *            one and whether another receiver sleeps (doorbell above its
 *            own count); if so it writes the port's kick eventfd, which
 *            wakes one sleeper.  BUSY + CHAIN must pass
 */

#ifndef NCLI
#define NCLI 1
#endif
#ifndef NMSG
#define NMSG 2
#endif
#ifndef NRECV
#define NRECV 2
#endif
#define SBSIZE 2
#define TOTAL (NCLI * NMSG)

/* Shared memory. */
byte stamp[NCLI * NMSG];	/* client c's slot k at [c * NMSG + k]: k + 1 when published */
byte doorbell;			/* port page: receivers asleep (+ unattended) */

/* Kernel: epoll edges of the clients' doorbell eventfds (and, with
 * CHAIN, of the port's kick eventfd at [NCLI]). */
bit edge[NCLI + 1];

/* Port state under the port lock (private to the server process). */
bit lock;
byte rpos[NCLI];		/* each ring's consumer position */
byte scan_pos;

/* Ghosts. */
byte delivered;
byte busy;			/* receivers in their handler for good (BUSY) */
byte clients_done;

#define A_STAMP 1
#define A_DBADD 2	/* doorbell += (v == 1 ? 1 : -1) */

inline mem_write(a, i, v)
{
	if
	:: a == A_STAMP -> stamp[i] = v
	:: a == A_DBADD && v == 1 -> doorbell++
	:: a == A_DBADD && v != 1 -> assert(doorbell > 0); doorbell--
	fi
}

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

proctype client(byte c; chan sb)
{
	byte k = 0;

	do
	:: k < NMSG ->
		sb!A_STAMP, c * NMSG + k, k + 1;	/* [R1] ring_put + ring_publish */
		k++;
		FENCE(sb);				/* [D1] cli_doorbell: full_fence() */
		if
		:: doorbell != 0 -> edge[c] = 1		/* [D1] load the count; wake(db_efd) */
		:: else -> skip
		fi
	:: else -> break
	od;
	clients_done++
}

/* rings_scan_locked: one message from the first ready ring [R2], round-
 * robin from scan_pos.  got = 1 when one was taken.  Under the port lock. */
inline scan(got)
{
	d_step {
		got = 0;
		j = 0;
		do
		:: j < NCLI && !got ->
			idx = (scan_pos + j) % NCLI;
			if
			:: rpos[idx] < NMSG && stamp[idx * NMSG + rpos[idx]] == rpos[idx] + 1 ->
				rpos[idx]++;
				scan_pos = idx + 1;
				delivered++;
				got = 1
			:: else -> skip
			fi;
			j++
		:: else -> break
		od;
		j = 0;
		idx = 0
	}
}

/* [D6] CHAIN (wake_pass_on_locked): after taking a message under the
 * lock, wake another sleeper if a message is left; mine: 1 when this
 * receiver is counted in doorbell. */
inline pass_on(mine)
{
#ifdef CHAIN
	d_step {
		j = 0;
		idx = 0;
		do
		:: j < NCLI ->
			if
			:: rpos[j] < NMSG && stamp[j * NMSG + rpos[j]] == rpos[j] + 1 -> idx = 1
			:: else -> skip
			fi;
			j++
		:: else -> break
		od;
		if
		:: idx && doorbell > mine -> edge[NCLI] = 1	/* write(kick_efd) */
		:: else -> skip
		fi;
		j = 0;
		idx = 0
	}
#else
	skip
#endif
}

/* epoll_wait for one event: clears one edge. */
inline epoll_one()
{
	if
	:: d_step { edge[0] -> edge[0] = 0 }
#if NCLI > 1
	:: d_step { edge[1] -> edge[1] = 0 }
#endif
#if NCLI > 2
	:: d_step { edge[2] -> edge[2] = 0 }
#endif
#ifdef CHAIN
	:: d_step { edge[NCLI] -> edge[NCLI] = 0 }	/* kick_drain */
#endif
	fi
}

proctype receiver(chan sb)
{
	byte j, idx;
	bit got;

	do
	:: /* rings_scan(spinning): trylock */
		if
		:: atomic { lock == 0 -> lock = 1 };
			scan(got);
			if
			:: got -> pass_on(0)
			:: else -> skip
			fi;
			lock = 0
		:: else -> got = 0	/* a thread is scanning: leave it to that one */
		fi;
		if
		:: got ->
			got = 0;
			/* mp_recv returns: the handler runs, then mp_recv again */
#ifdef BUSY
			if
			:: skip
			:: atomic { busy < NRECV - 1 -> busy++ }; goto end_busy
			fi
#endif
		:: else ->
			if
			:: skip	/* spin */
			:: epoll_one()	/* port_events(0): a stale edge */
			:: /* port_sleep */
				sb!A_DBADD, 0, 1;	/* [D2] doorbell_add(p, 1) */
				FENCE(sb);		/* [D2] full_fence() */
				atomic { lock == 0 -> lock = 1 };
				scan(got);
				if
				:: got -> pass_on(1)
				:: else -> skip
				fi;
				lock = 0;
				if
				:: got -> skip
				:: else ->
end_sleep:				epoll_one()	/* port_events(ms): block */
				fi;
				sb!A_DBADD, 0, 0;	/* [D3] doorbell_add(p, -1) */
				if
				:: got ->
					got = 0
#ifdef BUSY
					;
					if
					:: skip
					:: atomic { busy < NRECV - 1 -> busy++ }; goto end_busy
					fi
#endif
				:: else -> skip
				fi
			fi
		fi
	od;
#ifdef BUSY
end_busy:
	skip	/* in the handler for good */
#endif
}

/* Stuck for good: every message must have been delivered. */
active proctype monitor()
{
end:
	timeout -> assert(delivered == TOTAL && clients_done == NCLI)
}

/* Store buffers of the clients and of the receivers. */
chan sbc[NCLI] = [SBSIZE] of { byte, byte, byte };
chan sbr[NRECV] = [SBSIZE] of { byte, byte, byte };

init
{
	byte n;

	atomic {
		n = 0;
		do
		:: n < NCLI -> run flusher(sbc[n]); run client(n, sbc[n]); n++
		:: else -> break
		od;
		n = 0;
		do
		:: n < NRECV -> run flusher(sbr[n]); run receiver(sbr[n]); n++
		:: else -> break
		od
	}
}
