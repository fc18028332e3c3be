// SPDX-License-Identifier: Apache-2.0
/* bus.c: range lookup for port I/O and MMIO exits. */
#include "bus.h"

#include <errno.h>
#include <stddef.h>

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn handler, void *opaque)
{
	if (len == 0 || base + len < base || handler == NULL)
		return -EINVAL;
	for (unsigned int i = 0; i < bus->nranges; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	if (bus->nranges == BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->nranges++] =
	    (struct bus_range){.base = base, .len = len, .handler = handler, .opaque = opaque};
	return 0;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	for (unsigned int i = 0; i < bus->nranges; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (addr < r->base || addr - r->base >= r->len)
			continue;
		r->handler(r->opaque, addr - r->base, data, len, is_write);
		return true;
	}
	return false;
}
