// SPDX-License-Identifier: Apache-2.0
/* test_pit.c: the i8254 counters and port B against a clock the test moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pit.h"

#define CONTROL	   3
#define MS	   1000000ULL
#define TICKS_1MS  1193 /* PIT_HZ / 1000, rounded down */
#define LATCH_10MS 11932

static uint64_t fake_ns;

static uint64_t fake_clock(void)
{
	return fake_ns;
}

static void out8(struct pit *pit, unsigned int port, uint8_t v)
{
	pit_io(pit, port, &v, 1, true);
}

static uint8_t in8(struct pit *pit, unsigned int port)
{
	uint8_t v = 0;

	pit_io(pit, port, &v, 1, false);
	return v;
}

static uint8_t port_b(struct pit *pit)
{
	uint8_t v = 0;

	pit_port_b_io(pit, 0, &v, 1, false);
	return v;
}

static void set_port_b(struct pit *pit, uint8_t v)
{
	pit_port_b_io(pit, 0, &v, 1, true);
}

/* latched: counter-latch command for (ch), then its count, LSB then MSB. */
static unsigned int latched(struct pit *pit, unsigned int ch)
{
	out8(pit, CONTROL, (uint8_t)(ch << 6));
	unsigned int lo = in8(pit, ch);
	return lo | (unsigned int)in8(pit, ch) << 8;
}

static int setup(void **state)
{
	static struct pit pit;

	fake_ns = 1000 * MS;
	assert_int_equal(pit_init(&pit, fake_clock), 0);
	*state = &pit;
	return 0;
}

static int teardown(void **state)
{
	pit_destroy(*state);
	return 0;
}

/* Channel 0, mode 2, as a guest calibrating against it programs it. */
static void test_rate_generator(void **state)
{
	struct pit *pit = *state;

	out8(pit, CONTROL, 0x34); /* channel 0, LSB then MSB, mode 2 */
	out8(pit, 0, LATCH_10MS & 0xff);
	out8(pit, 0, LATCH_10MS >> 8);
	assert_int_equal(latched(pit, 0), LATCH_10MS);
	fake_ns += MS;
	assert_int_equal(latched(pit, 0), LATCH_10MS - TICKS_1MS);
	fake_ns += 9 * MS;
	/* 10 ms = 11931.82 ticks: the period's last count, then reloaded */
	assert_int_equal(latched(pit, 0), 1);
	fake_ns += 2000; /* to tick 11934: two past the reload */
	assert_int_equal(latched(pit, 0), LATCH_10MS - 2);
	fake_ns += 5 * MS;
	unsigned int c = latched(pit, 0);
	assert_true(c > LATCH_10MS / 2 - 5 && c < LATCH_10MS / 2 + 5);
	/* a read without a latch follows the same LSB, MSB order */
	unsigned int lo = in8(pit, 0);
	unsigned int hi = in8(pit, 0);
	assert_int_equal(lo | hi << 8, c);
}

/* Linux's pit_calibrate_tsc: channel 2, mode 0, gate through port B, poll OUT2. */
static void test_one_shot_on_channel_2(void **state)
{
	struct pit *pit = *state;

	assert_int_equal(port_b(pit) & (PIT_PORT_B_GATE2 | PIT_PORT_B_OUT2), 0);
	set_port_b(pit, (port_b(pit) & ~PIT_PORT_B_SPKR) | PIT_PORT_B_GATE2);
	out8(pit, CONTROL, 0xb0); /* channel 2, LSB then MSB, mode 0 */
	out8(pit, 2, LATCH_10MS & 0xff);
	out8(pit, 2, LATCH_10MS >> 8);
	assert_false(port_b(pit) & PIT_PORT_B_OUT2);
	fake_ns += 9 * MS;
	assert_false(port_b(pit) & PIT_PORT_B_OUT2);
	fake_ns += MS + MS / 10;
	assert_true(port_b(pit) & PIT_PORT_B_OUT2);
	/* past terminal count it counts on down from 0xffff */
	unsigned int c = latched(pit, 2);
	assert_true(c > 0xff00);
	/* gate low: counting stops; high again: it resumes (mode 0) */
	out8(pit, CONTROL, 0xb0);
	out8(pit, 2, 0x00);
	out8(pit, 2, 0x10); /* 4096 */
	fake_ns += MS;
	set_port_b(pit, 0);
	c = latched(pit, 2);
	assert_int_equal(c, 4096 - TICKS_1MS);
	fake_ns += 50 * MS;
	assert_int_equal(latched(pit, 2), c);
	set_port_b(pit, PIT_PORT_B_GATE2);
	fake_ns += MS;
	assert_int_equal(latched(pit, 2), 4096 - 2 * TICKS_1MS);
}

