// SPDX-License-Identifier: Apache-2.0
/* test_bus.c: range registration and dispatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "bus.h"

static uint64_t last_offset;
static int calls;

static void handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)len;
	calls++;
	last_offset = offset;
	if (!is_write)
		data[0] = *(uint8_t *)opaque;
}

static void test_register_rules(void **state)
{
	(void)state;
	struct bus bus;
	uint8_t tag = 1;

	memset(&bus, 0, sizeof(bus));
	assert_int_equal(bus_register(&bus, 0x3f8, 8, handler, &tag), 0);
	assert_int_equal(bus_register(&bus, 0x3f8, 1, handler, &tag), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3f0, 9, handler, &tag), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3ff, 1, handler, &tag), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x400, 1, handler, &tag), 0);
	assert_int_equal(bus_register(&bus, 0x500, 0, handler, &tag), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, handler, &tag), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x600, 1, NULL, &tag), -EINVAL);
	for (unsigned int i = bus.nranges; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&bus, 0x1000 + i, 1, handler, &tag), 0);
	assert_int_equal(bus_register(&bus, 0x9000, 1, handler, &tag), -ENOSPC);
}

static void test_dispatch(void **state)
{
	(void)state;
	struct bus bus;
	uint8_t a = 0xa, b = 0xb, v = 0;

	memset(&bus, 0, sizeof(bus));
	calls = 0;
	assert_int_equal(bus_register(&bus, 0x60, 5, handler, &a), 0);
	assert_int_equal(bus_register(&bus, 0xc0000000, 0x1000, handler, &b), 0);
	assert_true(bus_access(&bus, 0x64, &v, 1, false));
	assert_int_equal(v, 0xa);
	assert_int_equal(last_offset, 4);
	assert_true(bus_access(&bus, 0xc0000fff, &v, 1, false));
	assert_int_equal(v, 0xb);
	assert_int_equal(last_offset, 0xfff);
	v = 0x77;
	assert_false(bus_access(&bus, 0x65, &v, 1, false));
	assert_false(bus_access(&bus, 0xc0001000, &v, 1, true));
	assert_false(bus_access(&bus, 0x5f, &v, 1, true));
	assert_int_equal(v, 0x77); /* unclaimed: untouched */
	assert_int_equal(calls, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_rules),
	    cmocka_unit_test(test_dispatch),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
