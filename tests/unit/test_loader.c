// SPDX-License-Identifier: Apache-2.0
/* test_loader.c: ELF, PVH and bzImage loading over good and corrupt images; initrd placement. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bootproto.h"
#include "layout.h"
#include "loader.h"
#include "log.h"

#define RAM_SIZE   (64ULL << 20)
#define HIGH_SIZE  (1ULL << 20)
#define SEG_PADDR  0x200000ULL
#define SEG_FILESZ 0x100
#define SEG_MEMSZ  0x1000
#define SEG_OFF	   0x200
#define NOTE_OFF   0x180
#define ELF_SIZE   0x300
#define PVH_ENTRY  (SEG_PADDR + 0x20)
#define ELF_ENTRY  (SEG_PADDR + 0x10)
#define PAYLOAD	   0xab

struct fixture {
	struct gmem gm;
	uint8_t *low, *high;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->low = malloc(RAM_SIZE);
	f->high = malloc(HIGH_SIZE);
	assert_non_null(f->low);
	assert_non_null(f->high);
	memset(f->low, 0, RAM_SIZE);
	memset(f->high, 0, HIGH_SIZE);
	assert_int_equal(gmem_add_region(&f->gm, 0, RAM_SIZE, f->low), 0);
	assert_int_equal(gmem_add_region(&f->gm, LAYOUT_MMIO_GAP_END, HIGH_SIZE, f->high), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->low);
	free(f->high);
	free(f);
	return 0;
}

/* ---- ELF images, as structs that the tests corrupt, then serialise ---- */

struct pvh_note {
	uint32_t namesz, descsz, type;
	char name[4];
	uint32_t desc;
};

struct elf_img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	struct pvh_note note;
	size_t size;
};

static struct elf_img make_elf(int with_note)
{
	struct elf_img e;

	memset(&e, 0, sizeof(e));
	memcpy(e.eh.e_ident, ELFMAG, SELFMAG);
	e.eh.e_ident[EI_CLASS] = ELFCLASS64;
	e.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e.eh.e_ident[EI_VERSION] = EV_CURRENT;
	e.eh.e_type = ET_EXEC;
	e.eh.e_machine = EM_X86_64;
	e.eh.e_version = EV_CURRENT;
	e.eh.e_entry = ELF_ENTRY;
	e.eh.e_phoff = sizeof(Elf64_Ehdr);
	e.eh.e_ehsize = sizeof(Elf64_Ehdr);
	e.eh.e_phentsize = sizeof(Elf64_Phdr);
	e.eh.e_phnum = with_note ? 2 : 1;
	e.ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			       .p_flags = PF_R | PF_X,
			       .p_offset = SEG_OFF,
			       .p_vaddr = SEG_PADDR,
			       .p_paddr = SEG_PADDR,
			       .p_filesz = SEG_FILESZ,
			       .p_memsz = SEG_MEMSZ,
			       .p_align = 0x1000};
	e.ph[1] = (Elf64_Phdr){.p_type = PT_NOTE,
			       .p_offset = NOTE_OFF,
			       .p_filesz = sizeof(struct pvh_note),
			       .p_align = 4};
	e.note = (struct pvh_note){
	    .namesz = 4, .descsz = 4, .type = 18, .name = "Xen", .desc = (uint32_t)PVH_ENTRY};
	e.size = ELF_SIZE;
	return e;
}

/* An exactly sized heap copy, so a sanitizer sees any read past the end. */
static uint8_t *serialise(const struct elf_img *e)
{
	uint8_t full[ELF_SIZE];
	uint8_t *img;

	memset(full, 0, sizeof(full));
	memcpy(full, &e->eh, sizeof(e->eh));
	memcpy(full + sizeof(e->eh), e->ph, sizeof(e->ph));
	memcpy(full + NOTE_OFF, &e->note, sizeof(e->note));
	memset(full + SEG_OFF, PAYLOAD, SEG_FILESZ);
	img = malloc(e->size ? e->size : 1);
	assert_non_null(img);
	memcpy(img, full, e->size < sizeof(full) ? e->size : sizeof(full));
	return img;
}

