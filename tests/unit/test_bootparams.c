// SPDX-License-Identifier: Apache-2.0
/* test_bootparams.c: e820, zero page (read back at boot.rst offsets), PVH start info. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "bootparams.h"
#include "layout.h"
#include "log.h"

#define MIB	    (1ULL << 20)
#define GIB	    (1ULL << 30)
#define CMDLINE	    "console=ttyS0 reboot=k"
#define INITRD_GPA  (100 * MIB)
#define INITRD_SIZE 0x12345

struct mem {
	struct gmem gm;
	void *lo, *hi;
	size_t lo_size, hi_size;
};

/* (ram) bytes of guest RAM laid out as vm.c does: below the gap, then from 4 GiB. */
static void mem_init(struct mem *m, uint64_t ram)
{
	memset(m, 0, sizeof(*m));
	m->lo_size = ram < LAYOUT_MMIO_GAP_START ? ram : LAYOUT_MMIO_GAP_START;
	m->hi_size = ram - m->lo_size;
	m->lo = mmap(NULL, m->lo_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(m->lo != MAP_FAILED);
	assert_int_equal(gmem_add_region(&m->gm, 0, m->lo_size, m->lo), 0);
	if (m->hi_size == 0)
		return;
	m->hi = mmap(NULL, m->hi_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(m->hi != MAP_FAILED);
	assert_int_equal(gmem_add_region(&m->gm, LAYOUT_MMIO_GAP_END, m->hi_size, m->hi), 0);
}

static void mem_fini(struct mem *m)
{
	munmap(m->lo, m->lo_size);
	if (m->hi != NULL)
		munmap(m->hi, m->hi_size);
}

static uint64_t rd(const struct mem *m, uint64_t gpa, unsigned int width)
{
	uint64_t v = 0;

	assert_int_equal(gmem_read(&m->gm, &v, gpa, width), 0);
	return v;
}

#define ZP(off, width) rd(&mem, LAYOUT_ZERO_PAGE_ADDR + (off), (width))

static void check_e820(const struct mem *m, unsigned int i, uint64_t addr, uint64_t size,
		       uint32_t type)
{
	uint64_t e = LAYOUT_ZERO_PAGE_ADDR + 0x2d0 + (uint64_t)i * 20;

	assert_int_equal(rd(m, e, 8), addr);
	assert_int_equal(rd(m, e + 8, 8), size);
	assert_int_equal(rd(m, e + 16, 4), type);
}

static struct boot_layout put_cmdline(struct mem *m, uint64_t initrd_size)
{
	struct boot_layout bl = {.cmdline_gpa = LAYOUT_CMDLINE_ADDR,
				 .cmdline_size = sizeof(CMDLINE),
				 .initrd_gpa = INITRD_GPA,
				 .initrd_size = initrd_size};

	assert_int_equal(gmem_write(&m->gm, LAYOUT_CMDLINE_ADDR, CMDLINE, sizeof(CMDLINE)), 0);
	return bl;
}

static void test_e820_128m(void **state)
{
	struct mem mem;
	struct kernel_info k = {.format = KERNEL_FORMAT_ELF};
	struct boot_layout bl;

	(void)state;
	mem_init(&mem, 128 * MIB);
	bl = put_cmdline(&mem, INITRD_SIZE);
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), 0);
	assert_int_equal(ZP(0x1e8, 1), 3);
	check_e820(&mem, 0, 0, LAYOUT_EBDA_START, 1);
	check_e820(&mem, 1, LAYOUT_EBDA_START, MIB - LAYOUT_EBDA_START, 2);
	check_e820(&mem, 2, MIB, 127 * MIB, 1);
	check_e820(&mem, 3, 0, 0, 0);
	mem_fini(&mem);
}

