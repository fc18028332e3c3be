// SPDX-License-Identifier: Apache-2.0
/* test_ioapic.c: redirection entries, MSI encoding, edge and level semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ioapic.h"
#include "layout.h"

/* Test double for vm.c: record the MSIs the IOAPIC sends. */
#define MAX_MSIS 16
struct msi {
	uint64_t addr;
	uint32_t data;
};
static struct msi msis[MAX_MSIS];
static int nmsis;

int vm_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
	(void)vm;
	if (nmsis < MAX_MSIS)
		msis[nmsis] = (struct msi){address, data};
	nmsis++;
	return 0;
}

static int nroutes;
static struct msi last_route;
static bool last_route_enabled;

int vm_set_msi_route(struct vm *vm_, unsigned int gsi, bool enabled, uint64_t address,
		     uint32_t data)
{
	(void)vm_;
	(void)gsi;
	nroutes++;
	last_route_enabled = enabled;
	last_route = (struct msi){address, data};
	return 0;
}

static struct vm vm;
static struct ioapic io;

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	nmsis = 0;
	nroutes = 0;
	return ioapic_init(&io, &vm, 4);
}

static int teardown(void **state)
{
	(void)state;
	ioapic_destroy(&io);
	return 0;
}

static void wr(uint64_t off, uint32_t v)
{
	assert_true(bus_access(&vm.mmio, LAYOUT_IOAPIC_ADDR + off, (uint8_t *)&v, 4, true));
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_true(bus_access(&vm.mmio, LAYOUT_IOAPIC_ADDR + off, (uint8_t *)&v, 4, false));
	return v;
}

static void set_rte(unsigned int pin, uint64_t rte)
{
	wr(0x00, 0x10 + 2 * pin);
	wr(0x10, (uint32_t)rte);
	wr(0x00, 0x10 + 2 * pin + 1);
	wr(0x10, (uint32_t)(rte >> 32));
}

static uint64_t get_rte(unsigned int pin)
{
	wr(0x00, 0x10 + 2 * pin);
	uint64_t lo = rd(0x10);
	wr(0x00, 0x10 + 2 * pin + 1);
	return lo | ((uint64_t)rd(0x10) << 32);
}

static void test_id_version_and_reset_state(void **state)
{
	(void)state;
	assert_ptr_equal(vm.ioapic, &io);
	wr(0x00, 0x00);
	assert_int_equal(rd(0x10) >> 24, 4);
	wr(0x00, 0x01);
	assert_int_equal(rd(0x10), (23u << 16) | 0x11);
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++)
		assert_true(get_rte(pin) & (1ULL << 16)); /* masked */
	wr(0x00, 0x10 + 2 * VM_IOAPIC_PINS);		  /* past the last pin */
	assert_int_equal(rd(0x10), 0);
}

static void test_masked_pin_is_silent(void **state)
{
	(void)state;
	ioapic_pulse(&io, 4);
	assert_int_equal(nmsis, 0);
	ioapic_pulse(&io, 99); /* out of range: ignored */
	assert_int_equal(nmsis, 0);
}

static void test_edge_msi_encoding(void **state)
{
	(void)state;
	/* vector 0x24, fixed, physical, destination APIC 3 */
	set_rte(4, 0x24 | (3ULL << 56));
	ioapic_pulse(&io, 4);
	assert_int_equal(nmsis, 1);
	assert_int_equal(msis[0].addr, LAYOUT_LAPIC_ADDR | (3 << 12));
	assert_int_equal(msis[0].data, 0x24);
	/* Held high: an edge pin fires once. */
	ioapic_set_irq(&io, 4, true);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(nmsis, 2);
	/* Logical destination, lowest priority. */
	set_rte(5, 0x30 | (1ULL << 8) | (1ULL << 11) | (0x0fULL << 56));
	ioapic_pulse(&io, 5);
	assert_int_equal(msis[2].addr, LAYOUT_LAPIC_ADDR | (0x0f << 12) | (1 << 2));
	assert_int_equal(msis[2].data, 0x30 | (1 << 8));
	/* The irqfd route follows the entry, and goes away when masked. */
	assert_true(last_route_enabled);
	assert_int_equal(last_route.addr, msis[2].addr);
	assert_int_equal(last_route.data, msis[2].data);
	set_rte(5, 1ULL << 16);
	assert_false(last_route_enabled);
	assert_true(nroutes >= 4);
}

static void test_level_waits_for_eoi(void **state)
{
	(void)state;
	set_rte(9, 0x41 | (1ULL << 15)); /* level */
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(nmsis, 1);
	assert_int_equal(msis[0].data, 0x41 | (1 << 15) | (1 << 14));
	assert_true(get_rte(9) & (1ULL << 14)); /* remote IRR */
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(nmsis, 1); /* not again before EOI */
	ioapic_eoi(&io, 0x41);	    /* still high: fires again */
	assert_int_equal(nmsis, 2);
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x41);
	assert_int_equal(nmsis, 2);
	assert_false(get_rte(9) & (1ULL << 14));
	/* The guest cannot set remote IRR itself. */
	set_rte(9, 0x41 | (1ULL << 15) | (1ULL << 14) | (1ULL << 16));
	assert_false(get_rte(9) & (1ULL << 14));
}

static void test_unmask_delivers_pending_level(void **state)
{
	(void)state;
	set_rte(10, 0x50 | (1ULL << 15) | (1ULL << 16)); /* level, masked */
	ioapic_set_irq(&io, 10, true);
	assert_int_equal(nmsis, 0);
	set_rte(10, 0x50 | (1ULL << 15));
	assert_int_equal(nmsis, 1);
}

static void test_eoi_register(void **state)
{
	(void)state;
	set_rte(11, 0x60 | (1ULL << 15));
	ioapic_set_irq(&io, 11, true);
	ioapic_set_irq(&io, 11, false);
	wr(0x40, 0x60);
	assert_false(get_rte(11) & (1ULL << 14));
	/* Narrow accesses do not overflow. */
	uint8_t b = 0x01;
	assert_true(bus_access(&vm.mmio, LAYOUT_IOAPIC_ADDR, &b, 1, true));
	uint64_t wide = 0;
	assert_true(bus_access(&vm.mmio, LAYOUT_IOAPIC_ADDR + 0x10, (uint8_t *)&wide, 8, false));
	assert_int_equal(wide, (23u << 16) | 0x11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_id_version_and_reset_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_masked_pin_is_silent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edge_msi_encoding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_waits_for_eoi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unmask_delivers_pending_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eoi_register, setup, teardown),
	};
	return cmocka_run_group_tests_name("ioapic", tests, NULL, NULL);
}