static int load_elf(struct fixture *f, const struct elf_img *e, enum boot_entry_pref pref,
		    struct kernel_info *k)
{
	uint8_t *img = serialise(e);
	int rc = loader_load_kernel(&f->gm, img, e->size, pref, LOAD_RAM_DIRTY, k, NULL);

	free(img);
	return rc;
}

static void test_elf_linux64(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(0);
	struct kernel_info k;

	memset(f->low + SEG_PADDR, 0xff, SEG_MEMSZ); /* the bss must come back zeroed */
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_AUTO, &k), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_ELF);
	assert_int_equal(k.entry, ELF_ENTRY);
	assert_int_equal(k.load_start, SEG_PADDR);
	assert_int_equal(k.load_end, SEG_PADDR + SEG_MEMSZ);
	assert_int_equal(k.setup_header_len, 0);
	for (size_t i = 0; i < SEG_MEMSZ; i++)
		assert_int_equal(f->low[SEG_PADDR + i], i < SEG_FILESZ ? PAYLOAD : 0);
}

/* With LOAD_RAM_ZEROED the loader trusts fresh RAM and never writes the bss. */
static void test_elf_ram_zeroed_leaves_bss_alone(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(0);
	struct kernel_info k;
	uint8_t *img = serialise(&e);

	memset(f->low + SEG_PADDR, 0xff, SEG_MEMSZ);
	assert_int_equal(
	    loader_load_kernel(&f->gm, img, e.size, BOOT_ENTRY_AUTO, LOAD_RAM_ZEROED, &k, NULL), 0);
	free(img);
	assert_int_equal(k.load_end, SEG_PADDR + SEG_MEMSZ);
	for (size_t i = 0; i < SEG_MEMSZ; i++)
		assert_int_equal(f->low[SEG_PADDR + i], i < SEG_FILESZ ? PAYLOAD : 0xff);
}

static void test_elf_pvh_auto(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(1);
	struct kernel_info k;

	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_AUTO, &k), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_PVH);
	assert_int_equal(k.entry, PVH_ENTRY);
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_PVH, &k), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_PVH);
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_LINUX64, &k), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_ELF);
	assert_int_equal(k.entry, ELF_ENTRY);
}

/* Linux's head.S emits the PVH note with an 8-byte (_ASM_PTR) descriptor. */
static void test_elf_pvh_desc8(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(1);
	struct kernel_info k;

	e.note.descsz = 8;
	e.ph[1].p_filesz += 4; /* desc high half: zero bytes from serialise() */
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_AUTO, &k), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_PVH);
	assert_int_equal(k.entry, PVH_ENTRY);
}

static void test_elf_other_note_first(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(1);
	struct kernel_info k;

	e.note.type = 1; /* a Xen note, but not PHYS32_ENTRY: no PVH */
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_AUTO, &k), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_ELF);
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_PVH, &k), -EINVAL);
}

static void test_elf_above_4g(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(0);
	struct kernel_info k;

	e.ph[0].p_paddr = LAYOUT_MMIO_GAP_END + 0x1000;
	e.eh.e_entry = e.ph[0].p_paddr;
	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_AUTO, &k), 0);
	assert_int_equal(k.load_start, LAYOUT_MMIO_GAP_END + 0x1000);
	assert_int_equal(f->high[0x1000], PAYLOAD);
}

static void test_not_a_kernel(void **state)
{
	struct fixture *f = *state;
	struct kernel_info k;
	uint8_t *zeros = calloc(1, 4096);
	const uint8_t short_elf[3] = {0x7f, 'E', 'L'};

	assert_non_null(zeros);
	assert_int_equal(
	    loader_load_kernel(&f->gm, zeros, 4096, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL),
	    -ENOEXEC);
	assert_int_equal(
	    loader_load_kernel(&f->gm, zeros, 0, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL),
	    -ENOEXEC);
	assert_int_equal(
	    loader_load_kernel(&f->gm, short_elf, 3, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL),
	    -ENOEXEC);
	assert_int_equal(loader_load_kernel(&f->gm, zeros, 4096, (enum boot_entry_pref)7,
					    LOAD_RAM_DIRTY, &k, NULL),
			 -EINVAL);
	free(zeros);
}

/* ---- the corrupt ELF table ---- */

typedef void corrupt_fn(struct elf_img *e);

