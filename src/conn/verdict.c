/* SPDX-License-Identifier: MIT */
#include "conn/verdict.h"

#include <errno.h>
#include <stdbool.h>

#include "conn/cconn.h"
#include "conn/port.h"
#include "os/lack.h"
#include "os/sockio.h"
#include "transport/refuse.h"

/* d, or MP_VERDICT_WAIT_NS from now when that comes first. */
static struct mp_deadline verdict_bound(struct mp_deadline d)
{
	struct mp_deadline cap = mp_deadline_in(MP_VERDICT_WAIT_NS);

	return !mp_deadline_forever(d) && d.at_ns < cap.at_ns ? d : cap;
}

/* What c's socket holds of the verdict, never waiting: 1 known, 0 not
 * yet, <0 as mp_verdict_wait(); local: the port is this process's. */
static int verdict_take(struct mp_cconn *c, bool local)
{
	int r = c->tp->verdict ? c->tp->verdict(c) : mp_verdict_take(c->fd);

	if (r == 1 && !c->tp->verdict)
		c->accepted = true;
	if (r == 0 && local && c->accepted)
		return 1;	/* its HELLO waits for this very thread, perhaps */
	if (r >= 0)
		return r;
	if (r == -EPIPE || r == -ECONNRESET)
		r = mp_cconn_refusal(c, -ECONNRESET);	/* the refusal after a reset */
	return r;
}

/* A port of this process: accept what its backlog holds (ours too),
 * as its receivers would.  True when one was taken. */
static bool verdict_accept_here(struct mp_port_obj *p)
{
	int err = mp_port_accept(p);

	return err != -EAGAIN && err != -EPIPE && !mp_err_resource(err);
}

int mp_verdict_wait(struct mp_cconn *c, struct mp_deadline d)
{
	struct mp_port_obj *local = mp_port_get(c->port);
	struct mp_deadline bound = verdict_bound(d);
	bool now_only = bound.at_ns <= mp_deadline_in(0).at_ns;	/* timeout 0 */
	int r;

	while ((r = verdict_take(c, local != NULL)) == 0) {
		if (local && verdict_accept_here(local))
			continue;
		if (now_only) {
			r = -EAGAIN;	/* never blocks: as for a full queue */
			break;
		}
		/* a port of ours: its other threads may accept it, look again soon */
		r = mp_sock_wait_readable(c->fd, local ? mp_deadline_in(1000000) : bound);
		if (r < 0)
			break;
		if (r == 0 && mp_deadline_in(0).at_ns >= bound.at_ns) {
			r = -ETIMEDOUT;
			break;
		}
	}
	if (local)
		mp_port_put(local);
	if (r == 1)
		mp_cconn_confirm(c);
	return r == 1 ? 0 : r;
}
