// SPDX-License-Identifier: Apache-2.0
/* loader.c: kernel format detection, range checks, initrd placement. */
#include "loader.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "layout.h"
#include "ember_err.h"

#define PAGE_SIZE 0x1000ULL

/* The end of the RAM region holding (gpa), or 0 when there is none. */
static uint64_t region_end(const struct gmem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}

int loader_check_range(const struct gmem *gm, const char *what, uint64_t gpa, uint64_t size,
		       struct ember_err *err)
{
	uint64_t end;

	if (size > UINT64_MAX - gpa) {
		ember_err_set(err, 0, "kernel: %s: 0x%" PRIx64 " + 0x%" PRIx64 " wraps around",
			      what, gpa, size);
		return -EINVAL;
	}
	if (gpa < LAYOUT_HIMEM_START) {
		ember_err_set(err, 0,
			      "kernel: %s: 0x%" PRIx64 " is below 0x%llx, over the boot structures",
			      what, gpa, LAYOUT_HIMEM_START);
		return -EINVAL;
	}
	if (gpa >= LAYOUT_MMIO_GAP_START && gpa < LAYOUT_MMIO_GAP_END) {
		ember_err_set(err, 0,
			      "kernel: %s: 0x%" PRIx64 " is in the MMIO gap [0x%llx, 0x%llx)", what,
			      gpa, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END);
		return -EINVAL;
	}
	if (gpa < LAYOUT_MMIO_GAP_START && gpa + size > LAYOUT_MMIO_GAP_START) {
		ember_err_set(err, 0,
			      "kernel: %s: [0x%" PRIx64 ", 0x%" PRIx64
			      ") runs into the MMIO gap at 0x%llx",
			      what, gpa, gpa + size, LAYOUT_MMIO_GAP_START);
		return -E2BIG;
	}
	end = region_end(gm, gpa);
	if (end == 0) {
		ember_err_set(err, 0,
			      "kernel: %s: no guest RAM at 0x%" PRIx64 " (--mem too small?)", what,
			      gpa);
		return -E2BIG;
	}
	if (size > end - gpa || gmem_ptr(gm, gpa, size) == NULL) {
		ember_err_set(err, 0,
			      "kernel: %s: [0x%" PRIx64 ", 0x%" PRIx64
			      ") runs past the end of its RAM at 0x%" PRIx64,
			      what, gpa, gpa + size, end);
		return -E2BIG;
	}
	return 0;
}

int loader_load_kernel(const struct gmem *gm, const uint8_t *image, size_t size,
		       enum boot_entry_pref pref, enum load_ram ram, struct kernel_info *out,
		       struct ember_err *err)
{
	memset(out, 0, sizeof(*out));
	if (image == NULL ||
	    (pref != BOOT_ENTRY_AUTO && pref != BOOT_ENTRY_LINUX64 && pref != BOOT_ENTRY_PVH)) {
		ember_err_set(err, 0, "kernel: invalid arguments");
		return -EINVAL;
	}
	if (load_elf_probe(image, size))
		return load_elf_image(gm, image, size, pref, ram, out, err);
	if (load_bzimage_probe(image, size))
		return load_bzimage_image(gm, image, size, pref, out, err);
	ember_err_set(err, 0, "kernel: not an ELF or bzImage");
	return -ENOEXEC;
}

/*
 * The highest RAM below the MMIO gap: the last region starting below it,
 * clipped at the gap. The gap starts below 4 GiB, so this also keeps the
 * initrd addressable by the 32-bit ramdisk_image field.
 */
static int initrd_window(const struct gmem *gm, uint64_t *base, uint64_t *top)
{
	int found = 0;

	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		uint64_t end = r->gpa + r->size;

		if (r->gpa >= LAYOUT_MMIO_GAP_START)
			continue;
		*base = r->gpa;
		*top = end < LAYOUT_MMIO_GAP_START ? end : LAYOUT_MMIO_GAP_START;
		found = 1;
	}
	return found;
}

int loader_load_initrd(const struct gmem *gm, const struct kernel_info *k, const uint8_t *initrd,
		       size_t size, uint64_t *gpa_out, struct ember_err *err)
{
	uint64_t base = 0, top = 0, floor, gpa;

	if (initrd == NULL || size == 0) {
		ember_err_set(err, 0, "initrd: empty");
		return -EINVAL;
	}
	if (!initrd_window(gm, &base, &top)) {
		ember_err_set(err, 0, "initrd: no RAM below the MMIO gap");
		return -E2BIG;
	}
	if (k->initrd_addr_max != 0 && top > (uint64_t)k->initrd_addr_max + 1)
		top = (uint64_t)k->initrd_addr_max + 1;
	floor = k->load_end > LAYOUT_HIMEM_START ? k->load_end : LAYOUT_HIMEM_START;
	if (base > floor)
		floor = base;
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < floor) {
		ember_err_set(err, 0,
			      "initrd: %zu bytes do not fit between 0x%" PRIx64
			      " (end of the kernel) and 0x%" PRIx64
			      " (top of RAM below the MMIO gap%s)",
			      size, floor, top, k->initrd_addr_max ? " or initrd_addr_max" : "");
		return -E2BIG;
	}
	gpa = (top - size) & ~(PAGE_SIZE - 1);
	if (gmem_write(gm, gpa, initrd, size) != 0) {
		ember_err_set(err, 0, "initrd: [0x%" PRIx64 ", +0x%zx) is not guest RAM", gpa,
			      size);
		return -E2BIG;
	}
	*gpa_out = gpa;
	return 0;
}