static void trunc_ehdr(struct elf_img *e)
{
	e->size = 40;
}
static void trunc_phdr(struct elf_img *e)
{
	e->size = sizeof(Elf64_Ehdr) + 30;
}
static void trunc_seg(struct elf_img *e)
{
	e->size = SEG_OFF + SEG_FILESZ - 1;
}
static void trunc_note(struct elf_img *e)
{
	e->size = NOTE_OFF + 10;
}
static void class32(struct elf_img *e)
{
	e->eh.e_ident[EI_CLASS] = ELFCLASS32;
}
static void big_endian(struct elf_img *e)
{
	e->eh.e_ident[EI_DATA] = ELFDATA2MSB;
}
static void bad_version(struct elf_img *e)
{
	e->eh.e_version = 7;
}
static void machine_386(struct elf_img *e)
{
	e->eh.e_machine = EM_386;
}
static void type_dyn(struct elf_img *e)
{
	e->eh.e_type = ET_DYN;
}
static void phentsize(struct elf_img *e)
{
	e->eh.e_phentsize = 32;
}
static void phnum_zero(struct elf_img *e)
{
	e->eh.e_phnum = 0;
}
static void phnum_huge(struct elf_img *e)
{
	e->eh.e_phnum = 0xffff;
}
static void phoff_past(struct elf_img *e)
{
	e->eh.e_phoff = 0x10000;
}
static void phoff_wrap(struct elf_img *e)
{
	e->eh.e_phoff = UINT64_MAX - 10;
}
static void offset_wrap(struct elf_img *e)
{
	e->ph[0].p_offset = UINT64_MAX - 0x10;
}
static void offset_past(struct elf_img *e)
{
	e->ph[0].p_offset = ELF_SIZE - 0x10;
}
static void filesz_past(struct elf_img *e)
{
	e->ph[0].p_filesz = e->ph[0].p_memsz = 1 << 20;
}
static void memsz_small(struct elf_img *e)
{
	e->ph[0].p_memsz = SEG_FILESZ - 1;
}
static void seg_low(struct elf_img *e)
{
	e->ph[0].p_paddr = e->eh.e_entry = 0x7000;
}
static void seg_under_1m(struct elf_img *e)
{
	e->ph[0].p_paddr = LAYOUT_HIMEM_START - 0x800;
}
static void seg_gap(struct elf_img *e)
{
	e->ph[0].p_paddr = e->eh.e_entry = 0xc0000000ULL;
}
static void seg_into_gap(struct elf_img *e)
{
	e->ph[0].p_paddr = 0xbffff800ULL;
}
static void seg_ioapic(struct elf_img *e)
{
	e->ph[0].p_paddr = LAYOUT_IOAPIC_ADDR;
}
static void seg_past_ram(struct elf_img *e)
{
	e->ph[0].p_paddr = RAM_SIZE - 0x800;
}
static void seg_far(struct elf_img *e)
{
	e->ph[0].p_paddr = e->eh.e_entry = 0x10000000ULL;
}
static void seg_wrap(struct elf_img *e)
{
	e->ph[0].p_paddr = UINT64_MAX - 0x100;
}
static void memsz_absurd(struct elf_img *e)
{
	e->ph[0].p_memsz = 1ULL << 40;
}
static void memsz_max(struct elf_img *e)
{
	e->ph[0].p_memsz = UINT64_MAX;
}
static void entry_out(struct elf_img *e)
{
	e->eh.e_entry = 0x3000000ULL;
}
static void no_load(struct elf_img *e)
{
	e->ph[0].p_type = PT_NULL;
}
static void empty_load(struct elf_img *e)
{
	e->ph[0].p_memsz = e->ph[0].p_filesz = 0;
}
static void overlap(struct elf_img *e)
{
	e->ph[1] = e->ph[0];
	e->ph[1].p_paddr += 0x800;
}
static void note_namesz(struct elf_img *e)
{
	e->note.namesz = 0xffffffffU;
}
static void note_namesz_edge(struct elf_img *e)
{
	e->note.namesz = 0xfffffffdU;
}
static void note_descsz(struct elf_img *e)
{
	e->note.descsz = 0x7fffffffU;
}
static void note_desc2(struct elf_img *e)
{
	e->note.descsz = 2;
}
static void note_past(struct elf_img *e)
{
	e->ph[1].p_offset = ELF_SIZE - 8;
}
static void note_wrap(struct elf_img *e)
{
	e->ph[1].p_offset = UINT64_MAX - 4;
}
static void pvh_out(struct elf_img *e)
{
	e->note.desc = 0x3000000U;
}
static void pvh_zero(struct elf_img *e)
{
	e->note.desc = 0;
}

