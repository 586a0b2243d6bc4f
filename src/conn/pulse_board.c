/* SPDX-License-Identifier: MIT */
/*
 * Clients' pulse boards, server side (proto/pulse.h): taken over from a
 * HELLO, drained into the port's table when their eventfd fires, freed
 * with their connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conn/pulseq.h"
#include "mem/data.h"
#include "os/shm.h"

/* Rounds of [B3] before the drain gives the board back to the loop. */
#define DRAIN_ROUNDS 4

/* The slots with news go to the table; false when it was full. */
static bool board_read_locked(struct mp_pulse_port *pp, struct mp_pulse_bd *b)
{
	for (unsigned k = 0; k < MP_PULSE_CODES; k++) {
		struct mp_pulse_read r;

		if (!mp_pulse_slot_read(&b->map->slot[k], b->seen[k], &r))
			continue;
		if (mp_pulse_queue_locked(pp, b->conn_key, r.code, r.value,
					  mp_pulse_merged(r.total, b->seen[k]), b->pid, b->uid,
					  b->gid) != 0) {
			pp->retry = true;	/* drained again when the table has room */
			return false;
		}
		b->seen[k] = r.total;
	}
	return true;
}

void mp_pulse_board_drain_locked(struct mp_pulse_port *pp, struct mp_pulse_bd *b)
{
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		/* [B3] acquire, pairs with the client's fetch_add_fence of gen */
		uint64_t g = load_acquire(&b->map->shm_gen);

		if (!board_read_locked(pp, b))
			return;	/* seen stays behind: the client does not ring */
		store_relaxed(&b->map->shm_seen, g);
		full_fence();	/* [B3] seen before the re-check: Dekker with the client */
		if (load_relaxed(&b->map->shm_gen) == g)
			return;
	}
	/* A client that keeps pulsing: come back after the others' turn,
	 * through our own eventfd (never the client's: whatever it sent as
	 * one is never read nor written, it could block us). */
	mp_pulse_retry_locked(pp);
}

void mp_pulse_board_free(struct mp_pulse_port *pp, struct mp_pulse_bd *b, bool epoll_too)
{
	if (!b)
		return;
	if (b->efd >= 0) {
		if (epoll_too)
			epoll_ctl(pp->epfd, EPOLL_CTL_DEL, b->efd, NULL);
		close(b->efd);
	}
	if (b->map)
		munmap(b->map, MP_PULSE_BOARD_SIZE);
	free(b);
}

static int board_slot_locked(struct mp_pulse_port *pp, uint32_t *idx)
{
	uint32_t n = pp->nboards ? pp->nboards * 2 : 8;
	struct mp_pulse_bd **v;

	for (uint32_t k = 0; k < pp->nboards; k++) {
		if (!pp->boards[k]) {
			*idx = k;
			return 0;
		}
	}
	if (n > MP_KEY_INDEX)
		return -ENOSPC;
	v = realloc(pp->boards, sizeof(*v) * n);
	if (!v)
		return -ENOMEM;
	for (uint32_t k = pp->nboards; k < n; k++)
		v[k] = NULL;
	*idx = pp->nboards;
	pp->boards = v;
	pp->nboards = n;
	return 0;
}

/* Map the client's memfd, checked: sealed to its size, our magic. */
static struct mp_pulse_board *board_map_peer(int fd)
{
	struct mp_pulse_board *b;

	if (mp_memfd_peer(fd, F_SEAL_SHRINK | F_SEAL_GROW, MP_PULSE_BOARD_SIZE,
			  MP_PULSE_BOARD_SIZE, NULL) < 0)
		return NULL;
	b = mmap(NULL, MP_PULSE_BOARD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED)
		return NULL;
	/* [I2] read once; the recvmsg() that brought fd ordered it */
	if (load_relaxed(&b->shm_magic) != MP_PULSE_BOARD_MAGIC) {
		munmap(b, MP_PULSE_BOARD_SIZE);
		return NULL;
	}
	return b;
}

static bool board_of_conn_locked(const struct mp_pulse_port *pp, uint64_t key)
{
	for (uint32_t k = 0; k < pp->nboards; k++)
		if (pp->boards[k] && pp->boards[k]->conn_key == key)
			return true;
	return false;
}

int mp_pulse_board_attach(struct mp_pulse_port *pp, uint64_t key, pid_t pid, uid_t uid, gid_t gid,
			  struct mp_rx *rx)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct mp_pulse_bd *b;
	uint32_t idx;
	int err;

	if (rx->nfds != 2 || rx->hdr.nfds != 2)
		return -EPROTO;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->efd = -1;
	b->conn_key = key;
	b->pid = pid;
	b->uid = uid;
	b->gid = gid;
	b->map = board_map_peer(rx->fds[0]);
	if (!b->map) {
		err = -EPROTO;
		goto err;
	}
	mp_lock(&pp->lock);
	err = board_of_conn_locked(pp, b->conn_key) ? -EPROTO : board_slot_locked(pp, &idx);
	if (!err) {
		/* Edge-triggered: the eventfd is never read (whatever the client
		 * sent as one), each of its writes is one event. */
		ev.data.u64 = MP_KEY_BOARD | idx;
		err = epoll_ctl(pp->epfd, EPOLL_CTL_ADD, rx->fds[1], &ev) ? -EPROTO : 0;
	}
	if (!err) {
		b->efd = rx->fds[1];
		rx->fds[1] = -1;
		pp->boards[idx] = b;
		mp_pulse_board_drain_locked(pp, b);	/* pulses sent before we looked */
	}
	mp_unlock(&pp->lock);
	if (err)
		goto err;
	return 0;
err:
	mp_pulse_board_free(pp, b, false);
	return err;
}
