/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_timer.h: Firecracker's boot timer. When the guest writes the byte
 * LAYOUT_BOOT_TIMER_MAGIC (123) to MMIO LAYOUT_BOOT_TIMER_ADDR, or to the
 * older port LAYOUT_BOOT_TIMER_PORT, ember prints once on stderr:
 *   ember: guest boot time <N> us (<M> us since exec)
 * N counts from the start of the VM build, M from process start.
 * Without --boot-timer the device is still there (guests write it
 * regardless) but says nothing.
 */
#ifndef EMBER_BOOT_TIMER_H
#define EMBER_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

struct boot_timer {
	struct vm *vm;
	bool report; /* --boot-timer: print the line */
	bool fired;  /* accessed atomically: several vCPUs may write */
	uint64_t boot_ns;
};

/* boot_timer_init: claim the MMIO page and the port; (report) as above. 0 or -errno. */
int boot_timer_init(struct boot_timer *bt, struct vm *vm, bool report);

#endif /* EMBER_BOOT_TIMER_H */