struct corrupt_case {
	const char *name;
	corrupt_fn *fn;
	int with_note;
	int rc;
};

static const struct corrupt_case corrupt[] = {
    {"ELF header truncated", trunc_ehdr, 0, -EINVAL},
    {"phdrs truncated", trunc_phdr, 0, -EINVAL},
    {"segment data truncated", trunc_seg, 0, -EINVAL},
    {"note truncated", trunc_note, 1, -EINVAL},
    {"32-bit ELF", class32, 0, -ENOEXEC},
    {"big endian", big_endian, 0, -ENOEXEC},
    {"e_version", bad_version, 0, -EINVAL},
    {"i386 machine", machine_386, 0, -ENOEXEC},
    {"ET_DYN", type_dyn, 0, -ENOEXEC},
    {"e_phentsize", phentsize, 0, -EINVAL},
    {"e_phnum 0", phnum_zero, 0, -EINVAL},
    {"e_phnum huge", phnum_huge, 0, -EINVAL},
    {"e_phoff past end", phoff_past, 0, -EINVAL},
    {"e_phoff wraps", phoff_wrap, 0, -EINVAL},
    {"p_offset + p_filesz wraps", offset_wrap, 0, -EINVAL},
    {"p_offset past end", offset_past, 0, -EINVAL},
    {"p_filesz past end", filesz_past, 0, -EINVAL},
    {"p_memsz < p_filesz", memsz_small, 0, -EINVAL},
    {"segment at the zero page", seg_low, 0, -EINVAL},
    {"segment ends above 1 MiB", seg_under_1m, 0, -EINVAL},
    {"segment in the MMIO gap", seg_gap, 0, -EINVAL},
    {"segment runs into the gap", seg_into_gap, 0, -E2BIG},
    {"segment on the IOAPIC", seg_ioapic, 0, -EINVAL},
    {"segment runs past RAM", seg_past_ram, 0, -E2BIG},
    {"segment far past RAM", seg_far, 0, -E2BIG},
    {"p_paddr + p_memsz wraps", seg_wrap, 0, -EINVAL},
    {"p_memsz 1 TiB", memsz_absurd, 0, -E2BIG},
    {"p_memsz UINT64_MAX", memsz_max, 0, -EINVAL},
    {"e_entry outside segments", entry_out, 0, -EINVAL},
    {"no PT_LOAD", no_load, 0, -EINVAL},
    {"empty PT_LOAD only", empty_load, 0, -EINVAL},
    {"overlapping PT_LOADs", overlap, 1, -EINVAL},
    {"note namesz huge", note_namesz, 1, -EINVAL},
    {"note namesz rounds past 4 GiB", note_namesz_edge, 1, -EINVAL},
    {"note descsz huge", note_descsz, 1, -EINVAL},
    {"PVH note descsz 2", note_desc2, 1, -EINVAL},
    {"PT_NOTE past end", note_past, 1, -EINVAL},
    {"PT_NOTE offset wraps", note_wrap, 1, -EINVAL},
    {"PVH entry outside segments", pvh_out, 1, -EINVAL},
    {"PVH entry 0", pvh_zero, 1, -EINVAL},
};

static void test_elf_corrupt(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		struct elf_img e = make_elf(corrupt[i].with_note);
		struct kernel_info k;
		int rc;

		memset(f->low + SEG_PADDR, 0, SEG_MEMSZ);
		corrupt[i].fn(&e);
		rc = load_elf(f, &e, BOOT_ENTRY_AUTO, &k);
		if (rc != corrupt[i].rc)
			fail_msg("%s: got %d, expected %d", corrupt[i].name, rc, corrupt[i].rc);
		/* A rejected image leaves guest memory untouched. */
		if (f->low[SEG_PADDR] != 0)
			fail_msg("%s: wrote guest memory before failing", corrupt[i].name);
	}
}

