/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkbzimage.c: host tool that wraps a runtime guest ELF into bzImage form.
 *
 * Usage: mkbzimage [--no64] guest.elf out.bzImage
 *
 * The ELF must be linked at 1 MiB with its 64-bit entry at 0x100200
 * (guest-init/runtime/guest.ld does this). The output is a boot sector and
 * one setup sector holding the Linux x86 setup header
 * (Documentation/arch/x86/boot.rst, protocol 2.12), followed by the flat
 * image of the PT_LOAD segments: the protected-mode part, whose first byte
 * loads at 0x100000 and whose 64-bit entry is at +0x200. --no64 clears
 * XLF_KERNEL_64 so a monitor that needs the 64-bit entry must refuse it.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_ADDR   0x100000ULL
#define ENTRY64_OFF 0x200
#define SETUP_SECTS 1
#define SECTOR	    512

#define LOADED_HIGH   0x01
#define XLF_KERNEL_64 0x0001

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	fclose(f);
	*len = (size_t)n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/* Flatten the PT_LOAD segments of (elf); sets the file and memory sizes. */
static uint8_t *flatten(const uint8_t *elf, size_t len, size_t *file_size, uint64_t *mem_size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	uint64_t file_end = LOAD_ADDR, mem_end = LOAD_ADDR;
	uint8_t *img;
	int i;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len) {
		fprintf(stderr, "mkbzimage: not a 64-bit x86 ELF\n");
		return NULL;
	}
	if (eh->e_entry != LOAD_ADDR + ENTRY64_OFF) {
		fprintf(stderr, "mkbzimage: entry 0x%llx is not 0x%llx\n",
			(unsigned long long)eh->e_entry, LOAD_ADDR + ENTRY64_OFF);
		return NULL;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_paddr < LOAD_ADDR || ph->p_offset + ph->p_filesz > len ||
		    ph->p_memsz < ph->p_filesz || ph->p_paddr + ph->p_memsz > 0x40000000) {
			fprintf(stderr, "mkbzimage: bad PT_LOAD %d\n", i);
			return NULL;
		}
		if (ph->p_paddr + ph->p_filesz > file_end)
			file_end = ph->p_paddr + ph->p_filesz;
		if (ph->p_paddr + ph->p_memsz > mem_end)
			mem_end = ph->p_paddr + ph->p_memsz;
	}
	*file_size = (size_t)(file_end - LOAD_ADDR);
	*mem_size = mem_end - LOAD_ADDR;
	img = calloc(1, *file_size ? *file_size : 1);
	if (img == NULL)
		return NULL;
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD)
			memcpy(img + (ph->p_paddr - LOAD_ADDR), elf + ph->p_offset, ph->p_filesz);
	}
	return img;
}

int main(int argc, char **argv)
{
	uint8_t setup[(SETUP_SECTS + 1) * SECTOR];
	const char *in, *out;
	uint64_t mem_size;
	size_t len, size;
	uint8_t *elf, *img;
	int kernel64 = 1;
	FILE *f;

	if (argc == 4 && strcmp(argv[1], "--no64") == 0) {
		kernel64 = 0;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: mkbzimage [--no64] guest.elf out.bzImage\n");
		return 2;
	}
	in = argv[1];
	out = argv[2];
	elf = read_file(in, &len);
	if (elf == NULL) {
		fprintf(stderr, "mkbzimage: %s: %s\n", in, strerror(errno));
		return 1;
	}
	img = flatten(elf, len, &size, &mem_size);
	if (img == NULL)
		return 1;

	memset(setup, 0, sizeof(setup));
	setup[0x1f1] = SETUP_SECTS;			    /* setup_sects */
	put32(setup + 0x1f4, (uint32_t)((size + 15) / 16)); /* syssize, 16-byte units */
	put16(setup + 0x1fa, 0xffff);			    /* vid_mode: normal */
	put16(setup + 0x1fe, 0xaa55);			    /* boot_flag */
	setup[0x200] = 0xeb;				    /* jump over the header ... */
	setup[0x201] = 0x268 - 0x202;			    /* ... to the real-mode stub */
	memcpy(setup + 0x202, "HdrS", 4);		    /* header */
	put16(setup + 0x206, 0x020c);			    /* version 2.12 */
	put16(setup + 0x20c, 0x1000);			    /* start_sys_seg */
	setup[0x211] = LOADED_HIGH;			    /* loadflags */
	put16(setup + 0x212, 0x8000);			    /* setup_move_size */
	put32(setup + 0x214, LOAD_ADDR);		    /* code32_start */
	put32(setup + 0x22c, 0x7fffffff);		    /* initrd_addr_max */
	put32(setup + 0x230, 0x100000);			    /* kernel_alignment */
	setup[0x234] = 0;				    /* relocatable_kernel: no */
	setup[0x235] = 12;				    /* min_alignment: 4 KiB */
	put16(setup + 0x236, kernel64 ? XLF_KERNEL_64 : 0); /* xloadflags */
	put32(setup + 0x238, 2047);			    /* cmdline_size */
	put64(setup + 0x258, LOAD_ADDR);		    /* pref_address */
	put32(setup + 0x260, (uint32_t)((mem_size + 4095) & ~4095ULL)); /* init_size */
	/* Real-mode entry (0x200 jumps here): nothing to do but halt. */
	setup[0x268] = 0xfa; /* cli */
	setup[0x269] = 0xf4; /* hlt */
	setup[0x26a] = 0xeb; /* jmp $-1 */
	setup[0x26b] = 0xfd;

	f = fopen(out, "wb");
	if (f == NULL || fwrite(setup, 1, sizeof(setup), f) != sizeof(setup) ||
	    fwrite(img, 1, size, f) != size || fclose(f) != 0) {
		fprintf(stderr, "mkbzimage: %s: %s\n", out, strerror(errno));
		remove(out);
		return 1;
	}
	free(img);
	free(elf);
	return 0;
}
