// SPDX-License-Identifier: Apache-2.0
/* boot_timer.c: the "guest has booted" signal and its report. */
#include "boot_timer.h"

#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "vm.h"

#define NS_PER_US 1000ULL

static void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct boot_timer *bt = opaque;

	(void)len;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	if (offset != 0 || data[0] != LAYOUT_BOOT_TIMER_MAGIC)
		return;
	if (__atomic_exchange_n(&bt->fired, true, __ATOMIC_SEQ_CST))
		return; /* only the first signal counts */
	uint64_t now = vm_now_ns();
	bt->boot_ns = now - bt->vm->t_build_ns;
	if (!bt->report)
		return;
	fprintf(stderr, "ember: guest boot time %llu us (%llu us since exec)\n",
		(unsigned long long)(bt->boot_ns / NS_PER_US),
		(unsigned long long)((now - bt->vm->t_exec_ns) / NS_PER_US));
}

int boot_timer_init(struct boot_timer *bt, struct vm *vm, bool report)
{
	int ret;

	memset(bt, 0, sizeof(*bt));
	bt->vm = vm;
	bt->report = report;
	ret = bus_register(&vm->mmio, LAYOUT_BOOT_TIMER_ADDR, LAYOUT_BOOT_TIMER_SIZE, boot_timer_io,
			   bt);
	if (ret < 0)
		return ret;
	return bus_register(&vm->pio, LAYOUT_BOOT_TIMER_PORT, 1, boot_timer_io, bt);
}
