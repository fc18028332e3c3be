// SPDX-License-Identifier: Apache-2.0
/* test_mptable.c: MP floating pointer and configuration table, read back byte by byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"
#include "log.h"
#include "mptable.h"

#define RAM_SIZE (2ULL << 20)

static uint8_t *ram;
static struct gmem gm;

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	assert_non_null(ram);
	memset(&gm, 0, sizeof(gm));
	return gmem_add_region(&gm, 0, RAM_SIZE, ram);
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

struct counts {
	unsigned int cpus, buses, ioapics, ioints, lints, bsp;
};

static void walk(const uint8_t *e, const uint8_t *end, unsigned int ncpus, struct counts *c)
{
	while (e < end) {
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], c->cpus); /* APIC ids 0..n-1 in order */
			assert_true(e[3] & 1);		 /* enabled */
			c->bsp += (e[3] & 2) ? 1 : 0;
			assert_int_equal(e[3] & 2, c->cpus == 0 ? 2 : 0);
			assert_int_equal(rd32(e + 4) & 0xf00, 0x600); /* family 6 */
			c->cpus++;
			e += 20;
			continue;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			c->buses++;
			break;
		case 2:
			assert_int_equal(e[1], ncpus); /* IOAPIC id */
			assert_int_equal(e[2], 0x11);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC_ADDR);
			c->ioapics++;
			break;
		case 3:
			assert_int_equal(e[1], 0);	   /* INT */
			assert_int_equal(e[5], e[7]);	   /* IRQ n -> pin n */
			assert_int_equal(e[5], c->ioints); /* in order */
			assert_int_equal(e[6], ncpus);
			c->ioints++;
			break;
		case 4:
			assert_int_equal(e[1], c->lints == 0 ? 3 : 1); /* ExtINT, NMI */
			assert_int_equal(e[7], c->lints);	       /* LINT0, LINT1 */
			c->lints++;
			break;
		default:
			fail_msg("unknown entry type %u", e[0]);
		}
		e += 8;
	}
	assert_ptr_equal(e, end);
}

static void check(unsigned int ncpus)
{
	const uint8_t *fp = ram + LAYOUT_MPTABLE_ADDR, *t;
	struct counts c = {0};
	uint16_t len;

	memset(ram, 0, RAM_SIZE);
	assert_int_equal(mptable_write(&gm, ncpus, NULL), 0);
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(fp[9], 4);
	assert_int_equal(fp[11], 0); /* a configuration table follows */
	assert_int_equal(sum(fp, 16), 0);
	assert_int_equal(rd32(fp + 4), LAYOUT_MPTABLE_ADDR + 16);
	t = ram + rd32(fp + 4);
	assert_memory_equal(t, "PCMP", 4);
	len = rd16(t + 4);
	assert_true(rd32(fp + 4) + len <= 0xa0000);
	assert_int_equal(t[6], 4);
	assert_int_equal(sum(t, len), 0);
	assert_int_equal(rd32(t + 36), LAYOUT_LAPIC_ADDR);
	assert_int_equal(rd16(t + 34), ncpus + 1 + 1 + MPTABLE_IOAPIC_PINS + 2);
	walk(t + 44, t + len, ncpus, &c);
	assert_int_equal(c.cpus, ncpus);
	assert_int_equal(c.bsp, 1);
	assert_int_equal(c.buses, 1);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.ioints, MPTABLE_IOAPIC_PINS);
	assert_int_equal(c.lints, 2);
	assert_int_equal(ram[rd32(fp + 4) + len], 0); /* nothing written after the table */
}

static void test_one_cpu(void **state)
{
	(void)state;
	check(1);
}

static void test_two_cpus(void **state)
{
	(void)state;
	check(2);
}

static void test_max_cpus(void **state)
{
	(void)state;
	check(MPTABLE_MAX_CPUS);
}

static void test_refused(void **state)
{
	struct gmem high = {0};

	(void)state;
	memset(ram, 0, RAM_SIZE);
	assert_int_equal(mptable_write(&gm, MPTABLE_MAX_CPUS + 1, NULL), -E2BIG);
	assert_int_equal(mptable_write(&gm, 255, NULL), -E2BIG);
	assert_int_equal(mptable_write(&gm, 0, NULL), -EINVAL);
	assert_int_equal(ram[LAYOUT_MPTABLE_ADDR], 0);
	assert_int_equal(gmem_add_region(&high, 1ULL << 20, 1ULL << 20, ram), 0);
	assert_int_equal(mptable_write(&high, 1, NULL), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_cpu),
	    cmocka_unit_test(test_two_cpus),
	    cmocka_unit_test(test_max_cpus),
	    cmocka_unit_test(test_refused),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("mptable", tests, setup, teardown);
}
