/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pit_timer.h: IRQ 0 on time. The PIT (pit.h) says when channel 0's OUT
 * rises; this arms a CLOCK_MONOTONIC timerfd on the VMM thread's loop for
 * it and pulses ISA line 0 (isa_irq.h) at each expiry. A vCPU that
 * reprograms channel 0 only writes an eventfd; the VMM thread rereads the
 * schedule and re-arms. Expiries the loop was too late for are coalesced
 * into one interrupt, as a PC's edge-triggered line would lose them.
 */
#ifndef EMBER_PIT_TIMER_H
#define EMBER_PIT_TIMER_H

#include <stdint.h>

struct evloop;
struct pit;
struct vm;

struct pit_timer {
	struct pit *pit;
	struct vm *vm;
	int wake_fd;	     /* eventfd: channel 0 was reprogrammed */
	int timer_fd;	     /* timerfd: OUT0's next rising edge */
	uint64_t generation; /* the programming the timer is armed for */
	uint64_t delivered;  /* IRQ 0 edges delivered */
};

/*
 * pit_timer_init: wire (pit)'s channel 0 to ISA line 0 of (vm) through
 * (loop). Call before the guest runs. Returns 0 or -errno; on failure
 * nothing is left open.
 */
int pit_timer_init(struct pit_timer *t, struct pit *pit, struct vm *vm, struct evloop *loop);

/* pit_timer_destroy: stop watching and close the fds (after the vCPUs are gone). */
void pit_timer_destroy(struct pit_timer *t, struct evloop *loop);

#endif /* EMBER_PIT_TIMER_H */
