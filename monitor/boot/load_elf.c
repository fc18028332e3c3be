// SPDX-License-Identifier: Apache-2.0
/* load_elf.c: ELF64 x86_64 kernels (vmlinux, freestanding guests) at p_paddr. */
#include "loader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ember_err.h"

/* A vmlinux has about 5 program headers; anything past this is not a kernel. */
#define ELF_MAX_PHNUM 64

struct elf {
	const uint8_t *image;
	size_t size;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHNUM];
	unsigned int phnum;
	struct ember_err *err; /* a failure's reason */
};

bool load_elf_probe(const uint8_t *image, size_t size)
{
	return size >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) == 0;
}

static int check_ident(const Elf64_Ehdr *eh, struct ember_err *err)
{
	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		ember_err_set(err, 0,
			      "kernel: ELF e_ident[EI_CLASS]: %u is not ELFCLASS64 (a 32-bit ELF?)",
			      eh->e_ident[EI_CLASS]);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		ember_err_set(err, 0, "kernel: ELF e_ident[EI_DATA]: %u is not little endian",
			      eh->e_ident[EI_DATA]);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
		ember_err_set(err, 0, "kernel: ELF e_version: %u is not EV_CURRENT", eh->e_version);
		return -EINVAL;
	}
	if (eh->e_machine != EM_X86_64) {
		ember_err_set(err, 0, "kernel: ELF e_machine: %u is not EM_X86_64", eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		ember_err_set(err, 0, "kernel: ELF e_type: %u is not ET_EXEC", eh->e_type);
		return -ENOEXEC;
	}
	return 0;
}

static int read_headers(struct elf *elf)
{
	const Elf64_Ehdr *eh = &elf->eh;
	struct ember_err *err = elf->err;
	int rc;

	if (elf->size < sizeof(Elf64_Ehdr)) {
		ember_err_set(err, 0, "kernel: ELF header: truncated (%zu bytes)", elf->size);
		return -EINVAL;
	}
	memcpy(&elf->eh, elf->image, sizeof(elf->eh));
	rc = check_ident(eh, err);
	if (rc != 0)
		return rc;
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		ember_err_set(err, 0, "kernel: ELF e_phentsize: %u, expected %zu", eh->e_phentsize,
			      sizeof(Elf64_Phdr));
		return -EINVAL;
	}
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM) {
		ember_err_set(err, 0, "kernel: ELF e_phnum: %u, expected 1..%u", eh->e_phnum,
			      ELF_MAX_PHNUM);
		return -EINVAL;
	}
	if (eh->e_phoff > elf->size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > elf->size - eh->e_phoff) {
		ember_err_set(
		    err, 0, "kernel: ELF e_phoff: 0x%" PRIx64 " + %u headers is past the end (%zu)",
		    eh->e_phoff, eh->e_phnum, elf->size);
		return -EINVAL;
	}
	elf->phnum = eh->e_phnum;
	memcpy(elf->ph, elf->image + eh->e_phoff, elf->phnum * sizeof(Elf64_Phdr));
	return 0;
}

static int check_file_range(const struct elf *elf, unsigned int i)
{
	struct ember_err *err = elf->err;
	const Elf64_Phdr *ph = &elf->ph[i];

	if (ph->p_offset > elf->size || ph->p_filesz > elf->size - ph->p_offset) {
		ember_err_set(err, 0,
			      "kernel: ELF phdr[%u] p_offset: 0x%" PRIx64 " + p_filesz 0x%" PRIx64
			      " is past the end of the file (%zu bytes)",
			      i, ph->p_offset, ph->p_filesz, elf->size);
		return -EINVAL;
	}
	return 0;
}

static int overlaps_earlier(const struct elf *elf, unsigned int i)
{
	struct ember_err *err = elf->err;
	const Elf64_Phdr *a = &elf->ph[i];

	for (unsigned int j = 0; j < i; j++) {
		const Elf64_Phdr *b = &elf->ph[j];

		if (b->p_type != PT_LOAD || b->p_memsz == 0)
			continue;
		if (a->p_paddr < b->p_paddr + b->p_memsz && b->p_paddr < a->p_paddr + a->p_memsz) {
			ember_err_set(err, 0,
				      "kernel: ELF phdr[%u] p_paddr: 0x%" PRIx64
				      " overlaps phdr[%u] at 0x%" PRIx64,
				      i, a->p_paddr, j, b->p_paddr);
			return 1;
		}
	}
	return 0;
}

