/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gmem.h: a view of guest-physical memory as a few host-mapped regions.
 *
 * The only place where a guest-physical address becomes a host pointer.
 * Every lookup checks that the whole range [gpa, gpa + len) lies inside one
 * RAM region; anything that crosses a region edge, wraps around, or touches
 * the MMIO gap is refused. No KVM dependency: unit tests build a gmem over a
 * malloc'd buffer.
 */
#ifndef EMBER_GMEM_H
#define EMBER_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4

struct gmem_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size; /* bytes */
	uint8_t *host; /* host address of gpa */
};

struct gmem {
	struct gmem_region regions[GMEM_MAX_REGIONS];
	unsigned int nregions;
};

/*
 * gmem_add_region: append a RAM region (gpa, size) backed at (host).
 * Regions must not overlap and must be added in ascending gpa order.
 * Returns 0, or -EINVAL (overlap, order, zero size, overflow) / -ENOSPC.
 */
int gmem_add_region(struct gmem *gm, uint64_t gpa, uint64_t size, void *host);

/*
 * gmem_ptr: host pointer for guest range [gpa, gpa + len), or NULL when any
 * byte of it is outside a single RAM region (errno is then EFAULT).
 * len 0 is allowed and checks gpa only.
 */
void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* gmem_read / gmem_write: copy (len) bytes; 0 or -EFAULT. */
int gmem_read(const struct gmem *gm, void *dst, uint64_t gpa, uint64_t len);
int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, uint64_t len);

/* gmem_ram_end: one past the highest RAM address (0 when empty). */
uint64_t gmem_ram_end(const struct gmem *gm);

/* gmem_ram_size: total bytes of RAM in all regions. */
uint64_t gmem_ram_size(const struct gmem *gm);

#endif /* EMBER_GMEM_H */
