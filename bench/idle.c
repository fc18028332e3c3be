/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idle.c: the bench's idle guest. Signals the boot timer, prints "ready" and
 * halts with interrupts off until the monitor is told to stop (SIGTERM), so
 * a booted microVM can be held for footprint and density measurements. The
 * same file boots under ember and QEMU microvm (PVH note).
 */
#include "runtime.h"

int main(const struct boot_info *bi)
{
	(void)bi;
	rt_boot_timer();
	rt_puts("ready\n");
	for (;;)
		__asm__ volatile("cli; hlt");
	return 0;
}
