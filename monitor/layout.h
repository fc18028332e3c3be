/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layout.h: every guest-physical address and port ember uses on x86_64.
 *
 * This header is the guest ABI: the monitor places its boot structures and
 * devices here, and the freestanding guest runtime (guest-init/runtime/)
 * includes it to find them. It holds macros only, so it can be included by
 * freestanding code and by assembly after the C-only parts are skipped.
 *
 * The low placement follows Firecracker's so guests built for it find things
 * where they expect them.
 */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

/* --- Boot structures below 1 MiB ------------------------------------- */
#define LAYOUT_GDT_ADDR	       0x500ULL	 /* 4 descriptors: null, code, data, tss */
#define LAYOUT_IDT_ADDR	       0x520ULL	 /* empty IDT limit points here */
#define LAYOUT_PVH_INFO_ADDR   0x6000ULL /* struct hvm_start_info */
#define LAYOUT_PVH_MEMMAP_ADDR 0x6040ULL /* hvm_memmap_table_entry[] */
#define LAYOUT_ZERO_PAGE_ADDR  0x7000ULL /* struct boot_params */
#define LAYOUT_BOOT_STACK_TOP  0x8ff0ULL /* RSP at entry */
#define LAYOUT_PML4_ADDR       0x9000ULL
#define LAYOUT_PDPT_ADDR       0xa000ULL
#define LAYOUT_PD_ADDR	       0xb000ULL /* 4 pages: identity map of 4 GiB */
#define LAYOUT_PD_PAGES	       4ULL
#define LAYOUT_CMDLINE_ADDR    0x20000ULL
#define LAYOUT_CMDLINE_MAX     2048ULL	   /* bytes including the NUL */
#define LAYOUT_MPTABLE_ADDR    0x9fc00ULL  /* MP floating pointer + table */
#define LAYOUT_EBDA_START      0x9fc00ULL  /* start of the reserved low range */
#define LAYOUT_HIMEM_START     0x100000ULL /* 1 MiB: bzImage protected-mode code */

/* --- The MMIO gap below 4 GiB ---------------------------------------- */
#define LAYOUT_MMIO_GAP_START	 0xc0000000ULL
#define LAYOUT_MMIO_GAP_END	 0x100000000ULL /* exclusive: RAM resumes here */
#define LAYOUT_BOOT_TIMER_ADDR	 0xc0000000ULL	/* Firecracker's boot timer */
#define LAYOUT_BOOT_TIMER_SIZE	 0x1000ULL
#define LAYOUT_VIRTIO_MMIO_BASE	 0xc0001000ULL /* 4 KiB windows from here */
#define LAYOUT_VIRTIO_MMIO_SIZE	 0x1000ULL
#define LAYOUT_VIRTIO_FIRST_IRQ	 5
#define LAYOUT_GENERATION_ADDR	 0xc0100000ULL /* VM generation page, see generation.h */
#define LAYOUT_GENERATION_SIZE	 0x1000ULL
#define LAYOUT_GENERATION_MAGIC	 0x4e454745u /* "EGEN", little-endian */
#define LAYOUT_IOAPIC_ADDR	 0xfec00000ULL
#define LAYOUT_IOAPIC_SIZE	 0x1000ULL
#define LAYOUT_LAPIC_ADDR	 0xfee00000ULL
#define LAYOUT_TSS_ADDR		 0xfffbd000ULL /* KVM_SET_TSS_ADDR: 3 pages */
#define LAYOUT_IDENTITY_MAP_ADDR 0xfffbc000ULL /* KVM_SET_IDENTITY_MAP_ADDR */

/* --- Legacy I/O ports ------------------------------------------------ */
#define LAYOUT_COM1_PORT	0x3f8
#define LAYOUT_COM1_IRQ		4
#define LAYOUT_I8042_DATA_PORT	0x60
#define LAYOUT_I8042_CMD_PORT	0x64
#define LAYOUT_BOOT_TIMER_PORT	0x3f0 /* Firecracker's older boot timer */
#define LAYOUT_BOOT_TIMER_MAGIC 123   /* the byte that means "booted" */
/*
 * Exit port: a one-byte OUT of status S ends the VM and ember exits with S.
 * 0xf4 is where QEMU's isa-debug-exit usually sits, so the same guest file
 * also ends a QEMU run (there with status S * 2 + 1).
 */
#define LAYOUT_EXIT_PORT 0xf4

#endif /* EMBER_LAYOUT_H */
