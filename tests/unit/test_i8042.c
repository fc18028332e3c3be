// SPDX-License-Identifier: Apache-2.0
/* test_i8042.c: controller commands, the reset line and Ctrl+Alt+Del. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "i8042.h"
#include "isa_irq.h"
#include "layout.h"
#include "vm.h"

/* Test doubles for vm.c and isa_irq.c. */
static int stops, stop_status, pulses;
static unsigned int last_pin;

void vm_request_stop(struct vm *vm, int status)
{
	(void)vm;
	stops++;
	stop_status = status;
}

void isa_irq_pulse(struct vm *vm_, unsigned int pin)
{
	(void)vm_;
	pulses++;
	last_pin = pin;
}

static struct vm vm;
static struct i8042 kbd;

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	stops = pulses = 0;
	return i8042_init(&kbd, &vm);
}

static int teardown(void **state)
{
	(void)state;
	i8042_destroy(&kbd);
	return 0;
}

static void out(unsigned int port, uint8_t v)
{
	assert_true(bus_access(&vm.pio, port, &v, 1, true));
}

static uint8_t in(unsigned int port)
{
	uint8_t v = 0xaa;
	assert_true(bus_access(&vm.pio, port, &v, 1, false));
	return v;
}

static void test_self_test_and_control_byte(void **state)
{
	(void)state;
	assert_int_equal(in(LAYOUT_I8042_CMD_PORT)&0x01, 0); /* nothing to read */
	out(LAYOUT_I8042_CMD_PORT, 0xaa);
	assert_int_equal(in(LAYOUT_I8042_CMD_PORT)&0x01, 0x01);
	assert_int_equal(in(LAYOUT_I8042_DATA_PORT), 0x55);
	out(LAYOUT_I8042_CMD_PORT, 0x60); /* write control byte */
	out(LAYOUT_I8042_DATA_PORT, 0x47);
	out(LAYOUT_I8042_CMD_PORT, 0x20);
	assert_int_equal(in(LAYOUT_I8042_DATA_PORT), 0x47);
	assert_int_equal(stops, 0);
}

static void test_reset_stops_cleanly(void **state)
{
	(void)state;
	out(LAYOUT_I8042_CMD_PORT, 0xfe);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, 0);
}

static void test_ctrl_alt_del(void **state)
{
	(void)state;
	static const uint8_t want[] = {0x14, 0x11, 0xe0, 0x71};

	/* Keyboard interrupt disabled: bytes queue, no IRQ. */
	i8042_ctrl_alt_del(&kbd);
	assert_int_equal(pulses, 0);
	for (size_t i = 0; i < sizeof(want); i++)
		assert_int_equal(in(LAYOUT_I8042_DATA_PORT), want[i]);
	assert_int_equal(in(LAYOUT_I8042_CMD_PORT)&0x01, 0);

	/* Enabled: one IRQ 1 now and one per byte still waiting after a read. */
	out(LAYOUT_I8042_CMD_PORT, 0x60);
	out(LAYOUT_I8042_DATA_PORT, 0x01);
	i8042_ctrl_alt_del(&kbd);
	assert_int_equal(pulses, 1);
	assert_int_equal(last_pin, 1);
	for (size_t i = 0; i < sizeof(want); i++)
		assert_int_equal(in(LAYOUT_I8042_DATA_PORT), want[i]);
	assert_int_equal(pulses, 4);
	/* A full buffer drops extra bytes instead of overflowing. */
	for (int i = 0; i < 10; i++)
		i8042_ctrl_alt_del(&kbd);
	int n = 0;
	while (in(LAYOUT_I8042_CMD_PORT)&0x01) {
		(void)in(LAYOUT_I8042_DATA_PORT);
		n++;
	}
	assert_int_equal(n, I8042_BUF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_self_test_and_control_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_stops_cleanly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, teardown),
	};
	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
