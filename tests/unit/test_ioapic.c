// SPDX-License-Identifier: Apache-2.0
/* test_ioapic.c: redirection entries, MSI encoding, edge and level semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

/* Each VM's routes as KVM would hold them, and a GSI whose route KVM refuses (or -1). */
struct route {
	bool enabled;
	struct msi msi;
};
static struct vm vm, vm2;
static struct route routes[2][VM_IOAPIC_PINS];
static int refused_gsi = -1;

int vm_set_msi_route(struct vm *vm_, unsigned int gsi, bool enabled, uint64_t address,
		     uint32_t data)
{
	nroutes++;
	last_route_enabled = enabled;
	last_route = (struct msi){address, data};
	if ((int)gsi == refused_gsi)
		return -EIO;
	assert_true(gsi < VM_IOAPIC_PINS);
	routes[vm_ == &vm2][gsi] = (struct route){enabled, {address, data}};
	return 0;
}

static struct ioapic io;

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	memset(&vm2, 0, sizeof(vm2));
	memset(routes, 0, sizeof(routes));
	refused_gsi = -1;
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

/* ---- snapshots ---- */

static void wr_on(struct vm *v, uint64_t off, uint32_t val)
{
	assert_true(bus_access(&v->mmio, LAYOUT_IOAPIC_ADDR + off, (uint8_t *)&val, 4, true));
}

static uint32_t rd_on(struct vm *v, uint64_t off)
{
	uint32_t val = 0xdeadbeef;
	assert_true(bus_access(&v->mmio, LAYOUT_IOAPIC_ADDR + off, (uint8_t *)&val, 4, false));
	return val;
}

static void set_rte_on(struct vm *v, unsigned int pin, uint64_t rte)
{
	wr_on(v, 0x00, 0x10 + 2 * pin);
	wr_on(v, 0x10, (uint32_t)rte);
	wr_on(v, 0x00, 0x10 + 2 * pin + 1);
	wr_on(v, 0x10, (uint32_t)(rte >> 32));
}

/* msis_since: how many MSIs were sent since the count was (before); the last in (last). */
static int msis_since(int before, struct msi *last)
{
	if (nmsis > before)
		*last = msis[(nmsis - 1) % MAX_MSIS];
	return nmsis - before;
}

/*
 * same_from_now: the fixture's IOAPIC and (other) on vm2 read alike and send
 * the same MSIs from here on: every register, EOIs, unmasking, pulses.
 */
