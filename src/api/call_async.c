/* SPDX-License-Identifier: MIT */
/*
 * Started calls: mp_call_start() sends a call on a connection of its own
 * (conn/callpool.c) and returns; mp_call_fd() turns readable once the
 * answer is there; mp_call_finish() collects it, mp_call_cancel()
 * abandons it (the connection is dropped, as after a timed-out mp_send()).
 *
 * The transports' call_start and call_take do the halves of their call():
 * the take never waits, and on the ring transports it announces the
 * caller asleep, so that the server's answer rings the wake-up fd that
 * the wait descriptor watches.  The call keeps its own copy of the
 * message, into which the answer is taken; the caller's msg->o gets it
 * when mp_call_finish() returns 0.
 *
 * Long data goes copied: never left in our memory for the server to read
 * or write (no MP_FRAME_DATA_VM or OUT_VM), so that nothing of a call can
 * touch our memory once it is given up.  Pages regions (MP_MOVE, MP_SHARE)
 * are refused with -EOPNOTSUPP.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn/callpool.h"
#include "conn/cconn.h"
#include "conn/msgcheck.h"
#include "mem/pages.h"
#include "os/compiler.h"
#include "os/prio.h"
#include "os/sockio.h"

struct mp_call {
	struct mp_callconn *k;
	mp_msg_t *user;		/* the caller's msg: its o gets the answer */
	mp_msg_t m;		/* what was sent; the answer is taken into m.o */
	uint8_t *inout;		/* MP_OUT_INOUT: input and output's bytes, sent */
	struct mp_xfer x;
	int done;		/* 1: the answer was taken early, result holds it */
	int result;
};

/* The transports' errors as msgport.h documents them (as api/send.c). */
static int call_errno(int err)
{
	if (err == -ECONNRESET)
		return -EPIPE;
	return err == -ETIME ? -ETIMEDOUT : err;
}

/* Pages regions either way: not offered (no pages moved or lent). */
static bool is_pages(const void *data, size_t size, unsigned mode)
{
	struct mp_pages_tx tx;
	int r = mp_pages_tx_begin(&tx, data, size, mode);

	if (r > 0)
		mp_pages_tx_end(&tx, false);
	return r != 0;
}

static int call_check(mp_port_t port, const mp_msg_t *msg)
{
	unsigned mode = (msg->flags & MP_SHARE) ? MP_SHARE : MP_MOVE;
	int err;

	if (port == 0)
		return -EINVAL;
	err = mp_msg_check_send(msg, 1);
	if (err)
		return err;
	if (is_pages(msg->i.data, msg->i.size, mode))
		return -EOPNOTSUPP;
	if ((msg->flags & MP_SHARE) && is_pages(msg->o.data, msg->o.size, MP_SHARE))
		return -EOPNOTSUPP;
	return 0;
}

/* The message as sent: the input and the output's bytes in one buffer
 * for MP_OUT_INOUT (as api/send.c), at the wire's priority. */
static int call_build(struct mp_call *call, mp_msg_t *msg)
{
	mp_msg_t *m = &call->m;
	uint32_t thread;

	*m = *msg;
	if ((msg->flags & MP_OUT_INOUT) && msg->o.size) {
		call->inout = malloc(msg->i.size + msg->o.size);
		if (!call->inout)
			return -ENOMEM;
		if (msg->i.size)
			memcpy(call->inout, msg->i.data, msg->i.size);
		memcpy(call->inout + msg->i.size, msg->o.data, msg->o.size);
		m->i.data = call->inout;
		m->i.size = msg->i.size + msg->o.size;
	}
	thread = mp_prio_refresh();
	m->priority = (msg->priority > thread ? msg->priority : thread) ^ MP_PRIO_DEFAULT;
	mp_xfer_init(&call->x);
	call->x.fflags = (m->priority ? MP_FRAME_PRIO : 0) |
			 ((msg->flags & MP_OUT_INOUT) && msg->o.size ? MP_FRAME_INOUT : 0);
	return 0;
}

/* Send on a connection of the pool's; one dropped before it took the
 * call (-ECONNRESET) did not deliver it: once more on a new one. */