static void test_elf_pvh_forced_without_note(void **state)
{
	struct fixture *f = *state;
	struct elf_img e = make_elf(0);
	struct kernel_info k;

	assert_int_equal(load_elf(f, &e, BOOT_ENTRY_PVH, &k), -EINVAL);
}

/* ---- bzImage ---- */

#define BZ_SETUP_SECTS 4
#define BZ_SETUP_SIZE  ((size_t)(BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_SIZE     0x1000
#define BZ_SIZE	       (BZ_SETUP_SIZE + BZ_PM_SIZE)
#define BZ_PREF	       0x1000000ULL
#define BZ_INIT_SIZE   0x200000U

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}
static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}
static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static uint8_t *make_bz(size_t size)
{
	uint8_t *b = calloc(1, size > BZ_SIZE ? size : BZ_SIZE);

	assert_non_null(b);
	b[0x1f1] = BZ_SETUP_SECTS;
	wr16(b, 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x66;	    /* header ends at 0x268 */
	wr32(b, 0x202, 0x53726448); /* "HdrS" */
	wr16(b, 0x206, 0x020f);
	b[0x211] = LOADED_HIGH;
	wr32(b, 0x22c, 0x37ffffff);
	wr32(b, 0x230, 0x200000);
	b[0x234] = 1;
	wr16(b, 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	wr32(b, 0x238, 2047);
	wr64(b, 0x258, BZ_PREF);
	wr32(b, 0x260, BZ_INIT_SIZE);
	memset(b + BZ_SETUP_SIZE, 0xcd, BZ_PM_SIZE);
	return b;
}

static void test_bzimage_good(void **state)
{
	struct fixture *f = *state;
	uint8_t *b = make_bz(BZ_SIZE);
	struct kernel_info k;

	assert_int_equal(
	    loader_load_kernel(&f->gm, b, BZ_SIZE, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL), 0);
	assert_int_equal(k.format, KERNEL_FORMAT_BZIMAGE);
	assert_int_equal(k.entry, LAYOUT_HIMEM_START + 0x200);
	assert_int_equal(k.load_start, LAYOUT_HIMEM_START);
	assert_int_equal(k.load_end, BZ_PREF + BZ_INIT_SIZE);
	assert_int_equal(k.setup_header_len, 0x268 - 0x1f1);
	assert_memory_equal(k.setup_header, b + 0x1f1, k.setup_header_len);
	assert_int_equal(k.initrd_addr_max, 0x37ffffff);
	assert_int_equal(k.cmdline_max, 2047);
	assert_int_equal(f->low[LAYOUT_HIMEM_START], 0xcd);
	assert_int_equal(f->low[LAYOUT_HIMEM_START + BZ_PM_SIZE - 1], 0xcd);
	assert_int_equal(f->low[LAYOUT_HIMEM_START + BZ_PM_SIZE], 0);
	assert_int_equal(
	    loader_load_kernel(&f->gm, b, BZ_SIZE, BOOT_ENTRY_LINUX64, LOAD_RAM_DIRTY, &k, NULL),
	    0);
	b[0x1f1] = 0; /* 0 means 4 */
	assert_int_equal(
	    loader_load_kernel(&f->gm, b, BZ_SIZE, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL), 0);
	assert_int_equal(k.entry, LAYOUT_HIMEM_START + 0x200);
	b[0x201] = 0xff; /* a header claiming more than we know: capped */
	assert_int_equal(
	    loader_load_kernel(&f->gm, b, BZ_SIZE, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL), 0);
	assert_int_equal(k.setup_header_len, LOADER_SETUP_HEADER_MAX);
	free(b);
}

struct bz_case {
	const char *name;
	size_t off; /* 0: no field change */
	unsigned int width;
	uint64_t value;
	size_t size;
	enum boot_entry_pref pref;
	int rc;
};

static const struct bz_case bz_corrupt[] = {
    {"no XLF_KERNEL_64", 0x236, 2, XLF_CAN_BE_LOADED_ABOVE_4G, BZ_SIZE, 0, -ENOEXEC},
    {"protocol 2.06", 0x206, 2, 0x0206, BZ_SIZE, 0, -ENOEXEC},
    {"LOADED_HIGH clear", 0x211, 1, 0, BZ_SIZE, 0, -ENOEXEC},
    {"setup_sects past EOF", 0x1f1, 1, 200, BZ_SIZE, 0, -EINVAL},
    {"entry exactly at EOF", 0x1f1, 1, 11, BZ_SIZE, 0, -EINVAL},
    {"setup_sects 255", 0x1f1, 1, 255, BZ_SIZE, 0, -EINVAL},
    {"header truncated", 0, 0, 0, 0x230, 0, -EINVAL},
    {"only the HdrS magic", 0, 0, 0, 0x206, 0, -EINVAL},
    {"init_size past RAM", 0x260, 4, 0x40000000, BZ_SIZE, 0, -E2BIG},
    {"pref_address in the gap", 0x258, 8, 0xc0000000ULL, BZ_SIZE, 0, -EINVAL},
    {"pref_address wraps", 0x258, 8, UINT64_MAX - 0x1000, BZ_SIZE, 0, -EINVAL},
    {"PVH requested", 0, 0, 0, BZ_SIZE, BOOT_ENTRY_PVH, -EINVAL},
};

static void put_field(uint8_t *b, const struct bz_case *c)
{
	if (c->width == 1)
		b[c->off] = (uint8_t)c->value;
	else if (c->width == 2)
		wr16(b, c->off, (uint16_t)c->value);
	else if (c->width == 4)
		wr32(b, c->off, (uint32_t)c->value);
	else if (c->width == 8)
		wr64(b, c->off, c->value);
}

static void test_bzimage_corrupt(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bz_corrupt) / sizeof(bz_corrupt[0]); i++) {
		const struct bz_case *c = &bz_corrupt[i];
		uint8_t *full = make_bz(BZ_SIZE);
		uint8_t *img = malloc(c->size);
		struct kernel_info k;
		int rc;

		assert_non_null(img);
		put_field(full, c);
		memcpy(img, full, c->size);
		memset(f->low + LAYOUT_HIMEM_START, 0, BZ_PM_SIZE);
		rc = loader_load_kernel(&f->gm, img, c->size, c->pref, LOAD_RAM_DIRTY, &k, NULL);
		if (rc != c->rc)
			fail_msg("%s: got %d, expected %d", c->name, rc, c->rc);
		if (f->low[LAYOUT_HIMEM_START] != 0)
			fail_msg("%s: wrote guest memory before failing", c->name);
		free(img);
		free(full);
	}
}

