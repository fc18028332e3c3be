// SPDX-License-Identifier: Apache-2.0
/* bootparams.c: e820 map, Linux zero page, Xen PVH start info. */
#include "bootparams.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "layout.h"
#include "ember_err.h"

_Static_assert(LAYOUT_PVH_INFO_ADDR + sizeof(struct hvm_start_info) <= LAYOUT_PVH_MEMMAP_ADDR,
	       "start info ends before the PVH memory map");

struct e820_window {
	uint64_t start, end; /* end exclusive */
	uint32_t type;
};

/* The layout from DESIGN.md; RAM windows are clipped to gm's regions. */
static const struct e820_window windows[] = {
    {0, LAYOUT_EBDA_START, BOOTPROTO_E820_RAM},
    {LAYOUT_EBDA_START, LAYOUT_HIMEM_START, BOOTPROTO_E820_RESERVED},
    {LAYOUT_HIMEM_START, LAYOUT_MMIO_GAP_START, BOOTPROTO_E820_RAM},
    {LAYOUT_MMIO_GAP_END, UINT64_MAX, BOOTPROTO_E820_RAM},
};

struct e820_map {
	struct boot_e820_entry *e;
	unsigned int n, max;
};

static void add(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type)
{
	struct boot_e820_entry *last = m->n ? &m->e[m->n - 1] : NULL;

	if (last != NULL && last->type == type && last->addr + last->size == addr) {
		last->size += size;
		return;
	}
	if (m->n == m->max)
		return;
	m->e[m->n++] = (struct boot_e820_entry){.addr = addr, .size = size, .type = type};
}

static void add_ram(struct e820_map *m, const struct gmem *gm, const struct e820_window *w)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		uint64_t lo = r->gpa > w->start ? r->gpa : w->start;
		uint64_t hi = r->gpa + r->size < w->end ? r->gpa + r->size : w->end;

		if (lo < hi)
			add(m, lo, hi - lo, BOOTPROTO_E820_RAM);
	}
}

unsigned int bootparams_e820(const struct gmem *gm, struct boot_e820_entry *out, unsigned int max)
{
	struct e820_map m = {.e = out, .n = 0, .max = max};

	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		if (windows[i].type == BOOTPROTO_E820_RAM)
			add_ram(&m, gm, &windows[i]);
		else
			add(&m, windows[i].start, windows[i].end - windows[i].start,
			    windows[i].type);
	}
	return m.n;
}

static int check_cmdline(const struct gmem *gm, const struct kernel_info *k,
			 const struct boot_layout *bl, struct ember_err *err)
{
	const char *s;

	if (bl->cmdline_size == 0)
		return 0;
	s = gmem_ptr(gm, bl->cmdline_gpa, bl->cmdline_size);
	if (s == NULL || s[bl->cmdline_size - 1] != '\0') {
		ember_err_set(err, 0,
			      "cmdline: [0x%" PRIx64 ", +%u) is not a NUL-terminated string in RAM",
			      bl->cmdline_gpa, bl->cmdline_size);
		return -EINVAL;
	}
	if (k != NULL && k->cmdline_max != 0 && bl->cmdline_size - 1 > k->cmdline_max) {
		ember_err_set(err, 0, "cmdline: %u bytes, the kernel's cmdline_size allows %u",
			      bl->cmdline_size - 1, k->cmdline_max);
		return -E2BIG;
	}
	return 0;
}

static int check_initrd(const struct gmem *gm, const struct boot_layout *bl, struct ember_err *err)
{
	if (bl->initrd_size == 0)
		return 0;
	if (bl->initrd_size > UINT32_MAX || gmem_ptr(gm, bl->initrd_gpa, bl->initrd_size) == NULL) {
		ember_err_set(err, 0, "initrd: [0x%" PRIx64 ", +0x%" PRIx64 ") is not in guest RAM",
			      bl->initrd_gpa, bl->initrd_size);
		return -EINVAL;
	}
	return 0;
}

static void fill_header(struct boot_params *bp, const struct kernel_info *k)
{
	struct setup_header *h = &bp->hdr;

	if (k->format == KERNEL_FORMAT_BZIMAGE && k->setup_header_len <= sizeof(*h))
		memcpy(h, k->setup_header, k->setup_header_len);
	if (h->version < BOOTPROTO_MIN_VERSION)
		h->version = BOOTPROTO_MIN_VERSION;
	if (h->kernel_alignment == 0)
		h->kernel_alignment = BOOTPROTO_KERNEL_ALIGN;
	h->boot_flag = BOOTPROTO_BOOT_FLAG;
	h->header = BOOTPROTO_HDRS_MAGIC;
	h->type_of_loader = BOOTPROTO_LOADER_OTHER;
	h->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	h->heap_end_ptr = BOOTPROTO_HEAP_END_PTR;
}

