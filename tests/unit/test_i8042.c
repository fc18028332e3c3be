// SPDX-License-Identifier: Apache-2.0
/* test_i8042.c: controller commands, the reset line and Ctrl+Alt+Del. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "i8042.h"
#include "metrics.h"
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
static struct metrics_i8042 counts;

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	stops = pulses = 0;
	memset(&counts, 0, sizeof(counts));
	return i8042_init(&kbd, &vm, &counts);
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
	/* Firecracker's i8042 group: 4 port reads, 4 writes understood, no reset. */
	assert_int_equal(counts.read_count, 4);
	assert_int_equal(counts.write_count, 4);
	assert_int_equal(counts.missed_write_count, 0);
	assert_int_equal(counts.reset_count, 0);
	out(LAYOUT_I8042_CMD_PORT, 0x13); /* no such controller command */
	assert_int_equal(counts.missed_write_count, 1);
}

static void test_reset_stops_cleanly(void **state)
{
	(void)state;
	out(LAYOUT_I8042_CMD_PORT, 0xfe);
	assert_int_equal(stops, 1);
	assert_int_equal(stop_status, 0);
	assert_int_equal(counts.reset_count, 1);
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

/* ---- snapshots ---- */

static void out_to(struct vm *v, unsigned int port, uint8_t val)
{
	assert_true(bus_access(&v->pio, port, &val, 1, true));
}

static uint8_t in_from(struct vm *v, unsigned int port)
{
	uint8_t val = 0xaa;
	assert_true(bus_access(&v->pio, port, &val, 1, false));
	return val;
}

/*
 * same_from_now: the fixture's controller and the one on (ovm) answer alike
 * from here on: status, every queued byte, the control byte and output
 * port, and the interrupts each read raises.
 */
static void same_from_now(struct vm *ovm)
{
	for (int i = 0; i < I8042_BUF + 2; i++) {
		int p0 = pulses;
		assert_int_equal(in(LAYOUT_I8042_CMD_PORT), in_from(ovm, LAYOUT_I8042_CMD_PORT));
		uint8_t a = in(LAYOUT_I8042_DATA_PORT);
		int pa = pulses - p0;
		p0 = pulses;
		assert_int_equal(a, in_from(ovm, LAYOUT_I8042_DATA_PORT));
		assert_int_equal(pa, pulses - p0);
	}
	/* a data byte for a command still waiting goes where that command says */
	out(LAYOUT_I8042_DATA_PORT, 0x21);
	out_to(ovm, LAYOUT_I8042_DATA_PORT, 0x21);
	out(LAYOUT_I8042_CMD_PORT, 0x20);
	out_to(ovm, LAYOUT_I8042_CMD_PORT, 0x20);
	assert_int_equal(in(LAYOUT_I8042_DATA_PORT), in_from(ovm, LAYOUT_I8042_DATA_PORT));
	out(LAYOUT_I8042_CMD_PORT, 0xd0);
	out_to(ovm, LAYOUT_I8042_CMD_PORT, 0xd0);
	assert_int_equal(in(LAYOUT_I8042_DATA_PORT), in_from(ovm, LAYOUT_I8042_DATA_PORT));
}

/* Ctrl+Alt+Del queued behind a read, the interrupt on, a command half-written. */
static void test_state_round_trip(void **state)
{
	struct i8042_state st, again;
	struct i8042 other;
	struct vm ovm;
	char err[128] = "";

	(void)state;
	out(LAYOUT_I8042_CMD_PORT, 0xd1); /* output port */
	out(LAYOUT_I8042_DATA_PORT, 0x01);
	out(LAYOUT_I8042_CMD_PORT, 0x60);
	out(LAYOUT_I8042_DATA_PORT, 0x45);
	for (int i = 0; i < 4; i++)
		i8042_ctrl_alt_del(&kbd);
	for (int i = 0; i < 6; i++)
		(void)in(LAYOUT_I8042_DATA_PORT); /* the ring's head moves on */
	i8042_ctrl_alt_del(&kbd);		  /* and wraps */
	out(LAYOUT_I8042_CMD_PORT, 0x60);	  /* its data byte still to come */
	i8042_save_state(&kbd, &st);
	assert_int_equal(st.count, I8042_BUF - 6 + 4);
	assert_int_equal(st.cmd, 0x60);
	assert_int_equal(st.control, 0x45);
	assert_int_equal(st.outport, 0x01);

	memset(&ovm, 0, sizeof(ovm));
	assert_int_equal(i8042_init(&other, &ovm, NULL), 0);
	pulses = 0;
	assert_int_equal(i8042_load_state(&other, &st, err, sizeof(err)), 0);
	assert_int_equal(pulses, 1); /* bytes waiting, interrupt on: IRQ 1 */
	assert_int_equal(last_pin, 1);
	i8042_save_state(&other, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	same_from_now(&ovm);
	i8042_destroy(&other);
}

static void bad_count(struct i8042_state *st)
{
	st->count = I8042_BUF + 1;
}
static void bad_buf_tail(struct i8042_state *st)
{
	st->buf[I8042_BUF - 1] = 0x71;
}
static void bad_cmd(struct i8042_state *st)
{
	st->cmd = 0xaa;
}
static void bad_pad(struct i8042_state *st)
{
	st->pad[3] = 1;
}

static void test_state_rejects(void **state)
{
	static const struct {
		const char *field;
		void (*apply)(struct i8042_state *st);
	} bad[] = {
	    {"count 17 exceeds the buffer (16)", bad_count},
	    {"buf holds bytes past count", bad_buf_tail},
	    {"cmd 0xaa", bad_cmd},
	    {"pad", bad_pad},
	};
	struct i8042_state good, st, before, after;
	struct i8042 other;
	struct vm ovm;

	(void)state;
	out(LAYOUT_I8042_CMD_PORT, 0x60);
	out(LAYOUT_I8042_DATA_PORT, 0x01);
	i8042_ctrl_alt_del(&kbd);
	i8042_save_state(&kbd, &good);
	memset(&ovm, 0, sizeof(ovm));
	assert_int_equal(i8042_init(&other, &ovm, NULL), 0);
	i8042_save_state(&other, &before);
	pulses = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";
		st = good;
		bad[i].apply(&st);
		assert_int_equal(i8042_load_state(&other, &st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "i8042: ", 7) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		i8042_save_state(&other, &after);
		assert_memory_equal(&before, &after, sizeof(before));
		assert_int_equal(pulses, 0);
	}
	assert_int_equal(i8042_load_state(&other, &good, NULL, 0), 0);
	i8042_destroy(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_self_test_and_control_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_stops_cleanly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_rejects, setup, teardown),
	};
	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
