/* SPDX-License-Identifier: MIT */
/*
 * The irq example's server: receives the "interrupts" a driver forwards
 * with mp_pulse_on_fd() as pulses (MP_RECV_PULSE), adds up their counts
 * (a timerfd's value is the expirations since the last read: none is
 * lost, however late the server looks), and once it has seen the number
 * asked for, answers the driver's waiting call with it and exits.
 * Usage: irq-server [INTERRUPTS]   (default 500: half a second at 1 kHz)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgport.h"
#include "irq.h"

int main(int argc, char **argv)
{
	uint64_t want = argc > 1 ? strtoull(argv[1], NULL, 10) : 500, irqs = 0, pulses = 0;
	mp_rid_t waiter = 0;
	mp_msg_t wmsg;
	mp_port_t port;
	int32_t from = 0;
	int err;

	if ((err = mp_port_create(&port)) || (err = mp_port_register(port, IRQ_PATH, 0600))) {
		fprintf(stderr, "irq-server: %s\n", mp_strerror(err));
		return 1;
	}
	while (!waiter || irqs < want) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, MP_FOREVER);

		if (r < 0) {
			fprintf(stderr, "irq-server: mp_recv: %s\n", mp_strerror(r));
			return 1;
		}
		if (r == MP_RECV_PULSE && m.type == IRQ_CODE) {
			irqs += mp_msg_pulse(&m).value;
			pulses++;
			from = m.pid;
		} else if (r == 0 && m.type == IRQ_T_WAIT && !waiter) {
			waiter = rid;	/* answered below, when done */
			wmsg = m;
		} else if (r == 0) {
			m.o.size = 0;
			m.o.err = -EINVAL;
			mp_respond(port, &m, rid);
		}
	}
	printf("irq-server: %llu interrupts in %llu pulses from pid %d\n",
	       (unsigned long long)irqs, (unsigned long long)pulses, (int)from);
	memcpy(wmsg.o.raw, &irqs, sizeof(irqs));
	wmsg.o.size = 0;
	wmsg.o.err = 0;
	err = mp_respond(port, &wmsg, waiter);
	mp_port_destroy(port);
	if (err || !pulses || pulses > irqs)
		return fprintf(stderr, "irq-server: checks failed\n"), 1;
	printf("irq-server: all checks passed\n");
	return 0;
}