static void same_from_now(struct ioapic *other)
{
	struct msi a = {0}, b = {0};
	int n;

	assert_int_equal(rd(0x00), rd_on(&vm2, 0x00)); /* IOREGSEL as left */
	for (uint32_t reg = 0; reg < 0x10 + 2 * VM_IOAPIC_PINS + 2; reg++) {
		wr(0x00, reg);
		wr_on(&vm2, 0x00, reg);
		assert_int_equal(rd(0x10), rd_on(&vm2, 0x10));
	}
	/* an EOI for the level pin still high delivers it again on both */
	n = nmsis;
	ioapic_eoi(&io, 0x41);
	int na = msis_since(n, &a);
	n = nmsis;
	ioapic_eoi(other, 0x41);
	assert_int_equal(na, 1);
	assert_int_equal(msis_since(n, &b), na);
	assert_memory_equal(&a, &b, sizeof(a));
	/* unmasking the pending level pin delivers it on both */
	n = nmsis;
	set_rte(10, 0x50 | (1ULL << 15));
	na = msis_since(n, &a);
	n = nmsis;
	set_rte_on(&vm2, 10, 0x50 | (1ULL << 15));
	assert_int_equal(na, 1);
	assert_int_equal(msis_since(n, &b), na);
	assert_memory_equal(&a, &b, sizeof(a));
	/* edges on every pin */
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++) {
		n = nmsis;
		ioapic_pulse(&io, pin);
		na = msis_since(n, &a);
		n = nmsis;
		ioapic_pulse(other, pin);
		assert_int_equal(msis_since(n, &b), na);
		if (na > 0)
			assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void test_state_round_trip(void **state)
{
	struct ioapic_state st, again;
	struct ioapic other;
	char err[128] = "";

	(void)state;
	wr(0x00, 0x00);
	wr(0x10, 7u << 24); /* the guest's own id */
	set_rte(4, 0x24 | (3ULL << 56));
	set_rte(5, 0x30 | (1ULL << 8) | (1ULL << 11) | (0x0fULL << 56));
	set_rte(9, 0x41 | (1ULL << 15)); /* level: in flight, remote IRR set */
	ioapic_set_irq(&io, 9, true);
	set_rte(10, 0x50 | (1ULL << 15) | (1ULL << 16)); /* level, masked, high: waiting */
	ioapic_set_irq(&io, 10, true);
	wr(0x00, 0x13); /* IOREGSEL left at pin 1's high half */
	ioapic_save_state(&io, &st);
	assert_int_equal(st.id, 7);
	assert_int_equal(st.regsel, 0x13);
	assert_int_equal(st.line, (1U << 9) | (1U << 10));
	assert_true(st.redir[9] & (1ULL << 14));

	assert_int_equal(ioapic_init(&other, &vm2, 4), 0);
	int n = nmsis;
	assert_int_equal(ioapic_load_state(&other, &st, err, sizeof(err)), 0);
	assert_int_equal(nmsis, n); /* remote IRR and the mask hold both level pins back */
	/* KVM's routes are the guest's again, pin by pin (a disabled one has no MSI) */
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++) {
		assert_int_equal(routes[0][pin].enabled, routes[1][pin].enabled);
		if (routes[1][pin].enabled)
			assert_memory_equal(&routes[0][pin].msi, &routes[1][pin].msi,
					    sizeof(struct msi));
	}
	assert_true(routes[1][4].enabled && routes[1][9].enabled && !routes[1][10].enabled);
	ioapic_save_state(&other, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	same_from_now(&other);
	ioapic_destroy(&other);
}

/* A level pin high, unmasked and not in flight is delivered on load, as on unmasking. */
static void test_state_load_delivers_waiting_level(void **state)
{
	struct ioapic_state st;
	struct ioapic other;

	(void)state;
	set_rte(10, 0x50 | (1ULL << 15));
	ioapic_save_state(&io, &st);
	st.line = 1U << 10;
	assert_int_equal(ioapic_init(&other, &vm2, 4), 0);
	int n = nmsis;
	assert_int_equal(ioapic_load_state(&other, &st, NULL, 0), 0);
	assert_int_equal(nmsis, n + 1);
	assert_int_equal(msis[n].data, 0x50 | (1 << 15) | (1 << 14));
	ioapic_save_state(&other, &st);
	assert_true(st.redir[10] & (1ULL << 14));
	ioapic_destroy(&other);
}

/* KVM refusing a route: the error, the pin named, the other routes still pushed. */
static void test_state_route_refused(void **state)
{
	struct ioapic_state st;
	struct ioapic other;
	char err[128] = "";

	(void)state;
	set_rte(4, 0x24);
	set_rte(6, 0x26);
	ioapic_save_state(&io, &st);
	assert_int_equal(ioapic_init(&other, &vm2, 4), 0);
	refused_gsi = 4;
	assert_int_equal(ioapic_load_state(&other, &st, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "pin 4"));
	assert_true(routes[1][6].enabled);
	ioapic_destroy(&other);
}

static void bad_id(struct ioapic_state *st)
{
	st->id = 0x100;
}
static void bad_regsel(struct ioapic_state *st)
{
	st->regsel = 0x100;
}
static void bad_delivery_status(struct ioapic_state *st)
{
	st->redir[17] |= 1ULL << 12;
}
static void bad_line(struct ioapic_state *st)
{
	st->line |= 1U << VM_IOAPIC_PINS;
}
static void bad_pad(struct ioapic_state *st)
{
	st->pad = 1;
}

static void test_state_rejects(void **state)
{
	static const struct {
		const char *field;
		void (*apply)(struct ioapic_state *st);
	} bad[] = {
	    {"id 256", bad_id},
	    {"regsel 0x100", bad_regsel},
	    {"redir[17]", bad_delivery_status},
	    {"line 0x", bad_line},
	    {"pad", bad_pad},
	};
	struct ioapic_state good, st, before, after;
	struct ioapic other;

	(void)state;
	set_rte(9, 0x41 | (1ULL << 15));
	ioapic_set_irq(&io, 9, true);
	ioapic_save_state(&io, &good);
	assert_int_equal(ioapic_init(&other, &vm2, 4), 0);
	ioapic_save_state(&other, &before);
	int n = nmsis, r = nroutes;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";
		st = good;
		bad[i].apply(&st);
		assert_int_equal(ioapic_load_state(&other, &st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "ioapic: ", 8) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		ioapic_save_state(&other, &after);
		assert_memory_equal(&before, &after, sizeof(before));
		assert_int_equal(nmsis, n);   /* nothing delivered */
		assert_int_equal(nroutes, r); /* nor routed */
	}
	assert_int_equal(ioapic_load_state(&other, &good, NULL, 0), 0);
	ioapic_destroy(&other);
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
	    cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_load_delivers_waiting_level, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_state_route_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_rejects, setup, teardown),
	};
	return cmocka_run_group_tests_name("ioapic", tests, NULL, NULL);
}