static void fill_boot(struct boot_params *bp, const struct boot_layout *bl)
{
	struct setup_header *h = &bp->hdr;

	if (bl->cmdline_size != 0) {
		h->cmd_line_ptr = (uint32_t)bl->cmdline_gpa;
		bp->ext_cmd_line_ptr = (uint32_t)(bl->cmdline_gpa >> 32);
		h->cmdline_size = bl->cmdline_size - 1; /* boot.rst: without the NUL */
	}
	if (bl->initrd_size != 0) {
		h->ramdisk_image = (uint32_t)bl->initrd_gpa;
		bp->ext_ramdisk_image = (uint32_t)(bl->initrd_gpa >> 32);
		h->ramdisk_size = (uint32_t)bl->initrd_size;
		bp->ext_ramdisk_size = 0;
	}
}

int bootparams_write_zero_page(const struct gmem *gm, const struct kernel_info *k,
			       const struct boot_layout *bl, struct ember_err *err)
{
	struct boot_params bp;
	int rc;

	rc = check_cmdline(gm, k, bl, err);
	if (rc == 0)
		rc = check_initrd(gm, bl, err);
	if (rc != 0)
		return rc;
	memset(&bp, 0, sizeof(bp));
	fill_header(&bp, k);
	fill_boot(&bp, bl);
	bp.e820_entries = (uint8_t)bootparams_e820(gm, bp.e820_table, BOOTPROTO_E820_MAX);
	if (gmem_write(gm, LAYOUT_ZERO_PAGE_ADDR, &bp, sizeof(bp)) != 0) {
		ember_err_set(err, 0, "bootparams: zero page at 0x%llx is not in guest RAM",
			      LAYOUT_ZERO_PAGE_ADDR);
		return -EFAULT;
	}
	return 0;
}

/* The PVH memory map is the e820 map with 24-byte entries. */
static unsigned int pvh_memmap(const struct gmem *gm, struct hvm_memmap_table_entry *out,
			       unsigned int max)
{
	struct boot_e820_entry e[BOOTPROTO_E820_MAX];
	unsigned int n =
	    bootparams_e820(gm, e, max < BOOTPROTO_E820_MAX ? max : BOOTPROTO_E820_MAX);

	for (unsigned int i = 0; i < n; i++)
		out[i] = (struct hvm_memmap_table_entry){
		    .addr = e[i].addr, .size = e[i].size, .type = e[i].type};
	return n;
}

static int write_pvh_tables(const struct gmem *gm, const struct hvm_memmap_table_entry *map,
			    const struct hvm_start_info *si, const struct hvm_modlist_entry *mod,
			    struct ember_err *err)
{
	uint64_t map_len = (uint64_t)si->memmap_entries * sizeof(*map);

	if (gmem_write(gm, LAYOUT_PVH_INFO_ADDR, si, sizeof(*si)) != 0 ||
	    gmem_write(gm, LAYOUT_PVH_MEMMAP_ADDR, map, map_len) != 0 ||
	    (si->nr_modules && gmem_write(gm, si->modlist_paddr, mod, sizeof(*mod)) != 0)) {
		ember_err_set(err, 0, "bootparams: PVH start info at 0x%llx is not in guest RAM",
			      LAYOUT_PVH_INFO_ADDR);
		return -EFAULT;
	}
	return 0;
}

int bootparams_write_pvh(const struct gmem *gm, const struct boot_layout *bl, struct ember_err *err)
{
	struct hvm_memmap_table_entry map[BOOTPROTO_E820_MAX];
	struct hvm_start_info si = {.magic = BOOTPROTO_HVM_START_MAGIC,
				    .version = BOOTPROTO_HVM_START_VERSION,
				    .memmap_paddr = LAYOUT_PVH_MEMMAP_ADDR};
	struct hvm_modlist_entry mod = {.paddr = bl->initrd_gpa, .size = bl->initrd_size};
	uint64_t end;
	int rc;

	rc = check_cmdline(gm, NULL, bl, err);
	if (rc == 0)
		rc = check_initrd(gm, bl, err);
	if (rc != 0)
		return rc;
	si.memmap_entries = pvh_memmap(gm, map, BOOTPROTO_E820_MAX);
	si.cmdline_paddr = bl->cmdline_size ? bl->cmdline_gpa : 0;
	si.nr_modules = bl->initrd_size ? 1 : 0;
	si.modlist_paddr =
	    si.nr_modules ? LAYOUT_PVH_MEMMAP_ADDR + si.memmap_entries * sizeof(map[0]) : 0;
	end = LAYOUT_PVH_MEMMAP_ADDR + si.memmap_entries * sizeof(map[0]) +
	      si.nr_modules * sizeof(mod);
	if (end > LAYOUT_ZERO_PAGE_ADDR) {
		ember_err_set(
		    err, 0,
		    "bootparams: PVH memory map (%u entries) runs into the zero page at 0x%llx",
		    si.memmap_entries, LAYOUT_ZERO_PAGE_ADDR);
		return -E2BIG;
	}
	return write_pvh_tables(gm, map, &si, &mod, err);
}