/* Read-back: status then count, each latched once until read. */
static void test_read_back(void **state)
{
	struct pit *pit = *state;

	out8(pit, CONTROL, 0x36); /* channel 0, word, mode 3 */
	out8(pit, CONTROL, 0xe2); /* read-back, status only, channel 0 */
	/* OUT high, null count (no count written since the control word), word, mode 3 */
	assert_int_equal(in8(pit, 0), 0x80 | 0x40 | 0x36);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	out8(pit, CONTROL, 0xc2);
	assert_int_equal(in8(pit, 0), 0x80 | 0x36); /* OUT high, word, mode 3, binary */
	assert_int_equal(in8(pit, 0), 100);
	assert_int_equal(in8(pit, 0), 0);
	/* mode 3 counts by twos; OUT is high for the first half */
	fake_ns += 10000; /* 11.9 ticks */
	assert_int_equal(latched(pit, 0), 100 - 2 * 11);
	fake_ns += 40000;	  /* 59.6 ticks in all: second half */
	out8(pit, CONTROL, 0xe2); /* status only */
	assert_int_equal(in8(pit, 0) & 0x80, 0);
	/* a second latch does not replace the first before it is read */
	out8(pit, CONTROL, 0x00);
	fake_ns += MS;
	out8(pit, CONTROL, 0x00);
	unsigned int a = in8(pit, 0);
	a |= (unsigned int)in8(pit, 0) << 8;
	assert_int_equal(a, 100 - (2 * 59) % 100);
}

static void test_bcd_and_byte_access(void **state)
{
	struct pit *pit = *state;

	out8(pit, CONTROL, 0x91); /* channel 2, LSB only, mode 0, BCD */
	set_port_b(pit, PIT_PORT_B_GATE2);
	out8(pit, 2, 0x99);
	assert_int_equal(in8(pit, 2), 0x99);
	fake_ns += 10000; /* 11 ticks */
	assert_int_equal(in8(pit, 2), 0x88);
	out8(pit, CONTROL, 0x20); /* channel 0, MSB only, mode 0 */
	out8(pit, 0, 0x12);
	assert_int_equal(in8(pit, 0), 0x12);
	fake_ns += 1000 * MS;
	assert_int_equal(in8(pit, 0), (0x1200 + 65536 - (PIT_HZ % 65536)) % 65536 >> 8);
}

/* Garbage: every port, value and width; nothing crashes, OUT2 and the refresh bit move. */
static void test_garbage(void **state)
{
	struct pit *pit = *state;
	uint8_t wide[4] = {0xaa, 0xaa, 0xaa, 0xaa};
	bool toggled = false;

	for (unsigned int port = 0; port < PIT_PORT_COUNT; port++)
		for (unsigned int v = 0; v < 256; v++) {
			out8(pit, port, (uint8_t)v);
			(void)in8(pit, port);
			fake_ns += 777;
		}
	pit_io(pit, 0, wide, 4, false);
	assert_int_equal(wide[0], 0);
	pit_io(pit, 7, wide, 1, true);
	pit_port_b_io(pit, 0, wide, 2, false);
	assert_int_equal(wide[0], 0);
	assert_int_equal(in8(pit, CONTROL), 0xff);
	uint8_t first = port_b(pit) & PIT_PORT_B_REFRESH;
	for (int i = 0; i < 4 && !toggled; i++) {
		fake_ns += PIT_REFRESH_NS;
		toggled = (port_b(pit) & PIT_PORT_B_REFRESH) != first;
	}
	assert_true(toggled);
}