static int call_send(mp_port_t port, struct mp_call *call)
{
	struct mp_cconn *c;
	int err;

	for (int attempt = 0;; attempt++) {
		err = mp_callpool_get(port, &call->k);
		if (err == -ECONNRESET && attempt == 0)
			continue;
		if (err == -ENOENT && attempt > 0)
			return -EPIPE;
		if (err)
			return call_errno(err);
		c = call->k->c;
		err = -EOPNOTSUPP;	/* a transport without started calls */
		if (c->tp->call_start && c->tp->call_take)
			err = c->tp->call_start(c, &call->m, mp_deadline_in(MP_FOREVER), &call->x);
		err = mp_cconn_refusal(c, err);
		mp_callpool_drop(err ? call->k : NULL);
		if (err)
			call->k = NULL;
		if (err != -ECONNRESET || attempt > 0)
			return call_errno(err);
	}
}

/* The answer if it is there (-EAGAIN not yet: the wait descriptor then
 * turns readable when it comes). */
static int call_take(struct mp_call *call)
{
	struct mp_cconn *c = call->k->c;
	int err;

	if (call->done)
		return call->result;
	err = c->tp->call_take(c, &call->m, &call->x);
	if (err == -EAGAIN)
		return mp_callpool_watch(call->k) ? -ENOMEM : -EAGAIN;
	return call_errno(mp_cconn_refusal(c, err));
}

static void call_free(struct mp_call *call)
{
	free(call->inout);
	free(call);
}

/* The call is over with err: the answer to the caller (0), the
 * connection back to the pool or dropped. */
static int call_end(struct mp_call *call, int err)
{
	if (!err) {
		call->user->o = call->m.o;
		mp_callpool_put(call->k);
	} else {
		mp_callpool_drop(call->k);
	}
	call_free(call);
	return err;
}

int mp_call_start(mp_port_t port, mp_msg_t *msg, mp_call_t **out)
{
	struct mp_call *call;
	int err;

	if (!out || !msg)
		return -EINVAL;
	*out = NULL;
	err = call_check(port, msg);
	if (err)
		return err;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->user = msg;
	err = call_build(call, msg);
	if (!err)
		err = call_send(port, call);
	if (err) {
		call_free(call);
		return err;
	}
	/* The first look announces us asleep (ring); an answer there already
	 * is kept, and the kick makes the descriptor readable for it. */
	err = call_take(call);
	if (err != -EAGAIN) {
		call->done = 1;
		call->result = err;
		mp_callpool_kick(call->k);
	}
	*out = call;
	return 0;
}

int mp_call_fd(const mp_call_t *call)
{
	return call ? call->k->epfd : -EINVAL;
}

/* Wait for the wait descriptor until d: 0 readable or EINTR, -ETIME. */
static int call_wait(const struct mp_call *call, struct mp_deadline d)
{
	struct pollfd p = { .fd = call->k->epfd, .events = POLLIN };
	int n = poll(&p, 1, mp_deadline_ms(d));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	return n == 0 && !mp_deadline_forever(d) ? -ETIME : 0;
}

int mp_call_finish(mp_call_t *call, int64_t timeout_ns)
{
	struct mp_deadline d;
	int err;

	if (!call || !mp_timeout_valid(timeout_ns))
		return -EINVAL;
	d = mp_deadline_in(timeout_ns);
	for (;;) {
		err = call_take(call);
		if (err != -EAGAIN)
			break;
		if (timeout_ns == 0)
			return -EAGAIN;	/* still live */
		err = call_wait(call, d);
		if (err == -ETIME) {
			err = call_take(call);	/* what came in time counts */
			if (err == -EAGAIN)
				err = -ETIMEDOUT;
			break;
		}
		if (err)
			break;
	}
	return call_end(call, err);
}

void mp_call_cancel(mp_call_t *call)
{
	if (!call)
		return;
	/* an answer taken early brought descriptors that nobody will see */
	if (call->done && call->result == 0)
		mp_fds_close(call->m.o.fds, call->m.o.nfds);
	call_end(call, -ECANCELED);
}
