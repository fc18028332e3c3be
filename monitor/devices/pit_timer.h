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

#include <stddef.h>
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

/*
 * The timer as a snapshot keeps it: only whether an IRQ 0 edge had come due
 * by the save. When the next ones come follows from the PIT's state; no
 * instant of this process's clock is kept.
 */
struct pit_timer_state {
	uint8_t irq0_due; /* 0 or 1: an edge came due at or before the save */
	uint8_t pad[7];
};
_Static_assert(sizeof(struct pit_timer_state) == 8, "pit_timer_state has holes");

/*
 * pit_timer_save_state: (t)'s state into (st), zeroed first. It first does
 * what the loop would do next with a pending re-arm or expiry (so an edge
 * due by now is delivered in this process, as it would have been), and
 * records whether an edge was due. Save it before the interrupt controllers
 * and the vCPUs, so their state holds that edge. VMM thread, vCPUs parked.
 */
void pit_timer_save_state(struct pit_timer *t, struct pit_timer_state *st);

/*
 * pit_timer_load_state: arm (t), freshly initialised, for the PIT's loaded
 * schedule (call after pit_load_state()): the first edge after now, never
 * one already past; an edge that was due at the save is delivered at once
 * (the guest's controllers merge it with one they already hold). The field
 * is checked first; on a bad one returns -EINVAL with one line naming it in
 * (err) (of (errsz) bytes) and leaves (t) unchanged. Returns 0, or -errno
 * when the timer cannot be armed. VMM thread, before any vCPU runs, after
 * the interrupt controllers and the vCPUs' local APICs are loaded.
 */
int pit_timer_load_state(struct pit_timer *t, const struct pit_timer_state *st, char *err,
			 size_t errsz);

#endif /* EMBER_PIT_TIMER_H */