static void test_e820_4096m(void **state)
{
	struct mem mem;
	struct kernel_info k = {.format = KERNEL_FORMAT_ELF};
	struct boot_layout bl;
	struct boot_e820_entry e[8];

	(void)state;
	mem_init(&mem, 4096 * MIB);
	bl = put_cmdline(&mem, 0);
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), 0);
	assert_int_equal(ZP(0x1e8, 1), 4);
	check_e820(&mem, 0, 0, LAYOUT_EBDA_START, 1);
	check_e820(&mem, 1, LAYOUT_EBDA_START, MIB - LAYOUT_EBDA_START, 2);
	check_e820(&mem, 2, MIB, LAYOUT_MMIO_GAP_START - MIB, 1);
	check_e820(&mem, 3, 4 * GIB, GIB, 1); /* the gap is not listed */
	/* A short output array is filled, never overrun. */
	assert_int_equal(bootparams_e820(&mem.gm, e, 2), 2);
	assert_int_equal(e[1].type, 2);
	mem_fini(&mem);
}

static void test_zero_page_elf(void **state)
{
	struct mem mem;
	struct kernel_info k = {.format = KERNEL_FORMAT_ELF};
	struct boot_layout bl;

	(void)state;
	mem_init(&mem, 128 * MIB);
	bl = put_cmdline(&mem, INITRD_SIZE);
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), 0);
	assert_int_equal(ZP(0x1fe, 2), 0xaa55);
	assert_memory_equal((const uint8_t *)mem.lo + LAYOUT_ZERO_PAGE_ADDR + 0x202, "HdrS", 4);
	assert_true(ZP(0x206, 2) >= 0x020c);
	assert_int_equal(ZP(0x210, 1), 0xff);
	assert_int_equal(ZP(0x211, 1) & 0x81, 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_not_equal(ZP(0x224, 2), 0);	     /* heap_end_ptr */
	assert_int_equal(ZP(0x228, 4), LAYOUT_CMDLINE_ADDR);
	assert_int_equal(ZP(0x0c8, 4), 0); /* ext_cmd_line_ptr */
	assert_int_equal(ZP(0x238, 4), sizeof(CMDLINE) - 1);
	assert_int_equal(ZP(0x218, 4), INITRD_GPA);
	assert_int_equal(ZP(0x21c, 4), INITRD_SIZE);
	assert_int_equal(ZP(0x0c0, 4), 0);
	assert_int_equal(ZP(0x0c4, 4), 0);
	assert_int_equal(ZP(0x230, 4), 0x1000000);
	assert_int_equal(ZP(0x1ef, 1), 0); /* sentinel */
	mem_fini(&mem);
}

static void test_zero_page_bzimage(void **state)
{
	struct mem mem;
	struct kernel_info k = {
	    .format = KERNEL_FORMAT_BZIMAGE, .setup_header_len = 0x77, .cmdline_max = 2047};
	struct boot_layout bl;

	(void)state;
	k.setup_header[0] = 4;		      /* 0x1f1 setup_sects */
	k.setup_header[0x206 - 0x1f1] = 0x0f; /* version 2.15 */
	k.setup_header[0x207 - 0x1f1] = 0x02;
	k.setup_header[0x211 - 0x1f1] = 0x01; /* LOADED_HIGH */
	k.setup_header[0x232 - 0x1f1] = 0x20; /* kernel_alignment 0x200000 */
	k.setup_header[0x236 - 0x1f1] = 0x03; /* xloadflags */
	k.setup_header[0x260 - 0x1f1] = 0x11; /* init_size */
	mem_init(&mem, 128 * MIB);
	bl = put_cmdline(&mem, 0);
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), 0);
	assert_int_equal(ZP(0x1f1, 1), 4);
	assert_int_equal(ZP(0x206, 2), 0x020f);
	assert_int_equal(ZP(0x211, 1), 0x81);
	assert_int_equal(ZP(0x230, 4), 0x200000);
	assert_int_equal(ZP(0x236, 2), 3);
	assert_int_equal(ZP(0x260, 4), 0x11);
	assert_int_equal(ZP(0x210, 1), 0xff);
	assert_int_equal(ZP(0x218, 4), 0); /* no initrd */
	assert_int_equal(ZP(0x21c, 4), 0);
	/* A command line longer than the kernel's cmdline_size is refused. */
	k.cmdline_max = 5;
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), -E2BIG);
	mem_fini(&mem);
}

