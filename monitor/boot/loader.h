/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.h: put a kernel and an initrd into guest memory.
 *
 * Pure functions over a gmem: no KVM. The image is hostile input: every
 * header field is checked before it is used, and every write goes through
 * gmem, so a corrupt image gets an error naming the field, never a crash.
 * loader.c detects the format and places the initrd; load_elf.c,
 * load_pvh.c and load_bzimage.c hold one format each.
 */
#ifndef EMBER_LOADER_H
#define EMBER_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elf.h>

#include "ember_err.h"
#include "gmem.h"

enum kernel_format { KERNEL_FORMAT_ELF, KERNEL_FORMAT_PVH, KERNEL_FORMAT_BZIMAGE };
enum boot_entry_pref { BOOT_ENTRY_AUTO, BOOT_ENTRY_LINUX64, BOOT_ENTRY_PVH };

/* bytes 0x1f1 .. 0x26c of a bzImage: struct setup_header up to protocol 2.15 */
#define LOADER_SETUP_HEADER_MAX 0x7b

struct kernel_info {
	enum kernel_format format; /* how it will be entered */
	uint64_t entry;		   /* gpa: 64-bit entry (ELF, bzImage) or 32-bit PVH entry */
	uint64_t load_start;	   /* gpa range the image occupies, end exclusive; */
	uint64_t load_end;	   /* for a bzImage it includes init_size (decompression) */
	uint8_t setup_header[LOADER_SETUP_HEADER_MAX]; /* bzImage: image bytes 0x1f1.. */
	size_t setup_header_len;		       /* 0 unless bzImage */
	uint32_t initrd_addr_max; /* bzImage: highest byte the initrd may use; 0: no limit */
	/* bzImage: command line limit without the NUL, at most LAYOUT_CMDLINE_MAX - 1; 0: none */
	uint32_t cmdline_max;
};

/* What guest RAM holds when the kernel is loaded. */
enum load_ram {
	LOAD_RAM_DIRTY,	 /* anything: zero what the image asks to be zero */
	LOAD_RAM_ZEROED, /* freshly mapped anonymous memory: already zero */
};

/*
 * loader_load_kernel: validate (image, size) and copy it into guest memory
 * (gm), filling (out).
 * ELF64 x86_64 ET_EXEC: PT_LOAD segments at p_paddr; memsz beyond filesz is
 * zeroed unless (ram) is LOAD_RAM_ZEROED, the caller's promise that guest RAM
 * is fresh (all zero) — which saves touching, and so faulting in, every page
 * of a large bss at boot. With (pref) BOOT_ENTRY_AUTO an ELF with a XEN_ELFNOTE_PHYS32_ENTRY
 * note boots via PVH, otherwise via e_entry in 64-bit mode; LINUX64 and PVH
 * force the choice (PVH without the note is an error).
 * bzImage (boot protocol >= 2.12 with XLF_KERNEL_64): protected-mode code at
 * LAYOUT_HIMEM_START, entry at LAYOUT_HIMEM_START + 0x200; PVH is refused.
 * Everything must lie in RAM at or above LAYOUT_HIMEM_START and outside the
 * MMIO gap. Nothing is written to guest memory unless the whole image checks.
 * Returns 0, -ENOEXEC (not a format ember boots), -EINVAL (a bad field) or
 * -E2BIG (does not fit in RAM), with the reason in (err) as "kernel: ...".
 */
int loader_load_kernel(const struct gmem *gm, const uint8_t *image, size_t size,
		       enum boot_entry_pref pref, enum load_ram ram, struct kernel_info *out,
		       struct ember_err *err);

/*
 * loader_load_initrd: copy (initrd, size) page aligned to the top of the
 * highest RAM below the MMIO gap, lowered to the kernel's initrd_addr_max
 * when (k) has one, above the kernel's load_end. Must be called after
 * loader_load_kernel() filled (k). Stores the gpa in (*gpa_out).
 * Returns 0, -EINVAL (empty) or -E2BIG (does not fit), (err) saying "initrd: ...".
 */
int loader_load_initrd(const struct gmem *gm, const struct kernel_info *k, const uint8_t *initrd,
		       size_t size, uint64_t *gpa_out, struct ember_err *err);

/* ---- shared by the format files; not for callers outside the loader ---- */

/*
 * loader_check_range: check that (what) at [gpa, gpa + size) is loadable: no
 * wrap-around, not below LAYOUT_HIMEM_START, not in the MMIO gap, inside one
 * RAM region. Returns 0, -EINVAL or -E2BIG, (err) saying why.
 */
int loader_check_range(const struct gmem *gm, const char *what, uint64_t gpa, uint64_t size,
		       struct ember_err *err);

/* load_elf.c: (image) starts with the ELF magic. */
bool load_elf_probe(const uint8_t *image, size_t size);
/* load_elf.c: load an ELF image; same contract as loader_load_kernel(). */
int load_elf_image(const struct gmem *gm, const uint8_t *image, size_t size,
		   enum boot_entry_pref pref, enum load_ram ram, struct kernel_info *out,
		   struct ember_err *err);

/*
 * load_pvh.c: look through the PT_NOTE segments of (phdrs, phnum), already
 * checked to lie in the ELF header table, for XEN_ELFNOTE_PHYS32_ENTRY.
 * Returns 1 with (*entry) set, 0 when there is none, -EINVAL (with (err))
 * when a note is malformed.
 */
int load_pvh_entry(const uint8_t *image, size_t size, const Elf64_Phdr *phdrs, unsigned int phnum,
		   uint64_t *entry, struct ember_err *err);

/* load_bzimage.c: (image) carries boot_flag 0xAA55 and "HdrS". */
bool load_bzimage_probe(const uint8_t *image, size_t size);
/* load_bzimage.c: load a bzImage; same contract as loader_load_kernel(). */
int load_bzimage_image(const struct gmem *gm, const uint8_t *image, size_t size,
		       enum boot_entry_pref pref, struct kernel_info *out, struct ember_err *err);

#endif /* EMBER_LOADER_H */