/*
 * A cmdline_size larger than any command line ember writes (found by
 * fuzz_loader: 0xffffffff made builder.c's cmdline_max + 1 wrap to 0, and
 * ember exit 125 without a word) comes back as ember's own limit.
 */
static void test_bzimage_cmdline_size_capped(void **state)
{
	static const uint32_t sizes[] = {0xffffffff, 0xfffffffe, LAYOUT_CMDLINE_MAX,
					 LAYOUT_CMDLINE_MAX - 1};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *b = make_bz(BZ_SIZE);
		struct kernel_info k;

		wr32(b, 0x238, sizes[i]);
		assert_int_equal(loader_load_kernel(&f->gm, b, BZ_SIZE, BOOT_ENTRY_AUTO,
						    LOAD_RAM_DIRTY, &k, NULL),
				 0);
		assert_int_equal(k.cmdline_max, LAYOUT_CMDLINE_MAX - 1);
		assert_true(k.cmdline_max + 1 > k.cmdline_max);
		free(b);
	}
	uint8_t *b = make_bz(BZ_SIZE);
	struct kernel_info k;
	wr32(b, 0x238, 255); /* a smaller limit stays */
	assert_int_equal(
	    loader_load_kernel(&f->gm, b, BZ_SIZE, BOOT_ENTRY_AUTO, LOAD_RAM_DIRTY, &k, NULL), 0);
	assert_int_equal(k.cmdline_max, 255);
	free(b);
}

/* ---- initrd ---- */