static void test_zero_page_errors(void **state)
{
	struct mem mem;
	struct kernel_info k = {.format = KERNEL_FORMAT_ELF};
	struct boot_layout bl;
	struct gmem high_only = {0};

	(void)state;
	mem_init(&mem, 128 * MIB);
	bl = put_cmdline(&mem, 0);
	bl.cmdline_size = 4; /* "cons" without its NUL */
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), -EINVAL);
	bl = put_cmdline(&mem, 0);
	bl.cmdline_gpa = 128 * MIB - 2;
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), -EINVAL);
	bl = put_cmdline(&mem, 200 * MIB); /* initrd past RAM */
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), -EINVAL);
	bl = put_cmdline(&mem, 0);
	bl.cmdline_size = 0; /* no command line at all is fine */
	assert_int_equal(bootparams_write_zero_page(&mem.gm, &k, &bl, NULL), 0);
	assert_int_equal(ZP(0x228, 4), 0);
	assert_int_equal(gmem_add_region(&high_only, MIB, MIB, mem.lo), 0);
	assert_int_equal(bootparams_write_zero_page(&high_only, &k, &bl, NULL), -EFAULT);
	assert_int_equal(bootparams_write_pvh(&high_only, &bl, NULL), -EFAULT);
	mem_fini(&mem);
}

#define SI(off, width) rd(&mem, LAYOUT_PVH_INFO_ADDR + (off), (width))

static void test_pvh(void **state)
{
	struct mem mem;
	struct boot_layout bl;
	uint64_t map = LAYOUT_PVH_MEMMAP_ADDR, mod;

	(void)state;
	mem_init(&mem, 4096 * MIB);
	bl = put_cmdline(&mem, INITRD_SIZE);
	assert_int_equal(bootparams_write_pvh(&mem.gm, &bl, NULL), 0);
	assert_int_equal(SI(0x00, 4), 0x336ec578);
	assert_int_equal(SI(0x04, 4), 1);
	assert_int_equal(SI(0x0c, 4), 1); /* nr_modules */
	assert_int_equal(SI(0x18, 8), LAYOUT_CMDLINE_ADDR);
	assert_int_equal(SI(0x20, 8), 0); /* rsdp */
	assert_int_equal(SI(0x28, 8), LAYOUT_PVH_MEMMAP_ADDR);
	assert_int_equal(SI(0x30, 4), 4);
	assert_int_equal(rd(&mem, map + 0 * 24ULL + 8, 8), LAYOUT_EBDA_START);
	assert_int_equal(rd(&mem, map + 1 * 24ULL + 16, 4), 2);
	assert_int_equal(rd(&mem, map + 2 * 24ULL, 8), MIB);
	assert_int_equal(rd(&mem, map + 3 * 24ULL, 8), 4 * GIB);
	assert_int_equal(rd(&mem, map + 3 * 24ULL + 8, 8), GIB);
	assert_int_equal(rd(&mem, map + 3 * 24ULL + 16, 4), 1);
	mod = SI(0x10, 8);
	assert_int_equal(mod, LAYOUT_PVH_MEMMAP_ADDR + 4 * 24ULL);
	assert_true(mod + 32 <= LAYOUT_ZERO_PAGE_ADDR);
	assert_int_equal(rd(&mem, mod, 8), INITRD_GPA);
	assert_int_equal(rd(&mem, mod + 8, 8), INITRD_SIZE);
	assert_int_equal(rd(&mem, mod + 16, 8), 0);
	mem_fini(&mem);
}

static void test_pvh_no_initrd(void **state)
{
	struct mem mem;
	struct boot_layout bl;

	(void)state;
	mem_init(&mem, 128 * MIB);
	bl = put_cmdline(&mem, 0);
	bl.cmdline_size = 0;
	assert_int_equal(bootparams_write_pvh(&mem.gm, &bl, NULL), 0);
	assert_int_equal(SI(0x0c, 4), 0);
	assert_int_equal(SI(0x10, 8), 0);
	assert_int_equal(SI(0x18, 8), 0);
	assert_int_equal(SI(0x30, 4), 3);
	mem_fini(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e820_128m),	     cmocka_unit_test(test_e820_4096m),
	    cmocka_unit_test(test_zero_page_elf),    cmocka_unit_test(test_zero_page_bzimage),
	    cmocka_unit_test(test_zero_page_errors), cmocka_unit_test(test_pvh),
	    cmocka_unit_test(test_pvh_no_initrd),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("bootparams", tests, NULL, NULL);
}
