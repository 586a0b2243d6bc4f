/* SPDX-License-Identifier: MIT */
/* What the irq example's driver and server agree on. */
#ifndef IRQ_EXAMPLE_H
#define IRQ_EXAMPLE_H

#define IRQ_PATH "/dev/irq-demo"	/* where the server listens */
#define IRQ_CODE 0x10u			/* the pulse code of the timer "interrupt" */
#define IRQ_T_WAIT 1u			/* call: answered when the server has seen enough */
#define IRQ_HZ 1000			/* the timerfd's rate */

#endif