static void test_initrd_top_of_ram(void **state)
{
	struct fixture *f = *state;
	struct kernel_info k = {.format = KERNEL_FORMAT_ELF,
				.load_start = SEG_PADDR,
				.load_end = SEG_PADDR + SEG_MEMSZ};
	uint8_t initrd[10000];
	uint64_t gpa = 0;

	memset(initrd, 0x5a, sizeof(initrd));
	assert_int_equal(loader_load_initrd(&f->gm, &k, initrd, sizeof(initrd), &gpa, NULL), 0);
	assert_int_equal(gpa & 0xfff, 0);
	assert_true(gpa + sizeof(initrd) <= RAM_SIZE);
	assert_true(gpa + sizeof(initrd) > RAM_SIZE - 0x1000);
	assert_memory_equal(f->low + gpa, initrd, sizeof(initrd));
}

static void test_initrd_addr_max(void **state)
{
	struct fixture *f = *state;
	struct kernel_info k = {.format = KERNEL_FORMAT_BZIMAGE,
				.load_start = LAYOUT_HIMEM_START,
				.load_end = 0x1200000,
				.initrd_addr_max = 0x1ffffff};
	uint8_t initrd[0x2000] = {1};
	uint64_t gpa = 0;

	assert_int_equal(loader_load_initrd(&f->gm, &k, initrd, sizeof(initrd), &gpa, NULL), 0);
	assert_int_equal(gpa, 0x2000000 - 0x2000);
}

static void test_initrd_errors(void **state)
{
	struct fixture *f = *state;
	struct kernel_info k = {
	    .format = KERNEL_FORMAT_ELF, .load_start = SEG_PADDR, .load_end = 60ULL << 20};
	uint64_t gpa = 0;
	uint8_t *big = calloc(1, 5 << 20);

	assert_non_null(big);
	/* Fits in RAM but not above a kernel that ends at 60 MiB. */
	assert_int_equal(loader_load_initrd(&f->gm, &k, big, 5 << 20, &gpa, NULL), -E2BIG);
	k.load_end = SEG_PADDR + SEG_MEMSZ;
	assert_int_equal(loader_load_initrd(&f->gm, &k, big, 5 << 20, &gpa, NULL), 0);
	/* Bigger than all RAM below the gap. */
	assert_int_equal(loader_load_initrd(&f->gm, &k, big, RAM_SIZE + 1, &gpa, NULL), -E2BIG);
	assert_int_equal(loader_load_initrd(&f->gm, &k, big, SIZE_MAX, &gpa, NULL), -E2BIG);
	assert_int_equal(loader_load_initrd(&f->gm, &k, big, 0, &gpa, NULL), -EINVAL);
	/* initrd_addr_max below the kernel's end. */
	k.initrd_addr_max = 0x1fffff;
	assert_int_equal(loader_load_initrd(&f->gm, &k, big, 0x1000, &gpa, NULL), -E2BIG);
	free(big);
}

static void test_initrd_no_low_ram(void **state)
{
	struct gmem gm = {0};
	uint8_t *buf = calloc(1, 0x10000);
	struct kernel_info k = {0};
	uint64_t gpa;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(gmem_add_region(&gm, LAYOUT_MMIO_GAP_END, 0x10000, buf), 0);
	assert_int_equal(loader_load_initrd(&gm, &k, buf, 0x100, &gpa, NULL), -E2BIG);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elf_linux64),
	    cmocka_unit_test(test_elf_ram_zeroed_leaves_bss_alone),
	    cmocka_unit_test(test_elf_pvh_auto),
	    cmocka_unit_test(test_elf_pvh_desc8),
	    cmocka_unit_test(test_elf_other_note_first),
	    cmocka_unit_test(test_elf_above_4g),
	    cmocka_unit_test(test_not_a_kernel),
	    cmocka_unit_test(test_elf_corrupt),
	    cmocka_unit_test(test_elf_pvh_forced_without_note),
	    cmocka_unit_test(test_bzimage_good),
	    cmocka_unit_test(test_bzimage_corrupt),
	    cmocka_unit_test(test_bzimage_cmdline_size_capped),
	    cmocka_unit_test(test_initrd_top_of_ram),
	    cmocka_unit_test(test_initrd_addr_max),
	    cmocka_unit_test(test_initrd_errors),
	    cmocka_unit_test(test_initrd_no_low_ram),
	};

	/* Corrupt images are expected to log; keep the run readable. */
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("loader", tests, setup, teardown);
}
