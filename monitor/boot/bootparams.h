/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootparams.h: the memory map and the boot information a kernel reads at
 * entry: Linux's zero page (struct boot_params) and Xen PVH's hvm_start_info.
 *
 * Memory map (both protocols): [0, LAYOUT_EBDA_START) RAM,
 * [LAYOUT_EBDA_START, 1 MiB) reserved (MP table, legacy ROM/VGA hole),
 * [1 MiB, min(RAM end, LAYOUT_MMIO_GAP_START)) RAM, and RAM from 4 GiB on
 * when the guest has more memory than fits below the gap. The MMIO gap is
 * not listed at all, as in Firecracker: Linux treats the hole as free I/O
 * space, so the virtio-mmio windows announced on the command line and the
 * IOAPIC/LAPIC pages can be claimed without clashing with a reserved range.
 */
#ifndef EMBER_BOOTPARAMS_H
#define EMBER_BOOTPARAMS_H

#include <stdint.h>

#include "bootproto.h"
#include "gmem.h"
#include "loader.h"

struct boot_layout {
	uint64_t cmdline_gpa;  /* NUL-terminated command line, already in guest memory */
	uint32_t cmdline_size; /* bytes including the NUL; 0: no command line */
	uint64_t initrd_gpa;   /* from loader_load_initrd() */
	uint64_t initrd_size;  /* 0: no initrd */
};

/*
 * bootparams_e820: build the memory map of (gm) into (out), at most (max)
 * entries, ascending, adjacent RAM merged. Returns the number of entries.
 */
unsigned int bootparams_e820(const struct gmem *gm, struct boot_e820_entry *out, unsigned int max);

/*
 * bootparams_write_zero_page: write struct boot_params at
 * LAYOUT_ZERO_PAGE_ADDR for a Linux 64-bit entry (ELF vmlinux or bzImage
 * (k)): the bzImage's own setup header first, then type_of_loader, loadflags,
 * command line, initrd and the e820 map. Call after the kernel, initrd and
 * command line are in guest memory. Returns 0, -EINVAL (command line or
 * initrd not in RAM / not NUL-terminated), -E2BIG (command line longer than
 * the kernel's cmdline_size) or -EFAULT (no RAM at the zero page), (err)
 * saying which.
 */
int bootparams_write_zero_page(const struct gmem *gm, const struct kernel_info *k,
			       const struct boot_layout *bl, struct ember_err *err);

/*
 * bootparams_write_pvh: write struct hvm_start_info (version 1) at
 * LAYOUT_PVH_INFO_ADDR, the memory map at LAYOUT_PVH_MEMMAP_ADDR and, when
 * (bl) has an initrd, one hvm_modlist_entry right after the map. EBX at the
 * PVH entry must hold LAYOUT_PVH_INFO_ADDR. Returns 0, -EINVAL, -E2BIG (the
 * map does not fit below LAYOUT_ZERO_PAGE_ADDR) or -EFAULT, (err) saying which.
 */
int bootparams_write_pvh(const struct gmem *gm, const struct boot_layout *bl,
			 struct ember_err *err);

#endif /* EMBER_BOOTPARAMS_H */
