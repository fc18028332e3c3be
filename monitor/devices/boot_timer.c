// SPDX-License-Identifier: Apache-2.0
/* boot_timer.c: the "guest has booted" signal and its report. */
#include "boot_timer.h"

#include <string.h>

#include "dev_state.h"
#include "layout.h"
#include "log.h"
#include "metrics.h"
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
	uint64_t boot_us = (now - bt->vm->t_build_ns) / NS_PER_US;
	uint64_t exec_us = (now - bt->vm->t_exec_ns) / NS_PER_US;
	bt->boot_ns = now - bt->vm->t_build_ns;
	if (bt->vm->metrics != NULL) {
		bt->vm->metrics->store.guest_boot_time_us = boot_us;
		bt->vm->metrics->store.boot_time_since_exec_us = exec_us;
	}
	if (bt->report)
		log_report("guest boot time %llu us (%llu us since exec)",
			   (unsigned long long)boot_us, (unsigned long long)exec_us);
	if (bt->on_ready != NULL)
		bt->on_ready(bt->on_ready_ctx);
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

void boot_timer_save_state(const struct boot_timer *bt, struct boot_timer_state *st)
{
	memset(st, 0, sizeof(*st));
	st->fired = __atomic_load_n(&bt->fired, __ATOMIC_SEQ_CST);
	if (st->fired)
		st->boot_ns = bt->boot_ns;
}

int boot_timer_load_state(struct boot_timer *bt, const struct boot_timer_state *st, char *err,
			  size_t errsz)
{
	if (st->fired > 1)
		return dev_state_reject(err, errsz, "boot_timer: fired %u is not 0 or 1",
					st->fired);
	if (!st->fired && st->boot_ns != 0)
		return dev_state_reject(err, errsz, "boot_timer: boot_ns %llu without fired",
					(unsigned long long)st->boot_ns);
	if (!dev_state_zero(st->pad, sizeof(st->pad)))
		return dev_state_reject(err, errsz, "boot_timer: pad is not zero");
	bt->boot_ns = st->boot_ns;
	__atomic_store_n(&bt->fired, st->fired != 0, __ATOMIC_SEQ_CST);
	return 0;
}
