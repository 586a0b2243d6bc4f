/* SPDX-License-Identifier: MIT */
/*
 * Started calls on a ring connection (api/call_async.c): the call is sent
 * as mp_ring_call() sends it, and its answer taken later without waiting.
 * Apart from client.c so that its call path stays as it was compiled.
 */
#include "transport/ring/ring.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>

/* Our socket: 2 hung up, 1 a frame waits, 0 neither. */
static int cli_sock_state(struct mp_cconn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (poll(&p, 1, 0) != 1)
		return 0;
	return (p.revents & (POLLHUP | POLLERR)) ? 2 : 1;
}

int mp_ring_call_start(struct mp_cconn *c, mp_msg_t *msg, struct mp_deadline d,
		       struct mp_xfer *x)
{
	return mp_ring_send_call(c, msg, d, x);
}

/* The reply whose stamp we saw [R2], as cli_reply_take() reads it. */
static int cli_async_reply(struct mp_cconn *c, struct ring_cli *rc, mp_msg_t *msg,
			   const struct mp_xfer *x)
{
	int n = mp_slot_reply_read(&rc->rx, (uint16_t)c->seq, &msg->o);

	if (n > 0) {
		ring_consume(&rc->rx, (uint64_t)n);	/* [R3] */
		return 1;
	}
	return mp_ring_reply_decode(c, msg, x);
}

/* Whether the reply is there: 1, 0 not (yet), -1 the server's death (the
 * ring looked at once more), <0 -EPROTO.  A side frame on the socket
 * means its marker follows at once: waited for a little. */
static int cli_async_ready(struct mp_cconn *c, struct ring_cli *rc)
{
	int r = ring_ready(&rc->rx), s = 0;	/* [R2] */

	for (int k = 0; r == 0 && rc->page && (s = cli_sock_state(c)) == 1 && k < 64; k++) {
		sched_yield();
		r = ring_ready(&rc->rx);
	}
	if (r == 0 && s == 2)
		return ring_ready(&rc->rx) ? 1 : -1;	/* what came before the hang-up */
	return r;
}

/*
 * Its answer if it is there, else -EAGAIN with client.shm_sleeping left
 * set: we "sleep" on the wake-up epoll fd (mp_ring_call_wake_fd()), which
 * the server's answer then makes readable [S1]/[S2]; its hang-up makes
 * our socket readable.  The edge a former wake-up left is taken first.
 */
int mp_ring_call_take(struct mp_cconn *c, mp_msg_t *msg, struct mp_xfer *x)
{
	struct ring_cli *rc = c->tp_priv;
	struct epoll_event ev[2];
	int r;

	if (!rc->page && (r = mp_ring_take_welcome(c, rc)) < 0)
		return r;
	if (rc->wake_epfd >= 0)
		epoll_wait(rc->wake_epfd, ev, 2, 0);	/* consume the edge */
	/* [S1] the flag, the fence, the look, as cli_sleep(): pairs with the
	 * server's [S2] */
	store_relaxed(&rc->r->client.shm_sleeping, 1);
	full_fence();
	r = cli_async_ready(c, rc);
	if (r == 0)
		return -EAGAIN;	/* the flag stays: the answer wakes us */
	store_relaxed(&rc->r->client.shm_sleeping, 0);	/* [S3] */
	if (r == -1)
		return -EPIPE;
	if (r < 0)
		return -EPROTO;
	r = cli_async_reply(c, rc, msg, x);
	if (r == 3)
		return msg->o.err;	/* refused: the connection goes on */
	if (r == 0)
		return -EAGAIN;	/* nothing for us yet (a stamp without a message) */
	return r == 1 ? 0 : r < 0 ? r : -EPROTO;	/* 2: we never offered our memory */
}

int mp_ring_call_wake_fd(struct mp_cconn *c)
{
	return ((struct ring_cli *)c->tp_priv)->wake_epfd;
}
