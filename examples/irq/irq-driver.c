/* SPDX-License-Identifier: MIT */
/*
 * The irq example's driver: a timerfd firing at 1 kHz stands for a
 * device's interrupt line (a UIO device's fd would do the same).  The
 * driver hands it to the server with mp_pulse_on_fd(): from then on the
 * server's own receive loop reads it and gets a pulse per wake-up - no
 * thread here, none in the server, no message per interrupt.  Then it
 * waits in a call until the server has seen enough, and stops the source.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"
#include "irq.h"

int main(void)
{
	struct itimerspec its = { .it_interval = { 0, 1000000000L / IRQ_HZ },
				  .it_value = { 0, 1000000000L / IRQ_HZ } };
	mp_oid_t oid;
	mp_msg_t m;
	uint64_t seen;
	int tfd, err;

	for (int k = 0; (err = mp_lookup(IRQ_PATH, &oid)) == -ENOENT && k < 500; k++)
		usleep(10000);	/* the server may still be starting */
	if (err)
		return fprintf(stderr, "irq-driver: lookup: %s\n", mp_strerror(err)), 1;
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL))
		return perror("irq-driver: timerfd"), 1;
	err = mp_pulse_on_fd(oid.port, tfd, IRQ_CODE);
	if (err)
		return fprintf(stderr, "irq-driver: mp_pulse_on_fd: %s\n", mp_strerror(err)), 1;
	close(tfd);	/* the server keeps its own */
	printf("irq-driver: forwarding a %d Hz timer to %s\n", IRQ_HZ, IRQ_PATH);
	memset(&m, 0, sizeof(m));
	m.type = IRQ_T_WAIT;
	err = mp_send(oid.port, &m, MP_FOREVER);
	if (err || m.o.err)
		return fprintf(stderr, "irq-driver: wait: %s\n", mp_strerror(err ? err : m.o.err)), 1;
	memcpy(&seen, m.o.raw, sizeof(seen));
	printf("irq-driver: the server saw %llu interrupts\n", (unsigned long long)seen);
	return 0;
}
