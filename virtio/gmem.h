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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4
/* The unit of dirty tracking, KVM's dirty-log page. */
#define GMEM_PAGE_BYTES 4096u
/* Bits in one word of a dirty bitmap (KVM's layout: bit n of word w is page 64w + n). */
#define GMEM_BITS_PER_WORD 64u

struct gmem_region {
	uint64_t gpa;	 /* guest-physical start */
	uint64_t size;	 /* bytes */
	uint8_t *host;	 /* host address of gpa */
	uint64_t *dirty; /* a bit per page the VMM wrote, or NULL: see gmem_track_dirty */
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

/*
 * Dirty tracking of the VMM's own writes. KVM's dirty log sees what the
 * guest's vCPUs write; the devices write guest RAM through host pointers,
 * which KVM never sees, so they mark what they write here (queue.c marks
 * every writable buffer it hands a device and the used ring). A diff
 * snapshot writes the union of the two.
 *
 * gmem_track_dirty: give every region a bitmap, all pages dirty when
 * (all_dirty) (a booted VM: no earlier snapshot holds any page) or none (a
 * restored VM: its memory file holds every page). 0 or -ENOMEM.
 * gmem_untrack_dirty: free the bitmaps.
 */
int gmem_track_dirty(struct gmem *gm, bool all_dirty);
void gmem_untrack_dirty(struct gmem *gm);

/* gmem_dirty_words: words of a bitmap for region (r), pages rounded up. */
size_t gmem_dirty_words(const struct gmem_region *r);

/*
 * gmem_mark_dirty: the VMM wrote, or may write, [gpa, gpa + len). Nothing
 * when not tracking or outside RAM (gmem_ptr refused the range already).
 * Any thread: the bits are set atomically.
 */
void gmem_mark_dirty(const struct gmem *gm, uint64_t gpa, uint64_t len);

/*
 * gmem_take_dirty: OR region (index)'s VMM bitmap into (out) (of
 * gmem_dirty_words words) and clear it. gmem_give_dirty puts (bits) back,
 * for a snapshot that failed after taking them.
 */
void gmem_take_dirty(const struct gmem *gm, unsigned int index, uint64_t *out);
void gmem_give_dirty(const struct gmem *gm, unsigned int index, const uint64_t *bits);

/* gmem_ram_end: one past the highest RAM address (0 when empty). */
uint64_t gmem_ram_end(const struct gmem *gm);

/* gmem_ram_size: total bytes of RAM in all regions. */
uint64_t gmem_ram_size(const struct gmem *gm);

#endif /* EMBER_GMEM_H */
