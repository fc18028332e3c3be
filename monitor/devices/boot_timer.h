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
#include <stddef.h>
#include <stdint.h>

struct vm;

struct boot_timer {
	struct vm *vm;
	bool report; /* --boot-timer: print the line */
	bool fired;  /* accessed atomically: several vCPUs may write */
	uint64_t boot_ns;
	/*
	 * on_ready: called once, on the vCPU thread that wrote the signal, after
	 * the report (NULL: nothing). It may only wake the VMM thread (an
	 * eventfd write): the vCPU filter allows no more.
	 */
	void (*on_ready)(void *ctx);
	void *on_ready_ctx;
};

/* boot_timer_init: claim the MMIO page and the port; (report) as above. 0 or -errno. */
int boot_timer_init(struct boot_timer *bt, struct vm *vm, bool report);

/*
 * The boot timer as a snapshot keeps it: whether the guest has signalled
 * "booted", and if so the boot time it measured then (a duration). A
 * restored guest that has booted has nothing left to report: its signal,
 * should it come again, is ignored as a second one is, and the restored
 * process prints no boot-time line and leaves its boot-time metrics at 0
 * (its own start-up is not a boot). Whether to print is the process's
 * --boot-timer, not state.
 */
struct boot_timer_state {
	uint64_t boot_ns; /* build start to the signal; 0 while not fired */
	uint8_t fired;	  /* 0 or 1 */
	uint8_t pad[7];
};
_Static_assert(sizeof(struct boot_timer_state) == 16, "boot_timer_state has holes");

/* boot_timer_save_state: (bt)'s state into (st), zeroed first. VMM thread, vCPUs parked. */
void boot_timer_save_state(const struct boot_timer *bt, struct boot_timer_state *st);

/*
 * boot_timer_load_state: put (bt), freshly initialised, into (st)'s state.
 * The fields are checked first; on a bad one returns -EINVAL with one line
 * naming it in (err) (of (errsz) bytes) and leaves (bt) unchanged. Returns
 * 0. VMM thread, before any vCPU runs.
 */
int boot_timer_load_state(struct boot_timer *bt, const struct boot_timer_state *st, char *err,
			  size_t errsz);

#endif /* EMBER_BOOT_TIMER_H */
