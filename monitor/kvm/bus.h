/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus.h: address ranges -> device handlers, one bus for port I/O and one for
 * MMIO. A vCPU exit is dispatched by looking up the range that holds the
 * address. Registration happens while the VM is built, before any vCPU runs,
 * so lookups need no lock.
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 32

/*
 * bus_io_fn: one access of (len) bytes at (offset) from the range base.
 * On a read the handler fills (data); on a write it consumes it.
 */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn handler;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned int nranges;
};

/*
 * bus_register: claim [base, base + len) for (handler, opaque).
 * Returns 0, -EINVAL (empty or wrapping range), -EEXIST (overlap), -ENOSPC.
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn handler, void *opaque);

/*
 * bus_access: dispatch one access. Returns true when a device claimed it;
 * false leaves (data) untouched so the caller decides what an unclaimed
 * access does.
 */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif /* EMBER_BUS_H */