/* ticks_ns: (t) PIT input ticks in ns, as pit.c converts them. */
static uint64_t ticks_ns(uint64_t t)
{
	return t * 1000000000ULL / PIT_HZ;
}

static void count_reprograms(void *ctx)
{
	(*(unsigned int *)ctx)++;
}

/* IRQ 0's schedule follows channel 0's mode: periodic (2, 3), once (0, 4), never (1, 5). */
static void test_irq0_schedule(void **state)
{
	struct pit *pit = *state;
	unsigned int calls = 0;
	struct pit_irq0_schedule s;
	uint64_t load_ns;

	pit_watch_irq0(pit, count_reprograms, &calls);
	s = pit_irq0_schedule(pit);
	assert_false(s.active); /* nothing loaded yet */

	out8(pit, CONTROL, 0x34); /* channel 0, LSB then MSB, mode 2 */
	out8(pit, 0, TICKS_1MS & 0xff);
	load_ns = fake_ns;
	out8(pit, 0, TICKS_1MS >> 8);
	assert_int_equal(calls, 3);
	s = pit_irq0_schedule(pit);
	assert_true(s.active);
	assert_int_equal(s.first_ns, load_ns + ticks_ns(TICKS_1MS));
	assert_int_equal(s.period_ns, ticks_ns(TICKS_1MS));
	assert_true(pit_irq0_current(pit, s.generation));

	/* Latches and other channels leave the schedule (and the timer) alone. */
	(void)latched(pit, 0);
	out8(pit, CONTROL, 0xb0);
	out8(pit, 2, 1);
	out8(pit, 2, 0);
	set_port_b(pit, PIT_PORT_B_GATE2);
	assert_int_equal(calls, 3);
	assert_true(pit_irq0_current(pit, s.generation));

	/* Mode 3: the square wave rises at each reload. */
	out8(pit, CONTROL, 0x36);
	assert_false(pit_irq0_current(pit, s.generation));
	assert_false(pit_irq0_schedule(pit).active); /* a control word stops the count */
	out8(pit, 0, 0x00);
	out8(pit, 0, 0x00); /* 0: the full 65536 */
	s = pit_irq0_schedule(pit);
	assert_true(s.active);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(65536));
	assert_int_equal(s.period_ns, ticks_ns(65536));

	/* Mode 0: once, at the terminal count; mode 4: one tick later. */
	out8(pit, CONTROL, 0x30);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	s = pit_irq0_schedule(pit);
	assert_true(s.active);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(100));
	assert_int_equal(s.period_ns, 0);
	out8(pit, CONTROL, 0x38);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	s = pit_irq0_schedule(pit);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(101));
	assert_int_equal(s.period_ns, 0);

	/* Modes 1 and 5 wait for a gate edge channel 0 never sees. */
	out8(pit, CONTROL, 0x32);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	assert_false(pit_irq0_schedule(pit).active);
	out8(pit, CONTROL, 0x3a);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	assert_false(pit_irq0_schedule(pit).active);

	/* A period shorter than the floor is delivered at the floor's rate. */
	out8(pit, CONTROL, 0x34);
	out8(pit, 0, 2);
	out8(pit, 0, 0);
	s = pit_irq0_schedule(pit);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(2));
	assert_int_equal(s.period_ns, PIT_MIN_IRQ_PERIOD_NS);

	/* Writes in BCD mode, byte by byte: LSB only (0x50 = 50 BCD ticks). */
	out8(pit, CONTROL, 0x15); /* channel 0, LSB only, mode 2, BCD */
	out8(pit, 0, 0x50);
	s = pit_irq0_schedule(pit);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(50));
	assert_int_equal(s.period_ns, PIT_MIN_IRQ_PERIOD_NS); /* 50 ticks = 42 us */
	pit_watch_irq0(pit, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_rate_generator), T(test_one_shot_on_channel_2),
	    T(test_read_back),	    T(test_bcd_and_byte_access),
	    T(test_garbage),	    T(test_irq0_schedule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