static int check_load(const struct gmem *gm, const struct elf *elf, unsigned int i)
{
	struct ember_err *err = elf->err;
	const Elf64_Phdr *ph = &elf->ph[i];
	char what[32];
	int rc;

	rc = check_file_range(elf, i);
	if (rc != 0)
		return rc;
	if (ph->p_filesz > ph->p_memsz) {
		ember_err_set(err, 0,
			      "kernel: ELF phdr[%u] p_memsz: 0x%" PRIx64 " < p_filesz 0x%" PRIx64,
			      i, ph->p_memsz, ph->p_filesz);
		return -EINVAL;
	}
	if (ph->p_memsz == 0)
		return 0;
	(void)snprintf(what, sizeof(what), "ELF phdr[%u] p_paddr", i);
	rc = loader_check_range(gm, what, ph->p_paddr, ph->p_memsz, err);
	if (rc != 0)
		return rc;
	return overlaps_earlier(elf, i) ? -EINVAL : 0;
}

/* Validate every segment before anything is written; fill load_start/end. */
static int check_segments(const struct gmem *gm, const struct elf *elf, struct kernel_info *out)
{
	struct ember_err *err = elf->err;
	unsigned int nload = 0;
	int rc;

	out->load_start = UINT64_MAX;
	for (unsigned int i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->ph[i];

		if (ph->p_type == PT_NOTE) {
			rc = check_file_range(elf, i);
			if (rc != 0)
				return rc;
		}
		if (ph->p_type != PT_LOAD)
			continue;
		rc = check_load(gm, elf, i);
		if (rc != 0)
			return rc;
		if (ph->p_memsz == 0)
			continue;
		nload++;
		if (ph->p_paddr < out->load_start)
			out->load_start = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > out->load_end)
			out->load_end = ph->p_paddr + ph->p_memsz;
	}
	if (nload == 0) {
		ember_err_set(err, 0, "kernel: ELF: no PT_LOAD segment with p_memsz > 0");
		return -EINVAL;
	}
	return 0;
}

static bool in_loaded(const struct elf *elf, uint64_t gpa)
{
	for (unsigned int i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->ph[i];

		if (ph->p_type == PT_LOAD && gpa >= ph->p_paddr && gpa - ph->p_paddr < ph->p_memsz)
			return true;
	}
	return false;
}

static int choose_entry(const struct elf *elf, enum boot_entry_pref pref, struct kernel_info *out)
{
	struct ember_err *err = elf->err;
	uint64_t pvh = 0;
	int found = 0;

	if (pref != BOOT_ENTRY_LINUX64) {
		found = load_pvh_entry(elf->image, elf->size, elf->ph, elf->phnum, &pvh, err);
		if (found < 0)
			return found;
	}
	if (pref == BOOT_ENTRY_PVH && !found) {
		ember_err_set(
		    err, 0,
		    "kernel: PVH boot requested but the ELF has no XEN_ELFNOTE_PHYS32_ENTRY");
		return -EINVAL;
	}
	out->format = found ? KERNEL_FORMAT_PVH : KERNEL_FORMAT_ELF;
	out->entry = found ? pvh : elf->eh.e_entry;
	if (!in_loaded(elf, out->entry)) {
		ember_err_set(err, 0,
			      "kernel: ELF %s: 0x%" PRIx64 " is outside the loaded segments",
			      found ? "PVH entry note" : "e_entry", out->entry);
		return -EINVAL;
	}
	return 0;
}

static int copy_segments(const struct gmem *gm, const struct elf *elf, enum load_ram ram)
{
	for (unsigned int i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->ph[i];
		uint8_t *dst;

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		dst = gmem_ptr(gm, ph->p_paddr, ph->p_memsz);
		if (dst == NULL) { /* checked above; guards against a change in between */
			ember_err_set(elf->err, 0, "kernel: ELF phdr[%u]: not in guest RAM", i);
			return -EFAULT;
		}
		memcpy(dst, elf->image + ph->p_offset, ph->p_filesz);
		if (ram != LOAD_RAM_ZEROED)
			memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
	return 0;
}

int load_elf_image(const struct gmem *gm, const uint8_t *image, size_t size,
		   enum boot_entry_pref pref, enum load_ram ram, struct kernel_info *out,
		   struct ember_err *err)
{
	struct elf elf = {.image = image, .size = size, .err = err};
	int rc;

	rc = read_headers(&elf);
	if (rc == 0)
		rc = check_segments(gm, &elf, out);
	if (rc == 0)
		rc = choose_entry(&elf, pref, out);
	if (rc == 0)
		rc = copy_segments(gm, &elf, ram);
	return rc;
}
