/* SPDX-License-Identifier: MIT */
#include "conn/verdict.h"

#include <errno.h>
#include <stdbool.h>

#include "conn/cconn.h"
#include "conn/port.h"
#include "os/sockio.h"
#include "transport/refuse.h"

/* d, or MP_VERDICT_WAIT_NS from now when that comes first; now when the
 * connection's one wait is spent. */
static struct mp_deadline verdict_bound(const struct mp_cconn *c, struct mp_deadline d)
{
	struct mp_deadline cap = mp_deadline_in(c->verdict_waited ? 0 : MP_VERDICT_WAIT_NS);

	return !mp_deadline_forever(d) && d.at_ns < cap.at_ns ? d : cap;
}

/* What c's socket holds of the verdict, never waiting: 1 taken, 0 not
 * yet, <0 as mp_verdict_wait(). */
static int verdict_take(struct mp_cconn *c)
{
	int r = c->tp->verdict ? c->tp->verdict(c) : mp_verdict_take(c->fd);

	if (r == -EPIPE || r == -ECONNRESET)
		r = mp_cconn_refusal(c, -ECONNRESET);	/* the refusal after a reset */
	return r;
}

/* A port of this process: its server may be the thread that sends. */
static bool verdict_local(mp_port_t port)
{
	struct mp_port_obj *p = mp_port_get(port);

	if (p)
		mp_port_put(p);
	return p != NULL;
}

/* The socket transport asks once (the ring's HELLO asked already). */
static int verdict_ask(struct mp_cconn *c)
{
	int err;

	if (c->tp->verdict || c->verdict_asked)
		return 0;
	c->verdict_asked = true;
	err = mp_verdict_ask(c->fd);
	/* closed already: the refusal may be on the socket */
	return err == -EPIPE || err == -ECONNRESET ? 0 : err;
}

int mp_verdict_wait(struct mp_cconn *c, struct mp_deadline d)
{
	struct mp_deadline bound = verdict_bound(c, d);
	int r;

	if (verdict_local(c->port)) {
		mp_cconn_confirm(c);
		return 0;
	}
	r = verdict_ask(c);
	while (!r && (r = verdict_take(c)) == 0) {
		if (mp_deadline_in(0).at_ns >= bound.at_ns)
			break;	/* not in time: go on unconfirmed, as before */
		r = mp_sock_wait_readable(c->fd, bound);
		if (r > 0)
			r = 0;
	}
	c->verdict_waited = true;
	if (r == 1)
		mp_cconn_confirm(c);
	return r == 1 ? 0 : r;
}
