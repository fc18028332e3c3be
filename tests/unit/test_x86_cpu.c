// SPDX-License-Identifier: Apache-2.0
/* test_x86_cpu.c: boot GDT, identity page tables and register values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "x86_cpu.h"

#define RAM (2u << 20)

static uint8_t *ram;
static struct gmem gm;

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM);
	memset(&gm, 0, sizeof(gm));
	return ram == NULL || gmem_add_region(&gm, 0, RAM, ram) != 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static uint64_t q(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, ram + gpa, sizeof(v));
	return v;
}

/* walk: translate (va) through the tables as the MMU would (2 MiB pages). */
static uint64_t walk(uint64_t va)
{
	uint64_t pml4e = q(LAYOUT_PML4_ADDR + ((va >> 39) & 511) * 8);
	assert_true(pml4e & 1);
	uint64_t pdpte = q((pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8);
	assert_true(pdpte & 1);
	uint64_t pde = q((pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8);
	assert_true(pde & 1);
	assert_true(pde & 0x80);
	return (pde & ~0x1fffffULL) | (va & 0x1fffff);
}

static void test_long_mode_tables(void **state)
{
	(void)state;
	assert_int_equal(x86_write_boot_tables(&gm, X86_BOOT_LONG_MODE), 0);
	/* 64-bit code, flat data, busy TSS, as Firecracker lays them out. */
	assert_int_equal(q(LAYOUT_GDT_ADDR), 0);
	assert_int_equal(q(LAYOUT_GDT_ADDR + 8), 0x00af9b000000ffffULL);
	assert_int_equal(q(LAYOUT_GDT_ADDR + 16), 0x00cf93000000ffffULL);
	assert_int_equal(q(LAYOUT_GDT_ADDR + 24), 0x008f8b000000ffffULL);
	uint64_t probes[] = {0,
			     0x1000,
			     0x100000,
			     0x7fffffff,
			     LAYOUT_MMIO_GAP_START,
			     LAYOUT_LAPIC_ADDR + 0x30,
			     0xffffffffULL};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_int_equal(walk(probes[i]), probes[i]);
	/* Nothing mapped past 4 GiB. */
	assert_int_equal(q(LAYOUT_PDPT_ADDR + 4 * 8), 0);
}

static void test_protected_mode_has_no_paging(void **state)
{
	(void)state;
	assert_int_equal(x86_write_boot_tables(&gm, X86_BOOT_PROTECTED), 0);
	assert_int_equal(q(LAYOUT_GDT_ADDR + 8), 0x00cf9b000000ffffULL);
	assert_int_equal(q(LAYOUT_PML4_ADDR), 0); /* untouched */

	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010; /* CD, NW, ET after reset */
	x86_boot_sregs(&s, X86_BOOT_PROTECTED);
	assert_int_equal(s.cr0 & 0x80000001, 1); /* PE without PG */
	assert_int_equal(s.cr0 & 0x60000000, 0);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cs.selector, X86_GDT_CODE_SEL);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.ds.selector, X86_GDT_DATA_SEL);
	assert_int_equal(s.cs.limit, 0xffffffffu);
}

static void test_long_mode_sregs_and_regs(void **state)
{
	(void)state;
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010; /* CD, NW, ET after reset */
	x86_boot_sregs(&s, X86_BOOT_LONG_MODE);
	/* PE and PG both, each on its own: long mode needs the two */
	assert_int_equal(s.cr0 & 0x1, 0x1);
	assert_int_equal(s.cr0 & 0x80000000ULL, 0x80000000ULL);
	assert_int_equal(s.cr0 & 0x60000000, 0); /* caches on: CD and NW clear */
	assert_int_equal(s.cr3, LAYOUT_PML4_ADDR);
	assert_int_equal(s.cr4 & 0x20, 0x20);	 /* PAE */
	assert_int_equal(s.efer & 0x500, 0x500); /* LME and LMA */
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.tr.selector, X86_GDT_TSS_SEL);
	assert_int_equal(s.gdt.base, LAYOUT_GDT_ADDR);
	assert_int_equal(s.gdt.limit, 31);

	x86_boot_regs(&r, X86_BOOT_LONG_MODE, 0x1000000, LAYOUT_ZERO_PAGE_ADDR);
	assert_int_equal(r.rip, 0x1000000);
	assert_int_equal(r.rsi, LAYOUT_ZERO_PAGE_ADDR);
	assert_int_equal(r.rbx, 0);
	assert_int_equal(r.rsp, LAYOUT_BOOT_STACK_TOP);
	assert_int_equal(r.rflags, 2);
	x86_boot_regs(&r, X86_BOOT_PROTECTED, 0x100000, LAYOUT_PVH_INFO_ADDR);
	assert_int_equal(r.rbx, LAYOUT_PVH_INFO_ADDR);
	assert_int_equal(r.rsi, 0);
}

static void test_tables_need_memory(void **state)
{
	(void)state;
	struct gmem tiny = {0};
	static uint8_t small[0x8000];

	assert_int_equal(gmem_add_region(&tiny, 0, sizeof(small), small), 0);
	assert_int_equal(x86_write_boot_tables(&tiny, X86_BOOT_LONG_MODE), -EFAULT);
}

static void test_lapic_lints(void **state)
{
	(void)state;
	struct kvm_lapic_state l;
	uint32_t v;

	memset(&l, 0xff, sizeof(l));
	x86_lapic_lints(&l);
	memcpy(&v, &l.regs[0x350], 4);
	assert_int_equal(v & 0x700, 0x700);
	memcpy(&v, &l.regs[0x360], 4);
	assert_int_equal(v & 0x700, 0x400);
}

static void test_fpu_and_msrs(void **state)
{
	(void)state;
	struct kvm_fpu f;
	struct kvm_msr_entry m[X86_BOOT_MSRS];

	x86_boot_fpu(&f);
	assert_int_equal(f.fcw, 0x37f);
	assert_int_equal(f.mxcsr, 0x1f80);
	x86_boot_msrs(m);
	int found = 0;
	for (int i = 0; i < X86_BOOT_MSRS; i++)
		if (m[i].index == 0x1a0 && m[i].data == 1)
			found++;
	assert_int_equal(found, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_long_mode_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_protected_mode_has_no_paging, setup, teardown),
	    cmocka_unit_test(test_long_mode_sregs_and_regs),
	    cmocka_unit_test(test_tables_need_memory),
	    cmocka_unit_test(test_lapic_lints),
	    cmocka_unit_test(test_fpu_and_msrs),
	};
	return cmocka_run_group_tests_name("x86_cpu", tests, NULL, NULL);
}
