/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootproto.h: the boot protocol layouts ember writes and parses.
 *
 * Linux's zero page (struct boot_params, struct setup_header) comes from the
 * UAPI header <asm/bootparam.h>; the offsets ember relies on are pinned below
 * against Documentation/arch/x86/boot.rst so a header change breaks the build
 * rather than a guest. The Xen PVH start info is not in the UAPI headers, so
 * it is declared here from xen/include/public/arch-x86/hvm/start_info.h.
 */
#ifndef EMBER_BOOTPROTO_H
#define EMBER_BOOTPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

/* --- Linux x86 boot protocol (boot.rst) ------------------------------- */
#define BOOTPROTO_SETUP_HDR_OFF	      0x1f1 /* struct setup_header in the image and zero page */
#define BOOTPROTO_BOOT_FLAG_OFF	      0x1fe /* u16 0xAA55 */
#define BOOTPROTO_JUMP_OFF	      0x200 /* 2-byte jump; byte 0x201 gives the header end */
#define BOOTPROTO_HDRS_OFF	      0x202 /* "HdrS" */
#define BOOTPROTO_BOOT_FLAG	      0xaa55
#define BOOTPROTO_HDRS_MAGIC	      0x53726448U /* "HdrS" little endian */
#define BOOTPROTO_LOADER_OTHER	      0xff	  /* type_of_loader: undefined boot loader */
#define BOOTPROTO_SECTOR	      512
#define BOOTPROTO_DEFAULT_SETUP_SECTS 4		 /* setup_sects 0 means 4 */
#define BOOTPROTO_ENTRY64_OFFSET      0x200	 /* 64-bit entry: load address + 0x200 */
#define BOOTPROTO_MIN_VERSION	      0x020c	 /* 2.12: the first with xloadflags */
#define BOOTPROTO_HEAP_END_PTR	      0xde00	 /* 0xe000 - 0x200, boot.rst's example */
#define BOOTPROTO_KERNEL_ALIGN	      0x1000000U /* 16 MiB, what a synthesised header says */
#define BOOTPROTO_E820_MAX	      128	 /* E820_MAX_ENTRIES_ZEROPAGE */
#define BOOTPROTO_E820_RAM	      1
#define BOOTPROTO_E820_RESERVED	      2

_Static_assert(sizeof(struct boot_params) == 4096, "boot_params is one page");
_Static_assert(sizeof(struct boot_e820_entry) == 20, "e820 entry is packed");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "boot.rst");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_size) == 0x0c4, "boot.rst");
_Static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "boot.rst");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "boot.rst");
_Static_assert(offsetof(struct boot_params, sentinel) == 0x1ef, "boot.rst");
_Static_assert(offsetof(struct boot_params, hdr) == BOOTPROTO_SETUP_HDR_OFF, "boot.rst");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "boot.rst");
#define BOOTPROTO_HDR(field) (BOOTPROTO_SETUP_HDR_OFF + offsetof(struct setup_header, field))
_Static_assert(BOOTPROTO_HDR(setup_sects) == 0x1f1, "boot.rst");
_Static_assert(BOOTPROTO_HDR(boot_flag) == 0x1fe, "boot.rst");
_Static_assert(BOOTPROTO_HDR(header) == 0x202, "boot.rst");
_Static_assert(BOOTPROTO_HDR(version) == 0x206, "boot.rst");
_Static_assert(BOOTPROTO_HDR(type_of_loader) == 0x210, "boot.rst");
_Static_assert(BOOTPROTO_HDR(loadflags) == 0x211, "boot.rst");
_Static_assert(BOOTPROTO_HDR(ramdisk_image) == 0x218, "boot.rst");
_Static_assert(BOOTPROTO_HDR(ramdisk_size) == 0x21c, "boot.rst");
_Static_assert(BOOTPROTO_HDR(heap_end_ptr) == 0x224, "boot.rst");
_Static_assert(BOOTPROTO_HDR(cmd_line_ptr) == 0x228, "boot.rst");
_Static_assert(BOOTPROTO_HDR(initrd_addr_max) == 0x22c, "boot.rst");
_Static_assert(BOOTPROTO_HDR(kernel_alignment) == 0x230, "boot.rst");
_Static_assert(BOOTPROTO_HDR(xloadflags) == 0x236, "boot.rst");
_Static_assert(BOOTPROTO_HDR(cmdline_size) == 0x238, "boot.rst");
_Static_assert(BOOTPROTO_HDR(pref_address) == 0x258, "boot.rst");
_Static_assert(BOOTPROTO_HDR(init_size) == 0x260, "boot.rst");
/* The setup header ends after kernel_info_offset (0x268, protocol 2.15). */
#define BOOTPROTO_SETUP_HDR_END (BOOTPROTO_SETUP_HDR_OFF + sizeof(struct setup_header))
_Static_assert(BOOTPROTO_SETUP_HDR_END == 0x26c, "boot.rst");

/* --- Xen PVH (start_info.h, elfnote.h) -------------------------------- */
#define BOOTPROTO_XEN_ELFNOTE_PHYS32_ENTRY 18
#define BOOTPROTO_HVM_START_MAGIC	   0x336ec578U
#define BOOTPROTO_HVM_START_VERSION	   1 /* version 1 adds the memory map */

struct hvm_start_info {
	uint32_t magic;		/* BOOTPROTO_HVM_START_MAGIC */
	uint32_t version;	/* 1 */
	uint32_t flags;		/* SIF_xxx, 0 */
	uint32_t nr_modules;	/* entries at modlist_paddr */
	uint64_t modlist_paddr; /* struct hvm_modlist_entry[] */
	uint64_t cmdline_paddr; /* NUL-terminated, 0 if none */
	uint64_t rsdp_paddr;	/* ACPI RSDP, 0: none */
	uint64_t memmap_paddr;	/* struct hvm_memmap_table_entry[] */
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* the e820 types: 1 RAM, 2 reserved */
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct hvm_start_info) == 0x38, "start_info.h");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 0x10, "start_info.h");
_Static_assert(offsetof(struct hvm_start_info, cmdline_paddr) == 0x18, "start_info.h");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 0x28, "start_info.h");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 0x30, "start_info.h");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "start_info.h");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "start_info.h");

#endif /* EMBER_BOOTPROTO_H */
