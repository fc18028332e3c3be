// SPDX-License-Identifier: Apache-2.0
/* exit_port.c: the guest's exit status, straight to ember's. */
#include "exit_port.h"

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "log.h"
#include "vm.h"

static void exit_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	(void)offset;
	(void)len;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	log_info("exit port: guest exit status %u", data[0]);
	vm_request_stop(vm, data[0]);
}

int exit_port_init(struct vm *vm)
{
	return bus_register(&vm->pio, LAYOUT_EXIT_PORT, 1, exit_port_io, vm);
}
